"""Organizers' announcements: /broadcast composes (audience, preview, 确认发送), /broadcasts lists.

The sending itself is bot/broadcaster.py; this module only writes broadcasts to the store and
wakes the engine. Every command and button here is for organizers (handlers.auth), and /broadcast
works in the organizers' group only.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.broadcaster import (
    STOP,
    broadcaster_of,
    describe_audience,
    failures_csv,
    stop_keyboard,
)
from bot.services import Services, services
from bot.telegram_text import MAX_TEXT_LENGTH, EntityParseError, parse_html, split_html, utf16_len
from handlers.auth import require_organizer
from handlers.common import acknowledge, reply_html
from knowledge.store import Audience, Broadcast
from knowledge.store.broadcasts import (
    CANCELLED,
    COPY,
    DONE,
    DRAFT,
    QUEUED,
    RUNNING,
    SCHEDULED,
    TEXT,
)
from knowledge.store.subscriptions import GROUP, clean_team, team_key

PREVIEW_LIMIT = 3000  # the part of the text shown in the preview, below the header
MAX_TEAM_BUTTONS = 40
# Formatting an organizer applied in their Telegram client: PTB's text_html renders these.
FORMATTING = {
    MessageEntity.BOLD, MessageEntity.ITALIC, MessageEntity.UNDERLINE,
    MessageEntity.STRIKETHROUGH, MessageEntity.SPOILER, MessageEntity.CODE, MessageEntity.PRE,
    MessageEntity.TEXT_LINK, MessageEntity.TEXT_MENTION, MessageEntity.BLOCKQUOTE,
    MessageEntity.EXPANDABLE_BLOCKQUOTE, MessageEntity.CUSTOM_EMOJI,
}  # fmt: skip
STATUS = {
    DRAFT: "📝 草稿",
    SCHEDULED: "🕘 定时",
    QUEUED: "⏳ 排队中",
    RUNNING: "▶️ 发送中",
    DONE: "✅ 已完成",
    CANCELLED: "⏹ 已取消",
}
USAGE = (
    "用法：\n"
    "<code>/broadcast 文本</code> — 发送一条公告（可用 Telegram 的粗体、链接等格式，"
    "或 &lt;b&gt;HTML&lt;/b&gt;）\n"
    "回复任意一条消息并发送 <code>/broadcast</code> — 原样复制那条消息\n"
    "<code>/broadcast team 队名 文本</code> — 只发给一个队伍\n"
    "<code>/broadcast at 2024-06-01 09:00 文本</code> — 定时发送（{tz}）\n"
    "<code>/broadcasts</code> — 已发、定时和发送中的公告"
)

_COMMAND = re.compile(r"^/\w+(?:@\w+)?")
_OPTION = re.compile(
    r"\s+(?:at\s+(?P<date>\d{4}-\d{1,2}-\d{1,2})[ T](?P<time>\d{1,2}:\d{2})"
    r"|team\s+(?:\"(?P<quoted>[^\"\n]+)\"|「(?P<bracketed>[^」\n]+)」|(?P<team>\S+))"
    r"|cancel\s+#?(?P<cancel>\d+))(?=\s|$)",
    flags=re.IGNORECASE,
)


@dataclass(frozen=True)
class Composition:
    """What /broadcast asked for: options, and the body (plain text and where it starts)."""

    at: tuple[str, str] | None
    team: str | None
    cancel: int | None
    body: str
    body_start: int


def parse_command(text: str) -> Composition:
    """Split `/broadcast [at D T] [team 名称] 文本` into options and body."""
    command = _COMMAND.match(text)
    pos = command.end() if command else 0
    at: tuple[str, str] | None = None
    team: str | None = None
    cancel: int | None = None
    while m := _OPTION.match(text, pos):
        if m.group("date"):
            at = (m.group("date"), m.group("time"))
        elif m.group("cancel"):
            cancel = int(m.group("cancel"))
        else:
            team = m.group("quoted") or m.group("bracketed") or m.group("team")
        pos = m.end()
    start = pos + (len(text[pos:]) - len(text[pos:].lstrip()))
    return Composition(at, team, cancel, text[start:].rstrip(), start)


def checked_html(text: str) -> str | None:
    """Why Telegram would refuse this HTML (parsed the way Telegram parses it), or None."""
    try:
        plain, _ = parse_html(text)
    except EntityParseError as exc:
        return str(exc)
    if not plain.strip():
        return "公告内容为空"
    if utf16_len(plain) > MAX_TEXT_LENGTH:
        return f"公告过长（{utf16_len(plain)} 字，上限 {MAX_TEXT_LENGTH}）"
    return None


def body_html(message: Message, composition: Composition) -> str:
    """The announcement as HTML: the organizer's own formatting kept, everything else escaped.
    Text typed with HTML tags is taken as HTML only when Telegram would accept it."""
    body = composition.body
    entities = message.entities or ()
    if any(e.type in FORMATTING for e in entities):
        prefix = html.escape((message.text or "")[: composition.body_start])
        full = message.text_html
        if full.startswith(prefix):
            return full[len(prefix) :].strip()
    if re.search(r"</?[a-zA-Z][^>]*>", body) and checked_html(body) is None:
        return body
    return html.escape(body)


def local_time(utc_iso: str, tz: str) -> str:
    return datetime.fromisoformat(utc_iso).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def parse_at(date: str, time_of_day: str, tz: str) -> datetime | None:
    """`2024-06-01 09:00` in the configured time zone, as an aware UTC datetime."""
    try:
        local = datetime.strptime(f"{date} {time_of_day}", "%Y-%m-%d %H:%M")
    except ValueError:
        return None
    return local.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def team_token(name: str) -> str:
    """A short stand-in for a team name in callback data (names may be long, and Chinese)."""
    return hashlib.sha1(team_key(name).encode()).hexdigest()[:10]


# --- panels --------------------------------------------------------------------------------------


def _header(svc: Services, bc: Broadcast, title: str) -> list[str]:
    lines = [f"📣 <b>公告 #{bc.id}</b> · {title}"]
    if bc.kind == COPY:
        lines.append("内容：原样复制所回复的那条消息")
    if bc.scheduled_at:
        when = local_time(bc.scheduled_at, svc.settings.timezone)
        lines.append(f"🕘 定时：{when}（{svc.settings.timezone}）")
    return lines


def chooser_panel(svc: Services, bc: Broadcast) -> tuple[str, InlineKeyboardMarkup]:
    """Choose the audience: everyone, some tracks, one team."""
    everyone = len(svc.store.subscribers())
    lines = _header(svc, bc, "选择发送对象")
    rows = [
        [InlineKeyboardButton(f"👥 全部订阅者（{everyone}）", callback_data=f"bc:all:{bc.id}")],
        [
            InlineKeyboardButton("🏷 按赛道…", callback_data=f"bc:tr:{bc.id}"),
            InlineKeyboardButton("👨‍👩‍👧 按队伍…", callback_data=f"bc:tms:{bc.id}"),
        ],
        [InlineKeyboardButton("❌ 取消", callback_data=f"bc:no:{bc.id}")],
    ]
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def tracks_panel(svc: Services, bc: Broadcast) -> tuple[str, InlineKeyboardMarkup]:
    """Tick tracks (✅), with how many subscribers follow each; 完成 goes to the preview."""
    chosen = set(bc.audience.tracks) if bc.audience and bc.audience.kind == "tracks" else set()
    subs = svc.store.subscribers()
    rows = []
    for track in svc.kb.catalogue.tracks:
        n = sum(1 for s in subs if s.follows(track.id))
        mark = "✅ " if track.id in chosen else ""
        rows.append(
            [
                InlineKeyboardButton(
                    f"{mark}赛道{track.ordinal} · {track.name}（{n}）",
                    callback_data=f"bc:tt:{bc.id}:{track.id}",
                )
            ]
        )
    rows.append(
        [
            InlineKeyboardButton("✅ 完成", callback_data=f"bc:td:{bc.id}"),
            InlineKeyboardButton("⬅️ 返回", callback_data=f"bc:back:{bc.id}"),
        ]
    )
    lines = _header(svc, bc, "选择赛道（可多选）")
    if chosen:
        reach = len(svc.store.audience(Audience("tracks", tuple(sorted(chosen)))))
        lines.append(f"已选 {len(chosen)} 个赛道 · 收件人 {reach} 个")
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def teams_panel(svc: Services, bc: Broadcast) -> tuple[str, InlineKeyboardMarkup]:
    teams = svc.store.teams()
    rows = [
        [InlineKeyboardButton(f"{name}（{n}）", callback_data=f"bc:tm:{bc.id}:{team_token(name)}")]
        for name, n in teams[:MAX_TEAM_BUTTONS]
    ]
    rows.append([InlineKeyboardButton("⬅️ 返回", callback_data=f"bc:back:{bc.id}")])
    lines = _header(svc, bc, "选择队伍")
    if not teams:
        lines.append("还没有订阅者设置队名（/team 队名）。")
    elif len(teams) > MAX_TEAM_BUTTONS:
        lines.append(f"队伍太多，只列出前 {MAX_TEAM_BUTTONS} 个；其余请用 /broadcast team 队名 …")
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def preview_panel(svc: Services, bc: Broadcast) -> tuple[str, InlineKeyboardMarkup]:
    """The announcement as recipients will see it, who gets it, and 确认发送 / 取消."""
    assert bc.audience is not None
    recipients = svc.store.audience(bc.audience)
    groups = sum(1 for s in recipients if s.kind == GROUP)
    lines = _header(svc, bc, "预览")
    reach = f"收件人 {len(recipients)} 个" + (f"（其中群聊 {groups} 个）" if groups else "")
    lines.append(f"对象：{describe_audience(bc.audience, svc.kb.catalogue)} · {reach}")
    if bc.scheduled_at:
        lines.append("<i>定时公告的收件人按发送时的订阅计算。</i>")
    if bc.kind == TEXT:
        parts = split_html(bc.text or "", PREVIEW_LIMIT)
        lines.append("———")
        lines.append(parts[0] + ("\n…" if len(parts) > 1 else ""))
    rows = []
    if recipients or bc.scheduled_at:
        label = "✅ 确认定时" if bc.scheduled_at else "✅ 确认发送"
        rows.append(
            [
                InlineKeyboardButton(label, callback_data=f"bc:ok:{bc.id}"),
                InlineKeyboardButton("❌ 取消", callback_data=f"bc:no:{bc.id}"),
            ]
        )
    else:
        lines.append("⚠️ 没有收件人，无法发送。")
        rows.append([InlineKeyboardButton("❌ 取消", callback_data=f"bc:no:{bc.id}")])
    rows.append([InlineKeyboardButton("⬅️ 重新选择对象", callback_data=f"bc:back:{bc.id}")])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


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


async def broadcast_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/broadcast 文本, /broadcast as a reply, with `team 名称` and `at 日期 时间` options."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or not await require_organizer(update, context):
        return
    svc = services(context)
    tz = svc.settings.timezone
    if svc.settings.organizer_chat_id is None or message.chat.id != svc.settings.organizer_chat_id:
        await message.reply_html("请在组委会群里使用 /broadcast。")
        return
    composition = parse_command(message.text or "")
    if composition.cancel is not None:
        await message.reply_html(await cancel_broadcast(context, composition.cancel))
        return
    source = message.reply_to_message
    if not composition.body and source is None:
        await message.reply_html(USAGE.format(tz=html.escape(tz)))
        return
    scheduled_at: str | None = None
    if composition.at is not None:
        when = parse_at(*composition.at, tz)
        if when is None:
            await message.reply_html("时间格式应为 2024-06-01 09:00。")
            return
        if when <= datetime.now(UTC):
            shown = html.escape(" ".join(composition.at))
            await message.reply_html(f"{shown}（{html.escape(tz)}）已经过去了，请换一个时间。")
            return
        scheduled_at = when.isoformat(timespec="seconds")
    audience: Audience | None = None
    if composition.team is not None:
        team = clean_team(composition.team)
        if team is None:
            await message.reply_html("队名不对：不超过 30 个字。")
            return
        audience = Audience("team", team=team)
    text: str | None = None
    if composition.body:
        text = body_html(message, composition)
        problem = checked_html(text)
        if problem is not None:
            await message.reply_html(f"这条公告 Telegram 不会接受：{html.escape(problem)}")
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


async def cancel_broadcast(context: ContextTypes.DEFAULT_TYPE, broadcast_id: int) -> str:
    """Cancel a draft, scheduled, queued or running broadcast; say what happened."""
    store = services(context).store
    bc = store.broadcast(broadcast_id)
    if bc is None:
        return f"没有公告 #{broadcast_id}。"
    if not store.cancel_broadcast(broadcast_id):
        return f"公告 #{broadcast_id} 已是「{STATUS[bc.status]}」，无法取消。"
    broadcaster_of(context.application).cancel(broadcast_id)
    if bc.status == RUNNING:
        return f"⏹ 公告 #{broadcast_id} 正在停止，已发出的无法撤回；报告稍后更新。"
    return f"⏹ 公告 #{broadcast_id} 已取消，未发送。"


async def list_broadcasts(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/broadcasts: scheduled, running and recent broadcasts with their figures."""
    message = update.effective_message
    if message is None or not await require_organizer(update, context):
        return
    svc = services(context)
    found = svc.store.recent_broadcasts()
    if not found:
        await message.reply_html("还没有公告。发送 /broadcast 查看用法。")
        return
    lines = ["📣 <b>公告</b>（定时、发送中和最近的）"]
    rows = []
    # Sizing scheduled audiences reads every subscription: off the event loop.
    lines += await asyncio.to_thread(lambda: [broadcast_line(svc, bc) for bc in found])
    for bc in found:
        if bc.status in (SCHEDULED, QUEUED, RUNNING):
            rows.append(
                [InlineKeyboardButton(f"⏹ 取消 #{bc.id}", callback_data=STOP.format(id=bc.id))]
            )
    await reply_html(message, "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None)


def broadcast_line(svc: Services, bc: Broadcast) -> str:
    tz = svc.settings.timezone
    audience = describe_audience(bc.audience, svc.kb.catalogue)
    line = f"\n<b>#{bc.id}</b> · {STATUS[bc.status]} · {audience}"
    if bc.status == SCHEDULED and bc.scheduled_at:
        line += f" · {local_time(bc.scheduled_at, tz)}"
        if bc.audience is not None:
            line += f" · 约 {len(svc.store.audience(bc.audience))} 个"
    if bc.total:
        c = svc.store.delivery_counts(bc.id)
        line += (
            f"\n  共 {bc.total} · 送达 {c['sent']} · 屏蔽 {c['blocked']} · 失败 {c['failed']}"
            + (f" · 未知 {c['unknown']}" if c["unknown"] else "")
            + (f" · 未发 {c['pending'] + c['sending']}" if c["pending"] + c["sending"] else "")
        )
    when = bc.started_at or bc.created_at
    line += f"\n  {local_time(when, tz)} · {html.escape(bc.created_by_name)}"
    return line


# --- buttons -------------------------------------------------------------------------------------


async def broadcast_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The buttons of the compose panels and of a broadcast's status message."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if not await require_organizer(update, context):
        return
    svc = services(context)
    parts = query.data.split(":")
    action, bc = parts[1], svc.store.broadcast(int(parts[2]))
    if bc is None:
        await acknowledge(query, "这条公告不存在。", show_alert=True)
        return
    if action in ("stop", "csv", "re"):
        await status_button(update, context, action, bc)
        return
    if bc.status != DRAFT:
        await acknowledge(query, f"公告 #{bc.id} 已是「{STATUS[bc.status]}」。", show_alert=True)
        return
    if action == "no":
        svc.store.cancel_broadcast(bc.id)
        await acknowledge(query, "已取消")
        await _panel(update, f"❌ 公告 #{bc.id} 已取消，未发送。", None)
        return
    if action == "ok":
        await confirm(update, context, bc)
        return
    build: Callable[[Services, Broadcast], tuple[str, InlineKeyboardMarkup]]
    if action == "all":
        bc = svc.store.update_broadcast(bc.id, audience=Audience("all"))
        build = preview_panel
    elif action == "back":
        bc = svc.store.update_broadcast(bc.id, audience=None)
        build = chooser_panel
    elif action == "tr":
        build = tracks_panel
    elif action == "tt" and len(parts) == 4 and svc.kb.catalogue.track(parts[3]):
        chosen = set(bc.audience.tracks) if bc.audience and bc.audience.kind == "tracks" else set()
        chosen ^= {parts[3]}
        bc = svc.store.update_broadcast(bc.id, audience=Audience("tracks", tuple(sorted(chosen))))
        build = tracks_panel
    elif action == "td":
        if bc.audience is None or bc.audience.kind != "tracks" or not bc.audience.tracks:
            await acknowledge(query, "请至少选一个赛道。", show_alert=True)
            return
        build = preview_panel
    elif action == "tms":
        build = teams_panel
    elif action == "tm" and len(parts) == 4:
        teams = await asyncio.to_thread(svc.store.teams)
        team = next((name for name, _ in teams if team_token(name) == parts[3]), None)
        if team is None:
            await acknowledge(query, "这个队伍已没有订阅者。", show_alert=True)
            return
        bc = svc.store.update_broadcast(bc.id, audience=Audience("team", team=team))
        build = preview_panel
    else:
        await acknowledge(query, "这个按钮已过期。")
        return
    await acknowledge(query)
    # Counting subscribers reads every subscription: off the event loop.
    await _panel(update, *await asyncio.to_thread(build, svc, bc))


async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE, bc: Broadcast) -> None:
    """确认发送: queued for the engine now, or scheduled; the panel becomes the status message."""
    query = update.callback_query
    assert query is not None
    svc = services(context)
    if bc.audience is None:
        await acknowledge(query, "请先选择发送对象。", show_alert=True)
        return
    if bc.scheduled_at:
        when = local_time(bc.scheduled_at, svc.settings.timezone)
        text = (
            f"🕘 <b>公告 #{bc.id}</b> 已排期：{when}（{svc.settings.timezone}）\n"
            f"对象：{describe_audience(bc.audience, svc.kb.catalogue)}，收件人按发送时的订阅计算。"
        )
    else:
        text = f"⏳ <b>公告 #{bc.id}</b> 已确认，开始发送…"
    if not svc.store.confirm_broadcast(bc.id):
        await acknowledge(query, "已处理过了。")
        return
    await acknowledge(query, "已排期" if bc.scheduled_at else "开始发送")
    await _panel(update, text, stop_keyboard(bc))
    broadcaster_of(context.application).wake()


