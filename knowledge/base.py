"""The knowledge base: the catalogue loaded into the store, a matcher over it, and replies."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from knowledge.catalogue import Catalogue, load_seed, seed_path_from_env
from knowledge.followup import resolve
from knowledge.matcher import Answer, Matcher
from knowledge.render import render_answer
from knowledge.store import FaqEntry, LoadReport, Store
from knowledge.vocabulary import load_vocabulary


class KnowledgeBase:
    """Load the seed into the store at start; answer questions from what is stored."""

    def __init__(self, store: Store, seed: Path | None = None) -> None:
        seed = seed or seed_path_from_env()
        self.store = store
        self.load_report: LoadReport = store.load_catalogue(load_seed(seed))
        self.catalogue: Catalogue = store.catalogue()
        self.faq: dict[int, FaqEntry] = {}
        self.matcher = Matcher(self.catalogue, vocabulary=load_vocabulary(self.catalogue, seed))
        self.refresh_faq()

    def refresh_faq(self) -> None:
        """Re-read FAQ entries after organizers changed them."""
        self.faq = {e.id: e for e in self.store.faq_entries()}
        self.matcher.set_faq(self.faq.values())

    def ask(self, question: str, shown: str | None = None) -> Answer:
        """What answers a question; shown is what the chat last showed ("3-4", "3"), so a
        follow-up (这道题…, 下一题) is read against it."""
        resolved = resolve(question, shown, self.catalogue)
        answer = self.matcher.match(resolved)
        return replace(answer, query=question) if resolved != question else answer

    def similar_faq(self, question: str, limit: int = 3) -> list[FaqEntry]:
        return self.matcher.similar_faq(question, limit)

    def reply(self, answer: Answer, lang: str = "zh") -> str:
        """The HTML reply for an answer."""
        return render_answer(answer, self.catalogue, self.faq, lang)
