"""Pacing every send of the bot: replies first, broadcasts within Telegram's limits.

Pacer is the bot's PTB rate limiter, so it sees every Bot API call:

- Interactive sends (replies to contestants, posts to the organizers) go first: they never wait
  for broadcast traffic, only for Telegram's own limit of 30 messages a second and a 429 pause.
- Broadcast sends take a slot with ``acquire_broadcast`` only when no interactive send is
  waiting, at most BROADCAST_RATE in any one-second window (a sliding window plus even spacing),
  at most one a second per private chat and 20 a minute per group chat.
- A 429 on any call pauses every send for its retry_after.

Telegram counts a message when it arrives, which is some time after the request leaves (the
network, and any pause of this process in between, such as garbage collection). So a send
stays in the window from the moment it leaves until one second after its answer came back:
Telegram cannot have received it later than that, so no one-second window at Telegram ever
holds more than the limit. The price is the round trip: BROADCAST_RATE sends per one second
plus one round trip (0.5% of the rate at 5 ms, 13% at 150 ms).

The broadcast engine that takes broadcast slots is handlers/broadcast/jobs.py.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
import warnings
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

TELEGRAM_PER_SECOND = 30  # Telegram's limit for a bot, all chats together
PRIVATE_INTERVAL = 1.0  # seconds between two messages to one private chat
GROUP_PER_MINUTE = 20
WINDOW_SECONDS = 1.0  # a send counts from when it left until this long after its answer
POLL_SECONDS = 0.005  # how often a waiting send looks again (an answer may free the window)
SEND_METHODS = frozenset(
    {
        "sendMessage", "copyMessage", "copyMessages", "forwardMessage", "forwardMessages",
        "sendDocument", "sendPhoto", "sendVideo", "sendAudio", "sendVoice", "sendAnimation",
        "sendVideoNote", "sendSticker", "sendMediaGroup", "sendLocation", "sendVenue",
        "sendContact", "sendPoll", "sendDice",
    }
)  # fmt: skip


def retry_seconds(exc: RetryAfter) -> float:
    """RetryAfter.retry_after in seconds, whichever type this PTB version gives."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _chat_id(value: object) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None


Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class Slot:
    """One send: when it left, and when its answer came back (None while on its way)."""

    start: float
    done: float | None = None

    def arrival(self, now: float) -> float:
        """The latest moment Telegram can have received it, as known at `now`."""
        return now if self.done is None else self.done

    def settled(self, now: float) -> bool:
        """Whether arrival() can no longer change."""
        return self.done is not None


