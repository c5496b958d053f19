"""Broadcast: 10,000 subscribers through the emulator with 5% blocked, 1% 429 and 1% 5xx.

Two runs, both driven the way an organizer does it (/broadcast, 全部订阅者, 确认发送):

1. steady: the bot in this process, RECIPIENTS subscribers, a contestant asking a question every
   two seconds meanwhile. Reported: the sustained rate as a fraction of BROADCAST_RATE (over the
   whole run, and without the pauses 429s impose), the busiest one-second window (from the
   emulator's call log), 429s the emulator's own flood limits gave (target 0), duplicates and
   lost messages (target 0), and the contestant's reply latency.
2. kill -9: `contest-bot run` as a process of its own, SIGKILLed near 50% of KILL_RECIPIENTS
   while one request is in flight (delivered, answer pending), then started again. Reported:
   duplicates, lost, and the in-flight ones the at-most-once policy marks unknown.

The emulator enforces Telegram's limits: 30 messages/s for the bot, 1/s per private chat,
20/min per group. Sizes: BENCH_RECIPIENTS (default 10000), BENCH_KILL_RECIPIENTS (1000).
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bot.app import build_application, shutdown, startup
from bot.config import Settings
from bot.sandbox import BotApiEmulator, CallRecord, RateLimits, User
from knowledge.store import Store

T = TypeVar("T")
RATE = 25.0
RECIPIENTS = int(os.environ.get("BENCH_RECIPIENTS", "10000"))
KILL_RECIPIENTS = int(os.environ.get("BENCH_KILL_RECIPIENTS", "1000"))
TOKEN = "123456:broadcast-benchmark-token-emulator-only"
GROUP = -100123
ORGANIZER = User(9001, "王老师", language_code="zh-hans")
PROBE = User(4242, "提问的选手", language_code="zh-hans")
FIRST_ID = 100_000
TEXT = "📢 <b>通知</b>：初赛作品提交截止时间延长至 6 月 10 日 24:00"
PLAIN = "📢 通知：初赛作品提交截止时间延长至 6 月 10 日 24:00"
ROOT = Path(__file__).resolve().parent.parent
SENDS = ("sendMessage", "copyMessage")


async def emulator_with(count: int, seed: int) -> tuple[BotApiEmulator, list[User], set[int]]:
    """An emulator with Telegram's limits, `count` contestants who opened the bot (5% of them
    blocked it since), and 1% 429s and 1% 500s on messages to them."""
    # A private chat takes a short burst (a reply in two parts), then one message a second.
    limits = RateLimits(
        private_per_second=1.0, private_burst=3, global_per_second=30, group_per_minute=20
    )
    emulator = BotApiEmulator(TOKEN, sandbox=False, seed=seed, limits=limits)
    emulator.add_user(ORGANIZER)
    emulator.add_user(PROBE)
    emulator.create_group(GROUP, "组委会群", creator=ORGANIZER)
    users = [emulator.add_user(FIRST_ID + n, f"选手{n}") for n in range(count)]
    for user in users:
        emulator.start_private_chat(user)
    blocked = {u.id for u in users[::20]}  # 5%
    for user_id in blocked:
        await emulator.block_bot(user_id)
    ids = [u.id for u in users]
    emulator.inject_fault("flood", methods=SENDS, probability=0.01, retry_after=1, chat_ids=ids)
    emulator.inject_fault("error_500", methods=SENDS, probability=0.01, chat_ids=ids)
    return emulator, users, blocked


def subscribe(db_path: Path, users: list[User]) -> None:
    store = Store(db_path)
    store.subscriptions.add_many({"chat_id": u.id, "name": u.first_name, "all_tracks": True}
                          for u in users)  # fmt: skip
    store.close()


async def until(predicate: Callable[[], T | None], every: float = 0.05, limit: float = 3600) -> T:
    deadline = time.monotonic() + limit
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark step did not finish")
        await asyncio.sleep(every)


def last_bot_message(emulator: BotApiEmulator, chat_id: int, after: int) -> Any:
    messages = emulator.chat(chat_id).messages
    for message_id in range(max(messages, default=0), after, -1):
        message = messages.get(message_id)
        if message is not None and message.from_bot:
            return message
    return None


async def organizer_broadcasts(emulator: BotApiEmulator) -> None:
    """/broadcast TEXT, then 全部订阅者 and 确认发送, as the organizer does in the group."""
    sent = await emulator.send_text(ORGANIZER, GROUP, f"/broadcast {TEXT}")
    panel = await until(lambda: last_bot_message(emulator, GROUP, sent.message_id), 0.02, 30)
    for label in ("全部订阅者", "确认发送"):
        data = next((b["callback_data"] for b in panel.buttons() if label in b["text"]), None)
        assert data is not None, f"no {label} on {panel.text!r}"
        version = panel.version
        query = await emulator.press_button(ORGANIZER, GROUP, panel.message_id, data)
        await emulator.wait_for_answer(query, timeout=30)
        panel = await until(lambda p=panel, v=version: p.version != v and p, 0.01)


# --- figures -------------------------------------------------------------------------------------


def busiest_window(times: list[float], width: float = 1.0) -> int:
    """The most calls in any window [t, t + width)."""
    times = sorted(times)
    best, j = 0, 0
    for i in range(len(times)):
        while times[i] - times[j] >= width:
            j += 1
        best = max(best, i - j + 1)
    return best


def paused_seconds(floods: list[CallRecord]) -> float:
    """The time the bot was told to wait by 429s (overlapping pauses counted once)."""
    spans = sorted((c.time, c.time + c.response["parameters"]["retry_after"])
                   for c in floods if c.response)  # fmt: skip
    total, end = 0.0, float("-inf")
    for start, stop in spans:
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total


@dataclass
class Tally:
    sends: list[CallRecord]
    copies: dict[int, int]  # recipient -> copies of the announcement received

    @classmethod
    def of(cls, emulator: BotApiEmulator, users: list[User]) -> Tally:
        ids = {u.id for u in users}
        sends = [c for c in emulator.calls
                 if c.method in SENDS and int(c.params.get("chat_id", 0)) in ids]  # fmt: skip
        copies = {
            u.id: sum(
                1 for m in emulator.chat(u.id).messages.values() if m.from_bot and m.text == PLAIN
            )
            for u in users
        }
        return cls(sends, copies)

    def duplicates(self) -> int:
        return sum(1 for n in self.copies.values() if n > 1)

    def lost(self, blocked: set[int], excused: set[int]) -> int:
        """Recipients who should have it, do not, and the bot does not say why."""
        return sum(1 for c, n in self.copies.items() if n == 0 and c not in blocked | excused)


def closest_repeat(sends: list[CallRecord]) -> float | None:
    """The shortest time between two sends to the same chat (retries), in seconds."""
    last: dict[str, float] = {}
    best: float | None = None
    for call in sorted(sends, key=lambda c: c.time):
        chat = call.params.get("chat_id", "")
        if chat in last:
            gap = call.time - last[chat]
            best = gap if best is None else min(best, gap)
        last[chat] = call.time
    return best


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


# --- 1. steady -----------------------------------------------------------------------------------


async def probe(
    emulator: BotApiEmulator, latencies: list[tuple[float, float]], stop: asyncio.Event
) -> None:
    """A contestant asks a question every two seconds; time until the bot's reply."""
    while not stop.is_set():
        asked = (await emulator.send_text(PROBE, PROBE.id, "赛道三赛题4")).message_id
        start = time.perf_counter()
        await until(lambda a=asked: last_bot_message(emulator, PROBE.id, a), 0.005, 60)
        latencies.append((time.time(), time.perf_counter() - start))  # (answered, latency)
        await asyncio.sleep(2.0)


