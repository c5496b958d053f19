"""Organizers' announcements: /broadcast composes (audience, preview, 确认发送), /broadcasts lists,
and the buttons of the compose panels and of a broadcast's status message.

This module writes broadcasts to the store and wakes the engine (jobs.py), which sends them.
Every command and button here is for organizers (handlers.auth), and /broadcast works in the
organizers' group only.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Callable
from datetime import UTC, datetime

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.services import Context, Services
from bot.telegram_text import MAX_CALLBACK_ANSWER_LENGTH
from handlers.auth import require_organizer
from handlers.broadcast.callbacks import Action, BroadcastButton, team_token
from handlers.broadcast.compose import body_html, checked_html, parse_at, parse_command
from handlers.broadcast.views import (
    broadcast_line,
    button,
    chooser_panel,
    describe_audience,
    failures_csv,
    local_time,
    preview_panel,
    status_of,
    stop_keyboard,
    teams_panel,
    tracks_panel,
)
from handlers.common import acknowledge, reply_html
from knowledge.store import Audience, Broadcast
from knowledge.store.broadcasts import COPY, DRAFT, QUEUED, RUNNING, SCHEDULED, TEXT
from knowledge.store.subscriptions import MAX_TEAM, clean_team
from knowledge.texts import tr

Panel = Callable[[Services, Broadcast], tuple[str, InlineKeyboardMarkup]]


async def _panel(update: Update, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Show a panel in place of the message whose button was pressed."""
    query = update.callback_query
    assert query is not None
    if isinstance(query.message, Message):
        try:
            await query.message.edit_text(
                text, parse_mode=ParseMode.HTML, reply_markup=markup,
                disable_web_page_preview=True,
            )  # fmt: skip
        except BadRequest as exc:
            if "not modified" not in exc.message:
                raise


# --- commands ------------------------------------------------------------------------------------


async def broadcast_command(update: Update, context: Context) -> None:
    """/broadcast 文本, /broadcast as a reply, with `team 名称` and `at 日期 时间` options."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or not await require_organizer(update, context):
        return
    svc = context.bot_data
    tz = svc.settings.timezone
    if svc.settings.organizer_chat_id is None or message.chat.id != svc.settings.organizer_chat_id:
        await message.reply_html(tr("zh", "broadcast.group_only"))
        return
    composition = parse_command(message.text or "")
    if composition.cancel is not None:
        await message.reply_html(await cancel_broadcast(context, composition.cancel))
        return
    source = message.reply_to_message
    if not composition.body and source is None:
        await message.reply_html(tr("zh", "broadcast.usage", tz=html.escape(tz)))
        return
    scheduled_at: str | None = None
    if composition.at is not None:
        when = parse_at(*composition.at, tz)
        if when is None:
            await message.reply_html(tr("zh", "broadcast.bad_time"))
            return
        if when <= datetime.now(UTC):
            shown = html.escape(" ".join(composition.at))
            await message.reply_html(
                tr("zh", "broadcast.past_time", when=shown, tz=html.escape(tz))
            )
            return
        scheduled_at = when.isoformat(timespec="seconds")
    audience: Audience | None = None
    if composition.team is not None:
        team = clean_team(composition.team)
        if team is None:
            await message.reply_html(tr("zh", "broadcast.bad_team", n=MAX_TEAM))
            return
        audience = Audience("team", team=team)
    text: str | None = None
    if composition.body:
        text = body_html(message, composition)
        problem = checked_html(text)
        if problem is not None:
            refused = tr("zh", "broadcast.refused_html", problem=html.escape(problem))
            await message.reply_html(refused)
            return
    bc = svc.store.create_broadcast(
        kind=TEXT if text is not None else COPY,
        chat_id=message.chat.id,
        created_by=user.id,
        created_by_name=user.full_name,
        text=text,
        from_chat_id=None if text is not None else message.chat.id,
        source_message_id=None if text is not None or source is None else source.message_id,
        audience=audience,
        scheduled_at=scheduled_at,
    )
    build = preview_panel if audience else chooser_panel
    panel_text, markup = await asyncio.to_thread(build, svc, bc)
    sent = await reply_html(message, panel_text, markup)
    svc.store.update_broadcast(bc.id, panel_message_id=sent.message_id)


async def cancel_broadcast(context: Context, broadcast_id: int) -> str:
    """Cancel a draft, scheduled, queued or running broadcast; say what happened."""
    store = context.bot_data.store
    bc = store.broadcast(broadcast_id)
    if bc is None:
        return tr("zh", "broadcast.no_such", id=broadcast_id)
    if not store.cancel_broadcast(broadcast_id):
        return tr("zh", "broadcast.cannot_cancel", id=broadcast_id, status=status_of(bc))
    context.bot_data.broadcaster.cancel(broadcast_id)
    if bc.status == RUNNING:
        return tr("zh", "broadcast.stopping", id=broadcast_id)
    return tr("zh", "broadcast.cancelled", id=broadcast_id)


async def list_broadcasts(update: Update, context: Context) -> None:
    """/broadcasts: scheduled, running and recent broadcasts with their figures."""
    message = update.effective_message
    if message is None or not await require_organizer(update, context):
        return
    svc = context.bot_data
    found = svc.store.recent_broadcasts()
    if not found:
        await message.reply_html(tr("zh", "broadcast.none_yet"))
        return
    lines = [tr("zh", "broadcast.list_head")]
    rows = []
    # Sizing scheduled audiences reads every subscription: off the event loop.
    lines += await asyncio.to_thread(lambda: [broadcast_line(svc, bc) for bc in found])
    for bc in found:
        if bc.status in (SCHEDULED, QUEUED, RUNNING):
            rows.append([button(tr("zh", "broadcast.stop_button_of", id=bc.id), Action.STOP, bc)])
    await reply_html(message, "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None)


# --- buttons -------------------------------------------------------------------------------------


async def _pressed(
    update: Update, context: Context
) -> tuple[Services, BroadcastButton, Broadcast] | None:
    """The button an organizer pressed and its broadcast; None when the press is answered
    already (not an organizer, or the broadcast is gone)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if not await require_organizer(update, context):
        return None
    svc = context.bot_data
    pressed = BroadcastButton.decode(query.data)
    bc = svc.store.broadcast(pressed.broadcast_id)
    if bc is None:
        await acknowledge(query, tr("zh", "broadcast.gone"), show_alert=True)
        return None
    return svc, pressed, bc


