"""Access checks for assessments and attempts: the only way views get these objects.

Students see published assessments of courses they are enrolled in, and only their own attempts;
course staff see everything in their courses. Anything else is a 404, so ids reveal nothing.
"""

from __future__ import annotations

from functools import lru_cache

from django.db import connection
from django.http import Http404

from accounts.access import user_is_staff_of_course
from accounts.models import STAFF_ROLES, Course, Enrollment, User
from dlcv_site.rows import model_from_row, select_columns, table_name
from quizzes.models import Assessment, Attempt, AttemptItem


@lru_cache(maxsize=1)
def _assessment_for_member_sql() -> str:
    assessments, courses, enrollments = table_name(Assessment), table_name(Course), table_name(Enrollment)
    return (f"SELECT {select_columns(Assessment, 'a')}, {select_columns(Course, 'c')}, "
            f"(SELECT e.role FROM {enrollments} e WHERE e.user_id = %s AND e.course_id = a.course_id) "
            f"FROM {assessments} a JOIN {courses} c ON c.id = a.course_id WHERE c.slug = %s AND a.slug = %s")


def assessment_get_for_member(*, user: User, course_slug: str, assessment_slug: str) -> tuple[Assessment, str]:
    """The assessment (its course selected) and the user's role; unpublished ones exist only for staff.

    The rule of ``accounts.access.course_get_for_member`` (members, and superusers as instructors)
    in the same query as the assessment, written as SQL: every student opening an exam asks this twice.
    """
    with connection.cursor() as cursor:
        cursor.execute(_assessment_for_member_sql(), [user.pk, course_slug, assessment_slug])
        row = cursor.fetchone()
    if row is None:
        raise Http404("No such assessment.")
    split = len(Assessment._meta.concrete_fields)
    assessment = model_from_row(Assessment, row[:split])
    assessment.course = model_from_row(Course, row[split:-1])
    role = row[-1] or ("instructor" if user.is_superuser else None)
    if role is None or (not assessment.published and role not in STAFF_ROLES):
        raise Http404("No such assessment.")
    return assessment, role


@lru_cache(maxsize=1)
def _attempt_with_assessment_sql() -> str:
    attempts, assessments, courses = table_name(Attempt), table_name(Assessment), table_name(Course)
    return (f"SELECT {select_columns(Attempt, 't')}, {select_columns(Assessment, 'a')}, {select_columns(Course, 'c')} "
            f"FROM {attempts} t JOIN {assessments} a ON a.id = t.assessment_id JOIN {courses} c ON c.id = a.course_id "
            f"WHERE t.id = %s")


def attempt_get_for_user(*, user: User, attempt_id: int) -> Attempt:
    """The attempt (its assessment and course selected) if it is the user's own, or the user
    teaches its course (read only). Written as SQL: every exam page and poll asks it."""
    with connection.cursor() as cursor:
        cursor.execute(_attempt_with_assessment_sql(), [attempt_id])
        row = cursor.fetchone()
    if row is None:
        raise Http404("No such attempt.")
    first = len(Attempt._meta.concrete_fields)
    second = first + len(Assessment._meta.concrete_fields)
    attempt = model_from_row(Attempt, row[:first])
    attempt.assessment = model_from_row(Assessment, row[first:second])
    attempt.assessment.course = model_from_row(Course, row[second:])
    if attempt.user_id != user.id and not user_is_staff_of_course(user=user, course_id=attempt.assessment.course_id):
        raise Http404("No such attempt.")
    return attempt


def attempt_item_get_for_owner(*, user: User, attempt_id: int, item_id: int) -> AttemptItem:
    """An item of the user's own attempt, for writing: even staff cannot answer for a student.
    (Autosave holds the same rule in its one UPDATE: ``services.attempts.attempt_item_save``.)"""
    item = (AttemptItem.objects.filter(pk=item_id, attempt_id=attempt_id, attempt__user=user)
            .select_related("attempt__assessment", "question_version__question").first())
    if item is None:
        raise Http404("No such question in your attempt.")
    return item


def attempt_get_for_owner(*, user: User, attempt_id: int) -> Attempt:
    """The user's own attempt, for acting on it (submit): staff may read attempts, never act on them."""
    attempt = Attempt.objects.select_related("assessment__course").filter(pk=attempt_id, user=user).first()
    if attempt is None:
        raise Http404("No such attempt.")
    return attempt