async def steady(count: int) -> None:
    emulator, users, blocked = await emulator_with(count, seed=1)
    await emulator.start()
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "bench.db"
        subscribe(db_path, users)
        settings = Settings(
            token=TOKEN, api_base_url=emulator.base_url, db_path=db_path,
            organizer_chat_id=GROUP, broadcast_rate=RATE,
        )  # fmt: skip
        store = Store(db_path)
        app = build_application(settings, TOKEN, store)
        await startup(app)
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await emulator.send_text(PROBE, PROBE.id, "/start")  # the probe's chat exists
        latencies: list[tuple[float, float]] = []
        stop = asyncio.Event()
        started = time.perf_counter()
        await organizer_broadcasts(emulator)
        asker = asyncio.create_task(probe(emulator, latencies, stop))
        await until(
            lambda: (bc := store.broadcasts.get(1)) is not None and bc.status == "done", 0.5
        )
        elapsed = time.perf_counter() - started
        stop.set()
        await asker
        counts = store.deliveries.counts(1)
        await app.updater.stop()
        await shutdown(app)
        store.close()
    await emulator.stop()

    tally = Tally.of(emulator, users)
    times = [c.time for c in tally.sends]
    span = max(times) - min(times)
    floods = [c for c in tally.sends if c.status == 429 and c.fault == "flood"]
    paused = paused_seconds(floods)
    own_429 = [c for c in emulator.calls if c.status == 429 and c.fault is None]
    all_sends = [c.time for c in emulator.calls if c.method in SENDS]
    print(f"recipients                     {count} ({len(blocked)} blocked), rate {RATE:g}/s")
    print(f"wall time                      {elapsed:.0f} s, of which {paused:.0f} s paused by "
          f"{len(floods)} × 429 (retry_after 1 s)")  # fmt: skip
    print(f"send calls                     {len(times)} (500s: "
          f"{sum(1 for c in tally.sends if c.fault == 'error_500')})")  # fmt: skip
    print(
        f"sustained rate                 {len(times) / span / RATE:.3f} of BROADCAST_RATE "
        f"overall; {len(times) / (span - paused) / RATE:.3f} without 429 pauses (≥ 0.95)"
    )
    print(
        f"busiest 1-s window             {busiest_window(times)} broadcast sends "
        f"(limit {RATE:g}); {busiest_window(all_sends)} sends in all (Telegram: 30)"
    )
    print(f"emulator flood refusals        {len(own_429)} (target 0)")
    print(f"closest two sends to one chat  {closest_repeat(tally.sends) or 0:.2f} s (≥ 1 s)")
    print(f"delivered / blocked / failed   {counts['sent']} / {counts['blocked']} / "
          f"{counts['failed']} (unknown {counts['unknown']})")  # fmt: skip
    failed = {d for d, n in tally.copies.items() if n == 0} - blocked
    print(f"duplicates / lost              {tally.duplicates()} / {tally.lost(blocked, set())} "
          f"(target 0 / 0; {len(failed)} without a copy besides the blocked)")  # fmt: skip
    # A 429 pauses every send of the bot, replies too; the replies outside those pauses show
    # what the broadcast itself costs a contestant.
    pauses = [(c.time, c.time + 1.0) for c in floods]
    outside = [lat for end, lat in latencies
               if not any(a < end and end - lat < b for a, b in pauses)]  # fmt: skip
    for label, values in (("contestant reply during it", [lat for _, lat in latencies]),
                          ("  of which outside 429 pauses", outside)):  # fmt: skip
        print(f"{label:<30} n={len(values)}  p50={statistics.median(values) * 1000:.0f} ms  "
              f"p99={percentile(values, 0.99) * 1000:.0f} ms  "
              f"max={max(values) * 1000:.0f} ms")  # fmt: skip


