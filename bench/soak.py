"""Soak: `contest-bot run` under a mixed workload for N minutes; its memory and its errors.

    make soak MINUTES=30          # or: python -m bench.soak --minutes 30 [--faults 0.05]

The bot runs as a process of its own against the Bot API emulator in this process (as in
tests/test_restarts.py). Contestants ask catalogue questions and hostile text, browse the menus,
send questions to the organizers and subscribe; an organizer answers every ticket, saves some as
FAQ, asks for /queue and /stats, and sends a broadcast now and then. Every minute a line shows the
bot's resident memory (RSS) and the counts so far; the summary gives the growth after warm-up,
the errors (ERROR lines in the bot's log, calls the emulator refused, messages left without a
reply) and whether each broadcast reached each subscriber once. Not part of CI.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from conftest import ORGANIZER, ORGANIZER_GROUP, TOKEN  # noqa: E402
from harness import (  # noqa: E402
    BotProcess,
    bot_messages,
    database_report,
    inject_random_faults,
    poll_until,
    polling,
    random_hostile,
    refused,
)

from bot.sandbox import BotApiEmulator, ChatMessage, User  # noqa: E402

GROUP = ORGANIZER_GROUP
CATALOGUE = [
    "赛道三赛题4", "3-4", "自动驾驶那题是什么", "乡村振兴赛道有哪些题",
    "哪些题跟供应链有关", "一共几个赛道", "你好", "名老中医", "跟港口有关的题",
    "track 3 problem 4",
]  # fmt: skip
FOR_ORGANIZERS = [
    "一等奖奖金是多少？", "决赛在哪里举办？", "报名截止时间是哪天？", "队伍最多几个人？",
    "可以跨省组队吗？", "初赛材料要盖章吗？", "获奖证书什么时候发？",
]  # fmt: skip
REPLY_WAIT = 30.0


class Soak:
    def __init__(self, emulator: BotApiEmulator, bot: BotProcess, seed: int) -> None:
        self.emulator = emulator
        self.bot = bot
        self.rng = random.Random(seed)
        self.counts: Counter[str] = Counter()
        self.samples: list[tuple[float, int]] = []  # (seconds since start, RSS KiB)
        self.broadcasts: list[str] = []
        self.subscribers: set[int] = set()

    async def reply_to(
        self, chat_id: int, sent: ChatMessage, needle: str = ""
    ) -> ChatMessage | None:
        def found() -> ChatMessage | None:
            return next((m for m in bot_messages(self.emulator, chat_id, sent.message_id)
                         if needle in m.text), None)  # fmt: skip

        try:
            return await self.emulator.wait_for(found, REPLY_WAIT)
        except TimeoutError:
            self.counts["no reply"] += 1
            return None

    async def say(self, user: User, text: str, needle: str = "") -> ChatMessage | None:
        try:
            sent = await self.emulator.send_text(user, user.id, text)
        except ValueError:  # blank: no client sends it
            return None
        self.counts["messages"] += 1
        return await self.reply_to(user.id, sent, needle)

    async def press(self, user: User, message: ChatMessage, prefix: str) -> bool:
        data = next((d for d in message.callback_data() if d.startswith(prefix)), None)
        if data is None:
            return False
        chat = message.chat_id
        query = await self.emulator.press_button(user, chat, message.message_id, data)
        self.counts["presses"] += 1
        try:
            await self.emulator.wait_for_answer(query, REPLY_WAIT)
        except TimeoutError:
            self.counts["press not answered"] += 1
        return True

    async def contestant(self, user: User, until: float) -> None:
        rng = self.rng
        while time.monotonic() < until:
            roll = rng.random()
            if roll < 0.40:
                await self.say(user, rng.choice(CATALOGUE))
            elif roll < 0.55:
                await self.say(user, random_hostile(rng))
            elif roll < 0.70:
                menu = await self.say(user, "/start")
                if menu is not None:
                    await self.press(user, menu, rng.choice(["t:", "help"]))
            elif roll < 0.82:
                offer = await self.say(
                    user, rng.choice(FOR_ORGANIZERS) + f" #{rng.randint(1, 999)}"
                )
                if offer is not None and await self.press(user, offer, "tk:n:"):
                    self.counts["submitted"] += 1
            elif roll < 0.90 and user.id not in self.subscribers:
                keyboard = await self.say(user, "/subscribe")
                if keyboard is not None and await self.press(user, keyboard, "sub:all"):
                    now = self.emulator.message(user.id, keyboard.message_id)
                    if await self.press(user, now, "sub:done"):
                        self.subscribers.add(user.id)
            else:
                await self.say(user, rng.choice(["/myquestions", "/help", "/tracks", "/settings"]))
            await asyncio.sleep(rng.uniform(0.05, 0.5))

    async def organizer(self, until: float) -> None:
        answered: set[int] = set()
        last_broadcast = time.monotonic()
        while time.monotonic() < until:
            for post in bot_messages(self.emulator, GROUP):
                if not post.text.startswith("🆕 问题 #") or post.message_id in answered:
                    continue
                answered.add(post.message_id)
                sent = await self.emulator.send_text(ORGANIZER, GROUP, "请看通知。",
                                                     reply_to=post.message_id)  # fmt: skip
                self.counts["answers"] += 1
                await self.reply_to(GROUP, sent)
                now = self.emulator.message(GROUP, post.message_id)
                if self.rng.random() < 0.3:
                    await self.press(ORGANIZER, now, "tk:faq:")
            if self.rng.random() < 0.1:
                command = self.rng.choice(["/queue", "/stats"])
                sent = await self.emulator.send_text(ORGANIZER, GROUP, command)
                await self.reply_to(GROUP, sent)
            if time.monotonic() - last_broadcast > 45 and self.subscribers:
                last_broadcast = time.monotonic()
                await self.broadcast()
            await asyncio.sleep(1.0)

    async def broadcast(self) -> None:
        text = f"公告 {len(self.broadcasts) + 1}：请按时提交作品。"
        sent = await self.emulator.send_text(ORGANIZER, GROUP, f"/broadcast {text}")
        panel = await self.reply_to(GROUP, sent, "选择发送对象")
        if panel is None or not await self.press(ORGANIZER, panel, "bc:all:"):
            self.counts["broadcast not started"] += 1
            return

        def preview() -> ChatMessage | None:  # the panel is edited after the press is answered
            now = self.emulator.message(GROUP, panel.message_id)
            return now if any(d.startswith("bc:ok:") for d in now.callback_data()) else None

        try:
            confirm = await self.emulator.wait_for(preview, REPLY_WAIT)
        except TimeoutError:
            confirm = self.emulator.message(GROUP, panel.message_id)
        if not await self.press(ORGANIZER, confirm, "bc:ok:"):
            self.counts["broadcast not started"] += 1
            return
        self.broadcasts.append(text)

    async def sample(self, started: float, until: float, every: float = 60.0) -> None:
        while time.monotonic() < until:
            rss = self.bot.rss_kib()
            if rss is not None:
                self.samples.append((time.monotonic() - started, rss))
                counts = ", ".join(f"{k} {n}" for k, n in sorted(self.counts.items()))
                print(f"  {self.samples[-1][0] / 60:5.1f} min  RSS {rss / 1024:6.1f} MiB  "
                      f"{counts}", flush=True)  # fmt: skip
            await asyncio.sleep(min(every, max(0.1, until - time.monotonic())))


async def soak(
    minutes: float, contestants: int, fault_rate: float, seed: int, trace: bool = False,
    memory_stats: bool = False, lag: bool = False,
) -> int:  # fmt: skip
    logging.disable(logging.CRITICAL)
    emulator = BotApiEmulator(TOKEN, sandbox=False, seed=seed)
    emulator.add_user(ORGANIZER)
    emulator.create_group(GROUP, "组委会群", creator=ORGANIZER)
    await emulator.start()
    tmp = Path(tempfile.mkdtemp(prefix="contest-bot-soak-"))
    bot = BotProcess.for_emulator(
        emulator, tmp / "bot.db", tmp / "bot.log",
        ORGANIZER_CHAT_ID=str(GROUP), ESCALATION_INTERVAL_SECONDS="0", MAX_OPEN_TICKETS="1000",
        LOG_LEVEL="WARNING",
        USER_PER_MINUTE="0",  # its contestants type several messages a second, for hours

    )  # fmt: skip
    if trace or memory_stats:  # snapshots every minute into tmp/trace, compared at the end
        bot.module = "bench.traced"
        bot.env |= {"TRACE_DIR": str(tmp / "trace"), "TRACE_EVERY": "60" if trace else "30",
                    "TRACE_PYTHON": "1" if trace else "0"}  # fmt: skip
    if lag:  # the bot's loop probed every 10 ms (bench/lagged.py)
        bot.module = "bench.lagged"
        bot.env["LAG_FILE"] = str(tmp / "lag.txt")
    users = [emulator.add_user(30_000 + i, f"选手{i}", language_code="zh-hans")
             for i in range(contestants)]  # fmt: skip
    run = Soak(emulator, bot, seed)
    print(f"soak: {minutes:g} min, {contestants} contestants, faults {fault_rate:.0%}; "
          f"files in {tmp}", flush=True)  # fmt: skip
    since = len(emulator.calls)
    bot.start()
    await polling(emulator, since, 300 if trace else 60)  # tracing slows the start a lot
    if fault_rate:
        inject_random_faults(emulator, fault_rate, hang=6.0)
    started = time.monotonic()
    until = started + minutes * 60
    try:
        await asyncio.gather(
            run.sample(started, until),
            run.organizer(until),
            *(run.contestant(u, until) for u in users),
        )
        emulator.clear_faults()
        await poll_until(lambda: not busy(tmp / "bot.db"), 120)  # broadcasts under way finish
        rss_end = bot.rss_kib()
        code = await bot.stop()
    finally:
        bot.kill()
        with contextlib.suppress(Exception):
            await emulator.stop()
    result = summary(run, tmp, rss_end, code, minutes)
    if lag:
        from bench.lag import lag_figures
        from bench.lagged import why_report

        # From the moment the workload began: start-up (building the matcher) is not serving.
        rows = [line.split() for line in (tmp / "lag.txt").read_text().splitlines()]
        lags = [float(lag) for t, lag in rows if float(t) >= started]
        print(f"  event-loop lag of the bot (a 10 ms timer): {lag_figures(lags)}")
        print("  (the probe keeps its samples in the bot: its RSS is no memory figure)")
        for line in why_report(tmp / "lag.txt.why", started):  # gc pauses, slow callbacks
            print("   ", line)
    if trace:
        print_growth(tmp / "trace")
    if trace or memory_stats:
        print("  memory figures of the bot (bench/traced.py):")
        for line in (tmp / "trace" / "stats.tsv").read_text().splitlines():
            print("   ", line)
    return result


def print_growth(folder: Path) -> None:
    """What grew between the snapshot after warm-up (the second) and the last one."""
    from bench.traced import compare

    snapshots = sorted(folder.glob("snap-*.bin"))
    if len(snapshots) < 3:
        print(f"  tracemalloc: {len(snapshots)} snapshot(s) in {folder}; run longer to compare")
        return
    print(f"  tracemalloc, {snapshots[1].name} → {snapshots[-1].name}:")
    for line in compare(snapshots[1], snapshots[-1]):
        print("   ", line)


def busy(db: Path) -> bool:
    """Whether a broadcast is still queued or being sent."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        (n,) = conn.execute(
            "select count(*) from broadcasts where status in ('queued', 'running')"
        ).fetchone()
    finally:
        conn.close()
    return bool(n)


