"""Faults: the Bot API failing under the bot (5xx, timeouts, resets) and the database locked.

What "exactly once" means here. Telegram gives a sender no way to learn whether a message it
sent arrived when the answer to sendMessage is a 5xx, a timeout or a reset: the emulator, like
Telegram, may have delivered it (``when="after"``) or not (``when="before"``). Sending again
could deliver a second copy, so the bot never resends a message after such an answer. Hence:

* every question gets at most one reply (answer, escalation offer, …): never two;
* it gets exactly one unless sending that reply failed in one of those unknowable ways, and then
  the bot says so once ("network trouble: if no answer appeared above, send it again");
* a submitted question is one ticket, never two; every ticket is posted to the organizers at
  most once, and exactly once unless that post failed in an unknowable way;
* an organizer's answer reaches the contestant at most once, and exactly once unless sending it
  failed in an unknowable way, in which case the ticket records the failure for the organizers.

429 (flood control) is different: Telegram says it did nothing, so those are retried (the Pacer).
bench/reliability.py runs the same session with 1,000 messages.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import ORGANIZER, ORGANIZER_GROUP, World, button, stop_world
from harness import (
    FinishLine,
    bot_messages,
    database_report,
    inject_random_faults,
    start_faulty_world,
    write_lock,
)

from bot.sandbox import CallRecord, ChatMessage, User
from handlers.tickets.jobs import check_overdue
from knowledge.texts import tr

pytestmark = pytest.mark.e2e

GROUP = ORGANIZER_GROUP
NOTICES = {tr(lang, key) for lang in ("zh", "en") for key in ("error.sorry", "error.network")}
QUESTIONS = [
    # answered from the catalogue
    "赛道三赛题4", "3-4", "自动驾驶那题是什么", "乡村振兴赛道有哪些题",
    "哪些题跟供应链有关", "一共几个赛道", "你好", "赛道九", "名老中医", "跟港口有关的题",
    "track 3 problem 4",
    # for the organizers
    "一等奖奖金是多少？", "决赛在哪里举办？", "报名截止时间是哪天", "队伍最多几个人",
    "可以跨省组队吗",
]  # fmt: skip
HANG = 1.2  # seconds an injected hang lasts; the client gives up after TIMEOUT
TIMEOUT = 0.8


@dataclass
class Exchange:
    """One user action and what the bot did about it."""

    user: int
    text: str
    kind: str  # question, submit, answer
    first_call: int
    last_call: int = 0
    low: int = 0  # bot messages in the user's chat with ids in (low, high] belong to it
    high: int = 0
    finished: bool = False
    ticket: int | None = None


@dataclass
class FaultReport:
    messages: int = 0
    calls: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    replied_once: int = 0
    lost_with_notice: int = 0  # the reply's send failed unknowably; the user was told
    lost_silently: int = 0  # the reply and the notice both failed unknowably
    duplicates: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)
    submitted: int = 0
    tickets: int = 0
    posted_once: int = 0
    posted_twice_after_fault: int = 0
    answered_unposted: int = 0
    answers_once: int = 0
    answers_lost_after_fault: int = 0
    handler_errors: int = 0
    integrity: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def problems(self) -> list[str]:
        """Everything that breaks the rules in the module docstring."""
        return (
            self.duplicates
            + self.unexplained
            + self.unfinished
            + ([] if self.integrity == ["ok"] else [f"integrity: {self.integrity}"])
        )

    def lines(self) -> list[str]:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.faults.items()))
        return [
            f"messages {self.messages}, Bot API calls {self.calls}, "
            f"faults {sum(self.faults.values())} ({kinds})",
            f"replied exactly once {self.replied_once}; reply lost to an unknowable failure: "
            f"{self.lost_with_notice} told to resend, {self.lost_silently} not told",
            f"tickets {self.tickets} of {self.submitted} submitted; "
            f"posted once {self.posted_once}, "
            f"twice after an unknowable failure {self.posted_twice_after_fault}, "
            f"never (its posts failed; answered by number) {self.answered_unposted}",
            f"answers delivered once {self.answers_once}, lost to an unknowable failure "
            f"{self.answers_lost_after_fault}; handler errors {self.handler_errors}",
            f"duplicates {len(self.duplicates)}, unexplained losses {len(self.unexplained)}, "
            f"unfinished {len(self.unfinished)}, integrity {self.integrity}; "
            f"{self.seconds:.1f} s",
        ]


def sends(world: World, chat_id: int, first: int, last: int) -> list[CallRecord]:
    return [
        c
        for c in world.emulator.calls[first:last]
        if c.method.lower() == "sendmessage" and str(c.params.get("chat_id")) == str(chat_id)
    ]


def unknowable(call: CallRecord) -> bool:
    """A failure that leaves the sender unable to know whether Telegram acted on the call."""
    return call.fault is not None and call.fault != "flood"


async def act(
    world: World, finish: FinishLine, exchange: Exchange, action: Any, chat_id: int
) -> Exchange:
    """Run one user action; record the bot's messages and calls that belong to it."""
    chats = world.emulator.chat_messages(chat_id)
    exchange.low = max((m.message_id for m in chats), default=0)
    await action
    try:
        await finish.wait(int(world.emulator.updates_log[-1]["update_id"]), timeout=60)
        exchange.finished = True
    except TimeoutError:
        pass
    exchange.last_call = len(world.emulator.calls)
    exchange.high = max((m.message_id for m in world.emulator.chat_messages(chat_id)), default=0)
    return exchange


