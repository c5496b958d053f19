"""Follow-up questions, end to end: 这题…, 下一题, 那第二题呢 are read against what the chat was
shown last — by the menu, a deep link or a typed answer — and against nothing in a fresh chat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import CONTESTANT, World, restart_world, start_world, stop_world

from bot.sandbox import ChatMessage, User
from knowledge.store import CONTEXT_MINUTES

pytestmark = pytest.mark.e2e

GROUP = -100777
BOT = "@contest_helper_bot"


def shows_problem(message: ChatMessage, problem_id: str | None = None) -> bool:
    """The message is a problem's full text (that problem's, when one is named)."""
    return message.text.startswith(f"赛题 {problem_id}：" if problem_id else "赛题 ")


async def open_problem_from_menu(world: World, track: str, problem_id: str) -> None:
    (menu,) = await world.say("/start")
    await world.press(menu, track)
    await world.press(world.emulator.message(menu.chat_id, menu.message_id), problem_id)
    shown = world.emulator.message(menu.chat_id, menu.message_id)
    assert shows_problem(shown, problem_id)


async def test_this_problem_is_the_one_opened_from_the_menu(world: World) -> None:
    await open_problem_from_menu(world, "交通运输", "3-4")
    (reply,) = await world.say("这题需要哪些数据")
    assert reply.text.startswith("赛题 3-4：自动驾驶创新发展")


async def test_this_problem_is_the_one_opened_by_a_deep_link(world: World) -> None:
    (problem,) = await world.say("/start p2-3")
    assert shows_problem(problem, "2-3")
    (reply,) = await world.say("这道题需要哪些数据")
    assert shows_problem(reply, "2-3")


@pytest.mark.slow
@pytest.mark.parametrize("next_one", ["下一道", "下一题"])
async def test_next_problem_follows_the_typed_one_to_the_end_of_the_track(
    world: World, next_one: str
) -> None:
    (first,) = await world.say("3-4")
    assert shows_problem(first, "3-4")
    (second,) = await world.say(next_one)
    assert shows_problem(second, "3-5")
    # The answer to a follow-up is itself what the chat shows now; 3-5 is track 3's last.
    (third,) = await world.say(next_one)
    assert third.text.startswith("赛道三：数据要素×交通运输")


async def test_second_problem_of_the_track_pressed_in_the_menu(world: World) -> None:
    (menu,) = await world.say("/start")
    await world.press(menu, "文化旅游")
    assert world.emulator.message(menu.chat_id, menu.message_id).text.startswith("赛道五")
    (reply,) = await world.say("那第二题呢")
    assert shows_problem(reply, "5-2")


async def test_this_track_is_the_one_of_the_deep_link(world: World) -> None:
    (track,) = await world.say("/start t5")
    assert track.text.startswith("赛道五")
    (reply,) = await world.say("这个赛道有几道题")
    assert reply.text.startswith("赛道五：数据要素×文化旅游")


async def test_nth_problem_after_a_problem_is_in_its_track(world: World) -> None:
    (typed,) = await world.say("两客一危是哪道题")
    assert shows_problem(typed, "3-3")
    (reply,) = await world.say("那第二题呢")
    assert shows_problem(reply, "3-2")


@pytest.mark.parametrize(
    "follow_up",
    [
        "那第二题呢",
        "下一题",
        "这个赛道有几道题",
        pytest.param(
            "这题需要哪些数据",
            marks=pytest.mark.xfail(
                strict=True, reason="the matcher reads 这题需要哪些数据 alone as problem 2-1"
            ),
        ),
    ],
)
async def test_follow_up_in_a_fresh_chat_invents_no_problem(world: World, follow_up: str) -> None:
    (reply,) = await world.say(follow_up)
    assert not shows_problem(reply)
    assert not reply.text.startswith("赛道")


async def test_what_one_chat_was_shown_is_not_another_chats(world: World) -> None:
    alice = world.emulator.add_user(User(2002, "小红", language_code="zh-hans"))
    await open_problem_from_menu(world, "交通运输", "3-4")
    (reply,) = await world.say("那第二题呢", alice)
    assert not shows_problem(reply)


async def test_group_members_each_follow_up_on_their_own_question(world: World) -> None:
    other = world.emulator.add_user(User(2002, "小红", language_code="zh-hans"))
    world.emulator.create_group(GROUP, "参赛队群", creator=CONTESTANT, members=[other])
    (mine,) = await world.say(f"{BOT} 3-4", chat_id=GROUP)
    assert shows_problem(mine, "3-4")
    (theirs,) = await world.say(f"{BOT} 那第二题呢", other, chat_id=GROUP)
    assert not shows_problem(theirs)
    (again,) = await world.say(f"{BOT} 那第二题呢", chat_id=GROUP)
    assert shows_problem(again, "3-2")


async def test_context_expires_after_context_minutes(world: World) -> None:
    await open_problem_from_menu(world, "交通运输", "3-4")
    # What the menu recorded, as if it had been recorded CONTEXT_MINUTES and a bit ago.
    assert world.store.context.last_shown(CONTESTANT.id) == "3-4"
    long_ago = datetime.now(UTC) - timedelta(minutes=CONTEXT_MINUTES, seconds=5)
    world.store.context.remember(CONTESTANT.id, "3-4", now=long_ago)
    (reply,) = await world.say("那第二题呢")
    assert not shows_problem(reply)


async def test_context_survives_a_restart(tmp_path: Path) -> None:
    world = await start_world(tmp_path)
    try:
        await open_problem_from_menu(world, "交通运输", "3-4")
        world = await restart_world(world)
        (reply,) = await world.say("这题需要哪些数据")
        assert shows_problem(reply, "3-4")
        (second,) = await world.say("那第二题呢")
        assert shows_problem(second, "3-2")
    finally:
        await stop_world(world)
