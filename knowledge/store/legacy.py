"""The flat names handlers/tickets.py still calls, each passed to its repository.

Temporary: handlers/tickets.py is being split into a package on another branch; once that has
landed and its calls name the repositories (and run off the event loop), this module goes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from knowledge.store.faq import FaqEntries, FaqEntry
from knowledge.store.subscriptions import Subscription, Subscriptions
from knowledge.store.tickets import MessageKind, Question, Questions, Ticket, Tickets


class LegacyCalls:
    faq: FaqEntries
    questions: Questions
    tickets: Tickets
    subscriptions: Subscriptions

    def add_faq(self, question: str, answer: str, ticket_id: int | None = None) -> FaqEntry:
        return self.faq.add(question, answer, ticket_id)

    def faq_of_ticket(self, ticket_id: int) -> FaqEntry | None:
        return self.faq.of_ticket(ticket_id)

    def question(self, question_id: int) -> Question | None:
        return self.questions.get(question_id)

    def subscription(self, chat_id: int) -> Subscription | None:
        return self.subscriptions.get(chat_id)

    def ticket(self, ticket_id: int) -> Ticket | None:
        return self.tickets.get(ticket_id)

    def open_ticket(
        self,
        question: Question,
        *,
        user_name: str,
        username: str | None,
        lang: str,
        guesses: list[str],
    ) -> tuple[Ticket, bool]:
        return self.tickets.create(
            question, user_name=user_name, username=username, lang=lang, guesses=guesses
        )

    def tickets_of(self, user_id: int, limit: int = 20) -> list[Ticket]:
        return self.tickets.of_user(user_id, limit)

    def open_tickets(self, limit: int = 50) -> list[Ticket]:
        return self.tickets.list_open(limit)

    def count_open_of(self, user_id: int) -> int:
        return self.tickets.count_open_of(user_id)

    def last_ticket_time(self, user_id: int) -> datetime | None:
        return self.tickets.last_time_of(user_id)

    def update_ticket(self, ticket_id: int, **changes: Any) -> Ticket:
        return self.tickets.update(ticket_id, **changes)

    def claim(self, ticket_id: int, user_id: int, name: str) -> Ticket:
        return self.tickets.claim(ticket_id, user_id, name)

    def close_ticket(self, ticket_id: int) -> Ticket:
        return self.tickets.close(ticket_id)

    def reopen(self, ticket_id: int, question: str) -> Ticket:
        return self.tickets.reopen(ticket_id, question)

    def answer(
        self,
        ticket_id: int,
        answer: str,
        staff_id: int,
        staff_name: str,
        *,
        include_merged: bool = True,
    ) -> list[Ticket]:
        return self.tickets.answer(
            ticket_id, answer, staff_id, staff_name, include_merged=include_merged
        )

    def merge(self, ticket_id: int, into_id: int) -> Ticket:
        return self.tickets.merge(ticket_id, into_id)

    def overdue(self, minutes: int) -> list[Ticket]:
        return self.tickets.overdue(minutes)

    def answered_like(self, limit: int = 200) -> list[Ticket]:
        return self.tickets.answered_like(limit)

    def merged_into(self, ticket_id: int) -> list[Ticket]:
        return self.tickets.merged_into(ticket_id)

    def unposted(self, chat_id: int) -> list[Ticket]:
        return self.tickets.unposted(chat_id)

    def link_message(self, chat_id: int, message_id: int, ticket_id: int, kind: str) -> None:
        self.tickets.link_message(chat_id, message_id, ticket_id, MessageKind(kind))

    def told(self, ticket_id: int, kind: str) -> bool:
        return self.tickets.told(ticket_id, MessageKind(kind))

    def answered_to(self, ticket_id: int) -> bool:
        return self.tickets.answered_to(ticket_id)

    def ticket_for_message(self, chat_id: int, message_id: int) -> Ticket | None:
        return self.tickets.for_message(chat_id, message_id)

    def group_message_of(self, ticket_id: int, chat_id: int) -> int | None:
        return self.tickets.group_message_of(ticket_id, chat_id)
