"""The picture of /stats and `contest-bot report`: questions per day by how the bot handled
them, and the time to the organizers' first answer (median and P90) per day.

Drawn with Pillow, imported only when a chart is drawn, so that the bot starts as fast and
as small as without it. Labels are set in the Noto Sans CJK subset shipped in data/fonts.
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.report import CATALOGUE, ESCALATED, FAQ, KIND_LABELS, Report, short_day
from knowledge.texts import tr

if TYPE_CHECKING:
    from PIL import ImageDraw, ImageFont

FONT_FILE = "NotoSansCJKsc-Regular-subset.otf"
# Portrait 4:5, the shape a phone shows largest; Telegram keeps photos up to 1280 px a side.
WIDTH, HEIGHT = 1080, 1350
LEFT, RIGHT = 130, 1030  # the plot areas' x range
# Text sizes in pixels: a phone shows the picture about 360 points wide, so 32 px reads as 11 pt.
TITLE, HEADING, LABEL, SMALL = 58, 40, 32, 26
KINDS = (CATALOGUE, FAQ, ESCALATED)  # bottom to top in a bar
COLORS = {CATALOGUE: (76, 120, 168), FAQ: (84, 162, 75), ESCALATED: (245, 133, 24)}
MEDIAN_COLOR, P90_COLOR = (47, 109, 181), (214, 69, 65)
INK, MUTED, GRID, PAPER = (33, 37, 41), (108, 117, 125), (225, 229, 233), (255, 255, 255)


@lru_cache(maxsize=8)
def font(size: int) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    found = resources.files("knowledge").joinpath("data", "fonts", FONT_FILE)
    if isinstance(found, Path):  # installed as files: FreeType reads the glyphs it needs
        return ImageFont.truetype(str(found), size)
    return ImageFont.truetype(io.BytesIO(found.read_bytes()), size)  # from a zip: in memory


def nice_ticks(top: float, count: int = 5, *, whole: bool = True) -> list[float]:
    """Axis ticks from 0 to at least `top` in steps of 1, 2 or 5 times a power of ten."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if whole:
        step = max(1.0, step)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def tick_label(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:g}"


class _Canvas:
    """Pillow's drawing with the chart's font; every string drawn is kept in `texts`."""

    def __init__(self, draw: ImageDraw.ImageDraw) -> None:
        self.draw = draw
        self.texts: list[str] = []

    def text(
        self,
        xy: tuple[float, float],
        text: str,
        size: int,
        fill: tuple[int, int, int] = INK,
        anchor: str = "la",
        bold: bool = False,
    ) -> None:
        self.texts.append(text)
        self.draw.text(
            xy, text, font=font(size), fill=fill, anchor=anchor,
            stroke_width=1 if bold else 0, stroke_fill=fill,
        )  # fmt: skip

    def width(self, text: str, size: int) -> float:
        return float(self.draw.textlength(text, font=font(size)))

    def legend(self, x: float, y: float, items: list[tuple[str, tuple[int, int, int]]]) -> None:
        for label, color in items:
            self.draw.rounded_rectangle((x, y - 13, x + 26, y + 13), radius=5, fill=color)
            self.text((x + 36, y), label, LABEL, MUTED, anchor="lm")
            x += 36 + self.width(label, LABEL) + 40


