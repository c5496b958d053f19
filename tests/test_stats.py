"""Organizers see the contest at a glance: /stats as a picture with its figures as the caption,
`contest-bot report`, and the daily digest with topics answered once — figures from a seeded
database, the bot end to end against the Bot API emulator, time from an injected clock."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import (
    CONTESTANT,
    ORGANIZER,
    ORGANIZER_GROUP,
    World,
    buttons,
    close_stores,
    polling_world,
    says,
    settings_for,
    start_emulator,
    stop_world,
)
from PIL import Image, ImageDraw

from bot.app import shutdown
from bot.cli import main as cli
from bot.config import ConfigError, Settings
from bot.sandbox import ChatMessage, User
from bot.telegram_text import MAX_CAPTION_LENGTH, utf16_len
from handlers.stats import TopicAction, TopicButton, check_digest, due_day
from knowledge.base import KnowledgeBase
from knowledge.chart import draw_report, font, nice_ticks
from knowledge.report import build_report, caption, percentile, short_day
from knowledge.store import MessageKind, Store
from knowledge.topics import group_topics

GROUP = ORGANIZER_GROUP
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 5, 12, 10, 0, tzinfo=SHANGHAI)  # the clock of these tests
XIAOHONG = User(1002, "小红", language_code="zh-hans")
XIAOGANG = User(1003, "小刚", language_code="zh-hans")
PRIZE = "一等奖奖金是多少？"


def at(day: int, hour: int, minute: int = 0) -> str:
    """A moment of May 2024 in Shanghai, as the store writes it (UTC)."""
    local = datetime(2024, 5, day, hour, minute, tzinfo=SHANGHAI)
    return local.astimezone(UTC).isoformat(timespec="seconds")


def ask(store: Store, when: str, intent: str, text: str = "问题", user_id: int = 1) -> int:
    question = store.questions.log(user_id, user_id, text, intent, [], 0.5)
    store.db.table("questions").update(question.id, {"created_at": when})
    return question.id


def ticket(store: Store, created: str, wait_minutes: float | None) -> int:
    """A ticket opened at `created`, first answered `wait_minutes` later (None: open)."""
    # Its question was asked long before, so that it does not count among the days shown.
    question = store.questions.get(ask(store, "2024-01-01T00:00:00+00:00", "escalate"))
    assert question is not None
    opened, _ = store.tickets.create(
        question, user_name="小明", username=None, lang="zh", guesses=[]
    )
    changes: dict[str, Any] = {"created_at": created, "waiting_since": created}
    if wait_minutes is not None:
        first = datetime.fromisoformat(created) + timedelta(minutes=wait_minutes)
        changes |= {"status": "answered", "first_answered_at": first.isoformat()}
    else:  # posted and raised long ago: a running bot's SLA loop has nothing to send for it
        store.tickets.link_message(GROUP, 900_000 + opened.id, opened.id, MessageKind.POST)
        changes["sla_reminded_at"] = created
    store.tickets.update(opened.id, **changes)
    return opened.id


def seed(store: Store) -> None:
    """Three days in Shanghai, 5/10 to 5/12, and rows just outside them."""
    ask(store, at(9, 23, 59), "problem")  # the day before: not shown
    for intent in ("problem", "track", "faq", "escalate"):
        ask(store, at(10, 9), intent)
    ask(store, at(11, 0, 30), "search")  # 5/10 16:30 UTC: 5/11 in Shanghai
    for intent in ("help", "tracks", "problem", "escalate", "escalate"):
        ask(store, at(11, 14), intent)
    ask(store, at(12, 8), "faq")
    ticket(store, at(10, 10), 30)
    for minutes in range(1, 11):
        ticket(store, at(11, 9), minutes)
    ticket(store, at(11, 20), None)


def day_line(day: str, counts: tuple[int, int, int, int], median: str, p90: str) -> str:
    """One day of the caption: questions (all, catalogue, FAQ, escalated), first answer times."""
    asked, catalogue, faq, escalated = counts
    return says(
        "stats.caption_day",
        day=day,
        asked=asked,
        catalogue=catalogue,
        faq=faq,
        escalated=escalated,
        median=median,
        p90=p90,
    )


EXPECTED_CAPTION = "\n".join(
    [
        says("stats.caption_title", days=3, span="5/10–5/12", timezone="Asia/Shanghai"),
        says("stats.caption_asked", asked=11, catalogue=6, faq=2, escalated=3),
        says("stats.caption_self_answered", share="73%"),
        says("stats.caption_tickets", tickets=12, open=1),
        says("stats.caption_waits", median="6.0", p90="10.0"),
        says("stats.caption_daily_head"),
        day_line("5/10", (4, 2, 1, 1), "30.0", "30.0"),
        day_line("5/11", (6, 4, 0, 2), "5.5", "9.0"),
        day_line("5/12", (1, 0, 1, 0), "—", "—"),
    ]
)


def assert_chart(png: bytes) -> None:
    """A PNG Telegram takes and a phone shows whole: portrait, 1080 px wide, not huge."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert 20_000 < len(png) < 1_000_000
    with Image.open(io.BytesIO(png)) as image:
        assert (image.format, image.size) == ("PNG", (1080, 1350))
        image.verify()


