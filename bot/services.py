"""What handlers share: settings, store and knowledge base, kept in the Application."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from telegram.ext import Application, ContextTypes

from bot.config import Settings
from knowledge.base import KnowledgeBase
from knowledge.store import Store


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    store: Store
    kb: KnowledgeBase
    # getChatMember answers for the organizers' group: user id → (when asked, allowed).
    member_cache: dict[int, tuple[float, bool]] = field(default_factory=dict)
    # Held while a ticket is posted to the organizers: the submit handler, the same press handled
    # again after a restart, and the SLA loop's repost of lost posts must not post it twice.
    posting: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Held while a contestant is told a ticket's number, so they are told once.
    confirming: asyncio.Lock = field(default_factory=asyncio.Lock)
    # What time it is, for the daily digest and /stats; tests put a clock of their own here.
    clock: Callable[[], datetime] = utc_now


KEY = "services"


def attach(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    app.bot_data[KEY] = services


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    """The Services of the running Application."""
    found = context.bot_data[KEY]
    assert isinstance(found, Services)
    return found
