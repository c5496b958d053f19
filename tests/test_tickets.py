"""Questions for the organizers, end to end: escalation, tickets in the organizers' group,
answers routed back, merges, the queue, SLA reminders, authorization, flood control and
restarts — the real Application over HTTP against the Bot API emulator."""

from __future__ import annotations

import dataclasses
import html
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    CONTESTANT,
    ORGANIZER,
    ORGANIZER_GROUP,
    World,
    buttons,
    lead,
    restart_world,
    says,
    start_world,
    stop_world,
)
from harness import FinishLine, last_update_id

from bot.sandbox import CallbackAnswer, ChatMessage, User
from handlers.tickets.jobs import check_overdue
from knowledge.texts import tr

pytestmark = pytest.mark.e2e

GROUP = ORGANIZER_GROUP
XIAOHONG = User(1002, "小红", username="xiaohong", language_code="zh-hans")
XIAOGANG = User(1003, "小刚", language_code="zh-hans")
REFUSAL = says("auth.refused")
PRIZE = "一等奖奖金是多少？"
VENUE = "决赛在哪里举办？"
TEAM = "队伍最多几个人"
BLOCKED = "Forbidden: bot was blocked by the user"  # what Telegram says


# --- what users do, in a few words -------------------------------------------------------------


async def bot_says(
    world: World, chat_id: int, needle: str, *, after: int = 0, first_line: bool = False
) -> ChatMessage:
    """Wait for the bot's message in a chat, after message id `after`, that contains `needle`
    (or whose first line is `needle`); return it as it stands now."""

    def matches(m: ChatMessage) -> bool:
        if not m.from_bot or m.message_id <= after:
            return False
        return m.text.split("\n")[0] == needle if first_line else needle in m.text

    def found() -> ChatMessage | None:
        return next((m for m in world.messages(chat_id) if matches(m)), None)

    return await world.emulator.wait_for(found, timeout=10)


async def post_of(world: World, ticket_id: int) -> ChatMessage:
    """The ticket's post in the organizers' group, as it stands now."""
    return await bot_says(world, GROUP, says("tickets.post_title", id=ticket_id), first_line=True)


async def submit(world: World, offer: ChatMessage, user: User = CONTESTANT) -> int:
    """Press 提交给组委会 on an offer; return the number the contestant is told."""
    await world.press(offer, "提交给组委会", user)
    head = lead("tickets.submitted")
    done = await bot_says(world, user.id, head, after=offer.message_id)
    found = re.match(re.escape(head) + r"(\d+)", done.text)
    assert found is not None, done.text
    return int(found.group(1))


async def ask_organizers(
    world: World, text: str, user: User = CONTESTANT
) -> tuple[int, ChatMessage]:
    """Type a question the catalogue cannot answer and send it to the organizers: the ticket's
    number and its post in the organizers' group."""
    (offer,) = await world.say(text, user)
    assert says("tickets.submit") in buttons(offer), offer.text  # offered, not answered
    ticket_id = await submit(world, offer, user)
    return ticket_id, await post_of(world, ticket_id)


async def reply_in_group(
    world: World, message: ChatMessage, text: str, user: User = ORGANIZER
) -> ChatMessage:
    """Reply to a message in the organizers' group; return the bot's next message there."""
    (reply,) = await world.say(text, user, GROUP, reply_to=message.message_id)
    return reply


def followup_head(ticket_id: int, name: str = "小明") -> str:
    """The first line of a follow-up's post in the organizers' group."""
    return says("tickets.followup_post", id=ticket_id, name=name, text="").split("\n")[0]


def answered(ticket_id: int, *delivered: int) -> str:
    """The organizers' report on an answer: which askers it reached."""
    report = says("tickets.answered", id=ticket_id)
    if delivered:
        report += says("tickets.delivered_to", ids="、".join(f"#{i}" for i in delivered))
    return report


async def answer_of(world: World, ticket_id: int, user: User = CONTESTANT) -> ChatMessage:
    """The answer to ticket #N as the contestant received it."""
    return await bot_says(world, user.id, f"{lead('tickets.answer')}{ticket_id}\n")


async def command(world: World, text: str, user: User = ORGANIZER, chat_id: int = GROUP) -> str:
    """Send a command; return the text of the bot's reply."""
    (reply,) = await world.say(text, user, chat_id)
    return reply.text


async def forge(
    world: World, user: User, chat_id: int, message_id: int, data: str
) -> CallbackAnswer:
    """A tampering client's callback query; return the bot's answer to it."""
    query_id = await world.emulator.forge_callback(user, chat_id, message_id, data)
    return await world.emulator.wait_for_answer(query_id, timeout=10)


async def edited(world: World, message: ChatMessage, needle: str) -> ChatMessage:
    """Wait until the bot's message shows `needle` (it edits after it speaks); return it."""

    def now() -> ChatMessage | None:
        current = world.emulator.message(message.chat_id, message.message_id)
        return current if needle in current.text else None

    return await world.emulator.wait_for(now, timeout=10)


def ago(minutes: float) -> str:
    """A timestamp `minutes` before now, as the store writes them."""
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(timespec="seconds")


def use_settings(world: World, **changes: Any) -> None:
    """Change settings of the running bot (start_world pins escalation_interval_seconds=0, so it
    cannot be passed there); handlers read them on every update."""
    world.settings = dataclasses.replace(world.settings, **changes)
    world.app.bot_data.settings = world.settings


def sends_to(world: World, chat_id: int) -> int:
    return sum(
        1
        for c in world.emulator.calls_to("sendMessage")
        if c.params.get("chat_id") == str(chat_id)
    )