def glyph(ch: str) -> bytes:
    image = Image.new("L", (64, 64))
    ImageDraw.Draw(image).text((8, 8), ch, font=font(40), fill=255)
    return image.tobytes()


# --- figures and the picture, from a seeded database ----------------------------------------


@pytest.mark.parametrize(
    ("data", "button"),
    [
        ("dg:t:5", TopicButton(TopicAction.ANSWER, 5)),
        ("dg:f:5", TopicButton(TopicAction.SAVE_FAQ, 5)),
    ],
)
def test_topic_buttons_keep_their_wire_format(data: str, button: TopicButton) -> None:
    """Digests already posted keep working: their buttons' data reads back the same."""
    assert TopicButton.decode(data) == button and button.encode() == data
    assert [a for a in TopicAction if TopicButton.pattern(a).match(data)] == [button.action]


@pytest.mark.parametrize("data", ["dg:x:5", "dg:t:", "dg:t:5:1", "tk:t:5"])
def test_topic_buttons_refuse_what_no_digest_sends(data: str) -> None:
    with pytest.raises(ValueError, match="not a digest topic button"):
        TopicButton.decode(data)


def test_report_counts_shanghai_days_and_first_answer_times(store: Store) -> None:
    seed(store)
    report = build_report(store, 3, "Asia/Shanghai", NOW)
    assert [(d.day, d.catalogue, d.faq, d.escalated, d.tickets) for d in report.days] == [
        (date(2024, 5, 10), 2, 1, 1, 1),
        (date(2024, 5, 11), 4, 0, 2, 11),
        (date(2024, 5, 12), 0, 1, 0, 0),
    ]
    assert caption(report, MAX_CAPTION_LENGTH, utf16_len) == EXPECTED_CAPTION


def test_chart_is_a_png_with_every_label_in_the_shipped_font(store: Store) -> None:
    seed(store)
    drawn: list[str] = []
    png = draw_report(build_report(store, 3, "Asia/Shanghai", NOW), drawn)
    assert_chart(png)
    assert says("chart.title", days=3) in drawn and "5/11" in drawn
    assert says("stats.kind_catalogue") in drawn
    # A character the font lacks is drawn like a private-use one: as its empty .notdef glyph
    # (a space is empty too, and in the font).
    lacking = {
        ch for text in drawn for ch in text if not ch.isspace() and glyph(ch) == glyph("\ue000")
    }
    assert lacking == set()


def test_chart_of_days_without_questions_or_answers(store: Store) -> None:
    drawn: list[str] = []
    assert_chart(draw_report(build_report(store, 60, "Asia/Shanghai", NOW), drawn))
    assert says("chart.no_questions") in drawn and says("chart.no_waits") in drawn


def test_caption_of_sixty_busy_days_fits_telegram_with_the_latest_days(store: Store) -> None:
    for day in range(60):
        when = (NOW - timedelta(days=day)).astimezone(UTC).isoformat(timespec="seconds")
        for _ in range(12):
            ask(store, when, "problem")
        ticket(store, when, 1000.5)
    text = caption(build_report(store, 60, "Asia/Shanghai", NOW), MAX_CAPTION_LENGTH, utf16_len)
    assert len(text.encode("utf-16-le")) // 2 <= 1024
    assert says("stats.caption_earlier") in text
    assert text.endswith(day_line("5/12", (12, 12, 0, 0), "1000.5", "1000.5"))


