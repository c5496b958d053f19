"""No update lost to a crash, none handled twice because Telegram sent it twice.

PTB tells Telegram an update arrived (the next getUpdates' offset; a webhook's 200) as soon as it
is in the update queue, before any handler ran, so a process killed at that moment loses it. Here
the queue writes each update to the database first and hands it to the handlers once it is there;
Telegram hears of it only after that: the webhook answers once `recorded()` returns, and the
getUpdates call that confirms a batch (ConfirmingRequest) waits for the same. The update processor
marks an update handled after its handlers ran; the next start hands the unfinished ones to the
handlers again (startup calls replay). An update recorded before is dropped when it arrives again.

One thread writes all of it (InboxWriter), in batches: whatever waits when it gets to the
database goes in one transaction, so a getUpdates answer of 100 updates, or the handled marks of
the updates finished meanwhile, cost one commit and no hop to a thread each.

What remains is the moment between a handler's message reaching Telegram and the update being
marked handled (its mark waits for the writer's next batch, milliseconds): a process killed
exactly then sends that message again after the restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor
from telegram.request import RequestData

from bot.services import App
from bot.transport import AiohttpRequest
from knowledge.store import Store

log = logging.getLogger(__name__)

KEEP_HANDLED = timedelta(days=7)  # how long an update's id is remembered, to drop it again
PRUNE_EVERY = 10_000  # updates handled between two prunes of the remembered ids
RETRY_SECONDS = (0.5, 1.0, 2.0, 4.0, 5.0)  # waits between attempts while the database refuses


@dataclass
class _Batch:
    taken: list[tuple[int, str, asyncio.Future[bool]]] = field(default_factory=list)
    handled: list[int] = field(default_factory=list)
    prune_before: str | None = None

    def __bool__(self) -> bool:
        return bool(self.taken or self.handled or self.prune_before)


class InboxWriter:
    """The one thread that writes the inbox table: updates taken, updates handled.

    The event loop only appends to a list and wakes the thread; the thread takes everything
    waiting and writes it in one transaction, then resolves the futures of the updates taken.
    While the database refuses (another process holds it past busy_timeout) the batch is tried
    again, and what arrives meanwhile waits: Telegram is not told, and keeps the updates."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._next = _Batch()
        self._wake = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def take(self, update_id: int, payload: str) -> asyncio.Future[bool]:
        """Record an update; the future is True once it is in the database, False when this very
        update was recorded before."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        with self._wake:
            self._start(loop)
            self._next.taken.append((update_id, payload, future))
            self._wake.notify()
        return future

    def handled(self, update_id: int) -> None:
        """Mark an update handled, with the next batch."""
        with self._wake:
            self._start(asyncio.get_running_loop())
            self._next.handled.append(update_id)
            self._wake.notify()

    def prune(self, before: str) -> None:
        """Forget handled updates received before this time, with the next batch."""
        with self._wake:
            self._start(asyncio.get_running_loop())
            self._next.prune_before = before
            self._wake.notify()

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._thread is None:
            self._loop = loop
            self._thread = threading.Thread(target=self._run, name="inbox-writer", daemon=True)
            self._thread.start()

    async def close(self) -> None:
        """Write what is waiting, then stop the thread."""
        with self._wake:
            self._closing = True
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            await asyncio.to_thread(thread.join)
            self._thread = None

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._next and not self._closing:
                    self._wake.wait()
                batch, self._next = self._next, _Batch()
                closing = self._closing
            if batch:
                self._write(batch, closing)
            if closing and not batch:
                return

    def _write(self, batch: _Batch, closing: bool) -> None:
        taken = [(update_id, payload) for update_id, payload, _ in batch.taken]
        outcome: list[bool] | BaseException
        for attempt in itertools.count():
            try:
                outcome = self.store.inbox.write(taken, batch.handled)
                if batch.prune_before is not None:
                    self.store.inbox.prune(batch.prune_before)
                break
            except sqlite3.Error as exc:  # the database refuses: keep the batch, try again
                if (closing or self._closing) and attempt >= len(RETRY_SECONDS):
                    # Stopping: Telegram keeps what it was not told; the rest is replayed.
                    log.error("inbox: %d update(s) not recorded and %d handled mark(s) not "
                              "written: %s", len(taken), len(batch.handled), exc)  # fmt: skip
                    outcome = exc
                    break
                log.warning("cannot write %d update(s) and %d handled mark(s) to the inbox "
                            "(%s); trying again", len(taken), len(batch.handled), exc)  # fmt: skip
                time.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
            except Exception as exc:  # a bug: whoever waits hears of it, Telegram is not told
                log.exception("inbox: writing a batch failed")
                outcome = exc
                break
        futures = [future for *_, future in batch.taken]
        if self._loop is not None and futures:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                self._loop.call_soon_threadsafe(_resolve, futures, outcome)


def _resolve(futures: list[asyncio.Future[bool]], outcome: list[bool] | BaseException) -> None:
    for i, future in enumerate(futures):
        if future.done():
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome[i])


class InboxQueue(asyncio.Queue[object]):
    """The Application's update queue: an Update reaches the handlers once it is stored."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.writer = InboxWriter(store)
        self._last: asyncio.Future[bool] | None = None

    async def put(self, item: object) -> None:
        """Hand an Update to the writer and return at once (PTB's updater puts a getUpdates
        answer one update after the other); it is queued for the handlers when recorded.
        Whoever tells Telegram it arrived waits for `recorded()` first."""
        if not isinstance(item, Update):
            await super().put(item)
            return
        self.put_received(item, item.to_json())

    def put_received(self, update: Update, payload: str) -> None:
        """put() for an update whose JSON is at hand (the webhook's request body)."""
        future = self.writer.take(update.update_id, payload)
        future.add_done_callback(functools.partial(self._recorded, update))
        self._last = future

    def _recorded(self, update: Update, future: asyncio.Future[bool]) -> None:
        if future.cancelled() or future.exception() is not None:
            return  # not recorded: Telegram is not told, and sends it again
        if future.result():
            self.put_nowait(update)
        else:
            log.info("update %s arrived again; dropped", update.update_id)

    async def recorded(self) -> None:
        """Until every update put so far is in the database: then Telegram may hear of it. The
        writer takes them in order, so the last one's turn is everyone's."""
        if self._last is not None:
            await asyncio.shield(self._last)

    async def requeue(self, item: Update) -> None:
        """Queue an update taken before (a replay): no second record."""
        await super().put(item)


