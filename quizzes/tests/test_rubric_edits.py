"""A question's rubric after grading began: deleting an item (every answer it was applied to re-scored,
audited as kind ``rubric``), moving items (the grading page's number keys follow), and a change after
the results were released reaching the students' feedback."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from accounts.tests.factories import make_course, make_member
from quizzes.models import Attempt, AttemptItem, Question, RubricApplication, RubricItem, ScoreChange
from quizzes.rubric import rubric_score
from quizzes.services.attempts import attempt_start, attempt_submit, attempt_totals
from quizzes.services.rubric import (
    essay_grade_with_rubric,
    rubric_item_create,
    rubric_item_delete,
    rubric_item_move,
    rubric_item_update,
)
from quizzes.tests.factories import load_shipped_bank, make_assessment, save_answer

ESSAY = "exam-109-q1"
pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(settings: Any) -> dict[str, Any]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    load_shipped_bank()
    course = make_course("dlcv")
    exam = make_assessment(course, [ESSAY])
    essays: dict[str, AttemptItem] = {}
    for name in ("ann", "bo"):
        student = make_member(course, Role.STUDENT, username=name)
        attempt = attempt_start(user=student, assessment=exam)
        item = attempt.items.get(question_version__question__bank_id=ESSAY)
        save_answer(item, response={"text": f"{name}: weights are shared across positions."})
        attempt_submit(attempt=attempt)
        essays[name] = AttemptItem.objects.get(pk=item.pk)
    teacher = make_member(course, Role.INSTRUCTOR, username="ian")
    question = essays["ann"].question_version.question
    a = rubric_item_create(question=question, title="甲", title_en="Item A", points="4")
    b = rubric_item_create(question=question, title="乙", title_en="Item B", points="3")
    c = rubric_item_create(question=question, title="丙", title_en="Item C", points="-1")
    essay_grade_with_rubric(item_id=essays["ann"].pk, applied_ids=[a.pk, b.pk], adjustment=0, comment="",
                            grader=teacher)
    essay_grade_with_rubric(item_id=essays["bo"].pk, applied_ids=[b.pk, c.pk], adjustment="1", comment="",
                            grader=teacher)
    return {"course": course, "exam": exam, "essays": essays, "question": question, "teacher": teacher,
            "items": (a, b, c)}


def _points_of(attempt_id: int) -> Decimal:
    attempt = Attempt.objects.select_related("assessment").get(pk=attempt_id)
    return attempt_totals(mode=attempt.assessment.mode,
                          items=attempt.items.select_related("question_version__question")).points.quantize(
        Decimal("0.001"), rounding=ROUND_HALF_UP)  # Attempt.points' precision, as PostgreSQL rounds


def test_deleting_an_item_rescores_its_answers_and_audits_them(world: dict[str, Any]) -> None:
    essays, teacher = world["essays"], world["teacher"]
    a, b, c = world["items"]
    before = {name: AttemptItem.objects.get(pk=item.pk).score for name, item in essays.items()}
    assert rubric_item_delete(rubric_item_id=b.pk, changed_by=teacher) == 2
    ann, bo = (AttemptItem.objects.get(pk=essays[n].pk) for n in ("ann", "bo"))
    assert ann.score == rubric_score(applied=[a.points], adjustment=Decimal(0), max_points=ann.max_points)
    assert bo.score == rubric_score(applied=[c.points], adjustment=Decimal(1), max_points=bo.max_points)
    assert ann.score != before["ann"] and bo.score != before["bo"]
    audit = ScoreChange.objects.filter(kind="rubric").order_by("item_id")
    assert [(x.item_id, x.old_score, x.new_score) for x in audit] == sorted(
        [(ann.pk, before["ann"], ann.score), (bo.pk, before["bo"], bo.score)])
    assert all(x.changed_by == teacher and "乙" in x.reason for x in audit)
    for item in (ann, bo):
        names = [p["name"] for p in item.feedback["parts"]]
        assert f"rubric-{b.pk}" not in names and item.feedback["score"] == pytest.approx(float(item.score))
        assert Attempt.objects.get(pk=item.attempt_id).points == _points_of(item.attempt_id)
    assert not RubricApplication.objects.filter(rubric_item_id=b.pk).exists()
    # The items after it moved up: positions stay 1..n, the keys with them.
    assert list(RubricItem.objects.filter(question=world["question"]).values_list("pk", "position")) == [
        (a.pk, 1), (c.pk, 2)]


def test_moving_items_reorders_the_rubric_and_the_grading_keys(world: dict[str, Any]) -> None:
    course, question, teacher = world["course"], world["question"], world["teacher"]
    a, b, c = world["items"]
    rubric_item_move(rubric_item_id=c.pk, up=True)
    assert list(RubricItem.objects.filter(question=question).values_list("pk", flat=True)) == [a.pk, c.pk, b.pk]
    rubric_item_move(rubric_item_id=a.pk, up=True)  # first already: nothing moves
    rubric_item_move(rubric_item_id=b.pk, up=False)  # last already
    assert list(RubricItem.objects.filter(question=question).values_list("pk", flat=True)) == [a.pk, c.pk, b.pk]
    page = _client(teacher).get(reverse("instructor-grading-item", args=[course.slug, world["essays"]["ann"].pk]),
                                HTTP_ACCEPT_LANGUAGE="en").content.decode()
    keys = {int(pk): key for pk, key in re.findall(r'id="rubric-(\d+)"[^>]*data-rubric-key="(\d)"', page)}
    assert keys == {a.pk: "1", c.pk: "2", b.pk: "3"}


def test_the_rubric_page_moves_and_deletes(world: dict[str, Any]) -> None:
    course, question, teacher = world["course"], world["question"], world["teacher"]
    a, b, c = world["items"]
    client = _client(teacher)
    url = reverse("instructor-grading-rubric", args=[course.slug, question.pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert page.count('data-move="up"') == 2 and page.count('data-move="down"') == 2 and page.count("data-delete") == 3
    assert client.post(url, {"rubric_item": b.pk, "action": "down"}).status_code == 302
    assert list(RubricItem.objects.filter(question=question).values_list("pk", flat=True)) == [a.pk, c.pk, b.pk]
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert page.index("<kbd>2</kbd>") < page.index("丙") < page.index("<kbd>3</kbd>") < page.index("乙")
    assert client.post(url, {"rubric_item": a.pk, "action": "delete"}).status_code == 302
    assert not RubricItem.objects.filter(pk=a.pk).exists()
    assert ScoreChange.objects.filter(kind="rubric", item=world["essays"]["ann"]).count() == 1
    # A student may not; another question's rubric item is not found.
    student = world["essays"]["bo"].attempt.user
    assert _client(student).post(url, {"rubric_item": c.pk, "action": "delete"}).status_code == 403
    other = RubricItem.objects.create(question=Question.objects.exclude(pk=question.pk).first(), title="x",
                                      points=1, position=1)
    assert client.post(url, {"rubric_item": other.pk, "action": "delete"}).status_code == 404
    assert RubricItem.objects.filter(pk=c.pk).exists()


def test_a_change_after_release_reaches_the_students_feedback(world: dict[str, Any]) -> None:
    exam, teacher, essays = world["exam"], world["teacher"], world["essays"]
    a, b, c = world["items"]
    exam.results_released_at = timezone.now() - timedelta(minutes=1)
    exam.save(update_fields=["results_released_at"])
    results = reverse("attempt-results", args=[essays["ann"].attempt_id])
    student = _client(essays["ann"].attempt.user)
    shown = student.get(results + "?lang=en").content.decode()
    assert "Item A: +4" in shown and "Item B: +3" in shown
    rubric_item_update(rubric_item_id=a.pk, title="甲（改）", title_en="Item A, reworded", points="2",
                       changed_by=teacher)
    rubric_item_delete(rubric_item_id=b.pk, changed_by=teacher)
    shown = student.get(results + "?lang=en").content.decode()
    assert "Item A, reworded: +2" in shown and "Item B" not in shown and "Item A: +4" not in shown
    ann = AttemptItem.objects.get(pk=essays["ann"].pk)
    assert f"{ann.score * ann.max_points:.2f}".rstrip("0").rstrip(".") in shown
    assert "甲（改）" in student.get(results + "?lang=zh-hant").content.decode()