async def status_button(
    update: Update, context: ContextTypes.DEFAULT_TYPE, action: str, bc: Broadcast
) -> None:
    """⏹ 取消发送, 📄 失败名单 CSV and 🔁 补发 on a status message (or in /broadcasts)."""
    query = update.callback_query
    assert query is not None
    svc = services(context)
    if action == "stop":
        result = await cancel_broadcast(context, bc.id)
        await acknowledge(query, re.sub(r"<[^>]+>", "", result)[:200])
        on_panel = query.message is not None and query.message.message_id == bc.panel_message_id
        if bc.status in (SCHEDULED, QUEUED) and on_panel:
            await _panel(update, f"⏹ 公告 #{bc.id} 已取消，未发送。", None)
        return
    if action == "re":
        count = svc.store.requeue_unknown(bc.id)
        broadcaster_of(context.application).wake()
        await acknowledge(query, f"正在补发 {count} 个" if count else "没有需要补发的。")
        return
    rows = svc.store.failure_rows(bc.id)
    if not rows:
        await acknowledge(query, "没有未送达的收件人。")
        return
    await acknowledge(query)
    await context.bot.send_document(
        bc.chat_id,
        failures_csv(rows),
        filename=f"broadcast-{bc.id}-failures.csv",
        caption=f"公告 #{bc.id} 未送达名单：{len(rows)} 个（屏蔽、失败、状态未知）",
        reply_to_message_id=bc.panel_message_id,
        allow_sending_without_reply=True,
    )


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler("broadcast", broadcast_command))
    app.add_handler(CommandHandler("broadcasts", list_broadcasts))
    app.add_handler(
        CallbackQueryHandler(
            broadcast_button,
            pattern=r"^bc:(all|back|tr|tms|td|ok|no|stop|csv|re):\d+$|^bc:(tt|tm):\d+:\w+$",
        )
    )
