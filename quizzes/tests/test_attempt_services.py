"""Exam and practice rules, enforced by the services (the server is the only clock)."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.http import Http404
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import make_course, make_member
from quizzes.access import attempt_get_for_user, attempt_item_get_for_owner
from quizzes.models import (
    Assessment,
    AssessmentItem,
    AssessmentMode,
    AttemptStatus,
    Extension,
    PracticeRecord,
    Question,
    ScoreChange,
    ScoreChangeKind,
)
from quizzes.selectors import results_visible
from quizzes.services.attempts import (
    AssessmentClosed,
    AttemptError,
    AttemptLimitReached,
    AttemptNotOpen,
    DeadlinePassed,
    NotYourItem,
    ResponseTooLarge,
    attempt_item_save,
    attempt_item_score_set,
    attempt_start,
    attempt_submit,
    attempts_submit_overdue,
    essay_self_assess,
    practice_another_variant,
    practice_check,
)
from quizzes.services.rubric import essay_grade_with_rubric, rubric_item_create
from quizzes.tests.factories import load_shipped_bank, make_assessment, save_answer

EXAM_QUESTIONS = ["act-dead-relu-05", "act-vanishing-gradient-03", "conv-cross-filter-03", "param-conv-by-hand-01",
                  "exam-109-q1"]


@pytest.fixture
def course():
    load_shipped_bank()
    return make_course("dlcv")


@pytest.fixture
def student(course):
    return make_member(course, Role.STUDENT)


def correct_response(item) -> dict:
    version = item.question_version
    spec, qtype = version.spec, version.question.type
    if qtype == "single":
        return {"choice": next(i for i, c in enumerate(spec["choices"]) if c["correct"])}
    if qtype in {"numeric", "matrix"}:
        return {"value": spec["answer"]}
    if qtype == "param":
        from grader.problems import get_family

        family = get_family(spec["family"])
        return {"parts": family.solve(family.generate(item.seed, spec.get("constraints") or None))}
    if qtype == "essay":
        return {"text": "CNN features are learned responses ..."}
    raise AssertionError(qtype)


@pytest.mark.django_db
def test_exam_cannot_start_outside_its_window(course, student) -> None:
    now = timezone.now()
    early = make_assessment(course, EXAM_QUESTIONS, slug="early", opens_at=now + timedelta(hours=1),
                            closes_at=now + timedelta(hours=2))
    late = make_assessment(course, EXAM_QUESTIONS, slug="late", opens_at=now - timedelta(hours=2),
                           closes_at=now - timedelta(hours=1))
    with pytest.raises(AssessmentClosed):
        attempt_start(user=student, assessment=early)
    with pytest.raises(AssessmentClosed):
        attempt_start(user=student, assessment=late)


@pytest.mark.django_db
def test_exam_fixes_variants_and_order_per_student_and_allows_one_attempt(course, student) -> None:
    exam = make_assessment(course, EXAM_QUESTIONS, shuffle_questions=True)
    attempt = attempt_start(user=student, assessment=exam)
    assert attempt_start(user=student, assessment=exam).pk == attempt.pk  # a double click reopens, no second
    order = list(attempt.items.values_list("question_version__question__bank_id", "seed"))
    assert sorted(b for b, _ in order) == sorted(EXAM_QUESTIONS) and attempt.max_points > 0
    other = attempt_start(user=make_member(course, Role.STUDENT), assessment=exam)
    assert list(other.items.values_list("seed", flat=True)) != [s for _, s in order]
    attempt_submit(attempt=attempt)
    with pytest.raises(AttemptLimitReached):
        attempt_start(user=student, assessment=exam)


@pytest.mark.django_db
def test_starting_an_exam_is_two_reads_and_two_writes(course, student, django_assert_max_num_queries) -> None:
    exam = make_assessment(course, EXAM_QUESTIONS)
    AssessmentItem.objects.filter(assessment=exam, position=2).update(points=Decimal("2.5"))
    Extension.objects.create(assessment=exam, user=student, extra_minutes=10)
    with django_assert_max_num_queries(6) as captured:  # and the transaction's (savepoint) statements
        attempt = attempt_start(user=student, assessment=exam)
    statements = [q["sql"].split()[0].upper() for q in captured.captured_queries]
    if connection.vendor == "postgresql":  # the attempt and its items in one statement
        assert statements.count("SELECT") == 2 and statements.count("WITH") == 1, statements
    else:
        assert statements.count("SELECT") == 2 and statements.count("INSERT") == 2, statements
    assert attempt.pk and attempt.number == 1 and attempt.deadline == attempt.started_at + timedelta(minutes=70)
    stored = type(attempt).objects.get(pk=attempt.pk)
    assert (stored.status, stored.deadline, stored.max_points, stored.user_id) == (
        AttemptStatus.IN_PROGRESS, attempt.deadline, attempt.max_points, student.pk)
    items = list(stored.items.order_by("position"))
    assert [i.position for i in items] == [1, 2, 3, 4, 5] and items[1].max_points == Decimal("2.5")
    assert stored.max_points == sum((i.max_points for i in items), Decimal(0))
    assert all(i.response is None and i.save_count == 0 and i.checks == 0 and not i.needs_manual_grading
               and i.seed > 0 for i in items)
    with django_assert_max_num_queries(3):  # a reload finds the open attempt in the first read
        assert attempt_start(user=student, assessment=exam).pk == attempt.pk


@pytest.mark.django_db
def test_saves_after_the_deadline_are_refused_and_extension_is_honoured(course, student) -> None:
    exam = make_assessment(course, EXAM_QUESTIONS, minutes=30)
    attempt = attempt_start(user=student, assessment=exam)
    assert attempt.deadline == attempt.started_at + timedelta(minutes=30)
    item = attempt.items.first()
    save_answer(item, response={"choice": 0}, now=attempt.started_at + timedelta(minutes=29))
    with pytest.raises(DeadlinePassed):
        save_answer(item, response={"choice": 1}, now=attempt.started_at + timedelta(minutes=31))
    item.refresh_from_db()
    assert item.response == {"choice": 0}  # the acknowledged save stands; the late one changed nothing

    extended = make_member(course, Role.STUDENT)
    Extension.objects.create(assessment=exam, user=extended, extra_minutes=15)
    attempt2 = attempt_start(user=extended, assessment=exam)
    assert attempt2.deadline == attempt2.started_at + timedelta(minutes=45)
    save_answer(attempt2.items.first(), response={"choice": 0},
                      now=attempt2.started_at + timedelta(minutes=40))


@pytest.mark.django_db
def test_extension_also_extends_the_window(course, student) -> None:
    now = timezone.now()
    exam = make_assessment(course, EXAM_QUESTIONS, minutes=60, opens_at=now - timedelta(hours=2),
                           closes_at=now - timedelta(minutes=5))
    Extension.objects.create(assessment=exam, user=student, extra_minutes=30)
    attempt = attempt_start(user=student, assessment=exam)
    assert attempt.deadline == exam.closes_at + timedelta(minutes=30)  # capped by the extended window


@pytest.mark.django_db
def test_deadline_is_capped_by_the_window(course, student) -> None:
    now = timezone.now()
    exam = make_assessment(course, EXAM_QUESTIONS, minutes=120, opens_at=now - timedelta(hours=1),
                           closes_at=now + timedelta(minutes=10))
    assert attempt_start(user=student, assessment=exam).deadline == exam.closes_at


@pytest.mark.django_db
def test_auto_submit_grades_what_was_saved(course, student) -> None:
    exam = make_assessment(course, EXAM_QUESTIONS, minutes=10)
    attempt = attempt_start(user=student, assessment=exam)
    for item in attempt.items.all():
        save_answer(item, response=correct_response(item))
    assert attempts_submit_overdue(now=attempt.deadline - timedelta(seconds=1)) == 0
    assert attempts_submit_overdue(now=attempt.deadline + timedelta(seconds=1)) == 1
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.AUTO_SUBMITTED
    auto_points = sum(i.max_points for i in attempt.items.exclude(question_version__question__type="essay"))
    assert attempt.points == auto_points  # everything right, the essay waits for a human
    essay = attempt.items.get(question_version__question__type="essay")
    assert essay.needs_manual_grading
    with pytest.raises(AttemptNotOpen):
        save_answer(essay, response={"text": "late edit"})
    assert attempts_submit_overdue(now=attempt.deadline + timedelta(minutes=5)) == 0  # idempotent


@pytest.mark.django_db
def test_manual_essay_grade_updates_the_total(course, student) -> None:
    exam = make_assessment(course, ["exam-109-q1"], minutes=10)
    attempt = attempt_start(user=student, assessment=exam)
    item = attempt.items.get()
    save_answer(item, response={"text": "answer"})
    attempt_submit(attempt=attempt)
    grader = make_member(course, Role.INSTRUCTOR)
    # The grading page's path: a rubric item worth 12 of the essay's 15 points, applied.
    rubric_item = rubric_item_create(question=item.question_version.question, title="三個重點都有", points=12)
    essay_grade_with_rubric(item_id=item.pk, applied_ids=[rubric_item.pk], adjustment=0, comment="good", grader=grader)
    attempt.refresh_from_db()
    assert float(attempt.points) == pytest.approx(0.8 * 15)


@pytest.mark.django_db
def test_score_changes_are_audited_once_per_change(course, student) -> None:
    exam = make_assessment(course, ["exam-109-q1"], minutes=10)
    attempt = attempt_start(user=student, assessment=exam)
    item = attempt.items.get()
    save_answer(item, response={"text": "answer"})
    attempt_submit(attempt=attempt)
    grader = make_member(course, Role.INSTRUCTOR)
    item.refresh_from_db()
    ungraded = item.score  # what submission stored while the essay waits for a grader
    essay_grade_with_rubric(item_id=item.pk, applied_ids=[], adjustment=12, comment="good", grader=grader)
    essay_grade_with_rubric(item_id=item.pk, applied_ids=[], adjustment=12, comment="good", grader=grader)  # a double submit
    change = attempt_item_score_set(item_id=item.pk, score=0.5, kind=ScoreChangeKind.REGRADE_REQUEST,
                                    changed_by=grader, reason="key point 2 missing")
    assert [(c.old_score, c.new_score, c.kind) for c in ScoreChange.objects.filter(item=item)] == [
        (ungraded, Decimal("0.8000"), ScoreChangeKind.MANUAL),
        (Decimal("0.8000"), Decimal("0.5000"), ScoreChangeKind.REGRADE_REQUEST),
    ]
    assert change is not None and change.changed_by == grader and change.reason == "key point 2 missing"
    attempt.refresh_from_db()
    assert float(attempt.points) == pytest.approx(0.5 * 15)
    with pytest.raises(AttemptError):
        attempt_item_score_set(item_id=item.pk, score=1.5, kind=ScoreChangeKind.MANUAL, changed_by=grader)


@pytest.mark.django_db
def test_results_hidden_until_release(course, student) -> None:
    exam = make_assessment(course, EXAM_QUESTIONS, minutes=10)
    attempt = attempt_start(user=student, assessment=exam)
    assert not results_visible(attempt=attempt)
    attempt = attempt_submit(attempt=attempt)
    assert not results_visible(attempt=attempt)
    exam.results_released_at = timezone.now()
    exam.save()
    attempt.refresh_from_db()
    assert results_visible(attempt=attempt)


@pytest.mark.django_db
def test_another_students_attempt_is_404(course, student) -> None:
    exam = make_assessment(course, EXAM_QUESTIONS)
    attempt = attempt_start(user=student, assessment=exam)
    intruder = make_member(course, Role.STUDENT)
    with pytest.raises(Http404):
        attempt_get_for_user(user=intruder, attempt_id=attempt.pk)
    with pytest.raises(Http404):
        attempt_item_get_for_owner(user=intruder, attempt_id=attempt.pk, item_id=attempt.items.first().pk)
    teacher = make_member(course, Role.TA)
    assert attempt_get_for_user(user=teacher, attempt_id=attempt.pk).pk == attempt.pk
    with pytest.raises(Http404):  # staff may read, never answer for the student
        attempt_item_get_for_owner(user=teacher, attempt_id=attempt.pk, item_id=attempt.items.first().pk)


@pytest.mark.django_db
def test_huge_payload_is_refused(course, student) -> None:
    attempt = attempt_start(user=student, assessment=make_assessment(course, ["exam-109-q1"]))
    with pytest.raises(ResponseTooLarge):
        save_answer(attempt.items.get(), response={"text": "x" * 70_000})


@pytest.mark.django_db
def test_an_autosave_is_a_single_update(course, student, django_assert_num_queries) -> None:
    attempt = attempt_start(user=student, assessment=make_assessment(course, EXAM_QUESTIONS))
    item = attempt.items.first()
    with django_assert_num_queries(1) as captured:
        result = attempt_item_save(user=student, attempt_id=attempt.pk, item_id=item.pk, response={"choice": 2})
    assert captured.captured_queries[0]["sql"].startswith("UPDATE")
    assert result.save_count == 1
    assert save_answer(item, response={"choice": 1}).save_count == 2
    item.refresh_from_db()
    assert item.response == {"choice": 1} and item.save_count == 2 and item.response_saved_at is not None


@pytest.mark.django_db
def test_an_autosave_to_someone_elses_item_changes_nothing(course, student) -> None:
    exam = make_assessment(course, EXAM_QUESTIONS)
    attempt = attempt_start(user=student, assessment=exam)
    item = attempt.items.first()
    other = make_member(course)
    other_attempt = attempt_start(user=other, assessment=exam)
    teacher = make_member(course, Role.INSTRUCTOR)
    for user, attempt_id in ((other, attempt.pk), (other, other_attempt.pk), (teacher, attempt.pk)):
        with pytest.raises(NotYourItem):  # another's item, an item under the wrong attempt id, staff
            attempt_item_save(user=user, attempt_id=attempt_id, item_id=item.pk, response={"choice": 3})
    item.refresh_from_db()
    assert item.response is None and item.save_count == 0


@pytest.mark.django_db
def test_practice_check_format_error_costs_nothing_and_records_best_and_latest(course, student) -> None:
    practice = make_assessment(course, ["act-vanishing-gradient-03", "param-conv-by-hand-01"],
                               mode=AssessmentMode.PRACTICE, minutes=None, slug="practice")
    attempt = attempt_start(user=student, assessment=practice)
    numeric = attempt.items.get(question_version__question__bank_id="act-vanishing-gradient-03")
    bad = practice_check(item=numeric, response={"value": "1,2"})
    numeric.refresh_from_db()
    assert bad.gradable is False and numeric.checks == 0 and not PracticeRecord.objects.exists()
    right = practice_check(item=numeric, response=correct_response(numeric))
    assert right.score == 1
    practice_check(item=numeric, response={"value": "123456"})
    record = PracticeRecord.objects.get()
    assert record.best_score == 1 and record.latest_score == 0 and record.tries == 2

    param = attempt.items.get(question_version__question__bank_id="param-conv-by-hand-01")
    fresh = practice_another_variant(item=param)
    assert fresh.seed != param.seed and fresh.position == 3
    assert practice_check(item=fresh, response=correct_response(fresh)).score == 1


@pytest.mark.django_db
def test_essay_self_assessment_in_practice(course, student) -> None:
    practice = make_assessment(course, ["exam-109-q1"], mode=AssessmentMode.PRACTICE, minutes=None, slug="p")
    item = attempt_start(user=student, assessment=practice).items.get()
    practice_check(item=item, response={"text": "my essay"})
    item = essay_self_assess(item=item, points_met=[0, 2])
    assert item.self_assessment["points_met"] == [0, 2] and item.self_assessment["self_assessed"] is True


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_start_is_three_statements_and_no_transaction(postgres_required, course, student,
                                                                      django_assert_num_queries) -> None:
    exam = make_assessment(course, EXAM_QUESTIONS)
    assert not connection.in_atomic_block
    with django_assert_num_queries(3) as captured:  # no SAVEPOINT: BEGIN and COMMIT are not sent either
        attempt = attempt_start(user=student, assessment=exam)
    assert [q["sql"].split()[0].upper() for q in captured.captured_queries] == ["SELECT", "SELECT", "WITH"]
    assert not connection.in_atomic_block and connection.get_autocommit()
    stored = list(attempt.items.order_by("position").values_list("position", "attempt_id"))
    assert stored == [(position, attempt.pk) for position in range(1, len(EXAM_QUESTIONS) + 1)]


@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_open_one_attempt(postgres_required, course, student) -> None:
    exam = make_assessment(course, EXAM_QUESTIONS)
    results: list[int] = []

    def start() -> None:
        try:
            results.append(attempt_start(user=student, assessment=exam).pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and len(results) == 4
    assert AssessmentItem.objects.filter(assessment=exam).count() == len(EXAM_QUESTIONS)
    assert Question.objects.exists()


@pytest.mark.django_db
def test_pools_draw_distinct_questions_of_their_topic_and_tag(course, student) -> None:
    fixed = Question.objects.get(bank_id=EXAM_QUESTIONS[0])
    topic = fixed.topic
    exam = Assessment.objects.create(course=course, slug="pools", title="pools", mode=AssessmentMode.PRACTICE,
                                     published=True)
    AssessmentItem.objects.create(assessment=exam, position=1, question=fixed, points=Decimal("2"))
    tagged = Question.objects.filter(topic=topic, retired=False).exclude(pk=fixed.pk).select_related("current_version")
    tag = next(t for q in tagged for t in (q.current_version.tags or []))
    AssessmentItem.objects.create(assessment=exam, position=2, pool_topic=topic, pool_tag=tag, pool_count=1)
    AssessmentItem.objects.create(assessment=exam, position=3, pool_topic=topic, pool_count=3)
    attempt = attempt_start(user=student, assessment=exam)
    items = list(attempt.items.select_related("question_version__question").order_by("position"))
    questions = [item.question_version.question for item in items]
    assert questions[0] == fixed and items[0].max_points == Decimal("2")
    assert len(set(questions)) == len(questions) == 5 and all(q.topic == topic for q in questions)
    assert tag in items[1].question_version.tags
    assert all(item.question_version_id == q.current_version_id for item, q in zip(items, questions, strict=True))
    assert attempt.max_points == sum(item.max_points for item in items)
