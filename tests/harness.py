"""What the reliability tests and benchmarks share: hostile text, a finish line for each update,
random faults, a database check, and the bot as a separate process that can be killed.

Used by tests/test_hostile.py, tests/test_faults.py, tests/test_restarts.py, bench/reliability.py
and bench/soak.py; the benchmarks run the same scenarios as the tests, only longer.
"""

from __future__ import annotations

import asyncio
import copy
import os
import random
import signal
import sqlite3
import string
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from hypothesis import strategies as st
from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.sandbox import BotApiEmulator, CallRecord, ChatMessage, FaultRule, User

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent

# --- hostile text --------------------------------------------------------------------------------

# Pieces a hostile or careless user types; each category below mixes them with its own alphabet.
_QUESTIONS = ["赛道三赛题4", "3-4", "自动驾驶", "乡村振兴有哪些题", "一等奖奖金是多少", "报名截止",
              "track 3 problem 4", "/start", "@contest_helper_bot", "tk:n:1", "p:3-4"]  # fmt: skip
_HTML = [
    "<b>", "</b>", "<i>", "<a href='javascript:alert(1)'>", "</a>", "<script>", "<br/>",
    "<tg-spoiler>", "<pre><code class='language-x'>", "</code>", "<", ">", "&", "&amp;",
    "&nbsp;", "&#0;", "&#x110000;", "&lt;b&gt;", '"', "'", "<blockquote expandable>",
]  # fmt: skip
_MARKDOWN = ["*", "_", "__", "`", "```", "[x](http://a.b)", "~", "||", ">", "#", "+", "-", "=",
             "|", "{", "}", ".", "!", "\\", "**bold**", "![i](x)"]  # fmt: skip
_SQL = ["'; DROP TABLE tickets;--", "1 OR 1=1", '" OR ""="', "%", "_", "\\", "NULL", "0x00",
        "'); DELETE FROM questions; --", "UNION SELECT * FROM faq", "?", ":id", "$1"]  # fmt: skip
_BIDI = ["\u202e", "\u202d", "\u202a", "\u202b", "\u202c", "\u2066", "\u2067", "\u2068", "\u2069",
         "\u200e", "\u200f", "\u061c", "مرحبا", "שלום", "\u200b", "\u200c", "\u200d", "\u2060",
         "\ufeff", "\u00ad", "\u034f"]  # fmt: skip
_EMOJI = ["😀", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇨🇳", "👍🏽", "❤️", "🧑🏿‍🚀", "\ufe0f", "\u20e3", "1️⃣", "🀄",
          "\U0001f9ff", "©", "™"]  # fmt: skip
_PUNCTUATION = string.punctuation + "，。？！、；：“”‘’（）【】《》…—～·「」『』〈〉﹏＠＃％"
_SCRIPTS = [
    st.characters(min_codepoint=0x41, max_codepoint=0x7A),  # Latin
    st.characters(min_codepoint=0x400, max_codepoint=0x4FF),  # Cyrillic
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),  # CJK
    st.characters(min_codepoint=0x600, max_codepoint=0x6FF),  # Arabic
    st.characters(min_codepoint=0x900, max_codepoint=0x97F),  # Devanagari
    st.characters(min_codepoint=0xE00, max_codepoint=0xE7F),  # Thai
    st.characters(min_codepoint=0xFF01, max_codepoint=0xFF5E),  # full width
    st.characters(min_codepoint=0x3040, max_codepoint=0x30FF),  # kana
]
# Everything Python can hold except lone surrogates, which no JSON update can carry.
_ANY_CHAR = st.characters(exclude_categories=("Cs",))


def _mix(pieces: list[str], alphabet: st.SearchStrategy[str], max_size: int = 30) -> Any:
    """Strings made of the pieces, the alphabet and the catalogue questions, in any order."""
    part = st.one_of(
        st.sampled_from(pieces), st.text(alphabet, max_size=6), st.sampled_from(_QUESTIONS)
    )
    return st.lists(part, min_size=1, max_size=max_size).map("".join)


