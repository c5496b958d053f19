"""The Bot API emulator, driven by PTB's real Bot over HTTP and by raw requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from conftest import tiny_png
from harness import serve_locally
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    ChatMemberAdministrator,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes, MessageHandler, filters

from bot.sandbox import BotApiEmulator, User, run_sandbox

pytestmark = pytest.mark.e2e

TOKEN = "123456789:TEST-token_for_the-emulator"
GROUP = -100123


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(TOKEN, "contest_helper_bot") as running:
        yield running


@pytest.fixture
async def bot(emulator: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=emulator.base_url) as client:
        yield client


@pytest.fixture
async def student(emulator: BotApiEmulator) -> User:
    """A contestant who has opened the private chat with /start."""
    user = emulator.add_user(555, "小红", username="xiaohong", language_code="zh-hans")
    await emulator.send_text(user, user.id, "/start")
    return user


async def raw_call(
    emulator: BotApiEmulator,
    method: str,
    *,
    token: str = TOKEN,
    json: dict[str, Any] | None = None,
    form: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    http_method: str = "POST",
) -> tuple[int, dict[str, Any]]:
    """One plain HTTP request to the emulator, as any client could send it."""
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            http_method,
            f"{emulator.base_url}{token}/{method}",
            json=json,
            data=form,
            params=query,
        ) as response,
    ):
        return response.status, await response.json(content_type=None)


def last_description(emulator: BotApiEmulator) -> str | None:
    """Telegram's exact wording of the last answer (PTB re-capitalises it)."""
    return emulator.calls[-1].description


# -- basics ------------------------------------------------------------------------------------


async def test_get_me_describes_the_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456789, "contest_helper_bot", True)
    assert me.can_read_all_group_messages is False  # privacy mode is on, as on Telegram


async def test_token_wrong_is_unauthorized_and_malformed_is_not_found(
    emulator: BotApiEmulator,
) -> None:
    assert await raw_call(emulator, "getMe", token="123456789:WRONG") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    status, body = await raw_call(emulator, "getMe", token="not-a-token")
    assert (status, body["description"]) == (404, "Not Found")
    with pytest.raises(InvalidToken):
        async with Bot("123456789:WRONG", base_url=emulator.base_url):
            pass


async def test_unknown_method_is_not_found(emulator: BotApiEmulator) -> None:
    assert await raw_call(emulator, "sendTelepathy") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )


async def test_requests_accept_json_form_and_query_string(
    emulator: BotApiEmulator, student: User
) -> None:
    status, body = await raw_call(
        emulator, "sendMessage", json={"chat_id": student.id, "text": "j", "protect_content": True}
    )
    assert status == 200 and body["result"]["has_protected_content"] is True
    status, body = await raw_call(
        emulator,
        "sendMessage",
        form={"chat_id": str(student.id), "text": "f", "protect_content": "yes"},
    )
    assert status == 200 and body["result"]["has_protected_content"] is True
    status, body = await raw_call(
        emulator,
        "sendMessage",
        query={"chat_id": str(student.id), "text": "q", "protect_content": "0"},
        http_method="GET",
    )
    assert status == 200 and "has_protected_content" not in body["result"]
    assert [m.text for m in emulator.chat_messages(student.id)] == ["/start", "j", "f", "q"]


# -- sending and its refusals ------------------------------------------------------------------


