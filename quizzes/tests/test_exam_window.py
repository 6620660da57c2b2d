"""An exam that is not open yet or has closed says why and when, and offers no start button (the
server would refuse it: quizzes.services.attempts.exam_window is the one rule for both)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from quizzes.models import Extension
from quizzes.services.attempts import attempt_start
from quizzes.tests import test_student_pages as pages
from quizzes.tests.test_student_pages import SINGLE, _exam, _practice

# The fixtures of the student page tests (a course with the bank's questions, a signed-in student).
bank, course, student, student_client = pages.bank, pages.course, pages.student, pages.student_client

TAIPEI = ZoneInfo("Asia/Taipei")


def _landing(client: Client, assessment) -> str:  # type: ignore[no-untyped-def]
    return client.get(reverse("assessment-landing", args=[assessment.course.slug, assessment.slug])).content.decode()


def _start_form(assessment) -> str:  # type: ignore[no-untyped-def]
    return f'action="{reverse("assessment-start", args=[assessment.course.slug, assessment.slug])}"'


def _taipei(moment: datetime) -> str:
    return moment.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M")


@pytest.mark.django_db
def test_a_not_yet_open_exam_says_when_and_has_no_start_button(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    opens = timezone.now() + timedelta(days=1)
    exam = _exam(course, [SINGLE], slug="later", opens_at=opens, closes_at=opens + timedelta(hours=2))
    html = _landing(student_client, exam)
    assert 'data-window="not-open-yet"' in html and f"it opens at {_taipei(opens)} (Taipei time)" in html
    assert _start_form(exam) not in html and ">Start<" not in html
    student_client.cookies["django_language"] = "zh-hant"
    html = _landing(student_client, exam)
    assert _taipei(opens) in html and "尚未開放" in html and _start_form(exam) not in html


@pytest.mark.django_db
def test_a_closed_exam_says_when_it_closed_and_has_no_start_button(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    closes = timezone.now() - timedelta(hours=1)
    exam = _exam(course, [SINGLE], slug="gone", opens_at=closes - timedelta(days=1), closes_at=closes)
    html = _landing(student_client, exam)
    assert 'data-window="closed"' in html and f"closed at {_taipei(closes)} (Taipei time)" in html
    assert _start_form(exam) not in html
    # A student with an extension still inside it gets the button, and the server agrees.
    Extension.objects.create(assessment=exam, user=student, extra_minutes=120)
    html = _landing(student_client, exam)
    assert _start_form(exam) in html and 'data-window="closed"' not in html
    assert attempt_start(user=student, assessment=exam).pk


@pytest.mark.django_db
def test_an_open_exam_and_practice_outside_its_dates_keep_the_button(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    exam = _exam(course, [SINGLE], slug="now", opens_at=now - timedelta(hours=1), closes_at=now + timedelta(hours=1))
    assert _start_form(exam) in _landing(student_client, exam)
    practice = _practice(course, [SINGLE], closes_at=now - timedelta(days=1), opens_at=now - timedelta(days=2))
    html = _landing(student_client, practice)  # practice is not held to its dates: the server starts it
    assert _start_form(practice) in html and "data-window" not in html
