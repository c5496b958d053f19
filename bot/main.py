"""`contest-bot run`: the sandbox (no token), long polling, or a webhook server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from dataclasses import replace

from telegram import Update
from telegram.error import TelegramError

from bot.app import build_application, open_store, port_error, shutdown, startup
from bot.config import ConfigError, Settings, StartupError
from bot.logs import configure_logging
from bot.memory import limit_arenas
from bot.services import App
from bot.web import BotServer, webhook_url

log = logging.getLogger("contest_bot")

SANDBOX_TOKEN = "123456:sandbox-token-not-secret-000000"
SANDBOX_ORGANIZER_CHAT = -100123
SANDBOX_ORGANIZER = 9001
WEBHOOK_CHECK_SECONDS = 60.0


def run(mode: str = "auto") -> int:
    """Read the settings, then serve until SIGTERM or SIGINT. mode "auto" picks the sandbox (no
    token), a webhook (WEBHOOK_URL set) or polling; "polling" and "webhook" insist on theirs."""
    try:
        settings = settings_for(mode, Settings.from_env())
    except ConfigError as exc:
        print(f"contest-bot: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, [settings.token, settings.webhook_secret])
    limit_arenas()  # before any worker thread: see bot/memory.py
    try:
        if settings.sandbox:
            asyncio.run(run_sandbox(settings))
        else:
            assert settings.token is not None
            asyncio.run(serve(settings, settings.token))
    except StartupError as exc:  # what a setting names cannot be used: one line, no traceback
        print(f"contest-bot: cannot start: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were in place
        return 130
    except Exception as exc:
        # Through the logger, never a bare traceback: the logger redacts the token, which
        # PTB's InvalidToken and Bot API URLs in network errors can carry.
        log.critical("stopped: %s", exc, exc_info=True)
        return 1
    return 0


def settings_for(mode: str, settings: Settings) -> Settings:
    """The settings for an explicit mode: a Procfile's web and worker share one environment."""
    if mode == "auto":
        return settings
    if settings.token is None:
        raise ConfigError(f"TELEGRAM_BOT_TOKEN is required for --mode {mode}")
    if mode == "polling":
        return replace(settings, webhook_url=None)
    if settings.webhook_url is None:
        raise ConfigError("WEBHOOK_URL is required for --mode webhook")
    return settings


def stop_event() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT."""
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, event.set)
    return event


async def run_polling(app: App, stop: asyncio.Event, poll_timeout: int = 30) -> None:
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
    """Polling, or a webhook when WEBHOOK_URL is set; /healthz and /metrics on PORT in both."""
    stop = stop_event()
    store = open_store(settings)
    try:
        app = build_application(settings, token, store)
        url = ""
        if settings.webhook_url is None:
            server = BotServer(app, store)
        else:
            assert settings.webhook_secret is not None
            url = webhook_url(settings.webhook_url, token, settings.webhook_secret)
            server = BotServer.for_webhook(app, store, url, settings.webhook_secret)
        # Listen before talking to Telegram: a port in use is reported at once, by its name.
        try:
            port = await server.start(settings.host, settings.port)
        except OSError as exc:
            await server.stop()
            raise port_error(exc, "PORT", settings.host, settings.port) from None
        try:
            if settings.webhook_url is None:
                log.info("health and metrics on port %s (/healthz, /metrics)", port)
                await run_polling(app, stop)
            else:
                await run_webhook(app, server, url, settings, stop)
        finally:
            await server.stop()
    finally:
        store.close()


async def run_webhook(
    app: App,
    server: BotServer,
    url: str,
    settings: Settings,
    stop: asyncio.Event,
    check_seconds: float = WEBHOOK_CHECK_SECONDS,
) -> None:
    """Take updates at the webhook until stop is set; then stop taking them, delete the
    webhook (Telegram keeps new updates for the next start), and finish the ones in flight."""
    assert settings.webhook_secret is not None
    await startup(app)
    watchdog: asyncio.Task[None] | None = None
    try:
        port = server.port or await server.start(settings.host, settings.port)
        server.accepting = True
        await set_webhook(app, url, settings)
        server.webhook_set = True
        log.info("webhook set; listening on port %s (/healthz, /metrics)", port)
        watchdog = asyncio.create_task(keep_webhook(app, url, settings, check_seconds))
        await stop.wait()
        log.info("stopping: no new updates, finishing the ones in flight")
        server.accepting = False
        watchdog.cancel()
        await asyncio.gather(watchdog, return_exceptions=True)
        server.webhook_set = False
        try:
            await app.bot.delete_webhook()
        except TelegramError as exc:  # the updates in flight still deserve their answers
            log.warning("could not delete the webhook: %s", exc)
    finally:
        if watchdog is not None and not watchdog.done():
            watchdog.cancel()
        await shutdown(app)
        await server.stop()


async def set_webhook(app: App, url: str, settings: Settings) -> None:
    await app.bot.set_webhook(
        url,
        secret_token=settings.webhook_secret,
        max_connections=settings.webhook_max_connections,
        allowed_updates=Update.ALL_TYPES,
    )


async def keep_webhook(app: App, url: str, settings: Settings, every: float) -> None:
    """Set the webhook again when it is gone: an older instance deletes it when it stops, and
    on platforms that start the new instance first (rolling deploys) that comes after our set."""
    while True:
        await asyncio.sleep(every)
        try:
            if (await app.bot.get_webhook_info()).url != url:
                log.warning("the webhook was changed or deleted; setting it again")
                await set_webhook(app, url, settings)
        except TelegramError as exc:
            log.warning("could not check the webhook: %s", exc)


async def run_sandbox(settings: Settings) -> None:
    """The Bot API emulator and its chat page, with the real bot polling it."""
    from bot.sandbox import run_sandbox as start_emulator

    store = open_store(settings)  # before the page opens: a bad CONTEST_BOT_DB stops here
    try:
        emulator = await start_emulator("127.0.0.1", settings.sandbox_port, SANDBOX_TOKEN)
    except OSError as exc:
        store.close()
        raise port_error(exc, "SANDBOX_PORT", "127.0.0.1", settings.sandbox_port) from None
    settings = replace(
        settings,
        api_base_url=emulator.base_url,
        organizer_chat_id=settings.organizer_chat_id or SANDBOX_ORGANIZER_CHAT,
        organizer_ids=settings.organizer_ids or frozenset({SANDBOX_ORGANIZER}),
    )
    try:
        app = build_application(settings, SANDBOX_TOKEN, store)
        print(f"Sandbox: open http://127.0.0.1:{emulator.port} (Ctrl-C stops)", flush=True)
        await run_polling(app, stop_event(), poll_timeout=10)
    finally:
        await emulator.stop()
        store.close()