def _long(unit: Any, sizes: Any) -> Any:
    return st.tuples(unit, sizes).map(lambda pair: pair[0] * pair[1])


# Telegram counts UTF-16 units: 4096 of them is the limit, an emoji is two.
_AT_LIMIT = st.one_of(
    _long(st.sampled_from(["赛", "a", "&", "<", " x", "😀", "\n"]), st.sampled_from([4096, 4097])),
    _long(st.sampled_from(["赛", "😀"]), st.sampled_from([2048, 2049])),
    st.tuples(st.text(_ANY_CHAR, min_size=1, max_size=3), st.integers(4090, 4100)).map(
        lambda pair: (pair[0] * pair[1])[: pair[1]]
    ),
)

CATEGORIES: dict[str, Any] = {
    "any": st.text(_ANY_CHAR, min_size=1, max_size=200),
    "empty": st.text(" \t\n\r\u200b\u200c\u200d\ufeff\u00a0\u3000\u2060", min_size=1, max_size=20),
    "control": st.text(st.characters(categories=("Cc", "Cf", "Zl", "Zp")), min_size=1).map(
        lambda s: s + "赛道三"
    ),
    "bidi": _mix(_BIDI, st.characters(min_codepoint=0x590, max_codepoint=0x6FF)),
    "emoji": _mix(_EMOJI, st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF)),
    "html": _mix(_HTML, st.sampled_from("<>&;/\"'=")),
    "markdown": _mix(_MARKDOWN, st.sampled_from("*_`[]()~>#+-=|{}.!\\")),
    "sql": _mix(_SQL, st.sampled_from("'\";-%_\\")),
    "huge": _long(_mix(_QUESTIONS + _HTML + _EMOJI, _ANY_CHAR, 8), st.integers(100, 600)),
    "at_limit": _AT_LIMIT,
    "punctuation": st.text(st.sampled_from(_PUNCTUATION), min_size=1, max_size=80),
    "scripts": st.text(st.one_of(*_SCRIPTS), min_size=1, max_size=120),
}


def random_hostile(rng: random.Random) -> str:
    """A hostile text from a plain random generator: for the soak, which runs for hours and
    wants no hypothesis machinery. Mostly short; now and then thousands of characters."""
    pieces = _QUESTIONS + _HTML + _MARKDOWN + _SQL + _BIDI + _EMOJI + list(_PUNCTUATION)
    text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 30)))
    if rng.random() < 0.05:
        text = (text * 5000)[: rng.choice([4095, 4096, 4097, 9000])]
    return text


# A category name with one of its strings, so that counts can be kept per category.
HOSTILE = st.one_of(*(st.tuples(st.just(name), s) for name, s in CATEGORIES.items()))
hostile_text = HOSTILE.map(lambda pair: pair[1])


# --- running the bot in-process: a finish line for each update -----------------------------------


