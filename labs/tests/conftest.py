"""Fixtures shared by the labs tests: one course and one enrolled student."""

import pytest

from accounts.models import Course, Role, User
from accounts.tests.factories import make_course, make_member


@pytest.fixture
def course(db: None) -> Course:
    return make_course("dlcv")


@pytest.fixture
def student(course: Course) -> User:
    return make_member(course, Role.STUDENT, username="alice")
