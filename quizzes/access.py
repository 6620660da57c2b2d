"""Access checks for the bank, assessments and attempts: the only way views get these objects.

Students see published assessments of courses they are enrolled in, and only their own attempts;
course staff see everything in their courses and may read a student's attempt but never act on it.
Instructor pages: course staff only (students of the course 403, everyone else 404); objects of
another course are 404. Anything else is a 404, so ids reveal nothing.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.access import (
    course_get_for_instructor,
    course_get_for_staff,
    member_filter,
    sections_visible_to,
)
from accounts.models import STAFF_ROLES, Course, User
from quizzes import sql
from quizzes.models import (
    Assessment,
    AssessmentItem,
    AssessmentMode,
    Attempt,
    AttemptItem,
    AttemptStatus,
    Question,
    RegradeJob,
    RegradeRequest,
    RubricItem,
)


def assessment_get_for_member(*, user: User, course_slug: str, assessment_slug: str) -> tuple[Assessment, str]:
    """The assessment (its course selected) and the user's role; unpublished ones exist only for staff.

    The rule of ``accounts.access.course_get_for_member`` (members, and superusers as instructors)
    in the same query as the assessment, written as SQL (``quizzes.sql.assessment_for_member``): every
    student opening an exam asks this twice.
    """
    found = sql.assessment_for_member(user_id=user.pk, course_slug=course_slug, assessment_slug=assessment_slug)
    if found is None:
        raise Http404("No such assessment.")
    assessment, enrolled_as = found
    role = enrolled_as or ("instructor" if user.is_superuser else None)
    if role is None or (not assessment.published and role not in STAFF_ROLES):
        raise Http404("No such assessment.")
    return assessment, role


def past_exam_get_for_member(*, user: User, course_slug: str, assessment_slug: str) -> Assessment:
    """A past exam (a mock exam) of a course the user is enrolled in, to study without an attempt:
    the rule of :func:`assessment_get_for_member`, and only mock exams (anything else is 404)."""
    assessment, _role = assessment_get_for_member(user=user, course_slug=course_slug, assessment_slug=assessment_slug)
    if assessment.mode != AssessmentMode.MOCK:
        raise Http404("No such past exam.")
    return assessment


def attempt_get_for_user(*, user: User, attempt_id: int) -> Attempt:
    """The attempt (its assessment and course selected) if it is the user's own and they are still a
    member of its course (a dropped student's attempts stay, out of their sight), or the user teaches
    its course (read only). Written as SQL (``quizzes.sql.attempt_with_assessment``, which also reads
    the user's role in the course): every exam page and poll asks it."""
    found = sql.attempt_with_assessment(attempt_id=attempt_id, user_id=user.pk)
    if found is None:
        raise Http404("No such attempt.")
    attempt, enrolled_as = found
    member = enrolled_as is not None or user.is_superuser
    staff = enrolled_as in STAFF_ROLES or user.is_superuser
    if not ((attempt.user_id == user.id and member) or staff):
        raise Http404("No such attempt.")
    return attempt


def attempt_item_get_for_owner(*, user: User, attempt_id: int, item_id: int) -> AttemptItem:
    """An item of the user's own attempt in a course they are a member of, for writing: even staff
    cannot answer for a student. (Autosave holds the same rule in its one UPDATE:
    ``quizzes.sql.attempt_item_save_response``.)"""
    item = (AttemptItem.objects.filter(pk=item_id, attempt_id=attempt_id, attempt__user=user)
            .filter(member_filter(user=user, course_id_field="attempt__assessment__course_id"))
            .select_related("attempt__assessment", "question_version__question").first())
    if item is None:
        raise Http404("No such question in your attempt.")
    return item


def attempt_get_for_owner(*, user: User, attempt_id: int) -> Attempt:
    """The user's own attempt in a course they are a member of, for acting on it (submit): staff may
    read attempts, never act on them."""
    attempt = (Attempt.objects.select_related("assessment__course").filter(pk=attempt_id, user=user)
               .filter(member_filter(user=user, course_id_field="assessment__course_id")).first())
    if attempt is None:
        raise Http404("No such attempt.")
    return attempt


# --------------------------------------------------------------------------- instructor pages


def question_get_for_staff(*, user: User, course_slug: str, bank_id: str) -> tuple[Course, Question]:
    """A bank question, for the staff of a course (the bank is shared by all courses)."""
    course = course_get_for_staff(user=user, course_slug=course_slug)
    question = Question.objects.select_related("topic", "current_version").filter(bank_id=bank_id).first()
    if question is None:
        raise Http404("No such question.")
    return course, question


def assessment_get_for_staff(*, user: User, course_slug: str, assessment_id: int) -> Assessment:
    """An assessment of the course, for its staff; another course's assessment is 404."""
    course = course_get_for_staff(user=user, course_slug=course_slug)
    assessment = Assessment.objects.filter(course=course, pk=assessment_id).select_related("course").first()
    if assessment is None:
        raise Http404("No such assessment.")
    return assessment


def assessment_item_get_for_staff(*, user: User, course_slug: str, assessment_id: int, item_id: int) -> AssessmentItem:
    assessment = assessment_get_for_staff(user=user, course_slug=course_slug, assessment_id=assessment_id)
    item = AssessmentItem.objects.filter(assessment=assessment, pk=item_id).select_related("assessment").first()
    if item is None:
        raise Http404("No such item.")
    return item


def grading_item_get_for_staff(*, user: User, course_slug: str, item_id: int) -> tuple[Course, AttemptItem]:
    """An essay answer of a submitted attempt in a course the user teaches (404 otherwise; also for a
    TA limited to sections, a student of another section: ``accounts.access.sections_visible_to``)."""
    course = course_get_for_staff(user=user, course_slug=course_slug)
    items = AttemptItem.objects.select_related("attempt__user", "attempt__assessment", "question_version__question")
    sections = sections_visible_to(user=user, course=course)
    if sections is not None:
        items = items.filter(attempt__user__enrollments__course=course, attempt__user__enrollments__section__in=sections)
    item = (
        items.filter(pk=item_id, attempt__assessment__course=course, question_version__question__type="essay")
        .exclude(attempt__status=AttemptStatus.IN_PROGRESS)
        .first()
    )
    if item is None:
        raise Http404("No such answer to grade.")
    return course, item


# --------------------------------------------------------------------------- regrades


def regrade_request_get_for_staff(*, user: User, course_slug: str, request_id: int) -> tuple[Course, RegradeRequest]:
    """A regrade request of a course the user teaches (404 otherwise; also, for a TA limited to
    sections, a request of a student of another section: ``accounts.access.sections_visible_to``)."""
    course = course_get_for_staff(user=user, course_slug=course_slug)
    requests = RegradeRequest.objects.select_related(
        "student", "item__attempt__assessment", "item__question_version__question", "answered_by")
    sections = sections_visible_to(user=user, course=course)
    if sections is not None:
        requests = requests.filter(student__enrollments__course=course, student__enrollments__section__in=sections)
    request = requests.filter(pk=request_id, item__attempt__assessment__course=course).first()
    if request is None:
        raise Http404("No such regrade request.")
    return course, request


def assessment_get_for_instructor(*, user: User, course_slug: str, assessment_id: int) -> Assessment:
    """An assessment of the course, for its instructors only (class-wide regrades): TAs and students
    403, another course's assessment 404."""
    course = course_get_for_instructor(user=user, course_slug=course_slug)
    assessment = Assessment.objects.filter(course=course, pk=assessment_id).select_related("course").first()
    if assessment is None:
        raise Http404("No such assessment.")
    return assessment


def regrade_job_get_for_instructor(*, user: User, course_slug: str, assessment_id: int, job_id: int) -> RegradeJob:
    assessment = assessment_get_for_instructor(user=user, course_slug=course_slug, assessment_id=assessment_id)
    job = (RegradeJob.objects.select_related("assessment__course", "question", "to_version")
           .filter(pk=job_id, assessment=assessment).first())
    if job is None:
        raise Http404("No such regrade.")
    return job
def grading_question_get_for_staff(*, user: User, course_slug: str,
                                   question_id: int) -> tuple[Course, Question, frozenset[str] | None]:
    """An essay question answered in the course's exams, for grading it across students: the course, the
    question (its current version selected) and the sections whose answers this grader sees (None: all;
    ``accounts.access.sections_visible_to``). Students 403; another course's or a question nobody here
    answered 404."""
    course = course_get_for_staff(user=user, course_slug=course_slug)
    question = (Question.objects.select_related("current_version")
                .filter(pk=question_id, type="essay").first())
    answered = question is not None and AttemptItem.objects.filter(
        attempt__assessment__course=course, attempt__assessment__mode=AssessmentMode.EXAM,
        question_version__question=question).exclude(attempt__status=AttemptStatus.IN_PROGRESS).exists()
    if not answered:
        raise Http404("No such question to grade.")
    return course, question, sections_visible_to(user=user, course=course)


def rubric_question_get_for_editor(*, user: User, course_slug: str, question_id: int) -> tuple[Course, Question]:
    """A question graded in the course, for changing its rubric. A change re-scores every answer an item
    was applied to, in every section: a TA limited to sections may apply the rubric but not change it (403)."""
    course, question, sections = grading_question_get_for_staff(user=user, course_slug=course_slug,
                                                                question_id=question_id)
    if sections is not None:
        raise PermissionDenied("Only staff who grade every section change the rubric.")
    return course, question


def rubric_item_get_for_editor(*, user: User, course_slug: str, question_id: int,
                               rubric_item_id: int) -> tuple[Course, RubricItem]:
    """A rubric item of such a question (the rule of :func:`rubric_question_get_for_editor`)."""
    course, question = rubric_question_get_for_editor(user=user, course_slug=course_slug, question_id=question_id)
    rubric_item = RubricItem.objects.filter(pk=rubric_item_id, question=question).first()
    if rubric_item is None:
        raise Http404("No such rubric item.")
    return course, rubric_item