# --- 2. kill -9 ----------------------------------------------------------------------------------


def start_bot(emulator: BotApiEmulator, db_path: Path, log: Path) -> subprocess.Popen[bytes]:
    """`contest-bot run` against the emulator, as production runs it."""
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": emulator.base_url,
        "CONTEST_BOT_DB": str(db_path),
        "ORGANIZER_CHAT_ID": str(GROUP),
        "BROADCAST_RATE": str(RATE),
        "LOG_LEVEL": "WARNING",
        "PORT": "0",
    }
    env.pop("WEBHOOK_URL", None)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip


async def kill_and_resume(count: int) -> None:
    emulator, users, blocked = await emulator_with(count, seed=2)
    # One message around the middle is delivered but its answer hangs: the kill finds it in
    # flight, the case the at-most-once policy is for.
    in_flight = next(u for u in users[count // 2 :] if u.id not in blocked)
    emulator.inject_fault("hang", methods=SENDS, delay=60, when="after", chat_ids=[in_flight.id])
    await emulator.start()
    with tempfile.TemporaryDirectory() as tmp:
        db_path, log = Path(tmp) / "bench.db", Path(tmp) / "bot.log"
        subscribe(db_path, users)
        bot = start_bot(emulator, db_path, log)
        started = time.perf_counter()
        await until(lambda: any(c.method == "getUpdates" for c in emulator.calls), 0.05, 60)
        await organizer_broadcasts(emulator)
        inbox = emulator.chat(in_flight.id).messages
        await until(lambda: any(m.from_bot and m.text == PLAIN for m in inbox.values()), 0.01)
        os.kill(bot.pid, signal.SIGKILL)
        bot.wait()
        killed_at = sum(1 for c in Tally.of(emulator, users).copies.values() if c)
        emulator.clear_faults()
        bot = start_bot(emulator, db_path, log)
        store = Store(db_path)
        await until(
            lambda: (bc := store.broadcasts.get(1)) is not None and bc.status == "done", 0.5
        )
        elapsed = time.perf_counter() - started
        counts = store.deliveries.counts(1)
        unknown = {d.chat_id for d in store.deliveries.of(1, ["unknown"])}
        store.close()
        bot.send_signal(signal.SIGTERM)
        bot.wait(30)
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
    await emulator.stop()

    tally = Tally.of(emulator, users)
    times = [c.time for c in tally.sends]
    unknown_delivered = sum(1 for c in unknown if tally.copies[c])
    print(f"recipients                     {count} ({len(blocked)} blocked), rate {RATE:g}/s; "
          f"killed when {killed_at} had it")  # fmt: skip
    print(f"wall time                      {elapsed:.0f} s including the restart")
    print(f"delivered / blocked / failed   {counts['sent']} / {counts['blocked']} / "
          f"{counts['failed']}")  # fmt: skip
    print(f"in flight at the kill          {len(unknown)} marked unknown, not resent "
          f"({unknown_delivered} of them had in fact been delivered)")  # fmt: skip
    print(
        f"duplicates / lost              {tally.duplicates()} / "
        f"{tally.lost(blocked, unknown)} (target 0 / 0; unknown reported apart)"
    )
    print(
        f"busiest 1-s window             {busiest_window(times)} broadcast sends "
        f"across both processes (limit {RATE:g})"
    )
    if counts["sent"] + counts["blocked"] + counts["unknown"] + counts["failed"] != count:
        print("bot log:", *tail, sep="\n  ")


async def run() -> None:
    print(f"-- steady: {RECIPIENTS} recipients (about {RECIPIENTS / RATE / 60:.0f} min)")
    await steady(RECIPIENTS)
    print(f"-- kill -9 near 50% and restart: {KILL_RECIPIENTS} recipients")
    await kill_and_resume(KILL_RECIPIENTS)


def main() -> None:
    asyncio.run(run())