def summary(run: Soak, tmp: Path, rss_end: int | None, code: int, minutes: float) -> int:
    log = (tmp / "bot.log").read_text(errors="replace")
    errors = [line for line in log.splitlines() if " ERROR " in line or " CRITICAL " in line]
    emulator = run.emulator
    rejected = refused(emulator)
    samples = run.samples
    print("summary:")
    if samples:
        warm = next((s for s in samples if s[0] >= 60), samples[0])
        last = samples[-1]
        growth = (last[1] - warm[1]) / 1024
        hours = max(1e-9, (last[0] - warm[0]) / 3600)
        peak = max(s[1] for s in samples) / 1024
        rate = f" ({growth / hours:+.1f} MiB/h)" if last[0] - warm[0] > 120 else ""
        print(
            f"  RSS start {samples[0][1] / 1024:.1f} MiB, after warm-up {warm[1] / 1024:.1f}, "
            f"end {(rss_end or last[1]) / 1024:.1f}, max {peak:.1f}; "
            f"growth after warm-up {growth:+.1f} MiB{rate}"
        )
    counts = ", ".join(f"{k} {n}" for k, n in sorted(run.counts.items()))
    calls = len(emulator.calls)
    print(f"  work: {counts}; Bot API calls {calls} ({calls / (minutes * 60):.1f}/s)")
    print(f"  errors: {len(errors)} ERROR lines in the bot's log, {len(rejected)} calls refused "
          f"by the emulator, {run.counts['no reply']} messages without a reply; "
          f"exit code {code}")  # fmt: skip
    for line in errors[:5]:
        print("   ", line[:200])
    # Each recipient the engine chose for a broadcast: how many copies reached them.
    reached: Counter[str] = Counter()
    conn = sqlite3.connect(f"file:{tmp / 'bot.db'}?mode=ro", uri=True)
    rows = conn.execute(
        "select b.text, d.chat_id, d.status from deliveries d join broadcasts b"
        " on b.id = d.broadcast_id"
    ).fetchall()
    conn.close()
    for text, chat_id, status in rows:
        chat = emulator.chats.get(chat_id)
        shown = chat.messages.values() if chat else []
        got = sum(1 for m in shown if m.from_bot and m.text == text)
        reached[f"{got} cop{'y' if got == 1 else 'ies'} ({status})"] += 1
    if run.broadcasts:
        print(f"  broadcasts {len(run.broadcasts)}, deliveries {len(rows)}: "
              + ", ".join(f"{k} ×{n}" for k, n in sorted(reached.items())))  # fmt: skip
    report = database_report(tmp / "bot.db")
    print(f"  database: integrity {report['integrity']}, rows "
          + ", ".join(f"{t} {n}" for t, n in sorted(report["counts"].items()) if n))  # fmt: skip
    wrong = sum(n for k, n in reached.items() if not k.startswith("1 copy (sent)"))
    bad = len(errors) + len(rejected) + run.counts["no reply"] + (code != 0) + wrong
    return 1 if bad or report["integrity"] != ["ok"] else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--contestants", type=int, default=20)
    parser.add_argument("--faults", type=float, default=0.0, help="share of calls failing")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--tracemalloc", action="store_true",
        help="trace the bot's allocations; print what grew after warm-up, by site",
    )  # fmt: skip
    parser.add_argument(
        "--memory-stats", action="store_true",
        help="every 30 s: the bot's RSS, C heap in use and free-but-kept (glibc), threads",
    )  # fmt: skip
    parser.add_argument(
        "--lag", action="store_true",
        help="the bot's event-loop lag: how late a timer that should fire every 10 ms fires "
        "(the bot keeps every sample, two floats per 10 ms, about 23 MiB an hour: read memory "
        "from a run without it)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    return asyncio.run(
        soak(args.minutes, args.contestants, args.faults, args.seed, args.tracemalloc,
             args.memory_stats, args.lag)
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
