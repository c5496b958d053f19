"""What tickets look like: the contestants' texts, the offer under an escalation, a ticket's post
in the organizers' group and its buttons, the answer an asker reads — HTML-escaped."""

from __future__ import annotations

import html
from datetime import UTC, datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, User

from bot.services import Services
from handlers.common import clip, nav_row, problem_button, track_button
from handlers.subscriptions import subscriber_line
from handlers.tickets.callbacks import Action, TicketButton
from knowledge.matcher import Answer
from knowledge.render import render_understood
from knowledge.store import Question, Ticket, TicketStatus
from knowledge.texts import tr

# A ticket's status as people read it (in English: waiting, answered, …).
STATUS = {
    TicketStatus.OPEN: "tickets.status_open",
    TicketStatus.ANSWERED: "tickets.status_answered",
    TicketStatus.CLOSED: "tickets.status_closed",
    TicketStatus.MERGED: "tickets.status_merged",
}


def status_of(ticket: Ticket, lang: str = "zh") -> str:
    return tr(lang, STATUS[ticket.status])


def name_of(user: User) -> str:
    return user.full_name or str(user.id)


def age(since: str) -> str:
    minutes = int((datetime.now(UTC) - datetime.fromisoformat(since)).total_seconds() // 60)
    if minutes < 60:
        return tr("zh", "time.minutes", m=minutes)
    return tr("zh", "time.hours", h=minutes // 60, m=minutes % 60)


def button(
    label: str, action: Action, number: int, target: int | None = None
) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=TicketButton(action, number, target).encode())


# --- contestants --------------------------------------------------------------------------------


def ask_organizers_button(question_id: int, lang: str) -> InlineKeyboardButton:
    return button(tr(lang, "tickets.ask_button"), Action.ASK, question_id)


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
    answered = {t.id: t for t in svc.store.tickets.answered_like()}
    entries, ids = svc.kb.related(question.text, [(t.id, t.question) for t in answered.values()])
    for entry in entries:
        rows.append([button(f"📖 {clip(entry.question, 24)}", Action.FAQ_ENTRY, entry.id)])
    for ticket in [answered[i] for i in ids][: max(0, 3 - len(rows))]:
        rows.append([button(f"📖 {clip(ticket.question, 24)}", Action.ANSWERED, ticket.id)])
    understood = render_understood(answer, catalogue, lang) if answer and not asked else ""
    text = understood or tr(lang, "tickets.confirm" if asked else "tickets.escalate")
    if len(rows) > (1 if about else 0):
        text += "\n" + tr(lang, "tickets.similar")
    rows.append([button(tr(lang, "tickets.submit"), Action.SUBMIT, question.id)])
    rows.append(nav_row(lang))
    return text, InlineKeyboardMarkup(rows)


def my_questions_text(tickets: list[Ticket], lang: str) -> str:
    """/myquestions: the contestant's own tickets (some), their status and answers."""
    lines = [tr(lang, "tickets.mine")]
    for t in tickets:
        status = status_of(t, lang)
        lines.append(f"\n<b>#{t.id}</b> · {status}\n{html.escape(clip(t.question, 120))}")
        if t.answer:
            label = tr(lang, "tickets.answer_label")
            lines.append(f"<i>{label}：</i>{html.escape(t.answer)}")
    return "\n".join(lines)


def answer_text(svc: Services, ticket: Ticket) -> str:
    """What the contestant reads: their question quoted, the answer, maybe who answered."""
    staff_line = ""
    if svc.settings.show_staff_names and ticket.answered_by_name:
        staff_line = f"\n— {html.escape(ticket.answered_by_name)}"
    return tr(
        ticket.lang, "tickets.answer", id=ticket.id, question=html.escape(ticket.question),
        answer=html.escape(ticket.answer or ""), staff=staff_line,
    )  # fmt: skip


# --- organizers ---------------------------------------------------------------------------------


def similar_open(svc: Services, ticket: Ticket) -> list[int]:
    """Other open tickets that ask what this one asks (ids, oldest first): answer once."""
    if ticket.status != TicketStatus.OPEN:
        return []
    others = [(t.id, t.question) for t in svc.store.tickets.list_open() if t.id != ticket.id]
    return sorted(svc.kb.similar_questions(ticket.question, others, limit=10, strict=True))


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
    lines = [
        tr("zh", "tickets.post_title", id=ticket.id),
        tr("zh", "tickets.post_from", who=who, user_id=ticket.user_id),
    ]
    if known := subscriber_line(svc.store.subscriptions.get(ticket.user_id), catalogue):
        lines.append(known)  # 队伍：… · 订阅：…
    lines.append(f"<blockquote>{html.escape(ticket.question)}</blockquote>")
    guesses = [p for pid in ticket.guesses if (p := catalogue.problem(pid))]
    if guesses:
        named = "；".join(f"{p.id} {html.escape(p.title)}" for p in guesses)
        lines.append(tr("zh", "tickets.post_guesses", guesses=named))
    status = status_of(ticket)
    if ticket.status == TicketStatus.MERGED:
        status += f" → #{ticket.merged_into}"
    lines.append(tr("zh", "tickets.post_status", status=status))
    if ticket.claimed_by_name and ticket.status == TicketStatus.OPEN:
        lines.append(tr("zh", "tickets.post_claimed", name=html.escape(ticket.claimed_by_name)))
    if ticket.status == TicketStatus.ANSWERED:
        when = (ticket.answered_at or "")[:16].replace("T", " ")
        name = html.escape(ticket.answered_by_name or "")
        lines.append(tr("zh", "tickets.post_answered_by", name=name, when=when))
        lines.append(tr("zh", "tickets.post_answer", answer=html.escape(ticket.answer or "")))
        if ticket.delivery_error:
            error = html.escape(ticket.delivery_error)
            lines.append(tr("zh", "tickets.post_undelivered", error=error))
        if ticket.faq_id:
            lines.append(tr("zh", "tickets.post_faq", faq_id=ticket.faq_id))
    if similar:
        ids = " ".join(f"#{i}" for i in similar)
        lines.append(tr("zh", "tickets.post_similar", n=len(similar), ids=ids))
    if ticket.status == TicketStatus.OPEN:
        lines.append(tr("zh", "tickets.post_hint", id=ticket.id))
    return "\n".join(lines)


def post_keyboard(ticket: Ticket, similar: list[int] | None = None) -> InlineKeyboardMarkup | None:
    if ticket.status == TicketStatus.OPEN:
        rows = [
            [
                button(tr("zh", "tickets.claim_button"), Action.CLAIM, ticket.id),
                button(tr("zh", "tickets.close_button"), Action.CLOSE, ticket.id),
            ],
            [button(tr("zh", "tickets.merge_button"), Action.MERGE, ticket.id)],
        ]
        if similar:
            label = tr("zh", "tickets.merge_similar_button", n=len(similar), id=ticket.id)
            rows.append([button(label, Action.MERGE_SIMILAR, ticket.id)])
        return InlineKeyboardMarkup(rows)
    if ticket.status == TicketStatus.ANSWERED and not ticket.faq_id:
        save = tr("zh", "faq.save_button")
        return InlineKeyboardMarkup([[button(save, Action.SAVE_FAQ, ticket.id)]])
    return None


def merge_keyboard(ticket: Ticket, others: list[Ticket]) -> InlineKeyboardMarkup:
    """🔗 合并到…: a button for each open ticket this one may join."""
    return InlineKeyboardMarkup(
        [
            [button(f"→ #{t.id} {clip(t.question, 20)}", Action.MERGE_INTO, ticket.id, t.id)]
            for t in others
        ]
    )
