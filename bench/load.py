"""Load: 200 contestants ask questions at once, through polling and through the webhook, against
the Bot API emulator; a bare PTB echo bot on the same emulator, in the same run, is the yardstick.

Each contestant sends a question (the labelled sets of tests/data/ and the development set),
waits for the bot's reply, then sends the next. Throughput is replies per second over the whole
run; latency is from the contestant's message to the bot's reply. Everything (emulator, bot,
contestants) shares one event loop on one core, so the figures compare the bots, not this
machine with Telegram.

contest-bot runs twice: "unpaced" lifts the pacer's 30 messages/s, the bot-wide limit Telegram
sets, to show the cost of the handlers; "as shipped" keeps it, which is what contestants get.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.app import build_application, shutdown, startup
from bot.config import Settings
from bot.main import run_webhook
from bot.pacer import Pacer
from bot.sandbox import BotApiEmulator, ChatMessage, User
from bot.web import BotServer, webhook_url
from knowledge.evaluation import DEVSET_FILE, devset
from knowledge.store import Store

CONTESTANTS = 200
QUESTIONS_EACH = 3
DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
TOKEN = "123456:load-benchmark-token-emulator-only"
SECRET = "load-benchmark-secret"
PUBLIC_URL = "https://bot.example.com"
REPLY_TIMEOUT = 60.0
# Webhook deliveries at once: Telegram's default, and one at a time (a bot that sets
# max_connections=1, or how this emulator delivered before it followed Telegram).
CONNECTIONS = {"webhook": 40, "webhook-1": 1}
TRANSPORTS = ("polling", *CONNECTIONS)


class TimedEmulator(BotApiEmulator):
    """The emulator, telling each waiting contestant the moment the bot writes to them.

    (Waiting through wait_for_messages would wake all 200 waiters at every change.)
    """

    def __init__(self) -> None:
        super().__init__(TOKEN, sandbox=False)
        self.waiters: dict[int, asyncio.Future[float]] = {}

    def _store(self, chat: Any, sender: User, *args: Any, **kwargs: Any) -> ChatMessage:
        message = super()._store(chat, sender, *args, **kwargs)
        waiter = self.waiters.pop(chat.id, None) if sender.is_bot else None
        if waiter is not None and not waiter.done():
            waiter.set_result(time.perf_counter())
        return message


@dataclass
class Result:
    bot: str
    transport: str
    replies: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.replies / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


def questions() -> list[str]:
    """The labelled question sets in name order, the development set (package data) among them."""
    sets = {path.name: path.read_text(encoding="utf-8") for path in DATA.glob("*.jsonl")}
    sets[DEVSET_FILE] = devset().read_text(encoding="utf-8")
    found = []
    for name in sorted(sets):
        for line in sets[name].splitlines():
            if line.strip():
                found.append(str(json.loads(line)["q"]))
    return found


async def contestant(
    emulator: TimedEmulator, user: User, asks: list[str], latencies: list[float]
) -> None:
    loop = asyncio.get_running_loop()
    for text in asks:
        waiter: asyncio.Future[float] = loop.create_future()
        emulator.waiters[user.id] = waiter
        start = time.perf_counter()
        await emulator.send_text(user, user.id, text)
        latencies.append(await asyncio.wait_for(waiter, REPLY_TIMEOUT) - start)


async def crowd(emulator: TimedEmulator, pool: list[str]) -> tuple[int, float, list[float]]:
    """Every contestant at once; (replies, seconds, latencies)."""
    users = [emulator.add_user(10_000 + i, f"选手{i}") for i in range(CONTESTANTS)]
    latencies: list[float] = []
    start = time.perf_counter()
    await asyncio.gather(
        *(
            contestant(
                emulator,
                user,
                [pool[(i * QUESTIONS_EACH + k) % len(pool)] for k in range(QUESTIONS_EACH)],
                latencies,
            )
            for i, user in enumerate(users)
        )
    )
    return len(latencies), time.perf_counter() - start, latencies


# --- the bots ---------------------------------------------------------------------------------


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The yardstick: say the text back."""
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


@contextlib.asynccontextmanager
async def echo_bot(emulator: BotApiEmulator, transport: str) -> AsyncIterator[None]:
    """A bare PTB Application with one handler, fed by polling or by bot/web.py's webhook."""
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(emulator.base_url)
        .concurrent_updates(True)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    await app.initialize()
    await app.start()
    server: BotServer | None = None
    try:
        if transport == "polling":
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=10)
        else:
            url = webhook_url(PUBLIC_URL, TOKEN, SECRET)
            server = BotServer.for_webhook(app, Store(":memory:"), url, SECRET)
            emulator.webhook_target = f"http://127.0.0.1:{await server.start('127.0.0.1', 0)}"
            server.accepting = server.webhook_set = True
            await app.bot.set_webhook(
                url, secret_token=SECRET, max_connections=CONNECTIONS[transport]
            )
        yield
    finally:
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if server is not None:
            await server.stop()
        await app.stop()
        await app.shutdown()


