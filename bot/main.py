"""`contest-bot run`: the sandbox (no token), long polling, or a webhook server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from dataclasses import replace
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.app import build_application, shutdown, startup
from bot.config import ConfigError, Settings
from bot.logs import configure_logging

log = logging.getLogger("contest_bot")

SANDBOX_TOKEN = "123456:sandbox-token-not-secret-000000"
SANDBOX_ORGANIZER_CHAT = -100123
SANDBOX_ORGANIZER = 9001


def run() -> int:
    """Read the settings, then serve until SIGTERM or SIGINT."""
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"contest-bot: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, [settings.token, settings.webhook_secret])
    if settings.sandbox:
        asyncio.run(run_sandbox(settings))
    else:
        assert settings.token is not None
        asyncio.run(serve(settings, settings.token))
    return 0


def stop_event() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT."""
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, event.set)
    return event


async def run_polling(
    app: Application[Any, Any, Any, Any, Any, Any], stop: asyncio.Event, poll_timeout: int = 30
) -> None:
    """Long-poll until stop is set, then finish the handlers in flight and shut down."""
    await startup(app)
    try:
        assert app.updater is not None
        await app.updater.start_polling(timeout=poll_timeout, allowed_updates=Update.ALL_TYPES)
        log.info("polling as @%s", app.bot.username)
        await stop.wait()
        log.info("stopping: no new updates, finishing the ones in flight")
        await app.updater.stop()
    finally:
        await shutdown(app)


async def serve(settings: Settings, token: str) -> None:
    app = build_application(settings, token)
    await run_polling(app, stop_event())


async def run_sandbox(settings: Settings) -> None:
    """The Bot API emulator and its chat page, with the real bot polling it."""
    from bot.sandbox import run_sandbox as start_emulator

    emulator = await start_emulator("127.0.0.1", settings.sandbox_port, SANDBOX_TOKEN)
    settings = replace(
        settings,
        api_base_url=emulator.base_url,
        organizer_chat_id=settings.organizer_chat_id or SANDBOX_ORGANIZER_CHAT,
        organizer_ids=settings.organizer_ids or frozenset({SANDBOX_ORGANIZER}),
    )
    print(f"Sandbox: open http://127.0.0.1:{settings.sandbox_port} (Ctrl-C stops)", flush=True)
    try:
        await run_polling(
            build_application(settings, SANDBOX_TOKEN), stop_event(), poll_timeout=10
        )
    finally:
        await emulator.stop()