def draw_report(report: Report, texts: list[str] | None = None) -> bytes:
    """The report as a PNG; `texts`, when given, receives every string drawn."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    canvas = _Canvas(ImageDraw.Draw(image))
    days = report.days
    first, last = days[0].day, days[-1].day
    canvas.text((50, 40), tr("zh", "chart.title", days=len(days)), TITLE, bold=True)
    period = "chart.period" if first != last else "chart.period_one_day"
    dates = {"first": f"{first:%Y-%m-%d}", "last": f"{last:%Y-%m-%d}"}
    canvas.text((50, 118), tr("zh", period, **dates, timezone=report.timezone), SMALL, MUTED)
    _questions_panel(canvas, report, top=190, bottom=780)
    _waits_panel(canvas, report, top=820, bottom=1290)
    made = tr("zh", "chart.made_at", when=f"{report.made_at:%Y-%m-%d %H:%M}")
    canvas.text((WIDTH - 40, HEIGHT - 22), made, SMALL - 4, MUTED, anchor="rs")
    if texts is not None:
        texts.extend(canvas.texts)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _x_labels(canvas: _Canvas, report: Report, y: float, slot: float) -> None:
    """M/D under the days, as many as fit; the last day always."""
    every = max(1, math.ceil(110 / slot))
    count = len(report.days)
    for i, day in enumerate(report.days):
        if (count - 1 - i) % every == 0:
            x = LEFT + slot * (i + 0.5)
            canvas.text((x, y), short_day(day.day), LABEL, MUTED, anchor="mt")


def _y_axis(
    canvas: _Canvas, ticks: list[float], top: float, bottom: float
) -> Callable[[float], float]:
    """Grid lines and labels; the function from a value to its y."""
    scale = (bottom - top) / ticks[-1]

    def y_of(value: float) -> float:
        return bottom - value * scale

    for tick in ticks:
        y = y_of(tick)
        canvas.draw.line((LEFT, y, RIGHT, y), fill=GRID if tick else MUTED, width=2)
        canvas.text((LEFT - 14, y), tick_label(tick), LABEL, MUTED, anchor="rm")
    return y_of


def _questions_panel(canvas: _Canvas, report: Report, top: int, bottom: int) -> None:
    canvas.text((50, top), tr("zh", "chart.questions_heading"), HEADING, bold=True)
    canvas.legend(50, top + 80, [(KIND_LABELS[k], COLORS[k]) for k in KINDS])
    plot_top, plot_bottom = top + 140, bottom - 56
    ticks = nice_ticks(max(d.asked for d in report.days))
    y_of = _y_axis(canvas, ticks, plot_top, plot_bottom)
    slot = (RIGHT - LEFT) / len(report.days)
    if not any(d.asked for d in report.days):
        middle = ((LEFT + RIGHT) / 2, (plot_top + plot_bottom) / 2)
        canvas.text(middle, tr("zh", "chart.no_questions"), LABEL, MUTED, anchor="mm")
    bar = max(2.0, slot * 0.62)
    for i, day in enumerate(report.days):
        x = LEFT + slot * (i + 0.5)
        base = 0
        for kind in KINDS:
            n = day.count(kind)
            if n:
                canvas.draw.rectangle(
                    (x - bar / 2, y_of(base + n), x + bar / 2, y_of(base)), fill=COLORS[kind]
                )
                base += n
        if day.asked and slot >= 56:
            canvas.text((x, y_of(day.asked) - 8), str(day.asked), LABEL, INK, anchor="ms")
    _x_labels(canvas, report, plot_bottom + 14, slot)


def _waits_panel(canvas: _Canvas, report: Report, top: int, bottom: int) -> None:
    highest = max((d.p90 or 0.0) for d in report.days)
    hours = highest >= 180
    unit, divisor = (tr("zh", "chart.hours"), 60.0) if hours else (tr("zh", "chart.minutes"), 1.0)
    canvas.text((50, top), tr("zh", "chart.waits_heading", unit=unit), HEADING, bold=True)
    legend = [(tr("zh", "chart.median"), MEDIAN_COLOR), (tr("zh", "chart.p90"), P90_COLOR)]
    canvas.legend(50, top + 80, legend)
    plot_top, plot_bottom = top + 140, bottom - 56
    if not any(d.waits for d in report.days):
        canvas.text(
            ((LEFT + RIGHT) / 2, (plot_top + plot_bottom) / 2),
            tr("zh", "chart.no_waits"), LABEL, MUTED, anchor="mm",
        )  # fmt: skip
        return
    ticks = nice_ticks(highest / divisor, whole=False)
    y_of = _y_axis(canvas, ticks, plot_top, plot_bottom)
    slot = (RIGHT - LEFT) / len(report.days)
    for values, color in (
        ([d.p90 for d in report.days], P90_COLOR),
        ([d.median for d in report.days], MEDIAN_COLOR),
    ):
        points = [
            None if v is None else (LEFT + slot * (i + 0.5), y_of(v / divisor))
            for i, v in enumerate(values)
        ]
        for a, b in itertools.pairwise(points):
            if a is not None and b is not None:  # a day without answers breaks the line
                canvas.draw.line((a, b), fill=color, width=6)
        radius = 9 if slot >= 20 else 5
        for p in points:
            if p is not None:
                canvas.draw.ellipse(
                    (p[0] - radius, p[1] - radius, p[0] + radius, p[1] + radius), fill=color
                )
    _x_labels(canvas, report, plot_bottom + 14, slot)
