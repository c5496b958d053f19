"""`contest-bot` with its event loop probed: a timer that should fire every 10 ms, and how late it
fired each time (bench/lag.py's LagProbe). `python -m bench.soak --lag` runs the bot this way.

When the bot stops, $LAG_FILE gets a line per firing — its time (time.monotonic(), the same clock
in every process) and its lag in seconds — and $LAG_FILE.why what explains the large ones: the
garbage collector's pauses by generation, and the callbacks that held the loop longest, each
with the CPU time it used (a callback that took 150 ms and used 1 ms of CPU was not running: the
machine or another thread holding the GIL kept it waiting).
"""

from __future__ import annotations

import asyncio
import asyncio.events
import gc
import os
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from bench.lag import LagProbe

FILE_VARIABLE = "LAG_FILE"
SLOW = 0.020  # seconds a callback may hold the loop before it is listed


class Why:
    """Garbage-collector pauses and slow callbacks, recorded while the bot runs."""

    def __init__(self) -> None:
        self.pauses: list[tuple[float, int, float]] = []  # (when, generation, seconds)
        self.slow: list[tuple[float, float, float, str]] = []  # (when, wall, cpu, callback)
        self._started = 0.0

    def install(self) -> None:
        gc.callbacks.append(self._gc)
        run = asyncio.events.Handle._run
        why = self

        def timed(handle: asyncio.events.Handle) -> None:
            where = _resumes_at(handle)
            wall, cpu = time.perf_counter(), time.thread_time()
            run(handle)
            took = time.perf_counter() - wall
            if took > SLOW:
                used = time.thread_time() - cpu
                why.slow.append((time.monotonic(), took, used, where))

        asyncio.events.Handle._run = timed  # type: ignore[method-assign]

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            took = time.perf_counter() - self._started
            self.pauses.append((time.monotonic(), info["generation"], took))

    def lines(self) -> list[str]:
        return [f"gc {t:.6f} {generation} {took:.6f}" for t, generation, took in self.pauses] + [
            f"slow {t:.6f} {wall:.6f} {cpu:.6f} {name}" for t, wall, cpu, name in self.slow
        ]


def _resumes_at(handle: asyncio.events.Handle) -> str:
    """Where the callback's code starts: in a task, the two innermost coroutines outside
    asyncio itself (the one that resumes, and its caller, which runs on when it returns)."""
    callback = getattr(handle, "_callback", None)
    task = getattr(callback, "__self__", None)
    if not isinstance(task, asyncio.Task):
        # Its name only: repr() of some callbacks' objects is not safe to call here (aiohttp's).
        function = getattr(callback, "func", callback)  # a functools.partial's
        return str(getattr(function, "__qualname__", type(function).__name__))
    coro: Any = task.get_coro()
    places = [task.get_name()]
    while coro is not None and getattr(coro, "cr_frame", None) is not None:
        code, line = coro.cr_frame.f_code, coro.cr_frame.f_lineno
        if Path(code.co_filename).parent.name != "asyncio":
            places.append(f"{code.co_qualname} ({Path(code.co_filename).name}:{line})")
        coro = getattr(coro, "cr_await", None)
    return " → ".join(places[-2:])


def why_report(path: Path, since: float) -> list[str]:
    """What $LAG_FILE.why recorded from `since` (time.monotonic()) on, summed up."""
    pauses: dict[int, list[float]] = {}
    slow: list[tuple[float, float, str]] = []
    for line in path.read_text().splitlines():
        kind, when, rest = line.split(" ", 2)
        if float(when) < since:
            continue
        if kind == "gc":
            generation, took = rest.split(" ")
            pauses.setdefault(int(generation), []).append(float(took))
        else:
            wall, cpu, name = rest.split(" ", 2)
            slow.append((float(wall), float(cpu), name))
    lines = [
        f"gc generation {generation}: {len(p)} pauses, {sum(p) * 1000:.0f} ms in all, "
        f"longest {max(p) * 1000:.1f} ms"
        for generation, p in sorted(pauses.items())
    ]
    slow.sort(reverse=True)
    waiting = sum(1 for wall, cpu, _ in slow if cpu < wall / 4)
    lines.append(f"{len(slow)} callbacks held the loop over {SLOW * 1000:.0f} ms; {waiting} of "
                 f"them used less than a quarter of that as CPU (kept waiting)")  # fmt: skip
    busiest = sorted(slow, key=lambda s: -s[1])[:3]
    for label, chosen in (("longest", slow[:3]), ("most CPU", busiest)):
        lines += [
            f"  {label}: {w * 1000:.1f} ms, CPU {c * 1000:.1f} ms: {n}" for w, c, n in chosen
        ]
    return lines


def run(argv: list[str]) -> int:
    """The contest-bot command line, each asyncio.run of it with a LagProbe alongside."""
    target = Path(os.environ[FILE_VARIABLE])
    why = Why()
    why.install()
    original = asyncio.run

    def probed(main: Coroutine[Any, Any, Any], **options: Any) -> Any:
        probe = LagProbe()

        async def with_probe() -> Any:
            async with probe.running():
                return await main

        try:
            return original(with_probe(), **options)
        finally:
            lines = (
                f"{t:.6f} {lag:.6f}\n" for t, lag in zip(probe.times, probe.lags, strict=True)
            )
            target.write_text("".join(lines))
            why_lines = "".join(f"{line}\n" for line in why.lines())
            target.with_name(target.name + ".why").write_text(why_lines)

    asyncio.run = probed  # type: ignore[assignment]
    from bot.cli import main

    return main(argv)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
