"""Mock exams: self-assessed essays are in neither the score nor the maximum, and the results page,
the course dashboard, the landing page and the gradebook show the same numbers (one rule:
quizzes.services.attempts.attempt_totals, stored on the attempt at submission)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from dlcv_site.tests.db_support import migrate_to
from labs.selectors import course_gradebook
from quizzes.models import AssessmentMode, Attempt
from quizzes.services.attempts import attempt_start, attempt_submit
from quizzes.tests import test_student_pages as pages
from quizzes.tests.factories import make_assessment
from quizzes.tests.test_student_pages import ESSAY, SINGLE, _item, _post_json, _save_url

# The fixtures of the student page tests (a course with the bank's questions, a signed-in student).
bank, course, student, student_client = pages.bank, pages.course, pages.student, pages.student_client


def _right_single(item) -> dict[str, int]:  # type: ignore[no-untyped-def]
    choices = item.question_version.spec["choices"]
    return {"choice": next(i for i, choice in enumerate(choices) if choice.get("correct"))}


def _score_on(html: str) -> str:
    match = re.search(r"Score:? ([\d.]+ / [\d.]+)", html)
    assert match, html[:2000]
    return match.group(1)


@pytest.mark.django_db
def test_mock_exam_essays_are_in_neither_score_nor_maximum_and_every_page_agrees(  # type: ignore[no-untyped-def]
        course, student, student_client) -> None:
    mock = make_assessment(course, [SINGLE, ESSAY], mode=AssessmentMode.MOCK, slug="mock-109")
    attempt = attempt_start(user=student, assessment=mock)
    single, essay = _item(attempt, SINGLE), _item(attempt, ESSAY)
    assert essay.max_points > 0
    _post_json(student_client, _save_url(single), {"response": _right_single(single)})
    _post_json(student_client, _save_url(essay), {"response": {"text": "hierarchical features"}})
    student_client.post(reverse("attempt-submit", args=[attempt.id]))
    attempt.refresh_from_db()
    assert (attempt.points, attempt.max_points) == (single.max_points, single.max_points)

    shown = f"{single.max_points.normalize():f} / {single.max_points.normalize():f}"
    results = student_client.get(reverse("attempt-results", args=[attempt.id])).content.decode()
    assert _score_on(results) == shown
    assert "1 essay is self-assessed" in results and "Essays are graded by hand." not in results
    dashboard = student_client.get(reverse("course-dashboard", args=[course.slug])).content.decode()
    card = dashboard[dashboard.index('data-assessment="mock-109"'):]
    assert re.search(r"Score ([\d.]+ / [\d.]+)", card).group(1) == shown  # type: ignore[union-attr]
    landing = student_client.get(reverse("assessment-landing", args=[course.slug, mock.slug])).content.decode()
    assert f"Best score: {shown}." in landing
    book = course_gradebook(course=course)
    column = next(i for i, c in enumerate(book.columns) if c.slug == "mock-109")
    assert book.columns[column].max_points == single.max_points
    assert next(r for r in book.rows if r.student == student).points[column] == single.max_points


@pytest.mark.django_db
def test_an_exams_essays_count_and_are_graded_by_hand(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    exam = make_assessment(course, [SINGLE, ESSAY], mode=AssessmentMode.EXAM, slug="final")
    attempt = attempt_submit(attempt=attempt_start(user=student, assessment=exam))
    assert attempt.max_points == _item(attempt, SINGLE).max_points + _item(attempt, ESSAY).max_points
    html = student_client.get(reverse("attempt-results", args=[attempt.id])).content.decode()
    assert "Essays are graded by hand." in html
    no_essay = make_assessment(course, [SINGLE], mode=AssessmentMode.EXAM, slug="quiz-1")
    attempt = attempt_submit(attempt=attempt_start(user=student, assessment=no_essay))
    html = student_client.get(reverse("attempt-results", args=[attempt.id])).content.decode()
    assert "Essays are graded by hand." not in html


@pytest.mark.django_db
def test_the_dashboard_shows_the_best_attempts_own_maximum(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    mock = make_assessment(course, [SINGLE, ESSAY], mode=AssessmentMode.MOCK, slug="mock-109")
    first = attempt_start(user=student, assessment=mock)
    _post_json(student_client, _save_url(_item(first, SINGLE)), {"response": _right_single(_item(first, SINGLE))})
    attempt_submit(attempt=first)
    second = attempt_submit(attempt=attempt_start(user=student, assessment=mock))  # blank
    # A later attempt drawn from a pool may be worth more: the best attempt's own maximum is shown.
    Attempt.objects.filter(pk=second.pk).update(max_points=Decimal(99))
    dashboard = student_client.get(reverse("course-dashboard", args=[course.slug])).content.decode()
    card = dashboard[dashboard.index('data-assessment="mock-109"'):]
    points = _item(first, SINGLE).max_points.normalize()
    assert f"Score {points:f} / {points:f}" in re.sub(r"\s+", " ", card)


@pytest.mark.django_db(transaction=True)
def test_submitted_mock_attempts_are_recomputed(migration_executor: MigrationExecutor) -> None:
    old = migrate_to(migration_executor, [("quizzes", "0004_bank_file_hash_and_conflicts")])
    User, Course = old.get_model("accounts", "User"), old.get_model("accounts", "Course")
    user, old_course = User.objects.create(username="before"), Course.objects.create(slug="c", title="C")
    Assessment, Attempt_, Item = (old.get_model("quizzes", name) for name in ("Assessment", "Attempt", "AttemptItem"))
    Question, Version = old.get_model("quizzes", "Question"), old.get_model("quizzes", "QuestionVersion")
    now = timezone.now()
    topic = old.get_model("quizzes", "Topic").objects.create(slug="t", name_zh="t", name_en="t")

    def version(bank_id: str, qtype: str):  # type: ignore[no-untyped-def]
        question = Question.objects.create(bank_id=bank_id, type=qtype, topic=topic)
        return Version.objects.create(question=question, number=1, spec={}, points=Decimal(10))

    essay, numeric = version("e", "essay"), version("n", "numeric")
    attempts = {}
    for mode in ("mock", "exam"):
        assessment = Assessment.objects.create(course=old_course, slug=mode, title=mode, mode=mode)
        attempt = Attempt_.objects.create(assessment=assessment, user=user, status="submitted", started_at=now,
                                          submitted_at=now, points=Decimal(7), max_points=Decimal(20))
        Item.objects.create(attempt=attempt, position=1, question_version=numeric, max_points=10, score=Decimal("0.7"))
        Item.objects.create(attempt=attempt, position=2, question_version=essay, max_points=10, score=0)
        attempts[mode] = attempt.pk
    new = migrate_to(migration_executor, [("quizzes", "0005_attempt_totals_leave_out_self_assessed_essays")])
    rows = {a.pk: (a.points, a.max_points) for a in new.get_model("quizzes", "Attempt").objects.all()}
    assert rows[attempts["mock"]] == (Decimal(7), Decimal(10))
    assert rows[attempts["exam"]] == (Decimal(7), Decimal(20))  # an exam's essays count