async def recorded(queue: asyncio.Queue[object]) -> None:
    """Until the updates put in this queue are stored (an InboxQueue), before acknowledging."""
    if isinstance(queue, InboxQueue):
        await queue.recorded()


class ConfirmingRequest(AiohttpRequest):
    """The connection for getUpdates. Each call confirms the updates of the call before (its
    offset); it goes out only once the inbox has every one of them in the database."""

    def __init__(self, queue: InboxQueue) -> None:
        super().__init__(connection_pool_size=1)  # as PTB's own for getUpdates
        self.queue = queue

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[int, bytes]:
        await self.queue.recorded()
        return await super().do_request(url, method, request_data, *args, **kwargs)


class InboxProcessor(BaseUpdateProcessor):
    """Updates concurrently, as concurrent_updates(True) would; each marked handled after."""

    def __init__(self, writer: InboxWriter, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self.writer = writer
        self.handled = 0

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await coroutine
        if isinstance(update, Update):
            self.writer.handled(update.update_id)  # only a crash before it is written replays it
            self.handled += 1
            if self.handled % PRUNE_EVERY == 0:  # a bot that runs for weeks
                self.writer.prune(prune_before())

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Write the handled marks still waiting: after a clean stop nothing is handled twice."""
        await self.writer.close()


def prune_before() -> str:
    """Handled updates received before this time (UTC ISO) are forgotten."""
    return (datetime.now(UTC) - KEEP_HANDLED).isoformat(timespec="seconds")


async def replay(app: App, store: Store) -> int:
    """Queue the updates a previous process took and did not finish; forget old handled ones.
    Call after initialize and before start. Returns how many were queued."""
    queue = app.update_queue
    if not isinstance(queue, InboxQueue):  # an Application built without the inbox
        return 0
    before = prune_before()
    await store.run(lambda db: db.inbox.prune(before))
    unfinished = await store.run(lambda db: db.inbox.unfinished())
    unreadable = []
    for update_id, payload in unfinished:
        try:
            update = Update.de_json(json.loads(payload), app.bot)
        except Exception:  # a record this version cannot read: say so, and go on
            log.exception("update %s from the inbox cannot be read; skipped", update_id)
            unreadable.append(update_id)
            continue
        await queue.requeue(update)
    if unreadable:
        await store.run(lambda db: db.inbox.done(*unreadable))
    if unfinished:
        log.warning("handling again %d update(s) a previous process did not finish",
                    len(unfinished))  # fmt: skip
    return len(unfinished)