@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        (0, [0, 1]),
        (3, [0, 1, 2, 3]),
        (7, [0, 2, 4, 6, 8]),
        (58, [0, 20, 40, 60]),
        (100, [0, 20, 40, 60, 80, 100]),
        (1234, [0, 500, 1000, 1500]),
    ],
)
def test_axis_ticks_are_round(top: float, ticks: list[float]) -> None:
    assert nice_ticks(top) == ticks


def test_p90_of_ten_waits_is_the_ninth() -> None:
    assert percentile([float(m) for m in range(1, 11)], 0.9) == 9.0
    assert percentile([4.0], 0.9) == 4.0


# --- topics of escalated questions ----------------------------------------------------------


class Asked:
    def __init__(self, id: int, user_id: int, text: str) -> None:
        self.id, self.user_id, self.text = id, user_id, text


def test_topics_group_rewordings_and_rank_by_askers() -> None:
    topics = group_topics(
        [
            Asked(1, 1, "一等奖奖金是多少？"),
            Asked(2, 2, "决赛在哪里举办？"),
            Asked(3, 3, "一等奖的奖金有多少"),
            Asked(4, 3, "一等奖奖金多少钱"),
            Asked(5, 4, "决赛在哪里"),
            Asked(6, 5, "队伍最多几个人"),
            Asked(7, 5, "决赛在哪里举办"),
            Asked(8, 6, "Can we submit in English?"),
        ]
    )
    assert [(t.label, t.question_ids, t.askers) for t in topics] == [
        ("决赛在哪里举办？", (2, 5, 7), 3),
        ("一等奖奖金是多少？", (1, 3, 4), 2),
        ("队伍最多几个人", (6,), 1),
        ("Can we submit in English?", (8,), 1),
    ]


def test_topics_grouped_by_meaning_where_the_knowledge_base_groups_them(kb: KnowledgeBase) -> None:
    questions = [
        Asked(1, 1, "决赛在哪里举办？"),
        Asked(2, 2, "决赛地点在哪"),  # no shared wording to speak of: grouped by meaning
        Asked(3, 3, "决赛什么时候举办？"),  # when, not where: its own topic
        Asked(4, 4, "一等奖奖金是多少？"),
    ]
    if kb.embedder is None:
        pytest.skip("sentence embeddings are Linux x86-64 only")
    topics = group_topics(questions, kb.group_questions)
    assert [t.question_ids for t in topics] == [(1, 2), (3,), (4,)]


# --- settings, schedule ---------------------------------------------------------------------


def test_digest_time_is_off_by_default_and_read_as_hh_mm() -> None:
    assert Settings.from_env({}).digest_time is None
    assert Settings.from_env({"DIGEST_TIME": "off"}).digest_time is None
    assert Settings.from_env({"DIGEST_TIME": "9:05"}).digest_time == time(9, 5)
    for bad in ("25:00", "9", "09:60", "nine"):
        with pytest.raises(ConfigError, match="DIGEST_TIME"):
            Settings.from_env({"DIGEST_TIME": bad})


@pytest.mark.parametrize(
    ("local", "due"),
    [
        (datetime(2024, 5, 12, 8, 59), date(2024, 5, 11)),
        (datetime(2024, 5, 12, 9, 0), date(2024, 5, 12)),
        (datetime(2024, 5, 12, 23, 59), date(2024, 5, 12)),
        (datetime(2024, 5, 13, 0, 0), date(2024, 5, 12)),
    ],
)
def test_the_digest_due_last_is_todays_once_its_time_passed(local: datetime, due: date) -> None:
    now = local.replace(tzinfo=SHANGHAI).astimezone(UTC)
    assert due_day(now, time(9, 0), "Asia/Shanghai") == due


# --- /stats, end to end ---------------------------------------------------------------------


