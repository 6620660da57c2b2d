"""The manual grading queue for exam essays."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Role
from accounts.tests.factories import make_course, make_member
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
    queue = teacher.get(f"/instructor/courses/{course.slug}/grading/").content.decode()
    assert f"/grading/{essay.pk}/" in queue
    page = teacher.get(f"/instructor/courses/{course.slug}/grading/{essay.pk}/").content.decode()
    assert "Features are learned pattern responses." in page
    too_many = teacher.post(f"/instructor/courses/{course.slug}/grading/{essay.pk}/", {"points": 99})
    assert too_many.status_code == 200 and "At most" in too_many.content.decode()
    response = teacher.post(f"/instructor/courses/{course.slug}/grading/{essay.pk}/",
                            {"points": 12, "comment": "Good."})
    assert response.status_code == 302
    essay.refresh_from_db()
    attempt.refresh_from_db()
    assert not essay.needs_manual_grading and float(essay.score) == pytest.approx(0.8)
    assert essay.feedback["message"] == {"en": "Good.", "zh-Hant": "Good."} and essay.feedback["graded_by"]
    assert f"/grading/{essay.pk}/" not in teacher.get(f"/instructor/courses/{course.slug}/grading/").content.decode()


@pytest.mark.django_db
def test_students_and_other_courses_cannot_grade(graded_setup) -> None:
    course, student, _attempt, essay = graded_setup
    assert client_for(student).get(f"/instructor/courses/{course.slug}/grading/").status_code == 403
    assert client_for(student).post(f"/instructor/courses/{course.slug}/grading/{essay.pk}/",
                                     {"points": 15}).status_code == 403
    outsider = make_member(make_course("other"), Role.INSTRUCTOR)
    assert client_for(outsider).get(f"/instructor/courses/{course.slug}/grading/{essay.pk}/").status_code == 404
    other_teacher = client_for(outsider)
    assert other_teacher.get("/instructor/courses/other/grading/" + f"{essay.pk}/").status_code == 404
