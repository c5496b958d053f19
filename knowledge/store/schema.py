"""The schema: ordered migrations (sqlite-utils' Migrations), append only. A released migration
never changes; add a new one at the end with @MIGRATIONS()."""

from __future__ import annotations

import sqlite_utils
from sqlite_utils import Migrations

# Each runs once, in order, in its own transaction, recorded in `_sqlite_migrations`.
MIGRATIONS = Migrations("contest-bot")
# Where the store kept its applied migrations before it used sqlite-utils' Migrations.
LEGACY_TABLE = "_migrations"


@MIGRATIONS()
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


@MIGRATIONS()
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


@MIGRATIONS()
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


@MIGRATIONS()
def m004_subscriptions(db: sqlite_utils.Database) -> None:
    # One row per chat that asked for announcements: a contestant's private chat or a team's
    # group. `active` goes to 0 on /unsubscribe and when Telegram answers 403 (blocked, kicked,
    # deactivated); the row stays, so /subscribe brings the old choices back.
    db.table("subscriptions").create(
        {
            "chat_id": int,
            "kind": str,  # private or group
            "name": str,
            "lang": str,
            "tracks": str,  # JSON list of track ids
            "all_tracks": int,
            "team": str,
            "team_key": str,  # casefolded, for matching /broadcast team 名称
            "active": int,
            "inactive_reason": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="chat_id",
    )
    db.table("subscriptions").create_index(["active"])
    db.table("subscriptions").create_index(["team_key"])


@MIGRATIONS()
def m005_broadcasts(db: sqlite_utils.Database) -> None:
    db.table("broadcasts").create(
        {
            "id": int,
            "status": str,  # draft, scheduled, queued, running, done, cancelled
            "kind": str,  # text or copy
            "text": str,
            "from_chat_id": int,
            "source_message_id": int,
            "audience": str,  # JSON: {"kind": "all"|"tracks"|"team", "tracks": [...], "team"}
            "scheduled_at": str,  # UTC ISO
            "chat_id": int,
            "panel_message_id": int,
            "created_by": int,
            "created_by_name": str,
            "total": int,
            "created_at": str,
            "started_at": str,
            "finished_at": str,
        },
        pk="id",
    )
    db.table("broadcasts").create_index(["status", "scheduled_at"])
    # One row per recipient: pending → sending (claimed before the HTTP call) → sent, failed,
    # blocked, or unknown (in flight when the process died; see store/broadcasts.py).
    db.table("deliveries").create(
        {
            "broadcast_id": int,
            "chat_id": int,
            "status": str,
            "attempts": int,
            "message_id": int,
            "error": str,
            "next_attempt_at": float,  # unix time; transient errors back off
            "updated_at": str,
        },
        pk=("broadcast_id", "chat_id"),
        foreign_keys=[("broadcast_id", "broadcasts", "id")],
    )
    db.table("deliveries").create_index(["broadcast_id", "status", "next_attempt_at"])
    db.table("deliveries").create_index(["status"])


@MIGRATIONS()
def m006_inbox(db: sqlite_utils.Database) -> None:
    # Updates taken from Telegram (knowledge/store/inbox.py): written before Telegram is told
    # they arrived, so a crash loses none; `payload` is dropped once handled.
    db.table("inbox").create(
        {
            "update_id": int,
            "digest": str,
            "payload": str,
            "received_at": str,
            "done_at": str,
            "attempts": int,
            "gave_up": int,
        },
        pk="update_id",
    )
    db.table("inbox").create_index(["done_at"])
    # The message a question came in, so that handling its update again (after a crash) finds
    # the question logged the first time instead of logging it twice.
    db.table("questions").add_column("message_id", int)
    db.table("questions").create_index(["chat_id", "message_id"])


@MIGRATIONS()
def m007_chat_context(db: sqlite_utils.Database) -> None:
    # What each chat last showed (knowledge/store/context.py): a problem ("3-4") or a track
    # ("3"), so that a follow-up (这道题…, 下一题) is read against it, across restarts too.
    # In a group each member has their own; in a private chat user_id is the chat's.
    db.table("chat_context").create(
        {"chat_id": int, "user_id": int, "shown": str, "shown_at": str},
        pk=("chat_id", "user_id"),
    )


@MIGRATIONS()
def m008_digests(db: sqlite_utils.Database) -> None:
    # One row per day's digest in the organizers' group (handlers/stats.py), claimed before it is
    # sent: a restart neither posts it a second time nor skips it.
    db.table("digests").create(
        {
            "day": str,  # the local date it is posted on (it tells about the day before)
            "status": str,  # claimed, posted, failed
            "attempts": int,
            "message_id": int,
            "error": str,
            "claimed_at": str,
            "posted_at": str,
        },
        pk="day",
    )
    # The topics a digest offers to answer at once, and the answer given.
    db.table("digest_topics").create(
        {
            "id": int,
            "day": str,
            "position": int,
            "label": str,
            "question_ids": str,  # JSON list of questions.id
            "askers": int,
            "answer": str,
            "answered_by": int,
            "answered_by_name": str,
            "answered_at": str,
            "faq_id": int,
        },
        pk="id",
    )
    db.table("digest_topics").create_index(["day", "position"], unique=True)
    # Prompts in the organizers' group that a reply to answers a topic.
    db.table("topic_messages").create(
        {"chat_id": int, "message_id": int, "topic_id": int}, pk=("chat_id", "message_id")
    )
    # One row per asker of a topic answered at once: claimed (sending) before the message goes,
    # so the answer reaches each asker at most once.
    db.table("topic_deliveries").create(
        {
            "topic_id": int,
            "user_id": int,
            "chat_id": int,
            "status": str,  # sending, sent, skipped, failed
            "ticket_id": int,
            "error": str,
            "updated_at": str,
        },
        pk=("topic_id", "user_id"),
    )
    # /stats and the digest read questions by the day they were asked.
    db.table("questions").create_index(["created_at"])


@MIGRATIONS()
def m009_embeddings(db: sqlite_utils.Database) -> None:
    # Sentence vectors of texts the bot compares by meaning (FAQ entries, tickets), keyed by the
    # model and a digest of the text: start-up reads them instead of embedding every entry
    # again, and an edited text simply gets a new row.
    db.table("embeddings").create(
        {"model": str, "digest": str, "vector": bytes}, pk=("model", "digest")
    )


def bridge_legacy(db: sqlite_utils.Database, migrations: Migrations = MIGRATIONS) -> list[str]:
    """Carry a database made before the store used sqlite-utils' Migrations over to them.

    Such a database lists its applied migrations in `_migrations` (name, applied_at). In one
    transaction, each of them is recorded as applied in `_sqlite_migrations`, with its time,
    and the old table is dropped; no other table is touched, so the next apply() runs only the
    migrations the database never had. Returns the names carried over: none when there is no
    old table (a new database, or one carried over before)."""
    if not db.table(LEGACY_TABLE).exists():
        return []
    with db.atomic():
        migrations.ensure_migrations_table(db)
        recorded = {m.name for m in migrations.applied(db)}
        carried = []
        for row in db.table(LEGACY_TABLE).rows_where(order_by="rowid"):
            if row["name"] not in recorded:
                db.table(migrations.migrations_table).insert(
                    {"migration_set": migrations.name, "name": row["name"],
                     "applied_at": row["applied_at"]}
                )  # fmt: skip
                carried.append(str(row["name"]))
        db.table(LEGACY_TABLE).drop()
    return carried