class Clock:
    """The bot's clock in these tests: it says what the test says, and tells when it was read."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.read = asyncio.Event()

    def __call__(self) -> datetime:
        self.read.set()
        return self.now


async def open_world(tmp_path: Path, clock: Clock, **overrides: Any) -> World:
    """The bot against a new emulator, its clock set before it starts (the digest job looks
    at start)."""
    emulator = await start_emulator()
    settings = settings_for(emulator, tmp_path, **overrides)

    def set_clock(app: Any) -> None:
        app.bot_data.clock = clock

    return await polling_world(emulator, settings, set_clock)


async def restart(world: World, clock: Clock) -> World:
    """Stop the bot and start a new one on the same database and the same Telegram."""
    assert world.app.updater is not None
    await world.app.updater.stop()
    await shutdown(world.app)
    close_stores(world)
    settings = world.settings

    def set_clock(app: Any) -> None:
        app.bot_data.clock = clock

    return await polling_world(world.emulator, settings, set_clock)


@pytest.fixture
async def stats_world(tmp_path: Path) -> AsyncIterator[World]:
    running = await open_world(tmp_path, Clock(NOW))
    try:
        yield running
    finally:
        await stop_world(running)


async def stats(world: World, text: str = "/stats 3") -> ChatMessage:
    (reply,) = await world.say(text, ORGANIZER, GROUP)
    return reply


@pytest.mark.e2e
async def test_stats_sends_one_picture_with_the_figures_as_caption(stats_world: World) -> None:
    world = stats_world
    seed(world.store)
    reply = await stats(world)
    assert reply.photo is not None and reply.text == EXPECTED_CAPTION
    assert_chart(world.emulator.file_data(reply))
    assert [c.method for c in world.emulator.calls if c.method.lower() == "sendphoto"] == [
        "sendPhoto"
    ]


@pytest.mark.e2e
async def test_stats_without_days_shows_a_week_and_refuses_odd_days(stats_world: World) -> None:
    world = stats_world
    week = await stats(world, "/stats")
    title = says("stats.caption_title", days=7, span="5/6–5/12", timezone="Asia/Shanghai")
    empty = says("stats.caption_asked", asked=0, catalogue=0, faq=0, escalated=0)
    assert week.text.startswith(f"{title}\n{empty}\n")
    for odd in ("/stats 0", "/stats 61", "/stats 三", "/stats 3 4"):
        reply = await stats(world, odd)
        assert reply.photo is None
        assert reply.text == says("stats.usage", max_days=60, default_days=7), odd


@pytest.mark.e2e
async def test_stats_time_to_first_answer_ignores_later_follow_ups(stats_world: World) -> None:
    world = stats_world
    world.app.bot_data.clock = lambda: datetime.now(UTC)
    (offer,) = await world.say(PRIZE)
    await world.press(offer, "提交给组委会")
    post = await world.emulator.wait_for(
        lambda: next((m for m in world.messages(GROUP) if m.text.startswith("🆕")), None)
    )
    ticket_id = int(post.text.split("#")[1].split("\n")[0])
    await world.say("10 万元。", ORGANIZER, GROUP, reply_to=post.message_id)
    created = datetime.now(UTC) - timedelta(minutes=60)
    world.store.tickets.update(
        ticket_id,
        created_at=created.isoformat(timespec="seconds"),
        first_answered_at=(created + timedelta(minutes=10)).isoformat(timespec="seconds"),
    )
    answer = await world.emulator.wait_for(
        lambda: next((m for m in world.messages(CONTESTANT.id) if "组委会回复了" in m.text), None)
    )
    await world.say("税前还是税后？", reply_to=answer.message_id)
    followup = await world.emulator.wait_for(
        lambda: next((m for m in world.messages(GROUP) if "追问" in m.text), None)
    )
    await world.say("税前。", ORGANIZER, GROUP, reply_to=followup.message_id)
    reply = await stats(world, "/stats 2")
    assert says("stats.caption_waits", median="10.0", p90="10.0") in reply.text


@pytest.mark.slow
def test_the_bot_starts_without_the_plotting_library(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from bot.app import build_application\n"
        "from bot.config import Settings\n"
        f"build_application(Settings(db_path={str(tmp_path / 'x.db')!r}), '123:abc')\n"
        "print(sorted(m for m in sys.modules if m == 'PIL' or m.startswith('PIL.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    assert out.stdout.strip() == "[]"


def test_report_command_draws_the_same_picture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bot.db"
    store = Store(db)
    now = datetime.now(UTC)
    for intent in ("problem", "faq", "escalate", "escalate"):
        ask(store, now.isoformat(timespec="seconds"), intent)
    store.close()
    monkeypatch.setenv("CONTEST_BOT_DB", str(db))
    monkeypatch.setenv("TIMEZONE", "Asia/Shanghai")
    out = tmp_path / "report.png"
    today, day = datetime.now(SHANGHAI).date(), timedelta(days=1)
    assert cli(["report", "--days", "2", "-o", str(out)]) == 0
    printed = capsys.readouterr()
    assert_chart(out.read_bytes())
    assert says("stats.caption_asked", asked=4, catalogue=1, faq=1, escalated=2) in printed.out
    # Two Shanghai days ending today (or tomorrow, when the command ran past midnight).
    spans = [f"{short_day(d - day)}–{short_day(d)}" for d in (today, today + day)]
    titles = {says("stats.caption_title", days=2, span=s, timezone="Asia/Shanghai") for s in spans}
    assert printed.out.splitlines()[0] in titles
    assert f"chart written to {out}" in printed.err
    monkeypatch.setenv("CONTEST_BOT_DB", str(tmp_path / "none.db"))
    assert cli(["report", "-o", str(out)]) == 1
    assert "no database" in capsys.readouterr().err


# --- the daily digest -----------------------------------------------------------------------


def digests(world: World) -> list[ChatMessage]:
    return [m for m in world.messages(GROUP) if m.from_bot and m.text.startswith("🗞")]


async def looked(clock: Clock) -> None:
    """Until the digest job has read the clock: when it finds the digest posted before, it is
    done then (nothing between reading the clock and returning waits)."""
    await asyncio.wait_for(clock.read.wait(), timeout=10)
    clock.read.clear()


async def posted(world: World, count: int) -> list[ChatMessage]:
    """Until the organizers' group shows `count` digests."""
    return await world.emulator.wait_for(
        lambda: digests(world) if len(digests(world)) >= count else None, timeout=10
    )


