"""Hostile input: text no test author would type, forged callbacks, replayed updates.

The matcher and the renderer get hypothesis-generated text directly; the running bot gets it over
HTTP through the strict emulator, which refuses invalid HTML and messages over 4096 characters.
Whatever arrives, nothing raises, every reply is accepted, the database stays intact, and forged
or replayed updates change nothing. bench/reliability.py runs the same properties at 10,000+.
"""

from __future__ import annotations

import asyncio
import html
import math
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    CONTESTANT,
    ORGANIZER,
    ORGANIZER_GROUP,
    World,
    button,
    says,
    start_world,
    stop_world,
    updates_done,
)
from harness import (
    HOSTILE,
    FinishLine,
    bot_messages,
    database_report,
    hostile_text,
    refused,
    snapshot,
)
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from telegram import Update

from bot.sandbox import ChatMessage, User
from bot.sandbox.emulator import finalize_text, format_text
from bot.telegram_text import MAX_TEXT_LENGTH, split_html, to_plain, utf16_len
from knowledge.base import KnowledgeBase
from knowledge.matcher import INTENTS, Answer
from knowledge.render import render_answer, render_faq
from knowledge.store import Store

GROUP = ORGANIZER_GROUP
STRANGER = User(1666, "路人甲", language_code="zh-hans")
TABLES = ("questions", "tickets", "ticket_messages", "faq", "subscriptions", "broadcasts",
          "deliveries")  # fmt: skip
HOSTILE_FAQ = [
    ("<b>报名</b> & 截止 <script>alert(1)</script>", "5月31日 &amp; <i>之前</i> &nbsp; ]]>"),
    ("'; DROP TABLE faq;-- 一等奖奖金", "*不告诉你* _真的_ `code` [x](http://a.b)"),
    ("\u202e奖金多少\u202c😀👨‍👩‍👧", "\u200b" * 5 + "奖金" + "😀" * 2000),
]

# Derandomized: `make test` sees the same examples every run (bench/reliability.py explores).
BASE = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
    database=None,
)


def examples(n: int) -> settings:
    return settings(BASE, max_examples=n)


def accepted(html_text: str) -> str:
    """What Telegram shows for this HTML, or AssertionError with the refusal."""
    formatted = format_text(html_text, "HTML", None)  # raises ApiError like sendMessage would
    assert utf16_len(formatted.text) <= MAX_TEXT_LENGTH, utf16_len(formatted.text)
    return formatted.text


# --- the knowledge layer, directly ---------------------------------------------------------------


@pytest.fixture(scope="module")
def knowledge() -> KnowledgeBase:
    kb = KnowledgeBase(Store(":memory:"))
    for question, answer in HOSTILE_FAQ:
        kb.store.faq.add(question, answer)
    kb.refresh_faq()
    return kb


def check_answer(kb: KnowledgeBase, text: str) -> Answer:
    answer = kb.ask(text)
    assert answer.intent in INTENTS
    assert math.isfinite(answer.score)
    for ident in answer.ids:
        if ident.startswith("faq:"):
            assert int(ident[4:]) in kb.faq
        else:
            assert kb.catalogue.problem(ident) or kb.catalogue.track(ident), ident
    for lang in ("zh", "en"):
        parts = split_html(render_answer(answer, kb.catalogue, kb.faq, lang))
        assert parts and all(accepted(part).strip() for part in parts)
    return answer


@pytest.mark.slow
@pytest.mark.timeout(600)  # 250 texts up to many KiB, each embedded: ~50 s of CPU, more when busy
@examples(250)
@given(HOSTILE)
def test_matcher_and_replies_take_any_text(
    knowledge: KnowledgeBase, pair: tuple[str, str]
) -> None:
    check_answer(knowledge, pair[1])


