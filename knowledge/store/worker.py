"""The store's own thread: where the bot's store calls run, so the event loop never waits on
the disk.

Calls run one at a time, in the order they were made. When several are waiting, the thread runs
them in one transaction, each in a savepoint of its own, and commits once for all of them (group
commit): one disk sync instead of one per call, which is what a busy bot's writes cost. A call's
result reaches its caller only after that commit, so an update the inbox records is on disk
before Telegram hears it arrived; a call that fails has its own writes undone and the others
keep theirs. Should the shared transaction itself fail (the disk is full, the commit fails), the
calls of the batch run again one by one, each in its own transaction, and each caller gets its
own outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from knowledge.store.base import Connection

S = TypeVar("S")
T = TypeVar("T")
# Calls run in one transaction at most; a bound on how long the first of them waits.
MAX_BATCH = 64


@dataclass
class _Call(Generic[S]):
    work: Callable[[S], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


@dataclass
class _Outcome:
    value: Any = None
    error: BaseException | None = None


class StoreThread(Generic[S]):
    """Runs work(target) for the event loop on one thread of its own (see the module doc)."""

    def __init__(self, target: S, connection: Connection) -> None:
        self._target = target
        self._c = connection
        self._queue: queue.SimpleQueue[_Call[S] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="store", daemon=True)
        self._thread.start()
        self.batched_calls = 0  # calls that shared a transaction with others

    def submit(self, work: Callable[[S], T]) -> asyncio.Future[T]:
        """Queue work; the future is done once it ran (and what it wrote is committed)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Call(work, future, loop))
        return future

    def stop(self) -> None:
        """Run what is queued, then end the thread."""
        self._queue.put(None)
        self._thread.join()

    def _serve(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stopping = [first], False
            while len(batch) < MAX_BATCH:
                try:
                    waiting = self._queue.get_nowait()
                except queue.Empty:
                    break
                if waiting is None:
                    stopping = True
                    break
                batch.append(waiting)
            for call, outcome in zip(batch, self._run(batch), strict=True):
                _settle(call, outcome)
            if stopping:
                return

    def _run(self, batch: list[_Call[S]]) -> list[_Outcome]:
        if len(batch) == 1:  # its store calls take the lock and a transaction of their own
            return [self._one(batch[0])]
        conn = self._c.db.conn
        with self._c.lock:
            try:
                conn.execute("BEGIN IMMEDIATE")
                outcomes = []
                for call in batch:
                    outcomes.append(self._one(call, shared=True))
                    if not conn.in_transaction:
                        raise sqlite3.OperationalError("the shared transaction was lost")
                conn.execute("COMMIT")
            except sqlite3.Error:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                return [self._one(call) for call in batch]  # undone: each again on its own
            self.batched_calls += len(batch)
            return outcomes

    def _one(self, call: _Call[S], shared: bool = False) -> _Outcome:
        """Run one call; in the shared transaction (the lock held), in a savepoint that its
        failure rolls back."""
        try:
            if shared:
                with self._c.db.atomic():
                    return _Outcome(call.work(self._target))
            return _Outcome(call.work(self._target))
        except BaseException as exc:  # the caller's to handle, whatever it is
            return _Outcome(error=exc)


def _settle(call: _Call[Any], outcome: _Outcome) -> None:
    def settle() -> None:
        if call.future.done():  # the caller was cancelled meanwhile
            return
        if outcome.error is not None:
            call.future.set_exception(outcome.error)
        else:
            call.future.set_result(outcome.value)

    # A closed loop: the caller is gone, nobody waits for the outcome any more.
    with contextlib.suppress(RuntimeError):
        call.loop.call_soon_threadsafe(settle)
