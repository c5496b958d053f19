"""Browsing: /start (with deep links), /help, /tracks, and the inline-keyboard menus."""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.services import App, Context
from handlers.common import (
    HELP,
    HOME,
    TRACKS,
    acknowledge,
    edit_or_send,
    follow_button,
    home_keyboard,
    nav_row,
    problem_button,
    remember_shown,
    reply_html,
    track_button,
    track_keyboard,
    user_lang,
)
from knowledge.catalogue import Catalogue, Problem
from knowledge.matcher import Matcher
from knowledge.render import render_help, render_problem, render_track, render_tracks
from knowledge.texts import tr


def problem_keyboard(context: Context, problem: Problem, lang: str) -> InlineKeyboardMarkup:
    """Its track, related problems, then back and home."""
    svc = context.bot_data
    catalogue, matcher = svc.kb.catalogue, svc.kb.matcher
    track = catalogue.track(problem.track_id)
    rows: list[list[InlineKeyboardButton]] = []
    rows += [[problem_button(p, "🔗 ")] for p in related(catalogue, matcher, problem)]
    if track is not None:
        rows.append([track_button(track, lang, "📂 ")])
        rows.append([follow_button(track.id, lang)])
    rows.append(nav_row(lang, back=f"t:{problem.track_id}"))
    return InlineKeyboardMarkup(rows)


def related(catalogue: Catalogue, matcher: Matcher, problem: Problem) -> list[Problem]:
    return [p for pid in matcher.related(problem.id) if (p := catalogue.problem(pid))]


async def start(update: Update, context: Context) -> None:
    """Welcome and main menu; `/start p3-4` opens a problem and `/start t3` a track."""
    message = update.effective_message
    if message is None:
        return
    lang = user_lang(update)
    catalogue = context.bot_data.kb.catalogue
    payload = context.args[0] if context.args else ""
    if m := re.fullmatch(r"p(\d+)-(\d+)", payload):
        problem = catalogue.problem(f"{m.group(1)}-{m.group(2)}")
        if problem is not None:
            remember_shown(update, context, problem.id)
            text = render_problem(catalogue, problem, lang)
            await reply_html(message, text, problem_keyboard(context, problem, lang))
            return
    if m := re.fullmatch(r"t(\d+)", payload):
        track = catalogue.track(m.group(1))
        if track is not None:
            remember_shown(update, context, track.id)
            text = render_track(catalogue, track, lang)
            await reply_html(message, text, track_keyboard(catalogue, track, lang))
            return
    await reply_html(message, render_help(catalogue, lang), home_keyboard(catalogue, lang))


async def show_help(update: Update, context: Context) -> None:
    """/help: what the bot does and how to ask."""
    if update.effective_message is None:
        return
    lang = user_lang(update)
    catalogue = context.bot_data.kb.catalogue
    keyboard = home_keyboard(catalogue, lang)
    await reply_html(update.effective_message, render_help(catalogue, lang), keyboard)


async def show_tracks(update: Update, context: Context) -> None:
    """/tracks: the list of tracks with a button each."""
    if update.effective_message is None:
        return
    lang = user_lang(update)
    catalogue = context.bot_data.kb.catalogue
    await reply_html(
        update.effective_message, render_tracks(catalogue, lang), home_keyboard(catalogue, lang)
    )


async def navigate(update: Update, context: Context) -> None:
    """Menu buttons: home, tracks, a track, a problem; anything else has expired."""
    query = update.callback_query
    if query is None:
        return
    data = query.data or ""
    page = menu_page(context, data, user_lang(update))
    if page is None:
        await expired(update, context)
        return
    if data.startswith(("t:", "p:")):
        remember_shown(update, context, data[2:])  # menu_page found it: a track or a problem
    await acknowledge(query)
    await edit_or_send(update, context, *page)


def menu_page(context: Context, data: str, lang: str) -> tuple[str, InlineKeyboardMarkup] | None:
    """The text and buttons a menu button leads to, or None for data that names nothing."""
    catalogue = context.bot_data.kb.catalogue
    if data in (HOME, HELP):
        return render_help(catalogue, lang), home_keyboard(catalogue, lang)
    if data == TRACKS:
        return render_tracks(catalogue, lang), home_keyboard(catalogue, lang)
    if data.startswith("t:") and (track := catalogue.track(data[2:])):
        return render_track(catalogue, track, lang), track_keyboard(catalogue, track, lang)
    if data.startswith("p:") and (problem := catalogue.problem(data[2:])):
        return render_problem(catalogue, problem, lang), problem_keyboard(context, problem, lang)
    return None


async def expired(update: Update, context: Context) -> None:
    """Stale or forged button data: say so and show the main menu."""
    query = update.callback_query
    if query is None:
        return
    lang = user_lang(update)
    await acknowledge(query, tr(lang, "nav.expired"))
    catalogue = context.bot_data.kb.catalogue
    if update.effective_chat is not None:
        await context.bot.send_message(
            update.effective_chat.id,
            tr(lang, "nav.expired"),
            reply_markup=home_keyboard(catalogue, lang),
        )


def register(app: App) -> None:
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("help", show_help))
    app.add_handler(CommandHandler("tracks", show_tracks))
    app.add_handler(
        CallbackQueryHandler(navigate, pattern=r"^(home|help|tracks|t:\d+|p:\d+-\d+)$")
    )


def register_fallback(app: App) -> None:
    """Any button no feature claimed: registered last."""
    app.add_handler(CallbackQueryHandler(expired))
