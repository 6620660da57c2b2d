"""The manual grading queue for exam essays."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Role
from accounts.tests.factories import make_course, make_member
from quizzes.models import AttemptItem
from quizzes.services.attempts import attempt_start, attempt_submit
from quizzes.tests.factories import load_shipped_bank, make_assessment, save_answer


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def graded_setup():
    load_shipped_bank()
    course = make_course("dlcv")
    student = make_member(course, Role.STUDENT)
    exam = make_assessment(course, ["exam-109-q1", "act-dead-relu-05"])
    attempt = attempt_start(user=student, assessment=exam)
    essay = attempt.items.get(question_version__question__type="essay")
    save_answer(essay, response={"text": "Features are learned pattern responses."})
    attempt_submit(attempt=attempt)
    return course, student, attempt, essay


@pytest.mark.django_db
def test_instructor_grades_an_essay_from_the_queue(graded_setup) -> None:
    course, _student, attempt, essay = graded_setup
    teacher = client_for(make_member(course, Role.INSTRUCTOR))
    queue = teacher.get(f"/instructor/courses/{course.slug}/grading/")
    question = essay.question_version.question_id
    assert f"/grading/questions/{question}/" in queue.content.decode()
    assert [(q["graded"], q["total"]) for q in queue.context["questions"]] == [(0, 1)]
    page = teacher.get(f"/instructor/courses/{course.slug}/grading/{essay.pk}/").content.decode()
    assert "Features are learned pattern responses." in page
    not_a_number = teacher.post(f"/instructor/courses/{course.slug}/grading/{essay.pk}/", {"adjustment": "many"})
    assert not_a_number.status_code == 400 and AttemptItem.objects.get(pk=essay.pk).needs_manual_grading
    response = teacher.post(f"/instructor/courses/{course.slug}/grading/{essay.pk}/",
                            {"adjustment": 12, "comment": "Good."})
    assert response.status_code == 302
    essay.refresh_from_db()
    attempt.refresh_from_db()
    assert not essay.needs_manual_grading and float(essay.score) == pytest.approx(0.8)
    assert essay.feedback["message"] == {"en": "Good.", "zh-Hant": "Good."} and essay.feedback["graded_by"]
    queue = teacher.get(f"/instructor/courses/{course.slug}/grading/")
    assert [(q["graded"], q["total"]) for q in queue.context["questions"]] == [(1, 1)]


@pytest.mark.django_db
def test_students_and_other_courses_cannot_grade(graded_setup) -> None:
    course, student, _attempt, essay = graded_setup
    assert client_for(student).get(f"/instructor/courses/{course.slug}/grading/").status_code == 403
    assert client_for(student).post(f"/instructor/courses/{course.slug}/grading/{essay.pk}/",
                                     {"adjustment": 15}).status_code == 403
    outsider = make_member(make_course("other"), Role.INSTRUCTOR)
    assert client_for(outsider).get(f"/instructor/courses/{course.slug}/grading/{essay.pk}/").status_code == 404
    other_teacher = client_for(outsider)
    assert other_teacher.get("/instructor/courses/other/grading/" + f"{essay.pk}/").status_code == 404
