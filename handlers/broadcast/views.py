"""What organizers see of broadcasts: the compose panels, status messages, reports, the
/broadcasts list and the failures CSV — texts and keyboards, HTML-escaped."""

from __future__ import annotations

import csv
import html
import io
import math
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.services import Services
from bot.telegram_text import split_html
from handlers.broadcast.callbacks import Action, BroadcastButton, team_token
from knowledge.catalogue import Catalogue
from knowledge.store import (
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastKind,
    BroadcastStatus,
    ChatKind,
    DeliveryStatus,
)

PREVIEW_LIMIT = 3000  # the part of the text shown in the preview, below the header
MAX_TEAM_BUTTONS = 40
STATUS = {
    BroadcastStatus.DRAFT: "📝 草稿",
    BroadcastStatus.SCHEDULED: "🕘 定时",
    BroadcastStatus.QUEUED: "⏳ 排队中",
    BroadcastStatus.RUNNING: "▶️ 发送中",
    BroadcastStatus.DONE: "✅ 已完成",
    BroadcastStatus.CANCELLED: "⏹ 已取消",
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


def button(
    label: str, action: Action, bc: Broadcast, argument: str | None = None
) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        label, callback_data=BroadcastButton(action, bc.id, argument).encode()
    )


def local_time(utc_iso: str, tz: str) -> str:
    return datetime.fromisoformat(utc_iso).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def describe_audience(audience: Audience | None, catalogue: Catalogue) -> str:
    """全部订阅者 / 赛道一、赛道三 / 队伍「火箭队」, HTML-escaped."""
    if audience is None:
        return "（未选择）"
    if audience.kind == "tracks":
        names = [
            f"赛道{t.ordinal}·{html.escape(t.name)}"
            for t in catalogue.tracks
            if t.id in audience.tracks
        ]
        return "、".join(names) or "（未选赛道）"
    if audience.kind == "team":
        return f"队伍「{html.escape(audience.team or '')}」"
    return "全部订阅者"


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} 秒"
    if seconds < 3600:
        return f"{seconds // 60} 分 {seconds % 60} 秒"
    return f"{seconds // 3600} 小时 {seconds % 3600 // 60} 分"


def _since(start: str | None) -> float:
    if not start:
        return 0.0
    return (datetime.now(UTC) - datetime.fromisoformat(start)).total_seconds()


def progress_text(
    job: Broadcast, counts: dict[str, int], catalogue: Catalogue, rate: float
) -> str:
    """The status message while a broadcast runs."""
    D = DeliveryStatus
    remaining = counts[D.PENDING] + counts[D.SENDING]
    unknown = f" · ❔ 状态未知 {counts[D.UNKNOWN]}" if counts[D.UNKNOWN] else ""
    lines = [
        f"📣 <b>公告 #{job.id}</b> 发送中…",
        f"对象：{describe_audience(job.audience, catalogue)} · 共 {job.total} 个",
        f"✅ 已送达 {counts[D.SENT]} · 🚫 已屏蔽 {counts[D.BLOCKED]} · ⚠️ 失败 {counts[D.FAILED]}"
        + unknown,
        f"⏳ 剩余 {remaining} · 预计还需 {_duration(math.ceil(remaining / rate))}",
    ]
    return "\n".join(lines)


def report_text(job: Broadcast, counts: dict[str, int], catalogue: Catalogue) -> str:
    """The status message once a broadcast is over: what reached whom."""
    D = DeliveryStatus
    cancelled = job.status == BroadcastStatus.CANCELLED
    head = "⏹ 已取消" if cancelled else "✅ 发送完毕"
    lines = [
        f"📣 <b>公告 #{job.id}</b> {head}",
        f"对象：{describe_audience(job.audience, catalogue)} · 共 {job.total} 个"
        f" · 用时 {_duration(_since(job.started_at) - _since(job.finished_at))}",
        f"✅ 已送达 {counts[D.SENT]}",
        f"🚫 已屏蔽或退出 {counts[D.BLOCKED]}（已自动退订）",
        f"⚠️ 失败 {counts[D.FAILED]}",
    ]
    if counts[D.UNKNOWN]:
        lines.append(
            f"❔ 状态未知 {counts[D.UNKNOWN]}（机器人发送时中断，可能已送达；为免重复未自动重发）"
        )
    unsent = counts[D.PENDING] + counts[D.SENDING]
    if unsent:
        lines.append(f"⏹ 未发送 {unsent}")
    return "\n".join(lines)


def report_keyboard(job: Broadcast, counts: dict[str, int]) -> InlineKeyboardMarkup | None:
    D = DeliveryStatus
    rows = []
    if counts[D.FAILED] + counts[D.BLOCKED] + counts[D.UNKNOWN]:
        rows.append([button("📄 失败名单 CSV", Action.CSV, job)])
    if counts[D.UNKNOWN] and job.status != BroadcastStatus.CANCELLED:
        rows.append([button(f"🔁 补发给状态未知的 {counts[D.UNKNOWN]} 个", Action.RESEND, job)])
    return InlineKeyboardMarkup(rows) if rows else None


def stop_keyboard(job: Broadcast) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button("⏹ 取消发送", Action.STOP, job)]])


