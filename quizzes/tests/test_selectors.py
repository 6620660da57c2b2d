"""The landing row and the attempt's items, read by SQL written once, match what the ORM reads."""

from __future__ import annotations

import pytest

from accounts.models import Role
from accounts.tests.factories import make_course, make_member
from quizzes.models import AssessmentItem, AssessmentMode, Attempt, AttemptItem, Question
from quizzes.selectors import assessment_row_for_student, attempt_items
from quizzes.services.attempts import attempt_start, attempt_submit
from quizzes.tests.factories import load_shipped_bank, make_assessment

FIXED = ["act-dead-relu-05", "param-conv-by-hand-01", "exam-109-q1"]


@pytest.fixture
def course():
    load_shipped_bank()
    return make_course("dlcv")


@pytest.mark.django_db
def test_landing_row_counts_pool_draws_and_lists_attempts_latest_first(course, django_assert_num_queries) -> None:
    practice = make_assessment(course, FIXED, mode=AssessmentMode.PRACTICE, slug="practice", minutes=None)
    topic = Question.objects.get(bank_id="act-dead-relu-05").topic
    AssessmentItem.objects.create(assessment=practice, position=4, pool_topic=topic, pool_count=3)
    student = make_member(course, Role.STUDENT)
    with django_assert_num_queries(1):
        row = assessment_row_for_student(user=student, assessment=practice)
    assert (row.question_count, row.attempt, row.attempts, row.best_points) == (6, None, 0, None)

    first = attempt_start(user=student, assessment=practice)
    attempt_submit(attempt=first)
    second = attempt_start(user=student, assessment=practice)
    other = make_member(course, Role.STUDENT)
    attempt_start(user=other, assessment=practice)  # another student's attempt is not in the row
    with django_assert_num_queries(1):
        row = assessment_row_for_student(user=student, assessment=practice)
    assert (row.question_count, row.attempts, row.attempt.pk, row.attempt.number) == (6, 2, second.pk, 2)
    assert row.attempt.assessment is practice and row.best_points == Attempt.objects.get(pk=first.pk).points


@pytest.mark.django_db
def test_attempt_items_reads_items_versions_and_questions_in_one_query(course, django_assert_num_queries) -> None:
    exam = make_assessment(course, FIXED, shuffle_questions=True)
    attempt = attempt_start(user=make_member(course, Role.STUDENT), assessment=exam)
    with django_assert_num_queries(1):
        items = attempt_items(attempt=attempt)
        shown = [(i.pk, i.position, i.seed, i.max_points, i.response, i.question_version.content_hash,
                  i.question_version.prompt, i.question_version.spec, i.question_version.hint,
                  i.question_version.explanation, i.question_version.question.type, i.attempt.pk) for i in items]
    orm = AttemptItem.objects.filter(attempt=attempt).select_related("question_version__question").order_by("position")
    assert shown == [(i.pk, i.position, i.seed, i.max_points, i.response, i.question_version.content_hash,
                      i.question_version.prompt, i.question_version.spec, i.question_version.hint,
                      i.question_version.explanation, i.question_version.question.type, attempt.pk) for i in orm]
    assert [i.position for i in items] == [1, 2, 3] and isinstance(items[0].question_version.spec, dict)
    # Fields not shown are deferred, and still read correctly when asked for.
    assert items[0].question_version.question.bank_id == orm[0].question_version.question.bank_id