def window(world: World, chat_id: int, exchange: Exchange) -> list[ChatMessage]:
    return [m for m in bot_messages(world.emulator, chat_id, exchange.low)
            if m.message_id <= exchange.high]  # fmt: skip


async def run_fault_session(
    tmp_path: Path,
    messages: int = 100,
    *,
    seed: int = 1,
    rate: float = 0.10,
    contestants: int = 5,
    submit_share: float = 0.6,
) -> FaultReport:
    """`messages` questions from `contestants` people at once while `rate` of all Bot API calls
    fail; some questions go to the organizers, who answer them all; then count."""
    started = time.monotonic()
    world = await start_faulty_world(tmp_path, seed=seed, timeout=TIMEOUT, max_open_tickets=1000)
    finish = FinishLine(world.app)
    rng = random.Random(seed)
    users = [User(3000 + i, f"选手{i}", language_code="zh-hans") for i in range(contestants)]
    for user in users:
        world.emulator.add_user(user)
    plan: dict[int, list[str]] = {u.id: [] for u in users}
    for i in range(messages):
        plan[users[i % contestants].id].append(rng.choice(QUESTIONS))
    exchanges: list[Exchange] = []
    report = FaultReport(messages=messages)
    rules = inject_random_faults(world.emulator, rate, hang=HANG)
    try:

        async def contestant(user: User) -> None:
            for text in plan[user.id]:
                asked = Exchange(user.id, text, "question", len(world.emulator.calls))
                exchanges.append(asked)
                send = world.emulator.send_text(user, user.id, text)
                await act(world, finish, asked, send, user.id)
                offers = [
                    m for m in window(world, user.id, asked) if "tk:n:" in str(m.reply_markup)
                ]
                if offers and rng.random() < submit_share:
                    press = Exchange(user.id, text, "submit", len(world.emulator.calls))
                    exchanges.append(press)
                    data = button(offers[-1], "提交给组委会")
                    click = world.emulator.press_button(user, user.id, offers[-1].message_id, data)
                    await act(world, finish, press, click, user.id)
                    press.ticket = int(data.split(":")[2])  # the question's id, for now

        await asyncio.gather(*(contestant(u) for u in users))
        await check_overdue(world.app)  # the SLA loop's next round posts what was not posted
        # The organizers answer every ticket: by replying to its post, or by number.
        for ticket in world.store.tickets.list_open(limit=10_000):
            post = next(
                (m for m in world.messages(GROUP) if m.text.startswith(f"🆕 问题 #{ticket.id}\n")),
                None,
            )
            reply = Exchange(ticket.user_id, "", "answer", len(world.emulator.calls))
            reply.ticket = ticket.id
            exchanges.append(reply)
            text = f"#{ticket.id} 的答复：请看通知。"
            if post is not None:
                send = world.emulator.send_text(ORGANIZER, GROUP, text, reply_to=post.message_id)
            else:
                send = world.emulator.send_text(ORGANIZER, GROUP, f"/answer {ticket.id} {text}")
            await act(world, finish, reply, send, ticket.user_id)
        for rule in rules:
            report.faults[f"{rule.kind}/{rule.when}"] += rule.fired
        world.emulator.clear_faults()
        await check_overdue(world.app)
        report.calls = len(world.emulator.calls)
        report.handler_errors = len(finish.errors)
        judge(world, exchanges, report)
        report.integrity = database_report(world.settings.db_path)["integrity"]
    finally:
        await stop_world(world)
    report.seconds = time.monotonic() - started
    return report