def failures_csv(rows: list[dict[str, Any]]) -> bytes:
    """The failed, blocked and unknown deliveries as CSV (UTF-8 with BOM: Excel reads it)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["chat_id", "name", "team", "status", "attempts", "error"])
    for r in rows:
        writer.writerow(
            [r["chat_id"], r["name"] or "", r["team"] or "", r["status"], r["attempts"],
             r["error"] or ""]
        )  # fmt: skip
    return out.getvalue().encode("utf-8-sig")


# --- compose panels ----------------------------------------------------------------------------


def _header(svc: Services, bc: Broadcast, title: str) -> list[str]:
    lines = [f"📣 <b>公告 #{bc.id}</b> · {title}"]
    if bc.kind == BroadcastKind.COPY:
        lines.append("内容：原样复制所回复的那条消息")
    if bc.scheduled_at:
        when = local_time(bc.scheduled_at, svc.settings.timezone)
        lines.append(f"🕘 定时：{when}（{svc.settings.timezone}）")
    return lines


def chooser_panel(svc: Services, bc: Broadcast) -> tuple[str, InlineKeyboardMarkup]:
    """Choose the audience: everyone, some tracks, one team."""
    everyone = len(svc.store.subscriptions.active())
    lines = _header(svc, bc, "选择发送对象")
    rows = [
        [button(f"👥 全部订阅者（{everyone}）", Action.ALL, bc)],
        [
            button("🏷 按赛道…", Action.TRACKS, bc),
            button("👨‍👩‍👧 按队伍…", Action.TEAMS, bc),
        ],
        [button("❌ 取消", Action.CANCEL, bc)],
    ]
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def tracks_panel(svc: Services, bc: Broadcast) -> tuple[str, InlineKeyboardMarkup]:
    """Tick tracks (✅), with how many subscribers follow each; 完成 goes to the preview."""
    chosen = set(bc.audience.tracks) if bc.audience and bc.audience.kind == "tracks" else set()
    subs = svc.store.subscriptions.active()
    rows = []
    for track in svc.kb.catalogue.tracks:
        n = sum(1 for s in subs if s.follows(track.id))
        mark = "✅ " if track.id in chosen else ""
        rows.append(
            [
                button(
                    f"{mark}赛道{track.ordinal} · {track.name}（{n}）",
                    Action.TOGGLE_TRACK,
                    bc,
                    track.id,
                )
            ]
        )
    rows.append(
        [
            button("✅ 完成", Action.TRACKS_DONE, bc),
            button("⬅️ 返回", Action.BACK, bc),
        ]
    )
    lines = _header(svc, bc, "选择赛道（可多选）")
    if chosen:
        reach = len(
            svc.store.subscriptions.audience(Audience(AudienceKind.TRACKS, tuple(sorted(chosen))))
        )
        lines.append(f"已选 {len(chosen)} 个赛道 · 收件人 {reach} 个")
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def teams_panel(svc: Services, bc: Broadcast) -> tuple[str, InlineKeyboardMarkup]:
    teams = svc.store.subscriptions.teams()
    rows = [
        [button(f"{name}（{n}）", Action.TEAM, bc, team_token(name))]
        for name, n in teams[:MAX_TEAM_BUTTONS]
    ]
    rows.append([button("⬅️ 返回", Action.BACK, bc)])
    lines = _header(svc, bc, "选择队伍")
    if not teams:
        lines.append("还没有订阅者设置队名（/team 队名）。")
    elif len(teams) > MAX_TEAM_BUTTONS:
        lines.append(f"队伍太多，只列出前 {MAX_TEAM_BUTTONS} 个；其余请用 /broadcast team 队名 …")
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def preview_panel(svc: Services, bc: Broadcast) -> tuple[str, InlineKeyboardMarkup]:
    """The announcement as recipients will see it, who gets it, and 确认发送 / 取消."""
    assert bc.audience is not None
    recipients = svc.store.subscriptions.audience(bc.audience)
    groups = sum(1 for s in recipients if s.kind == ChatKind.GROUP)
    lines = _header(svc, bc, "预览")
    reach = f"收件人 {len(recipients)} 个" + (f"（其中群聊 {groups} 个）" if groups else "")
    lines.append(f"对象：{describe_audience(bc.audience, svc.kb.catalogue)} · {reach}")
    if bc.scheduled_at:
        lines.append("<i>定时公告的收件人按发送时的订阅计算。</i>")
    if bc.kind == BroadcastKind.TEXT:
        parts = split_html(bc.text or "", PREVIEW_LIMIT)
        lines.append("———")
        lines.append(parts[0] + ("\n…" if len(parts) > 1 else ""))
    rows = []
    if recipients or bc.scheduled_at:
        label = "✅ 确认定时" if bc.scheduled_at else "✅ 确认发送"
        rows.append(
            [
                button(label, Action.CONFIRM, bc),
                button("❌ 取消", Action.CANCEL, bc),
            ]
        )
    else:
        lines.append("⚠️ 没有收件人，无法发送。")
        rows.append([button("❌ 取消", Action.CANCEL, bc)])
    rows.append([button("⬅️ 重新选择对象", Action.BACK, bc)])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def broadcast_line(svc: Services, bc: Broadcast) -> str:
    tz = svc.settings.timezone
    audience = describe_audience(bc.audience, svc.kb.catalogue)
    line = f"\n<b>#{bc.id}</b> · {STATUS[bc.status]} · {audience}"
    if bc.status == BroadcastStatus.SCHEDULED and bc.scheduled_at:
        line += f" · {local_time(bc.scheduled_at, tz)}"
        if bc.audience is not None:
            line += f" · 约 {len(svc.store.subscriptions.audience(bc.audience))} 个"
    if bc.total:
        c = svc.store.deliveries.counts(bc.id)
        line += (
            f"\n  共 {bc.total} · 送达 {c['sent']} · 屏蔽 {c['blocked']} · 失败 {c['failed']}"
            + (f" · 未知 {c['unknown']}" if c["unknown"] else "")
            + (f" · 未发 {c['pending'] + c['sending']}" if c["pending"] + c["sending"] else "")
        )
    when = bc.started_at or bc.created_at
    line += f"\n  {local_time(when, tz)} · {html.escape(bc.created_by_name)}"
    return line