class Pacer(BaseRateLimiter[dict[str, Any]]):
    """The bot's rate limiter: interactive sends first, broadcast sends paced, 429 bot-wide."""

    def __init__(
        self,
        broadcast_rate: float,
        *,
        global_rate: int = TELEGRAM_PER_SECOND,
        window: float = WINDOW_SECONDS,
        max_retries: int = 2,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if broadcast_rate <= 0:
            raise ValueError("broadcast_rate must be positive")
        self.broadcast_rate = broadcast_rate
        # Never more than the rate in a window, even for a fractional rate.
        self.per_window = max(1, math.floor(broadcast_rate))
        self.interval = 1.0 / broadcast_rate
        self.global_rate = global_rate
        self.window = window
        self.max_retries = max_retries
        self._clock = clock
        self._sleep = sleep
        self._sent: list[Slot] = []  # every send still in the window
        self._broadcast: list[Slot] = []  # broadcast sends still in the window
        self._last_broadcast = -math.inf
        self._chat_last: dict[int, float] = {}
        self._group_sent: dict[int, deque[float]] = {}
        self._paused_until = -math.inf
        self.interactive_waiting = 0
        self.pauses = 0  # 429s honoured

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    # --- state ----------------------------------------------------------------------------------

    def pause(self, seconds: float) -> None:
        """Telegram said 429: no send for `seconds`, whoever it is for."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
        self.pauses += 1

    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._clock())

    def _trim(self, now: float) -> None:
        edge = now - self.window
        self._sent = [s for s in self._sent if s.arrival(now) > edge]
        self._broadcast = [s for s in self._broadcast if s.arrival(now) > edge]

    def _full_for(self, slots: list[Slot], limit: int, now: float) -> float:
        """How long until fewer than `limit` of these sends are in the window (0: now)."""
        if len(slots) < limit:
            return 0.0
        must_leave = len(slots) - limit + 1
        # Answered sends leave one second after their answer; sends still on their way leave
        # later than any of them, and no one knows when.
        leaving = sorted(s.arrival(now) + self.window for s in slots if s.settled(now))
        if len(leaving) < must_leave:
            return POLL_SECONDS  # wait for answers
        return leaving[must_leave - 1] - now

    def sent(self, slot: Slot) -> None:
        """The answer to this send came back (or it was never made)."""
        if slot.done is None:
            slot.done = self._clock()

    def _register(self, now: float, chat_id: int | None, broadcast: bool) -> Slot:
        slot = Slot(now)
        self._sent.append(slot)
        if broadcast:
            self._broadcast.append(slot)
            self._last_broadcast = now
        if chat_id is None:
            return slot
        if chat_id < 0:
            self._group_sent.setdefault(chat_id, deque()).append(now)
        else:
            self._chat_last[chat_id] = now
            if len(self._chat_last) > 20_000:  # forget chats not written to for a while
                self._chat_last = {
                    c: t for c, t in self._chat_last.items() if t > now - PRIVATE_INTERVAL
                }
        return slot

    def chat_delay(self, chat_id: int) -> float:
        """Seconds until a broadcast send to this chat keeps the chat's own limit."""
        now = self._clock()
        if chat_id > 0:
            last = self._chat_last.get(chat_id)
            return 0.0 if last is None else max(0.0, last + PRIVATE_INTERVAL - now)
        sent = self._group_sent.get(chat_id)
        if not sent:
            return 0.0
        while sent and sent[0] <= now - 60.0:
            sent.popleft()
        return sent[0] + 60.0 - now if len(sent) >= GROUP_PER_MINUTE else 0.0

    def _global_wait(self, now: float) -> float:
        return max(self._paused_until - now, self._full_for(self._sent, self.global_rate, now))

    def _broadcast_wait(self, now: float) -> float:
        wait = max(self._global_wait(now), self._last_broadcast + self.interval - now)
        wait = max(wait, self._full_for(self._broadcast, self.per_window, now))
        if self.interactive_waiting:
            wait = max(wait, POLL_SECONDS)
        return wait

    # --- acquiring ------------------------------------------------------------------------------

    async def acquire_broadcast(self, chat_id: int | None = None) -> Slot:
        """Wait for a broadcast slot and take it. Send right after, passing
        rate_limit_args=broadcast_send(slot); or call sent(slot) when not sending after all."""
        while True:
            now = self._clock()
            self._trim(now)
            wait = self._broadcast_wait(now)
            if wait <= 0:
                return self._register(now, chat_id, broadcast=True)
            await self._sleep(wait)

    async def _acquire_interactive(self, chat_id: int | None) -> Slot:
        self.interactive_waiting += 1
        try:
            while True:
                now = self._clock()
                self._trim(now)
                wait = self._global_wait(now)
                if wait <= 0:
                    return self._register(now, chat_id, broadcast=False)
                await self._sleep(wait)
        finally:
            self.interactive_waiting -= 1

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Every Bot API call of the bot passes here."""
        if endpoint not in SEND_METHODS:
            return await callback(*args, **kwargs)
        if rate_limit_args and isinstance(rate_limit_args.get("broadcast"), Slot):
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                self.pause(retry_seconds(exc))
                raise  # the engine puts the delivery back in line
            finally:
                self.sent(rate_limit_args["broadcast"])
        chat_id = _chat_id(data.get("chat_id"))
        for attempt in itertools.count():
            slot = await self._acquire_interactive(chat_id)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                self.pause(retry_seconds(exc))
                if attempt >= self.max_retries:
                    raise
            finally:
                self.sent(slot)
        raise AssertionError("unreachable")  # pragma: no cover


def broadcast_send(slot: Slot) -> dict[str, Any]:
    """rate_limit_args of a broadcast send whose slot was taken with acquire_broadcast."""
    return {"broadcast": slot}
