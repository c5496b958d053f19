"""Scoring a labelled question set."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge.base import KnowledgeBase
from knowledge.evaluation import SEARCH_MIN_F1, Case, evaluate, f1, is_correct, read_cases
from knowledge.matcher import Answer


def answer(intent: str, *ids: str) -> Answer:
    return Answer("q", intent, tuple(ids))


@pytest.mark.parametrize(
    ("case", "got", "correct"),
    [
        # tracks, help, escalate, faq: the intent is all that counts
        (Case("q", "tracks", ()), answer("tracks"), True),
        (Case("q", "help", ()), answer("help"), True),
        (Case("q", "escalate", ()), answer("escalate"), True),
        (Case("q", "faq", ()), answer("faq", "faq:3"), True),
        (Case("q", "escalate", ()), answer("help"), False),
        (Case("q", "help", ()), answer("escalate"), False),
        # track and problem: the first id must be the expected one
        (Case("q", "problem", ("3-4",)), answer("problem", "3-4"), True),
        (Case("q", "problem", ("3-4",)), answer("problem", "3-3"), False),
        (Case("q", "problem", ("3-4",)), answer("problem"), False),
        (Case("q", "problem", ("3-4",)), answer("search", "3-4"), False),
        (Case("q", "problem", ("3-4",)), answer("track", "3"), False),
        (Case("q", "track", ("3",)), answer("track", "3"), True),
        (Case("q", "track", ("3",)), answer("track", "4"), False),
        (Case("q", "track", ("3",)), answer("tracks"), False),
        # search: F1 of the id sets at least 0.75, order free
        (Case("q", "search", ("1-1", "2-2")), answer("search", "2-2", "1-1"), True),
        (Case("q", "search", ("a", "b", "c", "d")), answer("search", "a", "b", "c"), True),  # 6/7
        (Case("q", "search", ("a", "b", "c")), answer("search", "a", "b", "c", "d"), True),  # 6/7
        (Case("q", "search", ("a", "b")), answer("search", "a", "b", "c"), True),  # 0.8
        (Case("q", "search", ("a", "b", "c")), answer("search", "a", "b"), True),  # 0.8
        (Case("q", "search", ("a", "b", "c")), answer("search", "a", "b", "d", "e"), False),
        (Case("q", "search", ("a", "b")), answer("search", "a"), False),  # 0.667
        (Case("q", "search", ("a", "b")), answer("search", "c", "d"), False),
        (Case("q", "search", ("a",)), answer("search"), False),
        (Case("q", "search", ("a", "b")), answer("problem", "a"), False),
    ],
)
def test_is_correct(case: Case, got: Answer, correct: bool) -> None:
    assert is_correct(case, got) is correct


def test_search_threshold_is_three_quarters() -> None:
    assert SEARCH_MIN_F1 == 0.75
    # exactly 0.75 still counts: 3 right of 3 expected, 5 given → 2*3/8
    assert f1(("a", "b", "c"), ("a", "b", "c", "d", "e")) == 0.75
    case = Case("q", "search", ("a", "b", "c"))
    assert is_correct(case, answer("search", "a", "b", "c", "d", "e")) is True


@pytest.mark.parametrize(
    ("expected", "got", "score"),
    [
        ((), (), 1.0),
        (("a",), (), 0.0),
        ((), ("a",), 0.0),
        (("a", "b"), ("b", "a"), 1.0),
        (("a", "a", "b"), ("a", "b"), 1.0),  # sets, not lists
        (("a", "b"), ("a", "c"), 0.5),
    ],
)
def test_f1(expected: tuple[str, ...], got: tuple[str, ...], score: float) -> None:
    assert f1(expected, got) == pytest.approx(score)


CASES = [
    Case("赛道三赛题4", "problem", ("3-4",)),
    Case("第五赛道", "track", ("5",)),
    Case("奖金多少", "escalate", ()),
    Case("报名入口", "escalate", ()),
    Case("证书怎么领", "escalate", ()),
    Case("嗨，你好", "help", ()),
]


def fake_ask(replies: dict[str, Answer]) -> Callable[[str], Answer]:
    def ask(question: str) -> Answer:
        return replies[question]

    return ask


def test_evaluate_counts_per_intent_and_escalations_answered_instead() -> None:
    replies = {
        "赛道三赛题4": answer("problem", "3-4"),
        "第五赛道": answer("track", "4"),  # wrong, but not an escalation
        "奖金多少": answer("escalate"),
        "报名入口": answer("problem", "1-1"),  # answered instead of escalated
        "证书怎么领": answer("search", "5-1", "5-2"),  # answered instead of escalated
        "嗨，你好": answer("escalate"),  # escalated instead of helped: a miss, not counted
    }
    report = evaluate(CASES, fake_ask(replies))

    assert dict(report.total) == {"problem": 1, "track": 1, "escalate": 3, "help": 1}
    assert dict(report.correct) == {"problem": 1, "escalate": 1}
    assert report.escalations_answered == 2
    assert report.accuracy == pytest.approx(2 / 6)
    assert [case.q for case, _ in report.misses] == [
        "第五赛道",
        "报名入口",
        "证书怎么领",
        "嗨，你好",
    ]


def test_evaluate_all_correct() -> None:
    replies = {c.q: Answer(c.q, c.intent, c.ids) for c in CASES}
    report = evaluate(CASES, fake_ask(replies))
    assert report.accuracy == 1.0
    assert report.escalations_answered == 0
    assert report.misses == []


def test_report_lines() -> None:
    replies = {c.q: Answer(c.q, c.intent, c.ids) for c in CASES}
    replies["报名入口"] = answer("problem", "1-1")
    report = evaluate(CASES, fake_ask(replies))

    lines = report.lines()
    assert lines[0].split() == ["intent", "correct", "total", "accuracy"]
    assert lines[1:5] == [
        "escalate         2     3    66.7%",
        "help             1     1   100.0%",
        "problem          1     1   100.0%",
        "track            1     1   100.0%",
    ]
    assert lines[5].split() == ["overall", "5", "6", "83.3%"]
    assert lines[6] == "escalations answered instead: 1"
    assert len(lines) == 7

    verbose = report.lines(verbose=True)
    assert verbose[:7] == lines
    assert verbose[7].startswith("MISS '报名入口': expected escalate [], got problem ['1-1']")


def test_evaluate_empty_set() -> None:
    report = evaluate([], fake_ask({}))
    assert report.accuracy == 0.0
    assert report.lines()[-1] == "escalations answered instead: 0"


def test_read_cases(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    rows = [
        {"q": "3-4", "intent": "problem", "ids": ["3-4"]},
        {"q": "嗨，你好", "intent": "help"},  # ids may be left out
    ]
    path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", encoding="utf-8"
    )
    assert read_cases(path) == [Case("3-4", "problem", ("3-4",)), Case("嗨，你好", "help", ())]


def test_evaluate_with_the_real_matcher_counts_wrong_answers_to_escalations(
    kb: KnowledgeBase,
) -> None:
    cases = [
        Case("5-1", "escalate", ()),  # mislabelled on purpose: the bot answers a problem
        Case("奖金怎么算", "escalate", ()),
    ]
    report = evaluate(cases, kb.ask)
    assert report.escalations_answered == 1
    assert report.correct["escalate"] == 1
