"""Organizers see the contest at a glance: /stats as a picture, a daily digest in their group,
and the digest's topics answered once for every asker."""

from __future__ import annotations

import asyncio
import html
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from telegram import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.metrics import metrics_of
from bot.services import App, Context, Services
from bot.telegram_text import MAX_CAPTION_LENGTH, split_html, utf16_len
from handlers.auth import require_organizer
from handlers.buttons import ButtonFormat
from handlers.common import acknowledge, clip, send_once
from handlers.tickets.posts import deliver_answer
from knowledge.chart import draw_report  # Pillow itself loads on the first chart
from knowledge.report import (
    DEFAULT_DAYS,
    MAX_DAYS,
    build_report,
    caption,
    day_bounds,
    figures_by_day,
    minutes,
    share,
)
from knowledge.store import (
    DigestTopic,
    FaqEntry,
    Question,
    Store,
    Ticket,
    TicketStatus,
    TopicDelivery,
)
from knowledge.texts import tr
from knowledge.topics import group_topics

log = logging.getLogger(__name__)

# The digest job looks every minute whether a digest is due: at DIGEST_TIME, and at start for
# one the bot was down for.
DIGEST_CHECK_SECONDS = 60
TOPICS = 3  # the most frequent topics of escalated questions a digest offers
OPEN_SHOWN = 10  # open tickets listed in a digest; /queue lists them all


