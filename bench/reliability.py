"""Reliability figures: the scenarios of tests/test_hostile.py, test_faults.py and
test_restarts.py, at the sizes the tests are too quick for.

1. hostile input: 10,000 hypothesis-generated texts sent to the running bot through the strict
   emulator, and 10,000 more straight to the matcher and the renderer, counted by category;
2. faults: 1,000 messages from 10 contestants while 10% of all Bot API calls fail (5xx, hangs
   past the client's timeout, connection resets; before or after the emulator acts, seeded);
3. restarts: 20 sessions of 4 cycles (question, submission, answer, FAQ save, the same question
   again), each with `contest-bot run` killed with SIGKILL 6 times at random steps.

`python -m bench reliability` runs all three; `python -m bench.reliability faults` one of them.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent.parent / "tests"
if str(TESTS) not in sys.path:  # the scenarios live with the tests
    sys.path.insert(0, str(TESTS))

HOSTILE_INPUTS = 10_000
CONCURRENT = 8  # contestants sending hostile text at once
FAULT_MESSAGES = 1_000
FAULT_RATE = 0.10
RESTART_RUNS = 20
RESTART_CYCLES = 4
RESTART_KILLS = 6


def generate(inputs: int, seed: int) -> list[tuple[str, str]]:
    """`inputs` (category, text) pairs from the tests' hypothesis strategy, seeded; only texts a
    Telegram client can send (not blank once Telegram has cleaned them)."""
    from harness import HOSTILE
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hypothesis_seed

    from bot.sandbox.emulator import finalize_text

    texts: list[tuple[str, str]] = []

    @settings(max_examples=inputs * 21 // 20, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @hypothesis_seed(seed)
    @given(HOSTILE)
    def collect(pair: tuple[str, str]) -> None:
        if finalize_text(pair[1], [])[0]:
            texts.append(pair)

    collect()
    return texts[:inputs]


def hostile(inputs: int = HOSTILE_INPUTS, seed: int = 0) -> None:
    """Hostile text to the matcher and renderer, then to the running bot."""
    from conftest import User, start_world, stop_world
    from harness import FinishLine, bot_messages, database_report, refused
    from test_hostile import check_answer

    from knowledge.base import KnowledgeBase
    from knowledge.store import Store

    started = time.monotonic()
    texts = generate(inputs, seed)
    print(f"generated {len(texts)} texts in {time.monotonic() - started:.1f} s")
    kb = KnowledgeBase(Store(":memory:"))
    counts: Counter[str] = Counter()
    problems: list[str] = []
    started = time.monotonic()
    for category, text in texts:
        counts[category] += 1
        try:
            check_answer(kb, text)
        except Exception as exc:  # count, never stop
            problems.append(f"{category} {text[:40]!r}: {exc!r}"[:200])
    took = time.monotonic() - started
    print(f"matcher + renderer: {len(texts)} texts in {took:.1f} s, "
          f"{len(problems)} raised or refused")  # fmt: skip
    print("  by category: " + ", ".join(f"{k} {n}" for k, n in sorted(counts.items())))
    for problem in problems[:10]:
        print("  !", problem)

    async def through_bot(world: Any) -> tuple[Counter[str], int, int, FinishLine]:
        finish = FinishLine(world.app)
        emulator = world.emulator
        sent: Counter[str] = Counter()
        unsendable = no_reply = 0

        async def contestant(k: int) -> None:
            # Eight contestants at once, each with its share, one message after another.
            nonlocal unsendable, no_reply
            user = None
            for i, (category, text) in enumerate(texts[k::CONCURRENT]):
                if i % 250 == 0:  # a new chat now and then keeps each chat short
                    user = emulator.add_user(User(70_000 + 1000 * k + i, f"选手{k}-{i}"))
                assert user is not None
                try:
                    message = await emulator.send_text(user, user.id, text)
                except ValueError:  # blank: no Telegram client sends it
                    unsendable += 1
                    continue
                await finish.wait(int(emulator.updates_log[-1]["update_id"]), timeout=60)
                sent[category] += 1
                command = (
                    bool(message.entities)
                    and message.entities[0]["offset"] == 0
                    and (message.entities[0]["type"] == "bot_command")
                )
                if not command and not bot_messages(emulator, user.id, message.message_id):
                    no_reply += 1

        await asyncio.gather(*(contestant(k) for k in range(CONCURRENT)))
        return sent, unsendable, no_reply, finish

    async def run(path: Path) -> None:
        world = await start_world(path)
        try:
            started = time.monotonic()
            sent, unsendable, no_reply, finish = await through_bot(world)
            took = time.monotonic() - started
            rejected = refused(world.emulator)
            report = database_report(world.settings.db_path)
            calls = Counter(c.method for c in world.emulator.calls)
            print(f"through the bot: {sum(sent.values())} messages in {took:.1f} s "
                  f"({unsendable} blank ones no client can send were skipped)")  # fmt: skip
            print("  by category: " + ", ".join(f"{k} {n}" for k, n in sorted(sent.items())))
            print(f"  Bot API calls {sum(calls.values())} ({calls['sendMessage']} sendMessage); "
                  f"refused by the emulator {len(rejected)}; handler errors "
                  f"{len(finish.errors)}; messages left without a reply {no_reply}")  # fmt: skip
            print(f"  database: integrity {report['integrity']}, questions logged "
                  f"{report['counts']['questions']}")  # fmt: skip
            for call in rejected[:5]:
                print("  ! refused:", call.method, call.description)
            for update_id, error in finish.errors[:5]:
                print("  ! error:", update_id, repr(error)[:160])
        finally:
            await stop_world(world)

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(Path(tmp)))


def faults(messages: int = FAULT_MESSAGES, seed: int = 2024) -> None:
    from test_faults import run_fault_session

    with tempfile.TemporaryDirectory() as tmp:
        report = asyncio.run(
            run_fault_session(Path(tmp), messages, seed=seed, rate=FAULT_RATE, contestants=10)
        )
    print(f"{messages} messages, {FAULT_RATE:.0%} of Bot API calls failing (seed {seed}):")
    for line in report.lines():
        print("  " + line)
    for problem in report.problems()[:10]:
        print("  !", problem)


def restarts(runs: int = RESTART_RUNS, seed: int = 1) -> None:
    from test_restarts import run_restarts

    with tempfile.TemporaryDirectory() as tmp:
        report = asyncio.run(
            run_restarts(Path(tmp), runs, seed=seed, cycles=RESTART_CYCLES, kills=RESTART_KILLS)
        )
    print(f"{runs} sessions of {RESTART_CYCLES} cycles, kill -9 at {RESTART_KILLS} random steps "
          "each:")  # fmt: skip
    for line in report.lines():
        print("  " + line)
    for problem in report.problems()[:10]:
        print("  !", problem)
    for again in report.resent_after_kill[:5]:
        print("  (sent again)", again)


PARTS: dict[str, Any] = {"hostile": hostile, "faults": faults, "restarts": restarts}


def main(argv: list[str] | None = None) -> None:
    # The scenarios provoke failures on purpose; their logs would drown the figures.
    logging.disable(logging.CRITICAL)
    names = argv or list(PARTS)
    for name in names:
        print(f"-- {name}")
        PARTS[name]()


if __name__ == "__main__":
    main(sys.argv[1:])
