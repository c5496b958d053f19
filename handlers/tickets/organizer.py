"""The organizers' side of tickets: replies in their group and /answer, /merge, /queue,
/ticket, the buttons on a ticket's post, and FAQ entries made from answers. Every command and
button here is for organizers (handlers.auth)."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import re

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update, User
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.services import Context, Services
from bot.telegram_text import split_html
from handlers.auth import require_organizer
from handlers.common import acknowledge, clip, reply_html
from handlers.tickets.callbacks import Action, TicketButton, offered
from handlers.tickets.posts import (
    deliver_answer,
    refresh_post,
    send_answer,
    send_to_group,
    tell,
)
from handlers.tickets.views import (
    age,
    answer_text,
    button,
    merge_keyboard,
    name_of,
    post_view,
)
from knowledge.store import Ticket
from knowledge.store.tickets import ANSWERED, CLOSED, MERGED, OPEN
from knowledge.texts import lead, tr

log = logging.getLogger(__name__)


# --- replies and commands ----------------------------------------------------------------------


async def answer_by_reply(update: Update, context: Context) -> None:
    """A reply in the organizers' group (handlers/__init__.py routes only those here) to a
    ticket's message — its post, a reminder, a follow-up — answers that ticket."""
    message = update.effective_message
    if (
        message is None
        or update.effective_user is None
        or message.reply_to_message is None
        or not message.text
    ):
        return
    svc = context.bot_data
    replied = message.reply_to_message
    ticket = svc.store.ticket_for_message(message.chat.id, replied.message_id) or _posted_ticket(
        svc, replied, context.bot.id
    )
    if ticket is None or not await require_organizer(update, context):
        return
    await _answer_ticket(update, context, ticket, message.text)


def _posted_ticket(svc: Services, replied: Message, bot_id: int) -> Ticket | None:
    """The ticket a post of the bot shows, when the post is not on record: its sendMessage
    failed in a way that hid that it arrived (a timeout, a 5xx), so a later one was posted."""
    found = re.match(re.escape(lead("zh", "tickets.post_title")) + r"(\d+)\n", replied.text or "")
    if found is None or replied.from_user is None or replied.from_user.id != bot_id:
        return None
    ticket = svc.store.ticket(int(found.group(1)))
    if ticket is not None:
        svc.store.link_message(replied.chat.id, replied.message_id, ticket.id, "post")
    return ticket


async def _answer_ticket(update: Update, context: Context, ticket: Ticket, answer: str) -> None:
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    if ticket.status == MERGED and ticket.merged_into is not None:
        target = context.bot_data.store.ticket(ticket.merged_into)
        if target is not None:
            ticket = target
    if ticket.status == CLOSED:
        await message.reply_html(tr("zh", "tickets.closed_not_sent", id=ticket.id))
        return
    same = ticket.status == ANSWERED and ticket.answer == answer.strip()
    if same and context.bot_data.store.answered_to(ticket.id):
        # This answer reached the contestant already: the same message handled again after a
        # restart, or sent twice. A second copy would only confuse.
        await refresh_post(context, ticket)  # in case the crash came before it
        await message.reply_html(tr("zh", "tickets.answer_sent_before", id=ticket.id))
        return
    report = await deliver_answer(context, ticket.id, answer.strip(), update.effective_user)
    await message.reply_html(report)


async def answer_command(update: Update, context: Context) -> None:
    """/answer N text: answer ticket N."""
    message = update.effective_message
    if message is None or not await require_organizer(update, context):
        return
    m = re.match(r"^/\S+\s+#?(\d+)\s+(.+)$", message.text or "", flags=re.DOTALL)
    if m is None:
        await message.reply_html(tr("zh", "tickets.answer_usage"))
        return
    ticket = context.bot_data.store.ticket(int(m.group(1)))
    if ticket is None:
        await message.reply_html(tr("zh", "tickets.no_such", id=html.escape(m.group(1))))
        return
    await _answer_ticket(update, context, ticket, m.group(2))


async def merge_command(update: Update, context: Context) -> None:
    """/merge N M: ticket N is a duplicate of M; answering M answers both."""
    message = update.effective_message
    if message is None or not await require_organizer(update, context):
        return
    args = [a.lstrip("#") for a in (context.args or [])]
    if len(args) != 2 or not all(a.isdigit() for a in args):
        await message.reply_html(tr("zh", "tickets.merge_usage"))
        return
    await message.reply_html(await _merge(context, int(args[0]), int(args[1])))


