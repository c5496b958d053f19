"""Sets of words ranked by Dice, computed by rapidfuzz: FAQ questions by their character pairs
when there are no sentence embeddings.

Dice of two sets is 2·|A∩B| / (|A|+|B|). rapidfuzz's Indel similarity of two sequences is
2·LCS / (len a + len b), and the longest common subsequence of two sorted sequences without
repeats is their intersection: so Indel over each set's members, as sorted ids, ranks exactly as
Dice does — the same order as a Python loop over every entry, in C (bench/fuzzy.py, 5,000
entries: 0.9 ms a question instead of 6.9 ms). A candidate stage of rapidfuzz's own scorers
(fuzz.ratio, its best 50 or 200 re-ranked by Dice) was measured too and lost the first entry
for 1 question in 15 (best 50) or 1 in 33 (best 200).
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet

from rapidfuzz import process
from rapidfuzz.distance import Indel


class WordRanking:
    """The entries' sets as strings of sorted member ids, built once per FAQ index."""

    def __init__(self, entries: Iterable[AbstractSet[str]]) -> None:
        self._ids: dict[str, int] = {}
        self._rows = [self._encode(words, grow=True) for words in entries]

    def _encode(self, words: AbstractSet[str], grow: bool = False) -> str:
        # One character per member id, so rapidfuzz compares strings (lists of ids took three
        # times as long); a member no entry has gets an id past theirs: it counts in the length.
        codes = []
        unknown = len(self._ids)
        for word in words:
            if grow and word not in self._ids:
                self._ids[word] = len(self._ids)
            if word in self._ids:
                codes.append(_char(self._ids[word]))
            else:
                codes.append(_char(unknown))
                unknown += 1
        return "".join(sorted(codes))

    def top(self, words: AbstractSet[str], k: int) -> list[int]:
        """Positions of the k entries with the highest Dice, best first; ties in the entries'
        order."""
        found = process.extract(
            self._encode(words), self._rows, scorer=Indel.normalized_similarity,
            processor=None, limit=k,
        )  # fmt: skip
        return [i for _, _, i in found]


def _char(n: int) -> str:
    """The n-th character that is not a surrogate (a str cannot hold one alone)."""
    return chr(n if n < 0xD800 else n + 0x800)
