"""Run every benchmark, or the ones named: `python -m bench matcher`."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ["matcher", "fuzzy", "load", "broadcast", "reliability", "fairness", "lag"]


def main(argv: list[str]) -> int:
    names = [a for a in argv if not a.startswith("-")] or BENCHMARKS
    for name in names:
        if name not in BENCHMARKS:
            print(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
            return 2
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name}")
        module.main()
        print()
    return 0


sys.exit(main(sys.argv[1:]))
