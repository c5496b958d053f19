"""Reply texts for each intent, in Telegram HTML; plain text derives from the same source."""

from __future__ import annotations

import html
from collections.abc import Mapping

from knowledge.catalogue import Catalogue, Problem, Track
from knowledge.matcher import Answer
from knowledge.store import FaqEntry

TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "help": (
            "👋 你好！我是「数据要素×」大赛湖北分赛的答疑助手。\n\n"
            "• 点下方按钮按赛道浏览全部 35 道赛题\n"
            "• 直接打字提问，例如：<i>赛道三赛题4</i>、<i>3-4</i>、<i>名老中医</i>、"
            "<i>跟港口有关的题</i>\n"
            "• 报名、时间、奖项等目录里没有的问题，我会转给组委会\n\n"
            "命令：/tracks 赛道列表 · /help 帮助"
        ),
        "tracks": "本次大赛共 {n} 个赛道：",
        "tracks_tail": "发送赛道编号（如 <i>赛道三</i>）或点按钮查看赛题。",
        "no_track": "没有赛道{number}，本次大赛只有赛道一至赛道{last}。",
        "track": "<b>{heading}</b>\n共 {n} 道赛题：",
        "no_problem": "{track}没有第 {number} 题，它共有 {n} 道赛题：",
        "problem": "<b>赛题 {id}：{title}</b>\n<i>{track}</i>\n\n{description}",
        "theme": "找到 {n} 道相关赛题：",
        "did_you_mean": "你是想问下面哪道赛题？",
        "escalate": (
            "这个问题赛题目录里没有答案，我不替组委会猜测。\n"
            "可以把问题转给组委会，由工作人员回复你。"
        ),
        "faq": "<b>组委会答复</b>（{date}）\n<i>问：{question}</i>\n\n{answer}",
        "problems_count": "{n} 道题",
    },
    "en": {
        "help": (
            "👋 Hi! I answer questions about the 2024 “Data Elements ×” contest, Hubei round.\n\n"
            "• Tap a track below to browse all 35 problems\n"
            "• Or type a question, e.g. <i>track 3 problem 4</i>, <i>3-4</i>, "
            "<i>autonomous driving</i>\n"
            "• Questions the catalogue cannot answer (registration, dates, prizes …) go to "
            "the organizers\n\n"
            "Commands: /tracks list of tracks · /help help"
        ),
        "tracks": "The contest has {n} tracks:",
        "tracks_tail": "Send a track number (e.g. <i>track 3</i>) or tap a button.",
        "no_track": "There is no track {number}: tracks run from 1 to {last}.",
        "track": "<b>{heading}</b>\n{n} problems:",
        "no_problem": "{track} has no problem {number}; it has {n} problems:",
        "problem": "<b>Problem {id}: {title}</b>\n<i>{track}</i>\n\n{description}",
        "theme": "{n} problems fit:",
        "did_you_mean": "Did you mean one of these problems?",
        "escalate": (
            "The catalogue does not answer this, and I won't guess for the organizers.\n"
            "You can send the question to the organizers and staff will reply."
        ),
        "faq": "<b>Organizers' answer</b> ({date})\n<i>Q: {question}</i>\n\n{answer}",
        "problems_count": "{n} problems",
    },
}


def lang_of(language_code: str | None) -> str:
    """English for users whose Telegram language is English; Chinese otherwise."""
    return "en" if (language_code or "").lower().startswith("en") else "zh"


def t(lang: str, key: str, **values: object) -> str:
    return TEXTS.get(lang, TEXTS["zh"])[key].format(**values)


def track_label(track: Track, lang: str = "zh") -> str:
    return (
        f"Track {track.id} · {track.name}"
        if lang == "en"
        else f"赛道{track.ordinal} · {track.name}"
    )


def problem_line(problem: Problem) -> str:
    return f"{problem.id} {html.escape(problem.title)}"


def render_tracks(catalogue: Catalogue, lang: str = "zh") -> str:
    lines = [t(lang, "tracks", n=len(catalogue.tracks))]
    for track in catalogue.tracks:
        count = t(lang, "problems_count", n=len(catalogue.problems_of(track.id)))
        lines.append(f"{track.id}. {html.escape(track_label(track, lang))}（{count}）")
    lines.append("")
    lines.append(t(lang, "tracks_tail"))
    return "\n".join(lines)


def render_track(catalogue: Catalogue, track: Track, lang: str = "zh") -> str:
    problems = catalogue.problems_of(track.id)
    lines = [t(lang, "track", heading=html.escape(track.heading), n=len(problems))]
    lines += [problem_line(p) for p in problems]
    return "\n".join(lines)


def render_problem(catalogue: Catalogue, problem: Problem, lang: str = "zh") -> str:
    track = catalogue.track(problem.track_id)
    return t(
        lang,
        "problem",
        id=problem.id,
        title=html.escape(problem.title),
        track=html.escape(track.heading if track else ""),
        description=html.escape(problem.description),
    )


def render_faq(entry: FaqEntry, lang: str = "zh") -> str:
    return t(
        lang,
        "faq",
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
            text = t(lang, "no_track", number=number, last=_ordinal(last.id, lang)) + "\n\n" + text
        return text
    if answer.intent == "track":
        track = catalogue.track(answer.ids[0])
        if track is None:
            return render_tracks(catalogue, lang)
        if note_kind == "no_problem":
            number = note_value.split("-")[-1]
            head = t(
                lang,
                "no_problem",
                track=html.escape(track_label(track, lang)),
                number=html.escape(number),
                n=len(catalogue.problems_of(track.id)),
            )
            return "\n".join([head] + [problem_line(p) for p in catalogue.problems_of(track.id)])
        return render_track(catalogue, track, lang)
    if answer.intent == "problem":
        problem = catalogue.problem(answer.ids[0])
        return (
            render_problem(catalogue, problem, lang) if problem else render_tracks(catalogue, lang)
        )
    if answer.intent == "search":
        problems = [p for pid in answer.ids if (p := catalogue.problem(pid))]
        key = "did_you_mean" if answer.note == "did_you_mean" else "theme"
        head = t(lang, key, n=len(problems))
        return "\n".join([head] + [f"• {problem_line(p)}" for p in problems])
    if answer.intent == "faq" and faq is not None:
        entry = faq.get(int(answer.ids[0].removeprefix("faq:")))
        if entry is not None:
            return render_faq(entry, lang)
    if answer.intent == "escalate":
        return t(lang, "escalate")
    return t(lang, "help")


def _ordinal(number: str, lang: str) -> str:
    if lang == "en" or not number.isdigit() or not 0 < int(number) < 10:
        return number
    return "零一二三四五六七八九"[int(number)]