@pytest.mark.slow
@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\x00",
        "\ud800",  # a lone surrogate: only a forged update can carry one
        "赛道三\udfff赛题4",
        "赛" * 4096,
        "赛" * 4097,
        "😀" * 2049,
        "&" * 5000,
        "<" * 5000,
        "/" * 300,
        "/start " + "p" * 5000,
        "3-" + "9" * 400,
        "赛道" + "九" * 300,
        "\u202e" * 1000,
        "'; DROP TABLE questions; --",
    ],
    ids=lambda t: repr(t[:12]) + f"…{len(t)}",
)
def test_matcher_and_replies_take_edge_cases(knowledge: KnowledgeBase, text: str) -> None:
    check_answer(knowledge, text)


@pytest.mark.slow
@examples(100)
@given(st.lists(st.tuples(hostile_text, st.sampled_from(["b", "i", "code", "blockquote", ""])),
                min_size=1, max_size=6),
       st.integers(1, 6))  # fmt: skip
def test_split_html_keeps_every_character_and_each_part_is_valid(
    pieces: list[tuple[str, str]], repeat: int
) -> None:
    # HTML as the handlers build it: escaped user text inside the tags they use.
    body = "".join(
        f"<{tag}>{html.escape(text)}</{tag}>\n" if tag else html.escape(text) + "\n"
        for text, tag in pieces
    )
    text = body * repeat
    visible = finalize_text(to_plain(text), [])[0]  # what Telegram would show of it all
    assume(visible)
    parts = split_html(text)
    shown = [accepted(part) for part in parts]
    squeeze = re.compile(r"\s+")
    assert squeeze.sub("", "".join(shown)) == squeeze.sub("", visible)


@examples(100)
@given(hostile_text, hostile_text, st.sampled_from(["zh", "en"]))
def test_faq_written_by_organizers_renders_whatever_they_typed(
    question: str, answer: str, lang: str
) -> None:
    from knowledge.store import FaqEntry

    entry = FaqEntry(1, question, answer, "2024-05-01T00:00:00", "2024-05-01T00:00:00")
    for part in split_html(render_faq(entry, lang)):
        accepted(part)


# --- the running bot, through the emulator ------------------------------------------------------


@dataclass
class Live:
    """The bot running against the emulator in an event loop of this module's own, so that
    hypothesis (which drives plain functions) can send it one example after another."""

    loop: asyncio.AbstractEventLoop
    world: World
    finish: FinishLine
    questions: int = 0  # private questions the bot should have logged

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def send(
        self, user: User, chat_id: int, text: str, reply_to: int | None = None
    ) -> tuple[ChatMessage, list[ChatMessage]] | None:
        """The user sends text; once the bot is done with it, the message and the bot's replies
        in that chat. None when no Telegram client could send this text (blank)."""
        return self.run(self._send(user, chat_id, text, reply_to))

    async def _send(
        self, user: User, chat_id: int, text: str, reply_to: int | None
    ) -> tuple[ChatMessage, list[ChatMessage]] | None:
        emulator = self.world.emulator
        before = len(emulator.updates_log)
        try:
            sent = await emulator.send_text(user, chat_id, text, reply_to=reply_to)
        except ValueError:
            return None
        if len(emulator.updates_log) > before:  # the bot gets it (group privacy may say no)
            await self.finish.wait(int(emulator.updates_log[-1]["update_id"]))
        return sent, bot_messages(emulator, chat_id, after=sent.message_id)

    def press(self, user: User, message: ChatMessage, data: str, forged: bool = False) -> None:
        self.run(self._press(user, message, data, forged))

    async def _press(self, user: User, message: ChatMessage, data: str, forged: bool) -> None:
        emulator = self.world.emulator
        if forged:
            await emulator.forge_callback(user, message.chat_id, message.message_id, data)
        else:
            await emulator.press_button(user, message.chat_id, message.message_id, data)
        await self.finish.wait(int(emulator.updates_log[-1]["update_id"]))

    def check(self, since_call: int, update_ids: set[int] | None = None) -> None:
        """No handler failed, the emulator refused nothing, the database is sound."""
        errors = [e for uid, e in self.finish.errors if update_ids is None or uid in update_ids]
        assert not errors, errors
        assert not refused(self.world.emulator, since_call)
        assert self.world.store.db.execute("PRAGMA quick_check").fetchone()[0] == "ok"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    loop = asyncio.new_event_loop()
    world = loop.run_until_complete(start_world(tmp_path_factory.mktemp("hostile")))
    running = Live(loop, world, FinishLine(world.app))
    try:
        yield running
        report = database_report(world.settings.db_path)
        assert report["integrity"] == ["ok"]
        assert report["counts"]["questions"] == running.questions
    finally:
        loop.run_until_complete(stop_world(world))
        loop.close()


