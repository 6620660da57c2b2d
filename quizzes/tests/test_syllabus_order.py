"""Practice sets are listed in the syllabus's order (fixtures/bank/topics.yaml), not by slug: on the
student's dashboard, in the instructor's list of assessments and in the gradebook."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from accounts.models import Role
from accounts.tests.factories import make_course, make_member
from labs.selectors import course_gradebook
from quizzes.bank.exams import EXAM_TOPIC
from quizzes.bank.format import load_topics
from quizzes.instructor_selectors import assessments_for_course
from quizzes.models import Question
from quizzes.selectors import assessments_for_student
from quizzes.services.bank import practice_sets_ensure
from quizzes.tests.factories import FIXTURES, load_shipped_bank
from quizzes.tests.test_browser import TIMEOUT_MS, browser  # noqa: F401  (browser: a fixture)


def _syllabus_practice_slugs() -> list[str]:
    """The practice sets as the syllabus orders their topics; the mixed set (every topic) last."""
    with_questions = set(Question.objects.filter(retired=False).values_list("topic__slug", flat=True))
    topics = [t["slug"] for t in load_topics(FIXTURES / "bank" / "topics.yaml")
              if t["slug"] != EXAM_TOPIC and t["slug"] in with_questions]
    return [f"practice-{slug}" for slug in topics] + ["practice-mixed"]


def _practice(slugs: list[str]) -> list[str]:
    return [slug for slug in slugs if slug.startswith("practice-")]


@pytest.fixture
def course(db: None) -> Any:
    load_shipped_bank()
    course = make_course("dlcv")
    practice_sets_ensure(course=course)
    return course


@pytest.mark.django_db
def test_every_list_of_assessments_follows_the_syllabus(course: Any) -> None:
    expected = _syllabus_practice_slugs()
    assert expected != sorted(expected), "the syllabus must differ from slug order for this test to mean anything"
    student = make_member(course, Role.STUDENT)
    assert _practice([row.assessment.slug for row in assessments_for_student(user=student, course=course)]) == expected
    assert _practice([a.slug for a in assessments_for_course(course=course)]) == expected
    book = course_gradebook(course=course)
    assert _practice([column.slug for column in book.columns if column.kind == "quiz"]) == expected


@pytest.mark.django_db
def test_the_dashboard_lists_the_practice_sets_in_syllabus_order(course: Any) -> None:
    client = Client()
    client.force_login(make_member(course, Role.STUDENT))
    html = client.get(f"/courses/{course.slug}/").content.decode()
    listed = list(dict.fromkeys(re.findall(r'href="/courses/dlcv/a/(practice-[\w-]+)/"', html)))
    assert listed == _syllabus_practice_slugs()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_student_sees_the_practice_sets_in_syllabus_order(browser: Any, live_server: Any) -> None:  # noqa: F811
    from quizzes.tests.test_browser import _page

    load_shipped_bank()
    course = make_course("dlcv")
    practice_sets_ensure(course=course)
    page = _page(browser, live_server, make_member(course, Role.STUDENT, username="alice"))
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{live_server.url}/courses/dlcv/")
    hrefs = page.locator('.home-practice h3 a[href*="/a/practice-"]').evaluate_all(
        "links => links.map(link => link.getAttribute('href'))")
    assert [href.rstrip("/").rsplit("/", 1)[1] for href in hrefs] == _syllabus_practice_slugs()
    page.context.close()
