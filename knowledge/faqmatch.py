"""Organizers' answers reused: rank FAQ entries by meaning, answer only when what is asked matches.

Two steps. Ranking: cosine of sentence embeddings (knowledge/embed.py) where the model is
installed, else Dice over character pairs. Accepting: the question and the entry must ask the
same thing — the same stage (初赛/复赛/决赛), the same direction (最多/最少), compatible kinds of
answer (when/where/how much/how many/who/how) and no object only one of them names (报名 vs 作品,
a prize vs the tax on it, 一等奖 vs 二等奖) — and a logistic acceptor over the similarity, the
margin to the next entry, those agreements, the hashed character pairs and content words only
one side has, how well the entry's answer (read after its question) fits the question, and,
ranking by embeddings, the two vectors compared dimension by dimension — a similarity learned
from examples (trained on the FAQ question sets of training/faq/ by `make train`, its threshold
chosen on held-out sets) must be sure. Anything less is offered as “相关的组委会答复”
(similar()), never given as the answer. The same ranking groups tickets that ask the same
thing (a stricter floor: GROUP_FLOOR).
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from itertools import pairwise
from typing import Any

from knowledge.embed import Embedder
from knowledge.normalize import normalize
from knowledge.refs import digits_for_numerals
from knowledge.wordrank import WordRanking

MODEL_FILE = "faq_model.json"
# What an entry asks and the question does not, and the reverse, as hashed character pairs: the
# acceptor learns from examples which differences change a question (公章 vs 截止时间) and which
# do not (请问, 老师好). Then the same over content words only (see content_grams()).
BUCKETS = 1024
HASHED = 4 * BUCKETS  # character pairs (entry only, question only), content (the same)
# A token in this share of the training questions or more carries no content (的, 能, 吗, 是, the):
# the stop list is learned in training and shipped with the acceptor, not written by hand.
STOP_SHARE = 0.05
CONFLICTS = ("stage", "direction", "kind", "point", "object", "numbers")
DENSE = 6 + len(CONFLICTS) + 8 + 6 + 3  # the dense features of pair_features()
# Which entries are offered as related (buttons, never the answer): the three most alike, from
# this cosine and within SIMILAR_WINDOW of the first. Measured on the five FAQ training sets
# (1,460 rewordings): the right entry is among the first three for 95.3%; a floor of 0.88 kept
# 78.0% of them, 0.80 kept 94.4% (it dropped English questions about Chinese entries, 0.785-0.80),
# 0.78 keeps all 95.3%. No floor tells an unrelated question apart (e5 scores 谢谢 or 食堂几点开门
# 0.82-0.87 against contest questions), so the list is shown only where a question goes to the
# organizers. The right entry at second or third place is at most 0.033 below the first, so the
# window keeps all of them and drops the far ones: 2.3 buttons on average instead of 3.
SIMILAR_FLOOR = 0.78
SIMILAR_WINDOW = 0.04
# Cosine from which two questions are put in one group (similar open tickets, /faq suggest):
# stricter, since a group is answered at once.
GROUP_FLOOR = 0.9
# An entry's answer is compared with the question against the answers of this many most alike.
ANSWER_PEERS = 4
UNRELATED_COSINE = 0.8  # e5 scores unrelated Chinese questions about this high
SIMILAR_FLOOR_WORDS = 0.35  # the same, comparing words
GROUP_FLOOR_WORDS = 0.45

# What a question asks, by kind of distinction. Language, not one contest's data.
_SLOTS: dict[str, dict[str, tuple[str, ...]]] = {
    "stage": {
        "初赛": ("初赛", "预赛", "海选", "第一轮", "first round", "preliminary", "qualif"),
        "复赛": ("复赛", "半决赛", "第二轮", "second round", "semi"),
        "决赛": ("决赛", "总决赛", "final"),
    },
    "direction": {
        "max": ("最多", "上限", "最大", "不超过", "封顶", "限制", "at most", "maximum", "max ",
                "limit"),
        "min": ("最少", "至少", "下限", "最低", "起码", "at least", "minimum", "min "),
    },
    "kind": {
        "when": ("什么时候", "何时", "几号", "哪天", "几点", "日期", "截止", "时间", "多久",
                 "when", "deadline", "date", "what time", "how long"),
        "where": ("哪里", "在哪", "哪儿", "地点", "地址", "何处", "where", "venue", "location"),
        "how_much": ("多少钱", "金额", "费用", "奖金多少", "how much"),
        "how_many": ("几个", "几人", "多少人", "多少", "几支", "几名", "几位", "多少个", "多少支",
                     "几项", "几道", "人数", "how many", "number of"),
        "who": ("谁", "哪位", "联系人", "who"),
        "how": ("怎么", "如何", "怎样", "流程", "步骤", "方式", "how to", "how do", "how can"),
        "whether": ("能不能", "可不可以", "可以", "能否", "是否", "会不会", "还能", "允许",
                    "要不要", "需不需要", "can ", "allowed", "is it possible", "do we need",
                    "is there"),
    },
    # Which moment of a thing: its start, its end, its outcome.
    "point": {
        "start": ("开始", "开放", "启动", "从哪天", "start", "open", "begin"),
        "end": ("截止", "最晚", "结束", "deadline", "close", "due"),
        "result": ("公布", "结果", "出分", "名单", "announce", "result"),
    },
    "object": {
        "报名": ("报名", "注册", "register", "sign up", "signup", "enrol"),
        "作品": ("作品", "提交", "上传", "交什么", "submit", "submission", "deliverable"),
        "答辩": ("答辩", "路演", "演示", "presentation", "defen", "pitch"),
        "数据": ("数据", "dataset", "data"),
        "奖": ("奖金", "奖励", "奖项", "奖品", "prize", "award", "bonus"),
        "证书": ("证书", "certificate"),
        "名额": ("名额", "晋级", "quota", "advance"),
        "税": ("税", "tax"),
        "老师": ("指导老师", "导师", "指导教师", "adviser", "advisor", "mentor", "supervisor"),
        "代码": ("代码", "源码", "开源", "code", "source"),
        "发票": ("发票", "invoice", "报销", "reimburse"),
    },
}  # fmt: skip
# An object the question names and the entry does not, that changes the question on its own.
_DECISIVE = frozenset({"税", "证书", "发票", "老师", "代码", "名额"})


# 一等奖 vs 二等奖, 前三名: numerals that rank, which digits_for_numerals leaves as words.
_NUMERALS = {c: str(n) for n, c in enumerate("一二三四五六七八九十", start=1)} | {"两": "2"}
_RANKS = re.compile(r"([一二两三四五六七八九十])(?=\s*(?:等奖|等|名|强|届))")


@dataclass(frozen=True)
class Asked:
    """What a question asks: its slots and its numbers."""

    stage: frozenset[str]
    direction: frozenset[str]
    kind: frozenset[str]
    object: frozenset[str]
    point: frozenset[str]
    numbers: tuple[str, ...]


def asked(text: str) -> Asked:
    norm = digits_for_numerals(normalize(text))
    squashed = re.sub(r"(?<![a-z0-9]) | (?![a-z0-9])", "", norm)
    found: dict[str, set[str]] = {}
    for slot, values in _SLOTS.items():
        hits = set()
        for value, words in values.items():
            for w in words:
                if (w in squashed) if not w.isascii() else re.search(rf"\b{re.escape(w)}", norm):
                    hits.add(value)
                    break
        found[slot] = hits
    if "how_many" in found["kind"] and re.search(r"多少(?![人个支名位项道队家所届])", squashed):
        found["kind"].add("how_much")  # a bare 多少 asks how many or how much (奖金是多少)
    if "复赛" in found["stage"] and ("半决赛" in squashed or "semi" in norm):
        found["stage"].discard("决赛")  # 半决赛 is the 复赛, not the 决赛
    return Asked(
        frozenset(found["stage"]),
        frozenset(found["direction"]),
        frozenset(found["kind"]),
        frozenset(found["object"]),
        frozenset(found["point"]),
        tuple(re.findall(r"\d+", _RANKS.sub(lambda m: _NUMERALS[m[1]], norm))),
    )


def conflicts(q: Asked, e: Asked) -> list[str]:
    """Why an entry cannot answer a question (empty: nothing stands in the way)."""
    why = []
    if q.stage and e.stage and not (q.stage <= e.stage or e.stage <= q.stage):
        why.append("stage")  # 复赛 asked, 初赛 answered
    if q.direction and e.direction and q.direction != e.direction:
        why.append("direction")  # 最少 asked, 最多 answered
    # “Whether” rides along with any other kind (可以有多少成员 asks how many).
    q_kind, e_kind = (k - {"whether"} or k for k in (q.kind, e.kind))
    if q_kind and e_kind and not q_kind & e_kind:
        why.append("kind")
    if q.point and e.point and not q.point & e.point:
        why.append("point")  # 报名什么时候开始 is not 报名截止时间
    if (q.object - e.object) & _DECISIVE:
        why.append("object")
    if q.object - e.object and e.object - q.object:
        why.append("object")
    if q.numbers != e.numbers and q.numbers and e.numbers:
        why.append("numbers")
    return why


@dataclass(frozen=True)
class PairFeatures:
    """What the acceptor weighs for a (question, entry) pair: dense values, the buckets of
    the character pairs only one side has (entry side first, then question side), and where
    both are embedded, how their vectors agree dimension by dimension (metric_features())."""

    dense: tuple[float, ...]
    buckets: tuple[int, ...]
    metric: Any = None


def metric_features(question: Any, entry: Any) -> Any:
    """The two vectors' products and absolute differences, dimension by dimension, scaled so a
    typical value is near 1: weighted by the acceptor, a similarity learned from examples —
    which directions of meaning set a rewording apart from a question on the same topic. The
    cosine alone weighs all of them alike."""
    import numpy as np

    d = len(question)
    return np.concatenate([question * entry * d, np.abs(question - entry) * math.sqrt(d)])


def pair_features(
    score: float,
    margin: float,
    q: Asked,
    e: Asked,
    qg: set[str],
    eg: set[str],
    qc: AbstractSet[str] = frozenset(),
    ec: AbstractSet[str] = frozenset(),
    answer: tuple[float, float] | None = None,
    vectors: tuple[Any, Any] | None = None,
) -> PairFeatures:
    """Similarity, lead over the next entry, shared wording (qg, eg: character pairs), slot
    conflicts, the wording only one side has: character pairs, and content words and their
    pairs (qc, ec: content_grams()), and how alike the question is to the entry's answer and
    its lead there over the other entries' answers (answer; where no answer is known, the
    question's similarity and lead stand in); vectors: the question's and the entry's
    embeddings, where they are embedded."""
    why = conflicts(q, e)
    a_score, a_margin = answer if answer is not None else (score, margin)
    shared = dice(qg, eg)
    q_only = len(qg - eg) / max(1, len(qg))
    e_only = len(eg - qg) / max(1, len(eg))
    dense = (
        1.0,
        score,
        margin,
        shared,
        q_only,
        e_only,
        *(float(c in why) for c in CONFLICTS),
        # How meaning and wording go together: a near-miss shares the words and differs in
        # one (high similarity, high overlap), a rewording keeps the meaning in other words.
        shared * shared,
        score * shared,
        score * (1 - shared),
        q_only * shared,
        e_only * shared,
        q_only * e_only,
        score * score,
        margin * shared,
        # The same for content words alone (the function words left out).
        *_content_overlap(score, qc, ec),
        # An answer that speaks to the question (报名费 asked, “报名免费” answered) is
        # evidence a question about the same words does not have.
        a_score,
        a_margin,
        a_score * a_score,
    )
    buckets = [_bucket(g) for g in eg - qg] + [BUCKETS + _bucket(g) for g in qg - eg]
    buckets += [2 * BUCKETS + _bucket(g) for g in ec - qc]
    buckets += [3 * BUCKETS + _bucket(g) for g in qc - ec]
    metric = metric_features(*vectors) if vectors is not None else None
    return PairFeatures(dense, tuple(buckets), metric)


def _content_overlap(
    score: float, qc: AbstractSet[str], ec: AbstractSet[str]
) -> tuple[float, ...]:
    """Share of the question's and the entry's content words the other lacks, shared content
    words (Dice), whether either side has none the other lacks, and that overlap times the
    similarity."""
    qw = {g for g in qc if "|" not in g}  # words, not their pairs
    ew = {g for g in ec if "|" not in g}
    shared = dice(qw, ew)
    return (
        len(qw - ew) / max(1, len(qw)),
        len(ew - qw) / max(1, len(ew)),
        shared,
        float(not ew - qw),
        float(not qw - ew),
        shared * score,
    )


# Tokens: a Latin word or number, or one character of any other script (Chinese).
_TOKEN = re.compile(r"[a-z0-9]+|[^\sa-z0-9\W]")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(normalize(text))


def content_grams(text: str, stop: AbstractSet[str]) -> frozenset[str]:
    """The content tokens of a text and each pair of neighbours once the stop tokens are gone
    (初赛作品提交的截止时间 → 初, 赛, …, 初|赛, 品|提, …)."""
    kept = [t for t in tokens(text) if t not in stop]
    return frozenset(kept) | {f"{a}|{b}" for a, b in pairwise(kept)}


def stop_tokens(texts: Iterable[str], share: float = STOP_SHARE) -> frozenset[str]:
    """The tokens in at least `share` of the texts: function words, learned from questions."""
    counts: Counter[str] = Counter()
    n = 0
    for text in texts:
        n += 1
        counts.update(set(tokens(text)))
    return frozenset(t for t, k in counts.items() if k >= share * max(1, n))


@dataclass(frozen=True)
class Hidden:
    """A layer of learned combinations over a pair's dense and metric features (ReLU units
    summed with weights `out`): what no single weight can say — a close meaning *and* a content
    word only one side has, or which directions of meaning matter once the wording differs.
    Trained by `make train` on top of the acceptor's weights (knowledge/train.py fit_hidden())."""

    shift: tuple[float, ...]  # each input is standardized: (x - shift) / scale
    scale: tuple[float, ...]
    weights: tuple[tuple[float, ...], ...]  # one row per input, one column per unit
    bias: tuple[float, ...]
    out: tuple[float, ...]

    def logit(self, x: PairFeatures) -> float:
        import numpy as np

        shift, scale, weights, bias, out = self._arrays
        v = (np.concatenate([x.dense, x.metric]).astype(np.float32) - shift) / scale
        return float(np.maximum(v @ weights + bias, 0.0) @ out)

    @property
    def inputs(self) -> int:
        return len(self.shift)

    @cached_property
    def _arrays(self) -> tuple[Any, ...]:
        import numpy as np

        return tuple(
            np.asarray(a, dtype=np.float32)
            for a in (self.shift, self.scale, self.weights, self.bias, self.out)
        )

    def to_json(self) -> dict[str, Any]:
        def r(values: Iterable[float]) -> list[float]:
            return [float(f"{v:.6g}") for v in values]

        return {
            "shift": r(self.shift),
            "scale": r(self.scale),
            "weights": [r(row) for row in self.weights],
            "bias": r(self.bias),
            "out": r(self.out),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Hidden:
        return cls(
            tuple(raw["shift"]),
            tuple(raw["scale"]),
            tuple(tuple(row) for row in raw["weights"]),
            tuple(raw["bias"]),
            tuple(raw["out"]),
        )


@dataclass(frozen=True)
class Acceptor:
    """Logistic regression over PairFeatures (with, where ranking by embeddings, a hidden layer on
    top: Hidden), trained by `make train` (knowledge/train.py);
    `accept` is the probability from which an entry is given as the answer, chosen in training
    so that questions of held-out FAQ sets get a wrong entry at most 1 time in 100."""

    dense: tuple[float, ...]
    hashed: tuple[float, ...]
    accept: float
    stop: frozenset[str] = frozenset()  # tokens that carry no content (stop_tokens())
    metric: tuple[float, ...] = ()  # weights of metric_features() (ranking by embeddings)
    hidden: Hidden | None = None  # learned combinations of the dense and metric features

    def probability(self, x: PairFeatures) -> float:
        z = sum(w * v for w, v in zip(self.dense, x.dense, strict=True))
        z += sum(self.hashed[b] for b in x.buckets)
        if self.metric and x.metric is not None:
            z += float(self._metric @ x.metric)
            if self.hidden is not None:
                z += self.hidden.logit(x)
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))

    def weighs(self, dim: int) -> bool:
        """Whether this acceptor weighs metric_features() of vectors of this size."""
        if self.hidden is not None and self.hidden.inputs != len(self.dense) + 2 * dim:
            return False
        return len(self.metric) == 2 * dim

    @cached_property
    def _metric(self) -> Any:
        import numpy as np

        return np.asarray(self.metric, dtype=np.float32)

    def to_json(self) -> dict[str, Any]:
        return {
            "accept": round(self.accept, 4),
            "dense": [round(w, 4) for w in self.dense],
            "hashed": [round(w, 4) for w in self.hashed],
            "metric": [round(w, 4) for w in self.metric],
            "stop": sorted(self.stop),
            "hidden": self.hidden.to_json() if self.hidden is not None else None,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Acceptor:
        stop = frozenset(raw.get("stop", ()))
        metric = tuple(raw.get("metric", ()))
        hidden = Hidden.from_json(raw["hidden"]) if raw.get("hidden") else None
        return cls(
            tuple(raw["dense"]), tuple(raw["hashed"]), float(raw["accept"]), stop, metric, hidden
        )


def _bucket(gram: str) -> int:
    return zlib.crc32(gram.encode("utf-8")) % BUCKETS


@dataclass(frozen=True)
class FaqHit:
    entry_id: int
    score: float  # similarity, 0..1
    confidence: float  # the acceptor's probability that this entry answers the question
    why_not: tuple[str, ...]  # conflicts that forbid answering with it


def answered_text(question: str, answer: str) -> str:
    """What an entry's answer is compared with a question as: the answer after its question, so
    a terse answer (“6月30日24时。”, “可以。”) still reads as the answer to that question."""
    return f"{question} {answer}" if answer else ""


class FaqIndex:
    """The FAQ entries' questions and answers, embedded once (vectors kept by the caller in the
    database). An entry's answer is compared with the question too: it is evidence the entry
    answers it (tickets not yet answered have none)."""

    @staticmethod
    def texts(entries: Iterable[tuple[int, str, str]]) -> list[str]:
        """The texts an index over these entries embeds (for the caller to read or keep)."""
        pairs = [(q, answered_text(q, a)) for _, q, a in entries]
        return [t for t in dict.fromkeys(t for pair in pairs for t in pair) if t]

    def __init__(
        self,
        entries: Iterable[tuple[int, str, str]],
        embedder: Embedder | None,
        vectors: Mapping[str, Any] | None = None,
        acceptor: Acceptor | None = None,
    ) -> None:
        """entries: (id, question, answer or ""); vectors: stored embeddings by text."""
        self.ids: list[int] = []
        self.questions: list[str] = []
        self.answered: list[str] = []  # answered_text() of each entry, "" where none
        for entry_id, question, answer in entries:
            self.ids.append(entry_id)
            self.questions.append(question)
            self.answered.append(answered_text(question, answer))
        self._asked: dict[int, Asked] = {}
        self._grams: dict[int, set[str]] = {}
        self._answer_grams: dict[int, set[str]] = {}
        self._content: dict[int, frozenset[str]] = {}
        self.embedder = embedder
        self.acceptor = acceptor or load_acceptor(embedder is not None)
        self.matrix: Any = None
        self.answer_matrix: Any = None
        if embedder is not None and self.ids:
            import numpy as np

            known = dict(vectors or {})
            texts = dict.fromkeys(self.questions + [a for a in self.answered if a])
            missing = [t for t in texts if t not in known]
            if missing:
                known.update(zip(missing, embedder.embed(missing), strict=True))
            self.matrix = np.stack(
                [np.asarray(known[t], dtype=np.float32) for t in self.questions]
            )
            zero = np.zeros_like(self.matrix[0])  # no answer: _answer_score() never reads it
            self.answer_matrix = np.stack(
                [np.asarray(known[t], dtype=np.float32) if t else zero for t in self.answered]
            )
        # With one entry there is no next one to lead: lead over what unrelated questions score.
        self.baseline = UNRELATED_COSINE if self.matrix is not None else 0.0

    def asked(self, i: int) -> Asked:
        """What entry i asks (read when first needed: most entries are never near a question)."""
        if i not in self._asked:
            self._asked[i] = asked(self.questions[i])
        return self._asked[i]

    def grams(self, i: int) -> set[str]:
        if i not in self._grams:
            self._grams[i] = bigrams(self.questions[i])
        return self._grams[i]

    def content(self, i: int) -> frozenset[str]:
        if i not in self._content:
            self._content[i] = content_grams(self.questions[i], self.acceptor.stop)
        return self._content[i]

    def use(self, acceptor: Acceptor) -> None:
        """Accept with another acceptor (training: each held-out set's own)."""
        self.acceptor = acceptor
        self._content.clear()

    def features(self, question: str, k: int) -> list[tuple[int, float, PairFeatures, Asked]]:
        """(position, similarity, acceptor features, what the entry asks) of the k most alike
        entries, best first."""
        vector = self._vector(question)
        ranked = self._rank(question, vector, max(k + 1, ANSWER_PEERS))
        q, grams = asked(question), bigrams(question)
        content = content_grams(question, self.acceptor.stop)
        peers = [i for i, _ in ranked[:ANSWER_PEERS]]
        weighs = vector is not None and self.acceptor.weighs(len(vector))
        out = []
        for n, (i, score) in enumerate(ranked[:k]):
            following = ranked[n + 1][1] if n + 1 < len(ranked) else self.baseline
            x = pair_features(
                score,
                score - following,
                q,
                self.asked(i),
                grams,
                self.grams(i),
                content,
                self.content(i),
                self.answer_evidence(i, grams, vector, peers),
                (vector, self.matrix[i]) if weighs else None,
            )
            out.append((i, score, x, q))
        return out

    def evidence(self, question: str, i: int) -> tuple[float, float] | None:
        """answer_evidence() of a question about entry i (training pairs one entry's
        rewordings with each other)."""
        vector = self._vector(question)
        peers = [j for j, _ in self._rank(question, vector, ANSWER_PEERS)]
        return self.answer_evidence(i, bigrams(question), vector, peers)

    def answer_evidence(
        self, i: int, grams: set[str], vector: Any, peers: Iterable[int]
    ) -> tuple[float, float] | None:
        """How alike a question (its character pairs, its vector or None) is to entry i's
        answer, and its lead there over the answers of the peers (the ANSWER_PEERS entries most
        alike to the question); None where entry i has no answer."""
        mine = self._answer_score(i, grams, vector)
        if mine is None:
            return None
        scores = (self._answer_score(j, grams, vector) for j in peers if j != i)
        others = [s for s in scores if s is not None]
        return mine, mine - max(others, default=self.baseline)

    def _vector(self, question: str) -> Any:
        if self.matrix is None or self.embedder is None:
            return None
        return self.embedder.embed([question])[0]

    def _answer_score(self, i: int, grams: set[str], vector: Any) -> float | None:
        """How alike the question is to entry i's answer (None: the entry has none)."""
        if not self.answered[i]:
            return None
        if vector is not None:
            return float(self.answer_matrix[i] @ vector)
        if i not in self._answer_grams:
            self._answer_grams[i] = bigrams(self.answered[i])
        return dice(grams, self._answer_grams[i])

    def rank(self, question: str, k: int = 5) -> list[tuple[int, float]]:
        """(position, similarity) of the k most alike entries, best first."""
        return self._rank(question, self._vector(question), k)

    def _rank(self, question: str, vector: Any, k: int) -> list[tuple[int, float]]:
        if not self.ids:
            return []
        if vector is not None:
            scores = self.matrix @ vector
            order = scores.argsort()[::-1][:k]
            return [(int(i), float(scores[i])) for i in order]
        grams = bigrams(question)
        return [(i, dice(grams, self.grams(i))) for i in self.words.top(grams, k)]

    @cached_property
    def words(self) -> WordRanking:
        """Ranking by shared wording, built when first needed (never with embeddings)."""
        return WordRanking(self.grams(i) for i in range(len(self.ids)))

    def hits(self, question: str, k: int = 5) -> list[FaqHit]:
        """The k most alike entries with the acceptor's confidence and any conflicts."""
        out = []
        for i, score, x, q in self.features(question, k):
            confidence = self.acceptor.probability(x)
            out.append(FaqHit(self.ids[i], score, confidence, tuple(conflicts(q, self.asked(i)))))
        return out

    def candidates(self, question: str, k: int) -> list[tuple[PairFeatures, int]]:
        """(acceptor features, entry id) of the k most alike entries: training pairs."""
        return [(x, self.ids[i]) for i, _, x, _ in self.features(question, k)]

    def answer(self, question: str) -> FaqHit | None:
        """The entry that answers the question, or None: only the top one, only when sure."""
        hits = self.hits(question, 1)
        if hits and not hits[0].why_not and hits[0].confidence >= self.acceptor.accept:
            return hits[0]
        return None

    def similar(self, question: str, k: int = 3, *, strict: bool = False) -> list[FaqHit]:
        """The k most alike entries worth offering as related; strict: alike enough to be put
        in one group with the question (GROUP_FLOOR)."""
        embedded = self.matrix is not None
        if strict:
            floor = GROUP_FLOOR if embedded else GROUP_FLOOR_WORDS
            return [h for h in self.hits(question, k) if h.score >= floor]
        hits = self.hits(question, k)
        floor = SIMILAR_FLOOR if embedded else SIMILAR_FLOOR_WORDS
        if embedded and hits:
            floor = max(floor, hits[0].score - SIMILAR_WINDOW)
        return [h for h in hits if h.score >= floor]

    def groups(self) -> list[list[int]]:
        """The entries put in groups that ask the same thing (ids, each group in the entries'
        order): an entry joins the first group whose first entry it is similar to (the floor of
        similar()) and asks nothing different from. Singletons included."""
        scores = self.matrix @ self.matrix.T if self.matrix is not None else None

        def alike(a: int, b: int) -> bool:
            if scores is not None:
                return float(scores[a, b]) >= GROUP_FLOOR
            return dice(self.grams(a), self.grams(b)) >= GROUP_FLOOR_WORDS

        heads: list[int] = []
        members: dict[int, list[int]] = {}
        for i in range(len(self.ids)):
            for head in heads:
                if alike(i, head) and not conflicts(self.asked(i), self.asked(head)):
                    members[head].append(i)
                    break
            else:
                heads.append(i)
                members[i] = [i]
        return [[self.ids[i] for i in members[h]] for h in heads]


def load_acceptor(embedded: bool) -> Acceptor:
    """The shipped acceptor for ranking by embeddings or by words."""
    data = resources.files("knowledge").joinpath("data", MODEL_FILE)
    if data.is_file():
        raw = json.loads(data.read_text(encoding="utf-8"))
        with contextlib.suppress(KeyError, TypeError):  # a file from before `make train`
            acceptor = Acceptor.from_json(raw["embeddings" if embedded else "words"])
            # Else trained on other features.
            if len(acceptor.dense) == DENSE and len(acceptor.hashed) == HASHED:
                return acceptor
    # Untrained: answer only near-identical questions.
    dense = (-40.0, 45.0, *[0.0] * (DENSE - 2))
    return Acceptor(dense, (0.0,) * HASHED, 0.99)


def bigrams(text: str) -> set[str]:
    s = re.sub(r"\s+", "", normalize(text))
    return {s[i : i + 2] for i in range(len(s) - 1)} or {s}


def dice(a: AbstractSet[str], b: AbstractSet[str]) -> float:
    return 2 * len(a & b) / max(1, len(a) + len(b))
