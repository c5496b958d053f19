"""Escalation to the organizers: tickets in their group, answers routed back, FAQ that learns."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import re
from datetime import UTC, datetime
from typing import Any

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.services import KEY, Services, services
from bot.telegram_text import split_html
from handlers.auth import require_organizer
from handlers.common import (
    acknowledge,
    nav_row,
    problem_button,
    reply_html,
    track_button,
    user_lang,
)
from handlers.menu import expired
from handlers.subscriptions import subscriber_line
from knowledge.matcher import Answer
from knowledge.render import render_faq, render_understood
from knowledge.store import Question, Ticket
from knowledge.store.tickets import ANSWERED, CLOSED, MERGED, OPEN

log = logging.getLogger(__name__)

STATUS = {
    OPEN: "⏳ 待回复",
    ANSWERED: "✅ 已回复",
    CLOSED: "🚫 已关闭（无需回复）",
    MERGED: "🔗 已合并",
}
STATUS_EN = {OPEN: "waiting", ANSWERED: "answered", CLOSED: "closed", MERGED: "merged"}
SLA_CHECK_SECONDS = 30

TEXTS = {
    "zh": {
        "escalate": "这个问题赛题目录里没有答案，我不替组委会猜测。",
        "confirm": "要把这个问题转给组委会吗？确认后点下面的按钮。",
        "similar": "提交前可以先看看这些相似问题的答复：",
        "submit": "📨 提交给组委会",
        "ask_button": "🙋 问组委会",
        "submitted": "✅ 已提交，编号 <b>#{id}</b>。组委会回复后我会第一时间转告你。\n"
        "可用 /myquestions 查看进度。",
        "already": "这个问题已经提交过了，编号 #{id}。",
        "too_many": "你已有 {n} 个问题在等待组委会回复，请等回复后再提交新问题。"
        "问题没有丢，稍后再点「提交给组委会」即可。",
        "too_soon": "提交太频繁了，请 {s} 秒后再点「提交给组委会」。问题没有丢。",
        "answer": "💬 <b>组委会回复了你的问题 #{id}</b>\n<blockquote>{question}</blockquote>\n"
        "{answer}{staff}\n\n<i>直接回复这条消息可以继续追问。</i>",
        "followup_sent": "已把追问转给组委会（#{id}）。",
        "closed_ticket": "问题 #{id} 已结束。如有新问题，直接发给我就好。",
        "closed_notice": "📭 组委会看过了你的问题 <b>#{id}</b>，这次不单独回复"
        "（可能已在通知、赛题说明或常见问题里说明）。\n<blockquote>{question}</blockquote>\n"
        "还有疑问的话，<b>直接回复这条消息</b>补充说明，我会再转给组委会；"
        "新问题直接发给我就好。",
        "none": "你还没有向组委会提过问题。",
        "mine": "你的问题：",
        "answer_label": "答",
        "not_yours": "这个按钮不是给你的。",
    },
    "en": {
        "escalate": "The catalogue does not answer this, and I won't guess for the organizers.",
        "confirm": "Send this question to the organizers? Press the button below to confirm.",
        "similar": "Before you send it, these similar questions have answers:",
        "submit": "📨 Send to the organizers",
        "ask_button": "🙋 Ask the organizers",
        "submitted": "✅ Sent as <b>#{id}</b>. I'll pass the organizers' answer on to you.\n"
        "Use /myquestions to follow it.",
        "already": "This question was already sent as #{id}.",
        "too_many": "You have {n} questions waiting for the organizers; please wait for their "
        "answers first. Your question is kept: press “Send” again later.",
        "too_soon": "Too many questions at once: please press “Send” again in {s} s. "
        "Your question is kept.",
        "answer": "💬 <b>The organizers answered your question #{id}</b>\n"
        "<blockquote>{question}</blockquote>\n{answer}{staff}\n\n"
        "<i>Reply to this message to ask a follow-up.</i>",
        "followup_sent": "Your follow-up went to the organizers (#{id}).",
        "closed_ticket": "Question #{id} is closed. Just send me a new question any time.",
        "closed_notice": "📭 The organizers read your question <b>#{id}</b> and closed it "
        "without a separate answer (it may be covered by an announcement, the catalogue or the "
        "FAQ).\n<blockquote>{question}</blockquote>\nStill unsure? <b>Reply to this message</b> "
        "with more detail and I'll pass it on to them again; new questions are welcome any time.",
        "none": "You have not asked the organizers anything yet.",
        "mine": "Your questions:",
        "answer_label": "A",
        "not_yours": "This button is not yours.",
    },
}


def tx(lang: str, key: str, **values: object) -> str:
    return TEXTS.get(lang, TEXTS["zh"])[key].format(**values)


def _name(user: User) -> str:
    return user.full_name or str(user.id)


def _age(since: str) -> str:
    minutes = int((datetime.now(UTC) - datetime.fromisoformat(since)).total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} 分钟"
    return f"{minutes // 60} 小时 {minutes % 60} 分钟"


def _clip(text: str, size: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"


# --- contestants --------------------------------------------------------------------------------


def ask_organizers_button(question_id: int, lang: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(tx(lang, "ask_button"), callback_data=f"tk:q:{question_id}")


async def offer_escalation(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
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
        escalation_offer, services(context), question, lang, answer=answer
    )
    await reply_html(message, text, markup)


def escalation_offer(
    svc: Services,
    question: Question,
    lang: str,
    *,
    asked: bool = False,
    answer: Answer | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    """The offer under an escalation: what the bot understood (the topic, the problem or track
    named, with its button), similar answered questions, 提交给组委会. `asked` when the
    contestant pressed 问组委会 under an answer (the catalogue did answer something, so the
    text must not say it did not)."""
    rows: list[list[InlineKeyboardButton]] = []
    catalogue = svc.kb.catalogue
    about = answer.about[0] if answer is not None and answer.about else ""
    if (problem := catalogue.problem(about)) is not None:
        rows.append([problem_button(problem)])
    elif (track := catalogue.track(about)) is not None:
        rows.append([track_button(track, lang)])
    for entry in svc.kb.similar_faq(question.text, limit=3):
        rows.append([InlineKeyboardButton(f"📖 {_clip(entry.question, 24)}",
                                          callback_data=f"tk:f:{entry.id}")])  # fmt: skip
    for ticket in similar_answered(svc, question.text, limit=3 - len(rows)):
        rows.append([InlineKeyboardButton(f"📖 {_clip(ticket.question, 24)}",
                                          callback_data=f"tk:a:{ticket.id}")])  # fmt: skip
    understood = render_understood(answer, catalogue, lang) if answer and not asked else ""
    text = understood or tx(lang, "confirm" if asked else "escalate")
    if len(rows) > (1 if about else 0):
        text += "\n" + tx(lang, "similar")
    rows.append([InlineKeyboardButton(tx(lang, "submit"), callback_data=f"tk:n:{question.id}")])
    rows.append(nav_row(lang))
    return text, InlineKeyboardMarkup(rows)


def similar_answered(svc: Services, text: str, limit: int) -> list[Ticket]:
    """Answered questions not saved as FAQ that ask what the text asks, by the FAQ's ranking."""
    if limit <= 0:
        return []
    answered = {t.id: t for t in svc.store.answered_like()}
    ids = svc.kb.similar_questions(text, [(t.id, t.question) for t in answered.values()], limit)
    return [answered[i] for i in ids]


