"""Issue 16, item 5: 50 clients that stall their request bodies do not take `make run` or `make web`
down. Each runs the server command of the Makefile on real sockets; normal requests keep being
answered (none may hang: each has 10 s) and every stalled request ends in a 408, never a 500."""

from __future__ import annotations

import asyncio
import socket

import pytest

from dlcv_site.bench_stalled import CSRF_COOKIE, request, run
from dlcv_site.tests.web_front import makefile_server

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Shorter than the default 10 s so the test sees stalled requests answered, and reopened, in time.
BODY_IDLE = "2"


@pytest.mark.parametrize("target", ["run", "web"])
def test_normal_requests_are_answered_while_fifty_clients_stall_their_bodies(target: str, postgres_required: None) -> None:
    with makefile_server(target, env={"REQUEST_BODY_IDLE_TIMEOUT": BODY_IDLE}) as port:
        result = asyncio.run(run(port, tls=False, seconds=5))
    assert result.latencies and set(result.statuses) <= {200, 401}, result.statuses
    # Every stalled request that was answered got a 408 (the rest were still waiting at the end).
    assert set(result.stalling.answers) == {408} and sum(result.stalling.answers.values()) >= 50, result.stalling


def _raw(port: int, head: bytes, body: bytes = b"") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(head + body)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_stalled_body_gets_a_plain_408_and_an_oversized_one_a_413(postgres_required: None) -> None:
    with makefile_server("run", env={"REQUEST_BODY_IDLE_TIMEOUT": BODY_IDLE}) as port:
        stalled = _raw(port, b"POST /accounts/login/ HTTP/1.1\r\nHost: localhost\r\n"
                             b"Cookie: csrftoken=" + CSRF_COOKIE + b"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 300\r\n\r\n", b"us")
        too_large = _raw(port, b"POST /api/labs/x/submissions/ HTTP/1.1\r\nHost: localhost\r\n"
                               b"Content-Type: application/json\r\nContent-Length: 3000000\r\n\r\n")
        status, _ = asyncio.run(request(port, "/accounts/login/", tls=False))
    assert stalled.startswith(b"HTTP/1.1 408 ") and stalled.endswith(b"\r\n\r\nRequest Timeout\n"), stalled
    assert too_large.startswith(b"HTTP/1.1 413 "), too_large
    assert status == 200
