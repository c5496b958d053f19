"""Figures: cheap aggregates read at each /metrics scrape and /healthz check, and the rows
/stats, `contest-bot report` and the daily digest count by day."""

from __future__ import annotations

import json

from knowledge.store.base import StoreBase
from knowledge.store.tickets import OPEN, Question

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

    # --- /stats and the daily digest (handlers/stats.py) ----------------------------------------
    # Bounds are UTC ISO strings as utcnow() writes them, so that they compare as text.

    def asked_between(self, start: str, end: str) -> list[tuple[str, str]]:
        """(created_at, intent) of each question typed to the bot in [start, end)."""
        with self.lock:
            rows = self.db.execute(
                "select created_at, intent from questions "
                "where created_at >= ? and created_at < ?",
                [start, end],
            ).fetchall()
        return [(str(created), str(intent)) for created, intent in rows]

    def tickets_between(self, start: str, end: str) -> list[tuple[str, str | None]]:
        """(created_at, first_answered_at) of each ticket opened in [start, end)."""
        with self.lock:
            rows = self.db.execute(
                "select created_at, first_answered_at from tickets "
                "where created_at >= ? and created_at < ?",
                [start, end],
            ).fetchall()
        return [(str(created), first) for created, first in rows]

    def escalated_between(self, start: str, end: str, limit: int = 5000) -> list[Question]:
        """Questions the bot could not answer (it offered the organizers), asked in [start, end),
        oldest first."""
        with self.lock:
            rows = list(
                self.db.table("questions").rows_where(
                    "intent = ? and created_at >= ? and created_at < ?",
                    ["escalate", start, end],
                    order_by="id",
                    limit=limit,
                )
            )
        return [
            Question(
                id=r["id"],
                user_id=r["user_id"],
                chat_id=r["chat_id"],
                text=r["text"],
                intent=r["intent"],
                ids=tuple(json.loads(r["ids"] or "[]")),
                created_at=r["created_at"],
                ticket_id=r["ticket_id"],
            )
            for r in rows
        ]