def similar_open(svc: Services, ticket: Ticket) -> list[int]:
    """Other open tickets that ask what this one asks (ids, oldest first): answer once."""
    if ticket.status != OPEN:
        return []
    others = [(t.id, t.question) for t in svc.store.open_tickets() if t.id != ticket.id]
    return sorted(svc.kb.similar_questions(ticket.question, others, limit=10, strict=True))


async def contestant_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """tk:q (ask about this answer), tk:n (send), tk:f (a FAQ), tk:a (an answered question)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    svc = services(context)
    lang = user_lang(update)
    kind, _, value = query.data[3:].partition(":")
    user = update.effective_user
    if kind in ("q", "n"):
        question = svc.store.question(int(value))
        if question is None or user is None or question.user_id != user.id:
            await acknowledge(query, tx(lang, "not_yours"), show_alert=True)
            return
        if kind == "q":
            await acknowledge(query)
            text, markup = await asyncio.to_thread(
                escalation_offer, svc, question, lang, asked=True
            )
            if isinstance(query.message, Message):
                await reply_html(query.message, text, markup)
            return
        await submit_ticket(update, context, question, lang)
        return
    if kind == "f" and (entry := svc.kb.faq.get(int(value))):
        await acknowledge(query)
        if isinstance(query.message, Message):
            await reply_html(query.message, render_faq(entry, lang))
        return
    if (
        kind == "a"
        and _offered(query)
        and (ticket := svc.store.ticket(int(value)))
        and ticket.status == ANSWERED
    ):
        # Another contestant's answered question: its words and the answer, never who asked;
        # and only when the bot offered it on this message, or a forged press could list them all.
        await acknowledge(query)
        if isinstance(query.message, Message):
            text = f"<i>{html.escape(ticket.question)}</i>\n\n{html.escape(ticket.answer or '')}"
            await reply_html(query.message, text)
        return
    await expired(update, context)


def _offered(query: CallbackQuery) -> bool:
    """Whether the pressed button is on the message it came from (Telegram sends the message as
    stored, while a tampering client can put any data in the press)."""
    message = query.message
    markup = message.reply_markup if isinstance(message, Message) else None
    return markup is not None and any(
        button.callback_data == query.data for row in markup.inline_keyboard for button in row
    )


async def submit_ticket(
    update: Update, context: ContextTypes.DEFAULT_TYPE, question: Question, lang: str
) -> None:
    """Store the ticket first, then tell the contestant, then post it to the organizers."""
    query = update.callback_query
    assert query is not None
    svc = services(context)
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
        await acknowledge(query, tx(lang, "too_many", n=open_count), show_alert=True)
        return
    last = svc.store.last_ticket_time(user.id)
    interval = svc.settings.escalation_interval_seconds
    if last is not None:
        waited = (datetime.now(UTC) - last).total_seconds()
        if waited < interval:
            wait = int(interval - waited) + 1
            await acknowledge(query, tx(lang, "too_soon", s=wait), show_alert=True)
            return
    guesses = svc.kb.matcher.guesses(question.text)
    ticket, _ = svc.store.open_ticket(
        question, user_name=_name(user), username=user.username, lang=lang, guesses=guesses[:3]
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
            await acknowledge(query, tx(lang, "already", id=ticket.id))
            return
        await acknowledge(query)
        if isinstance(query.message, Message):
            with contextlib.suppress(BadRequest):
                await query.message.edit_reply_markup(None)
        sent = await _tell(query.message, tx(lang, "submitted", id=ticket.id))
        if sent is not None:
            svc.store.link_message(sent.chat.id, sent.message_id, ticket.id, "confirm")


async def _tell(message: object, text: str) -> Message | None:
    if isinstance(message, Message):
        return await message.reply_html(text, do_quote=False)
    return None


async def continue_ticket(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """A contestant's reply to an answer they received: a follow-up on the same ticket."""
    message = update.effective_message
    if message is None or message.chat.type != ChatType.PRIVATE or not message.text:
        return False
    replied = message.reply_to_message
    if replied is None:
        return False
    svc = services(context)
    ticket = svc.store.ticket_for_message(message.chat.id, replied.message_id)
    user = update.effective_user
    if ticket is None or user is None or ticket.user_id != user.id:
        return False
    lang = user_lang(update)
    if ticket.status == MERGED:
        await message.reply_html(tx(lang, "closed_ticket", id=ticket.id))
        return True
    # A closed ticket opens again: the closing notice invites the contestant to add details.
    ticket = svc.store.reopen(ticket.id, message.text)
    await message.reply_html(tx(lang, "followup_sent", id=ticket.id))
    chat_id = svc.settings.organizer_chat_id
    if chat_id is not None:
        text = (
            f"↩️ <b>#{ticket.id} 追问</b>（{html.escape(ticket.user_name)}）\n"
            f"<blockquote>{html.escape(message.text)}</blockquote>\n回复此消息即可答复。"
        )
        post = svc.store.group_message_of(ticket.id, chat_id)
        sent = await _send_to_group(context.bot, chat_id, text, reply_to=post)
        if sent is not None:
            svc.store.link_message(chat_id, sent.message_id, ticket.id, "followup")
            await refresh_post(context, ticket)
    return True


