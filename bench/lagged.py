"""`contest-bot` with its event loop probed: a timer that should fire every 10 ms, and how late it
fired each time (bench/lag.py's LagProbe), written to $LAG_FILE (one lag in seconds a line) when
the bot stops. `python -m bench.soak --lag` runs the bot this way."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from bench.lag import LagProbe

FILE_VARIABLE = "LAG_FILE"


def run(argv: list[str]) -> int:
    """The contest-bot command line, each asyncio.run of it with a LagProbe alongside."""
    target = Path(os.environ[FILE_VARIABLE])
    original = asyncio.run

    def probed(main: Coroutine[Any, Any, Any], **options: Any) -> Any:
        probe = LagProbe()

        async def with_probe() -> Any:
            async with probe.running():
                return await main

        try:
            return original(with_probe(), **options)
        finally:
            target.write_text("".join(f"{lag:.6f}\n" for lag in probe.lags))

    asyncio.run = probed  # type: ignore[assignment]
    from bot.cli import main

    return main(argv)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