async def test_send_message_to_a_user_who_never_wrote_is_chat_not_found(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    emulator.add_user(777, "没说过话")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(777, "你好")
    assert last_description(emulator) == "Bad Request: chat not found"


async def test_send_message_stores_text_entities_and_html(
    emulator: BotApiEmulator, bot: Bot, student: User
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("报名", callback_data="signup")]])
    sent = await bot.send_message(
        student.id,
        "  <b>赛题</b> &amp; <a href='https://example.com'>链接</a> 😀 \n",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard,
    )
    assert sent.text == "赛题 & 链接 😀"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 2),
        ("text_link", 5, 2),
    ]
    stored = emulator.chat_messages(student.id)[-1]
    assert stored.from_bot and stored.callback_data() == ["signup"]
    assert stored.html == '<b>赛题</b> &amp; <a href="https://example.com">链接</a> 😀'
    assert stored.source is not None and stored.source.startswith("  <b>赛题</b>")


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("abc<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 3'),
        ("<b>粗体", "Can't find end tag corresponding to start tag b"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("末尾 <", "Unclosed start tag at byte offset 7"),
        ("</b>", "Unexpected end tag at byte offset 0"),
        ("a&nbsp;b", 'Unsupported HTML entity "&nbsp;" at byte offset 1'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
async def test_send_message_html_errors_match_telegram(
    emulator: BotApiEmulator, student: User, text: str, description: str
) -> None:
    status, body = await raw_call(
        emulator, "sendMessage", json={"chat_id": student.id, "text": text, "parse_mode": "HTML"}
    )
    assert (status, body) == (
        400,
        {
            "ok": False,
            "error_code": 400,
            "description": f"Bad Request: can't parse entities: {description}",
        },
    )


async def test_send_message_accepts_every_supported_html_tag(bot: Bot, student: User) -> None:
    text = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s>"
        '<strike>k</strike><del>d</del><span class="tg-spoiler">p</span><tg-spoiler>t</tg-spoiler>'
        '<a href="https://t.me/x">a</a><code>c</code><pre>p</pre>'
        '<pre><code class="language-python">x = 1</code></pre><blockquote>q</blockquote>'
        "<blockquote expandable>eq</blockquote>"
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
        " &lt;&gt;&quot;&#39;&#x4e2d;"
    )
    sent = await bot.send_message(student.id, text, parse_mode=ParseMode.HTML)
    assert sent.text is not None and sent.text.endswith(" <>\"'中")
    kinds = {e.type for e in sent.entities}
    assert kinds >= {"bold", "italic", "underline", "strikethrough", "spoiler", "text_link"}
    assert kinds >= {"code", "pre", "blockquote", "expandable_blockquote", "custom_emoji"}


@pytest.mark.parametrize("text", ["", "   \n ", "<b></b>", "<i> </i>"])
async def test_send_message_empty_text_is_refused(
    emulator: BotApiEmulator, student: User, text: str
) -> None:
    status, body = await raw_call(
        emulator, "sendMessage", json={"chat_id": student.id, "text": text, "parse_mode": "HTML"}
    )
    assert (status, body["description"]) == (400, "Bad Request: message text is empty")


async def test_send_message_length_is_counted_in_utf16_after_parsing(
    emulator: BotApiEmulator, bot: Bot, student: User
) -> None:
    await bot.send_message(student.id, "😀" * 2048)  # 4096 UTF-16 code units
    await bot.send_message(student.id, "<b>" + "中" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(student.id, "😀" * 2048 + "a")
    assert last_description(emulator) == "Bad Request: message is too long"
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(student.id, "中" * 4097)


async def test_send_message_markdown_v2_reserved_character_is_refused(
    emulator: BotApiEmulator, bot: Bot, student: User
) -> None:
    sent = await bot.send_message(student.id, r"*第1\.5名* ok", parse_mode=ParseMode.MARKDOWN_V2)
    assert sent.text == "第1.5名 ok" and sent.entities[0].type == "bold"
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(student.id, "第1.5名", parse_mode=ParseMode.MARKDOWN_V2)
    assert last_description(emulator) == (
        "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with "
        "the preceding '\\'"
    )


async def test_callback_data_is_limited_to_64_utf8_bytes(
    emulator: BotApiEmulator, bot: Bot, student: User
) -> None:
    def keyboard(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("按钮", callback_data=data)]])

    await bot.send_message(student.id, "ok", reply_markup=keyboard("a" * 64))
    await bot.send_message(student.id, "ok", reply_markup=keyboard("题" * 21))  # 63 bytes
    for data in ("a" * 65, "题" * 22):
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            await bot.send_message(student.id, "too long", reply_markup=keyboard(data))
        assert last_description(emulator) == "Bad Request: BUTTON_DATA_INVALID"


@pytest.mark.parametrize(
    "button",
    [{"text": "只有文字"}, {"text": "空数据", "callback_data": ""}],
)
async def test_inline_button_without_an_action_is_refused(
    emulator: BotApiEmulator, student: User, button: dict[str, str]
) -> None:
    status, body = await raw_call(
        emulator,
        "sendMessage",
        json={"chat_id": student.id, "text": "x", "reply_markup": {"inline_keyboard": [[button]]}},
    )
    assert (status, body["description"]) == (
        400,
        "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the "
        "inline keyboard",
    )


async def test_reply_to_a_missing_message_is_refused_unless_allowed(
    emulator: BotApiEmulator, bot: Bot, student: User
) -> None:
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await bot.send_message(student.id, "回复", reply_parameters=ReplyParameters(999))
    sent = await bot.send_message(
        student.id, "回复", reply_parameters=ReplyParameters(999, allow_sending_without_reply=True)
    )
    assert sent.reply_to_message is None
    replied = await bot.send_message(student.id, "回复", reply_to_message_id=1)
    assert replied.reply_to_message is not None
    assert replied.reply_to_message.text == "/start"


async def test_blocked_user_refuses_with_forbidden(
    emulator: BotApiEmulator, bot: Bot, student: User
) -> None:
    await emulator.block_bot(student)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(student.id, "还在吗")
    assert last_description(emulator) == "Forbidden: bot was blocked by the user"
    updates = await bot.get_updates()
    member = updates[-1].my_chat_member
    assert member is not None and member.new_chat_member.status == "kicked"
    await emulator.unblock_bot(student)
    await bot.send_message(student.id, "欢迎回来")


# -- long polling ------------------------------------------------------------------------------


async def test_get_updates_long_poll_wakes_on_a_new_message_and_offset_confirms(
    emulator: BotApiEmulator, bot: Bot, student: User
) -> None:
    first = await bot.get_updates(timeout=0)
    assert [u.message.text for u in first if u.message] == ["/start"]
    offset = first[-1].update_id + 1
    poll = asyncio.create_task(bot.get_updates(offset=offset, timeout=10, read_timeout=15))
    await emulator.wait_for(lambda: len(emulator.calls_to("getUpdates")) == 2)
    # The emulator is on this loop: the call has got as far as it goes without a new update.
    assert emulator.calls_to("getUpdates")[1].status is None  # really waiting: nothing new yet
    assert not poll.done()
    await emulator.send_text(student, student.id, "有人吗")
    updates = await asyncio.wait_for(poll, 3)  # well before the 10 s poll timeout
    assert [u.message.text for u in updates if u.message] == ["有人吗"]
    assert updates[0].message is not None and updates[0].message.from_user is not None
    assert updates[0].message.from_user.language_code == "zh-hans"
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()


async def test_get_updates_remembers_allowed_updates(
    emulator: BotApiEmulator, bot: Bot, student: User
) -> None:
    await bot.get_updates(offset=-1, allowed_updates=["callback_query"])
    await bot.get_updates(offset=emulator.pending_updates[-1]["update_id"] + 1)
    await emulator.send_text(student, student.id, "被过滤")
    assert await bot.get_updates() == ()  # the setting is kept without allowed_updates
    await bot.get_updates(allowed_updates=[])  # empty means Telegram's default again
    await emulator.send_text(student, student.id, "可见")
    assert [u.message.text for u in await bot.get_updates() if u.message] == ["可见"]


async def test_get_updates_second_poll_terminates_the_first(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=10, read_timeout=15))
    await emulator.wait_for(lambda: emulator.calls_to("getUpdates"))
    assert emulator.calls_to("getUpdates")[0].status is None  # the first poll is waiting
    async with Bot(TOKEN, base_url=emulator.base_url) as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 3)


