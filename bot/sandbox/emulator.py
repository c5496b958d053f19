"""Bot API emulator: a strict, local stand-in for api.telegram.org that PTB talks to over HTTP.

The bot side is served at ``/bot{token}/{method}`` exactly as Telegram serves it, so the real
``Application`` runs unchanged with ``base_url=emulator.base_url``. Replies, refusals and their
wording follow the official Bot API server (tdlib/telegram-bot-api) and TDLib's entity parser.
The user side is a Python API (``send_text``, ``press_button``, ...) used in-process by tests,
and a small JSON API under ``/sandbox/api/`` used by the chat page served at ``/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import html
import ipaddress
import itertools
import json
import math
import random
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from bot.telegram_text import (
    MAX_CALLBACK_ANSWER_LENGTH,
    MAX_CALLBACK_DATA_BYTES,
    MAX_CAPTION_LENGTH,
    MAX_INLINE_BUTTONS,
    MAX_INLINE_RESULTS,
    MAX_TEXT_LENGTH,
    EntityParseError,
    Span,
    byte_offset,
    checked_link,
    is_space,
    parse_html,
    utf16_len,
)

JSON = dict[str, Any]
T = TypeVar("T")

STATIC_DIR = Path(__file__).with_name("static")
MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # what a bot may upload through the Bot API

# Update types delivered when allowed_updates is unset or empty (Telegram's default).
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# Real Bot API methods this emulator does not model: refused loudly rather than faked.
UNEMULATED_METHODS = frozenset(
    name.lower()
    for name in (
        "sendPhoto",
        "sendAudio",
        "sendVideo",
        "sendAnimation",
        "sendVoice",
        "sendVideoNote",
        "sendPaidMedia",
        "sendMediaGroup",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendPoll",
        "sendDice",
        "sendSticker",
        "sendInvoice",
        "sendGame",
        "getFile",
        "getUserProfilePhotos",
        "editMessageCaption",
        "editMessageMedia",
        "editMessageLiveLocation",
        "stopMessageLiveLocation",
        "stopPoll",
        "pinChatMessage",
        "unpinChatMessage",
        "unpinAllChatMessages",
        "banChatMember",
        "unbanChatMember",
        "restrictChatMember",
        "promoteChatMember",
        "leaveChat",
        "exportChatInviteLink",
        "createChatInviteLink",
        "setChatTitle",
        "setChatDescription",
        "setChatPhoto",
        "setMessageReaction",
        "copyMessages",
        "forwardMessages",
    )
)


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


class ApiError(Exception):
    """A refusal, worded and coded exactly as the Bot API words and codes it."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JSON:
        """The JSON body Telegram sends for this refusal."""
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _tg_lower(message: str) -> str:
    """Lower the first letter the way the Bot API server does, keeping ERROR_CODES intact."""
    if len(message) >= 2 and (message[1] == "_" or "A" <= message[1] <= "Z"):
        return message
    return message[:1].lower() + message[1:]


def bad_request(message: str) -> ApiError:
    """A 400 refusal with Telegram's "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {_tg_lower(message)}")


def forbidden(message: str) -> ApiError:
    """A 403 refusal with Telegram's "Forbidden: " prefix."""
    return ApiError(403, f"Forbidden: {message}")


def too_many_requests(retry_after: int) -> ApiError:
    """A 429 flood-control refusal carrying retry_after."""
    retry_after = max(1, retry_after)
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)


# ---------------------------------------------------------------------------------------------
# Formatted text: TDLib's MarkdownV2 / Markdown parsers (HTML: bot/telegram_text.py), entity
# clean-up and rendering
# ---------------------------------------------------------------------------------------------


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


def parse_markdown(text: str) -> tuple[str, list[Span]]:
    """Parse legacy Markdown the way TDLib's parse_markdown does."""
    n = len(text)
    out: list[str] = []
    spans: list[Span] = []
    i = 0
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            out.append(c)
            i += 1
            continue
        begin = i
        end_char = "]" if c == "[" else c
        is_pre = False
        language = ""
        i += 1
        if c == "`" and text.startswith("``", i):
            i += 2
            is_pre = True
            lang_end = i
            while lang_end < n and not is_space(text[lang_end]) and text[lang_end] != "`":
                lang_end += 1
            if i != lang_end and lang_end < n and text[lang_end] != "`":
                language = text[i:lang_end]
                i = lang_end
            if i < n and text[i] in "\r\n":
                i += 2 if i + 1 < n and text[i + 1] in "\r\n" and text[i] != text[i + 1] else 1
        start = len(out)
        while i < n and (text[i] != end_char or (is_pre and not text.startswith("``", i + 1))):
            out.append(text[i])
            i += 1
        if i >= n:
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {byte_offset(text, begin)}"
            )
        if len(out) > start:
            if c == "_":
                spans.append(Span("italic", start, len(out)))
            elif c == "*":
                spans.append(Span("bold", start, len(out)))
            elif is_pre:
                spans.append(
                    Span("pre", start, len(out), {"language": language} if language else {})
                )
            elif c == "`":
                spans.append(Span("code", start, len(out)))
        if c == "[":
            url = ""
            if i + 1 < n and text[i + 1] == "(":
                close = text.find(")", i + 2)
                if close != -1:
                    url = text[i + 2 : close]
                    i = close
            url = url or "".join(out[start:])
            checked = checked_link(url)
            if checked and len(out) > start:
                spans.append(Span("text_link", start, len(out), {"url": checked}))
        if is_pre:
            i += 2
        i += 1
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
        elif mode == "markdown":
            text, spans = parse_markdown(raw)
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


# ---------------------------------------------------------------------------------------------
# Data model
# ---------------------------------------------------------------------------------------------


@dataclass
class User:
    """A Telegram user (or the bot itself)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    @property
    def full_name(self) -> str:
        """First and last name, as clients show them."""
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name

    def to_json(self) -> JSON:
        """The Bot API User object."""
        data: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code and not self.is_bot:
            data["language_code"] = self.language_code
        return data


@dataclass
class ChatMessage:
    """A message as it stands in a chat: edits applied, deletions marked."""

    chat_id: int
    message_id: int
    sender: User
    date: int
    text: str
    entities: list[JSON]
    html: str
    reply_markup: JSON | None = None
    reply_to_message_id: int | None = None
    edit_date: int | None = None
    via_bot: bool = False
    inline_message_id: str | None = None
    forward_origin: JSON | None = None
    has_protected_content: bool = False
    link_preview_options: JSON | None = None
    disable_notification: bool = False
    source: str | None = None  # the text parameter exactly as the bot sent it
    parse_mode: str | None = None
    document: JSON | None = None  # the Document object; `text` then holds the caption
    deleted: bool = False
    version: int = 0
    spans: list[Span] = field(default_factory=list, repr=False)

    @property
    def from_bot(self) -> bool:
        """Whether the bot sent this message."""
        return self.sender.is_bot and not self.via_bot

    def buttons(self) -> list[JSON]:
        """The inline keyboard's buttons, row after row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]

    def callback_data(self) -> list[str]:
        """callback_data of every callback button, in keyboard order."""
        return [b["callback_data"] for b in self.buttons() if "callback_data" in b]

    def button_data(self, label: str) -> str:
        """callback_data of the button whose text is ``label``."""
        for button in self.buttons():
            if button["text"] == label and "callback_data" in button:
                return str(button["callback_data"])
        raise KeyError(f"no callback button {label!r} on message {self.message_id}")


@dataclass
class StoredFile:
    """A file the bot uploaded: what Telegram keeps, reachable again by its file_id."""

    file_id: str
    file_unique_id: str
    file_name: str
    mime_type: str
    data: bytes


class _Params(dict[str, str]):
    """A request's parameters, and the files uploaded with it (multipart/form-data)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.files: dict[str, tuple[str, bytes, str]] = {}  # part name -> (filename, bytes, type)


@dataclass
class Chat:
    """A chat the emulator knows: a private chat with the bot, or a group the bot is in."""

    id: int
    type: Literal["private", "group", "supergroup"]
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    members: dict[int, str] = field(default_factory=dict)  # user id -> status
    bot_status: str = "member"
    messages: dict[int, ChatMessage] = field(default_factory=dict)
    next_message_id: int = 1
    reply_keyboard: JSON | None = None
    menu_button: JSON | None = None

    def to_json(self) -> JSON:
        """The Bot API Chat object."""
        data: JSON = {"id": self.id}
        if self.type == "private":
            data["first_name"] = self.first_name or ""
            if self.last_name:
                data["last_name"] = self.last_name
        else:
            data["title"] = self.title or ""
        if self.username:
            data["username"] = self.username
        data["type"] = self.type
        return data


@dataclass
class CallbackAnswer:
    """What the bot said with answerCallbackQuery."""

    query_id: str
    user_id: int
    chat_id: int | None
    message_id: int | None
    data: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int
    version: int = 0


@dataclass
class InlineAnswer:
    """What the bot answered to an inline query."""

    query_id: str
    user_id: int
    query: str
    results: list[JSON]
    cache_time: int
    is_personal: bool
    next_offset: str
    button: JSON | None


@dataclass
class CallRecord:
    """One Bot API call the bot made, with what the emulator answered."""

    method: str
    params: dict[str, str]
    time: float
    status: int | None = None
    ok: bool | None = None
    error_code: int | None = None
    description: str | None = None
    result: Any = None
    fault: str | None = None
    duration: float | None = None
    response: JSON | None = None

    def finish(self, status: int, payload: JSON) -> None:
        """Record the response."""
        self.status = status
        self.ok = bool(payload.get("ok"))
        self.error_code = payload.get("error_code")
        self.description = payload.get("description")
        self.result = payload.get("result")
        self.response = payload
        self.duration = time.time() - self.time


FaultKind = Literal["error_500", "bad_gateway", "hang", "reset", "flood"]


@dataclass
class FaultRule:
    """An injected fault: which calls it hits, how often, and what it does.

    ``on_calls`` lists 1-based indices among the calls this rule matches (an explicit
    schedule); otherwise each matching call fails with ``probability`` drawn from the
    emulator's seeded generator. ``times`` caps how often the rule fires. ``when`` says whether
    the request is processed after the fault ("after": the message is sent but the client
    sees a failure) or not at all ("before").
    """

    kind: FaultKind
    methods: frozenset[str] | None = None
    probability: float = 1.0
    on_calls: frozenset[int] | None = None
    times: int | None = None
    retry_after: int = 1
    delay: float = 30.0
    when: Literal["before", "after"] = "before"
    chat_ids: frozenset[str] | None = None
    seen: int = 0
    fired: int = 0

    def matches(self, method: str, chat_id: str | None = None) -> bool:
        """Whether this rule applies to ``method`` (and to the call's chat_id, if it names
        chats)."""
        if self.chat_ids is not None and (chat_id or "").strip() not in self.chat_ids:
            return False
        return self.methods is None or method.lower() in self.methods


@dataclass
class RateLimits:
    """Flood limits; each is off (None) by default.

    ``private_per_second`` with ``private_burst`` is a token bucket per private chat (Telegram
    tolerates short bursts), ``global_per_second`` a one-second window over all chats and
    ``group_per_minute`` a sixty-second window per group.
    """

    private_per_second: float | None = None
    private_burst: int = 3
    global_per_second: int | None = None
    group_per_minute: int | None = None


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class _PendingQuery:
    query_id: str
    user_id: int
    chat_id: int | None
    message_id: int | None
    data: str
    created: float
    answered: bool = False


@dataclass
class _PendingInline:
    query_id: str
    user_id: int
    query: str
    created: float
    answered: bool = False


@dataclass
class _Described:
    result: Any
    description: str


_GLOBAL_SCOPES = ("default", "all_private_chats", "all_group_chats", "all_chat_administrators")
NOT_FOUND: JSON = {"ok": False, "error_code": 404, "description": "Not Found"}
_HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_HTML_504 = _HTML_502.replace("502 Bad Gateway", "504 Gateway Time-out")


def _json_response(payload: JSON, status: int) -> web.Response:
    return web.Response(
        text=json.dumps(payload, ensure_ascii=False),
        status=status,
        content_type="application/json",
    )


def _to_bool(value: str | None) -> bool:
    """The Bot API server's to_bool: "true", "yes" and "1", any case, trimmed."""
    return (value or "").strip().lower() in ("true", "yes", "1")


