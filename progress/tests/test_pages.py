"""The course home (a student's study plan) and the instructor's class view, from the database."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal
from functools import cache
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, TeachingSection, User
from accounts.tests.factories import make_course, make_member
from grader.problems import get_family
from quizzes.models import (
    Assessment,
    AssessmentMode,
    Attempt,
    AttemptItem,
    AttemptStatus,
    Question,
)
from quizzes.services.bank import BankContents, bank_read, bank_sync, practice_sets_ensure
from quizzes.tests.factories import FIXTURES, make_assessment

HOME_QUERY_LIMIT = 10
#: Nine for the mastery (session, user, course, sections, roster, topics, items, versions, labs) and five for
#: the exam-date verdicts (study settings, next exam, the bank's state, daily limits, every studied card).
CLASS_QUERY_LIMIT = 14
PARAM = "param-conv-by-hand-01"
#: The topics the tests answer in: a few of the bank's, several in each.
TOPICS = ("convolution", "pooling", "backprop", "activations", "detection-metrics")


@cache
def _bank() -> BankContents:
    contents, errors = bank_read(fixtures_dir=FIXTURES)
    assert errors == []
    return contents


def build_course() -> Any:
    """The course "dlcv": a slice of the bank (a few topics, a parameterized question) and its practice sets."""
    contents = _bank()
    by_topic: dict[str, list[Any]] = {}
    for q in contents.questions:
        if q.topic in TOPICS and q.type != "essay":
            by_topic.setdefault(q.topic, []).append(q)
    wanted = [q for questions in by_topic.values() for q in questions[:6]]
    wanted += [q for q in contents.questions if q.id == PARAM and q not in wanted]
    bank_sync(contents=BankContents(topics=contents.topics, mock_exams={}, questions=wanted))
    course = make_course("dlcv")
    practice_sets_ensure(course=course)
    return course


@pytest.fixture
def course(db: None) -> Any:
    return build_course()


def _client(user: User, lang: str = "en") -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = lang
    return client


def _questions(topic: str) -> list[Question]:
    return list(Question.objects.filter(topic__slug=topic, type__in=["single", "numeric", "truefalse", "multiple"])
                .select_related("current_version").order_by("bank_id"))


def answer(user: User, assessment: Assessment, graded: list[tuple[Question, float, float, list[str]]],
           *, status: str = AttemptStatus.SUBMITTED) -> Attempt:
    """An attempt of ``user`` whose items are (question, score, days ago, misconception tags), graded."""
    now = timezone.now()
    number = Attempt.objects.filter(user=user, assessment=assessment).count() + 1
    oldest = max((days for _q, _s, days, _t in graded), default=0)
    attempt = Attempt.objects.create(assessment=assessment, user=user, number=number, status=status,
                                     started_at=now - timedelta(days=oldest, minutes=5),
                                     submitted_at=None if status == AttemptStatus.IN_PROGRESS else now)
    AttemptItem.objects.bulk_create(
        AttemptItem(attempt=attempt, position=i, question_version=q.current_version, seed=i, max_points=Decimal(1),
                    score=Decimal(str(score)), feedback={"misconceptions": tags},
                    graded_at=now - timedelta(days=days))
        for i, (q, score, days, tags) in enumerate(graded, start=1))
    return attempt


def _practice(course: Any, topic: str) -> Assessment:
    return Assessment.objects.get(course=course, slug=f"practice-{topic}")


def _misconception() -> tuple[Question, str, str, str]:
    """The parameterized question, its family, one misconception's tag and its English name."""
    question = Question.objects.select_related("current_version").get(bank_id=PARAM)
    family = question.current_version.spec["family"]
    mistake = get_family(family).misconceptions[0]
    return question, family, mistake.tag, mistake.name("en")


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _section(html: str, css_class: str) -> str:
    start = html.index(f'class="{css_class}"')
    return html[start:html.index("</section>", start)]


# --------------------------------------------------------------------------- the course home


@pytest.mark.django_db
def test_the_home_puts_a_live_exam_first_then_the_next_with_a_countdown(course: Any) -> None:
    student = make_member(course, username="alice")
    now = timezone.now()
    make_assessment(course, [], slug="quiz-live", opens_at=now - timedelta(minutes=30),
                    closes_at=now + timedelta(hours=1, minutes=20, seconds=30))
    make_assessment(course, [], slug="midterm", opens_at=now + timedelta(days=3, hours=4, seconds=30),
                    closes_at=now + timedelta(days=3, hours=6))
    make_assessment(course, [], slug="final", opens_at=now + timedelta(days=40), closes_at=now + timedelta(days=41))
    html = _client(student).get(reverse("course-dashboard", args=[course.slug])).content.decode()
    exams = _text(_section(html, "home-exams"))
    assert exams.index("quiz-live") < exams.index("midterm") and "final" not in exams
    assert "open now, closes in 1 hour 21 minutes" in exams
    assert "in 3 days 4 hours" in exams
    # Before the practice sets, topics and past exams.
    assert html.index('class="home-exams"') < html.index('class="home-focus"') < html.index('class="home-practice"')
    zh = _text(_section(_client(student, "zh-hant").get(reverse("course-dashboard", args=[course.slug]))
                        .content.decode(), "home-exams"))
    assert "3 天 4 小時後" in zh and "in 3 days" not in zh


