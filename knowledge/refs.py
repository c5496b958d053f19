"""References to tracks and problems by number or name: 赛道三赛题4, 第3赛道第4题, 3-4, T3P4 …"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace

from knowledge.catalogue import chinese_number
from knowledge.lexicon import GLOSSARY
from knowledge.normalize import pinyin_of
from knowledge.vocabulary import Vocabulary

_CN = "[零一二两三四五六七八九十壹贰叁肆伍陆柒捌玖拾]+"
# 赛道一览 is "the tracks at a glance", not track 1: words that start with 一.
_NOT_A_NUMBER = "(?!览|共|起|下|样|般|些|定|直|同|并)"
_EN_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
    "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9,
}  # fmt: skip

# IME slips of the two words every reference uses, recognised by their sound: 赛到 → 赛道.
_SOUND_FIXES = {("sai", "dao"): "赛道", ("sai", "ti"): "赛题"}


_TI_AFTER_NUMBER = re.compile(
    r"(?<=[\d一二三四五六七八九十两])[^\W\d题](?=\s*(?:[\d一二三四五六七八九十]|$|[的呢吗是讲啊]))"
)


def fix_homophones(text: str, name_sounds: dict[tuple[str, ...], str]) -> str:
    """Replace windows that sound like 赛道/赛题, or like a track name before 赛道 (医僚赛道 →
    医疗赛道; name_sounds from Vocabulary.name_sounds), with them."""
    # A number's problem typed by sound (二提三, 第4体): 题 between or after numbers.
    text = _TI_AFTER_NUMBER.sub(lambda m: "题" if pinyin_of(m[0])[0] == "ti" else m[0], text)
    if not any(ch in "赛塞腮鳃" for ch in text):
        return text
    pinyin = pinyin_of(text)
    chars = list(text)
    for i in range(len(chars) - 1):
        word = _SOUND_FIXES.get((pinyin[i], pinyin[i + 1]))
        if word and chars[i] in "赛塞腮鳃":
            chars[i : i + 2] = list(word)
    text = "".join(chars)
    pinyin = pinyin_of(text)
    for m in re.finditer("赛道", text):
        for size in (4, 3, 2):
            start = m.start() - size
            if start < 0:
                continue
            name = name_sounds.get(tuple(pinyin[start : m.start()]))
            if name is not None:
                text = text[:start] + name + text[m.start() :]
                break
    return text


def digits_for_numerals(text: str) -> str:
    """Write numbers next to 赛道/赛题/第/题/track/problem as digits; leave other words alone."""

    def arabic(numeral: str) -> str:
        value = chinese_number(numeral)
        return str(value) if value is not None else numeral

    text = re.sub(
        rf"(赛道|赛题|第)\s*({_CN}){_NOT_A_NUMBER}",
        lambda m: m.group(1) + arabic(m.group(2)),
        text,
    )
    text = re.sub(
        rf"{_CN}(?=\s*(?:号|个|条)?赛道|\s*(?:号|道)?题(?![目材]))", lambda m: arabic(m[0]), text
    )
    text = re.sub(
        rf"(题)\s*({_CN})(?![a-z0-9零一二两三四五六七八九十])",
        lambda m: m.group(1) + arabic(m.group(2)),
        text,
    )
    words = "|".join(_EN_NUMBERS)
    return re.sub(
        rf"\b(track|problem|question|task|challenge|topic|no\.?|number|#)\s*({words})\b",
        lambda m: f"{m.group(1)} {_EN_NUMBERS[m.group(2)]}",
        text,
    )


@dataclass(frozen=True)
class Reference:
    """What a question points at by number or name; numbers may not exist."""

    track: int | None = None
    problem: int | None = None  # -N means "the Nth from the end" (-1: the last)
    span: tuple[int, int] = (0, 0)  # where the reference stands in the searched text
    by_name: bool = False
    marked: bool = True  # a name followed by 赛道/方向…, or a number: surely a track
    weak: bool = False  # a short name among other words: only a hint where to look first


_P = r"(?:赛题|第|题|problem|question|task|challenge|p|no\.?|#)"
_PROBLEM_PATTERNS = [
    re.compile(r"(\d+)\s*号\s*赛道\s*\D{0,3}?(?:第|赛题)?\s*(\d+)\s*(?:号|道)?\s*(?:赛题|题)"),
    re.compile(r"赛道\s*(\d+)\s*\D{0,4}?(?:赛题|第|题)\s*(\d+)"),
    re.compile(r"赛道\s*(\d+)\s*\D{0,3}?(\d+)\s*号\s*(?:赛题|题)"),
    re.compile(r"第\s*(\d+)\s*[个条]?\s*赛道\s*\D{0,3}?(?:第|赛题)\s*(\d+)"),
    re.compile(rf"\btrack\s*(\d+)\s*\W{{0,3}}\s*{_P}\s*(\d+)"),
    re.compile(r"(?<![a-z])t\s*(\d+)\s*[-_.]?\s*p\s*(\d+)(?!\d)"),
    re.compile(r"(?<![\d.])(\d)\s*[-.－—_/]\s*(\d{1,2})(?![\d.%])"),
]
_PROBLEM_REVERSED = re.compile(
    r"\b(?:problem|question|task)\s*(\d+)\s*(?:of|in|from)\s*track\s*(\d+)"
)
_TRACK_PATTERNS = [
    re.compile(r"第\s*(\d+)\s*[个条]?\s*赛道"),
    re.compile(r"(?<![\d第])(\d+)\s*号?\s*赛道"),
    re.compile(r"赛道\s*(\d+)(?!\s*(?:号|道|个)\s*(?:赛题|题))"),
    re.compile(r"\btrack\s*#?\s*(\d+)"),
    re.compile(r"(?<![a-z])t(\d)(?!\d)"),
]
# After a track's name: its Nth problem, its first or its last.
# After a track's name: its Nth problem (第4题, 4号题, 赛题4; "4道题" counts them, it names
# none), its last, or its Nth from the end (倒数第2题).
_NTH_AFTER_NAME = re.compile(
    r"^\s*(?:的|那个|这个)?\s*(?:赛道|方向|领域|板块)?\s*\D{0,3}?(?:(?<!倒数)第\s*(\d+)\s*(?:道|个)?\s*(?:赛题|题)"
    r"|(\d+)\s*号\s*(?:赛题|题)|赛题\s*(\d+)|(?<!\d[道个])题\s*(\d+)"
    r"|(最后|末)(?:\s*(?:一|1)?\s*(?:道|个)?\s*(?:赛题|题)|\s*(?:一|1)\s*道)"
    r"|倒数\s*第\s*(\d+)\s*(?:道|个)?\s*(?:赛题|题)"
    # 四赛道2题 (not 2道题, a count), and a bare number after a name: 文旅1, 工业制造 3.
    r"|(?<![\d第])(\d+)\s*(?:赛题|题)(?![目材])|^\s*(\d{1,2})(?![\d个道条号项年月日%.a-z]))"
)
_LAST_CN = re.compile(r"(最后|末)\s*(?:一|1)?\s*(?:道|个)?\s*(?:赛题|题)")


_FIRST_LAST_OF = re.compile(
    r"\b(first|last)\s+(?:problem|question|task|one)\s+(?:of|in|from)\s+(?:the\s+)?track\s*(\d+)"
)


# 最后一个赛道: the last track (track -1).
_LAST_TRACK = re.compile(r"(?:最后|末)\s*(?:一|1)?\s*(?:个|条)\s*赛道|\blast\s+track\b")
# A reference someone sets aside (不是4-1，是4-2; 除了3-4): not what they ask about.
_SET_ASIDE = re.compile(r"(?:不是|除了|除去|不要|不看|\bnot|\bexcept)\s*$")


def _asked_problem(text: str) -> re.Match[str] | None:
    """Of several problem references, the one asked about: the last one not set aside
    (2-1看过了，2-2呢 → 2-2; 不是4-1，是4-2 → 4-2)."""
    found: list[re.Match[str]] = []
    for pattern in _PROBLEM_PATTERNS:
        for m in pattern.finditer(text):
            if not any(m.start() < f.end() and f.start() < m.end() for f in found):
                found.append(m)
    if not found:
        return None
    found.sort(key=lambda m: m.start())
    kept = [m for m in found if not _SET_ASIDE.search(text[max(0, m.start() - 4) : m.start()])]
    return (kept or found)[-1]


# A problem named by its number alone, after its track was named (赛道八第三题和第四题…第四题).
# Not a bare 4题: 一共有4题 is a count.
_BARE_PROBLEM = re.compile(r"第\s*(\d+)\s*(?:题|道|个)|(?<![\d\-.])(\d+)\s*号\s*题")


def names_bare_problem(text: str) -> bool:
    """Whether the text names a problem by its number alone (第二题), leaving its track to the
    words around it."""
    return _BARE_PROBLEM.search(text) is not None


def _later_problem(text: str, ref: Reference) -> Reference:
    """A track reference with a problem, and more problem numbers later in the message: the
    last one not set aside is the one asked about (商贸流通赛道第一题我看明白了，那第二题讲啥 →
    2-2; 金融赛道第二题哦不对第三题 → 4-3)."""
    if ref.problem is None or ref.problem < 0:
        return ref
    found = list(_BARE_PROBLEM.finditer(text, ref.span[0]))  # the reference's own one too
    kept = [m for m in found if not _SET_ASIDE.search(text[max(0, m.start() - 4) : m.start()])]
    if len(kept) < 2:
        return ref  # only the problem of the track reference itself
    return replace(ref, problem=int(kept[-1].group(1) or kept[-1].group(2)))


def find_reference(text: str) -> Reference | None:
    """The numeric reference a question asks about, in normalized text (digits converted)."""
    m = _PROBLEM_REVERSED.search(text)
    if m:
        return Reference(int(m.group(2)), int(m.group(1)), m.span())
    if m := _FIRST_LAST_OF.search(text):
        return Reference(int(m.group(2)), 1 if m.group(1) == "first" else -1, m.span())
    if m := _asked_problem(text):
        return _later_problem(text, Reference(int(m.group(1)), int(m.group(2)), m.span()))
    if m := _LAST_TRACK.search(text):
        return Reference(-1, _last_or_nth(text[m.end() :]), m.span())
    for pattern in _TRACK_PATTERNS:
        if m := pattern.search(text):
            track = int(m.group(1))
            rest = text[m.end() :]
            problem = _last_or_nth(rest)
            return _later_problem(text, Reference(track, problem, (m.start(), m.end())))
    return None


def _last_or_nth(rest: str) -> int | None:
    if m := re.match(
        r"^\s*(?:track|sector)?\s*\W{0,2}\s*(?:problem|question|task|no\.?|#)\s*(\d+)", rest
    ):
        return int(m.group(1))
    if m := _NTH_AFTER_NAME.match(rest):
        if m.group(5):
            return -1
        if m.group(6):
            return -int(m.group(6))
        return int(next(g for g in (*m.groups()[:4], *m.groups()[6:]) if g))
    if _LAST_CN.search(rest[:8]) or re.search(r"\blast\s+(?:problem|question|one)", rest):
        return -1
    if re.search(r"\bfirst\s+(?:problem|question|one)", rest):
        return 1
    return None


def find_track_name(text: str, vocabulary: Vocabulary, *, strict: bool) -> Reference | None:
    """A track named by its name or a short form. Short forms count only next to 赛道/方向…
    unless strict is False (the question is nothing but the name)."""
    best: Reference | None = None
    for track_id, aliases in vocabulary.track_aliases.items():
        for i, alias in enumerate(aliases):
            for m in _name_pattern(alias).finditer(text):
                after = text[m.end() :]
                marked = bool(
                    re.match(r"\s*(?:的|那个|这个)?\s*(?:赛道|方向|领域|板块|类|track)", after)
                )
                if i > 0 and strict and not marked:
                    continue
                ref = Reference(
                    int(track_id), _last_or_nth(after), m.span(), by_name=True, marked=marked
                )
                ref = _later_problem(text, ref)
                if best is None or _longer(ref, best):
                    best = ref
    # An English track word inside a longer catalogue phrase (smart tourism) is that phrase.
    phrases = [m.span() for m in _EN_PHRASES.finditer(text)]
    for track_id, aliases in vocabulary.track_aliases_en.items():
        for alias in aliases:
            for m in _english_word(alias).finditer(text):
                if any(a <= m.start() and m.end() <= b and b - a > len(alias) for a, b in phrases):
                    continue
                after = text[m.end() :]
                marked = bool(re.match(r"\s*(?:track|sector|category)", after))
                if strict and not marked:
                    continue
                problem = _last_or_nth(after)
                if problem is None and (
                    first_last := re.search(
                        r"\b(first|last)\s+(?:problem|question|task|one)\b", text[: m.start()]
                    )
                ):
                    problem = 1 if first_last.group(1) == "first" else -1
                ref = Reference(int(track_id), problem, m.span(), by_name=True, marked=marked)
                if best is None or _longer(ref, best):
                    best = ref
    return best


_EN_PHRASES = re.compile(
    "|".join(
        rf"\b{re.escape(k)}"
        for k in sorted(GLOSSARY, key=len, reverse=True)
        if k.isascii() and " " in k
    )
)


def _longer(a: Reference, b: Reference) -> bool:
    return (a.span[1] - a.span[0]) > (b.span[1] - b.span[0])


def mask_references(text: str, vocabulary: Vocabulary) -> str:
    """Normalized text with every reference replaced by a symbol: Ⓟ for a problem (3-4,
    赛道三赛题4), Ⓣ for a track by number or by name. What is left says what is asked."""
    for pattern in (_PROBLEM_REVERSED, _FIRST_LAST_OF, *_PROBLEM_PATTERNS):
        text = pattern.sub(" Ⓟ ", text)
    for pattern in _TRACK_PATTERNS:
        text = pattern.sub(" Ⓣ ", text)
    names = [a for aliases in vocabulary.track_aliases.values() for a in aliases if len(a) >= 2]
    names += [a for aliases in vocabulary.track_aliases_en.values() for a in aliases]
    for name in sorted(names, key=len, reverse=True):
        text = _name_pattern(name).sub(" Ⓣ ", text)
    return text


@functools.lru_cache(maxsize=4096)
def _name_pattern(name: str) -> re.Pattern[str]:
    """A track name as found in a question: a Latin short form as a whole word (jtys赛道), a
    Chinese one anywhere. Compiled once: every question looks for every name."""
    return re.compile(_ascii_word(name) if name.isascii() else re.escape(name))


@functools.lru_cache(maxsize=4096)
def _english_word(word: str) -> re.Pattern[str]:
    return re.compile(rf"\b{re.escape(word)}\b")


def _ascii_word(word: str) -> str:
    """A Latin word as a whole word, also next to Chinese characters (jtys赛道)."""
    return rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])"
