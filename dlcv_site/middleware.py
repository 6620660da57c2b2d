"""Request guards every URL shares: bodies Django cannot read, and the API's exact routes.

* A body sent with ``Transfer-Encoding: chunked`` (no ``Content-Length``) reaches Django as an empty
  body (WSGI reads ``Content-Length`` bytes), so a correct submission would be refused as "answers:
  required" and a form would lose its fields. Such a request is refused up front with 411 Length
  Required, JSON under ``/api/``. (Behind the nginx front, nginx reads the chunks and passes a
  ``Content-Length``; gunicorn alone does not.)
* Under ``/api/`` a POST (or any unsafe method) to a URL without its trailing slash is a JSON 404,
  not Django's redirect to the URL with it: the client would repeat it as a GET, without its body.
  A GET is still redirected (``/api/docs`` → ``/api/docs/``): nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.common import CommonMiddleware
from django.utils.translation import gettext as _


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


class ChunkedBodyMiddleware:
    """411 for a request body without a ``Content-Length`` (first in the chain: before anything reads it)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        transfer_encoding = request.META.get("HTTP_TRANSFER_ENCODING", "").strip().lower()
        if transfer_encoding and transfer_encoding != "identity" and not request.META.get("CONTENT_LENGTH"):
            message = _("Send the request body with a Content-Length header; chunked transfer encoding is not "
                        "accepted.")
            if is_api_path(request.path):
                return JsonResponse({"detail": message, "code": "length_required"}, status=411)
            return HttpResponse(message, status=411, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class SiteCommonMiddleware(CommonMiddleware):
    """Django's ``CommonMiddleware`` without the trailing-slash redirect of an unsafe method under ``/api/``."""

    def should_redirect_with_slash(self, request: HttpRequest) -> bool:
        if is_api_path(request.path_info) and request.method not in ("GET", "HEAD"):
            return False
        return super().should_redirect_with_slash(request)
