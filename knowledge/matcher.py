"""From a free question to a ranked, scored answer: intent, ids and confidence."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from knowledge.catalogue import Catalogue, Problem
from knowledge.embed import Embedder, load_embedder
from knowledge.faqmatch import FaqIndex
from knowledge.intent import IntentModel, Signals, features
from knowledge.lexicon import (
    DATA_ACCESS_PATTERN,
    ESCALATE_CUES,
    ESCALATE_CUES_EN,
    FILLER,
    GLOSSARY,
    HELP_CUES,
    HELP_CUES_EN,
    HELP_FIRST_PATTERN,
    HELP_PATTERN,
    LIST_WORDS,
    SEARCH_CUES,
    SEARCH_CUES_EN,
    TRACK_WORDS,
    TRACKS_CUES_EN,
    TRACKS_PATTERN,
)
from knowledge.normalize import is_cjk, normalize, pinyin_of
from knowledge.refs import (
    Reference,
    digits_for_numerals,
    find_reference,
    find_track_name,
    fix_homophones,
    mask_references,
    names_bare_problem,
)
from knowledge.store import FaqEntry
from knowledge.vocabulary import Vocabulary, derive

INTENTS = ("tracks", "track", "problem", "search", "help", "escalate", "faq")

MAX_TERM = 12  # longest catalogue phrase looked up as one term
MIN_QUERY_COVERAGE = 0.5  # share of a question's content the catalogue must explain
_EDGE_WORDS = "的了和与及等在是为"
_QUOTED = re.compile(r"[“\"「『‘']([^”\"」』’']{1,12})[”\"」』’']")
_COMPETITION_NAME = re.compile(r"数据要素\s*[×xX*✕✖乘]")


_PINYIN_WORDS = re.compile(r"(?<![a-z])sai\s?(dao|ti)(?![a-z])")  # sai dao typed for 赛道
_SHIPPED = object()  # the intent model shipped in knowledge/data
_FINAL_NOTES = ("empty", "quoted", "how_to_ask", "no_problem", "no_track", "command")
SPECIFIC_SHARE = 0.3  # a phrase in at most this share of problems is content, not a question word


@dataclass(frozen=True)
class _Candidates:
    problem: str | None
    track: str | None
    theme: tuple[str, ...]
    terms: tuple[str, ...]


@dataclass(frozen=True)
class Answer:
    """What the bot makes of a question."""

    query: str
    intent: str
    ids: tuple[str, ...] = ()
    score: float = 0.0
    note: str = ""  # why: "no_track:9", "no_problem:3-9", "did_you_mean", "topic:prize" …
    terms: tuple[str, ...] = field(default=(), compare=False)
    # What an escalated question names (a problem or a track id), so the reply can say so.
    about: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class _Term:
    text: str  # the catalogue's spelling
    weight: float
    docs: frozenset[str]


class Matcher:
    """An index over the catalogue (and FAQ entries), built once, queried many times."""

    def __init__(
        self,
        catalogue: Catalogue,
        faq: Iterable[FaqEntry] = (),
        vocabulary: Vocabulary | None = None,
        intent_model: IntentModel | object | None = _SHIPPED,
        embedder: Embedder | object | None = _SHIPPED,
    ) -> None:
        self.catalogue = catalogue
        self.vocabulary = vocabulary or derive(catalogue)
        self._name_sounds = self.vocabulary.name_sounds
        self._glossary = {**GLOSSARY, **self.vocabulary.glossary}
        self.intent_model: IntentModel | None = (
            IntentModel.load()
            if intent_model is _SHIPPED
            else cast(IntentModel | None, intent_model)
        )
        self._embedder: Embedder | None = (
            load_embedder() if embedder is _SHIPPED else cast(Embedder | None, embedder)
        )
        self.problems = {p.id: p for p in catalogue.problems}
        self.track_ids = [t.id for t in catalogue.tracks]
        self._build_catalogue_index(catalogue.problems)
        self._related: dict[str, list[str]] = {}
        self._partial: dict[str, dict[str, float]] = {}
        self.set_faq(faq)

    # --- index ------------------------------------------------------------------------------

    def _build_catalogue_index(self, problems: Iterable[Problem]) -> None:
        docs: dict[str, str] = {}
        titles: dict[str, str] = {}
        vocab: dict[str, set[str]] = defaultdict(set)
        for p in problems:
            # Indexed as questions are read: normalized, punctuation dropped between characters.
            titles[p.id] = _squash(normalize(p.title))
            docs[p.id] = titles[p.id] + " " + _squash(normalize(p.description))
            for clause in (normalize(p.title) + " " + normalize(p.description)).split():
                for i in range(len(clause)):
                    for j in range(i + 2, min(len(clause), i + MAX_TERM) + 1):
                        if _whole_numbers(clause, i, j):
                            vocab[clause[i:j]].add(p.id)
            # Across punctuation only longer phrases, so 货、箱、车、船 is found as 货箱车船
            # without inventing two-character words out of neighbouring clauses.
            for run in docs[p.id].split():
                for i in range(len(run)):
                    for j in range(i + 4, min(len(run), i + MAX_TERM) + 1):
                        if _whole_numbers(run, i, j):
                            vocab[run[i:j]].add(p.id)
        self._docs = docs
        self._titles = titles
        self._vocab = {k: frozenset(v) for k, v in vocab.items()}
        # Sound index: the pinyin of every Chinese catalogue phrase of 2..6 characters, so a
        # homophone typo (自东驾驶) still finds its phrase (自动驾驶).
        sounds: dict[tuple[str, ...], str] = {}
        for doc in docs.values():
            for run in doc.split():
                py = pinyin_of(run)
                for i in range(len(run)):
                    for j in range(i + 2, min(len(run), i + 6) + 1):
                        piece = run[i:j]
                        if all(is_cjk(ch) for ch in piece):
                            sounds.setdefault(tuple(py[i:j]), piece)
        self._sounds = sounds
        # Near sounds: phrases of three characters or more by their pinyin with one syllable
        # left out, so a slip in one syllable (供因链 gong-yin-lian for 供应链 gong-ying-lian)
        # finds its phrase; _near_sound() checks that the syllable left out is a usual slip.
        near: dict[tuple[str, ...], list[tuple[str, ...]]] = defaultdict(list)
        for sound in sounds:
            if len(sound) >= 3:
                for k in range(len(sound)):
                    near[(*sound[:k], "", *sound[k + 1 :])].append(sound)
        self._near_sounds = dict(near)
        # And by their pinyin as the usual slips blur it (zi/zhi, lian/nian, yin/ying), so two
        # slips, or a slip beside a homophone (供因连 for 供应链), still find the phrase.
        blurred: dict[tuple[str, ...], str] = {}
        for sound, phrase in sounds.items():
            if len(sound) >= 3:
                blurred.setdefault(tuple(map(_fuzzy_syllable, sound)), phrase)
        self._blurred_sounds = blurred
        n = len(docs)
        self._n = n
        # Meta-question cues that the catalogue itself uses (消费 has 费, 反洗钱 has 钱) would
        # make content look like a question for the organizers: they are content, not cues.
        corpus = " ".join(docs.values())
        self._glossary_en = {
            k: v
            for k, v in sorted(self._glossary.items(), key=lambda kv: -len(kv[0]))
            if k.isascii() and v in vocab
        }
        english = [
            *self._glossary_en,
            *(a for v in self.vocabulary.track_aliases_en.values() for a in v),
        ]
        self._english_words = sorted({w for k in english for w in re.findall(r"[a-z]{4,}", k)})
        self._english_known = frozenset(self._english_words) | _ENGLISH_KNOWN
        self._glossary_en_re = re.compile(
            "|".join(rf"\b{re.escape(k)}\w*" for k in self._glossary_en)
        )
        self._glossary_zh = {
            k: v
            for k, v in self._glossary.items()
            if not k.isascii() and k not in vocab and v in vocab
        }
        self._escalate_cues = {
            topic: tuple(c for c in cues if c not in corpus)
            for topic, cues in ESCALATE_CUES.items()
        }
        self._cue_topic = {c: topic for topic, cues in self._escalate_cues.items() for c in cues}
        self._cue_re = re.compile(f"(?=({_alternation(self._cue_topic).pattern}))")

    def set_faq(
        self, entries: Iterable[FaqEntry], vectors: Mapping[str, Any] | None = None
    ) -> None:
        """Replace the FAQ index (organizers added, edited or deleted an entry); vectors are
        the stored embeddings of the entries' questions and answers, by text, so only new
        texts are embedded."""
        faq = {e.id: e for e in entries}
        items = ((e.id, e.question, e.answer) for e in faq.values())
        index = FaqIndex(items, self._embedder, vectors)
        # Both swapped together: a worker thread ranking a question sees one or the other.
        self._faq, self.faq_index = faq, index

    # --- matching ---------------------------------------------------------------------------

    def _norm(self, q: str) -> str:
        # "数据要素×金融服务" is the competition's name for a track, not content.
        norm = normalize(_COMPETITION_NAME.sub(" ", _without_list_numbers(q)))
        norm = _PINYIN_WORDS.sub(lambda m: "赛道" if m[1] == "dao" else "赛题", norm)
        if _LONG_ENGLISH_WORD.search(norm):
            norm = _LONG_ENGLISH_WORD.sub(lambda m: self._english_spelling(m[0]), norm)
        return digits_for_numerals(fix_homophones(norm, self._name_sounds))

    def _english_spelling(self, word: str) -> str:
        """A misspelt catalogue word in English (autonomus, suply, meterology) spelt right:
        the nearest word of the glossary one or two edits away, same first letter; a word
        the bot knows is left as it is."""
        if word in self._english_known:
            return word
        limit = 1 if len(word) < 8 else 2
        found = process.extractOne(
            word, self._english_words, scorer=Levenshtein.distance, score_cutoff=limit
        )
        return found[0] if found is not None and found[0][0] == word[0] else word

    def match(self, text: str) -> Answer:
        """Read a question and decide what answers it: the rules find references, phrases and
        candidates; the intent model, where there is one, decides what is asked."""
        # Normalized once (surrounding spaces change nothing), and again only where a clause
        # leaves the question.
        text = text.strip()
        excluded, text, norm = self._exclusions(text, self._norm(text))
        passed, text, norm = self._set_aside(text, norm)
        answer = self._read(self.match_by_rules(text, norm), norm)
        if (excluded or passed) and answer.intent == "search":
            kept = tuple(
                i
                for i in answer.ids
                if self.problems[i].track_id not in excluded and i not in passed
            )
            if len(kept) > 1:
                answer = replace(answer, ids=kept)
            elif kept:
                answer = replace(answer, intent="problem", ids=kept)
        if answer.intent == "escalate" and self._faq:
            # Only the organizers can answer it: perhaps they already have.
            answer = self._match_faq(answer.query) or answer
        if answer.intent == "escalate":
            return self._understood(answer, norm)
        return answer

    def read_first(self, text: str) -> str:
        """The question as the rules and the model read it: without the tracks it leaves out
        and the clauses that set something aside (what training reads too)."""
        text = text.strip()
        _, text, norm = self._exclusions(text, self._norm(text))
        return self._set_aside(text, norm)[1]

    def _exclusions(self, text: str, norm: str) -> tuple[frozenset[str], str, str]:
        """Tracks a question leaves out (除了医疗赛道…, 不算交通的, except finance), and the
        question without those words with its _norm; a question that leaves out nothing is
        returned as it is. text: stripped; norm: its _norm."""
        excluded: set[str] = set()
        for m in _EXCLUDING.finditer(norm):
            span = norm[m.end() : m.end() + 16]
            # A clause ends at punctuation, which normalize() turns into a space between words.
            span = re.split(
                r"[，,。；;？?！!]|(?<=[^\x00-\x7f])\s+(?=[^\x00-\x7f])", span.strip()
            )[0]
            ref = find_reference(span) or find_track_name(span, self.vocabulary, strict=False)
            if ref is None or ref.problem is not None:
                continue
            track = self._track_of(ref)
            if track in self.track_ids:
                excluded.add(track)
                cut = m.end() + ref.span[1]
                rest = re.match(
                    r"\s*(?:的|那个|这个)?\s*(?:赛道|方向|领域|板块|track)?(?:以外|之外)?",
                    norm[cut:],
                )
                norm = norm[: m.start()] + " " + norm[cut + (rest.end() if rest else 0) :]
        if not excluded:
            return frozenset(), text, norm
        left = norm.strip()
        return frozenset(excluded), left, self._norm(left)

    def _set_aside(self, text: str, norm: str) -> tuple[frozenset[str], str, str]:
        """Problems a question sets aside (3-4我看过了，… ; 金融赛道先放一边，…), and the question
        without the clauses that set them aside — when something is left to ask — with its
        _norm. text: stripped; norm: its _norm."""
        pieces = [m.span() for m in _SET_ASIDE_CLAUSE.finditer(norm)]
        if not pieces:
            return frozenset(), text, norm
        starts = [0] + [end for _, end in pieces]
        ends = [start for start, _ in pieces] + [len(norm)]
        rest = "".join(norm[start:end] for start, end in zip(starts, ends, strict=True))
        if len(_squash(rest)) < 2:
            return frozenset(), text, norm
        passed = set()
        for start, end in pieces:
            clause = norm[start:end]
            ref = find_reference(clause) or find_track_name(clause, self.vocabulary, strict=False)
            if ref is not None and names_bare_problem(rest) and find_reference(rest) is None:
                # 商贸流通赛道第一题我看明白了，那第二题讲啥: the second problem of that track.
                return frozenset(), text, norm
            if ref is not None:
                if ref.problem is not None and ref.problem > 0:
                    passed.add(f"{self._track_of(ref)}-{ref.problem}")
                continue
            for pid, score in self._rank(self._content_terms(clause), self.problems)[:1]:
                if score >= 0.6:
                    passed.add(pid)
        left = rest.strip(" ，,。；;").strip()
        return frozenset(passed), left, self._norm(left)

    def _understood(self, answer: Answer, norm: str) -> Answer:
        """An escalation with what it is about: its topic and any problem or track it names.
        norm: the _norm of answer.query."""
        note = answer.note
        if not note.startswith("topic:") and (topic := self._escalation_topic(norm)):
            note = f"topic:{topic}"
        ref = find_reference(norm) or find_track_name(norm, self.vocabulary, strict=True)
        about: tuple[str, ...] = ()
        if ref is not None and (track := self._track_of(ref)) in self.track_ids:
            about = (track,)
            if ref.problem is not None and (pid := self._problem_of(track, ref)) in self.problems:
                about = (pid,)
        return replace(answer, note=note, about=about)

    def _read(self, rule: Answer, norm: str) -> Answer:
        """The rules' answer, or the intent model's where it reads the question otherwise.
        norm: the _norm of rule.query."""
        # Commands and exact numbers that name nothing are not for the model.
        if self.intent_model is None or rule.note.split(":")[0] in _FINAL_NOTES:
            return rule
        signals, candidates = self._signals(rule, norm)
        intent, _ = self.intent_model.predict(features(signals))
        if intent == rule.intent:
            return rule
        return self._answer_as(intent, rule, candidates) or rule

    def _signals(self, rule: Answer, norm: str | None = None) -> tuple[Signals, _Candidates]:
        """What the intent model reads, and the answers each intent would give. norm: the
        _norm of rule.query, when the caller has it."""
        if norm is None:
            norm = self._norm(rule.query)
        ref = find_reference(norm)
        ref_kind = ""
        if ref is not None:
            ref_kind = "problem" if ref.problem is not None else "track"
        else:
            ref = find_track_name(norm, self.vocabulary, strict=False)
            ref_kind = "name" if ref is not None else ""
        terms, coverage = self._terms_with_coverage(norm)
        ranked = self._rank(terms, self.problems)
        top = ranked[0][1] if ranked else 0.0
        gap = top - ranked[1][1] if len(ranked) > 1 else top
        masked = self._masked(norm)
        signals = Signals(
            rule.intent,
            rule.note,
            masked,
            coverage,
            top,
            gap,
            len(terms),
            ref_kind,
            masked.count("Ⓟ"),
        )
        problem = track = None
        if ref is not None and self._track_of(ref) in self.track_ids:
            track = self._track_of(ref)
            if ref.problem is not None and self._problem_of(track, ref) in self.problems:
                problem = self._problem_of(track, ref)
        if problem is None and rule.intent in ("problem", "search") and rule.ids:
            problem = rule.ids[0]
        if problem is None and ranked and top >= 0.34:
            problem = ranked[0][0]
        if track is None and rule.intent == "track" and rule.ids:
            track = rule.ids[0]
        if track is None and problem is not None:
            track = self.problems[problem].track_id
        if rule.intent == "search":
            theme = rule.ids
        else:
            theme = tuple(pid for pid, score in ranked if score >= max(0.34, top * 0.5))
        return signals, _Candidates(problem, track, theme, tuple(t.text for t in terms))

    def _track_of(self, ref: Reference) -> str:
        """The id of the track a reference names (-1: the last one)."""
        if ref.track is not None and ref.track < 0 and len(self.track_ids) >= -ref.track:
            return self.track_ids[ref.track]
        return str(ref.track)

    def _problem_of(self, track_id: str, ref: Reference) -> str:
        """The id of the problem a reference names in a track (-N: the Nth from the end)."""
        assert ref.problem is not None
        if ref.problem < 0:
            return f"{track_id}-{len(self.catalogue.problems_of(track_id)) + 1 + ref.problem}"
        return f"{track_id}-{ref.problem}"

    def _answer_as(self, intent: str, rule: Answer, c: _Candidates) -> Answer | None:
        """The answer of the intent the model chose, when the question has what it needs."""
        q = rule.query
        if intent in ("escalate", "help", "tracks"):
            return Answer(q, intent, note="model")
        if intent == "problem" and c.problem is not None:
            return Answer(q, "problem", (c.problem,), rule.score, note="model", terms=c.terms)
        if intent == "track" and c.track is not None:
            return Answer(q, "track", (c.track,), 1.0, note="model")
        if intent == "search" and len(c.theme) > 1:
            return Answer(q, "search", c.theme, rule.score, note="model", terms=c.terms)
        return None

    def _masked(self, norm: str) -> str:
        """The question with references as Ⓟ/Ⓣ and catalogue-specific phrases as Ⓒ: the words
        that say what is asked, the same for any catalogue."""
        norm = self._glossary_en_re.sub(" Ⓒ ", mask_references(norm, self.vocabulary))
        runs = _squash(norm).split()
        out = []
        specific = max(2, int(self._n * SPECIFIC_SHARE))
        for run in runs:
            position, pieces = 0, []
            for start, end, term in self._segment(run):
                pieces.append(run[position:start])
                is_specific = term is not None and len(term.docs) <= specific
                pieces.append("Ⓒ" if is_specific else run[start:end])
                position = end
            pieces.append(run[position:])
            out.append("".join(pieces))
        return " ".join(out)

    def match_by_rules(self, text: str, norm: str | None = None) -> Answer:
        """What the hand-written rules make of a question (the model's first opinion). norm:
        the _norm of the stripped text, when the caller has it."""
        q = text.strip()
        if norm is None:
            norm = self._norm(q)
        squashed = _squash(norm)
        if not squashed:
            return Answer(q, "help", note="empty")
        if q.startswith("/"):
            return self._command(q)

        if re.search(HELP_FIRST_PATTERN, _squash(norm)):
            return Answer(q, "help", score=1.0, note="how_to_ask")
        topic = self._escalation_topic(norm)
        if topic:
            return Answer(q, "escalate", note=f"topic:{topic}")

        quoted = self._quoted_search(q, norm)
        if quoted is not None:
            return quoted

        ref = find_reference(norm)
        if ref is None:
            ref = find_track_name(norm, self.vocabulary, strict=True) or find_track_name(
                norm, self.vocabulary, strict=False
            )
            if ref is not None and ref.problem is None:
                # A bare short name with more words (工业 … 供应链那题) is a hint to look in
                # that track first, not a request for the track.
                name_only = find_track_name(norm, self.vocabulary, strict=True)
                if name_only is None and self._content_terms(_cut(norm, ref.span)):
                    ref = replace(ref, weak=True)
        if ref is not None:
            answer = self._by_reference(q, norm, ref)
            if answer is not None:
                return answer

        if _names_tracks_as_subject(norm):
            return Answer(q, "tracks", score=1.0)
        terms, coverage = self._terms_with_coverage(norm)
        if not terms or coverage < MIN_QUERY_COVERAGE:
            if _asks_for_track_list(norm):
                return Answer(q, "tracks", score=1.0)
            if _asks_for_help(norm) or not _content(norm):
                return Answer(q, "help", score=1.0)
            return Answer(q, "escalate", score=coverage, note="no_match")
        ranked = self._rank(terms, self.problems)
        return self._decide(q, norm, ranked, terms)

    def _command(self, q: str) -> Answer:
        command = q[1:].split()[0].split("@")[0].lower() if len(q) > 1 else ""
        if command in ("tracks", "list"):
            return Answer(q, "tracks", score=1.0)
        return Answer(q, "help", score=1.0, note=f"command:{command}")

    def _escalation_topic(self, norm: str) -> str | None:
        squashed = _squash(norm)
        covered = self._catalogue_mask(squashed)
        found = set()
        for m in self._cue_re.finditer(squashed):  # every place, overlapping ones included
            start, end = m.span(1)
            # 数据集 inside 数据集成 is two catalogue words, not a data set.
            if not all(covered[start:end]):
                found.add(self._cue_topic[m.group(1)])
        for topic in self._escalate_cues:  # the topics in their order: the specific first
            if topic in found:
                return topic
        for m in _DATA_ACCESS_RE.finditer(squashed):
            if not all(covered[m.start() : m.end()]):
                return "data_access"
        # anti money laundering is a catalogue phrase, not a question about money.
        english = self._glossary_en_re.sub(" ", f" {norm} ")
        english_cue = _CUE_EN_RE.search(english)
        return _CUE_EN_TOPIC[english_cue.group(0)] if english_cue else None

    def _anchored(self, pid: str, terms: list[_Term]) -> bool:
        """The question uses a word only this problem has (燃气, 捕捞)."""
        return any(t.docs == frozenset({pid}) for t in terms)

    def _quoted_search(self, q: str, norm: str) -> Answer | None:
        """带“共享”字眼的赛题有哪些: every problem whose text has the quoted word (its title,
        when the question says 标题)."""
        words = [_squash(normalize(w)) for w in _QUOTED.findall(q)]
        words = [w for w in words if w]
        if not words or not _has_cue(norm, SEARCH_CUES, SEARCH_CUES_EN):
            return None
        where = self._titles if re.search(r"标题|题目名|名字|名称|title", norm) else self._docs
        ids = tuple(pid for pid in self.problems if all(w in where[pid] for w in words))
        if not ids:
            return None
        intent = "search" if len(ids) > 1 else "problem"
        return Answer(q, intent, ids, 1.0, note="quoted", terms=tuple(words))

    def _catalogue_mask(self, squashed: str) -> list[bool]:
        """Which characters belong to catalogue phrases of two characters or more."""
        mask = [False] * len(squashed)
        i = 0
        while i < len(squashed):
            for j in range(min(len(squashed), i + MAX_TERM), i + 1, -1):
                if squashed[i:j] in self._vocab:
                    mask[i:j] = [True] * (j - i)
                    i = j - 1
                    break
            i += 1
        return mask

    def _by_reference(self, q: str, norm: str, ref: Reference) -> Answer | None:
        track_id = self._track_of(ref)
        if track_id not in self.track_ids:
            return Answer(q, "tracks", score=1.0, note=f"no_track:{ref.track}")
        in_track = {p.id: p for p in self.catalogue.problems_of(track_id)}
        if ref.problem is not None:
            pid = self._problem_of(track_id, ref)
            if pid in in_track:
                return Answer(q, "problem", (pid,), 1.0)
            return Answer(q, "track", (track_id,), 1.0, note=f"no_problem:{pid}")
        # A track and more words: the words may name one of its problems (金融赛道的通用类赛题).
        if ref.weak and _has_cue(norm, SEARCH_CUES, SEARCH_CUES_EN):
            return None  # 农业…相关的题有哪些: a theme across tracks, not one of 农业's problems
        rest = _cut(norm, ref.span)
        rest_terms, rest_coverage = self._terms_with_coverage(rest)
        if rest_terms and rest_coverage >= MIN_QUERY_COVERAGE:
            ranked = self._rank(rest_terms, in_track)
            if (
                ranked
                and _is_clear(ranked)
                and (
                    ranked[0][1] >= 0.5
                    or (not ref.weak and _owns_a_rare_word(ranked[0][0], rest_terms, in_track))
                )
            ):
                return Answer(q, "problem", (ranked[0][0],), round(ranked[0][1], 3))
            if not ref.by_name:
                return None  # "赛道三 …" and words beyond it: let the words decide
            if not ref.marked:
                # A name used as a word of the question (农业和商贸流通数据融合): the whole
                # question may describe a problem of any track.
                terms, coverage = self._terms_with_coverage(norm)
                if coverage >= MIN_QUERY_COVERAGE:
                    answer = self._decide(q, norm, self._rank(terms, self.problems), terms)
                    if answer.intent in ("problem", "search"):
                        return answer
        if ref.weak:
            return None  # the words decide, over every track
        return Answer(q, "track", (track_id,), 1.0)

    def _decide(
        self, q: str, norm: str, ranked: list[tuple[str, float]], terms: list[_Term]
    ) -> Answer:
        names = tuple(t.text for t in terms)
        if not ranked or ranked[0][1] < 0.34:
            return Answer(q, "escalate", score=ranked[0][1] if ranked else 0.0, note="no_match")
        best = ranked[0][1]
        if _has_cue(norm, SEARCH_CUES, SEARCH_CUES_EN):
            # A list asked for: every problem that has the theme, wherever in its text. The
            # theme is in the clause that asks for the list (…做决策支持，哪些题提到了决策).
            plural = bool(_PLURAL_ASK.search(_squash(norm)))
            asked = (self._list_clause_terms(norm) if plural else []) or terms
            fitting = self._theme_members(asked) or tuple(
                pid for pid, s in ranked if s >= max(0.34, best * 0.5)
            )
            if len(fitting) == 1 and plural:
                fitting = self._theme_members(self._broadened(asked)) or fitting
            if len(fitting) > 1:
                return Answer(q, "search", fitting, round(best, 3), note="theme", terms=names)
            # A theme only one problem has: that problem is the answer.
            return Answer(q, "problem", fitting, round(best, 3), terms=names)
        if _is_clear(ranked):
            return Answer(q, "problem", (ranked[0][0],), round(best, 3), terms=names)
        close = tuple(pid for pid, s in ranked[:3] if s >= best * 0.8)
        anchored = [pid for pid in close if self._anchored(pid, terms)]
        if len(anchored) == 1:
            # Only one candidate has a word of the question that is its own and in its title
            # (燃气 of 燃气安全监管): the question is about that problem.
            return Answer(q, "problem", (anchored[0],), round(best, 3), terms=names)
        if _asks_for_help(norm):
            return Answer(q, "help", score=1.0)
        if len(close) == 1:
            return Answer(q, "problem", close, round(best, 3), terms=names)
        return Answer(q, "search", close, round(best, 3), note="did_you_mean", terms=names)

    # --- terms and ranking ------------------------------------------------------------------

    def _terms_with_coverage(self, norm: str) -> tuple[list[_Term], float]:
        """Catalogue phrases found in the question, and the share of its content they cover."""
        terms = self._glossary_terms(norm)
        norm = self._everyday_to_catalogue(norm)
        content = covered = 0
        for run in _squash(norm).split():
            position = 0
            for start, end, term in self._segment(run):
                content += _content_chars(run[position:start])
                position = end
                if term is not None:
                    content += end - start
                    covered += end - start
                    terms.append(term)
            content += _content_chars(run[position:])
        terms = list({t.text.lstrip("="): t for t in terms}.values())
        if content == 0:
            return terms, 1.0 if terms else 0.0
        if covered == 0 and terms and not any(is_cjk(ch) for ch in norm):
            return terms, 1.0  # an English question that the glossary understood
        return terms, min(1.0, covered / content)

    def _content_terms(self, norm: str) -> list[_Term]:
        return self._terms_with_coverage(norm)[0]

    def _glossary_terms(self, norm: str) -> list[_Term]:
        """Catalogue terms for the English words of a question (a phrase beats its words)."""
        terms = []
        for m in self._glossary_en_re.finditer(norm):
            key = next(k for k in self._glossary_en if m.group(0).startswith(k))
            terms.append(self._term(self._glossary_en[key], prefix="="))
        return terms

    def _everyday_to_catalogue(self, norm: str) -> str:
        """Rewrite everyday Chinese words the catalogue does not use in its own words."""
        for key, term in self._glossary_zh.items():
            if key in norm:
                norm = norm.replace(key, term)
        return norm

    def _term(self, phrase: str, prefix: str = "") -> _Term:
        docs = self._vocab[phrase]
        idf = math.log(1 + self._n / len(docs))
        return _Term(prefix + phrase, idf * math.sqrt(len(phrase) / 2), docs)

    def _segment(self, run: str) -> list[tuple[int, int, _Term | None]]:
        """Greedy longest match of catalogue phrases, by spelling or by sound.

        Yields (start, end, term); term is None for a phrase that is only filler (赛题, 相关).
        """
        found: list[tuple[int, int, _Term | None]] = []
        py = pinyin_of(run)
        # Where filler words (提到, 相关 …) end: a phrase may not start inside one and end just
        # after it, or 提到基层 would be read as 到基层.
        filler_end = [0] * len(run)
        for m in _FILLER_WORDS_RE.finditer(run):
            for k in range(m.start(), m.end()):
                filler_end[k] = m.end()
        i = 0
        while i < len(run):
            best = ""
            for j in range(min(len(run), i + MAX_TERM), i + 1, -1):
                if run[i:j] in self._vocab and _whole_numbers(run, i, j):
                    best = run[i:j]
                    break
            if best and filler_end[i] and i + len(best) - filler_end[i] < 3:
                best = ""
            length = len(best)
            # A sound-alike counts from three characters on: two-character homophones are
            # everywhere (个题 sounds like 个体) and would turn filler into content.
            for j in range(min(len(run), i + 6), i + max(length, 2), -1):
                phrase = self._sounds.get(tuple(py[i:j]))
                if filler_end[i] and j - filler_end[i] < 3:
                    continue
                if phrase and not _is_filler(run[i:j]):
                    best, length = phrase, j - i
                    break
            if not best and not filler_end[i]:
                end = i
                while end < min(len(run), i + 6) and is_cjk(run[end]):
                    end += 1
                for j in range(end, i + 2, -1):
                    phrase = self._near_sound(run[i:j], py[i:j])
                    if phrase and not _is_filler(phrase):
                        best, length = phrase, j - i
                        break
            if not best:
                i += 1
                continue
            trimmed = best.strip(_EDGE_WORDS)
            if len(trimmed) >= 2 and trimmed in self._vocab and not _is_filler(trimmed):
                found.append((i, i + length, self._term(trimmed)))
            else:
                found.append((i, i + length, None))
            i += length
        return found

    def _near_sound(self, text: str, py: list[str]) -> str | None:
        """The catalogue phrase text is but for one character that sounds alike under the
        usual pinyin slips (供因链 gong-yin-lian for 供应链 gong-ying-lian; zi/zhi, nan/lan):
        the slips of pinyin typing, of dialects and of speech input; or but for two characters
        that each sound alike or the same (供因连, 资东驾驶).

        Our own rule, not an edit distance: bench/fuzzy.py measured rapidfuzz's Levenshtein over
        the pinyin (process.extractOne over every phrase, or over the syllable slipped) against
        it. One letter off (ce/le, ji/ju) took a real word for a catalogue phrase in 268 to 301
        of 1,500 pieces one character away from a phrase (数据库 for 数据集), this rule in 20, and
        a lookup over all phrases was 10-40 times slower."""
        if not all(py):
            return None
        for k in range(len(py)):
            for other in self._near_sounds.get((*py[:k], "", *py[k + 1 :]), ()):
                phrase = self._sounds[other]
                if (
                    phrase[:k] == text[:k]
                    and phrase[k + 1 :] == text[k + 1 :]
                    and _fuzzy_syllable(py[k]) == _fuzzy_syllable(other[k])
                ):
                    return phrase
        found = self._blurred_sounds.get(tuple(map(_fuzzy_syllable, py)))
        if found is not None and sum(a != b for a, b in zip(found, text, strict=True)) <= 2:
            return found
        return None

    def _rank(self, terms: list[_Term], problems: dict[str, Problem]) -> list[tuple[str, float]]:
        total = sum(t.weight for t in terms) * 1.25
        if total <= 0:
            return []
        scores: dict[str, float] = defaultdict(float)
        for term in terms:
            phrase = term.text.lstrip("=")
            for pid in term.docs:
                if pid in problems:
                    boost = 1.25 if phrase in self._titles[pid] else 1.0
                    scores[pid] += term.weight * boost
            # Problems that have only part of a longer phrase (灾害 of 自然灾害) get half the
            # weight of the best part they have.
            for pid, credit in self._partial_credit(phrase).items():
                if pid in problems and pid not in term.docs:
                    scores[pid] += credit
        ranked = sorted(((pid, s / total) for pid, s in scores.items()), key=_rank_key)
        return ranked

    def _list_clause_terms(self, norm: str) -> list[_Term]:
        """The catalogue phrases of the clause that asks for a list, when the message has
        other clauses too."""
        clauses = [c for c in re.split(r"(?<=[^\x00-\x7f])\s+|\s+(?=[^\x00-\x7f])", norm) if c]
        if len(clauses) < 2:
            return []
        for clause in clauses:
            if _has_cue(clause, SEARCH_CUES, SEARCH_CUES_EN):
                return self._content_terms(clause)
        return []

    def _broadened(self, terms: list[_Term]) -> list[_Term]:
        """A list asked for and one problem has the phrase (物联网技术): the phrase's longest
        part that several problems have (物联网), as the theme."""
        specific = max(2, int(self._n * THEME_SHARE))
        out = []
        for term in terms:
            text = term.text
            if len(term.docs) == 1 and len(text) >= 4:
                parts = [
                    text[i:j]
                    for i in range(len(text))
                    for j in range(i + 2, len(text) + (i > 0))
                    if 1 < len(self._vocab.get(text[i:j], ())) <= specific
                    and not _is_filler(text[i:j])
                ]
                if parts:
                    part = max(parts, key=lambda p: (len(p), -len(self._vocab[p])))
                    term = self._term(part)
            out.append(term)
        return out

    def _theme_members(self, terms: list[_Term]) -> tuple[str, ...]:
        """The problems that have every specific phrase of a theme (农业 and 金融) in their
        text, in the order of the catalogue; () when the theme has no specific phrase or no
        problem has them all."""
        specific = max(2, int(self._n * THEME_SHARE))
        members: set[str] | None = None
        for term in terms:
            if not term.docs or len(term.docs) > specific:
                continue
            members = set(term.docs) if members is None else members & term.docs
        if not members:
            return ()
        return tuple(pid for pid in self.problems if pid in members)

    def _partial_credit(self, phrase: str) -> dict[str, float]:
        if phrase not in self._partial:
            credit: dict[str, float] = {}
            if len(phrase) >= 3:
                for i in range(len(phrase)):
                    for j in range(i + 2, len(phrase) + (i > 0)):
                        part = phrase[i:j]
                        if part in self._vocab and not _is_filler(part):
                            weight = self._term(part).weight / 2
                            for pid in self._vocab[part]:
                                credit[pid] = max(credit.get(pid, 0.0), weight)
            self._partial[phrase] = credit
        return self._partial[phrase]

    def guesses(self, text: str, k: int = 3) -> list[str]:
        """The problems a question is most likely about, even one that must be escalated
        ("3-4 有数据集吗" → 3-4): for the organizers, never as an answer."""
        norm = self._norm(text)
        ref = find_reference(norm)
        if ref is not None and ref.problem not in (None, -1):
            pid = f"{ref.track}-{ref.problem}"
            if pid in self.problems:
                return [pid]
        terms, _ = self._terms_with_coverage(norm)
        return [pid for pid, score in self._rank(terms, self.problems)[:k] if score >= 0.34]

    def related(self, problem_id: str, k: int = 2) -> list[str]:
        """The problems whose whole text is most alike (TF-IDF cosine over character pairs)."""
        if not self._related:
            self._related = _similar_documents(self._docs)
        return self._related.get(problem_id, [])[:k]

    # --- FAQ --------------------------------------------------------------------------------

    def similar_faq(self, text: str, limit: int = 3) -> list[FaqEntry]:
        """FAQ entries that ask what the question asks or close to it, best first: offered as
        related answers, never as the answer."""
        faq, index = self._faq, self.faq_index
        return [e for hit in index.similar(text, limit) if (e := faq.get(hit.entry_id))]

    def _match_faq(self, q: str) -> Answer | None:
        """The organizers' answer to this very question, when there is one and it is sure."""
        hit = self.faq_index.answer(q)
        if hit is None:
            return None
        return Answer(q, "faq", (f"faq:{hit.entry_id}",), round(hit.score, 3))


# --- helpers ------------------------------------------------------------------------------------


# The numbers of a numbered list (①…②…, 1、… 2、…, 1) … 2) …): not references to anything.
_CIRCLED = re.compile(r"[①-⑳]\s*")
_LIST_NUMBER = re.compile(
    r"(?:^|(?<=[\s，,。；;！!？?]))(?:\d{1,2}[、.．)）]|[(（]\d{1,2}[)）])(?!\d)\s*"
)


def _without_list_numbers(text: str) -> str:
    text = _CIRCLED.sub(" ", text)
    if len(_LIST_NUMBER.findall(text)) >= 2 or re.match(r"\s*[(（]\d{1,2}[)）]", text):
        text = _LIST_NUMBER.sub(" ", text)
    return text


# A clause that sets its subject aside: done with it (3-4我看过了, 奖项也不问了), put off
# (先放一边, 就不说了) or refused (不要所有赛道，…): from the clause's start to the marker
# that ends it.
_SET_ASIDE_CLAUSE = re.compile(
    r"[^，,。；;！!？?\s]*?(?:"
    r"(?:看过|看完|读过|读完|了解过|了解|清楚|明白|知道|懂)了"
    r"|放一边|放一放|先不管|不管了|(?:不说|不问|不看|不提|不聊|不讲)了|不用(?:说|讲|管)了"
    r"|^不要[^，,。；;！!？?\s]{1,12}(?=[，,。；;\s]))"
    r"(?:[啊啦哈哦呀吧]|一下)?(?=[，,。；;！!\s]|$)"
)
# A phrase in more than this share of the problems (数据, 提升) does not make a theme.
THEME_SHARE = 0.3
# Words before a track a question leaves out (除了医疗赛道, except finance).
_EXCLUDING = re.compile(
    r"除了|除去|除开|不包括|不包含|不含|不算|排除|不要|不看|except|excluding|other than|"
    r"besides|apart from|not in"
)


# English words of five letters or more, and the ones the bot knows that are not the catalogue's
# (question words, the cues of the lexicon) and are never taken for a misspelt catalogue word.
_LONG_ENGLISH_WORD = re.compile(r"\b[a-z]{5,}\b")
_ENGLISH_KNOWN = frozenset(
    w
    for phrase in (
        *HELP_CUES_EN,
        *TRACKS_CUES_EN,
        *SEARCH_CUES_EN,
        *(c for cues in ESCALATE_CUES_EN.values() for c in cues),
        "whether where there their these those which while about other could would should "
        "problem problems question questions track tracks topic topics related relate "
        "anything something everything please thanks hello",
    )
    for w in re.findall(r"[a-z]+", phrase)
)
# A question that asks for several problems (哪些, 哪几道, 都列出来, which problems).
_PLURAL_ASK = re.compile(
    r"哪些|哪几|几道|几个题|有什么题|有啥题|都有|列出|列一下|都列|全部|所有的题|清单|"
    r"which problems|what problems|all problems|\blist\b"
)
# The sounds pinyin input and many dialects confuse: z/zh c/ch s/sh, n/l, h/f before u, and a
# final n/ng.
_FUZZY_INITIAL = re.compile(r"^(?:([zcs])h|l(?=[aeiou])|f(?=u))")


def _fuzzy_syllable(syllable: str) -> str:
    syllable = _FUZZY_INITIAL.sub(lambda m: m[1] or ("n" if m[0] == "l" else "h"), syllable)
    return syllable[:-1] if syllable.endswith("ng") and len(syllable) > 2 else syllable


def _similar_documents(docs: dict[str, str]) -> dict[str, list[str]]:
    grams = {pid: _bigrams(_squash(doc)) for pid, doc in docs.items()}
    df: dict[str, int] = defaultdict(int)
    for bag in grams.values():
        for gram in bag:
            df[gram] += 1
    n = len(docs)
    vectors = {
        pid: {g: math.log(n / df[g]) for g in bag if df[g] < n / 2} for pid, bag in grams.items()
    }
    norms = {pid: math.sqrt(sum(w * w for w in v.values())) or 1.0 for pid, v in vectors.items()}
    similar = {}
    for pid, vector in vectors.items():
        scores = [
            (sum(w * other.get(g, 0.0) for g, w in vector.items()) / (norms[pid] * norms[o]), o)
            for o, other in vectors.items()
            if o != pid
        ]
        similar[pid] = [o for _, o in sorted(scores, key=lambda x: (-x[0], x[1]))]
    return similar


def _owns_a_rare_word(pid: str, terms: list[_Term], among: dict[str, Problem]) -> bool:
    """Within a track, only this problem has one of the question's rarer words (研发)."""
    return any(len(t.docs) <= 3 and t.docs & among.keys() == {pid} for t in terms)


def _whole_numbers(text: str, i: int, j: int) -> bool:
    """text[i:j] neither starts nor ends inside a number (12 is not a phrase of 120)."""
    starts_inside = i > 0 and text[i - 1].isdigit() and text[i].isdigit()
    ends_inside = j < len(text) and text[j - 1].isdigit() and text[j].isdigit()
    return not (starts_inside or ends_inside)


def _rank_key(item: tuple[str, float]) -> tuple[float, int, int]:
    track, number = item[0].split("-")
    return (-item[1], int(track), int(number))


def _is_clear(ranked: list[tuple[str, float]]) -> bool:
    if len(ranked) == 1:
        return True
    return ranked[0][1] - ranked[1][1] >= 0.15 or ranked[1][1] < ranked[0][1] * 0.7


def _squash(text: str) -> str:
    """Drop spaces between Chinese characters; keep them between Latin words."""
    return re.sub(r"(?<![a-z0-9]) | (?![a-z0-9])", "", text)


def _cut(text: str, span: tuple[int, int]) -> str:
    return text[: span[0]] + " " + text[span[1] :]


_NOT_CONTENT = FILLER + SEARCH_CUES + TRACK_WORDS + LIST_WORDS + HELP_CUES
_FILLER_RE = re.compile("|".join(sorted(map(re.escape, _NOT_CONTENT), key=len, reverse=True)))


_FILLER_WORDS_RE = re.compile(
    "|".join(sorted((re.escape(w) for w in _NOT_CONTENT if len(w) > 1), key=len, reverse=True))
)


def _is_filler(phrase: str) -> bool:
    return not _FILLER_RE.sub("", phrase)


def _content_chars(gap: str) -> int:
    """Chinese characters of a stretch that are not filler words (那题, 是什么, 的 …)."""
    return sum(1 for ch in _FILLER_RE.sub("", gap) if is_cjk(ch))


def _content(norm: str) -> str:
    """The question without filler words: what is left to explain."""
    return " ".join(w for w in _FILLER_RE.sub(" ", _squash(norm)).split() if w)


def _alternation(words: Iterable[str], boundary: bool = False) -> re.Pattern[str]:
    """One regex for many words, longest first, so the longest word at a place wins."""
    parts = [re.escape(w) for w in sorted(words, key=len, reverse=True)]
    if boundary:
        parts = [rf"\b{p}\b" for p in parts]
    return re.compile("|".join(parts) or r"(?!)")


_CUE_EN_TOPIC = {cue: topic for topic, cues in ESCALATE_CUES_EN.items() for cue in cues}
_CUE_EN_RE = re.compile(
    "|".join(rf"\b{re.escape(c)}" for c in sorted(_CUE_EN_TOPIC, key=len, reverse=True))
)
_DATA_ACCESS_RE = re.compile(DATA_ACCESS_PATTERN)
_EN_CUES: dict[tuple[str, ...], re.Pattern[str]] = {}


def _has_cue(norm: str, cues: tuple[str, ...], cues_en: tuple[str, ...]) -> bool:
    squashed = _squash(norm)
    if any(cue in squashed for cue in cues):
        return True
    if cues_en not in _EN_CUES:
        _EN_CUES[cues_en] = _alternation(cues_en, boundary=True)
    return bool(_EN_CUES[cues_en].search(norm))


def _asks_for_track_list(norm: str) -> bool:
    squashed = _squash(norm)
    if re.search(TRACKS_PATTERN, squashed):
        return True
    if any(w in squashed for w in TRACK_WORDS) and any(w in squashed for w in LIST_WORDS):
        return True
    return _has_cue(norm, (), TRACKS_CUES_EN)


def _names_tracks_as_subject(norm: str) -> bool:
    """哪些行业的赛道, 赛道有哪些: 赛道 with a list word and no 题 after it — the question is
    about the tracks themselves (a theme would end in 题)."""
    squashed = _squash(norm)
    last = squashed.rfind("赛道")
    return last >= 0 and "题" not in squashed[last:] and any(w in squashed for w in LIST_WORDS)


def _asks_for_help(norm: str) -> bool:
    return _has_cue(norm, HELP_CUES, HELP_CUES_EN) or bool(re.search(HELP_PATTERN, _squash(norm)))


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)} or {text}
