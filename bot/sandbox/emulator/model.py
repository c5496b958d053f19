"""The emulator's data: users, chats and their messages, the calls the bot made, fault rules
and flood limits, and the small parsers of request parameters."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.telegram_text import Span

JSON = dict[str, Any]


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
    photo: list[JSON] | None = None  # PhotoSize objects; `text` then holds the caption
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


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG or JPEG file; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data) and data[i] == 0xFF:
            marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a frame header
                return (
                    int.from_bytes(data[i + 7 : i + 9], "big"),
                    int.from_bytes(data[i + 5 : i + 7], "big"),
                )
            i += 2 + length
    return None


@dataclass
class StoredFile:
    """A file the bot uploaded: what Telegram keeps, reachable again by its file_id."""

    file_id: str
    file_unique_id: str
    file_name: str
    mime_type: str
    data: bytes


class Params(dict[str, str]):
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
    response: JSON | None = None

    def finish(self, status: int, payload: JSON) -> None:
        """Record the response."""
        self.status = status
        self.ok = bool(payload.get("ok"))
        self.error_code = payload.get("error_code")
        self.description = payload.get("description")
        self.result = payload.get("result")
        self.response = payload


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
class Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class PendingQuery:
    query_id: str
    user_id: int
    chat_id: int | None
    message_id: int | None
    data: str
    created: float
    answered: bool = False


@dataclass
class PendingInline:
    query_id: str
    user_id: int
    query: str
    created: float
    answered: bool = False


@dataclass
class Described:
    result: Any
    description: str


def to_bool(value: str | None) -> bool:
    """The Bot API server's to_bool: "true", "yes" and "1", any case, trimmed."""
    return (value or "").strip().lower() in ("true", "yes", "1")


def to_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