# --- escalation: the offer, the ticket, its post -------------------------------------------------


async def test_escalation_offers_faq_and_answered_questions_before_submitting(
    world: World,
) -> None:
    world.emulator.add_user(XIAOHONG)
    assert says("faq.added", id=1) in await command(world, f"/faq add {VENUE} | 决赛在北京举办。")
    ticket_id, post = await ask_organizers(world, PRIZE, XIAOHONG)
    await reply_in_group(world, post, "一等奖奖金 10 万元。")

    # A rewording of an FAQ entry is answered with it, no ticket needed.
    (faq,) = await world.say("决赛地点在哪里")
    assert faq.text.startswith(lead("reply.faq")) and "决赛在北京举办。" in faq.text

    (offer,) = await world.say("一等奖奖金有多少呢")
    assert buttons(offer) == [f"📖 {PRIZE}", says("tickets.submit"), says("nav.home")]
    await world.press(offer, PRIZE)
    shown = world.last(CONTESTANT.id)
    assert shown.text == f"{PRIZE}\n\n一等奖奖金 10 万元。"  # never who asked it
    assert world.store.tickets.get(ticket_id) is not None
    assert len(world.store.tickets.rows()) == 1  # looking is not submitting


async def test_ask_button_under_an_answer_offers_escalation_and_posts_the_guess(
    world: World,
) -> None:
    (answer,) = await world.say("赛道三赛题4")
    assert answer.text.startswith("赛题 3-4")
    await world.press(answer, "问组委会")
    offer = await bot_says(world, CONTESTANT.id, says("tickets.confirm"), after=answer.message_id)
    assert says("tickets.submit") in buttons(offer)
    ticket_id = await submit(world, offer)
    post = await post_of(world, ticket_id)
    assert "<blockquote>赛道三赛题4</blockquote>" in (post.source or "")
    assert says("tickets.post_guesses", guesses="3-4 自动驾驶创新发展") in post.text


async def test_submit_stores_the_ticket_before_telling_the_contestant_then_posts_it(
    world: World,
) -> None:
    # What the database holds at the moment each message reaches Telegram.
    seen: dict[str, list[tuple[Any, ...]]] = {}
    send = world.emulator._methods["sendmessage"]
    reader = sqlite3.connect(world.settings.db_path)

    async def watched(params: dict[str, str]) -> Any:
        sent = params.get("text", "")
        if (
            tr("zh", "tickets.submitted", id=1) in sent
            or tr("zh", "tickets.post_title", id=1) in sent
        ):
            where = "contestant" if params["chat_id"] == str(CONTESTANT.id) else "group"
            seen[where] = reader.execute("select id, status, question from tickets").fetchall()
        return await send(params)

    world.emulator._methods["sendmessage"] = watched
    try:
        ticket_id, post = await ask_organizers(world, PRIZE)
    finally:
        reader.close()
    assert ticket_id == 1
    assert seen["contestant"] == [(1, "open", PRIZE)]
    done = world.last(CONTESTANT.id)
    assert done.text == says("tickets.submitted", id=1)
    # The contestant heard first, the organizers second.
    chats = [c.params.get("chat_id") for c in world.emulator.calls_to("sendMessage")]
    assert chats.index(str(GROUP)) > chats.index(str(CONTESTANT.id))
    assert post.text.split("\n")[:3] == [
        says("tickets.post_title", id=1),
        says("tickets.post_from", who="小明 (@xiaoming)", user_id=CONTESTANT.id),
        PRIZE,
    ]
    assert says("tickets.post_status", status=says("tickets.status_open")) in post.text
    assert says("tickets.post_hint", id=1) in post.text
    assert buttons(post) == [
        says("tickets.claim_button"),
        says("tickets.close_button"),
        says("tickets.merge_button"),
    ]
    # The 提交 button is gone; a forged second press gives the same ticket.
    offer = world.messages(CONTESTANT.id)[1]
    assert says("tickets.submit") not in buttons(offer)
    question_id = world.store.tickets.rows()[0]["id"]
    finish = FinishLine(world.app)
    answer = await forge(world, CONTESTANT, CONTESTANT.id, offer.message_id, f"tk:n:{question_id}")
    assert answer.text == says("tickets.already", id=1)  # a toast: one confirmation in the chat
    await finish.wait(last_update_id(world.emulator))
    assert world.last(CONTESTANT.id).message_id == done.message_id
    assert len(world.store.tickets.rows()) == 1


async def test_ticket_post_escapes_the_askers_name(world: World) -> None:
    tom = world.emulator.add_user(User(1004, '<b>Tom & "Jerry"</b>', username="tom_jerry"))
    ticket_id, post = await ask_organizers(world, "<i>奖金</i> & 证书怎么发？", tom)
    who = '<b>Tom & "Jerry"</b> (@tom_jerry)'
    assert post.text.split("\n")[1] == says(
        "tickets.post_from", who=html.escape(who), user_id=tom.id
    )
    assert "<i>奖金</i> & 证书怎么发？" in post.text
    source = post.source or ""
    assert "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;" in source
    assert "&lt;i&gt;奖金&lt;/i&gt; &amp; 证书" in source
    assert world.store.tickets.get(ticket_id).user_name == '<b>Tom & "Jerry"</b>'  # type: ignore[union-attr]
    queue = await command(world, "/queue")
    assert '<b>Tom & "Jerry"</b>' in queue


# --- answers ----------------------------------------------------------------------------------