@pytest.mark.django_db
def test_a_submitted_live_exam_is_not_the_next_exam(course: Any) -> None:
    student = make_member(course, username="alice")
    now = timezone.now()
    exam = make_assessment(course, [], slug="quiz-live", opens_at=now - timedelta(minutes=30),
                           closes_at=now + timedelta(hours=1))
    answer(student, exam, [])
    html = _client(student).get(reverse("course-dashboard", args=[course.slug])).content.decode()
    assert "quiz-live" not in _section(html, "home-exams") and "No exam is scheduled." in html


@pytest.mark.django_db
def test_weak_topics_and_recent_mistakes_link_to_practising_them(course: Any) -> None:
    student = make_member(course, username="alice")
    conv, pool = _questions("convolution"), _questions("pooling")
    param, _family, tag, name = _misconception()
    practice = _practice(course, "convolution")
    answer(student, practice, [(q, 0.0, 2, []) for q in conv[:3]] + [(param, 0.0, 1, [tag])],
           status=AttemptStatus.IN_PROGRESS)
    answer(student, _practice(course, "pooling"), [(q, 1.0, 2, []) for q in pool[:3]])
    html = _client(student).get(reverse("course-dashboard", args=[course.slug])).content.decode()
    focus = _section(html, "home-focus")
    practice_url = reverse("assessment-landing", args=[course.slug, practice.slug])
    weak = focus[focus.index('class="focus-list weak-topics"'):]
    assert re.search(rf'<a href="{re.escape(practice_url)}">Convolution and feature maps</a>', weak)
    assert "Pooling" not in weak  # 100 %: not weak
    mistakes = focus[focus.index('class="focus-list recent-mistakes"'):]
    assert f'<a href="{practice_url}">{name}</a>' in mistakes
    assert tag not in html  # named, never by its tag


@pytest.mark.django_db
def test_unreleased_exams_count_for_mastery_only_once_released(course: Any) -> None:
    student = make_member(course, username="alice")
    now = timezone.now()
    exam = make_assessment(course, [], slug="midterm", opens_at=now - timedelta(days=2), closes_at=now - timedelta(days=1))
    answer(student, exam, [(q, 0.0, 1, []) for q in _questions("backprop")[:3]])
    url = reverse("course-dashboard", args=[course.slug])

    def backprop_row() -> str:
        html = _client(student).get(url).content.decode()
        table = html[html.index('class="mastery-table"'):]
        row = table[table.index('data-topic="backprop"'):]
        return row[:row.index("</tr>")]

    assert "not yet" in backprop_row()
    Assessment.objects.filter(pk=exam.pk).update(results_released_at=now - timedelta(hours=1))
    row = backprop_row()
    assert ">0\u00a0%<" in row and "not yet" not in row


@pytest.mark.django_db
def test_practice_sets_are_grouped_by_syllabus_section_and_past_exams_apart(course: Any) -> None:
    student = make_member(course, username="alice")
    make_assessment(course, [], mode=AssessmentMode.MOCK, slug="mock-109", minutes=None)
    html = _client(student).get(reverse("course-dashboard", args=[course.slug])).content.decode()
    practice = _section(html, "home-practice")
    sections = re.findall(r'<details class="practice-section" data-section="([\w-]+)">', practice)
    assert sections == ["cnn-basics", "training", "detection", "more"]  # syllabus order; the mixed set last
    basics = practice[practice.index('data-section="cnn-basics"'):practice.index('data-section="training"')]
    assert 'data-assessment="practice-convolution"' in basics and 'data-assessment="practice-pooling"' in basics
    assert 'data-assessment="mock-109"' in _section(html, "home-past-exams")
    assert 'data-assessment="mock-109"' not in practice


@pytest.mark.django_db
def test_the_home_reads_a_fixed_number_of_queries_for_a_student_with_many_answers(course: Any) -> None:
    student = make_member(course, username="alice")
    url = reverse("course-dashboard", args=[course.slug])
    client = _client(student)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    param, _family, tag, _name = _misconception()
    answer(student, _practice(course, "pooling"), [(_questions("pooling")[0], 1.0, 1, [])])
    count()  # the navigation's cached "Instructor" link, read once
    few = count()
    for topic in TOPICS:
        for round_ in range(8):
            answer(student, _practice(course, topic),
                   [(q, (i + round_) % 3 / 2, round_ * 3, []) for i, q in enumerate(_questions(topic))]
                   + [(param, 0.0, round_, [tag])])
    many = count()
    assert AttemptItem.objects.filter(attempt__user=student).count() > 200
    assert many == few and many <= HOME_QUERY_LIMIT, (few, many)