def judge(world: World, exchanges: list[Exchange], report: FaultReport) -> None:
    """Apply the rules of the module docstring to what happened."""
    for ex in exchanges:
        if not ex.finished:
            report.unfinished.append(f"{ex.kind} {ex.text!r} of {ex.user}")
    # Questions: one reply, or an unknowable failure of the send that carried it.
    for ex in (e for e in exchanges if e.kind == "question"):
        shown = window(world, ex.user, ex)
        replies = [m for m in shown if m.text not in NOTICES]
        notices = [m for m in shown if m.text in NOTICES]
        failed = [c for c in sends(world, ex.user, ex.first_call, ex.last_call) if unknowable(c)]
        what = f"{ex.text!r} from {ex.user}"
        if len(replies) > 1 or len(notices) > 1:
            report.duplicates.append(f"{what}: {[m.text[:30] for m in shown]}")
        elif len(replies) == 1:
            report.replied_once += 1
        elif not failed:
            report.unexplained.append(f"{what}: no reply and no failed send")
        elif notices:
            report.lost_with_notice += 1
        else:
            report.lost_silently += 1
    # Tickets: one per submitted question; posted at most once.
    store = world.store
    submitted = {e.ticket for e in exchanges if e.kind == "submit"}
    report.submitted = len(submitted)
    rows = store.tickets.rows()
    report.tickets = len(rows)
    by_question: Counter[int] = Counter()
    for question_id in submitted:
        assert question_id is not None
        question = store.questions.get(question_id)
        if question is None or question.ticket_id is None:
            report.unexplained.append(f"question {question_id}: submitted, no ticket")
        else:
            by_question[question.ticket_id] += 1
    if len(rows) != len(by_question):
        report.duplicates.append(f"{len(rows)} tickets for {len(by_question)} questions")
    group = bot_messages(world.emulator, GROUP)
    for row in rows:
        posts = [m for m in group if m.text.startswith(f"🆕 问题 #{row['id']}\n")]
        post_calls = [
            c for c in world.emulator.calls_to("sendMessage")
            if str(c.params.get("chat_id")) == str(GROUP)
            and str(c.params.get("text", "")).startswith(f"🆕 <b>问题 #{row['id']}</b>")
        ]  # fmt: skip
        failed = sum(1 for c in post_calls if unknowable(c))
        if len(posts) > 1 + failed:
            report.duplicates.append(f"ticket #{row['id']} posted {len(posts)} times")
        elif len(posts) > 1:
            # A post that failed unknowably was posted again by the SLA loop; it had arrived.
            report.posted_twice_after_fault += 1
        elif posts:
            report.posted_once += 1
        elif failed and row["status"] != "open":
            # Every post failed; the organizers found it in /queue and answered by number,
            # and an answered ticket is not posted any more.
            report.answered_unposted += 1
        else:
            report.unexplained.append(f"ticket #{row['id']} never posted")
    # Answers: delivered at most once; a loss is an unknowable failure, recorded on the ticket.
    for ex in (e for e in exchanges if e.kind == "answer"):
        ticket = store.tickets.get(ex.ticket or 0)
        assert ticket is not None
        got = [
            m for m in bot_messages(world.emulator, ticket.chat_id)
            if m.text.startswith(f"💬 组委会回复了你的问题 #{ticket.id}\n")
        ]  # fmt: skip
        failed = [c for c in sends(world, ticket.chat_id, ex.first_call, ex.last_call)
                  if unknowable(c)]  # fmt: skip
        if len(got) > 1:
            report.duplicates.append(f"answer to #{ticket.id} delivered {len(got)} times")
        elif got:
            report.answers_once += 1
        elif failed and ticket.delivery_error:
            report.answers_lost_after_fault += 1
        elif ticket.status == "answered" or failed:
            report.unexplained.append(
                f"answer to #{ticket.id} lost: {ticket.status}, {ticket.delivery_error!r}"
            )
        elif any(unknowable(c) for c in world.emulator.calls[ex.first_call : ex.last_call]):
            # The organizer's message was not acted on (its getChatMember or the like failed,
            # and the organizer was told): the ticket is still open, nothing was claimed.
            report.answers_lost_after_fault += 1
        else:
            report.unexplained.append(f"answer to #{ticket.id}: nothing happened, nothing failed")


