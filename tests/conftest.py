"""Shared fixtures: the catalogue, stores, and a running bot against the Bot API emulator."""

from __future__ import annotations

import asyncio
import html
import re
import struct
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application

from bot.app import build_application, shutdown, startup
from bot.config import Settings
from bot.inbox import recorded
from bot.sandbox import BotApiEmulator, CallbackAnswer, ChatMessage, User
from bot.telegram_text import parse_html
from knowledge.base import KnowledgeBase
from knowledge.catalogue import Catalogue, load_seed
from knowledge.store import Store
from knowledge.texts import TEXTS, tr


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that starts a world through the `world` fixture is end to end (marked `e2e`);
    tests that start an emulator themselves carry the mark in their module."""
    for item in items:
        if "world" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def catalogue() -> Catalogue:
    return load_seed()


@pytest.fixture
def store() -> Store:
    return Store(":memory:")


@pytest.fixture
def kb(tmp_path: Path) -> KnowledgeBase:
    return KnowledgeBase(Store(tmp_path / "kb.db"))


# --- end to end: the real Application over HTTP against the Bot API emulator ----------------

TOKEN = "123456:test-token-for-the-emulator-only"
CONTESTANT = User(1001, "小明", username="xiaoming", language_code="zh-hans")
ORGANIZER = User(9001, "王老师", language_code="zh-hans")
ORGANIZER_GROUP = -100123


@dataclass
class World:
    """A running bot and the emulator it talks to, with shortcuts for what users do.

    `store` is the test's own connection to the bot's database: tests read and write through
    it on the event loop, while the bot's store (bot_store) must never be called there."""

    emulator: BotApiEmulator
    app: Application[Any, Any, Any, Any, Any, Any]
    store: Store
    settings: Settings

    @property
    def bot_store(self) -> Store:
        return self.app.bot_data.store

    async def say(
        self,
        text: str,
        user: User = CONTESTANT,
        chat_id: int | None = None,
        *,
        reply_to: int | None = None,
        replies: int = 1,
    ) -> list[ChatMessage]:
        """Send text as a user; return the bot's next `replies` messages in that chat."""
        chat_id = user.id if chat_id is None else chat_id
        sent = await self.emulator.send_text(user, chat_id, text, reply_to=reply_to)
        if replies == 0:
            return []
        return await self.emulator.wait_for_messages(chat_id, replies, after=sent, timeout=10)

    async def press(
        self, message: ChatMessage, label: str, user: User = CONTESTANT, *, changes: bool = True
    ) -> CallbackAnswer:
        """Press the button whose label contains `label`; wait for the bot's answer to it and,
        unless `changes` is False, for the chat to change (an edit or a new message)."""
        data = button(message, label)
        chat_id = message.chat_id
        before = {m.message_id: m.version for m in self.messages(chat_id)}

        def changed() -> bool | None:
            now = {m.message_id: m.version for m in self.messages(chat_id)}
            return True if now != before else None

        query_id = await self.emulator.press_button(user, chat_id, message.message_id, data)
        answer = await self.emulator.wait_for_answer(query_id, timeout=10)
        if changes:
            await self.emulator.wait_for(changed, timeout=10)
        return answer

    def messages(self, chat_id: int) -> list[ChatMessage]:
        return self.emulator.chat_messages(chat_id)

    def last(self, chat_id: int) -> ChatMessage:
        return self.messages(chat_id)[-1]

    async def handled(self) -> None:
        """Until the bot has finished with every update so far: it has confirmed them all to
        Telegram (it does once they are in its inbox, bot/inbox.py), and the Application's
        update queue is joined, so every handler of each, the error handler included, has run."""
        await self.emulator.wait_for(lambda: not self.emulator.pending_updates or None, 10)
        await updates_done(self.app)

    async def broadcasts_idle(self) -> None:
        """Until the broadcast engine, woken now, has looked at the stored broadcasts and found
        nothing to send: whatever it would have sent by mistake has been sent by then."""
        engine = self.app.bot_data.broadcaster
        begun = engine.looks  # a look already under way may have read the database before now
        engine.wake()
        async with asyncio.timeout(10):
            while engine.idle_look <= begun:
                engine.looked.clear()
                await engine.looked.wait()


