"""The pages' JSON endpoints (autosave, checks, grading state, the staff's progress polls): one error
shape and one login guard, :func:`json_login_required`, on every view only a script asks.

These endpoints serve the site's own scripts (``static/js``), not API clients: errors are
``{"code", "message"}`` with the HTTP status, and a logged-out browser gets 401 JSON rather than a
redirect to the login form, which ``fetch()`` would follow silently.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _


class BadRequest(Exception):
    """The request body cannot be read; the message is for people."""


def json_error(status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, **extra}, status=status)


def _logged_out() -> JsonResponse:
    return json_error(401, "login_required",
                      _("You are logged out. Log in again in another tab; your answers are kept on this device."))


def json_login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Like ``login_required`` but answers 401 JSON; a :class:`BadRequest` the view raises is a 400,
    a 403 (a student at a staff poll) and a 404 (no such object, or not yours: the same body) are
    JSON too, whatever the request's Accept header."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return _logged_out()
        try:
            return view(request, *args, **kwargs)
        except BadRequest as exc:
            return json_error(400, "bad_request", str(exc))
        except PermissionDenied:
            return json_error(403, "permission_denied", _("You may not do this."))
        except Http404:
            return json_error(404, "not_found", _("Not found."))

    return wrapper


def wants_json(request: HttpRequest) -> bool:
    """Whether the page's script (``fetch`` with ``Accept: application/json``) asks, not a form."""
    return "application/json" in request.headers.get("Accept", "")


def login_required_page_or_json(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For a view a form and a script both post to: logged out, a form goes to the login page and a
    script gets 401 JSON (``fetch`` would follow the redirect to the form without a word)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not wants_json(request):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            return view(request, *args, **kwargs)
        return json_login_required(view)(request, *args, **kwargs)

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
