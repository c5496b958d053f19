"""bot/transport.py, the bot's HTTP client: what it sends, and the errors PTB needs from it to
retry (TimedOut, NetworkError) — the end-to-end tests drive every Bot API call through it."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import BodyPartReader, web
from harness import serve_locally
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError, TimedOut

from bot.transport import AiohttpRequest

TOKEN = "123456:transport-test-token"
OK_MESSAGE = {
    "message_id": 7,
    "date": 1_700_000_000,
    "chat": {"id": 42, "type": "private", "first_name": "小明"},
    "text": "你好",
}

BOT_USER = {"id": 123456, "is_bot": True, "first_name": "大赛助手", "username": "contest_bot"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def server() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Start a Bot API stand-in with one handler for every method; returns its base URL."""
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> str:
        async def dispatch(request: web.Request) -> web.StreamResponse:
            if request.match_info["method"] == "getMe":  # Bot.initialize asks who it is
                return web.json_response({"ok": True, "result": BOT_USER})
            return await handler(request)

        app = web.Application()
        app.router.add_post("/bot{token}/{method}", dispatch)
        runner, url = await serve_locally(app)
        runners.append(runner)
        return f"{url}/bot"

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_transport_sends_json_and_reads_the_answer(
    server: Callable[[Handler], Awaitable[str]],
) -> None:
    seen: list[tuple[str, str, dict[str, object]]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((request.match_info["method"], request.content_type, await request.json()))
        return web.json_response({"ok": True, "result": OK_MESSAGE})

    base = await server(handler)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("赛题 3-4", callback_data="p:3-4")]])
    async with Bot(TOKEN, base_url=base, request=AiohttpRequest()) as bot:
        sent = await bot.send_message(42, "<b>你好</b> & 再见", parse_mode="HTML",
                                      reply_markup=markup)  # fmt: skip
    assert sent.message_id == 7 and sent.text == "你好"
    method, content_type, body = seen[-1]
    assert (method, content_type) == ("sendMessage", "application/json")
    assert body["text"] == "<b>你好</b> & 再见" and body["parse_mode"] == "HTML"
    keyboard = json.loads(str(body["reply_markup"]))
    assert keyboard["inline_keyboard"][0][0]["callback_data"] == "p:3-4"


async def test_transport_uploads_a_file_as_multipart(
    server: Callable[[Handler], Awaitable[str]],
) -> None:
    parts: dict[str, tuple[str | None, bytes]] = {}

    async def handler(request: web.Request) -> web.Response:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            assert isinstance(part, BodyPartReader)
            parts[str(part.name)] = (part.filename, bytes(await part.read()))
        document = {"file_id": "f1", "file_unique_id": "u1", "file_name": "工单.csv"}
        return web.json_response({"ok": True, "result": {**OK_MESSAGE, "document": document}})

    base = await server(handler)
    async with Bot(TOKEN, base_url=base, request=AiohttpRequest()) as bot:
        sent = await bot.send_document(42, "编号,问题\n1,报名\n".encode(), filename="工单.csv",
                                       caption="导出")  # fmt: skip
    assert sent.document is not None and sent.document.file_name == "工单.csv"
    filename, content = parts["document"]
    assert filename == "工单.csv" and content == "编号,问题\n1,报名\n".encode()
    assert parts["caption"][1] == "导出".encode()


async def test_transport_nobody_listening_is_a_network_error() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as caught:
            await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
        assert not isinstance(caught.value, TimedOut)
    finally:
        await request.shutdown()


async def test_transport_an_answer_later_than_read_timeout_is_timed_out(
    server: Callable[[Handler], Awaitable[str]],
) -> None:
    release = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        await release.wait()  # Telegram busy: no answer within the read timeout
        return web.json_response({"ok": True, "result": True})

    base = await server(handler)
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(TimedOut):
            await request.post(f"{base}{TOKEN}/getUpdates", read_timeout=0.2)
    finally:
        release.set()
        await request.shutdown()
