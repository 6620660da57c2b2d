"""Failed logins, counted by django-axes per account and per client address, each with its own limit.

Every password check (the login page, the admin's, ``POST /api/auth/token/``) goes through
``django.contrib.auth.authenticate`` with the request, so axes sees them all: its backend
(``accounts.backends.LoginLockoutBackend``) refuses a locked-out login before the password is
checked, its signal handler (:class:`LoginLockoutHandler`) counts failures in the database (shared
by every web process), and its middleware turns a lockout into :func:`lockout_response`.

Why two limits (``settings.LOGIN_FAILURE_LIMITS``): an account is locked after a few failures
(guessing one password), an address only after many (a lecture hall shares one NAT address: the
typos of 300 students must not lock the hall out, while a password spray — one guess at each of
many accounts — still is stopped). Axes compares one limit with the largest count; the handler
below gives each count its own. Failures while locked out are not counted
(``AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False``), so one account adds at most its own
limit to its address: it cannot lock out its neighbours' correct logins.
"""

from __future__ import annotations

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_lockout_parameters
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import ngettext


def login_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The account a login names, as axes keys it: trimmed and lower-cased, so that "Alice " and
    "alice" count together."""
    raw = (credentials or {}).get("username")
    if raw is None:
        data = getattr(request, "data", None) or request.POST
        raw = data.get("username") if hasattr(data, "get") else None
    if not isinstance(raw, str) or not raw.strip():
        return None
    return raw.strip().lower()[:150]


def _limit(parameter: str | list[str]) -> int:
    key = parameter if isinstance(parameter, str) else "+".join(parameter)
    return int(settings.LOGIN_FAILURE_LIMITS[key])


class LoginLockoutHandler(AxesDatabaseHandler):
    """Axes' database handler with one failure limit per lockout parameter."""

    def failure_counts(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> list[tuple[int, int]]:
        """``(failures within the cool-off, limit)`` for each of ``AXES_LOCKOUT_PARAMETERS``."""
        parameters = get_lockout_parameters(request, credentials)
        attempts = self.get_user_attempts(request, credentials)
        return [
            (queryset.aggregate(n=Sum("failures_since_start"))["n"] or 0, _limit(parameter))
            for parameter, queryset in zip(parameters, attempts, strict=True)
        ]

    def is_locked(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> bool:
        if not settings.AXES_LOCK_OUT_AT_FAILURE:
            return False
        return any(count >= limit for count, limit in self.failure_counts(request, credentials))

    def user_login_failed(self, sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None,
                          **kwargs: Any) -> None:
        # Axes counts the failure (and locks at the largest limit, AXES_FAILURE_LIMIT); then the
        # smaller limits are applied here.
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None or getattr(request, "axes_locked_out", False):
            return
        if self.is_locked(request, credentials):
            request.axes_locked_out = True  # type: ignore[attr-defined]
            request.axes_credentials = credentials  # type: ignore[attr-defined]
            user_locked_out.send("axes", request=request, username=get_client_username(request, credentials),
                                 ip_address=request.axes_ip_address)  # type: ignore[attr-defined]


def lockout_minutes(request: HttpRequest | None = None) -> int:
    cool_off = get_cool_off(request)
    return max(1, round(cool_off.total_seconds() / 60)) if cool_off else 0


def lockout_message(minutes: int) -> str:
    # One message for "this account" and "this address": it must not tell an attacker which.
    return ngettext(
        "Too many failed logins for this account or from this network. Try again in %(minutes)d minute.",
        "Too many failed logins for this account or from this network. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict[str, Any] | None = None) -> HttpResponse:
    """429 for a locked-out login: JSON under ``/api/``, the login page (with the reason) elsewhere."""
    if original_response is not None and original_response.status_code == 429:
        return original_response  # the view said so itself (the token API)
    minutes = lockout_minutes(request)
    headers = {"Retry-After": str(minutes * 60)}
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": lockout_message(minutes), "code": "login_locked"}, status=429,
                            headers=headers)
    # A fresh form (no errors of its own) keeps what the user typed as the username.
    form = AuthenticationForm(request, initial={"username": request.POST.get("username", "")})
    context = {"form": form, "lockout_message": lockout_message(minutes), "next": request.POST.get("next", "")}
    response = render(request, "accounts/login.html", context, status=429)
    response["Retry-After"] = headers["Retry-After"]
    return response

