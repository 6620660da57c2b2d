"""The platform's hand-written SQL: the session read and the health check's round trip.

One function per statement; each runs it and returns what the ORM expression named in its
docstring returns on the same rows. ``dlcv_site/tests/test_sql.py`` runs both on the same data and
asserts the same result. These run on every database. (``dlcv_site.rows`` builds statements from
model metadata for the apps' ``sql`` modules; it is tested against the ORM on its own.)
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from django.contrib.sessions.models import Session
from django.db import connection

from dlcv_site.rows import model_from_row, select_columns, table_name


def database_round_trip() -> int:
    """``SELECT 1``: one round trip to the database, for the health check; 1. The ORM has no
    table-less query to equal: the test holds it to one query that answers 1."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (one,) = cursor.fetchone()
    return one


@lru_cache(maxsize=1)
def _session_sql() -> str:
    return (f"SELECT {select_columns(Session, 's')} FROM {table_name(Session)} s "
            f"WHERE s.session_key = %s AND s.expire_date > %s")


def session_unexpired(*, session_key: str | None, now: datetime) -> Session | None:
    """The session row with this key if it expires after ``now``, else None. Equals
    ``Session.objects.filter(session_key=session_key, expire_date__gt=now).first()`` (what
    Django's database session store reads)."""
    with connection.cursor() as cursor:
        cursor.execute(_session_sql(), [session_key, connection.ops.adapt_datetimefield_value(now)])
        row = cursor.fetchone()
    return None if row is None else model_from_row(Session, row)
