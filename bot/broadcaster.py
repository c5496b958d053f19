"""Announcements: pacing every send of the bot, and broadcasts that survive restarts.

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

Broadcaster runs the broadcasts stored in the database (knowledge/store/broadcasts.py), one at a
time: it resumes a running one after a restart, starts queued ones, and scheduled ones when due.
Each delivery is claimed ('sending') just before its HTTP call and recorded right after, so a
restart never sends twice to a recipient whose outcome is known and never skips one. A send in
flight when the process died is ambiguous (Telegram may have delivered it); the policy is at
most once: such rows become 'unknown', are not resent automatically, are counted apart in the
report and listed in its CSV, and an organizer may resend them on purpose (🔁 button).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import html
import io
import itertools
import logging
import math
import time
import warnings
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application, BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from bot.services import KEY, Services
from knowledge.catalogue import Catalogue
from knowledge.store import Audience, Broadcast
from knowledge.store.broadcasts import (
    BLOCKED,
    CANCELLED,
    COPY,
    FAILED,
    PENDING,
    RUNNING,
    SCHEDULED,
    SENDING,
    SENT,
    UNKNOWN,
)

log = logging.getLogger(__name__)

BROADCASTER = "broadcaster"  # its key in bot_data
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

MAX_ATTEMPTS = 5  # network errors, timeouts and 5xx; then the delivery is 'failed'
MAX_IN_FLIGHT = 16  # concurrent HTTP requests of one broadcast
PROGRESS_SECONDS = 3.0  # how often the status message in the organizers' group is edited
IDLE_SECONDS = 5.0  # how often the engine looks for due scheduled broadcasts
GRACE_SECONDS = 5.0  # at shutdown, how long sends in flight may take to finish
ERROR_PAUSE_SECONDS = 30.0

# Callback data of the buttons on a broadcast's status message.
STOP, CSV, RESEND = "bc:stop:{id}", "bc:csv:{id}", "bc:re:{id}"


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


# --- texts --------------------------------------------------------------------------------------


def describe_audience(audience: Audience | None, catalogue: Catalogue) -> str:
    """全部订阅者 / 赛道一、赛道三 / 队伍「火箭队」, HTML-escaped."""
    if audience is None:
        return "（未选择）"
    if audience.kind == "tracks":
        names = [
            f"赛道{t.ordinal}·{html.escape(t.name)}"
            for t in catalogue.tracks
            if t.id in audience.tracks
        ]
        return "、".join(names) or "（未选赛道）"
    if audience.kind == "team":
        return f"队伍「{html.escape(audience.team or '')}」"
    return "全部订阅者"


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} 秒"
    if seconds < 3600:
        return f"{seconds // 60} 分 {seconds % 60} 秒"
    return f"{seconds // 3600} 小时 {seconds % 3600 // 60} 分"


def _since(start: str | None) -> float:
    if not start:
        return 0.0
    return (datetime.now(UTC) - datetime.fromisoformat(start)).total_seconds()


def progress_text(
    job: Broadcast, counts: dict[str, int], catalogue: Catalogue, rate: float
) -> str:
    """The status message while a broadcast runs."""
    remaining = counts[PENDING] + counts[SENDING]
    lines = [
        f"📣 <b>公告 #{job.id}</b> 发送中…",
        f"对象：{describe_audience(job.audience, catalogue)} · 共 {job.total} 个",
        f"✅ 已送达 {counts[SENT]} · 🚫 已屏蔽 {counts[BLOCKED]} · ⚠️ 失败 {counts[FAILED]}"
        + (f" · ❔ 状态未知 {counts[UNKNOWN]}" if counts[UNKNOWN] else ""),
        f"⏳ 剩余 {remaining} · 预计还需 {_duration(math.ceil(remaining / rate))}",
    ]
    return "\n".join(lines)


def report_text(job: Broadcast, counts: dict[str, int], catalogue: Catalogue) -> str:
    """The status message once a broadcast is over: what reached whom."""
    cancelled = job.status == CANCELLED
    head = "⏹ 已取消" if cancelled else "✅ 发送完毕"
    lines = [
        f"📣 <b>公告 #{job.id}</b> {head}",
        f"对象：{describe_audience(job.audience, catalogue)} · 共 {job.total} 个"
        f" · 用时 {_duration(_since(job.started_at) - _since(job.finished_at))}",
        f"✅ 已送达 {counts[SENT]}",
        f"🚫 已屏蔽或退出 {counts[BLOCKED]}（已自动退订）",
        f"⚠️ 失败 {counts[FAILED]}",
    ]
    if counts[UNKNOWN]:
        lines.append(
            f"❔ 状态未知 {counts[UNKNOWN]}（机器人发送时中断，可能已送达；为免重复未自动重发）"
        )
    unsent = counts[PENDING] + counts[SENDING]
    if unsent:
        lines.append(f"⏹ 未发送 {unsent}")
    return "\n".join(lines)


def report_keyboard(job: Broadcast, counts: dict[str, int]) -> InlineKeyboardMarkup | None:
    rows = []
    if counts[FAILED] + counts[BLOCKED] + counts[UNKNOWN]:
        rows.append([InlineKeyboardButton("📄 失败名单 CSV", callback_data=CSV.format(id=job.id))])
    if counts[UNKNOWN] and job.status != CANCELLED:
        rows.append(
            [
                InlineKeyboardButton(
                    f"🔁 补发给状态未知的 {counts[UNKNOWN]} 个",
                    callback_data=RESEND.format(id=job.id),
                )
            ]
        )
    return InlineKeyboardMarkup(rows) if rows else None


def stop_keyboard(job: Broadcast) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("⏹ 取消发送", callback_data=STOP.format(id=job.id))]]
    )


def failures_csv(rows: list[dict[str, Any]]) -> bytes:
    """The failed, blocked and unknown deliveries as CSV (UTF-8 with BOM: Excel reads it)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["chat_id", "name", "team", "status", "attempts", "error"])
    for r in rows:
        writer.writerow(
            [r["chat_id"], r["name"] or "", r["team"] or "", r["status"], r["attempts"],
             r["error"] or ""]
        )  # fmt: skip
    return out.getvalue().encode("utf-8-sig")


