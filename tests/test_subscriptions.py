"""Subscriptions end to end: /subscribe's multi-select, /team, /settings, /unsubscribe, group
admins, the 🔔 button of cards, and what the organizers' ticket post shows."""

from __future__ import annotations

import html

from conftest import CONTESTANT, ORGANIZER, ORGANIZER_GROUP, World, button, buttons, lead, says

from bot.sandbox import User

TEAM_GROUP = -100555


async def test_subscribe_multi_select_toggles_then_done_subscribes(world: World) -> None:
    (menu,) = await world.say("/subscribe")
    assert says("subs.intro") in menu.text
    labels = buttons(menu)
    assert len([b for b in labels if b.startswith("赛道")]) == 8
    assert says("subs.all") in labels and says("subs.done") in labels
    await world.press(menu, "赛道一")
    await world.press(world.last(CONTESTANT.id), "赛道三")
    await world.press(world.last(CONTESTANT.id), "赛道一")  # untick
    ticked = [b for b in buttons(world.last(CONTESTANT.id)) if b.startswith("✅ 赛道")]
    assert ticked == ["✅ 赛道三 · 交通运输"]
    sub = world.store.subscriptions.get(CONTESTANT.id)
    assert sub is not None and sub.tracks == ("3",) and not sub.active  # not before 完成
    await world.press(world.last(CONTESTANT.id), "完成")
    done = world.last(CONTESTANT.id)
    assert done.text.startswith(says("subs.subscribed"))
    assert "赛道三 · 交通运输" in done.text and not buttons(done)
    sub = world.store.subscriptions.get(CONTESTANT.id)
    assert sub is not None and sub.active and sub.tracks == ("3",)
    assert len(world.messages(CONTESTANT.id)) == 2  # the keyboard was edited in place


async def test_all_tracks_then_untick_one_keeps_the_others(world: World) -> None:
    (menu,) = await world.say("/subscribe")
    await world.press(menu, "全部赛道")
    assert all(b.startswith("✅") for b in buttons(world.last(CONTESTANT.id)) if "赛道" in b)
    sub = world.store.subscriptions.get(CONTESTANT.id)
    assert sub is not None and sub.all_tracks
    await world.press(world.last(CONTESTANT.id), "赛道五")
    sub = world.store.subscriptions.get(CONTESTANT.id)
    assert sub is not None and not sub.all_tracks
    assert sub.tracks == ("1", "2", "3", "4", "6", "7", "8")


async def test_team_settings_and_unsubscribe(world: World) -> None:
    (reply,) = await world.say("/team <b>火箭</b> & 队")
    assert reply.source is not None and "&lt;b&gt;火箭&lt;/b&gt; &amp; 队" in reply.source
    assert "/subscribe" in reply.text  # not subscribed yet: says how
    (menu,) = await world.say("/subscribe")
    await world.press(menu, "完成")
    (settings,) = await world.say("/settings")
    assert says("subs.status", status=says("subs.on")) in settings.text
    assert (
        says("subs.team", team=html.escape("<b>火箭</b> & 队")) in settings.text
    )  # shown literally, not as bold
    assert says("subs.tracks", tracks=says("subs.no_tracks")) in settings.text
    (bye,) = await world.say("/unsubscribe")
    assert says("subs.unsubscribed") in bye.text
    sub = world.store.subscriptions.get(CONTESTANT.id)
    assert sub is not None and not sub.active and sub.team == "<b>火箭</b> & 队"
    (settings,) = await world.say("/settings")
    assert says("subs.status", status=says("subs.off")) in settings.text
    (usage,) = await world.say("/team")
    assert usage.text.startswith(lead("subs.team_usage"))
    (cleared,) = await world.say("/team -")
    assert says("subs.team_cleared") in cleared.text
    assert world.store.subscriptions.get(CONTESTANT.id).team is None  # type: ignore[union-attr]


async def test_settings_before_anything_says_how_to_subscribe(world: World) -> None:
    (settings,) = await world.say("/settings")
    assert "发送 /subscribe" in settings.text
    (bye,) = await world.say("/unsubscribe")
    assert says("subs.not_subscribed") in bye.text


