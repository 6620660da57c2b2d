"""The accounts app's hand-written SQL: reads asked on (nearly) every request, compiled once.

One function per statement; each runs it and returns what the ORM expression named in its
docstring returns on the same rows. ``accounts/tests/test_sql.py`` runs both on the same data and
asserts the same result. These run on every database.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.db import connection

from accounts.models import STAFF_ROLES, Enrollment, User
from dlcv_site.rows import model_from_row, select_columns, table_name

_STAFF_ROLE_VALUES = tuple(str(role) for role in STAFF_ROLES)


@lru_cache(maxsize=1)
def _staff_anywhere_sql() -> str:
    enrollments = table_name(Enrollment)
    roles = ", ".join(["%s"] * len(STAFF_ROLES))
    return f"SELECT 1 FROM {enrollments} e WHERE e.user_id = %s AND e.role IN ({roles}) LIMIT 1"


def user_staff_anywhere(*, user_id: int) -> bool:
    """Whether the user is a TA or an instructor of any course. Equals
    ``Enrollment.objects.filter(user_id=user_id, role__in=STAFF_ROLES).exists()``
    (superusers are the caller's rule: ``accounts.selectors.user_is_course_staff``)."""
    with connection.cursor() as cursor:
        cursor.execute(_staff_anywhere_sql(), [user_id, *_STAFF_ROLE_VALUES])
        return cursor.fetchone() is not None


@lru_cache(maxsize=1)
def _user_by_id_sql() -> str:
    return f"SELECT {select_columns(User, 'u')} FROM {table_name(User)} u WHERE u.id = %s"


def user_by_id(*, pk: Any) -> User | None:
    """The user with this primary key (already converted by ``User._meta.pk.to_python``), or None.
    Equals ``User._default_manager.filter(pk=pk).first()`` (``ModelBackend.get_user``'s read)."""
    with connection.cursor() as cursor:
        cursor.execute(_user_by_id_sql(), [pk])
        row = cursor.fetchone()
    return None if row is None else model_from_row(User, row)
