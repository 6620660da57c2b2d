"""An exam's parameterized variants worked out before it opens (``exam_variants_prepare``) and read
by the exam page (``quizzes.prepared_views``)."""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import caches
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from accounts.services import user_enroll
from accounts.tests.factories import make_course, make_member, make_user
from quizzes import prepared_views, presenters
from quizzes.models import AssessmentItem, AssessmentMode, Question, Topic
from quizzes.services.attempts import attempt_start, exam_variants_prepare, exams_prepare_upcoming
from quizzes.tests.factories import load_shipped_bank, make_assessment

LANGS = ["zh-hant", "en"]


@pytest.fixture
def course():
    load_shipped_bank()
    return make_course("dlcv")


def _exam(course, **fields):  # type: ignore[no-untyped-def]
    """A fixed parameterized question, a fixed choice question, and a shuffled pool of the detection
    metrics topic (two parameterized questions among its others): each student draws their own."""
    exam = make_assessment(course, ["param-conv-by-hand-01", "act-dead-relu-05"], shuffle_questions=True, **fields)
    AssessmentItem.objects.create(assessment=exam, position=3, pool_topic=Topic.objects.get(slug="detection-metrics"),
                                  pool_count=3)
    return exam


def _items(page: str) -> list[str]:
    """The items of a quiz page (each ``quizzes/_item.html``)."""
    return re.findall(r'<section class="q" .*?</section>', page, flags=re.S)


def _param_items(attempt):  # type: ignore[no-untyped-def]
    return [item for item in attempt.items.select_related("question_version__question")
            if item.question_version.question.type == "param"]


@pytest.mark.django_db
def test_the_prepared_views_are_those_of_the_attempts_the_students_then_start(course) -> None:
    students = [make_member(course, Role.STUDENT) for _ in range(6)]
    make_member(course, Role.TA)  # staff take no exam: nothing prepared for them
    exam = _exam(course)
    prepared = exam_variants_prepare(assessment=exam)
    attempts = [attempt_start(user=student, assessment=exam) for student in students]
    param_items = [item for attempt in attempts for item in _param_items(attempt)]
    # Every student has the fixed one; the pool gives some of them more.
    assert len(param_items) > len(students)
    assert prepared.students == len(students)
    assert prepared.worked_out == len(param_items) * len(LANGS) and prepared.present == 0
    cache = caches["default"]
    for item in param_items:
        content = presenters.version_content(item.question_version)
        for lang in LANGS:
            view = cache.get(prepared_views.view_key(content, item.seed, lang))
            assert view == presenters.item_view(content, item.seed, lang)
            assert "statement_html" in view  # each student's own numbers


@pytest.mark.django_db
def test_preparing_again_reads_nothing_until_the_class_or_the_questions_change(course) -> None:
    students = [make_member(course, Role.STUDENT) for _ in range(3)]
    exam = _exam(course)
    first = exam_variants_prepare(assessment=exam)
    again = exam_variants_prepare(assessment=exam)
    assert again.up_to_date and again.worked_out == 0 and first.worked_out > 0
    latecomer = make_user("late")
    user_enroll(user=latecomer, course=course, role=Role.STUDENT)
    third = exam_variants_prepare(assessment=exam)
    assert not third.up_to_date and third.present == first.worked_out  # the others' views were kept
    attempt = attempt_start(user=latecomer, assessment=exam)
    assert third.worked_out == len(_param_items(attempt)) * len(LANGS) > 0
    assert len(students) == 3


@pytest.mark.django_db
def test_one_pass_prepares_an_exam_at_a_time(course) -> None:
    make_member(course, Role.STUDENT)
    exam = make_assessment(course, ["param-conv-by-hand-01"])
    caches["default"].add(f"quizzes:preparing:{exam.id}", True, 60)  # a pass under way in another worker
    assert exam_variants_prepare(assessment=exam).busy
    caches["default"].delete(f"quizzes:preparing:{exam.id}")  # that pass ended (or its claim ran out)
    assert exam_variants_prepare(assessment=exam).worked_out == len(LANGS)
    assert caches["default"].get(f"quizzes:preparing:{exam.id}") is None  # this pass let go


