"""The daily digest's state: one row per day, the topics it offered, who got a topic's answer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from knowledge.store.base import Repository, from_row, utcnow, valid_id


class DigestStatus(StrEnum):
    CLAIMED = "claimed"  # being sent (or the process died while sending it)
    POSTED = "posted"
    FAILED = "failed"


class TopicDelivery(StrEnum):
    """What became of a topic's answer for one asker."""

    SENDING = "sending"  # claimed before the message goes: never a second copy
    SENT = "sent"
    SKIPPED = "skipped"  # the asker had their answer already
    FAILED = "failed"


# A digest whose sending failed is tried again at the next checks, this many times in all.
MAX_ATTEMPTS = 3
# A claim this old was left by a process that died while sending: the digest is sent again.
STALE_CLAIM = timedelta(minutes=5)


@dataclass(frozen=True)
class DigestTopic:
    """A topic of escalated questions a digest offered to answer at once."""

    id: int
    day: str
    position: int
    label: str
    question_ids: tuple[int, ...]
    askers: int
    answer: str | None
    answered_by_name: str | None
    faq_id: int | None


class Digests(Repository):
    # --- the digest of a day ----------------------------------------------------------------

    def claim(self, day: str, now: datetime) -> bool:
        """Take the day's digest for sending; True when it is to be sent now: never claimed
        before, or claimed by an attempt that failed or by a process that died while sending
        (fewer than MAX_ATTEMPTS attempts). False when it was posted, or is being sent."""
        stamp = now.astimezone(UTC).isoformat(timespec="seconds")
        with self._c.transaction() as db:
            rows = list(db.table("digests").rows_where("day = ?", [day]))
            if not rows:
                db.table("digests").insert(
                    {
                        "day": day,
                        "status": DigestStatus.CLAIMED,
                        "attempts": 1,
                        "claimed_at": stamp,
                    }
                )
                return True
            row = rows[0]
            if row["status"] == DigestStatus.POSTED or row["attempts"] >= MAX_ATTEMPTS:
                return False
            claimed_at = datetime.fromisoformat(row["claimed_at"])
            if row["status"] == DigestStatus.CLAIMED and now - claimed_at < STALE_CLAIM:
                return False
            db.table("digests").update(
                day,
                {
                    "status": DigestStatus.CLAIMED,
                    "attempts": row["attempts"] + 1,
                    "claimed_at": stamp,
                },
            )
            return True

    def posted(self, day: str, message_id: int) -> None:
        with self._c.transaction() as db:
            db.table("digests").update(
                day,
                {"status": DigestStatus.POSTED, "message_id": message_id, "posted_at": utcnow()},
            )

    def failed(self, day: str, error: str) -> None:
        with self._c.transaction() as db:
            db.table("digests").update(day, {"status": DigestStatus.FAILED, "error": error[:500]})

    def get(self, day: str) -> dict[str, Any] | None:
        with self._c.reading() as db:
            rows = list(db.table("digests").rows_where("day = ?", [day]))
        return rows[0] if rows else None

    # --- topics -------------------------------------------------------------------------------

    def save_topics(
        self, day: str, topics: list[tuple[str, tuple[int, ...], int]]
    ) -> list[DigestTopic]:
        """Store the day's topics (label, question ids, askers) once: a digest sent again after
        a failure offers the same topics, and their buttons stay valid."""
        with self._c.transaction() as db:
            if not db.table("digest_topics").count_where("day = ?", [day]):
                for position, (label, question_ids, askers) in enumerate(topics, start=1):
                    db.table("digest_topics").insert(
                        {
                            "day": day,
                            "position": position,
                            "label": label,
                            "question_ids": json.dumps(list(question_ids)),
                            "askers": askers,
                        }
                    )
        return self.topics_of(day)

    def topics_of(self, day: str) -> list[DigestTopic]:
        with self._c.reading() as db:
            rows = db.table("digest_topics").rows_where("day = ?", [day], order_by="position")
            return [from_row(DigestTopic, r) for r in rows]

    def topic(self, topic_id: int) -> DigestTopic | None:
        if not valid_id(topic_id):
            return None
        with self._c.reading() as db:
            rows = list(db.table("digest_topics").rows_where("id = ?", [topic_id]))
        return from_row(DigestTopic, rows[0]) if rows else None

    def link_topic_message(self, chat_id: int, message_id: int, topic_id: int) -> None:
        with self._c.transaction() as db:
            db.table("topic_messages").upsert(
                {"chat_id": chat_id, "message_id": message_id, "topic_id": topic_id},
                pk=("chat_id", "message_id"),
            )

    def prompts(self) -> set[tuple[int, int]]:
        """(chat_id, message_id) of every prompt a reply to answers a topic."""
        with self._c.reading() as db:
            return {(r["chat_id"], r["message_id"]) for r in db.table("topic_messages").rows}

    def topic_for_message(self, chat_id: int, message_id: int) -> DigestTopic | None:
        with self._c.reading() as db:
            rows = list(
                db.table("topic_messages").rows_where(
                    "chat_id = ? and message_id = ?", [chat_id, message_id]
                )
            )
        return self.topic(rows[0]["topic_id"]) if rows else None

    def answer_topic(
        self, topic_id: int, answer: str, staff_id: int, staff_name: str
    ) -> tuple[DigestTopic, bool]:
        """Give the topic its answer, once. (topic, True) when `answer` is its answer now (new,
        or the same answer again: the reply handled again after a restart); (topic, False) when
        it was answered before with other words."""
        with self._c.transaction() as db:
            row = db.table("digest_topics").get(topic_id)
            if row["answer"] is None:
                db.table("digest_topics").update(
                    topic_id,
                    {
                        "answer": answer,
                        "answered_by": staff_id,
                        "answered_by_name": staff_name,
                        "answered_at": utcnow(),
                    },
                )
                row["answer"] = answer
        topic = self.topic(topic_id)
        assert topic is not None
        return topic, row["answer"] == answer

    def set_topic_faq(self, topic_id: int, faq_id: int) -> None:
        with self._c.transaction() as db:
            db.table("digest_topics").update(topic_id, {"faq_id": faq_id})

    # --- who got a topic's answer -------------------------------------------------------------

    def claim_topic_delivery(
        self, topic_id: int, user_id: int, chat_id: int, ticket_id: int | None
    ) -> bool:
        """True when this asker is to get the topic's answer now; False when they got it, or it
        was being sent when the process stopped (at most once: never a second copy)."""
        with self._c.transaction() as db:
            if db.table("topic_deliveries").count_where(
                "topic_id = ? and user_id = ?", [topic_id, user_id]
            ):
                return False
            db.table("topic_deliveries").insert(
                {
                    "topic_id": topic_id,
                    "user_id": user_id,
                    "chat_id": chat_id,
                    "ticket_id": ticket_id,
                    "status": TopicDelivery.SENDING,
                    "updated_at": utcnow(),
                }
            )
        return True

    def finish_topic_delivery(
        self, topic_id: int, user_id: int, status: TopicDelivery, error: str | None = None
    ) -> None:
        with self._c.transaction() as db:
            db.table("topic_deliveries").update(
                (topic_id, user_id), {"status": status, "error": error, "updated_at": utcnow()}
            )

    def topic_deliveries(self, topic_id: int) -> dict[str, int]:
        """Askers of the topic by what became of its answer: sent, skipped, failed, sending."""
        with self._c.reading() as db:
            rows = db.execute(
                "select status, count(*) from topic_deliveries where topic_id = ? group by 1",
                [topic_id],
            ).fetchall()
        return {str(status): int(n) for status, n in rows}
