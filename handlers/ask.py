"""Free questions: text → matcher → a reply for each intent, with buttons to go on."""

from __future__ import annotations

import asyncio
import re

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import MessageHandler, filters

from bot.services import App, Context
from handlers.common import (
    home_keyboard,
    last_shown,
    nav_row,
    problem_button,
    remember_shown,
    reply_html,
    track_keyboard,
    user_lang,
)
from handlers.menu import problem_keyboard
from handlers.tickets import contestant
from handlers.tickets.views import ask_organizers_button
from knowledge.matcher import Answer
from knowledge.texts import tr

MAX_QUESTION = 1000  # longer texts are cut before matching; the matcher needs no more


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


async def answer_question(update: Update, context: Context) -> None:
    """Answer a typed question from the catalogue, or offer to hand it to the organizers."""
    message = update.effective_message
    user = update.effective_user
    if message is None or update.effective_chat is None or user is None:
        return
    svc = context.bot_data
    if await contestant.continue_ticket(update, context):
        return
    question = question_for_bot(update, context.bot.id, context.bot.username or "")
    if question is None:
        return
    question = question[:MAX_QUESTION]
    # A follow-up (这道题…, 下一题) is read against what this chat was shown last.
    # Off the event loop: reading a question may embed it (milliseconds of CPU).
    answer = await asyncio.to_thread(svc.kb.ask, question, last_shown(update, context))
    logged = svc.store.log_question(
        user.id, message.chat.id, question, answer.intent, list(answer.ids), answer.score,
        message_id=message.message_id,
    )  # fmt: skip
    lang = user_lang(update)
    if answer.intent == "escalate":
        await contestant.offer_escalation(update, context, logged, lang, answer)
        return
    if answer.intent in ("problem", "track") and answer.ids:
        remember_shown(update, context, answer.ids[0])
    markup = answer_keyboard(context, answer, lang, logged.id)
    await reply_html(message, svc.kb.reply(answer, lang), markup)


def answer_keyboard(
    context: Context, answer: Answer, lang: str, question_id: int
) -> InlineKeyboardMarkup | None:
    """Buttons that go with an answer: neighbours, candidates, the menu, and 问组委会."""
    svc = context.bot_data
    catalogue = svc.kb.catalogue
    ask = [ask_organizers_button(question_id, lang)]
    if answer.intent == "problem" and (problem := catalogue.problem(answer.ids[0])):
        keyboard = problem_keyboard(context, problem, lang)
        return InlineKeyboardMarkup([*keyboard.inline_keyboard, ask])
    if answer.intent == "track" and (track := catalogue.track(answer.ids[0])):
        return track_keyboard(catalogue, track, lang)
    if answer.intent == "search":
        rows = [[problem_button(p)] for pid in answer.ids[:8] if (p := catalogue.problem(pid))]
        return InlineKeyboardMarkup([*rows, ask, nav_row(lang)])
    if answer.intent == "faq":
        return InlineKeyboardMarkup([ask, nav_row(lang)])
    return home_keyboard(catalogue, lang)


async def explain_text_only(update: Update, context: Context) -> None:
    """Photos, stickers, voice in a private chat: say what the bot can read."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(tr(user_lang(update), "ask.text_only"))


def register(app: App, chats: filters.BaseFilter) -> None:
    """Free text in `chats` (handlers/__init__.py leaves the organizers' group out)."""
    app.add_handler(MessageHandler(chats & filters.TEXT & ~filters.COMMAND, answer_question))
    app.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE
            & filters.UpdateType.MESSAGE
            & ~filters.TEXT
            & ~filters.COMMAND
            & ~filters.StatusUpdate.ALL
            & ~filters.VIA_BOT,
            explain_text_only,
        )
    )
