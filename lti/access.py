"""Access checks for the LTI pages: the course's instructors (and superusers) manage its platforms."""

from __future__ import annotations

from django.http import Http404

from accounts.access import course_get_for_instructor
from accounts.models import Course, User
from lti.models import ToolRegistration


def course_get_for_lti_admin(*, user: User, course_slug: str) -> Course:
    """The course if the user is one of its instructors; TAs and students 403, others 404."""
    return course_get_for_instructor(user=user, course_slug=course_slug)


def registration_get_for_instructor(*, user: User, course_slug: str, registration_id: int) -> ToolRegistration:
    course = course_get_for_lti_admin(user=user, course_slug=course_slug)
    found = (ToolRegistration.objects.select_related("registration", "course")
             .filter(pk=registration_id, course=course).first())
    if found is None:
        raise Http404("No such platform.")
    return found
