"""Webhook mode over real HTTP: the emulator delivers updates to bot/web.py as Telegram would;
/healthz and /metrics in both modes."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import (
    CONTESTANT,
    ORGANIZER,
    ORGANIZER_GROUP,
    TOKEN,
    World,
    settings_for,
    start_emulator,
    updates_done,
)
from harness import write_lock
from telegram.ext import Application

from bot.app import build_application
from bot.config import Settings
from bot.main import run_webhook
from bot.metrics import metrics_of
from bot.sandbox import BotApiEmulator
from bot.web import SECRET_HEADER, BotServer, webhook_url
from knowledge.store import Store

SECRET = "webhook-secret_for-tests"
PUBLIC_URL = "https://bot.example.com/contest"
UPDATE = {
    "update_id": 1,
    "message": {
        "message_id": 1,
        "date": 1_700_000_000,
        "chat": {"id": CONTESTANT.id, "type": "private", "first_name": CONTESTANT.first_name},
        "from": {"id": CONTESTANT.id, "is_bot": False, "first_name": CONTESTANT.first_name},
        "text": "/help",
    },
}


@dataclass
class Hook:
    """A bot in webhook mode, the emulator delivering to it, and a way to stop it."""

    emulator: BotApiEmulator
    app: Application[Any, Any, Any, Any, Any, Any]
    server: BotServer
    store: Store
    url: str
    stop: asyncio.Event
    task: asyncio.Task[None]

    @property
    def endpoint(self) -> str:
        """Where the webhook listens on this machine."""
        return f"http://127.0.0.1:{self.server.port}{self.server.webhook_path}"

    def local(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.port}{path}"


async def start_hook(tmp_path: Path, check_seconds: float = 60.0) -> Hook:
    emulator = await start_emulator()
    settings = settings_for(
        emulator,
        tmp_path,
        webhook_url=PUBLIC_URL,
        webhook_secret=SECRET,
        host="127.0.0.1",
        port=0,
    )
    store = Store(settings.db_path)
    app = build_application(settings, TOKEN, store)
    url = webhook_url(PUBLIC_URL, TOKEN, SECRET)
    server = BotServer.for_webhook(app, store, url, SECRET)
    port = await server.start("127.0.0.1", 0)
    # Telegram would post to the public URL; the emulator sends the same request here.
    emulator.webhook_target = f"http://127.0.0.1:{port}"
    stop = asyncio.Event()
    task = asyncio.create_task(run_webhook(app, server, url, settings, stop, check_seconds))
    await until(lambda: server.webhook_set or task.done())
    if task.done():
        task.result()  # startup failed: show why
    return Hook(emulator, app, server, store, url, stop, task)


async def until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait for a condition of the bot's own state (the emulator's wait_for sees only its own
    changes)."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - the bot's state has no event to wait on
            await asyncio.sleep(0.01)


async def stop_hook(hook: Hook) -> None:
    hook.stop.set()
    await asyncio.wait_for(hook.task, 10)
    await hook.emulator.stop()
    hook.store.close()


@pytest.fixture
async def hook(tmp_path: Path) -> AsyncIterator[Hook]:
    running = await start_hook(tmp_path)
    try:
        yield running
    finally:
        if not running.task.done():
            await stop_hook(running)


async def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as response,
    ):
        return response.status, await response.text()


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


GOOD_HEADERS = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}


def test_webhook_url_derives_its_path_without_the_token() -> None:
    url = webhook_url(PUBLIC_URL, TOKEN, SECRET)
    assert url.startswith(PUBLIC_URL + "/telegram/")
    assert TOKEN not in url and TOKEN.split(":")[1] not in url and SECRET not in url
    assert url == webhook_url(PUBLIC_URL + "/", TOKEN, SECRET)  # stable across restarts
    assert url != webhook_url(PUBLIC_URL, TOKEN, SECRET + "x")
    assert url != webhook_url(PUBLIC_URL, "654321:" + TOKEN.split(":")[1], SECRET)


@pytest.mark.e2e
async def test_webhook_is_set_with_secret_and_allowed_updates(hook: Hook) -> None:
    (call,) = hook.emulator.calls_to("setWebhook")
    assert call.params["url"] == hook.url
    assert call.params["secret_token"] == SECRET
    assert call.params["max_connections"] == "40"  # Telegram's default, WEBHOOK_MAX_CONNECTIONS
    assert "callback_query" in json.loads(call.params["allowed_updates"])
    info = await hook.app.bot.get_webhook_info()
    assert info.url == hook.url
    assert hook.server.webhook_path == "/contest/telegram/" + hook.url.rsplit("/", 1)[1]


@pytest.mark.e2e
async def test_webhook_update_from_telegram_gets_its_reply(hook: Hook) -> None:
    sent = await hook.emulator.send_text(CONTESTANT, CONTESTANT.id, "/start")
    (reply,) = await hook.emulator.wait_for_messages(CONTESTANT.id, 1, after=sent, timeout=10)
    assert "答疑助手" in reply.text
    assert len(hook.emulator.webhook_deliveries) == 1
    assert not hook.emulator.calls_to("getUpdates")  # nothing polled


@pytest.mark.e2e
@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},  # no secret
        {SECRET_HEADER: SECRET + "x", "Content-Type": "application/json"},
        {SECRET_HEADER: "", "Content-Type": "application/json"},
    ],
    ids=["missing", "wrong", "empty"],
)
async def test_webhook_refuses_a_request_without_the_secret(
    hook: Hook, headers: dict[str, str]
) -> None:
    status, _ = await post(hook.endpoint, json.dumps(UPDATE).encode(), headers)
    assert status == 403
    await updates_done(hook.app)  # had the update been taken, it would be handled by now
    # 小明 never opened a chat with this bot here: a reply would fail ("chat not found") and
    # leave no message, so look for the attempt.
    assert not hook.emulator.calls_to("sendMessage")
    assert not hook.emulator.chat_messages(CONTESTANT.id)


@pytest.mark.e2e
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
async def test_webhook_refuses_a_wrong_content_type(hook: Hook, content_type: str) -> None:
    headers = {SECRET_HEADER: SECRET, "Content-Type": content_type}
    status, _ = await post(hook.endpoint, json.dumps(UPDATE).encode(), headers)
    assert status == 403


@pytest.mark.e2e
@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'{"message": {}}', b'{"update_id": "x"}', b"\xff\xfe{}"],
    ids=["broken", "list", "no-update-id", "bad-update-id", "not-utf8"],
)
async def test_webhook_refuses_bad_json_with_400(hook: Hook, body: bytes) -> None:
    status, _ = await post(hook.endpoint, body, GOOD_HEADERS)
    assert status == 400


@pytest.mark.e2e
async def test_webhook_good_post_is_handled_and_counted(hook: Hook) -> None:
    first = await hook.emulator.send_text(CONTESTANT, CONTESTANT.id, "/start")  # opens the chat
    await hook.emulator.wait_for_messages(CONTESTANT.id, 1, after=first, timeout=10)
    status, _ = await post(hook.endpoint, json.dumps(UPDATE).encode(), GOOD_HEADERS)
    assert status == 200
    (reply,) = await hook.emulator.wait_for_messages(CONTESTANT.id, 1, after=2, timeout=10)
    assert "怎么提问" in reply.text or "提问" in reply.text  # /help answered
    await post(hook.endpoint, b"{", GOOD_HEADERS)
    _, _, text = await get(hook.local("/metrics"))
    lines = set(text.splitlines())
    # Two 200s: the emulator's delivery of /start and the direct post of /help.
    assert 'contest_bot_webhook_requests_total{status="200"} 2.0' in lines
    assert 'contest_bot_webhook_requests_total{status="400"} 1.0' in lines
    assert 'contest_bot_updates_total{type="message"} 2.0' in lines


@pytest.mark.e2e
async def test_webhook_answers_an_update_only_once_it_is_stored(hook: Hook) -> None:
    """Telegram forgets an update once it hears 200: the answer waits until the update is in
    the database, here held by another process's write for a while."""
    refused = asyncio.Event()
    loop = asyncio.get_running_loop()

    class Refusals(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:  # from the writer's thread
            if record.getMessage().startswith("cannot write"):
                loop.call_soon_threadsafe(refused.set)

    watcher = Refusals()
    logging.getLogger("bot.inbox").addHandler(watcher)
    hook.store.db.execute("PRAGMA busy_timeout = 100")  # production waits 5 s; same path
    (_, _, path) = hook.store.db.execute("PRAGMA database_list").fetchone()
    try:
        with write_lock(Path(path), seconds=1.0):
            answer = asyncio.create_task(
                post(hook.endpoint, json.dumps(UPDATE).encode(), GOOD_HEADERS)
            )
            await asyncio.wait_for(refused.wait(), 10)  # the inbox tried, and could not
            assert not answer.done(), "acknowledged before it was stored"
        status, _ = await asyncio.wait_for(answer, 20)
    finally:
        logging.getLogger("bot.inbox").removeHandler(watcher)
    assert status == 200
    (row,) = hook.store.db.execute("select count(*) from inbox where update_id = 1").fetchall()
    assert row == (1,)


@pytest.mark.e2e
async def test_webhook_path_other_than_the_secret_one_is_404(hook: Hook) -> None:
    for path in ["/contest/telegram/" + "0" * 32, f"/bot{TOKEN}", "/contest"]:
        status, _ = await post(hook.local(path), json.dumps(UPDATE).encode(), GOOD_HEADERS)
        assert status in (404, 405), path


@pytest.mark.e2e
async def test_webhook_stop_deletes_the_webhook_and_telegram_keeps_new_updates(hook: Hook) -> None:
    hook.stop.set()
    await asyncio.wait_for(hook.task, 10)
    (call,) = hook.emulator.calls_to("deleteWebhook")
    assert call.ok
    assert not hook.app.running
    # Telegram keeps what comes now for the next start (getUpdates or a new webhook).
    await hook.emulator.send_text(CONTESTANT, CONTESTANT.id, "/start")
    assert hook.emulator.pending_updates


@pytest.mark.e2e
async def test_webhook_is_set_again_when_something_deletes_it(tmp_path: Path) -> None:
    hook = await start_hook(tmp_path, check_seconds=0.05)
    try:
        await hook.app.bot.delete_webhook()  # as an older instance does when it stops
        await hook.emulator.wait_for(lambda: len(hook.emulator.calls_to("setWebhook")) >= 2, 5)
        assert (await hook.app.bot.get_webhook_info()).url == hook.url
    finally:
        await stop_hook(hook)


# --- /healthz and /metrics --------------------------------------------------------------------


@pytest.mark.e2e
async def test_healthz_is_200_with_a_json_body_while_the_webhook_runs(hook: Hook) -> None:
    status, content_type, text = await get(hook.local("/healthz"))
    assert (status, content_type.split(";")[0]) == (200, "application/json")
    assert json.loads(text) == {"status": "ok", "mode": "webhook", "database": True, "bot": True}


@pytest.mark.e2e
async def test_healthz_is_503_when_the_database_does_not_answer(hook: Hook) -> None:
    hook.store.close()
    status, _, text = await get(hook.local("/healthz"))
    assert status == 503
    assert json.loads(text)["database"] is False


@pytest.mark.e2e
async def test_healthz_is_503_when_updates_are_not_taken(hook: Hook) -> None:
    hook.server.accepting = False  # as while stopping
    status, _ = await post(hook.endpoint, json.dumps(UPDATE).encode(), GOOD_HEADERS)
    assert status == 503  # Telegram retries later
    status, _, text = await get(hook.local("/healthz"))
    assert status == 503
    assert json.loads(text) == {
        "status": "unavailable",
        "mode": "webhook",
        "database": True,
        "bot": False,
    }


async def test_polling_mode_serves_healthz_and_metrics(world: World) -> None:
    server = BotServer(world.app, world.store)
    port = await server.start("127.0.0.1", 0)
    try:
        status, _, text = await get(f"http://127.0.0.1:{port}/healthz")
        assert status == 200 and json.loads(text)["mode"] == "polling"
        status, _, _ = await get(f"http://127.0.0.1:{port}/telegram/x")
        assert status == 404  # no webhook route in polling mode
        assert world.app.updater is not None
        await world.app.updater.stop()
        status, _, text = await get(f"http://127.0.0.1:{port}/healthz")
        assert status == 503 and json.loads(text)["bot"] is False
        await world.app.updater.start_polling(poll_interval=0, timeout=1)
    finally:
        await server.stop()


FAMILIES = [
    "contest_bot_updates_total",
    "contest_bot_handler_seconds_bucket",
    "contest_bot_answers_total",
    "contest_bot_escalations_total",
    "contest_bot_open_tickets",
    "contest_bot_time_to_answer_seconds_bucket",
    "contest_bot_broadcast_messages",
    "contest_bot_webhook_requests_total",
    "contest_bot_database_up 1.0",
    "contest_bot_up 1.0",
]


async def test_metrics_text_has_every_family_and_counts_a_journey(world: World) -> None:
    (offer,) = await world.say("决赛答辩一共几分钟？")
    await world.press(offer, "提交给组委会")
    (post_message,) = await world.emulator.wait_for_messages(ORGANIZER_GROUP, 1, timeout=10)
    await world.say("/start")
    await world.say("赛道三赛题4")
    await world.say(
        "归参赛团队所有。", ORGANIZER, ORGANIZER_GROUP, reply_to=post_message.message_id
    )
    await world.handled()
    server = BotServer(world.app, world.store)
    port = await server.start("127.0.0.1", 0)
    try:
        status, content_type, text = await get(f"http://127.0.0.1:{port}/metrics")
    finally:
        await server.stop()
    assert status == 200 and content_type.startswith("text/plain")
    for family in FAMILIES:
        assert family in text, family
    lines = set(text.splitlines())
    assert 'contest_bot_answers_total{intent="escalate"} 1.0' in lines
    assert 'contest_bot_answers_total{intent="problem"} 1.0' in lines
    assert "contest_bot_escalations_total 1.0" in lines
    assert "contest_bot_open_tickets 0.0" in lines  # answered
    assert "contest_bot_time_to_answer_seconds_count 1.0" in lines
    assert 'contest_bot_updates_total{type="callback_query"} 1.0' in lines
    assert 'contest_bot_handler_seconds_count{type="message"} 4.0' in lines


async def test_metrics_registries_are_per_application(tmp_path: Path) -> None:
    settings = Settings(token=TOKEN, db_path=tmp_path / "a.db")
    first = build_application(settings, TOKEN, Store(":memory:"))
    second = build_application(settings, TOKEN, Store(":memory:"))
    metrics_of(first).updates.labels("message").inc()
    assert metrics_of(first).registry is not metrics_of(second).registry
    assert b'contest_bot_updates_total{type="message"} 1.0' in metrics_of(first).render()
    assert b"contest_bot_updates_total{" not in metrics_of(second).render()
