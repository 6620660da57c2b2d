"""A TA limited to sections (``accounts.access.sections_visible_to``) grades only those sections'
students: the grading queue leaves the others out and their answers are a 404; instructors and
an unlimited TA see everyone."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Enrollment, Role, User
from accounts.services.courses import teaching_sections_set
from accounts.tests.factories import make_course, make_member
from quizzes.models import AttemptItem
from quizzes.services.attempts import attempt_start, attempt_submit
from quizzes.tests.factories import load_shipped_bank, make_assessment, save_answer

ESSAY = "exam-109-q1"


@pytest.fixture
def world(db: None, settings: Any) -> dict[str, Any]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    load_shipped_bank()
    course = make_course("dlcv")
    exam = make_assessment(course, [ESSAY])
    essays: dict[str, AttemptItem] = {}
    for name, section in (("ann", "A"), ("bo", "B")):
        student = make_member(course, Role.STUDENT, username=name)
        Enrollment.objects.filter(user=student, course=course).update(section=section)
        attempt = attempt_start(user=student, assessment=exam)
        item = attempt.items.get(question_version__question__bank_id=ESSAY)
        save_answer(item, response={"text": f"{name}'s answer"})
        attempt_submit(attempt=attempt)
        essays[name] = item
    return {"course": course, "essays": essays, "ta": make_member(course, Role.TA, username="ta"),
            "instructor": make_member(course, Role.INSTRUCTOR, username="instructor")}


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _queue(user: User) -> set[str]:
    """The students whose answers the grader is shown (the question's answers, through its pages)."""
    client = _client(user)
    response = client.get(reverse("instructor-grading-queue", args=["dlcv"]))
    assert response.status_code == 200
    names = set()
    for question in response.context["questions"]:
        page = client.get(reverse("instructor-grading-question", args=["dlcv", question["question_id"]]), follow=True)
        names |= {AttemptItem.objects.get(pk=page.context["item"].pk).attempt.user.username}
        while page.context["page"]["following"] is not None:
            page = client.get(reverse("instructor-grading-item", args=["dlcv", page.context["page"]["following"].item_id]))
            names.add(page.context["item"].attempt.user.username)
    return names


def test_a_limited_ta_sees_and_grades_only_their_sections(world: dict[str, Any]) -> None:
    ta, instructor, essays = world["ta"], world["instructor"], world["essays"]
    assert _queue(ta) == _queue(instructor) == {"ann", "bo"}
    teaching_sections_set(course=world["course"], user=ta, sections=["A"])
    assert _queue(ta) == {"ann"}
    assert _queue(instructor) == {"ann", "bo"}
    item_url = lambda name: reverse("instructor-grading-item", args=["dlcv", essays[name].pk])  # noqa: E731
    assert _client(ta).get(item_url("ann")).status_code == 200
    assert _client(ta).get(item_url("bo")).status_code == 404
    assert _client(ta).post(item_url("bo"), {"adjustment": 1, "comment": "x"}).status_code == 404
    assert AttemptItem.objects.get(pk=essays["bo"].pk).needs_manual_grading
    assert _client(instructor).get(item_url("bo")).status_code == 200