# -- edits, deletes, callbacks -----------------------------------------------------------------


async def test_edit_message_text_applies_and_refuses_identical_content(
    emulator: BotApiEmulator, bot: Bot, student: User
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("下一页", callback_data="p2")]])
    sent = await bot.send_message(student.id, "第一页", reply_markup=keyboard)
    edited = await bot.edit_message_text(
        "<i>第二页</i>", student.id, sent.message_id, parse_mode="HTML", reply_markup=keyboard
    )
    assert not isinstance(edited, bool) and edited.edit_date is not None
    stored = emulator.message(student.id, sent.message_id)
    assert (stored.text, stored.html, stored.callback_data()) == (
        "第二页",
        "<i>第二页</i>",
        ["p2"],
    )
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "<i>第二页</i>", student.id, sent.message_id, parse_mode="HTML", reply_markup=keyboard
        )
    assert last_description(emulator) == (
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message"
    )
    # Telegram drops the keyboard when an edit does not repeat it.
    await bot.edit_message_text("<i>第二页</i>", student.id, sent.message_id, parse_mode="HTML")
    assert emulator.message(student.id, sent.message_id).reply_markup is None


async def test_edit_refuses_unknown_and_foreign_messages(
    emulator: BotApiEmulator, bot: Bot, student: User
) -> None:
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", student.id, 999)
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("x", student.id, 1)  # the user's /start
    sent = await bot.send_message(student.id, "x")
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(student.id, sent.message_id)