async def test_reply_in_group_answers_quoting_the_question_and_updates_the_post(
    world: World,
) -> None:
    ticket_id, post = await ask_organizers(world, PRIZE)
    report = await reply_in_group(world, post, "一等奖奖金 10 万元 <税前>。")
    assert report.text == answered(ticket_id, ticket_id)
    answer = await answer_of(world, ticket_id)
    assert answer.text == says(
        "tickets.answer", id=ticket_id, question=PRIZE,
        answer=html.escape("一等奖奖金 10 万元 <税前>。"), staff="",
    )  # fmt: skip
    assert f"<blockquote>{PRIZE}</blockquote>" in (answer.source or "")
    assert "王老师" not in answer.text  # staff names are hidden by default
    ticket = world.store.tickets.get(ticket_id)
    assert ticket is not None
    assert (ticket.status, ticket.answer, ticket.answered_by) == (
        "answered", "一等奖奖金 10 万元 <税前>。", ORGANIZER.id,
    )  # fmt: skip
    post = world.emulator.message(GROUP, post.message_id)
    assert says("tickets.post_status", status=says("tickets.status_answered")) in post.text
    when = ticket.answered_at[:16].replace("T", " ")  # type: ignore[index]
    assert says("tickets.post_answered_by", name="王老师", when=when) in post.text
    assert says("tickets.post_answer", answer="一等奖奖金 10 万元 &lt;税前&gt;。") in post.text
    assert buttons(post) == [says("faq.save_button")]


async def test_organizers_group_talk_never_reaches_the_matcher(world: World) -> None:
    """In their group the organizers talk among themselves: a question to the bot, a reply to
    one of its messages that is no ticket's, plain talk — none gets an answer from the
    catalogue, and none answers a ticket."""
    ticket_id, _ = await ask_organizers(world, PRIZE)
    (queue,) = await world.say("/queue", ORGANIZER, GROUP)
    finish = FinishLine(world.app)
    for text, reply_to in [
        ("@contest_helper_bot 自动驾驶那题是什么", None),
        ("自动驾驶那题是什么", queue.message_id),
        ("大家看下 #1", None),
    ]:
        await world.emulator.send_text(ORGANIZER, GROUP, text, reply_to=reply_to)
        await finish.wait(last_update_id(world.emulator))
    assert [m for m in world.messages(GROUP) if m.from_bot][-1].message_id == queue.message_id
    assert world.store.tickets.get(ticket_id).status == "open"  # type: ignore[union-attr]
    # The same question outside the group is answered from the catalogue.
    (reply,) = await world.say("自动驾驶那题是什么")
    assert reply.text.startswith("赛题 3-4")


async def test_answer_command_answers_by_number(world: World) -> None:
    ticket_id, _ = await ask_organizers(world, PRIZE)
    assert await command(world, "/answer") == says("tickets.answer_usage")
    assert await command(world, "/answer 99 不存在") == says("tickets.no_such", id=99)
    report = await command(world, f"/answer #{ticket_id} 一等奖奖金 10 万元。")
    assert report == answered(ticket_id, ticket_id)
    assert "一等奖奖金 10 万元。" in (await answer_of(world, ticket_id)).text
    assert world.store.tickets.get(ticket_id).status == "answered"  # type: ignore[union-attr]


async def test_staff_name_shown_only_with_show_staff_names(tmp_path: Path) -> None:
    world = await start_world(tmp_path, show_staff_names=True)
    try:
        ticket_id, post = await ask_organizers(world, PRIZE)
        await reply_in_group(world, post, "一等奖奖金 10 万元。")
        answer = await answer_of(world, ticket_id)
        assert answer.text == says(
            "tickets.answer", id=ticket_id, question=PRIZE, answer="一等奖奖金 10 万元。",
            staff="\n— 王老师",
        )  # fmt: skip
    finally:
        await stop_world(world)


async def test_staff_name_shown_to_a_duplicate_asker_with_show_staff_names(
    tmp_path: Path,
) -> None:
    world = await start_world(tmp_path, show_staff_names=True)
    try:
        world.emulator.add_user(XIAOHONG)
        first, post = await ask_organizers(world, PRIZE)
        await reply_in_group(world, post, "一等奖奖金 10 万元。")
        second, _ = await ask_organizers(world, "一等奖奖金有多少钱？", XIAOHONG)
        await command(world, f"/merge {second} {first}")
        answer = await answer_of(world, second, XIAOHONG)
        assert answer.text == says(
            "tickets.answer", id=second, question="一等奖奖金有多少钱？",
            answer="一等奖奖金 10 万元。", staff="\n— 王老师",
        )  # fmt: skip
    finally:
        await stop_world(world)


async def test_english_contestant_is_answered_in_english(world: World) -> None:
    alice = world.emulator.add_user(User(2002, "Alice", username="alice", language_code="en"))
    (offer,) = await world.say("How much is the first prize?", alice)
    assert offer.text.startswith(says("reply.understood_topic", "en", topic="prizes"))
    await world.press(offer, "Send to the organizers", alice)
    done = await bot_says(world, alice.id, lead("tickets.submitted", "en"), after=offer.message_id)
    assert done.text == says("tickets.submitted", "en", id=1)
    post = await post_of(world, 1)
    # the organizers read Chinese
    assert says("tickets.post_from", who="Alice (@alice)", user_id=alice.id) in post.text
    await reply_in_group(world, post, "100,000 yuan.")
    answer = await bot_says(world, alice.id, f"{lead('tickets.answer', 'en')}1\n")
    assert answer.text == says(
        "tickets.answer", "en", id=1, question="How much is the first prize?",
        answer="100,000 yuan.", staff="",
    )  # fmt: skip
    answered_ = says("tickets.status_answered", "en")
    assert f"#1 · {answered_}" in await command(world, "/myquestions", alice, alice.id)


