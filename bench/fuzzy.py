"""Fuzzy lookups measured: near-homophone typos of catalogue phrases, and FAQ word ranking.

`python -m bench.fuzzy` (or `python -m bench fuzzy`). Two parts, each method on the same inputs:

1. Sound-alike typos. Catalogue phrases of 3-6 characters with one or two characters replaced
   by characters of the same pinyin, of a pinyin the usual slips confuse (z/zh, n/l, in/ing…),
   or of a pinyin one other letter away; and control phrases that must not match (3-6 character
   pieces of other catalogues and their questions that share no word with this catalogue).
   Methods: the matcher's own lookup (exact sound, then `_near_sound`), and rapidfuzz
   Levenshtein over the pinyin of every catalogue phrase (`process.extractOne`, `cdist`).
2. FAQ word ranking (no embeddings) on 5,000 synthetic entries and the training FAQ sets: Dice
   over character pairs as faqmatch ranked before (a Python loop), the same Dice computed by
   rapidfuzz (Indel over sorted pair ids), and rapidfuzz's `fuzz.ratio` as a candidate stage
   in front of Dice.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from pathlib import Path

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from knowledge.catalogue import load_seed
from knowledge.faqmatch import bigrams, dice
from knowledge.matcher import Matcher, _fuzzy_syllable, _is_filler
from knowledge.normalize import char_pinyin, is_cjk, normalize, pinyin_of
from knowledge.wordrank import WordRanking

ROOT = Path(__file__).resolve().parent.parent
OTHER_TEXTS = [
    "tests/data/zhejiang/catalogue.txt",
    "tests/data/jiangsu/catalogue.txt",
    "training/sichuan.txt",
]
OTHER_QUESTIONS = ["training/sichuan/questions.jsonl"]
ALL_QUESTIONS = ["training/hubei/train_a.jsonl", "training/hubei/train_b.jsonl"]
TYPOS_PER_KIND = 300
CONTROLS = 1500
SLIPS = {
    "same": ["same"],
    "same2": ["same", "same"],
    "near": ["near"],
    "same+near": ["same", "near"],
    "near2": ["near", "near"],
    "other": ["other"],
}


# --- 1. sound-alike typos -------------------------------------------------------------------


def _characters() -> dict[str, list[str]]:
    """Characters people write (those of the catalogues and question sets), by pinyin."""
    seen: set[str] = set()
    for name in [*OTHER_TEXTS, *OTHER_QUESTIONS, *ALL_QUESTIONS]:
        seen.update(ch for ch in (ROOT / name).read_text(encoding="utf-8") if is_cjk(ch))
    by_sound: dict[str, list[str]] = {}
    for ch in sorted(seen):
        by_sound.setdefault(char_pinyin(ch), []).append(ch)
    return by_sound


def _typo(
    phrase: str, kind: str, by_sound: dict[str, list[str]], rng: random.Random
) -> str | None:
    """phrase with characters replaced: kind is same, same2, near, same+near, near2, other."""
    slips = SLIPS[kind]
    positions = rng.sample(range(len(phrase)), len(slips))
    chars = list(phrase)
    for k, slip in zip(positions, slips, strict=True):
        py = char_pinyin(phrase[k])
        if slip == "same":
            pool = [c for c in by_sound.get(py, []) if c != phrase[k]]
        elif slip == "near":
            pool = [
                c
                for s, cs in by_sound.items()
                if s != py and _fuzzy_syllable(s) == _fuzzy_syllable(py)
                for c in cs
            ]
        else:  # one letter of pinyin off, not a slip the fuzzy rules know (jia for jie)
            pool = [
                c
                for s, cs in by_sound.items()
                if Levenshtein.distance(s, py) == 1 and _fuzzy_syllable(s) != _fuzzy_syllable(py)
                for c in cs
            ]
        if not pool:
            return None
        chars[k] = rng.choice(pool)
    return "".join(chars)


class SoundLookups:
    """The ways a piece of a question can be taken for a catalogue phrase by its sound."""

    def __init__(self, matcher: Matcher) -> None:
        self.m = matcher
        self.by_length: dict[int, list[tuple[str, ...]]] = {}
        for sound in matcher._sounds:
            self.by_length.setdefault(len(sound), []).append(sound)
        self.joined = {n: [" ".join(s) for s in v] for n, v in self.by_length.items()}
        self.fuzzy = {
            n: [" ".join(_fuzzy_syllable(x) for x in s) for s in v]
            for n, v in self.by_length.items()
        }

    def own(self, piece: str) -> str | None:
        py = pinyin_of(piece)
        return self.m._sounds.get(tuple(py)) or self.m._near_sound(piece, py)

    def one_slip(self, piece: str) -> str | None:
        """The matcher's lookup before two slips: exact sound, or one character slipped."""
        return self._near(piece, lambda a, b: _fuzzy_syllable(a) == _fuzzy_syllable(b))

    def syllable_edit(self, piece: str) -> str | None:
        """The same, the syllable slipped checked by rapidfuzz: alike under the fuzzy rules or
        one letter off (Levenshtein)."""
        return self._near(
            piece,
            lambda a, b: (
                _fuzzy_syllable(a) == _fuzzy_syllable(b)
                or Levenshtein.distance(a, b, score_cutoff=1) <= 1
            ),
        )

    def _near(self, piece: str, alike: Callable[[str, str], bool]) -> str | None:
        py = pinyin_of(piece)
        found = self.m._sounds.get(tuple(py))
        if found or not all(py):
            return found
        for k in range(len(py)):
            for other in self.m._near_sounds.get((*py[:k], "", *py[k + 1 :]), ()):
                phrase = self.m._sounds[other]
                if (
                    phrase[:k] == piece[:k]
                    and phrase[k + 1 :] == piece[k + 1 :]
                    and alike(py[k], other[k])
                ):
                    return phrase
        return None

    def rapidfuzz(self, piece: str, cutoff: int, fuzzy: bool = False) -> str | None:
        """Nearest catalogue phrase of as many syllables by Levenshtein over the pinyin."""
        py = pinyin_of(piece)
        if not all(py):
            return None
        query = " ".join(_fuzzy_syllable(s) for s in py) if fuzzy else " ".join(py)
        choices = (self.fuzzy if fuzzy else self.joined).get(len(py), [])
        found = process.extractOne(
            query, choices, scorer=Levenshtein.distance, processor=None, score_cutoff=cutoff
        )
        return self.m._sounds[self.by_length[len(py)][found[2]]] if found else None


