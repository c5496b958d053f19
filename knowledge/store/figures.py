"""Figures read at each /metrics scrape and /healthz check: cheap aggregate queries only."""

from __future__ import annotations

from knowledge.store.base import StoreBase
from knowledge.store.tickets import OPEN

# Each has a status column: broadcasts (draft … done) and their messages, one per recipient.
PROGRESS_TABLES = {"broadcasts": "broadcasts", "deliveries": "deliveries"}


class FigureStore(StoreBase):
    def ping(self) -> bool:
        """True when the database answers a query."""
        with self.lock:
            row = self.db.execute("select 1").fetchone()
        return bool(row == (1,))

    def ticket_counts(self) -> tuple[int, int]:
        """(tickets ever opened, tickets open now)."""
        with self.lock:
            row = self.db.execute(
                "select count(*), coalesce(sum(status = ?), 0) from tickets", [OPEN]
            ).fetchone()
        return int(row[0]), int(row[1])

    def answer_waits(self) -> list[float]:
        """Seconds from each answered ticket's creation to its answer."""
        with self.lock:
            rows = self.db.execute(
                "select (julianday(answered_at) - julianday(created_at)) * 86400 from tickets "
                "where answered_at is not null"
            ).fetchall()
        return [max(0.0, float(r[0])) for r in rows if r[0] is not None]

    def broadcast_progress(self) -> dict[str, dict[str, int]]:
        """Counts by status of broadcasts ("broadcasts") and of their messages ("deliveries");
        a kind is missing when the database has no such table (yet)."""
        progress: dict[str, dict[str, int]] = {}
        with self.lock:
            existing = set(self.db.table_names())
            for kind, table in PROGRESS_TABLES.items():
                if table not in existing:
                    continue
                # The table name comes from PROGRESS_TABLES, never from the user.
                rows = self.db.execute(
                    f"select coalesce(status, ''), count(*) from [{table}] group by 1"
                ).fetchall()
                progress[kind] = {str(status): int(n) for status, n in rows}
        return progress
