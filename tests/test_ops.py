"""Operating the bot: configuration checked at start, no token in any output, exports, backups,
and a graceful stop of a real `contest-bot run` process on SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import csv
import gc
import io
import json
import logging
import os
import re
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import (
    CONTESTANT,
    ORGANIZER,
    ORGANIZER_GROUP,
    TOKEN,
    button,
    start_world,
    stop_world,
)

from bot.cli import build_parser
from bot.cli import main as cli
from bot.config import ConfigError, Settings
from bot.logs import redacting_handler
from bot.main import settings_for
from bot.sandbox import BotApiEmulator
from knowledge.store import EXPORTS, Store

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).parent / "contest-bot"
SECRET = "ops-webhook-secret"

# --- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TELEGRAM_BOT_TOKEN", "not-a-token"),
        ("TELEGRAM_API_BASE_URL", "ftp://api.example.com/bot"),
        ("LOG_LEVEL", "LOUD"),
        ("WEBHOOK_URL", "http://bot.example.com"),
        ("WEBHOOK_SECRET", "has spaces"),
        ("PORT", "http"),
        ("PORT", "70000"),
        ("SANDBOX_PORT", "-1"),
        ("HOST", "every where"),
        ("ORGANIZER_CHAT_ID", "the-group"),
        ("ORGANIZER_IDS", "9001, wang"),
        ("SLA_MINUTES", "0"),
        ("MAX_OPEN_TICKETS", "-3"),
        ("ESCALATION_INTERVAL_SECONDS", "1.5"),
        ("SHOW_STAFF_NAMES", "maybe"),
        ("BROADCAST_RATE", "100"),
        ("BROADCAST_RATE", "fast"),
        ("TIMEZONE", "Mars/Olympus_Mons"),
        ("BACKUP_EVERY_HOURS", "daily"),
        ("BACKUP_EVERY_HOURS", "-1"),
        ("BACKUP_EVERY_HOURS", "nan"),
        ("BACKUP_KEEP", "0"),
        ("USER_BURST", "0"),
        ("USER_PER_MINUTE", "-1"),
        ("WEBHOOK_MAX_CONNECTIONS", "0"),
        ("WEBHOOK_MAX_CONNECTIONS", "101"),
    ],
)
def test_config_error_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(variable)):
        Settings.from_env({variable: value})


def test_config_webhook_url_needs_a_secret() -> None:
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET is required"):
        Settings.from_env({"WEBHOOK_URL": "https://bot.example.com"})


def test_config_error_never_repeats_a_bad_token() -> None:
    bad = "123456:short"
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"TELEGRAM_BOT_TOKEN": bad})
    assert bad not in str(caught.value)


def test_config_defaults_without_any_variable() -> None:
    settings = Settings.from_env({})
    assert settings.sandbox and settings.port == 8080 and settings.host == "0.0.0.0"
    assert settings.webhook_url is None


class RecordingEnv(dict[str, str]):
    """An environment that remembers which variables were read."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)


def test_env_example_lists_every_variable_settings_read() -> None:
    env = RecordingEnv()
    Settings.from_env(env)
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, flags=re.MULTILINE))
    assert env.read, "from_env read nothing"
    assert env.read <= listed, f"missing from .env.example: {sorted(env.read - listed)}"


