"""The sandbox page in a real headless Chromium: a contestant and an organizer, side by side,
through a question the catalogue answers and the whole escalation flow. Its screenshot is
docs/sandbox.png, the picture in the README: written when missing or with UPDATE_SCREENSHOT=1
(`make screenshot`), so that a test run leaves the work tree as it was.

Debian's Chromium (`make test` installs it) driven by Playwright; Playwright never downloads a
browser here.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application

from bot.app import build_application, shutdown, startup
from bot.config import Settings
from bot.main import SANDBOX_ORGANIZER, SANDBOX_ORGANIZER_CHAT, SANDBOX_TOKEN
from bot.sandbox import BotApiEmulator, run_sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "sandbox.png"
# What the machine's closed network needs (no background connections, no QUIC), and root.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# What the picture shows: a question the catalogue answers with a problem's card, and one only
# the organizers can answer, escalated and answered to the point.
CATALOGUE_QUESTION = "自动驾驶那道题要做什么？"
ORGANIZER_QUESTION = "决赛答辩一共几分钟？"
ORGANIZER_ANSWER = "决赛答辩每队 10 分钟：讲解 7 分钟，评委提问 3 分钟。"
WAIT_MS = 15_000  # generous: the page long-polls, the bot long-polls, CI machines are slow

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs it")
    pytest.skip(f"{CHROMIUM} is missing (`make test` installs it)", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.async_api")


@dataclass
class Sandbox:
    emulator: BotApiEmulator
    app: Application[Any, Any, Any, Any, Any, Any]


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    """What `contest-bot run` starts without a token: the emulator, its page and the bot."""
    emulator = await run_sandbox("127.0.0.1", 0, SANDBOX_TOKEN)
    settings = Settings(
        api_base_url=emulator.base_url,
        db_path=tmp_path / "sandbox.db",
        organizer_chat_id=SANDBOX_ORGANIZER_CHAT,
        organizer_ids=frozenset({SANDBOX_ORGANIZER}),
        user_per_minute=0,  # the browser clicks faster than people (the limit: test_flood.py)
    )
    app = build_application(settings, SANDBOX_TOKEN)
    await startup(app)
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield Sandbox(emulator, app)
    finally:
        await app.updater.stop()
        await shutdown(app)
        await emulator.stop()


async def test_sandbox_page_contestant_escalates_and_organizer_answers(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    expect = playwright_api.expect
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = await browser.new_page(viewport={"width": 1100, "height": 1240})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            await page.goto(sandbox.emulator.url)
            await expect(page.locator("#bot-title")).to_contain_text(
                "@contest_helper_bot", timeout=WAIT_MS
            )
            contestant = page.locator("#log-private")
            organizers = page.locator("#log-group")

            # A question about a problem: the catalogue answers it with the problem's card.
            await page.fill("#input-private", CATALOGUE_QUESTION)
            await page.click('[data-send="private"]')
            card = contestant.locator(".msg", has_text="赛题 3-4：自动驾驶创新发展")
            await expect(card).to_contain_text("融合行驶习惯", timeout=WAIT_MS)

            # A question the catalogue cannot answer, sent to the organizers.
            await page.fill("#input-private", ORGANIZER_QUESTION)
            await page.click('[data-send="private"]')
            submit = contestant.get_by_role("button", name="提交给组委会")
            await expect(submit).to_be_visible(timeout=WAIT_MS)
            await submit.click()
            await expect(contestant).to_contain_text("已提交，编号 #1", timeout=WAIT_MS)

            # The ticket in the organizers' pane; the organizer replies to it there.
            ticket = organizers.locator(".msg", has_text="问题 #1")
            await expect(ticket).to_contain_text(ORGANIZER_QUESTION, timeout=WAIT_MS)
            await expect(ticket).to_contain_text("待回复")
            # Pin the post itself: the organizer's reply will quote its text.
            ticket = page.locator(f'[id="{await ticket.get_attribute("id")}"]')
            await ticket.locator(".reply-btn").click()
            await expect(page.locator("#replying-group")).to_contain_text("回复 大赛助手")
            await page.fill("#input-group", ORGANIZER_ANSWER)
            await page.press("#input-group", "Enter")

            # The answer reaches the contestant; the ticket shows it was answered.
            answer = contestant.locator(".msg", has_text="组委会回复了你的问题 #1")
            await expect(answer).to_contain_text(ORGANIZER_ANSWER, timeout=WAIT_MS)
            await expect(organizers).to_contain_text("#1 已回复，送达：#1", timeout=WAIT_MS)
            await expect(ticket).to_contain_text("已回复", timeout=WAIT_MS)
            await expect(page.locator("#replying-group")).to_be_hidden()

            shot = await page.screenshot(path=str(tmp_path / "sandbox.png"))
            assert shot.startswith(b"\x89PNG")
            if os.environ.get("UPDATE_SCREENSHOT") or not SCREENSHOT.exists():
                SCREENSHOT.parent.mkdir(exist_ok=True)
                SCREENSHOT.write_bytes(shot)

            # The contestant opens the menu and a track: its problems are listed, in the menu's
            # own message (the card above names the track too).
            await page.fill("#input-private", "/start")
            await page.press("#input-private", "Enter")
            menu = contestant.locator(".msg").last
            track_button = menu.get_by_role("button", name="交通运输")
            await expect(track_button).to_be_visible(timeout=WAIT_MS)
            await track_button.click()
            await expect(menu).to_contain_text("赛道三：数据要素×交通运输", timeout=WAIT_MS)
            await expect(menu.get_by_role("button", name="3-4 自动驾驶创新发展")).to_be_visible(
                timeout=WAIT_MS
            )

            # On a phone one pane shows at a time; the tabs switch between them.
            await page.set_viewport_size({"width": 400, "height": 800})
            await expect(page.locator("#pane-group")).to_be_hidden()
            await page.get_by_role("button", name="组委会群").click()
            await expect(page.locator("#pane-group")).to_be_visible()
            await expect(page.locator("#pane-private")).to_be_hidden()
            assert errors == []
        finally:
            await browser.close()
    # The page drove the real bot: the ticket is answered in the database too.
    (ticket_row,) = sandbox.app.bot_data.store.tickets.rows()
    assert ticket_row["status"] == "answered"
    assert ticket_row["answer"] == ORGANIZER_ANSWER
