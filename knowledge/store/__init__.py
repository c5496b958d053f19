"""The SQLite store: the one package that owns SQL.

Schema changes are ordered migrations (schema.py, sqlite-utils' Migrations). Each concern keeps
its queries in a repository of its own — `store.tickets.get(7)`, `store.faq.all()`,
`store.broadcasts.start(…)` — and every repository works on the store's one connection.

The bot's event loop never calls a repository itself: `await store.run(lambda db: …)` runs the
work on the store's own thread, one call after another, with one commit for the calls that
queue up meanwhile (worker.py; README, Reliability).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TypeVar

import sqlite_utils
from sqlite_utils import Migrations

from knowledge.store import exports
from knowledge.store.base import DEFAULT_DB, Connection, db_path_from_env, utcnow
from knowledge.store.broadcasts import (
    Broadcast,
    BroadcastKind,
    Broadcasts,
    BroadcastStatus,
    Deliveries,
    Delivery,
    DeliveryStatus,
)
from knowledge.store.catalogue import CatalogueTables, LoadReport
from knowledge.store.context import CONTEXT_MINUTES, ChatContext
from knowledge.store.digests import Digests, DigestStatus, DigestTopic, TopicDelivery
from knowledge.store.embeddings import Embeddings
from knowledge.store.exports import EXPORTS, Export
from knowledge.store.faq import FaqEntries, FaqEntry
from knowledge.store.inbox import Inbox
from knowledge.store.schema import MIGRATIONS, bridge_legacy
from knowledge.store.subscriptions import (
    Audience,
    AudienceKind,
    ChatKind,
    Subscription,
    Subscriptions,
)
from knowledge.store.tickets import (
    MessageKind,
    Question,
    Questions,
    Ticket,
    Tickets,
    TicketStatus,
)
from knowledge.store.worker import StoreThread

T = TypeVar("T")


class Store:
    """The bot's database: one connection, one repository per concern, and one thread of its
    own for the bot's calls (run)."""

    def __init__(self, path: Path | str, *, migrations: Migrations = MIGRATIONS) -> None:
        self._c = Connection(path)
        self.db: sqlite_utils.Database = self._c.db
        # Held by whoever is in the database (a transaction, a query): tests hold it to make
        # the store's users wait.
        self.lock = self._c.lock
        self.migrations = migrations
        self.migrate()
        self.catalogue = CatalogueTables(self._c)
        self.faq = FaqEntries(self._c)
        self.questions = Questions(self._c)
        self.tickets = Tickets(self._c)
        self.subscriptions = Subscriptions(self._c)
        self.broadcasts = Broadcasts(self._c)
        self.deliveries = Deliveries(self._c)
        self.inbox = Inbox(self._c)
        self.context = ChatContext(self._c)
        self.digests = Digests(self._c)
        self.embeddings = Embeddings(self._c)
        self._thread: StoreThread[Store] | None = None
        self._thread_lock = threading.Lock()

    # --- off the event loop ---------------------------------------------------------------------

    async def run(self, work: Callable[[Store], T]) -> T:
        """Run `work(store)` on the store's own thread and return what it returns, once what
        it wrote is committed: the event loop goes on meanwhile. Calls run one at a time, in
        the order they were made (a call is queued as soon as it is awaited, before the caller
        yields); a call whose caller was cancelled still runs to its end (a write is never left
        half done). `work` may run twice should its transaction fail (see
        worker.py): keep it to store calls and pure computing."""
        with self._thread_lock:
            if self._thread is None:
                self._thread = StoreThread(self, self._c)
            thread = self._thread
        return await thread.submit(work)

    def watch_loop(self, on: bool = True) -> None:
        """From now on (on=False: no longer), count store calls made on this thread — the bot's
        event loop, which must never wait on the disk (calls_on_loop, /metrics)."""
        self._c.loop_thread = threading.get_ident() if on else None

    @property
    def calls_on_loop(self) -> int:
        """Store calls made on the watched event loop (see watch_loop): 0 when all is well."""
        return self._c.calls_on_loop

    # --- the database as a whole ----------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply the migrations not yet applied, in order; return their names. A database made
        before the store used sqlite-utils' Migrations is carried over first (bridge_legacy)."""
        with self._c.lock:
            bridge_legacy(self.db, self.migrations)
            pending = [m.name for m in self.migrations.pending(self.db)]
            self.migrations.apply(self.db)
        return pending

    def applied_migrations(self) -> list[str]:
        """The names of the applied migrations, in the order they were applied."""
        with self._c.reading() as db:
            return [m.name for m in self.migrations.applied(db)]

    def transaction(self) -> AbstractContextManager[sqlite_utils.Database]:
        """A block of repository calls that happen together or not at all."""
        return self._c.transaction()

    def ping(self) -> bool:
        """True when the database answers a query."""
        with self._c.reading() as db:
            row = db.execute("select 1").fetchone()
        return bool(row == (1,))

    def export(self, name: str) -> Export:
        """Every row of the table behind ``name`` (one of EXPORTS)."""
        return exports.export(self._c, name)

    def backup(self, target: Path | str) -> Path:
        """A checked copy of the live database at ``target`` (see exports.backup)."""
        return exports.backup(self._c, target)

    def close(self) -> None:
        """Finish the calls queued for the store's thread, then close the connection."""
        with self._thread_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.stop()
        self._c.close()


__all__ = [
    "CONTEXT_MINUTES",
    "DEFAULT_DB",
    "EXPORTS",
    "Audience",
    "AudienceKind",
    "Broadcast",
    "BroadcastKind",
    "BroadcastStatus",
    "ChatKind",
    "Delivery",
    "DeliveryStatus",
    "DigestStatus",
    "DigestTopic",
    "Export",
    "FaqEntry",
    "LoadReport",
    "MessageKind",
    "Question",
    "Store",
    "Subscription",
    "Ticket",
    "TicketStatus",
    "TopicDelivery",
    "db_path_from_env",
    "utcnow",
]
