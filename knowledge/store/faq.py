"""FAQ entries written by the organizers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from knowledge.store.base import Repository, from_row, inserted, utcnow, valid_id


@dataclass(frozen=True)
class FaqEntry:
    id: int
    question: str
    answer: str
    created_at: str
    updated_at: str
    ticket_id: int | None = None


class FaqEntries(Repository):
    def all(self) -> list[FaqEntry]:
        """Every entry, by id."""
        with self._c.reading() as db:
            return [from_row(FaqEntry, row) for row in db.table("faq").rows_where(order_by="id")]

    def get(self, faq_id: int) -> FaqEntry | None:
        if not valid_id(faq_id):
            return None
        with self._c.reading() as db:
            rows = list(db.table("faq").rows_where("id = ?", [faq_id]))
        return from_row(FaqEntry, rows[0]) if rows else None

    def of_ticket(self, ticket_id: int) -> FaqEntry | None:
        """The entry saved from a ticket, if any."""
        with self._c.reading() as db:
            rows = list(db.table("faq").rows_where("ticket_id = ?", [ticket_id], limit=1))
        return from_row(FaqEntry, rows[0]) if rows else None

    def add(self, question: str, answer: str, ticket_id: int | None = None) -> FaqEntry:
        now = utcnow()
        with self._c.transaction() as db:
            row = {"question": question, "answer": answer, "created_at": now, "updated_at": now,
                   "ticket_id": ticket_id}  # fmt: skip
            return from_row(FaqEntry, inserted(db.table("faq"), row))

    def edit(
        self, faq_id: int, *, question: str | None = None, answer: str | None = None
    ) -> FaqEntry | None:
        """Change the entry's question or answer (the ones given); None when there is none."""
        changes: dict[str, Any] = {"updated_at": utcnow()}
        if question is not None:
            changes["question"] = question
        if answer is not None:
            changes["answer"] = answer
        with self._c.transaction() as db:
            if self.get(faq_id) is None:
                return None
            db.table("faq").update(faq_id, changes)
            return self.get(faq_id)

    def delete(self, faq_id: int) -> bool:
        with self._c.transaction() as db:
            if self.get(faq_id) is None:
                return False
            db.table("faq").delete(faq_id)
        return True
