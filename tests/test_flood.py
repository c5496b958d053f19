"""Fairness: a contestant who floods the bot is asked once to slow down and gets a bounded share
of its replies, while everybody else is answered as usual."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CONTESTANT, ORGANIZER, ORGANIZER_GROUP, World, start_world, stop_world
from harness import bot_messages, poll_until

from bot.metrics import metrics_of
from bot.sandbox import User
from handlers.flood import FORGET_ABOVE, TokenBuckets, Verdict, _notice_job

XIAOHONG = User(1002, "小红", language_code="zh-hans")
ALICE = User(2002, "Alice", language_code="en")
NOTICE = "🐢 消息有点多，我跟不上啦"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_lets_a_burst_through_then_one_per_refill_and_warns_once_per_flood() -> None:
    clock = Clock()
    buckets = TokenBuckets(burst=3, per_minute=60, clock=clock)
    assert [buckets.take(1) for _ in range(5)] == [
        Verdict.PASS, Verdict.PASS, Verdict.PASS, Verdict.WARN, Verdict.DROP,
    ]  # fmt: skip
    assert buckets.wait_seconds(1) == 2  # the notice cost a token as well
    assert buckets.take(2) is Verdict.PASS  # somebody else is not affected
    clock.now += 1.0
    assert buckets.take(1) is Verdict.DROP
    clock.now += 1.0
    assert [buckets.take(1), buckets.take(1)] == [Verdict.PASS, Verdict.DROP]  # same flood
    clock.now += 10.0  # a pause that fills the bucket: a later flood is a new one
    assert [buckets.take(1) for _ in range(4)][-1] is Verdict.WARN


def test_bucket_memory_holds_only_people_who_sent_something_lately() -> None:
    clock = Clock()
    buckets = TokenBuckets(burst=2, per_minute=60, clock=clock)
    for user in range(FORGET_ABOVE):
        buckets.take(user)
    buckets.take(FORGET_ABOVE)  # all still refilling: nothing to forget yet
    assert len(buckets.buckets) == FORGET_ABOVE + 1
    clock.now += 5.0
    buckets.take(FORGET_ABOVE + 1)
    assert list(buckets.buckets) == [FORGET_ABOVE + 1]


async def idle(world: World) -> None:
    """Until Telegram holds no update for the bot and the bot has handled every one it took
    (dropped ones included: those never reach the handlers after the limiter)."""

    def done() -> bool | None:
        if world.emulator.pending_updates:
            return None
        (left,) = world.store.db.execute("select count(*) from inbox where done_at is null")
        return True if left[0] == 0 else None

    assert await poll_until(done), "updates left unhandled"


@pytest.mark.e2e
async def test_flooder_is_told_once_and_gets_a_bounded_share_while_others_are_answered(
    tmp_path: Path,
) -> None:
    world = await start_world(tmp_path, user_burst=5, user_per_minute=6)
    try:
        world.emulator.add_user(XIAOHONG)
        for i in range(50):  # 50 messages at once, not waiting for any reply
            await world.emulator.send_text(CONTESTANT, CONTESTANT.id, f"赛道{i % 8 + 1}")
        (answer,) = await world.say("3-4", XIAOHONG)
        await idle(world)
        assert answer.text.startswith("赛题 3-4：自动驾驶创新发展")
        # The notice comes a moment later (JobQueue), once: no other is on its way.
        await world.emulator.wait_for(
            lambda: any(m.text.startswith(NOTICE) for m in world.messages(CONTESTANT.id)), 10
        )
        assert world.app.job_queue is not None
        assert [j for j in world.app.job_queue.jobs() if j.callback is _notice_job] == []
        replies = [m.text for m in bot_messages(world.emulator, CONTESTANT.id)]
        notices = [text for text in replies if text.startswith(NOTICE)]
        assert len(notices) == 1, replies
        assert "请 20 秒后再发" in notices[0]  # two tokens short at 6 a minute
        assert len(replies) - len(notices) == 5  # the burst, and nothing more
        throttled = metrics_of(world.app).throttled._value.get()
        assert throttled == 45
    finally:
        await stop_world(world)


@pytest.mark.e2e
async def test_english_flooder_is_told_in_english_and_button_presses_count_too(
    tmp_path: Path,
) -> None:
    world = await start_world(tmp_path, user_burst=2, user_per_minute=6)
    try:
        world.emulator.add_user(ALICE)
        (menu,) = await world.say("/start", ALICE)  # one token spent
        await world.press(menu, "工业制造", ALICE)  # the second: the menu shows track 1
        toasts = []
        for _ in range(3):
            query = await world.emulator.press_button(ALICE, ALICE.id, menu.message_id, "home")
            toasts.append((await world.emulator.wait_for_answer(query, timeout=10)).text)
        assert toasts[0] is not None and toasts[0].startswith("🐢 That's a lot of messages")
        assert toasts[1:] == [None, None]  # told once; the spinner still stops
        await idle(world)
        assert not any("🐢" in m.text for m in bot_messages(world.emulator, ALICE.id))
        assert world.emulator.message(ALICE.id, menu.message_id).text.startswith("赛道一")
    finally:
        await stop_world(world)


@pytest.mark.e2e
async def test_organizers_are_never_slowed_down(tmp_path: Path) -> None:
    world = await start_world(tmp_path, user_burst=1, user_per_minute=1)
    try:
        for _ in range(4):
            await world.emulator.send_text(ORGANIZER, ORGANIZER_GROUP, "/queue")
        await idle(world)
        replies = bot_messages(world.emulator, ORGANIZER_GROUP)
        assert [m.text for m in replies] == ["🎉 没有待回复的问题。"] * 4
    finally:
        await stop_world(world)