def is_command(message: ChatMessage) -> bool:
    first = message.entities[0] if message.entities else None
    return first is not None and first["type"] == "bot_command" and first["offset"] == 0


@pytest.mark.e2e
@pytest.mark.slow
@examples(150)
@given(HOSTILE)
@example(("markdown", "[x](http://a.b)]]"))  # the emulator could not deliver these once
@example(("markdown", "@contest_helper_bot!p:3-4/start[x](http://a.b)"))
@example(("at_limit", "赛" * 4097))
def test_bot_replies_to_any_private_text_and_every_reply_is_accepted(
    live: Live, pair: tuple[str, str]
) -> None:
    calls = len(live.world.emulator.calls)
    result = live.send(CONTESTANT, CONTESTANT.id, pair[1])
    assume(result is not None)
    assert result is not None
    sent, replies = result
    live.check(calls)
    if not is_command(sent):
        live.questions += 1
        assert replies, f"no reply to {sent.text[:80]!r}"


@pytest.mark.e2e
@examples(50)
@given(st.sampled_from(["/start", "/help", "/tracks", "/myquestions", "/ticket", "/answer",
                        "/queue", "/stats", "/faq", "/merge", "/nosuchcommand"]),
       hostile_text)  # fmt: skip
def test_commands_with_hostile_arguments_are_refused_or_answered(
    live: Live, command: str, argument: str
) -> None:
    calls = len(live.world.emulator.calls)
    before = snapshot(live.world.settings.db_path, TABLES)
    result = live.send(CONTESTANT, CONTESTANT.id, f"{command} {argument}")
    assert result is not None
    live.check(calls)
    # A contestant's command, whatever its argument, writes nothing.
    assert snapshot(live.world.settings.db_path, TABLES) == before


@pytest.mark.e2e
@examples(40)
@given(hostile_text)
def test_group_mentions_with_hostile_text(live: Live, text: str) -> None:
    group = -100555
    if group not in live.world.emulator.chats:
        live.world.emulator.create_group(group, "参赛队群", creator=CONTESTANT)
    calls = len(live.world.emulator.calls)
    result = live.send(CONTESTANT, group, f"@contest_helper_bot {text}")
    assert result is not None
    live.check(calls)
    if not is_command(result[0]):
        live.questions += 1


@pytest.mark.e2e
@pytest.mark.slow
@examples(25)
@given(hostile_text, hostile_text, hostile_text)
def test_hostile_ticket_from_question_to_answer_to_faq(
    live: Live, name: str, question: str, answer: str
) -> None:
    emulator = live.world.emulator
    asker = User(50_000 + len(emulator.users), name.strip()[:64] or "匿名", language_code="zh")
    emulator.add_user(asker)
    calls = len(emulator.calls)
    typed = live.send(asker, asker.id, "一等奖奖金是多少？" + question)
    assume(typed is not None)
    assert typed is not None
    live.questions += 1
    offer = typed[1][-1]
    if not any(b.get("callback_data", "").startswith("tk:n:") for b in offer.buttons()):
        return  # the hostile part matched a saved FAQ: answered, nothing to submit
    live.press(asker, offer, button(offer, "提交给组委会"))
    post = next(m for m in reversed(bot_messages(emulator, GROUP)) if m.text.startswith("🆕"))
    ticket_id = int(re.search(r"#(\d+)", post.text).group(1))  # type: ignore[union-attr]
    assert emulator.message(GROUP, post.message_id).text.count("问题 #") == 1
    reply = live.send(ORGANIZER, GROUP, answer, reply_to=post.message_id)
    assume(reply is not None)
    assert reply is not None
    assume(not is_command(reply[0]))  # a command (/start…) in reply to the post is no answer
    delivered = [m for m in bot_messages(emulator, asker.id) if f"问题 #{ticket_id}" in m.text]
    assert delivered, "the answer did not reach the contestant"
    saved = emulator.message(GROUP, post.message_id)
    if "存为FAQ" in str(saved.reply_markup):
        live.press(ORGANIZER, saved, button(saved, "存为FAQ"))
    live.send(ORGANIZER, GROUP, "/faq list")
    live.send(asker, asker.id, "/myquestions")
    live.check(calls)
    ticket = live.world.store.tickets.get(ticket_id)
    assert ticket is not None and ticket.status == "answered"


