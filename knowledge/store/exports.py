"""What organizers take out of the bot: tables as rows for JSON or CSV, the database as a file."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from knowledge.store.base import Connection

# Each export is one table. A table the database does not have (yet) exports nothing rather
# than failing: a copy of an older database, say, or one opened read-only.
EXPORTS: dict[str, str] = {
    "tickets": "tickets",
    "faq": "faq",
    "subscribers": "subscriptions",
    "broadcasts": "broadcasts",
}
# A broadcast's row gets how many of its messages stand at each delivery status.
DELIVERY_COLUMNS = ("sent", "failed", "blocked", "unknown", "pending", "sending")


@dataclass(frozen=True)
class Export:
    """One export: its columns in table order and every row, oldest first."""

    name: str
    table: str | None  # None when the database has no such table yet
    columns: list[str]
    rows: list[dict[str, Any]]


def export(connection: Connection, name: str) -> Export:
    """Every row of the table behind ``name`` (one of EXPORTS)."""
    table = EXPORTS[name]
    with connection.reading() as db:
        existing = set(db.table_names())
        if table not in existing:
            return Export(name, None, [], [])
        columns = [c.name for c in db[table].columns]
        # Table and column names come from the constants above, never from the user.
        sql = f"select * from [{table}]"
        if table == "broadcasts" and "deliveries" in existing:
            counts = ", ".join(
                f"(select count(*) from deliveries d where d.broadcast_id = b.id "
                f"and d.status = '{status}') as [{status}]"
                for status in DELIVERY_COLUMNS
            )
            sql = f"select b.*, {counts} from broadcasts b"
            columns += DELIVERY_COLUMNS
        rows = [dict(r) for r in db.query(sql + " order by rowid")]
    return Export(name, table, columns, rows)


def backup(connection: Connection, target: Path | str) -> Path:
    """Copy the live database to ``target`` with SQLite's online backup API.

    The copy is one consistent snapshot, taken in a single step from a read-only connection
    of its own: the store's connection (and everything waiting on its lock) is never held
    up, and in WAL mode writers go on meanwhile. It is written beside the target, checked
    with integrity_check and renamed into place, so an interrupted or bad copy never
    replaces a good one. A directory target gets a time-stamped file name.
    """
    path = Path(target)
    if path.is_dir():
        path = path / f"contest-bot-{datetime.now():%Y%m%d-%H%M%S}.db"
    partial = path.with_name(path.name + ".part")
    partial.unlink(missing_ok=True)
    try:
        destination = sqlite3.connect(partial)
        try:
            source = _snapshot_source(connection)
            if source is None:  # an in-memory database: only its own connection sees it
                with connection.reading() as db:
                    db.conn.backup(destination)
            else:
                try:
                    source.backup(destination)  # pages=-1: all in one read transaction
                finally:
                    source.close()
            # A copy of a WAL database is WAL too; make it one self-contained file.
            destination.execute("PRAGMA journal_mode = DELETE")
            check = destination.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"the copy fails its integrity check: {check}")
        finally:
            destination.close()
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def _snapshot_source(connection: Connection) -> sqlite3.Connection | None:
    """A read-only connection to the database file, or None for an in-memory database."""
    with connection.reading() as db:
        rows = db.conn.execute("PRAGMA database_list").fetchall()
    file = next((row[2] for row in rows if row[1] == "main"), "")
    if not file:
        return None
    source = sqlite3.connect(f"file:{quote(Path(file).as_posix())}?mode=ro", uri=True)
    source.execute("PRAGMA busy_timeout = 5000")
    return source