async def test_delete_message_removes_it_once(
    emulator: BotApiEmulator, bot: Bot, student: User
) -> None:
    sent = await bot.send_message(student.id, "临时")
    assert await bot.delete_message(student.id, sent.message_id)
    assert [m.text for m in emulator.chat_messages(student.id)] == ["/start"]
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(student.id, sent.message_id)


async def test_callback_query_is_answered_once(
    emulator: BotApiEmulator, bot: Bot, student: User
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("查看", callback_data="view:7")]])
    sent = await bot.send_message(student.id, "赛题", reply_markup=keyboard)
    query_id = await emulator.press_button(student, student.id, sent.message_id, "view:7")
    query = (await bot.get_updates())[-1].callback_query
    assert query is not None and (query.id, query.data) == (query_id, "view:7")
    assert query.message is not None and query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query_id, "已收到", show_alert=True)
    answer = await emulator.wait_for_answer(query_id)
    assert (answer.text, answer.show_alert, answer.data) == ("已收到", True, "view:7")
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query_id)
    assert last_description(emulator) == (
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("1234")


async def test_press_button_needs_a_real_button_but_forge_does_not(
    emulator: BotApiEmulator, bot: Bot, student: User
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("查看", callback_data="view:7")]])
    sent = await bot.send_message(student.id, "赛题", reply_markup=keyboard)
    with pytest.raises(ValueError, match="no button"):
        await emulator.press_button(student, student.id, sent.message_id, "admin:drop")
    await emulator.forge_callback(student, student.id, sent.message_id, "admin:drop")
    query = (await bot.get_updates())[-1].callback_query
    assert query is not None and query.data == "admin:drop"


# -- inline mode -------------------------------------------------------------------------------


async def test_inline_query_round_trip_posts_via_bot(
    emulator: BotApiEmulator, bot: Bot, student: User
) -> None:
    asking = asyncio.create_task(emulator.inline_query(student, "数据要素"))
    await emulator.wait_for(lambda: emulator.pending_updates[-1].get("inline_query"))
    update = (await bot.get_updates())[-1]
    assert update.inline_query is not None and update.inline_query.query == "数据要素"
    result = InlineQueryResultArticle(
        "r1", "赛题一", InputTextMessageContent("<b>赛题一</b>：数据要素", parse_mode="HTML")
    )
    assert await bot.answer_inline_query(update.inline_query.id, [result])
    answer = await asyncio.wait_for(asking, 3)
    assert [r["title"] for r in answer.results] == ["赛题一"]
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_inline_query(update.inline_query.id, [result])
    posted = await emulator.choose_inline_result(student, student.id, answer.query_id, "r1")
    assert (posted.text, posted.via_bot, posted.sender.id) == ("赛题一：数据要素", True, 555)
    message = (await bot.get_updates(offset=update.update_id + 1))[-1].message
    assert message is not None and message.via_bot is not None
    assert message.via_bot.username == "contest_helper_bot"