def _to_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------------
# The emulator
# ---------------------------------------------------------------------------------------------


class BotApiEmulator:
    """A strict local Bot API server plus a scriptable user side, in the caller's event loop."""

    def __init__(
        self,
        token: str,
        bot_username: str = "contest_helper_bot",
        *,
        bot_name: str = "大赛助手",
        privacy_mode: bool = True,
        inline_mode: bool = True,
        inline_feedback: bool = False,
        limits: RateLimits | None = None,
        seed: int = 0,
        strict_html_entities: bool = True,
        callback_query_ttl: float = 15.0,
        webhook_target: str | None = None,
        webhook_timeout: float = 10.0,
        webhook_max_attempts: int = 5,
        webhook_retry_delay: float = 0.5,
        sandbox: bool = True,
        contestant: User | None = None,
        organizer: User | None = None,
        organizer_group_id: int = -100123,
        organizer_group_title: str = "组委会群",
    ) -> None:
        prefix = token.split(":", 1)[0]
        self.token = token
        self.bot_user = User(
            int(prefix) if prefix.isdigit() else 7_000_000_001,
            bot_name,
            username=bot_username,
            is_bot=True,
        )
        self.privacy_mode = privacy_mode
        self.inline_mode = inline_mode
        self.inline_feedback = inline_feedback
        self.limits = limits or RateLimits()
        self.strict_html_entities = strict_html_entities
        self.callback_query_ttl = callback_query_ttl
        self.webhook_target = webhook_target
        self.webhook_timeout = webhook_timeout
        self.webhook_max_attempts = webhook_max_attempts
        self.webhook_retry_delay = webhook_retry_delay

        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.calls: list[CallRecord] = []
        self.updates_log: list[JSON] = []  # every update ever created
        self.callback_answers: list[CallbackAnswer] = []
        self.inline_answers: dict[str, InlineAnswer] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.webhook_deliveries: list[JSON] = []
        self.dropped_updates: list[JSON] = []
        self.commands: dict[tuple[str, int | None, int | None, str], list[JSON]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self.default_menu_button: JSON = {"type": "commands"}
        self.logged_out = False

        self._rng = random.Random(seed)
        self._faults: list[FaultRule] = []
        self._blocked: set[int] = set()
        self._deactivated: set[int] = set()
        self._updates: list[JSON] = []
        self._next_update_id = 100_000_001
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._webhook: _Webhook | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._queries: dict[str, _PendingQuery] = {}
        self._inline_queries: dict[str, _PendingInline] = {}
        self._inline_messages: dict[str, ChatMessage] = {}
        self._next_query_id = 4_100_000_000_000_000_001
        self._next_inline_message = 1
        self._global_sent: deque[float] = deque()
        self._group_sent: dict[int, deque[float]] = {}
        self._private_buckets: dict[int, tuple[float, float]] = {}
        self.files: dict[str, StoredFile] = {}  # file_id -> what the bot uploaded
        self._version = 0
        self._calls_seen: set[int] = set()
        self._changed = asyncio.Event()
        self._updates_event = asyncio.Event()
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self.host = "127.0.0.1"

        self._methods: dict[str, Callable[[dict[str, str]], Any]] = {
            "getme": self._m_get_me,
            "logout": self._m_log_out,
            "close": self._m_close,
            "getupdates": self._m_get_updates,
            "setwebhook": self._m_set_webhook,
            "deletewebhook": self._m_delete_webhook,
            "getwebhookinfo": self._m_get_webhook_info,
            "sendmessage": self._m_send_message,
            "editmessagetext": self._m_edit_message_text,
            "editmessagereplymarkup": self._m_edit_message_reply_markup,
            "deletemessage": self._m_delete_message,
            "deletemessages": self._m_delete_messages,
            "answercallbackquery": self._m_answer_callback_query,
            "answerinlinequery": self._m_answer_inline_query,
            "setmycommands": self._m_set_my_commands,
            "getmycommands": self._m_get_my_commands,
            "deletemycommands": self._m_delete_my_commands,
            "setmydescription": self._m_set_my_description,
            "getmydescription": self._m_get_my_description,
            "setmyshortdescription": self._m_set_my_short_description,
            "getmyshortdescription": self._m_get_my_short_description,
            "setmyname": self._m_set_my_name,
            "getmyname": self._m_get_my_name,
            "sendchataction": self._m_send_chat_action,
            "copymessage": self._m_copy_message,
            "senddocument": self._m_send_document,
            "forwardmessage": self._m_forward_message,
            "getchat": self._m_get_chat,
            "getchatmember": self._m_get_chat_member,
            "getchatadministrators": self._m_get_chat_administrators,
            "getchatmembercount": self._m_get_chat_member_count,
            "setchatmenubutton": self._m_set_chat_menu_button,
            "getchatmenubutton": self._m_get_chat_menu_button,
        }

        self.sandbox_contestant = contestant or User(1001, "小明", language_code="zh-hans")
        self.sandbox_organizer = organizer or User(9001, "组委会-王老师", language_code="zh-hans")
        self.sandbox_group_id = organizer_group_id
        if sandbox:
            self.add_user(self.sandbox_contestant)
            self.add_user(self.sandbox_organizer)
            self.create_group(
                organizer_group_id,
                organizer_group_title,
                creator=self.sandbox_organizer,
            )

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What to give PTB's ``base_url``: it appends the token and the method."""
        if self.port is None:
            raise RuntimeError("the emulator is not started")
        return f"http://{self.host}:{self.port}/bot"

    @property
    def url(self) -> str:
        """The root URL (the sandbox page)."""
        if self.port is None:
            raise RuntimeError("the emulator is not started")
        return f"http://{self.host}:{self.port}/"

    def make_app(self) -> web.Application:
        """The aiohttp application serving the Bot API, the page and its JSON API."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/", self._handle_index)
        app.router.add_get("/sandbox/api/state", self._handle_state)
        app.router.add_post("/sandbox/api/send", self._handle_send)
        app.router.add_post("/sandbox/api/press", self._handle_press)
        app.router.add_route("*", "/{tail:.*}", self._handle_not_found)
        return app

    async def start(self, port: int = 0, host: str = "127.0.0.1") -> BotApiEmulator:
        """Listen on host:port (0 picks a free port) and start webhook delivery."""
        self._stopping.clear()
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.host = host
        self.port = int(self._runner.addresses[0][1])
        self._webhook_task = asyncio.create_task(self._webhook_worker())
        return self

    async def stop(self) -> None:
        """Wake every long poll, stop webhook delivery and close the server."""
        self._stopping.set()
        self._wake_updates()
        self._bump()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiEmulator:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- change notification -------------------------------------------------------------------

    def _bump(self) -> int:
        self._version += 1
        event, self._changed = self._changed, asyncio.Event()
        event.set()
        return self._version

    def _wake_updates(self) -> None:
        event, self._updates_event = self._updates_event, asyncio.Event()
        event.set()

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when the emulator stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), max(0.0, seconds))

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float = 5.0) -> T:  # noqa: ASYNC109 - the brief's wait_for(..., timeout=) API
        """Wait (without polling) until predicate() is truthy; return its value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout} s")
            event = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int = 1,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - the brief's wait_for(..., timeout=) API
        after: int | ChatMessage | None = None,
        from_bot: bool = True,
    ) -> list[ChatMessage]:
        """Wait until the chat shows ``count`` messages (bot's by default) after ``after``."""
        floor = after.message_id if isinstance(after, ChatMessage) else (after or 0)

        def ready() -> list[ChatMessage] | None:
            found = [
                m
                for m in self.chat_messages(chat_id)
                if m.message_id > floor and (m.from_bot or not from_bot)
            ]
            return found if len(found) >= count else None

        return await self.wait_for(ready, timeout)

    async def wait_for_call(self, method: str, timeout: float = 5.0) -> CallRecord:  # noqa: ASYNC109 - the brief's wait_for(..., timeout=) API
        """Wait for the next finished call to ``method`` not yet returned by this helper."""
        seen = self._calls_seen

        def ready() -> CallRecord | None:
            for index, call in enumerate(self.calls):
                done = call.ok is not None and index not in seen
                if done and call.method.lower() == method.lower():
                    seen.add(index)
                    return call
            return None

        return await self.wait_for(ready, timeout)

    async def wait_for_answer(self, query_id: str, timeout: float = 5.0) -> CallbackAnswer:  # noqa: ASYNC109 - the brief's wait_for(..., timeout=) API
        """Wait until the bot answers the callback query ``query_id``."""

        def ready() -> CallbackAnswer | None:
            return next((a for a in self.callback_answers if a.query_id == query_id), None)

        return await self.wait_for(ready, timeout)

    # -- faults and limits ---------------------------------------------------------------------

    def inject_fault(
        self,
        kind: FaultKind,
        *,
        methods: Iterable[str] | None = None,
        probability: float = 1.0,
        on_calls: Iterable[int] | None = None,
        times: int | None = None,
        retry_after: int = 1,
        delay: float = 30.0,
        when: Literal["before", "after"] = "before",
        chat_ids: Iterable[int] | None = None,
    ) -> FaultRule:
        """Make matching calls fail: error_500, bad_gateway, hang, reset or flood (429).
        ``chat_ids`` limits the rule to calls whose chat_id is one of them."""
        rule = FaultRule(
            kind=kind,
            methods=frozenset(m.lower() for m in methods) if methods is not None else None,
            probability=probability,
            on_calls=frozenset(on_calls) if on_calls is not None else None,
            times=times,
            retry_after=retry_after,
            delay=delay,
            when=when,
            chat_ids=frozenset(str(c) for c in chat_ids) if chat_ids is not None else None,
        )
        self._faults.append(rule)
        return rule

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._faults.clear()

    def _pick_fault(self, method: str, chat_id: str | None = None) -> FaultRule | None:
        chosen: FaultRule | None = None
        for rule in self._faults:
            if not rule.matches(method, chat_id):
                continue
            rule.seen += 1
            if rule.times is not None and rule.fired >= rule.times:
                continue
            if rule.on_calls is not None:
                fire = rule.seen in rule.on_calls
            else:
                fire = self._rng.random() < rule.probability
            if fire and chosen is None:
                rule.fired += 1
                chosen = rule
        return chosen

    async def _apply_fault(
        self,
        rule: FaultRule,
        request: web.Request,
        record: CallRecord,
        outcome: tuple[int, JSON] | None,
    ) -> web.StreamResponse:
        record.fault = rule.kind
        self._bump()
        if rule.kind == "flood":
            error = too_many_requests(rule.retry_after)
            record.finish(429, error.payload())
            return _json_response(error.payload(), 429)
        if rule.kind == "error_500":
            payload: JSON = {
                "ok": False,
                "error_code": 500,
                "description": "Internal Server Error",
            }
            record.finish(500, payload)
            return _json_response(payload, 500)
        if rule.kind == "bad_gateway":
            record.finish(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
            return web.Response(text=_HTML_502, status=502, content_type="text/html")
        if rule.kind == "hang":
            await self._sleep(rule.delay)
            if outcome is not None:
                return _json_response(outcome[1], outcome[0])
            record.finish(504, {"ok": False, "error_code": 504, "description": "Gateway Timeout"})
            return web.Response(text=_HTML_504, status=504, content_type="text/html")
        # reset: drop the connection without an answer
        record.finish(0, {"ok": False, "description": "connection reset"})
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)  # never written: the connection is already gone

    def _check_rate(self, chat: Chat) -> None:
        limits = self.limits
        now = time.monotonic()
        if limits.global_per_second:
            window = self._global_sent
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= limits.global_per_second:
                raise too_many_requests(math.ceil(window[0] + 1.0 - now))
        tokens_after: tuple[float, float] | None = None
        if chat.type == "private" and limits.private_per_second:
            rate = limits.private_per_second
            capacity = float(max(1, limits.private_burst))
            tokens, last = self._private_buckets.get(chat.id, (capacity, now))
            tokens = min(capacity, tokens + (now - last) * rate)
            if tokens < 1.0:
                raise too_many_requests(math.ceil((1.0 - tokens) / rate))
            tokens_after = (tokens - 1.0, now)
        group_window: deque[float] | None = None
        if chat.type != "private" and limits.group_per_minute:
            group_window = self._group_sent.setdefault(chat.id, deque())
            while group_window and group_window[0] <= now - 60.0:
                group_window.popleft()
            if len(group_window) >= limits.group_per_minute:
                raise too_many_requests(math.ceil(group_window[0] + 60.0 - now))
        if limits.global_per_second:
            self._global_sent.append(now)
        if tokens_after is not None:
            self._private_buckets[chat.id] = tokens_after
        if group_window is not None:
            group_window.append(now)

    # -- HTTP: the Bot API ---------------------------------------------------------------------

    async def _handle_not_found(self, request: web.Request) -> web.Response:
        return _json_response(NOT_FOUND, 404)

    async def _read_params(self, request: web.Request) -> dict[str, str]:
        params = _Params(request.query)
        if not request.body_exists:
            return params
        if request.content_type == "application/json":
            raw = await request.read()
            if not raw.strip():
                return params
            try:
                body = json.loads(raw)
            except ValueError:
                raise bad_request("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise bad_request("can't parse JSON object")
            for key, value in body.items():
                if value is None:
                    continue
                params[key] = value if isinstance(value, str) else json.dumps(value)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    params[key] = value
                elif isinstance(value, web.FileField):
                    # An uploaded file: the parameter of the same name refers to it, as does
                    # any parameter saying attach://<part name>.
                    params.files[key] = (
                        value.filename or key,
                        value.file.read(),
                        value.content_type or "application/octet-stream",
                    )
                    params.setdefault(key, f"attach://{key}")
                else:  # a part without a file name: its bytes as text
                    params[key] = bytes(value).decode("utf-8", "replace")
        return params

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        method = request.match_info["method"]
        if token != self.token:
            if re.fullmatch(r"\d+:[A-Za-z0-9_-]+", token):
                return _json_response(ApiError(401, "Unauthorized").payload(), 401)
            return _json_response(NOT_FOUND, 404)
        try:
            params = await self._read_params(request)
        except ApiError as exc:
            return _json_response(exc.payload(), exc.code)
        record = CallRecord(method=method, params=params, time=time.time())
        self.calls.append(record)
        self._bump()
        fault = self._pick_fault(method, params.get("chat_id"))
        if fault is not None and (fault.when == "before" or fault.kind == "flood"):
            return await self._apply_fault(fault, request, record, None)
        status, payload = await self._dispatch(method, params)
        record.finish(status, payload)
        if fault is not None:
            return await self._apply_fault(fault, request, record, (status, payload))
        self._bump()
        return _json_response(payload, status)

    async def _dispatch(self, method: str, params: dict[str, str]) -> tuple[int, JSON]:
        name = method.lower()
        handler = self._methods.get(name)
        if handler is None:
            if name in UNEMULATED_METHODS:
                text = f"Not Implemented: {method} is not emulated"
                return 501, {"ok": False, "error_code": 501, "description": text}
            return 404, dict(NOT_FOUND)
        try:
            result = await handler(params)
        except ApiError as exc:
            return exc.code, exc.payload()
        if isinstance(result, _Described):
            return 200, {"ok": True, "result": result.result, "description": result.description}
        return 200, {"ok": True, "result": result}

    # -- parameter helpers ---------------------------------------------------------------------

    @staticmethod
    def _json_param(params: dict[str, str], name: str, what: str) -> Any:
        raw = params.get(name)
        if raw is None or raw.strip() == "":
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise bad_request(f"can't parse {what} JSON object") from None

    def _chat(self, params: dict[str, str], name: str = "chat_id") -> Chat:
        raw = (params.get(name) or "").strip()
        if not raw:
            raise bad_request(f"{name} is empty")
        chat: Chat | None = None
        if raw.startswith("@"):
            wanted = raw[1:].lower()
            chat = next(
                (c for c in self.chats.values() if (c.username or "").lower() == wanted), None
            )
        else:
            chat_id = _to_int(raw)
            chat = self.chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _check_can_send(self, chat: Chat) -> None:
        if chat.type == "private":
            if chat.id in self._deactivated:
                raise forbidden("user is deactivated")
            if chat.id in self._blocked:
                raise forbidden("bot was blocked by the user")
        elif chat.bot_status in ("left", "kicked"):
            kind = "supergroup chat" if chat.type == "supergroup" else "group chat"
            if chat.bot_status == "kicked":
                raise forbidden(f"bot was kicked from the {kind}")
            raise forbidden(f"bot is not a member of the {kind}")

    def _reply_target(self, chat: Chat, params: dict[str, str]) -> int | None:
        message_id: int | None = None
        allow_missing = False
        reply = self._json_param(params, "reply_parameters", "reply parameters")
        if reply is not None:
            if not isinstance(reply, dict):
                raise bad_request("can't parse reply parameters JSON object")
            message_id = (
                reply.get("message_id") if isinstance(reply.get("message_id"), int) else None
            )
            allow_missing = bool(reply.get("allow_sending_without_reply"))
            other = reply.get("chat_id")
            if other is not None and str(other) != str(chat.id):
                message_id = message_id or -1  # replies across chats are not modelled
        elif params.get("reply_to_message_id"):
            message_id = _to_int(params.get("reply_to_message_id"))
            allow_missing = _to_bool(params.get("allow_sending_without_reply"))
        if not message_id:
            return None
        target = chat.messages.get(message_id)
        if target is None or target.deleted:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        return message_id

    def _format(self, params: dict[str, str], text_key: str = "text") -> FormattedText:
        return format_text(
            params.get(text_key),
            params.get("parse_mode"),
            params.get("entities"),
            strict_entities=self.strict_html_entities,
        )

    @staticmethod
    def _check_length(formatted: FormattedText) -> None:
        if utf16_len(formatted.text) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")

    # -- reply markup --------------------------------------------------------------------------

    def _parse_inline_button(self, button: Any) -> JSON:
        if not isinstance(button, dict):
            raise EntityParseError("InlineKeyboardButton must be an Object")
        if "text" not in button:
            raise EntityParseError('Can\'t find field "text"')
        text = button["text"]
        if not isinstance(text, str | int | float) or isinstance(text, bool):
            raise EntityParseError('Field "text" must be of type String')
        result: JSON = {"text": str(text)}
        for key in ("url", "callback_data"):
            if key in button:
                value = button[key]
                if isinstance(value, bool) or not isinstance(value, str | int | float):
                    raise EntityParseError(f'Field "{key}" must be of type String')
                if str(value):
                    result[key] = str(value)
                    return result
        for key in ("callback_game", "pay"):
            if key in button:
                result[key] = button[key]
                return result
        for key in ("switch_inline_query", "switch_inline_query_current_chat"):
            if key in button:
                if not isinstance(button[key], str):
                    raise EntityParseError(f'Field "{key}" must be of type String')
                result[key] = button[key]
                return result
        for key in ("switch_inline_query_chosen_chat", "login_url", "web_app", "copy_text"):
            if key in button:
                if not isinstance(button[key], dict):
                    raise EntityParseError(f'Field "{key}" must be of type Object')
                result[key] = button[key]
                return result
        raise EntityParseError("Text buttons are unallowed in the inline keyboard")

    def _reply_markup(self, params: dict[str, str]) -> tuple[JSON | None, JSON | None]:
        """Parse reply_markup into (inline keyboard or None, chat keyboard action or None)."""
        raw = params.get("reply_markup")
        if raw is None or raw.strip() == "":
            return None, None
        try:
            value = json.loads(raw)
        except ValueError:
            raise bad_request("can't parse reply keyboard markup JSON object") from None
        if not isinstance(value, dict):
            raise bad_request("Object expected as reply markup")
        inline_rows: list[list[JSON]] = []
        keyboard_rows: list[list[JSON]] = []
        if "keyboard" in value:
            keyboard = value["keyboard"]
            if not isinstance(keyboard, list):
                raise bad_request('Field "keyboard" of the ReplyKeyboardMarkup must be an Array')
            for row in keyboard:
                if not isinstance(row, list):
                    raise bad_request(
                        'Field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays'
                    )
                new_row: list[JSON] = []
                for button in row:
                    if isinstance(button, str):
                        new_row.append({"text": button})
                    elif isinstance(button, dict) and isinstance(button.get("text"), str):
                        new_row.append(dict(button))
                    elif isinstance(button, dict):
                        raise bad_request("Can't parse keyboard button: Can't find field \"text\"")
                    else:
                        raise bad_request(
                            "Can't parse keyboard button: KeyboardButton must be a String or an "
                            "Object"
                        )
                keyboard_rows.append(new_row)
        if "inline_keyboard" in value:
            inline = value["inline_keyboard"]
            if not isinstance(inline, list):
                raise bad_request(
                    'Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array'
                )
            for row in inline:
                if not isinstance(row, list):
                    raise bad_request(
                        'Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of '
                        "Arrays"
                    )
                parsed: list[JSON] = []
                for button in row:
                    try:
                        parsed.append(self._parse_inline_button(button))
                    except EntityParseError as exc:
                        raise bad_request(f"Can't parse inline keyboard button: {exc}") from None
                inline_rows.append(parsed)
        if keyboard_rows:
            action = {
                "keyboard": keyboard_rows,
                "resize_keyboard": bool(value.get("resize_keyboard")),
                "one_time_keyboard": bool(value.get("one_time_keyboard")),
                "is_persistent": bool(value.get("is_persistent")),
            }
            if value.get("input_field_placeholder"):
                action["input_field_placeholder"] = str(value["input_field_placeholder"])
            return None, action
        if any(inline_rows):
            return {"inline_keyboard": [row for row in inline_rows if row]}, None
        if value.get("remove_keyboard") or value.get("hide_keyboard"):
            return None, {"remove_keyboard": True}
        if value.get("force_reply"):
            return None, {"force_reply": True}
        return None, None

    @staticmethod
    def _check_markup_server(markup: JSON | None) -> None:
        """The checks Telegram's servers make after the chat is resolved."""
        if markup is None:
            return
        buttons = [b for row in markup["inline_keyboard"] for b in row]
        if len(buttons) > MAX_INLINE_BUTTONS:
            raise bad_request("reply markup is too long")
        for button in buttons:
            data = button.get("callback_data")
            if data is not None and len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
                raise bad_request("BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and checked_link(url) is None:
                raise bad_request("BUTTON_URL_INVALID")

    # -- storing messages ----------------------------------------------------------------------

    def _user_json(self, user_id: int) -> JSON | None:
        user = self.users.get(user_id)
        return user.to_json() if user else None

    def _store(
        self,
        chat: Chat,
        sender: User,
        text: str,
        spans: list[Span],
        *,
        reply_markup: JSON | None = None,
        reply_to: int | None = None,
        via_bot: bool = False,
        forward_origin: JSON | None = None,
        protected: bool = False,
        link_preview_options: JSON | None = None,
        silent: bool = False,
        source: str | None = None,
        parse_mode: str | None = None,
        document: JSON | None = None,
    ) -> ChatMessage:
        message = ChatMessage(
            chat_id=chat.id,
            message_id=chat.next_message_id,
            sender=sender,
            date=int(time.time()),
            text=text,
            entities=entities_json(text, spans, self._user_json),
            html=render_html(text, spans),
            reply_markup=copy.deepcopy(reply_markup),
            reply_to_message_id=reply_to,
            via_bot=via_bot,
            forward_origin=forward_origin,
            has_protected_content=protected,
            link_preview_options=link_preview_options,
            disable_notification=silent,
            source=source,
            parse_mode=parse_mode,
            document=copy.deepcopy(document),
            spans=spans,
        )
        chat.next_message_id += 1
        chat.messages[message.message_id] = message
        message.version = self._bump()
        return message

    def message_json(self, message: ChatMessage, *, nested: bool = True) -> JSON:
        """The Bot API Message object for a stored message."""
        chat = self.chats[message.chat_id]
        data: JSON = {
            "message_id": message.message_id,
            "from": message.sender.to_json(),
            "chat": chat.to_json(),
            "date": message.date,
        }
        if message.forward_origin:
            data["forward_origin"] = copy.deepcopy(message.forward_origin)
        if nested and message.reply_to_message_id:
            replied = chat.messages.get(message.reply_to_message_id)
            if replied is not None and not replied.deleted:
                data["reply_to_message"] = self.message_json(replied, nested=False)
        if message.via_bot:
            data["via_bot"] = self.bot_user.to_json()
        if message.edit_date:
            data["edit_date"] = message.edit_date
        if message.has_protected_content:
            data["has_protected_content"] = True
        if message.document is not None:
            data["document"] = copy.deepcopy(message.document)
            if message.text:
                data["caption"] = message.text
            if message.entities:
                data["caption_entities"] = copy.deepcopy(message.entities)
        else:
            data["text"] = message.text
        if message.entities and message.document is None:
            data["entities"] = copy.deepcopy(message.entities)
        if message.link_preview_options:
            data["link_preview_options"] = copy.deepcopy(message.link_preview_options)
        if message.reply_markup:
            data["reply_markup"] = copy.deepcopy(message.reply_markup)
        return data

    def _apply_keyboard(self, chat: Chat, action: JSON | None) -> None:
        if action is None:
            return
        if "keyboard" in action:
            chat.reply_keyboard = copy.deepcopy(action)
        elif action.get("remove_keyboard"):
            chat.reply_keyboard = None

    def _edit_target(self, params: dict[str, str]) -> tuple[bool, ChatMessage]:
        """The message an edit refers to; True when addressed by inline_message_id."""
        inline_id = (params.get("inline_message_id") or "").strip()
        if inline_id:
            message = self._inline_messages.get(inline_id)
            if message is None or message.deleted:
                raise bad_request("MESSAGE_ID_INVALID")
            return True, message
        message_id = _to_int(params.get("message_id"))
        if not (params.get("chat_id") or "").strip() or not message_id:
            raise bad_request("message identifier is not specified")
        chat = self._chat(params)
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return False, message

    # -- Bot API methods -----------------------------------------------------------------------

    async def _m_get_me(self, params: dict[str, str]) -> JSON:
        me = self.bot_user.to_json()
        me.update(
            {
                "can_join_groups": True,
                "can_read_all_group_messages": not self.privacy_mode,
                "supports_inline_queries": self.inline_mode,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            }
        )
        return me

    async def _m_log_out(self, params: dict[str, str]) -> bool:
        self.logged_out = True
        return True

    async def _m_close(self, params: dict[str, str]) -> bool:
        return True

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    async def _m_get_updates(self, params: dict[str, str]) -> list[JSON]:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = _to_int(params.get("offset")) or 0
        limit = _to_int(params.get("limit")) or 100
        limit = min(100, max(1, limit))
        try:
            timeout = max(0.0, float(params.get("timeout") or 0))
        except ValueError:
            timeout = 0.0
        allowed = self._json_param(params, "allowed_updates", "allowed updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(str(a) for a in allowed) or None
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_updates()  # an older pending poll notices it was superseded
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(timeout, 600.0)
        while not self._updates and not self._stopping.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            event = self._updates_event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)
            if self._webhook is not None:
                raise ApiError(409, "Conflict: terminated by setWebhook request")
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
        return copy.deepcopy(self._updates[:limit])

    async def _m_set_webhook(self, params: dict[str, str]) -> _Described:
        url = (params.get("url") or "").strip()
        drop = _to_bool(params.get("drop_pending_updates"))
        if not url:
            return await self._m_delete_webhook(params)
        parts = urlsplit(url)
        if parts.scheme.lower() != "https" or not parts.hostname:
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        try:
            port = parts.port or 443
        except ValueError:
            raise bad_request("bad webhook: Wrong port number specified in the URL") from None
        if port not in (80, 88, 443, 8443):
            raise bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        host = parts.hostname
        if host == "localhost":
            raise bad_request("bad webhook: IP address 127.0.0.1 is reserved")
        with contextlib.suppress(ValueError):
            address = ipaddress.ip_address(host)
            if address.is_private or address.is_loopback or address.is_reserved:
                raise bad_request(f"bad webhook: IP address {address} is reserved")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad_request("secret token contains unallowed characters")
        max_connections = _to_int(params.get("max_connections")) or 40
        max_connections = min(100, max(1, max_connections))
        allowed = self._json_param(params, "allowed_updates", "allowed updates")
        allowed_list = [str(a) for a in allowed] if isinstance(allowed, list) else None
        if allowed_list is not None:
            self._allowed_updates = frozenset(allowed_list) or None
        previous = self._webhook
        self._webhook = _Webhook(url, secret or None, max_connections, allowed_list)
        if drop:
            self._updates.clear()
        self._wake_updates()  # a pending long poll ends with a Conflict
        if previous is not None and previous.url == url and not drop:
            return _Described(True, "Webhook is already set")
        return _Described(True, "Webhook was set")

    async def _m_delete_webhook(self, params: dict[str, str]) -> _Described:
        if _to_bool(params.get("drop_pending_updates")):
            self._updates.clear()
        if self._webhook is None:
            return _Described(True, "Webhook is already deleted")
        self._webhook = None
        self._wake_updates()
        return _Described(True, "Webhook was deleted")

    async def _m_get_webhook_info(self, params: dict[str, str]) -> JSON:
        hook = self._webhook
        info: JSON = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            info["ip_address"] = "127.0.0.1"
            if hook.last_error_date:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
            if hook.allowed_updates is not None:
                info["allowed_updates"] = hook.allowed_updates
        return info

    async def _m_send_message(self, params: dict[str, str]) -> JSON:
        markup, keyboard = self._reply_markup(params)
        formatted = self._format(params)
        chat = self._chat(params)
        reply_to = self._reply_target(chat, params)
        self._check_can_send(chat)
        self._check_markup_server(markup)
        self._check_length(formatted)
        self._check_rate(chat)
        preview = self._json_param(params, "link_preview_options", "link preview options")
        message = self._store(
            chat,
            self.bot_user,
            formatted.text,
            formatted.spans,
            reply_markup=markup,
            reply_to=reply_to,
            protected=_to_bool(params.get("protect_content")),
            link_preview_options=preview if isinstance(preview, dict) else None,
            silent=_to_bool(params.get("disable_notification")),
            source=formatted.source,
            parse_mode=formatted.parse_mode or None,
        )
        self._apply_keyboard(chat, keyboard)
        return self.message_json(message)

    async def _m_edit_message_text(self, params: dict[str, str]) -> JSON | bool:
        markup, keyboard = self._reply_markup(params)
        if keyboard is not None:
            raise bad_request("inline keyboard expected")
        formatted = self._format(params)
        by_inline_id, message = self._edit_target(params)
        self._check_markup_server(markup)
        self._check_length(formatted)
        entities = entities_json(formatted.text, formatted.spans, self._user_json)
        if (
            message.text == formatted.text
            and message.entities == entities
            and message.reply_markup == markup
        ):
            raise bad_request(NOT_MODIFIED)
        message.text = formatted.text
        message.spans = formatted.spans
        message.entities = entities
        message.html = render_html(formatted.text, formatted.spans)
        message.source = formatted.source
        message.parse_mode = formatted.parse_mode or None
        message.reply_markup = markup
        message.edit_date = int(time.time())
        message.version = self._bump()
        return True if by_inline_id else self.message_json(message)

    async def _m_edit_message_reply_markup(self, params: dict[str, str]) -> JSON | bool:
        markup, keyboard = self._reply_markup(params)
        if keyboard is not None:
            raise bad_request("inline keyboard expected")
        by_inline_id, message = self._edit_target(params)
        self._check_markup_server(markup)
        if message.reply_markup == markup:
            raise bad_request(NOT_MODIFIED)
        message.reply_markup = markup
        message.edit_date = int(time.time())
        message.version = self._bump()
        return True if by_inline_id else self.message_json(message)

    def _delete(self, chat: Chat, message_id: int | None) -> None:
        message = chat.messages.get(message_id or 0)
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        own = message.from_bot
        if (
            not own
            and chat.type != "private"
            and chat.bot_status
            not in (
                "administrator",
                "creator",
            )
        ):
            raise bad_request("message can't be deleted")
        message.deleted = True
        message.version = self._bump()

    async def _m_delete_message(self, params: dict[str, str]) -> bool:
        chat = self._chat(params)
        message_id = _to_int(params.get("message_id"))
        if not message_id:
            raise bad_request("message identifier is not specified")
        self._delete(chat, message_id)
        return True

    async def _m_delete_messages(self, params: dict[str, str]) -> bool:
        chat = self._chat(params)
        ids = self._json_param(params, "message_ids", "message identifiers")
        if not isinstance(ids, list) or not ids:
            raise bad_request("message identifiers are not specified")
        for message_id in ids:
            with contextlib.suppress(ApiError):
                self._delete(chat, message_id if isinstance(message_id, int) else None)
        return True

    async def _m_answer_callback_query(self, params: dict[str, str]) -> bool:
        query_id = (params.get("callback_query_id") or "").strip()
        query = self._queries.get(query_id)
        now = time.monotonic()
        if query is None or query.answered or now - query.created > self.callback_query_ttl:
            raise bad_request(QUERY_TOO_OLD)
        text = params.get("text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        answer = CallbackAnswer(
            query_id=query_id,
            user_id=query.user_id,
            chat_id=query.chat_id,
            message_id=query.message_id,
            data=query.data,
            text=text or None,
            show_alert=_to_bool(params.get("show_alert")),
            url=params.get("url") or None,
            cache_time=_to_int(params.get("cache_time")) or 0,
        )
        self.callback_answers.append(answer)
        answer.version = self._bump()
        return True

    def _parse_inline_result(self, result: Any, seen: set[str]) -> JSON:
        if not isinstance(result, dict):
            raise bad_request("can't parse inline query result: expected an Object")
        kind = result.get("type")
        if not isinstance(kind, str):
            raise bad_request("can't parse inline query result: Can't find field \"type\"")
        result_id = result.get("id")
        if not isinstance(result_id, str | int) or str(result_id) == "":
            raise bad_request("RESULT_ID_EMPTY")
        result_id = str(result_id)
        if len(result_id.encode("utf-8")) > 64:
            raise bad_request("RESULT_ID_INVALID")
        if result_id in seen:
            raise bad_request("RESULT_ID_DUPLICATE")
        seen.add(result_id)
        parsed = copy.deepcopy(result)
        parsed["id"] = result_id
        if kind == "article":
            if not isinstance(result.get("title"), str):
                raise bad_request("can't parse inline query result: Can't find field \"title\"")
            content = result.get("input_message_content")
            if not isinstance(content, dict):
                raise bad_request(
                    "can't parse inline query result: Can't find field \"input_message_content\""
                )
        content = parsed.get("input_message_content")
        if isinstance(content, dict) and "message_text" in content:
            entities = content.get("entities")
            formatted = format_text(
                str(content["message_text"]),
                content.get("parse_mode"),
                json.dumps(entities) if entities is not None else None,
                strict_entities=self.strict_html_entities,
            )
            self._check_length(formatted)
        if "reply_markup" in result:
            markup, _ = self._reply_markup({"reply_markup": json.dumps(result["reply_markup"])})
            self._check_markup_server(markup)
            parsed["reply_markup"] = markup
        return parsed

    async def _m_answer_inline_query(self, params: dict[str, str]) -> bool:
        query_id = (params.get("inline_query_id") or "").strip()
        results = self._json_param(params, "results", "inline query results")
        if not isinstance(results, list):
            raise bad_request('parameter "results" is required')
        seen: set[str] = set()
        parsed = [self._parse_inline_result(r, seen) for r in results]
        if len(parsed) > MAX_INLINE_RESULTS:
            raise bad_request("RESULTS_TOO_MUCH")
        next_offset = params.get("next_offset") or ""
        if len(next_offset.encode("utf-8")) > 64:
            raise bad_request("NEXT_OFFSET_INVALID")
        query = self._inline_queries.get(query_id)
        if (
            query is None
            or query.answered
            or time.monotonic() - query.created > self.callback_query_ttl
        ):
            raise bad_request(QUERY_TOO_OLD)
        query.answered = True
        button = self._json_param(params, "button", "inline query results button")
        self.inline_answers[query_id] = InlineAnswer(
            query_id=query_id,
            user_id=query.user_id,
            query=query.query,
            results=parsed,
            cache_time=_to_int(params.get("cache_time")) or 300,
            is_personal=_to_bool(params.get("is_personal")),
            next_offset=next_offset,
            button=button if isinstance(button, dict) else None,
        )
        self._bump()
        return True

    def _command_scope(self, params: dict[str, str]) -> tuple[str, int | None, int | None, str]:
        scope = self._json_param(params, "scope", "bot command scope") or {"type": "default"}
        if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
            raise bad_request("can't parse BotCommandScope: expected an Object")
        kind = scope["type"]
        chat_id: int | None = None
        user_id: int | None = None
        if kind in ("chat", "chat_administrators", "chat_member"):
            chat = self._chat({"chat_id": str(scope.get("chat_id", ""))})
            chat_id = chat.id
            if kind == "chat_member":
                user_id = scope.get("user_id") if isinstance(scope.get("user_id"), int) else None
                if user_id is None or user_id not in self.users:
                    raise bad_request("user not found")
        elif kind not in _GLOBAL_SCOPES:
            raise bad_request("can't parse BotCommandScope: Unsupported type specified")
        language = (params.get("language_code") or "").strip()
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise bad_request("invalid language code specified")
        return kind, chat_id, user_id, language

    async def _m_set_my_commands(self, params: dict[str, str]) -> bool:
        commands = self._json_param(params, "commands", "bot commands")
        if not isinstance(commands, list):
            raise bad_request('parameter "commands" is required')
        if len(commands) > 100:
            raise bad_request("too many bot commands specified")
        parsed: list[JSON] = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("can't parse BotCommand: expected an Object")
            command = item.get("command")
            description = item.get("description")
            if not isinstance(command, str) or not isinstance(description, str):
                raise bad_request("can't parse BotCommand: Can't find field \"command\"")
            command = command.removeprefix("/")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            parsed.append({"command": command, "description": description})
        key = self._command_scope(params)
        if parsed:
            self.commands[key] = parsed
        else:
            self.commands.pop(key, None)
        return True

    async def _m_get_my_commands(self, params: dict[str, str]) -> list[JSON]:
        return copy.deepcopy(self.commands.get(self._command_scope(params), []))

    async def _m_delete_my_commands(self, params: dict[str, str]) -> bool:
        self.commands.pop(self._command_scope(params), None)
        return True

    def _set_text_setting(self, params: dict[str, str], kind: str, key: str, limit: int) -> bool:
        value = params.get(key) or ""
        if len(value) > limit:
            raise bad_request(f"{kind.replace('_', ' ')} is too long")
        language = (params.get("language_code") or "").strip()
        if value:
            self.descriptions[(kind, language)] = value
        else:
            self.descriptions.pop((kind, language), None)
        return True

    def _get_text_setting(self, params: dict[str, str], kind: str, key: str) -> JSON:
        language = (params.get("language_code") or "").strip()
        fallback = self.bot_user.first_name if kind == "name" else ""
        value = self.descriptions.get(
            (kind, language), self.descriptions.get((kind, ""), fallback)
        )
        return {key: value}

    async def _m_set_my_description(self, params: dict[str, str]) -> bool:
        return self._set_text_setting(params, "description", "description", 512)

    async def _m_get_my_description(self, params: dict[str, str]) -> JSON:
        return self._get_text_setting(params, "description", "description")

    async def _m_set_my_short_description(self, params: dict[str, str]) -> bool:
        return self._set_text_setting(params, "short_description", "short_description", 120)

    async def _m_get_my_short_description(self, params: dict[str, str]) -> JSON:
        return self._get_text_setting(params, "short_description", "short_description")

    async def _m_set_my_name(self, params: dict[str, str]) -> bool:
        return self._set_text_setting(params, "name", "name", 64)

    async def _m_get_my_name(self, params: dict[str, str]) -> JSON:
        return self._get_text_setting(params, "name", "name")

    async def _m_send_chat_action(self, params: dict[str, str]) -> bool:
        action = (params.get("action") or "").strip().lower()
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat = self._chat(params)
        self._check_can_send(chat)
        self.chat_actions.append((chat.id, action))
        return True

    def _source_message(self, params: dict[str, str], what: str) -> ChatMessage:
        source_chat = self._chat(params, "from_chat_id")
        message_id = _to_int(params.get("message_id"))
        if not message_id:
            raise bad_request("message identifier is not specified")
        source = source_chat.messages.get(message_id)
        if source is None or source.deleted:
            raise bad_request(f"message to {what} not found")
        if source.has_protected_content:
            raise bad_request(f"message can't be {what.replace('copy', 'copi')}ed")
        return source

    async def _m_copy_message(self, params: dict[str, str]) -> JSON:
        markup, keyboard = self._reply_markup(params)
        chat = self._chat(params)
        source = self._source_message(params, "copy")
        reply_to = self._reply_target(chat, params)
        self._check_can_send(chat)
        # TDLib keeps an inline keyboard on a copy only when it has URL buttons alone.
        url_only = all("url" in b for b in source.buttons())
        if markup is None and keyboard is None and source.reply_markup and url_only:
            markup = source.reply_markup
        self._check_markup_server(markup)
        self._check_rate(chat)
        message = self._store(
            chat,
            self.bot_user,
            source.text,
            [Span(s.type, s.start, s.end, dict(s.extra)) for s in source.spans],
            reply_markup=markup,
            reply_to=reply_to,
            protected=_to_bool(params.get("protect_content")),
            silent=_to_bool(params.get("disable_notification")),
            source=source.source,
            parse_mode=source.parse_mode,
            document=source.document,
        )
        self._apply_keyboard(chat, keyboard)
        return {"message_id": message.message_id}

    def _input_file(self, params: dict[str, str], name: str) -> StoredFile:
        """An InputFile parameter: an upload in this request (the part itself or
        attach://<part>), or the file_id of a file uploaded before."""
        raw = (params.get(name) or "").strip()
        files = params.files if isinstance(params, _Params) else {}
        if not raw:
            raise bad_request(f"there is no {name} in the request")
        part = raw.removeprefix("attach://") if raw.startswith("attach://") else None
        if part is not None:
            if part not in files:
                raise bad_request(f"there is no {name} in the request")
            filename, data, mime_type = files[part]
            if not data:
                raise bad_request("file must be non-empty")
            if len(data) > MAX_UPLOAD_BYTES:
                raise ApiError(413, "Request Entity Too Large")
            number = len(self.files) + 1
            stored = StoredFile(
                file_id=f"BQACAgIAAxkBAAI{number:08d}{self._rng.getrandbits(48):012x}",
                file_unique_id=f"AgAD{number:08d}",
                file_name=filename,
                mime_type=mime_type,
                data=data,
            )
            self.files[stored.file_id] = stored
            return stored
        if re.match(r"https?://", raw, flags=re.IGNORECASE):
            raise bad_request("failed to get HTTP URL content")  # the emulator is offline
        found = self.files.get(raw)
        if found is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return found

    async def _m_send_document(self, params: dict[str, str]) -> JSON:
        markup, keyboard = self._reply_markup(params)
        caption = format_text(
            params.get("caption") or None,
            params.get("parse_mode"),
            params.get("caption_entities"),
            strict_entities=self.strict_html_entities,
        ) if (params.get("caption") or "").strip() else None  # fmt: skip
        chat = self._chat(params)
        reply_to = self._reply_target(chat, params)
        self._check_can_send(chat)
        self._check_markup_server(markup)
        if caption is not None and utf16_len(caption.text) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
        stored = self._input_file(params, "document")
        self._check_rate(chat)
        document = {
            "file_name": stored.file_name,
            "mime_type": stored.mime_type,
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        message = self._store(
            chat,
            self.bot_user,
            caption.text if caption else "",
            caption.spans if caption else [],
            reply_markup=markup,
            reply_to=reply_to,
            protected=_to_bool(params.get("protect_content")),
            silent=_to_bool(params.get("disable_notification")),
            source=caption.source if caption else None,
            parse_mode=(caption.parse_mode or None) if caption else None,
            document=document,
        )
        self._apply_keyboard(chat, keyboard)
        return self.message_json(message)

    async def _m_forward_message(self, params: dict[str, str]) -> JSON:
        chat = self._chat(params)
        source = self._source_message(params, "forward")
        self._check_can_send(chat)
        self._check_rate(chat)
        origin = source.forward_origin or {
            "type": "user",
            "sender_user": source.sender.to_json(),
            "date": source.date,
        }
        message = self._store(
            chat,
            self.bot_user,
            source.text,
            [Span(s.type, s.start, s.end, dict(s.extra)) for s in source.spans],
            forward_origin=origin,
            protected=_to_bool(params.get("protect_content")),
            silent=_to_bool(params.get("disable_notification")),
            source=source.source,
            parse_mode=source.parse_mode,
            document=source.document,
        )
        return self.message_json(message)

    async def _m_get_chat(self, params: dict[str, str]) -> JSON:
        chat = self._chat(params)
        info = chat.to_json()
        info.update(
            {
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        )
        if chat.type != "private":
            info["permissions"] = {"can_send_messages": True}
        return info

    def _member_status(self, chat: Chat, user_id: int) -> str:
        if user_id == self.bot_user.id:
            return chat.bot_status
        if chat.type == "private":
            return "member" if user_id == chat.id else "left"
        return chat.members.get(user_id, "left")

    def _member_json(self, chat: Chat, user: User) -> JSON:
        status = self._member_status(chat, user.id)
        data: JSON = {"user": user.to_json(), "status": status}
        if status == "creator":
            data["is_anonymous"] = False
        elif status == "administrator":
            data.update(
                {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": True,
                    "can_manage_video_chats": True,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": False,
                    "can_edit_stories": False,
                    "can_delete_stories": False,
                    "can_pin_messages": True,
                    "can_manage_topics": False,
                }
            )
        elif status == "kicked":
            data["until_date"] = 0
        return data

    async def _m_get_chat_member(self, params: dict[str, str]) -> JSON:
        chat = self._chat(params)
        user_id = _to_int(params.get("user_id"))
        if user_id is None:
            raise bad_request("invalid user_id specified")
        user = self.bot_user if user_id == self.bot_user.id else self.users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        return self._member_json(chat, user)

    async def _m_get_chat_administrators(self, params: dict[str, str]) -> list[JSON]:
        chat = self._chat(params)
        if chat.type == "private":
            raise bad_request("there are no administrators in the private chat")
        admins = [
            self._member_json(chat, self.users[uid])
            for uid, status in chat.members.items()
            if status in ("creator", "administrator") and uid in self.users
        ]
        if chat.bot_status == "administrator":
            admins.append(self._member_json(chat, self.bot_user))
        return admins

    async def _m_get_chat_member_count(self, params: dict[str, str]) -> int:
        chat = self._chat(params)
        if chat.type == "private":
            return 2
        active = ("creator", "administrator", "member", "restricted")
        return sum(1 for s in chat.members.values() if s in active) + 1

    async def _m_set_chat_menu_button(self, params: dict[str, str]) -> bool:
        button = self._json_param(params, "menu_button", "menu button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "commands",
            "web_app",
            "default",
        ):
            raise bad_request("can't parse menu button: Unsupported type specified")
        if button["type"] == "web_app" and not isinstance(button.get("text"), str):
            raise bad_request("can't parse menu button: Can't find field \"text\"")
        if (params.get("chat_id") or "").strip():
            chat = self._chat(params)
            if chat.type != "private":
                raise bad_request("chat not found")
            chat.menu_button = None if button["type"] == "default" else button
        else:
            self.default_menu_button = (
                {"type": "commands"} if button["type"] == "default" else button
            )
        return True

    async def _m_get_chat_menu_button(self, params: dict[str, str]) -> JSON:
        if (params.get("chat_id") or "").strip():
            chat = self._chat(params)
            return copy.deepcopy(chat.menu_button or self.default_menu_button)
        return copy.deepcopy(self.default_menu_button)

    # -- updates -------------------------------------------------------------------------------

    def _allowed(self, kind: str) -> bool:
        if self._allowed_updates is None:
            return kind in DEFAULT_UPDATE_TYPES
        return kind in self._allowed_updates

    def _enqueue(self, kind: str, payload: JSON) -> JSON | None:
        """Queue an update for the bot, unless allowed_updates filters it out."""
        if not self._allowed(kind):
            return None
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self._updates.append(update)
        self.updates_log.append(update)
        self._wake_updates()
        self._bump()
        return update

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates the bot has not confirmed yet."""
        return copy.deepcopy(self._updates)

    def _bot_receives(self, chat: Chat, message: ChatMessage) -> bool:
        """Whether the bot gets this message (group privacy mode applies)."""
        if chat.type == "private":
            return True
        if chat.bot_status in ("left", "kicked"):
            return False
        if not self.privacy_mode or chat.bot_status in ("administrator", "creator"):
            return True
        if message.via_bot:
            return True
        command = re.match(r"/[A-Za-z0-9_]+(?:@([A-Za-z0-9_]+))?", message.text)
        if command:
            target = command.group(1)
            return target is None or target.lower() == (self.bot_user.username or "").lower()
        if message.reply_to_message_id:
            replied = chat.messages.get(message.reply_to_message_id)
            if replied is not None and replied.from_bot:
                return True
        return self._mentions_bot(message)

    def _mentions_bot(self, message: ChatMessage) -> bool:
        mention = f"@{self.bot_user.username}".lower()
        return any(
            s.type == "mention" and message.text[s.start : s.end].lower() == mention
            for s in message.spans
        )

    # -- the user side -------------------------------------------------------------------------

    def add_user(
        self,
        user: User | int,
        first_name: str = "",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> User:
        """Register a Telegram user the test can act as."""
        if not isinstance(user, User):
            user = User(user, first_name or f"user{user}", last_name, username, language_code)
        self.users[user.id] = user
        return user

    def create_group(
        self,
        chat_id: int,
        title: str,
        *,
        members: Iterable[User | int] = (),
        admins: Iterable[User | int] = (),
        creator: User | int | None = None,
        bot_is_admin: bool = False,
        username: str | None = None,
        supergroup: bool = True,
    ) -> Chat:
        """Create a group the bot is a member (or administrator) of."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        chat = Chat(
            chat_id,
            "supergroup" if supergroup else "group",
            title=title,
            username=username,
            bot_status="administrator" if bot_is_admin else "member",
        )
        for status, people in (("member", members), ("administrator", admins)):
            for person in people:
                chat.members[self._user(person).id] = status
        if creator is not None:
            chat.members[self._user(creator).id] = "creator"
        self.chats[chat_id] = chat
        self._bump()
        return chat

    def set_member_status(self, chat_id: int, user: User | int, status: str) -> None:
        """Set a user's status in a group: creator, administrator, member, left or kicked."""
        if status not in ("creator", "administrator", "member", "left", "kicked"):
            raise ValueError(f"unknown member status {status!r}")
        chat = self._group(chat_id)
        user_id = self._user(user).id
        if user_id == self.bot_user.id:
            chat.bot_status = status
        else:
            chat.members[user_id] = status

    def _user(self, user: User | int) -> User:
        user_id = user.id if isinstance(user, User) else user
        if user_id == self.bot_user.id:
            return self.bot_user
        if user_id not in self.users:
            if isinstance(user, User):
                return self.add_user(user)
            raise ValueError(f"unknown user {user_id}; call add_user first")
        return self.users[user_id]

    def _group(self, chat_id: int) -> Chat:
        chat = self.chats.get(chat_id)
        if chat is None or chat.type == "private":
            raise ValueError(f"no group {chat_id}; call create_group first")
        return chat

    def _chat_for(self, user: User, chat_id: int) -> Chat:
        """The chat a user writes in: their private chat with the bot, or a group."""
        if chat_id == user.id:
            chat = self.chats.get(chat_id)
            if chat is None:
                chat = Chat(
                    user.id,
                    "private",
                    first_name=user.first_name,
                    last_name=user.last_name,
                    username=user.username,
                )
                self.chats[chat_id] = chat
            return chat
        if chat_id > 0:
            raise ValueError("a user writes privately to the bot with chat_id == their user id")
        chat = self._group(chat_id)
        if chat.members.get(user.id) in (None, "left"):
            chat.members[user.id] = "member"
        if chat.members[user.id] == "kicked":
            raise ValueError(f"user {user.id} was banned from {chat_id}")
        return chat

    def _live(self, chat_id: int, message_id: int) -> ChatMessage:
        chat = self.chats.get(chat_id)
        message = chat.messages.get(message_id) if chat else None
        if message is None or message.deleted:
            raise ValueError(f"no message {message_id} in chat {chat_id}")
        return message

    def _snapshot(self, message: ChatMessage) -> ChatMessage:
        return copy.deepcopy(message)

    async def send_text(
        self, user: User | int, chat_id: int, text: str, *, reply_to: int | None = None
    ) -> ChatMessage:
        """The user writes ``text`` in a chat; the bot gets the update it would get."""
        sender = self._user(user)
        if sender.id in self._blocked and chat_id == sender.id:
            raise ValueError("the user blocked the bot; call unblock_bot first")
        chat = self._chat_for(sender, chat_id)
        clean, spans = finalize_text(text, [])
        if not clean:
            raise ValueError("Telegram clients do not send empty messages")
        if reply_to is not None:
            self._live(chat.id, reply_to)
        message = self._store(chat, sender, clean, spans, reply_to=reply_to)
        if self._bot_receives(chat, message):
            self._enqueue("message", self.message_json(message))
        return self._snapshot(message)

    async def edit_text(
        self, user: User | int, chat_id: int, message_id: int, text: str
    ) -> ChatMessage:
        """The user edits one of their messages; the bot gets edited_message."""
        sender = self._user(user)
        message = self._live(chat_id, message_id)
        if message.sender.id != sender.id:
            raise ValueError("users can only edit their own messages")
        clean, spans = finalize_text(text, [])
        if not clean:
            raise ValueError("Telegram clients do not send empty messages")
        message.text, message.spans = clean, spans
        message.entities = entities_json(clean, spans, self._user_json)
        message.html = render_html(clean, spans)
        message.edit_date = int(time.time())
        message.version = self._bump()
        chat = self.chats[chat_id]
        if self._bot_receives(chat, message):
            self._enqueue("edited_message", self.message_json(message))
        return self._snapshot(message)

    def _new_query_id(self) -> str:
        query_id = str(self._next_query_id)
        self._next_query_id += 1
        return query_id

    def _callback(self, user: User, chat: Chat, message_id: int, data: str) -> str:
        query_id = self._new_query_id()
        payload: JSON = {
            "id": query_id,
            "from": user.to_json(),
            "chat_instance": str(abs(chat.id) * 7919 % 10**18 + 10**17),
            "data": data,
        }
        message = chat.messages.get(message_id)
        if message is not None and message.inline_message_id:
            payload["inline_message_id"] = message.inline_message_id
        elif message is not None and not message.deleted:
            payload["message"] = self.message_json(message)
        else:
            payload["message"] = {"chat": chat.to_json(), "message_id": message_id, "date": 0}
        self._queries[query_id] = _PendingQuery(
            query_id, user.id, chat.id, message_id, data, time.monotonic()
        )
        self._enqueue("callback_query", payload)
        return query_id

    async def press_button(
        self, user: User | int, chat_id: int, message_id: int, callback_data: str
    ) -> str:
        """Press a callback button that really is on the message; returns the query id."""
        presser = self._user(user)
        message = self._live(chat_id, message_id)
        if callback_data not in message.callback_data():
            raise ValueError(
                f"message {message_id} has no button with callback_data {callback_data!r}; "
                f"it has {message.callback_data()!r}"
            )
        if self.chats[chat_id].type == "private" and presser.id != chat_id:
            raise ValueError("only the chat's user can press buttons in a private chat")
        return self._callback(presser, self.chats[chat_id], message_id, callback_data)

    async def forge_callback(
        self, user: User | int, chat_id: int, message_id: int, data: str
    ) -> str:
        """Send a callback query with arbitrary data, as a tampering client could."""
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ValueError(f"no chat {chat_id}")
        return self._callback(self._user(user), chat, message_id, data)

    async def inline_query(
        self,
        user: User | int,
        query: str,
        *,
        offset: str = "",
        chat_type: str = "sender",
        timeout: float = 5.0,  # noqa: ASYNC109 - the brief's wait_for(..., timeout=) API
    ) -> InlineAnswer:
        """Type ``@bot query`` in a chat and wait for the bot's answer."""
        if not self.inline_mode:
            raise ValueError("inline mode is off for this bot")
        sender = self._user(user)
        query_id = self._new_query_id()
        self._inline_queries[query_id] = _PendingInline(
            query_id, sender.id, query, time.monotonic()
        )
        payload: JSON = {
            "id": query_id,
            "from": sender.to_json(),
            "query": query,
            "offset": offset,
        }
        if chat_type:
            payload["chat_type"] = chat_type
        self._enqueue("inline_query", payload)
        return await self.wait_for(lambda: self.inline_answers.get(query_id), timeout)

    async def choose_inline_result(
        self, user: User | int, chat_id: int, query_id: str, result_id: str
    ) -> ChatMessage:
        """Pick an answered result: the user posts it "via" the bot into ``chat_id``."""
        sender = self._user(user)
        answer = self.inline_answers.get(query_id)
        if answer is None:
            raise ValueError(f"inline query {query_id} was not answered")
        result = next((r for r in answer.results if r["id"] == str(result_id)), None)
        if result is None:
            raise ValueError(f"no result {result_id!r} among {[r['id'] for r in answer.results]}")
        content = result.get("input_message_content") or {}
        if "message_text" not in content:
            raise ValueError("the emulator can only post text results")
        entities = content.get("entities")
        formatted = format_text(
            str(content["message_text"]),
            content.get("parse_mode"),
            json.dumps(entities) if entities is not None else None,
            strict_entities=self.strict_html_entities,
        )
        chat = self._chat_for(sender, chat_id)
        markup = result.get("reply_markup")
        message = self._store(
            chat,
            sender,
            formatted.text,
            formatted.spans,
            reply_markup=markup,
            via_bot=True,
            source=formatted.source,
            parse_mode=formatted.parse_mode or None,
        )
        if markup:
            message.inline_message_id = f"AgAAA{self._next_inline_message:011d}"
            self._next_inline_message += 1
            self._inline_messages[message.inline_message_id] = message
        if self._bot_receives(chat, message):
            self._enqueue("message", self.message_json(message))
        if self.inline_feedback:
            chosen: JSON = {
                "result_id": result["id"],
                "from": sender.to_json(),
                "query": answer.query,
            }
            if message.inline_message_id:
                chosen["inline_message_id"] = message.inline_message_id
            self._enqueue("chosen_inline_result", chosen)
        return self._snapshot(message)

    def _member_update(self, chat: Chat, actor: User, old: str, new: str) -> None:
        old_member: JSON = {"user": self.bot_user.to_json(), "status": old}
        new_member: JSON = {"user": self.bot_user.to_json(), "status": new}
        if new == "kicked":
            new_member["until_date"] = 0
        self._enqueue(
            "my_chat_member",
            {
                "chat": chat.to_json(),
                "from": actor.to_json(),
                "date": int(time.time()),
                "old_chat_member": old_member,
                "new_chat_member": new_member,
            },
        )

    async def block_bot(self, user: User | int) -> None:
        """The user blocks the bot: sends to them fail with 403 from now on."""
        blocker = self._user(user)
        if blocker.id in self._blocked:
            return
        self._blocked.add(blocker.id)
        chat = self.chats.get(blocker.id)
        if chat is not None:
            self._member_update(chat, blocker, "member", "kicked")
        self._bump()

    async def unblock_bot(self, user: User | int) -> None:
        """The user unblocks the bot."""
        blocker = self._user(user)
        if blocker.id not in self._blocked:
            return
        self._blocked.discard(blocker.id)
        chat = self.chats.get(blocker.id)
        if chat is not None:
            self._member_update(chat, blocker, "kicked", "member")
        self._bump()

    async def deactivate_user(self, user: User | int) -> None:
        """The user deletes their account: sends to them fail with 403."""
        self._deactivated.add(self._user(user).id)
        self._bump()

    def start_private_chat(self, user: User | int) -> Chat:
        """The user opened the bot's chat some time ago (pressed Start), so the bot may write
        to them; no update is sent. For tests and benchmarks with many recipients."""
        person = self._user(user)
        return self._chat_for(person, person.id)

    def file_data(self, message: ChatMessage) -> bytes:
        """The bytes of the document a message carries."""
        if message.document is None:
            raise ValueError(f"message {message.message_id} carries no document")
        return self.files[message.document["file_id"]].data

    async def remove_bot(self, chat_id: int, by: User | int | None = None) -> None:
        """Kick the bot from a group."""
        chat = self._group(chat_id)
        old = chat.bot_status
        chat.bot_status = "kicked"
        actor = self._user(by) if by is not None else self.bot_user
        self._member_update(chat, actor, old, "kicked")

    def chat(self, chat_id: int) -> Chat:
        """The chat with this id."""
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ValueError(f"no chat {chat_id}")
        return chat

    def chat_messages(self, chat_id: int) -> list[ChatMessage]:
        """The chat's messages as they stand now (edits applied, deletions removed)."""
        chat = self.chats.get(chat_id)
        if chat is None:
            return []
        return [self._snapshot(m) for m in chat.messages.values() if not m.deleted]

    def message(self, chat_id: int, message_id: int) -> ChatMessage:
        """One message as it stands now."""
        return self._snapshot(self._live(chat_id, message_id))

    def reply_keyboard(self, chat_id: int) -> JSON | None:
        """The reply keyboard the chat's user currently sees, if any."""
        chat = self.chats.get(chat_id)
        return copy.deepcopy(chat.reply_keyboard) if chat else None

    def calls_to(self, method: str) -> list[CallRecord]:
        """Every call to ``method`` (any letter case)."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    # -- webhook delivery ----------------------------------------------------------------------

    def _delivery_url(self, url: str) -> str | None:
        parts = urlsplit(url)
        if self.webhook_target:
            base = self.webhook_target.rstrip("/")
            target = base + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        else:
            target = url
        # Never send traffic anywhere but this machine.
        return target if _is_loopback(urlsplit(target).hostname) else None

    async def _deliver(
        self, session: aiohttp.ClientSession, hook: _Webhook, update: JSON
    ) -> str | None:
        target = self._delivery_url(hook.url)
        if target is None:
            return "Connection refused (delivery goes to loopback only; set webhook_target)"
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        try:
            async with session.post(target, data=json.dumps(update), headers=headers) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return None
                return f"Wrong response from the webhook: {response.status} {response.reason}"
        except TimeoutError:
            return "Connection timed out"
        except aiohttp.ClientConnectorError:
            return "Connection refused"
        except aiohttp.ClientError as exc:
            return f"Connection failed: {type(exc).__name__}"

    async def _webhook_worker(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            attempts = 0
            while not self._stopping.is_set():
                hook = self._webhook
                if hook is None or not self._updates:
                    event = self._updates_event
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(event.wait(), 5.0)
                    continue
                update = self._updates[0]
                error = await self._deliver(session, hook, update)
                if error is None:
                    attempts = 0
                    if update in self._updates:
                        self._updates.remove(update)
                    self.webhook_deliveries.append(update)
                    self._bump()
                    continue
                attempts += 1
                hook.last_error_date = int(time.time())
                hook.last_error_message = error
                self._bump()
                if attempts >= self.webhook_max_attempts:
                    attempts = 0
                    if update in self._updates:
                        self._updates.remove(update)
                    self.dropped_updates.append(update)
                    continue
                await self._sleep(self.webhook_retry_delay * 2 ** (attempts - 1))

    # -- the sandbox page ----------------------------------------------------------------------

    async def _handle_index(self, request: web.Request) -> web.StreamResponse:
        page = STATIC_DIR / "index.html"
        return web.Response(body=page.read_bytes(), content_type="text/html", charset="utf-8")

    def _page_message(self, message: ChatMessage) -> JSON:
        reply: JSON | None = None
        if message.reply_to_message_id:
            chat = self.chats[message.chat_id]
            replied = chat.messages.get(message.reply_to_message_id)
            if replied is not None:
                reply = {
                    "message_id": replied.message_id,
                    "name": replied.sender.full_name,
                    "text": "（已删除）" if replied.deleted else replied.text[:80],
                }
        origin = message.forward_origin or {}
        forwarded = origin.get("sender_user", {}).get("first_name") if origin else None
        return {
            "chat_id": message.chat_id,
            "message_id": message.message_id,
            "from": {
                "id": message.sender.id,
                "name": message.sender.full_name,
                "is_bot": message.sender.is_bot,
            },
            "date": message.date,
            "text": message.text,
            "html": message.html,
            "reply_markup": message.reply_markup,
            "reply_to": reply,
            "edited": message.edit_date is not None,
            "deleted": message.deleted,
            "via_bot": self.bot_user.username if message.via_bot else None,
            "forwarded_from": forwarded,
            "document": message.document.get("file_name") if message.document else None,
        }

    def sandbox_state(self, since: int = 0) -> JSON:
        """What the page needs: changes to its two chats since version ``since``."""
        chats: list[JSON] = []
        for chat_id, kind in (
            (self.sandbox_contestant.id, "private"),
            (self.sandbox_group_id, "group"),
        ):
            chat = self.chats.get(chat_id)
            messages = (
                [self._page_message(m) for m in chat.messages.values() if m.version > since]
                if chat
                else []
            )
            chats.append(
                {
                    "id": chat_id,
                    "kind": kind,
                    "title": (chat.title if chat and chat.title else None),
                    "messages": messages,
                    "reply_keyboard": chat.reply_keyboard if chat else None,
                    "blocked": chat_id in self._blocked,
                }
            )
        answers = [
            {
                "query_id": a.query_id,
                "chat_id": a.chat_id,
                "text": a.text,
                "show_alert": a.show_alert,
            }
            for a in self.callback_answers
            if a.version > since
        ]
        return {
            "version": self._version,
            "bot": self.bot_user.to_json(),
            "contestant": self.sandbox_contestant.to_json(),
            "organizer": self.sandbox_organizer.to_json(),
            "chats": chats,
            "answers": answers,
        }

    async def _handle_state(self, request: web.Request) -> web.Response:
        since = _to_int(request.query.get("since")) or 0
        try:
            timeout = min(30.0, max(0.0, float(request.query.get("timeout", "0"))))
        except ValueError:
            timeout = 0.0
        if since >= self._version and timeout > 0:
            with contextlib.suppress(TimeoutError):
                await self.wait_for(
                    lambda: self._version > since or self._stopping.is_set(), timeout
                )
        return _json_response(self.sandbox_state(since), 200)

    def _sandbox_user(self, chat_id: int) -> User:
        if chat_id == self.sandbox_contestant.id:
            return self.sandbox_contestant
        if chat_id == self.sandbox_group_id:
            return self.sandbox_organizer
        raise ValueError(f"the sandbox page does not show chat {chat_id}")

    async def _page_body(self, request: web.Request) -> JSON:
        try:
            body = await request.json()
        except ValueError:
            raise ValueError("expected a JSON object") from None
        if not isinstance(body, dict):
            raise ValueError("expected a JSON object")
        return body

    async def _handle_send(self, request: web.Request) -> web.Response:
        try:
            body = await self._page_body(request)
            chat_id = int(body.get("chat_id", 0))
            reply_to = body.get("reply_to")
            message = await self.send_text(
                self._sandbox_user(chat_id),
                chat_id,
                str(body.get("text", "")),
                reply_to=int(reply_to) if reply_to else None,
            )
        except (ValueError, TypeError) as exc:
            return _json_response({"ok": False, "error": str(exc)}, 400)
        return _json_response({"ok": True, "message": self._page_message(message)}, 200)

    async def _handle_press(self, request: web.Request) -> web.Response:
        try:
            body = await self._page_body(request)
            chat_id = int(body.get("chat_id", 0))
            query_id = await self.press_button(
                self._sandbox_user(chat_id),
                chat_id,
                int(body.get("message_id", 0)),
                str(body.get("data", "")),
            )
        except (ValueError, TypeError) as exc:
            return _json_response({"ok": False, "error": str(exc)}, 400)
        answer: JSON | None = None
        with contextlib.suppress(TimeoutError):
            found = await self.wait_for_answer(query_id, timeout=float(body.get("wait", 3.0)))
            answer = {"text": found.text, "show_alert": found.show_alert, "url": found.url}
        return _json_response({"ok": True, "query_id": query_id, "answer": answer}, 200)


async def run_sandbox(
    host: str = "127.0.0.1", port: int = 8080, token: str = "1000000001:SANDBOX", **options: Any
) -> BotApiEmulator:
    """Start the emulator and its chat page on host:port; point the bot at ``.base_url``."""
    emulator = BotApiEmulator(token, **options)
    await emulator.start(port=port, host=host)
    return emulator