@pytest.mark.e2e
async def test_digest_is_posted_once_a_day_across_restarts(tmp_path: Path) -> None:
    clock = Clock(datetime(2024, 5, 12, 9, 5, tzinfo=SHANGHAI))
    world = await open_world(tmp_path, clock, digest_time=time(9, 0))
    try:
        # Started after 9:00: today's digest, at once.
        (first,) = await posted(world, 1)
        assert first.text.startswith(says("digest.title", month=5, day=11, weekday="六") + "\n")
        # A restart the same day: no second one.
        clock.now = datetime(2024, 5, 12, 11, 0, tzinfo=SHANGHAI)
        world = await restart(world, clock)
        await looked(clock)
        assert digests(world) == [first]
        assert await check_digest(world.app) == "done"
        # The next morning, at 9:00, the next one.
        clock.now = datetime(2024, 5, 13, 8, 59, tzinfo=SHANGHAI)
        assert await check_digest(world.app) == "done"
        clock.now = datetime(2024, 5, 13, 9, 0, tzinfo=SHANGHAI)
        assert await check_digest(world.app) == "posted"
        assert await check_digest(world.app) == "done"
        assert [m.text.split("\n")[0] for m in digests(world)] == [
            "🗞 每日简报 · 5月11日（周六）",
            "🗞 每日简报 · 5月12日（周日）",
        ]
        # Down at 9:00 the day after: posted when the bot is back, not skipped.
        clock.now = datetime(2024, 5, 14, 10, 30, tzinfo=SHANGHAI)
        world = await restart(world, clock)
        assert len(await posted(world, 3)) == 3
        title = says("digest.title", month=5, day=13, weekday="一")
        assert digests(world)[-1].text.startswith(title + "\n")
        assert await check_digest(world.app) == "done"
    finally:
        await stop_world(world)


