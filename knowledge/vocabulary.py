"""What one catalogue's tracks are called: derived from the catalogue, plus a data file beside it.

Short forms people type (交运, 文旅, 乡振, 交通, jtys) come from the track names themselves, so
another catalogue of the same format needs no code change. Names that cannot be derived (农业 for
乡村振兴, "rural" for track 8) live in `<seed>.vocab.yaml` next to the seed: data, not code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knowledge.catalogue import Catalogue
from knowledge.lexicon import DOMAIN_WORDS_EN
from knowledge.normalize import normalize, pinyin_of

# A half of a track's name that many other tracks' problems use (服务 of 金融服务) names no track.
MAX_FOREIGN_SHARE = 0.2


@dataclass(frozen=True)
class Vocabulary:
    """Names of the tracks (full name first) in Chinese and in English, and their sounds."""

    track_aliases: dict[str, tuple[str, ...]]
    track_aliases_en: dict[str, tuple[str, ...]] = field(default_factory=dict)
    glossary: dict[str, str] = field(default_factory=dict)  # catalogue-specific words

    @property
    def name_sounds(self) -> dict[tuple[str, ...], str]:
        """The pinyin of every Chinese name of two characters or more: 医僚 sounds like 医疗."""
        return {
            tuple(pinyin_of(alias)): alias
            for aliases in self.track_aliases.values()
            for alias in aliases
            if len(alias) >= 2 and not alias.isascii()
        }


def derive(catalogue: Catalogue) -> Vocabulary:
    """Track short forms from the names: halves that are this track's own words, first
    characters of the halves (交通运输 → 交运), pinyin initials (jtys); English names from the
    bilingual glossary's words for the halves."""
    texts = {p.id: normalize(p.title + p.description) for p in catalogue.problems}
    n = max(1, len(texts))
    zh: dict[str, tuple[str, ...]] = {}
    en: dict[str, tuple[str, ...]] = {}
    for track in catalogue.tracks:
        name = normalize(track.name)
        names = [name]
        if len(name) == 4:
            halves = [name[:2], name[2:]]
            for half in halves:
                foreign = sum(
                    1
                    for pid, text in texts.items()
                    if half in text and not pid.startswith(f"{track.id}-")
                )
                if foreign / n <= MAX_FOREIGN_SHARE:
                    names.append(half)
            names.append(name[0] + name[2])
        initials = "".join(s[0] for s in pinyin_of(name) if s)
        if len(initials) >= 3 and initials.isascii():
            names.append(initials)
        zh[track.id] = tuple(dict.fromkeys(names))
        english = [w for part in (name, name[:2], name[2:]) for w in DOMAIN_WORDS_EN.get(part, ())]
        en[track.id] = tuple(dict.fromkeys(english))
    return Vocabulary(zh, en)


def vocabulary_file(seed: Path) -> Path:
    return seed.with_suffix(".vocab.yaml")


def load_vocabulary(catalogue: Catalogue, seed: Path | None) -> Vocabulary:
    """The derived names, extended by the data file beside the seed when there is one."""
    derived = derive(catalogue)
    path = vocabulary_file(seed) if seed is not None else None
    if path is None or not path.is_file():
        return derived
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}

    def merged(base: dict[str, tuple[str, ...]], extra: Any) -> dict[str, tuple[str, ...]]:
        out = dict(base)
        for track_id, names in dict(extra or {}).items():
            out[str(track_id)] = tuple(
                dict.fromkeys([*out.get(str(track_id), ()), *map(str, names)])
            )
        return out

    return Vocabulary(
        merged(derived.track_aliases, data.get("track_aliases")),
        merged(derived.track_aliases_en, data.get("track_aliases_en")),
        {str(k): str(v) for k, v in dict(data.get("glossary") or {}).items()},
    )
