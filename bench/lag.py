"""Event-loop lag: how late a timer that should fire every 10 ms fires while the bot works, and
what a store call costs.

    python -m bench lag        # part of `make bench`; BENCH_LAG_SOAK_MINUTES=0 leaves out the soak

1. Store calls: one call's cost made directly on the loop (what the bot did before), through
   asyncio.to_thread, and through Store.run (the store's own thread); then 200 callers at once,
   each recording and finishing updates as the inbox does for every update, with the loop's lag
   meanwhile.
2. Broadcast: 10,000 subscribers; the broadcast engine of the bot in this process sends to the
   Bot API emulator in a process of its own (its work is not on our loop) at BENCH_LAG_RATE
   messages a second (default 25, as shipped). Probed from the organizer's confirmation —
   which writes a delivery row for each of the 10,000 — for BENCH_LAG_BROADCAST_SECONDS
   (default 60; the whole broadcast takes 400 s), then cancelled as an organizer would.
3. FAQ rebuild: 5,000 entries (bench/matcher.py's), an entry edited and refresh_faq run as the
   handlers run it (in a worker thread, the new index swapped in), ten times in a row (one
   rebuild is too short for a p99). Ranking by words rebuilds everything; with embeddings, an
   edit embeds one question and reads the others' vectors back (stored here beforehand as
   random vectors: embedding 5,000 questions first would take minutes).
4. Soak: `contest-bot run` as its own process under bench/soak.py's mixed workload for
   BENCH_LAG_SOAK_MINUTES (default 1), its loop probed the same way (bench/lagged.py).

Target: p99 ≤ 20 ms, max ≤ 100 ms. The first line is the loop with nothing to do: what the
machine itself adds (other processes taking the CPU delay any timer).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.matcher import synthetic_faq
from knowledge.store import Audience, AudienceKind, BroadcastKind, BroadcastStatus, Store

PERIOD = 0.010
RECIPIENTS = int(os.environ.get("BENCH_LAG_RECIPIENTS", "10000"))
RATE = float(os.environ.get("BENCH_LAG_RATE", "25"))  # BROADCAST_RATE as shipped
BROADCAST_SECONDS = float(os.environ.get("BENCH_LAG_BROADCAST_SECONDS", "60"))
SOAK_MINUTES = float(os.environ.get("BENCH_LAG_SOAK_MINUTES", "1"))
FAQ_ENTRIES = 5_000
REBUILDS = 10  # in a row, as when an organizer edits entries one after another
TOKEN = "123456:lag-benchmark-token-emulator-only"
GROUP = -100123
ORGANIZER_ID = 9001
FIRST_ID = 100_000


class LagProbe:
    """A timer that should fire every `period` seconds, and how late it fired each time."""

    def __init__(self, period: float = PERIOD) -> None:
        self.period = period
        self.lags: list[float] = []
        self.times: list[float] = []  # when each fired, by time.monotonic() (the loop's clock)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + self.period
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            now = loop.time()
            self.lags.append(max(0.0, now - due))
            self.times.append(now)
            due = now + self.period

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[LagProbe]:
        task = asyncio.create_task(self.run())
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def figures(self) -> str:
        return lag_figures(self.lags)


def lag_figures(lags: list[float]) -> str:
    if not lags:
        return "no samples"
    ordered = sorted(lags)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    verdict = "ok" if p99 <= 0.020 and ordered[-1] <= 0.100 else "OVER TARGET"
    return (
        f"n={len(ordered)}  p50={statistics.median(ordered) * 1000:.1f} ms  "
        f"p99={p99 * 1000:.1f} ms  max={ordered[-1] * 1000:.1f} ms  ({verdict})"
    )


# --- 1. store calls ------------------------------------------------------------------------------


async def per_call(label: str, call: Callable[[], Awaitable[Any]], n: int = 2000) -> None:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        times.append((time.perf_counter() - start) * 1e6)
    times.sort()
    print(f"  {label:<34} p50 {statistics.median(times):6.0f} µs  "
          f"p99 {times[int(n * 0.99)]:6.0f} µs")  # fmt: skip


async def direct(work: Callable[[], Any]) -> Any:
    return work()


async def store_calls(folder: Path) -> None:
    store = Store(folder / "calls.db")
    store.context.remember(1001, "3-4")

    def read() -> str | None:
        return store.context.last_shown(1001)

    print("-- one store call (a read of the chat's context), 2,000 in a row")
    await per_call("on the event loop (before)", lambda: direct(read))
    await per_call("asyncio.to_thread", lambda: asyncio.to_thread(read))
    await per_call("Store.run (the store's thread)", lambda: store.run(lambda db: read()))

    print("-- 200 callers at once, each recording and finishing 25 updates (inbox)")
    ids = iter(range(10**9))
    ways: dict[str, Callable[[Callable[[], Any]], Awaitable[Any]]] = {
        "on the event loop (before)": direct,
        "asyncio.to_thread": asyncio.to_thread,
        "Store.run": lambda work: store.run(lambda db: work()),
    }
    for label, way in ways.items():

        async def caller(way: Callable[[Callable[[], Any]], Awaitable[Any]] = way) -> None:
            for _ in range(25):
                update_id = next(ids)
                await way(lambda u=update_id: store.inbox.add(u, f'{{"update_id": {u}}}'))
                await way(lambda u=update_id: store.inbox.done(u))

        async with LagProbe().running() as probe:
            start = time.perf_counter()
            await asyncio.gather(*(caller() for _ in range(200)))
            elapsed = time.perf_counter() - start
        print(f"  {label:<27} {200 * 25 * 2 / elapsed:6.0f} calls/s; lag {probe.figures()}")
    store.close()


# --- 2. a broadcast ------------------------------------------------------------------------------


def serve_emulator(count: int) -> None:
    """In a process of its own: the emulator with `count` contestants who opened the bot, the
    organizers' group, no flood limits; prints its base URL and serves until stdin closes."""
    from bot.sandbox import BotApiEmulator, User

    async def serve() -> None:
        emulator = BotApiEmulator(TOKEN, sandbox=False, seed=3)
        organizer = emulator.add_user(User(ORGANIZER_ID, "王老师", language_code="zh-hans"))
        emulator.create_group(GROUP, "组委会群", creator=organizer)
        for n in range(count):
            emulator.start_private_chat(emulator.add_user(FIRST_ID + n, f"选手{n}"))
        await emulator.start()
        print(emulator.base_url, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await emulator.stop()

    asyncio.run(serve())


async def broadcast(folder: Path) -> None:
    from bot.app import build_application, shutdown, startup
    from bot.config import Settings

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.lag", "--emulator", str(RECIPIENTS),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stdin is not None
    base_url = (await process.stdout.readline()).decode()
    db_path = folder / "broadcast.db"
    seeding = Store(db_path)
    seeding.subscriptions.add_many(
        {"chat_id": FIRST_ID + n, "name": f"选手{n}", "all_tracks": True}
        for n in range(RECIPIENTS)
    )
    seeding.close()
    settings = Settings(
        token=TOKEN, api_base_url=base_url.strip(), db_path=db_path, organizer_chat_id=GROUP,
        broadcast_rate=RATE,
    )  # fmt: skip
    store = Store(db_path)
    app = build_application(settings, TOKEN, store)
    app.bot.rate_limiter.global_rate = 1_000_000  # type: ignore[attr-defined]
    await startup(app)
    try:
        bc = await store.run(
            lambda db: db.broadcasts.create(
                kind=BroadcastKind.TEXT, chat_id=GROUP, created_by=ORGANIZER_ID,
                created_by_name="王老师", text="📢 <b>通知</b>：初赛提交截止延长至 6 月 10 日",
                audience=Audience(AudienceKind.ALL),
            )
        )  # fmt: skip
        engine = app.bot_data.broadcaster
        async with LagProbe().running() as probe:
            start = time.perf_counter()
            await store.run(lambda db: db.broadcasts.confirm(bc.id))
            engine.wake()
            deadline = start + (BROADCAST_SECONDS or float("inf"))
            while time.perf_counter() < deadline:
                found = await store.run(lambda db: db.broadcasts.get(bc.id))
                if found is not None and found.status == BroadcastStatus.DONE:
                    break
                await asyncio.sleep(0.2)
            else:
                await store.run(lambda db: db.broadcasts.cancel(bc.id))
                engine.cancel(bc.id)
            elapsed = time.perf_counter() - start
            for _ in range(600):  # until the engine lets it go (its report is posted)
                if engine.current is None:
                    break
                await asyncio.sleep(0.1)
        counts = await store.run(lambda db: db.deliveries.counts(bc.id))
        print(f"-- broadcast to {RECIPIENTS:,} at {RATE:g}/s: {counts['sent']:,} sent in "
              f"{elapsed:.0f} s ({counts['sent'] / elapsed:.1f}/s), then "
              f"{'done' if counts['pending'] == 0 else 'cancelled'}")  # fmt: skip
        print(f"  lag {probe.figures()}")
    finally:
        await shutdown(app)
        store.close()
        process.stdin.close()
        await asyncio.wait_for(process.wait(), 30)


# --- 3. an FAQ rebuild ---------------------------------------------------------------------------


async def faq_rebuild(folder: Path) -> None:
    from knowledge.base import KnowledgeBase
    from knowledge.embed import load_embedder

    rows = [
        {"question": e.question, "answer": e.answer, "created_at": e.created_at,
         "updated_at": e.updated_at}
        for e in synthetic_faq(FAQ_ENTRIES)
    ]  # fmt: skip
    for ranking in ("words", "embeddings"):
        os.environ["CONTEST_BOT_EMBEDDINGS"] = "off" if ranking == "words" else "on"
        load_embedder.cache_clear()
        if ranking == "embeddings" and load_embedder() is None:
            print("-- FAQ rebuild with embeddings: the model is not installed; left out")
            continue
        path = folder / f"faq-{ranking}.db"
        seeding = Store(path)
        seeding.db.table("faq").insert_all(rows)
        what = "5,000 entries, every one indexed"
        if (embedder := load_embedder()) is not None:
            import numpy as np

            size = len(embedder.embed(["向量的维数"])[0])
            matrix = np.random.default_rng(5).standard_normal((len(rows), size), np.float32)
            matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
            vectors = {r["question"]: v.tobytes() for r, v in zip(rows, matrix, strict=True)}
            seeding.embeddings.keep(embedder.name, vectors)
            what = "5,000 entries, one edited each time: 1 embedded, 4,999 vectors read back"
        seeding.close()
        kb = KnowledgeBase(Store(path))  # as the bot starts: the index built, then frozen
        gc.freeze()  # as bot/app.py's startup does
        times = []
        async with LagProbe().running() as probe:
            for n in range(REBUILDS):
                edited = f"初赛作品什么时候截止？（第 {n + 1} 次修改）"
                await kb.store.run(lambda db, q=edited: db.faq.edit(1, question=q))
                start = time.perf_counter()
                await asyncio.to_thread(kb.refresh_faq)  # as handlers/faq.py runs it
                times.append(time.perf_counter() - start)
        print(f"-- FAQ rebuild by {ranking}, {REBUILDS} in a row ({what}): "
              f"{statistics.median(times) * 1000:.0f} ms each (median)")  # fmt: skip
        print(f"  lag {probe.figures()}")
        kb.store.close()
        gc.unfreeze()
    os.environ.pop("CONTEST_BOT_EMBEDDINGS", None)
    load_embedder.cache_clear()


# --- 4. a short soak -----------------------------------------------------------------------------


def soak() -> None:
    if SOAK_MINUTES <= 0:
        return
    from bench import soak as soak_bench

    print(f"-- soak: `contest-bot run` for {SOAK_MINUTES:g} min (bench/soak.py), loop probed")
    soak_bench.main(["--minutes", str(SOAK_MINUTES), "--lag"])


async def idle(seconds: float = 5.0) -> None:
    async with LagProbe().running() as probe:
        await asyncio.sleep(seconds)
    print(f"-- the loop idle for {seconds:g} s (this machine's own noise)")
    print(f"  lag {probe.figures()}")


async def run() -> None:
    await idle()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        await store_calls(folder)
        await broadcast(folder)
        await faq_rebuild(folder)


def main() -> None:
    asyncio.run(run())
    soak()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--emulator"]:
        serve_emulator(int(sys.argv[2]))
    else:
        main()
