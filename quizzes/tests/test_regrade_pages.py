"""The regrade pages through Django's test client: ask, answer, see the outcome; the class regrade's
preview, apply and progress; the score log and its CSV; who may open what."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role, TeachingSection
from accounts.tests.factories import make_course, make_member
from quizzes.models import RegradeJob, RegradeRequest
from quizzes.services import regrades
from quizzes.services.regrades import class_regrade_run
from quizzes.tests.factories import load_shipped_bank
from quizzes.tests.regrade_world import build, correct_the_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    load_shipped_bank()
    return build(make_course("dlcv"))


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_ask_answer_and_see_the_outcome(world) -> None:
    student, item = world.students[2], world.item(2)
    results = reverse("attempt-results", args=[item.attempt_id])
    page = client_for(student).get(results).content.decode()
    assert "Ask for a regrade of this question" in page and "You may ask for a regrade" in page
    asked = client_for(student).post(reverse("item-regrade-request", args=[item.attempt_id, item.pk]),
                                     {"reason": "Option C is right under the lecture's definition."})
    assert asked.status_code == 302
    request = RegradeRequest.objects.get(item=item)
    other = client_for(world.students[0])
    assert other.post(reverse("item-regrade-request", args=[item.attempt_id, item.pk]), {"reason": "x"}).status_code == 404
    assert "Option C is right" not in other.get(reverse("attempt-results", args=[world.attempts[0].pk])).content.decode()
    staff = client_for(world.instructor)
    queue = staff.get(reverse("instructor-regrade-queue", args=[world.course.slug])).content.decode()
    assert student.username in queue
    answer_url = reverse("instructor-regrade-answer", args=[world.course.slug, request.pk])
    assert "Option C is right" in staff.get(answer_url).content.decode()
    assert staff.post(answer_url, {"message": "", "points": ""}).status_code == 400
    assert staff.post(answer_url, {"message": "Fair point: full credit.", "points": "1"}).status_code == 302
    page = client_for(student).get(results).content.decode()
    assert "Fair point: full credit." in page and "Your score was changed after your regrade request" in page
    log = staff.get(reverse("instructor-score-log-csv", args=[world.course.slug, world.exam.pk])).content.decode()
    assert "regrade_request" in log and "Fair point: full credit." in log and student.username in log


def test_staff_pages_are_closed_to_students_and_limited_for_tas(world) -> None:
    course = world.course
    request = RegradeRequest.objects.create(item=world.item(0), student=world.students[0], reason="r",
                                            created_at=world.exam.results_released_at)
    student = client_for(world.students[0])
    assert student.get(reverse("instructor-regrade-queue", args=[course.slug])).status_code == 403
    assert student.get(reverse("instructor-class-regrade", args=[course.slug, world.exam.pk])).status_code == 403
    ta = make_member(course, Role.TA)
    TeachingSection.objects.create(course=course, user=ta, section="B")  # students[0] is in section A
    ta_client = client_for(ta)
    assert ta_client.get(reverse("instructor-regrade-answer", args=[course.slug, request.pk])).status_code == 404
    assert world.students[0].username not in ta_client.get(
        reverse("instructor-regrade-queue", args=[course.slug])).content.decode()
    assert ta_client.get(reverse("instructor-class-regrade", args=[course.slug, world.exam.pk])).status_code == 403


def test_preview_apply_and_progress(world, monkeypatch, django_capture_on_commit_callbacks) -> None:
    sent: list[int] = []
    monkeypatch.setattr(regrades, "_send", sent.append)
    correct_the_key(world)
    staff = client_for(world.instructor)
    base = reverse("instructor-class-regrade", args=[world.course.slug, world.exam.pk])
    page = staff.get(base).content.decode()
    assert world.question.bank_id in page
    preview = staff.get(base, {"question": world.question.bank_id, "versions": [world.old_version.pk]})
    assert preview.status_code == 200
    assert "1 up, 0 down, 2 unchanged." in preview.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        applied = staff.post(reverse("instructor-class-regrade-apply", args=[world.course.slug, world.exam.pk]),
                             {"question": world.question.bank_id, "versions": [world.old_version.pk]})
    job = RegradeJob.objects.get()
    assert applied.status_code == 302 and sent == [job.pk]
    state_url = reverse("instructor-regrade-job-state", args=[world.course.slug, world.exam.pk, job.pk])
    assert staff.get(state_url).json()["processed"] == 0
    class_regrade_run(job_id=job.pk)
    state = staff.get(state_url).json()
    assert (state["finished"], state["processed"], state["raised"]) == (True, 3, 1)
    raised = client_for(world.students[1]).get(reverse("attempt-results", args=[world.attempts[1].pk]))
    assert "graded again for everyone" in raised.content.decode()
