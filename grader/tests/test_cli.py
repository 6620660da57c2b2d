"""The command line, run as a user would: ``python -m grader ...`` in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


@pytest.fixture(scope="module")
def shown() -> dict[str, Any]:
    proc = run("show", "conv-by-hand", "--seed", "11", "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_list() -> None:
    proc = run("list")
    assert proc.returncode == 0, proc.stderr
    names = [line.split()[0] for line in proc.stdout.splitlines()]
    assert "conv-by-hand" in names
    assert "Convolution by hand" in proc.stdout
    listed = json.loads(run("list", "--json").stdout)
    assert any(f["name"] == "conv-by-hand" and f["misconceptions"] for f in listed)


def test_show_json_contract(shown: dict[str, Any]) -> None:
    for key in ("family", "seed", "params", "statement", "answer", "explanation", "parts", "answer_text"):
        assert key in shown
    assert shown["family"] == "conv-by-hand" and shown["seed"] == 11
    assert set(shown["answer"]) == {"shape", "output"}
    assert "$$" in shown["statement"] and "bmatrix" in shown["statement"]


def test_show_text_in_chinese() -> None:
    proc = run("show", "conv-by-hand", "--seed", "11", "--lang", "zh-Hant")
    assert proc.returncode == 0, proc.stderr
    assert "## 答案" in proc.stdout and "## 詳解" in proc.stdout and "卷積" in proc.stdout


def test_check_accepts_the_shown_answer(shown: dict[str, Any]) -> None:
    proc = run("check", "conv-by-hand", "--seed", "11", "--answer", json.dumps(shown["answer"]), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["valid"] is True and result["score"] == 1.0 and result["misconceptions"] == []
    for key in ("score", "parts", "feedback", "misconceptions"):
        assert key in result
    assert all("expected" not in p for p in result["parts"])


def test_check_typed_answer_from_stdin_and_reveal(shown: dict[str, Any]) -> None:
    proc = run(
        "check", "conv-by-hand", "--seed", "11", "--answer", "-", "--json", "--reveal",
        stdin=json.dumps(shown["answer_text"], ensure_ascii=False),
    )  # fmt: skip
    result = json.loads(proc.stdout)
    assert proc.returncode == 0 and result["score"] == 1.0
    assert [p["expected"] for p in result["parts"]] == [shown["answer"]["shape"], shown["answer"]["output"]]


def test_check_wrong_answer_text_output(shown: dict[str, Any]) -> None:
    answer = {"shape": "1x1", "output": "0"}
    proc = run("check", "conv-by-hand", "--seed", "11", "--answer", json.dumps(answer))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Score: ")
    assert "Output size" in proc.stdout


def test_check_format_error_exits_2() -> None:
    answer = {"shape": "3x3", "output": "1 2 3\n4 5"}
    proc = run("check", "conv-by-hand", "--seed", "11", "--answer", json.dumps(answer), "--json")
    assert proc.returncode == 2
    result = json.loads(proc.stdout)
    assert result["valid"] is False and result["gradable"] is False and result["score"] == 0
    assert "row 2" in result["format_errors"]["output"]
    text = run("check", "conv-by-hand", "--seed", "11", "--answer", json.dumps(answer), "--lang", "zh-Hant")
    assert text.returncode == 2 and "第 2 列" in text.stdout


def test_check_unparseable_json_is_a_format_error() -> None:
    proc = run("check", "conv-by-hand", "--seed", "11", "--answer", "{shape: 3x3}", "--json")
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["format_errors"]["_answer"].startswith("--answer is not valid JSON")


def test_unknown_family_lists_known_names() -> None:
    proc = run("show", "no-such-family", "--seed", "1")
    assert proc.returncode == 1
    assert "conv-by-hand" in proc.stderr and "no-such-family" in proc.stderr


def test_constraints_flag() -> None:
    proc = run("show", "conv-by-hand", "--seed", "1", "--constraints", '{"mode": "convolution"}', "--json")
    assert json.loads(proc.stdout)["params"]["mode"] == "convolution"
    bad = run("show", "conv-by-hand", "--seed", "1", "--constraints", '{"colour": 1}')
    assert bad.returncode == 1 and "unknown constraint" in bad.stderr


def test_bench_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "grader.bench", "--family", "conv-by-hand", "--n", "5", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)
    assert row["family"] == "conv-by-hand" and row["gradings_per_s_cold"] > 0
