"""Replies in Telegram HTML: valid markup, escaped user text, both languages, within limits."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from bot.telegram_text import (
    MAX_TEXT_LENGTH,
    EntityParseError,
    parse_html,
    to_plain,
    visible_length,
)
from knowledge.catalogue import Catalogue, load_seed, parse_catalogue
from knowledge.matcher import Answer
from knowledge.render import lang_of, render_answer, render_help, render_problem, render_tracks
from knowledge.store import FaqEntry

JIANGSU = Path(__file__).resolve().parent / "data" / "jiangsu" / "catalogue.txt"
STAMP = "2024-05-01T08:00:00+00:00"
FAQ = {
    1: FaqEntry(
        1, "作品可以用英文写吗？", "可以，但需附中文摘要。", STAMP, "2024-05-03T09:00:00+00:00"
    ),
    2: FaqEntry(
        2,
        "能用 <b>加粗</b> & 链接吗？",
        '不能：<script>alert("x")</script> & <a href="http://evil">点我</a>',
        STAMP,
        STAMP,
    ),
}

# One answer of every intent (and every note the renderer distinguishes).
ANSWERS = {
    "tracks": Answer("有哪些赛道", "tracks", score=1.0),
    "no_track": Answer("赛道九", "tracks", score=1.0, note="no_track:9"),
    "track": Answer("赛道三", "track", ("3",), 1.0),
    "no_problem": Answer("3-9", "track", ("3",), 1.0, note="no_problem:3-9"),
    "problem": Answer("3-4", "problem", ("3-4",), 1.0),
    "theme": Answer("提到信用的题", "search", ("4-1", "4-2", "4-4"), 0.8, note="theme"),
    "did_you_mean": Answer("健康", "search", ("6-1", "6-2"), 0.8, note="did_you_mean"),
    "help": Answer("哈喽呀", "help", score=1.0),
    "escalate": Answer("奖金多少", "escalate", note="topic:prize"),
    "faq": Answer("作品能用英文写吗", "faq", ("faq:1",), 0.9),
    "faq_escaped": Answer("能加粗吗", "faq", ("faq:2",), 0.9),
}


def telegram_html_errors(text: str) -> list[str]:
    """Why Telegram would refuse this reply (its own parser), and where the renderer broke its
    own rules: only <b>, <i>, <code> and <a href>, and every other "<", ">" and "&" escaped
    (Telegram takes a bare "&" or ">", but only unescaped user text produces one)."""
    errors: list[str] = []
    try:
        parse_html(text)
    except EntityParseError as exc:
        errors.append(str(exc))
    outside_tags = re.sub(r"</?(?:b|i|code)>|<a href=\"[^\"<>]*\">|</a>", "", text)
    if re.search(r"[<>]", outside_tags):
        errors.append("bare < or >")
    if re.search(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", outside_tags):
        errors.append("bare &")
    return errors


def test_telegram_html_errors_catches_bad_markup() -> None:
    assert telegram_html_errors("<b>ok</b> <i>fine</i> &lt;&amp;") == []
    assert telegram_html_errors("<b>open") == ["Can't find end tag corresponding to start tag b"]
    assert telegram_html_errors("<script></script>")[0].startswith(
        'Unsupported start tag "script"'
    )
    assert telegram_html_errors("<strong>x</strong>") == ["bare < or >"]  # valid, not ours
    assert telegram_html_errors("<a>x</a>") == ["bare < or >"]  # a link without href
    assert "bare &" in telegram_html_errors("a & b")
    assert "bare < or >" in telegram_html_errors("1 < 2")
    assert telegram_html_errors("<b>x</i>")[0].startswith("Unmatched end tag")


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("kind", ANSWERS)
def test_render_answer_is_valid_telegram_html(catalogue: Catalogue, kind: str, lang: str) -> None:
    text = render_answer(ANSWERS[kind], catalogue, FAQ, lang)
    assert text.strip()
    assert telegram_html_errors(text) == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_render_every_problem_is_valid_and_short(catalogue: Catalogue, lang: str) -> None:
    for problem in catalogue.problems:
        text = render_answer(
            Answer(problem.id, "problem", (problem.id,), 1.0), catalogue, FAQ, lang
        )
        assert telegram_html_errors(text) == [], problem.id
        assert problem.description in to_plain(text)


def test_render_longest_problem_under_telegram_limit(catalogue: Catalogue) -> None:
    longest = max(catalogue.problems, key=lambda p: len(p.title) + len(p.description))
    for lang in ("zh", "en"):
        text = render_problem(catalogue, longest, lang)
        assert len(text) < MAX_TEXT_LENGTH
        assert visible_length(text) < MAX_TEXT_LENGTH  # Telegram counts UTF-16 units


def test_render_every_track_and_the_list_under_telegram_limit(catalogue: Catalogue) -> None:
    for track in catalogue.tracks:
        text = render_answer(Answer(track.id, "track", (track.id,), 1.0), catalogue, FAQ)
        assert len(text) < MAX_TEXT_LENGTH
    every = Answer("all", "search", tuple(p.id for p in catalogue.problems), 0.5, note="theme")
    assert len(render_answer(every, catalogue, FAQ)) < MAX_TEXT_LENGTH
    assert len(render_tracks(catalogue)) < MAX_TEXT_LENGTH


def test_render_faq_escapes_user_text(catalogue: Catalogue) -> None:
    text = render_answer(ANSWERS["faq_escaped"], catalogue, FAQ)
    assert "<script>" not in text
    assert "&lt;script&gt;" in text
    assert "&amp;" in text
    assert "<a href" not in text
    assert "&lt;b&gt;加粗&lt;/b&gt;" in text
    plain = to_plain(text)
    assert FAQ[2].answer in plain
    assert FAQ[2].question in plain


def test_render_faq_shows_date_question_and_answer(catalogue: Catalogue) -> None:
    text = render_answer(ANSWERS["faq"], catalogue, FAQ)
    assert "2024-05-03" in text  # when it was last edited
    assert "作品可以用英文写吗？" in text
    assert "可以，但需附中文摘要。" in text


def test_render_escapes_catalogue_text() -> None:
    tricky = parse_catalogue(
        "赛道一：数据要素×A&B<制造>\n赛题1：标题<i>斜</i> & 粗\n描述 a<b 且 c>d & e。\n"
    )
    answers = [
        Answer("q", "tracks"),
        Answer("q", "track", ("1",)),
        Answer("q", "track", ("1",), note="no_problem:1-2"),
        Answer("q", "problem", ("1-1",)),
        Answer("q", "search", ("1-1",), note="theme"),
    ]
    for answer in answers:
        for lang in ("zh", "en"):
            text = render_answer(answer, tricky, {}, lang)
            assert telegram_html_errors(text) == [], (answer, lang)
    problem_text = to_plain(render_answer(answers[3], tricky, {}))
    assert "标题<i>斜</i> & 粗" in problem_text
    assert "描述 a<b 且 c>d & e。" in problem_text


# --- languages ----------------------------------------------------------------------------------

ENGLISH = {
    "tracks": "The contest has 8 tracks:",
    "no_track": "There is no track 9: tracks run from 1 to 8.",
    "track": "5 problems:",
    "no_problem": "Track 3 · 交通运输 has no problem 9; it has 5 problems:",
    "problem": "<b>Problem 3-4: 自动驾驶创新发展</b>",
    "theme": "3 problems fit:",
    "did_you_mean": "Did you mean one of these problems?",
    "help": "I answer questions about 2024年“数据要素×”大赛湖北分赛.",
    "escalate": "About prizes: the catalogue does not answer this",
    "faq": "<b>Organizers' answer</b> (2024-05-03)",
}
CHINESE = {
    "tracks": "本次大赛共 8 个赛道：",
    "no_track": "没有赛道九，本次大赛只有赛道一至赛道八。",
    "track": "共 5 道赛题：",
    "no_problem": "赛道三 · 交通运输没有第 9 题，它共有 5 道赛题：",
    "problem": "<b>赛题 3-4：自动驾驶创新发展</b>",
    "theme": "找到 3 道相关赛题：",
    "did_you_mean": "你是想问下面哪道赛题？",
    "help": "我是2024年“数据要素×”大赛湖北分赛的答疑助手",
    "escalate": "关于奖项和奖金：赛题目录里没有答案",
    "faq": "<b>组委会答复</b>（2024-05-03）",
}


@pytest.mark.parametrize("kind", ENGLISH)
def test_render_answer_english(catalogue: Catalogue, kind: str) -> None:
    text = render_answer(ANSWERS[kind], catalogue, FAQ, "en")
    assert ENGLISH[kind] in text
    assert CHINESE[kind] not in text


@pytest.mark.parametrize("kind", CHINESE)
def test_render_answer_chinese_by_default(catalogue: Catalogue, kind: str) -> None:
    text = render_answer(ANSWERS[kind], catalogue, FAQ)
    assert CHINESE[kind] in text
    assert ENGLISH[kind] not in text


def test_render_search_lists_every_id_in_order(catalogue: Catalogue) -> None:
    lines = render_answer(ANSWERS["theme"], catalogue, FAQ).splitlines()
    assert lines[1:] == [
        "• 4-1 数据赋能中小微企业融资服务",
        "• 4-2 提升专项领域金融服务能力",
        "• 4-4 通用类赛题",
    ]


def test_render_unknown_problem_falls_back_in_the_users_language(catalogue: Catalogue) -> None:
    text = render_answer(Answer("9-9", "problem", ("9-9",)), catalogue, FAQ, "en")
    assert text.startswith("The contest has 8 tracks:")


@pytest.mark.parametrize(
    ("code", "lang"),
    [
        ("en", "en"),
        ("en-US", "en"),
        ("EN-gb", "en"),
        ("zh-hans", "zh"),
        ("ru", "zh"),
        (None, "zh"),
    ],
)
def test_lang_of(code: str | None, lang: str) -> None:
    assert lang_of(code) == lang


# --- plain text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html_text", "plain"),
    [
        ("<b>赛题 3-4：标题</b>\n<i>赛道三</i>", "赛题 3-4：标题\n赛道三"),
        ("&lt;script&gt; &amp; &quot;x&quot;", '<script> & "x"'),
        ('<a href="https://example.org">链接</a>', "链接"),
        ("<code>3-4</code>", "3-4"),
        ("没有标签", "没有标签"),
    ],
)
def test_to_plain_strips_tags_and_unescapes(html_text: str, plain: str) -> None:
    assert to_plain(html_text) == plain


@pytest.mark.parametrize("kind", ANSWERS)
def test_to_plain_of_every_reply_has_no_markup(catalogue: Catalogue, kind: str) -> None:
    plain = to_plain(render_answer(ANSWERS[kind], catalogue, FAQ))
    assert not re.search(r"</?(?:b|i|a|code)\b", plain) or kind == "faq_escaped"
    assert "&lt;" not in plain and "&amp;" not in plain


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_render_help_counts_the_problems_of_the_catalogue_it_is_given(
    catalogue: Catalogue, lang: str
) -> None:
    jiangsu = load_seed(JIANGSU)
    assert (len(catalogue.problems), len(jiangsu.problems)) == (35, 30)
    counted = "全部 {} 道赛题" if lang == "zh" else "all {} problems"
    assert counted.format(35) in render_help(catalogue, lang)
    assert counted.format(30) in render_help(jiangsu, lang)
    assert "35" not in render_help(jiangsu, lang)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_render_help_names_the_contest_and_examples_of_the_catalogue_it_is_given(
    catalogue: Catalogue, lang: str
) -> None:
    jiangsu = load_seed(JIANGSU)
    hubei_help, jiangsu_help = render_help(catalogue, lang), render_help(jiangsu, lang)
    assert "2024年“数据要素×”大赛湖北分赛" in hubei_help
    assert "2025年“数据要素×”大赛江苏分赛" in jiangsu_help
    assert "湖北" not in jiangsu_help and "乡村振兴" not in jiangsu_help
    # Examples name a problem that exists: problem 4 of track 3 in both.
    assert "<i>3-4</i>" in hubei_help and "<i>3-4</i>" in jiangsu_help
    small = Catalogue("小赛赛题", "", catalogue.tracks[:1], catalogue.problems_of("1")[:2])
    assert "<i>1-2</i>" in render_help(small, lang)
    assert telegram_html_errors(jiangsu_help) == []


def test_render_help_escapes_the_contest_name_and_has_a_fallback(catalogue: Catalogue) -> None:
    odd = replace(catalogue, title="<b>A&B</b> 大赛赛题")
    assert "我是&lt;b&gt;A&amp;B&lt;/b&gt; 大赛的答疑助手" in render_help(odd)
    assert telegram_html_errors(render_help(odd)) == []
    untitled = replace(catalogue, title="附件2")
    assert "我是本次大赛的答疑助手" in render_help(untitled)
    assert "I answer questions about this contest." in render_help(untitled, "en")
