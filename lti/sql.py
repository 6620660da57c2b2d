"""The lti app's hand-written SQL: a launch's new account in one statement on PostgreSQL.

The rule is the ORM path of ``lti.services.launch.account_made``: ``User.objects.create`` in a
savepoint, the username's clash caught (SAVEPOINT, INSERT, RELEASE: three round trips of a new
student's launch). ``lti/tests/test_sql.py`` runs both and asserts the same row and outcome.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection

from accounts.models import User
from dlcv_site.rows import insert_statement, postgres_available

#: Whether this database runs these statements (PostgreSQL); others take the ORM path.
available = postgres_available


def user_insert_unless_taken(*, values: dict[str, Any], date_joined: datetime) -> User | None:
    """The account with ``values`` (attname → value, ``username`` among them; the model's defaults for
    the other columns) inserted unless the username is taken; None if it is (nothing written). Equals
    ``User.objects.create(**values, date_joined=date_joined)`` in a savepoint, None on the username's
    IntegrityError. (``date_joined`` is given: ``insert_statement`` prepares defaults once per process.)"""
    row = {**values, "date_joined": date_joined}
    for field in User._meta.concrete_fields:  # what the model's __init__ gives a field without a default ("")
        if not (field.primary_key or field.attname in row or field.has_default() or field.null):
            row[field.attname] = field.get_default()
    statement, params = insert_statement(User, [row])
    quote = connection.ops.quote_name
    statement += (f" ON CONFLICT ({quote(User._meta.get_field('username').column)}) DO NOTHING"
                  f" RETURNING {quote(User._meta.pk.column)}")
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        found = cursor.fetchone()
    if found is None:
        return None
    user = User(pk=found[0], **row)
    user._state.adding = False
    user._state.db = connection.alias
    return user
