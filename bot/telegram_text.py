"""Telegram's rules for message text: limits, UTF-16 length, HTML checking, splitting.

The bot, the Bot API emulator (bot/sandbox/) and the tests share this module, so what the bot
checks before sending and what the emulator refuses are one set of rules. ``parse_html`` is
TDLib's HTML parser (what Telegram accepts with parse_mode=HTML); ``split_html`` cuts a long
reply into messages Telegram accepts. Text from users is escaped with ``html.escape``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from telegram.constants import (
    CallbackQueryLimit,
    InlineKeyboardButtonLimit,
    InlineKeyboardMarkupLimit,
    InlineQueryLimit,
    MessageLimit,
)

# Lengths are in UTF-16 code units of the text after entity parsing (utf16_len).
MAX_TEXT_LENGTH = int(MessageLimit.MAX_TEXT_LENGTH)  # 4096
MAX_CAPTION_LENGTH = int(MessageLimit.CAPTION_LENGTH)  # 1024
MAX_CALLBACK_DATA_BYTES = int(InlineKeyboardButtonLimit.MAX_CALLBACK_DATA)  # 64, UTF-8 bytes
MAX_CALLBACK_ANSWER_LENGTH = int(CallbackQueryLimit.ANSWER_CALLBACK_QUERY_TEXT_LENGTH)  # 200
MAX_INLINE_BUTTONS = int(InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER)  # 100
MAX_INLINE_RESULTS = int(InlineQueryLimit.RESULTS)  # 50


# --- HTML as Telegram parses it ----------------------------------------------------------------


class EntityParseError(Exception):
    """TDLib's reason for refusing marked-up text (wrapped as "can't parse entities: ...")."""


@dataclass
class Span:
    """An entity in Python character offsets; ``extra`` holds url/language/user fields."""

    type: str
    start: int
    end: int
    extra: dict[str, Any] = field(default_factory=dict)


_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_NAMED_HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's offsets and limits."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def byte_offset(text: str, index: int) -> int:
    """The UTF-8 byte offset of text[index]: where TDLib's refusals say the error is."""
    return len(text[:index].encode("utf-8", "surrogatepass"))


def is_space(ch: str) -> bool:
    """Whitespace as TDLib's parsers see it."""
    return ch in " \t\r\n\0\v\f"


def _ascii_lower(text: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def _decode_html_entity(text: str, pos: int) -> tuple[str, int]:
    """Decode ``&...;`` at pos like TDLib; returns ("", pos) when it is not an entity."""
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else "\0"

    end = pos + 1
    code = 0
    if at(pos + 1) == "#":
        end += 1
        if at(pos + 2) == "x":
            end += 1
            while at(end) in "0123456789abcdefABCDEF" and at(end) != "\0":
                code = code * 16 + int(at(end), 16)
                end += 1
        else:
            while "0" <= at(end) <= "9":
                code = code * 10 + int(at(end))
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return "", pos
        decoded = chr(code)
    else:
        while at(end).isascii() and at(end).isalpha():
            end += 1
        decoded = _NAMED_HTML_ENTITIES.get(text[pos + 1 : end], "")
        if not decoded:
            return "", pos
    if at(end) == ";":
        end += 1
    return decoded, end


def checked_link(url: str) -> str | None:
    """TDLib's get_checked_link: a usable URL, "http://"-prefixed if bare, or None."""
    url = url.strip()
    if not url:
        return None
    if "://" not in url:
        host = url.split("/", 1)[0]
        if re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:\d+)?", host):
            return "http://" + url
        return None
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # "http://a.b)]" (a bracket makes it an IPv6 literal): not a link
        return None
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return url if hostname else None
    if scheme in ("tg", "ton"):
        return url
    return None


