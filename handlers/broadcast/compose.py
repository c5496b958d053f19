"""Reading /broadcast: its options (`at`, `team`, `cancel`) and its body as Telegram HTML."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from telegram import Message, MessageEntity

from bot.telegram_text import MAX_TEXT_LENGTH, EntityParseError, parse_html, utf16_len
from knowledge.texts import tr

# Formatting an organizer applied in their Telegram client: PTB's text_html renders these.
FORMATTING = {
    MessageEntity.BOLD, MessageEntity.ITALIC, MessageEntity.UNDERLINE,
    MessageEntity.STRIKETHROUGH, MessageEntity.SPOILER, MessageEntity.CODE, MessageEntity.PRE,
    MessageEntity.TEXT_LINK, MessageEntity.TEXT_MENTION, MessageEntity.BLOCKQUOTE,
    MessageEntity.EXPANDABLE_BLOCKQUOTE, MessageEntity.CUSTOM_EMOJI,
}  # fmt: skip

_COMMAND = re.compile(r"^/\w+(?:@\w+)?")
_OPTION = re.compile(
    r"\s+(?:at\s+(?P<date>\d{4}-\d{1,2}-\d{1,2})[ T](?P<time>\d{1,2}:\d{2})"
    r"|team\s+(?:\"(?P<quoted>[^\"\n]+)\"|「(?P<bracketed>[^」\n]+)」|(?P<team>\S+))"
    r"|cancel\s+#?(?P<cancel>\d+))(?=\s|$)",
    flags=re.IGNORECASE,
)


@dataclass(frozen=True)
class Composition:
    """What /broadcast asked for: options, and the body (plain text and where it starts)."""

    at: tuple[str, str] | None
    team: str | None
    cancel: int | None
    body: str
    body_start: int


def parse_command(text: str) -> Composition:
    """Split `/broadcast [at D T] [team 名称] 文本` into options and body."""
    command = _COMMAND.match(text)
    pos = command.end() if command else 0
    at: tuple[str, str] | None = None
    team: str | None = None
    cancel: int | None = None
    while m := _OPTION.match(text, pos):
        if m.group("date"):
            at = (m.group("date"), m.group("time"))
        elif m.group("cancel"):
            cancel = int(m.group("cancel"))
        else:
            team = m.group("quoted") or m.group("bracketed") or m.group("team")
        pos = m.end()
    start = pos + (len(text[pos:]) - len(text[pos:].lstrip()))
    return Composition(at, team, cancel, text[start:].rstrip(), start)


def checked_html(text: str) -> str | None:
    """Why Telegram would refuse this HTML (parsed the way Telegram parses it), or None."""
    try:
        plain, _ = parse_html(text)
    except EntityParseError as exc:
        return str(exc)
    if not plain.strip():
        return tr("zh", "broadcast.empty")
    if utf16_len(plain) > MAX_TEXT_LENGTH:
        return tr("zh", "broadcast.too_long", n=utf16_len(plain), limit=MAX_TEXT_LENGTH)
    return None


def body_html(message: Message, composition: Composition) -> str:
    """The announcement as HTML: the organizer's own formatting kept, everything else escaped.
    Text typed with HTML tags is taken as HTML only when Telegram would accept it."""
    body = composition.body
    entities = message.entities or ()
    if any(e.type in FORMATTING for e in entities):
        prefix = html.escape((message.text or "")[: composition.body_start])
        full = message.text_html
        if full.startswith(prefix):
            return full[len(prefix) :].strip()
    if re.search(r"</?[a-zA-Z][^>]*>", body) and checked_html(body) is None:
        return body
    return html.escape(body)


def parse_at(date: str, time_of_day: str, tz: str) -> datetime | None:
    """`2024-06-01 09:00` in the configured time zone, as an aware UTC datetime."""
    try:
        local = datetime.strptime(f"{date} {time_of_day}", "%Y-%m-%d %H:%M")
    except ValueError:
        return None
    return local.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
