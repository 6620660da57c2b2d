"""The quizzes app's hand-written SQL: the statements every exam start, page and autosave runs.

Every student of an exam asks these within the same minute, so each is written once (Django does
not compile the same query on every request) and several do in one statement what the ORM does in
two or three. One function per statement; each runs it and returns rows or model instances as the
ORM expression named in its docstring returns them on the same data. ``quizzes/tests/test_sql.py``
runs both on the same rows and asserts the same result, including the two access rules held here:
``assessment_for_member`` (with ``quizzes.access.assessment_get_for_member``) and
``attempt_item_save_response``.

All run on every database except ``attempt_insert_with_items`` (PostgreSQL: ``available()``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.db import connection

from accounts.models import Course, Enrollment
from dlcv_site.rows import (
    convert_column,
    insert_statement,
    model_from_row,
    postgres_available,
    select_columns,
    table_name,
)
from quizzes.models import (
    Assessment,
    AssessmentItem,
    Attempt,
    AttemptItem,
    AttemptStatus,
    Extension,
    Question,
    QuestionVersion,
)

#: Whether this database runs these statements (PostgreSQL); others take the ORM path.
available = postgres_available


# --------------------------------------------------------------------------- access


@lru_cache(maxsize=1)
def _assessment_for_member_sql() -> str:
    assessments, courses, enrollments = table_name(Assessment), table_name(Course), table_name(Enrollment)
    return (f"SELECT {select_columns(Assessment, 'a')}, {select_columns(Course, 'c')}, "
            f"(SELECT e.role FROM {enrollments} e WHERE e.user_id = %s AND e.course_id = a.course_id) "
            f"FROM {assessments} a JOIN {courses} c ON c.id = a.course_id WHERE c.slug = %s AND a.slug = %s")


def assessment_for_member(*, user_id: int, course_slug: str, assessment_slug: str) -> tuple[Assessment, str | None] | None:
    """The assessment (its course selected) and the user's enrolled role in its course (None if not
    enrolled); None if the course has no such assessment. Equals
    ``Assessment.objects.select_related("course").filter(course__slug=course_slug, slug=assessment_slug).first()``
    with ``Enrollment.objects.filter(user_id=user_id, course__slug=course_slug).values_list("role")``;
    ``quizzes.access.assessment_get_for_member`` adds the superuser and published rules, and equals
    ``accounts.access.course_get_for_member`` plus "unpublished: staff only"."""
    with connection.cursor() as cursor:
        cursor.execute(_assessment_for_member_sql(), [user_id, course_slug, assessment_slug])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(Assessment._meta.concrete_fields)
    assessment = model_from_row(Assessment, row[:split])
    assessment.course = model_from_row(Course, row[split:-1])
    return assessment, row[-1]


@lru_cache(maxsize=1)
def _attempt_with_assessment_sql() -> str:
    attempts, assessments, courses = table_name(Attempt), table_name(Assessment), table_name(Course)
    enrollments = table_name(Enrollment)
    return (f"SELECT {select_columns(Attempt, 't')}, {select_columns(Assessment, 'a')}, {select_columns(Course, 'c')}, "
            f"(SELECT e.role FROM {enrollments} e WHERE e.user_id = %s AND e.course_id = a.course_id) "
            f"FROM {attempts} t JOIN {assessments} a ON a.id = t.assessment_id JOIN {courses} c ON c.id = a.course_id "
            f"WHERE t.id = %s")


def attempt_with_assessment(*, attempt_id: int, user_id: int) -> tuple[Attempt, str | None] | None:
    """The attempt with its assessment and course selected, and the user's enrolled role in that
    course (None if not enrolled); None if there is no such attempt. Equals
    ``Attempt.objects.select_related("assessment__course").filter(pk=attempt_id).first()`` with
    ``Enrollment.objects.filter(user_id=user_id, course=<its course>).values_list("role")``
    (who may see it is ``quizzes.access.attempt_get_for_user``'s rule)."""
    with connection.cursor() as cursor:
        cursor.execute(_attempt_with_assessment_sql(), [user_id, attempt_id])
        row = cursor.fetchone()
    if row is None:
        return None
    first = len(Attempt._meta.concrete_fields)
    second = first + len(Assessment._meta.concrete_fields)
    attempt = model_from_row(Attempt, row[:first])
    attempt.assessment = model_from_row(Assessment, row[first:second])
    attempt.assessment.course = model_from_row(Course, row[second:-1])
    return attempt, row[-1]


# --------------------------------------------------------------------------- starting an attempt


@lru_cache(maxsize=1)
def _slots_sql() -> str:
    slots, questions, versions = table_name(AssessmentItem), table_name(Question), table_name(QuestionVersion)
    return (f"SELECT s.question_id, q.bank_id, q.current_version_id, v.points, s.points, s.pool_topic_id, "
            f"s.pool_tag, s.pool_count FROM {slots} s LEFT JOIN {questions} q ON q.id = s.question_id "
            f"LEFT JOIN {versions} v ON v.id = q.current_version_id WHERE s.assessment_id = %s ORDER BY s.position")


#: The ORM's ``values_list`` of an assessment's slots equal to ``assessment_slots``'s rows.
SLOT_COLUMNS = ("question_id", "question__bank_id", "question__current_version_id",
                "question__current_version__points", "points", "pool_topic_id", "pool_tag", "pool_count")

Slot = tuple[int | None, str | None, int | None, Decimal | None, Decimal | None, int | None, str, int]


def assessment_slots(*, assessment_id: int) -> list[Slot]:
    """The assessment's slots in order, each with its question's bank id, current version and that
    version's points (None for a pool slot): plain rows, numbers as the ORM reads them. Equals
    ``AssessmentItem.objects.filter(assessment_id=assessment_id).order_by("position").values_list(*SLOT_COLUMNS)``."""
    with connection.cursor() as cursor:
        cursor.execute(_slots_sql(), [assessment_id])
        rows = cursor.fetchall()
    return [
        (question_id, bank_id, version_id,
         None if version_points is None else convert_column(QuestionVersion, "points", version_points),
         None if points is None else convert_column(AssessmentItem, "points", points),
         pool_topic_id, pool_tag, pool_count)
        for question_id, bank_id, version_id, version_points, points, pool_topic_id, pool_tag, pool_count in rows
    ]


@lru_cache(maxsize=1)
def _latest_attempt_sql() -> str:
    attempts, extensions = table_name(Attempt), table_name(Extension)
    # The open attempt if there is one, else the latest (its number), and the student's extension.
    return (f"SELECT {select_columns(Attempt, 't')}, (SELECT e.extra_minutes FROM {extensions} e "
            f"WHERE e.assessment_id = %s AND e.user_id = %s) FROM (SELECT 1 AS one) o "
            f"LEFT JOIN {attempts} t ON t.id = (SELECT l.id FROM {attempts} l WHERE l.assessment_id = %s "
            f"AND l.user_id = %s ORDER BY CASE WHEN l.status = %s THEN 0 ELSE 1 END, l.number DESC LIMIT 1)")


def attempt_latest_with_extension(*, assessment_id: int, user_id: int) -> tuple[Attempt | None, int | None]:
    """The user's open attempt at the assessment if there is one, else their latest (highest
    number), or None; and their extension's extra minutes, or None. Equals
    ``Attempt.objects.filter(assessment_id=…, user_id=…).order_by(Case(When(status=IN_PROGRESS,
    then=0), default=1), "-number").first()`` and
    ``Extension.objects.filter(assessment_id=…, user_id=…).values_list("extra_minutes", flat=True).first()``."""
    with connection.cursor() as cursor:
        cursor.execute(_latest_attempt_sql(),
                       [assessment_id, user_id, assessment_id, user_id, AttemptStatus.IN_PROGRESS.value])
        row = cursor.fetchone()
    return (model_from_row(Attempt, row[:-1]) if row[0] is not None else None), row[-1]


def attempt_insert_with_items(*, attempt_row: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> int:
    """PostgreSQL only (``available()``), at least one item: INSERT the attempt (``attempt_row``:
    attname → value) and its items (each without ``attempt_id``) in one statement, atomic by
    itself; the new attempt's id. Writes what ``Attempt.objects.create(**attempt_row)`` and
    ``AttemptItem.objects.bulk_create([AttemptItem(attempt_id=…, **item) …])`` write (and
    ``dlcv_site.rows.insert_rows`` twice, the other databases' path)."""
    attempt_sql, attempt_params = insert_statement(Attempt, [attempt_row], returning_pk=True)
    items_sql, items_params = insert_statement(AttemptItem, items,
                                               sql_values={"attempt_id": "(SELECT id FROM new_attempt)"})
    with connection.cursor() as cursor:
        cursor.execute(f"WITH new_attempt AS ({attempt_sql}), new_items AS ({items_sql}) SELECT id FROM new_attempt",
                       attempt_params + items_params)
        (attempt_id,) = cursor.fetchone()
    return attempt_id


# --------------------------------------------------------------------------- autosave


@lru_cache(maxsize=1)
def _save_sql() -> str:
    item, attempt = table_name(AttemptItem), table_name(Attempt)
    assessments, enrollments = table_name(Assessment), table_name(Enrollment)
    return (
        f"UPDATE {item} SET response = %s, response_saved_at = %s, save_count = save_count + 1, "
        f"hint_used = hint_used OR (%s AND graded_at IS NULL) "
        f"WHERE id = %s AND attempt_id = %s AND EXISTS (SELECT 1 FROM {attempt} WHERE {attempt}.id = %s "
        f"AND {attempt}.user_id = %s AND {attempt}.status = %s "
        f"AND ({attempt}.deadline IS NULL OR {attempt}.deadline >= %s) "
        f"AND (%s OR EXISTS (SELECT 1 FROM {assessments} a JOIN {enrollments} e ON e.course_id = a.course_id "
        f"WHERE a.id = {attempt}.assessment_id AND e.user_id = {attempt}.user_id))) RETURNING save_count"
    )


def attempt_item_save_response(*, user_id: int, attempt_id: int, item_id: int, response: Any,
                               now: datetime, hint_used: bool = False, superuser: bool = False) -> int | None:
    """Store ``response`` (saved at ``now``) on the item and count the save, if the item is one of
    the user's own attempt in a course they are a member of (``quizzes.access.attempt_item_get_for_owner``'s
    rule: even staff cannot answer for a student; a dropped student no longer answers; ``superuser``:
    a member of every course), the attempt is in progress and its deadline, if any, is not before
    ``now``; the item's new save count, or None when nothing was written. ``hint_used`` marks the
    item's hint as opened if it is not graded yet (a flag is never cleared). Access rule 2: equals
    ``AttemptItem.objects.filter(pk=item_id, attempt_id=attempt_id, attempt__user_id=user_id,
    attempt__status=IN_PROGRESS).filter(Q(attempt__deadline=None) | Q(attempt__deadline__gte=now))
    .filter(accounts.access.member_filter(user=…, course_id_field="attempt__assessment__course_id"))
    .update(response=response, response_saved_at=now, save_count=F("save_count") + 1, hint_used=Case(When(
    graded_at=None, then=Value(True)), default=F("hint_used")) if hint_used else F("hint_used"))``."""
    fields = AttemptItem._meta
    values = [fields.get_field("response").get_db_prep_save(response, connection),
              fields.get_field("response_saved_at").get_db_prep_save(now, connection), bool(hint_used),
              item_id, attempt_id, attempt_id, user_id, AttemptStatus.IN_PROGRESS.value,
              Attempt._meta.get_field("deadline").get_db_prep_save(now, connection), superuser]
    with connection.cursor() as cursor:
        cursor.execute(_save_sql(), values)
        row = cursor.fetchone()
    return None if row is None else row[0]


# --------------------------------------------------------------------------- the student's pages


@lru_cache(maxsize=1)
def _landing_sql() -> str:
    slots, attempts = table_name(AssessmentItem), table_name(Attempt)
    return (f"SELECT (SELECT COALESCE(SUM(CASE WHEN s.question_id IS NULL THEN s.pool_count ELSE 1 END), 0) "
            f"FROM {slots} s WHERE s.assessment_id = %s), {select_columns(Attempt, 't')} FROM (SELECT 1 AS one) o "
            f"LEFT JOIN {attempts} t ON t.assessment_id = %s AND t.user_id = %s ORDER BY t.number DESC")


def assessment_landing(*, assessment_id: int, user_id: int) -> tuple[int, list[Attempt]]:
    """How many questions the assessment's attempts draw (a pool slot counts its draws, a question
    slot one) and the user's attempts at it, latest (highest number) first. Equals
    ``AssessmentItem.objects.filter(assessment_id=…).aggregate(n=Coalesce(Sum(Case(When(question=None,
    then="pool_count"), default=1)), 0))["n"]`` and
    ``Attempt.objects.filter(assessment_id=…, user_id=…).order_by("-number")``."""
    with connection.cursor() as cursor:
        cursor.execute(_landing_sql(), [assessment_id, assessment_id, user_id])
        rows = cursor.fetchall()
    return int(rows[0][0]), [model_from_row(Attempt, row[1:]) for row in rows if row[1] is not None]


#: What the quiz and results pages read of an item's version and question: their content, not the
#: source file or metadata.
SHOWN_VERSION_FIELDS = ("id", "question_id", "content_hash", "prompt", "explanation", "hint", "spec", "lang",
                        "translations")
SHOWN_QUESTION_FIELDS = ("id", "type")


@lru_cache(maxsize=1)
def _attempt_items_sql() -> str:
    items, versions, questions = table_name(AttemptItem), table_name(QuestionVersion), table_name(Question)
    return (f"SELECT {select_columns(AttemptItem, 'i')}, {select_columns(QuestionVersion, 'v', SHOWN_VERSION_FIELDS)}, "
            f"{select_columns(Question, 'q', SHOWN_QUESTION_FIELDS)} FROM {items} i "
            f"JOIN {versions} v ON v.id = i.question_version_id JOIN {questions} q ON q.id = v.question_id "
            f"WHERE i.attempt_id = %s ORDER BY i.position")


def attempt_items_shown(*, attempt_id: int) -> list[AttemptItem]:
    """The attempt's items in order, each with its version and question selected (their shown
    fields; the rest deferred). Equals ``AttemptItem.objects.filter(attempt_id=attempt_id)
    .select_related("question_version__question").only(<every item field>,
    *("question_version__" + f for f in SHOWN_VERSION_FIELDS),
    *("question_version__question__" + f for f in SHOWN_QUESTION_FIELDS)).order_by("position")``."""
    with connection.cursor() as cursor:
        cursor.execute(_attempt_items_sql(), [attempt_id])
        rows = cursor.fetchall()
    first = len(AttemptItem._meta.concrete_fields)
    second = first + len(SHOWN_VERSION_FIELDS)
    items = []
    for row in rows:
        item = model_from_row(AttemptItem, row[:first])
        item.question_version = model_from_row(QuestionVersion, row[first:second], SHOWN_VERSION_FIELDS)
        item.question_version.question = model_from_row(Question, row[second:], SHOWN_QUESTION_FIELDS)
        items.append(item)
    return items


# --------------------------------------------------------------------------- a rubric edit re-scores the class


def attempt_items_grades_set(*, rows: Sequence[tuple[int, Decimal | None, Any, datetime | None]]) -> int:
    """PostgreSQL only (``available()``): set each ``(item id, score, feedback, graded_at)`` in one
    UPDATE … FROM (VALUES …); the rows written. Writes what
    ``AttemptItem.objects.bulk_update(items, ["score", "feedback", "graded_at"])`` writes, without its
    CASE per row (``quizzes.services.rubric.rubric_item_update``: 500 answers in one statement)."""
    if not rows:
        return 0
    table = table_name(AttemptItem)
    values = ", ".join(["(%s::bigint, %s::numeric, %s::jsonb, %s::timestamptz)"] * len(rows))
    params: list[Any] = []
    for item_id, score, feedback, graded_at in rows:
        params += [item_id, score, None if feedback is None else json.dumps(feedback), graded_at]
    with connection.cursor() as cursor:
        cursor.execute(f'UPDATE {table} AS i SET score = v.score, feedback = v.feedback, graded_at = v.graded_at '
                       f'FROM (VALUES {values}) AS v(id, score, feedback, graded_at) WHERE i.id = v.id', params)
        return cursor.rowcount


def attempts_points_set(*, rows: Sequence[tuple[int, Decimal | None]]) -> int:
    """PostgreSQL only (``available()``): set each ``(attempt id, points)`` in one UPDATE … FROM (VALUES …);
    writes what ``Attempt.objects.bulk_update(attempts, ["points"])`` writes."""
    if not rows:
        return 0
    table = table_name(Attempt)
    values = ", ".join(["(%s::bigint, %s::numeric)"] * len(rows))
    params = [value for row in rows for value in row]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} AS a SET points = v.points FROM (VALUES {values}) AS v(id, points) "
                       "WHERE a.id = v.id", params)
        return cursor.rowcount
