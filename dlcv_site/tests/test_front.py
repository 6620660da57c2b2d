"""The web front in-process (``dlcv_site.body_deadline``, ``dlcv_site.wsgi_in_threads``): bodies whole or 408
or 413, then the WSGI app in a thread, its response's ``close()`` always called. On real sockets:
test_stalled_clients.py."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from dlcv_site.body_deadline import BodyDeadline
from dlcv_site.wsgi_in_threads import WsgiInThreads


def _scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {"type": "http", "http_version": "1.1", "method": "POST", "path": "/echo/", "query_string": b"",
            "headers": headers, "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000), "scheme": "http"}


def _serve(app: Any, scope: dict[str, Any], messages: list[dict[str, Any]], *, stall: bool = False) -> list[dict[str, Any]]:
    """Run ``app`` on ``messages`` (then a stall, or a disconnect); what it sent."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        if stall:
            await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


class _Body(list):  # type: ignore[type-arg]
    closed = False

    def close(self) -> None:
        self.closed = True


def _echo_app(responses: list[_Body]) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        response = _Body([environ.get("CONTENT_LENGTH", "").encode(), b":", body, b"x" * 100_000])
        responses.append(response)
        return response
    return app


def _front(responses: list[_Body], **limits: Any) -> BodyDeadline:
    return BodyDeadline(WsgiInThreads(_echo_app(responses), threads=2),
                        **{"idle_seconds": 0.2, "total_seconds": 5, "max_bytes": 1000, **limits})


def _body(sent: list[dict[str, Any]]) -> bytes:
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def test_a_chunked_body_reaches_the_app_whole_with_its_length() -> None:
    responses: list[_Body] = []
    chunks = [{"type": "http.request", "body": part, "more_body": True} for part in (b'{"a"', b": 1")]
    sent = _serve(_front(responses), _scope([(b"transfer-encoding", b"chunked")]),
                  [*chunks, {"type": "http.request", "body": b"}", "more_body": False}])
    assert sent[0]["status"] == 200 and _body(sent).startswith(b'8:{"a": 1}')
    assert len(_body(sent)) == len(b'8:{"a": 1}') + 100_000 and responses[0].closed
    assert sum(1 for m in sent if m["type"] == "http.response.body") >= 2  # the large response in batches


def test_a_stalled_body_gets_408_and_the_app_never_runs() -> None:
    responses: list[_Body] = []
    sent = _serve(_front(responses), _scope([(b"content-length", b"300")]),
                  [{"type": "http.request", "body": b"us", "more_body": True}], stall=True)
    assert sent[0]["status"] == 408 and (b"connection", b"close") in sent[0]["headers"]
    assert _body(sent) == b"Request Timeout\n" and responses == []


def test_too_large_by_its_header_or_as_it_arrives_gets_413() -> None:
    responses: list[_Body] = []
    declared = _serve(_front(responses), _scope([(b"content-length", b"1001")]), [])
    streamed = _serve(_front(responses), _scope([(b"transfer-encoding", b"chunked")]),
                      [{"type": "http.request", "body": b"x" * 600, "more_body": True},
                       {"type": "http.request", "body": b"x" * 600, "more_body": False}])
    assert declared[0]["status"] == streamed[0]["status"] == 413 and responses == []


def test_a_client_gone_mid_body_gets_nothing() -> None:
    responses: list[_Body] = []
    sent = _serve(_front(responses), _scope([(b"content-length", b"300")]),
                  [{"type": "http.request", "body": b"us", "more_body": True}])
    assert sent == [] and responses == []


def test_a_request_without_a_body_goes_straight_through() -> None:
    responses: list[_Body] = []
    sent = _serve(_front(responses), _scope([]), [{"type": "http.request", "body": b"", "more_body": False}])
    assert sent[0]["status"] == 200 and _body(sent).startswith(b"0:") and responses[0].closed
