"""Score a labelled question set: accuracy per intent, wrong answers to escalations, misses."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.matcher import Answer

SEARCH_MIN_F1 = 0.75


@dataclass(frozen=True)
class Case:
    q: str
    intent: str
    ids: tuple[str, ...]


@dataclass
class Report:
    total: Counter[str] = field(default_factory=Counter)
    correct: Counter[str] = field(default_factory=Counter)
    escalations_answered: int = 0
    misses: list[tuple[Case, Answer]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return sum(self.correct.values()) / max(1, sum(self.total.values()))

    def lines(self, verbose: bool = False) -> list[str]:
        out = [f"{'intent':<10} {'correct':>7} {'total':>5} {'accuracy':>8}"]
        for intent in sorted(self.total):
            n, ok = self.total[intent], self.correct[intent]
            out.append(f"{intent:<10} {ok:>7} {n:>5} {ok / n:>8.1%}")
        n, ok = sum(self.total.values()), sum(self.correct.values())
        out.append(f"{'overall':<10} {ok:>7} {n:>5} {self.accuracy:>8.1%}")
        out.append(f"escalations answered instead: {self.escalations_answered}")
        if verbose:
            for case, answer in self.misses:
                out.append(
                    f"MISS {case.q!r}: expected {case.intent} {list(case.ids)}, "
                    f"got {answer.intent} {list(answer.ids)} score={answer.score} {answer.note}"
                )
        return out


def read_cases(path: Path) -> list[Case]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            cases.append(Case(row["q"], row["intent"], tuple(row.get("ids", ()))))
    return cases


def f1(expected: Iterable[str], got: Iterable[str]) -> float:
    e, g = set(expected), set(got)
    if not e and not g:
        return 1.0
    return 2 * len(e & g) / (len(e) + len(g))


def is_correct(case: Case, answer: Answer) -> bool:
    """tracks/help/escalate/faq need the intent; track/problem the first id; search an F1."""
    if answer.intent != case.intent:
        return False
    if case.intent in ("track", "problem"):
        return bool(answer.ids) and answer.ids[0] == case.ids[0]
    if case.intent == "search":
        return f1(case.ids, answer.ids) >= SEARCH_MIN_F1
    return True


def evaluate(cases: Iterable[Case], ask: Callable[[str], Answer]) -> Report:
    report = Report()
    for case in cases:
        answer = ask(case.q)
        report.total[case.intent] += 1
        if is_correct(case, answer):
            report.correct[case.intent] += 1
        else:
            report.misses.append((case, answer))
            if case.intent == "escalate" and answer.intent != "escalate":
                report.escalations_answered += 1
    return report
