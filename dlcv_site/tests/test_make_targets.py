"""What the Makefile's targets do for an operator on a fresh clone: `make bench` collects the static
files its web processes serve; `make run` serves every page on its embedded defaults and ends
everything it started."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import PROJECT_DIR

NO_STATIC_WARNING = "No directory at"
_LOAD_WEB_APP = "from django.core.wsgi import get_wsgi_application; get_wsgi_application()"


def _make_dry_run(target: str) -> list[str]:
    done = subprocess.run(["make", "-n", target], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def _web_app_warnings(var_dir: Path) -> str:
    """The warnings of loading the web application (WhiteNoise looks for the static root then)."""
    env = {**os.environ, "DLCV_VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "dlcv_site.settings"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-W", "always", "-c", _LOAD_WEB_APP], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_make_bench_collects_the_static_files_before_the_exam_load(tmp_path: Path) -> None:
    commands = _make_dry_run("bench")
    collect = next(i for i, line in enumerate(commands) if "collectstatic" in line)
    first_web = next(i for i, line in enumerate(commands) if "quizzes.bench.exam_load" in line)
    assert collect < first_web
    # What that command prevents: a fresh clone's web process without its static files.
    assert NO_STATIC_WARNING in _web_app_warnings(tmp_path)
    env = {**os.environ, "DLCV_VAR_DIR": str(tmp_path)}
    subprocess.run(commands[collect].split(), cwd=PROJECT_DIR, env=env, check=True, timeout=120)
    assert NO_STATIC_WARNING not in _web_app_warnings(tmp_path)
    assert (tmp_path / "static" / "css" / "site.css").exists()



def test_make_bench_runs_the_lti_bench_on_the_bench_database_and_broker() -> None:
    """lti.bench makes its scratch database next to BENCH_DATABASE_URL's (as labs.bench) and runs its
    Celery workers on BENCH_REDIS_URL."""
    (line,) = [line for line in _make_dry_run("bench") if "-m lti.bench" in line]
    assert "DATABASE_URL=postgres://" in line and "REDIS_URL=redis://" in line



# --------------------------------------------------------------------------- make run, stopped

STOP_LIMIT_SECONDS = 10  # the promise: everything make run started ends within this


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _processes_with(marker: bytes) -> dict[int, str]:
    """Every process whose environment holds ``marker`` (what make run and all it started inherit,
    even a process that has lost its parent): pid → command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def _descendants(root: int) -> set[tuple[int, str]]:
    """The processes below ``root`` now, as (pid, start time): a pid used again later is another."""
    children: dict[int, list[int]] = {}
    started: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        started[int(entry.name)] = fields[19]
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add((child, started[child]))
            todo.append(child)
    return found


def _alive(processes: set[tuple[int, str]]) -> set[tuple[int, str]]:
    alive = set()
    for pid, start in processes:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[19] == start and fields[0] != "Z":
            alive.add((pid, start))
    return alive


