"""A non-editable install works on its own: built from what the Dockerfile copies, installed into
a folder of its own and run from outside the source tree, `contest-bot run` (the sandbox), `ask`
and `eval` find the catalogue, the models and the development set as package data.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
COPY = re.compile(r"^COPY\s+(.+?)\s+\S+\s*$", re.MULTILINE)
SANDBOX_URL = re.compile(r"Sandbox: open (http://127\.0\.0\.1:\d+)")
CONTESTANT = 1001  # the sandbox page's contestant (bot/sandbox/emulator/state.py)


@dataclass(frozen=True)
class Installed:
    site: Path  # the packages, as `pip install --target` left them
    cwd: Path  # a folder outside the source tree, without bot/ or seeds/ in it

    def env(self, **extra: str) -> dict[str, str]:
        # The venv's own site-packages (the dependencies, and the editable install of the
        # main checkout) stay on the path after PYTHONPATH, so `site` wins.
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONTEST_BOT_")}
        return {
            **env,
            "PYTHONPATH": str(self.site),
            "CONTEST_BOT_DB": str(self.cwd / "data" / "bot.db"),
            **extra,
        }

    def command(self, *args: str) -> list[str]:
        return [sys.executable, str(self.site / "bin" / "contest-bot"), *args]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=self.env(),
            cwd=self.cwd,
            timeout=120,
            check=False,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """The project as the Dockerfile installs it: only the files it copies, `pip install .`."""
    base = tmp_path_factory.mktemp("install")
    source = base / "source"
    source.mkdir()
    for line in COPY.findall((ROOT / "Dockerfile").read_text(encoding="utf-8")):
        for name in line.split():
            origin = ROOT / name
            if origin.is_dir():
                ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
                shutil.copytree(origin, source / name, ignore=ignore)
            else:
                shutil.copy2(origin, source / name)
    site = base / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*pip, "--target", str(site), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    shutil.rmtree(source)  # nothing may be read from the tree it was built from
    cwd = base / "elsewhere"
    cwd.mkdir()
    yield Installed(site, cwd)


def test_installed_packages_are_the_ones_imported(installed: Installed) -> None:
    probe = "import bot, handlers, knowledge, seeds; print(bot.__file__, seeds.__file__)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=installed.env(),
        cwd=installed.cwd,
        check=True,
    )
    files = [Path(f) for f in result.stdout.split()]
    assert all(f.is_relative_to(installed.site) for f in files), result.stdout


def test_installed_ask_answers_from_the_shipped_catalogue(installed: Installed) -> None:
    result = installed.run("ask", "3-4")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "赛题 3-4：自动驾驶创新发展"
    assert (installed.cwd / "data" / "bot.db").is_file()


def test_installed_eval_scores_the_development_set_as_the_source_tree_does(
    installed: Installed,
) -> None:
    result = installed.run("eval")
    assert result.returncode == 0, result.stderr
    overall = next(line for line in result.stdout.splitlines() if line.startswith("overall"))
    assert overall.split()[2] == "100"  # all of knowledge/data/devset.jsonl
    from_source = subprocess.run(
        [sys.executable, "-m", "bot", "eval"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**installed.env(), "PYTHONPATH": str(ROOT)},
        cwd=installed.cwd,
        timeout=120,
        check=True,
    )
    assert result.stdout == from_source.stdout


def _get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=30) as response:
        data: dict[str, object] = json.load(response)
    return data


def _bot_texts(state: dict[str, object]) -> list[str]:
    chats = state["chats"]
    assert isinstance(chats, list)
    return [
        m["text"]
        for chat in chats
        if chat["id"] == CONTESTANT
        for m in chat["messages"]
        if m["from"]["is_bot"]
    ]


def test_installed_run_serves_the_sandbox_and_answers(installed: Installed) -> None:
    process = subprocess.Popen(
        installed.command("run"),
        env=installed.env(TELEGRAM_BOT_TOKEN="", SANDBOX_PORT="0", PORT="0", PYTHONUNBUFFERED="1"),
        cwd=installed.cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
    )
    try:
        assert process.stdout is not None
        seen: list[str] = []
        for line in process.stdout:  # blocks until the bot prints its page's address
            seen.append(line)
            if found := SANDBOX_URL.search(line):
                break
        else:
            pytest.fail(f"no sandbox address printed: {''.join(seen)}")
        url = found.group(1)
        with urllib.request.urlopen(url + "/", timeout=30) as response:
            assert b"<html" in response.read().lower()  # bot/sandbox/static, package data
        request = urllib.request.Request(
            url + "/sandbox/api/send",
            data=json.dumps({"chat_id": CONTESTANT, "text": "3-4"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.load(response)["ok"] is True
        # The page's own long poll: each call returns as soon as anything changes.
        version, texts = 0, []
        deadline = time.monotonic() + 60
        while not any("自动驾驶创新发展" in t for t in texts) and time.monotonic() < deadline:
            state = _get_json(f"{url}/sandbox/api/state?since={version}&timeout=10")
            version = int(str(state["version"]))
            texts += _bot_texts(state)
        assert any("自动驾驶创新发展" in t for t in texts), texts
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
