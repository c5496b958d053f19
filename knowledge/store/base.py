"""The connection, its lock, transactions and migrations: what every store module builds on."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from knowledge.store.schema import MIGRATIONS

DEFAULT_DB = Path("data/contest-bot.db")
# SQLite integers are 64-bit: a larger id (a forged button, /ticket 99999999999999999999) names
# no row, and must not reach SQLite, which raises OverflowError for it.
MAX_ID = 2**63 - 1


def db_path_from_env() -> Path:
    """CONTEST_BOT_DB, or data/contest-bot.db."""
    return Path(os.environ.get("CONTEST_BOT_DB") or DEFAULT_DB)


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class StoreBase:
    """A sqlite-utils Database with the project's schema, safe to share between threads."""

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 5000")
        self.db = sqlite_utils.Database(conn)
        if str(path) != ":memory:":
            self.db.enable_wal()
            # A commit is written to the WAL file, not flushed to the disk each time: it survives
            # the process being killed at any moment; only an OS crash or power cut may undo the
            # last commits before a checkpoint. An fsync per commit (FULL) made every update's
            # acknowledgement wait for the disk (README, Reliability).
            self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute("PRAGMA foreign_keys = ON")
        # One connection serves every thread; this lock keeps a transaction whole.
        self.lock = threading.RLock()
        self.migrate()

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """Run a block atomically (nested blocks become savepoints).

        The outermost block takes the write lock first (BEGIN IMMEDIATE): a deferred
        transaction that reads and then writes while another process holds the lock gets
        "database is locked" at once, without waiting busy_timeout for it."""
        with self.lock:
            if self.db.conn.in_transaction:
                with self.db.atomic():
                    yield self.db
                return
            self.db.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                if self.db.conn.in_transaction:
                    self.db.conn.execute("ROLLBACK")
                raise
            self.db.conn.execute("COMMIT")

    def close(self) -> None:
        with self.lock:
            self.db.conn.close()

    # --- schema ---------------------------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply the migrations not yet applied, in order; return their names."""
        applied: list[str] = []
        with self.lock:
            if "_migrations" not in self.db.table_names():
                self.db.table("_migrations").create({"name": str, "applied_at": str}, pk="name")
            done = {row["name"] for row in self.db.table("_migrations").rows}
            for migration in MIGRATIONS:
                if migration.__name__ in done:
                    continue
                with self.transaction() as db:
                    migration(db)
                    db.table("_migrations").insert(
                        {"name": migration.__name__, "applied_at": utcnow()}
                    )
                applied.append(migration.__name__)
        return applied

    def applied_migrations(self) -> list[str]:
        return [row["name"] for row in self.db.table("_migrations").rows_where(order_by="name")]