# -- groups, commands, members -----------------------------------------------------------------


async def test_group_command_entity_and_privacy_mode(emulator: BotApiEmulator, bot: Bot) -> None:
    organizer = emulator.sandbox_organizer
    command = await emulator.send_text(organizer, GROUP, "/reply@contest_helper_bot 42 好的")
    assert command.entities[0] == {"type": "bot_command", "offset": 0, "length": 25}
    await emulator.send_text(organizer, GROUP, "群里闲聊")  # privacy mode: not delivered
    sent = await bot.send_message(GROUP, "新问题 #12")
    await emulator.send_text(organizer, GROUP, "回复机器人", reply_to=sent.message_id)
    texts = [u.message.text for u in await bot.get_updates() if u.message]
    assert texts == ["/reply@contest_helper_bot 42 好的", "回复机器人"]
    emulator.set_member_status(GROUP, emulator.bot_user, "administrator")
    await emulator.send_text(organizer, GROUP, "管理员机器人看得到")
    assert (await bot.get_updates())[-1].message.text == "管理员机器人看得到"  # type: ignore[union-attr]


async def test_chat_member_lookup_and_administrators(emulator: BotApiEmulator, bot: Bot) -> None:
    member = await bot.get_chat_member(GROUP, emulator.sandbox_organizer.id)
    assert isinstance(member, ChatMemberOwner)
    helper = emulator.add_user(9002, "组委会-李老师")
    emulator.set_member_status(GROUP, helper, "administrator")
    admins = await bot.get_chat_administrators(GROUP)
    assert {a.user.id for a in admins} == {9001, 9002}
    assert any(isinstance(a, ChatMemberAdministrator) for a in admins)
    assert (await bot.get_chat_member(GROUP, 555 if 555 in emulator.users else 9002)).status
    with pytest.raises(BadRequest, match="User not found"):
        await bot.get_chat_member(GROUP, 424242)
    chat = await bot.get_chat(GROUP)
    assert (chat.title, chat.type) == ("组委会群", "supergroup")


async def test_commands_are_kept_per_scope_and_language(bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "开始"), BotCommand("ask", "提问")])
    await bot.set_my_commands(
        [BotCommand("reply", "回复提问")], scope=BotCommandScopeAllGroupChats()
    )
    await bot.set_my_commands([BotCommand("start", "Start")], language_code="en")
    assert [c.command for c in await bot.get_my_commands()] == ["start", "ask"]
    groups = await bot.get_my_commands(scope=BotCommandScopeAllGroupChats())
    assert [c.command for c in groups] == ["reply"]
    assert [c.description for c in await bot.get_my_commands(language_code="en")] == ["Start"]
    await bot.delete_my_commands(scope=BotCommandScopeAllGroupChats())
    assert await bot.get_my_commands(scope=BotCommandScopeAllGroupChats()) == ()
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Start", "大写不行")])


async def test_copy_and_forward_keep_text_and_entities(
    emulator: BotApiEmulator, bot: Bot, student: User
) -> None:
    question = await emulator.send_text(student, student.id, "报名截止 https://example.com 吗")
    copied = await bot.copy_message(GROUP, student.id, question.message_id)
    stored = emulator.message(GROUP, copied.message_id)
    assert stored.text == question.text and stored.entities == question.entities
    forwarded = await bot.forward_message(GROUP, student.id, question.message_id)
    assert forwarded.forward_origin is not None
    assert forwarded.forward_origin.sender_user.id == student.id  # type: ignore[attr-defined]
    with pytest.raises(BadRequest, match="Message to copy not found"):
        await bot.copy_message(GROUP, student.id, 999)


