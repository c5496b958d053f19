"""The SQLite store: the one module that owns SQL. Schema changes are ordered migrations."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from knowledge.catalogue import Catalogue, Problem, Track

DEFAULT_DB = Path("data/contest-bot.db")


def db_path_from_env() -> Path:
    """CONTEST_BOT_DB, or data/contest-bot.db."""
    return Path(os.environ.get("CONTEST_BOT_DB") or DEFAULT_DB)


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- migrations -------------------------------------------------------------------------------
# Append only: a migration, once released, never changes. Each runs in its own transaction.

Migration = Callable[[sqlite_utils.Database], None]


def m001_catalogue(db: sqlite_utils.Database) -> None:
    db["tracks"].create(
        {"id": str, "position": int, "ordinal": str, "name": str, "heading": str}, pk="id"
    )
    db["problems"].create(
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
    db["meta"].create({"key": str, "value": str}, pk="key")


def m002_faq(db: sqlite_utils.Database) -> None:
    db["faq"].create(
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


MIGRATIONS: list[Migration] = [m001_catalogue, m002_faq]


@dataclass(frozen=True)
class FaqEntry:
    id: int
    question: str
    answer: str
    created_at: str
    updated_at: str
    ticket_id: int | None = None


@dataclass(frozen=True)
class LoadReport:
    inserted: int
    updated: int
    deleted: int
    unchanged: int


class Store:
    """A sqlite-utils Database with the project's schema, safe to share between threads."""

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 5000")
        self.db = sqlite_utils.Database(conn)
        if str(path) != ":memory:":
            self.db.enable_wal()
        self.db.execute("PRAGMA foreign_keys = ON")
        # One connection serves every thread; this lock keeps a transaction whole.
        self.lock = threading.RLock()
        self.migrate()

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """Run a block atomically (nested blocks become savepoints)."""
        with self.lock, self.db.atomic():
            yield self.db

    def close(self) -> None:
        with self.lock:
            self.db.conn.close()

    # --- schema ---------------------------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply the migrations not yet applied, in order; return their names."""
        applied: list[str] = []
        with self.lock:
            if "_migrations" not in self.db.table_names():
                self.db["_migrations"].create({"name": str, "applied_at": str}, pk="name")
            done = {row["name"] for row in self.db["_migrations"].rows}
            for migration in MIGRATIONS:
                if migration.__name__ in done:
                    continue
                with self.transaction() as db:
                    migration(db)
                    db["_migrations"].insert({"name": migration.__name__, "applied_at": utcnow()})
                applied.append(migration.__name__)
        return applied

    def applied_migrations(self) -> list[str]:
        return [row["name"] for row in self.db["_migrations"].rows_where(order_by="name")]

    # --- catalogue ------------------------------------------------------------------------------

    def load_catalogue(self, catalogue: Catalogue) -> LoadReport:
        """Make the tables match the catalogue, in one transaction: upsert, then drop vanished."""
        tracks = [
            {"id": t.id, "position": i, "ordinal": t.ordinal, "name": t.name, "heading": t.heading}
            for i, t in enumerate(catalogue.tracks)
        ]
        problems = [
            {
                "id": p.id,
                "track_id": p.track_id,
                "number": p.number,
                "title": p.title,
                "description": p.description,
            }
            for p in catalogue.problems
        ]
        inserted = updated = deleted = unchanged = 0
        with self.transaction() as db:
            for table, rows in (("tracks", tracks), ("problems", problems)):
                existing = {row["id"]: row for row in db[table].rows}
                for row in rows:
                    old = existing.pop(row["id"], None)
                    if old is None:
                        inserted += 1
                    elif old == row:
                        unchanged += 1
                        continue
                    else:
                        updated += 1
                    db[table].upsert(row, pk="id")
                if table == "tracks":
                    vanished_tracks = list(existing)
                else:
                    for problem_id in existing:
                        db[table].delete(problem_id)
                        deleted += 1
            for track_id in vanished_tracks:  # after their problems, for the foreign key
                db["tracks"].delete(track_id)
                deleted += 1
            db["meta"].upsert({"key": "catalogue_title", "value": catalogue.title}, pk="key")
            db["meta"].upsert({"key": "catalogue_intro", "value": catalogue.intro}, pk="key")
        return LoadReport(inserted, updated, deleted, unchanged)

    def catalogue(self) -> Catalogue:
        """The catalogue as stored."""
        with self.lock:
            meta = {row["key"]: row["value"] for row in self.db["meta"].rows}
            tracks = tuple(
                Track(r["id"], r["ordinal"], r["name"], r["heading"])
                for r in self.db["tracks"].rows_where(order_by="position")
            )
            problems = tuple(
                Problem(r["id"], r["track_id"], r["number"], r["title"], r["description"])
                for r in self.db["problems"].rows_where(order_by="track_id, number")
            )
        return Catalogue(
            meta.get("catalogue_title", ""), meta.get("catalogue_intro", ""), tracks, problems
        )

    # --- FAQ ------------------------------------------------------------------------------------

    def faq_entries(self) -> list[FaqEntry]:
        with self.lock:
            return [_faq(row) for row in self.db["faq"].rows_where(order_by="id")]

    def faq_entry(self, faq_id: int) -> FaqEntry | None:
        with self.lock:
            rows = list(self.db["faq"].rows_where("id = ?", [faq_id]))
        return _faq(rows[0]) if rows else None

    def add_faq(self, question: str, answer: str, ticket_id: int | None = None) -> FaqEntry:
        now = utcnow()
        with self.transaction() as db:
            row_id = (
                db["faq"]
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
        entry = self.faq_entry(int(row_id))
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
            db["faq"].update(faq_id, changes)
        return self.faq_entry(faq_id)

    def delete_faq(self, faq_id: int) -> bool:
        with self.transaction() as db:
            if self.faq_entry(faq_id) is None:
                return False
            db["faq"].delete(faq_id)
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
