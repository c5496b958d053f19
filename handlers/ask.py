"""Free questions: text → matcher → a reply for each intent, with buttons to go on."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bot.services import services
from handlers.common import (
    home_keyboard,
    nav_row,
    problem_button,
    reply_html,
    track_keyboard,
    user_lang,
)
from handlers.menu import problem_keyboard
from knowledge.matcher import Answer

MAX_QUESTION = 1000  # longer texts are cut before matching; the matcher needs no more

# Later features take over parts of a conversation: a reply to an organizer's answer continues
# a ticket, an escalation becomes a ticket. Each hook returns True when it handled the message.
MESSAGE_HOOKS = "message_hooks"
ESCALATION = "escalation"
EscalationHook = Callable[[Update, ContextTypes.DEFAULT_TYPE, Answer, str], Awaitable[None]]


def question_for_bot(update: Update, bot_id: int, bot_username: str) -> str | None:
    """The question, if this message is addressed to the bot; None in a group otherwise."""
    message = update.effective_message
    if message is None or not message.text:
        return None
    text = message.text
    if message.chat.type == ChatType.PRIVATE:
        return text
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return text
    mention = f"@{bot_username}".lower()
    if bot_username and mention in text.lower():
        return re.sub(re.escape(mention), " ", text, flags=re.IGNORECASE).strip()
    return None


async def answer_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a typed question from the catalogue, or hand it on to the organizers."""
    message = update.effective_message
    if message is None or update.effective_chat is None:
        return
    svc = services(context)
    for hook in svc.extras.get(MESSAGE_HOOKS, []):
        if await hook(update, context):
            return
    if update.effective_chat.id == svc.settings.organizer_chat_id:
        return  # the organizers' group talks to the ticket features, not to the matcher
    question = question_for_bot(update, context.bot.id, context.bot.username or "")
    if question is None:
        return
    answer = svc.kb.ask(question[:MAX_QUESTION])
    lang = user_lang(update)
    if answer.intent == "escalate" and ESCALATION in svc.extras:
        await svc.extras[ESCALATION](update, context, answer, question)
        return
    await reply_html(message, svc.kb.reply(answer, lang), answer_keyboard(context, answer, lang))


def answer_keyboard(
    context: ContextTypes.DEFAULT_TYPE, answer: Answer, lang: str
) -> InlineKeyboardMarkup | None:
    """Buttons that go with an answer: the problem's neighbours, the candidates, the menu."""
    svc = services(context)
    catalogue = svc.kb.catalogue
    if answer.intent == "problem" and (problem := catalogue.problem(answer.ids[0])):
        return problem_keyboard(context, problem, lang)
    if answer.intent == "track" and (track := catalogue.track(answer.ids[0])):
        return track_keyboard(catalogue, track, lang)
    if answer.intent == "search":
        rows = [[problem_button(p)] for pid in answer.ids[:8] if (p := catalogue.problem(pid))]
        rows.append(nav_row(lang))
        return InlineKeyboardMarkup(rows)
    if answer.intent in ("help", "tracks"):
        return home_keyboard(catalogue, lang)
    extra: list[list[InlineKeyboardButton]] = []
    for make in svc.extras.get("answer_extra_buttons", []):
        extra += make(answer, lang)
    return InlineKeyboardMarkup([*extra, nav_row(lang)])


async def reply_to(message: Message, text: str, markup: InlineKeyboardMarkup | None) -> None:
    await reply_html(message, text, markup)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, answer_question))
