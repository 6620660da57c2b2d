"""Courses made and run from the instructor pages: creation, staff, join codes, TAs' sections."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from zoneinfo import available_timezones

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import (
    Course,
    DroppedEnrollment,
    Enrollment,
    EnrollmentSource,
    Role,
    TeachingSection,
    User,
)
from accounts.selectors import nav_staff_forget
from accounts.services import user_enroll
from dlcv_site.errors import InvalidInput, ServiceError

# No 0/O, 1/I/L: a code read aloud in a lecture hall or copied from a slide.
JOIN_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 8


@transaction.atomic
def course_create_by(*, user: User, slug: str, title: str, term: str, time_zone: str, language: str) -> Course:
    """A new course with ``user`` as its instructor. Needs the ``accounts.create_course`` permission
    (the view checks it too); a slug in use is refused."""
    if not user.has_perm("accounts.create_course"):
        raise ServiceError(_("You may not create courses."), code="forbidden")
    if time_zone not in available_timezones():
        raise InvalidInput(_("Unknown time zone."), {"time_zone": _("Unknown time zone.")})
    if language not in dict(settings.LANGUAGES):
        raise InvalidInput(_("Unknown language."), {"language": _("Unknown language.")})
    if slug == "new" or Course.objects.filter(slug=slug).exists():  # "new": the new-course page's address
        raise InvalidInput(_("A course with this short name exists."), {"slug": _("A course with this short name exists.")})
    course = Course.objects.create(slug=slug, title=title, term=term, time_zone=time_zone, language=language)
    user_enroll(user=user, course=course, role=Role.INSTRUCTOR)
    return course


@transaction.atomic
def course_staff_add(*, course: Course, username: str, email: str, name: str, role: str,
                     on_invite: Callable[[list[int]], None] | None = None) -> tuple[User, bool]:
    """Make someone a TA or an instructor of the course: an existing account (by username), or a new
    one without a password that gets an invitation (once committed). Returns the account and whether
    it is new."""
    if role not in (Role.TA, Role.INSTRUCTOR):
        raise InvalidInput(_("Staff are TAs or instructors."), {"role": _("Staff are TAs or instructors.")})
    user = User.objects.filter(username=username).first()
    created = user is None
    if user is None:
        if not email:
            raise InvalidInput(_("A new account needs an email for its invitation."),
                               {"email": _("A new account needs an email for its invitation.")})
        user = User.objects.create(username=username, email=email, display_name=name, password=make_password(None))
        if on_invite is not None:
            invited = [user.pk]
            transaction.on_commit(lambda: on_invite(invited))
    DroppedEnrollment.objects.filter(course=course, user=user).delete()
    enrollment = user_enroll(user=user, course=course, role=role)
    if enrollment.source != EnrollmentSource.MANUAL:  # by hand now: a roster keeps this role
        enrollment.source = EnrollmentSource.MANUAL
        enrollment.save(update_fields=["source"])
    return user, created


@transaction.atomic
def course_member_remove_staff(*, course: Course, user_id: int, acting_user: User) -> None:
    """Take a TA or an instructor off the course (never yourself: a course keeps its instructor)."""
    if user_id == acting_user.pk:
        raise ServiceError(_("You cannot remove yourself."), code="self")
    deleted, _rows = Enrollment.objects.filter(course=course, user_id=user_id, role__in=[Role.TA, Role.INSTRUCTOR]).delete()
    if not deleted:
        raise ServiceError(_("Not a member of the course's staff."), code="not_staff")
    TeachingSection.objects.filter(course=course, user_id=user_id).delete()
    transaction.on_commit(lambda: nav_staff_forget(user_id=user_id))


@transaction.atomic
def course_join_code_rotate(*, course: Course) -> str:
    """A new join code (the old one stops working at once); turns joining on."""
    for _attempt in range(10):
        code = "".join(secrets.choice(JOIN_CODE_ALPHABET) for _i in range(JOIN_CODE_LENGTH))
        try:
            with transaction.atomic():
                Course.objects.filter(pk=course.pk).update(join_code=code)
        except IntegrityError:  # another course has it: draw again
            continue
        course.join_code = code
        return code
    raise ServiceError(_("Could not make a join code; try again."), code="join_code")


@transaction.atomic
def course_join_code_disable(*, course: Course) -> None:
    Course.objects.filter(pk=course.pk).update(join_code=None)
    course.join_code = None


class JoinRefused(ServiceError):
    code = "join_refused"


@transaction.atomic
def course_join(*, user: User, code: str) -> Course:
    """Enrol ``user`` as a student of the course whose join code this is. A member already keeps
    their role; a student a roster dropped joins again only through the roster."""
    normal = code.strip().upper().replace("-", "").replace(" ", "")
    course = Course.objects.filter(join_code=normal).first() if normal else None
    if course is None:
        raise JoinRefused(_("No course has this join code; check it with your instructor."))
    if DroppedEnrollment.objects.filter(course=course, user=user).exists():
        raise JoinRefused(_("You were dropped from this course; ask its instructor."))
    Enrollment.objects.get_or_create(
        user=user, course=course, defaults={"role": Role.STUDENT, "source": EnrollmentSource.JOIN_CODE})
    return course


@transaction.atomic
def teaching_sections_set(*, course: Course, user: User, sections: list[str]) -> list[str]:
    """Limit a TA to these sections (none: every section). Only a TA of the course can be limited."""
    if not Enrollment.objects.filter(course=course, user=user, role=Role.TA).exists():
        raise ServiceError(_("Only a TA of the course can be limited to sections."), code="not_ta")
    wanted = sorted({s.strip() for s in sections if s.strip()})
    if any(len(s) > 64 for s in wanted):
        raise InvalidInput(_("A section name has at most 64 characters."))
    TeachingSection.objects.filter(course=course, user=user).delete()
    TeachingSection.objects.bulk_create([TeachingSection(course=course, user=user, section=s) for s in wanted])
    return wanted
