"""What gunicorn serves in `make run` and `make web`: ``gunicorn dlcv_site.front -k asgi``.

gunicorn's ``asgi`` worker reads sockets on an event loop, so a client that stalls its request body
holds a coroutine, not a worker. ``BodyDeadline`` waits for the whole body (408 if it stalls, 413 if
it is too large); only then does the site's usual WSGI application (``dlcv_site.wsgi``, warmed up
before the fork) run, in one of ``WEB_THREADS`` threads of the process — the same threads, database
connections and Django code path as gunicorn's gthread worker, with the slow part of a request kept
off them (``dlcv_site.wsgi_in_threads``).
"""

from __future__ import annotations

from django.conf import settings

from dlcv_site.body_deadline import BodyDeadline, Receive, Scope, Send
from dlcv_site.wsgi import application as wsgi_application
from dlcv_site.wsgi_in_threads import WsgiInThreads


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


_site = WsgiInThreads(wsgi_application, threads=settings.WEB_THREADS)
_bounded = BodyDeadline(_site, idle_seconds=settings.REQUEST_BODY_IDLE_TIMEOUT,
                        total_seconds=settings.REQUEST_BODY_TIMEOUT, max_bytes=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
    else:
        await _bounded(scope, receive, send)
