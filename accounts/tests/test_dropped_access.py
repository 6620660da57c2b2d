"""A student a roster dropped keeps their work and meets the course nowhere: every student page and
endpoint of the course — their own past attempt, its results and items, their lab submissions, My
grades, study, the course home, regrade requests — answers them 404, as it answers an outsider; the
rows stay. Each URL is asked once while enrolled (it is not a 404 then) and again after the drop."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import DroppedEnrollment, Enrollment, Role, User
from accounts.roster import roster_read_csv
from accounts.services.roster import StudentNumberMatcher, roster_apply
from accounts.tests.factories import make_course, make_member
from labs.models import Submission, SubmissionStatus
from labs.tests.factories import make_lab
from quizzes.models import AssessmentMode, Attempt, AttemptItem
from quizzes.services.attempts import attempt_start
from quizzes.tests.factories import load_shipped_bank, make_assessment

pytestmark = pytest.mark.django_db

ROSTER = "Student number,Name,Email,Role,Section\nr1,王小明,ming@example.edu,student,A\n{dropped}"
DROPPED_LINE = "r2,李小華,hua@example.edu,student,B\n"
QUESTION = "bp-chain-rule-01"


@dataclass
class World:
    student: User
    instructor: User
    attempt: Attempt
    item: AttemptItem
    submission: Submission


def _roster(course: Any, text: str) -> None:
    roster_apply(course=course, entries=roster_read_csv(data=text.encode(), filename="roster.csv"),
                 matcher=StudentNumberMatcher())


@pytest.fixture
def world() -> World:
    load_shipped_bank()
    course = make_course("dlcv")
    instructor = make_member(course, Role.INSTRUCTOR)
    _roster(course, ROSTER.format(dropped=DROPPED_LINE))
    student = User.objects.get(student_number="r2")
    exam = make_assessment(course, [QUESTION], mode=AssessmentMode.EXAM, slug="final")
    make_assessment(course, [QUESTION], mode=AssessmentMode.MOCK, slug="mock", minutes=None)
    attempt = attempt_start(user=student, assessment=exam)
    lab = make_lab(course, "lab-1")
    submission = Submission.objects.create(lab=lab, user=student, number=1, status=SubmissionStatus.GRADED,
                                           points=Decimal(3), score=Decimal("0.5"), result={"parts": []},
                                           finished_at=timezone.now())
    return World(student, instructor, attempt, attempt.items.get(), submission)


def _urls(w: World) -> dict[str, tuple[str, str]]:
    """Each student URL of the course: (method, path)."""
    a, i, s = w.attempt.pk, w.item.pk, w.submission.pk
    return {
        "course home": ("get", reverse("course-dashboard", args=["dlcv"])),
        "assessment landing": ("get", reverse("assessment-landing", args=["dlcv", "final"])),
        "assessment start": ("post", reverse("assessment-start", args=["dlcv", "final"])),
        "past exam study": ("get", reverse("past-exam-study", args=["dlcv", "mock"])),
        "attempt page": ("get", reverse("attempt", args=[a])),
        "attempt state": ("get", reverse("attempt-state", args=[a])),
        "attempt results": ("get", reverse("attempt-results", args=[a])),
        "attempt submit": ("post", reverse("attempt-submit", args=[a])),
        "item save": ("post", reverse("item-save", args=[a, i])),
        "item check": ("post", reverse("item-check", args=[a, i])),
        "item variant": ("post", reverse("item-variant", args=[a, i])),
        "item reveal": ("post", reverse("item-reveal", args=[a, i])),
        "item self-assess": ("post", reverse("item-self-assess", args=[a, i])),
        "regrade request": ("post", reverse("item-regrade-request", args=[a, i])),
        "lab list": ("get", reverse("lab-list", args=["dlcv"])),
        "lab page": ("get", reverse("lab-page", args=["lab-1"])),
        "submission page": ("get", reverse("submission-page", args=[s])),
        "submission state": ("get", reverse("submission-state", args=[s])),
        "submission API": ("get", reverse("api-submission-detail", args=[s])),
        "my grades": ("get", reverse("my-grades", args=["dlcv"])),
        "study plan": ("get", reverse("study-plan", args=["dlcv"])),
        "study readiness": ("get", reverse("study-readiness", args=["dlcv"])),
    }


URL_NAMES = [  # the keys of _urls (asserted below), for the parametrization
    "course home", "assessment landing", "assessment start", "past exam study", "attempt page", "attempt state",
    "attempt results", "attempt submit", "item save", "item check", "item variant", "item reveal",
    "item self-assess", "regrade request", "lab list", "lab page", "submission page", "submission state",
    "submission API", "my grades", "study plan", "study readiness"]


def _ask(client: Client, method: str, path: str) -> int:
    if method == "post":
        # A readable body for every script endpoint: only the access check may refuse it.
        body = '{"response": {"value": "1"}, "points_met": []}'
        return client.post(path, body, content_type="application/json", HTTP_ACCEPT="application/json").status_code
    return client.get(path).status_code


@pytest.mark.parametrize("name", URL_NAMES)
def test_a_dropped_student_is_refused_as_an_outsider_and_keeps_their_rows(world: World, name: str) -> None:
    urls = _urls(world)
    assert sorted(urls) == sorted(URL_NAMES)
    method, path = urls[name]
    client = Client()
    client.force_login(world.student)
    assert _ask(client, method, path) != 404  # while enrolled: the URL is theirs

    _roster(world.attempt.assessment.course, ROSTER.format(dropped=""))
    assert DroppedEnrollment.objects.filter(user=world.student).exists()
    assert not Enrollment.objects.filter(user=world.student).exists()
    assert _ask(client, method, path) == 404
    assert Attempt.objects.filter(pk=world.attempt.pk).exists()
    assert AttemptItem.objects.filter(pk=world.item.pk).exists()
    assert Submission.objects.filter(pk=world.submission.pk).exists()


def test_the_staff_still_read_a_dropped_students_work(world: World) -> None:
    _roster(world.attempt.assessment.course, ROSTER.format(dropped=""))
    client = Client()
    client.force_login(world.instructor)
    urls = _urls(world)
    for name in ("attempt page", "attempt state", "submission page", "submission API"):  # (results: after submission)
        assert _ask(client, *urls[name]) == 200, name
