"""Access checks: the only way views get protected course objects.

Modelled on Zulip's ``access_*_by_*``: one function per protected resource, raising Http404 when
the user may not even know the object exists and PermissionDenied when they know but may not act.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django.http import Http404

from accounts.models import STAFF_ROLES, Course, Enrollment, Role, TeachingSection, User


def course_get_for_member(*, user: User, course_slug: str) -> tuple[Course, str]:
    """The course and the user's role in it; 404 for courses the user is not enrolled in."""
    enrollment = (
        Enrollment.objects.select_related("course").filter(user=user, course__slug=course_slug).first()
    )
    if enrollment is None:
        if user.is_superuser:
            course = Course.objects.filter(slug=course_slug).first()
            if course is not None:
                return course, "instructor"
        raise Http404("No such course.")
    return enrollment.course, enrollment.role


def member_filter(*, user: User, course_id_field: str) -> Q:
    """A filter for rows of the courses ``user`` is a member of now, by
    :func:`course_get_for_member`'s rule (an enrolment; a superuser is a member of every course).
    ``course_id_field`` names the row's course id, e.g. ``"assessment__course_id"``. A student's own
    attempts and submissions are shown only under it: a roster drop deletes the enrolment and keeps
    the work (``DroppedEnrollment``), and a dropped student meets the course nowhere, as an outsider."""
    if user.is_superuser:
        return Q()
    return Q(Exists(Enrollment.objects.filter(user=user, course_id=OuterRef(course_id_field))))


def course_get_for_staff(*, user: User, course_slug: str) -> Course:
    """The course if the user teaches it (TA/instructor); students get 403, outsiders 404."""
    course, role = course_get_for_member(user=user, course_slug=course_slug)
    if role not in STAFF_ROLES:
        raise PermissionDenied("Only the course's instructors and TAs may open this page.")
    return course


def course_role_of(*, user: User, course_id: int) -> str | None:
    """The user's role in the course by :func:`course_get_for_member`'s rule (a superuser not
    enrolled is an instructor); None for others, a student a roster dropped among them."""
    role = Enrollment.objects.filter(user=user, course_id=course_id).values_list("role", flat=True).first()
    if role is None and user.is_superuser:
        return Role.INSTRUCTOR
    return role


def user_is_staff_of_course(*, user: User, course_id: int) -> bool:
    """A TA or instructor of this course (or a superuser): may read students' work in it."""
    return user.is_superuser or Enrollment.objects.filter(
        user=user, course_id=course_id, role__in=STAFF_ROLES
    ).exists()


def course_get_for_instructor(*, user: User, course_slug: str) -> Course:
    """The course if the user is one of its instructors (or a superuser): the people pages (roster,
    staff, join code). Its TAs and students get 403, everyone else 404."""
    course, role = course_get_for_member(user=user, course_slug=course_slug)
    if role != Role.INSTRUCTOR:
        raise PermissionDenied("Only the course's instructors may manage its people.")
    return course


def course_creator_check(*, user: User) -> None:
    """Creating courses: staff with the ``accounts.create_course`` permission (superusers have all)."""
    if not user.has_perm("accounts.create_course"):
        raise PermissionDenied("Creating courses needs the course-creator permission.")


def sections_visible_to(*, user: User, course: Course) -> frozenset[str] | None:
    """The sections whose students this member of the course's staff sees: None for every section
    (instructors, superusers, a TA not limited), else a TA's ``TeachingSection`` rows. Students of a
    section outside these are left out of the grading queue and the gradebook."""
    if user.is_superuser:
        return None
    role = Enrollment.objects.filter(user=user, course=course).values_list("role", flat=True).first()
    if role != Role.TA:
        return None
    sections = frozenset(TeachingSection.objects.filter(course=course, user=user).values_list("section", flat=True))
    return sections or None