# --- forged and replayed updates ---------------------------------------------------------------


async def finished(world: World, finish: FinishLine) -> None:
    await finish.wait(int(world.emulator.updates_log[-1]["update_id"]))


async def forge(world: World, finish: FinishLine, user: User, message: ChatMessage, data: str
                ) -> str | None:  # fmt: skip
    """A tampering client's callback query; the text the bot answered it with ("" for an
    answer without text, None when it was not answered)."""
    query_id = await world.emulator.forge_callback(user, message.chat_id, message.message_id, data)
    await finished(world, finish)
    answer = next((a for a in world.emulator.callback_answers if a.query_id == query_id), None)
    return (answer.text or "") if answer else None


async def ticket_answered(world: World, finish: FinishLine, text: str, user: User = CONTESTANT
                          ) -> tuple[int, ChatMessage, ChatMessage]:  # fmt: skip
    """A contestant's question sent to the organizers and answered: (ticket, offer, post)."""
    (offer,) = await world.say(text, user)
    await world.press(offer, "提交给组委会", user)
    await finished(world, finish)
    post = next(m for m in world.messages(GROUP) if m.text.startswith("🆕"))
    ticket_id = int(re.search(r"#(\d+)", post.text).group(1))  # type: ignore[union-attr]
    await world.say("决赛在武汉，费用自理。", ORGANIZER, GROUP, reply_to=post.message_id)
    await finished(world, finish)
    return ticket_id, offer, world.emulator.message(GROUP, post.message_id)


@pytest.fixture
async def armed(world: World) -> FinishLine:
    return FinishLine(world.app)


async def test_forged_callback_data_changes_nothing(world: World, armed: FinishLine) -> None:
    ticket_id, offer, post = await ticket_answered(world, armed, "决赛在哪里举办？")
    before = snapshot(world.settings.db_path, TABLES)

    def shown() -> dict[tuple[int, int], str]:
        chats = (GROUP, CONTESTANT.id)
        return {(c, m.message_id): m.text for c in chats for m in bot_messages(world.emulator, c)}

    sent = shown()
    too_big = "9" * 59  # fills the 64 bytes callback data may hold
    for data in ["tk:n:999999", f"tk:n:{too_big}", f"tk:q:{too_big}", f"tk:a:{too_big}",
                 f"tk:f:{too_big}", "tk:n:-1", "tk:n:", "tk:x:1", "tk:n:1:2", "p:3-4'--",
                 "t:99", "p:99-99", "\u202ehome", "", " ", "home\x00", "😀" * 16]:  # fmt: skip
        await forge(world, armed, CONTESTANT, offer, data)
    for data in [f"tk:claim:{too_big[:50]}", f"tk:mg:{ticket_id}:{too_big[:40]}", "tk:close:x",
                 "tk:faq:", "tk:mg:1", "tk:mg:1:x", "tk:merge:-1", "tk:zzz:1"]:  # fmt: skip
        await forge(world, armed, ORGANIZER, post, data)
    assert not armed.errors, armed.errors
    assert not refused(world.emulator)
    assert snapshot(world.settings.db_path, TABLES) == before
    now = shown()
    assert {k: now[k] for k in sent} == sent  # no post or answer edited
    new = [text for k, text in now.items() if k not in sent]
    assert not [t for t in new if "决赛" in t or "🆕" in t], new  # none posted or repeated


