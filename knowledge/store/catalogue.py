"""Catalogue tables: load the parsed seed, read it back."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from knowledge.catalogue import Catalogue, Problem, Track
from knowledge.store.base import Repository, from_row


@dataclass(frozen=True)
class LoadReport:
    inserted: int
    updated: int
    deleted: int
    unchanged: int


class CatalogueTables(Repository):
    def load(self, catalogue: Catalogue) -> LoadReport:
        """Make the tables match the catalogue, in one transaction: upsert, then drop vanished."""
        tracks = [{**dataclasses.asdict(t), "position": i} for i, t in enumerate(catalogue.tracks)]
        problems = [dataclasses.asdict(p) for p in catalogue.problems]
        inserted = updated = deleted = unchanged = 0
        with self._c.transaction() as db:
            for table, rows in (("tracks", tracks), ("problems", problems)):
                existing = {row["id"]: row for row in db.table(table).rows}
                for row in rows:
                    old = existing.pop(row["id"], None)
                    if old is None:
                        inserted += 1
                    elif old == row:
                        unchanged += 1
                        continue
                    else:
                        updated += 1
                    db.table(table).upsert(row, pk="id")
                if table == "tracks":
                    vanished_tracks = list(existing)
                else:
                    for problem_id in existing:
                        db.table(table).delete(problem_id)
                        deleted += 1
            for track_id in vanished_tracks:  # after their problems, for the foreign key
                db.table("tracks").delete(track_id)
                deleted += 1
            db.table("meta").upsert({"key": "catalogue_title", "value": catalogue.title}, pk="key")
            db.table("meta").upsert({"key": "catalogue_intro", "value": catalogue.intro}, pk="key")
        return LoadReport(inserted, updated, deleted, unchanged)

    def get(self) -> Catalogue:
        """The catalogue as stored."""
        with self._c.reading() as db:
            meta = {row["key"]: row["value"] for row in db.table("meta").rows}
            tracks = tuple(
                from_row(Track, r) for r in db.table("tracks").rows_where(order_by="position")
            )
            problems = tuple(
                from_row(Problem, r)
                for r in db.table("problems").rows_where(order_by="track_id, number")
            )
        return Catalogue(
            meta.get("catalogue_title", ""), meta.get("catalogue_intro", ""), tracks, problems
        )
