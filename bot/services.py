"""What handlers share: settings, store and knowledge base, kept in the Application."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import Application, ContextTypes

from bot.config import Settings
from knowledge.base import KnowledgeBase
from knowledge.store import Store


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


KEY = "services"


def attach(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    app.bot_data[KEY] = services


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    """The Services of the running Application."""
    found = context.bot_data[KEY]
    assert isinstance(found, Services)
    return found
