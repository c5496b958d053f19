"""What handlers share — settings, store, knowledge base — as the Application's typed bot_data,
and the Application and handler context types, spelled once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeAlias

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.config import Settings
from knowledge.base import KnowledgeBase
from knowledge.store import Store

if TYPE_CHECKING:
    from handlers.broadcast.jobs import Broadcaster
    from handlers.flood import TokenBuckets


def utc_now() -> datetime:
    return datetime.now(UTC)


class Services:
    """`context.bot_data` of every handler (ContextTypes(bot_data=Services)).

    PTB makes it, empty, when the Application is built; bot.app.build_application then gives it
    the settings, the store and the knowledge base (`attach`) and the broadcast engine, before
    the Application handles anything."""

    settings: Settings
    store: Store
    kb: KnowledgeBase
    broadcaster: Broadcaster  # sends broadcasts (handlers/broadcast/jobs.py)

    def __init__(self) -> None:
        # getChatMember answers for the organizers' group: user id → (when asked, allowed).
        self.member_cache: dict[int, tuple[float, bool]] = {}
        # Held while a ticket is posted to the organizers: the submit handler, the same press
        # handled again after a restart, and the SLA loop's repost of lost posts must not post
        # it twice.
        self.posting = asyncio.Lock()
        # Held while a contestant is told a ticket's number, so they are told once.
        self.confirming = asyncio.Lock()
        # What time it is, for the daily digest and /stats; tests put a clock of their own here.
        self.clock: Callable[[], datetime] = utc_now
        # Per-contestant token buckets (handlers/flood.py); None when USER_PER_MINUTE is 0.
        self.flood: TokenBuckets | None = None
        # The SLA loop and the broadcast engine, cancelled at shutdown (bot/app.py).
        self.background: list[asyncio.Task[None]] = []

    def attach(self, settings: Settings, store: Store, kb: KnowledgeBase) -> None:
        self.settings, self.store, self.kb = settings, store, kb


# The handlers' context and the Application, typed: their bot_data is the Services. (The
# Application's context and job queue types stay open: PTB types `context.application` with a
# context type it leaves unbound.)
Context: TypeAlias = CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], Services]
App: TypeAlias = Application[ExtBot[Any], Any, dict[Any, Any], dict[Any, Any], Services, Any]
CONTEXT_TYPES = ContextTypes(bot_data=Services)
