"""The C heap handed back: fewer malloc arenas and a periodic malloc_trim (bot/memory.py)."""

from __future__ import annotations

import platform

import pytest
from conftest import World

from bot.memory import limit_arenas, trim

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="mallopt and malloc_trim are glibc's")
def test_glibc_takes_the_arena_limit_and_the_trim() -> None:
    assert limit_arenas(8) is True  # this process's threads keep their arenas; 8 is glibc's cap
    assert trim() is True


@pytest.mark.skipif(not GLIBC, reason="mallopt and malloc_trim are glibc's")
async def test_the_running_bot_trims_every_minute(world: World) -> None:
    assert world.app.job_queue is not None
    (job,) = world.app.job_queue.get_jobs_by_name("trim")
    assert job.job.trigger.interval.total_seconds() == 60
