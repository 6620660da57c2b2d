"""``lti.sql``: a launch's new account in one statement makes the row ``User.objects.create`` makes (the
ORM path of ``lti.services.launch.account_made``) and returns the instance the ORM would; a taken
username writes nothing and leaves the transaction usable. PostgreSQL statements: they require it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from dlcv_site.tests.db_support import model_fields
from lti import sql

pytestmark = pytest.mark.django_db


def _values(username: str) -> dict[str, Any]:
    return {"username": username, "display_name": "Mei Lin", "email": "mei@example.edu",
            "password": make_password(None)}


def _same_but_the_key(user: User) -> Any:
    kind, values, adding, db, deferred = model_fields(user)
    return kind, {k: v for k, v in values.items() if k not in ("id", "username")}, adding, db, deferred


def test_a_new_account_is_the_row_and_instance_the_orm_makes(django_assert_num_queries: Any) -> None:
    assert sql.available()
    now = timezone.now()
    values = _values("lti-sql-new")
    with django_assert_num_queries(1):
        made = sql.user_insert_unless_taken(values=values, date_joined=now)
    assert made is not None
    assert model_fields(made) == model_fields(User.objects.get(pk=made.pk))  # the instance is the row
    orm = User.objects.create(**{**values, "username": "lti-sql-orm"}, date_joined=now)
    assert _same_but_the_key(User.objects.get(pk=made.pk)) == _same_but_the_key(User.objects.get(pk=orm.pk))
    assert not made.has_usable_password()


def test_a_taken_username_writes_nothing_and_the_transaction_goes_on() -> None:
    taken = User.objects.create(username="lti-sql-taken", email="first@example.edu")
    count = User.objects.count()
    with transaction.atomic():
        assert sql.user_insert_unless_taken(values=_values("lti-sql-taken"), date_joined=timezone.now()) is None
        assert User.objects.count() == count  # still usable (no aborted transaction) and nothing written
    assert User.objects.get(username="lti-sql-taken").email == taken.email
    with pytest.raises(IntegrityError), transaction.atomic():  # the ORM rule: the same clash
        User.objects.create(**_values("lti-sql-taken"))
