"""ASGI → WSGI for the web front (``dlcv_site.front``): a request whose body is already complete
runs in a fixed pool of threads, as in gunicorn's gthread worker; the response goes back to the
event loop in batches; the response's ``close()``, where Django ends a request, is always called.
(asgiref's ``WsgiToAsgi`` runs every request in one thread per process and never calls ``close()``;
its environ builder is used here.)
"""

from __future__ import annotations

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.wsgi import WsgiToAsgiInstance

from dlcv_site.body_deadline import Message, Receive, Scope, Send


class WsgiInThreads:
    """ASGI → WSGI: the request (its body already complete) runs in a fixed pool of threads; the
    response goes back to the event loop chunk by chunk; ``close()`` is always called."""

    def __init__(self, wsgi_app: Any, *, threads: int) -> None:
        self.wsgi_app = wsgi_app
        self.threads = threads
        self._executor: ThreadPoolExecutor | None = None  # made in the worker, after the fork

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks = []
        while True:  # BodyDeadline gives the body in one message; any server would do
            message = await receive()
            if message["type"] != "http.request":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        builder = WsgiToAsgiInstance(self.wsgi_app)
        builder.scope = scope
        try:
            environ = builder.build_environ(scope, io.BytesIO(body))
        except ValueError:  # too many duplicate headers
            await send({"type": "http.response.start", "status": 400, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"Bad Request\n"})
            return
        # The body is whole: its length is known even when it came chunked.
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="web")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._run, environ, send, loop)

    def _run(self, environ: dict[str, Any], send: Send, loop: asyncio.AbstractEventLoop) -> None:
        # Messages go to the event loop in batches: one hop for a page, one per 64 KB of a file.
        pending: list[Message] = []
        pending_bytes = 0

        async def send_all(messages: list[Message]) -> None:
            for message in messages:
                await send(message)

        def flush() -> None:
            nonlocal pending, pending_bytes
            if pending:
                asyncio.run_coroutine_threadsafe(send_all(pending), loop).result()
            pending, pending_bytes = [], 0

        def deliver(message: Message) -> None:
            nonlocal pending_bytes
            pending.append(message)
            pending_bytes += len(message.get("body", b""))
            if pending_bytes >= 65536:
                flush()

        start: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            start.update(type="http.response.start", status=int(status.split(" ", 1)[0]),
                         headers=[(name.lower().encode("latin1"), value.encode("latin1")) for name, value in headers])

        result = self.wsgi_app(environ, start_response)
        try:
            started = False
            for chunk in result:
                if not chunk:
                    continue
                if not started:
                    deliver(start)
                    started = True
                deliver({"type": "http.response.body", "body": chunk, "more_body": True})
            if not started:
                deliver(start)
            deliver({"type": "http.response.body", "body": b"", "more_body": False})
            flush()
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
