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
from handlers.tickets.posts import link, post_ticket, refresh_post, send_to_group, tell
from handlers.tickets.views import escalation_offer, my_questions_text, name_of
from knowledge.matcher import Answer
from knowledge.render import render_faq
from knowledge.store import MessageKind, Question, Store, Ticket, TicketStatus
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
    number = TicketButton.decode(query.data).number
    question = await context.bot_data.store.run(lambda db: db.questions.get(number))
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
    number = TicketButton.decode(query.data).number
    ticket = await context.bot_data.store.run(lambda db: db.tickets.get(number))
    # Another contestant's answered question: its words and the answer, never who asked;
    # and only when the bot offered it on this message, or a forged press could list them all.
    if not offered(query) or ticket is None or ticket.status != TicketStatus.ANSWERED:
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
    if (ticket_id := question.ticket_id) is not None:
        if (existing := await svc.store.run(lambda db: db.tickets.get(ticket_id))) is not None:
            # A second press, or this press handled again after a crash: the contestant hears
            # "submitted" once; the post, if the crash came before it, goes out now.
            try:
                await _confirm(query, svc, existing, lang)
            finally:
                await post_ticket(context.bot, svc, existing)
        return
    guesses = svc.kb.matcher.guesses(question.text)[:3]
    settings = svc.settings

    def open_if_allowed(db: Store) -> Ticket | str:
        """The new ticket, or why not: checked and stored in one go, so two presses at once
        cannot both slip under the limits."""
        open_count = db.tickets.count_open_of(user.id)
        if open_count >= settings.max_open_tickets:
            return tr(lang, "tickets.too_many", n=open_count)
        last = db.tickets.last_time_of(user.id)
        if last is not None:
            waited = (datetime.now(UTC) - last).total_seconds()
            if waited < settings.escalation_interval_seconds:
                wait = int(settings.escalation_interval_seconds - waited) + 1
                return tr(lang, "tickets.too_soon", s=wait)
        ticket, _ = db.tickets.create(
            question, user_name=name_of(user), username=user.username, lang=lang,
            guesses=guesses,
        )  # fmt: skip
        return ticket

    ticket = await svc.store.run(open_if_allowed)
    if isinstance(ticket, str):
        await acknowledge(query, ticket, show_alert=True)
        return
    try:
        await _confirm(query, svc, ticket, lang)
    finally:
        # Stored means posted, even when telling the contestant failed.
        await post_ticket(context.bot, svc, ticket)


async def _confirm(query: CallbackQuery, svc: Services, ticket: Ticket, lang: str) -> None:
    """Tell the contestant their ticket's number, once: the confirmation is on record, so a
    press handled again after a restart (or pressed twice) only gets a toast."""
    async with svc.confirming:  # a double tap is two updates handled at the same time
        if await svc.store.run(lambda db: db.tickets.told(ticket.id, MessageKind.CONFIRM)):
            await acknowledge(query, tr(lang, "tickets.already", id=ticket.id))
            return
        await acknowledge(query)
        if isinstance(query.message, Message):
            with contextlib.suppress(BadRequest):
                await query.message.edit_reply_markup(None)
        sent = await tell(query.message, tr(lang, "tickets.submitted", id=ticket.id))
        if sent is not None:
            await link(svc, sent.chat.id, sent.message_id, ticket.id, MessageKind.CONFIRM)


async def continue_ticket(update: Update, context: Context) -> bool:
    """A contestant's reply to an answer they received: a follow-up on the same ticket."""
    message = update.effective_message
    if message is None or message.chat.type != ChatType.PRIVATE or not message.text:
        return False
    replied = message.reply_to_message
    if replied is None:
        return False
    svc = context.bot_data
    ticket = await svc.store.run(
        lambda db: db.tickets.for_message(message.chat.id, replied.message_id)
    )
    user = update.effective_user
    if ticket is None or user is None or ticket.user_id != user.id:
        return False
    lang = user_lang(update)
    if ticket.status == TicketStatus.MERGED:
        await message.reply_html(tr(lang, "tickets.closed_ticket", id=ticket.id))
        return True
    # A closed ticket opens again: the closing notice invites the contestant to add details.
    words, ticket_id = message.text, ticket.id
    ticket = await svc.store.run(lambda db: db.tickets.reopen(ticket_id, words))
    await message.reply_html(tr(lang, "tickets.followup_sent", id=ticket.id))
    chat_id = svc.settings.organizer_chat_id
    if chat_id is not None:
        text = tr(
            "zh", "tickets.followup_post", id=ticket.id, name=html.escape(ticket.user_name),
            text=html.escape(message.text),
        )  # fmt: skip
        post = await svc.store.run(lambda db: db.tickets.group_message_of(ticket_id, chat_id))
        sent = await send_to_group(context.bot, chat_id, text, reply_to=post)
        if sent is not None:
            await link(svc, chat_id, sent.message_id, ticket.id, MessageKind.FOLLOWUP)
            await refresh_post(context, ticket)
    return True


async def my_questions(update: Update, context: Context) -> None:
    """/myquestions: the contestant's own tickets, their status and answers."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    lang = user_lang(update)
    tickets = await context.bot_data.store.run(lambda db: db.tickets.of_user(user.id))
    if not tickets:
        await message.reply_html(tr(lang, "tickets.none"))
        return
    await reply_html(message, my_questions_text(tickets, lang))
