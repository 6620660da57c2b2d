"""``deploy/nginx.conf`` with Debian's nginx in front of `make web`'s gunicorn, on loopback, over TLS
(``dlcv_site.nginx_local`` changes only the addresses, paths and certificate): pages through the
proxy, static files from disk, plain HTTP redirected, bodies above the app's limit refused, and 50
stalled uploads held by nginx while normal requests go on (nginx closes them after its
``client_body_timeout``, logging 408: it sends stalled clients nothing, and never a 5xx)."""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from conftest import service_missing
from dlcv_site.bench_stalled import free_port, request, run
from dlcv_site.nginx_local import DEPLOY_CONF, NginxFront, nginx_binary, start_nginx_front
from dlcv_site.tests.web_front import makefile_server

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def front(postgres_required: None, tmp_path: Path) -> Iterator[NginxFront]:
    if nginx_binary() is None:
        service_missing("nginx: not installed (apt-get install nginx)")
    with makefile_server("web") as upstream:
        started = start_nginx_front(directory=tmp_path / "nginx", upstream_port=upstream, http_port=free_port(),
                                    https_port=free_port())
        try:
            yield started
        finally:
            started.stop()


def _exchange(port: int, head: bytes, *, tls: bool, body: bytes = b"") -> bytes:
    """One raw HTTP/1.1 exchange: the whole response, read until the server closes."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=15)
    if tls:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        raw = context.wrap_socket(raw)
    with raw:
        raw.sendall(head + body)
        chunks = []
        try:
            while chunk := raw.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, ssl.SSLError):
            pass
    return b"".join(chunks)


def test_the_app_and_its_static_files_through_the_front(front: NginxFront) -> None:
    page = _exchange(front.https_port, b"GET /accounts/login/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                     tls=True)
    assert page.startswith(b"HTTP/1.1 200 ") and b'name="csrfmiddlewaretoken"' in page
    script = Path(settings.STATIC_ROOT) / "js" / "quiz.js"
    static = _exchange(front.https_port, b"GET /static/js/quiz.js HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                       tls=True)
    head, _, body = static.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and body == script.read_bytes()
    assert b"Cache-Control: max-age=3600" in head  # nginx's static location, not the app
    plain = _exchange(front.http_port, b"GET /accounts/login/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                      tls=False)
    assert plain.startswith(b"HTTP/1.1 301 ") and b"Location: https://localhost/accounts/login/" in plain


def test_the_body_limit_is_the_apps(front: NginxFront) -> None:
    limit = re.search(r"client_max_body_size (\d+)m;", DEPLOY_CONF.read_text())
    assert limit is not None and int(limit.group(1)) * 1024 * 1024 == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    too_large = _exchange(front.https_port, b"POST /accounts/login/ HTTP/1.1\r\nHost: localhost\r\n"
                          b"Content-Type: application/x-www-form-urlencoded\r\n"
                          + f"Content-Length: {settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1}\r\n\r\n".encode(), tls=True)
    assert too_large.startswith(b"HTTP/1.1 413 ")


def test_fifty_stalled_uploads_are_held_by_nginx_while_normal_requests_go_on(front: NginxFront) -> None:
    # 12 s: past nginx's client_body_timeout (10 s), so every stalled request is ended once.
    result = asyncio.run(run(front.https_port, tls=True, seconds=12))
    assert result.latencies and set(result.statuses) <= {200, 401}, result.statuses
    # nginx ends a stalled body by closing the connection (status 0 here), never with a 5xx.
    assert sum(result.stalling.answers.values()) >= 50 and set(result.stalling.answers) <= {0, 408}, result.stalling
    status, _ = asyncio.run(request(front.https_port, "/accounts/login/", tls=True))
    assert status == 200
