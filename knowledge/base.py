"""The knowledge base: the catalogue loaded into the store, a matcher over it, and replies."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from knowledge.catalogue import Catalogue, load_seed, seed_path_from_env
from knowledge.embed import Remembering, load_embedder
from knowledge.faqmatch import SIMILAR_WINDOW, FaqHit, FaqIndex
from knowledge.followup import resolve
from knowledge.matcher import Answer, Matcher
from knowledge.render import render_answer
from knowledge.store import FaqEntry, Store
from knowledge.vocabulary import load_vocabulary


class KnowledgeBase:
    """Load the seed into the store at start; answer questions from what is stored."""

    def __init__(self, store: Store, seed: Path | None = None) -> None:
        seed = seed or seed_path_from_env()
        self.store = store
        store.catalogue.load(load_seed(seed))
        self.catalogue: Catalogue = store.catalogue.get()
        self.faq: dict[int, FaqEntry] = {}
        self._refreshing = threading.Lock()
        inner = load_embedder()
        # Questions are compared by meaning where the model is installed (knowledge/embed.py).
        self.embedder = Remembering(inner, store.embeddings) if inner is not None else None
        self.matcher = Matcher(
            self.catalogue,
            vocabulary=load_vocabulary(self.catalogue, seed),
            embedder=self.embedder,
        )
        self.refresh_faq()

    def refresh_faq(self) -> None:
        """Re-read the FAQ entries after organizers changed them, and swap the new index in.

        Call it off the event loop: it reads the database and builds the index (with
        embeddings, only a new or edited question is embedded; the others' vectors are read
        back). Questions are answered from the old index meanwhile. Refreshes run one at a time
        and each reads the entries when it starts, so the last one leaves the latest."""
        with self._refreshing:
            entries = self.store.faq.all()
            vectors = None
            if self.embedder is not None and entries:
                texts = FaqIndex.texts((e.id, e.question, e.answer) for e in entries)
                vectors = dict(zip(texts, self.embedder.embed_kept(texts), strict=True))
            fresh = {e.id: e for e in entries}
            # While the matcher swaps its index, self.faq holds the old entries and the new:
            # an answer from either index finds the entry it names.
            self.faq = {**self.faq, **fresh}
            self.matcher.set_faq(entries, vectors)
            self.faq = fresh

    def ask(self, question: str, shown: str | None = None) -> Answer:
        """What answers a question; shown is what the chat last showed ("3-4", "3"), so a
        follow-up (这道题…, 下一题) is read against it."""
        resolved = resolve(question, shown, self.catalogue)
        answer = self.matcher.match(resolved)
        return replace(answer, query=question) if resolved != question else answer

    def similar_faq(self, question: str, limit: int = 3) -> list[FaqEntry]:
        return self.matcher.similar_faq(question, limit)

    def _index(self, items: Sequence[tuple[int, str]]) -> FaqIndex:
        """An index over questions other than the FAQ's (tickets), ranked the same way."""
        vectors = None
        texts = list(dict.fromkeys(text for _, text in items))
        if self.embedder is not None and texts:
            vectors = dict(zip(texts, self.embedder.embed_kept(texts), strict=True))
        return FaqIndex(((i, text, "") for i, text in items), self.embedder, vectors)

    def similar_questions(
        self,
        question: str,
        items: Sequence[tuple[int, str]],
        limit: int = 3,
        *,
        strict: bool = False,
    ) -> list[int]:
        """Ids of the items (id, question) that ask much what the question asks, most alike
        first: the ranking FAQ entries get, without the ones that ask another stage,
        direction, kind or object; strict: alike enough to be answered together."""
        index = self._index(items)
        hits = index.similar(question, limit, strict=strict)
        return [h.entry_id for h in hits if not h.why_not]

    def related(
        self, question: str, answered: Sequence[tuple[int, str]], limit: int = 3
    ) -> tuple[list[FaqEntry], list[int]]:
        """What the escalation offers: FAQ entries and answered questions (ids of `answered`,
        (id, question) pairs) that ask much what the question asks, ranked together — only the
        ones within SIMILAR_WINDOW of the best of both, so an entry about something else is not
        offered beside an answered question that asks the very same."""
        matcher = self.matcher
        faq = matcher.faq_index.similar(question, limit)
        asked: list[FaqHit] = []
        if answered:
            asked = [h for h in self._index(answered).similar(question, limit) if not h.why_not]
        if self.embedder is not None:  # the window is a cosine's
            best = max((h.score for h in (*faq, *asked)), default=0.0)
            faq = [h for h in faq if h.score >= best - SIMILAR_WINDOW]
            asked = [h for h in asked if h.score >= best - SIMILAR_WINDOW]
        entries = [e for h in faq if (e := self.faq.get(h.entry_id))]
        return entries, [h.entry_id for h in asked]

    def group_questions(self, items: Sequence[tuple[int, str]]) -> list[list[int]]:
        """The items (id, question) in groups that ask the same thing, largest first."""
        groups = self._index(items).groups()
        return sorted(groups, key=len, reverse=True)

    def reply(self, answer: Answer, lang: str = "zh") -> str:
        """The HTML reply for an answer."""
        return render_answer(answer, self.catalogue, self.faq, lang)