async def test_contestant_reply_to_an_answer_continues_the_same_ticket(world: World) -> None:
    ticket_id, post = await ask_organizers(world, PRIZE)
    await reply_in_group(world, post, "一等奖奖金 10 万元。")
    answer = await answer_of(world, ticket_id)

    (sent,) = await world.say("那二等奖呢？", reply_to=answer.message_id)
    assert sent.text == says("tickets.followup_sent", id=ticket_id)
    followup = await bot_says(world, GROUP, followup_head(ticket_id))
    assert followup.text == says(
        "tickets.followup_post", id=ticket_id, name="小明", text="那二等奖呢？"
    )
    assert followup.reply_to_message_id == post.message_id
    ticket = world.store.tickets.get(ticket_id)
    assert ticket is not None and ticket.status == "open"
    assert ticket.question == f"{PRIZE}\n追问：那二等奖呢？"
    post = await edited(
        world, post, says("tickets.post_status", status=says("tickets.status_open"))
    )
    assert says("tickets.claim_button") in buttons(post)
    assert len(world.store.tickets.rows()) == 1

    await reply_in_group(world, followup, "二等奖 5 万元。")
    second = await bot_says(world, CONTESTANT.id, "二等奖 5 万元。", after=sent.message_id)
    assert second.text == says(
        "tickets.answer", id=ticket_id, question=f"{PRIZE}\n追问：那二等奖呢？",
        answer="二等奖 5 万元。", staff="",
    )  # fmt: skip
    assert world.store.tickets.get(ticket_id).status == "answered"  # type: ignore[union-attr]


async def test_answer_to_a_contestant_who_blocked_the_bot_is_reported_not_retried(
    world: World,
) -> None:
    ticket_id, post = await ask_organizers(world, PRIZE)
    await world.emulator.block_bot(CONTESTANT)
    before = sends_to(world, CONTESTANT.id)
    report = await reply_in_group(world, post, "一等奖奖金 10 万元。")
    error = says("delivery.blocked", error=BLOCKED)
    final = says("tickets.undeliverable_final", id=ticket_id, error=error)
    assert report.text == f"{answered(ticket_id)}\n{final}"
    assert sends_to(world, CONTESTANT.id) == before + 1
    ticket = world.store.tickets.get(ticket_id)
    assert ticket is not None and ticket.status == "answered"
    assert ticket.delivery_error == error
    undelivered = says("tickets.post_undelivered", error=error)
    assert undelivered in world.emulator.message(GROUP, post.message_id).text
    # Nothing tries again later either.
    assert await check_overdue(world.app) == 0
    await world.handled()
    assert sends_to(world, CONTESTANT.id) == before + 1


# --- duplicates -------------------------------------------------------------------------------


async def test_merge_command_links_duplicates_and_one_answer_reaches_both(world: World) -> None:
    world.emulator.add_user(XIAOHONG)
    first, post = await ask_organizers(world, PRIZE)
    second, duplicate = await ask_organizers(world, "一等奖奖金有多少钱？", XIAOHONG)
    assert await command(world, "/merge 2") == says("tickets.merge_usage")
    refused = await command(world, f"/merge {second} {second}")
    assert refused == says("tickets.merge_refused")
    reply = await command(world, f"/merge {second} {first}")
    assert reply == says("tickets.merged", source=second, target=first)
    merged = world.store.tickets.get(second)
    assert merged is not None and (merged.status, merged.merged_into) == ("merged", first)
    duplicate = world.emulator.message(GROUP, duplicate.message_id)
    merged = says("tickets.status_merged") + f" → #{first}"
    assert says("tickets.post_status", status=merged) in duplicate.text
    assert buttons(duplicate) == []

    report = await reply_in_group(world, post, "一等奖奖金 10 万元。")
    assert report.text == answered(first, first, second)
    assert "一等奖奖金 10 万元。" in (await answer_of(world, first)).text
    to_xiaohong = await answer_of(world, second, XIAOHONG)
    assert to_xiaohong.text == says(
        "tickets.answer", id=second, question="一等奖奖金有多少钱？",
        answer="一等奖奖金 10 万元。", staff="",
    )  # fmt: skip
    assert {t["status"] for t in world.store.tickets.rows()} == {"answered"}


async def test_merge_button_offers_open_tickets_and_merges(world: World) -> None:
    world.emulator.add_user(XIAOHONG)
    first, _ = await ask_organizers(world, PRIZE)
    second, duplicate = await ask_organizers(world, "一等奖奖金有多少钱？", XIAOHONG)
    await world.press(duplicate, "合并到", ORGANIZER)
    menu = await bot_says(world, GROUP, says("tickets.merge_which", id=second))
    assert menu.reply_to_message_id == duplicate.message_id
    assert buttons(menu) == [f"→ #{first} {PRIZE}"]
    await world.press(menu, f"#{first}", ORGANIZER)
    menu = await edited(world, menu, says("tickets.merged", source=second, target=first))
    assert buttons(menu) == []
    assert world.store.tickets.get(second).merged_into == first  # type: ignore[union-attr]
    await command(world, f"/answer {first} 一等奖奖金 10 万元。")
    assert "一等奖奖金 10 万元。" in (await answer_of(world, second, XIAOHONG)).text


