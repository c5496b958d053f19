"""Reply texts for each intent, in Telegram HTML; plain text derives from the same source."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

from knowledge.catalogue import Catalogue, Problem, Track
from knowledge.matcher import Answer
from knowledge.store import FaqEntry
from knowledge.texts import tr

# What a question may ask about one problem, the words that ask it, and the words of the
# clauses of a problem's text that answer it. Language, not one catalogue's data.
ASPECTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "data": (("数据", "资料", "data"), ("数据",)),
    "goal": (
        ("目标", "目的", "做什么", "做啥", "干什么", "干啥", "解决什么", "任务", "goal", "aim"),
        ("提升", "提高", "实现", "推动", "助力", "支撑", "保障", "促进"),
    ),
    "scenario": (("场景", "应用在", "用在", "用于", "scenario", "use case"), ("场景", "应用")),
    "direction": (
        ("方向", "思路", "怎么做", "方案", "direction", "approach"),
        ("探索", "构建", "建立", "开展", "利用", "融合"),
    ),
}
ASPECT_NAMES = {
    "zh": {"data": "数据", "goal": "目标", "scenario": "场景", "direction": "方向"},
    "en": {"data": "Data", "goal": "Goal", "scenario": "Scenario", "direction": "Direction"},
}
# What the organizers are asked about, by escalation topic (knowledge/lexicon.ESCALATE_CUES).
TOPIC_NAMES = {
    "zh": {
        "registration": "报名", "schedule": "时间安排", "prize": "奖项和奖金", "team": "组队",
        "submission": "作品提交", "judging": "评审", "data_access": "数据获取",
        "eligibility": "参赛资格", "contact": "联系方式", "venue": "地点", "fees": "费用",
        "rules": "比赛规则", "organizer": "组委会事务",
    },
    "en": {
        "registration": "registration", "schedule": "dates", "prize": "prizes",
        "team": "teams", "submission": "submissions", "judging": "judging",
        "data_access": "access to data", "eligibility": "eligibility", "contact": "contacts",
        "venue": "the venue", "fees": "fees", "rules": "the rules", "organizer": "organizers",
    },
}  # fmt: skip
_CLAUSE = re.compile(r"[^。；;！!？?，,]+[。；;！!？?，,]?")
MAX_CLAUSES = 3


def answering_clauses(problem: Problem, question: str) -> tuple[str, list[str]]:
    """The aspect a question asks about a problem (data, goal, scenario, direction) and the
    clauses of the problem's text that answer it; ("", []) when it asks about none."""
    asked = question.lower()
    for aspect, (asking, answering) in ASPECTS.items():
        if any(w in asked for w in asking):
            clauses = [c.strip() for c in _CLAUSE.findall(problem.description)]
            found = [c.rstrip("，,。；;") for c in clauses if any(w in c for w in answering)]
            if found:
                return aspect, found[:MAX_CLAUSES]
    return "", []


def lang_of(language_code: str | None) -> str:
    """English for users whose Telegram language is English; Chinese otherwise."""
    return "en" if (language_code or "").lower().startswith("en") else "zh"


def track_label(track: Track, lang: str = "zh") -> str:
    """赛道三 · 交通运输 (plain text: escape it for HTML)."""
    return tr(lang, "reply.track_label", id=track.id, ordinal=track.ordinal, name=track.name)


def problem_line(problem: Problem) -> str:
    return f"{problem.id} {html.escape(problem.title)}"


def render_tracks(catalogue: Catalogue, lang: str = "zh") -> str:
    lines = [tr(lang, "reply.tracks", n=len(catalogue.tracks))]
    for track in catalogue.tracks:
        count = tr(lang, "reply.problems_count", n=len(catalogue.problems_of(track.id)))
        lines.append(f"{track.id}. {html.escape(track_label(track, lang))}（{count}）")
    lines.append("")
    lines.append(tr(lang, "reply.tracks_tail"))
    return "\n".join(lines)


def render_track(catalogue: Catalogue, track: Track, lang: str = "zh") -> str:
    problems = catalogue.problems_of(track.id)
    lines = [tr(lang, "reply.track", heading=html.escape(track.heading), n=len(problems))]
    lines += [problem_line(p) for p in problems]
    return "\n".join(lines)


def render_problem(
    catalogue: Catalogue, problem: Problem, lang: str = "zh", question: str = ""
) -> str:
    """A problem's card; when the question asks one aspect of it (这题要用哪些数据), the
    clauses that answer it come first, then the whole text."""
    track = catalogue.track(problem.track_id)
    description = html.escape(problem.description)
    aspect, clauses = answering_clauses(problem, question)
    if clauses:
        lead = "；".join(html.escape(c) for c in clauses)
        name = ASPECT_NAMES.get(lang, ASPECT_NAMES["zh"])[aspect]
        description = tr(lang, "reply.aspect", aspect=name, text=lead) + "\n\n" + description
    return tr(
        lang,
        "reply.problem",
        id=problem.id,
        title=html.escape(problem.title),
        track=html.escape(track.heading if track else ""),
        description=description,
    )


