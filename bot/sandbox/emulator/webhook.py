"""Delivering updates to the bot's webhook, retried as Telegram retries them."""

from __future__ import annotations

import asyncio
import functools
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

    async def _deliver_one(
        self, session: aiohttp.ClientSession, hook: Webhook, update: JSON
    ) -> None:
        """Post one update until the bot takes it, retrying with backoff; then give it up."""
        for attempt in range(1, self.webhook_max_attempts + 1):
            if self._webhook is not hook:
                return  # webhook changed or deleted: the update stays pending
            error = await self._deliver(session, hook, update)
            if error is None:
                if update in self._updates:
                    self._updates.remove(update)
                self.webhook_deliveries.append(update)
                self._bump()
                return
            hook.last_error_date = int(time.time())
            hook.last_error_message = error
            self._bump()
            if attempt < self.webhook_max_attempts:
                await self._sleep(self.webhook_retry_delay * 2 ** (attempt - 1))
        if update in self._updates:
            self._updates.remove(update)
        self.dropped_updates.append(update)

    async def _webhook_worker(self) -> None:
        """Deliver as Telegram does: up to the webhook's max_connections posts at once.

        Updates from one chat go one at a time and in order; a chat whose update is being
        retried holds back only that chat's later updates.
        """
        timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
        connector = aiohttp.TCPConnector(limit=100)
        in_flight: dict[int, asyncio.Task[None]] = {}
        busy: set[object] = set()
        done = asyncio.Event()

        def finished(update_id: int, chat: object, _task: asyncio.Task[None]) -> None:
            in_flight.pop(update_id, None)
            busy.discard(chat)
            done.set()

        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            try:
                while not self._stopping.is_set():
                    hook = self._webhook
                    waiting = self._updates_event
                    done.clear()
                    if hook is not None:
                        held: set[object] = set()
                        for update in list(self._updates):
                            if len(in_flight) >= hook.max_connections:
                                break
                            update_id, chat = update["update_id"], _chat_of(update)
                            if update_id in in_flight or chat in busy or chat in held:
                                held.add(chat)
                                continue
                            busy.add(chat)
                            task = asyncio.create_task(self._deliver_one(session, hook, update))
                            in_flight[update_id] = task
                            task.add_done_callback(functools.partial(finished, update_id, chat))
                    wake = [
                        asyncio.ensure_future(waiting.wait()),
                        asyncio.ensure_future(done.wait()),
                    ]
                    try:
                        await asyncio.wait(wake, timeout=5.0, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        for future in wake:
                            future.cancel()
            finally:
                for task in in_flight.values():
                    task.cancel()
                await asyncio.gather(*in_flight.values(), return_exceptions=True)


def _chat_of(update: JSON) -> object:
    """The chat an update belongs to (its sender's for queries without one)."""
    for key, payload in update.items():
        if key == "update_id" or not isinstance(payload, dict):
            continue
        chat = payload.get("chat") or (payload.get("message") or {}).get("chat")
        if chat:
            return ("chat", chat.get("id"))
        sender = payload.get("from") or payload.get("user")
        if sender:
            return ("user", sender.get("id"))
    return ("update", update["update_id"])