async def test_group_subscription_is_for_its_admins_only(world: World) -> None:
    captain = world.emulator.add_user(3001, "队长")
    member = world.emulator.add_user(3002, "队员")
    world.emulator.create_group(TEAM_GROUP, "火箭队群", creator=captain, members=[member])
    (refused,) = await world.say("/subscribe", member, TEAM_GROUP)
    assert says("subs.admins_only") in refused.text
    (refused,) = await world.say("/team 火箭队", member, TEAM_GROUP)
    assert says("subs.admins_only") in refused.text
    assert world.store.subscriptions.get(TEAM_GROUP) is None  # nothing stored
    (menu,) = await world.say("/subscribe", captain, TEAM_GROUP)
    assert says("subs.intro_group") in menu.text
    alert = await world.press(menu, "赛道二", member, changes=False)
    assert alert.show_alert and says("subs.admins_only") in (alert.text or "")
    sub = world.store.subscriptions.get(TEAM_GROUP)
    assert sub is not None and sub.tracks == ()  # the member's press changed nothing
    await world.press(menu, "赛道二", captain)
    await world.press(world.emulator.message(TEAM_GROUP, menu.message_id), "完成", captain)
    await world.say("/team 火箭队", captain, TEAM_GROUP)
    sub = world.store.subscriptions.get(TEAM_GROUP)
    assert sub is not None and sub.active and sub.kind == "group"
    assert (sub.tracks, sub.team, sub.name) == (("2",), "火箭队", "火箭队群")
    (settings,) = await world.say("/settings", member, TEAM_GROUP)  # anyone may look
    assert says("subs.heading_group") in settings.text and "火箭队" in settings.text
    world.emulator.set_member_status(TEAM_GROUP, member, "administrator")
    (bye,) = await world.say("/unsubscribe", member, TEAM_GROUP)  # now an admin
    assert says("subs.unsubscribed") in bye.text


async def test_track_and_problem_cards_offer_the_bell(world: World) -> None:
    (track,) = await world.say("/start t3")
    assert says("nav.follow") in buttons(track)
    data = button(track, "订阅本赛道")
    assert len(data.encode()) <= 64
    answer = await world.press(track, "订阅本赛道", changes=False)
    assert answer.text is not None and "赛道三 · 交通运输" in answer.text
    (problem,) = await world.say("/start p5-2")
    await world.press(problem, "订阅本赛道", changes=False)
    sub = world.store.subscriptions.get(CONTESTANT.id)
    assert sub is not None and sub.active and sub.tracks == ("3", "5")


async def test_english_user_gets_english(world: World) -> None:
    alice = world.emulator.add_user(2002, "Alice", language_code="en")
    (menu,) = await world.say("/subscribe", alice)
    assert menu.text.startswith(says("subs.intro", "en"))
    assert says("subs.all", "en") in buttons(menu) and "Track 3 · 交通运输" in buttons(menu)
    await world.press(menu, "Track 3", alice)
    await world.press(world.last(alice.id), "Done", alice)
    assert world.last(alice.id).text.startswith(says("subs.subscribed", "en"))
    (track,) = await world.say("/start t1", alice)
    assert says("nav.follow", "en") in buttons(track)


async def test_ticket_post_shows_the_askers_team_and_tracks(world: World) -> None:
    (menu,) = await world.say("/subscribe")
    await world.press(menu, "赛道三")
    await world.press(world.last(CONTESTANT.id), "完成")
    await world.say("/team 火箭队")
    (offer,) = await world.say("一等奖奖金是多少？")
    await world.press(offer, "提交给组委会")
    (post,) = await world.emulator.wait_for_messages(ORGANIZER_GROUP, 1)
    team = says("subs.post_team", team="火箭队")
    tracks = says("subs.post_tracks", tracks="赛道三 · 交通运输")
    assert f"{team} · {tracks}" in post.text
    # Someone who never subscribed: no such line.
    stranger = world.emulator.add_user(2003, "路人")
    (offer,) = await world.say("决赛在哪里举办？", stranger)
    await world.press(offer, "提交给组委会", stranger)
    posts = await world.emulator.wait_for_messages(ORGANIZER_GROUP, 2)
    assert lead("subs.post_team") not in posts[-1].text
    assert lead("subs.post_tracks") not in posts[-1].text


async def test_command_menu_offers_subscribe_and_settings(world: World) -> None:
    flat = str(world.emulator.commands)
    for expected in ("subscribe", "订阅赛事通知", "settings", "Announcements to receive"):
        assert expected in flat


async def test_organizers_group_cannot_be_driven_by_a_forged_toggle(world: World) -> None:
    """A forged sub: callback in a group from a non-admin changes nothing."""
    outsider = User(3003, "外人")
    world.emulator.add_user(outsider)
    (menu,) = await world.say("/subscribe", ORGANIZER, ORGANIZER_GROUP)
    query = await world.emulator.forge_callback(
        outsider, ORGANIZER_GROUP, menu.message_id, "sub:done"
    )
    answer = await world.emulator.wait_for_answer(query)
    assert answer.show_alert
    sub = world.store.subscriptions.get(ORGANIZER_GROUP)
    assert sub is not None and not sub.active