@pytest.mark.e2e
async def test_digest_failing_to_post_is_tried_again_at_the_next_check(tmp_path: Path) -> None:
    clock = Clock(datetime(2024, 5, 12, 8, 0, tzinfo=SHANGHAI))
    world = await open_world(tmp_path, clock, digest_time=time(9, 0))
    try:
        await posted(world, 1)  # yesterday's due digest, posted at start
        clock.now = datetime(2024, 5, 12, 9, 0, tzinfo=SHANGHAI)
        world.emulator.inject_fault("error_500", methods=["sendMessage"], on_calls=[1])
        assert await check_digest(world.app) == "failed"
        assert await check_digest(world.app) == "posted"
        assert await check_digest(world.app) == "done"
        assert [m.text.split("\n")[0] for m in digests(world)] == [
            "🗞 每日简报 · 5月10日（周五）",
            "🗞 每日简报 · 5月11日（周六）",
        ]
    finally:
        await stop_world(world)


@pytest.mark.e2e
async def test_digest_is_off_unless_digest_time_is_set(stats_world: World) -> None:
    assert stats_world.app.job_queue is not None
    assert not [j for j in stats_world.app.job_queue.jobs() if j.name.startswith("digest")]
    assert await check_digest(stats_world.app) == "off"


async def escalate(world: World, user: User, text: str, *, submit: bool) -> None:
    """The user asks what the catalogue cannot answer, and maybe sends it to the organizers."""
    (offer,) = await world.say(text, user)
    assert "赛题目录里没有答案" in offer.text, offer.text
    if submit:
        await world.press(offer, "提交给组委会", user)
        await world.emulator.wait_for(
            lambda: next((m for m in world.messages(GROUP) if text in m.text), None)
        )


