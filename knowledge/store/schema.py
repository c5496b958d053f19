"""The schema: ordered migrations, append only. A released migration never changes."""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

Migration = Callable[[sqlite_utils.Database], None]


def m001_catalogue(db: sqlite_utils.Database) -> None:
    db.table("tracks").create(
        {"id": str, "position": int, "ordinal": str, "name": str, "heading": str}, pk="id"
    )
    db.table("problems").create(
        {
            "id": str,
            "track_id": str,
            "number": int,
            "title": str,
            "description": str,
        },
        pk="id",
        foreign_keys=[("track_id", "tracks", "id")],
    )
    db.table("meta").create({"key": str, "value": str}, pk="key")


def m002_faq(db: sqlite_utils.Database) -> None:
    db.table("faq").create(
        {
            "id": int,
            "question": str,
            "answer": str,
            "created_at": str,
            "updated_at": str,
            "ticket_id": int,
        },
        pk="id",
    )


# Each runs once, in order, in its own transaction. Add new ones at the end.
MIGRATIONS: list[Migration] = [m001_catalogue, m002_faq]


def m003_tickets(db: sqlite_utils.Database) -> None:
    # Every question typed to the bot: for /stats, and the source of a ticket when the
    # contestant presses 提交给组委会 (the button carries the question's id, not its text).
    db.table("questions").create(
        {
            "id": int,
            "user_id": int,
            "chat_id": int,
            "text": str,
            "intent": str,
            "ids": str,
            "score": float,
            "created_at": str,
            "ticket_id": int,  # set once the question was sent to the organizers
        },
        pk="id",
    )
    db.table("tickets").create(
        {
            "id": int,
            "user_id": int,
            "chat_id": int,
            "user_name": str,
            "username": str,
            "lang": str,
            "question": str,
            "guesses": str,
            "status": str,  # open, answered, closed, merged
            "claimed_by": int,
            "claimed_by_name": str,
            "answer": str,
            "answered_by": int,
            "answered_by_name": str,
            "answered_at": str,
            "first_answered_at": str,  # time to first answer, for /stats
            "waiting_since": str,  # created, or reopened by a follow-up: the SLA clock
            "merged_into": int,
            "delivery_error": str,
            "sla_reminded_at": str,
            "faq_id": int,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
    )
    db.table("tickets").create_index(["user_id", "status"])
    db.table("tickets").create_index(["status", "created_at"])
    # Messages that stand for a ticket: its post in the organizers' group, follow-ups and
    # reminders there, and the answers the contestant received (a reply to one continues it).
    db.table("ticket_messages").create(
        {"chat_id": int, "message_id": int, "ticket_id": int, "kind": str},
        pk=("chat_id", "message_id"),
    )
    db.table("ticket_messages").create_index(["ticket_id"])


MIGRATIONS.append(m003_tickets)
