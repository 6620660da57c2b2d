"""``quizzes.sql``: each statement returns (or writes) what its ORM rule returns (or writes) on the same rows.

The two access rules are tested cell by cell:

* rule 1, who may open an assessment: ``quizzes.access.assessment_get_for_member`` (on
  ``quizzes.sql.assessment_for_member``) against ``accounts.access.course_get_for_member`` plus
  "unpublished: staff only", for every role × published/unpublished and the lookups that must miss;
* rule 2, the autosave: ``quizzes.sql.attempt_item_save_response`` against the ORM UPDATE holding
  ``quizzes.access.attempt_item_get_for_owner``'s rule plus "in progress" plus "deadline not passed",
  for owner/classmate/staff × status × deadline, items asked for under the wrong attempt, and an
  owner no longer enrolled (dropped; a superuser).

Writes run in a savepoint that is rolled back, the SQL's and the ORM's in turn on the same rows, and
the resulting tables are compared. Every statement but the attempt INSERT runs on every database, so
these tests run on SQLite too; the INSERT's (PostgreSQL only) requires PostgreSQL.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import product
from typing import Any, TypeVar

import pytest
from django.db import transaction
from django.db.models import Case, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from accounts.access import course_get_for_member, member_filter
from accounts.models import STAFF_ROLES, Course, Enrollment, Role, User
from accounts.tests.factories import make_course
from dlcv_site.rows import insert_rows
from dlcv_site.tests.db_support import model_fields
from quizzes import sql
from quizzes.access import assessment_get_for_member, attempt_item_get_for_owner
from quizzes.models import (
    Assessment,
    AssessmentItem,
    AssessmentMode,
    Attempt,
    AttemptItem,
    AttemptStatus,
    Extension,
    Question,
    QuestionType,
    QuestionVersion,
    Topic,
)

T = TypeVar("T")
S = TypeVar("S")
_names = itertools.count(1)


def make_user(**fields: Any) -> User:
    """A user without a password: hashing one costs a quarter of a second, and no cell logs in."""
    return User.objects.create(username=f"sql-user-{next(_names)}", **fields)


def _typed(row: tuple[Any, ...]) -> tuple[tuple[type, Any], ...]:
    return tuple((type(value), value) for value in row)


def _rolled_back(write: Callable[[], T], state: Callable[[], S]) -> tuple[T, S]:
    """``write``'s result and the tables' ``state`` after it, in a savepoint rolled back after."""
    with transaction.atomic():
        result = write()
        after = state()
        transaction.set_rollback(True)
    return result, after


# --------------------------------------------------------------------------- the bank


def _question(topic: Topic, bank_id: str, *, points: str = "1.50", tags: tuple[str, ...] = (),
              versions: int = 1, current: bool = True) -> Question:
    question = Question.objects.create(bank_id=bank_id, topic=topic, type=QuestionType.SINGLE)
    for number in range(1, versions + 1):
        version = QuestionVersion.objects.create(
            question=question, number=number, content_hash=f"{bank_id}-{number}", source_text=f"source of {bank_id}",
            title=f"{bank_id} v{number}", prompt=f"提示 {bank_id} v{number} $\\sum$", explanation="because",
            hint="a hint" if number % 2 else "", spec={"choices": ["a", "b"], "answer": number % 2},
            points=Decimal(points) + number - versions, tags=list(tags),
        )
    if current:
        question.current_version = version
        question.save()
    return question


@dataclass
class Bank:
    topic: Topic
    questions: list[Question]  # q1 (two versions), q2, q3 (no current version), p1/p2 tagged, p3


def _bank() -> Bank:
    topic = Topic.objects.create(slug="cnn", name_zh="卷積", name_en="CNN")
    questions = [
        _question(topic, "q1", versions=2), _question(topic, "q2", points="2.00"),
        _question(topic, "q3", current=False),
        _question(topic, "p1", tags=("pool",)), _question(topic, "p2", tags=("pool", "hard")), _question(topic, "p3"),
    ]
    return Bank(topic, questions)


def _slot(assessment: Assessment, position: int, *, question: Question | None = None, topic: Topic | None = None,
          tag: str = "", count: int = 1, points: str | None = None) -> AssessmentItem:
    return AssessmentItem.objects.create(assessment=assessment, position=position, question=question,
                                         pool_topic=topic, pool_tag=tag, pool_count=count,
                                         points=None if points is None else Decimal(points))


# --------------------------------------------------------------------------- access rule 1

#: who → (enrolled in course A or B as role, or None; is superuser)
MEMBERS: dict[str, tuple[tuple[str, str] | None, bool]] = {
    "student": (("a", Role.STUDENT), False),
    "ta": (("a", Role.TA), False),
    "instructor": (("a", Role.INSTRUCTOR), False),
    "instructor of another course": (("b", Role.INSTRUCTOR), False),
    "outsider": (None, False),
    "superuser": (None, True),
    "superuser enrolled as student": (("a", Role.STUDENT), True),
}
#: what is asked for → (course slug, assessment slug)
LOOKUPS = {
    "published": ("course-a", "quiz"),
    "unpublished": ("course-a", "draft"),
    "another course's assessment": ("course-a", "b-only"),
    "no such assessment": ("course-a", "nope"),
    "no such course": ("nope", "quiz"),
}


def _members_world() -> dict[str, User]:
    courses = {"a": make_course("course-a"), "b": make_course("course-b")}
    now = timezone.now()
    for course, slug, published in ((courses["a"], "quiz", True), (courses["a"], "draft", False),
                                    (courses["b"], "quiz", True), (courses["b"], "b-only", True),
                                    (courses["b"], "b-draft", False)):
        Assessment.objects.create(course=course, slug=slug, title=f"{slug} of {course.slug}", published=published,
                                  mode=AssessmentMode.EXAM, opens_at=now - timedelta(hours=1),
                                  closes_at=now + timedelta(hours=2), time_limit_minutes=60,
                                  results_released_at=None, description="描述")
    users = {}
    for who, (enrolment, superuser) in MEMBERS.items():
        users[who] = make_user(is_superuser=superuser)
        if enrolment is not None:
            Enrollment.objects.create(user=users[who], course=courses[enrolment[0]], role=enrolment[1])
    return users


def _rule_1_by_the_orm(user: User, course_slug: str, assessment_slug: str) -> tuple[Assessment, Course, str] | None:
    """Access rule 1 as the ORM states it: a member of the course (``course_get_for_member``:
    superusers count as instructors) sees its published assessments, its staff the unpublished too."""
    try:
        course, role = course_get_for_member(user=user, course_slug=course_slug)
    except Http404:
        return None
    assessment = Assessment.objects.filter(course=course, slug=assessment_slug).first()
    if assessment is None or (not assessment.published and role not in STAFF_ROLES):
        return None
    return assessment, course, role


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "lookup"), list(product(MEMBERS, LOOKUPS)))
def test_assessment_for_member_equals_access_rule_1(who: str, lookup: str, django_assert_num_queries: Any) -> None:
    users = _members_world()
    user = users[who]
    course_slug, assessment_slug = LOOKUPS[lookup]

    # The statement: the assessment with its course, and the user's enrolled role.
    with django_assert_num_queries(1):
        ours = sql.assessment_for_member(user_id=user.pk, course_slug=course_slug, assessment_slug=assessment_slug)
    orm = Assessment.objects.select_related("course").filter(course__slug=course_slug, slug=assessment_slug).first()
    orm_role = Enrollment.objects.filter(user=user, course__slug=course_slug).values_list("role", flat=True).first()
    if orm is None:
        assert ours is None
    else:
        assert ours is not None
        assessment, role = ours
        assert (model_fields(assessment), model_fields(assessment.course), role) == (model_fields(orm), model_fields(orm.course), orm_role)

    # The rule built on it.
    expected = _rule_1_by_the_orm(user, course_slug, assessment_slug)
    try:
        with django_assert_num_queries(1):
            assessment, role = assessment_get_for_member(user=user, course_slug=course_slug,
                                                         assessment_slug=assessment_slug)
    except Http404:
        assert expected is None
    else:
        assert expected is not None
        assert (model_fields(assessment), model_fields(assessment.course), role) == (
            model_fields(expected[0]), model_fields(expected[1]), expected[2])

    # And the table itself, so that the two cannot agree on a wrong rule.
    enrolment, superuser = MEMBERS[who]
    in_a = enrolment is not None and enrolment[0] == "a"
    staff = (enrolment[1] in STAFF_ROLES) if in_a else superuser
    allowed = (lookup == "published" and (in_a or superuser)) or (lookup == "unpublished" and staff)
    assert (expected is not None) == allowed


# --------------------------------------------------------------------------- attempts


def _attempt(assessment: Assessment, user: User, number: int, status: str = AttemptStatus.SUBMITTED, *,
             deadline: datetime | None = None, points: str | None = None) -> Attempt:
    now = timezone.now()
    submitted = status != AttemptStatus.IN_PROGRESS
    return Attempt.objects.create(
        assessment=assessment, user=user, number=number, status=status,
        started_at=now - timedelta(minutes=90 - number, microseconds=number), deadline=deadline,
        submitted_at=now - timedelta(minutes=number) if submitted else None,
        points=Decimal(points) if points is not None else None, max_points=Decimal("7.500"),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["submitted with a deadline", "in progress without one", "no such attempt"])
def test_attempt_with_assessment_equals_select_related(case: str, django_assert_num_queries: Any) -> None:
    course = make_course()
    assessment = Assessment.objects.create(course=course, slug="exam", title="Exam", published=True,
                                           mode=AssessmentMode.EXAM, time_limit_minutes=45,
                                           results_released_at=timezone.now())
    student, other = make_user(), make_user()
    attempts = {
        "submitted with a deadline": _attempt(assessment, student, 1, deadline=timezone.now(), points="3.250"),
        "in progress without one": _attempt(assessment, other, 1, AttemptStatus.IN_PROGRESS),
    }
    attempt_id = attempts[case].pk if case in attempts else max(a.pk for a in attempts.values()) + 1000
    Enrollment.objects.create(user=student, course=course, role=Role.STUDENT)
    for asker in (student, other, make_user()):  # enrolled; not enrolled (as if dropped); a stranger
        with django_assert_num_queries(1):
            found = sql.attempt_with_assessment(attempt_id=attempt_id, user_id=asker.pk)
        orm = Attempt.objects.select_related("assessment__course").filter(pk=attempt_id).first()
        if orm is None:
            assert found is None
            continue
        assert found is not None
        ours, role = found
        assert (model_fields(ours), model_fields(ours.assessment), model_fields(ours.assessment.course)) == (
            model_fields(orm), model_fields(orm.assessment), model_fields(orm.assessment.course))
        assert role == Enrollment.objects.filter(user=asker, course=orm.assessment.course).values_list(
            "role", flat=True).first()


# --------------------------------------------------------------------------- starting an attempt


@pytest.mark.django_db
@pytest.mark.parametrize("which", ["slots of every kind", "no slots"])
def test_assessment_slots_equal_the_orm_values(which: str, django_assert_num_queries: Any) -> None:
    bank = _bank()
    q1, q2, q3 = bank.questions[:3]
    course = make_course()
    full = Assessment.objects.create(course=course, slug="full", title="Full")
    empty = Assessment.objects.create(course=course, slug="empty", title="Empty")
    noise = Assessment.objects.create(course=course, slug="noise", title="Noise")
    _slot(full, 5, question=q3)  # no current version: the LEFT JOINs give NULLs
    _slot(full, 1, question=q1)  # the version's points
    _slot(full, 3, topic=bank.topic, tag="pool", count=2, points="3.00")
    _slot(full, 2, question=q2, points="2.50")  # the slot's points
    _slot(full, 4, topic=bank.topic)
    _slot(noise, 1, question=q2, points="9.00")
    assessment = full if which == "slots of every kind" else empty
    with django_assert_num_queries(1):
        ours = sql.assessment_slots(assessment_id=assessment.pk)
    orm = list(AssessmentItem.objects.filter(assessment_id=assessment.pk).order_by("position")
               .values_list(*sql.SLOT_COLUMNS))
    assert [_typed(row) for row in ours] == [_typed(row) for row in orm]
    assert len(ours) == (5 if assessment is full else 0)


#: the user's attempts as (number, status), in the order created
HISTORIES: dict[str, list[tuple[int, str]]] = {
    "no attempt": [],
    "one submitted": [(1, AttemptStatus.SUBMITTED)],
    "submitted, then open": [(1, AttemptStatus.SUBMITTED), (2, AttemptStatus.IN_PROGRESS)],
    "open, then a later submitted": [(1, AttemptStatus.IN_PROGRESS), (2, AttemptStatus.SUBMITTED)],
    "submitted and auto-submitted, a gap": [(3, AttemptStatus.AUTO_SUBMITTED), (1, AttemptStatus.SUBMITTED)],
}


@pytest.mark.django_db
@pytest.mark.parametrize(("history", "extension"), list(product(HISTORIES, [None, 15])))
def test_attempt_latest_with_extension_equals_its_orm_rule(history: str, extension: int | None,
                                                            django_assert_num_queries: Any) -> None:
    course = make_course()
    assessment = Assessment.objects.create(course=course, slug="a", title="A", mode=AssessmentMode.PRACTICE)
    elsewhere = Assessment.objects.create(course=course, slug="b", title="B", mode=AssessmentMode.PRACTICE)
    student, classmate = make_user(), make_user()
    for number, status in HISTORIES[history]:
        _attempt(assessment, student, number, status)
    # Noise: the classmate's attempts and extension here, the student's elsewhere.
    _attempt(assessment, classmate, 7, AttemptStatus.IN_PROGRESS)
    _attempt(assessment, classmate, 9)
    _attempt(elsewhere, student, 8, AttemptStatus.IN_PROGRESS)
    _attempt(elsewhere, student, 12)
    Extension.objects.create(assessment=assessment, user=classmate, extra_minutes=99)
    Extension.objects.create(assessment=elsewhere, user=student, extra_minutes=42)
    if extension is not None:
        Extension.objects.create(assessment=assessment, user=student, extra_minutes=extension)

    with django_assert_num_queries(1):
        latest, extra = sql.attempt_latest_with_extension(assessment_id=assessment.pk, user_id=student.pk)
    open_first = Case(When(status=AttemptStatus.IN_PROGRESS, then=Value(0)), default=Value(1),
                      output_field=IntegerField())
    orm_latest = Attempt.objects.filter(assessment=assessment, user=student).order_by(open_first, "-number").first()
    orm_extra = Extension.objects.filter(assessment=assessment, user=student).values_list(
        "extra_minutes", flat=True).first()
    assert (model_fields(latest), extra) == (model_fields(orm_latest), orm_extra)
    expected_number = {"no attempt": None, "one submitted": 1, "submitted, then open": 2,
                       "open, then a later submitted": 1, "submitted and auto-submitted, a gap": 3}[history]
    assert (latest.number if latest else None, extra) == (expected_number, extension)


def _written(attempt_id: int) -> tuple[dict[str, Any], list[dict[str, Any]], int, int]:
    """What an attempt INSERT wrote: the attempt's row and its items' (no ids), and the row counts."""
    attempt = Attempt.objects.filter(pk=attempt_id).values().get()
    del attempt["id"]
    items = list(AttemptItem.objects.filter(attempt_id=attempt_id).order_by("position").values())
    for item in items:
        del item["id"], item["attempt_id"]
    return attempt, items, Attempt.objects.count(), AttemptItem.objects.count()


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["exam with a deadline, three items", "practice without one, one item"])
def test_attempt_insert_with_items_writes_what_the_orm_writes(postgres_required: None, case: str,
                                                               django_assert_num_queries: Any) -> None:
    bank = _bank()
    versions = [q.current_version_id for q in bank.questions if q.current_version_id]
    course = make_course()
    student = make_user()
    exam = case.startswith("exam")
    assessment = Assessment.objects.create(course=course, slug="a", title="A",
                                           mode=AssessmentMode.EXAM if exam else AssessmentMode.PRACTICE)
    _attempt(assessment, make_user(), 1, AttemptStatus.IN_PROGRESS)  # rows already there
    now = timezone.now()
    attempt_row = {"assessment_id": assessment.pk, "user_id": student.pk, "number": 2,
                   "status": AttemptStatus.IN_PROGRESS, "started_at": now,
                   "deadline": now + timedelta(minutes=70) if exam else None, "max_points": Decimal("6.750")}
    items = [{"position": 1, "question_version_id": versions[0], "max_points": Decimal("2.50"), "seed": 2**40 + 7},
             {"position": 2, "question_version_id": versions[1], "max_points": Decimal("1.25"), "seed": 1},
             {"position": 3, "question_version_id": versions[0], "max_points": Decimal("3.00"), "seed": 2**31 - 2}]
    items = items if exam else items[:1]

    def by_sql() -> int:
        with django_assert_num_queries(1):
            return sql.attempt_insert_with_items(attempt_row=attempt_row, items=items)

    def by_the_orm() -> int:
        attempt = Attempt.objects.create(**attempt_row)
        AttemptItem.objects.bulk_create([AttemptItem(attempt_id=attempt.pk, **item) for item in items])
        return attempt.pk

    def by_rows() -> int:  # the other databases' path in services.attempts._insert_attempt
        (attempt_id,) = insert_rows(Attempt, [attempt_row], returning_pk=True)
        insert_rows(AttemptItem, [{**item, "attempt_id": attempt_id} for item in items])
        return attempt_id

    def written_by(write: Callable[[], int]) -> tuple[dict[str, Any], list[dict[str, Any]], int, int]:
        with transaction.atomic():
            state = _written(write())
            transaction.set_rollback(True)
        return state

    written = {name: written_by(write) for name, write in (("sql", by_sql), ("orm", by_the_orm), ("rows", by_rows))}
    assert written["sql"] == written["orm"] == written["rows"]
    attempt, rows, _, _ = written["sql"]
    assert attempt["deadline"] == attempt_row["deadline"] and [r["seed"] for r in rows] == [i["seed"] for i in items]


# --------------------------------------------------------------------------- access rule 2: autosave

SAVERS = ("owner", "classmate", "ta", "instructor", "superuser")
STATUSES = (AttemptStatus.IN_PROGRESS, AttemptStatus.SUBMITTED, AttemptStatus.AUTO_SUBMITTED)
#: deadline relative to the save's ``now`` (None: no deadline)
DEADLINES: dict[str, timedelta | None] = {
    "none": None,
    "passed long ago": timedelta(minutes=-5),
    "passed a microsecond ago": timedelta(microseconds=-1),
    "exactly now": timedelta(0),
    "a microsecond ahead": timedelta(microseconds=1),
    "ahead": timedelta(minutes=5),
}
#: which item is asked for, under which attempt id
TARGETS = ("the owner's item", "the owner's item under the classmate's attempt id",
           "the classmate's item under the owner's attempt id", "no such item")


@dataclass
class SaveWorld:
    users: dict[str, User]
    attempt: Attempt  # the owner's
    items: list[AttemptItem]  # the owner's two
    other_attempt: Attempt  # the classmate's
    other_item: AttemptItem


def _save_world() -> SaveWorld:
    bank = _bank()
    course = make_course()
    users = {who: make_user(is_superuser=who == "superuser") for who in SAVERS}
    for who, role in (("owner", Role.STUDENT), ("classmate", Role.STUDENT), ("ta", Role.TA),
                      ("instructor", Role.INSTRUCTOR)):
        Enrollment.objects.create(user=users[who], course=course, role=role)
    exam = Assessment.objects.create(course=course, slug="exam", title="Exam", mode=AssessmentMode.EXAM,
                                     published=True)
    attempt = _attempt(exam, users["owner"], 1, AttemptStatus.IN_PROGRESS)
    other_attempt = _attempt(exam, users["classmate"], 1, AttemptStatus.IN_PROGRESS,
                             deadline=timezone.now() + timedelta(hours=1))
    version = bank.questions[0].current_version
    earlier = timezone.now() - timedelta(minutes=3)
    items = [AttemptItem.objects.create(attempt=attempt, position=position, question_version=version, seed=position,
                                        response={"choice": 0}, response_saved_at=earlier, save_count=3)
             for position in (1, 2)]
    other_item = AttemptItem.objects.create(attempt=other_attempt, position=1, question_version=version, seed=9)
    return SaveWorld(users, attempt, items, other_attempt, other_item)


def _items_state() -> list[dict[str, Any]]:
    return list(AttemptItem.objects.order_by("pk").values())


def _save_both_ways(user: User, attempt_id: int, item_id: int, now: datetime, assert_num_queries: Any,
                    hint_used: bool = False) -> int | None:
    """The SQL's result and table after it, the ORM rule's likewise: asserted equal; the result."""
    response = {"choice": 2, "text": "梯度消失 ✓", "nested": {"values": [1.5, -2, None]}}

    def by_sql() -> int | None:
        with assert_num_queries(1):
            return sql.attempt_item_save_response(user_id=user.pk, attempt_id=attempt_id, item_id=item_id,
                                                  response=response, now=now, hint_used=hint_used,
                                                  superuser=user.is_superuser)

    def by_the_orm() -> int | None:
        owned = (AttemptItem.objects.filter(pk=item_id, attempt_id=attempt_id, attempt__user=user)  # rule 2's owner
                 .filter(member_filter(user=user, course_id_field="attempt__assessment__course_id")))
        # The hint flag: set while the item is not graded, never cleared.
        hint = Case(When(graded_at=None, then=Value(True)), default=F("hint_used")) if hint_used else F("hint_used")
        written = (owned.filter(attempt__status=AttemptStatus.IN_PROGRESS)
                   .filter(Q(attempt__deadline__isnull=True) | Q(attempt__deadline__gte=now))
                   .update(response=response, response_saved_at=now, save_count=F("save_count") + 1, hint_used=hint))
        return AttemptItem.objects.get(pk=item_id).save_count if written else None

    ours = _rolled_back(by_sql, _items_state)
    orm = _rolled_back(by_the_orm, _items_state)
    assert ours == orm
    if ours[0] is None:
        assert ours[1] == _items_state()  # a refused save wrote nothing
    return ours[0]


def _owns(user: User, attempt_id: int, item_id: int) -> bool:
    try:
        attempt_item_get_for_owner(user=user, attempt_id=attempt_id, item_id=item_id)
    except Http404:
        return False
    return True


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "status", "deadline"), list(product(SAVERS, STATUSES, DEADLINES)))
def test_autosave_equals_access_rule_2(who: str, status: str, deadline: str, django_assert_num_queries: Any) -> None:
    world = _save_world()
    now = timezone.now().replace(microsecond=500_000)
    offset = DEADLINES[deadline]
    Attempt.objects.filter(pk=world.attempt.pk).update(status=status, deadline=None if offset is None else now + offset)
    user, item = world.users[who], world.items[1]
    saved = _save_both_ways(user, world.attempt.pk, item.pk, now, django_assert_num_queries)
    # The rule spelled out: attempt_item_get_for_owner's, in progress, the deadline not passed.
    in_time = offset is None or offset >= timedelta(0)
    assert (saved is not None) == (_owns(user, world.attempt.pk, item.pk) and status == AttemptStatus.IN_PROGRESS
                                   and in_time)
    assert (saved is not None) == (who == "owner" and status == AttemptStatus.IN_PROGRESS and in_time)
    if saved is not None:
        assert saved == 4


@pytest.mark.django_db
@pytest.mark.parametrize(("hint_used", "graded", "before"), list(product([False, True], repeat=3)))
def test_autosave_keeps_a_hint_opened_before_grading(hint_used: bool, graded: bool, before: bool,
                                                     django_assert_num_queries: Any) -> None:
    world = _save_world()
    item = world.items[1]
    AttemptItem.objects.filter(pk=item.pk).update(hint_used=before, graded_at=timezone.now() if graded else None)
    assert _save_both_ways(world.users["owner"], world.attempt.pk, item.pk, timezone.now(), django_assert_num_queries,
                           hint_used=hint_used) == 4  # (both ways rolled back)
    sql.attempt_item_save_response(user_id=world.users["owner"].pk, attempt_id=world.attempt.pk, item_id=item.pk,
                                   response={"choice": 1}, now=timezone.now(), hint_used=hint_used)
    assert AttemptItem.objects.get(pk=item.pk).hint_used is (before or (hint_used and not graded))


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "target"), list(product(SAVERS, TARGETS)))
def test_autosave_of_an_item_asked_for_under_the_wrong_attempt_writes_nothing(
        who: str, target: str, django_assert_num_queries: Any) -> None:
    world = _save_world()
    now = timezone.now()
    attempt_id, item_id = {
        "the owner's item": (world.attempt.pk, world.items[0].pk),
        "the owner's item under the classmate's attempt id": (world.other_attempt.pk, world.items[0].pk),
        "the classmate's item under the owner's attempt id": (world.attempt.pk, world.other_item.pk),
        "no such item": (world.attempt.pk, world.other_item.pk + 1000),
    }[target]
    user = world.users[who]
    saved = _save_both_ways(user, attempt_id, item_id, now, django_assert_num_queries)
    assert (saved is not None) == _owns(user, attempt_id, item_id) == (who == "owner" and target == TARGETS[0])


@pytest.mark.django_db
@pytest.mark.parametrize("owner", ["dropped student", "superuser not enrolled"])
def test_autosave_of_an_owner_not_enrolled_equals_access_rule_2(owner: str, django_assert_num_queries: Any) -> None:
    world = _save_world()
    user = world.users["owner"]
    user.is_superuser = owner == "superuser not enrolled"
    user.save(update_fields=["is_superuser"])
    Enrollment.objects.filter(user=user).delete()  # what a roster drop does to the enrolment
    saved = _save_both_ways(user, world.attempt.pk, world.items[0].pk, timezone.now(), django_assert_num_queries)
    assert (saved is not None) == _owns(user, world.attempt.pk, world.items[0].pk) == (owner != "dropped student")


# --------------------------------------------------------------------------- the student's pages


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["slots and attempts", "slots, no attempt", "no slot, no attempt"])
def test_assessment_landing_equals_its_orm_rule(case: str, django_assert_num_queries: Any) -> None:
    bank = _bank()
    course = make_course()
    student, classmate = make_user(), make_user()
    full = Assessment.objects.create(course=course, slug="full", title="Full")
    empty = Assessment.objects.create(course=course, slug="empty", title="Empty")
    _slot(full, 1, question=bank.questions[0])
    _slot(full, 2, topic=bank.topic, tag="pool", count=2)
    _slot(full, 3, question=bank.questions[1], points="4.00")
    _slot(full, 4, topic=bank.topic, count=3)
    if case == "slots and attempts":
        for number, status in ((2, AttemptStatus.SUBMITTED), (1, AttemptStatus.AUTO_SUBMITTED),
                               (3, AttemptStatus.IN_PROGRESS)):
            _attempt(full, student, number, status, points="1.500" if number < 3 else None)
    _attempt(full, classmate, 1, AttemptStatus.SUBMITTED, points="2.000")
    _attempt(empty, classmate, 1, AttemptStatus.IN_PROGRESS)
    assessment = empty if case.startswith("no slot") else full
    with django_assert_num_queries(1):
        count, attempts = sql.assessment_landing(assessment_id=assessment.pk, user_id=student.pk)
    draws = Case(When(question__isnull=True, then=F("pool_count")), default=Value(1), output_field=IntegerField())
    orm_count = AssessmentItem.objects.filter(assessment=assessment).aggregate(n=Coalesce(Sum(draws), 0))["n"]
    orm_attempts = Attempt.objects.filter(assessment=assessment, user=student).order_by("-number")
    assert (count, [model_fields(a) for a in attempts]) == (orm_count, [model_fields(a) for a in orm_attempts])
    assert (count, [a.number for a in attempts]) == {
        "slots and attempts": (7, [3, 2, 1]), "slots, no attempt": (7, []), "no slot, no attempt": (0, [])}[case]


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["three items", "no item"])
def test_attempt_items_shown_equal_select_related_only(case: str, django_assert_num_queries: Any) -> None:
    bank = _bank()
    course = make_course()
    assessment = Assessment.objects.create(course=course, slug="a", title="A")
    attempt = _attempt(assessment, make_user(), 1, AttemptStatus.IN_PROGRESS)
    other = _attempt(assessment, make_user(), 1, AttemptStatus.SUBMITTED)
    q1, q2 = bank.questions[:2]
    old_version = q1.versions.get(number=1)
    if case == "three items":
        for position, version, response in ((3, q2.current_version, None), (1, q1.current_version, {"choice": 1}),
                                            (2, old_version, {"value": "0.5"})):
            AttemptItem.objects.create(attempt=attempt, position=position, question_version=version, seed=position * 11,
                                       max_points=Decimal("1.25"), response=response, save_count=position,
                                       response_saved_at=timezone.now() if response else None,
                                       feedback={"score": 1} if position == 2 else None, score=Decimal("0.5000"))
    AttemptItem.objects.create(attempt=other, position=1, question_version=q2.current_version, seed=1)

    with django_assert_num_queries(1):
        ours = sql.attempt_items_shown(attempt_id=attempt.pk)
    item_fields = [f.name for f in AttemptItem._meta.concrete_fields]
    version_fields = [QuestionVersion._meta.get_field(name).name for name in sql.SHOWN_VERSION_FIELDS]
    orm = list(AttemptItem.objects.filter(attempt_id=attempt.pk).select_related("question_version__question")
               .only(*item_fields, *(f"question_version__{name}" for name in version_fields),
                     *(f"question_version__question__{name}" for name in sql.SHOWN_QUESTION_FIELDS))
               .order_by("position"))
    assert [(model_fields(i), model_fields(i.question_version), model_fields(i.question_version.question)) for i in ours] == [
        (model_fields(i), model_fields(i.question_version), model_fields(i.question_version.question)) for i in orm]
    assert [i.position for i in ours] == ([1, 2, 3] if case == "three items" else [])
    assert all(i.question_version.get_deferred_fields() for i in ours)  # the source and metadata are not read


# --------------------------------------------------------------------------- a rubric edit's bulk writes


@pytest.mark.django_db
def test_attempt_items_grades_set_and_attempts_points_set_write_what_bulk_update_writes(
        postgres_required: None, django_assert_num_queries: Any) -> None:
    bank = _bank()
    version = next(q.current_version for q in bank.questions if q.current_version_id)
    assessment = Assessment.objects.create(course=make_course(), slug="a", title="A", mode=AssessmentMode.EXAM)
    attempts = [_attempt(assessment, make_user(), 1, AttemptStatus.SUBMITTED) for _ in range(3)]
    items = [AttemptItem.objects.create(attempt=a, position=1, question_version=version, max_points=Decimal("15"),
                                        score=Decimal("0.5"), feedback={"old": True}) for a in attempts]
    later = timezone.now()
    grades = [(items[0].pk, Decimal("0.8667"), {"version": 2, "parts": [{"name": "rubric-1", "points": 2.5}]}, later),
              (items[1].pk, Decimal("0"), {"message": {"en": "“quoted” 中文", "zh-Hant": "x"}}, None),
              (items[2].pk, None, None, later)]
    points = [(attempts[0].pk, Decimal("13.001")), (attempts[2].pk, None)]

    def tables() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return (list(AttemptItem.objects.order_by("pk").values()), list(Attempt.objects.order_by("pk").values()))

    def by_sql() -> None:
        with django_assert_num_queries(2):
            assert sql.attempt_items_grades_set(rows=grades) == 3
            assert sql.attempts_points_set(rows=points) == 2

    def by_the_orm() -> None:
        rows = [AttemptItem(pk=pk, score=score, feedback=feedback, graded_at=graded_at)
                for pk, score, feedback, graded_at in grades]
        AttemptItem.objects.bulk_update(rows, ["score", "feedback", "graded_at"])
        Attempt.objects.bulk_update([Attempt(pk=pk, points=p) for pk, p in points], ["points"])

    results = []
    for write in (by_sql, by_the_orm):
        with transaction.atomic():
            write()
            results.append(tables())
            transaction.set_rollback(True)
    assert results[0] == results[1]
    assert results[0][0][0]["score"] == Decimal("0.8667") and results[0][1][0]["points"] == Decimal("13.001")
    assert sql.attempt_items_grades_set(rows=[]) == 0 and sql.attempts_points_set(rows=[]) == 0
