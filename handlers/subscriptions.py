"""Subscriptions: /subscribe (tracks, multi-select), /team, /unsubscribe, /settings, 🔔 buttons.

A private chat subscribes for its user; a team's group chat subscribes for the group, and only
the group's admins (getChatMember: creator or administrator) may change that.
"""

from __future__ import annotations

import html
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.services import App, Context
from handlers.common import acknowledge, edit_or_send, reply_html, user_lang
from knowledge.catalogue import Catalogue
from knowledge.render import track_label
from knowledge.store import Subscription
from knowledge.store.subscriptions import GROUP, MAX_TEAM, PRIVATE, clean_team
from knowledge.texts import tr

log = logging.getLogger(__name__)

# Callback data: "sub:t:3" tick a track, "sub:all", "sub:done", and "sub:+:3", the
# 🔔 订阅本赛道通知 button of track and problem cards (handlers.common.follow_button).


def _is_group(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


async def may_manage(update: Update, context: Context) -> bool:
    """Anyone manages their private chat; in a group, its creator and administrators."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return False
    if chat.type == ChatType.PRIVATE:
        return True
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError as exc:
        log.info("getChatMember %s in %s failed: %s", user.id, chat.id, exc)
        return False
    return member.status in (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)


def _subscriber(update: Update, context: Context) -> Subscription:
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None
    if _is_group(update):
        kind, name = GROUP, chat.title or str(chat.id)
    else:
        kind, name = PRIVATE, (user.full_name if user else "") or str(chat.id)
    return context.bot_data.store.ensure_subscriber(
        chat.id, kind=kind, name=name, lang=user_lang(update)
    )


def subscribe_keyboard(catalogue: Catalogue, sub: Subscription, lang: str) -> InlineKeyboardMarkup:
    """Every track with ✅ when chosen, two a row; then 全部赛道 and 完成."""
    buttons = [
        InlineKeyboardButton(
            ("✅ " if sub.follows(track.id) else "") + track_label(track, lang),
            callback_data=f"sub:t:{track.id}",
        )
        for track in catalogue.tracks
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(
        [
            InlineKeyboardButton(
                ("✅ " if sub.all_tracks else "") + tr(lang, "subs.all"), callback_data="sub:all"
            ),
            InlineKeyboardButton(tr(lang, "subs.done"), callback_data="sub:done"),
        ]
    )
    return InlineKeyboardMarkup(rows)


def tracks_text(sub: Subscription, catalogue: Catalogue, lang: str) -> str:
    if sub.all_tracks:
        return tr(lang, "subs.all")
    names = [html.escape(track_label(t, lang)) for t in catalogue.tracks if t.id in sub.tracks]
    return "、".join(names) if lang != "en" else ", ".join(names)


def settings_text(
    sub: Subscription | None, catalogue: Catalogue, lang: str, *, group: bool = False
) -> str:
    """/settings: subscribed or not, which tracks, which team."""
    lines = [tr(lang, "subs.heading_group" if group else "subs.heading")]
    if sub is None:
        lines.append(tr(lang, "subs.not_subscribed"))
        return "\n".join(lines)
    if sub.active:
        status = tr(lang, "subs.on")
    else:
        blocked = (sub.inactive_reason or "").startswith("Telegram")
        status = tr(lang, "subs.off_blocked" if blocked else "subs.off")
    lines.append(tr(lang, "subs.status", status=status))
    tracks = tracks_text(sub, catalogue, lang) or tr(lang, "subs.no_tracks")
    lines.append(tr(lang, "subs.tracks", tracks=tracks))
    team = html.escape(sub.team) if sub.team else tr(lang, "subs.no_team")
    lines.append(tr(lang, "subs.team", team=team))
    lines.append("\n" + tr(lang, "subs.hint"))
    return "\n".join(lines)


def subscriber_line(sub: Subscription | None, catalogue: Catalogue) -> str | None:
    """For the organizers' ticket post: 队伍：… · 订阅：…, or None when nothing is known."""
    if sub is None:
        return None
    parts = []
    if sub.team:
        parts.append(tr("zh", "subs.post_team", team=html.escape(sub.team)))
    if sub.active and (sub.all_tracks or sub.tracks):
        parts.append(tr("zh", "subs.post_tracks", tracks=tracks_text(sub, catalogue, "zh")))
    return " · ".join(parts) or None


async def subscribe(update: Update, context: Context) -> None:
    """/subscribe: the track keyboard (in a group, for its admins only)."""
    message = update.effective_message
    if message is None:
        return
    lang = user_lang(update)
    if not await may_manage(update, context):
        await message.reply_html(tr(lang, "subs.admins_only"))
        return
    sub = _subscriber(update, context)
    catalogue = context.bot_data.kb.catalogue
    intro = tr(lang, "subs.intro_group" if _is_group(update) else "subs.intro")
    await reply_html(message, intro, subscribe_keyboard(catalogue, sub, lang))


async def unsubscribe(update: Update, context: Context) -> None:
    """/unsubscribe: no more announcements (the choices are kept for a later /subscribe)."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    lang = user_lang(update)
    if not await may_manage(update, context):
        await message.reply_html(tr(lang, "subs.admins_only"))
        return
    store = context.bot_data.store
    sub = store.subscription(chat.id)
    if sub is None or not sub.active:
        await message.reply_html(tr(lang, "subs.not_subscribed"))
        return
    store.deactivate(chat.id, "unsubscribe")
    await message.reply_html(tr(lang, "subs.unsubscribed"))


async def show_settings(update: Update, context: Context) -> None:
    """/settings: this chat's subscription and team."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    svc = context.bot_data
    text = settings_text(
        svc.store.subscription(chat.id),
        svc.kb.catalogue,
        user_lang(update),
        group=_is_group(update),
    )
    await reply_html(message, text)


async def set_team(update: Update, context: Context) -> None:
    """/team 名称: the team this chat belongs to (/team - clears it)."""
    message = update.effective_message
    if message is None:
        return
    lang = user_lang(update)
    if not await may_manage(update, context):
        await message.reply_html(tr(lang, "subs.admins_only"))
        return
    raw = (message.text or "").partition(" ")[2].strip()
    store = context.bot_data.store
    sub = _subscriber(update, context)
    if raw in ("-", "—"):
        store.set_team(sub.chat_id, None)
        await message.reply_html(tr(lang, "subs.team_cleared"))
        return
    team = clean_team(raw)
    if team is None:
        current = html.escape(sub.team) if sub.team else tr(lang, "subs.no_team")
        await message.reply_html(tr(lang, "subs.team_usage", n=MAX_TEAM, team=current))
        return
    sub = store.set_team(sub.chat_id, team)
    text = tr(lang, "subs.team_set", team=html.escape(team))
    if not sub.active:
        text += "\n" + tr(lang, "subs.team_subscribe")
    await message.reply_html(text)


async def subscription_button(update: Update, context: Context) -> None:
    """sub:t:N ticks a track, sub:all 全部赛道, sub:done subscribes, sub:+:N 🔔 on a card."""
    query = update.callback_query
    assert query is not None and query.data is not None
    lang = user_lang(update)
    if not await may_manage(update, context):
        await acknowledge(query, tr(lang, "subs.admins_only"), show_alert=True)
        return
    svc = context.bot_data
    catalogue, store = svc.kb.catalogue, svc.store
    kind, _, value = query.data[4:].partition(":")
    track = catalogue.track(value) if value else None
    if kind in ("t", "+") and track is None:
        from handlers.menu import expired

        await expired(update, context)
        return
    sub = _subscriber(update, context)
    if kind == "+":
        assert track is not None
        store.follow_track(sub.chat_id, track.id)
        await acknowledge(query, tr(lang, "subs.followed", track=track_label(track, lang)))
        return
    if kind == "done":
        sub = store.activate(sub.chat_id)
        await acknowledge(query, tr(lang, "subs.subscribed"))
        text = (
            tr(lang, "subs.subscribed")
            + "\n\n"
            + settings_text(sub, catalogue, lang, group=_is_group(update))
        )
        await edit_or_send(update, context, text, None)
        return
    if kind == "t":
        assert track is not None
        sub = store.toggle_track(sub.chat_id, track.id, [t.id for t in catalogue.tracks])
    else:  # all
        sub = store.set_all_tracks(sub.chat_id, not sub.all_tracks)
    await acknowledge(query)
    if isinstance(query.message, Message):
        try:
            await query.message.edit_reply_markup(subscribe_keyboard(catalogue, sub, lang))
        except BadRequest as exc:
            if "not modified" not in exc.message:
                raise


def register(app: App) -> None:
    app.add_handler(CommandHandler("subscribe", subscribe))
    app.add_handler(CommandHandler("unsubscribe", unsubscribe))
    app.add_handler(CommandHandler("settings", show_settings))
    app.add_handler(CommandHandler("team", set_team))
    app.add_handler(
        CallbackQueryHandler(subscription_button, pattern=r"^sub:(t:\d+|\+:\d+|all|done)$")
    )