def _waited(since: str, now: datetime) -> str:
    minutes_ = max(0, int((now - datetime.fromisoformat(since)).total_seconds() // 60))
    if minutes_ < 60:
        return tr("zh", "time.minutes", m=minutes_)
    if minutes_ < 48 * 60:
        return tr("zh", "time.hours", h=minutes_ // 60, m=minutes_ % 60)
    return tr("zh", "time.days", d=minutes_ // 1440, h=minutes_ % 1440 // 60)


# --- buttons ------------------------------------------------------------------------------------


class TopicAction(StrEnum):
    """What a digest topic's button does; the value is what travels in callback data."""

    ANSWER = "t"  # ✍️ 统一答复话题 N: ask for the answer, once for every asker
    SAVE_FAQ = "f"  # 📌 存为FAQ under the report of a topic's answer


TOPIC_FORMAT = ButtonFormat("dg", TopicAction, "digest topic button")


@dataclass(frozen=True)
class TopicButton:
    """A button on one digest topic: `dg:<action>:<topic id>` (handlers/buttons.py)."""

    action: TopicAction
    topic_id: int

    def encode(self) -> str:
        return TOPIC_FORMAT.encode(self.action, self.topic_id)

    @staticmethod
    def pattern(action: TopicAction) -> re.Pattern[str]:
        """What the handler of `action` is registered with."""
        return TOPIC_FORMAT.pattern(action)

    @classmethod
    def decode(cls, data: str) -> TopicButton:
        """The button whose data this is; ValueError when no action's pattern matches."""
        action, topic_id, _ = TOPIC_FORMAT.decode(data)
        return cls(action, topic_id)


# --- /stats -------------------------------------------------------------------------------------


async def stats_command(update: Update, context: Context) -> None:
    """/stats [天数]: the last days as one picture, its figures as the caption (organizers)."""
    message = update.effective_message
    if message is None or not await require_organizer(update, context):
        return
    args = context.args or []
    if len(args) > 1 or (args and not (args[0].isdigit() and 1 <= int(args[0]) <= MAX_DAYS)):
        usage = tr("zh", "stats.usage", max_days=MAX_DAYS, default_days=DEFAULT_DAYS)
        await message.reply_html(usage)
        return
    days = int(args[0]) if args else DEFAULT_DAYS
    svc = context.bot_data
    # Off the event loop: the queries and the drawing take a tenth of a second or more.
    png, text = await asyncio.to_thread(
        render_stats, svc.store, days, svc.settings.timezone, svc.clock()
    )
    await message.reply_photo(png, caption=text, do_quote=False, filename="stats.png")


def render_stats(store: Store, days: int, timezone: str, now: datetime) -> tuple[bytes, str]:
    """The chart (PNG) and its caption."""
    report = build_report(store, days, timezone, now)
    return draw_report(report), caption(report, MAX_CAPTION_LENGTH, utf16_len)


# --- the daily digest ---------------------------------------------------------------------------


def due_day(now: datetime, at: time, timezone: str) -> date:
    """The local day whose digest is due last: today once `at` has passed, else yesterday."""
    local = now.astimezone(ZoneInfo(timezone))
    return local.date() if local.time() >= at else local.date() - timedelta(days=1)


async def digest_job(context: Context) -> None:
    """The JobQueue's minute: post the digest if one is due."""
    await check_digest(context.application)


async def check_digest(app: App) -> str:
    """Post the digest due last, unless it was: at DIGEST_TIME, and at start when the bot was
    down then (it tells about the day before the one it is posted on). Returns the outcome:
    off, posted, done (posted before, or being sent), failed (tried again at the next check,
    MAX_ATTEMPTS times in all).

    Claimed in the database before it is sent, so a restart does not post it again; a claim
    left by a process that died while sending is taken up after STALE_CLAIM, which posts it
    twice only if the process died after Telegram took it and before it was recorded."""
    svc = app.bot_data
    settings = svc.settings
    chat_id = settings.organizer_chat_id
    if settings.digest_time is None or chat_id is None:
        return "off"
    now = svc.clock()
    day = due_day(now, settings.digest_time, settings.timezone).isoformat()
    outcome = "done"
    if await svc.store.run(lambda db: db.digests.claim(day, now)):
        try:
            text, markup = await asyncio.to_thread(
                compose_digest, svc, date.fromisoformat(day), now
            )
            parts = split_html(text)
            sent = None
            for i, part in enumerate(parts):
                sent = await app.bot.send_message(
                    chat_id, part, parse_mode=ParseMode.HTML, disable_web_page_preview=True,
                    reply_markup=markup if i == len(parts) - 1 else None,
                )  # fmt: skip
            assert sent is not None
            posted_id = sent.message_id
            await svc.store.run(lambda db: db.digests.posted(day, posted_id))
            outcome = "posted"
        except TelegramError as exc:
            log.warning("the digest of %s was not posted: %s", day, exc)
            error = str(exc)
            await svc.store.run(lambda db: db.digests.failed(day, error))
            outcome = "failed"
    metrics_of(app).digest_checks.labels(outcome).inc()
    return outcome


def compose_digest(
    svc: Services, day: date, now: datetime
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The digest posted on `day`: the day before in figures, the open tickets, those waiting
    past SLA_MINUTES, and the topics most escalated that day with a button each."""
    settings, store = svc.settings, svc.store
    yesterday = day - timedelta(days=1)
    (figures,) = figures_by_day(store, yesterday, yesterday, settings.timezone)
    weekday = tr("zh", "digest.weekdays")[yesterday.weekday()]
    lines = [
        tr("zh", "digest.title", month=yesterday.month, day=yesterday.day, weekday=weekday),
        tr(
            "zh", "digest.asked", asked=figures.asked, catalogue=figures.catalogue,
            faq=figures.faq, escalated=figures.escalated,
            share=share(figures.catalogue + figures.faq, figures.asked),
        ),
    ]  # fmt: skip
    if figures.waits:
        median, p90 = minutes(figures.median), minutes(figures.p90)
        lines.append(tr("zh", "digest.tickets", n=figures.tickets, median=median, p90=p90))
    else:
        lines.append(tr("zh", "digest.tickets_unanswered", n=figures.tickets))
    lines.append("")
    open_tickets = store.tickets.list_open(limit=500)
    sla = timedelta(minutes=settings.sla_minutes)
    late = [t for t in open_tickets if now - datetime.fromisoformat(t.waiting_since) >= sla]
    if open_tickets:
        lines.append(tr("zh", "digest.open_head", n=len(open_tickets)))
        for t in open_tickets[:OPEN_SHOWN]:
            lines.append(
                f"#{t.id} · {_waited(t.waiting_since, now)} · {html.escape(t.user_name)}："
                f"{html.escape(clip(t.question, 30))}"
            )
        if len(open_tickets) > OPEN_SHOWN:
            lines.append(tr("zh", "digest.open_more", n=len(open_tickets) - OPEN_SHOWN))
    else:
        lines.append(tr("zh", "digest.no_open"))
    if late:
        ids = "、".join(f"#{t.id}" for t in late[:20]) + ("…" if len(late) > 20 else "")
        lines.append(tr("zh", "digest.late", sla=settings.sla_minutes, n=len(late), ids=ids))
    elif open_tickets:
        lines.append(tr("zh", "digest.none_late", sla=settings.sla_minutes))
    lines.append("")
    start, end = day_bounds(yesterday, yesterday, ZoneInfo(settings.timezone))
    found = group_topics(store.questions.escalated_between(start, end), svc.kb.group_questions)[
        :TOPICS
    ]
    topics = store.digests.save_topics(
        day.isoformat(), [(t.label, t.question_ids, t.askers) for t in found]
    )
    if not topics:
        lines.append(tr("zh", "digest.no_topics"))
        return "\n".join(lines), None
    lines.append(tr("zh", "digest.topics_head"))
    for topic in topics:
        lines.append(
            tr(
                "zh", "digest.topic_line", position=topic.position,
                label=html.escape(clip(topic.label, 40)), askers=topic.askers,
                n=len(topic.question_ids),
            )
        )  # fmt: skip
    lines.append(tr("zh", "digest.topics_hint"))
    rows = [
        [
            InlineKeyboardButton(
                tr("zh", "digest.topic_button", position=t.position, askers=t.askers),
                callback_data=TopicButton(TopicAction.ANSWER, t.id).encode(),
            )
        ]
        for t in topics
    ]
    return "\n".join(lines), InlineKeyboardMarkup(rows)


# --- a topic answered once ----------------------------------------------------------------------


async def topic_button(update: Update, context: Context) -> None:
    """✍️ 统一答复 on a digest: ask for the answer, as a reply to a prompt."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if not await require_organizer(update, context):
        return
    svc = context.bot_data
    topic_id = TopicButton.decode(query.data).topic_id
    topic = await svc.store.run(lambda db: db.digests.topic(topic_id))
    user = update.effective_user
    message = query.message
    if topic is None or user is None or not isinstance(message, Message):
        await acknowledge(query, tr("zh", "nav.expired_short"), show_alert=True)
        return
    if topic.answer is not None:
        answered = tr("zh", "topic.answered_before", position=topic.position)
        await acknowledge(query, answered, show_alert=True)
        return
    await acknowledge(query)
    mention = f'<a href="tg://user?id={user.id}">{html.escape(user.full_name or str(user.id))}</a>'
    text = tr(
        "zh", "topic.prompt", mention=mention, position=topic.position,
        label=html.escape(clip(topic.label, 40)), askers=topic.askers,
    )  # fmt: skip
    placeholder = tr("zh", "topic.placeholder")
    prompt = await context.bot.send_message(
        message.chat.id, text, parse_mode=ParseMode.HTML,
        reply_markup=ForceReply(selective=True, input_field_placeholder=placeholder),
        reply_to_message_id=message.message_id, allow_sending_without_reply=True,
    )  # fmt: skip
    # Known in memory at once, for a reply that comes before the link is written; its lookup
    # is queued after the link (the store's thread keeps the order calls were made in).
    svc.topic_prompts.add((message.chat.id, prompt.message_id))
    await svc.store.run(
        lambda db: db.digests.link_topic_message(message.chat.id, prompt.message_id, topic.id)
    )


class ReplyToTopicPrompt(filters.MessageFilter):
    """A reply to one of the bot's prompts for a topic's answer.

    Filters run on the event loop, which never waits on the disk: the prompts are known in
    memory (read at start, added as they are sent), and the handler reads the topic."""

    def __init__(self, prompts: set[tuple[int, int]]) -> None:
        super().__init__(name="ReplyToTopicPrompt")
        self.prompts = prompts

    def filter(self, message: Message) -> bool:
        replied = message.reply_to_message
        return replied is not None and (message.chat.id, replied.message_id) in self.prompts


async def topic_reply(update: Update, context: Context) -> None:
    """A reply to a topic's prompt: the answer, for every asker of the topic once."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or message.reply_to_message is None:
        return
    if not await require_organizer(update, context):
        return
    svc = context.bot_data
    chat_id, prompt_id = message.chat.id, message.reply_to_message.message_id
    topic = await svc.store.run(lambda db: db.digests.topic_for_message(chat_id, prompt_id))
    assert topic is not None  # the filter saw it
    report, markup = await answer_topic(context, topic, (message.text or "").strip(), user)
    await message.reply_html(report, reply_markup=markup, do_quote=True)


def _askers(db: Store, topic: DigestTopic) -> list[tuple[Question, Ticket | None]]:
    """Each asker once: their open ticket on the topic if they have one, else a ticket of theirs
    answered or closed (they heard from the organizers), else their latest question."""

    def rank(ticket: Ticket | None) -> int:
        return (
            2 if ticket is not None and ticket.status == TicketStatus.OPEN else 1 if ticket else 0
        )

    chosen: dict[int, tuple[Question, Ticket | None]] = {}
    for question_id in topic.question_ids:  # oldest first: a later question of theirs wins
        question = db.questions.get(question_id)
        if question is None:
            continue
        ticket = db.tickets.get(question.ticket_id) if question.ticket_id else None
        kept = chosen.get(question.user_id)
        if kept is None or rank(ticket) >= rank(kept[1]):
            chosen[question.user_id] = (question, ticket)
    return list(chosen.values())


async def answer_topic(
    context: Context, topic: DigestTopic, answer: str, staff: User
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Send the answer to every asker of the topic who has not heard from the organizers on
    it: through their open ticket if they have one (the ticket is answered), else as a message
    quoting their question. At most once each: an asker is claimed before the message goes."""
    svc = context.bot_data
    label = html.escape(clip(topic.label, 40))
    if not answer:
        return tr("zh", "topic.empty"), None
    topic, ours = await svc.store.run(
        lambda db: db.digests.answer_topic(topic.id, answer, staff.id, staff.full_name or "")
    )
    if not ours:
        who = html.escape(topic.answered_by_name or "")
        return (
            tr("zh", "topic.answered_by_other", position=topic.position, label=label, who=who),
            None,
        )
    for question, ticket in await svc.store.run(lambda db: _askers(db, topic)):
        await _tell_asker(context, topic, question, ticket, answer, staff)
    counts = await svc.store.run(lambda db: db.digests.topic_deliveries(topic.id))
    sent = counts.get(TopicDelivery.SENT, 0)
    report = tr("zh", "topic.report", position=topic.position, label=label, sent=sent)
    if counts.get(TopicDelivery.SKIPPED):
        report += tr("zh", "topic.report_skipped", n=counts[TopicDelivery.SKIPPED])
    if counts.get(TopicDelivery.FAILED):
        report += tr("zh", "topic.report_failed", n=counts[TopicDelivery.FAILED])
    markup = None
    if topic.faq_id is None:
        save = TopicButton(TopicAction.SAVE_FAQ, topic.id).encode()
        button = InlineKeyboardButton(tr("zh", "faq.save_button"), callback_data=save)
        markup = InlineKeyboardMarkup([[button]])
    return report, markup


async def _tell_asker(
    context: Context,
    topic: DigestTopic,
    question: Question,
    ticket: Ticket | None,
    answer: str,
    staff: User,
) -> None:
    """One asker of the topic gets its answer, at most once: claimed before it goes."""
    store = context.bot_data.store
    ticket_id = ticket.id if ticket else None
    if not await store.run(
        lambda db: db.digests.claim_topic_delivery(
            topic.id, question.user_id, question.chat_id, ticket_id
        )
    ):
        return  # sent already: this reply handled again after a restart
    status, error = TopicDelivery.SKIPPED, None  # their ticket was answered or closed
    if ticket is not None and ticket.status == TicketStatus.OPEN:
        await deliver_answer(context, ticket.id, answer, staff)
        answered = await store.run(lambda db: db.tickets.get(ticket.id))
        error = answered.delivery_error if answered else None
        status = TopicDelivery.FAILED if error else TopicDelivery.SENT
    elif ticket is None:
        # Told once, quoting their question (see send_once).
        text = tr(
            "zh", "topic.answer", question=html.escape(question.text), answer=html.escape(answer)
        )
        _, error = await send_once(context.bot, question.chat_id, text)
        status = TopicDelivery.FAILED if error else TopicDelivery.SENT
    await store.run(
        lambda db: db.digests.finish_topic_delivery(topic.id, question.user_id, status, error)
    )


async def topic_faq_button(update: Update, context: Context) -> None:
    """📌 存为FAQ under a topic's report: its first question and answer become an FAQ entry."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if not await require_organizer(update, context):
        return
    svc = context.bot_data
    topic_id = TopicButton.decode(query.data).topic_id
    topic = await svc.store.run(lambda db: db.digests.topic(topic_id))
    if topic is None or topic.answer is None:
        await acknowledge(query, tr("zh", "nav.expired_short"), show_alert=True)
        return
    if topic.faq_id is not None:
        await acknowledge(query, tr("zh", "faq.already", faq_id=topic.faq_id))
        return
    label, answer = topic.label, topic.answer

    def save(db: Store) -> FaqEntry:
        with db.transaction():  # the entry and its note on the topic, or neither
            entry = db.faq.add(label, answer)
            db.digests.set_topic_faq(topic_id, entry.id)
        return entry

    entry = await svc.store.run(save)
    await asyncio.to_thread(svc.kb.refresh_faq)
    await acknowledge(query, tr("zh", "faq.saved_toast", faq_id=entry.id))
    if isinstance(query.message, Message):
        try:
            await query.message.edit_reply_markup(None)
        except TelegramError as exc:  # only the button stays; the database holds the entry
            log.info("could not remove the FAQ button: %s", exc)
        saved = tr("zh", "topic.faq_saved", position=topic.position, faq_id=entry.id)
        await query.message.reply_html(saved, do_quote=False)


def register(app: App) -> None:
    svc = app.bot_data
    # Read before the bot takes updates; added to as prompts are sent (ReplyToTopicPrompt).
    svc.topic_prompts = svc.store.digests.prompts()
    app.add_handler(CommandHandler("stats", stats_command))
    app.add_handler(
        CallbackQueryHandler(topic_button, pattern=TopicButton.pattern(TopicAction.ANSWER))
    )
    app.add_handler(
        CallbackQueryHandler(topic_faq_button, pattern=TopicButton.pattern(TopicAction.SAVE_FAQ))
    )
    chat_id = svc.settings.organizer_chat_id
    if chat_id is None:
        return
    # Before the matcher's handler: in the organizers' group, a reply to a topic's prompt is
    # that topic's answer.
    app.add_handler(
        MessageHandler(
            filters.Chat(chat_id)
            & filters.REPLY
            & filters.TEXT
            & ~filters.COMMAND
            & ReplyToTopicPrompt(svc.topic_prompts),
            topic_reply,
        )
    )
    if svc.settings.digest_time is not None:
        if app.job_queue is None:
            log.error("DIGEST_TIME is set, but PTB's JobQueue is not installed: no digest")
            return
        # A look as soon as the JobQueue starts, however long after this the application
        # starts (APScheduler would skip it as missed without misfire_grace_time=None), then
        # one a minute.
        app.job_queue.run_once(
            digest_job, when=0, name="digest at start", job_kwargs={"misfire_grace_time": None}
        )
        app.job_queue.run_repeating(
            digest_job, interval=DIGEST_CHECK_SECONDS, first=DIGEST_CHECK_SECONDS, name="digest"
        )
