"""Writes for users, courses and enrolments."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction
from rest_framework.authtoken.models import Token

from accounts.models import Course, Enrollment, Role, User
from accounts.selectors import nav_staff_forget


@transaction.atomic
def course_create(*, slug: str, title: str, term: str = "") -> Course:
    course, _created = Course.objects.get_or_create(slug=slug, defaults={"title": title, "term": term})
    return course


@transaction.atomic
def user_enroll(*, user: User, course: Course, role: str = Role.STUDENT) -> Enrollment:
    if role not in Role.values:
        raise ValueError(f"Unknown role {role!r}; expected one of {Role.values}.")
    enrollment, created = Enrollment.objects.get_or_create(user=user, course=course, defaults={"role": role})
    if not created and enrollment.role != role:
        enrollment.role = role
        enrollment.save(update_fields=["role"])
    # Now, and again once committed (a page in between may have cached the old role).
    nav_staff_forget(user_id=user.pk)
    transaction.on_commit(lambda: nav_staff_forget(user_id=user.pk))
    return enrollment


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    password: str | None  # None when the account already existed (its password is not shown again)


DEMO_COURSE_SLUG = "dlcv-demo"


@transaction.atomic
def demo_course_create(*, reset_passwords: bool = False) -> tuple[Course, list[DemoAccount]]:
    """The demo course with one instructor and one student; passwords are returned only when set."""
    course = course_create(slug=DEMO_COURSE_SLUG, title="Deep Learning for Computer Vision", term="demo")
    accounts: list[DemoAccount] = []
    for username, role in (("demo-instructor", Role.INSTRUCTOR), ("demo-student", Role.STUDENT)):
        user, created = User.objects.get_or_create(username=username, defaults={"display_name": username})
        password: str | None = None
        if created or reset_passwords:
            password = secrets.token_urlsafe(9)
            user.set_password(password)
            user.save(update_fields=["password"])
        user_enroll(user=user, course=course, role=role)
        accounts.append(DemoAccount(username=username, role=role, password=password))
    return course, accounts


# --------------------------------------------------------------------------- API tokens


@transaction.atomic
def token_get_or_create(*, user: User) -> Token:
    """The user's token, created on first use (what ``POST /api/auth/token/`` hands out)."""
    token, _created = Token.objects.get_or_create(user=user)
    return token


@transaction.atomic
def token_rotate(*, user: User) -> Token:
    """A fresh token for the user; the old one (if any) stops working at once."""
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


@transaction.atomic
def token_revoke(*, user: User) -> bool:
    """Delete the user's token; True if there was one."""
    deleted, _by_model = Token.objects.filter(user=user).delete()
    return deleted > 0