async def test_copy_and_forward_keep_a_photo_and_its_caption(
    emulator: BotApiEmulator, bot: Bot, student: User
) -> None:
    """A broadcast copies the organizers' message: a picture arrives as a picture."""
    png = tiny_png()
    sent = await bot.send_photo(
        student.id, png, caption="<b>决赛</b>通知", parse_mode=ParseMode.HTML
    )
    copied = await bot.copy_message(GROUP, student.id, sent.message_id)
    stored = emulator.message(GROUP, copied.message_id)
    assert stored.photo is not None
    assert [p["file_id"] for p in stored.photo] == [p.file_id for p in sent.photo]
    assert emulator.file_data(stored) == png
    assert stored.text == "决赛通知" and stored.html == "<b>决赛</b>通知"
    forwarded = await bot.forward_message(GROUP, student.id, sent.message_id)
    assert [p.file_id for p in forwarded.photo] == [p.file_id for p in sent.photo]
    assert forwarded.caption == "决赛通知" and forwarded.text is None
    assert [e.type for e in forwarded.caption_entities] == ["bold"]
    assert emulator.file_data(emulator.message(GROUP, forwarded.message_id)) == png


# -- webhook -----------------------------------------------------------------------------------


async def receive_webhooks(
    emulator: BotApiEmulator, hook: Callable[[web.Request], Awaitable[web.Response]]
) -> web.AppRunner:
    """A local server taking the emulator's webhook posts at /tg/hook (cleanup() it after)."""
    app = web.Application()
    app.router.add_post("/tg/hook", hook)
    runner, emulator.webhook_target = await serve_locally(app)
    return runner


async def test_webhook_delivers_with_secret_header_and_retries(
    emulator: BotApiEmulator, bot: Bot, student: User
) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []
    statuses = [500]  # the first attempt fails and is retried

    async def hook(request: web.Request) -> web.Response:
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        received.append((secret, await request.json()))
        return web.Response(status=statuses.pop() if statuses else 200)

    runner = await receive_webhooks(emulator, hook)
    emulator.webhook_retry_delay = 0.01
    try:
        with pytest.raises(BadRequest, match="Bad webhook"):
            await bot.set_webhook("http://bot.example.com/tg/hook")
        assert last_description(emulator) == (
            "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
        )
        assert await bot.set_webhook(
            "https://bot.example.com/tg/hook", secret_token="s3cret_T", drop_pending_updates=True
        )
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        await emulator.send_text(student, student.id, "走 webhook")
        await emulator.wait_for(lambda: emulator.webhook_deliveries)
        assert len(received) == 2 and received[0][1] == received[1][1]
        assert received[1][0] == "s3cret_T"
        assert received[1][1]["message"]["text"] == "走 webhook"
        info = await bot.get_webhook_info()
        assert info.url == "https://bot.example.com/tg/hook" and info.pending_update_count == 0
        assert (
            info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
        )
        assert await bot.delete_webhook()
        assert await bot.get_updates() == ()
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("max_connections", [1, 3])
async def test_webhook_delivers_up_to_max_connections_at_once_one_per_chat_in_order(
    emulator: BotApiEmulator, bot: Bot, max_connections: int
) -> None:
    """As Telegram does: several posts in flight, never two for one chat, each chat in order."""
    release = asyncio.Event()
    in_flight: list[int] = []
    most = 0
    arrived: list[tuple[int, str]] = []

    async def hook(request: web.Request) -> web.Response:
        nonlocal most
        message = (await request.json())["message"]
        chat = message["chat"]["id"]
        assert chat not in in_flight, "two posts at once for one chat"
        in_flight.append(chat)
        most = max(most, len(in_flight))
        arrived.append((chat, message["text"]))
        await release.wait()
        in_flight.remove(chat)
        return web.Response(status=200)

    runner = await receive_webhooks(emulator, hook)
    try:
        users = [emulator.add_user(600 + n, f"用户{n}") for n in range(5)]
        assert await bot.set_webhook(
            "https://bot.example.com/tg/hook", max_connections=max_connections
        )
        for n, user in enumerate(users):
            for turn in range(3):
                await emulator.send_text(user, user.id, f"{n}-{turn}")
        expected = min(max_connections, len(users))
        await emulator.wait_for(lambda: len(in_flight) == expected or None)
        release.set()
        await emulator.wait_for(lambda: len(emulator.webhook_deliveries) == 15 or None)
        assert most == expected
        for n, user in enumerate(users):
            texts = [text for chat, text in arrived if chat == user.id]
            assert texts == [f"{n}-{turn}" for turn in range(3)]
    finally:
        release.set()
        await runner.cleanup()