# --------------------------------------------------------------------------- the class view


def _class_of(course: Any, size: int, section: str = "A") -> list[User]:
    students = []
    param, _family, tag, _name = _misconception()
    for n in range(size):
        student = make_member(course, username=f"{section.lower()}-student-{n}")
        course.enrollments.filter(user=student).update(section=section)
        for topic in TOPICS[:3]:
            # Good three weeks ago, worse this week: the class forgets.
            answer(student, _practice(course, topic), [(q, 1.0, 20, []) for q in _questions(topic)[:3]]
                   + [(q, 0.0, 1, []) for q in _questions(topic)[3:5]] + [(param, 0.0, 1, [tag])])
        students.append(student)
    return students


@pytest.mark.django_db
def test_the_class_view_shows_weekly_mastery_on_track_and_what_is_forgotten(course: Any) -> None:
    _class_of(course, 4)
    instructor = make_member(course, Role.INSTRUCTOR, username="prof")
    html = _client(instructor).get(reverse("instructor-class-mastery", args=[course.slug])).content.decode()
    _param, _family, tag, name = _misconception()
    assert "<svg" in html and 'class="on-track-line"' in html
    assert "Convolution and feature maps" in html and name in html and tag not in _text(html)
    forgotten = html[html.index('class="forgotten"'):]
    assert "Convolution and feature maps" in forgotten[:forgotten.index("</ul>")]
    assert "0 % of 4 students are on track." in _text(html)  # no cards yet
    assert "4 not started" in _text(html)


@pytest.mark.django_db
def test_the_class_csv_has_a_row_per_topic_and_week(course: Any) -> None:
    _class_of(course, 2)
    instructor = make_member(course, Role.INSTRUCTOR, username="prof")
    response = _client(instructor).get(reverse("instructor-class-mastery-csv", args=[course.slug]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    conv = [r for r in rows if r["kind"] == "topic" and r["key"] == "convolution"]
    assert len(conv) >= 3 and all(r["students"] == "2" for r in conv)
    conv = [r for r in conv if r["class_mastery"]]  # the weeks since the first answer
    assert float(conv[0]["class_mastery"]) > float(conv[-1]["class_mastery"])  # forgotten since
    assert any(r["kind"] == "misconception" for r in rows)


@pytest.mark.django_db
def test_the_class_view_reads_a_fixed_number_of_queries_whatever_the_class_size(course: Any) -> None:
    instructor = make_member(course, Role.INSTRUCTOR, username="prof")
    client = _client(instructor)
    url = reverse("instructor-class-mastery", args=[course.slug])

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    _class_of(course, 2)
    count()  # the navigation's cached "Instructor" link, read once
    small = count()
    _class_of(course, 10, section="B")
    large = count()
    assert small == large and large <= CLASS_QUERY_LIMIT, (small, large)


@pytest.mark.django_db
def test_a_ta_sees_only_their_sections_and_students_get_403(course: Any) -> None:
    _class_of(course, 2, section="A")
    _class_of(course, 3, section="B")
    ta = make_member(course, Role.TA, username="ta")
    TeachingSection.objects.create(course=course, user=ta, section="B")
    html = _client(ta).get(reverse("instructor-class-mastery", args=[course.slug])).content.decode()
    assert "of 3 students are on track." in _text(html)
    assert '<option value="A"' not in html
    # Asking for a section not theirs is refused (400), never shown.
    refused = _client(ta).get(reverse("instructor-class-mastery", args=[course.slug]), {"section": "A"})
    assert refused.status_code == 400
    instructor = make_member(course, Role.INSTRUCTOR, username="prof")
    html = _client(instructor).get(reverse("instructor-class-mastery", args=[course.slug]), {"section": "A"}).content.decode()
    assert "of 2 students are on track." in _text(html)
    student = User.objects.get(username="a-student-0")
    assert _client(student).get(reverse("instructor-class-mastery", args=[course.slug])).status_code == 403
    assert _client(student).get(reverse("instructor-class-mastery-csv", args=[course.slug])).status_code == 403



@pytest.mark.django_db
def test_a_class_answers_times_are_the_instants_they_were_graded_at(course: Any) -> None:
    from progress.selectors import graded_answers_of_class

    student = make_member(course, Role.STUDENT, username="timed")
    question = _questions("convolution")[0]
    attempt = answer(student, _practice(course, "convolution"), [(question, 1.0, 3.25, [])])
    graded_at = attempt.items.get().graded_at
    rows = graded_answers_of_class(course=course, sections=None, now=timezone.now(), family_topic={})
    assert [row[3] for row in rows if row[0] == student.pk] == [pytest.approx(graded_at.timestamp())]