async def _merge(context: Context, source_id: int, target_id: int) -> str:
    svc = context.bot_data
    store = svc.store
    source, target = store.ticket(source_id), store.ticket(target_id)
    if source is None or target is None:
        return tr("zh", "tickets.merge_unknown")
    if source_id == target_id or target.status in (MERGED, CLOSED):
        return tr("zh", "tickets.merge_refused")
    if source.status != OPEN:
        return tr("zh", "tickets.not_open_any_more", id=source_id)
    followers = store.merged_into(source_id)
    merged = store.merge(source_id, target_id)
    await refresh_post(context, merged)
    if target.status == ANSWERED and target.answer:
        # The answer exists already: the duplicate askers get it now.
        reports = [await _deliver_existing(context, t, target) for t in [merged, *followers]]
        report = tr("zh", "tickets.merged_answered", source=source_id, target=target_id)
        return report + "".join(reports)
    return tr("zh", "tickets.merged", source=source_id, target=target_id)


async def _deliver_existing(context: Context, ticket: Ticket, target: Ticket) -> str:
    """A duplicate of an answered question: its asker gets the same answer now."""
    svc = context.bot_data
    (ticket,) = svc.store.answer(
        ticket.id, target.answer or "", target.answered_by or 0, target.answered_by_name or "",
        include_merged=False,
    )  # fmt: skip
    error = await send_answer(context, ticket, answer_text(svc, ticket))
    if error is not None:
        ticket = svc.store.update_ticket(ticket.id, delivery_error=error)
    await refresh_post(context, ticket)
    if not error:
        return ""
    return "\n" + tr("zh", "tickets.undeliverable", id=ticket.id, error=html.escape(error))


# --- buttons on a ticket's post -----------------------------------------------------------------


async def _pressed(
    update: Update, context: Context
) -> tuple[CallbackQuery, TicketButton, Ticket, User] | None:
    """The button an organizer pressed on a ticket's post, the ticket and who pressed; None when
    the press is answered already (not an organizer, or the ticket is gone)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if not await require_organizer(update, context):
        return None
    pressed = TicketButton.decode(query.data)
    ticket = context.bot_data.store.ticket(pressed.number)
    user = update.effective_user
    if ticket is None or user is None:
        await acknowledge(query, tr("zh", "tickets.gone"), show_alert=True)
        return None
    return query, pressed, ticket, user


async def claim(update: Update, context: Context) -> None:
    """✋ 认领: the presser takes the ticket on (the post names them)."""
    if found := await _pressed(update, context):
        query, _, ticket, user = found
        if ticket.status != OPEN:
            await acknowledge(query, tr("zh", "tickets.not_open"))
            return
        ticket = context.bot_data.store.claim(ticket.id, user.id, name_of(user))
        await acknowledge(query, tr("zh", "tickets.claimed", id=ticket.id))
        await refresh_post(context, ticket)


async def close(update: Update, context: Context) -> None:
    """🚫 关闭（无需回复）: closed without an answer; the asker is told kindly."""
    if found := await _pressed(update, context):
        query, _, ticket, _ = found
        svc = context.bot_data
        if ticket.status == CLOSED and not svc.store.told(ticket.id, "closed"):
            # This press handled again after a crash that came before the asker was told.
            await acknowledge(query, tr("zh", "tickets.closed", id=ticket.id))
            await _notify_closed(context, ticket)
            return
        if ticket.status != OPEN:
            await acknowledge(query, tr("zh", "tickets.not_open"))
            return
        ticket = svc.store.close_ticket(ticket.id)
        await acknowledge(query, tr("zh", "tickets.closed", id=ticket.id))
        await refresh_post(context, ticket)
        await _notify_closed(context, ticket)


async def choose_merge_target(update: Update, context: Context) -> None:
    """🔗 合并到…: a list of the open tickets this one may join, a button each."""
    if found := await _pressed(update, context):
        query, _, ticket, _ = found
        svc = context.bot_data
        others = [t for t in svc.store.open_tickets() if t.id != ticket.id][:6]
        await acknowledge(query)
        if not others:
            await tell(query.message, tr("zh", "tickets.merge_none", id=ticket.id))
            return
        await send_to_group(
            context.bot, query.message.chat.id if query.message else 0,
            tr("zh", "tickets.merge_which", id=ticket.id),
            reply_to=query.message.message_id if query.message else None,
            markup=merge_keyboard(ticket, others),
        )  # fmt: skip


async def merge_into(update: Update, context: Context) -> None:
    """→ #M in the 合并到… list: the ticket joins M; the list says what happened."""
    if found := await _pressed(update, context):
        query, pressed, ticket, _ = found
        assert pressed.target is not None  # the pattern has it
        await acknowledge(query)
        result = await _merge(context, ticket.id, pressed.target)
        if not offered(query):  # not from the 合并到… list: never overwrite a ticket's post
            await tell(query.message, result)
        elif isinstance(query.message, Message):
            with contextlib.suppress(BadRequest):
                await query.message.edit_text(result, parse_mode=ParseMode.HTML)


