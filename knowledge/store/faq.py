"""FAQ entries written by the organizers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from knowledge.store.base import MAX_ID, StoreBase, utcnow


@dataclass(frozen=True)
class FaqEntry:
    id: int
    question: str
    answer: str
    created_at: str
    updated_at: str
    ticket_id: int | None = None


class FaqStore(StoreBase):
    def faq_entries(self) -> list[FaqEntry]:
        with self.lock:
            return [_faq(row) for row in self.db.table("faq").rows_where(order_by="id")]

    def faq_entry(self, faq_id: int) -> FaqEntry | None:
        if not 0 < faq_id <= MAX_ID:
            return None
        with self.lock:
            rows = list(self.db.table("faq").rows_where("id = ?", [faq_id]))
        return _faq(rows[0]) if rows else None

    def faq_of_ticket(self, ticket_id: int) -> FaqEntry | None:
        """The entry saved from a ticket, if any."""
        with self.lock:
            rows = list(self.db.table("faq").rows_where("ticket_id = ?", [ticket_id], limit=1))
        return _faq(rows[0]) if rows else None

    def add_faq(self, question: str, answer: str, ticket_id: int | None = None) -> FaqEntry:
        now = utcnow()
        with self.transaction() as db:
            row_id = (
                db.table("faq")
                .insert(
                    {
                        "question": question,
                        "answer": answer,
                        "created_at": now,
                        "updated_at": now,
                        "ticket_id": ticket_id,
                    }
                )
                .last_pk
            )
        entry = self.faq_entry(int(str(row_id)))
        assert entry is not None
        return entry

    def edit_faq(
        self, faq_id: int, *, question: str | None = None, answer: str | None = None
    ) -> FaqEntry | None:
        changes: dict[str, Any] = {"updated_at": utcnow()}
        if question is not None:
            changes["question"] = question
        if answer is not None:
            changes["answer"] = answer
        with self.transaction() as db:
            if self.faq_entry(faq_id) is None:
                return None
            db.table("faq").update(faq_id, changes)
        return self.faq_entry(faq_id)

    def delete_faq(self, faq_id: int) -> bool:
        with self.transaction() as db:
            if self.faq_entry(faq_id) is None:
                return False
            db.table("faq").delete(faq_id)
        return True


def _faq(row: dict[str, Any]) -> FaqEntry:
    return FaqEntry(
        row["id"],
        row["question"],
        row["answer"],
        row["created_at"],
        row["updated_at"],
        row.get("ticket_id"),
    )
