"""What every repository of the store builds on: the connection with its lock and transactions,
and rows read into dataclasses."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sqlite3
import threading
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

log = logging.getLogger(__name__)

DEFAULT_DB = Path("data/contest-bot.db")
# SQLite integers are 64-bit: a larger id (a forged button, /ticket 99999999999999999999) names
# no row, and must not reach SQLite, which raises OverflowError for it.
MAX_ID = 2**63 - 1

T = TypeVar("T")


def db_path_from_env() -> Path:
    """CONTEST_BOT_DB, or data/contest-bot.db."""
    return Path(os.environ.get("CONTEST_BOT_DB") or DEFAULT_DB)


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def valid_id(row_id: int) -> bool:
    """Whether an id can name a row at all."""
    return 0 < row_id <= MAX_ID


class Connection:
    """One SQLite connection (sqlite-utils Database) shared by every repository and thread.

    The bot calls it from the store's own thread (Store.run); the command line, tests and the
    worker threads of a FAQ rebuild call it directly. The lock keeps a transaction whole."""

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
        self.lock = threading.RLock()
        # While the bot runs: its event loop's thread, which must never wait on the disk. Calls
        # made on it anyway are counted (/metrics) and the first is logged with its stack.
        self.loop_thread: int | None = None
        self.calls_on_loop = 0

    def _check_thread(self) -> None:
        if self.loop_thread is not None and threading.get_ident() == self.loop_thread:
            self.calls_on_loop += 1
            if self.calls_on_loop == 1:
                log.warning("a store call on the event loop; use Store.run", stack_info=True)

    @contextmanager
    def reading(self) -> Iterator[sqlite_utils.Database]:
        """The database, for queries that write nothing."""
        with self.lock:
            self._check_thread()
            yield self.db

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """Run a block atomically (nested blocks become savepoints).

        The outermost block takes the write lock first (BEGIN IMMEDIATE): a deferred
        transaction that reads and then writes while another process holds the lock gets
        "database is locked" at once, without waiting busy_timeout for it."""
        with self.lock:
            self._check_thread()
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


def inserted(table: sqlite_utils.db.Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """Insert a row and read it back as stored (with its new id and the table's defaults)."""
    return table.get(table.insert(dict(row)).last_rowid or 0)


class Repository:
    """The queries of one concern (tickets, broadcasts, …) over the store's connection."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection


# --- rows to dataclasses -------------------------------------------------------------------------

Decoder = Callable[[Any], Any]


def from_row(cls: type[T], row: Mapping[str, Any], **given: Any) -> T:
    """The dataclass `cls` of a table row: each field from the column of the same name, read
    as the field's type says (see _decoder); `given` are fields the caller worked out itself.
    Columns without a field are left out."""
    values = {
        name: row[name] if decode is None else decode(row[name])
        for name, decode in _fields(cls)
        if name not in given
    }
    return cls(**values, **given)


_FIELDS: dict[type[Any], tuple[tuple[str, Decoder | None], ...]] = {}


def _fields(cls: type[Any]) -> tuple[tuple[str, Decoder | None], ...]:
    """The dataclass's fields with their decoders, worked out once per class."""
    if cls not in _FIELDS:
        hints = typing.get_type_hints(cls)
        _FIELDS[cls] = tuple((f.name, _decoder(hints[f.name])) for f in dataclasses.fields(cls))
    return _FIELDS[cls]


def _decoder(hint: Any) -> Decoder | None:
    """How a column becomes a field of this type: a status from its text, a flag from 0/1, a
    tuple from a JSON list (NULL: empty), a value with from_json from its JSON; None: as it is.
    A field that may be None is None where the column is NULL."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        decode = _decoder(inner)
        if decode is None:
            return None
        return lambda raw: None if raw is None else decode(raw)
    if typing.get_origin(hint) is tuple:
        return lambda raw: tuple(json.loads(raw or "[]"))
    if hint is bool:
        return bool
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return hint
    from_json = getattr(hint, "from_json", None)
    return from_json if callable(from_json) else None