def render_understood(answer: Answer, catalogue: Catalogue, lang: str = "zh") -> str:
    """The first line of an escalation: what the bot understood — the topic and any problem or
    track named — without claiming the catalogue has no answer when it was asked something
    else about a problem."""
    _, _, topic_key = answer.note.partition("topic:")
    topic = TOPIC_NAMES.get(lang, TOPIC_NAMES["zh"]).get(topic_key, "")
    about = answer.about[0] if answer.about else ""
    of_topic = (f"的{topic}" if lang == "zh" else f", {topic}") if topic else ""
    if (problem := catalogue.problem(about)) is not None:
        return tr(lang, "reply.understood_problem", id=problem.id, topic=of_topic)
    if (track := catalogue.track(about)) is not None:
        label = html.escape(track_label(track, lang))
        return tr(lang, "reply.understood_track", track=label, topic=of_topic)
    if topic:
        return tr(lang, "reply.understood_topic", topic=topic)
    return ""


def render_faq(entry: FaqEntry, lang: str = "zh") -> str:
    return tr(
        lang,
        "reply.faq",
        date=entry.updated_at[:10],
        question=html.escape(entry.question),
        answer=html.escape(entry.answer),
    )


def render_answer(
    answer: Answer,
    catalogue: Catalogue,
    faq: Mapping[int, FaqEntry] | None = None,
    lang: str = "zh",
) -> str:
    """The HTML reply a contestant reads for an answer."""
    note_kind, _, note_value = answer.note.partition(":")
    if answer.intent == "tracks":
        text = render_tracks(catalogue, lang)
        if note_kind == "no_track":
            last = catalogue.tracks[-1]
            number = _ordinal(note_value, lang)
            head = tr(lang, "reply.no_track", number=number, last=_ordinal(last.id, lang))
            text = head + "\n\n" + text
        return text
    if answer.intent == "track":
        track = catalogue.track(answer.ids[0])
        if track is None:
            return render_tracks(catalogue, lang)
        if note_kind == "no_problem":
            number = note_value.split("-")[-1]
            head = tr(
                lang,
                "reply.no_problem",
                track=html.escape(track_label(track, lang)),
                number=html.escape(number),
                n=len(catalogue.problems_of(track.id)),
            )
            return "\n".join([head] + [problem_line(p) for p in catalogue.problems_of(track.id)])
        return render_track(catalogue, track, lang)
    if answer.intent == "problem":
        problem = catalogue.problem(answer.ids[0])
        if problem is None:
            return render_tracks(catalogue, lang)
        return render_problem(catalogue, problem, lang, answer.query)
    if answer.intent == "search":
        problems = [p for pid in answer.ids if (p := catalogue.problem(pid))]
        key = "reply.did_you_mean" if answer.note == "did_you_mean" else "reply.theme"
        head = tr(lang, key, n=len(problems))
        return "\n".join(
            [head] + [f"• {problem_line(p)}{_fits(p, answer, catalogue, lang)}" for p in problems]
        )
    if answer.intent == "faq" and faq is not None:
        entry = faq.get(int(answer.ids[0].removeprefix("faq:")))
        if entry is not None:
            return render_faq(entry, lang)
    if answer.intent == "escalate":
        understood = render_understood(answer, catalogue, lang)
        tail = tr(lang, "reply.escalate").split("\n")[-1]  # 可以把问题转给组委会…
        return f"{understood}\n{tail}" if understood else tr(lang, "reply.escalate")
    return render_help(catalogue, lang)


def render_help(catalogue: Catalogue, lang: str = "zh") -> str:
    """The welcome and how to ask; the contest's name, the counts and the examples come from
    the catalogue (the examples: problem 4 of track 3, or the nearest there is)."""
    contest = html.escape(catalogue.contest) or tr(lang, "reply.this_contest")
    track = catalogue.tracks[min(2, len(catalogue.tracks) - 1)]
    problems = catalogue.problems_of(track.id)
    problem = problems[min(3, len(problems) - 1)]
    return tr(
        lang,
        "reply.help",
        contest=contest,
        problems=len(catalogue.problems),
        ordinal=track.ordinal,
        track=track.id,
        number=problem.number,
        id=problem.id,
        topic=html.escape(catalogue.tracks[-1].name),
    )


def _fits(problem: Problem, answer: Answer, catalogue: Catalogue, lang: str) -> str:
    """Why a problem is in a theme list: the question's phrases its text has, leaving out the
    ones most problems have (数据)."""
    if answer.note == "did_you_mean":
        return ""
    texts = [p.title + p.description for p in catalogue.problems]
    common = {x for x in answer.terms if sum(x in text for text in texts) > len(texts) * 0.3}
    own = problem.title + problem.description
    terms = [x for x in answer.terms if x in own and x not in common]
    if not terms:
        return ""
    return tr(lang, "reply.fits", terms="、".join(html.escape(x) for x in terms[:3]))


def _ordinal(number: str, lang: str) -> str:
    if lang == "en" or not number.isdigit() or not 0 < int(number) < 10:
        return number
    return "零一二三四五六七八九"[int(number)]