class FinishLine:
    """Which updates the Application has finished with, errors included.

    Registered in a group after every other, so it runs once the handlers (and the error
    handler, when one failed) are done with an update."""

    GROUP = 1_000_000

    def __init__(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        self.done: set[int] = set()
        self.errors: list[tuple[int | None, BaseException]] = []
        self._waiters: dict[int, asyncio.Event] = {}
        app.add_handler(TypeHandler(Update, self._finished), group=self.GROUP)
        app.add_error_handler(self._failed)

    async def _finished(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.done.add(update.update_id)
        if (event := self._waiters.pop(update.update_id, None)) is not None:
            event.set()

    async def _failed(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        assert context.error is not None
        self.errors.append((update_id, context.error))

    async def wait(self, update_id: int, timeout: float = 20.0) -> None:  # noqa: ASYNC109
        """Until the Application finished with this update."""
        if update_id in self.done:
            return
        event = self._waiters.setdefault(update_id, asyncio.Event())
        await asyncio.wait_for(event.wait(), timeout)


def last_update_id(emulator: BotApiEmulator) -> int:
    """The id of the update the user's last action created."""
    return int(emulator.updates_log[-1]["update_id"])


def bot_messages(emulator: BotApiEmulator, chat_id: int, after: int = 0) -> list[ChatMessage]:
    """The bot's messages in a chat after message id `after`, as they stand now.

    Reads the emulator's chat without copying it whole (chat_messages copies every message,
    which makes a long session quadratic); copies only what it returns."""
    chat = emulator.chats.get(chat_id)
    if chat is None:
        return []
    return [
        copy.deepcopy(m)
        for m in chat.messages.values()
        if m.message_id > after and m.from_bot and not m.deleted
    ]


TEXT_METHODS = ("sendmessage", "editmessagetext", "answerinlinequery", "answercallbackquery")


def refused(emulator: BotApiEmulator, since: int = 0) -> list[CallRecord]:
    """Calls carrying text the emulator refused (not injected faults): bad HTML, too long, …"""
    return [
        c
        for c in emulator.calls[since:]
        if c.method.lower() in TEXT_METHODS
        and c.ok is False
        and c.fault is None
        and c.error_code == 400
        and "not modified" not in (c.description or "")
        and "query is too old" not in (c.description or "")
    ]


# --- faults -------------------------------------------------------------------------------

FAULT_KINDS = ("error_500", "bad_gateway", "hang", "reset")


def inject_random_faults(
    emulator: BotApiEmulator,
    rate: float,
    *,
    kinds: tuple[str, ...] = FAULT_KINDS,
    hang: float = 1.5,
    methods: list[str] | None = None,
) -> list[FaultRule]:
    """About `rate` of all calls fail, spread evenly over the kinds, before and after the
    emulator acts on the call (the emulator's generator is seeded: the same run each time)."""
    rules = len(kinds) * 2
    each = 1 - (1 - rate) ** (1 / rules)
    return [
        emulator.inject_fault(
            kind,  # type: ignore[arg-type]
            probability=each,
            when=when,  # type: ignore[arg-type]
            delay=hang,
            methods=methods,
        )
        for kind in kinds
        for when in ("before", "after")
    ]


async def start_faulty_world(
    tmp_path: Path,
    *,
    seed: int = 0,
    timeout: float | None = None,  # noqa: ASYNC109
    **overrides: Any,
) -> Any:
    """conftest.start_world with the emulator's fault generator seeded, and optionally shorter
    client timeouts than PTB's 5 s, so an injected hang becomes a client timeout quickly."""
    from conftest import polling_world, settings_for, start_emulator
    from telegram.request import HTTPXRequest

    def shorter_timeouts(app: Any) -> None:
        # The test's stand-in for a slow network: the same client, shorter patience. Bot keeps
        # its two requests (getUpdates, everything else) in _request; set before initialize.
        assert timeout is not None
        app.bot._request = (
            HTTPXRequest(connection_pool_size=1, read_timeout=timeout + 1),
            HTTPXRequest(read_timeout=timeout, write_timeout=timeout, connect_timeout=timeout),
        )

    emulator = await start_emulator(seed=seed)
    settings = settings_for(emulator, tmp_path, **overrides)
    return await polling_world(
        emulator, settings, shorter_timeouts if timeout is not None else None
    )


# --- the database -------------------------------------------------------------------------


def database_report(path: Path) -> dict[str, Any]:
    """PRAGMA integrity_check and the row count of every table, from a connection of its own."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        check = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        tables = [
            row[0]
            for row in conn.execute("select name from sqlite_master where type = 'table'")
            if not row[0].startswith("sqlite_")
        ]
        counts = {t: conn.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()
    return {"integrity": check, "counts": counts}


def snapshot(path: Path, tables: tuple[str, ...]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables, to compare before and after."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        present = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
        return {
            t: sorted(conn.execute(f'select * from "{t}"').fetchall(), key=repr)
            for t in tables
            if t in present
        }
    finally:
        conn.close()


@contextmanager
def write_lock(path: Path, seconds: float) -> Iterator[None]:
    """Another writer's transaction on the database for `seconds`, from a thread of its own (the
    bot's SQLite calls block its event loop while they wait, so the holder must not share it).
    The block runs once the lock is held."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, timeout=10, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("insert into meta (key, value) values ('lock', 'held')")
            held.set()
            release.wait(seconds)
            conn.execute("ROLLBACK")
        finally:
            conn.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert held.wait(10), "could not take the write lock"
    try:
        yield
    finally:
        release.wait(seconds)
        release.set()
        thread.join()


# --- the bot as a process of its own ------------------------------------------------------


@dataclass
class BotProcess:
    """`contest-bot run` against an emulator, started and killed at will."""

    env: dict[str, str]
    log_path: Path
    module: str = "bot"  # what `python -m` runs: bench.traced runs it under tracemalloc
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0
    exit_codes: list[int] = field(default_factory=list)

    @classmethod
    def for_emulator(
        cls, emulator: BotApiEmulator, db_path: Path, log_path: Path, **extra: str
    ) -> BotProcess:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": emulator.token,
            "TELEGRAM_API_BASE_URL": emulator.base_url,
            "CONTEST_BOT_DB": str(db_path),
            "LOG_LEVEL": "INFO",
            "PORT": "0",
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
        env.pop("WEBHOOK_URL", None)
        return cls(env, log_path)

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None
        log = self.log_path.open("ab")
        log.write(f"--- start {self.starts + 1}\n".encode())
        log.flush()
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module, "run"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.starts += 1

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def rss_kib(self) -> int | None:
        """Resident memory of the bot process, from /proc (Linux)."""
        if self.process is None:
            return None
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return None

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.kills += 1

    async def stop(self, timeout: float = 15.0) -> int:  # noqa: ASYNC109
        """SIGTERM and wait: the bot finishes what is in flight and exits."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # a child process has no event to wait on
        if self.process.poll() is None:
            self.kill()
        code = self.process.returncode
        self.exit_codes.append(code)
        return code


async def polling(emulator: BotApiEmulator, since: int, timeout: float = 60.0) -> None:  # noqa: ASYNC109
    """Until a bot process that started after call number `since` polls for updates."""

    def ready() -> bool | None:
        return any(c.method.lower() == "getupdates" for c in emulator.calls[since:]) or None

    await emulator.wait_for(ready, timeout)


async def eventually(
    predicate: Callable[[], T | bool | None],
    emulator: BotApiEmulator,
    timeout: float = 20.0,  # noqa: ASYNC109
) -> T | None:
    """predicate()'s value once truthy, or None when the time runs out (the caller reports it)."""
    try:
        return await emulator.wait_for(predicate, timeout)  # type: ignore[arg-type]
    except TimeoutError:
        return None


async def poll_until(
    predicate: Callable[[], T | bool | None],
    timeout: float = 20.0,  # noqa: ASYNC109
    every: float = 0.02,
) -> T | None:
    """predicate()'s value once truthy, checked every `every` seconds (for what the emulator is
    not told of, such as the bot's database), or None when the time runs out."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value  # type: ignore[return-value]
        if loop.time() >= deadline:
            return None
        await asyncio.sleep(every)


__all__ = [
    "CATEGORIES",
    "HOSTILE",
    "BotProcess",
    "FinishLine",
    "User",
    "bot_messages",
    "database_report",
    "eventually",
    "hostile_text",
    "inject_random_faults",
    "last_update_id",
    "polling",
    "refused",
    "snapshot",
    "write_lock",
]


class CountingEmbedder:
    """A stand-in for the sentence model that records what it was asked to embed."""

    name = "counting"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def embed(self, texts: Sequence[str]) -> Any:
        import numpy as np

        self.asked += texts
        return np.array([[len(t), 1.0, 0.5] for t in texts], dtype=np.float32)


async def serve_locally(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve app on a free local port: its runner (cleanup() it after) and base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"
