"""Broadcasts and their deliveries: one row per recipient, so a broadcast survives a restart.

A delivery moves pending → sending (claimed just before the HTTP call) → sent, failed or
blocked; transient errors put it back to pending with a later next_attempt_at. A row still
'sending' when the process starts again was in flight when the process died: Telegram may or
may not have delivered it, and there is no way to ask. recover_in_flight() marks such rows
'unknown' and they are not sent again on their own (at most once); organizers see how many
and may resend them on purpose (requeue_unknown).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from knowledge.store.base import Repository, from_row, inserted, utcnow
from knowledge.store.subscriptions import Audience


class BroadcastStatus(StrEnum):
    DRAFT = "draft"  # the organizer is still choosing its audience
    SCHEDULED = "scheduled"  # confirmed, to be sent at scheduled_at
    QUEUED = "queued"  # confirmed, to be sent now
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"


class BroadcastKind(StrEnum):
    TEXT = "text"  # HTML in `text`
    COPY = "copy"  # copyMessage of from_chat_id/source_message_id


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed just before the HTTP call
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"  # Telegram said 403: the recipient blocked the bot or left
    UNKNOWN = "unknown"  # in flight when the process died


@dataclass(frozen=True)
class Broadcast:
    id: int
    status: BroadcastStatus
    kind: BroadcastKind
    text: str | None
    from_chat_id: int | None
    source_message_id: int | None
    audience: Audience | None  # None while the organizer is still choosing
    scheduled_at: str | None  # UTC ISO time; None: send on confirmation
    chat_id: int  # the organizers' chat it was composed in
    panel_message_id: int | None  # the preview, then progress and report message
    created_by: int
    created_by_name: str
    total: int
    created_at: str
    started_at: str | None
    finished_at: str | None


@dataclass(frozen=True)
class Delivery:
    broadcast_id: int
    chat_id: int
    status: DeliveryStatus
    attempts: int
    message_id: int | None
    error: str | None


B, D = BroadcastStatus, DeliveryStatus  # short names for the queries below


class Broadcasts(Repository):
    def create(
        self,
        *,
        kind: BroadcastKind,
        chat_id: int,
        created_by: int,
        created_by_name: str,
        text: str | None = None,
        from_chat_id: int | None = None,
        source_message_id: int | None = None,
        audience: Audience | None = None,
        scheduled_at: str | None = None,
    ) -> Broadcast:
        """A draft, composed in the organizers' chat `chat_id`."""
        now = utcnow()
        with self._c.transaction() as db:
            row = {
                "status": B.DRAFT,
                "kind": kind,
                "text": text,
                "from_chat_id": from_chat_id,
                "source_message_id": source_message_id,
                "audience": audience.to_json() if audience else None,
                "scheduled_at": scheduled_at,
                "chat_id": chat_id,
                "panel_message_id": None,
                "created_by": created_by,
                "created_by_name": created_by_name,
                "total": 0,
                "created_at": now,
                "started_at": None,
                "finished_at": None,
            }
            return from_row(Broadcast, inserted(db.table("broadcasts"), row))

    def get(self, broadcast_id: int) -> Broadcast | None:
        with self._c.reading() as db:
            rows = list(db.table("broadcasts").rows_where("id = ?", [broadcast_id]))
        return from_row(Broadcast, rows[0]) if rows else None

    def update(self, broadcast_id: int, **changes: Any) -> Broadcast:
        if isinstance(changes.get("audience"), Audience):
            changes["audience"] = changes["audience"].to_json()
        with self._c.transaction() as db:
            db.table("broadcasts").update(broadcast_id, changes)
            return from_row(Broadcast, db.table("broadcasts").get(broadcast_id))

    def update_draft(self, broadcast_id: int, **changes: Any) -> Broadcast | None:
        """Change a draft (its audience, say); None when it is no longer a draft (confirmed
        or cancelled meanwhile): a composed broadcast does not change after confirmation."""
        with self._c.transaction():
            found = self.get(broadcast_id)
            if found is None or found.status != B.DRAFT:
                return None
            return self.update(broadcast_id, **changes)

    def drop_draft(self, broadcast_id: int) -> bool:
        """A draft cancelled before it was confirmed; False when it was not a draft."""
        return self._move(broadcast_id, [B.DRAFT], B.CANCELLED, finished_at=utcnow())

    def _move(
        self,
        broadcast_id: int,
        sources: Iterable[BroadcastStatus],
        target: BroadcastStatus,
        **extra: Any,
    ) -> bool:
        """Change the status only from one of `sources`: a button pressed twice acts once."""
        sources = list(sources)
        marks = ", ".join("?" for _ in sources)
        sets = ", ".join(f"[{k}] = ?" for k in ["status", *extra])
        with self._c.transaction() as db:
            cursor = db.execute(
                f"update broadcasts set {sets} where id = ? and status in ({marks})",
                [target, *extra.values(), broadcast_id, *sources],
            )
            return cursor.rowcount == 1

    def confirm(self, broadcast_id: int) -> bool:
        """A draft becomes queued (send now) or scheduled; False when it was not a draft."""
        with self._c.transaction():
            found = self.get(broadcast_id)
            if found is None or found.audience is None:
                return False
            target = B.SCHEDULED if found.scheduled_at else B.QUEUED
            return self._move(broadcast_id, [B.DRAFT], target)

    def cancel(self, broadcast_id: int) -> bool:
        """Stop a draft, a scheduled, queued or running broadcast; pending rows stay unsent."""
        return self._move(
            broadcast_id,
            [B.DRAFT, B.SCHEDULED, B.QUEUED, B.RUNNING],
            B.CANCELLED,
            finished_at=utcnow(),
        )

    def next_job(self, now: str | None = None) -> Broadcast | None:
        """What the engine should work on: a running broadcast first (it was interrupted),
        then the oldest queued one, then a scheduled one that is due."""
        now = now or utcnow()
        with self._c.reading() as db:
            for where, args in (
                ("status = ?", [B.RUNNING]),
                ("status = ?", [B.QUEUED]),
                ("status = ? and scheduled_at <= ?", [B.SCHEDULED, now]),
            ):
                rows = list(db.table("broadcasts").rows_where(where, args, order_by="id", limit=1))
                if rows:
                    return from_row(Broadcast, rows[0])
        return None

    def next_scheduled_at(self) -> str | None:
        with self._c.reading() as db:
            rows = list(
                db.table("broadcasts").rows_where(
                    "status = ?", [B.SCHEDULED], order_by="scheduled_at", limit=1
                )
            )
        return rows[0]["scheduled_at"] if rows else None

    def start(self, broadcast_id: int, recipients: Iterable[int]) -> Broadcast | None:
        """Queued or due scheduled → running, with one pending delivery per recipient, in one
        transaction; a broadcast already running keeps its deliveries."""
        chat_ids = list(dict.fromkeys(recipients))
        now = utcnow()
        with self._c.transaction() as db:
            found = self.get(broadcast_id)
            if found is None or found.status not in (B.QUEUED, B.SCHEDULED, B.RUNNING):
                return None
            if found.status != B.RUNNING:
                db.table("deliveries").insert_all(
                    (
                        {
                            "broadcast_id": broadcast_id,
                            "chat_id": chat_id,
                            "status": D.PENDING,
                            "attempts": 0,
                            "message_id": None,
                            "error": None,
                            "next_attempt_at": 0.0,
                            "updated_at": now,
                        }
                        for chat_id in chat_ids
                    ),
                    batch_size=500,
                )
                db.table("broadcasts").update(
                    broadcast_id, {"status": B.RUNNING, "total": len(chat_ids), "started_at": now}
                )
            return self.get(broadcast_id)

    def finish(self, broadcast_id: int) -> bool:
        return self._move(broadcast_id, [B.RUNNING], B.DONE, finished_at=utcnow())

    def recent(self, limit: int = 10) -> list[Broadcast]:
        """Scheduled, queued and running ones, then the latest others, newest first."""
        with self._c.reading() as db:
            live = db.table("broadcasts").rows_where(
                "status in (?, ?, ?)", [B.SCHEDULED, B.QUEUED, B.RUNNING], order_by="id desc"
            )
            past = db.table("broadcasts").rows_where(
                "status in (?, ?)", [B.DONE, B.CANCELLED], order_by="id desc", limit=limit
            )
            return [from_row(Broadcast, r) for r in [*live, *past]]

    def progress(self) -> dict[str, dict[str, int]]:
        """For /metrics: counts by status of broadcasts ("broadcasts") and of their messages
        ("deliveries"); a kind is missing when the database has no such table."""
        progress: dict[str, dict[str, int]] = {}
        with self._c.reading() as db:
            existing = set(db.table_names())  # a copy of an older database may lack one
            for table in ("broadcasts", "deliveries"):
                if table not in existing:
                    continue
                rows = db.execute(
                    f"select coalesce(status, ''), count(*) from [{table}] group by 1"
                ).fetchall()
                progress[table] = {str(status): int(n) for status, n in rows}
        return progress