def parse_html(text: str, *, strict_entities: bool = True) -> tuple[str, list[Span]]:
    """Parse Telegram HTML the way TDLib's parse_html does; raise EntityParseError on errors.

    With ``strict_entities`` an unknown named entity such as ``&nbsp;`` is refused; Telegram
    itself leaves such text as it is, which shows the raw ``&nbsp;`` to the user.
    """
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else "\0"

    def offset(k: int) -> int:
        return byte_offset(text, k)

    out: list[str] = []
    spans: list[Span] = []
    nested: list[tuple[str, str, int]] = []  # tag, argument, start in out
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            decoded, end = _decode_html_entity(text, i)
            if decoded:
                if 0xD800 <= ord(decoded) <= 0xDFFF:
                    raise EntityParseError(
                        "Text contains invalid Unicode characters after decoding HTML "
                        "entities, check for unmatched surrogate code units"
                    )
                out.append(decoded)
                i = end
                continue
            named = re.match(r"&([A-Za-z][A-Za-z0-9]*);", text[i:])
            if strict_entities and named:
                raise EntityParseError(
                    f'Unsupported HTML entity "{named.group(0)}" at byte offset {offset(i)}'
                )
        if c != "<":
            out.append(c)
            i += 1
            continue
        begin = i
        i += 1
        if at(i) != "/":
            while not is_space(at(i)) and at(i) != ">":
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {offset(begin)}")
            tag = _ascii_lower(text[begin + 1 : i])
            if tag not in _HTML_TAGS:
                raise EntityParseError(
                    f'Unsupported start tag "{tag}" at byte offset {offset(begin)}'
                )
            argument = ""
            while at(i) != ">":
                while i < n and is_space(at(i)):
                    i += 1
                if at(i) == ">":
                    break
                attr_begin = i
                while not is_space(at(i)) and at(i) not in "=>":
                    i += 1
                name = text[attr_begin:i]
                if not name:
                    raise EntityParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {offset(begin)}'
                    )
                while i < n and is_space(at(i)):
                    i += 1
                if at(i) != "=":
                    if tag == "blockquote" and name == "expandable":
                        argument = "1"
                        if i >= n:
                            raise EntityParseError(
                                f"Unclosed start tag at byte offset {offset(begin)}"
                            )
                        continue
                    raise EntityParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {offset(begin)}'
                    )
                i += 1
                while i < n and is_space(at(i)):
                    i += 1
                if i >= n:
                    raise EntityParseError(
                        f'Unclosed start tag "{tag}" at byte offset {offset(begin)}'
                    )
                if at(i) not in "'\"":
                    token_begin = i
                    while at(i).isascii() and (at(i).isalnum() or at(i) in ".-"):
                        i += 1
                    value = _ascii_lower(text[token_begin:i])
                    if not is_space(at(i)) and at(i) != ">":
                        raise EntityParseError(
                            f"Unexpected end of name token at byte offset {offset(token_begin)}"
                        )
                else:
                    quote = at(i)
                    i += 1
                    chars: list[str] = []
                    while i < n and at(i) != quote:
                        if at(i) == "&":
                            decoded, end = _decode_html_entity(text, i)
                            if decoded:
                                chars.append(decoded)
                                i = end
                                continue
                        chars.append(text[i])
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = "".join(chars)
                if i >= n:
                    raise EntityParseError(f"Unclosed start tag at byte offset {offset(begin)}")
                if tag == "a" and name == "href":
                    argument = value
                elif tag == "code" and name == "class" and value.startswith("language-"):
                    argument = value[9:]
                elif tag == "span" and name == "class" and value.startswith("tg-"):
                    argument = value[3:]
                elif tag == "tg-emoji" and name == "emoji-id":
                    argument = value
                elif tag == "blockquote" and name == "expandable":
                    argument = "1"
            if tag == "span" and argument != "spoiler":
                raise EntityParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {offset(begin)}'
                )
            nested.append((tag, argument, len(out)))
            i += 1
            continue
        # an end tag
        if not nested:
            raise EntityParseError(f"Unexpected end tag at byte offset {offset(begin)}")
        while not is_space(at(i)) and at(i) != ">":
            i += 1
        end_tag = _ascii_lower(text[begin + 2 : i])
        while i < n and is_space(at(i)):
            i += 1
        if at(i) != ">":
            raise EntityParseError(f"Unclosed end tag at byte offset {offset(begin)}")
        tag, argument, start = nested[-1]
        if end_tag and end_tag != tag:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {offset(begin)}, expected "</{tag}>", '
                f'found "</{end_tag}>"'
            )
        if len(out) > start:
            _close_html_tag(tag, argument, start, len(out), out, spans)
        nested.pop()
        i += 1
    if nested:
        raise EntityParseError(f"Can't find end tag corresponding to start tag {nested[-1][0]}")
    for span in spans:
        if span.type == "code":
            span.extra.pop("language", None)
    return "".join(out), spans