async def _pressed_on_draft(
    update: Update, context: Context
) -> tuple[Services, BroadcastButton, Broadcast] | None:
    """As _pressed, for the compose panels: they act on a draft only."""
    found = await _pressed(update, context)
    if found is None:
        return None
    bc = found[2]
    if bc.status != DRAFT:
        assert update.callback_query is not None
        already = tr("zh", "broadcast.not_draft", id=bc.id, status=status_of(bc))
        await acknowledge(update.callback_query, already, show_alert=True)
        return None
    return found


async def _next_panel(update: Update, svc: Services, build: Panel, bc: Broadcast) -> None:
    """Answer the press and show the next compose panel in place."""
    assert update.callback_query is not None
    await acknowledge(update.callback_query)
    # Counting subscribers reads every subscription: off the event loop.
    await _panel(update, *await asyncio.to_thread(build, svc, bc))


async def choose_everyone(update: Update, context: Context) -> None:
    """👥 全部订阅者: every subscriber, then the preview."""
    if found := await _pressed_on_draft(update, context):
        svc, _, bc = found
        bc = svc.store.update_broadcast(bc.id, audience=Audience("all"))
        await _next_panel(update, svc, preview_panel, bc)


async def choose_again(update: Update, context: Context) -> None:
    """⬅️ 返回 / 重新选择对象: back to choosing the audience."""
    if found := await _pressed_on_draft(update, context):
        svc, _, bc = found
        bc = svc.store.update_broadcast(bc.id, audience=None)
        await _next_panel(update, svc, chooser_panel, bc)


async def choose_tracks(update: Update, context: Context) -> None:
    """🏷 按赛道…: the tracks to tick."""
    if found := await _pressed_on_draft(update, context):
        svc, _, bc = found
        await _next_panel(update, svc, tracks_panel, bc)


async def toggle_track(update: Update, context: Context) -> None:
    """A track ticked or unticked."""
    if found := await _pressed_on_draft(update, context):
        svc, pressed, bc = found
        track_id = pressed.argument
        assert update.callback_query is not None and track_id is not None
        if not svc.kb.catalogue.track(track_id):
            await acknowledge(update.callback_query, tr("zh", "nav.expired_short"))
            return
        chosen = set(bc.audience.tracks) if bc.audience and bc.audience.kind == "tracks" else set()
        chosen ^= {track_id}
        bc = svc.store.update_broadcast(bc.id, audience=Audience("tracks", tuple(sorted(chosen))))
        await _next_panel(update, svc, tracks_panel, bc)


async def tracks_done(update: Update, context: Context) -> None:
    """✅ 完成 under the tracks: the preview, once at least one is ticked."""
    if found := await _pressed_on_draft(update, context):
        svc, _, bc = found
        if bc.audience is None or bc.audience.kind != "tracks" or not bc.audience.tracks:
            assert update.callback_query is not None
            await acknowledge(
                update.callback_query, tr("zh", "broadcast.pick_a_track"), show_alert=True
            )
            return
        await _next_panel(update, svc, preview_panel, bc)


