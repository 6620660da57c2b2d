"""On track for the exam date in the class view: each student's verdict is their own readiness page's
(the predicted recall with the plan against the course's desired retention), in the HTML and the CSV;
no cards is "not started"; no exam falls back to two weeks from now; the queries stay fixed."""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from accounts.tests.factories import make_member
from quizzes.models import AssessmentMode, Question
from quizzes.services.attempts import attempt_start, practice_check
from quizzes.tests.factories import make_assessment
from study import selectors
from study.models import Card, StudyPreferences
from study.services import cards
from study.services.simulation import right_response, wrong_response

from .test_pages import CLASS_QUERY_LIMIT, TOPICS, _client, _practice, build_course


@pytest.fixture
def course(db: None) -> Any:
    return build_course()


def _study(student: User, course: Any, topics: tuple[str, ...], *, right: bool) -> None:
    """Practise ``topics`` through the real services: each check recorded on the student's cards."""
    rng = random.Random(student.pk)
    for topic in topics:
        for item in attempt_start(user=student, assessment=_practice(course, topic)).items.all():
            practice_check(item=item, response=right_response(item) if right else wrong_response(item, rng))
            cards.attempt_item_record(item_id=item.pk)


def _page_verdict(student: User, course: Any) -> str:
    html = _client(student).get(reverse("study-readiness", args=[course.slug])).content.decode()
    return re.search(r'class="readiness-verdict" data-verdict="(\w+)"', html).group(1)


def _class_verdicts(instructor: User, course: Any) -> tuple[str, dict[str, str], dict[str, dict[str, str]]]:
    client = _client(instructor)
    html = client.get(reverse("instructor-class-mastery", args=[course.slug])).content.decode()
    shown = dict(re.findall(r'data-student="([\w-]+)" data-verdict="(\w+)"', html))
    rows = csv.DictReader(io.StringIO(client.get(reverse("instructor-class-mastery-csv",
                                                         args=[course.slug])).content.decode()))
    return html, shown, {r["key"]: r for r in rows if r["kind"] == "student"}


def _class(course: Any) -> tuple[User, User, User, User]:
    ready = make_member(course, username="ready")
    shaky = make_member(course, username="shaky")
    fresh = make_member(course, username="fresh")
    _study(ready, course, TOPICS, right=True)
    _study(shaky, course, TOPICS[:1], right=True)
    # Behind: most of the course's skills unstudied and one new card a day, too few days to learn them all.
    StudyPreferences.objects.create(user=shaky, course=course, new_per_day=1)
    now = timezone.now()
    target = selectors.study_settings(course=course).desired_retention
    assert selectors.readiness(user=shaky, course=course, now=now).overall_plan < target - 0.01
    assert selectors.readiness(user=ready, course=course, now=now).overall_plan >= target + 0.01
    return ready, shaky, fresh, make_member(course, Role.INSTRUCTOR, username="prof")


@pytest.mark.django_db
def test_the_class_views_verdict_is_each_students_readiness_page(course: Any) -> None:
    exam = make_assessment(course, [], mode=AssessmentMode.EXAM, slug="final", opens_at=timezone.now() + timedelta(days=5),
                           closes_at=timezone.now() + timedelta(days=5, hours=2))
    exam.title = "Final exam"
    exam.save(update_fields=["title"])
    students = _class(course)
    html, shown, rows = _class_verdicts(students[-1], course)
    expected = {"ready": "on_track", "shaky": "behind", "fresh": "not_started"}
    for student in students[:3]:
        page = _page_verdict(student, course)
        assert page == shown[student.username] == rows[student.username]["verdict"] == expected[student.username]
        view = selectors.readiness(user=student, course=course, now=timezone.now())
        if student.username != "fresh":  # the same figure, not only the same side of the target
            assert float(rows[student.username]["predicted_recall"]) == pytest.approx(view.overall_plan, abs=1e-3)
            assert float(rows[student.username]["recall_if_stop"]) == pytest.approx(view.overall_stop, abs=1e-3)
            assert view.overall_stop < view.overall_plan  # stopping forgets; the plan keeps reviewing
        else:
            assert rows[student.username]["recall_if_stop"] == ""
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Final exam" in text and "33 % of 3 students are on track." in text  # (\s took the no-break space)
    assert "1 on track" in text and "1 behind" in text and "1 not started" in text
    assert "past predictions of recall are not kept" in text  # the weekly chart says what it is


@pytest.mark.django_db
def test_without_an_exam_the_verdict_is_for_two_weeks_from_now_on_both_pages(course: Any) -> None:
    students = _class(course)
    html, shown, _rows = _class_verdicts(students[-1], course)
    assert "No exam is scheduled" in html
    for student in students[:3]:
        assert _page_verdict(student, course) == shown[student.username]


@pytest.mark.django_db
def test_the_verdicts_read_a_fixed_number_of_queries_whatever_the_cards(course: Any) -> None:
    instructor = make_member(course, Role.INSTRUCTOR, username="prof")
    client = _client(instructor)
    url = reverse("instructor-class-mastery", args=[course.slug])
    skills = [f"q:{bank_id}" for bank_id in Question.objects.order_by("bank_id").values_list("bank_id", flat=True)]
    now = timezone.now()

    def enrol(count: int, prefix: str, per_student: int) -> None:
        for n in range(count):
            student = make_member(course, username=f"{prefix}-{n}")
            Card.objects.bulk_create(Card(user=student, course=course, skill=skill, state=2, stability=3.0 + i,
                                          difficulty=5.0, due=now + timedelta(days=i % 5), last_review=now - timedelta(days=1),
                                          reps=1, created_at=now) for i, skill in enumerate(skills[:per_student]))

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        return len(queries)

    enrol(2, "small", 3)
    count()  # the navigation's cached "Instructor" link, read once
    small = count()
    enrol(12, "large", 25)
    large = count()
    assert small == large and large <= CLASS_QUERY_LIMIT, (small, large)
    assert 'data-verdict="not_started"' not in client.get(url).content.decode()  # every one of them has studied