# -- flood limits and faults -------------------------------------------------------------------


async def test_global_limit_answers_429_with_retry_after(
    emulator: BotApiEmulator, bot: Bot, student: User
) -> None:
    emulator.limits.global_per_second = 3
    for n in range(3):
        await bot.send_message(student.id, f"群发 {n}")
    with pytest.raises(RetryAfter):
        await bot.send_message(student.id, "第四条")
    assert emulator.calls[-1].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    assert len(emulator.chat_messages(student.id)) == 4  # /start and three sends


async def test_private_and_group_limits_are_separate_and_off_by_default(
    emulator: BotApiEmulator, bot: Bot, student: User
) -> None:
    for n in range(10):
        await bot.send_message(student.id, f"{n}")  # no limit by default
    emulator.limits.private_per_second = 1.0
    emulator.limits.private_burst = 2
    emulator.limits.group_per_minute = 2
    await bot.send_message(student.id, "a")
    await bot.send_message(student.id, "b")
    with pytest.raises(RetryAfter):
        await bot.send_message(student.id, "c")
    await bot.send_message(GROUP, "1")
    await bot.send_message(GROUP, "2")
    with pytest.raises(RetryAfter):
        await bot.send_message(GROUP, "3")
    retry_after = emulator.calls[-1].response["parameters"]["retry_after"]  # type: ignore[index]
    assert 55 <= retry_after <= 60


async def test_faults_fail_the_chosen_calls(
    emulator: BotApiEmulator, bot: Bot, student: User
) -> None:
    emulator.inject_fault("error_500", methods=["sendMessage"], on_calls=[1])
    emulator.inject_fault("bad_gateway", methods=["sendMessage"], on_calls=[2])
    emulator.inject_fault("reset", methods=["sendMessage"], on_calls=[3])
    emulator.inject_fault("flood", methods=["sendMessage"], on_calls=[4], retry_after=7)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(student.id, "1")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(student.id, "2")
    with pytest.raises(NetworkError):
        await bot.send_message(student.id, "3")
    with pytest.raises(RetryAfter):
        await bot.send_message(student.id, "4")
    assert emulator.calls[-1].response["parameters"] == {"retry_after": 7}  # type: ignore[index]
    await bot.send_message(student.id, "5")
    assert [m.text for m in emulator.chat_messages(student.id)] == ["/start", "5"]
    assert [c.fault for c in emulator.calls_to("sendMessage")] == [
        "error_500",
        "bad_gateway",
        "reset",
        "flood",
        None,
    ]


async def test_hang_fault_times_out_and_after_mode_still_sends(
    emulator: BotApiEmulator, bot: Bot, student: User
) -> None:
    emulator.inject_fault("hang", methods=["sendMessage"], times=1, delay=5.0)
    with pytest.raises(TimedOut):
        await bot.send_message(student.id, "丢了", read_timeout=0.2)
    emulator.clear_faults()
    emulator.inject_fault("hang", methods=["sendMessage"], times=1, delay=5.0, when="after")
    with pytest.raises(TimedOut):
        await bot.send_message(student.id, "其实发出去了", read_timeout=0.2)
    assert [m.text for m in emulator.chat_messages(student.id)] == ["/start", "其实发出去了"]