@pytest.mark.slow
async def test_hundred_messages_with_ten_percent_faults_each_answered_at_most_once(
    tmp_path: Path,
) -> None:
    report = await run_fault_session(tmp_path, messages=100, seed=7)
    assert sum(report.faults.values()) >= 15, report.lines()  # the faults really happened
    assert not report.problems(), "\n".join(report.problems() + report.lines())
    # Most questions were simply answered; losses are the unknowable failures, nothing else.
    assert report.replied_once >= 70, report.lines()
    assert report.tickets == report.submitted > 5, report.lines()


async def test_without_faults_every_question_is_answered_exactly_once(tmp_path: Path) -> None:
    report = await run_fault_session(tmp_path, messages=30, seed=3, rate=0.0)
    assert not report.problems(), "\n".join(report.problems() + report.lines())
    assert report.replied_once == 30
    assert report.posted_once == report.tickets == report.submitted
    assert report.answers_once == report.tickets


async def test_answer_whose_send_failed_after_delivery_is_not_sent_twice(
    tmp_path: Path,
) -> None:
    world = await start_faulty_world(tmp_path, timeout=TIMEOUT)
    finish = FinishLine(world.app)
    try:
        (offer,) = await world.say("一等奖奖金是多少？")
        await world.press(offer, "提交给组委会")
        await finish.wait(int(world.emulator.updates_log[-1]["update_id"]))
        post = next(m for m in world.messages(GROUP) if m.text.startswith("🆕"))
        # Telegram delivers the answer, then the connection drops before the bot hears so.
        rule = world.emulator.inject_fault("reset", methods=["sendMessage"], when="after", times=1)
        await world.emulator.send_text(ORGANIZER, GROUP, "一万元。", reply_to=post.message_id)
        await finish.wait(int(world.emulator.updates_log[-1]["update_id"]))
        assert rule.fired == 1
        answers = [m for m in world.messages(offer.chat_id) if "组委会回复了你的问题" in m.text]
        assert len(answers) == 1, [m.text for m in world.messages(offer.chat_id)]
        ticket = world.store.tickets.get(1)
        assert ticket is not None and ticket.delivery_error  # the organizers are told
        report = world.messages(GROUP)[-1].text
        assert "#1" in report and "未送达" in report, report
    finally:
        await stop_world(world)


async def test_post_whose_send_failed_after_delivery_still_takes_the_answer(
    tmp_path: Path,
) -> None:
    world = await start_faulty_world(tmp_path, timeout=TIMEOUT)
    finish = FinishLine(world.app)
    try:
        (offer,) = await world.say("一等奖奖金是多少？")
        # The post reaches the group, but the bot hears a reset: it cannot know it arrived.
        rule = world.emulator.inject_fault(
            "reset", methods=["sendMessage"], when="after", on_calls=[2]
        )
        await world.press(offer, "提交给组委会")
        await finish.wait(int(world.emulator.updates_log[-1]["update_id"]))
        assert rule.fired == 1
        await check_overdue(world.app)  # the next SLA round posts it again
        first, _ = [m for m in world.messages(GROUP) if m.text.startswith("🆕 问题 #1\n")]
        # An organizer replies to the first post, the one the bot never heard of.
        await world.emulator.send_text(ORGANIZER, GROUP, "一万元。", reply_to=first.message_id)
        await finish.wait(int(world.emulator.updates_log[-1]["update_id"]))
        answers = [m for m in world.messages(offer.chat_id) if "组委会回复了你的问题 #1" in m.text]
        assert len(answers) == 1
        assert not finish.errors
    finally:
        await stop_world(world)


