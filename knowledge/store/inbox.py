"""Updates taken from Telegram: recorded before Telegram is told they arrived, marked once
handled. What is recorded and not handled when the process dies is handled again at the next
start; an update that arrives a second time is recognised and dropped."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from knowledge.store.base import Repository, utcnow

# An update that was started this many times and never finished is given up: it may be what
# kills the process, and must not do so at every start.
MAX_ATTEMPTS = 3


def _digest(payload: str) -> str:
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()[:32]


# Recorded unless this very update (same id, same contents) is there already; the same id with
# other contents is a different update (another bot on this database, or the sandbox's emulator
# started afresh) and replaces the old record. rowcount tells which: 0 when nothing changed.
_RECORD = """
insert into inbox (update_id, digest, payload, received_at, done_at, attempts)
values (?, ?, ?, ?, null, 0)
on conflict (update_id) do update set
    digest = excluded.digest, payload = excluded.payload, received_at = excluded.received_at,
    done_at = null, attempts = 0, gave_up = null
where inbox.digest != excluded.digest
"""
_HANDLED = "update inbox set done_at = ?, payload = null where update_id = ?"


class Inbox(Repository):
    def write(self, taken: Sequence[tuple[int, str]], handled: Sequence[int] = ()) -> list[bool]:
        """Record updates (id, JSON) and mark others handled, in one transaction: the inbox
        writer's batch (bot/inbox.py), one commit for all. For each update taken, False when this
        very update was recorded before. Plain SQL: it runs for every update the bot gets."""
        now = utcnow()
        with self._c.transaction() as db:
            fresh = [
                db.conn.execute(_RECORD, (update_id, _digest(payload), payload, now)).rowcount > 0
                for update_id, payload in taken
            ]
            if handled:
                db.conn.executemany(_HANDLED, [(now, update_id) for update_id in handled])
        return fresh

    def add(self, update_id: int, payload: str) -> bool:
        """Record an update (its JSON); False when this very update was recorded before."""
        (fresh,) = self.write([(update_id, payload)])
        return fresh

    def done(self, *update_ids: int) -> None:
        """The handlers are done with these updates: keep only that they were seen."""
        self.write([], update_ids)

    def unfinished(self) -> list[tuple[int, str]]:
        """Updates recorded and never handled (the process died), oldest first, each counted as
        one more attempt; those tried MAX_ATTEMPTS times are given up instead."""
        taken: list[tuple[int, str]] = []
        with self._c.transaction() as db:
            for row in db.table("inbox").rows_where("done_at is null", order_by="update_id"):
                if row["attempts"] >= MAX_ATTEMPTS:
                    db.execute(
                        "update inbox set done_at = ?, payload = null, gave_up = 1"
                        " where update_id = ?",
                        [utcnow(), row["update_id"]],
                    )
                    continue
                db.execute(
                    "update inbox set attempts = attempts + 1 where update_id = ?",
                    [row["update_id"]],
                )
                taken.append((row["update_id"], row["payload"]))
        return taken

    def prune(self, before: str) -> int:
        """Forget handled updates received before this UTC ISO time; how many were forgotten."""
        with self._c.transaction() as db:
            cursor = db.execute(
                "delete from inbox where done_at is not null and received_at < ?", [before]
            )
            return cursor.rowcount
