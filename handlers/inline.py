"""Inline mode: `@bot 自动驾驶` in any chat offers matching problems to share."""

from __future__ import annotations

from telegram import InlineQueryResultArticle, InputTextMessageContent, Update
from telegram.constants import ParseMode
from telegram.ext import InlineQueryHandler

from bot.services import App, Context
from bot.telegram_text import split_html
from handlers.common import user_lang
from knowledge.catalogue import Problem
from knowledge.render import render_problem

MAX_RESULTS = 10


async def inline_search(update: Update, context: Context) -> None:
    """Offer the problems that fit the typed words (all tracks' first problems when empty)."""
    query = update.inline_query
    if query is None:
        return
    kb = context.bot_data.kb
    catalogue = kb.catalogue
    lang = user_lang(update)
    text = query.query.strip()[:256]
    problems: list[Problem]
    if not text:
        problems = list(catalogue.problems)
    else:
        answer = kb.ask(text)
        if answer.intent in ("problem", "search"):
            problems = [p for pid in answer.ids if (p := catalogue.problem(pid))]
        elif answer.intent == "track":
            problems = catalogue.problems_of(answer.ids[0])
        else:
            problems = []
    results = [
        InlineQueryResultArticle(
            id=p.id,
            title=f"{p.id} {p.title}",
            description=p.description[:80],
            input_message_content=InputTextMessageContent(
                split_html(render_problem(catalogue, p, lang))[0], parse_mode=ParseMode.HTML
            ),
        )
        for p in problems[:MAX_RESULTS]
    ]
    await query.answer(results, cache_time=60, is_personal=False)


def register(app: App) -> None:
    app.add_handler(InlineQueryHandler(inline_search))
