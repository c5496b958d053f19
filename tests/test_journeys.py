"""A contestant's journeys, end to end: the real Application over HTTP against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CONTESTANT, World, buttons, lead, says, start_world, stop_world

JIANGSU = Path(__file__).resolve().parent / "data" / "jiangsu" / "catalogue.txt"


async def test_start_shows_welcome_and_the_eight_tracks(world: World) -> None:
    (reply,) = await world.say("/start")
    assert reply.text.startswith(lead("reply.help")) and "全部 35 道赛题" in reply.text
    assert len([b for b in buttons(reply) if b.startswith("赛道")]) == 8


async def test_menu_track_problem_back_home_edits_in_place(world: World) -> None:
    (menu,) = await world.say("/start")
    answer = await world.press(menu, "交通运输")
    assert answer.text is None
    track = world.emulator.message(menu.chat_id, menu.message_id)
    assert track.text.startswith("赛道三：数据要素×交通运输")
    assert "3-4 自动驾驶创新发展" in track.text
    await world.press(track, "3-4")
    problem = world.emulator.message(menu.chat_id, menu.message_id)
    assert problem.text.startswith("赛题 3-4：自动驾驶创新发展")
    assert "环境感知" in problem.text
    await world.press(problem, "返回")
    assert world.emulator.message(menu.chat_id, menu.message_id).text.startswith("赛道三")
    await world.press(world.emulator.message(menu.chat_id, menu.message_id), "主页")
    assert world.emulator.message(menu.chat_id, menu.message_id).text.startswith(
        lead("reply.help")
    )
    # Navigation edited one message; the chat holds the command and that message only.
    assert len(world.messages(CONTESTANT.id)) == 2


async def test_typed_problem_reference_shows_full_text_and_buttons(world: World) -> None:
    (reply,) = await world.say("赛道三赛题4")
    assert reply.text.startswith("赛题 3-4：自动驾驶创新发展")
    labels = buttons(reply)
    assert any("赛道三 · 交通运输" in b for b in labels)
    assert any(b.startswith("🔗") for b in labels)  # related problems
    assert says("tickets.ask_button") in labels


async def test_typed_track_lists_its_problems(world: World) -> None:
    (reply,) = await world.say("乡村振兴赛道有哪些题")
    assert reply.text.startswith("赛道八：数据要素×乡村振兴")
    assert len([b for b in buttons(reply) if b.startswith("8-")]) == 5


async def test_typed_theme_lists_candidates_as_buttons(world: World) -> None:
    (reply,) = await world.say("哪些题跟供应链有关")
    assert reply.text.startswith(says("reply.theme", n=5))
    assert {b.split()[0] for b in buttons(reply) if b[0].isdigit()} == {
        "1-4", "2-1", "2-3", "4-2", "8-3",
    }  # fmt: skip


async def test_typed_tracks_help_and_nonexistent_numbers(world: World) -> None:
    (tracks,) = await world.say("一共几个赛道")
    assert tracks.text.startswith(says("reply.tracks", n=8))
    (hello,) = await world.say("你好呀")
    assert hello.text.startswith(lead("reply.help"))
    (nine,) = await world.say("赛道九")
    assert nine.text.startswith(says("reply.no_track", number="九", last="八"))
    (three_nine,) = await world.say("3-9")
    assert three_nine.text.startswith("赛道三 · 交通运输没有第 9 题")


async def test_escalation_says_so_honestly_and_offers_the_organizers(world: World) -> None:
    (reply,) = await world.say("一等奖奖金是多少？")
    assert reply.text.startswith(says("reply.understood_topic", topic="奖项和奖金"))
    assert says("tickets.submit") in buttons(reply)


async def test_escalation_about_a_problem_names_it_and_opens_it(world: World) -> None:
    (reply,) = await world.say("3-4的数据在哪下载")
    assert reply.text.startswith(says("reply.understood_problem", id="3-4", topic=""))
    assert "目录里没有答案" not in reply.text  # the catalogue does describe 3-4
    assert buttons(reply)[0] == "3-4 自动驾驶创新发展"
    assert buttons(reply)[-2] == says("tickets.submit")
    card = await world.press(reply, "3-4 自动驾驶创新发展")
    assert world.last(CONTESTANT.id).text.startswith("赛题 3-4：自动驾驶创新发展"), card


async def test_question_about_one_aspect_leads_with_the_clauses_that_answer_it(
    world: World,
) -> None:
    (reply,) = await world.say("3-4要用到哪些数据")
    first, _, rest = reply.text.partition("\n\n")
    assert first == "赛题 3-4：自动驾驶创新发展\n赛道三：数据要素×交通运输"
    lead, _, whole = rest.partition("\n\n")
    assert lead == "💡 数据：融合行驶习惯、车辆运行、环境感知、交通设施等多维数据"
    assert whole.startswith("融合行驶习惯、车辆运行") and whole.endswith("保障安全运行。")


async def test_theme_list_says_why_each_problem_fits(world: World) -> None:
    (reply,) = await world.say("哪些题用到气象数据")
    lines = reply.text.split("\n")
    assert lines[0].startswith(lead("reply.theme"))
    assert all(line.endswith("（气象）") for line in lines[1:]), lines


async def test_deep_links_open_a_problem_and_a_track(world: World) -> None:
    (problem,) = await world.say("/start p3-4")
    assert problem.text.startswith("赛题 3-4：自动驾驶创新发展")
    (track,) = await world.say("/start t5")
    assert track.text.startswith("赛道五：数据要素×文化旅游")
    (unknown,) = await world.say("/start p9-9")
    assert unknown.text.startswith(lead("reply.help"))


async def test_inline_query_offers_matching_problems(world: World) -> None:
    answer = await world.emulator.inline_query(CONTESTANT, "自动驾驶")
    assert [r["id"] for r in answer.results][:1] == ["3-4"]
    assert answer.results[0]["title"].startswith("3-4 ")


async def test_group_bot_stays_quiet_unless_addressed(world: World) -> None:
    group = -100777
    world.emulator.create_group(group, "参赛队群", creator=CONTESTANT)
    await world.say("自动驾驶那题是什么", chat_id=group, replies=0)
    await world.handled()
    assert [m.sender.is_bot for m in world.messages(group)] == [False]
    (reply,) = await world.say("@contest_helper_bot 自动驾驶那题", chat_id=group)
    assert reply.text.startswith("赛题 3-4")
    (again,) = await world.say("那两客一危呢", chat_id=group, reply_to=reply.message_id)
    assert again.text.startswith("赛题 3-3")


async def test_forged_callback_gets_expired_and_the_menu(world: World) -> None:
    (menu,) = await world.say("/start")
    query_id = await world.emulator.forge_callback(
        CONTESTANT, menu.chat_id, menu.message_id, "p:9-9"
    )
    answer = await world.emulator.wait_for_answer(query_id)
    assert answer.text == says("nav.expired")
    (notice,) = await world.emulator.wait_for_messages(menu.chat_id, 1, after=menu)
    assert says("nav.expired") in notice.text and len(buttons(notice)) >= 8


async def test_english_user_gets_english(world: World) -> None:
    alice = world.emulator.add_user(2002, "Alice", language_code="en")
    (hello,) = await world.say("/start", alice)
    assert hello.text.startswith("👋 Hi!")
    assert "Track 3 · 交通运输" in buttons(hello)
    (problem,) = await world.say("track 3 problem 4", alice)
    assert problem.text.startswith("Problem 3-4:")


async def test_commands_registered_in_chinese_and_english(world: World) -> None:
    commands = world.emulator.commands
    assert commands, "setMyCommands was never called"
    flat = str(commands)
    assert says("commands.tracks") in flat and says("commands.tracks", "en") in flat


async def test_user_text_is_escaped(world: World) -> None:
    (reply,) = await world.say("<b>报名</b> & <script>什么时候截止")
    assert reply.source is not None and "<script>" not in reply.source


async def test_every_callback_is_answered(world: World) -> None:
    (menu,) = await world.say("/start")
    await world.press(menu, "工业制造")
    await world.press(world.emulator.message(menu.chat_id, menu.message_id), "1-2")
    pressed = world.emulator.calls_to("answerCallbackQuery")
    assert len(pressed) == 2 and all(c.ok for c in pressed)


@pytest.mark.e2e
async def test_start_counts_the_problems_of_another_catalogue(tmp_path: Path) -> None:
    world = await start_world(tmp_path, seed_path=JIANGSU)
    try:
        (reply,) = await world.say("/start")
        assert "全部 30 道赛题" in reply.text and "35" not in reply.text
        assert "2025年“数据要素×”大赛江苏分赛的答疑助手" in reply.text  # its own name
        assert "湖北" not in reply.text
        assert len([b for b in buttons(reply) if b.startswith("赛道")]) == 7
    finally:
        await stop_world(world)