async def test_merge_into_an_answered_ticket_delivers_its_answer_at_once(world: World) -> None:
    world.emulator.add_user(XIAOHONG)
    first, post = await ask_organizers(world, PRIZE)
    await reply_in_group(world, post, "一等奖奖金 10 万元。")
    second, _ = await ask_organizers(world, "一等奖奖金有多少钱？", XIAOHONG)
    reply = await command(world, f"/merge {second} {first}")
    assert reply == says("tickets.merged_answered", source=second, target=first)
    answer = await answer_of(world, second, XIAOHONG)
    assert "一等奖奖金 10 万元。" in answer.text
    ticket = world.store.tickets.get(second)
    assert ticket is not None and (ticket.status, ticket.answer) == (
        "answered",
        "一等奖奖金 10 万元。",
    )


async def test_merging_a_chain_into_an_answered_ticket_answers_every_asker(world: World) -> None:
    for user in (XIAOHONG, XIAOGANG):
        world.emulator.add_user(user)
    first, post = await ask_organizers(world, PRIZE)
    await reply_in_group(world, post, "一等奖奖金 10 万元。")
    second, _ = await ask_organizers(world, "一等奖奖金有多少钱？", XIAOHONG)
    third, _ = await ask_organizers(world, "一等奖的奖金有多少", XIAOGANG)
    await command(world, f"/merge {third} {second}")
    await command(world, f"/merge {second} {first}")
    assert "一等奖奖金 10 万元。" in (await answer_of(world, second, XIAOHONG)).text
    assert world.store.tickets.get(third).status == "answered"  # type: ignore[union-attr]
    assert "一等奖奖金 10 万元。" in (await answer_of(world, third, XIAOGANG)).text


async def test_duplicate_merged_into_a_closed_ticket_can_still_be_answered(world: World) -> None:
    world.emulator.add_user(XIAOHONG)
    first, post = await ask_organizers(world, PRIZE)
    await world.press(post, "关闭", ORGANIZER)
    second, _ = await ask_organizers(world, "一等奖奖金有多少钱？", XIAOHONG)
    await command(world, f"/merge {second} {first}")
    await command(world, f"/answer {second} 一等奖奖金 10 万元。")
    assert world.store.tickets.get(second).status == "answered"  # type: ignore[union-attr]
    assert "一等奖奖金 10 万元。" in (await answer_of(world, second, XIAOHONG)).text


async def test_claim_and_close_buttons_update_the_post(world: World) -> None:
    first, post = await ask_organizers(world, PRIZE)
    answer = await world.press(post, "认领", ORGANIZER)
    assert answer.text == says("tickets.claimed", id=first)
    post = world.emulator.message(GROUP, post.message_id)
    assert says("tickets.post_claimed", name="王老师") in post.text
    assert world.store.tickets.get(first).claimed_by == ORGANIZER.id  # type: ignore[union-attr]
    answer = await world.press(post, "关闭", ORGANIZER)
    assert answer.text == says("tickets.closed", id=first)
    post = world.emulator.message(GROUP, post.message_id)
    assert says("tickets.post_status", status=says("tickets.status_closed")) in post.text
    assert buttons(post) == []
    assert world.store.tickets.get(first).status == "closed"  # type: ignore[union-attr]
    late = await command(world, f"/answer {first} 晚了")
    assert late == says("tickets.closed_not_sent", id=first)
    mine = await command(world, "/myquestions", CONTESTANT, CONTESTANT.id)
    assert f"#{first} · {says('tickets.status_closed')}" in mine


async def test_closing_without_an_answer_tells_the_asker_kindly_how_to_ask_again(
    world: World,
) -> None:
    ticket_id, post = await ask_organizers(world, PRIZE)
    await world.press(post, "关闭", ORGANIZER)
    notice = await bot_says(world, CONTESTANT.id, lead("tickets.closed_notice"))
    assert notice.text == says("tickets.closed_notice", id=ticket_id, question=PRIZE)
    # Replying to the notice asks again: the same ticket, open, back in the organizers' group.
    (sent,) = await world.say("我们想问的是税前还是税后？", reply_to=notice.message_id)
    assert sent.text == says("tickets.followup_sent", id=ticket_id)
    followup = await bot_says(world, GROUP, followup_head(ticket_id))
    assert followup.reply_to_message_id == post.message_id
    ticket = world.store.tickets.get(ticket_id)
    assert ticket is not None and ticket.status == "open"
    assert ticket.question == f"{PRIZE}\n追问：我们想问的是税前还是税后？"
    post = await edited(
        world, post, says("tickets.post_status", status=says("tickets.status_open"))
    )
    await reply_in_group(world, followup, "税前。")
    assert "税前。" in (await answer_of(world, ticket_id)).text


async def test_closing_the_ticket_of_an_english_contestant_tells_them_in_english(
    world: World,
) -> None:
    alice = world.emulator.add_user(1010, "Alice", language_code="en")
    alice_asked = "How much is the first prize?"
    (offer,) = await world.say(alice_asked, alice)
    await world.press(offer, "Send to the organizers", alice)
    await bot_says(world, alice.id, f"{lead('tickets.submitted', 'en')}1")
    ticket_id = 1
    await world.press(await post_of(world, ticket_id), "关闭", ORGANIZER)
    notice = await bot_says(world, alice.id, lead("tickets.closed_notice", "en"))
    assert notice.text == says("tickets.closed_notice", "en", id=ticket_id, question=alice_asked)


