"""Where the bot's memory goes: `contest-bot` under tracemalloc, and a comparison of snapshots.

    python -m bench.traced run                 # the bot, dumping a snapshot every TRACE_EVERY s
    python -m bench.traced compare A.bin B.bin # what grew from A to B, by allocation site

`python -m bench.soak --tracemalloc` runs the bot this way and compares the snapshot taken after
warm-up with the last one. Tracing costs the bot about half its speed; use it to find a leak,
not to measure.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path

FRAMES = 12
DIR_VARIABLE = "TRACE_DIR"
EVERY_VARIABLE = "TRACE_EVERY"
# Where the code of interest lives: the project, and the libraries it calls into.
IGNORED = ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>", "<unknown>")


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost",
    )]  # fmt: skip


def _mallinfo() -> _Mallinfo2 | None:
    """glibc's view of the C heap: in use (uordblks), free but kept (fordblks), mmapped."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _Mallinfo2
        return libc.mallinfo2()  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _dump_every(folder: Path, every: float, snapshots: bool) -> None:
    """Every `every` seconds: a line of memory figures in stats.tsv, and a snapshot."""
    folder.mkdir(parents=True, exist_ok=True)
    stats = folder / "stats.tsv"
    stats.write_text("seconds\trss_mib\tpython_mib\tc_in_use_mib\tc_free_kept_mib\t"
                     "c_mmapped_mib\tthreads\n")  # fmt: skip
    started = time.monotonic()
    n = 0
    while True:
        time.sleep(every)
        n += 1
        info = _mallinfo()
        python = tracemalloc.get_traced_memory()[0] if snapshots else 0
        row = [time.monotonic() - started, _rss_kib() / 1024, python / 2**20]
        if info is not None:
            row += [info.uordblks / 2**20, info.fordblks / 2**20, info.hblkhd / 2**20]
        with stats.open("a") as out:
            out.write("\t".join(f"{v:.1f}" for v in row) + f"\t{threading.active_count()}\n")
        if snapshots:
            partial = folder / f"snap-{n:03d}.bin.part"
            tracemalloc.take_snapshot().dump(str(partial))
            partial.rename(folder / f"snap-{n:03d}.bin")


def run(argv: list[str]) -> int:
    """The contest-bot command line, traced; snapshots go to $TRACE_DIR every $TRACE_EVERY s
    (TRACE_PYTHON=0: only the memory figures, without tracemalloc's cost)."""
    snapshots = os.environ.get("TRACE_PYTHON", "1") != "0"
    if snapshots:
        tracemalloc.start(FRAMES)
    folder = Path(os.environ[DIR_VARIABLE])
    every = float(os.environ.get(EVERY_VARIABLE, "60"))
    threading.Thread(target=_dump_every, args=(folder, every, snapshots), daemon=True).start()
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
