"""Questions asked, drafts, tickets and the messages that stand for them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from knowledge.store.base import MAX_ID, StoreBase, utcnow

OPEN, ANSWERED, CLOSED, MERGED = "open", "answered", "closed", "merged"


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
    status: str
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

    @property
    def is_open(self) -> bool:
        return self.status == OPEN


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


class TicketStore(StoreBase):
    # --- questions ------------------------------------------------------------------------

    def log_question(
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
        with self.transaction() as db:
            if message_id is not None:
                for found in db.table("questions").rows_where(
                    "chat_id = ? and message_id = ? and text = ?",
                    [chat_id, message_id, text[:2000]],
                    select="id",
                ):
                    question = self.question(found["id"])
                    assert question is not None
                    return question
            row_id = (
                db.table("questions")
                .insert(
                    {
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
                )
                .last_pk
            )
        question = self.question(int(str(row_id)))
        assert question is not None
        return question

    def question(self, question_id: int) -> Question | None:
        if not 0 < question_id <= MAX_ID:
            return None
        with self.lock:
            rows = list(self.db.table("questions").rows_where("id = ?", [question_id]))
        if not rows:
            return None
        r = rows[0]
        return Question(
            r["id"], r["user_id"], r["chat_id"], r["text"], r["intent"],
            tuple(json.loads(r["ids"] or "[]")), r["created_at"], r["ticket_id"],
        )  # fmt: skip

    # --- tickets ----------------------------------------------------------------------------

    def open_ticket(
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
        with self.transaction() as db:
            current = self.question(question.id)
            if current is not None and current.ticket_id is not None:
                existing = self.ticket(current.ticket_id)
                assert existing is not None
                return existing, False
            row_id = (
                db.table("tickets")
                .insert(
                    {
                        "user_id": question.user_id,
                        "chat_id": question.chat_id,
                        "user_name": user_name,
                        "username": username,
                        "lang": lang,
                        "question": question.text,
                        "guesses": json.dumps(guesses),
                        "status": OPEN,
                        "created_at": now,
                        "waiting_since": now,
                        "updated_at": now,
                    }
                )
                .last_pk
            )
            db.table("questions").update(question.id, {"ticket_id": row_id})
        ticket = self.ticket(int(str(row_id)))
        assert ticket is not None
        return ticket, True

    def ticket(self, ticket_id: int) -> Ticket | None:
        if not 0 < ticket_id <= MAX_ID:
            return None
        with self.lock:
            rows = list(self.db.table("tickets").rows_where("id = ?", [ticket_id]))
        return _ticket(rows[0]) if rows else None

    def tickets_of(self, user_id: int, limit: int = 20) -> list[Ticket]:
        with self.lock:
            rows = self.db.table("tickets").rows_where(
                "user_id = ?", [user_id], order_by="id desc", limit=limit
            )
            return [_ticket(r) for r in rows]

    def open_tickets(self, limit: int = 50) -> list[Ticket]:
        """Open tickets, oldest first."""
        with self.lock:
            rows = self.db.table("tickets").rows_where(
                "status = ?", [OPEN], order_by="created_at, id", limit=limit
            )
            return [_ticket(r) for r in rows]

    def count_open_of(self, user_id: int) -> int:
        with self.lock:
            return self.db.table("tickets").count_where(
                "user_id = ? and status = ?", [user_id, OPEN]
            )

    def last_ticket_time(self, user_id: int) -> datetime | None:
        with self.lock:
            rows = list(
                self.db.table("tickets").rows_where(
                    "user_id = ?", [user_id], order_by="id desc", limit=1, select="created_at"
                )
            )
        return datetime.fromisoformat(rows[0]["created_at"]) if rows else None

    def update_ticket(self, ticket_id: int, **changes: Any) -> Ticket:
        with self.transaction() as db:
            db.table("tickets").update(ticket_id, {**changes, "updated_at": utcnow()})
        ticket = self.ticket(ticket_id)
        assert ticket is not None
        return ticket

    def claim(self, ticket_id: int, user_id: int, name: str) -> Ticket:
        return self.update_ticket(ticket_id, claimed_by=user_id, claimed_by_name=name)

    def close_ticket(self, ticket_id: int) -> Ticket:
        return self.update_ticket(ticket_id, status=CLOSED)

    def reopen(self, ticket_id: int, question: str) -> Ticket:
        """A contestant's follow-up: the ticket is open again, the new words appended."""
        ticket = self.ticket(ticket_id)
        assert ticket is not None
        combined = f"{ticket.question}\n追问：{question}"
        return self.update_ticket(
            ticket_id,
            status=OPEN,
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
    ) -> list[Ticket]:
        """Answer a ticket and every ticket merged into it; return them all."""
        now = utcnow()
        with self.transaction() as db:
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
                        "status": ANSWERED,
                        "answer": answer,
                        "answered_by": staff_id,
                        "answered_by_name": staff_name,
                        "answered_at": now,
                        "updated_at": now,
                        "delivery_error": None,
                    },
                )
        return [t for tid in ids if (t := self.ticket(tid))]

    def merge(self, ticket_id: int, into_id: int) -> Ticket:
        """Link ticket_id to into_id; tickets already merged into ticket_id follow it."""
        with self.transaction() as db:
            for r in list(db.table("tickets").rows_where("merged_into = ?", [ticket_id])):
                db.table("tickets").update(r["id"], {"merged_into": into_id})
            db.table("tickets").update(
                ticket_id, {"status": MERGED, "merged_into": into_id, "updated_at": utcnow()}
            )
        ticket = self.ticket(ticket_id)
        assert ticket is not None
        return ticket

    def overdue(self, minutes: int) -> list[Ticket]:
        """Open tickets waiting longer than `minutes` (since asked or followed up), not yet
        raised again."""
        cutoff = (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(timespec="seconds")
        with self.lock:
            rows = self.db.table("tickets").rows_where(
                "status = ? and sla_reminded_at is null and waiting_since <= ?",
                [OPEN, cutoff],
                order_by="id",
            )
            return [_ticket(r) for r in rows]

    def answered_like(self, limit: int = 200) -> list[Ticket]:
        """Answered tickets not already offered as a FAQ entry, newest first."""
        with self.lock:
            rows = self.db.table("tickets").rows_where(
                "status = ? and merged_into is null and faq_id is null",
                [ANSWERED],
                order_by="id desc",
                limit=limit,
            )
            return [_ticket(r) for r in rows]

    # --- messages ---------------------------------------------------------------------------

    def link_message(self, chat_id: int, message_id: int, ticket_id: int, kind: str) -> None:
        with self.transaction() as db:
            db.table("ticket_messages").upsert(
                {"chat_id": chat_id, "message_id": message_id, "ticket_id": ticket_id,
                 "kind": kind},
                pk=("chat_id", "message_id"),
            )  # fmt: skip

    def answered_to(self, ticket_id: int) -> bool:
        """Whether an answer to the ticket reached its asker (its message is on record)."""
        return self.told(ticket_id, "answer")

    def told(self, ticket_id: int, kind: str) -> bool:
        """Whether a message of this kind about the ticket is on record ("confirm": the asker
        was told it was submitted; "closed": that it was closed; "answer": its answer)."""
        with self.lock:
            return bool(
                self.db.table("ticket_messages").count_where(
                    "ticket_id = ? and kind = ?", [ticket_id, kind]
                )
            )

    def ticket_for_message(self, chat_id: int, message_id: int) -> Ticket | None:
        with self.lock:
            rows = list(
                self.db.table("ticket_messages").rows_where(
                    "chat_id = ? and message_id = ?", [chat_id, message_id]
                )
            )
        return self.ticket(rows[0]["ticket_id"]) if rows else None

    def unposted(self, chat_id: int) -> list[Ticket]:
        """Open tickets whose post in the organizers' group never went out."""
        with self.lock:
            rows = self.db.query(
                "select t.* from tickets t where t.status = ? and not exists ("
                " select 1 from ticket_messages m where m.ticket_id = t.id"
                " and m.chat_id = ? and m.kind = 'post') order by t.id",
                [OPEN, chat_id],
            )
            return [_ticket(r) for r in rows]

    def merged_into(self, ticket_id: int) -> list[Ticket]:
        with self.lock:
            rows = self.db.table("tickets").rows_where(
                "merged_into = ?", [ticket_id], order_by="id"
            )
            return [_ticket(r) for r in rows]

    def group_message_of(self, ticket_id: int, chat_id: int) -> int | None:
        """The ticket's first post in the organizers' group."""
        with self.lock:
            rows = list(
                self.db.table("ticket_messages").rows_where(
                    "ticket_id = ? and chat_id = ? and kind = ?",
                    [ticket_id, chat_id, "post"],
                    order_by="message_id",
                    limit=1,
                )
            )
        return rows[0]["message_id"] if rows else None

    # --- figures ----------------------------------------------------------------------------

    def question_counts(self) -> dict[str, int]:
        with self.lock:
            return {
                r["intent"]: r["n"]
                for r in self.db.query(
                    "select intent, count(*) as n from questions group by intent"
                )
            }

    def questions_per_track(self) -> dict[str, int]:
        """Questions the bot answered, by the track of their best match."""
        counts: dict[str, int] = {}
        with self.lock:
            for r in self.db.table("questions").rows_where(
                "intent != ?", ["escalate"], select="ids"
            ):
                ids = json.loads(r["ids"] or "[]")
                if ids and not ids[0].startswith("faq:"):
                    track = ids[0].split("-")[0]
                    counts[track] = counts.get(track, 0) + 1
        return counts

    def ticket_rows(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.db.table("tickets").rows_where(order_by="id"))


def _ticket(r: dict[str, Any]) -> Ticket:
    return Ticket(
        id=r["id"],
        user_id=r["user_id"],
        chat_id=r["chat_id"],
        user_name=r["user_name"] or "",
        username=r["username"],
        lang=r["lang"] or "zh",
        question=r["question"],
        guesses=tuple(json.loads(r["guesses"] or "[]")),
        status=r["status"],
        claimed_by=r["claimed_by"],
        claimed_by_name=r["claimed_by_name"],
        answer=r["answer"],
        answered_by=r["answered_by"],
        answered_by_name=r["answered_by_name"],
        answered_at=r["answered_at"],
        first_answered_at=r["first_answered_at"],
        waiting_since=r["waiting_since"] or r["created_at"],
        merged_into=r["merged_into"],
        delivery_error=r["delivery_error"],
        sla_reminded_at=r["sla_reminded_at"],
        faq_id=r["faq_id"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )
