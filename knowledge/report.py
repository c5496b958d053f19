"""Figures by day for /stats, `contest-bot report` and the daily digest: how many asked, how the
bot answered them, and how long people waited for the organizers' first answer.

Days are calendar days in TIMEZONE; the database keeps UTC.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from knowledge.store import Store
from knowledge.texts import tr

DEFAULT_DAYS = 7
MAX_DAYS = 60
# How the bot handled a question: its intent, in three kinds. Everything the bot answered
# from the catalogue (a problem, a track, the list, help) is "catalogue".
CATALOGUE, FAQ, ESCALATED = "catalogue", "faq", "escalated"
KIND_LABELS = {
    CATALOGUE: tr("zh", "stats.kind_catalogue"),
    FAQ: tr("zh", "stats.kind_faq"),
    ESCALATED: tr("zh", "stats.kind_escalated"),
}


def kind_of(intent: str) -> str:
    if intent == "faq":
        return FAQ
    if intent == "escalate":
        return ESCALATED
    return CATALOGUE


@dataclass(frozen=True)
class DayFigures:
    """One day: questions by how the bot handled them, and the tickets opened that day."""

    day: date
    catalogue: int = 0
    faq: int = 0
    escalated: int = 0
    tickets: int = 0
    # Minutes from each ticket opened this day to the organizers' first answer, ascending;
    # tickets not answered yet have none.
    waits: tuple[float, ...] = field(default=())

    @property
    def asked(self) -> int:
        return self.catalogue + self.faq + self.escalated

    @property
    def median(self) -> float | None:
        return statistics.median(self.waits) if self.waits else None

    @property
    def p90(self) -> float | None:
        return percentile(self.waits, 0.9) if self.waits else None

    def count(self, kind: str) -> int:
        return {CATALOGUE: self.catalogue, FAQ: self.faq, ESCALATED: self.escalated}[kind]


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least `fraction` of the values at or below it
    (the 9th of 10 for P90)."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass(frozen=True)
class Report:
    """Consecutive days, the last one first seen at `made_at` (local time)."""

    days: tuple[DayFigures, ...]
    timezone: str
    open_tickets: int
    made_at: datetime

    @property
    def total(self) -> DayFigures:
        """All the days as one."""
        return DayFigures(
            day=self.days[-1].day,
            catalogue=sum(d.catalogue for d in self.days),
            faq=sum(d.faq for d in self.days),
            escalated=sum(d.escalated for d in self.days),
            tickets=sum(d.tickets for d in self.days),
            waits=tuple(sorted(w for d in self.days for w in d.waits)),
        )


def day_bounds(first: date, last: date, tz: ZoneInfo) -> tuple[str, str]:
    """[start, end) of the local days first..last as UTC ISO text, as the database writes it."""
    start = datetime.combine(first, time(), tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), tz).astimezone(UTC)
    return start.isoformat(timespec="seconds"), end.isoformat(timespec="seconds")


def figures_by_day(store: Store, first: date, last: date, timezone: str) -> list[DayFigures]:
    """Each local day from first to last, empty days included."""
    tz = ZoneInfo(timezone)
    start, end = day_bounds(first, last, tz)
    days = (last - first).days + 1
    counts = [{CATALOGUE: 0, FAQ: 0, ESCALATED: 0, "tickets": 0} for _ in range(days)]
    waits: list[list[float]] = [[] for _ in range(days)]

    def index(stamp: str) -> int:
        return (datetime.fromisoformat(stamp).astimezone(tz).date() - first).days

    for created, intent in store.questions.asked_between(start, end):
        counts[index(created)][kind_of(intent)] += 1
    for created, first_answered in store.tickets.between(start, end):
        i = index(created)
        counts[i]["tickets"] += 1
        if first_answered:
            seconds = (
                datetime.fromisoformat(first_answered) - datetime.fromisoformat(created)
            ).total_seconds()
            waits[i].append(max(0.0, seconds) / 60)
    return [
        DayFigures(
            day=first + timedelta(days=i),
            catalogue=c[CATALOGUE],
            faq=c[FAQ],
            escalated=c[ESCALATED],
            tickets=c["tickets"],
            waits=tuple(sorted(waits[i])),
        )
        for i, c in enumerate(counts)
    ]


def build_report(store: Store, days: int, timezone: str, now: datetime) -> Report:
    """The last `days` local days, today (so far) included."""
    local = now.astimezone(ZoneInfo(timezone))
    last = local.date()
    first = last - timedelta(days=days - 1)
    return Report(
        days=tuple(figures_by_day(store, first, last, timezone)),
        timezone=timezone,
        open_tickets=store.tickets.counts()[1],
        made_at=local,
    )


def short_day(day: date) -> str:
    return f"{day.month}/{day.day}"


def minutes(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def share(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "—"


def caption(report: Report, limit: int, length: Callable[[str], int]) -> str:
    """The figures the chart shows, as plain text (organizers read Chinese): totals, then one
    line a day (the latest days, as many as fit in `limit` as `length` counts: Telegram's
    caption limit and UTF-16 length, from bot/telegram_text.py)."""
    total = report.total
    first, last = report.days[0].day, report.days[-1].day
    span = short_day(last) if first == last else f"{short_day(first)}–{short_day(last)}"
    bot_answered = share(total.catalogue + total.faq, total.asked)
    lines = [
        tr(
            "zh", "stats.caption_title", days=len(report.days), span=span, timezone=report.timezone
        ),
        tr("zh", "stats.caption_asked", **_counts(total)),
        tr("zh", "stats.caption_self_answered", share=bot_answered),
        tr("zh", "stats.caption_tickets", tickets=total.tickets, open=report.open_tickets),
    ]
    if total.waits:
        lines.append(tr("zh", "stats.caption_waits", **_waits(total)))
    else:
        lines.append(tr("zh", "stats.caption_no_waits"))
    if len(report.days) == 1:
        return "\n".join(lines)
    lines.append(tr("zh", "stats.caption_daily_head"))
    daily = [
        tr("zh", "stats.caption_day", day=short_day(d.day), **_counts(d), **_waits(d))
        for d in report.days
    ]
    more = tr("zh", "stats.caption_earlier")
    budget = limit - length("\n".join(lines))
    shown: list[str] = []
    for line in reversed(daily):  # the latest days matter most
        rest = budget - length(line) - 1
        if rest < 0 or (len(shown) + 1 < len(daily) and rest < length(more) + 1):
            break
        shown.insert(0, line)
        budget = rest
    if len(shown) < len(daily):
        shown.insert(0, more)
    return "\n".join(lines + shown)


def _counts(figures: DayFigures) -> dict[str, int]:
    return {
        "asked": figures.asked,
        "catalogue": figures.catalogue,
        "faq": figures.faq,
        "escalated": figures.escalated,
    }


def _waits(figures: DayFigures) -> dict[str, str]:
    return {"median": minutes(figures.median), "p90": minutes(figures.p90)}
