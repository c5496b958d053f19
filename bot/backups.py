"""Automatic backups: a JobQueue job copies the live database every BACKUP_EVERY_HOURS.

Each copy is taken with SQLite's online backup API from a connection of its own, in a worker
thread, so neither the event loop nor the store's lock waits for it; it is checked with
integrity_check before it gets its name (knowledge/store/exports.py). The newest BACKUP_KEEP
copies in BACKUP_DIR are kept. A failed backup is logged and counted in /metrics
(contest_bot_backups_total{result="failed"}) and never stops the bot; the next one is tried at
the next interval. `contest-bot restore FILE` puts a copy back (bot/cli.py).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.metrics import metrics_of
from bot.services import App, Context
from knowledge.store import Store

log = logging.getLogger(__name__)

JOB_NAME = "backup"
PREFIX = "contest-bot-"
SUFFIX = ".db"
FIRST_WITHIN = 60.0  # seconds after start for the first backup, when none is recent


def backup_name(now: datetime) -> str:
    """contest-bot-20240601-090000-123.db: names sort by time (UTC)."""
    return f"{PREFIX}{now:%Y%m%d-%H%M%S}-{now.microsecond // 1000:03d}{SUFFIX}"


def backups_in(folder: Path) -> list[Path]:
    """The automatic backups in a folder, oldest first; other files are not ours to touch."""
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.iterdir() if p.name.startswith(PREFIX) and p.name.endswith(SUFFIX)
    )


def back_up(store: Store, folder: Path, keep: int, now: datetime | None = None) -> Path:
    """Write one checked backup into folder, then delete all but the newest `keep`. Blocking:
    run it in a thread."""
    folder.mkdir(parents=True, exist_ok=True)
    path = store.backup(folder / backup_name(now or datetime.now(UTC)))
    for old in backups_in(folder)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def first_delay(folder: Path, every: float, now: float | None = None) -> float:
    """Seconds until the first backup: an interval after the newest one already there (a
    restart does not reset the clock), and soon after start when there is none or it is old."""
    existing = backups_in(folder)
    now = time.time() if now is None else now
    age = now - existing[-1].stat().st_mtime if existing else every
    return min(every, FIRST_WITHIN) if age >= every else every - age


async def backup_job(context: Context) -> None:
    """One scheduled backup; whatever goes wrong is logged and counted, never raised."""
    app = context.application
    svc = app.bot_data
    metrics = metrics_of(app)
    folder = svc.settings.backups
    try:
        path = await asyncio.to_thread(back_up, svc.store, folder, svc.settings.backup_keep)
    except (OSError, sqlite3.Error) as exc:
        metrics.backups.labels("failed").inc()
        log.error("automatic backup into %s failed: %s (the bot goes on)", folder, exc)
        return
    metrics.backups.labels("ok").inc()
    metrics.last_backup.set(time.time())
    log.info("backed up to %s", path)


def schedule_backups(app: App) -> bool:
    """Add the repeating backup job when BACKUP_EVERY_HOURS is above 0 and the database is a
    file; True when scheduled. Call once the application (and its JobQueue) started."""
    svc = app.bot_data
    settings = svc.settings
    if settings.backup_every_hours <= 0 or str(settings.db_path) == ":memory:":
        return False
    if app.job_queue is None:  # PTB without its job-queue extra
        log.warning("BACKUP_EVERY_HOURS is set, but PTB's JobQueue is not installed")
        return False
    every = settings.backup_every_hours * 3600
    app.job_queue.run_repeating(
        backup_job, interval=every, first=first_delay(settings.backups, every), name=JOB_NAME
    )
    return True
