"""What the bot sends about tickets: a ticket's post in the organizers' group (posted once, kept
current), answers to askers (sent once, never again), notes under a message."""

from __future__ import annotations

import asyncio
import html
import logging

from telegram import Bot, InlineKeyboardMarkup, Message, User
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.services import Context, Services
from bot.telegram_text import split_html
from handlers.common import send_once
from handlers.tickets.views import answer_text, name_of, post_view
from knowledge.store import MessageKind, Ticket
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
        if await svc.store.run(lambda db: db.tickets.group_message_of(ticket.id, chat_id)):
            return  # posted already (by whoever held the lock before)
        text, markup = await asyncio.to_thread(post_view, svc, ticket)
        sent = await send_to_group(bot, chat_id, text, None, markup)
        if sent is not None:
            await link(svc, chat_id, sent.message_id, ticket.id, MessageKind.POST)


async def refresh_post(context: Context, ticket: Ticket) -> None:
    """Edit the ticket's post in the group to show its state now."""
    svc = context.bot_data
    chat_id = svc.settings.organizer_chat_id
    if chat_id is None:
        return
    message_id = await svc.store.run(lambda db: db.tickets.group_message_of(ticket.id, chat_id))
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


async def deliver_answer(
    context: Context, ticket_id: int, answer: str, staff: User, *, only_open: bool = False
) -> str:
    """Answer a ticket and those merged into it; report to the group what reached whom.
    only_open: unless it is open when the answer is stored, nothing (and "" is returned)."""
    svc = context.bot_data
    staff_name = name_of(staff)
    tickets = await svc.store.run(
        lambda db: db.tickets.answer(ticket_id, answer, staff.id, staff_name, only_open=only_open)
    )
    if not tickets:
        return ""
    delivered, failed = [], []
    for ticket in tickets:
        error = await send_answer(context, ticket, answer_text(svc, ticket))
        if error is None:
            delivered.append(ticket.id)
        else:
            failed.append((ticket.id, error))
        await refresh_post(context, await _after_sending(svc, ticket.id, error) or ticket)
    report = tr("zh", "tickets.answered", id=ticket_id)
    if delivered:
        report += tr("zh", "tickets.delivered_to", ids="、".join(f"#{i}" for i in delivered))
    for tid, error in failed:
        report += "\n" + tr("zh", "tickets.undeliverable_final", id=tid, error=html.escape(error))
    return report


async def _after_sending(svc: Services, ticket_id: int, error: str | None) -> Ticket | None:
    """The ticket as it is now; an answer that did not reach its asker is noted on it first."""
    if error is None:
        return await svc.store.run(lambda db: db.tickets.get(ticket_id))
    return await svc.store.run(lambda db: db.tickets.update(ticket_id, delivery_error=error))


async def send_answer(context: Context, ticket: Ticket, text: str) -> str | None:
    """Send the answer to the asker once (see send_once); what went wrong, or None."""
    chat_id = ticket.chat_id
    sent, error = await send_once(context.bot, chat_id, text)
    if sent is not None:
        await link(context.bot_data, chat_id, sent.message_id, ticket.id, MessageKind.ANSWER)
    return error


async def link(
    svc: Services, chat_id: int, message_id: int, ticket_id: int, kind: MessageKind
) -> None:
    """Record that this message stands for the ticket (see Tickets.link_message)."""
    await svc.store.run(lambda db: db.tickets.link_message(chat_id, message_id, ticket_id, kind))
