"""What a question asks for, learned from many labelled questions rather than listed by hand.

The rules of the matcher stay where they are exact (numbers, ids, track names, catalogue
phrases); this model reads everything else: the words around them. A question is turned into
features that hold for any catalogue — the matcher's own verdict, how much of the question the
catalogue explains, which references it makes, and character n-grams of the question with every
reference and every catalogue-specific phrase replaced by a symbol (Ⓟ problem, Ⓣ track,
Ⓒ catalogue phrase). A linear model over them (multinomial logistic regression, trained by
`make train` into knowledge/data/intent_model.json) picks the intent. Pure Python at run time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

INTENT_LABELS = ("escalate", "help", "problem", "search", "track", "tracks")
MODEL_FILE = "intent_model.json"


@dataclass(frozen=True)
class Signals:
    """What the rules found in a question, the raw material of its features."""

    rule_intent: str
    rule_note: str
    masked: str  # normalized question, references and catalogue phrases as symbols
    coverage: float  # share of the question the catalogue explains
    top: float  # best problem score
    gap: float  # best minus second-best problem score
    terms: int  # catalogue phrases found
    ref: str  # "problem", "track", "name" or ""
    refs: int  # how many problem references the question makes


def _bin(value: float, edges: Sequence[float]) -> int:
    return sum(value >= e for e in edges)


def features(s: Signals) -> list[str]:
    """The sparse binary features of a question (names of the features that are on)."""
    note = s.rule_note.split(":")[0]
    out = [
        "bias",
        f"r={s.rule_intent}",
        f"n={note}",
        f"r={s.rule_intent}|n={note}",
        f"cov={_bin(s.coverage, (0.01, 0.3, 0.5, 0.7, 0.9))}",
        f"top={_bin(s.top, (0.01, 0.34, 0.5, 0.7, 0.9))}",
        f"gap={_bin(s.gap, (0.01, 0.1, 0.2, 0.4))}",
        f"terms={min(s.terms, 4)}",
        f"ref={s.ref}",
        f"refs={min(s.refs, 3)}",
        f"r={s.rule_intent}|ref={s.ref}",
        f"r={s.rule_intent}|cov={_bin(s.coverage, (0.5, 0.9))}",
    ]
    text = s.masked
    chars = [ch for ch in text if not ch.isascii() or ch in "ⓅⓉⒸ"]
    ascii_words = "".join(ch if ch.isascii() and ch.isalnum() else " " for ch in text).split()
    cjk = "".join(chars)
    out.append(f"len={_bin(len(cjk), (1, 4, 8, 16, 32, 64))}")
    out.append(f"en={_bin(len(ascii_words), (1, 3, 6))}|zh={_bin(len(cjk), (1, 4))}")
    padded = f"^{cjk}$"
    for n in (1, 2, 3):
        for i in range(len(padded) - n + 1):
            out.append("c:" + padded[i : i + n])
    words = ["^", *ascii_words, "$"]
    for i, w in enumerate(words):
        if w not in "^$":
            out.append("w:" + w)
        if i + 1 < len(words):
            out.append("ww:" + w + " " + words[i + 1])
    return out


class IntentModel:
    """Weights per feature and intent; scores are a sum, probabilities a softmax."""

    def __init__(self, labels: Sequence[str], weights: dict[str, list[float]]) -> None:
        self.labels = tuple(labels)
        self.weights = weights

    @classmethod
    def load(cls, path: Path | None = None) -> IntentModel | None:
        """The shipped model (package data), or the one at path; None when there is none."""
        if path is not None:
            text = path.read_text(encoding="utf-8")
        else:
            data = resources.files("knowledge").joinpath("data", MODEL_FILE)
            if not data.is_file():
                return None
            text = data.read_text(encoding="utf-8")
        raw = json.loads(text)
        return cls(raw["labels"], raw["weights"])

    def save(self, path: Path, meta: dict[str, object]) -> None:
        rounded = {f: [round(w, 4) for w in ws] for f, ws in sorted(self.weights.items())}
        payload = {"labels": list(self.labels), "meta": meta, "weights": rounded}
        path.write_text(json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n")

    def probabilities(self, names: Iterable[str]) -> dict[str, float]:
        scores = [0.0] * len(self.labels)
        for name in set(names):
            row = self.weights.get(name)
            if row is not None:
                for k, w in enumerate(row):
                    scores[k] += w
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return {label: e / total for label, e in zip(self.labels, exps, strict=True)}

    def predict(self, names: Iterable[str]) -> tuple[str, float]:
        probs = self.probabilities(names)
        label = max(probs, key=lambda k: probs[k])
        return label, probs[label]