async def merge_similar(update: Update, context: Context) -> None:
    """🧲 合并这 N 个相似问题: the similar open tickets the post names join this one."""
    if found := await _pressed(update, context):
        query, _, ticket, _ = found
        svc = context.bot_data
        # Only the tickets the post named when it was pressed, still open: never one that
        # arrived since and nobody has read.
        await acknowledge(query)
        similar = [
            i
            for i in _listed(query.message, lead("zh", "tickets.post_similar"))
            if _is_open(svc, i) and i != ticket.id
        ]
        if not similar:
            await tell(query.message, tr("zh", "tickets.no_similar_open", id=ticket.id))
            return
        results = [await _merge(context, other, ticket.id) for other in similar]
        await tell(query.message, "\n".join(results))


async def save_faq(update: Update, context: Context) -> None:
    """📌 存为FAQ: the answered question and its answer become an FAQ entry."""
    if found := await _pressed(update, context):
        query, _, ticket, _ = found
        svc = context.bot_data
        if ticket.status != ANSWERED or not ticket.answer:
            await acknowledge(query, tr("zh", "tickets.faq_needs_answer"), show_alert=True)
            return
        if ticket.faq_id:
            # The button is gone once saved: this is the press handled again after a crash,
            # which may have come before the organizers were told, so tell them.
            faq_id = ticket.faq_id
            await acknowledge(query, tr("zh", "faq.already", faq_id=faq_id))
        else:
            # An entry may exist already: the press handled again after a crash in between.
            entry = svc.store.faq_of_ticket(ticket.id) or svc.store.add_faq(
                ticket.question, ticket.answer, ticket_id=ticket.id
            )
            await asyncio.to_thread(svc.kb.refresh_faq)
            ticket = svc.store.update_ticket(ticket.id, faq_id=entry.id)
            faq_id = entry.id
            await acknowledge(query, tr("zh", "faq.saved_toast", faq_id=faq_id))
        await refresh_post(context, ticket)
        await tell(query.message, tr("zh", "tickets.faq_saved", id=ticket.id, faq_id=faq_id))
        await offer_faq_to_open(context, query.message, faq_id)


async def _notify_closed(context: Context, ticket: Ticket) -> None:
    """Tell the asker, kindly, that their ticket was closed without an answer and how to ask
    again; a failure is reported in the group, never retried (see send_answer)."""
    svc = context.bot_data
    text = tr(
        ticket.lang, "tickets.closed_notice", id=ticket.id, question=html.escape(ticket.question)
    )
    try:
        sent = await context.bot.send_message(
            ticket.chat_id, split_html(text)[0], parse_mode=ParseMode.HTML
        )
    except TelegramError as exc:
        log.warning("could not tell the asker of #%s it was closed: %s", ticket.id, exc)
        chat_id = svc.settings.organizer_chat_id
        if chat_id is not None:
            await send_to_group(
                context.bot, chat_id,
                tr("zh", "tickets.close_untold", id=ticket.id, error=html.escape(exc.message)),
                reply_to=svc.store.group_message_of(ticket.id, chat_id),
            )  # fmt: skip
        return
    svc.store.link_message(ticket.chat_id, sent.message_id, ticket.id, "closed")


def open_like_faq(svc: Services, question: str) -> list[int]:
    """Open tickets (not merged) that ask what a FAQ entry's question asks, oldest first."""
    open_ = [(t.id, t.question) for t in svc.store.open_tickets()]
    return sorted(svc.kb.similar_questions(question, open_, limit=20, strict=True))


