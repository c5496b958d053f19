"""Formatted text as TDLib handles it: MarkdownV2 parsing, entity clean-up
(fix_formatted_text), automatic entities, and rendering back to canonical HTML.

HTML parsing, UTF-16 lengths and Telegram's limits are bot/telegram_text.py, which the bot
shares."""

from __future__ import annotations

import html
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.sandbox.emulator.errors import ApiError, bad_request
from bot.sandbox.emulator.model import JSON
from bot.telegram_text import (
    EntityParseError,
    Span,
    byte_offset,
    checked_link,
    is_space,
    parse_html,
)

# Entities whose text is hidden data (kept even when they cover whitespace only).
_HIDDEN_DATA = frozenset({"text_link", "text_mention", "custom_emoji"})
# Entities that cannot contain auto-detected links, mentions or commands.
_CONTINUOUS = frozenset({"code", "pre", "text_link", "text_mention", "custom_emoji"})
_PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "mention": 50,
    "hashtag": 50,
    "cashtag": 50,
    "bot_command": 50,
    "url": 50,
    "email": 50,
    "phone_number": 50,
    "bank_card_number": 50,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}
ENTITY_TYPES = frozenset(_PRIORITY)


_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def parse_markdown_v2(text: str) -> tuple[str, list[Span]]:
    """Parse MarkdownV2 the way TDLib's parse_markdown_v2 does (blockquotes included)."""
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else "\0"

    out: list[str] = []
    spans: list[Span] = []
    nested: list[tuple[str, str, int, int]] = []  # type, argument, start in out, begin in text
    quote: tuple[str, int] | None = None  # blockquote type, start in out
    i = 0
    while i < n:
        c = text[i]
        in_code = bool(nested) and nested[-1][0] in ("code", "pre")
        if not in_code and (i == 0 or text[i - 1] == "\n"):
            if c == ">" or text.startswith("**>", i):
                if quote is None:
                    kind = "blockquote" if c == ">" else "expandable_blockquote"
                    quote = (kind, len(out))
                i += 1 if c == ">" else 3
                continue
            if quote is not None:
                end = len(out) - 1 if out and out[-1] == "\n" else len(out)
                if end > quote[1]:
                    spans.append(Span(quote[0], quote[1], end))
                quote = None
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.append(text[i + 1])
            i += 2
            continue
        if in_code and c != "`":
            out.append(c)
            i += 1
            continue
        if (
            quote is not None
            and quote[0] == "expandable_blockquote"
            and c == "|"
            and at(i + 1) == "|"
            and at(i + 2) in "\n\0"
            and not (nested and nested[-1][0] == "spoiler")
        ):
            spans.append(Span(quote[0], quote[1], len(out)))
            quote = None
            i += 2
            continue
        if c not in _MDV2_RESERVED:
            out.append(c)
            i += 1
            continue
        is_end = False
        if nested:
            kind = nested[-1][0]
            is_end = {
                "bold": c == "*",
                "italic": c == "_" and at(i + 1) != "_",
                "code": c == "`",
                "pre": c == "`" and at(i + 1) == "`" and at(i + 2) == "`",
                "text_link": c == "]",
                "underline": c == "_" and at(i + 1) == "_",
                "strikethrough": c == "~",
                "spoiler": c == "|" and at(i + 1) == "|",
                "custom_emoji": c == "]",
            }[kind]
        if not is_end:
            begin = i
            argument = ""
            if c == "_" and at(i + 1) == "_":
                kind, i = "underline", i + 1
            elif c == "_":
                kind = "italic"
            elif c == "*":
                kind = "bold"
            elif c == "~":
                kind = "strikethrough"
            elif c == "|" and at(i + 1) == "|":
                kind, i = "spoiler", i + 1
            elif c == "[":
                kind = "text_link"
            elif c == "`" and at(i + 1) == "`" and at(i + 2) == "`":
                kind = "pre"
                i += 3
                lang_end = i
                while not is_space(at(lang_end)) and at(lang_end) != "`":
                    lang_end += 1
                if i != lang_end and lang_end < n and at(lang_end) != "`":
                    argument = text[i:lang_end]
                    i = lang_end
                if at(i) in "\r\n" and i < n:
                    if at(i + 1) in "\r\n" and at(i) != at(i + 1):
                        i += 2
                    else:
                        i += 1
                nested.append((kind, argument, len(out), begin))
                continue
            elif c == "`":
                kind = "code"
            elif c == "!" and at(i + 1) == "[":
                kind, i = "custom_emoji", i + 1
            else:
                raise EntityParseError(
                    f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
                )
            nested.append((kind, argument, len(out), begin))
            i += 1
            continue
        kind, argument, start, begin = nested.pop()
        extra: dict[str, Any] = {}
        if kind in ("text_link", "custom_emoji"):
            url = ""
            if at(i + 1) == "(":
                url_begin = i + 1
                i += 2
                chars: list[str] = []
                while i < n and text[i] != ")":
                    if text[i] == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
                        chars.append(text[i + 1])
                        i += 2
                        continue
                    chars.append(text[i])
                    i += 1
                if at(i) != ")":
                    raise EntityParseError(
                        f"Can't find end of a URL at byte offset {byte_offset(text, url_begin)}"
                    )
                url = "".join(chars)
            elif kind == "text_link":
                url = "".join(out[start:])
            if kind == "custom_emoji":
                emoji = re.fullmatch(r"tg://emoji\?id=(\d+)", url)
                if not emoji:
                    raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
                extra = {"custom_emoji_id": emoji.group(1)}
            else:
                user = re.fullmatch(r"tg://user\?id=(\d+)", url.strip())
                checked = None if user else checked_link(url)
                if user:
                    kind, extra = "text_mention", {"user_id": int(user.group(1))}
                elif checked:
                    extra = {"url": checked}
                else:
                    kind = ""
        elif kind in ("underline", "spoiler"):
            i += 1
        elif kind == "pre":
            i += 2
            if argument:
                extra = {"language": argument}
        if kind and len(out) > start:
            spans.append(Span(kind, start, len(out), extra))
        i += 1
    if nested:
        kind, _, _, begin = nested[-1]
        raise EntityParseError(
            f"Can't find end of {_MDV2_NAMES[kind]} entity at byte offset "
            f"{byte_offset(text, begin)}"
        )
    if quote is not None and len(out) > quote[1]:
        spans.append(Span(quote[0], quote[1], len(out)))
    return "".join(out), spans


