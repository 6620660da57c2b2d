"""Small factories (plain functions) for users, courses and enrolments."""

from __future__ import annotations

import itertools

from accounts.models import Course, Role, User
from accounts.services import course_create, user_enroll

_counter = itertools.count(1)
PASSWORD = "correct-horse-battery-staple"


def make_user(username: str | None = None, **fields: object) -> User:
    username = username or f"user{next(_counter)}"
    return User.objects.create_user(username=username, password=PASSWORD, **fields)


def make_course(slug: str | None = None) -> Course:
    slug = slug or f"course-{next(_counter)}"
    return course_create(slug=slug, title=f"Course {slug}")


def make_member(course: Course, role: str = Role.STUDENT, username: str | None = None) -> User:
    user = make_user(username)
    user_enroll(user=user, course=course, role=role)
    return user
