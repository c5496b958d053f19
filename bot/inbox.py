"""No update lost to a crash, none handled twice because Telegram sent it twice.

PTB tells Telegram an update arrived (the next getUpdates' offset; a webhook's 200) as soon as it
is in the update queue, before any handler ran, so a process killed at that moment loses it. Here
the queue writes each update to the database first, and the update processor marks it handled
after its handlers ran; the next start hands the unfinished ones to the handlers again (startup
calls replay). An update recorded before is dropped when it arrives again.

What remains is the moment between a handler's message reaching Telegram and the update being
marked handled: a process killed exactly then sends that message again after the restart.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import sqlite3
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.services import App
from knowledge.store import Store

log = logging.getLogger(__name__)

KEEP_HANDLED = timedelta(days=7)  # how long an update's id is remembered, to drop it again
PRUNE_EVERY = 10_000  # updates handled between two prunes of the remembered ids


class InboxQueue(asyncio.Queue[object]):
    """The Application's update queue: an Update is in the database before it is queued."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    async def put(self, item: object) -> None:
        if isinstance(item, Update) and not await self._record(item):
            log.info("update %s arrived again; dropped", item.update_id)
            return
        await super().put(item)

    async def _record(self, update: Update) -> bool:
        # Until it is recorded, the update must not be confirmed to Telegram: while the database
        # refuses (locked by another process past busy_timeout), wait here, which holds back the
        # updater (Telegram keeps the updates) or the webhook's answer (Telegram sends again).
        update_id, payload = update.update_id, update.to_json()
        for attempt in itertools.count():
            try:
                return await self.store.run(lambda db: db.inbox.add(update_id, payload))
            except sqlite3.Error as exc:
                log.warning("cannot record update %s (%s); trying again", update.update_id, exc)
                await asyncio.sleep(min(5.0, 0.5 * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    async def requeue(self, item: Update) -> None:
        """Queue an update taken before (a replay): no second record."""
        await super().put(item)


class InboxProcessor(BaseUpdateProcessor):
    """Updates concurrently, as concurrent_updates(True) would; each marked handled after."""

    def __init__(self, store: Store, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self.store = store
        self.handled = 0

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await coroutine
        if isinstance(update, Update):
            update_id = update.update_id
            try:
                await self.store.run(lambda db: db.inbox.done(update_id))
                self.handled += 1
                if self.handled % PRUNE_EVERY == 0:  # a bot that runs for weeks
                    before = prune_before()
                    await self.store.run(lambda db: db.inbox.prune(before))
            except sqlite3.Error as exc:  # only a crash before the next mark replays it
                log.warning("cannot mark update %s handled: %s", update.update_id, exc)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


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
