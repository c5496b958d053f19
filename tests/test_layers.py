"""The layers hold: knowledge/ knows nothing of Telegram or the bot, and production code never
loads the Bot API emulator (bot/sandbox/), which is test and sandbox tooling. And the house
holds: handlers are registered in one place, and the Application's types are spelled once.

Read from the source with ast, so a new import anywhere — at module level or inside a function —
is caught the day it is written.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "knowledge")
# The one place production code may load the emulator: `contest-bot run` without a token starts
# the sandbox on purpose, and imports it only on that path.
SANDBOX_ENTRY = {("bot/main.py", "run_sandbox")}


@dataclass(frozen=True)
class Import:
    path: str  # relative to the project root
    line: int
    module: str  # the module imported, absolute
    function: str | None  # the function the import sits in, or None at module level


def _absolute(node: ast.ImportFrom, path: str) -> str:
    if not node.level:
        return node.module or ""
    package = Path(path).with_suffix("").parts[: -node.level]
    return ".".join([*package, *([node.module] if node.module else [])])


def imports_in(source: str, path: str) -> list[Import]:
    """Every import in a module's source, with the function it is in (the outermost one)."""
    found: list[Import] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend(Import(path, child.lineno, a.name, function) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                module = _absolute(child, path)
                # `from bot import sandbox` imports bot.sandbox too.
                found.extend(
                    Import(path, child.lineno, name, function)
                    for name in [module, *(f"{module}.{a.name}" for a in child.names)]
                )
            is_function = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            visit(child, function or (child.name if is_function else None))

    visit(ast.parse(source, path), None)
    return found


@cache
def production_imports() -> tuple[Import, ...]:
    files = [f for pkg in PACKAGES for f in sorted((ROOT / pkg).rglob("*.py"))]
    return tuple(
        i
        for f in files
        for i in imports_in(f.read_text(encoding="utf-8"), f.relative_to(ROOT).as_posix())
    )


def _is(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _where(found: list[Import]) -> list[str]:
    return sorted({f"{i.path}:{i.line} imports {i.module}" for i in found})


def test_knowledge_imports_neither_telegram_nor_the_bot() -> None:
    found = [
        i
        for i in production_imports()
        if i.path.startswith("knowledge/") and _is(i.module, "telegram", "bot", "handlers")
    ]
    assert _where(found) == []


def test_handlers_never_import_the_emulator() -> None:
    found = [
        i
        for i in production_imports()
        if i.path.startswith("handlers/") and _is(i.module, "bot.sandbox")
    ]
    assert _where(found) == []


def test_production_loads_the_emulator_only_to_start_the_sandbox() -> None:
    found = [
        i
        for i in production_imports()
        if not i.path.startswith("bot/sandbox/")
        and _is(i.module, "bot.sandbox")
        and (i.path, i.function) not in SANDBOX_ENTRY
    ]
    assert _where(found) == []
    # The sandbox entry point exists, so the allowance above is not stale.
    entry = [i for i in production_imports() if (i.path, i.function) in SANDBOX_ENTRY]
    assert any(_is(i.module, "bot.sandbox") for i in entry)


@dataclass(frozen=True)
class Call:
    path: str
    line: int
    name: str  # the called attribute or name: add_handler, register, ...
    receiver: str | None  # the name it is called on (`tickets` in tickets.register), if a name
    function: str | None  # the outermost function the call sits in


def calls_in(source: str, path: str) -> list[Call]:
    """Every call of a name or an attribute in a module's source, with the function it is in."""
    found: list[Call] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Call):
                func = child.func
                if isinstance(func, ast.Attribute):
                    receiver = func.value.id if isinstance(func.value, ast.Name) else None
                    found.append(Call(path, child.lineno, func.attr, receiver, function))
                elif isinstance(func, ast.Name):
                    found.append(Call(path, child.lineno, func.id, None, function))
            is_function = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            visit(child, function or (child.name if is_function else None))

    visit(ast.parse(source, path), None)
    return found


@cache
def production_sources() -> tuple[tuple[str, str], ...]:
    files = [f for pkg in PACKAGES for f in sorted((ROOT / pkg).rglob("*.py"))]
    return tuple(
        (f.relative_to(ROOT).as_posix(), f.read_text(encoding="utf-8"))
        for f in files
        if not f.relative_to(ROOT).as_posix().startswith("bot/sandbox/")
    )


def production_calls() -> list[Call]:
    return [c for path, source in production_sources() for c in calls_in(source, path)]


def test_handlers_are_added_only_by_the_register_functions_of_handlers() -> None:
    """Every add_handler is in a handlers module's register(): no handler is added at import,
    from bot/, or from inside another handler."""
    adds = {"add_handler", "add_handlers", "add_error_handler"}
    found = [
        f"{c.path}:{c.line} {c.name} in {c.function}"
        for c in production_calls()
        if c.name in adds
        and not (c.path.startswith("handlers/") and (c.function or "").startswith("register"))
    ]
    assert found == []
    assert any(c.name == "add_handler" for c in production_calls())  # the check sees them


def test_handler_modules_are_registered_only_in_handlers_init() -> None:
    """One ordered registration table: handlers/__init__.py calls each module's register; the
    application (bot/app.py) calls only that table."""
    registers = [c for c in production_calls() if c.name.startswith("register") and c.receiver]
    found = [
        f"{c.path}:{c.line} {c.receiver}.{c.name}"
        for c in registers
        if c.path != "handlers/__init__.py"
        and (c.path, c.receiver, c.name) != ("bot/app.py", "handlers", "register")
    ]
    assert found == []
    table = {c.receiver for c in registers if c.path == "handlers/__init__.py"}
    modules = {
        Path(path).parts[1].removesuffix(".py")
        for path, source in production_sources()
        if path.startswith("handlers/") and "\ndef register(" in source
    } - {"__init__"}
    assert modules <= table, "a handlers module with register() that the table never calls"


def test_the_application_types_are_spelled_once() -> None:
    """Handlers take `Context` and `App` (bot/services.py), whose bot_data is the Services: no
    `Application[...]` or `ContextTypes.DEFAULT_TYPE` elsewhere, no bot_data looked up by key."""
    found = []
    for path, source in production_sources():
        for node in ast.walk(ast.parse(source, path)):
            if isinstance(node, ast.Subscript) and path != "bot/services.py":
                base = node.value
                name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
                if name in ("Application", "bot_data"):
                    found.append(f"{path}:{node.lineno} {name}[...]")
            if isinstance(node, ast.Attribute) and node.attr == "DEFAULT_TYPE":
                found.append(f"{path}:{node.lineno} ContextTypes.DEFAULT_TYPE")
    assert found == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import telegram.ext\n", ["telegram.ext"]),
        ("from bot import sandbox\n", ["bot", "bot.sandbox"]),
        ("def f():\n    from ..bot.sandbox import User\n", ["bot.sandbox", "bot.sandbox.User"]),
        ("from . import render\nimport re\n", []),
    ],
)
def test_import_reader_sees_every_form(source: str, expected: list[str]) -> None:
    """The checks above are only as good as this reader: plain, from, relative, nested."""
    found = imports_in(source, "knowledge/x.py")
    assert [i.module for i in found if _is(i.module, "telegram", "bot", "handlers")] == expected


@pytest.mark.slow
def test_starting_the_bot_does_not_load_the_emulator() -> None:
    """What the imports above promise, checked where it matters: a fresh interpreter that loads
    the command line, the application and every handler has no bot.sandbox module."""
    code = (
        "import sys, bot.cli, bot.main, bot.app, handlers\n"
        "print(sorted(m for m in sys.modules if m.startswith('bot.sandbox')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
