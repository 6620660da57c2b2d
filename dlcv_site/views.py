"""The site's own views: /healthz and the error handlers (400, 403, 404, 500).

An error answers in the shape its asker reads: JSON under ``/api/`` (an API client never gets a
page to parse) and for the pages' own scripts (``Accept: application/json``), a page in the
request's language everywhere else (``templates/errors/``), with the ways back to the courses and
the login. The pages are rendered without the request's context (no user, no session, no CSRF
token): none of them reads the database, so the 500 page still renders when the database is down.
"""

from __future__ import annotations

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from rest_framework import exceptions

from dlcv_site.api import api_not_found
from dlcv_site.health import health_report
from dlcv_site.http import json_error, wants_json
from dlcv_site.middleware import is_api_path


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 with every part's state when all are up; 503 naming the failing parts otherwise."""
    all_ok, report = health_report()
    return JsonResponse(report, status=200 if all_ok else 503, json_dumps_params={"ensure_ascii": False})


def _is_api(request: HttpRequest) -> bool:
    return is_api_path(request.path)


def _logged_in(request: HttpRequest) -> bool:
    """Whether the asker is logged in, as far as is known without risk: the session is read from the
    database, which may be the very thing that failed (then: not known, the login link shows)."""
    user = getattr(request, "user", None)
    try:
        return bool(user is not None and user.is_authenticated)
    except DatabaseError:
        return False


def _error_page(status: int, *, logged_in: bool) -> HttpResponse:
    page = loader.get_template(f"errors/{status}.html").render({"logged_in": logged_in})
    return HttpResponse(page, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": str(exceptions.ParseError.default_detail)}, status=400)
    if wants_json(request):
        return json_error(400, "bad_request", _("The request could not be read."))
    return _error_page(400, logged_in=_logged_in(request))


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": str(exceptions.PermissionDenied.default_detail)}, status=403)
    if wants_json(request):
        return json_error(403, "permission_denied", _("You may not do this."))
    return _error_page(403, logged_in=_logged_in(request))


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The site's 404: JSON under ``/api/`` (an API client never gets a page to parse), the page elsewhere."""
    if _is_api(request):
        return api_not_found()
    if wants_json(request):
        return json_error(404, "not_found", _("Not found."))
    return _error_page(404, logged_in=_logged_in(request))


def server_error(request: HttpRequest) -> HttpResponse:
    """Static: never asks whether the user is logged in (that reads the session, maybe from the
    database that just failed)."""
    if _is_api(request):
        return JsonResponse({"detail": str(exceptions.APIException.default_detail)}, status=500)
    if wants_json(request):
        return json_error(500, "server_error", _("The server could not answer. Try again in a moment."))
    return _error_page(500, logged_in=False)