_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
    r"(?![A-Za-z0-9])"
)
_URL_RE = re.compile(
    r"(?<![\w@/.])(?:(?:https?|tg|ton)://[^\s<>\"']+|(?:www\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
    r"\.(?:com|org|net|me|io|cn|ru|dev|app|info|edu|gov)\b(?:/[^\s<>\"']*)?)",
    re.IGNORECASE,
)
_MENTION_RE = re.compile(r"(?<![A-Za-z0-9_@])@[A-Za-z0-9_]{3,32}(?![A-Za-z0-9_])")
_HASHTAG_RE = re.compile(r"(?<![\w#&])#\w*[^\W\d_]\w*")
_COMMAND_RE = re.compile(
    r"(?<![A-Za-z0-9_/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_/<>@])"
)
_URL_TRAILING = ".,;:!?)'\"»”）。，！？；："


def detect_entities(text: str) -> list[Span]:
    """Telegram's automatic entities: emails, URLs, mentions, hashtags and bot commands."""
    found: list[Span] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s.start or start >= s.end for s in found)

    for kind, pattern in (
        ("email", _EMAIL_RE),
        ("url", _URL_RE),
        ("mention", _MENTION_RE),
        ("hashtag", _HASHTAG_RE),
        ("bot_command", _COMMAND_RE),
    ):
        for match in pattern.finditer(text):
            start, end = match.span()
            if kind == "url":
                while end > start and text[end - 1] in _URL_TRAILING:
                    end -= 1
            if end > start and free(start, end):
                found.append(Span(kind, start, end))
    return found


_REMOVED_CHARS = frozenset("\r\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u0333\u033f\u030a")


