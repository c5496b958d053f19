"""Topics: questions that ask the same thing in other words, grouped, most askers first.

One small function, `group_topics`, so that a better grouping (the FAQ's sentence embeddings,
say) can take its place without its callers changing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from knowledge.faqmatch import dice
from knowledge.normalize import normalize

# Two questions are on one topic when their character pairs overlap this much (Dice, 0..1), the
# bar the ticket flow uses for similar answered questions: "一等奖奖金是多少" and "一等奖的奖金
# 有多少" score 0.53, "决赛在哪里举办" and "决赛地点在哪" 0.36, "一等奖奖金" and "决赛在哪里" 0.
SAME_TOPIC = 0.45
# A question is compared with at most this many questions of each topic (the first ones).
COMPARED = 20


class Asked(Protocol):
    """What a topic is made of: a logged question (knowledge.store.Question fits)."""

    @property
    def id(self) -> int: ...

    @property
    def user_id(self) -> int: ...

    @property
    def text(self) -> str: ...


@dataclass(frozen=True)
class Topic:
    label: str  # the question that reads most like the others, as asked
    question_ids: tuple[int, ...]
    askers: int  # distinct people

    @property
    def size(self) -> int:
        return len(self.question_ids)


def group_topics(
    questions: Sequence[Asked],
    grouper: Callable[[Sequence[tuple[int, str]]], list[list[int]]] | None = None,
) -> list[Topic]:
    """Group questions that ask the same thing — by `grouper` (KnowledgeBase.group_questions:
    by meaning, never across a stage, direction or kind) where given, else by shared wording;
    the topics with most askers first (then most questions, then the earliest)."""
    keys = [_pairs(q.text) for q in questions]
    groups: list[list[int]] = []  # indices into questions
    if grouper is not None:
        groups = [sorted(g) for g in grouper([(n, q.text) for n, q in enumerate(questions)])]
    for i, key in enumerate(keys if grouper is None else []):
        best, best_score = -1, 0.0
        for g, members in enumerate(groups):
            score = max(dice(key, keys[m]) for m in members[:COMPARED])
            if score > best_score:
                best, best_score = g, score
        if best >= 0 and best_score >= SAME_TOPIC:
            groups[best].append(i)
        else:
            groups.append([i])
    topics = []
    for members in groups:
        # The label: the member most like the others (the first one on a tie).
        label = max(members, key=lambda m: (sum(dice(keys[m], keys[o]) for o in members), -m))
        topics.append(
            (
                Topic(
                    label=" ".join(questions[label].text.split()),
                    question_ids=tuple(questions[m].id for m in members),
                    askers=len({questions[m].user_id for m in members}),
                ),
                members[0],
            )
        )
    topics.sort(key=lambda tf: (-tf[0].askers, -tf[0].size, tf[1]))
    return [topic for topic, _ in topics]


def _pairs(text: str) -> frozenset[str]:
    # Chinese has no spaces: drop those between Chinese characters, keep them between words.
    squashed = re.sub(r"(?<![a-z0-9]) | (?![a-z0-9])", "", normalize(text))
    return frozenset(squashed[i : i + 2] for i in range(len(squashed) - 1)) or frozenset(
        [squashed]
    )
