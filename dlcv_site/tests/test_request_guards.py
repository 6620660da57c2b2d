"""Requests Django would misread, and the API's edges: chunked bodies, unknown /api/ URLs, ?lang=.

Through the test client (a chunked body handed to Django without its length is refused with 411:
what any plain WSGI server would do), and through the real server ``make run`` and ``make web`` start
(gunicorn's ASGI worker serving ``dlcv_site.front``), which reads a chunked body whole and hands it on
with its length.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

import conftest
from accounts.tests.factories import make_course, make_member
from dlcv_site.tests.web_front import free_port, gunicorn_server
from labs.tests.factories import lab_answers, make_lab

API_404 = {"detail": "Not found."}  # the API's one 404 body (dlcv_site.api.api_not_found)


# --------------------------------------------------------------------------- chunked bodies


@pytest.mark.django_db
@pytest.mark.parametrize("transfer_encoding", ["chunked", "gzip, chunked", "Chunked"])
def test_a_chunked_api_body_is_refused_with_411_json(transfer_encoding: str) -> None:
    response = APIClient().generic("POST", "/api/labs/lab1/submissions/", b'{"answers": {}}',
                                   content_type="application/json", HTTP_TRANSFER_ENCODING=transfer_encoding,
                                   CONTENT_LENGTH="")
    assert response.status_code == 411
    assert response.json()["code"] == "length_required" and "Content-Length" in response.json()["detail"]


@pytest.mark.django_db
def test_a_chunked_form_is_refused_with_411_text() -> None:
    response = Client().generic("POST", "/accounts/login/", b"username=a&password=b",
                                content_type="application/x-www-form-urlencoded",
                                HTTP_TRANSFER_ENCODING="chunked", CONTENT_LENGTH="")
    assert response.status_code == 411 and response["Content-Type"].startswith("text/plain")


@pytest.mark.django_db
def test_a_body_with_a_content_length_is_read_as_usual() -> None:
    course = make_course("dlcv")
    student = make_member(course, username="alice")
    lab = make_lab(course, "lab1")
    client = APIClient()
    client.force_authenticate(student)
    body = json.dumps({"answers": lab_answers(lab, student)}).encode()
    response = client.generic("POST", "/api/labs/lab1/submissions/", body, content_type="application/json",
                              HTTP_TRANSFER_ENCODING="identity")
    assert response.status_code == 201, response.content


# --------------------------------------------------------------------------- unknown /api/ URLs


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api", "/api/labs", "/api/labs/lab1/submissions", "/api/nothing%0A",
                                  "/api/%0A/labs/", "/api/labs/lab1%0D%0A/submissions/"])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_an_unsafe_request_to_no_api_route_is_a_json_404_never_a_redirect(path: str, method: str) -> None:
    """A redirect to the URL with a slash would be repeated as a GET, without the body."""
    response = APIClient().generic(method, path, b"{}", content_type="application/json")
    assert response.status_code == 404, (method, path)
    assert response["Content-Type"] == "application/json" and response.json() == API_404


@pytest.mark.django_db
def test_get_api_without_the_slash_is_json_too() -> None:
    response = Client().get("/api")
    assert response.status_code == 404 and response.json() == API_404
    # Pages keep their HTML 404 and their slash redirects.
    assert Client().get("/no-such-page/")["Content-Type"].startswith("text/html")
    assert Client().get("/accounts/login")["Location"] == "/accounts/login/"


# --------------------------------------------------------------------------- ?lang=


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["lang=", "lang=fr", "lang=zh-hant", "lang=zh-tw", "lang=EN", "lang=en&lang=zh-Hant",
                                   "lang=en%0A"])
@pytest.mark.parametrize("path", ["/api/labs/", "/api/labs/lab1/", "/api/me/grades/", "/api/submissions/1/"])
def test_an_api_lang_other_than_en_or_zh_hant_is_400(path: str, query: str) -> None:
    response = APIClient().get(f"{path}?{query}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    body = response.json()
    assert body["errors"]["lang"] == ["lang must be one of: en, zh-Hant."] and body["detail"]


@pytest.mark.django_db
def test_the_api_lang_refusal_speaks_the_requests_language() -> None:
    response = APIClient().get("/api/labs/?lang=", HTTP_ACCEPT_LANGUAGE="zh-Hant")
    assert response.status_code == 400 and "lang" in response.json()["errors"]
    assert response.json()["detail"] != "lang must be one of: en, zh-Hant."  # translated


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "zh-Hant"])
def test_the_api_takes_its_two_languages(lang: str) -> None:
    course = make_course("dlcv")
    student = make_member(course, username="alice")
    make_lab(course, "lab1")
    client = APIClient()
    client.force_authenticate(student)
    assert client.get(f"/api/labs/lab1/?lang={lang}").json()["lang"] == lang
    assert client.get(f"/api/labs/?lang={lang}").status_code == 200


@pytest.mark.django_db
def test_pages_still_ignore_a_lang_they_do_not_know() -> None:
    assert Client().get("/accounts/login/?lang=").status_code == 200
    assert Client().get("/accounts/login/?lang=fr").status_code == 200


# --------------------------------------------------------------------------- through gunicorn


@pytest.fixture(scope="module")
def gunicorn_port(django_db_setup: Any, django_db_blocker: Any) -> Iterator[int]:
    """``make run``'s web server (gunicorn's ASGI worker serving the front) on the test database."""
    with django_db_blocker.unblock():
        database_url = conftest._database_url_for_worker()
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "dlcv_site.front", "-k", "asgi", "--no-control-socket",
               "-c", "python:dlcv_site.gunicorn_conf", "-b", f"127.0.0.1:{port}", "-w", "1"]
    with gunicorn_server(command, port, env=dict(os.environ, DATABASE_URL=database_url),
                         log_path=Path(settings.VAR_DIR) / "test-request-guards-gunicorn.log") as listening:
        yield listening


def _exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP/1.1 request on its own connection: status, headers, body (de-chunked)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        raw = b""
        while chunk := connection.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    if headers.get("transfer-encoding") == "chunked":
        plain = b""
        while body:
            size_line, _, rest = body.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            plain, body = plain + rest[:size], rest[size + 2 :]
        body = plain
    return int(lines[0].split()[1]), headers, body


@pytest.mark.django_db(transaction=True)
def test_through_gunicorn_a_chunked_body_is_read_and_the_api_edges_are_json(gunicorn_port: int) -> None:
    # Only the username is sent: if the body were lost (read as empty), both fields would be missing.
    payload = b'{"username": "nobody"}'
    chunked = (b"POST /api/auth/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               + f"{len(payload):x}".encode() + b"\r\n" + payload + b"\r\n0\r\n\r\n")
    status, headers, body = _exchange(gunicorn_port, chunked)
    assert status == 400 and headers["content-type"] == "application/json", body
    errors = json.loads(body)["errors"]
    assert "password" in errors and "username" not in errors, errors
    for path in (b"/api/labs/x%0A/submissions/", b"/api"):
        status, headers, body = _exchange(gunicorn_port, b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                          b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")
        assert status == 404 and headers["content-type"] == "application/json" and json.loads(body)["detail"]
    status, headers, body = _exchange(gunicorn_port, b"GET /api/labs/?lang= HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                      b"Connection: close\r\n\r\n")
    assert status == 400 and "lang" in json.loads(body)["errors"]


@pytest.mark.django_db(transaction=True)
def test_through_gunicorn_a_malformed_content_length_is_gunicorns_own_400(gunicorn_port: int) -> None:
    """gunicorn refuses it before Django sees it (README, "Running on real services"): plain text, not JSON."""
    status, headers, _body = _exchange(gunicorn_port, b"POST /api/auth/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                       b"Content-Length: 12x\r\nConnection: close\r\n\r\n{}")
    assert status == 400 and not headers.get("content-type", "").startswith("application/json")
