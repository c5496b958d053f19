"""What organizers take out of the bot: tables as rows for JSON or CSV, the database as a file."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from knowledge.store.base import StoreBase

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


class ExportStore(StoreBase):
    def export(self, name: str) -> Export:
        """Every row of the table behind ``name`` (one of EXPORTS)."""
        table = EXPORTS[name]
        with self.lock:
            existing = set(self.db.table_names())
            if table not in existing:
                return Export(name, None, [], [])
            columns = [c.name for c in self.db[table].columns]
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
            rows = [dict(r) for r in self.db.query(sql + " order by rowid")]
        return Export(name, table, columns, rows)

    def backup(self, target: Path | str) -> Path:
        """Copy the live database to ``target`` with SQLite's online backup API.

        The copy is written beside the target and renamed into place, so an interrupted backup
        never replaces a good one. A directory target gets a time-stamped file name.
        """
        path = Path(target)
        if path.is_dir():
            path = path / f"contest-bot-{datetime.now():%Y%m%d-%H%M%S}.db"
        partial = path.with_name(path.name + ".part")
        partial.unlink(missing_ok=True)
        try:
            destination = sqlite3.connect(partial)
            try:
                with self.lock:
                    self.db.conn.backup(destination)
                # A copy of a WAL database is WAL too; make it one self-contained file.
                destination.execute("PRAGMA journal_mode = DELETE")
                (check,) = destination.execute("PRAGMA quick_check").fetchone()
                if check != "ok":
                    raise sqlite3.DatabaseError(f"the copy fails its integrity check: {check}")
            finally:
                destination.close()
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return path
