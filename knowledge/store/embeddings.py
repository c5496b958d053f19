"""Sentence vectors kept across restarts, keyed by model and text (knowledge/embed.py makes
them): embedding 5,000 FAQ entries takes a minute; reading them back takes milliseconds."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from knowledge.store.base import Repository


def digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=16).hexdigest()


class Embeddings(Repository):
    def stored(self, model: str, texts: Iterable[str]) -> dict[str, bytes]:
        """The stored vectors of those texts that have one (raw float32 bytes)."""
        by_digest = {digest(t): t for t in texts}
        found: dict[str, bytes] = {}
        keys = list(by_digest)
        with self._c.reading() as db:
            for start in range(0, len(keys), 500):  # SQLite's limit on bound parameters
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                sql = "select digest, vector from embeddings"
                sql += f" where model = ? and digest in ({marks})"
                rows = db.execute(sql, [model, *chunk]).fetchall()
                found.update((by_digest[d], v) for d, v in rows)
        return found

    def keep(self, model: str, vectors: Mapping[str, bytes]) -> None:
        """Store the vectors of these texts."""
        with self._c.transaction() as db:
            db.table("embeddings").upsert_all(
                ({"model": model, "digest": digest(t), "vector": v} for t, v in vectors.items()),
                pk=("model", "digest"),
            )