@pytest.mark.e2e
async def test_digest_lists_yesterday_open_tickets_and_topics_to_answer_once(
    tmp_path: Path,
) -> None:
    clock = Clock(datetime.now(UTC))
    world = await open_world(tmp_path, clock, sla_minutes=30)
    try:
        for user in (XIAOHONG, XIAOGANG):
            world.emulator.add_user(user)
        await escalate(world, CONTESTANT, "一等奖奖金是多少？", submit=True)
        await escalate(world, XIAOHONG, "一等奖的奖金有多少", submit=False)
        await escalate(world, XIAOGANG, "一等奖奖金多少钱", submit=True)
        await escalate(world, XIAOGANG, "决赛在哪里举办？", submit=False)
        store = world.store
        first, second = (t["id"] for t in store.tickets.rows())
        # 小刚's ticket was answered already; 小明's waits.
        store.tickets.answer(second, "十万元。", ORGANIZER.id, "王老师")
        # Everything happened yesterday; 小明 has waited since 20:00.
        for row in store.db.table("questions").rows:
            store.db.table("questions").update(row["id"], {"created_at": at(11, 20)})
        store.tickets.update(first, created_at=at(11, 20), waiting_since=at(11, 20))
        clock.now = datetime(2024, 5, 12, 9, 0, tzinfo=SHANGHAI)
        world.settings = dataclasses.replace(world.settings, digest_time=time(9, 0))
        world.app.bot_data.settings = world.settings
        assert await check_digest(world.app) == "posted"
        (digest,) = digests(world)
        assert digest.text.split("\n") == [
            says("digest.title", month=5, day=11, weekday="六"),
            says("digest.asked", asked=4, catalogue=0, faq=0, escalated=4, share="0%"),
            says("digest.tickets_unanswered", n=1),
            "",
            says("digest.open_head", n=1),
            f"#{first} · {says('time.hours', h=13, m=0)} · 小明：一等奖奖金是多少？",
            says("digest.late", sla=30, n=1, ids=f"#{first}"),
            "",
            says("digest.topics_head"),
            says("digest.topic_line", position=1, label="一等奖奖金是多少？", askers=3, n=3),
            says("digest.topic_line", position=2, label="决赛在哪里举办？", askers=1, n=1),
            says("digest.topics_hint"),
        ]
        assert buttons(digest) == [
            says("digest.topic_button", position=1, askers=3),
            says("digest.topic_button", position=2, askers=1),
        ]

        # A contestant cannot use the button.
        refused = await world.press(digest, "话题 1", CONTESTANT, changes=False)
        assert refused.text == says("auth.refused")
        # An organizer presses it and answers the prompt.
        await world.press(digest, "话题 1", ORGANIZER)
        prompt = world.last(GROUP)
        assert prompt.text.startswith(
            "✍️ 王老师，请回复这条消息，写下对话题 1「一等奖奖金是多少？」"
        )
        before = {u.id: len(world.messages(u.id)) for u in (CONTESTANT, XIAOHONG, XIAOGANG)}
        (report,) = await world.say("一等奖 10 万元（税前）。", ORGANIZER, GROUP,
                                    reply_to=prompt.message_id)  # fmt: skip
        assert report.text == says(
            "topic.report", position=1, label="一等奖奖金是多少？", sent=2
        ) + says("topic.report_skipped", n=1)
        # 小明 through his ticket, 小红 quoting her question; 小刚 heard from his ticket before.
        (to_ming,) = world.messages(CONTESTANT.id)[before[CONTESTANT.id] :]
        assert to_ming.text.startswith(f"💬 组委会回复了你的问题 #{first}\n")
        assert store.tickets.get(first).status == "answered"  # type: ignore[union-attr]
        (to_hong,) = world.messages(XIAOHONG.id)[before[XIAOHONG.id] :]
        assert to_hong.text == says(
            "topic.answer", question="一等奖的奖金有多少", answer="一等奖 10 万元（税前）。"
        )
        assert len(world.messages(XIAOGANG.id)) == before[XIAOGANG.id]

        # Answered once: another reply, or the same one handled again, sends nothing more.
        (again,) = await world.say("改一下：9 万元。", ORGANIZER, GROUP,
                                   reply_to=prompt.message_id)  # fmt: skip
        assert again.text == says(
            "topic.answered_by_other", position=1, label="一等奖奖金是多少？", who="王老师"
        )
        (same,) = await world.say("一等奖 10 万元（税前）。", ORGANIZER, GROUP,
                                  reply_to=prompt.message_id)  # fmt: skip
        assert same.text.startswith(
            says("topic.report", position=1, label="一等奖奖金是多少？", sent=2)
        )
        assert {u.id: len(world.messages(u.id)) for u in (CONTESTANT, XIAOHONG)} == {
            CONTESTANT.id: before[CONTESTANT.id] + 1,
            XIAOHONG.id: before[XIAOHONG.id] + 1,
        }
        answered = await world.press(digest, "话题 1", ORGANIZER, changes=False)
        assert answered.text == says("topic.answered_before", position=1)

        # 📌 存为FAQ: the topic's question and answer become an entry, once.
        saved = await world.press(report, "存为FAQ", ORGANIZER)
        (entry,) = store.faq.all()
        assert saved.text == says("faq.saved_toast", faq_id=entry.id)
        assert (entry.question, entry.answer) == ("一等奖奖金是多少？", "一等奖 10 万元（税前）。")
        # The later report still shows the button; pressing it saves nothing more.
        later = world.emulator.message(GROUP, same.message_id)
        pressed = await world.press(later, "存为FAQ", ORGANIZER, changes=False)
        assert pressed.text == says("faq.already", faq_id=entry.id)
        assert len(store.faq.all()) == 1
    finally:
        await stop_world(world)


@pytest.mark.e2e
async def test_emulator_takes_photos_and_refuses_what_is_not_one(stats_world: World) -> None:
    from telegram.error import BadRequest

    bot = stats_world.app.bot
    png = draw_report(build_report(stats_world.store, 1, "Asia/Shanghai", NOW))
    sent = await bot.send_photo(GROUP, png, caption="图")
    assert [(p.width, p.height) for p in sent.photo] == [(1024, 1280)]  # at most 1280 a side
    assert sent.caption == "图"
    assert stats_world.emulator.file_data(stats_world.last(GROUP)) == png
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await bot.send_photo(GROUP, b"not a picture")
    with pytest.raises(BadRequest, match="caption is too long"):
        await bot.send_photo(GROUP, png, caption="长" * 1025)