def _healthy(url: str) -> bool:
    """/healthz answers 200: the database, the broker and a worker on each grader queue are up."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status == 200
    except OSError:  # not listening yet, or 503 (a part is not up yet)
        return False


_DEMO_ACCOUNT = re.compile(r"^\s*(\w+)\s+user (demo-\w+)\s+password (\S+)\s*$", re.MULTILINE)
#: Links a crawl follows: the site's own pages, never one that acts on a GET or leaves the course's pages.
_SKIPPED_LINK = re.compile(r"^(https?:|//|#|mailto:)|/(admin|static|media|accounts/logout)/|\.(csv|py|zip)$|/csv/?$")


def _crawl_as(base: str, username: str, password: str, start: list[str], most: int = 80) -> dict[str, int]:
    """Log in through the login form, then follow the site's links breadth-first from ``start``: path → status."""
    import requests

    session = requests.Session()
    form = session.get(f"{base}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token, form.text[:500]
    answer = session.post(f"{base}/accounts/login/", timeout=30, allow_redirects=False,
                          data={"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)})
    assert answer.status_code == 302, (username, answer.status_code)
    seen: dict[str, int] = {}
    queue = list(start)
    while queue and len(seen) < most:
        path = queue.pop(0)
        if path in seen:
            continue
        response = session.get(base + path, timeout=60, allow_redirects=False)
        seen[path] = response.status_code
        if response.headers.get("Content-Type", "").startswith("text/html"):
            for link in re.findall(r'href="([^"]+)"', response.text):
                link = link.replace("&amp;", "&").split("#")[0]
                if link.startswith("/") and not _SKIPPED_LINK.search(link) and link not in seen:
                    queue.append(link)
    return seen


def _every_page_answers(base: str, log: str) -> None:
    """As the demo student and the demo instructor of make run's embedded set-up (SQLite, the file broker),
    every page a crawl reaches from their dashboards answers without a server error: a query only
    PostgreSQL runs (an ArrayAgg once made the course home a 500 here) fails this, not only in production."""
    accounts = {role: (username, password) for role, username, password in _DEMO_ACCOUNT.findall(log)}
    assert {"student", "instructor"} <= accounts.keys(), log[-2000:]
    for role, start in (("student", ["/", "/courses/dlcv-demo/"]), ("instructor", ["/", "/instructor/"])):
        seen = _crawl_as(base, *accounts[role], start=start)
        failed = {path: status for path, status in seen.items() if status >= 500}
        print(f"make run, {role}: {len(seen)} pages crawled, {len(failed)} server errors")
        assert not failed, f"server errors as the demo {role}: {failed}"
        assert len(seen) >= 20, seen


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["SIGTERM to make", "Ctrl-C"])
def test_make_run_ends_everything_it_started_when_stopped(tmp_path: Path, stop: str) -> None:
    """make run on a free port, with a var dir and a SQLite database of its own, up and healthy
    (web server, both grader workers, the beat); then SIGTERM to make alone, as ``kill`` or a
    service manager sends it, or Ctrl-C (SIGINT to the terminal's process group, make's): every
    process it started is gone within STOP_LIMIT_SECONDS."""
    var_dir = tmp_path / "var"
    # A virtualenv that is the project's, with make's "requirements installed" stamp: make run
    # installs nothing here.
    venv = tmp_path / "venv"
    venv.mkdir()
    for entry in (PROJECT_DIR / ".venv").resolve().iterdir():
        if not entry.name.startswith("."):  # bin, lib, pyvenv.cfg …; not make's stamps
            (venv / entry.name).symlink_to(entry)
    (venv / ".run-deps").touch()
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "REDIS_URL", "CACHE_URL", "MAKEFLAGS", "MFLAGS")}
    env["DLCV_VAR_DIR"] = str(var_dir)
    marker = f"DLCV_VAR_DIR={var_dir}".encode()
    port = _free_port()
    log_path = tmp_path / "make-run.log"
    command = ["make", "run", f"PORT={port}", f"VENV={venv}", "WEB_WORKERS=1", "GRADER_CONCURRENCY=1"]
    with log_path.open("wb") as log:
        make = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    tree: set[tuple[int, str]] = set()
    try:
        deadline = time.monotonic() + 600  # set-up loads the whole bank into a new database first
        while not _healthy(f"http://127.0.0.1:{port}/healthz"):
            assert make.poll() is None, f"make run ended early:\n{log_path.read_text()[-4000:]}"
            assert time.monotonic() < deadline, f"make run never became healthy:\n{log_path.read_text()[-4000:]}"
            time.sleep(1)
        if stop == "SIGTERM to make":  # once is enough: the pages, while it runs
            _every_page_answers(f"http://127.0.0.1:{port}", log_path.read_text())
        started = _processes_with(marker)
        commands = " ".join(started.values())
        assert "gunicorn" in commands and commands.count("celery") >= 2, started
        # Also those whose environment is not inherited (the code worker's sandbox clears it).
        tree = _descendants(make.pid)
        assert len(tree) >= len(started) - 1  # all but make itself

        if stop == "Ctrl-C":
            os.killpg(make.pid, signal.SIGINT)  # make leads its own process group (a new session)
        else:
            make.send_signal(signal.SIGTERM)
        stop_began = time.monotonic()
        while ((left := _processes_with(marker)) or _alive(tree)) and time.monotonic() - stop_began < STOP_LIMIT_SECONDS:
            time.sleep(0.1)
        took = time.monotonic() - stop_began
        print(f"make run: {len(tree)} processes; all ended {took:.1f} s after {stop} "
              f"(goal: within {STOP_LIMIT_SECONDS} s)")
        assert not left and not _alive(tree), (
            f"still running {STOP_LIMIT_SECONDS} s after {stop}:\n"
            + "\n".join(f"  {pid}: {cmd}" for pid, cmd in left.items())
            + f"\n  and {sorted(_alive(tree))} of its process tree\n{log_path.read_text()[-3000:]}")
        make.wait(timeout=5)  # make itself has ended too
    finally:
        for pid in {*_processes_with(marker), *(pid for pid, _ in _alive(tree))}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