def _close_html_tag(
    tag: str, argument: str, start: int, end: int, out: list[str], spans: list[Span]
) -> None:
    simple = {
        "i": "italic",
        "em": "italic",
        "b": "bold",
        "strong": "bold",
        "s": "strikethrough",
        "strike": "strikethrough",
        "del": "strikethrough",
        "u": "underline",
        "ins": "underline",
        "tg-spoiler": "spoiler",
        "span": "spoiler",
    }
    if tag in simple:
        spans.append(Span(simple[tag], start, end))
    elif tag == "tg-emoji":
        if not argument.isdigit() or int(argument) == 0:
            raise EntityParseError("Invalid custom emoji identifier specified")
        spans.append(Span("custom_emoji", start, end, {"custom_emoji_id": argument}))
    elif tag == "a":
        url = argument or "".join(out[start:end])
        user = re.fullmatch(r"tg://user\?id=(\d+)", url.strip())
        if user:
            spans.append(Span("text_mention", start, end, {"user_id": int(user.group(1))}))
        else:
            checked = checked_link(url)
            if checked:
                spans.append(Span("text_link", start, end, {"url": checked}))
    elif tag == "pre":
        last = spans[-1] if spans else None
        if (
            last is not None
            and last.type == "code"
            and (last.start, last.end) == (start, end)
            and last.extra.get("language")
        ):
            last.type = "pre"
        else:
            spans.append(Span("pre", start, end))
    elif tag == "code":
        last = spans[-1] if spans else None
        if (
            last is not None
            and last.type == "pre"
            and (last.start, last.end) == (start, end)
            and argument
        ):
            last.extra["language"] = argument
        else:
            extra = {"language": argument} if argument else {}
            spans.append(Span("code", start, end, extra))
    elif tag == "blockquote":
        kind = "expandable_blockquote" if argument else "blockquote"
        spans.append(Span(kind, start, end))


# --- plain text and splitting ------------------------------------------------------------------


def to_plain(text: str) -> str:
    """Telegram HTML to plain text, for the command line."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


_TOKEN = re.compile(r"<[^>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|[^<&]|[<&]")


def visible_length(text: str) -> int:
    """Length Telegram counts for an HTML message: the text without tags, in UTF-16 units."""
    return utf16_len(to_plain(text))


def split_html(text: str, limit: int = MAX_TEXT_LENGTH - 96) -> list[str]:
    """Split HTML into messages of at most `limit` visible units, at a line break if one is near,
    closing the tags open at a cut and opening them again in the next part."""
    if visible_length(text) <= limit:
        return [text]
    parts: list[str] = []
    chunk: list[str] = []
    stack: list[tuple[str, str]] = []  # (tag name, opening tag) still open
    size = 0
    last_break: tuple[int, list[tuple[str, str]]] | None = None

    def cut(at: int, open_tags: list[tuple[str, str]]) -> None:
        nonlocal chunk, size, last_break
        head, tail = chunk[:at], chunk[at:]
        parts.append("".join(head) + "".join(f"</{name}>" for name, _ in reversed(open_tags)))
        chunk = [opening for _, opening in open_tags] + tail
        size = sum(_units(tok) for tok in tail)
        last_break = None

    for token in _TOKEN.findall(text):
        if token.startswith("</"):
            name = token[2:-1].strip().lower()
            if stack and stack[-1][0] == name:
                stack.pop()
            chunk.append(token)
            continue
        if token.startswith("<") and len(token) > 1:
            name = re.split(r"[\s>/]", token[1:], maxsplit=1)[0].lower()
            stack.append((name, token))
            chunk.append(token)
            continue
        units = _units(token)
        if size + units > limit:
            if last_break is not None and last_break[0] > len(chunk) // 2:
                cut(last_break[0], last_break[1])
            else:
                cut(len(chunk), list(stack))
        chunk.append(token)
        size += units
        if token == "\n":
            last_break = (len(chunk), list(stack))
    if chunk:
        parts.append("".join(chunk))
    return [p.strip("\n") or p for p in parts if to_plain(p).strip()]


def _units(token: str) -> int:
    return utf16_len(html.unescape(token))