async def test_closing_for_a_contestant_who_blocked_the_bot_is_reported_in_the_group(
    world: World,
) -> None:
    ticket_id, post = await ask_organizers(world, PRIZE)
    await world.emulator.block_bot(CONTESTANT)
    await world.press(post, "关闭", ORGANIZER)
    untold = says("tickets.close_untold", id=ticket_id, error=BLOCKED)
    warning = await bot_says(world, GROUP, untold)
    assert warning.text == untold
    assert warning.reply_to_message_id == post.message_id
    assert world.store.tickets.get(ticket_id).status == "closed"  # type: ignore[union-attr]


# --- what contestants see ---------------------------------------------------------------------


async def test_myquestions_lists_own_tickets_with_status_and_answers(world: World) -> None:
    world.emulator.add_user(XIAOHONG)
    assert await command(world, "/myquestions", XIAOHONG, XIAOHONG.id) == says("tickets.none")
    first, post = await ask_organizers(world, PRIZE)
    second, _ = await ask_organizers(world, VENUE)
    await reply_in_group(world, post, "一等奖奖金 10 万元。")
    hers, _ = await ask_organizers(world, TEAM, XIAOHONG)
    mine = await command(world, "/myquestions", CONTESTANT, CONTESTANT.id)
    waiting, answered_ = says("tickets.status_open"), says("tickets.status_answered")
    assert mine == (
        f"{says('tickets.mine')}\n\n#{second} · {waiting}\n{VENUE}\n\n"
        f"#{first} · {answered_}\n{PRIZE}\n{says('tickets.answer_label')}：一等奖奖金 10 万元。"
    )
    assert TEAM not in mine
    theirs = await command(world, "/myquestions", XIAOHONG, XIAOHONG.id)
    assert theirs == f"{says('tickets.mine')}\n\n#{hers} · {waiting}\n{TEAM}"


async def test_contestants_cannot_see_or_send_anothers_question(world: World) -> None:
    world.emulator.add_user(XIAOHONG)
    (offer,) = await world.say(PRIZE)  # 小明's question, not submitted
    question_id = 1
    assert world.store.questions.get(question_id).text == PRIZE  # type: ignore[union-attr]
    first, _ = await ask_organizers(world, VENUE)  # 小明's open ticket
    assert await command(world, f"/ticket {first}", XIAOHONG, XIAOHONG.id) == REFUSAL
    (hers,) = await world.say(TEAM, XIAOHONG)
    for data in (f"tk:n:{question_id}", f"tk:q:{question_id}"):
        answer = await forge(world, XIAOHONG, XIAOHONG.id, hers.message_id, data)
        assert (answer.text, answer.show_alert) == (says("tickets.not_yours"), True)
    answer = await forge(world, XIAOHONG, XIAOHONG.id, hers.message_id, f"tk:a:{first}")
    assert answer.text == says("nav.expired")
    await world.handled()
    assert not any(VENUE in m.text or PRIZE in m.text for m in world.messages(XIAOHONG.id))
    assert world.store.questions.get(question_id).ticket_id is None  # type: ignore[union-attr]
    assert [t["user_id"] for t in world.store.tickets.rows()] == [CONTESTANT.id]
    assert says("tickets.submit") in buttons(
        world.emulator.message(CONTESTANT.id, offer.message_id)
    )


# --- what organizers see ----------------------------------------------------------------------


async def test_queue_lists_open_tickets_oldest_first_with_age_and_claim(world: World) -> None:
    world.emulator.add_user(XIAOHONG)
    assert await command(world, "/queue") == says("tickets.queue_empty")
    first, post = await ask_organizers(world, PRIZE)
    second, _ = await ask_organizers(world, VENUE, XIAOHONG)
    _, third_post = await ask_organizers(world, TEAM)
    world.store.tickets.update(first, created_at=ago(12), waiting_since=ago(12))
    world.store.tickets.update(second, created_at=ago(125), waiting_since=ago(125))
    await world.press(post, "认领", ORGANIZER)
    await reply_in_group(world, third_post, "最多 5 人。")
    claimed = says("tickets.queue_claimed", name="王老师")
    assert await command(world, "/queue") == (
        f"{says('tickets.queue_head', n=2)}\n"
        f"#{second} · {says('time.hours', h=2, m=5)} · 小红\n  {VENUE}\n"
        f"#{first} · {says('time.minutes', m=12)} · 小明{claimed}\n  {PRIZE}"
    )


async def test_ticket_command_shows_one_ticket_with_its_buttons(world: World) -> None:
    first, post = await ask_organizers(world, PRIZE)
    (shown,) = await world.say(f"/ticket #{first}", ORGANIZER, GROUP)
    assert shown.text == post.text and buttons(shown) == buttons(post)
    assert await command(world, "/ticket 42") == says("tickets.no_such", id=42)
    assert await command(world, "/ticket") == says("tickets.ticket_usage")


# --- SLA --------------------------------------------------------------------------------------


def reminders(world: World) -> list[ChatMessage]:
    head = lead("tickets.reminder")
    return [m for m in world.messages(GROUP) if m.from_bot and m.text.startswith(head)]


async def test_overdue_ticket_is_raised_again_once(world: World) -> None:
    first, post = await ask_organizers(world, PRIZE)
    second, _ = await ask_organizers(world, VENUE)
    world.store.tickets.update(
        first,
        created_at=ago(world.settings.sla_minutes + 1),
        waiting_since=ago(world.settings.sla_minutes + 1),
    )
    world.store.tickets.update(
        second,
        created_at=ago(world.settings.sla_minutes - 1),
        waiting_since=ago(world.settings.sla_minutes - 1),
    )
    assert await check_overdue(world.app) == 1
    (reminder,) = reminders(world)
    waited = says("time.minutes", m=31)
    assert reminder.text == says("tickets.reminder", id=first, waited=waited)
    assert reminder.reply_to_message_id == post.message_id
    assert world.store.tickets.get(first).sla_reminded_at is not None  # type: ignore[union-attr]
    assert await check_overdue(world.app) == 0
    assert len(reminders(world)) == 1
    # Replying to the reminder answers the ticket.
    report = await reply_in_group(world, reminder, "10 万元。")
    assert report.text == answered(first, first)


