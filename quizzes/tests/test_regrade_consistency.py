"""A score a person changes carries its grade along: the stored result (colour, ✓, note) agrees with
the points on the student's results page, the staff's pages and the gradebook; staff read a student's
answer as the student's, not as their own."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import make_course
from grader.i18n import LANGS
from grader.results import GradingResult
from quizzes.services import regrades
from quizzes.services.regrades import (
    class_regrade_run,
    class_regrade_start,
    regrade_request_answer,
    regrade_request_create,
)
from quizzes.tests.factories import load_shipped_bank
from quizzes.tests.regrade_world import build, correct_the_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    load_shipped_bank()
    return build(make_course("dlcv"))


@pytest.fixture
def no_broker(monkeypatch):
    monkeypatch.setattr(regrades, "_send", lambda job_id: None)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _feedback_class(page: str, item_id: int) -> str:
    """The feedback block's colour class of one item on a results page."""
    section = page.split(f'id="item-{item_id}"', 1)[1]
    return re.search(r'class="feedback ([\w-]+)"', section).group(1)


def _answer(world, index: int, points: str, message: str):
    item = world.item(index)
    request = regrade_request_create(item_id=item.pk, student=world.students[index], reason="Please look again.")
    regrade_request_answer(request_id=request.pk, staff=world.instructor, message=message, points=Decimal(points))
    item.refresh_from_db()
    return item


def test_a_regrade_answers_score_is_the_stored_grades_score_with_the_staff_note(world) -> None:
    before = world.item(2)
    old = GradingResult.from_json(before.feedback)
    assert old is not None and old.score == 0
    item = _answer(world, 2, str(before.max_points), "Your reading of the question holds: full credit.")
    stored = GradingResult.from_json(item.feedback)
    assert stored is not None and Decimal(str(stored.score)) == item.score == 1
    assert stored.message == old.message and [p.to_json() for p in stored.parts] == [p.to_json() for p in old.parts]
    assert set(item.feedback["note"]) == set(LANGS)
    assert {stored.for_student(lang=lang)["note"] for lang in LANGS} == {
        "Your reading of the question holds: full credit."}
    # Half credit: the partial colour.
    item = _answer(world, 0, str(world.item(0).max_points / 2), "Half.")
    assert Decimal(str(item.feedback["score"])) == item.score == Decimal("0.5")


def test_the_results_and_staff_pages_show_the_new_grade(world) -> None:
    item = _answer(world, 2, str(world.item(2).max_points), "Full credit after all.")
    page = client_for(world.students[2]).get(reverse("attempt-results", args=[item.attempt_id])).content.decode()
    assert _feedback_class(page, item.pk) == "fb-correct"
    section = page.split(f'id="item-{item.pk}"', 1)[1].split("</section>", 1)[0]
    assert "✓" in section and section.count("Full credit after all.") == 1  # the request's answer, once
    request = item.regrade_requests.get()
    staff_page = client_for(world.instructor).get(
        reverse("instructor-regrade-answer", args=[world.course.slug, request.pk])).content.decode()
    assert _feedback_class(staff_page, item.pk) == "fb-correct" and "data-grade-note" in staff_page
    as_staff = client_for(world.instructor).get(reverse("attempt-results", args=[item.attempt_id])).content.decode()
    assert _feedback_class(as_staff, item.pk) == "fb-correct"


def test_staff_see_the_students_answer_not_their_own(world) -> None:
    item = world.item(0)
    request = regrade_request_create(item_id=item.pk, student=world.students[0], reason="Why?")
    staff_page = client_for(world.instructor).get(
        reverse("instructor-regrade-answer", args=[world.course.slug, request.pk])).content.decode()
    assert "← the student&#x27;s answer" in staff_page or "← the student's answer" in staff_page
    assert "← your answer" not in staff_page
    own = client_for(world.students[0]).get(reverse("attempt-results", args=[item.attempt_id])).content.decode()
    assert "← your answer" in own and "the student" not in own


def test_a_class_regrade_leaves_each_item_with_the_grade_of_its_score(world, no_broker) -> None:
    """max(old, new): a kept released score keeps the grade that gave it (a regrade answer's included),
    a raised one gets the new version's grade."""
    half = _answer(world, 2, str(world.item(2).max_points / 2), "Half credit for the reasoning.")
    correct_the_key(world)
    job = class_regrade_start(assessment=world.exam, question=world.question, from_version_ids=[world.old_version.pk],
                              allow_lower=False, by=world.instructor)
    assert class_regrade_run(job_id=job.pk) is False
    for index in range(3):
        item = world.item(index)
        stored = GradingResult.from_json(item.feedback)
        assert stored is not None and Decimal(str(stored.score)) == item.score, index
    assert [world.item(i).score for i in range(3)] == [1, 1, Decimal("0.5")]
    assert world.item(2).feedback == half.feedback  # kept with its own grade and note
