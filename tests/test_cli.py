"""The `contest-bot` console script, run as a user runs it: a real process per command."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CLI = Path(sys.executable).parent / "contest-bot"
TAGS = re.compile(r"</?(?:b|i|a|code|pre|s|u)\b[^>]*>")
JSON_KEYS = {"q", "intent", "ids", "score", "reply"}


def run(
    tmp_path: Path, *args: str, stdin: str | None = None, module: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the command with its database in tmp_path, from tmp_path."""
    command = [sys.executable, "-m", "bot"] if module else [str(CLI)]
    env = {**os.environ, "CONTEST_BOT_DB": str(tmp_path / "db" / "bot.db")}
    return subprocess.run(
        [*command, *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


def test_cli_ask_prints_plain_text_reply(tmp_path: Path) -> None:
    result = run(tmp_path, "ask", "赛道三赛题4")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "赛题 3-4：自动驾驶创新发展"
    assert lines[1] == "赛道三：数据要素×交通运输"
    assert "融合行驶习惯、车辆运行、环境感知、交通设施等多维数据" in result.stdout
    assert not TAGS.search(result.stdout)
    assert "&lt;" not in result.stdout and "&amp;" not in result.stdout
    assert (tmp_path / "db" / "bot.db").is_file()  # CONTEST_BOT_DB was used


def test_cli_ask_json_prints_one_object(tmp_path: Path) -> None:
    result = run(tmp_path, "ask", "--json", "两客一危", "那道题")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    row = json.loads(lines[0])
    assert set(row) == JSON_KEYS
    assert row["q"] == "两客一危 那道题"
    assert (row["intent"], row["ids"]) == ("problem", ["3-3"])
    assert isinstance(row["score"], float) and 0 < row["score"] <= 1
    assert row["reply"].startswith("赛题 3-3：提升交通运输安全")
    assert not TAGS.search(row["reply"])


def test_cli_ask_jsonl_file_answers_every_line_in_order(tmp_path: Path) -> None:
    questions = ["6-2", "赛道八", "你好呀", "有哪些赛道", "奖金怎么发放", "track 5 problem 1"]
    expected = ["problem", "track", "help", "tracks", "escalate", "problem"]
    path = tmp_path / "questions.jsonl"
    path.write_text(
        "".join(json.dumps({"q": q}, ensure_ascii=False) + "\n" for q in questions),
        encoding="utf-8",
    )
    result = run(tmp_path, "ask", "--jsonl", str(path))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["q"] for row in rows] == questions
    assert [row["intent"] for row in rows] == expected
    assert all(set(row) == JSON_KEYS for row in rows)
    assert rows[0]["ids"] == ["6-2"] and rows[5]["ids"] == ["5-1"]


def test_cli_ask_jsonl_from_stdin(tmp_path: Path) -> None:
    questions = ["T1P2", "金融", "燃气安全", "8-4"]
    stdin = "".join(json.dumps({"q": q, "extra": 1}, ensure_ascii=False) + "\n" for q in questions)
    result = run(tmp_path, "ask", "--jsonl", stdin=stdin)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["q"] for row in rows] == questions
    assert [row["ids"] for row in rows] == [["1-2"], ["4"], ["7-2"], ["8-4"]]


def test_cli_ask_jsonl_bad_line_exits_2_naming_the_line(tmp_path: Path) -> None:
    stdin = '{"q": "3-1"}\n{"q": "3-2"}\n{"q": 3-3}\n{"q": "3-4"}\n'
    result = run(tmp_path, "ask", "--jsonl", stdin=stdin)
    assert result.returncode == 2
    assert "line 3" in result.stderr
    assert "3-4" not in result.stdout  # nothing after the bad line is answered


def test_cli_ask_jsonl_line_without_q_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "questions.jsonl"
    path.write_text('{"q": "1-1"}\n\n{"question": "1-2"}\n', encoding="utf-8")
    result = run(tmp_path, "ask", "--jsonl", str(path))
    assert result.returncode == 2
    assert "line 3" in result.stderr


def test_cli_tracks(tmp_path: Path) -> None:
    result = run(tmp_path, "tracks")
    assert result.returncode == 0, result.stderr
    names = ["工业制造", "商贸流通", "交通运输", "金融服务", "文化旅游", "医疗健康", "城市治理"]
    for number, name in enumerate([*names, "乡村振兴"], start=1):
        assert re.search(rf"^{number}\. 赛道.+{name}", result.stdout, re.MULTILINE), name
    assert not TAGS.search(result.stdout)


def test_cli_show_problem(tmp_path: Path) -> None:
    result = run(tmp_path, "show", "3-4")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("赛题 3-4：自动驾驶创新发展\n")
    assert result.stdout.rstrip().endswith("保障安全运行。")
    assert not TAGS.search(result.stdout)


def test_cli_show_track(tmp_path: Path) -> None:
    result = run(tmp_path, "show", "3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("赛道三：数据要素×交通运输")
    listed = re.findall(r"^(3-\d) ", result.stdout, re.MULTILINE)
    assert listed == ["3-1", "3-2", "3-3", "3-4", "3-5"]


def test_cli_show_unknown_exits_1(tmp_path: Path) -> None:
    result = run(tmp_path, "show", "9-9")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "9-9" in result.stderr


def test_cli_eval_reports_per_intent_and_wrong_answers_to_escalations(tmp_path: Path) -> None:
    cases = [
        {"q": "赛道二赛题3", "intent": "problem", "ids": ["2-3"]},
        {"q": "第七赛道", "intent": "track", "ids": ["7"]},
        {"q": "奖金怎么发放", "intent": "escalate", "ids": []},
        # Labelled as an escalation on purpose: the bot answers it, and eval must count that.
        {"q": "5-1", "intent": "escalate", "ids": []},
    ]
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), "utf-8")
    result = run(tmp_path, "eval", str(path), "-v")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"^problem\s+1\s+1\s+100\.0%$", out, re.MULTILINE)
    assert re.search(r"^track\s+1\s+1\s+100\.0%$", out, re.MULTILINE)
    assert re.search(r"^escalate\s+1\s+2\s+50\.0%$", out, re.MULTILINE)
    assert re.search(r"^overall\s+3\s+4\s+75\.0%$", out, re.MULTILINE)
    assert "escalations answered instead: 1" in out
    assert "MISS '5-1'" in out


def test_cli_eval_default_set(tmp_path: Path) -> None:
    result = run(tmp_path, "eval")
    assert result.returncode == 0, result.stderr
    assert re.search(r"^overall\s+\d+\s+\d+\s+\d+\.\d%$", result.stdout, re.MULTILINE)
    assert re.search(r"^escalations answered instead: \d+$", result.stdout, re.MULTILINE)


def test_python_m_bot_tracks(tmp_path: Path) -> None:
    result = run(tmp_path, "tracks", module=True)
    assert result.returncode == 0, result.stderr
    assert "赛道八 · 乡村振兴" in result.stdout
