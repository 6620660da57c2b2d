"""``accounts.sql``: each statement returns what its ORM rule returns on the same rows.

Both statements run on every database, so these tests run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from functools import cache
from typing import Any

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts import sql
from accounts.backends import UserBackend
from accounts.models import STAFF_ROLES, Course, Enrollment, Role, User
from accounts.selectors import courses_taught_by, user_is_course_staff
from accounts.tests.factories import PASSWORD, make_course
from dlcv_site.tests.db_support import model_fields

_names = itertools.count(1)


@cache
def _password_hash() -> str:
    return make_password(PASSWORD)  # once: hashing costs a quarter of a second


def make_user(username: str | None = None, **fields: Any) -> User:
    return User.objects.create(username=username or f"sql-user-{next(_names)}", password=_password_hash(), **fields)


# --------------------------------------------------------------------------- staff anywhere

#: who → (enrolments as (course, role), is_superuser, staff somewhere by the rule)
PEOPLE: dict[str, tuple[tuple[tuple[str, str], ...], bool, bool]] = {
    "nobody": ((), False, False),
    "student": ((("a", Role.STUDENT),), False, False),
    "student twice": ((("a", Role.STUDENT), ("b", Role.STUDENT)), False, False),
    "ta": ((("a", Role.TA),), False, True),
    "instructor": ((("a", Role.INSTRUCTOR),), False, True),
    "student here, ta there": ((("a", Role.STUDENT), ("b", Role.TA)), False, True),
    "instructor of the other course": ((("b", Role.INSTRUCTOR),), False, True),
    "superuser": ((), True, False),  # the SQL asks enrolments only; the selector adds superusers
    "superuser enrolled as student": ((("a", Role.STUDENT),), True, False),
}


def _person(who: str, courses: dict[str, Course]) -> User:
    enrolments, superuser, _staff = PEOPLE[who]
    user = make_user(is_superuser=superuser)
    for course, role in enrolments:
        Enrollment.objects.create(user=user, course=courses[course], role=role)
    return user


@pytest.mark.django_db
@pytest.mark.parametrize("who", list(PEOPLE))
def test_user_staff_anywhere_equals_its_orm_rule(who: str, django_assert_num_queries: Any) -> None:
    courses = {"a": make_course(), "b": make_course()}
    others = [_person(name, courses) for name in PEOPLE if name != who]  # everyone else, as noise
    user = _person(who, courses)
    assert others
    with django_assert_num_queries(1):
        ours = sql.user_staff_anywhere(user_id=user.pk)
    orm = Enrollment.objects.filter(user_id=user.pk, role__in=STAFF_ROLES).exists()
    assert ours == orm == PEOPLE[who][2]
    # The selector built on it: the rule of accounts.selectors.courses_taught_by, or a superuser.
    assert user_is_course_staff(user=user) == (user.is_superuser or courses_taught_by(user=user).exists())


@pytest.mark.django_db
def test_user_staff_anywhere_of_no_such_user_is_false() -> None:
    Enrollment.objects.create(user=make_user(), course=make_course(), role=Role.INSTRUCTOR)
    missing = User.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000
    assert sql.user_staff_anywhere(user_id=missing) is False
    assert Enrollment.objects.filter(user_id=missing, role__in=STAFF_ROLES).exists() is False


# --------------------------------------------------------------------------- user by id


def _users() -> dict[str, User]:
    now = timezone.now()
    full = make_user("ada", email="ada@example.org", first_name="Ada", last_name="Lovelace",
                     display_name="Ada L. 愛達", is_staff=True)
    full.last_login = now - timedelta(days=1, microseconds=7)
    full.save()
    inactive = make_user("grace", is_active=False)
    superuser = make_user("root", is_superuser=True, is_staff=True)
    never = make_user("linus")  # last_login None, blank names
    return {"full": full, "inactive": inactive, "superuser": superuser, "never logged in": never}


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["full", "inactive", "superuser", "never logged in", "no such id"])
def test_user_by_id_equals_its_orm_rule(who: str, django_assert_num_queries: Any) -> None:
    users = _users()
    pk = users[who].pk if who in users else max(u.pk for u in users.values()) + 1000
    with django_assert_num_queries(1):
        ours = sql.user_by_id(pk=pk)
    orm = User._default_manager.filter(pk=pk).first()
    assert model_fields(ours) == model_fields(orm)
    assert (ours is None) == (who == "no such id")
    # The backend built on it returns what Django's ModelBackend returns, whatever the id's form.
    for user_id in (pk, str(pk)):
        assert model_fields(UserBackend().get_user(user_id)) == model_fields(ModelBackend().get_user(user_id))