# --- the engine ---------------------------------------------------------------------------------


class Broadcaster:
    """Runs stored broadcasts one at a time through the Pacer; see the module docstring."""

    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        pacer: Pacer,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        max_in_flight: int = MAX_IN_FLIGHT,
        progress_seconds: float = PROGRESS_SECONDS,
        retry_base: float = 1.0,
        read_timeout: float = 10.0,
    ) -> None:
        self.app = app
        self.pacer = pacer
        self.max_attempts = max_attempts
        self.max_in_flight = max_in_flight
        self.progress_seconds = progress_seconds
        self.retry_base = retry_base
        self.read_timeout = read_timeout
        self.task: asyncio.Task[None] | None = None
        self.current: int | None = None  # the broadcast being sent
        self.recovered = 0  # deliveries found in flight at start
        self.ready = asyncio.Event()  # set once those are marked unknown
        self._wake = asyncio.Event()
        self._cancelled: set[int] = set()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._graceful = True

    @property
    def services(self) -> Services:
        found = self.app.bot_data[KEY]
        assert isinstance(found, Services)
        return found

    # --- control --------------------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        """Start the engine task (bot/app.startup keeps it with the background tasks)."""
        self._graceful = True
        self.task = asyncio.create_task(self.run_forever(), name="broadcasts")
        return self.task

    def wake(self) -> None:
        """Something was confirmed or requeued: look now rather than at the next tick."""
        self._wake.set()

    def cancel(self, broadcast_id: int) -> None:
        """Stop sending broadcast_id (its status is already 'cancelled' in the database)."""
        self._cancelled.add(broadcast_id)
        self._wake.set()

    async def abort(self) -> None:
        """Stop at once, recording nothing more: what a kill -9 leaves behind (for tests)."""
        self._graceful = False
        for task in [*self._in_flight, *([self.task] if self.task else [])]:
            task.cancel()
        await asyncio.gather(
            *self._in_flight, *([self.task] if self.task else []), return_exceptions=True
        )

    # --- the loop -------------------------------------------------------------------------------

    async def run_forever(self) -> None:
        """Resume, then run queued and due broadcasts as they come."""
        store = self.services.store
        self.recovered = await asyncio.to_thread(store.recover_in_flight)
        self.ready.set()
        if self.recovered:
            log.warning(
                "%d broadcast message(s) were in flight when the bot stopped: marked unknown, "
                "not resent",
                self.recovered,
            )
        while True:
            self._wake.clear()
            job = store.next_job()
            if job is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._idle_seconds())
                continue
            try:
                await self.run(job)
            except Exception:  # keep the engine alive; the job is retried after a pause
                log.exception("broadcast #%s stopped by an error", job.id)
                await asyncio.sleep(ERROR_PAUSE_SECONDS)

    def _idle_seconds(self) -> float:
        due = self.services.store.next_scheduled_at()
        if due is None:
            return IDLE_SECONDS
        wait = (datetime.fromisoformat(due) - datetime.now(UTC)).total_seconds()
        return min(IDLE_SECONDS, max(0.05, wait))

    async def run(self, job: Broadcast) -> None:
        """Send one broadcast to the end (or until cancelled), then post its report."""
        store = self.services.store
        new_panel = job.status == SCHEDULED or job.panel_message_id is None
        if job.status != RUNNING:
            audience = job.audience or Audience("all")
            recipients = [s.chat_id for s in await asyncio.to_thread(store.audience, audience)]
            started = await asyncio.to_thread(store.start_broadcast, job.id, recipients)
            if started is None:
                return
            job = started
            log.info("broadcast #%s started: %d recipients", job.id, job.total)
        else:
            log.info("broadcast #%s resumed", job.id)
        self.current = job.id
        job = await self._show(job, self._progress(job), stop_keyboard(job), new=new_panel)
        progress = asyncio.create_task(self._progress_loop(job))
        try:
            await self._dispatch(job)
        finally:
            progress.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await progress
            self.current = None
        self._cancelled.discard(job.id)
        store.finish_broadcast(job.id)  # a cancelled one stays cancelled
        final = store.broadcast(job.id)
        assert final is not None
        counts = store.delivery_counts(job.id)
        log.info("broadcast #%s %s: %s", job.id, final.status, counts)
        await self._show(
            final,
            report_text(final, counts, self.services.kb.catalogue),
            report_keyboard(final, counts),
        )

    def _stopped(self, broadcast_id: int) -> bool:
        return broadcast_id in self._cancelled

    async def _dispatch(self, job: Broadcast) -> None:
        store = self.services.store
        in_flight = self._in_flight
        try:
            while not self._stopped(job.id):
                rows = store.due_deliveries(job.id, limit=200)
                if not rows:
                    if in_flight:
                        await asyncio.wait(
                            set(in_flight), timeout=0.5, return_when=asyncio.FIRST_COMPLETED
                        )
                        continue
                    due = store.next_retry_at(job.id)
                    if due is None:
                        return  # nothing pending, nothing in flight: done
                    await self._nap(min(1.0, max(0.02, due - time.time())))
                    continue
                for row in rows:
                    while len(in_flight) >= self.max_in_flight:
                        await asyncio.wait(set(in_flight), return_when=asyncio.FIRST_COMPLETED)
                    if self._stopped(job.id):
                        break
                    delay = self.pacer.chat_delay(row.chat_id)
                    if delay > 0:  # this chat had a message a moment ago: the others first
                        store.defer_delivery(job.id, row.chat_id, time.time() + delay)
                        continue
                    slot = await self.pacer.acquire_broadcast(row.chat_id)
                    if self._stopped(job.id):
                        self.pacer.sent(slot)  # not used after all
                        break
                    attempt = store.claim_delivery(job.id, row.chat_id)
                    if attempt is None:
                        self.pacer.sent(slot)
                        continue
                    task = asyncio.create_task(self._send(job, row.chat_id, attempt, slot))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
        except asyncio.CancelledError:
            if self._graceful and in_flight:
                # Shutdown: let the sends in flight finish and record what happened.
                await asyncio.wait(set(in_flight), timeout=GRACE_SECONDS)
            for task in list(in_flight):
                task.cancel()
            raise
        if in_flight:  # cancelled by an organizer: record the sends already made
            await asyncio.wait(set(in_flight))

    async def _nap(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _send(self, job: Broadcast, chat_id: int, attempt: int, slot: Slot) -> None:
        """One HTTP call for a claimed delivery, and its outcome recorded."""
        store = self.services.store
        bot = self.app.bot
        try:
            if job.kind == COPY:
                assert job.from_chat_id is not None and job.source_message_id is not None
                sent: Any = await bot.copy_message(
                    chat_id, job.from_chat_id, job.source_message_id,
                    read_timeout=self.read_timeout, rate_limit_args=broadcast_send(slot),
                )  # fmt: skip
            else:
                sent = await bot.send_message(
                    chat_id, job.text or "", parse_mode=ParseMode.HTML,
                    read_timeout=self.read_timeout, rate_limit_args=broadcast_send(slot),
                )  # fmt: skip
        except RetryAfter:
            # The pacer paused every send; this recipient waits its turn again, and a 429 is
            # not a failed attempt.
            store.record_delivery(job.id, chat_id, PENDING, retry_at=time.time(), refund=True)
        except Forbidden as exc:
            # Blocked, kicked or deactivated: retrying cannot help, and they no longer want it.
            store.record_delivery(job.id, chat_id, BLOCKED, error=exc.message)
            store.deactivate(chat_id, f"Telegram: {exc.message}")
        except ChatMigrated as exc:
            error = f"群已升级为超级群 {exc.new_chat_id}，请在新群重新 /subscribe"
            store.record_delivery(job.id, chat_id, FAILED, error=error)
        except BadRequest as exc:  # a NetworkError subclass in PTB, but permanent
            store.record_delivery(job.id, chat_id, FAILED, error=exc.message)
            if job.kind == COPY and "message to copy not found" in exc.message.lower():
                # The original was deleted: every other recipient would fail the same way.
                log.warning("broadcast #%s: its message is gone; stopping", job.id)
                store.cancel_broadcast(job.id)
                self.cancel(job.id)
        except NetworkError as exc:  # timeouts, resets, 5xx
            if attempt >= self.max_attempts:
                store.record_delivery(
                    job.id, chat_id, FAILED, error=f"{exc.message}（已试 {attempt} 次）"
                )
            else:
                backoff = min(60.0, self.retry_base * 2 ** (attempt - 1))
                store.record_delivery(
                    job.id, chat_id, PENDING, error=exc.message, retry_at=time.time() + backoff
                )
        except TelegramError as exc:
            store.record_delivery(job.id, chat_id, FAILED, error=exc.message)
        except Exception as exc:  # a bug must not leave the row 'sending' forever
            log.exception("broadcast #%s to %s", job.id, chat_id)
            store.record_delivery(job.id, chat_id, FAILED, error=repr(exc)[:200])
        else:
            message_id = sent.message_id if sent is not None else None
            store.record_delivery(job.id, chat_id, SENT, message_id=message_id, error=None)

    # --- the status message ---------------------------------------------------------------------

    def _progress(self, job: Broadcast) -> str:
        counts = self.services.store.delivery_counts(job.id)
        return progress_text(job, counts, self.services.kb.catalogue, self.pacer.broadcast_rate)

    async def _progress_loop(self, job: Broadcast) -> None:
        while True:
            await asyncio.sleep(self.progress_seconds)
            await self._show(job, self._progress(job), stop_keyboard(job))

    async def _show(
        self,
        job: Broadcast,
        text: str,
        markup: InlineKeyboardMarkup | None,
        *,
        new: bool = False,
    ) -> Broadcast:
        """Edit the broadcast's status message, or post one when there is none (yet)."""
        bot = self.app.bot
        if not new and job.panel_message_id is not None:
            try:
                await bot.edit_message_text(
                    text, job.chat_id, job.panel_message_id, parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                )  # fmt: skip
                return job
            except BadRequest as exc:
                if "not modified" in exc.message:
                    return job
                log.info("status message of #%s: %s; posting a new one", job.id, exc.message)
            except TelegramError as exc:
                log.warning("status message of #%s: %s", job.id, exc)
                return job
        try:
            sent: Message = await bot.send_message(
                job.chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup
            )
        except TelegramError as exc:
            log.warning("could not post the status of broadcast #%s: %s", job.id, exc)
            return job
        return self.services.store.update_broadcast(job.id, panel_message_id=sent.message_id)


def broadcaster_of(app: Application[Any, Any, Any, Any, Any, Any]) -> Broadcaster:
    found = app.bot_data[BROADCASTER]
    assert isinstance(found, Broadcaster)
    return found
