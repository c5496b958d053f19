"""Follow-up questions: “这道题需要哪些数据”, “下一题”, “那第二题呢” read against what the chat
last showed (a problem "3-4" or a track "3"), by writing the reference into the question."""

from __future__ import annotations

import re

from knowledge.catalogue import Catalogue
from knowledge.normalize import normalize
from knowledge.refs import digits_for_numerals, find_reference

_THIS_PROBLEM = re.compile(
    r"这道题|这题|这个题|这个赛题|这道赛题|该题|本题|此题|该赛题|上面那题|刚才那题|刚才那道|"
    r"刚刚那题|它|\bthis (?:problem|one|task)\b|\bit\b"
)
_THIS_TRACK = re.compile(r"这个赛道|这赛道|本赛道|该赛道|这条赛道|这一赛道|\bthis track\b")
_NEXT = re.compile(r"下一题|下一道|下道题|下一个题|下个题|\bnext (?:problem|one)\b")
_PREVIOUS = re.compile(r"上一题|上一道|上道题|上一个题|上个题|\bprevious (?:problem|one)\b")
# 第2题, 第二道, 2号题 with no track named: a problem of the track on screen.
_NTH = re.compile(r"第\s*(\d+)\s*(?:道|个)?\s*(?:赛题|题)?|(\d+)\s*号\s*(?:赛题|题)")


def resolve(text: str, shown: str | None, catalogue: Catalogue) -> str:
    """The question with the reference it leaves out written in, or the question as it is."""
    if not shown:
        return text
    norm = digits_for_numerals(normalize(text))
    if find_reference(norm) is not None:
        return text  # it names its own problem or track (那3-5呢)
    problem = catalogue.problem(shown)
    track_id = problem.track_id if problem is not None else shown
    if catalogue.track(track_id) is None:
        return text
    if problem is not None:
        plain = normalize(text)  # 下一题 before its 一 becomes a digit
        step = 1 if _NEXT.search(plain) else -1 if _PREVIOUS.search(plain) else 0
        if step:
            neighbour = catalogue.problem(f"{track_id}-{problem.number + step}")
            # Nothing else is asked: the neighbour itself (or its track past either end).
            return neighbour.id if neighbour is not None else f"赛道{track_id}"
        if _THIS_PROBLEM.search(norm):
            return f"{problem.id} {text}"
    if _THIS_TRACK.search(norm):
        return f"赛道{track_id} {text}"
    if (m := _NTH.search(norm)) and any(m.groups()):
        number = m.group(1) or m.group(2)
        return f"赛道{track_id}第{number}题 {norm[: m.start()]}{norm[m.end() :]}".strip()
    return text
