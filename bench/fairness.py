"""Fairness: one contestant floods the bot with 50 messages a second for a minute while 50 others
ask questions as people do; the flooder's share of replies, and how long the others wait.

The emulator keeps Telegram's flood limits (30 messages a second in all, about one a second per
private chat with a short burst, 429 past them), so a flood answered in full also pauses
everyone through the 429s it draws. Three runs of contest-bot, as `contest-bot run` builds it:
nobody floods (the yardstick), a flood as shipped (USER_BURST, USER_PER_MINUTE), and a flood
with the per-user limit off (USER_PER_MINUTE=0).

    python -m bench fairness            # or: python -m bench.fairness --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.load import TOKEN, TimedEmulator, questions
from bot.app import build_application, shutdown, startup
from bot.config import Settings
from bot.sandbox import RateLimits, User
from handlers.flood import TEXTS
from knowledge.store import Store

FLOOD_PER_SECOND = 50.0
OTHERS = 50
THINK = (1.0, 4.0)  # seconds another contestant reads and types between two questions
WAIT = 30.0  # seconds a question may wait for its reply; later, it counts as unanswered
NOTICE = TEXTS["zh"].split("～")[0]


@dataclass
class Run:
    label: str
    seconds: float
    flood_sent: int
    flood_replies: int
    notices: int
    latencies: list[float]
    unanswered: int

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


async def flooder(
    emulator: TimedEmulator, user: User, pool: list[str], until: float, per_second: float
) -> int:
    """per_second messages a second, never waiting for a reply; returns how many."""
    sent = 0
    if per_second <= 0:
        return 0
    start = time.perf_counter()
    while time.perf_counter() < until:
        await emulator.send_text(user, user.id, pool[sent % len(pool)])
        sent += 1
        # Keep to the pace overall, however long each send took.
        await asyncio.sleep(max(0.0, start + sent / per_second - time.perf_counter()))
    return sent


async def asker(
    emulator: TimedEmulator, user: User, pool: list[str], until: float, rng: random.Random,
    latencies: list[float], missed: list[int],
) -> None:  # fmt: skip
    """Ask, wait for the reply, think, ask again, until the time is up."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(rng.uniform(0, THINK[1]))  # not all at the same moment
    while time.perf_counter() < until:
        waiter: asyncio.Future[float] = loop.create_future()
        emulator.waiters[user.id] = waiter
        start = time.perf_counter()
        await emulator.send_text(user, user.id, rng.choice(pool))
        try:
            latencies.append(await asyncio.wait_for(waiter, WAIT) - start)
        except TimeoutError:
            missed.append(user.id)
        await asyncio.sleep(rng.uniform(*THINK))


async def measure(
    label: str, user_per_minute: int, seconds: float, pool: list[str], flood: float
) -> Run:
    emulator = TimedEmulator()
    # Telegram's limits: 30 a second in all, about one a second per private chat.
    emulator.limits = RateLimits(private_per_second=1.0, private_burst=3, global_per_second=30)
    await emulator.start()
    flooding = emulator.add_user(60_000, "刷屏的人")
    others = [emulator.add_user(61_000 + i, f"选手{i}") for i in range(OTHERS)]
    rng = random.Random(7)
    latencies: list[float] = []
    missed: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            token=TOKEN,
            api_base_url=emulator.base_url,
            db_path=Path(tmp) / "fair.db",
            backup_every_hours=0,
            user_per_minute=user_per_minute,
        )
        store = Store(settings.db_path)
        app = build_application(settings, TOKEN, store)
        await startup(app)
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=10)
        try:
            until = time.perf_counter() + seconds
            sent, *_ = await asyncio.gather(
                flooder(emulator, flooding, pool, until, flood),
                *(asker(emulator, u, pool, until, rng, latencies, missed) for u in others),
            )
            await asyncio.sleep(2.0)  # replies still on their way to the flooder
            texts = [m.text for m in emulator.chat_messages(flooding.id) if m.from_bot]
        finally:
            # An unlimited flood leaves thousands of updates queued behind 429s, which stopping
            # would handle one by one: drop them, and let the ones in flight fail at once.
            await emulator.stop()
            await app.updater.stop()
            while not app.update_queue.empty():
                app.update_queue.get_nowait()
            await shutdown(app)
            store.close()
    notices = sum(1 for t in texts if t.startswith(NOTICE))
    flood_sent = int(sent or 0)
    return Run(label, seconds, flood_sent, len(texts) - notices, notices, latencies, len(missed))


def report(run: Run) -> None:
    share = run.flood_replies / max(1, run.flood_sent)
    rate = run.flood_replies / run.seconds
    print(f"{run.label}, {run.seconds:g} s:")
    if run.flood_sent:
        print(
            f"  flooder: {run.flood_sent} sent, {run.flood_replies} replies ({share:.1%}, "
            f"{rate:.2f}/s), {run.notices} slow-down notice(s)"
        )
    worst = max(run.latencies, default=0.0) * 1000
    print(
        f"  others: {len(run.latencies)} questions answered, {run.unanswered} unanswered "
        f"within {WAIT:g} s; p50 {run.p(0.5) * 1000:.0f} ms, "
        f"p95 {run.p(0.95) * 1000:.0f} ms, max {worst:.0f} ms",
        flush=True,
    )


async def bench(seconds: float) -> None:
    pool = questions()
    shipped = Settings()
    limit = f"USER_BURST {shipped.user_burst}, USER_PER_MINUTE {shipped.user_per_minute}"
    # The flood as shipped runs the whole time; the other two only make their point, shorter.
    runs = [
        ("nobody floods (the yardstick)", shipped.user_per_minute, 0.0, seconds / 2),
        (f"as shipped ({limit})", shipped.user_per_minute, FLOOD_PER_SECOND, seconds),
        ("no per-user limit (USER_PER_MINUTE=0)", 0, FLOOD_PER_SECOND, seconds / 3),
    ]
    for label, per_minute, flood, length in runs:
        report(await measure(label, per_minute, length, pool, flood))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fairness", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv if argv is not None else [])
    logging.disable(logging.CRITICAL)  # the 429s of the unlimited run, logged by the bot
    print(
        f"one contestant sends {FLOOD_PER_SECOND:g} messages/s; {OTHERS} "
        f"others ask, wait for the reply, think {THINK[0]:g}-{THINK[1]:g} s, ask again; "
        "Telegram's limits on (30/s, ~1/s per chat)",
        flush=True,
    )
    asyncio.run(bench(args.seconds))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
