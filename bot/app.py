"""Build the PTB Application: settings, store, knowledge base, handlers, commands."""

from __future__ import annotations

import asyncio
import errno
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import BotCommand
from telegram.ext import Application, ApplicationBuilder

import handlers
from bot.backups import schedule_backups
from bot.config import Settings, StartupError
from bot.inbox import ConfirmingRequest, InboxProcessor, InboxQueue, replay
from bot.memory import schedule_trim
from bot.metrics import MeteredApplication
from bot.pacer import Pacer
from bot.services import KEY, Services, attach
from bot.transport import AiohttpRequest
from handlers import tickets
from handlers.broadcast.jobs import BROADCASTER, Broadcaster, broadcaster_of
from knowledge.base import KnowledgeBase
from knowledge.catalogue import CatalogueError
from knowledge.store import Store

log = logging.getLogger(__name__)
BACKGROUND = "background_tasks"
SHUTDOWN_HOOKS = "shutdown_hooks"
ShutdownHook = Callable[[Application[Any, Any, Any, Any, Any, Any]], Awaitable[None]]

# The command menu contestants see; organizers' commands are not advertised.
COMMANDS = {
    "zh": [
        ("start", "开始 · 主菜单"),
        ("tracks", "全部赛道"),
        ("myquestions", "我问过组委会的问题"),
        ("subscribe", "订阅赛事通知"),
        ("settings", "我的订阅与队伍"),
        ("help", "怎么提问"),
    ],
    "en": [
        ("start", "Start · main menu"),
        ("tracks", "All tracks"),
        ("myquestions", "My questions to the organizers"),
        ("subscribe", "Announcements to receive"),
        ("settings", "My subscription and team"),
        ("help", "How to ask"),
    ],
}


def build_application(
    settings: Settings, token: str, store: Store | None = None
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The Application for a token, talking to settings.api_base_url."""
    store = store or open_store(settings)
    kb = open_knowledge(store, settings)
    # Every Bot API call passes the pacer: replies first, broadcasts paced, 429 bot-wide.
    pacer = Pacer(settings.broadcast_rate)
    inbox = InboxQueue(store)
    app = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_base_url.removesuffix("bot") + "file/bot")
        # Updates are in the database before Telegram hears they arrived (bot/inbox.py): the
        # getUpdates that confirms them, and the webhook's answer, wait for the inbox.
        .update_queue(inbox)
        .get_updates_request(ConfirmingRequest(inbox))
        # aiohttp, not httpx: far less CPU per request with many in flight (bot/transport.py).
        .request(AiohttpRequest())
        .concurrent_updates(InboxProcessor(inbox.writer))
        .application_class(MeteredApplication)  # counts updates, times handlers (/metrics)
        .rate_limiter(pacer)
        .build()
    )
    attach(app, Services(settings=settings, store=store, kb=kb))
    app.bot_data[BROADCASTER] = Broadcaster(app, pacer)
    handlers.register(app)
    return app


def open_store(settings: Settings) -> Store:
    """The database at CONTEST_BOT_DB; a StartupError saying why when it cannot be used."""
    try:
        return Store(settings.db_path)
    except (OSError, sqlite3.Error) as exc:
        if isinstance(exc, FileExistsError | NotADirectoryError):
            reason = f"a file is in the way of its folder {settings.db_path.parent}"
        elif isinstance(exc, OSError):
            reason = f"cannot create its folder: {exc.strerror or exc}"
        else:
            reason = str(exc)
        raise StartupError(
            f"CONTEST_BOT_DB {settings.db_path} cannot be opened for writing ({reason}); "
            "point it at a file in a writable folder"
        ) from None


def open_knowledge(store: Store, settings: Settings) -> KnowledgeBase:
    """The knowledge base from CONTEST_BOT_SEED; a StartupError when the seed cannot be read."""
    try:
        return KnowledgeBase(store, settings.seed_path)
    except (CatalogueError, UnicodeDecodeError, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if isinstance(exc, UnicodeDecodeError):
            reason = "not UTF-8 text"
        raise StartupError(
            f"CONTEST_BOT_SEED {settings.seed_path} cannot be read as a catalogue ({reason})"
        ) from None


def port_error(exc: OSError, variable: str, host: str, port: int) -> StartupError:
    """The StartupError for a server that cannot listen on host:port."""
    if exc.errno == errno.EADDRINUSE:
        reason = "another process is listening there; stop it or choose a free port"
    elif exc.errno == errno.EACCES:
        reason = "permission denied; ports below 1024 need privileges"
    elif exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) or exc.errno is None:
        reason = f"{host} is not an address of this machine (HOST)"
    else:
        reason = exc.strerror or str(exc)
    return StartupError(f"{variable} {port} on {host} cannot be used: {reason}")


async def startup(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Initialize and start the application, its command menu and its background work."""
    await app.initialize()
    for lang, commands in COMMANDS.items():
        await app.bot.set_my_commands(
            [BotCommand(name, text) for name, text in commands],
            language_code=None if lang == "zh" else lang,
        )
    await replay(app, app.bot_data[KEY].store)  # what a killed process took and left undone
    await app.start()
    schedule_backups(app)  # BACKUP_EVERY_HOURS, in PTB's JobQueue
    schedule_trim(app)  # freed C memory back to the system (bot/memory.py)
    app.bot_data[BACKGROUND] = [asyncio.create_task(tickets.sla_loop(app), name="sla")]
    # Resumes a broadcast interrupted by a restart, then sends queued and scheduled ones.
    app.bot_data[BACKGROUND].append(broadcaster_of(app).start())


def on_shutdown(app: Application[Any, Any, Any, Any, Any, Any], hook: ShutdownHook) -> None:
    """Run hook at shutdown, after the handlers in flight finished and before background work
    is cancelled: the place for a broadcast to save where it stands."""
    app.bot_data.setdefault(SHUTDOWN_HOOKS, []).append(hook)


async def shutdown(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Let handlers in flight finish, run the shutdown hooks, stop background work, and close
    the application. Stop taking updates (updater or webhook) before calling this."""
    if app.running:
        await app.stop()
    for hook in app.bot_data.pop(SHUTDOWN_HOOKS, []):
        try:
            await hook(app)
        except Exception:  # one failing hook must not keep the others from running
            log.exception("shutdown hook %r failed", hook)
    tasks: list[asyncio.Task[None]] = app.bot_data.pop(BACKGROUND, [])
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await app.shutdown()
