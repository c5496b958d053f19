"""The broadcast engine, a background task started with the application (bot/app.py).

Broadcaster runs the broadcasts stored in the database (knowledge/store/broadcasts.py), one at a
time: it resumes a running one after a restart, starts queued ones, and scheduled ones when due.
Each delivery is claimed ('sending') just before its HTTP call and recorded right after, so a
restart never sends twice to a recipient whose outcome is known and never skips one. A send in
flight when the process died is ambiguous (Telegram may have delivered it); the policy is at
most once: such rows become 'unknown', are not resent automatically, are counted apart in the
report and listed in its CSV, and an organizer may resend them on purpose (🔁 button).

Every send takes a broadcast slot of the Pacer (bot/pacer.py), so replies to contestants go
first and Telegram's limits hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import Any

from telegram import InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.pacer import Pacer, Slot, broadcast_send
from bot.services import App, Services
from handlers.broadcast.views import progress_text, report_keyboard, report_text, stop_keyboard
from knowledge.store import (
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastKind,
    BroadcastStatus,
    DeliveryStatus,
    Store,
)
from knowledge.texts import tr

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # network errors and 5xx; then the delivery is 'failed'
MAX_IN_FLIGHT = 16  # concurrent HTTP requests of one broadcast
PROGRESS_SECONDS = 3.0  # how often the status message in the organizers' group is edited
IDLE_SECONDS = 5.0  # how often the engine looks for due scheduled broadcasts
GRACE_SECONDS = 5.0  # at shutdown, how long sends in flight may take to finish
ERROR_PAUSE_SECONDS = 30.0


class Broadcaster:
    """Runs stored broadcasts one at a time through the Pacer; see the module docstring."""

    def __init__(
        self,
        app: App,
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
        # Each look at the stored broadcasts is numbered; one that finds nothing to send sets
        # `looked`, which tests wait on (an engine woken now and idle has sent what it would).
        self.looks = 0
        self.idle_look = 0
        self.looked = asyncio.Event()
        self._wake = asyncio.Event()
        self._cancelled: set[int] = set()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._graceful = True

    @property
    def services(self) -> Services:
        return self.app.bot_data

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
        self.recovered = await store.run(lambda db: db.deliveries.recover_in_flight())
        self.ready.set()
        if self.recovered:
            log.warning(
                "%d broadcast message(s) were in flight when the bot stopped: marked unknown, "
                "not resent",
                self.recovered,
            )
        while True:
            self._wake.clear()
            self.looks += 1
            look = self.looks
            job = await store.run(lambda db: db.broadcasts.next_job())
            if job is None:
                self.idle_look = look
                self.looked.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), await self._idle_seconds())
                continue
            try:
                await self.run(job)
            except Exception:  # keep the engine alive; the job is retried after a pause
                log.exception("broadcast #%s stopped by an error", job.id)
                await asyncio.sleep(ERROR_PAUSE_SECONDS)

    async def _idle_seconds(self) -> float:
        due = await self.services.store.run(lambda db: db.broadcasts.next_scheduled_at())
        if due is None:
            return IDLE_SECONDS
        wait = (datetime.fromisoformat(due) - datetime.now(UTC)).total_seconds()
        return min(IDLE_SECONDS, max(0.05, wait))

    async def run(self, job: Broadcast) -> None:
        """Send one broadcast to the end (or until cancelled), then post its report."""
        store = self.services.store
        new_panel = job.status == BroadcastStatus.SCHEDULED or job.panel_message_id is None
        if job.status != BroadcastStatus.RUNNING:
            audience = job.audience or Audience(AudienceKind.ALL)
            job_id = job.id

            def start(db: Store) -> Broadcast | None:
                recipients = [s.chat_id for s in db.subscriptions.audience(audience)]
                return db.broadcasts.start(job_id, recipients)

            started = await store.run(start)
            if started is None:
                return
            job = started
            log.info("broadcast #%s started: %d recipients", job.id, job.total)
        else:
            log.info("broadcast #%s resumed", job.id)
        self.current = job.id
        job = await self._show(job, await self._progress(job), stop_keyboard(job), new=new_panel)
        progress = asyncio.create_task(self._progress_loop(job))
        try:
            await self._dispatch(job)
        finally:
            progress.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await progress
            self.current = None
        self._cancelled.discard(job.id)
        final, counts = await store.run(lambda db: self._finish(db, job.id))
        log.info("broadcast #%s %s: %s", job.id, final.status, counts)
        await self._show(
            final,
            report_text(final, counts, self.services.kb.catalogue),
            report_keyboard(final, counts),
        )

    @staticmethod
    def _finish(db: Store, broadcast_id: int) -> tuple[Broadcast, dict[str, int]]:
        """Done (a cancelled one stays cancelled): the broadcast and its deliveries' counts."""
        db.broadcasts.finish(broadcast_id)
        final = db.broadcasts.get(broadcast_id)
        assert final is not None
        return final, db.deliveries.counts(broadcast_id)

    def _stopped(self, broadcast_id: int) -> bool:
        return broadcast_id in self._cancelled

    async def _dispatch(self, job: Broadcast) -> None:
        store = self.services.store
        in_flight = self._in_flight
        try:
            while not self._stopped(job.id):
                rows = await store.run(lambda db: db.deliveries.due(job.id, limit=200))
                if not rows:
                    if in_flight:
                        await asyncio.wait(
                            set(in_flight), timeout=0.5, return_when=asyncio.FIRST_COMPLETED
                        )
                        continue
                    due = await store.run(lambda db: db.deliveries.next_retry_at(job.id))
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
                        await self._defer(job.id, row.chat_id, time.time() + delay)
                        continue
                    slot = await self.pacer.acquire_broadcast(row.chat_id)
                    if self._stopped(job.id):
                        self.pacer.sent(slot)  # not used after all
                        break
                    attempt = await self._claim(job.id, row.chat_id)
                    if attempt is None:
                        self.pacer.sent(slot)
                        continue
                    if self._stopped(job.id):  # cancelled while it was claimed: not sent
                        await self._record(
                            job.id, row.chat_id, DeliveryStatus.PENDING, refund=True
                        )
                        self.pacer.sent(slot)
                        break
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
        bot = self.app.bot
        try:
            if job.kind == BroadcastKind.COPY:
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
            await self._record(
                job.id, chat_id, DeliveryStatus.PENDING, retry_at=time.time(), refund=True
            )
        except Forbidden as exc:
            # Blocked, kicked or deactivated: retrying cannot help, and they no longer want it.
            await self._record(job.id, chat_id, DeliveryStatus.BLOCKED, error=exc.message)
            reason = f"Telegram: {exc.message}"
            await self.services.store.run(lambda db: db.subscriptions.deactivate(chat_id, reason))
        except ChatMigrated as exc:
            error = tr("zh", "broadcast.migrated", chat_id=exc.new_chat_id)
            await self._record(job.id, chat_id, DeliveryStatus.FAILED, error=error)
        except BadRequest as exc:  # a NetworkError subclass in PTB, but permanent
            await self._record(job.id, chat_id, DeliveryStatus.FAILED, error=exc.message)
            if (
                job.kind == BroadcastKind.COPY
                and "message to copy not found" in exc.message.lower()
            ):
                # The original was deleted: every other recipient would fail the same way.
                log.warning("broadcast #%s: its message is gone; stopping", job.id)
                await self.services.store.run(lambda db: db.broadcasts.cancel(job.id))
                self.cancel(job.id)
        except TimedOut as exc:
            # Sent, and no answer in time: Telegram may have delivered it. At most once, as
            # for a send in flight at a crash: 'unknown', resent only by an organizer's 🔁.
            await self._record(job.id, chat_id, DeliveryStatus.UNKNOWN, error=exc.message)
        except NetworkError as exc:  # resets, 5xx
            if attempt >= self.max_attempts:
                await self._record(
                    job.id,
                    chat_id,
                    DeliveryStatus.FAILED,
                    error=tr("zh", "broadcast.tried", error=exc.message, n=attempt),
                )
            else:
                backoff = min(60.0, self.retry_base * 2 ** (attempt - 1))
                await self._record(
                    job.id,
                    chat_id,
                    DeliveryStatus.PENDING,
                    error=exc.message,
                    retry_at=time.time() + backoff,
                )
        except TelegramError as exc:
            await self._record(job.id, chat_id, DeliveryStatus.FAILED, error=exc.message)
        except Exception as exc:  # a bug must not leave the row 'sending' forever
            log.exception("broadcast #%s to %s", job.id, chat_id)
            await self._record(job.id, chat_id, DeliveryStatus.FAILED, error=repr(exc)[:200])
        else:
            message_id = sent.message_id if sent is not None else None
            await self._record(
                job.id, chat_id, DeliveryStatus.SENT, message_id=message_id, error=None
            )

    async def _defer(self, broadcast_id: int, chat_id: int, until: float) -> None:
        await self.services.store.run(lambda db: db.deliveries.defer(broadcast_id, chat_id, until))

    async def _claim(self, broadcast_id: int, chat_id: int) -> int | None:
        return await self.services.store.run(lambda db: db.deliveries.claim(broadcast_id, chat_id))

    async def _record(
        self,
        broadcast_id: int,
        chat_id: int,
        status: DeliveryStatus,
        *,
        message_id: int | None = None,
        error: str | None = None,
        retry_at: float | None = None,
        refund: bool = False,
    ) -> None:
        """The outcome of a claimed send, into the database (see Deliveries.record)."""
        await self.services.store.run(
            lambda db: db.deliveries.record(
                broadcast_id, chat_id, status,
                message_id=message_id, error=error, retry_at=retry_at, refund=refund,
            )
        )  # fmt: skip

    # --- the status message ---------------------------------------------------------------------

    async def _progress(self, job: Broadcast) -> str:
        counts = await self.services.store.run(lambda db: db.deliveries.counts(job.id))
        return progress_text(job, counts, self.services.kb.catalogue, self.pacer.broadcast_rate)

    async def _progress_loop(self, job: Broadcast) -> None:
        while True:
            await asyncio.sleep(self.progress_seconds)
            await self._show(job, await self._progress(job), stop_keyboard(job))

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
        panel_id = sent.message_id
        return await self.services.store.run(
            lambda db: db.broadcasts.update(job.id, panel_message_id=panel_id)
        )
