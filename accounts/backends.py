"""The login backend: Django's ``ModelBackend``, reading the session's user with SQL written once.

Every request of a logged-in user loads its user row (``request.user``): four of an exam's five
requests per student do little else. The ORM compiles that same query on every request; here it
is compiled once (``accounts.sql.user_by_id``). Logging in, passwords and permissions are
``ModelBackend``'s, unchanged. Before it, :class:`LoginLockoutBackend`: too many failed logins.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from accounts import sql
from accounts.models import User


class UserBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        """The user of a session (``user_id`` as the session stores it), if it may still log in."""
        try:
            pk = User._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        user = sql.user_by_id(pk=pk)
        return user if user is not None and self.user_can_authenticate(user) else None


class LoginLockoutBackend(AxesStandaloneBackend):
    """django-axes' gate (``accounts.lockout``): refuses a locked-out login before any password is
    checked. First in ``AUTHENTICATION_BACKENDS``.

    A call without a request (the test client's ``login()``, a management command) has no client
    whose failures could be counted, so it is let through to the password check; every login a
    client can reach (the login page, the admin's, the token API) passes its request.
    """

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
