"""Organizers answer each question once: similar open tickets are shown and merged in one press,
/faq suggest lists answered questions asked again and again, and saving an entry offers it to
the askers still waiting — end to end over the emulator."""

from __future__ import annotations

from conftest import ORGANIZER, ORGANIZER_GROUP, World, buttons, says
from test_tickets import (
    PRIZE,
    VENUE,
    XIAOGANG,
    XIAOHONG,
    answer_of,
    ask_organizers,
    bot_says,
    command,
    post_of,
    reply_in_group,
    submit,
)

GROUP = ORGANIZER_GROUP
PRIZE_AGAIN = "一等奖奖金有多少钱？"


async def test_post_names_similar_open_tickets_and_merges_them_in_one_press(world: World) -> None:
    world.emulator.add_user(XIAOHONG)
    world.emulator.add_user(XIAOGANG)
    first, _ = await ask_organizers(world, PRIZE)
    other, other_post = await ask_organizers(world, VENUE, XIAOGANG)
    assert "相似问题" not in other_post.text and len(buttons(other_post)) == 3
    second, post = await ask_organizers(world, PRIZE_AGAIN, XIAOHONG)
    assert f"另有 1 个相似问题：#{first}" in post.text
    assert buttons(post)[-1] == says("tickets.merge_similar_button", n=1, id=second)

    await world.press(post, "合并这 1 个相似问题", ORGANIZER)
    await bot_says(world, GROUP, f"🔗 #{first} 已合并到 #{second}")
    assert world.store.tickets.get(first).merged_into == second  # type: ignore[union-attr]
    assert world.store.tickets.get(other).merged_into is None  # type: ignore[union-attr]
    await command(world, f"/answer {second} 一等奖奖金 10 万元。")
    assert "一等奖奖金 10 万元。" in (await answer_of(world, first)).text
    assert "一等奖奖金 10 万元。" in (await answer_of(world, second, XIAOHONG)).text


async def test_faq_suggest_lists_answered_questions_asked_twice_and_saves_them(
    world: World,
) -> None:
    world.emulator.add_user(XIAOHONG)
    assert await command(world, "/faq suggest") == says("faq.suggest_none")
    first, post = await ask_organizers(world, PRIZE)
    await reply_in_group(world, post, "一等奖奖金 10 万元。")
    (offer,) = await world.say(PRIZE_AGAIN, XIAOHONG)
    second = await submit(world, offer, XIAOHONG)
    await reply_in_group(world, await post_of(world, second), "一等奖 10 万元。")
    _, venue_post = await ask_organizers(world, VENUE)
    await reply_in_group(world, venue_post, "决赛在武汉举办。")

    (listing,) = await world.say("/faq suggest", ORGANIZER, GROUP)
    lines = listing.text.split("\n")
    assert lines[0] == says("faq.suggest_head")
    assert "2 位提问者" in lines[1] and f"#{first}" in lines[1] and f"#{second}" in lines[1]
    assert VENUE not in listing.text  # asked once
    (button,) = buttons(listing)
    await world.press(listing, button, ORGANIZER)
    await bot_says(world, GROUP, "已存为 FAQ #1，相似问题今后直接由机器人回答")
    assert len(world.store.faq.all()) == 1
    assert await command(world, "/faq suggest") == says("faq.suggest_none")


async def test_saving_an_entry_offers_it_to_askers_still_waiting(world: World) -> None:
    world.emulator.add_user(XIAOHONG)
    world.emulator.add_user(XIAOGANG)
    _, post = await ask_organizers(world, PRIZE)
    await reply_in_group(world, post, "一等奖奖金 10 万元。")
    (offer,) = await world.say(PRIZE_AGAIN, XIAOHONG)
    waiting = await submit(world, offer, XIAOHONG)
    unrelated, _ = await ask_organizers(world, VENUE, XIAOGANG)

    await world.press(world.emulator.message(GROUP, post.message_id), "存为FAQ", ORGANIZER)
    notice = await bot_says(world, GROUP, "个待回复问题与 FAQ #1 相似")
    assert notice.text.split("\n") == [
        "有 1 个待回复问题与 FAQ #1 相似：",
        f"#{waiting} {PRIZE_AGAIN}",
    ]
    assert buttons(notice) == ["📣 用 FAQ #1 答复这 1 位提问者"]
    # Asked after the list was shown: nobody has read it, so the button leaves it alone.
    (answered,) = await world.say("一等奖的奖金有多少", XIAOGANG)  # the FAQ answers it…
    await world.press(answered, "问组委会", XIAOGANG)  # …and they still ask the organizers
    offer_late = await bot_says(world, XIAOGANG.id, "提交前", after=answered.message_id)
    late = await submit(world, offer_late, XIAOGANG)
    await world.press(notice, "用 FAQ #1 答复", ORGANIZER)
    reached = await answer_of(world, waiting, XIAOHONG)
    assert "一等奖奖金 10 万元。" in reached.text
    assert world.store.tickets.get(unrelated).status == "open"  # type: ignore[union-attr]
    assert world.store.tickets.get(waiting).status == "answered"  # type: ignore[union-attr]
    assert world.store.tickets.get(late).status == "open"  # type: ignore[union-attr]


async def test_faq_add_also_offers_the_entry_to_waiting_askers(world: World) -> None:
    waiting, _ = await ask_organizers(world, PRIZE)
    (reply,) = await world.say(f"/faq add {PRIZE_AGAIN} | 一等奖 10 万元。", ORGANIZER, GROUP)
    assert reply.text == says("faq.added", id=1)
    notice = await bot_says(world, GROUP, "个待回复问题与 FAQ #1 相似")
    assert f"#{waiting} {PRIZE}" in notice.text
