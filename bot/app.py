"""Build the PTB Application: settings, store, knowledge base, handlers, commands."""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import sqlite3

from telegram import BotCommand
from telegram.ext import ApplicationBuilder

import handlers
from bot.backups import schedule_backups
from bot.config import Settings, StartupError
from bot.inbox import ConfirmingRequest, InboxProcessor, InboxQueue, replay
from bot.memory import schedule_trim
from bot.metrics import MeteredApplication
from bot.pacer import Pacer
from bot.services import CONTEXT_TYPES, App
from bot.transport import AiohttpRequest
from handlers.broadcast.jobs import Broadcaster
from handlers.tickets.jobs import sla_loop
from knowledge.base import KnowledgeBase
from knowledge.catalogue import CatalogueError
from knowledge.store import Store
from knowledge.texts import tr

log = logging.getLogger(__name__)

# The command menu contestants see, in Chinese and English (knowledge/texts.py: commands.*);
# organizers' commands are not advertised.
COMMANDS = ("start", "tracks", "myquestions", "subscribe", "settings", "help")
LANGUAGES = ("zh", "en")


def build_application(settings: Settings, token: str, store: Store | None = None) -> App:
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
        .context_types(CONTEXT_TYPES)  # context.bot_data is the Services (bot/services.py)
        .application_class(MeteredApplication)  # counts updates, times handlers (/metrics)
        .rate_limiter(pacer)
        .build()
    )
    app.bot_data.attach(settings, store, kb)
    app.bot_data.broadcaster = Broadcaster(app, pacer)
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


async def startup(app: App) -> None:
    """Initialize and start the application, its command menu and its background work."""
    await app.initialize()
    for lang in LANGUAGES:
        await app.bot.set_my_commands(
            [BotCommand(name, tr(lang, f"commands.{name}")) for name in COMMANDS],
            language_code=None if lang == "zh" else lang,
        )
    store = app.bot_data.store
    await replay(app, store)  # what a killed process took and left undone
    # From here on the event loop never waits on the disk: store calls go through store.run,
    # and one made on the loop anyway is counted (contest_bot_store_calls_on_loop_total).
    store.watch_loop()
    # What start-up built lives as long as the bot (the matcher's indexes, the models, the
    # library code): left out of the garbage collector's full passes, which would otherwise
    # scan its 380,000 objects and stop every thread for 100 ms or more each time. (Start-up
    # leaves a hundred-odd objects of garbage in cycles; they wait for unfreeze.)
    gc.freeze()
    await app.start()
    schedule_backups(app)  # BACKUP_EVERY_HOURS, in PTB's JobQueue
    schedule_trim(app)  # freed C memory back to the system (bot/memory.py)
    app.bot_data.background = [asyncio.create_task(sla_loop(app), name="sla")]
    # Resumes a broadcast interrupted by a restart, then sends queued and scheduled ones.
    app.bot_data.background.append(app.bot_data.broadcaster.start())


async def shutdown(app: App) -> None:
    """Let handlers in flight finish, stop background work, and close the application. Stop
    taking updates (updater or webhook) before calling this."""
    if app.running:
        await app.stop()
    tasks, app.bot_data.background = app.bot_data.background, []
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await app.shutdown()
    app.bot_data.store.watch_loop(False)
    gc.unfreeze()  # what start-up built may be collected again, cycles and all