async def my_questions(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/myquestions: the contestant's own tickets, their status and answers."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    lang = user_lang(update)
    tickets = services(context).store.tickets_of(user.id)
    if not tickets:
        await message.reply_html(tx(lang, "none"))
        return
    lines = [tx(lang, "mine")]
    for t in tickets:
        status = STATUS_EN[t.status] if lang == "en" else STATUS[t.status]
        lines.append(f"\n<b>#{t.id}</b> · {status}\n{html.escape(_clip(t.question, 120))}")
        if t.answer:
            lines.append(f"<i>{tx(lang, 'answer_label')}：</i>{html.escape(t.answer)}")
    await reply_html(message, "\n".join(lines))


# --- organizers ---------------------------------------------------------------------------------


def post_view(svc: Services, ticket: Ticket) -> tuple[str, InlineKeyboardMarkup | None]:
    """The ticket's post in the organizers' group: its text and its buttons."""
    similar = similar_open(svc, ticket)
    return post_text(svc, ticket, similar), post_keyboard(ticket, similar)


def post_text(svc: Services, ticket: Ticket, similar: list[int] | None = None) -> str:
    """The ticket as the organizers see it in their group; similar: open tickets that ask the
    same thing."""
    catalogue = svc.kb.catalogue
    who = html.escape(ticket.user_name)
    if ticket.username:
        who += f" (@{html.escape(ticket.username)})"
    lines = [f"🆕 <b>问题 #{ticket.id}</b>", f"来自：{who} · id <code>{ticket.user_id}</code>"]
    if known := subscriber_line(svc.store.subscription(ticket.user_id), catalogue):
        lines.append(known)  # 队伍：… · 订阅：…
    lines.append(f"<blockquote>{html.escape(ticket.question)}</blockquote>")
    guesses = [p for pid in ticket.guesses if (p := catalogue.problem(pid))]
    if guesses:
        lines.append("机器人猜测：" + "；".join(f"{p.id} {html.escape(p.title)}" for p in guesses))
    status = STATUS[ticket.status]
    if ticket.status == MERGED:
        status += f" → #{ticket.merged_into}"
    lines.append(f"状态：{status}")
    if ticket.claimed_by_name and ticket.status == OPEN:
        lines.append(f"认领：{html.escape(ticket.claimed_by_name)}")
    if ticket.status == ANSWERED:
        when = (ticket.answered_at or "")[:16].replace("T", " ")
        lines.append(f"回复人：{html.escape(ticket.answered_by_name or '')} · {when} UTC")
        lines.append(f"答复：{html.escape(ticket.answer or '')}")
        if ticket.delivery_error:
            lines.append(f"⚠️ 未送达：{html.escape(ticket.delivery_error)}")
        if ticket.faq_id:
            lines.append(f"📌 已存为 FAQ #{ticket.faq_id}")
    if similar:
        lines.append(f"另有 {len(similar)} 个相似问题：" + " ".join(f"#{i}" for i in similar))
    if ticket.status == OPEN:
        lines.append(f"<i>回复此消息即可答复，或 /answer {ticket.id} 内容</i>")
    return "\n".join(lines)


def post_keyboard(ticket: Ticket, similar: list[int] | None = None) -> InlineKeyboardMarkup | None:
    if ticket.status == OPEN:
        rows = [
            [
                InlineKeyboardButton("✋ 认领", callback_data=f"tk:claim:{ticket.id}"),
                InlineKeyboardButton("🚫 关闭（无需回复）", callback_data=f"tk:close:{ticket.id}"),
            ],
            [InlineKeyboardButton("🔗 合并到…", callback_data=f"tk:merge:{ticket.id}")],
        ]
        if similar:
            label = f"🧲 合并这 {len(similar)} 个相似问题到 #{ticket.id}"
            rows.append([InlineKeyboardButton(label, callback_data=f"tk:mgs:{ticket.id}")])
        return InlineKeyboardMarkup(rows)
    if ticket.status == ANSWERED and not ticket.faq_id:
        return InlineKeyboardMarkup(
            [[InlineKeyboardButton("📌 存为FAQ", callback_data=f"tk:faq:{ticket.id}")]]
        )
    return None


async def _send_to_group(
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
        sent = await _send_to_group(bot, chat_id, text, None, markup)
        if sent is not None:
            svc.store.link_message(chat_id, sent.message_id, ticket.id, "post")


async def refresh_post(context: ContextTypes.DEFAULT_TYPE, ticket: Ticket) -> None:
    """Edit the ticket's post in the group to show its state now."""
    svc = services(context)
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


async def deliver_answer(
    context: ContextTypes.DEFAULT_TYPE, ticket_id: int, answer: str, staff: User
) -> str:
    """Answer a ticket and those merged into it; report to the group what reached whom."""
    svc = services(context)
    tickets = svc.store.answer(ticket_id, answer, staff.id, _name(staff))
    delivered, failed = [], []
    for ticket in tickets:
        error = await _send_answer(context, ticket, answer_text(svc, ticket))
        if error is None:
            delivered.append(ticket.id)
        else:
            failed.append((ticket.id, error))
            ticket = svc.store.update_ticket(ticket.id, delivery_error=error)
        await refresh_post(context, svc.store.ticket(ticket.id) or ticket)
    report = f"✅ #{ticket_id} 已回复" + (
        "，送达：" + "、".join(f"#{i}" for i in delivered) if delivered else ""
    )
    for tid, error in failed:
        report += f"\n⚠️ #{tid} 无法送达：{html.escape(error)}（不再重试）"
    return report


def answer_text(svc: Services, ticket: Ticket) -> str:
    """What the contestant reads: their question quoted, the answer, maybe who answered."""
    staff_line = ""
    if svc.settings.show_staff_names and ticket.answered_by_name:
        staff_line = f"\n— {html.escape(ticket.answered_by_name)}"
    return tx(
        ticket.lang, "answer", id=ticket.id, question=html.escape(ticket.question),
        answer=html.escape(ticket.answer or ""), staff=staff_line,
    )  # fmt: skip


async def _send_answer(
    context: ContextTypes.DEFAULT_TYPE, ticket: Ticket, text: str
) -> str | None:
    """Send once and report what went wrong, never sending again: after a timeout, a reset or
    a 5xx Telegram may well have delivered it, and a second try would be a second copy. (A 429
    says nothing was sent; the Pacer waits and retries those.)"""
    svc = services(context)
    try:
        sent = None
        for part in split_html(text):
            sent = await context.bot.send_message(ticket.chat_id, part, parse_mode=ParseMode.HTML)
    except Forbidden as exc:
        return f"对方已屏蔽机器人或停用账号（{exc.message}）"
    except BadRequest as exc:
        return exc.message
    except NetworkError as exc:
        return f"网络故障，可能未送达（{exc.message}）"
    except TelegramError as exc:
        return f"未送达（{exc.message}）"
    if sent is not None:
        svc.store.link_message(ticket.chat_id, sent.message_id, ticket.id, "answer")
    return None


async def organizer_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """In the organizers' group, a reply to a ticket's message answers that ticket."""
    message = update.effective_message
    svc = services(context)
    if (
        message is None
        or message.chat.id != svc.settings.organizer_chat_id
        or message.reply_to_message is None
        or not message.text
    ):
        return False
    replied = message.reply_to_message
    ticket = svc.store.ticket_for_message(message.chat.id, replied.message_id) or _posted_ticket(
        svc, replied, context.bot.id
    )
    if ticket is None:
        return False
    if not await require_organizer(update, context):
        return True
    await _answer_ticket(update, context, ticket, message.text)
    return True


def _posted_ticket(svc: Services, replied: Message, bot_id: int) -> Ticket | None:
    """The ticket a post of the bot shows, when the post is not on record: its sendMessage
    failed in a way that hid that it arrived (a timeout, a 5xx), so a later one was posted."""
    found = re.match(r"🆕 问题 #(\d+)\n", replied.text or "")
    if found is None or replied.from_user is None or replied.from_user.id != bot_id:
        return None
    ticket = svc.store.ticket(int(found.group(1)))
    if ticket is not None:
        svc.store.link_message(replied.chat.id, replied.message_id, ticket.id, "post")
    return ticket


async def _answer_ticket(
    update: Update, context: ContextTypes.DEFAULT_TYPE, ticket: Ticket, answer: str
) -> None:
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    if ticket.status == MERGED and ticket.merged_into is not None:
        target = services(context).store.ticket(ticket.merged_into)
        if target is not None:
            ticket = target
    if ticket.status == CLOSED:
        await message.reply_html(f"#{ticket.id} 已关闭，未发送。")
        return
    same = ticket.status == ANSWERED and ticket.answer == answer.strip()
    if same and services(context).store.answered_to(ticket.id):
        # This answer reached the contestant already: the same message handled again after a
        # restart, or sent twice. A second copy would only confuse.
        await refresh_post(context, ticket)  # in case the crash came before it
        await message.reply_html(f"#{ticket.id} 已是这个答复并已送达，没有再发一次。")
        return
    report = await deliver_answer(context, ticket.id, answer.strip(), update.effective_user)
    await message.reply_html(report)


async def answer_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/answer N text: answer ticket N."""
    message = update.effective_message
    if message is None or not await require_organizer(update, context):
        return
    m = re.match(r"^/\S+\s+#?(\d+)\s+(.+)$", message.text or "", flags=re.DOTALL)
    if m is None:
        await message.reply_html("用法：/answer 编号 回复内容")
        return
    ticket = services(context).store.ticket(int(m.group(1)))
    if ticket is None:
        await message.reply_html(f"没有问题 #{html.escape(m.group(1))}。")
        return
    await _answer_ticket(update, context, ticket, m.group(2))


async def merge_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/merge N M: ticket N is a duplicate of M; answering M answers both."""
    message = update.effective_message
    if message is None or not await require_organizer(update, context):
        return
    args = [a.lstrip("#") for a in (context.args or [])]
    if len(args) != 2 or not all(a.isdigit() for a in args):
        await message.reply_html("用法：/merge 编号 目标编号")
        return
    await message.reply_html(await _merge(context, int(args[0]), int(args[1])))


async def _merge(context: ContextTypes.DEFAULT_TYPE, source_id: int, target_id: int) -> str:
    svc = services(context)
    store = svc.store
    source, target = store.ticket(source_id), store.ticket(target_id)
    if source is None or target is None:
        return "编号不存在。"
    if source_id == target_id or target.status in (MERGED, CLOSED):
        return "不能合并到自己、已合并或已关闭的问题。"
    if source.status != OPEN:
        return f"#{source_id} 已不是待回复状态。"
    followers = store.merged_into(source_id)
    merged = store.merge(source_id, target_id)
    await refresh_post(context, merged)
    if target.status == ANSWERED and target.answer:
        # The answer exists already: the duplicate askers get it now.
        reports = [await _deliver_existing(context, t, target) for t in [merged, *followers]]
        return f"🔗 #{source_id} 已合并到 #{target_id}，并已转发其答复。" + "".join(reports)
    return f"🔗 #{source_id} 已合并到 #{target_id}，回复 #{target_id} 即同时答复两位提问者。"


async def _deliver_existing(
    context: ContextTypes.DEFAULT_TYPE, ticket: Ticket, target: Ticket
) -> str:
    """A duplicate of an answered question: its asker gets the same answer now."""
    svc = services(context)
    (ticket,) = svc.store.answer(
        ticket.id, target.answer or "", target.answered_by or 0, target.answered_by_name or "",
        include_merged=False,
    )  # fmt: skip
    error = await _send_answer(context, ticket, answer_text(svc, ticket))
    if error is not None:
        ticket = svc.store.update_ticket(ticket.id, delivery_error=error)
    await refresh_post(context, ticket)
    return f"\n⚠️ #{ticket.id} 无法送达：{html.escape(error)}" if error else ""


async def organizer_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """认领, 关闭, 合并到…, 存为FAQ on a ticket's post."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if not await require_organizer(update, context):
        return
    svc = services(context)
    parts = query.data.split(":")
    action, ticket_id = parts[1], int(parts[2])
    ticket = svc.store.ticket(ticket_id)
    user = update.effective_user
    if ticket is None or user is None:
        await acknowledge(query, "这个问题不存在。", show_alert=True)
        return
    if action == "claim":
        if ticket.status != OPEN:
            await acknowledge(query, "这个问题已不是待回复状态。")
            return
        ticket = svc.store.claim(ticket.id, user.id, _name(user))
        await acknowledge(query, f"已认领 #{ticket.id}")
        await refresh_post(context, ticket)
    elif action == "close":
        if ticket.status == CLOSED and not svc.store.told(ticket.id, "closed"):
            # This press handled again after a crash that came before the asker was told.
            await acknowledge(query, f"已关闭 #{ticket.id}")
            await _notify_closed(context, ticket)
            return
        if ticket.status != OPEN:
            await acknowledge(query, "这个问题已不是待回复状态。")
            return
        ticket = svc.store.close_ticket(ticket.id)
        await acknowledge(query, f"已关闭 #{ticket.id}")
        await refresh_post(context, ticket)
        await _notify_closed(context, ticket)
    elif action == "merge":
        others = [t for t in svc.store.open_tickets() if t.id != ticket.id][:6]
        await acknowledge(query)
        if not others:
            await _tell(
                query.message, f"没有其他待回复的问题可合并。也可用 /merge {ticket.id} 目标编号"
            )
            return
        rows = [
            [
                InlineKeyboardButton(
                    f"→ #{t.id} {_clip(t.question, 20)}", callback_data=f"tk:mg:{ticket.id}:{t.id}"
                )
            ]
            for t in others
        ]
        await _send_to_group(
            context.bot, query.message.chat.id if query.message else 0,
            f"把 #{ticket.id} 合并到哪个问题？（或 /merge {ticket.id} 目标编号）",
            reply_to=query.message.message_id if query.message else None,
            markup=InlineKeyboardMarkup(rows),
        )  # fmt: skip
    elif action == "mg" and len(parts) == 4:
        await acknowledge(query)
        result = await _merge(context, ticket.id, int(parts[3]))
        if not _offered(query):  # not from the 合并到… list: never overwrite a ticket's post
            await _tell(query.message, result)
        elif isinstance(query.message, Message):
            with contextlib.suppress(BadRequest):
                await query.message.edit_text(result, parse_mode=ParseMode.HTML)
    elif action == "mgs":
        # Only the tickets the post named when it was pressed, still open: never one that
        # arrived since and nobody has read.
        await acknowledge(query)
        similar = [
            i for i in _listed(query.message, "另有") if _is_open(svc, i) and i != ticket.id
        ]
        if not similar:
            await _tell(query.message, f"#{ticket.id} 现在没有待回复的相似问题。")
            return
        results = [await _merge(context, other, ticket.id) for other in similar]
        await _tell(query.message, "\n".join(results))
    elif action == "faq":
        if ticket.status != ANSWERED or not ticket.answer:
            await acknowledge(query, "只有已回复的问题可以存为 FAQ。", show_alert=True)
            return
        if ticket.faq_id:
            # The button is gone once saved: this is the press handled again after a crash,
            # which may have come before the organizers were told, so tell them.
            faq_id = ticket.faq_id
            await acknowledge(query, f"已是 FAQ #{faq_id}")
        else:
            # An entry may exist already: the press handled again after a crash in between.
            entry = svc.store.faq_of_ticket(ticket.id) or svc.store.add_faq(
                ticket.question, ticket.answer, ticket_id=ticket.id
            )
            await asyncio.to_thread(svc.kb.refresh_faq)
            ticket = svc.store.update_ticket(ticket.id, faq_id=entry.id)
            faq_id = entry.id
            await acknowledge(query, f"已存为 FAQ #{faq_id}")
        await refresh_post(context, ticket)
        await _tell(
            query.message,
            f"📌 #{ticket.id} 已存为 FAQ #{faq_id}，相似问题今后直接由机器人回答。\n"
            f"改写问题：/faq edit {faq_id} 新的问题 | 答案（留空保持不变）",
        )
        await offer_faq_to_open(context, query.message, faq_id)
    else:
        await acknowledge(query, "这个按钮已过期。")


async def _notify_closed(context: ContextTypes.DEFAULT_TYPE, ticket: Ticket) -> None:
    """Tell the asker, kindly, that their ticket was closed without an answer and how to ask
    again; a failure is reported in the group, never retried (see _send_answer)."""
    svc = services(context)
    text = tx(ticket.lang, "closed_notice", id=ticket.id, question=html.escape(ticket.question))
    try:
        sent = await context.bot.send_message(
            ticket.chat_id, split_html(text)[0], parse_mode=ParseMode.HTML
        )
    except TelegramError as exc:
        log.warning("could not tell the asker of #%s it was closed: %s", ticket.id, exc)
        chat_id = svc.settings.organizer_chat_id
        if chat_id is not None:
            await _send_to_group(
                context.bot, chat_id, f"⚠️ #{ticket.id} 已关闭，但未能告知提问者："
                f"{html.escape(exc.message)}", reply_to=svc.store.group_message_of(
                    ticket.id, chat_id),
            )  # fmt: skip
        return
    svc.store.link_message(ticket.chat_id, sent.message_id, ticket.id, "closed")


def open_like_faq(svc: Services, question: str) -> list[int]:
    """Open tickets (not merged) that ask what a FAQ entry's question asks, oldest first."""
    open_ = [(t.id, t.question) for t in svc.store.open_tickets()]
    return sorted(svc.kb.similar_questions(question, open_, limit=20, strict=True))


async def offer_faq_to_open(
    context: ContextTypes.DEFAULT_TYPE, where: object, faq_id: int
) -> None:
    """After an entry is saved: list the open tickets it seems to answer, with one button that
    sends it to their askers (the organizers read the list before pressing)."""
    svc = services(context)
    entry = svc.kb.faq.get(faq_id)
    waiting = await asyncio.to_thread(open_like_faq, svc, entry.question) if entry else []
    if not waiting or not isinstance(where, Message):
        return
    tickets = [t for tid in waiting if (t := svc.store.ticket(tid))]
    lines = [f"有 {len(tickets)} 个待回复问题与 FAQ #{faq_id} 相似："]
    lines += [f"#{t.id} {html.escape(_clip(t.question, 40))}" for t in tickets]
    button = InlineKeyboardButton(
        f"📣 用 FAQ #{faq_id} 答复这 {len(tickets)} 位提问者", callback_data=f"tk:fn:{faq_id}"
    )
    await _send_to_group(
        context.bot, where.chat.id, "\n".join(lines), reply_to=where.message_id,
        markup=InlineKeyboardMarkup([[button]]),
    )  # fmt: skip


async def notify_faq_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """📣 under a saved entry: answer the open tickets that ask what it answers, with it."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if not await require_organizer(update, context) or update.effective_user is None:
        return
    await acknowledge(query)
    svc = services(context)
    faq_id = int(query.data.rsplit(":", 1)[1])
    entry = svc.kb.faq.get(faq_id)
    if entry is None:
        await _tell(query.message, f"FAQ #{faq_id} 已不存在。")
        return
    # The tickets the organizers read in the list, still open when each is answered: none that
    # arrived since, none answered by hand meanwhile.
    reports = [
        await deliver_answer(context, tid, entry.answer, update.effective_user)
        for tid in _listed(query.message, "#")
        if _is_open(svc, tid)
    ]
    await _tell(query.message, "\n".join(reports) or "没有待回复的相似问题了。")


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


async def queue_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/queue: open tickets, oldest first, with age and who claimed them."""
    message = update.effective_message
    if message is None or not await require_organizer(update, context):
        return
    tickets = services(context).store.open_tickets()
    if not tickets:
        await message.reply_html("🎉 没有待回复的问题。")
        return
    lines = [f"⏳ 待回复 {len(tickets)} 个（最早的在前）："]
    for t in tickets:
        claimed = f" · 认领：{html.escape(t.claimed_by_name)}" if t.claimed_by_name else ""
        lines.append(
            f"<b>#{t.id}</b> · {_age(t.waiting_since)} · {html.escape(t.user_name)}{claimed}\n"
            f"  {html.escape(_clip(t.question))}"
        )
    await reply_html(message, "\n".join(lines))


async def ticket_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ticket N: one ticket in full (organizers only)."""
    message = update.effective_message
    if message is None or not await require_organizer(update, context):
        return
    args = [a.lstrip("#") for a in (context.args or [])]
    if len(args) != 1 or not args[0].isdigit():
        await message.reply_html("用法：/ticket 编号")
        return
    svc = services(context)
    ticket = svc.store.ticket(int(args[0]))
    if ticket is None:
        await message.reply_html(f"没有问题 #{int(args[0])}。")
        return
    await reply_html(message, *await asyncio.to_thread(post_view, svc, ticket))


# --- SLA ---------------------------------------------------------------------------------------


async def check_overdue(app: Application[Any, Any, Any, Any, Any, Any]) -> int:
    """Raise tickets unanswered past SLA_MINUTES once; post tickets whose post was lost."""
    svc: Services = app.bot_data[KEY]
    chat_id = svc.settings.organizer_chat_id
    if chat_id is None:
        return 0
    for ticket in svc.store.unposted(chat_id):
        await post_ticket(app.bot, svc, ticket)
    raised = 0
    for ticket in svc.store.overdue(svc.settings.sla_minutes):
        post = svc.store.group_message_of(ticket.id, chat_id)
        text = (
            f"⏰ <b>#{ticket.id}</b> 已等待 {_age(ticket.waiting_since)}，还没有回复。"
            "回复此消息即可答复。"
        )
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


async def sla_loop(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Check for overdue tickets every SLA_CHECK_SECONDS; state lives in the database."""
    while True:
        try:
            await check_overdue(app)
        except Exception:  # keep the loop alive whatever one round hit
            log.exception("SLA check failed")
        await asyncio.sleep(SLA_CHECK_SECONDS)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler("myquestions", my_questions))
    app.add_handler(CommandHandler("answer", answer_command))
    app.add_handler(CommandHandler("merge", merge_command))
    app.add_handler(CommandHandler("queue", queue_command))
    app.add_handler(CommandHandler("ticket", ticket_command))
    app.add_handler(CallbackQueryHandler(contestant_button, pattern=r"^tk:[qnfa]:\d+$"))
    app.add_handler(CallbackQueryHandler(notify_faq_button, pattern=r"^tk:fn:\d+$"))
    app.add_handler(
        CallbackQueryHandler(
            organizer_button, pattern=r"^tk:(claim|close|merge|mgs|faq):\d+$|^tk:mg:\d+:\d+$"
        )
    )