async def test_callback_for_another_chats_message_is_refused(
    world: World, armed: FinishLine
) -> None:
    world.emulator.add_user(STRANGER)
    await world.say("/start", STRANGER)
    ticket_id, offer, post = await ticket_answered(world, armed, "决赛在哪里举办？")
    (theirs,) = await world.say("一等奖奖金是多少？")  # 小明's second question, not submitted
    question_id = int(button(theirs, "提交给组委会").split(":")[2])
    before = snapshot(world.settings.db_path, TABLES)
    strangers_chat = world.messages(STRANGER.id)[-1]
    answers = [
        # On 小明's own messages, in 小明's chat: the stranger's client forges the presses.
        await forge(world, armed, STRANGER, theirs, f"tk:n:{question_id}"),
        await forge(world, armed, STRANGER, theirs, f"tk:q:{question_id}"),
        await forge(world, armed, STRANGER, offer, f"tk:a:{ticket_id}"),
        # In the stranger's own chat, naming 小明's question and ticket.
        await forge(world, armed, STRANGER, strangers_chat, f"tk:n:{question_id}"),
        await forge(world, armed, STRANGER, strangers_chat, f"tk:a:{ticket_id}"),
        # The organizers' post, from outside the group.
        await forge(world, armed, STRANGER, post, f"tk:faq:{ticket_id}"),
    ]
    assert None not in answers, answers  # every press is answered
    assert snapshot(world.settings.db_path, TABLES) == before
    shown = " ".join(m.text for m in world.messages(STRANGER.id))
    assert "决赛在武汉" not in shown and "决赛在哪里举办" not in shown and "奖金" not in shown
    assert not armed.errors, armed.errors


async def test_organizer_actions_from_a_non_organizer_change_nothing(
    world: World, armed: FinishLine
) -> None:
    world.emulator.add_user(STRANGER)
    (offer,) = await world.say("一等奖奖金是多少？")
    await world.press(offer, "提交给组委会")
    await finished(world, armed)
    post = next(m for m in world.messages(GROUP) if m.text.startswith("🆕"))
    ticket_id = int(re.search(r"#(\d+)", post.text).group(1))  # type: ignore[union-attr]
    (other_offer,) = await world.say("决赛在哪里举办？", STRANGER)
    await world.press(other_offer, "提交给组委会", STRANGER)
    await finished(world, armed)
    other_id = ticket_id + 1
    before = snapshot(world.settings.db_path, TABLES)
    post_before = world.emulator.message(GROUP, post.message_id)
    for text in [f"/answer {ticket_id} 我替组委会回答", f"/merge {ticket_id} {other_id}",
                 "/queue", f"/ticket {ticket_id}", "/stats", "/faq add 奖金 | 一百万",
                 "/faq del 1", "/faq edit 1 x | y", "/faq list"]:  # fmt: skip
        (reply,) = await world.say(text, STRANGER)
        assert reply.text == says("auth.refused"), (text, reply.text)
    for data in [f"tk:claim:{ticket_id}", f"tk:close:{ticket_id}", f"tk:merge:{ticket_id}",
                 f"tk:mg:{ticket_id}:{other_id}", f"tk:faq:{ticket_id}"]:  # fmt: skip
        answer = await forge(world, armed, STRANGER, post, data)
        assert answer == says("auth.refused"), (data, answer)
    assert snapshot(world.settings.db_path, TABLES) == before
    assert world.emulator.message(GROUP, post.message_id).text == post_before.text
    assert not armed.errors, armed.errors


