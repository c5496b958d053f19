"""The schema: ordered migrations, append only. A released migration never changes."""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

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


# Each runs once, in order, in its own transaction. Add new ones at the end.
MIGRATIONS: list[Migration] = [m001_catalogue, m002_faq]