async def offer_faq_to_open(context: Context, where: object, faq_id: int) -> None:
    """After an entry is saved: list the open tickets it seems to answer, with one button that
    sends it to their askers (the organizers read the list before pressing)."""
    svc = context.bot_data
    entry = svc.kb.faq.get(faq_id)
    waiting = await asyncio.to_thread(open_like_faq, svc, entry.question) if entry else []
    if not waiting or not isinstance(where, Message):
        return
    tickets = [t for tid in waiting if (t := svc.store.ticket(tid))]
    lines = [tr("zh", "tickets.faq_offer", n=len(tickets), faq_id=faq_id)]
    lines += [f"#{t.id} {html.escape(clip(t.question, 40))}" for t in tickets]
    label = tr("zh", "tickets.faq_offer_button", faq_id=faq_id, n=len(tickets))
    notify = button(label, Action.NOTIFY_FAQ, faq_id)
    await send_to_group(
        context.bot, where.chat.id, "\n".join(lines), reply_to=where.message_id,
        markup=InlineKeyboardMarkup([[notify]]),
    )  # fmt: skip


async def notify_faq_button(update: Update, context: Context) -> None:
    """📣 under a saved entry: answer the open tickets that ask what it answers, with it."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if not await require_organizer(update, context) or update.effective_user is None:
        return
    await acknowledge(query)
    svc = context.bot_data
    faq_id = TicketButton.decode(query.data).number
    entry = svc.kb.faq.get(faq_id)
    if entry is None:
        await tell(query.message, tr("zh", "tickets.faq_gone", faq_id=faq_id))
        return
    # The tickets the organizers read in the list, still open when each is answered: none that
    # arrived since, none answered by hand meanwhile.
    reports = [
        await deliver_answer(context, tid, entry.answer, update.effective_user)
        for tid in _listed(query.message, "#")
        if _is_open(svc, tid)
    ]
    await tell(query.message, "\n".join(reports) or tr("zh", "tickets.faq_offer_none"))


def _listed(message: object, lead: str) -> list[int]:
    """Ticket numbers a message of ours listed: on its lines that start with `lead`
    ("另有 2 个相似问题：#12 #15"; "#12 问题…" takes the leading number only)."""
    if not isinstance(message, Message) or not message.text:
        return []
    found: list[int] = []
    for line in message.text.split("\n"):
        if not line.startswith(lead):
            continue
        if lead == "#":
            if m := re.match(r"#(\d+)\s", line + " "):
                found.append(int(m.group(1)))
        else:
            found += [int(n) for n in re.findall(r"#(\d+)", line)]
    return found


def _is_open(svc: Services, ticket_id: int) -> bool:
    ticket = svc.store.ticket(ticket_id)
    return ticket is not None and ticket.status == OPEN


async def queue_command(update: Update, context: Context) -> None:
    """/queue: open tickets, oldest first, with age and who claimed them."""
    message = update.effective_message
    if message is None or not await require_organizer(update, context):
        return
    tickets = context.bot_data.store.open_tickets()
    if not tickets:
        await message.reply_html(tr("zh", "tickets.queue_empty"))
        return
    lines = [tr("zh", "tickets.queue_head", n=len(tickets))]
    for t in tickets:
        claimed = ""
        if t.claimed_by_name:
            claimed = tr("zh", "tickets.queue_claimed", name=html.escape(t.claimed_by_name))
        lines.append(
            f"<b>#{t.id}</b> · {age(t.waiting_since)} · {html.escape(t.user_name)}{claimed}\n"
            f"  {html.escape(clip(t.question))}"
        )
    await reply_html(message, "\n".join(lines))


async def ticket_command(update: Update, context: Context) -> None:
    """/ticket N: one ticket in full (organizers only)."""
    message = update.effective_message
    if message is None or not await require_organizer(update, context):
        return
    args = [a.lstrip("#") for a in (context.args or [])]
    if len(args) != 1 or not args[0].isdigit():
        await message.reply_html(tr("zh", "tickets.ticket_usage"))
        return
    svc = context.bot_data
    ticket = svc.store.ticket(int(args[0]))
    if ticket is None:
        await message.reply_html(tr("zh", "tickets.no_such", id=int(args[0])))
        return
    await reply_html(message, *await asyncio.to_thread(post_view, svc, ticket))