class Deliveries(Repository):
    """One row per recipient of a broadcast (see the module docstring)."""

    def due(self, broadcast_id: int, now: float | None = None, limit: int = 100) -> list[Delivery]:
        """Pending deliveries whose (re)try time has come, in recipient order."""
        now = time.time() if now is None else now
        with self._c.reading() as db:
            rows = db.table("deliveries").rows_where(
                "broadcast_id = ? and status = ? and next_attempt_at <= ?",
                [broadcast_id, D.PENDING, now],
                order_by="rowid",
                limit=limit,
            )
            return [from_row(Delivery, r) for r in rows]

    def next_retry_at(self, broadcast_id: int) -> float | None:
        """When the earliest pending delivery is due; None when none is pending."""
        with self._c.reading() as db:
            row = db.execute(
                "select min(next_attempt_at) from deliveries where broadcast_id = ? "
                "and status = ?",
                [broadcast_id, D.PENDING],
            ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def claim(self, broadcast_id: int, chat_id: int) -> int | None:
        """pending → sending, just before the HTTP call; the attempt number, or None when the
        row was no longer pending."""
        with self._c.transaction() as db:
            cursor = db.execute(
                "update deliveries set status = ?, attempts = attempts + 1, updated_at = ? "
                "where broadcast_id = ? and chat_id = ? and status = ?",
                [D.SENDING, utcnow(), broadcast_id, chat_id, D.PENDING],
            )
            if cursor.rowcount != 1:
                return None
            row = db.execute(
                "select attempts from deliveries where broadcast_id = ? and chat_id = ?",
                [broadcast_id, chat_id],
            ).fetchone()
        return int(row[0])

    def record(
        self,
        broadcast_id: int,
        chat_id: int,
        status: DeliveryStatus,
        *,
        message_id: int | None = None,
        error: str | None = None,
        retry_at: float | None = None,
        refund: bool = False,
    ) -> None:
        """The outcome of a claimed send. PENDING with retry_at retries later; refund=True
        does not count the attempt (a 429 is Telegram asking to wait, not a failure)."""
        with self._c.transaction() as db:
            db.execute(
                "update deliveries set status = ?, message_id = coalesce(?, message_id), "
                "error = ?, next_attempt_at = coalesce(?, next_attempt_at), "
                "attempts = attempts - ?, updated_at = ? "
                "where broadcast_id = ? and chat_id = ? and status = ?",
                [
                    status, message_id, error, retry_at, int(refund), utcnow(),
                    broadcast_id, chat_id, D.SENDING,
                ],
            )  # fmt: skip

    def defer(self, broadcast_id: int, chat_id: int, retry_at: float) -> None:
        """Not now (the chat's own limit): try again at retry_at without counting an attempt."""
        with self._c.transaction() as db:
            db.execute(
                "update deliveries set next_attempt_at = ? where broadcast_id = ? "
                "and chat_id = ? and status = ?",
                [retry_at, broadcast_id, chat_id, D.PENDING],
            )

    def recover_in_flight(self) -> int:
        """At start: rows left 'sending' by a dead process become 'unknown' (see the module
        docstring); returns how many."""
        with self._c.transaction() as db:
            cursor = db.execute(
                "update deliveries set status = ?, error = ?, updated_at = ? where status = ?",
                [D.UNKNOWN, "in flight when the bot stopped", utcnow(), D.SENDING],
            )
            return int(cursor.rowcount)

    def requeue_unknown(self, broadcast_id: int) -> int:
        """An organizer chose to resend the 'unknown' ones: back to pending, broadcast running."""
        with self._c.transaction() as db:
            cursor = db.execute(
                "update deliveries set status = ?, next_attempt_at = 0, updated_at = ? "
                "where broadcast_id = ? and status = ?",
                [D.PENDING, utcnow(), broadcast_id, D.UNKNOWN],
            )
            count = int(cursor.rowcount)
            if count:
                db.execute(
                    "update broadcasts set status = ?, finished_at = null where id = ? "
                    "and status = ?",
                    [B.RUNNING, broadcast_id, B.DONE],
                )
        return count

    def counts(self, broadcast_id: int) -> dict[str, int]:
        """How many of the broadcast's messages stand at each status (every status named)."""
        with self._c.reading() as db:
            rows = db.execute(
                "select status, count(*) from deliveries where broadcast_id = ? group by status",
                [broadcast_id],
            ).fetchall()
        counts: dict[str, int] = dict.fromkeys(DeliveryStatus, 0)
        counts.update({DeliveryStatus(status): n for status, n in rows})
        return counts

    def of(self, broadcast_id: int, statuses: Iterable[DeliveryStatus] = ()) -> list[Delivery]:
        """The broadcast's deliveries (of these statuses, if given), in recipient order."""
        statuses = list(statuses)
        where, args = "broadcast_id = ?", [broadcast_id, *statuses]
        if statuses:
            where += f" and status in ({', '.join('?' for _ in statuses)})"
        with self._c.reading() as db:
            rows = db.table("deliveries").rows_where(where, args, order_by="rowid")
            return [from_row(Delivery, r) for r in rows]

    def failures(self, broadcast_id: int) -> list[dict[str, Any]]:
        """Failed, blocked and unknown deliveries with the recipient's name and team."""
        with self._c.reading() as db:
            cursor = db.execute(
                "select d.chat_id, s.name, s.team, d.status, d.attempts, d.error "
                "from deliveries d left join subscriptions s on s.chat_id = d.chat_id "
                "where d.broadcast_id = ? and d.status in (?, ?, ?) order by d.rowid",
                [broadcast_id, D.FAILED, D.BLOCKED, D.UNKNOWN],
            )
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
