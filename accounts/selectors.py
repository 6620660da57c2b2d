"""Reads about users, courses and roles."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db.models import QuerySet
from rest_framework.authtoken.models import Token

from accounts import sql
from accounts.models import STAFF_ROLES, Course, Enrollment, User

logger = logging.getLogger(__name__)


def enrollments_for_user(*, user: User) -> QuerySet[Enrollment]:
    return Enrollment.objects.filter(user=user).select_related("course").order_by("course__slug")


def courses_taught_by(*, user: User) -> QuerySet[Course]:
    """Courses in which the user is a TA or an instructor."""
    return Course.objects.filter(enrollments__user=user, enrollments__role__in=STAFF_ROLES).distinct()


def tokens_for_user(*, user: User) -> QuerySet[Token]:
    """The user's API tokens (DRF keeps at most one)."""
    return Token.objects.filter(user=user)


def user_role_in_course(*, user: User, course: Course) -> str | None:
    return Enrollment.objects.filter(user=user, course=course).values_list("role", flat=True).first()


def user_is_course_staff(*, user: User) -> bool:
    """True for a TA or instructor of any course (or a superuser): who may open instructor pages.
    SQL written once (``accounts.sql``): the navigation asks it on every student's first page."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return sql.user_staff_anywhere(user_id=user.pk)


NAV_STAFF_CACHE_SECONDS = 60


def nav_staff_cache_key(user_id: int) -> str:
    return f"accounts:nav-staff:{user_id}"


def user_sees_instructor_link(*, user: User) -> bool:
    """``user_is_course_staff`` for the navigation's "Instructor" link on every page, cached for a
    minute (``user_enroll`` clears it). Never an access check: instructor pages ask the database."""
    if not user.is_authenticated:
        return False
    key = nav_staff_cache_key(user.pk)
    try:
        shown = cache.get(key)
    except Exception:  # an unreachable cache costs a query, never the page
        logger.warning("cache unavailable for the navigation", exc_info=True)
        return user_is_course_staff(user=user)
    if shown is None:
        shown = user_is_course_staff(user=user)
        try:
            cache.set(key, shown, NAV_STAFF_CACHE_SECONDS)
        except Exception:
            logger.warning("cache unavailable for the navigation", exc_info=True)
    return bool(shown)


def nav_staff_forget(*, user_id: int) -> None:
    """After a role change: the link follows at once (or within a minute if the cache is down)."""
    try:
        cache.delete(nav_staff_cache_key(user_id))
    except Exception:
        logger.warning("cache unavailable; the navigation catches up within a minute", exc_info=True)