def _targets(m: Matcher, rng: random.Random) -> list[str]:
    phrases = sorted(
        p
        for p in set(m._sounds.values())
        if 3 <= len(p) <= 6 and p in m._vocab and not _is_filler(p)
    )
    return rng.sample(phrases, min(len(phrases), TYPOS_PER_KIND))


def _controls(m: Matcher, rng: random.Random) -> tuple[list[str], list[str]]:
    """Pieces of other catalogues and their questions with no catalogue word of this one, and
    pieces that are a catalogue phrase but for one character."""
    texts = [(ROOT / n).read_text(encoding="utf-8") for n in OTHER_TEXTS]
    for name in OTHER_QUESTIONS:
        lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
        texts += [json.loads(line)["q"] for line in lines if line.strip()]
    hard = _one_character_off(m, texts)
    pieces: set[str] = set()
    for text in texts:
        for run in re.findall(r"[\u4e00-\u9fff]{3,}", normalize(text)):
            for i in range(len(run)):
                for j in range(i + 3, min(len(run), i + 6) + 1):
                    piece = run[i:j]
                    if not any(
                        piece[a:b] in m._vocab
                        for a in range(len(piece))
                        for b in range(a + 2, len(piece) + 1)
                    ):
                        pieces.add(piece)
    return (
        rng.sample(sorted(pieces), min(len(pieces), CONTROLS)),
        rng.sample(sorted(hard), min(len(hard), CONTROLS)),
    )


def _one_character_off(m: Matcher, texts: list[str]) -> set[str]:
    """Pieces of other texts that are a catalogue phrase but for one character (数据库 for
    数据集), neither spelt nor sounding as a catalogue phrase: the hard controls."""
    holes: set[tuple[str, int]] = set()
    for phrase in m._sounds.values():
        if len(phrase) >= 3:
            holes.update((phrase[:k] + "_" + phrase[k + 1 :], k) for k in range(len(phrase)))
    found = set()
    for text in texts:
        for run in re.findall(r"[\u4e00-\u9fff]{3,}", normalize(text)):
            for i in range(len(run)):
                for j in range(i + 3, min(len(run), i + 6) + 1):
                    piece = run[i:j]
                    if piece in m._vocab or tuple(pinyin_of(piece)) in m._sounds:
                        continue
                    if any((piece[:k] + "_" + piece[k + 1 :], k) in holes for k in range(j - i)):
                        found.add(piece)
    return found


