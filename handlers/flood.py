"""Fairness: one person's flood cannot spend the bot's send budget.

Telegram lets a bot send about 30 messages a second in all and about one a second to one chat;
past that it answers 429 and the whole bot waits. So every message a contestant sends in a
private chat, and every button they press, spends a token from a bucket of their own:
USER_BURST at once, refilled at USER_PER_MINUTE. With the bucket empty the update is dropped
before any handler sees it, and the contestant is told once, kindly, to slow down; they hear it
again only after a pause long enough to fill the bucket. Organizers (their group and
ORGANIZER_IDS) are never limited, nor are group chats, where the bot only answers what is
addressed to it.

Registered in group -1, ahead of every handler. A bucket that refilled is the same as none, so
those are forgotten: memory holds only people who sent something lately.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from telegram import Bot, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot.metrics import metrics_of
from bot.services import App, Context
from handlers.common import acknowledge, user_lang
from knowledge.texts import tr

log = logging.getLogger(__name__)

FORGET_ABOVE = 5_000  # people tracked before refilled buckets are forgotten
# Seconds before the slow-down notice goes out. Telegram allows one chat about a message a
# second with a short burst; past it, it answers 429 and the whole bot waits.
NOTICE_DELAY = 1.0


class Verdict(Enum):
    PASS = "pass"  # a token was there
    WARN = "warn"  # none left: drop it, and say so (the first time in this flood)
    DROP = "drop"  # none left, and the sender was told already


@dataclass
class Bucket:
    tokens: float
    stamp: float
    warned: bool = False


class TokenBuckets:
    """A token bucket per user: `burst` at once, `per_minute` refilled."""

    def __init__(
        self, burst: int, per_minute: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = float(burst)
        self.rate = per_minute / 60.0
        self.clock = clock
        self.buckets: dict[int, Bucket] = {}

    def take(self, user_id: int) -> Verdict:
        """Spend one of the user's tokens, if there is one."""
        now = self.clock()
        bucket = self.buckets.get(user_id)
        if bucket is None:
            if len(self.buckets) >= FORGET_ABOVE:
                self.forget_refilled(now)
            bucket = self.buckets[user_id] = Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens >= self.burst:
            bucket.warned = False  # a pause long enough: a later flood is a new one
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return Verdict.PASS
        if bucket.warned:
            return Verdict.DROP
        bucket.warned = True
        bucket.tokens -= 1.0  # the notice is a message to this chat too
        return Verdict.WARN

    def wait_seconds(self, user_id: int) -> int:
        """Whole seconds until the user has a token again."""
        bucket = self.buckets.get(user_id)
        if bucket is None or bucket.tokens >= 1.0:
            return 0
        return math.ceil((1.0 - bucket.tokens) / self.rate)

    def forget_refilled(self, now: float) -> None:
        """Drop the buckets that are full again: they hold nothing a new one would not."""
        self.buckets = {
            user: b
            for user, b in self.buckets.items()
            if b.tokens + (now - b.stamp) * self.rate < self.burst
        }


async def throttle(update: Update, context: Context) -> None:
    """Let a contestant's update through while their bucket has a token; else drop it, and
    tell them once per flood."""
    buckets = context.bot_data.flood
    user, chat = update.effective_user, update.effective_chat
    if buckets is None or user is None or user.is_bot:
        return
    query = update.callback_query
    private = chat is not None and chat.type == ChatType.PRIVATE
    if query is None and (update.message is None or not private):
        return
    settings = context.bot_data.settings
    if user.id in settings.organizer_ids or (
        chat is not None and chat.id == settings.organizer_chat_id
    ):
        return
    verdict = buckets.take(user.id)
    if verdict is Verdict.PASS:
        return
    metrics_of(context.application).throttled.inc()
    text = tr(user_lang(update), "flood.slow_down", s=max(1, buckets.wait_seconds(user.id)))
    if query is not None:
        # No message for a press: the toast stops the spinner and costs no send.
        await acknowledge(query, text if verdict is Verdict.WARN else None)
    elif verdict is Verdict.WARN and update.message is not None:
        chat_id = update.message.chat.id
        if context.job_queue is None:
            await _notify(context.bot, chat_id, text)
        else:  # a moment later: the replies just sent are all the burst one chat may have
            context.job_queue.run_once(_notice_job, NOTICE_DELAY, data=(chat_id, text))
    raise ApplicationHandlerStop


async def _notice_job(context: Context) -> None:
    assert context.job is not None and isinstance(context.job.data, tuple)
    chat_id, text = context.job.data
    await _notify(context.bot, int(chat_id), str(text))


async def _notify(bot: Bot, chat_id: int, text: str) -> None:
    try:
        await bot.send_message(chat_id, text)
    except TelegramError as exc:  # a notice lost is no harm: the next flood brings another
        log.info("could not ask chat %s to slow down: %s", chat_id, exc)


def register(app: App) -> None:
    settings = app.bot_data.settings
    if settings.user_per_minute > 0:
        app.bot_data.flood = TokenBuckets(settings.user_burst, settings.user_per_minute)
        app.add_handler(TypeHandler(Update, throttle), group=-1)
