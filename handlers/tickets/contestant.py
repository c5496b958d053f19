"""Contestants and the organizers: the offer under an escalation (问组委会, 提交给组委会),
submitting a ticket, follow-ups by replying to an answer, /myquestions."""

from __future__ import annotations

import asyncio
import contextlib
import html
from datetime import UTC, datetime

from telegram import CallbackQuery, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest

from bot.services import Context, Services
from handlers.common import acknowledge, reply_html, user_lang
from handlers.menu import expired
from handlers.tickets.callbacks import TicketButton, offered
from handlers.tickets.posts import post_ticket, refresh_post, send_to_group, tell
from handlers.tickets.views import escalation_offer, my_questions_text, name_of
from knowledge.matcher import Answer
from knowledge.render import render_faq
from knowledge.store import Question, Ticket
from knowledge.store.tickets import ANSWERED, MERGED
from knowledge.texts import tr


async def offer_escalation(
    update: Update,
    context: Context,
    question: Question,
    lang: str,
    answer: Answer | None = None,
) -> None:
    """Say what was understood and that only the organizers can answer; offer similar answered
    questions and 提交给组委会."""
    message = update.effective_message
    assert message is not None
    # Off the event loop: ranking answered tickets may embed some (milliseconds each).
    text, markup = await asyncio.to_thread(
        escalation_offer, context.bot_data, question, lang, answer=answer
    )
    await reply_html(message, text, markup)


# --- buttons ------------------------------------------------------------------------------------