def _score(
    lookup: Callable[[str], str | None],
    typos: dict[str, list[tuple[str, str]]],
    controls: list[str],
    hard: list[str],
) -> tuple[dict[str, tuple[int, int, int]], int, int, float]:
    """Per kind (found, wrong phrase, total), false matches of the controls and of the hard
    ones, µs per lookup."""
    per_kind = {}
    start = time.perf_counter()
    n = 0
    for kind, pairs in typos.items():
        found = wrong = 0
        for typo, phrase in pairs:
            got = lookup(typo)
            n += 1
            if got is None:
                continue
            if pinyin_of(got) == pinyin_of(phrase):
                found += 1
            else:
                wrong += 1
        per_kind[kind] = (found, wrong, len(pairs))
    false = sum(1 for piece in controls if lookup(piece) is not None)
    false_hard = sum(1 for piece in hard if lookup(piece) is not None)
    n += len(controls) + len(hard)
    return per_kind, false, false_hard, (time.perf_counter() - start) / n * 1e6


def sound_typos() -> None:
    rng = random.Random(13)
    m = Matcher(load_seed(), intent_model=None, embedder=None)
    by_sound = _characters()
    lookups = SoundLookups(m)
    targets = _targets(m, rng)
    typos: dict[str, list[tuple[str, str]]] = {}
    for kind in SLIPS:
        pairs = []
        for phrase in targets:
            typo = _typo(phrase, kind, by_sound, rng)
            # A typo that spells a catalogue phrase is read by its spelling, not its sound.
            if typo and typo not in m._vocab:
                pairs.append((typo, phrase))
        typos[kind] = pairs
    controls, hard = _controls(m, rng)
    print(
        f"sound index: {len(m._sounds)} phrases; controls: {len(controls)} pieces with no "
        f"catalogue word, {len(hard)} one character off a catalogue phrase (hard)"
    )
    print("typo kinds: same/same2 = 1/2 characters of the same pinyin; near = 1 of a pinyin the")
    print("fuzzy rules confuse (z/zh, n/l, in/ing, h/f); same+near, near2 = two slips; other = 1")
    print("character one pinyin letter off that the fuzzy rules do not know (jia for jie)")
    methods: list[tuple[str, Callable[[str], str | None]]] = [
        ("own, one slip (before)", lookups.one_slip),
        ("own, two slips (now)", lookups.own),
        ("one slip, rapidfuzz syllable", lookups.syllable_edit),
        ("rapidfuzz pinyin Lev ≤ 1", lambda p: lookups.rapidfuzz(p, 1)),
        ("rapidfuzz pinyin Lev ≤ 2", lambda p: lookups.rapidfuzz(p, 2)),
        ("rapidfuzz fuzzy pinyin Lev = 0", lambda p: lookups.rapidfuzz(p, 0, fuzzy=True)),
        ("rapidfuzz fuzzy pinyin Lev ≤ 1", lambda p: lookups.rapidfuzz(p, 1, fuzzy=True)),
    ]
    kinds = list(typos)
    print(f"{'method':<32}" + "".join(f"{k:>11}" for k in kinds) + "  false  hard  µs/lookup")
    for label, lookup in methods:
        per_kind, false, false_hard, micros = _score(lookup, typos, controls, hard)
        cells = "".join(f"{f:>5}/{t:<3}w{w:<2}" for f, w, t in per_kind.values())
        print(f"{label:<32}{cells}  {false:>5}{false_hard:>6} {micros:>9.1f}")
    print("(cells: found/total and w = a wrong phrase given)")
    # cdist: all the pieces of one question at once (what _segment would ask), per piece.
    try:
        import numpy as np  # noqa: F401  (cdist needs numpy)
    except ImportError:
        return
    pieces = [t for pairs in typos.values() for t, _ in pairs] + controls + hard
    by_len: dict[int, list[str]] = {}
    for p in pieces:
        by_len.setdefault(len(p), []).append(" ".join(pinyin_of(p)))
    start = time.perf_counter()
    for n, queries in by_len.items():
        process.cdist(
            queries, lookups.joined[n], scorer=Levenshtein.distance, processor=None,
            score_cutoff=1, workers=1,
        )  # fmt: skip
    micros = (time.perf_counter() - start) / len(pieces) * 1e6
    print(f"{'rapidfuzz cdist Lev ≤ 1, batched':<32} {micros:.1f} µs/lookup (no answers kept)")


# --- 2. FAQ word ranking --------------------------------------------------------------------


class DiceLoop:
    """faqmatch's word ranking before this change: Dice over character pairs, a Python loop."""

    def __init__(self, questions: list[str]) -> None:
        self.grams = [bigrams(q) for q in questions]

    def rank(self, question: str, k: int) -> list[tuple[int, float]]:
        grams = bigrams(question)
        scored = [(i, dice(grams, g)) for i, g in enumerate(self.grams)]
        scored.sort(key=lambda pair: -pair[1])
        return scored[:k]


