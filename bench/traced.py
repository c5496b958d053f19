"""Where the bot's memory goes: `contest-bot` under tracemalloc, and a comparison of snapshots.

    python -m bench.traced run                 # the bot, dumping a snapshot every TRACE_EVERY s
    python -m bench.traced compare A.bin B.bin # what grew from A to B, by allocation site

`python -m bench.soak --tracemalloc` runs the bot this way and compares the snapshot taken after
warm-up with the last one. Tracing costs the bot about half its speed; use it to find a leak,
not to measure.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path

FRAMES = 25
DIR_VARIABLE = "TRACE_DIR"
EVERY_VARIABLE = "TRACE_EVERY"
# Where the code of interest lives: the project, and the libraries it calls into.
IGNORED = ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>", "<unknown>")


def _dump_every(folder: Path, every: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    while True:
        time.sleep(every)
        n += 1
        snapshot = tracemalloc.take_snapshot()
        partial = folder / f"snap-{n:03d}.bin.part"
        snapshot.dump(str(partial))
        partial.rename(folder / f"snap-{n:03d}.bin")


def run(argv: list[str]) -> int:
    """The contest-bot command line, traced; snapshots go to $TRACE_DIR every $TRACE_EVERY s."""
    tracemalloc.start(FRAMES)
    folder = Path(os.environ[DIR_VARIABLE])
    every = float(os.environ.get(EVERY_VARIABLE, "60"))
    threading.Thread(target=_dump_every, args=(folder, every), daemon=True).start()
    from bot.cli import main

    return main(argv)


def _filtered(snapshot: tracemalloc.Snapshot) -> tracemalloc.Snapshot:
    return snapshot.filter_traces(
        [tracemalloc.Filter(False, pattern) for pattern in (*IGNORED, tracemalloc.__file__)]
    )


def compare(before: Path, after: Path, top: int = 15, frames: int = 8) -> list[str]:
    """What grew between two snapshots: by line, then the deepest stacks of the largest."""
    old = _filtered(tracemalloc.Snapshot.load(str(before)))
    new = _filtered(tracemalloc.Snapshot.load(str(after)))
    total_old = sum(s.size for s in old.statistics("filename"))
    total_new = sum(s.size for s in new.statistics("filename"))
    lines = [
        f"traced memory {total_old / 2**20:.1f} MiB → {total_new / 2**20:.1f} MiB "
        f"({(total_new - total_old) / 2**20:+.2f} MiB)",
        f"top {top} allocation sites by growth (size, count):",
    ]
    for stat in new.compare_to(old, "lineno")[:top]:
        frame = stat.traceback[0]
        lines.append(
            f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+8d}  "
            f"{_short(frame.filename)}:{frame.lineno}"
        )
    lines.append("the largest, with their callers (innermost first):")
    for stat in new.compare_to(old, "traceback")[:5]:
        lines.append(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+8d}")
        for frame in list(stat.traceback)[-1 : -frames - 1 : -1]:
            lines.append(f"      {_short(frame.filename)}:{frame.lineno}")
    return lines


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/work/", "lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def main(argv: list[str]) -> int:
    if argv[:1] == ["compare"] and len(argv) == 3:
        print("\n".join(compare(Path(argv[1]), Path(argv[2]))))
        return 0
    return run(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
