"""The emulator's state and the layer every other one builds on: the world (users, groups,
their messages), change notification (``wait_for``), and the queue of updates for the bot."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import random
import re
from collections import deque
from collections.abc import Callable, Iterable
from typing import TypeVar

from aiohttp import web

from bot.sandbox.emulator.model import (
    JSON,
    CallbackAnswer,
    CallRecord,
    Chat,
    ChatMessage,
    FaultRule,
    InlineAnswer,
    PendingInline,
    PendingQuery,
    RateLimits,
    StoredFile,
    User,
    Webhook,
)

T = TypeVar("T")


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


class EmulatorState:
    """Users, chats, calls and pending updates; waiting for any of them to change."""

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
        self.webhook_deliveries: list[JSON] = []
        self.dropped_updates: list[JSON] = []
        self.commands: dict[tuple[str, int | None, int | None, str], list[JSON]] = {}

        self._rng = random.Random(seed)
        self._faults: list[FaultRule] = []
        self._blocked: set[int] = set()
        self._deactivated: set[int] = set()
        self._updates: list[JSON] = []
        self._next_update_id = 100_000_001
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._webhook: Webhook | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._queries: dict[str, PendingQuery] = {}
        self._inline_queries: dict[str, PendingInline] = {}
        self._inline_messages: dict[str, ChatMessage] = {}
        self._next_query_id = 4_100_000_000_000_000_001
        self._next_inline_message = 1
        self._global_sent: deque[float] = deque()
        self._group_sent: dict[int, deque[float]] = {}
        self._private_buckets: dict[int, tuple[float, float]] = {}
        self.files: dict[str, StoredFile] = {}  # file_id -> what the bot uploaded
        self._version = 0
        self._changed = asyncio.Event()
        self._updates_event = asyncio.Event()
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self.host = "127.0.0.1"

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

    async def wait_for_answer(self, query_id: str, timeout: float = 5.0) -> CallbackAnswer:  # noqa: ASYNC109 - the brief's wait_for(..., timeout=) API
        """Wait until the bot answers the callback query ``query_id``."""

        def ready() -> CallbackAnswer | None:
            return next((a for a in self.callback_answers if a.query_id == query_id), None)

        return await self.wait_for(ready, timeout)

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

    def file_data(self, message: ChatMessage) -> bytes:
        """The bytes of the document or photo a message carries."""
        if message.document is not None:
            return self.files[message.document["file_id"]].data
        if message.photo is not None:
            return self.files[message.photo[-1]["file_id"]].data
        raise ValueError(f"message {message.message_id} carries no document")

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