async def test_contestant_cannot_reach_another_contestants_ticket(
    world: World, armed: FinishLine
) -> None:
    world.emulator.add_user(STRANGER)
    ticket_id, _, _ = await ticket_answered(world, armed, "决赛在哪里举办？")
    before = snapshot(world.settings.db_path, TABLES)
    seen: list[str] = []
    for payload in [f"tk{ticket_id}", f"ticket_{ticket_id}", f"q{ticket_id}", f"{ticket_id}",
                    f"tk:a:{ticket_id}", f"p{ticket_id}-1x", "p1-1' OR 1=1", "t1;DROP",
                    "../../etc/passwd", "A" * 64]:  # fmt: skip
        (reply,) = await world.say(f"/start {payload}", STRANGER)
        seen.append(reply.text)
    (listing,) = await world.say("/myquestions", STRANGER)
    seen.append(listing.text)
    (refusal,) = await world.say(f"/ticket {ticket_id}", STRANGER)
    seen.append(refusal.text)
    (own,) = await world.say("/start", STRANGER)
    seen.append(await forge(world, armed, STRANGER, own, f"tk:a:{ticket_id}") or "")
    seen += [m.text for m in world.messages(STRANGER.id)]
    shown = "\n".join(seen)
    assert "决赛在武汉" not in shown and "决赛在哪里举办" not in shown and "小明" not in shown
    assert "你还没有向组委会提过问题" in listing.text
    assert snapshot(world.settings.db_path, TABLES) == before
    assert not armed.errors, armed.errors


async def test_replayed_updates_change_nothing(world: World, armed: FinishLine) -> None:
    """Telegram may deliver an update twice (a webhook retry, a restart before the offset was
    confirmed); the second delivery must not answer, post or store anything again."""
    _, _, post = await ticket_answered(world, armed, "决赛在哪里举办？")
    await world.press(post, "存为FAQ", ORGANIZER)
    await finished(world, armed)
    await world.say("自动驾驶那题是什么")
    await finished(world, armed)
    before = snapshot(world.settings.db_path, TABLES)
    messages = {c: len(world.messages(c)) for c in (CONTESTANT.id, GROUP)}
    for update in list(world.emulator.updates_log):
        await world.app.update_queue.put(Update.de_json(update, world.app.bot))
    await updates_done(world.app)  # each replay was recognised, or handled again
    assert snapshot(world.settings.db_path, TABLES) == before
    assert {c: len(world.messages(c)) for c in messages} == messages
    assert not armed.errors, armed.errors


@pytest.mark.e2e
async def test_wrong_webhook_secret_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    import aiohttp

    from bot.web import SECRET_HEADER, BotServer

    world = await start_world(tmp_path)
    server = BotServer.for_webhook(world.app, world.store, "https://bot.example/telegram/x", "s3")
    port = await server.start("127.0.0.1", 0)
    server.accepting = True
    try:
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1, "date": 0, "text": "一等奖奖金是多少？",
                "chat": {"id": CONTESTANT.id, "type": "private", "first_name": "小明"},
                "from": {"id": CONTESTANT.id, "is_bot": False, "first_name": "小明"},
            },
        }  # fmt: skip
        statuses = []
        async with aiohttp.ClientSession() as session:
            for headers in ({}, {SECRET_HEADER: "s4"}, {SECRET_HEADER: "S3"},
                            {SECRET_HEADER: "s3x"}, {SECRET_HEADER: ""}):  # fmt: skip
                url = f"http://127.0.0.1:{port}/telegram/x"
                async with session.post(url, json=update, headers=headers) as response:
                    statuses.append(response.status)
        assert statuses == [403] * 5
        await updates_done(world.app)  # had one been taken, it would be handled by now
        assert world.messages(CONTESTANT.id) == []
        assert not world.emulator.calls_to("sendMessage")  # not even to a chat it cannot reach
        counts = database_report(world.settings.db_path)["counts"]
        assert counts["questions"] == 0
    finally:
        await server.stop()
        await stop_world(world)


def test_database_survives_hostile_sql_looking_text(tmp_path: Path) -> None:
    store = Store(tmp_path / "sql.db")
    texts = ["'; DROP TABLE questions; --", "x' OR '1'='1", '"; DELETE FROM tickets; --', "%_\\"]
    for text in texts:
        question = store.questions.log(1, 1, text, "escalate", [], 0.0)
        store.tickets.create(question, user_name=text, username=text, lang="zh", guesses=[])
        store.faq.add(text, text)
        assert store.questions.get(question.id).text == text  # type: ignore[union-attr]
    conn = sqlite3.connect(tmp_path / "sql.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert [r[0] for r in conn.execute("select question from tickets order by id")] == texts
    assert [r[0] for r in conn.execute("select question from faq order by id")] == texts