async def test_answered_and_closed_tickets_are_not_raised(world: World) -> None:
    first, post = await ask_organizers(world, PRIZE)
    second, second_post = await ask_organizers(world, VENUE)
    await reply_in_group(world, post, "10 万元。")
    await world.press(second_post, "关闭", ORGANIZER)
    for ticket_id in (first, second):
        world.store.tickets.update(ticket_id, created_at=ago(120), waiting_since=ago(120))
    assert await check_overdue(world.app) == 0
    assert reminders(world) == []


async def test_follow_up_on_an_old_ticket_is_not_overdue_at_once(world: World) -> None:
    ticket_id, post = await ask_organizers(world, PRIZE)
    await reply_in_group(world, post, "10 万元。")
    world.store.tickets.update(
        ticket_id, created_at=ago(120), first_answered_at=ago(110), answered_at=ago(110)
    )
    answer = await answer_of(world, ticket_id)
    await world.say("税前还是税后？", reply_to=answer.message_id)
    await bot_says(world, GROUP, followup_head(ticket_id))
    assert await check_overdue(world.app) == 0


async def test_ticket_whose_post_failed_is_posted_by_the_next_check(world: World) -> None:
    (offer,) = await world.say(PRIZE)
    # The second sendMessage from now, the ticket's post (after 已提交), fails once.
    fault = world.emulator.inject_fault("error_500", methods=["sendMessage"], on_calls=[2])
    ticket_id = await submit(world, offer)
    await world.emulator.wait_for(lambda: fault.fired == 1, timeout=10)
    assert world.messages(GROUP) == []
    assert world.store.tickets.get(ticket_id) is not None
    await check_overdue(world.app)  # sends what it sends before it returns
    title = says("tickets.post_title", id=ticket_id) + "\n"
    posts = [m for m in world.messages(GROUP) if m.text.startswith(title)]
    assert len(posts) == 1
    assert PRIZE in posts[0].text and says("tickets.claim_button") in buttons(posts[0])


# --- authorization ----------------------------------------------------------------------------


async def test_contestant_is_refused_every_organizer_command(world: World) -> None:
    ticket_id, post = await ask_organizers(world, PRIZE)
    other, _ = await ask_organizers(world, VENUE)
    sent = sends_to(world, CONTESTANT.id)
    for text in (
        f"/answer {ticket_id} 我自己回答",
        f"/merge {other} {ticket_id}",
        "/queue",
        f"/ticket {ticket_id}",
        "/stats",
        "/faq add 奖金 | 很多",
        "/faq list",
    ):
        assert await command(world, text, CONTESTANT, CONTESTANT.id) == REFUSAL, text
    assert sends_to(world, CONTESTANT.id) == sent + 7  # the refusals, nothing else
    assert [(t["status"], t["answer"], t["merged_into"]) for t in world.store.tickets.rows()] == [
        ("open", None, None),
        ("open", None, None),
    ]
    assert world.store.faq.all() == []
    assert world.emulator.message(GROUP, post.message_id).version == post.version


async def test_contestant_pressing_organizer_buttons_is_refused(world: World) -> None:
    ticket_id, post = await ask_organizers(world, PRIZE)
    other, _ = await ask_organizers(world, VENUE)
    before = world.store.tickets.rows()
    for data in (
        f"tk:claim:{ticket_id}",
        f"tk:close:{ticket_id}",
        f"tk:merge:{ticket_id}",
        f"tk:mg:{ticket_id}:{other}",
        f"tk:faq:{ticket_id}",
    ):
        answer = await forge(world, CONTESTANT, GROUP, post.message_id, data)
        assert (answer.text, answer.show_alert) == (REFUSAL, True), data
    await world.handled()
    assert world.store.tickets.rows() == before and world.store.faq.all() == []
    assert world.emulator.message(GROUP, post.message_id).version == post.version
    assert [m.message_id for m in world.messages(GROUP)] == [post.message_id, post.message_id + 1]


@pytest.mark.parametrize("status", ["left", "kicked"])
async def test_reply_from_someone_no_longer_in_the_group_is_refused(
    world: World, status: str
) -> None:
    ticket_id, post = await ask_organizers(world, PRIZE)
    gone = world.emulator.add_user(User(9002, "李四"))
    world.emulator.set_member_status(GROUP, gone, "member")
    sent = sends_to(world, CONTESTANT.id)
    # Removed from the group while the reply was on its way: the bot asks Telegram afresh.
    message = await world.emulator.send_text(gone, GROUP, "随便回一句", reply_to=post.message_id)
    world.emulator.set_member_status(GROUP, gone, status)
    (refusal,) = await world.emulator.wait_for_messages(GROUP, 1, after=message, timeout=10)
    assert refusal.text == REFUSAL
    ticket = world.store.tickets.get(ticket_id)
    assert ticket is not None and (ticket.status, ticket.answer) == ("open", None)
    assert sends_to(world, CONTESTANT.id) == sent


async def test_kicked_user_cannot_manage_faq_in_private(world: World) -> None:
    kicked = world.emulator.add_user(User(9002, "李四"))
    world.emulator.set_member_status(GROUP, kicked, "kicked")
    assert await command(world, "/faq add 奖金 | 很多", kicked, kicked.id) == REFUSAL
    assert world.store.faq.all() == []