def finalize_text(text: str, spans: list[Span], *, detect: bool = True) -> tuple[str, list[Span]]:
    """TDLib's fix_formatted_text: clean characters, trim, drop empty entities, add links."""
    kept: list[str] = []
    new_pos = [0] * (len(text) + 1)
    for index, ch in enumerate(text):
        new_pos[index] = len(kept)
        if ch in _REMOVED_CHARS:
            continue
        kept.append(" " if ch != "\n" and ord(ch) < 32 else ch)
    new_pos[len(text)] = len(kept)
    clean = "".join(kept)
    fixed: list[Span] = []
    for span in spans:
        start, end = new_pos[span.start], new_pos[span.end]
        if span.type not in _HIDDEN_DATA:
            while start < end and clean[start] in " \n":
                start += 1
        if end > start:
            fixed.append(Span(span.type, start, end, dict(span.extra)))
    end = len(clean.rstrip(" \n"))
    if end == 0:
        return "", []
    fixed = [Span(s.type, s.start, min(s.end, end), s.extra) for s in fixed if s.start < end]
    first_entity = min((s.start for s in fixed), default=end)
    lead = 0
    while lead < first_entity and clean[lead] in " \n":
        lead += 1
    result = clean[lead:end]
    fixed = [Span(s.type, s.start - lead, s.end - lead, s.extra) for s in fixed]
    if detect:
        blocked = [s for s in fixed if s.type in _CONTINUOUS]
        for auto in detect_entities(result):
            if all(auto.end <= b.start or auto.start >= b.end for b in blocked):
                fixed.append(auto)
    fixed.sort(key=lambda s: (s.start, -s.end, _PRIORITY.get(s.type, 100)))
    return result, fixed


def spans_from_entities(text: str, entities: list[JSON]) -> list[Span]:
    """Convert Bot API entities (UTF-16 offsets) to character spans, validating them."""
    boundaries: dict[int, int] = {}
    units = 0
    for index, ch in enumerate(text):
        boundaries[units] = index
        units += 2 if ord(ch) > 0xFFFF else 1
    boundaries[units] = len(text)
    spans: list[Span] = []
    for entity in entities:
        if not isinstance(entity, dict):
            raise bad_request("can't parse MessageEntity: expected an Object")
        kind = entity.get("type")
        offset, length = entity.get("offset"), entity.get("length")
        if not isinstance(kind, str) or kind not in ENTITY_TYPES:
            raise bad_request("can't parse MessageEntity: Unsupported type specified")
        if not isinstance(offset, int) or not isinstance(length, int) or offset < 0 or length < 0:
            raise bad_request('can\'t parse MessageEntity: Field "offset" must be a Number')
        start = boundaries.get(offset)
        end = boundaries.get(offset + length)
        if start is None or end is None:
            continue  # TDLib drops entities that do not fit the text
        extra = {k: v for k, v in entity.items() if k not in ("type", "offset", "length")}
        if kind == "text_link":
            checked = checked_link(str(extra.get("url", "")))
            if checked is None:
                url = extra.get("url", "")
                raise bad_request(f"entity URL '{url}' is invalid: Wrong HTTP URL")
            extra = {"url": checked}
        if kind == "text_mention":
            user = extra.get("user")
            user_id = user.get("id") if isinstance(user, dict) else None
            extra = {"user_id": int(user_id)} if isinstance(user_id, int) else {}
        spans.append(Span(kind, start, end, extra))
    return spans


def entities_json(
    text: str, spans: list[Span], users: Callable[[int], JSON | None] | None = None
) -> list[JSON]:
    """Character spans to Bot API entities with UTF-16 offsets."""
    prefix = [0]
    for ch in text:
        prefix.append(prefix[-1] + (2 if ord(ch) > 0xFFFF else 1))
    result: list[JSON] = []
    for span in spans:
        entity: JSON = {
            "type": span.type,
            "offset": prefix[span.start],
            "length": prefix[span.end] - prefix[span.start],
        }
        if span.type == "text_mention":
            user = users(span.extra["user_id"]) if users and "user_id" in span.extra else None
            if user is None:
                continue
            entity["user"] = user
        else:
            entity.update(span.extra)
        result.append(entity)
    return result


