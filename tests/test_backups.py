"""Automatic backups: consistent copies while the bot writes, the newest BACKUP_KEEP kept, on a
schedule in PTB's JobQueue, failures counted and survived; and `contest-bot restore`."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import start_world, stop_world
from harness import poll_until

from bot.backups import back_up, backups_in, first_delay
from bot.cli import main as cli
from bot.metrics import metrics_of
from knowledge.store import Store

START = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)


def faq_ids(path: Path, journal: str = "delete") -> list[int]:
    """The FAQ ids a database holds, after checking it is sound (a backup is one file)."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == (journal,)
        return [row[0] for row in conn.execute("select id from faq order by id")]
    finally:
        conn.close()


def backup_count(text: str, result: str) -> float:
    found = re.search(rf'^contest_bot_backups_total\{{result="{result}"\}} (\S+)$', text, re.M)
    assert found is not None, text
    return float(found.group(1))


def test_back_up_keeps_the_newest_copies_and_leaves_other_files_alone(tmp_path: Path) -> None:
    store = Store(tmp_path / "bot.db")
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "notes.txt").write_text("the operator's own file")
    (folder / "manual.db").write_bytes(b"")
    made = []
    for hour in range(5):
        store.faq.add(f"问题 {hour}", "答案")
        made.append(back_up(store, folder, keep=3, now=START + timedelta(hours=hour)))
    assert backups_in(folder) == made[-3:]
    assert made[-1].name == "contest-bot-20240601-130000-000.db"
    assert [len(faq_ids(path)) for path in made[-3:]] == [3, 4, 5]
    assert (folder / "notes.txt").exists() and (folder / "manual.db").exists()
    assert not list(folder.glob("*.part"))


def test_back_up_while_another_connection_writes_gives_whole_snapshots(tmp_path: Path) -> None:
    store = Store(tmp_path / "bot.db")
    writer = Store(tmp_path / "bot.db")  # another process's connection, writing all along
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            writer.faq.add(f"问题 {n}", "答案 " * 50)

    thread = threading.Thread(target=write)
    thread.start()
    try:
        copies = [
            back_up(store, tmp_path / "backups", keep=10, now=START + timedelta(minutes=i))
            for i in range(6)
        ]
    finally:
        stop.set()
        thread.join()
    counts = []
    for path in copies:
        ids = faq_ids(path)
        assert ids == list(range(1, len(ids) + 1))  # a prefix: every committed row, no torn one
        counts.append(len(ids))
    assert counts == sorted(counts) and counts[-1] > counts[0]


def test_first_backup_comes_an_interval_after_the_newest_one(tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    every = 6 * 3600.0
    assert first_delay(folder, every) == 60.0  # none yet: soon after start
    assert first_delay(folder, 10.0) == 10.0
    folder.mkdir()
    newest = folder / "contest-bot-20240601-090000-000.db"
    newest.write_bytes(b"")
    now = newest.stat().st_mtime
    assert first_delay(folder, every, now=now + 3600) == pytest.approx(5 * 3600)
    assert first_delay(folder, every, now=now + 7 * 3600) == 60.0  # overdue: soon


@pytest.mark.e2e
async def test_scheduled_backups_run_every_interval_and_keep_the_newest(tmp_path: Path) -> None:
    world = await start_world(tmp_path, backup_every_hours=0.25 / 3600, backup_keep=2)
    try:
        world.store.faq.add("决赛在哪里？", "武汉。")
        metrics = metrics_of(world.app)
        assert await poll_until(lambda: backup_count(metrics.render().decode(), "ok") >= 4)
        (reply,) = await world.say("/start")  # the bot answers all along
        assert "答疑助手" in reply.text
    finally:
        await stop_world(world)
    copies = backups_in(tmp_path / "backups")  # BACKUP_DIR unset: beside the database
    assert len(copies) == 2
    assert all(faq_ids(path) == [1] for path in copies)
    assert backup_count(metrics.render().decode(), "failed") == 0
    assert float(metrics.last_backup._value.get()) > 0


@pytest.mark.e2e
async def test_a_failing_backup_is_counted_and_the_bot_goes_on(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where BACKUP_DIR should be")
    world = await start_world(tmp_path, backup_every_hours=0.25 / 3600, backup_dir=blocked)
    try:
        metrics = metrics_of(world.app)
        assert await poll_until(lambda: backup_count(metrics.render().decode(), "failed") >= 2)
        (reply,) = await world.say("/start")
        assert "答疑助手" in reply.text
        assert world.app.running
    finally:
        await stop_world(world)
    assert backup_count(metrics.render().decode(), "ok") == 0


@pytest.mark.e2e
async def test_no_backups_when_the_interval_is_zero(tmp_path: Path) -> None:
    world = await start_world(tmp_path, backup_every_hours=0)
    try:
        assert world.app.job_queue is not None
        assert world.app.job_queue.get_jobs_by_name("backup") == ()
    finally:
        await stop_world(world)


# --- restore -------------------------------------------------------------------------------------


def test_restore_puts_a_backup_back_and_keeps_the_database_it_replaces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    live = tmp_path / "data" / "bot.db"
    monkeypatch.setenv("CONTEST_BOT_DB", str(live))
    store = Store(live)
    store.faq.add("决赛在哪里？", "武汉。")
    (copy,) = [back_up(store, tmp_path / "backups", keep=8)]
    store.faq.add("written after the backup", "lost by the restore, kept aside")
    store.close()  # the bot is stopped

    assert cli(["restore", str(copy)]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"restored {copy} to {live}; the previous database is kept as ")
    assert cli(["export", "faq"]) == 0
    assert [row["question"] for row in json.loads(capsys.readouterr().out)] == ["决赛在哪里？"]
    (aside,) = [p for p in live.parent.iterdir() if p.name.startswith("bot.db.before-restore-")
                and not p.name.endswith(("-wal", "-shm"))]  # fmt: skip
    assert len(faq_ids(aside, journal="wal")) == 2  # the live database, with its WAL beside it
    assert not (live.parent / "bot.db.restore-part").exists()


def test_restore_refuses_a_file_that_is_not_a_sound_backup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    live = tmp_path / "bot.db"
    monkeypatch.setenv("CONTEST_BOT_DB", str(live))
    Store(live).close()
    before = live.read_bytes()
    bogus = tmp_path / "notes.db"
    bogus.write_bytes(os.urandom(4096))
    assert cli(["restore", str(bogus)]) == 1
    assert "is not a contest-bot backup" in capsys.readouterr().err
    assert live.read_bytes() == before


def test_restore_takes_a_backup_from_before_sqlite_utils_migrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    live = tmp_path / "bot.db"
    monkeypatch.setenv("CONTEST_BOT_DB", str(live))
    Store(live).close()
    old = tmp_path / "old-backup.db"  # made by a release with the store's own migration runner
    conn = sqlite3.connect(old)
    conn.executescript((Path(__file__).parent / "data/store/legacy.sql").read_text("utf-8"))
    conn.close()

    assert cli(["restore", str(old)]) == 0
    capsys.readouterr()
    assert cli(["export", "faq"]) == 0  # opens the store, which carries the database over
    assert [row["question"] for row in json.loads(capsys.readouterr().out)] == ["决赛在哪里举行？"]


def test_restore_refuses_a_database_that_is_not_the_bots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONTEST_BOT_DB", str(tmp_path / "bot.db"))
    other = tmp_path / "notes.db"
    sqlite3.connect(other).execute("create table notes (text)").connection.close()
    assert cli(["restore", str(other)]) == 1
    assert "has no record of migrations" in capsys.readouterr().err
