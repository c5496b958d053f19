"""What the bot sends about tickets: a ticket's post in the organizers' group (posted once, kept
current), answers to askers (sent once, never again), notes under a message."""

from __future__ import annotations

import asyncio
import html
import logging

from telegram import Bot, InlineKeyboardMarkup, Message, User
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError

from bot.services import Context, Services
from bot.telegram_text import split_html
from handlers.tickets.views import answer_text, name_of, post_view
from knowledge.store import Ticket
from knowledge.texts import tr

log = logging.getLogger(__name__)


async def tell(message: object, text: str) -> Message | None:
    """An HTML note under a message of the chat (without quoting it), if it is one."""
    if isinstance(message, Message):
        return await message.reply_html(text, do_quote=False)
    return None


async def send_to_group(
    bot: Bot,
    chat_id: int,
    text: str,
    reply_to: int | None = None,
    markup: InlineKeyboardMarkup | None = None,
) -> Message | None:
    try:
        return await bot.send_message(
            chat_id, split_html(text)[0], parse_mode=ParseMode.HTML, reply_markup=markup,
            reply_to_message_id=reply_to, allow_sending_without_reply=True,
        )  # fmt: skip
    except TelegramError as exc:
        log.error("could not post to the organizers' group: %s", exc)
        return None


async def post_ticket(bot: Bot, svc: Services, ticket: Ticket) -> None:
    """Post a stored ticket to the organizers' group and remember the message; a post that
    fails is tried again by the SLA loop (check_overdue)."""
    chat_id = svc.settings.organizer_chat_id
    if chat_id is None:
        log.warning("ticket #%s stored, but ORGANIZER_CHAT_ID is not set", ticket.id)
        return
    async with svc.posting:
        if svc.store.group_message_of(ticket.id, chat_id) is not None:
            return  # posted already (by whoever held the lock before)
        text, markup = await asyncio.to_thread(post_view, svc, ticket)
        sent = await send_to_group(bot, chat_id, text, None, markup)
        if sent is not None:
            svc.store.link_message(chat_id, sent.message_id, ticket.id, "post")


async def refresh_post(context: Context, ticket: Ticket) -> None:
    """Edit the ticket's post in the group to show its state now."""
    svc = context.bot_data
    chat_id = svc.settings.organizer_chat_id
    if chat_id is None:
        return
    message_id = svc.store.group_message_of(ticket.id, chat_id)
    if message_id is None:
        return
    text, markup = await asyncio.to_thread(post_view, svc, ticket)
    try:
        await context.bot.edit_message_text(
            split_html(text)[0], chat_id, message_id, parse_mode=ParseMode.HTML,
            reply_markup=markup,
        )  # fmt: skip
    except TelegramError as exc:  # the post only shows the state; the database holds it
        if "not modified" not in exc.message:
            log.warning("could not update the post of #%s: %s", ticket.id, exc)


async def deliver_answer(context: Context, ticket_id: int, answer: str, staff: User) -> str:
    """Answer a ticket and those merged into it; report to the group what reached whom."""
    svc = context.bot_data
    tickets = svc.store.answer(ticket_id, answer, staff.id, name_of(staff))
    delivered, failed = [], []
    for ticket in tickets:
        error = await send_answer(context, ticket, answer_text(svc, ticket))
        if error is None:
            delivered.append(ticket.id)
        else:
            failed.append((ticket.id, error))
            ticket = svc.store.update_ticket(ticket.id, delivery_error=error)
        await refresh_post(context, svc.store.ticket(ticket.id) or ticket)
    report = tr("zh", "tickets.answered", id=ticket_id)
    if delivered:
        report += tr("zh", "tickets.delivered_to", ids="、".join(f"#{i}" for i in delivered))
    for tid, error in failed:
        report += "\n" + tr("zh", "tickets.undeliverable_final", id=tid, error=html.escape(error))
    return report


async def send_answer(context: Context, ticket: Ticket, text: str) -> str | None:
    """Send once and report what went wrong, never sending again: after a timeout, a reset or
    a 5xx Telegram may well have delivered it, and a second try would be a second copy. (A 429
    says nothing was sent; the Pacer waits and retries those.)"""
    svc = context.bot_data
    try:
        sent = None
        for part in split_html(text):
            sent = await context.bot.send_message(ticket.chat_id, part, parse_mode=ParseMode.HTML)
    except Forbidden as exc:
        return tr("zh", "delivery.blocked", error=exc.message)
    except BadRequest as exc:
        return exc.message
    except NetworkError as exc:
        return tr("zh", "delivery.network", error=exc.message)
    except TelegramError as exc:
        return tr("zh", "delivery.failed", error=exc.message)
    if sent is not None:
        svc.store.link_message(ticket.chat_id, sent.message_id, ticket.id, "answer")
    return None
