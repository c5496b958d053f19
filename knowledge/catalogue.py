"""Parse the 赛题 catalogue (seeds/) into tracks and problems."""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

CN_DIGITS = "零一二三四五六七八九"
# The formal numerals of cheques and contracts (壹贰叁), traditional and simplified.
_FINANCIAL = str.maketrans("壹贰貳叁參肆伍陆陸柒捌玖拾", "一二二三三四五六六七八九十")
# The title line names the document ("…大赛湖北分赛赛题"); the contest is what precedes 赛题.
CONTEST_SUFFIX = re.compile(r"\s*的?赛题(?:目录|清单|列表|汇总)?\s*$")
MAX_CONTEST_NAME = 40  # longer, or with a comma, is a sentence of the introduction
SEED_FILE = "000_c55d04f814cc1abd.txt"  # in the `seeds` package, beside its .vocab.yaml


def bundled_seed() -> Path:
    """The shipped catalogue, package data of `seeds`. pip installs packages as files, so
    importlib.resources hands back a path, and the vocabulary file beside it is found by name."""
    found = resources.files("seeds").joinpath(SEED_FILE)
    if not isinstance(found, Path):  # a zipped install: nothing here reads seeds from a zip
        raise RuntimeError(f"the seeds package is not installed as files: {found}")
    return found


DEFAULT_SEED = bundled_seed()


class CatalogueError(ValueError):
    """The seed document does not have the shape of the catalogue."""

    def __init__(self, line_no: int, line: str, reason: str) -> None:
        super().__init__(f"line {line_no}: {reason}: {line!r}")
        self.line_no = line_no


@dataclass(frozen=True)
class Track:
    id: str  # "1".."8"
    ordinal: str  # 一..八
    name: str  # 工业制造
    heading: str  # 赛道一：数据要素×工业制造


@dataclass(frozen=True)
class Problem:
    id: str  # "3-4"
    track_id: str
    number: int
    title: str
    description: str


@dataclass(frozen=True)
class Catalogue:
    title: str
    intro: str
    tracks: tuple[Track, ...]
    problems: tuple[Problem, ...]

    @property
    def contest(self) -> str:
        """The contest's name, from the title line without its trailing 赛题
        ("2024年“数据要素×”大赛湖北分赛赛题" → "2024年“数据要素×”大赛湖北分赛"); "" when the
        catalogue has no such line, so that a text says 本次大赛 rather than something odd."""
        name = CONTEST_SUFFIX.sub("", self.title).strip()
        sentence = len(name) > MAX_CONTEST_NAME or re.search(r"[，。；,;]", name)
        return name if "赛" in name and not sentence else ""

    def track(self, track_id: str) -> Track | None:
        return next((t for t in self.tracks if t.id == track_id), None)

    def problem(self, problem_id: str) -> Problem | None:
        return next((p for p in self.problems if p.id == problem_id), None)

    def problems_of(self, track_id: str) -> list[Problem]:
        return [p for p in self.problems if p.track_id == track_id]


def chinese_number(text: str) -> int | None:
    """Value of a small number written in Arabic or Chinese numerals (一, 十二, 二十, 3)."""
    text = unicodedata.normalize("NFKC", text).strip()
    if text.isdigit():
        return int(text)
    text = text.replace("两", "二").replace("〇", "零").translate(_FINANCIAL)
    if not text or any(ch not in CN_DIGITS + "十" for ch in text):
        return None
    if "十" not in text:
        return CN_DIGITS.index(text) if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return None
    value = (CN_DIGITS.index(tens) if tens else 1) * 10
    return value + (CN_DIGITS.index(ones) if ones else 0)


def _clean(line: str) -> str:
    # Ideographic and other odd spaces collapse; the text itself stays as published.
    return re.sub(r"\s+", " ", line).strip()


_NUM = r"([0-9０-９]+|[零一二两三四五六七八九十]+)"
TRACK_RE = re.compile(rf"^赛道\s*{_NUM}\s*[:：]\s*(.+)$")
PROBLEM_RE = re.compile(rf"^赛题\s*{_NUM}\s*[:：]\s*(.+)$")


def _track_name(rest: str) -> str:
    # "数据要素×工业制造": the name is what follows the multiplication sign.
    return re.split(r"[×xX*＊]", rest, maxsplit=1)[-1].strip()


def parse_catalogue(text: str) -> Catalogue:
    """Parse the catalogue text; raise CatalogueError naming the offending line."""
    text = text.removeprefix("\ufeff")  # a byte-order mark, as Windows editors save
    tracks: list[Track] = []
    problems: list[Problem] = []
    heading_lines: dict[str, int] = {}  # track or problem id → its line, for later errors
    preamble: list[str] = []
    body: list[str] = []
    current: tuple[str, int, str] | None = None  # (track id, number, title)

    def close_problem() -> None:
        nonlocal current, body
        if current is not None:
            track_id, number, title = current
            description = "\n".join(body).strip()
            problems.append(Problem(f"{track_id}-{number}", track_id, number, title, description))
        current, body = None, []

    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = _clean(raw)
        if not line:
            continue
        if m := TRACK_RE.match(line):
            close_problem()
            number = chinese_number(m.group(1))
            name = _track_name(m.group(2))
            if number is None or number != len(tracks) + 1 or not name:
                raise CatalogueError(line_no, raw, f"expected 赛道{len(tracks) + 1}")
            heading = f"赛道{CN_DIGITS[number]}：{m.group(2).strip()}"
            tracks.append(Track(str(number), CN_DIGITS[number], name, heading))
            heading_lines[str(number)] = line_no
        elif m := PROBLEM_RE.match(line):
            close_problem()
            if not tracks:
                raise CatalogueError(line_no, raw, "赛题 before any 赛道")
            number = chinese_number(m.group(1))
            track_id = tracks[-1].id
            expected = sum(p.track_id == track_id for p in problems) + 1
            if number != expected:
                raise CatalogueError(line_no, raw, f"expected 赛题{expected}")
            current = (track_id, number, m.group(2).strip())
            heading_lines[f"{track_id}-{number}"] = line_no
        elif line.startswith(("赛道", "赛题")) and len(line) < 60:
            raise CatalogueError(line_no, raw, "a heading without its number or colon")
        elif current is not None:
            body.append(line)
        elif tracks:
            raise CatalogueError(line_no, raw, "text between a 赛道 heading and its first 赛题")
        else:
            preamble.append(line)
    close_problem()

    if not tracks:
        raise CatalogueError(1, text[:40], "no 赛道 heading found")
    for track in tracks:
        if not any(p.track_id == track.id for p in problems):
            raise CatalogueError(heading_lines[track.id], track.heading, "a 赛道 without any 赛题")
    for problem in problems:
        if not problem.description:
            line_no = heading_lines[problem.id]
            raise CatalogueError(line_no, problem.title, f"赛题 {problem.id} has no description")
    title = next((line for line in preamble if "赛题" in line), preamble[0] if preamble else "")
    intro = "\n".join(line for line in preamble if len(line) > 40)
    return Catalogue(title, intro, tuple(tracks), tuple(problems))


def seed_path_from_env() -> Path:
    """CONTEST_BOT_SEED (another catalogue in the same format), or the bundled seed."""
    value = os.environ.get("CONTEST_BOT_SEED", "").strip()
    return Path(value) if value else DEFAULT_SEED


def load_seed(path: Path = DEFAULT_SEED) -> Catalogue:
    """Read and parse a seed file."""
    return parse_catalogue(path.read_text(encoding="utf-8"))
