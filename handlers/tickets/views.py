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
from knowledge.store import Question, Ticket
from knowledge.store.tickets import ANSWERED, CLOSED, MERGED, OPEN

STATUS = {
    OPEN: "⏳ 待回复",
    ANSWERED: "✅ 已回复",
    CLOSED: "🚫 已关闭（无需回复）",
    MERGED: "🔗 已合并",
}
STATUS_EN = {OPEN: "waiting", ANSWERED: "answered", CLOSED: "closed", MERGED: "merged"}

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


def name_of(user: User) -> str:
    return user.full_name or str(user.id)


def age(since: str) -> str:
    minutes = int((datetime.now(UTC) - datetime.fromisoformat(since)).total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} 分钟"
    return f"{minutes // 60} 小时 {minutes % 60} 分钟"


def button(
    label: str, action: Action, number: int, target: int | None = None
) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=TicketButton(action, number, target).encode())


# --- contestants --------------------------------------------------------------------------------


def ask_organizers_button(question_id: int, lang: str) -> InlineKeyboardButton:
    return button(tx(lang, "ask_button"), Action.ASK, question_id)


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
        rows.append([button(f"📖 {clip(entry.question, 24)}", Action.FAQ_ENTRY, entry.id)])
    for ticket in similar_answered(svc, question.text, limit=3 - len(rows)):
        rows.append([button(f"📖 {clip(ticket.question, 24)}", Action.ANSWERED, ticket.id)])
    understood = render_understood(answer, catalogue, lang) if answer and not asked else ""
    text = understood or tx(lang, "confirm" if asked else "escalate")
    if len(rows) > (1 if about else 0):
        text += "\n" + tx(lang, "similar")
    rows.append([button(tx(lang, "submit"), Action.SUBMIT, question.id)])
    rows.append(nav_row(lang))
    return text, InlineKeyboardMarkup(rows)


def similar_answered(svc: Services, text: str, limit: int) -> list[Ticket]:
    """Answered questions not saved as FAQ that ask what the text asks, by the FAQ's ranking."""
    if limit <= 0:
        return []
    answered = {t.id: t for t in svc.store.answered_like()}
    ids = svc.kb.similar_questions(text, [(t.id, t.question) for t in answered.values()], limit)
    return [answered[i] for i in ids]


def my_questions_text(tickets: list[Ticket], lang: str) -> str:
    """/myquestions: the contestant's own tickets (some), their status and answers."""
    lines = [tx(lang, "mine")]
    for t in tickets:
        status = STATUS_EN[t.status] if lang == "en" else STATUS[t.status]
        lines.append(f"\n<b>#{t.id}</b> · {status}\n{html.escape(clip(t.question, 120))}")
        if t.answer:
            lines.append(f"<i>{tx(lang, 'answer_label')}：</i>{html.escape(t.answer)}")
    return "\n".join(lines)


def answer_text(svc: Services, ticket: Ticket) -> str:
    """What the contestant reads: their question quoted, the answer, maybe who answered."""
    staff_line = ""
    if svc.settings.show_staff_names and ticket.answered_by_name:
        staff_line = f"\n— {html.escape(ticket.answered_by_name)}"
    return tx(
        ticket.lang, "answer", id=ticket.id, question=html.escape(ticket.question),
        answer=html.escape(ticket.answer or ""), staff=staff_line,
    )  # fmt: skip


# --- organizers ---------------------------------------------------------------------------------


def similar_open(svc: Services, ticket: Ticket) -> list[int]:
    """Other open tickets that ask what this one asks (ids, oldest first): answer once."""
    if ticket.status != OPEN:
        return []
    others = [(t.id, t.question) for t in svc.store.open_tickets() if t.id != ticket.id]
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
                button("✋ 认领", Action.CLAIM, ticket.id),
                button("🚫 关闭（无需回复）", Action.CLOSE, ticket.id),
            ],
            [button("🔗 合并到…", Action.MERGE, ticket.id)],
        ]
        if similar:
            label = f"🧲 合并这 {len(similar)} 个相似问题到 #{ticket.id}"
            rows.append([button(label, Action.MERGE_SIMILAR, ticket.id)])
        return InlineKeyboardMarkup(rows)
    if ticket.status == ANSWERED and not ticket.faq_id:
        return InlineKeyboardMarkup([[button("📌 存为FAQ", Action.SAVE_FAQ, ticket.id)]])
    return None


def merge_keyboard(ticket: Ticket, others: list[Ticket]) -> InlineKeyboardMarkup:
    """🔗 合并到…: a button for each open ticket this one may join."""
    return InlineKeyboardMarkup(
        [
            [button(f"→ #{t.id} {clip(t.question, 20)}", Action.MERGE_INTO, ticket.id, t.id)]
            for t in others
        ]
    )
