"""Helpers every handler module uses: language, keyboards, safe sending of long HTML."""

from __future__ import annotations

import logging

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError

from bot.services import Context
from bot.telegram_text import split_html
from knowledge.catalogue import Catalogue, Problem, Track
from knowledge.render import lang_of, track_label
from knowledge.texts import tr

log = logging.getLogger(__name__)

# Callback data, all far below Telegram's 64 bytes: "home", "tracks", "t:3", "p:3-4", "help".
HOME, TRACKS, HELP = "home", "tracks", "help"


def clip(text: str, size: int = 40) -> str:
    """The text on one line, cut to `size` characters with …: for lists and buttons."""
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"


def user_lang(update: Update) -> str:
    """English for users whose Telegram language is English; Chinese otherwise."""
    user = update.effective_user
    return lang_of(user.language_code if user else None)


async def remember_shown(update: Update, context: Context, shown: str) -> None:
    """Note the problem ("3-4") or track ("3") this chat now shows, for follow-ups (下一题).

    Called before the reply is sent: updates are handled concurrently, and a follow-up typed
    as soon as the reply appears must find it."""
    chat, user = update.effective_chat, update.effective_user
    if chat is not None:
        # In a group each member has their own thread of questions.
        user_id = user.id if user else None
        await context.bot_data.store.run(lambda db: db.context.remember(chat.id, shown, user_id))


async def last_shown(update: Update, context: Context) -> str | None:
    """What this chat (in a group: this member) was last shown, if recently enough."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return None
    user_id = user.id if user else None
    return await context.bot_data.store.run(
        lambda db: db.context.last_shown(chat.id, user_id=user_id)
    )


def track_button(track: Track, lang: str, prefix: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(prefix + track_label(track, lang), callback_data=f"t:{track.id}")


def problem_button(problem: Problem, prefix: str = "") -> InlineKeyboardButton:
    title = problem.title if len(problem.title) <= 18 else problem.title[:17] + "…"
    return InlineKeyboardButton(f"{prefix}{problem.id} {title}", callback_data=f"p:{problem.id}")


def home_keyboard(catalogue: Catalogue, lang: str) -> InlineKeyboardMarkup:
    """The main menu: the tracks two a row, then how to ask."""
    buttons = [track_button(t, lang) for t in catalogue.tracks]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([InlineKeyboardButton(tr(lang, "nav.how"), callback_data=HELP)])
    return InlineKeyboardMarkup(rows)


def nav_row(lang: str, back: str | None = None) -> list[InlineKeyboardButton]:
    row = []
    if back is not None:
        row.append(InlineKeyboardButton(tr(lang, "nav.back"), callback_data=back))
    row.append(InlineKeyboardButton(tr(lang, "nav.home"), callback_data=HOME))
    return row


def follow_button(track_id: str, lang: str) -> InlineKeyboardButton:
    """🔔 订阅本赛道通知 (handlers.subscriptions answers it)."""
    return InlineKeyboardButton(tr(lang, "nav.follow"), callback_data=f"sub:+:{track_id}")


def track_keyboard(catalogue: Catalogue, track: Track, lang: str) -> InlineKeyboardMarkup:
    rows = [[problem_button(p)] for p in catalogue.problems_of(track.id)]
    rows.append([follow_button(track.id, lang)])
    rows.append(nav_row(lang, back=TRACKS))
    return InlineKeyboardMarkup(rows)


async def acknowledge(
    query: CallbackQuery, text: str | None = None, *, show_alert: bool = False
) -> None:
    """Answer a button press, never failing the handler: only the spinner and a toast depend
    on it, and it fails when the press expired, was answered already (its update handled again
    after a restart), or the network failed — the work the press asked for goes on."""
    try:
        await query.answer(text, show_alert=show_alert)
    except TelegramError as exc:
        log.info("could not answer a button press: %s", exc.message)


async def reply_html(
    message: Message, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message:
    """Reply with HTML, split below Telegram's limit; buttons go on the last part."""
    parts = split_html(text)
    sent = message
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        sent = await message.reply_html(
            part,
            reply_markup=markup if last else None,
            do_quote=False,
            disable_web_page_preview=True,
        )
    return sent


async def send_once(bot: Bot, chat_id: int, text: str) -> tuple[Message | None, str | None]:
    """Send HTML text (split below Telegram's limit) once: the last message sent, or what went
    wrong, for the organizers to read. Never sent again: after a timeout, a reset or a 5xx
    Telegram may well have delivered it, and a second try would be a second copy. (A 429 says
    nothing was sent; the Pacer waits and retries those.)"""
    sent = None
    try:
        for part in split_html(text):
            sent = await bot.send_message(chat_id, part, parse_mode=ParseMode.HTML)
    except Forbidden as exc:
        return None, tr("zh", "delivery.blocked", error=exc.message)
    except BadRequest as exc:
        return None, exc.message
    except NetworkError as exc:
        return None, tr("zh", "delivery.network", error=exc.message)
    except TelegramError as exc:
        return None, tr("zh", "delivery.failed", error=exc.message)
    return sent, None


async def edit_or_send(
    update: Update,
    context: Context,
    text: str,
    markup: InlineKeyboardMarkup | None,
) -> None:
    """Navigation edits the message in place; text too long for one message is sent anew."""
    query = update.callback_query
    assert query is not None
    parts = split_html(text)
    message = query.message
    if len(parts) == 1 and isinstance(message, Message):
        try:
            await message.edit_text(
                parts[0],
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                disable_web_page_preview=True,
            )
            return
        except BadRequest as exc:
            if "not modified" in exc.message:
                return
            log.info("edit failed (%s); sending a new message", exc.message)
    chat = update.effective_chat
    if chat is None:
        return
    for i, part in enumerate(parts):
        await context.bot.send_message(
            chat.id,
            part,
            parse_mode=ParseMode.HTML,
            reply_markup=markup if i == len(parts) - 1 else None,
            disable_web_page_preview=True,
        )
