"""Background work on tickets: the SLA loop raises tickets that waited too long, and posts the
ones whose post to the organizers' group was lost."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from functools import partial

from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.services import App
from handlers.tickets.posts import post_ticket
from handlers.tickets.views import age
from knowledge.store import MessageKind, Store
from knowledge.texts import tr

log = logging.getLogger(__name__)

SLA_CHECK_SECONDS = 30


async def check_overdue(app: App) -> int:
    """Raise tickets unanswered past SLA_MINUTES once; post tickets whose post was lost. One
    round at a time (the loop's, or one called by hand); returns how many it raised."""
    svc = app.bot_data
    chat_id = svc.settings.organizer_chat_id
    if chat_id is None:
        return 0
    async with svc.sla_round:
        return await _check_overdue(app, chat_id)


async def _check_overdue(app: App, chat_id: int) -> int:
    svc = app.bot_data
    for ticket in await svc.store.run(lambda db: db.tickets.unposted(chat_id)):
        await post_ticket(app.bot, svc, ticket)
    raised = 0
    minutes = svc.settings.sla_minutes
    for ticket in await svc.store.run(lambda db: db.tickets.overdue(minutes)):
        claimed, post = await svc.store.run(partial(_claim_reminder, ticket.id, chat_id))
        if not claimed:
            continue  # another round of the check took it meanwhile
        text = tr("zh", "tickets.reminder", id=ticket.id, waited=age(ticket.waiting_since))
        try:
            sent = await app.bot.send_message(
                chat_id, text, parse_mode=ParseMode.HTML, reply_to_message_id=post,
                allow_sending_without_reply=True,
            )  # fmt: skip
        except TelegramError as exc:
            log.warning("SLA reminder for #%s failed: %s", ticket.id, exc)
            await svc.store.run(partial(_give_back, ticket.id))  # the next round tries again
            continue
        await svc.store.run(partial(_link_reminder, ticket.id, chat_id, sent.message_id))
        raised += 1
    return raised


def _claim_reminder(ticket_id: int, chat_id: int, db: Store) -> tuple[bool, int | None]:
    """Whether the reminder was free to claim (it is raised once until the contestant follows
    up), and the ticket's post to reply to."""
    claimed = db.tickets.claim_reminder(ticket_id, datetime.now(UTC).isoformat())
    return claimed, db.tickets.group_message_of(ticket_id, chat_id) if claimed else None


def _give_back(ticket_id: int, db: Store) -> None:
    db.tickets.claim_reminder(ticket_id, None)


def _link_reminder(ticket_id: int, chat_id: int, message_id: int, db: Store) -> None:
    db.tickets.link_message(chat_id, message_id, ticket_id, MessageKind.REMINDER)


async def sla_loop(app: App) -> None:
    """Check for overdue tickets every SLA_CHECK_SECONDS; state lives in the database."""
    while True:
        try:
            await check_overdue(app)
        except Exception:  # keep the loop alive whatever one round hit
            log.exception("SLA check failed")
        await asyncio.sleep(SLA_CHECK_SECONDS)
