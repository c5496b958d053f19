"""Text normalization: width, traditional characters, case, punctuation, emoji, spacing."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc
from pypinyin import Style, lazy_pinyin

_T2S = opencc.OpenCC("t2s")

# Kept through normalization because references use them: 3-4, 3.4, 3/4, 3_4.
_KEEP = set("-./_")


def _is_word_char(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return (cat[0] in "LN" and cat != "Nl") or ch in _KEEP


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """Fold width, traditional→simplified, case; punctuation, emoji and odd spaces → one space."""
    # A lone surrogate (only a forged update can carry one) would make OpenCC raise.
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = unicodedata.normalize("NFKC", text)
    text = _T2S.convert(text).lower()
    # Zero-width and control characters vanish; everything else that is not a letter or digit
    # (punctuation, symbols, emoji) separates words.
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in ("Cf", "Cc", "Mn", "Me"):
            continue
        if cat == "Pd":  # every dash (–, —, ‒, －) is the hyphen of 3-4
            ch = "-"
        out.append(ch if _is_word_char(ch) else " ")
    return re.sub(r"\s+", " ", "".join(out)).strip()


def is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


@lru_cache(maxsize=65536)
def char_pinyin(ch: str) -> str:
    """Toneless pinyin of one Chinese character (its most common reading)."""
    return lazy_pinyin(ch, style=Style.NORMAL)[0] if is_cjk(ch) else ch


def pinyin_of(text: str) -> list[str]:
    """Toneless pinyin per character (each character's most common reading; others as is).

    Questions and catalogue go through the same function, so a reading is compared with the
    same reading; by character it is fast and cached."""
    return [char_pinyin(ch) for ch in text]