async def test_group_member_is_an_organizer_checked_once_and_cached(world: World) -> None:
    zhao = world.emulator.add_user(User(9003, "赵老师"))
    world.emulator.set_member_status(GROUP, zhao, "member")
    ticket_id, post = await ask_organizers(world, PRIZE)
    queue = await command(world, "/queue", zhao, zhao.id)
    assert queue.startswith(says("tickets.queue_head", n=1))
    await world.press(post, "认领", zhao)
    report = await reply_in_group(world, post, "10 万元。", zhao)
    assert report.text == answered(ticket_id, ticket_id)
    asked = [
        c
        for c in world.emulator.calls_to("getChatMember")
        if c.params.get("user_id") == str(zhao.id)
    ]
    assert len(asked) == 1


async def test_organizer_ids_work_outside_the_group(tmp_path: Path) -> None:
    outside = User(9004, "钱老师")
    world = await start_world(tmp_path, organizer_ids=frozenset({outside.id}))
    try:
        world.emulator.add_user(outside)
        ticket_id, _ = await ask_organizers(world, PRIZE)
        report = await command(world, f"/answer {ticket_id} 10 万元。", outside, outside.id)
        assert report == answered(ticket_id, ticket_id)
        assert "10 万元。" in (await answer_of(world, ticket_id)).text
        assert world.emulator.calls_to("getChatMember") == []
    finally:
        await stop_world(world)


# --- flood control ----------------------------------------------------------------------------


async def test_open_ticket_limit_keeps_the_question_until_one_is_answered(world: World) -> None:
    assert world.settings.max_open_tickets == 3
    _, post = await ask_organizers(world, PRIZE)
    await ask_organizers(world, VENUE)
    await ask_organizers(world, TEAM)
    (offer,) = await world.say("复赛什么时候开始")
    refused = await world.press(offer, "提交给组委会", changes=False)
    assert refused.show_alert and refused.text == says("tickets.too_many", n=3)
    assert len(world.store.tickets.rows()) == 3
    offer = world.emulator.message(CONTESTANT.id, offer.message_id)
    assert says("tickets.submit") in buttons(offer)

    await reply_in_group(world, post, "10 万元。")
    fourth = await submit(world, offer)
    assert fourth == 4
    assert world.store.tickets.get(fourth).question == "复赛什么时候开始"  # type: ignore[union-attr]
    await post_of(world, fourth)


async def test_escalation_interval_keeps_the_question_until_it_passes(world: World) -> None:
    use_settings(world, escalation_interval_seconds=3600)
    first, _ = await ask_organizers(world, PRIZE)
    (offer,) = await world.say(VENUE)
    refused = await world.press(offer, "提交给组委会", changes=False)
    assert refused.show_alert and refused.text is not None
    # 3600 seconds, or a little less on a busy machine
    pattern = re.escape(says("tickets.too_soon", s="SECONDS")).replace("SECONDS", r"3[56]\d\d")
    assert re.fullmatch(pattern, refused.text)
    assert len(world.store.tickets.rows()) == 1
    world.store.tickets.update(first, created_at=ago(61), waiting_since=ago(61))
    second = await submit(world, world.emulator.message(CONTESTANT.id, offer.message_id))
    assert world.store.tickets.get(second).question == VENUE  # type: ignore[union-attr]


# --- restarts ---------------------------------------------------------------------------------


async def test_tickets_mapping_merges_and_faq_survive_a_restart(tmp_path: Path) -> None:
    world = await start_world(tmp_path)
    try:
        world.emulator.add_user(XIAOHONG)
        first, post = await ask_organizers(world, PRIZE)
        second, _ = await ask_organizers(world, "一等奖奖金有多少钱？", XIAOHONG)
        await command(world, f"/merge {second} {first}")
        await command(world, f"/faq add {VENUE} | 决赛在北京举办。")
        world = await restart_world(world)

        report = await reply_in_group(world, post, "一等奖奖金 10 万元。")
        assert report.text == answered(first, first, second)
        assert "一等奖奖金 10 万元。" in (await answer_of(world, first)).text
        assert "一等奖奖金 10 万元。" in (await answer_of(world, second, XIAOHONG)).text
        answered_status = says("tickets.post_status", status=says("tickets.status_answered"))
        assert answered_status in world.emulator.message(GROUP, post.message_id).text
        (faq,) = await world.say("决赛在哪个城市举办？")
        assert faq.text.startswith(lead("reply.faq")) and "决赛在北京举办。" in faq.text
    finally:
        await stop_world(world)


async def test_pending_reminders_survive_a_restart(tmp_path: Path) -> None:
    world = await start_world(tmp_path)
    try:
        first, first_post = await ask_organizers(world, PRIZE)
        second, second_post = await ask_organizers(world, VENUE)
        world.store.tickets.update(first, created_at=ago(45), waiting_since=ago(45))
        assert await check_overdue(world.app) == 1
        world = await restart_world(world)
        assert await check_overdue(world.app) == 0  # after the SLA loop's round at start

        world.store.tickets.update(second, created_at=ago(45), waiting_since=ago(45))
        assert await check_overdue(world.app) == 1
        assert [(m.text.split(" ")[1], m.reply_to_message_id) for m in reminders(world)] == [
            (f"#{first}", first_post.message_id),
            (f"#{second}", second_post.message_id),
        ]
        assert await check_overdue(world.app) == 0
    finally:
        await stop_world(world)