async def _own_question(update: Update, context: Context) -> tuple[CallbackQuery, Question] | None:
    """The press and the question its button is about, when it is the presser's own; None when
    it is not (said so)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    question = context.bot_data.store.question(TicketButton.decode(query.data).number)
    user = update.effective_user
    if question is None or user is None or question.user_id != user.id:
        await acknowledge(query, tr(user_lang(update), "tickets.not_yours"), show_alert=True)
        return None
    return query, question


async def ask_about_answer(update: Update, context: Context) -> None:
    """🙋 问组委会 under an answer: the offer to send the question, as under an escalation."""
    if found := await _own_question(update, context):
        query, question = found
        await acknowledge(query)
        text, markup = await asyncio.to_thread(
            escalation_offer, context.bot_data, question, user_lang(update), asked=True
        )
        if isinstance(query.message, Message):
            await reply_html(query.message, text, markup)


async def submit_question(update: Update, context: Context) -> None:
    """📨 提交给组委会: the question becomes a ticket."""
    if found := await _own_question(update, context):
        await submit_ticket(update, context, found[1], user_lang(update))


async def show_faq_entry(update: Update, context: Context) -> None:
    """📖 a similar FAQ entry, offered before sending: its answer."""
    query = update.callback_query
    assert query is not None and query.data is not None
    entry = context.bot_data.kb.faq.get(TicketButton.decode(query.data).number)
    if entry is None:
        await expired(update, context)
        return
    await acknowledge(query)
    if isinstance(query.message, Message):
        await reply_html(query.message, render_faq(entry, user_lang(update)))


async def show_answered(update: Update, context: Context) -> None:
    """📖 a similar answered question, offered before sending: its words and its answer."""
    query = update.callback_query
    assert query is not None and query.data is not None
    ticket = context.bot_data.store.ticket(TicketButton.decode(query.data).number)
    # Another contestant's answered question: its words and the answer, never who asked;
    # and only when the bot offered it on this message, or a forged press could list them all.
    if not offered(query) or ticket is None or ticket.status != ANSWERED:
        await expired(update, context)
        return
    await acknowledge(query)
    if isinstance(query.message, Message):
        text = f"<i>{html.escape(ticket.question)}</i>\n\n{html.escape(ticket.answer or '')}"
        await reply_html(query.message, text)


async def submit_ticket(update: Update, context: Context, question: Question, lang: str) -> None:
    """Store the ticket first, then tell the contestant, then post it to the organizers."""
    query = update.callback_query
    assert query is not None
    svc = context.bot_data
    user = update.effective_user
    assert user is not None
    if question.ticket_id is not None:
        if (ticket := svc.store.ticket(question.ticket_id)) is not None:
            # A second press, or this press handled again after a crash: the contestant hears
            # "submitted" once; the post, if the crash came before it, goes out now.
            try:
                await _confirm(query, svc, ticket, lang)
            finally:
                await post_ticket(context.bot, svc, ticket)
        return
    open_count = svc.store.count_open_of(user.id)
    if open_count >= svc.settings.max_open_tickets:
        await acknowledge(query, tr(lang, "tickets.too_many", n=open_count), show_alert=True)
        return
    last = svc.store.last_ticket_time(user.id)
    interval = svc.settings.escalation_interval_seconds
    if last is not None:
        waited = (datetime.now(UTC) - last).total_seconds()
        if waited < interval:
            wait = int(interval - waited) + 1
            await acknowledge(query, tr(lang, "tickets.too_soon", s=wait), show_alert=True)
            return
    guesses = svc.kb.matcher.guesses(question.text)
    ticket, _ = svc.store.open_ticket(
        question, user_name=name_of(user), username=user.username, lang=lang, guesses=guesses[:3]
    )
    try:
        await _confirm(query, svc, ticket, lang)
    finally:
        # Stored means posted, even when telling the contestant failed.
        await post_ticket(context.bot, svc, ticket)


async def _confirm(query: CallbackQuery, svc: Services, ticket: Ticket, lang: str) -> None:
    """Tell the contestant their ticket's number, once: the confirmation is on record, so a
    press handled again after a restart (or pressed twice) only gets a toast."""
    async with svc.confirming:  # a double tap is two updates handled at the same time
        if svc.store.told(ticket.id, "confirm"):
            await acknowledge(query, tr(lang, "tickets.already", id=ticket.id))
            return
        await acknowledge(query)
        if isinstance(query.message, Message):
            with contextlib.suppress(BadRequest):
                await query.message.edit_reply_markup(None)
        sent = await tell(query.message, tr(lang, "tickets.submitted", id=ticket.id))
        if sent is not None:
            svc.store.link_message(sent.chat.id, sent.message_id, ticket.id, "confirm")


async def continue_ticket(update: Update, context: Context) -> bool:
    """A contestant's reply to an answer they received: a follow-up on the same ticket."""
    message = update.effective_message
    if message is None or message.chat.type != ChatType.PRIVATE or not message.text:
        return False
    replied = message.reply_to_message
    if replied is None:
        return False
    svc = context.bot_data
    ticket = svc.store.ticket_for_message(message.chat.id, replied.message_id)
    user = update.effective_user
    if ticket is None or user is None or ticket.user_id != user.id:
        return False
    lang = user_lang(update)
    if ticket.status == MERGED:
        await message.reply_html(tr(lang, "tickets.closed_ticket", id=ticket.id))
        return True
    # A closed ticket opens again: the closing notice invites the contestant to add details.
    ticket = svc.store.reopen(ticket.id, message.text)
    await message.reply_html(tr(lang, "tickets.followup_sent", id=ticket.id))
    chat_id = svc.settings.organizer_chat_id
    if chat_id is not None:
        text = tr(
            "zh", "tickets.followup_post", id=ticket.id, name=html.escape(ticket.user_name),
            text=html.escape(message.text),
        )  # fmt: skip
        post = svc.store.group_message_of(ticket.id, chat_id)
        sent = await send_to_group(context.bot, chat_id, text, reply_to=post)
        if sent is not None:
            svc.store.link_message(chat_id, sent.message_id, ticket.id, "followup")
            await refresh_post(context, ticket)
    return True


async def my_questions(update: Update, context: Context) -> None:
    """/myquestions: the contestant's own tickets, their status and answers."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    lang = user_lang(update)
    tickets = context.bot_data.store.tickets_of(user.id)
    if not tickets:
        await message.reply_html(tr(lang, "tickets.none"))
        return
    await reply_html(message, my_questions_text(tickets, lang))
