"""The request body, read in full before Django sees it, within a deadline: a client that stalls its
upload costs a waiting coroutine, never a thread, and gets a 408.

gunicorn's ``asgi`` worker (``make run``, ``make web``: ``dlcv_site.asgi``) reads sockets on an
event loop. This ASGI wrapper around Django's application takes the body from it chunk by chunk; if
no byte arrives for ``idle_seconds``, or the whole body has not arrived after ``total_seconds``, it
answers ``408 Request Timeout`` (plain text, ``Connection: close``, as nginx does) and Django never
runs. A body larger than ``max_bytes`` — by its ``Content-Length`` or as it arrives — gets ``413``
at once (no page of the site takes more; ``deploy/nginx.conf`` has the same limit). Otherwise Django
gets the body in one piece and runs the request in a thread as usual.

With a buffering proxy in front (``deploy/nginx.conf``), bodies arrive whole and this never waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _ClientGone(Exception):
    """The client disconnected (or the server gave up on it) before the body was complete."""


class _TooLarge(Exception):
    pass


class BodyDeadline:
    """ASGI middleware: the whole body within the deadlines, or 408; more than ``max_bytes``, 413."""

    def __init__(self, app: ASGIApp, *, idle_seconds: float, total_seconds: float, max_bytes: int) -> None:
        self.app = app
        self.idle_seconds = idle_seconds
        self.total_seconds = total_seconds
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = self._declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _refuse(send, 413, b"Request Entity Too Large")
            return
        if declared == 0:  # no body (most requests): the server says so at once, no deadline needed
            await self.app(scope, receive, send)
            return
        try:
            body = await asyncio.wait_for(self._read_body(receive), timeout=self.total_seconds)
        except TimeoutError:
            await _refuse(send, 408, b"Request Timeout")
            return
        except _TooLarge:
            await _refuse(send, 413, b"Request Entity Too Large")
            return
        except _ClientGone:
            return  # nobody to answer
        await self.app(scope, _replay(body, receive), send)

    @staticmethod
    def _declared_length(scope: Scope) -> int | None:
        """The body's declared length: 0 without a body, None when it comes chunked."""
        length = 0
        for name, value in scope.get("headers", ()):
            if name == b"transfer-encoding":
                return None
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    return None  # the server refuses a malformed one before it gets here
        return length

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await asyncio.wait_for(receive(), timeout=self.idle_seconds)
            if message["type"] != "http.request":
                raise _ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body once, then the server's (which reports a disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _refuse(send: Send, status: int, reason: bytes) -> None:
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(reason) + 1).encode()),
                    (b"connection", b"close")],
    })
    await send({"type": "http.response.body", "body": reason + b"\n"})