def run_cli(
    *args: str, env: dict[str, str], cwd: Path
) -> tuple[int, str]:  # a real process, as an operator runs it
    import subprocess

    result = subprocess.run(
        [str(CLI), *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


@pytest.mark.slow
def test_run_with_a_bad_value_exits_2_naming_it(tmp_path: Path) -> None:
    code, output = run_cli("run", env={"TELEGRAM_BOT_TOKEN": "", "PORT": "eighty"}, cwd=tmp_path)
    assert code == 2
    assert "PORT must be" in output and "configuration error" in output


def one_line_exit_2(code: int, output: str) -> str:
    """The start-up failure's message: exit code 2, one line, no traceback."""
    assert code == 2, output
    assert "Traceback" not in output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("contest-bot: cannot start: ")
    return lines[0]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["polling", "webhook", "sandbox"])
def test_run_on_a_port_in_use_names_the_variable(tmp_path: Path, mode: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        env = {"CONTEST_BOT_DB": str(tmp_path / "bot.db"), "HOST": "127.0.0.1"}
        if mode == "sandbox":
            env |= {"TELEGRAM_BOT_TOKEN": "", "SANDBOX_PORT": port}
        else:  # Telegram is never reached: the port is checked first
            env |= {
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "PORT": port,
                "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{free_port()}/bot",
            }
        if mode == "webhook":
            env |= {"WEBHOOK_URL": "https://bot.example.com", "WEBHOOK_SECRET": SECRET}
        line = one_line_exit_2(*run_cli("run", env=env, cwd=tmp_path))
    variable = "SANDBOX_PORT" if mode == "sandbox" else "PORT"
    assert line.startswith(f"contest-bot: cannot start: {variable} {port} ")
    assert "another process is listening there" in line


@pytest.mark.slow
@pytest.mark.parametrize("token", [TOKEN, ""], ids=["polling", "sandbox"])
def test_run_with_a_database_folder_it_cannot_write_names_the_variable(
    tmp_path: Path, token: str
) -> None:
    (tmp_path / "data").write_text("a file where the folder should be")
    env = {
        "TELEGRAM_BOT_TOKEN": token,
        "CONTEST_BOT_DB": str(tmp_path / "data" / "bot.db"),
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{free_port()}/bot",
        "SANDBOX_PORT": str(free_port()),
    }
    line = one_line_exit_2(*run_cli("run", env=env, cwd=tmp_path))
    assert "CONTEST_BOT_DB" in line and "cannot be opened for writing" in line
    assert "a file is in the way" in line


@pytest.mark.slow
@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\xd0\x00\xff binary, not a catalogue", "not UTF-8 text"),
        ("会议纪要\n今天没有赛题。\n".encode(), "no 赛道 heading"),
    ],
    ids=["binary", "another-document"],
)
def test_run_with_a_seed_it_cannot_read_names_the_variable(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    (tmp_path / "seed.txt").write_bytes(content)
    env = {
        "TELEGRAM_BOT_TOKEN": "",
        "CONTEST_BOT_SEED": str(tmp_path / "seed.txt"),
        "CONTEST_BOT_DB": str(tmp_path / "bot.db"),
        "SANDBOX_PORT": str(free_port()),
    }
    line = one_line_exit_2(*run_cli("run", env=env, cwd=tmp_path))
    assert "CONTEST_BOT_SEED" in line and "cannot be read as a catalogue" in line
    assert reason in line


# --- secrets in logs ----------------------------------------------------------------------------


def test_log_records_with_the_token_are_redacted() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("test_ops.redaction")
    logger.propagate = False
    logger.addHandler(redacting_handler([TOKEN, SECRET, None], stream))
    try:
        logger.warning("HTTP Request: POST https://api.telegram.org/bot%s/getMe", TOKEN)
        logger.warning(f"inline {TOKEN} and secret {SECRET}")
        try:
            raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.")
        except RuntimeError:
            logger.exception("startup failed")
    finally:
        logger.handlers.clear()
    output = stream.getvalue()
    assert TOKEN not in output and SECRET not in output
    assert TOKEN.split(":")[1] not in output
    assert output.count("***") >= 4
    assert "getMe" in output and "was rejected by the server" in output


# --- `contest-bot run` as a process -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    emu = BotApiEmulator(TOKEN, sandbox=False)
    emu.add_user(CONTESTANT)
    emu.add_user(ORGANIZER)
    emu.create_group(ORGANIZER_GROUP, "组委会群", creator=ORGANIZER)
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


async def start_bot(
    emulator: BotApiEmulator, tmp_path: Path, port: int, **extra: str
) -> tuple[asyncio.subprocess.Process, Path]:
    log_file = tmp_path / "run.log"
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": emulator.base_url,
        "CONTEST_BOT_DB": str(tmp_path / "bot.db"),
        "ORGANIZER_CHAT_ID": str(ORGANIZER_GROUP),
        "LOG_LEVEL": "DEBUG",  # the most the bot ever writes
        "HOST": "127.0.0.1",
        "PORT": str(port),
        **extra,
    }
    with log_file.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            str(CLI), "run", env=env, cwd=tmp_path, stdout=out, stderr=out
        )
    return process, log_file


