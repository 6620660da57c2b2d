"""Re-grading every fixed question of an assessment at once: one job per question answered at an
earlier version, previewed together, all or none."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import make_course, make_member
from quizzes.models import AssessmentMode, Question, QuestionVersion, RegradeJob, RegradeJobStatus
from quizzes.regrade_views import ALL_QUESTIONS
from quizzes.services import regrades
from quizzes.services.attempts import attempt_item_save, attempt_start, attempt_submit
from quizzes.services.authoring import question_save_source
from quizzes.services.regrades import (
    RegradeError,
    class_regrade_preview_all,
    class_regrade_run,
    class_regrade_start_all,
    fixed_questions,
)
from quizzes.tests.factories import load_shipped_bank, make_assessment
from quizzes.tests.regrade_world import FIXED, correct_key

OTHER = "act-nonlinearity-07"
pytestmark = pytest.mark.django_db


@pytest.fixture
def world(monkeypatch):
    monkeypatch.setattr(regrades, "_send", lambda job_id: None)
    load_shipped_bank()
    course = make_course("dlcv")
    instructor = make_member(course, Role.INSTRUCTOR)
    exam = make_assessment(course, [FIXED, OTHER], mode=AssessmentMode.EXAM, slug="midterm")
    for index in range(3):
        student = make_member(course, Role.STUDENT)
        attempt = attempt_start(user=student, assessment=exam)
        fixed = attempt.items.get(question_version__question__bank_id=FIXED)
        attempt_item_save(user=student, attempt_id=attempt.id, item_id=fixed.id, response={"choice": index % 3})
        attempt_submit(attempt=attempt)  # OTHER unanswered: graded again, it stays at 0
    exam.results_released_at = timezone.now()
    exam.save(update_fields=["results_released_at"])
    return course, exam, instructor


def _new_version(bank_id: str, instructor) -> QuestionVersion:
    question = Question.objects.get(bank_id=bank_id)
    if bank_id == FIXED:
        return correct_key(question, instructor)
    text = question.current_version.source_text
    edited = text.replace("\n:::", "\n補充：一句說明。\n\n:::", 1)  # a sentence more in the prompt
    assert edited != text
    return question_save_source(user=instructor, question=question, text=edited)


def test_every_fixed_question_gets_one_job_and_the_rest_none(world) -> None:
    course, exam, instructor = world
    with pytest.raises(RegradeError):  # nothing fixed yet
        class_regrade_start_all(assessment=exam, allow_lower=False, by=instructor)
    _new_version(FIXED, instructor)
    assert [q.bank_id for q, _versions in fixed_questions(assessment=exam)] == [FIXED]
    _new_version(OTHER, instructor)
    found = fixed_questions(assessment=exam)
    assert sorted(q.bank_id for q, _versions in found) == sorted([FIXED, OTHER])
    previews = {q.bank_id: p for q, p in class_regrade_preview_all(assessment=exam, allow_lower=False)}
    assert len(previews[FIXED].rows) == 3 and previews[FIXED].up == 1 and previews[OTHER].up == 0
    jobs = class_regrade_start_all(assessment=exam, allow_lower=False, by=instructor)
    assert sorted(job.question.bank_id for job in jobs) == sorted([FIXED, OTHER])
    with pytest.raises(RegradeError):  # one is running: the lot is refused, nothing added
        class_regrade_start_all(assessment=exam, allow_lower=False, by=instructor)
    assert RegradeJob.objects.count() == 2
    for job in jobs:
        assert class_regrade_run(job_id=job.pk) is False
    assert set(RegradeJob.objects.values_list("status", flat=True)) == {RegradeJobStatus.DONE}


def test_the_page_previews_every_question_and_applies_them(world) -> None:
    course, exam, instructor = world
    _new_version(FIXED, instructor)
    _new_version(OTHER, instructor)
    client = Client()
    client.force_login(instructor)
    base = reverse("instructor-class-regrade", args=[course.slug, exam.pk])
    page = client.get(base, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'value="{ALL_QUESTIONS}"' in page and "Every fixed question of this assessment" in page
    page = client.get(f"{base}?question={ALL_QUESTIONS}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'data-preview-question="{FIXED}"' in page and f'data-preview-question="{OTHER}"' in page
    applied = client.post(reverse("instructor-class-regrade-apply", args=[course.slug, exam.pk]),
                          {"question": ALL_QUESTIONS})
    assert applied.status_code == 302 and applied.url == base
    assert sorted(RegradeJob.objects.values_list("question__bank_id", flat=True)) == sorted([FIXED, OTHER])
