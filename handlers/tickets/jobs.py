"""Background work on tickets: the SLA loop raises tickets that waited too long, and posts the
ones whose post to the organizers' group was lost."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.services import App
from handlers.tickets.posts import post_ticket
from handlers.tickets.views import age
from knowledge.texts import tr

log = logging.getLogger(__name__)

SLA_CHECK_SECONDS = 30


async def check_overdue(app: App) -> int:
    """Raise tickets unanswered past SLA_MINUTES once; post tickets whose post was lost."""
    svc = app.bot_data
    chat_id = svc.settings.organizer_chat_id
    if chat_id is None:
        return 0
    for ticket in svc.store.unposted(chat_id):
        await post_ticket(app.bot, svc, ticket)
    raised = 0
    for ticket in svc.store.overdue(svc.settings.sla_minutes):
        post = svc.store.group_message_of(ticket.id, chat_id)
        text = tr("zh", "tickets.reminder", id=ticket.id, waited=age(ticket.waiting_since))
        try:
            sent = await app.bot.send_message(
                chat_id, text, parse_mode=ParseMode.HTML, reply_to_message_id=post,
                allow_sending_without_reply=True,
            )  # fmt: skip
        except TelegramError as exc:
            log.warning("SLA reminder for #%s failed: %s", ticket.id, exc)
            continue
        svc.store.link_message(chat_id, sent.message_id, ticket.id, "reminder")
        svc.store.update_ticket(ticket.id, sla_reminded_at=datetime.now(UTC).isoformat())
        raised += 1
    return raised


async def sla_loop(app: App) -> None:
    """Check for overdue tickets every SLA_CHECK_SECONDS; state lives in the database."""
    while True:
        try:
            await check_overdue(app)
        except Exception:  # keep the loop alive whatever one round hit
            log.exception("SLA check failed")
        await asyncio.sleep(SLA_CHECK_SECONDS)