def _open_tag(span: Span, text: str) -> tuple[str, str] | None:
    kind = span.type
    simple = {
        "bold": "b",
        "italic": "i",
        "underline": "u",
        "strikethrough": "s",
        "spoiler": "tg-spoiler",
        "code": "code",
        "blockquote": "blockquote",
    }
    if kind in simple:
        return f"<{simple[kind]}>", f"</{simple[kind]}>"
    if kind == "expandable_blockquote":
        return "<blockquote expandable>", "</blockquote>"
    if kind == "pre":
        language = span.extra.get("language")
        if language:
            attr = html.escape(f"language-{language}")
            return f'<pre><code class="{attr}">', "</code></pre>"
        return "<pre>", "</pre>"
    if kind == "text_link":
        return f'<a href="{html.escape(span.extra["url"])}">', "</a>"
    if kind == "text_mention":
        return f'<a href="tg://user?id={span.extra.get("user_id", 0)}">', "</a>"
    if kind == "url":
        url = checked_link(text[span.start : span.end])
        return (f'<a href="{html.escape(url)}">', "</a>") if url else None
    if kind == "custom_emoji":
        return f'<tg-emoji emoji-id="{html.escape(span.extra["custom_emoji_id"])}">', "</tg-emoji>"
    return None


def render_html(text: str, spans: list[Span]) -> str:
    """Canonical Telegram HTML for text + entities (escaped text, allowed tags only)."""
    tagged = [(s, tags) for s in spans if (tags := _open_tag(s, text)) is not None]
    bounds = sorted({0, len(text)} | {s.start for s, _ in tagged} | {s.end for s, _ in tagged})
    parts: list[str] = []
    stack: list[tuple[Span, tuple[str, str]]] = []
    for left, right in itertools.pairwise(bounds):
        active = [(s, t) for s, t in tagged if s.start <= left < s.end]
        active.sort(key=lambda st: (st[0].start, -st[0].end, _PRIORITY.get(st[0].type, 100)))
        keep = 0
        while keep < min(len(stack), len(active)) and stack[keep][0] is active[keep][0]:
            keep += 1
        for _, (_, close) in reversed(stack[keep:]):
            parts.append(close)
        for _, (opening, _) in active[keep:]:
            parts.append(opening)
        stack = active
        parts.append(html.escape(text[left:right], quote=False))
    for _, (_, close) in reversed(stack):
        parts.append(close)
    return "".join(parts)


@dataclass
class FormattedText:
    """Text as Telegram stores it, with its spans and the markup it was sent with."""

    text: str
    spans: list[Span]
    source: str
    parse_mode: str

    @property
    def html(self) -> str:
        """Canonical HTML for the page."""
        return render_html(self.text, self.spans)


def format_text(
    raw: str | None,
    parse_mode: str | None,
    entities: str | None,
    *,
    strict_entities: bool = True,
) -> FormattedText:
    """Parse text the way sendMessage does, raising the Bot API's refusals."""
    if raw is None or raw == "":
        raise bad_request("message text is empty")
    mode = (parse_mode or "").strip().lower()
    try:
        if mode == "html":
            text, spans = parse_html(raw, strict_entities=strict_entities)
        elif mode == "markdownv2":
            text, spans = parse_markdown_v2(raw)
        elif mode == "markdown":  # legacy Markdown: neither the bot nor a test sends it
            raise ApiError(501, "Not Implemented: parse_mode Markdown is not emulated")
        elif mode in ("", "none"):
            text, spans = raw, []
            if entities:
                try:
                    parsed = json.loads(entities)
                except ValueError:
                    raise bad_request("can't parse entities JSON object") from None
                if not isinstance(parsed, list):
                    raise bad_request("can't parse entities JSON object")
                spans = spans_from_entities(raw, parsed)
        else:
            raise bad_request("unsupported parse_mode")
    except EntityParseError as exc:
        raise bad_request(f"can't parse entities: {exc}") from None
    text, spans = finalize_text(text, spans)
    if not text:
        raise bad_request("message text is empty")
    return FormattedText(text, spans, raw, mode)
