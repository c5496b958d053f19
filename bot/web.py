"""The bot's HTTP server: Telegram's webhook at a secret path, GET /healthz and GET /metrics.

Webhook mode takes updates here; polling mode serves only the health and metrics routes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from typing import Any, Literal
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update

from bot.inbox import InboxQueue, recorded
from bot.metrics import CONTENT_TYPE, Metrics, metrics_of
from bot.services import App
from knowledge.store import Store

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_TIMEOUT = 2.0  # seconds the database gets to answer a health check

Mode = Literal["polling", "webhook"]


def webhook_url(base_url: str, token: str, secret: str) -> str:
    """The address Telegram posts to: WEBHOOK_URL plus a path derived from the token and the
    secret, so the URL never shows the token and differs from one bot to another."""
    digest = hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{base_url.rstrip('/')}/telegram/{digest}"


class BotServer:
    """An aiohttp server in the bot's event loop; ``webhook_path`` set means webhook mode."""

    def __init__(
        self,
        app: App,
        store: Store,
        *,
        webhook_path: str | None = None,
        secret: str | None = None,
    ) -> None:
        if webhook_path is not None and not secret:
            raise ValueError("a webhook needs its secret token")
        self.app = app
        self.store = store
        self.webhook_path = webhook_path
        self.secret = secret or ""
        self.mode: Mode = "webhook" if webhook_path else "polling"
        self.metrics: Metrics = metrics_of(app)
        self.metrics.watch(store)
        # Webhook mode: True while updates are taken, set by the runner around setWebhook.
        self.accepting = False
        self.webhook_set = False
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    @classmethod
    def for_webhook(
        cls,
        app: App,
        store: Store,
        url: str,
        secret: str,
    ) -> BotServer:
        """The server behind webhook ``url`` (see webhook_url): it listens at that URL's path."""
        return cls(app, store, webhook_path=urlsplit(url).path, secret=secret)

    def make_app(self) -> web.Application:
        web_app = web.Application(client_max_size=4 * 1024 * 1024)
        if self.webhook_path is not None:
            web_app.router.add_post(self.webhook_path, self.handle_update)
        web_app.router.add_get("/healthz", self.handle_health)
        web_app.router.add_get("/metrics", self.handle_metrics)
        return web_app

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port (0 picks a free port); return the port."""
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self.port

    async def stop(self) -> None:
        self.accepting = False
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- webhook ------------------------------------------------------------------------------

    async def handle_update(self, request: web.Request) -> web.Response:
        """One update from Telegram: checked, queued for the Application, acknowledged."""
        response = await self._take_update(request)
        self.metrics.webhook_requests.labels(str(response.status)).inc()
        return response

    async def _take_update(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return _text(403, "wrong or missing secret token")
        if request.content_type != "application/json":
            return _text(403, "expected Content-Type: application/json")
        if not self.accepting or not self.app.running:
            # Telegram keeps the update and retries later, or delivers it to the next instance.
            return _text(503, "not taking updates")
        try:
            body = (await request.read()).decode()
            data = json.loads(body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
            update = Update.de_json(data, self.app.bot)
        except Exception:  # whatever the body is, it is the sender's mistake
            return _text(400, "expected one JSON Update object")
        queue = self.app.update_queue
        if isinstance(queue, InboxQueue):
            queue.put_received(update, body)  # stored as Telegram sent it: no re-encoding
        else:
            await queue.put(update)
        await recorded(self.app.update_queue)  # stored before Telegram hears it arrived
        return web.Response(status=200)

    # --- health and metrics -------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        """What /healthz reports: the database answers, and the bot takes updates."""
        try:
            database = await asyncio.wait_for(self.store.run(Store.ping), HEALTH_TIMEOUT)
        except Exception as exc:  # any failure to answer is "down"
            log.warning("health: the database did not answer: %s", exc)
            database = False
        if self.mode == "webhook":
            bot = self.app.running and self.accepting and self.webhook_set
        else:
            updater = self.app.updater
            bot = self.app.running and updater is not None and updater.running
        ok = database and bot
        return {"status": "ok" if ok else "unavailable", "mode": self.mode,
                "database": database, "bot": bot}  # fmt: skip

    async def handle_health(self, request: web.Request) -> web.Response:
        report = await self.health()
        return web.json_response(report, status=200 if report["status"] == "ok" else 503)

    async def handle_metrics(self, request: web.Request) -> web.Response:
        # The database figures are read here; keep that off the event loop.
        body = await asyncio.to_thread(self.metrics.render)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def _text(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text)
