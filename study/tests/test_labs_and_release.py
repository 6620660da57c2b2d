"""Lab submissions and exams released at a set time reach the study plans (issue 20, follow-ups)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from celery import current_app
from django.utils import timezone

from dlcv_site import events
from dlcv_site.celery import app
from grader import spaced
from grader.results import GradingResult
from labs.models import SubmissionStatus
from labs.services import submission_create
from labs.services.grading import submission_grade
from labs.tests.factories import first_misconception, lab_answers, make_lab
from quizzes.models import Assessment, AssessmentMode
from quizzes.services.attempts import attempt_start, attempt_submit
from quizzes.tests import test_student_pages as pages
from quizzes.tests.factories import make_assessment, save_answer
from quizzes.tests.test_student_pages import NUMERIC
from study import tasks
from study.models import Card, ExamRecorded, ReviewLog
from study.services import cards
from study.services import queue as study_queue
from study.services.simulation import right_response

#: The tests watch the announcements go out by task name (a stand-in broker records them).
pytestmark = pytest.mark.announces

bank, course, student, student_client = pages.bank, pages.course, pages.student, pages.student_client


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, list[int], dict[str, Any]]]:  # type: ignore[no-untyped-def]
    """What would go to the broker by task name (events, the study queue, the labs' grading queue)."""
    calls: list[tuple[str, list[int], dict[str, Any]]] = []

    def record(name: str, args: list[int], **kwargs: Any) -> None:
        calls.append((name, list(args), kwargs))

    monkeypatch.setattr(current_app, "send_task", record)
    return calls


def _graded_submission(lab, student, wrong: dict[str, str], capture) -> Any:  # type: ignore[no-untyped-def]
    with capture(execute=True):
        submission = submission_create(user=student, lab=lab, answers=lab_answers(lab, student, wrong=wrong)).submission
    with capture(execute=True):
        submission_grade(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.GRADED
    return submission


@pytest.mark.django_db
def test_a_graded_lab_submission_is_announced_to_study_and_rates_each_parts_cards_once(
        course, student, sent, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab(course)
    wrong_tag = first_misconception(lab.parts.get(key="conv"), student)
    submission = _graded_submission(lab, student, {"conv": wrong_tag}, django_capture_on_commit_callbacks)
    # Announced by task name on commit, to the default queue (the LTI's passback keeps its own).
    assert ("study.record_submission", [submission.pk], {}) in sent
    assert any(name == events.LAB_SUBMISSION_GRADED and args == [submission.pk] for name, args, _kw in sent)

    result = GradingResult.from_json(submission.result)
    assert result is not None
    parts = {part.name: part for part in result.parts}
    named = parts["conv"].misconceptions
    assert named, "the wrong part's grader names the misconception it was answered with"

    written = tasks.record_submission(submission.pk)  # the task in-process: the id in, re-read
    assert tasks.record_submission(submission.pk) == 0  # delivered again: nothing more
    logs = ReviewLog.objects.filter(user=student)
    assert written == logs.count() == 2 + len(named)
    assert {log.kind for log in logs} == {"lab"}
    by_skill = {log.card.skill: log for log in logs.select_related("card")}
    conv, cost = parts["conv"].family, parts["cost"].family
    assert by_skill[spaced.family_skill(conv)].rating == spaced.Rating.AGAIN
    assert by_skill[spaced.family_skill(cost)].rating == spaced.rating_for(score=parts["cost"].score)
    for tag in named:
        log = by_skill[spaced.family_skill(conv, tag)]
        assert log.rating == spaced.Rating.AGAIN and log.misconception == tag
        assert log.source == f"lab:{submission.pk}:conv"
    assert Card.objects.filter(user=student, reps=1).count() == written


@pytest.mark.django_db
def test_a_coding_lab_or_an_ungraded_submission_touches_no_card(course, student, sent) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab(course)
    submission = submission_create(user=student, lab=lab, answers=lab_answers(lab, student)).submission
    assert cards.submission_record(submission_id=submission.pk) == 0  # queued, not graded
    assert cards.submission_record(submission_id=submission.pk + 1000) == 0  # gone
    assert not Card.objects.exists()


def _submitted_exam(course, student, slug: str = "final") -> Assessment:  # type: ignore[no-untyped-def]
    exam = make_assessment(course, [NUMERIC], mode=AssessmentMode.EXAM, slug=slug)
    attempt = attempt_start(user=student, assessment=exam)
    item = attempt.items.get()
    save_answer(item, response=right_response(item))
    attempt_submit(attempt=attempt)
    return exam


@pytest.mark.django_db
def test_an_exam_released_at_a_future_time_reaches_the_plans_when_that_time_comes(course, student, sent) -> None:  # type: ignore[no-untyped-def]
    exam = _submitted_exam(course, student)
    now = timezone.now()
    release = now + timedelta(hours=2)
    Assessment.objects.filter(pk=exam.pk).update(results_released_at=release)  # set on the exam's form

    assert cards.released_exams_pending(now=now) == []
    assert cards.assessment_record(assessment_id=exam.pk, now=now) == 0  # not visible yet
    assert not ExamRecorded.objects.exists()

    later = release + timedelta(minutes=1)
    assert cards.released_exams_send(now=later) == [exam.pk]
    assert sent == [(study_queue.RECORD_ASSESSMENT_TASK, [exam.pk], {})]
    assert cards.assessment_record(assessment_id=exam.pk, now=later) == 1
    assert ReviewLog.objects.get(user=student).kind == "exam"
    assert cards.released_exams_pending(now=later) == []  # recorded at this release time
    assert cards.assessment_record(assessment_id=exam.pk, now=later) == 0  # the beat's message again

    moved = later + timedelta(days=1)  # the release withdrawn and set again later: read once more
    Assessment.objects.filter(pk=exam.pk).update(results_released_at=moved)
    assert cards.released_exams_pending(now=later) == []
    assert cards.released_exams_pending(now=moved) == [exam.pk]


@pytest.mark.django_db
def test_the_beat_sends_the_sweep_by_name_and_skips_practice_and_unreleased(course, student, sent) -> None:  # type: ignore[no-untyped-def]
    schedule = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "study.record_released_exams" in schedule
    assert {"study.record_released_exams", "study.record_submission"} <= set(app.tasks)
    unreleased = _submitted_exam(course, student, slug="midterm")
    past = _submitted_exam(course, student, slug="quiz1")
    Assessment.objects.filter(pk=past.pk).update(results_released_at=timezone.now() - timedelta(minutes=5))
    make_assessment(course, [NUMERIC], mode=AssessmentMode.PRACTICE, slug="drill")
    assert tasks.record_released_exams() == 1
    assert sent == [(study_queue.RECORD_ASSESSMENT_TASK, [past.pk], {})]
    assert unreleased.pk not in cards.released_exams_pending()


@pytest.mark.django_db
def test_the_today_panel_on_the_plan_page_words_no_exam_and_does_not_link_to_itself(course, student,  # type: ignore[no-untyped-def]
                                                                                     student_client) -> None:
    from django.urls import reverse

    html = student_client.get(reverse("study-plan", args=[course.slug]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    panel = html[html.index("data-today-panel"):html.index("</section>", html.index("data-today-panel"))]
    assert "No upcoming exam" in panel and "about 0 minutes" not in panel
    assert reverse("study-plan", args=[course.slug]) + '"' not in panel  # the page is the plan itself
    assert reverse("study-readiness", args=[course.slug]) in panel