class RatioThenDice(DiceLoop):
    """rapidfuzz fuzz.ratio over the normalized questions picks `width` candidates; Dice ranks
    them."""

    def __init__(self, questions: list[str], width: int) -> None:
        super().__init__(questions)
        self.texts = [re.sub(r"\s+", "", normalize(q)) for q in questions]
        self.width = width

    def rank(self, question: str, k: int) -> list[tuple[int, float]]:
        grams = bigrams(question)
        text = re.sub(r"\s+", "", normalize(question))
        picked = process.extract(
            text, self.texts, scorer=fuzz.ratio, processor=None, limit=self.width
        )
        scored = sorted(((i, dice(grams, self.grams[i])) for _, _, i in picked), key=_order)
        return scored[:k]


def _order(pair: tuple[int, float]) -> tuple[float, int]:
    return (-pair[1], pair[0])


class IndelDice(DiceLoop):
    """faqmatch's word ranking now: the same Dice, computed by rapidfuzz (knowledge/wordrank)."""

    def __init__(self, questions: list[str]) -> None:
        super().__init__(questions)
        self.ranking = WordRanking(self.grams)

    def rank(self, question: str, k: int) -> list[tuple[int, float]]:
        grams = bigrams(question)
        return [(i, dice(grams, self.grams[i])) for i in self.ranking.top(grams, k)]


RANKERS: dict[str, Callable[[list[str]], DiceLoop]] = {
    "Dice, Python loop (before)": DiceLoop,
    "Dice by rapidfuzz Indel (now)": IndelDice,
    "fuzz.ratio top 50 → Dice": lambda qs: RatioThenDice(qs, 50),
    "fuzz.ratio top 200 → Dice": lambda qs: RatioThenDice(qs, 200),
}


def faq_ranking() -> None:
    from bench.matcher import synthetic_faq

    questions = [e.question for e in synthetic_faq(5000)]
    rng = random.Random(5)
    asks = [
        re.sub(r"#\d+$", "", rng.choice(questions)) + rng.choice(["", "吗", "呀"])
        for _ in range(200)
    ]
    # And the real FAQ questions (a sample), asked against every training entry among the
    # 5,000 synthetic ones, so a candidate stage has to find them.
    real_entries: list[str] = []
    real_questions: list[str] = []
    for path in sorted((ROOT / "training/faq").glob("*_entries.jsonl")):
        real_entries += [json.loads(x)["q"] for x in path.read_text().splitlines() if x]
        qpath = path.with_name(path.name.replace("_entries", "_questions"))
        real_questions += [json.loads(x)["q"] for x in qpath.read_text().splitlines() if x]
    real_questions = rng.sample(real_questions, 400)
    pooled = real_entries + questions
    print(
        f"{'ranking (5,000 entries)':<32}{'build ms':>9}{'ms/question':>12}  top-5 as before: "
        f"synthetic; {len(real_questions)} training FAQ questions, {len(pooled)} entries"
    )
    reference: list[list[tuple[int, float]]] = []
    reference_real: list[list[tuple[int, float]]] = []
    for label, build_ranker in RANKERS.items():
        start = time.perf_counter()
        ranker = build_ranker(questions)
        build = (time.perf_counter() - start) * 1000
        start = time.perf_counter()
        got = [ranker.rank(q, 6) for q in asks]
        per = (time.perf_counter() - start) / len(asks) * 1000
        pooled_ranker = build_ranker(pooled)
        got_real = [pooled_ranker.rank(q, 6) for q in real_questions]
        if not reference:
            reference, reference_real = got, got_real
        same = sum(_ids(a) == _ids(b) for a, b in zip(got, reference, strict=True))
        same_real = sum(_ids(a) == _ids(b) for a, b in zip(got_real, reference_real, strict=True))
        top_real = sum(a[:1] == b[:1] for a, b in zip(got_real, reference_real, strict=True))
        print(
            f"{label:<32}{build:>9.0f}{per:>12.2f}  {same}/{len(asks)}; {same_real}/"
            f"{len(real_questions)} (first: {top_real})"
        )


def _ids(ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
    return [(i, round(s, 9)) for i, s in ranked[:5]]


def main() -> None:
    print("-- sound-alike typos of catalogue phrases")
    sound_typos()
    print()
    print("-- FAQ word ranking")
    faq_ranking()


if __name__ == "__main__":
    main()
