"""``BotApiEmulator``: the layers put together, its lifecycle, and ``run_sandbox``."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import web

from bot.sandbox.emulator.api import BotApiMethods
from bot.sandbox.emulator.page import SandboxPage
from bot.sandbox.emulator.webhook import WebhookDelivery


class BotApiEmulator(BotApiMethods, SandboxPage, WebhookDelivery):
    """A strict local Bot API server plus a scriptable user side, in the caller's event loop."""

    @property
    def base_url(self) -> str:
        """What to give PTB's ``base_url``: it appends the token and the method."""
        if self.port is None:
            raise RuntimeError("the emulator is not started")
        return f"http://{self.host}:{self.port}/bot"

    @property
    def url(self) -> str:
        """The root URL (the sandbox page)."""
        if self.port is None:
            raise RuntimeError("the emulator is not started")
        return f"http://{self.host}:{self.port}/"

    def make_app(self) -> web.Application:
        """The aiohttp application serving the Bot API, the page and its JSON API."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/", self._handle_index)
        app.router.add_get("/sandbox/api/state", self._handle_state)
        app.router.add_post("/sandbox/api/send", self._handle_send)
        app.router.add_post("/sandbox/api/press", self._handle_press)
        app.router.add_get("/sandbox/api/file/{file_id}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_not_found)
        return app

    async def start(self, port: int = 0, host: str = "127.0.0.1") -> BotApiEmulator:
        """Listen on host:port (0 picks a free port) and start webhook delivery."""
        self._stopping.clear()
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.host = host
        self.port = int(self._runner.addresses[0][1])
        self._webhook_task = asyncio.create_task(self._webhook_worker())
        return self

    async def stop(self) -> None:
        """Wake every long poll, stop webhook delivery and close the server."""
        self._stopping.set()
        self._wake_updates()
        self._bump()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiEmulator:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def run_sandbox(
    host: str = "127.0.0.1", port: int = 8080, token: str = "1000000001:SANDBOX", **options: Any
) -> BotApiEmulator:
    """Start the emulator and its chat page on host:port; point the bot at ``.base_url``."""
    emulator = BotApiEmulator(token, **options)
    await emulator.start(port=port, host=host)
    return emulator
