"""Access checks for labs and submissions: the only way views and APIs get these objects.

Students see published labs of courses they are enrolled in, and only their own submissions; course
staff (TAs, instructors) and superusers see every lab and submission of their courses. Anything
else is a 404, so slugs and ids reveal nothing; a student asking for an instructor page of their own
course gets 403. Who may see a variant's correct answers is :func:`answers_visible`.
"""

from __future__ import annotations

from datetime import datetime

from django.http import Http404
from django.utils import timezone

from accounts.access import (
    course_get_for_member,
    course_get_for_staff,
    course_role_of,
    user_is_staff_of_course,
)
from accounts.models import STAFF_ROLES, User
from labs.models import Lab, Submission
from labs.policy import LabPolicy


def lab_get_for_member(*, user: User, lab_slug: str) -> tuple[Lab, str]:
    """The lab and the user's role in its course; unpublished labs exist only for staff."""
    lab = Lab.objects.select_related("course").filter(slug=lab_slug).first()
    if lab is None:
        raise Http404("No such lab.")
    _course, role = course_get_for_member(user=user, course_slug=lab.course.slug)
    if not lab.published and role not in STAFF_ROLES:
        raise Http404("No such lab.")
    return lab, role


def lab_get_for_staff(*, user: User, course_slug: str, lab_slug: str) -> Lab:
    """A lab of the course, for its staff (students 403, outsiders 404); another course's lab is 404."""
    course = course_get_for_staff(user=user, course_slug=course_slug)
    lab = Lab.objects.filter(course=course, slug=lab_slug).select_related("course").first()
    if lab is None:
        raise Http404("No such lab.")
    return lab


def submission_get_for_user(*, user: User, submission_id: int) -> Submission:
    """The submission if it is the user's own and they are still a member of the lab's course (a
    dropped student's submissions stay, out of their sight), or the user teaches that course (read only)."""
    submission = Submission.objects.select_related("lab__course").filter(pk=submission_id).first()
    if submission is None:
        raise Http404("No such submission.")
    role = course_role_of(user=user, course_id=submission.lab.course_id)
    staff = role in STAFF_ROLES or user.is_superuser
    if role is None or (submission.user_id != user.id and not staff):
        raise Http404("No such submission.")
    return submission


def answers_visible(*, user: User, lab: Lab, now: datetime | None = None) -> bool:
    """The correct values of a variant: for the course's staff at any time, for students once the lab
    is closed for submissions (``LabPolicy.answers_revealed``)."""
    return LabPolicy.of(lab).answers_revealed(now or timezone.now()) or user_is_staff_of_course(
        user=user, course_id=lab.course_id)
