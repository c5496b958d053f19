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
from knowledge.store import Audience, Broadcast
from knowledge.store.broadcasts import (
    BLOCKED,
    CANCELLED,
    COPY,
    DONE,
    DRAFT,
    FAILED,
    PENDING,
    QUEUED,
    RUNNING,
    SCHEDULED,
    SENDING,
    SENT,
    TEXT,
    UNKNOWN,
)
from knowledge.store.subscriptions import GROUP
from knowledge.texts import tr

PREVIEW_LIMIT = 3000  # the part of the text shown in the preview, below the header
MAX_TEAM_BUTTONS = 40
STATUS = {
    DRAFT: "broadcast.status_draft",
    SCHEDULED: "broadcast.status_scheduled",
    QUEUED: "broadcast.status_queued",
    RUNNING: "broadcast.status_running",
    DONE: "broadcast.status_done",
    CANCELLED: "broadcast.status_cancelled",
}


def status_of(bc: Broadcast) -> str:
    return tr("zh", STATUS[bc.status])


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
        return tr("zh", "broadcast.audience_none")
    if audience.kind == "tracks":
        names = [
            tr("zh", "broadcast.audience_track", ordinal=t.ordinal, name=html.escape(t.name))
            for t in catalogue.tracks
            if t.id in audience.tracks
        ]
        return "、".join(names) or tr("zh", "broadcast.audience_no_tracks")
    if audience.kind == "team":
        return tr("zh", "broadcast.audience_team", team=html.escape(audience.team or ""))
    return tr("zh", "broadcast.audience_all")


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return tr("zh", "time.seconds", s=seconds)
    if seconds < 3600:
        return tr("zh", "time.min_sec", m=seconds // 60, s=seconds % 60)
    return tr("zh", "time.hour_min", h=seconds // 3600, m=seconds % 3600 // 60)


def _since(start: str | None) -> float:
    if not start:
        return 0.0
    return (datetime.now(UTC) - datetime.fromisoformat(start)).total_seconds()


def progress_text(
    job: Broadcast, counts: dict[str, int], catalogue: Catalogue, rate: float
) -> str:
    """The status message while a broadcast runs."""
    remaining = counts[PENDING] + counts[SENDING]
    audience = describe_audience(job.audience, catalogue)
    figures = tr(
        "zh", "broadcast.progress_counts", sent=counts[SENT], blocked=counts[BLOCKED],
        failed=counts[FAILED],
    )  # fmt: skip
    if counts[UNKNOWN]:
        figures += tr("zh", "broadcast.progress_unknown", n=counts[UNKNOWN])
    eta = _duration(math.ceil(remaining / rate))
    lines = [
        tr("zh", "broadcast.progress_title", id=job.id),
        tr("zh", "broadcast.audience_line", audience=audience, total=job.total),
        figures,
        tr("zh", "broadcast.progress_left", n=remaining, eta=eta),
    ]
    return "\n".join(lines)


def report_text(job: Broadcast, counts: dict[str, int], catalogue: Catalogue) -> str:
    """The status message once a broadcast is over: what reached whom."""
    cancelled = job.status == CANCELLED
    head = tr("zh", "broadcast.report_cancelled" if cancelled else "broadcast.report_done")
    took = _duration(_since(job.started_at) - _since(job.finished_at))
    audience = describe_audience(job.audience, catalogue)
    lines = [
        tr("zh", "broadcast.report_title", id=job.id, head=head),
        tr("zh", "broadcast.report_audience", audience=audience, total=job.total, took=took),
        tr("zh", "broadcast.report_sent", n=counts[SENT]),
        tr("zh", "broadcast.report_blocked", n=counts[BLOCKED]),
        tr("zh", "broadcast.report_failed", n=counts[FAILED]),
    ]
    if counts[UNKNOWN]:
        lines.append(tr("zh", "broadcast.report_unknown", n=counts[UNKNOWN]))
    unsent = counts[PENDING] + counts[SENDING]
    if unsent:
        lines.append(tr("zh", "broadcast.report_unsent", n=unsent))
    return "\n".join(lines)


def report_keyboard(job: Broadcast, counts: dict[str, int]) -> InlineKeyboardMarkup | None:
    rows = []
    if counts[FAILED] + counts[BLOCKED] + counts[UNKNOWN]:
        rows.append([button(tr("zh", "broadcast.csv_button"), Action.CSV, job)])
    if counts[UNKNOWN] and job.status != CANCELLED:
        label = tr("zh", "broadcast.resend_button", n=counts[UNKNOWN])
        rows.append([button(label, Action.RESEND, job)])
    return InlineKeyboardMarkup(rows) if rows else None


def stop_keyboard(job: Broadcast) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(tr("zh", "broadcast.stop_button"), Action.STOP, job)]])


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


def _header(svc: Services, bc: Broadcast, title_key: str) -> list[str]:
    lines = [tr("zh", "broadcast.panel_title", id=bc.id, title=tr("zh", title_key))]
    if bc.kind == COPY:
        lines.append(tr("zh", "broadcast.panel_copy"))
    if bc.scheduled_at:
        when = local_time(bc.scheduled_at, svc.settings.timezone)
        lines.append(tr("zh", "broadcast.panel_when", when=when, tz=svc.settings.timezone))
    return lines


