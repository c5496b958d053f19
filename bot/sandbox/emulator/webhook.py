"""Delivering updates to the bot's webhook, retried as Telegram retries them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from urllib.parse import urlsplit

import aiohttp

from bot.sandbox.emulator.model import (
    JSON,
    Webhook,
    is_loopback,
)
from bot.sandbox.emulator.state import EmulatorState


class WebhookDelivery(EmulatorState):
    """Posts pending updates to the webhook URL while one is set."""

    def _delivery_url(self, url: str) -> str | None:
        parts = urlsplit(url)
        if self.webhook_target:
            base = self.webhook_target.rstrip("/")
            target = base + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        else:
            target = url
        # Never send traffic anywhere but this machine.
        return target if is_loopback(urlsplit(target).hostname) else None

    async def _deliver(
        self, session: aiohttp.ClientSession, hook: Webhook, update: JSON
    ) -> str | None:
        target = self._delivery_url(hook.url)
        if target is None:
            return "Connection refused (delivery goes to loopback only; set webhook_target)"
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        try:
            async with session.post(target, data=json.dumps(update), headers=headers) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return None
                return f"Wrong response from the webhook: {response.status} {response.reason}"
        except TimeoutError:
            return "Connection timed out"
        except aiohttp.ClientConnectorError:
            return "Connection refused"
        except aiohttp.ClientError as exc:
            return f"Connection failed: {type(exc).__name__}"

    async def _webhook_worker(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            attempts = 0
            while not self._stopping.is_set():
                hook = self._webhook
                if hook is None or not self._updates:
                    event = self._updates_event
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(event.wait(), 5.0)
                    continue
                update = self._updates[0]
                error = await self._deliver(session, hook, update)
                if error is None:
                    attempts = 0
                    if update in self._updates:
                        self._updates.remove(update)
                    self.webhook_deliveries.append(update)
                    self._bump()
                    continue
                attempts += 1
                hook.last_error_date = int(time.time())
                hook.last_error_message = error
                self._bump()
                if attempts >= self.webhook_max_attempts:
                    attempts = 0
                    if update in self._updates:
                        self._updates.remove(update)
                    self.dropped_updates.append(update)
                    continue
                await self._sleep(self.webhook_retry_delay * 2 ** (attempts - 1))