async def health(port: int) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/healthz") as response,
    ):
        return response.status, await response.json()


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "sig"),
    [("polling", signal.SIGTERM), ("polling", signal.SIGINT), ("webhook", signal.SIGTERM)],
    ids=["polling-SIGTERM", "polling-SIGINT", "webhook-SIGTERM"],
)
async def test_run_finishes_the_handler_in_flight_and_exits_0(
    emulator: BotApiEmulator, tmp_path: Path, mode: str, sig: signal.Signals
) -> None:
    port = free_port()
    extra = {}
    if mode == "webhook":
        extra = {"WEBHOOK_URL": "https://bot.example.com", "WEBHOOK_SECRET": SECRET}
        emulator.webhook_target = f"http://127.0.0.1:{port}"
    process, log_file = await start_bot(emulator, tmp_path, port, **extra)
    try:
        ready = "setWebhook" if mode == "webhook" else "getUpdates"
        await emulator.wait_for(lambda: emulator.calls_to(ready), timeout=30)
        sent = await emulator.send_text(CONTESTANT, CONTESTANT.id, "/start")
        (menu,) = await emulator.wait_for_messages(CONTESTANT.id, 1, after=sent, timeout=15)
        status, report = await health(port)
        assert (status, report["mode"], report["bot"]) == (200, mode, True)

        # The next handler hangs on its first call for a while: SIGTERM comes meanwhile.
        emulator.inject_fault(
            "hang", methods=["answerCallbackQuery"], delay=1.5, when="after", times=1
        )
        await emulator.press_button(
            CONTESTANT, CONTESTANT.id, menu.message_id, button(menu, "交通运输")
        )
        await emulator.wait_for(lambda: emulator.calls_to("answerCallbackQuery"), timeout=15)
        signalled = time.time()
        process.send_signal(sig)
        code = await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    output = log_file.read_text(encoding="utf-8", errors="replace")
    assert code == 0, output[-3000:]
    # The handler went on after the signal and its reply arrived.
    (edit,) = emulator.calls_to("editMessageText")
    assert edit.time > signalled and edit.ok
    assert emulator.message(CONTESTANT.id, menu.message_id).text.startswith("赛道三")
    if mode == "webhook":
        assert emulator.calls_to("deleteWebhook")[-1].ok
    assert "stopping" in output
    # DEBUG logging saw every request; neither the token nor the secret got through.
    assert TOKEN not in output and TOKEN.split(":")[1] not in output
    assert SECRET not in output


