"""gunicorn for the tests, started one way: :func:`gunicorn_server` (any command, on a free loopback
port); :func:`makefile_server`, the web server exactly as the Makefile starts it (``make -n run`` /
``make -n web``), for the stalled-client and nginx tests; the request-guard and error-page tests
start their own commands through the first."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conftest import PROJECT_DIR, _database_url_for_worker
from dlcv_site.bench_stalled import free_port, stop

_SERVER = re.compile(r"((?:[A-Z_]+=\S+ )*)(\S*/gunicorn .*?--access-logfile -)")


def makefile_server_command(target: str, port: int) -> tuple[dict[str, str], list[str]]:
    """The environment assignments and the gunicorn command of ``make <target>``'s recipe."""
    dry = subprocess.run(["make", "-n", target, f"PORT={port}", "HOST=127.0.0.1"], cwd=PROJECT_DIR,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    match = _SERVER.search(dry.replace("\\\n", " "))
    if match is None:
        raise AssertionError(f"no gunicorn command in `make -n {target}`:\n{dry}")
    env = dict(assignment.split("=", 1) for assignment in match.group(1).split())
    return env, shlex.split(match.group(2))


@contextmanager
def gunicorn_server(command: list[str], port: int, *, env: dict[str, str], log_path: Path | None = None,
                    what: str = "gunicorn") -> Iterator[int]:
    """``command`` (a gunicorn bound to 127.0.0.1:``port``) with ``env`` as its whole environment, in a
    session of its own; yields ``port`` once it listens and stops it afterwards. Its output goes to
    ``log_path`` (None: discarded), whose end a failed start quotes."""

    def where() -> str:
        return f"; log in {log_path}:\n{log_path.read_text(errors='replace')[-3000:]}" if log_path else ""

    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") if log_path is not None else open(os.devnull, "wb") as log:
        process = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(f"{what} exited at start: {command}{where()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{what} did not listen within 60 s{where()}") from None
                time.sleep(0.2)
        yield port
    finally:
        stop(process)


@contextmanager
def makefile_server(target: str, env: dict[str, str] | None = None) -> Iterator[int]:
    """``make <target>``'s gunicorn on the test database and a free port; yields the port."""
    port = free_port()
    assignments, command = makefile_server_command(target, port)
    # The control socket is gunicorn's per-user default path: keep off a developer's running server's.
    command.append("--no-control-socket")
    server_env = dict(os.environ, DATABASE_URL=_database_url_for_worker(), LOG_LEVEL="ERROR", **assignments,
                      **(env or {}))
    with gunicorn_server(command, port, env=server_env, what=f"`make {target}`'s server") as listening:
        yield listening