async def test_question_waits_for_a_database_locked_by_another_process(tmp_path: Path) -> None:
    world = await start_faulty_world(tmp_path)
    finish = FinishLine(world.app)
    try:
        # Like `contest-bot faq import` writing while the bot runs: the bot waits (busy_timeout)
        # and goes on once the other writer commits.
        with write_lock(world.settings.db_path, seconds=0.5):
            sent = await world.emulator.send_text(world.emulator.users[1001], 1001, "赛道三赛题4")
            await finish.wait(int(world.emulator.updates_log[-1]["update_id"]))
        (reply,) = bot_messages(world.emulator, 1001, after=sent.message_id)
        assert reply.text.startswith("赛题 3-4")
        assert not finish.errors
        assert world.store.questions.counts_by_intent() == {"problem": 1}
    finally:
        await stop_world(world)


@pytest.mark.slow
async def test_update_arriving_during_a_long_lock_is_kept_until_the_lock_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await start_faulty_world(tmp_path)
    finish = FinishLine(world.app)
    world.store.db.execute("PRAGMA busy_timeout = 200")  # production waits 5 s; same path
    contestant = world.emulator.users[1001]
    # Every getUpdates waits for queue.recorded() before it goes out; watch the ones after the
    # update was delivered: each would confirm it to Telegram.
    queue = world.app.update_queue
    waits_for_the_record, original = asyncio.Event(), queue.recorded
    went_out_recorded: list[bool] = []  # for each of them: was the update in the inbox?
    update_id = 0

    def delivered() -> bool:
        calls = world.emulator.calls_to("getUpdates")
        return any(u["update_id"] == update_id for c in calls for u in c.result or ())

    def in_inbox() -> bool:
        rows = world.store.db.execute("select 1 from inbox where update_id = ?", [update_id])
        return rows.fetchone() is not None

    async def recorded() -> None:
        confirms = update_id and delivered()
        if confirms and not in_inbox():
            waits_for_the_record.set()
        await original()
        if confirms:
            went_out_recorded.append(in_inbox())

    monkeypatch.setattr(queue, "recorded", recorded)
    try:
        with write_lock(world.settings.db_path, seconds=1.5):
            sent = await world.emulator.send_text(contestant, 1001, "赛道三赛题4")
            update_id = int(world.emulator.updates_log[-1]["update_id"])
            # The bot cannot record the update, so the getUpdates that would confirm it to
            # Telegram waits.
            await asyncio.wait_for(waits_for_the_record.wait(), 10)
            assert world.emulator.pending_updates, "confirmed before it was recorded"
        await finish.wait(update_id)
        assert went_out_recorded and all(went_out_recorded), went_out_recorded
        (reply,) = bot_messages(world.emulator, 1001, after=sent.message_id)
        assert reply.text.startswith("赛题 3-4")
        (again,) = await world.say("3-4", contestant)  # and polling goes on
        assert again.text.startswith("赛题 3-4")
        assert world.store.questions.counts_by_intent() == {"problem": 2}
    finally:
        await stop_world(world)


async def test_handler_meeting_a_locked_database_fails_politely_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await start_faulty_world(tmp_path)
    finish = FinishLine(world.app)
    contestant = world.emulator.users[1001]
    real = world.bot_store.questions.log
    calls = []

    def locked_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) == 1:  # what busy_timeout running out looks like to the handler
            raise sqlite3.OperationalError("database is locked")
        return real(*args, **kwargs)

    monkeypatch.setattr(world.bot_store.questions, "log", locked_once)
    try:
        sent = await world.emulator.send_text(contestant, 1001, "赛道三赛题4")
        await finish.wait(int(world.emulator.updates_log[-1]["update_id"]))
        told = bot_messages(world.emulator, 1001, after=sent.message_id)
        assert [m.text for m in told] == [tr("zh", "error.sorry")]
        assert world.store.questions.counts_by_intent() == {}
        (again,) = await world.say("赛道三赛题4", contestant)
        assert again.text.startswith("赛题 3-4")
        assert database_report(world.settings.db_path)["integrity"] == ["ok"]
    finally:
        await stop_world(world)
