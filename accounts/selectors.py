"""Reads about users, courses and roles."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import STAFF_ROLES, Course, Enrollment, User


def enrollments_for_user(*, user: User) -> QuerySet[Enrollment]:
    return Enrollment.objects.filter(user=user).select_related("course").order_by("course__slug")


def courses_taught_by(*, user: User) -> QuerySet[Course]:
    """Courses in which the user is a TA or an instructor."""
    return Course.objects.filter(enrollments__user=user, enrollments__role__in=STAFF_ROLES).distinct()


def user_role_in_course(*, user: User, course: Course) -> str | None:
    return Enrollment.objects.filter(user=user, course=course).values_list("role", flat=True).first()


def user_is_course_staff(*, user: User) -> bool:
    """True for a TA or instructor of any course (or a superuser): who may open instructor pages."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return Enrollment.objects.filter(user=user, role__in=STAFF_ROLES).exists()
