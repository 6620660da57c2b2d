"""The pages' JSON endpoints (autosave, checks, grading state): one error shape and one login guard.

These endpoints serve the site's own scripts (``static/js``), not API clients: errors are
``{"code", "message"}`` with the HTTP status, and a logged-out browser gets 401 JSON rather than a
redirect to the login form, which ``fetch()`` would follow silently.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _


class BadRequest(Exception):
    """The request body cannot be read; the message is for people."""


def json_error(status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, **extra}, status=status)


def json_login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Like ``login_required`` but answers 401 JSON; a :class:`BadRequest` the view raises is a 400."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return json_error(401, "login_required",
                              _("You are logged out. Log in again in another tab; your answers are kept on this device."))
        try:
            return view(request, *args, **kwargs)
        except BadRequest as exc:
            return json_error(400, "bad_request", str(exc))

    return wrapper


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object; :class:`BadRequest` for anything else."""
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(_("The request could not be read (not JSON).")) from None
    if not isinstance(data, dict):
        raise BadRequest(_("The request could not be read (expected a JSON object)."))
    return data
