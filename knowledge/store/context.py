"""What each chat last showed — a problem ("3-4") or a track ("3") — so that a follow-up
(这道题需要哪些数据, 下一题, 那第二题呢) is read against it. Kept in the database: a restart
does not make the bot forget what it was talking about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from knowledge.store.base import Repository

# A follow-up refers to what was shown at most this long ago. Later, "这道题" is more likely a
# new conversation than a question about a problem the contestant has long scrolled past, and
# a question read against a forgotten problem is answered confidently and wrongly.
CONTEXT_MINUTES = 30


def _iso(moment: datetime | None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")


class ChatContext(Repository):
    def remember(
        self, chat_id: int, shown: str, user_id: int | None = None, *, now: datetime | None = None
    ) -> None:
        """Record that the chat (in a group: this member of it) was just shown a problem or a
        track; it replaces whatever was shown before."""
        with self._c.transaction() as db:
            db.table("chat_context").upsert(
                {"chat_id": chat_id, "user_id": chat_id if user_id is None else user_id,
                 "shown": shown, "shown_at": _iso(now)},
                pk=("chat_id", "user_id"),
            )  # fmt: skip

    def last_shown(
        self,
        chat_id: int,
        max_age_minutes: float = CONTEXT_MINUTES,
        user_id: int | None = None,
        *,
        now: datetime | None = None,
    ) -> str | None:
        """What the chat (in a group: this member) was last shown, if no longer ago than
        max_age_minutes; None otherwise."""
        now = now or datetime.now(UTC)
        cutoff = _iso(now - timedelta(minutes=max_age_minutes))
        with self._c.reading() as db:
            rows = list(
                db.table("chat_context").rows_where(
                    "chat_id = ? and user_id = ? and shown_at >= ?",
                    [chat_id, chat_id if user_id is None else user_id, cutoff],
                )
            )
        return str(rows[0]["shown"]) if rows else None