@pytest.mark.e2e
@pytest.mark.slow
async def test_run_with_a_rejected_token_exits_1_without_printing_it(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    rejected = "654321:" + "R" * 35  # well formed, but not the emulator's bot
    process, log_file = await start_bot(
        emulator, tmp_path, free_port(), TELEGRAM_BOT_TOKEN=rejected
    )
    code = await asyncio.wait_for(process.wait(), 30)
    output = log_file.read_text(encoding="utf-8", errors="replace")
    assert code == 1
    assert "rejected" in output  # PTB's InvalidToken, which quotes the token
    assert rejected not in output and "R" * 35 not in output


# --- exports ------------------------------------------------------------------------------------


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A database with a ticket, an answered ticket and a FAQ entry, at CONTEST_BOT_DB."""
    path = tmp_path / "data" / "bot.db"
    monkeypatch.setenv("CONTEST_BOT_DB", str(path))
    store = Store(path)
    first = store.questions.log(
        1001, 1001, '决赛答辩一共几分钟？"quoted", comma', "escalate", [], 0
    )
    second = store.questions.log(1002, 1002, "报名截止\n时间？", "escalate", [], 0)
    ticket, _ = store.tickets.create(first, user_name="小明", username=None, lang="zh", guesses=[])
    store.tickets.create(second, user_name="Ann", username="ann", lang="en", guesses=["3-4"])
    store.tickets.answer(ticket.id, "归参赛团队所有。", 9001, "王老师")
    store.faq.add("可以跨赛道吗？", "可以，但每个团队只能选一个赛题。")
    store.close()
    return path


def test_export_tickets_as_json_lists_every_ticket(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["export", "tickets"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == [1, 2]
    assert rows[0]["question"] == '决赛答辩一共几分钟？"quoted", comma'
    assert (rows[0]["status"], rows[0]["answer"]) == ("answered", "归参赛团队所有。")
    assert rows[1]["status"] == "open" and rows[1]["username"] == "ann"


def test_export_tickets_as_csv_keeps_quotes_commas_and_newlines(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["export", "tickets", "--format", "csv"]) == 0
    reader = csv.DictReader(io.StringIO(capsys.readouterr().out))
    rows = list(reader)
    assert reader.fieldnames is not None and reader.fieldnames[:2] == ["id", "user_id"]
    assert rows[0]["question"] == '决赛答辩一共几分钟？"quoted", comma'
    assert rows[1]["question"] == "报名截止\n时间？"
    assert rows[1]["answer"] == ""  # NULL


def test_export_faq_to_a_csv_file_opens_in_excel(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "faq.csv"
    assert cli(["export", "faq", "--format", "csv", "--output", str(target)]) == 0
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the byte order mark Excel needs for UTF-8
    (row,) = csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))
    assert row["question"] == "可以跨赛道吗？"
    assert "1 faq rows written" in capsys.readouterr().err


def test_export_reads_whatever_subscriber_and_broadcast_tables_exist(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store(database)
    for table in ("deliveries", "broadcasts", "subscriptions"):
        store.db[table].drop(ignore=True)  # a database from before those features
    store.close()
    for what in ("subscribers", "broadcasts"):
        assert cli(["export", what]) == 0
        captured = capsys.readouterr()
        assert json.loads(captured.out) == []
        assert f"no {what} in this database yet" in captured.err
        assert cli(["export", what, "--format", "csv"]) == 0
        assert capsys.readouterr().out == ""

    store = Store(database)
    store.db[EXPORTS["subscribers"]].insert(
        {"chat_id": 1001, "name": "小明", "active": 1}, pk="chat_id", alter=True
    )
    store.db["broadcasts"].insert({"id": 1, "status": "done", "text": "通知"}, pk="id", alter=True)
    store.db["deliveries"].insert_all(
        [
            {"broadcast_id": 1, "chat_id": 1001, "status": "sent"},
            {"broadcast_id": 1, "chat_id": 1002, "status": "sent"},
            {"broadcast_id": 1, "chat_id": 1003, "status": "blocked"},
        ],
        alter=True,
    )
    store.close()
    assert cli(["export", "subscribers"]) == 0
    (subscriber,) = json.loads(capsys.readouterr().out)
    assert subscriber["name"] == "小明"
    assert cli(["export", "broadcasts", "--format", "csv"]) == 0
    (broadcast,) = csv.DictReader(io.StringIO(capsys.readouterr().out))
    assert (broadcast["text"], broadcast["sent"], broadcast["blocked"]) == ("通知", "2", "1")
    assert broadcast["failed"] == "0"


def test_export_without_a_database_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONTEST_BOT_DB", str(tmp_path / "nowhere.db"))
    assert cli(["export", "tickets"]) == 1
    assert "no database at" in capsys.readouterr().err
    assert not (tmp_path / "nowhere.db").exists()  # nothing created by mistake


# --- backup -------------------------------------------------------------------------------------


def test_backup_restores_to_the_same_data(
    database: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    live = Store(database)  # the bot keeps it open and writing meanwhile
    live.faq.add("决赛在哪里？", "武汉。")
    target = tmp_path / "backups" / "copy.db"
    target.parent.mkdir()
    assert cli(["backup", str(target)]) == 0
    assert f"backed up to {target}" in capsys.readouterr().out
    live.faq.add("written after the backup", "not in it")
    live.close()
    assert not target.with_name("copy.db.part").exists()
    assert sqlite3.connect(target).execute("PRAGMA integrity_check").fetchone() == ("ok",)

    # Restore: the copy, put where the bot looks, is the database as it was.
    monkeypatch.setenv("CONTEST_BOT_DB", str(target))
    assert cli(["export", "faq"]) == 0
    questions = [row["question"] for row in json.loads(capsys.readouterr().out)]
    assert questions == ["可以跨赛道吗？", "决赛在哪里？"]
    assert cli(["export", "tickets"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2


def test_backup_into_a_folder_names_the_file_by_time(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    assert cli(["backup", str(folder)]) == 0
    (made,) = folder.iterdir()
    assert re.fullmatch(r"contest-bot-\d{8}-\d{6}\.db", made.name)
    assert str(made) in capsys.readouterr().out


# --- deploys ------------------------------------------------------------------------------------


def test_run_mode_polling_ignores_a_webhook_url() -> None:
    settings = Settings(token=TOKEN, webhook_url="https://bot.example.com", webhook_secret=SECRET)
    assert settings_for("polling", settings).webhook_url is None
    assert settings_for("webhook", settings) == settings
    assert settings_for("auto", settings) == settings


@pytest.mark.parametrize(
    ("mode", "settings", "variable"),
    [
        ("webhook", Settings(token=TOKEN), "WEBHOOK_URL"),
        ("webhook", Settings(), "TELEGRAM_BOT_TOKEN"),
        ("polling", Settings(), "TELEGRAM_BOT_TOKEN"),  # never the sandbox by surprise
    ],
)
def test_run_mode_names_what_it_lacks(mode: str, settings: Settings, variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        settings_for(mode, settings)


def test_procfile_runs_the_webhook_on_web_and_polling_on_worker() -> None:
    processes = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert set(processes) == {"web", "worker"}
    for process, mode in (("web", "webhook"), ("worker", "polling")):
        program, *args = processes[process].split()
        assert program == "contest-bot"
        assert build_parser().parse_args(args).mode == mode


def test_docker_image_is_slim_non_root_with_a_volume_and_a_healthcheck() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, flags=re.MULTILINE)
    users = re.findall(r"^USER (\S+)", dockerfile, flags=re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    db = re.search(r"CONTEST_BOT_DB=(\S+)", dockerfile)
    volume = re.search(r'^VOLUME \["([^"]+)"\]', dockerfile, flags=re.MULTILINE)
    assert db and volume and Path(db.group(1)).parent == Path(volume.group(1))
    assert re.search(r"^HEALTHCHECK .*/healthz", dockerfile, flags=re.MULTILINE | re.DOTALL)
    # Every package the project installs is copied into the image.
    pyproject = (ROOT / "pyproject.toml").read_text()
    include = re.search(r"include = \[(.*?)\]", pyproject)
    assert include
    for package in re.findall(r'"(\w+)\*"', include.group(1)):
        assert f"COPY {package} ./{package}" in dockerfile, package
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git", "*.db"} <= set(ignored)


# --- the event loop ------------------------------------------------------------------------------


@pytest.mark.e2e
async def test_what_startup_built_is_left_out_of_full_garbage_collections(tmp_path: Path) -> None:
    world = await start_world(tmp_path)
    try:
        # The matcher's indexes and the libraries: a full collection would scan them all and
        # stop every thread meanwhile (bot/app.py startup).
        assert gc.get_freeze_count() > 100_000
    finally:
        await stop_world(world)
    assert gc.get_freeze_count() == 0  # collectable again once the bot has stopped