@pytest.mark.django_db
def test_an_edited_question_is_prepared_anew(course) -> None:
    make_member(course, Role.STUDENT)
    exam = make_assessment(course, ["param-conv-by-hand-01"])
    assert exam_variants_prepare(assessment=exam).worked_out == len(LANGS)
    version = Question.objects.get(bank_id="param-conv-by-hand-01").current_version
    version.content_hash = "edited"
    version.save(update_fields=["content_hash"])
    assert exam_variants_prepare(assessment=exam).worked_out == len(LANGS)


@pytest.mark.django_db
def test_practice_is_not_prepared(course) -> None:
    make_member(course, Role.STUDENT)
    practice = make_assessment(course, ["param-conv-by-hand-01"], mode=AssessmentMode.PRACTICE)
    assert exam_variants_prepare(assessment=practice).worked_out == 0


@pytest.mark.django_db
def test_the_exam_page_shows_the_prepared_view_and_works_out_the_rest(course) -> None:
    student = make_member(course, Role.STUDENT)
    exam = make_assessment(course, ["param-conv-by-hand-01", "act-dead-relu-05"])
    browser = Client()
    browser.force_login(student)
    attempt = attempt_start(user=student, assessment=exam)
    unprepared = browser.get(f"/attempts/{attempt.id}/").content.decode()
    caches["default"].clear()
    presenters._variant_view.cache_clear()
    exam_variants_prepare(assessment=exam)
    # Prepared: the page works out no parameterized variant, and shows the very same items.
    with mock.patch.object(presenters, "_item_view", wraps=presenters._item_view) as worked_out:
        prepared = browser.get(f"/attempts/{attempt.id}/").content.decode()
    assert [call.args[0].qtype for call in worked_out.call_args_list] == ["single"]
    assert _items(prepared) == _items(unprepared) and len(_items(prepared)) == 2
    (item,) = _param_items(attempt)
    statement = presenters.item_view(presenters.version_content(item.question_version), item.seed, "en")
    assert statement["statement_html"] in prepared


@pytest.mark.django_db
def test_a_cache_that_is_down_costs_the_exam_page_nothing_but_time(course, cache_down) -> None:
    student = make_member(course, Role.STUDENT)
    exam = make_assessment(course, ["param-conv-by-hand-01"])
    attempt = attempt_start(user=student, assessment=exam)
    browser = Client()
    browser.force_login(student)
    response = browser.get(f"/attempts/{attempt.id}/")
    assert response.status_code == 200 and 'data-item-id="' in response.content.decode()


@pytest.mark.django_db
def test_the_periodic_task_prepares_exams_about_to_open_in_a_shared_cache_only(course, settings, redis_required) -> None:
    make_member(course, Role.STUDENT)
    now = timezone.now()
    soon = make_assessment(course, ["param-conv-by-hand-01"], slug="soon", opens_at=now + timedelta(minutes=30),
                           closes_at=now + timedelta(hours=2))
    make_assessment(course, ["param-conv-by-hand-01"], slug="later", opens_at=now + timedelta(days=2),
                    closes_at=now + timedelta(days=3))
    make_assessment(course, ["param-conv-by-hand-01"], slug="open")  # open already: the rush has begun
    make_assessment(course, ["param-conv-by-hand-01"], slug="draft", published=False,
                    opens_at=now + timedelta(minutes=30), closes_at=now + timedelta(hours=2))
    assert exams_prepare_upcoming(now=now) == {}  # each process's own memory: no web process would see it
    settings.CACHES = {"default": {"BACKEND": "dlcv_site.cache.RedisCache",
                                   "LOCATION": settings.REDIS_URL.rsplit("/", 1)[0] + "/9", "KEY_PREFIX": "test-prepared"}}
    try:
        caches["default"].clear()
        done = exams_prepare_upcoming(now=now)
        assert list(done) == [soon.id] and done[soon.id].worked_out == len(LANGS)
        assert exams_prepare_upcoming(now=now)[soon.id].up_to_date
    finally:
        caches["default"].clear()