async def choose_teams(update: Update, context: Context) -> None:
    """👨‍👩‍👧 按队伍…: the teams to choose from."""
    if found := await _pressed_on_draft(update, context):
        svc, _, bc = found
        await _next_panel(update, svc, teams_panel, bc)


async def choose_team(update: Update, context: Context) -> None:
    """One team, then the preview."""
    if found := await _pressed_on_draft(update, context):
        svc, pressed, bc = found
        teams = await asyncio.to_thread(svc.store.teams)
        team = next((name for name, _ in teams if team_token(name) == pressed.argument), None)
        if team is None:
            assert update.callback_query is not None
            await acknowledge(
                update.callback_query, tr("zh", "broadcast.team_gone"), show_alert=True
            )
            return
        bc = svc.store.update_broadcast(bc.id, audience=Audience("team", team=team))
        await _next_panel(update, svc, preview_panel, bc)


async def cancel_draft(update: Update, context: Context) -> None:
    """❌ 取消 on a compose panel: the draft is dropped, nothing sent."""
    if found := await _pressed_on_draft(update, context):
        svc, _, bc = found
        assert update.callback_query is not None
        svc.store.cancel_broadcast(bc.id)
        await acknowledge(update.callback_query, tr("zh", "broadcast.cancelled_toast"))
        await _panel(update, tr("zh", "broadcast.draft_cancelled", id=bc.id), None)


async def confirm(update: Update, context: Context) -> None:
    """确认发送: queued for the engine now, or scheduled; the panel becomes the status message."""
    found = await _pressed_on_draft(update, context)
    if found is None:
        return
    svc, _, bc = found
    query = update.callback_query
    assert query is not None
    if bc.audience is None:
        await acknowledge(query, tr("zh", "broadcast.pick_audience"), show_alert=True)
        return
    if bc.scheduled_at:
        when = local_time(bc.scheduled_at, svc.settings.timezone)
        text = tr(
            "zh", "broadcast.scheduled", id=bc.id, when=when, tz=svc.settings.timezone,
            audience=describe_audience(bc.audience, svc.kb.catalogue),
        )  # fmt: skip
    else:
        text = tr("zh", "broadcast.confirmed", id=bc.id)
    if not svc.store.confirm_broadcast(bc.id):
        await acknowledge(query, tr("zh", "broadcast.done_before"))
        return
    toast = "broadcast.scheduled_toast" if bc.scheduled_at else "broadcast.sending_toast"
    await acknowledge(query, tr("zh", toast))
    await _panel(update, text, stop_keyboard(bc))
    context.bot_data.broadcaster.wake()


async def stop_sending(update: Update, context: Context) -> None:
    """⏹ 取消发送 on a status message, or ⏹ 取消 #N in /broadcasts."""
    if found := await _pressed(update, context):
        _, _, bc = found
        query = update.callback_query
        assert query is not None
        result = await cancel_broadcast(context, bc.id)
        await acknowledge(query, re.sub(r"<[^>]+>", "", result)[:MAX_CALLBACK_ANSWER_LENGTH])
        on_panel = query.message is not None and query.message.message_id == bc.panel_message_id
        if bc.status in (SCHEDULED, QUEUED) and on_panel:
            await _panel(update, tr("zh", "broadcast.cancelled", id=bc.id), None)


async def resend_unknown(update: Update, context: Context) -> None:
    """🔁 补发: the deliveries whose outcome is unknown are sent again, on purpose."""
    if found := await _pressed(update, context):
        svc, _, bc = found
        assert update.callback_query is not None
        count = svc.store.requeue_unknown(bc.id)
        context.bot_data.broadcaster.wake()
        said = tr("zh", "broadcast.resending", n=count) if count else None
        await acknowledge(update.callback_query, said or tr("zh", "broadcast.nothing_to_resend"))


async def send_failures(update: Update, context: Context) -> None:
    """📄 失败名单 CSV: the recipients not reached, as a file in the organizers' group."""
    found = await _pressed(update, context)
    if found is None:
        return
    svc, _, bc = found
    query = update.callback_query
    assert query is not None
    rows = svc.store.failure_rows(bc.id)
    if not rows:
        await acknowledge(query, tr("zh", "broadcast.all_delivered"))
        return
    await acknowledge(query)
    await context.bot.send_document(
        bc.chat_id,
        failures_csv(rows),
        filename=f"broadcast-{bc.id}-failures.csv",
        caption=tr("zh", "broadcast.failures_caption", id=bc.id, n=len(rows)),
        reply_to_message_id=bc.panel_message_id,
        allow_sending_without_reply=True,
    )
