"""The web server exactly as the Makefile starts it (``make -n run`` / ``make -n web``), on a free
loopback port, for the stalled-client and nginx tests."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

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
def makefile_server(target: str, env: dict[str, str] | None = None) -> Iterator[int]:
    """``make <target>``'s gunicorn on the test database and a free port; yields the port."""
    port = free_port()
    assignments, command = makefile_server_command(target, port)
    # The control socket is gunicorn's per-user default path: keep off a developer's running server's.
    command.append("--no-control-socket")
    server_env = dict(os.environ, DATABASE_URL=_database_url_for_worker(), LOG_LEVEL="ERROR", **assignments,
                      **(env or {}))
    process = subprocess.Popen(command, cwd=PROJECT_DIR, env=server_env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(f"`make {target}`'s server exited: {command}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"`make {target}`'s server did not listen") from None
                time.sleep(0.2)
        yield port
    finally:
        stop(process)