async def test_faults_with_probability_are_deterministic_per_seed() -> None:
    async def pattern(seed: int) -> list[int]:
        async with BotApiEmulator(TOKEN, seed=seed) as emulator:
            emulator.inject_fault("error_500", probability=0.5)
            return [(await raw_call(emulator, "getMe"))[0] for _ in range(24)]

    first, again, other = await pattern(1), await pattern(1), await pattern(2)
    assert first == again and set(first) == {200, 500}
    assert first != other


# -- the sandbox page --------------------------------------------------------------------------


async def test_sandbox_page_and_api(emulator: BotApiEmulator, bot: Bot) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(emulator.url) as response:
            page = await response.text()
            assert response.status == 200 and response.content_type == "text/html"
            assert "组委会群" in page and "innerHTML" not in page
        async with session.get(f"{emulator.url}sandbox/api/state?since=0") as response:
            state = await response.json()
        version = state["version"]
        waiting = asyncio.create_task(
            session.get(f"{emulator.url}sandbox/api/state?since={version}&timeout=10")
        )
        await asyncio.sleep(0.05)
        assert not waiting.done()
        async with session.post(
            f"{emulator.url}sandbox/api/send", json={"chat_id": 1001, "text": "/start"}
        ) as response:
            sent = await response.json()
            assert sent["ok"] and sent["message"]["from"]["name"] == "小明"
        async with await asyncio.wait_for(waiting, 3) as response:
            changed = await response.json()
        private = next(c for c in changed["chats"] if c["kind"] == "private")
        assert [m["text"] for m in private["messages"]] == ["/start"]
        update = (await bot.get_updates())[-1]
        assert update.message is not None and update.message.text == "/start"

        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("确认", callback_data="ok")]])
        question = await bot.send_message(1001, "<b>确认报名？</b>", "HTML", reply_markup=keyboard)
        pressing = asyncio.create_task(
            session.post(
                f"{emulator.url}sandbox/api/press",
                json={"chat_id": 1001, "message_id": question.message_id, "data": "ok"},
            )
        )
        query = await emulator.wait_for(lambda: emulator.pending_updates[-1].get("callback_query"))
        await bot.answer_callback_query(query["id"], "已确认")
        async with await asyncio.wait_for(pressing, 3) as response:
            pressed = await response.json()
        assert pressed["answer"] == {"text": "已确认", "show_alert": False, "url": None}
        async with session.post(
            f"{emulator.url}sandbox/api/send", json={"chat_id": 424242, "text": "x"}
        ) as response:
            assert response.status == 400


async def test_run_sandbox_serves_the_emulator_on_the_given_port() -> None:
    emulator = await run_sandbox("127.0.0.1", 0, TOKEN)
    try:
        assert emulator.sandbox_group_id == GROUP and emulator.port
        async with Bot(TOKEN, base_url=emulator.base_url) as client:
            assert (await client.get_me()).username == "contest_helper_bot"
    finally:
        await emulator.stop()


# -- the real Application ----------------------------------------------------------------------


async def test_application_polls_and_replies_through_the_emulator(
    emulator: BotApiEmulator, student: User
) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Greet in HTML."""
        assert update.effective_message is not None
        await update.effective_message.reply_html("<b>欢迎</b>参赛")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Repeat the text."""
        assert update.effective_message is not None and update.effective_message.text
        await update.effective_message.reply_text(update.effective_message.text, do_quote=True)

    application = ApplicationBuilder().token(TOKEN).base_url(emulator.base_url).build()
    application.add_handler(CommandHandler("start", start))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        greeting = await emulator.wait_for_messages(student.id, 1)
        assert greeting[0].html == "<b>欢迎</b>参赛"
        said = await emulator.send_text(student, student.id, "报名怎么交材料？")
        reply = await emulator.wait_for_messages(student.id, 1, after=said)
        assert reply[0].text == "报名怎么交材料？"
        assert reply[0].reply_to_message_id == said.message_id
        await application.updater.stop()
        await application.stop()
