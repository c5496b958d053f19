"""One table of what the bot says (knowledge/texts.py): every text in Chinese, English beside
it where there is English, the same values in both, valid Telegram HTML, and every key the code
asks for is in the table and every key in the table is asked for."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from bot.app import COMMANDS
from bot.telegram_text import parse_html
from knowledge.texts import TEXTS, lead, tr

ROOT = Path(__file__).resolve().parent.parent
KEYS = sorted(TEXTS)
# Texts whose languages take different values: 赛道三 counts in Chinese, Track 3 in digits (the
# welcome's examples too, and only Chinese names a track by its Chinese name).
OWN_VALUES = {"reply.track_label", "reply.help"}


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", KEYS)
def test_every_text_is_chinese_first_with_the_same_values_in_english(key: str) -> None:
    texts = TEXTS[key]
    assert next(iter(texts)) == "zh" and set(texts) <= {"zh", "en"}
    if key not in OWN_VALUES:
        assert len({frozenset(_fields(t)) for t in texts.values()}) == 1, "values differ"


@pytest.mark.parametrize("key", KEYS)
def test_every_text_is_telegram_html(key: str) -> None:
    """With its values filled in, Telegram accepts it (a `<` of the text itself is &lt;)."""
    for lang, template in TEXTS[key].items():
        text = tr(lang, key, **dict.fromkeys(_fields(template), "1"))
        parse_html(text)  # raises EntityParseError like Telegram's "can't parse entities"


def test_tr_falls_back_to_chinese_and_fills_in_values() -> None:
    assert tr("en", "tickets.claimed", id=7) == tr("zh", "tickets.claimed", id=7) == "已认领 #7"
    assert tr("fr", "nav.home") == tr("zh", "nav.home")
    assert tr("en", "nav.home") != tr("zh", "nav.home")


def test_lead_is_how_a_text_begins_as_people_read_it() -> None:
    assert lead("zh", "tickets.post_title") == "🆕 问题 #"


def _asked_for() -> dict[str, list[str]]:
    """Every key the production code names (in a tr call, or as a string a tr call is given)."""
    found: dict[str, list[str]] = {}
    for pkg in ("bot", "handlers", "knowledge"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            where = path.relative_to(ROOT).as_posix()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("tr", "lead"):
                    # the key given to tr(lang, key): every string in it, as written
                    given = node.args[1] if len(node.args) > 1 else None
                    written = [] if isinstance(given, ast.JoinedStr | None) else ast.walk(given)
                    for part in written:  # (an f-string key is checked where it is built)
                        if isinstance(part, ast.Constant) and isinstance(part.value, str):
                            found.setdefault(part.value, []).append(f"{where}:{node.lineno}")
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    key = node.value
                    if (
                        _KEY.fullmatch(key)
                        and key.split(".")[0] in _ROOMS
                        and "." + key.split(".")[1] not in _FILES
                    ):
                        found.setdefault(key, []).append(f"{where}:{node.lineno}")
    return found


_ROOMS = {key.split(".")[0] for key in TEXTS}
_KEY = re.compile(r"[a-z]+\.[a-z_]+")
_FILES = {".png", ".csv", ".json", ".py", ".db", ".txt"}  # stats.png is a file, not a text


def test_every_key_the_code_names_is_in_the_table() -> None:
    unknown = {k: v for k, v in _asked_for().items() if k not in TEXTS}
    assert unknown == {}


def test_every_text_in_the_table_is_used() -> None:
    named = set(_asked_for()) | {f"commands.{name}" for name in COMMANDS}
    assert sorted(set(TEXTS) - named) == []
