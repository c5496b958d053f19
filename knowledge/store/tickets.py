"""Questions asked, tickets, and the messages that stand for a ticket."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from knowledge.store.base import Repository, from_row, inserted, utcnow, valid_id


class TicketStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"  # by the organizers, without an answer
    MERGED = "merged"  # into another ticket, which answers it


class MessageKind(StrEnum):
    """What a message linked to a ticket is."""

    POST = "post"  # the ticket's post in the organizers' group
    FOLLOWUP = "followup"  # a contestant's follow-up, posted there
    REMINDER = "reminder"  # the SLA reminder there
    CONFIRM = "confirm"  # the contestant was told it was submitted
    ANSWER = "answer"  # its answer, as the contestant received it
    CLOSED = "closed"  # the contestant was told it was closed


@dataclass(frozen=True)
class Ticket:
    id: int
    user_id: int
    chat_id: int
    user_name: str
    username: str | None
    lang: str
    question: str
    guesses: tuple[str, ...]
    status: TicketStatus
    claimed_by: int | None
    claimed_by_name: str | None
    answer: str | None
    answered_by: int | None
    answered_by_name: str | None
    answered_at: str | None
    first_answered_at: str | None
    waiting_since: str
    merged_into: int | None
    delivery_error: str | None
    sla_reminded_at: str | None
    faq_id: int | None
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class Question:
    id: int
    user_id: int
    chat_id: int
    text: str
    intent: str
    ids: tuple[str, ...]
    created_at: str
    ticket_id: int | None


def _ticket(row: dict[str, Any]) -> Ticket:
    # Rows written by the first versions may lack these.
    return from_row(
        Ticket,
        row,
        user_name=row["user_name"] or "",
        lang=row["lang"] or "zh",
        waiting_since=row["waiting_since"] or row["created_at"],
    )


class Questions(Repository):
    """Every question typed to the bot: for /stats and the digest, and the source of a ticket."""

    def log(
        self,
        user_id: int,
        chat_id: int,
        text: str,
        intent: str,
        ids: list[str],
        score: float,
        message_id: int | None = None,
    ) -> Question:
        """Log a question once: the same message handled again (after a crash) is the same row."""
        with self._c.transaction() as db:
            if message_id is not None:
                for found in db.table("questions").rows_where(
                    "chat_id = ? and message_id = ? and text = ?",
                    [chat_id, message_id, text[:2000]],
                ):
                    return from_row(Question, found)
            row = {
                "user_id": user_id,
                "chat_id": chat_id,
                "text": text[:2000],
                "intent": intent,
                "ids": json.dumps(ids),
                "score": score,
                "created_at": utcnow(),
                "ticket_id": None,
                "message_id": message_id,
            }
            return from_row(Question, inserted(db.table("questions"), row))

    def get(self, question_id: int) -> Question | None:
        if not valid_id(question_id):
            return None
        with self._c.reading() as db:
            rows = list(db.table("questions").rows_where("id = ?", [question_id]))
        return from_row(Question, rows[0]) if rows else None

    def counts_by_intent(self) -> dict[str, int]:
        with self._c.reading() as db:
            return {
                r["intent"]: r["n"]
                for r in db.query("select intent, count(*) as n from questions group by intent")
            }

    # Bounds are UTC ISO strings as utcnow() writes them, so that they compare as text.

    def asked_between(self, start: str, end: str) -> list[tuple[str, str]]:
        """(created_at, intent) of each question typed to the bot in [start, end)."""
        with self._c.reading() as db:
            rows = db.execute(
                "select created_at, intent from questions "
                "where created_at >= ? and created_at < ?",
                [start, end],
            ).fetchall()
        return [(str(created), str(intent)) for created, intent in rows]

    def escalated_between(self, start: str, end: str, limit: int = 5000) -> list[Question]:
        """Questions the bot could not answer (it offered the organizers), asked in [start, end),
        oldest first."""
        with self._c.reading() as db:
            rows = db.table("questions").rows_where(
                "intent = ? and created_at >= ? and created_at < ?",
                ["escalate", start, end],
                order_by="id",
                limit=limit,
            )
            return [from_row(Question, r) for r in rows]


class Tickets(Repository):
    """Questions handed to the organizers, and the messages that stand for them: the post in
    the organizers' group, follow-ups and reminders there, and what the contestant received (a
    reply to one continues the ticket)."""

    def create(
        self,
        question: Question,
        *,
        user_name: str,
        username: str | None,
        lang: str,
        guesses: list[str],
    ) -> tuple[Ticket, bool]:
        """Turn a question into a ticket, once; True when it is new (提交 pressed twice gives
        the same ticket)."""
        now = utcnow()
        with self._c.transaction() as db:
            for current in db.table("questions").rows_where("id = ?", [question.id]):
                if current["ticket_id"] is not None:
                    return _ticket(db.table("tickets").get(current["ticket_id"])), False
            row = {
                "user_id": question.user_id,
                "chat_id": question.chat_id,
                "user_name": user_name,
                "username": username,
                "lang": lang,
                "question": question.text,
                "guesses": json.dumps(guesses),
                "status": TicketStatus.OPEN,
                "created_at": now,
                "waiting_since": now,
                "updated_at": now,
            }
            ticket = _ticket(inserted(db.table("tickets"), row))
            db.table("questions").update(question.id, {"ticket_id": ticket.id})
            return ticket, True

    def get(self, ticket_id: int) -> Ticket | None:
        if not valid_id(ticket_id):
            return None
        with self._c.reading() as db:
            rows = list(db.table("tickets").rows_where("id = ?", [ticket_id]))
        return _ticket(rows[0]) if rows else None

    def _where(self, where: str, args: list[Any], **options: Any) -> list[Ticket]:
        with self._c.reading() as db:
            return [_ticket(r) for r in db.table("tickets").rows_where(where, args, **options)]

    def of_user(self, user_id: int, limit: int = 20) -> list[Ticket]:
        """The user's tickets, newest first."""
        return self._where("user_id = ?", [user_id], order_by="id desc", limit=limit)

    def list_open(self, limit: int = 50) -> list[Ticket]:
        """Open tickets, oldest first."""
        return self._where(
            "status = ?", [TicketStatus.OPEN], order_by="created_at, id", limit=limit
        )

    def count_open_of(self, user_id: int) -> int:
        with self._c.reading() as db:
            return db.table("tickets").count_where(
                "user_id = ? and status = ?", [user_id, TicketStatus.OPEN]
            )

    def last_time_of(self, user_id: int) -> datetime | None:
        """When the user's latest ticket was opened."""
        with self._c.reading() as db:
            rows = list(
                db.table("tickets").rows_where(
                    "user_id = ?", [user_id], order_by="id desc", limit=1, select="created_at"
                )
            )
        return datetime.fromisoformat(rows[0]["created_at"]) if rows else None

    def update(self, ticket_id: int, **changes: Any) -> Ticket:
        with self._c.transaction() as db:
            db.table("tickets").update(ticket_id, {**changes, "updated_at": utcnow()})
            return _ticket(db.table("tickets").get(ticket_id))

    def _if_open(self, ticket_id: int, **changes: Any) -> Ticket | None:
        with self._c.transaction():
            current = self.get(ticket_id)
            if current is None or current.status != TicketStatus.OPEN:
                return None
            return self.update(ticket_id, **changes)

    def claim(self, ticket_id: int, user_id: int, name: str) -> Ticket | None:
        """An organizer takes an open ticket on; None when it is not open (any more)."""
        return self._if_open(ticket_id, claimed_by=user_id, claimed_by_name=name)

    def close(self, ticket_id: int) -> Ticket | None:
        """Closed without an answer; None when it was not open (any more)."""
        return self._if_open(ticket_id, status=TicketStatus.CLOSED)

    def reopen(self, ticket_id: int, question: str) -> Ticket:
        """A contestant's follow-up: the ticket is open again, the new words appended."""
        with self._c.transaction() as db:
            combined = f"{db.table('tickets').get(ticket_id)['question']}\n追问：{question}"
            return self.update(
                ticket_id,
                status=TicketStatus.OPEN,
                question=combined[:4000],
                sla_reminded_at=None,
                waiting_since=utcnow(),
            )

    def answer(
        self,
        ticket_id: int,
        answer: str,
        staff_id: int,
        staff_name: str,
        *,
        include_merged: bool = True,
        only_open: bool = False,
    ) -> list[Ticket]:
        """Answer a ticket and every ticket merged into it; return them all. only_open: answer
        nothing (return []) unless the ticket is open."""
        now = utcnow()
        with self._c.transaction() as db:
            if only_open:
                current = self.get(ticket_id)
                if current is None or current.status != TicketStatus.OPEN:
                    return []
            ids = [ticket_id]
            if include_merged:
                ids += [
                    r["id"] for r in db.table("tickets").rows_where("merged_into = ?", [ticket_id])
                ]
            for tid in ids:
                first = db.table("tickets").get(tid)["first_answered_at"] or now
                db.table("tickets").update(
                    tid,
                    {
                        "first_answered_at": first,
                        "status": TicketStatus.ANSWERED,
                        "answer": answer,
                        "answered_by": staff_id,
                        "answered_by_name": staff_name,
                        "answered_at": now,
                        "updated_at": now,
                        "delivery_error": None,
                    },
                )
            return [_ticket(db.table("tickets").get(tid)) for tid in ids]

    def merge(self, ticket_id: int, into_id: int) -> Ticket:
        """Link ticket_id to into_id; tickets already merged into ticket_id follow it."""
        with self._c.transaction() as db:
            for r in list(db.table("tickets").rows_where("merged_into = ?", [ticket_id])):
                db.table("tickets").update(r["id"], {"merged_into": into_id})
            return self.update(ticket_id, status=TicketStatus.MERGED, merged_into=into_id)

    def overdue(self, minutes: int) -> list[Ticket]:
        """Open tickets waiting longer than `minutes` (since asked or followed up), not yet
        raised again."""
        cutoff = (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(timespec="seconds")
        return self._where(
            "status = ? and sla_reminded_at is null and waiting_since <= ?",
            [TicketStatus.OPEN, cutoff],
            order_by="id",
        )

    def claim_reminder(self, ticket_id: int, when: str | None = None) -> bool:
        """Take an overdue ticket's SLA reminder (sla_reminded_at set), or give it back
        (when=None): True when it changed hands. Claimed before the reminder is sent, so two
        rounds of the SLA check never both send it."""
        with self._c.transaction() as db:
            if when is None:
                sql = "update tickets set sla_reminded_at = null where id = ?"
                return db.execute(sql, [ticket_id]).rowcount == 1
            sql = "update tickets set sla_reminded_at = ? where id = ? and sla_reminded_at is null"
            return db.execute(sql, [when, ticket_id]).rowcount == 1

    def answered_like(self, limit: int = 200) -> list[Ticket]:
        """Answered tickets not already offered as a FAQ entry, newest first."""
        return self._where(
            "status = ? and merged_into is null and faq_id is null",
            [TicketStatus.ANSWERED],
            order_by="id desc",
            limit=limit,
        )

    def merged_into(self, ticket_id: int) -> list[Ticket]:
        return self._where("merged_into = ?", [ticket_id], order_by="id")

    def unposted(self, chat_id: int) -> list[Ticket]:
        """Open tickets whose post in the organizers' group never went out."""
        with self._c.reading() as db:
            rows = db.query(
                "select t.* from tickets t where t.status = ? and not exists ("
                " select 1 from ticket_messages m where m.ticket_id = t.id"
                " and m.chat_id = ? and m.kind = ?) order by t.id",
                [TicketStatus.OPEN, chat_id, MessageKind.POST],
            )
            return [_ticket(r) for r in rows]

    def rows(self) -> list[dict[str, Any]]:
        """Every ticket as stored, by id."""
        with self._c.reading() as db:
            return list(db.table("tickets").rows_where(order_by="id"))

    # --- messages ---------------------------------------------------------------------------

    def link_message(
        self, chat_id: int, message_id: int, ticket_id: int, kind: MessageKind
    ) -> None:
        with self._c.transaction() as db:
            db.table("ticket_messages").upsert(
                {"chat_id": chat_id, "message_id": message_id, "ticket_id": ticket_id,
                 "kind": kind},
                pk=("chat_id", "message_id"),
            )  # fmt: skip

    def told(self, ticket_id: int, kind: MessageKind) -> bool:
        """Whether a message of this kind about the ticket is on record (CONFIRM: the asker
        was told it was submitted; CLOSED: that it was closed; ANSWER: its answer)."""
        with self._c.reading() as db:
            return bool(
                db.table("ticket_messages").count_where(
                    "ticket_id = ? and kind = ?", [ticket_id, kind]
                )
            )

    def answered_to(self, ticket_id: int) -> bool:
        """Whether an answer to the ticket reached its asker (its message is on record)."""
        return self.told(ticket_id, MessageKind.ANSWER)

    def for_message(self, chat_id: int, message_id: int) -> Ticket | None:
        """The ticket a message stands for."""
        with self._c.reading() as db:
            rows = list(
                db.query(
                    "select t.* from ticket_messages m join tickets t on t.id = m.ticket_id"
                    " where m.chat_id = ? and m.message_id = ?",
                    [chat_id, message_id],
                )
            )
        return _ticket(rows[0]) if rows else None

    def group_message_of(self, ticket_id: int, chat_id: int) -> int | None:
        """The ticket's first post in the organizers' group."""
        with self._c.reading() as db:
            rows = list(
                db.table("ticket_messages").rows_where(
                    "ticket_id = ? and chat_id = ? and kind = ?",
                    [ticket_id, chat_id, MessageKind.POST],
                    order_by="message_id",
                    limit=1,
                )
            )
        return rows[0]["message_id"] if rows else None

    # --- figures: /metrics, /stats, the digest ------------------------------------------------

    def counts(self) -> tuple[int, int]:
        """(tickets ever opened, tickets open now)."""
        with self._c.reading() as db:
            row = db.execute(
                "select count(*), coalesce(sum(status = ?), 0) from tickets", [TicketStatus.OPEN]
            ).fetchone()
        return int(row[0]), int(row[1])

    def answer_waits(self) -> list[float]:
        """Seconds from each answered ticket's creation to its answer."""
        with self._c.reading() as db:
            rows = db.execute(
                "select (julianday(answered_at) - julianday(created_at)) * 86400 from tickets "
                "where answered_at is not null"
            ).fetchall()
        return [max(0.0, float(r[0])) for r in rows if r[0] is not None]

    def between(self, start: str, end: str) -> list[tuple[str, str | None]]:
        """(created_at, first_answered_at) of each ticket opened in [start, end)."""
        with self._c.reading() as db:
            rows = db.execute(
                "select created_at, first_answered_at from tickets "
                "where created_at >= ? and created_at < ?",
                [start, end],
            ).fetchall()
        return [(str(created), first) for created, first in rows]
