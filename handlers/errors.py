"""The last resort: log a handler's failure and tell the user, without internals."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest, NetworkError, TelegramError

from bot.services import App, Context
from handlers.common import user_lang
from knowledge.texts import tr

log = logging.getLogger("contest_bot.errors")


async def report_error(update: object, context: Context) -> None:
    """Log the exception; say sorry in the chat it came from."""
    log.error(
        "handler failed on update %s", getattr(update, "update_id", "?"), exc_info=context.error
    )
    if not isinstance(update, Update):
        return
    lang = user_lang(update)
    # Network trouble leaves unknown whether the reply arrived: say so, rather than sorry.
    error = context.error
    unknowable = isinstance(error, NetworkError) and not isinstance(error, BadRequest)
    key = "error.network" if unknowable else "error.sorry"
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(tr(lang, key))
        elif update.effective_chat is not None and update.effective_message is not None:
            await context.bot.send_message(update.effective_chat.id, tr(lang, key))
    except TelegramError:
        log.warning("could not tell the user about the failure", exc_info=True)


def register(app: App) -> None:
    app.add_error_handler(report_error)