def chooser_panel(svc: Services, bc: Broadcast) -> tuple[str, InlineKeyboardMarkup]:
    """Choose the audience: everyone, some tracks, one team."""
    everyone = len(svc.store.subscribers())
    lines = _header(svc, bc, "broadcast.choose_title")
    rows = [
        [button(tr("zh", "broadcast.everyone_button", n=everyone), Action.ALL, bc)],
        [
            button(tr("zh", "broadcast.tracks_button"), Action.TRACKS, bc),
            button(tr("zh", "broadcast.teams_button"), Action.TEAMS, bc),
        ],
        [button(tr("zh", "broadcast.cancel_button"), Action.CANCEL, bc)],
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
        label = tr(
            "zh", "broadcast.track_button", mark=mark, ordinal=track.ordinal, name=track.name, n=n
        )
        rows.append([button(label, Action.TOGGLE_TRACK, bc, track.id)])
    rows.append(
        [
            button(tr("zh", "broadcast.done_button"), Action.TRACKS_DONE, bc),
            button(tr("zh", "nav.back"), Action.BACK, bc),
        ]
    )
    lines = _header(svc, bc, "broadcast.tracks_title")
    if chosen:
        reach = len(svc.store.audience(Audience("tracks", tuple(sorted(chosen)))))
        lines.append(tr("zh", "broadcast.tracks_chosen", n=len(chosen), reach=reach))
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def teams_panel(svc: Services, bc: Broadcast) -> tuple[str, InlineKeyboardMarkup]:
    teams = svc.store.teams()
    rows = [
        [button(f"{name}（{n}）", Action.TEAM, bc, team_token(name))]
        for name, n in teams[:MAX_TEAM_BUTTONS]
    ]
    rows.append([button(tr("zh", "nav.back"), Action.BACK, bc)])
    lines = _header(svc, bc, "broadcast.teams_title")
    if not teams:
        lines.append(tr("zh", "broadcast.no_teams"))
    elif len(teams) > MAX_TEAM_BUTTONS:
        lines.append(tr("zh", "broadcast.too_many_teams", n=MAX_TEAM_BUTTONS))
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def preview_panel(svc: Services, bc: Broadcast) -> tuple[str, InlineKeyboardMarkup]:
    """The announcement as recipients will see it, who gets it, and 确认发送 / 取消."""
    assert bc.audience is not None
    recipients = svc.store.audience(bc.audience)
    groups = sum(1 for s in recipients if s.kind == GROUP)
    lines = _header(svc, bc, "broadcast.preview_title")
    reach = tr("zh", "broadcast.reach", n=len(recipients))
    if groups:
        reach += tr("zh", "broadcast.reach_groups", n=groups)
    audience = describe_audience(bc.audience, svc.kb.catalogue)
    lines.append(tr("zh", "broadcast.preview_audience", audience=audience, reach=reach))
    if bc.scheduled_at:
        lines.append(tr("zh", "broadcast.preview_scheduled"))
    if bc.kind == TEXT:
        parts = split_html(bc.text or "", PREVIEW_LIMIT)
        lines.append("———")
        lines.append(parts[0] + ("\n…" if len(parts) > 1 else ""))
    rows = []
    if recipients or bc.scheduled_at:
        key = (
            "broadcast.confirm_scheduled_button" if bc.scheduled_at else "broadcast.confirm_button"
        )
        rows.append(
            [
                button(tr("zh", key), Action.CONFIRM, bc),
                button(tr("zh", "broadcast.cancel_button"), Action.CANCEL, bc),
            ]
        )
    else:
        lines.append(tr("zh", "broadcast.no_recipients"))
        rows.append([button(tr("zh", "broadcast.cancel_button"), Action.CANCEL, bc)])
    rows.append([button(tr("zh", "broadcast.choose_again_button"), Action.BACK, bc)])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def broadcast_line(svc: Services, bc: Broadcast) -> str:
    tz = svc.settings.timezone
    audience = describe_audience(bc.audience, svc.kb.catalogue)
    line = f"\n<b>#{bc.id}</b> · {status_of(bc)} · {audience}"
    if bc.status == SCHEDULED and bc.scheduled_at:
        line += f" · {local_time(bc.scheduled_at, tz)}"
        if bc.audience is not None:
            line += tr("zh", "broadcast.line_about", n=len(svc.store.audience(bc.audience)))
    if bc.total:
        c = svc.store.delivery_counts(bc.id)
        line += "\n  " + tr(
            "zh", "broadcast.line_counts", total=bc.total, sent=c["sent"], blocked=c["blocked"],
            failed=c["failed"],
        )  # fmt: skip
        if c["unknown"]:
            line += tr("zh", "broadcast.line_unknown", n=c["unknown"])
        if c["pending"] + c["sending"]:
            line += tr("zh", "broadcast.line_unsent", n=c["pending"] + c["sending"])
    when = bc.started_at or bc.created_at
    line += f"\n  {local_time(when, tz)} · {html.escape(bc.created_by_name)}"
    return line