async def updates_done(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Until every update the Application has taken so far is in its inbox and handled: the
    update queue is joined once each update's handlers (error handler included) have run."""
    await recorded(app.update_queue)
    await asyncio.wait_for(app.update_queue.join(), 10)


def button(message: ChatMessage, label: str) -> str:
    """The callback data of the button whose text contains `label`."""
    for row in (message.reply_markup or {}).get("inline_keyboard", []):
        for b in row:
            if label in b["text"] and "callback_data" in b:
                return str(b["callback_data"])
    labels = [
        b["text"] for row in (message.reply_markup or {}).get("inline_keyboard", []) for b in row
    ]
    raise AssertionError(f"no button {label!r} on message {message.message_id}: {labels}")


def says(key: str, /, lang: str = "zh", **values: object) -> str:
    """What a person reads for the text `key` (knowledge/texts.py): its HTML as Telegram shows
    it. Tests name the text they expect rather than copy its wording."""
    return parse_html(tr(lang, key, **values))[0]


def lead(key: str, /, lang: str = "zh") -> str:
    """What every text `key` begins with, whatever its values: its words up to the first one
    (for a text that must not appear at all, or whose values a test cannot know)."""
    head = re.sub(r"<[^>]*>", "", TEXTS[key][lang].split("{", 1)[0])
    assert head.strip(), f"{key} begins with a value"
    return html.unescape(head)


def buttons(message: ChatMessage) -> list[str]:
    return [
        b["text"] for row in (message.reply_markup or {}).get("inline_keyboard", []) for b in row
    ]


def tiny_png() -> bytes:
    """A 3×2 picture: the PNG signature and IHDR are all the emulator reads of it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 3, 2, 8, 0, 0, 0, 0)  # 8-bit greyscale
    pixels = zlib.compress(b"\x00\x80\x80\x80" * 2)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


async def start_emulator(**options: Any) -> BotApiEmulator:
    """The emulator with 小明, 王老师 and the organizers' group, listening on a free port."""
    emulator = BotApiEmulator(TOKEN, sandbox=False, **options)
    emulator.add_user(CONTESTANT)
    emulator.add_user(ORGANIZER)
    emulator.create_group(ORGANIZER_GROUP, "组委会群", creator=ORGANIZER)
    await emulator.start()
    return emulator


def settings_for(emulator: BotApiEmulator, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings pointing the bot at the emulator, with a database in tmp_path."""
    return Settings(
        token=TOKEN,
        api_base_url=emulator.base_url,
        db_path=tmp_path / "bot.db",
        organizer_chat_id=ORGANIZER_GROUP,
        # Test users act far faster than people type: no pause between tickets, no flood
        # limit (tests/test_flood.py sets its own).
        **{"escalation_interval_seconds": 0, "user_per_minute": 0, **overrides},
    )


async def start_world(tmp_path: Path, **overrides: Any) -> World:
    emulator = await start_emulator()
    settings = settings_for(emulator, tmp_path, **overrides)
    return await polling_world(emulator, settings)


async def polling_world(
    emulator: BotApiEmulator,
    settings: Settings,
    prepare: Callable[[Application[Any, Any, Any, Any, Any, Any]], None] | None = None,
) -> World:
    """Build the bot for settings, let `prepare` adjust it before start, and start polling."""
    app = build_application(settings, TOKEN, Store(settings.db_path))
    if prepare is not None:
        prepare(app)
    await startup(app)
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    return World(emulator, app, Store(settings.db_path), settings)


def close_stores(world: World) -> None:
    """Close the bot's store and the test's; the bot never called its store on the loop."""
    bot_store = world.bot_store
    bot_store.close()
    world.store.close()
    assert bot_store.calls_on_loop == 0, "the bot called its store on the event loop (see log)"


async def restart_world(world: World) -> World:
    """Stop the bot and start a new one on the same database, with the same Telegram (the
    emulator keeps the chats, so old messages can still be replied to)."""
    assert world.app.updater is not None
    await world.app.updater.stop()
    await shutdown(world.app)
    close_stores(world)
    return await polling_world(world.emulator, world.settings)


async def stop_world(world: World) -> None:
    assert world.app.updater is not None
    await world.app.updater.stop()
    await shutdown(world.app)
    await world.emulator.stop()
    close_stores(world)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """The bot running against the emulator: 小明 (1001) writes in private, 王老师 (9001)
    is in the organizers' group (-100123)."""
    running = await start_world(tmp_path)
    try:
        yield running
    finally:
        await stop_world(running)
