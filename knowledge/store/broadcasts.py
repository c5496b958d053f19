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
from typing import Any

from knowledge.store.base import StoreBase, utcnow
from knowledge.store.subscriptions import Audience

# Broadcast statuses.
DRAFT, SCHEDULED, QUEUED, RUNNING = "draft", "scheduled", "queued", "running"
DONE, CANCELLED = "done", "cancelled"
# Delivery statuses.
PENDING, SENDING, SENT = "pending", "sending", "sent"
FAILED, BLOCKED, UNKNOWN = "failed", "blocked", "unknown"
TEXT, COPY = "text", "copy"


@dataclass(frozen=True)
class Broadcast:
    id: int
    status: str
    kind: str  # text (HTML in `text`) or copy (copyMessage of from_chat_id/source_message_id)
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
    status: str
    attempts: int
    message_id: int | None
    error: str | None


class BroadcastStore(StoreBase):
    # --- broadcasts -----------------------------------------------------------------------------

    def create_broadcast(
        self,
        *,
        kind: str,
        chat_id: int,
        created_by: int,
        created_by_name: str,
        text: str | None = None,
        from_chat_id: int | None = None,
        source_message_id: int | None = None,
        audience: Audience | None = None,
        scheduled_at: str | None = None,
    ) -> Broadcast:
        now = utcnow()
        with self.transaction() as db:
            row_id = (
                db.table("broadcasts")
                .insert(
                    {
                        "status": DRAFT,
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
                )
                .last_pk
            )
        found = self.broadcast(int(str(row_id)))
        assert found is not None
        return found

    def broadcast(self, broadcast_id: int) -> Broadcast | None:
        with self.lock:
            rows = list(self.db.table("broadcasts").rows_where("id = ?", [broadcast_id]))
        return _broadcast(rows[0]) if rows else None

    def update_broadcast(self, broadcast_id: int, **changes: Any) -> Broadcast:
        if isinstance(changes.get("audience"), Audience):
            changes["audience"] = changes["audience"].to_json()
        with self.transaction() as db:
            db.table("broadcasts").update(broadcast_id, changes)
        found = self.broadcast(broadcast_id)
        assert found is not None
        return found

    def _move(self, broadcast_id: int, sources: Iterable[str], target: str, **extra: Any) -> bool:
        """Change the status only from one of `sources`: a button pressed twice acts once."""
        sources = list(sources)
        marks = ", ".join("?" for _ in sources)
        sets = ", ".join(f"[{k}] = ?" for k in ["status", *extra])
        with self.transaction() as db:
            cursor = db.execute(
                f"update broadcasts set {sets} where id = ? and status in ({marks})",
                [target, *extra.values(), broadcast_id, *sources],
            )
            return cursor.rowcount == 1

    def confirm_broadcast(self, broadcast_id: int) -> bool:
        """A draft becomes queued (send now) or scheduled; False when it was not a draft."""
        found = self.broadcast(broadcast_id)
        if found is None or found.audience is None:
            return False
        target = SCHEDULED if found.scheduled_at else QUEUED
        return self._move(broadcast_id, [DRAFT], target)

    def cancel_broadcast(self, broadcast_id: int) -> bool:
        """Stop a draft, a scheduled, queued or running broadcast; pending rows stay unsent."""
        return self._move(
            broadcast_id, [DRAFT, SCHEDULED, QUEUED, RUNNING], CANCELLED, finished_at=utcnow()
        )

    def next_job(self, now: str | None = None) -> Broadcast | None:
        """What the engine should work on: a running broadcast first (it was interrupted),
        then the oldest queued one, then a scheduled one that is due."""
        now = now or utcnow()
        with self.lock:
            for where, args in (
                ("status = ?", [RUNNING]),
                ("status = ?", [QUEUED]),
                ("status = ? and scheduled_at <= ?", [SCHEDULED, now]),
            ):
                rows = list(
                    self.db.table("broadcasts").rows_where(where, args, order_by="id", limit=1)
                )
                if rows:
                    return _broadcast(rows[0])
        return None

    def next_scheduled_at(self) -> str | None:
        with self.lock:
            rows = list(
                self.db.table("broadcasts").rows_where(
                    "status = ?", [SCHEDULED], order_by="scheduled_at", limit=1
                )
            )
        return rows[0]["scheduled_at"] if rows else None

    def start_broadcast(self, broadcast_id: int, recipients: Iterable[int]) -> Broadcast | None:
        """Queued or due scheduled → running, with one pending delivery per recipient, in one
        transaction; a broadcast already running keeps its deliveries."""
        chat_ids = list(dict.fromkeys(recipients))
        now = utcnow()
        with self.transaction() as db:
            found = self.broadcast(broadcast_id)
            if found is None or found.status not in (QUEUED, SCHEDULED, RUNNING):
                return None
            if found.status != RUNNING:
                db.table("deliveries").insert_all(
                    (
                        {
                            "broadcast_id": broadcast_id,
                            "chat_id": chat_id,
                            "status": PENDING,
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
                    broadcast_id, {"status": RUNNING, "total": len(chat_ids), "started_at": now}
                )
        return self.broadcast(broadcast_id)

    def finish_broadcast(self, broadcast_id: int) -> bool:
        return self._move(broadcast_id, [RUNNING], DONE, finished_at=utcnow())

    def recent_broadcasts(self, limit: int = 10) -> list[Broadcast]:
        """Scheduled, queued and running ones, then the latest others, newest first."""
        with self.lock:
            live = self.db.table("broadcasts").rows_where(
                "status in (?, ?, ?)", [SCHEDULED, QUEUED, RUNNING], order_by="id desc"
            )
            past = self.db.table("broadcasts").rows_where(
                "status in (?, ?)", [DONE, CANCELLED], order_by="id desc", limit=limit
            )
            return [_broadcast(r) for r in [*live, *past]]

    # --- deliveries -----------------------------------------------------------------------------

    def due_deliveries(
        self, broadcast_id: int, now: float | None = None, limit: int = 100
    ) -> list[Delivery]:
        """Pending deliveries whose (re)try time has come, in recipient order."""
        now = time.time() if now is None else now
        with self.lock:
            rows = self.db.table("deliveries").rows_where(
                "broadcast_id = ? and status = ? and next_attempt_at <= ?",
                [broadcast_id, PENDING, now],
                order_by="rowid",
                limit=limit,
            )
            return [_delivery(r) for r in rows]

    def next_retry_at(self, broadcast_id: int) -> float | None:
        """When the earliest pending delivery is due; None when none is pending."""
        with self.lock:
            row = self.db.execute(
                "select min(next_attempt_at) from deliveries where broadcast_id = ? "
                "and status = ?",
                [broadcast_id, PENDING],
            ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def claim_delivery(self, broadcast_id: int, chat_id: int) -> int | None:
        """pending → sending, just before the HTTP call; the attempt number, or None when the
        row was no longer pending."""
        with self.transaction() as db:
            cursor = db.execute(
                "update deliveries set status = ?, attempts = attempts + 1, updated_at = ? "
                "where broadcast_id = ? and chat_id = ? and status = ?",
                [SENDING, utcnow(), broadcast_id, chat_id, PENDING],
            )
            if cursor.rowcount != 1:
                return None
            row = db.execute(
                "select attempts from deliveries where broadcast_id = ? and chat_id = ?",
                [broadcast_id, chat_id],
            ).fetchone()
        return int(row[0])

    def record_delivery(
        self,
        broadcast_id: int,
        chat_id: int,
        status: str,
        *,
        message_id: int | None = None,
        error: str | None = None,
        retry_at: float | None = None,
        refund: bool = False,
    ) -> None:
        """The outcome of a claimed send. PENDING with retry_at retries later; refund=True
        does not count the attempt (a 429 is Telegram asking to wait, not a failure)."""
        with self.transaction() as db:
            db.execute(
                "update deliveries set status = ?, message_id = coalesce(?, message_id), "
                "error = ?, next_attempt_at = coalesce(?, next_attempt_at), "
                "attempts = attempts - ?, updated_at = ? "
                "where broadcast_id = ? and chat_id = ? and status = ?",
                [
                    status, message_id, error, retry_at, int(refund), utcnow(),
                    broadcast_id, chat_id, SENDING,
                ],
            )  # fmt: skip

    def defer_delivery(self, broadcast_id: int, chat_id: int, retry_at: float) -> None:
        """Not now (the chat's own limit): try again at retry_at without counting an attempt."""
        with self.transaction() as db:
            db.execute(
                "update deliveries set next_attempt_at = ? where broadcast_id = ? "
                "and chat_id = ? and status = ?",
                [retry_at, broadcast_id, chat_id, PENDING],
            )

    def recover_in_flight(self) -> int:
        """At start: rows left 'sending' by a dead process become 'unknown' (see the module
        docstring); returns how many."""
        with self.transaction() as db:
            cursor = db.execute(
                "update deliveries set status = ?, error = ?, updated_at = ? where status = ?",
                [UNKNOWN, "in flight when the bot stopped", utcnow(), SENDING],
            )
            return int(cursor.rowcount)

    def requeue_unknown(self, broadcast_id: int) -> int:
        """An organizer chose to resend the 'unknown' ones: back to pending, broadcast running."""
        with self.transaction() as db:
            cursor = db.execute(
                "update deliveries set status = ?, next_attempt_at = 0, updated_at = ? "
                "where broadcast_id = ? and status = ?",
                [PENDING, utcnow(), broadcast_id, UNKNOWN],
            )
            count = int(cursor.rowcount)
            if count:
                db.execute(
                    "update broadcasts set status = ?, finished_at = null where id = ? "
                    "and status = ?",
                    [RUNNING, broadcast_id, DONE],
                )
        return count

    def delivery_counts(self, broadcast_id: int) -> dict[str, int]:
        with self.lock:
            rows = self.db.execute(
                "select status, count(*) from deliveries where broadcast_id = ? group by status",
                [broadcast_id],
            ).fetchall()
        counts = dict.fromkeys((PENDING, SENDING, SENT, FAILED, BLOCKED, UNKNOWN), 0)
        counts.update({status: n for status, n in rows})
        return counts

    def deliveries(self, broadcast_id: int, statuses: Iterable[str] = ()) -> list[Delivery]:
        statuses = list(statuses)
        where, args = "broadcast_id = ?", [broadcast_id, *statuses]
        if statuses:
            where += f" and status in ({', '.join('?' for _ in statuses)})"
        with self.lock:
            rows = self.db.table("deliveries").rows_where(where, args, order_by="rowid")
            return [_delivery(r) for r in rows]

    def failure_rows(self, broadcast_id: int) -> list[dict[str, Any]]:
        """Failed, blocked and unknown deliveries with the recipient's name and team."""
        with self.lock:
            cursor = self.db.execute(
                "select d.chat_id, s.name, s.team, d.status, d.attempts, d.error "
                "from deliveries d left join subscriptions s on s.chat_id = d.chat_id "
                "where d.broadcast_id = ? and d.status in (?, ?, ?) order by d.rowid",
                [broadcast_id, FAILED, BLOCKED, UNKNOWN],
            )
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _broadcast(r: dict[str, Any]) -> Broadcast:
    return Broadcast(
        r["id"], r["status"], r["kind"], r["text"], r["from_chat_id"], r["source_message_id"],
        Audience.from_json(r["audience"]), r["scheduled_at"], r["chat_id"],
        r["panel_message_id"], r["created_by"], r["created_by_name"], r["total"],
        r["created_at"], r["started_at"], r["finished_at"],
    )  # fmt: skip


def _delivery(r: dict[str, Any]) -> Delivery:
    return Delivery(
        r["broadcast_id"], r["chat_id"], r["status"], r["attempts"], r["message_id"], r["error"]
    )