@contextlib.asynccontextmanager
async def contest_bot(
    emulator: BotApiEmulator, transport: str, paced: bool, db: Path
) -> AsyncIterator[None]:
    """contest-bot as `contest-bot run` starts it: polling, or run_webhook."""
    settings = Settings(
        token=TOKEN,
        api_base_url=emulator.base_url,
        db_path=db,
        webhook_url=PUBLIC_URL,
        webhook_secret=SECRET,
        webhook_max_connections=CONNECTIONS.get(transport, 40),
        host="127.0.0.1",
        port=0,
    )
    store = Store(db)
    app = build_application(settings, TOKEN, store)
    pacer = app.bot.rate_limiter
    if not paced and isinstance(pacer, Pacer):
        pacer.global_rate = 1_000_000
    try:
        if transport == "polling":
            await startup(app)
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=10)
            try:
                yield
            finally:
                await app.updater.stop()
                await shutdown(app)
        else:
            url = webhook_url(PUBLIC_URL, TOKEN, SECRET)
            server = BotServer.for_webhook(app, store, url, SECRET)
            emulator.webhook_target = f"http://127.0.0.1:{await server.start('127.0.0.1', 0)}"
            stop = asyncio.Event()
            task = asyncio.create_task(run_webhook(app, server, url, settings, stop))
            await emulator.wait_for(lambda: emulator.calls_to("setWebhook"), 30)
            try:
                yield
            finally:
                stop.set()
                await task
    finally:
        store.close()


async def measure(bot: str, transport: str, paced: bool, pool: list[str]) -> Result:
    """One run on a fresh emulator: bot is "PTB echo bot" or a contest-bot label."""
    emulator = TimedEmulator()
    await emulator.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if bot == "PTB echo bot":
                serving = echo_bot(emulator, transport)
            else:
                serving = contest_bot(emulator, transport, paced, Path(tmp) / "load.db")
            async with serving:
                replies, seconds, latencies = await crowd(emulator, pool)
    finally:
        await emulator.stop()
    return Result(bot, transport, replies, seconds, latencies)


async def bench(transports: tuple[str, ...], shipped: bool) -> list[Result]:
    """One round: per transport the echo bot, then contest-bot right after (back to back)."""
    pool = questions()
    results = []
    for transport in transports:
        results.append(await measure("PTB echo bot", transport, False, pool))
        results.append(await measure("contest-bot, unpaced", transport, False, pool))
        if shipped:
            results.append(await measure("contest-bot, as shipped", transport, True, pool))
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--runs", type=int, default=1, help="rounds; the median ratio is shown")
    parser.add_argument("--transport", choices=TRANSPORTS, action="append")
    parser.add_argument("--unpaced-only", action="store_true", help="leave out 'as shipped'")
    args = parser.parse_args(argv if argv is not None else [])
    transports = tuple(args.transport or TRANSPORTS)
    total = CONTESTANTS * QUESTIONS_EACH
    print(f"{CONTESTANTS} contestants at once, {QUESTIONS_EACH} questions each ({total} a run)")
    print(f"{'bot':<26}{'transport':<11}{'replies/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    ratios: dict[str, list[float]] = {t: [] for t in transports}
    for _ in range(args.runs):
        results = asyncio.run(bench(transports, not args.unpaced_only))
        for r in results:
            print(
                f"{r.bot:<26}{r.transport:<11}{r.per_second:>10.0f}"
                f"{r.percentile(0.5):>9.0f}{r.percentile(0.99):>9.0f}",
                flush=True,
            )
        for transport in transports:
            rows = {r.bot: r for r in results if r.transport == transport}
            echo_rate = rows["PTB echo bot"].per_second
            unpaced = rows["contest-bot, unpaced"]
            ratios[transport].append(unpaced.per_second / echo_rate)
            shipped = rows.get("contest-bot, as shipped")
            print(
                f"{transport}: contest-bot / echo bot = {unpaced.per_second / echo_rate:.2f} "
                "unpaced"
                + (
                    f", {shipped.per_second / echo_rate:.2f} as shipped (30 messages/s)"
                    if shipped
                    else ""
                )
                + f"; p50 {statistics.median(unpaced.latencies) * 1000:.0f} ms vs "
                f"{statistics.median(rows['PTB echo bot'].latencies) * 1000:.0f} ms",
                flush=True,
            )
    if args.runs > 1:
        for transport, found in ratios.items():
            shown = " ".join(f"{r:.2f}" for r in found)
            print(f"{transport}: median unpaced ratio {statistics.median(found):.2f} ({shown})")


if __name__ == "__main__":
    main(sys.argv[1:])
