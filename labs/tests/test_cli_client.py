"""``dlcv_submit.py``, the terminal client, against pytest-django's live server with real tokens.

Graded runs go through a real Celery worker (the session's ``celery_worker_process``, both queues)
and the real sandbox. The client runs as a subprocess, as a student runs it; the error paths that
need a patched network (a lost response, an unreachable server) run it in-process through ``main``.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from accounts.models import Course, User
from accounts.services import token_get_or_create
from accounts.tests.factories import PASSWORD
from grader.codelabs import get_codelab
from labs.client import CLIENT_PATH, dlcv_submit
from labs.models import Lab, Submission, SubmissionStatus
from labs.services import lab_upsert, queue

CODELAB = "iou-nms"  # numpy only and fast in the sandbox
SLUG = "cli-iou"
SYNTAX_ERROR = "import numpy as np\ndef box_iou(a, b:\n    return a\n"
# Right shapes, wrong values: a zero IoU for every pair and NMS that keeps nothing.
WRONG = (
    "import numpy as np\n\n"
    "def box_iou(a, b):\n    return np.zeros((len(a), len(b)))\n\n"
    "def nms(boxes, scores, iou_threshold):\n    return np.zeros(0, dtype=np.int64)\n"
)
GRADING_TIMEOUT = 180  # seconds, for one graded run (the first one starts the worker's sandbox)


@pytest.fixture
def code_lab(course: Course) -> Lab:
    lab, _ = lab_upsert(course=course, spec={"slug": SLUG, "title": "IoU and NMS", "kind": "code", "codelab": CODELAB})
    return lab


@pytest.fixture
def token(student: User) -> str:
    return token_get_or_create(user=student).key


@pytest.fixture
def no_broker(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Nothing reaches a worker (the live server runs in this process, so the patch reaches it)."""
    enqueued: list[int] = []
    monkeypatch.setattr(queue, "enqueue_gradings", lambda ids, *args, **kwargs: enqueued.extend(ids))
    return enqueued


@pytest.fixture(autouse=True)
def _fresh_throttles() -> Any:
    cache.clear()
    yield
    cache.clear()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def client_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy") and not k.startswith("DLCV_") and k not in ("LANG", "LC_ALL")}
    return {**env, "PYTHONIOENCODING": "utf-8", "NO_PROXY": "*", **extra}


def run_client(script: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None,
               timeout: float = GRADING_TIMEOUT) -> subprocess.CompletedProcess[str]:
    # A session of its own: no controlling terminal, so getpass reads the password from stdin.
    return subprocess.run([sys.executable, str(script), *args], input=stdin, capture_output=True, text=True,
                          env=env or client_env(), timeout=timeout, start_new_session=True, cwd=script.parent)


