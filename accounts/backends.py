"""The login backend: Django's ``ModelBackend``, reading the session's user with SQL written once.

Every request of a logged-in user loads its user row (``request.user``): four of an exam's five
requests per student do little else. The ORM compiles that same query on every request; here it
is compiled once. Logging in, passwords and permissions are ``ModelBackend``'s, unchanged.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db import connection

from accounts.models import User
from dlcv_site.rows import model_from_row, select_columns, table_name


@lru_cache(maxsize=1)
def _user_by_id_sql() -> str:
    return f"SELECT {select_columns(User, 'u')} FROM {table_name(User)} u WHERE u.id = %s"


class UserBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        """The user of a session (``user_id`` as the session stores it), if it may still log in."""
        try:
            pk = User._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        with connection.cursor() as cursor:
            cursor.execute(_user_by_id_sql(), [pk])
            row = cursor.fetchone()
        if row is None:
            return None
        user = model_from_row(User, row)
        return user if self.user_can_authenticate(user) else None
