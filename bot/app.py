"""Build the PTB Application: settings, store, knowledge base, handlers, commands."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import BotCommand
from telegram.ext import Application, ApplicationBuilder

import handlers
from bot.config import Settings
from bot.services import Services, attach
from handlers import tickets
from knowledge.base import KnowledgeBase
from knowledge.store import Store

log = logging.getLogger(__name__)
BACKGROUND = "background_tasks"

# The command menu contestants see; organizers' commands are not advertised.
COMMANDS = {
    "zh": [
        ("start", "开始 · 主菜单"),
        ("tracks", "全部赛道"),
        ("myquestions", "我问过组委会的问题"),
        ("help", "怎么提问"),
    ],
    "en": [
        ("start", "Start · main menu"),
        ("tracks", "All tracks"),
        ("myquestions", "My questions to the organizers"),
        ("help", "How to ask"),
    ],
}


def build_application(
    settings: Settings, token: str, store: Store | None = None
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The Application for a token, talking to settings.api_base_url."""
    store = store or Store(settings.db_path)
    kb = KnowledgeBase(store)
    app = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_base_url.removesuffix("bot") + "file/bot")
        .concurrent_updates(True)
        .build()
    )
    attach(app, Services(settings=settings, store=store, kb=kb))
    handlers.register(app)
    return app


async def startup(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Initialize and start the application, its command menu and its background work."""
    await app.initialize()
    for lang, commands in COMMANDS.items():
        await app.bot.set_my_commands(
            [BotCommand(name, text) for name, text in commands],
            language_code=None if lang == "zh" else lang,
        )
    await app.start()
    app.bot_data[BACKGROUND] = [asyncio.create_task(tickets.sla_loop(app), name="sla")]


async def shutdown(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Stop background work, let handlers in flight finish, and close the application."""
    tasks: list[asyncio.Task[None]] = app.bot_data.pop(BACKGROUND, [])
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if app.running:
        await app.stop()
    await app.shutdown()