def run_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = dlcv_submit.main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def download_client(live_server: Any, user: User, slug: str, tmp_path: Path) -> Path:
    """The lab page's dlcv_submit.py, fetched over HTTP with the student's session."""
    client = Client()
    client.force_login(user)
    request = urllib.request.Request(
        f"{live_server.url}/labs/{slug}/dlcv_submit.py",
        headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as response:
        assert response.headers["Content-Disposition"] == 'attachment; filename="dlcv_submit.py"'
        path = tmp_path / "dlcv_submit.py"
        path.write_bytes(response.read())
    return path


# --------------------------------------------------------------------------- pieces, no server


def test_progress_redraws_one_line_on_a_terminal_and_prints_changes_otherwise() -> None:
    live = io.StringIO()
    progress = dlcv_submit.Progress(live, live=True)
    for status, elapsed in (("queued", 0), ("queued", 1), ("running", 2), ("graded", 3.2)):
        progress.show(status, elapsed)
    progress.finish()
    text = live.getvalue()
    assert text.count("\r") == 4 and text.endswith("\n") and text.count("\n") == 1
    assert "[   3 s] graded" in text and "running: your code is being tested" in text

    plain = io.StringIO()
    progress = dlcv_submit.Progress(plain, live=False)
    for status, elapsed in (("queued", 0), ("queued", 1), ("running", 2), ("running", 3), ("graded", 4)):
        progress.show(status, elapsed)
    progress.finish()
    lines = plain.getvalue().splitlines()
    assert "\r" not in plain.getvalue() and len(lines) == 3
    assert lines[0].startswith("[   0 s] queued") and lines[2] == "[   4 s] graded"


def test_the_report_is_a_table_with_messages_and_indented_tracebacks() -> None:
    submission = {
        "id": 7, "number": 2, "lab": SLUG, "status": "graded", "points": 1.5, "max_points": 4, "score": 1.2,
        "code": {
            "tests": [
                {"name": "a", "title": "small boxes", "public": True, "function": "box_iou", "points": 1.5,
                 "earned": 1.5, "passed": True, "status": "passed", "message": "Passed.", "traceback": ""},
                {"name": "b", "title": "ties", "public": False, "function": "nms", "points": 2, "earned": 0,
                 "passed": False, "status": "error", "message": "ZeroDivisionError: division by zero",
                 "traceback": "Traceback (most recent call last):\n  File \"submission.py\", line 3\nZeroDivisionError"},
                {"name": "c", "title": "none", "public": False, "function": "nms", "points": 0.5, "earned": 0,
                 "passed": False, "status": "not_run", "message": "Not run: your program had already stopped.",
                 "traceback": ""},
            ],
            "passed": 1, "summary": "Stopped: the wall-clock limit of 20 s was reached.",
            "stdout": "hello\n", "stderr": "", "output_truncated": True,
            "resources": {"wall_seconds": 20.01, "cpu_seconds": 1.5, "max_rss_mb": 40.2},
        },
    }
    out = io.StringIO()
    dlcv_submit.report(submission, "http://site", out, color=False)
    text = out.getvalue()
    assert "  Status Points   Test\n  PASS   1.5/1.5  public  box_iou: small boxes  Passed.\n" in text
    assert "  ERROR  0/2      hidden  nms: ties\n          ZeroDivisionError: division by zero\n" in text
    assert "\n            Traceback (most recent call last):\n              File \"submission.py\", line 3\n" in text
    assert "  SKIP   0/0.5    hidden  nms: none\n          Not run: your program had already stopped.\n" in text
    assert "Stopped: the wall-clock limit of 20 s was reached." in text
    assert "Passed 1 of 3 tests · 1.5 / 4 points" in text and "policies: 1.2" in text
    assert "--- your program's stdout ---\nhello\n--- end of stdout ---" in text and "cut" in text
    assert "Resources: wall 20.01 s, CPU 1.5 s, peak memory 40.2 MB" in text
    assert "Details: http://site/submissions/7/" in text
    assert dlcv_submit.exit_status(submission) == 1
    assert dlcv_submit.exit_status({**submission, "code": {"tests": [submission["code"]["tests"][0]]}}) == 0
    assert dlcv_submit.exit_status({**submission, "status": "failed"}) == 2


@pytest.mark.parametrize(("args", "env", "needle"), [
    (["x.py"], {}, "No server"),
    (["--server", "ftp://x", "--lab", "a", "x.py"], {}, "must start with http"),
    (["--server", "http://x", "x.py"], {}, "No lab"),
    (["--server", "http://x", "--lab", "a", "notes.txt"], {}, "ending in .py"),
    (["--server", "http://x", "--lab", "a", "missing.py"], {}, "no such file"),
    (["--server", "http://x", "--lab", "a", "big.py"], {}, "larger than 128 KB"),
    (["--server", "http://x", "--lab", "a", "latin1.py"], {}, "not UTF-8"),
    (["--server", "http://x", "--lab", "a", "ok.py"], {}, "Not logged in"),
])
def test_mistakes_are_caught_before_anything_is_sent(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        args: list[str], env: dict[str, str], needle: str) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("DLCV_TOKEN", "DLCV_SERVER"):
        monkeypatch.delenv(name, raising=False)
    write(tmp_path, "notes.txt", "x = 1\n")
    write(tmp_path, "ok.py", "x = 1\n")
    write(tmp_path, "big.py", "#" * (128 * 1024 + 1))
    (tmp_path / "latin1.py").write_bytes("s = 'café'\n".encode("latin-1"))
    monkeypatch.setattr(dlcv_submit.urllib.request, "urlopen", lambda *a, **k: pytest.fail("nothing may be sent"))
    status, _out, err = run_in_process(capsys, *args)
    assert status == 2 and needle in err, err


def test_an_unreachable_server_is_retried_then_named(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(dlcv_submit, "RETRY_DELAYS", (0, 0))
    status, _out, err = run_in_process(capsys, "--server", f"http://127.0.0.1:{port}", "--lab", "x", "--token", "t",
                                       str(write(tmp_path, "ok.py", "x = 1\n")))
    assert status == 2
    assert err.count("trying again") == 2 and f"Cannot reach the server at http://127.0.0.1:{port}" in err


# --------------------------------------------------------------------------- against the live server


@pytest.mark.django_db(transaction=True)
def test_a_syntax_error_is_refused_with_its_line_and_costs_nothing(
        live_server: Any, code_lab: Lab, token: str, no_broker: list[int], tmp_path: Path) -> None:
    result = run_client(CLIENT_PATH, "--server", live_server.url, "--lab", SLUG, "--lang", "en",
                        str(write(tmp_path, "mine.py", SYNTAX_ERROR)), env=client_env(DLCV_TOKEN=token))
    assert result.returncode == 2, result.stderr
    assert "Your file was not accepted (this did not use an attempt)" in result.stderr
    assert "Syntax error on line 2" in result.stderr
    assert not Submission.objects.exists() and no_broker == []


@pytest.mark.django_db(transaction=True)
def test_http_errors_get_a_clear_message(
        live_server: Any, code_lab: Lab, token: str, no_broker: list[int], tmp_path: Path,
        capsys: pytest.CaptureFixture[str], settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    mine = str(write(tmp_path, "mine.py", "x = 1\n"))
    common = ("--server", live_server.url, "--lang", "en")

    status, _out, err = run_in_process(capsys, *common, "--lab", SLUG, "--token", "not-a-token", mine)
    assert status == 2 and "did not accept your login (HTTP 401" in err

    status, _out, err = run_in_process(capsys, *common, "--lab", "no-such-lab", "--token", token, mine)
    assert status == 2 and "No lab 'no-such-lab' that you can see" in err

    code_lab.due_at = timezone.now() - timedelta(days=1)
    code_lab.save(update_fields=["due_at"])
    status, _out, err = run_in_process(capsys, *common, "--lab", SLUG, "--token", token, mine)
    assert status == 2 and "The server refused the submission: This lab is closed for submissions." in err
    code_lab.due_at = None
    code_lab.save(update_fields=["due_at"])

    cache.clear()
    settings.SUBMISSION_RATE = "1/min"
    run_in_process(capsys, *common, "--lab", SLUG, "--token", token, str(write(tmp_path, "bad.py", SYNTAX_ERROR)))
    status, _out, err = run_in_process(capsys, *common, "--lab", SLUG, "--token", token, mine)
    assert status == 2 and "Too many requests" in err and "Try again in" in err
    assert not Submission.objects.exists()

    monkeypatch.setattr(dlcv_submit.getpass, "getpass", lambda prompt: "not-the-password")
    status, _out, err = run_in_process(capsys, *common, "--lab", SLUG, "--user", "alice", mine)
    assert status == 2 and "Wrong username or password" in err


@pytest.mark.django_db(transaction=True)
def test_a_lost_response_is_retried_with_the_same_idempotency_key(
        live_server: Any, code_lab: Lab, token: str, no_broker: list[int], tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    real_urlopen = urllib.request.urlopen
    keys: list[str] = []

    def lossy_urlopen(request: urllib.request.Request, *args: Any, **kwargs: Any) -> Any:
        response = real_urlopen(request, *args, **kwargs)
        if request.get_method() == "POST":
            keys.append(request.get_header("Idempotency-key"))
            if len(keys) == 1:  # the server stored it, but its answer never arrives
                response.read()
                response.close()
                raise ConnectionResetError("connection reset by peer")
        return response

    monkeypatch.setattr(dlcv_submit, "RETRY_DELAYS", (0, 0))
    monkeypatch.setattr(dlcv_submit.urllib.request, "urlopen", lossy_urlopen)
    status, out, err = run_in_process(capsys, "--server", live_server.url, "--lab", SLUG, "--token", token,
                                      "--timeout", "0", str(write(tmp_path, "mine.py", "x = 1\n")))
    assert len(keys) == 2 and keys[0] == keys[1] and len(keys[0]) == 36
    assert "trying again" in err and "Submission 1 stored" in out
    submission = Submission.objects.get()  # one submission, not two
    assert submission.idempotency_key == keys[0] and no_broker == [submission.pk]
    assert status == 2 and "Still not graded after 0 s" in err and f"/submissions/{submission.pk}/" in err


# --------------------------------------------------------------------------- graded by a real worker


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_downloaded_client_submits_a_correct_file_and_shows_it_graded(
        celery_worker_process: Any, live_server: Any, code_lab: Lab, student: User, token: str,
        tmp_path: Path) -> None:
    script = download_client(live_server, student, SLUG, tmp_path)
    solution = write(tmp_path, "my_iou.py", get_codelab(CODELAB).solution())
    result = run_client(script, "--lang", "en", str(solution), env=client_env(DLCV_TOKEN=token))  # defaults only
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"Submitting {solution} to {SLUG} at {live_server.url}" in out
    progress = [line for line in out.splitlines() if line.startswith("[")]
    assert progress[0].startswith("[   0 s] queued") and progress[-1].endswith("] graded"), progress
    assert "\r" not in out  # not a terminal: plain lines
    submission = Submission.objects.get()
    assert submission.status == SubmissionStatus.GRADED and submission.result["run"]["sandboxed"] is True
    tests = submission.result["tests"]
    for test in tests:
        assert f"{test['function']}: {test['title']}" in out
    assert out.count("\n  PASS ") == len(tests) and "FAIL" not in out
    assert f"Passed {len(tests)} of {len(tests)} tests" in out
    assert f"Details: {live_server.url}/submissions/{submission.pk}/" in out


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_wrong_file_exits_1_after_logging_in_with_a_password(
        celery_worker_process: Any, live_server: Any, code_lab: Lab, student: User, tmp_path: Path) -> None:
    result = run_client(CLIENT_PATH, "--server", live_server.url, "--lab", SLUG, "--user", "alice", "--lang", "en",
                        str(write(tmp_path, "wrong.py", WRONG)), stdin=PASSWORD + "\n")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Logged in." in result.stderr
    assert "\n  FAIL " in result.stdout and "Passed " in result.stdout
    submission = Submission.objects.get()
    assert submission.status == SubmissionStatus.GRADED and submission.score < 1
    assert submission.user == student and submission.source_code == WRONG


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_json_output_is_the_final_submission(
        celery_worker_process: Any, live_server: Any, code_lab: Lab, token: str, tmp_path: Path) -> None:
    solution = write(tmp_path, "mine.py", get_codelab(CODELAB).solution())
    result = run_client(CLIENT_PATH, "--server", live_server.url, "--lab", SLUG, "--token", token, "--json",
                        "--lang", "zh-Hant", str(solution))
    assert result.returncode == 0, result.stdout + result.stderr
    body = json.loads(result.stdout)  # nothing but the JSON on stdout
    assert body["status"] == "graded" and body["kind"] == "code" and body["lang"] == "zh-Hant"
    assert body["code"]["passed"] == len(body["code"]["tests"]) and body["code"]["tests"][0]["message"] == "通過。"
    assert "queued" in result.stderr and "graded" in result.stderr
