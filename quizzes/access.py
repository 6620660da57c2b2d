"""Access checks for assessments and attempts: the only way views get these objects.

Students see published assessments of courses they are enrolled in, and only their own attempts;
course staff see everything in their courses. Anything else is a 404, so ids reveal nothing.
"""

from __future__ import annotations

from django.db.models import OuterRef, Subquery
from django.http import Http404

from accounts.access import user_is_staff_of_course
from accounts.models import STAFF_ROLES, Enrollment, User
from quizzes.models import Assessment, Attempt, AttemptItem


def assessment_get_for_member(*, user: User, course_slug: str, assessment_slug: str) -> tuple[Assessment, str]:
    """The assessment and the user's role; unpublished ones exist only for staff.

    The rule of ``accounts.access.course_get_for_member`` (members, and superusers as instructors)
    in the same query as the assessment: every student opening an exam asks this, twice.
    """
    member_role = Enrollment.objects.filter(user_id=user.pk, course_id=OuterRef("course_id")).values("role")[:1]
    assessment = (Assessment.objects.filter(course__slug=course_slug, slug=assessment_slug)
                  .select_related("course").annotate(member_role=Subquery(member_role)).first())
    role = None if assessment is None else assessment.member_role or ("instructor" if user.is_superuser else None)
    if assessment is None or role is None or (not assessment.published and role not in STAFF_ROLES):
        raise Http404("No such assessment.")
    return assessment, role


def attempt_get_for_user(*, user: User, attempt_id: int) -> Attempt:
    """The attempt if it is the user's own, or the user teaches its course (read only)."""
    attempt = Attempt.objects.select_related("assessment__course").filter(pk=attempt_id).first()
    if attempt is None:
        raise Http404("No such attempt.")
    if attempt.user_id != user.id and not user_is_staff_of_course(user=user, course_id=attempt.assessment.course_id):
        raise Http404("No such attempt.")
    return attempt


def attempt_item_get_for_owner(*, user: User, attempt_id: int, item_id: int, with_question: bool = True) -> AttemptItem:
    """An item of the user's own attempt, for writing: even staff cannot answer for a student.

    ``with_question=False`` is for autosave, the most frequent request: it reads only the item's
    id, attempt id and save count, not its question or its (up to 64 KB) saved answer.
    """
    items = AttemptItem.objects.filter(pk=item_id, attempt_id=attempt_id, attempt__user=user)
    if with_question:
        items = items.select_related("attempt__assessment", "question_version__question")
    else:
        items = items.only("id", "attempt_id", "save_count")
    item = items.first()
    if item is None:
        raise Http404("No such question in your attempt.")
    return item


def attempt_get_for_owner(*, user: User, attempt_id: int) -> Attempt:
    """The user's own attempt, for acting on it (submit): staff may read attempts, never act on them."""
    attempt = Attempt.objects.select_related("assessment__course").filter(pk=attempt_id, user=user).first()
    if attempt is None:
        raise Http404("No such attempt.")
    return attempt
