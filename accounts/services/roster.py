"""A course's roster brought in line with a registrar's or an LMS's list: one rule for every source.

``roster_plan`` says what would change (new, restored, updated, dropped); ``roster_apply`` does
exactly that under a lock on the course, so applying the same list twice changes nothing the second
time. The rules:

* A member is found by the roster's key through a :class:`UserMatcher` (the CSV import: the student
  number; the LMS, later: the platform's ``sub``). Someone the roster names who has no account gets
  one without a password, and an invitation to set one (``accounts.services.invitations``).
* Roles and sections follow the roster (except the role of staff an instructor added by hand); names and emails too, until the account's owner has set a
  password (then they are the owner's: a roster cannot send their password resets elsewhere).
* A *student* this source brought in (``Enrollment.source``) whom the roster no longer lists is
  dropped: the enrolment becomes a ``DroppedEnrollment`` (the course disappears from their pages;
  their attempts and submissions stay). Staff and students who came another way (a join code,
  added by hand) are never dropped by a roster. A dropped member the roster lists again is restored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, make_password
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import STAFF_ROLES, Course, DroppedEnrollment, Enrollment, EnrollmentSource, Role, User
from accounts.roster import RosterEntry, RosterFileError
from accounts.selectors import nav_staff_forget
from dlcv_site.errors import ServiceError


class UserMatcher(Protocol):
    """How a roster's keys name accounts."""

    def users_for(self, entries: list[RosterEntry]) -> tuple[dict[str, User], list[str]]:
        """The existing account of each key that has one, and problems ("file:line: …") if any."""

    def user_new(self, entry: RosterEntry) -> User:
        """An unsaved account for an entry without one."""

    def user_update(self, user: User, entry: RosterEntry) -> list[str]:
        """Make ``user`` (unsaved) agree with the entry; the names of the fields it changed."""


class StudentNumberMatcher:
    """The CSV import's: the key is ``User.student_number``; a new account's username is the student
    number. An account whose username is that number and which has no student number yet is adopted."""

    def __init__(self, filename: str = "roster.csv") -> None:
        self.filename = filename

    def users_for(self, entries: list[RosterEntry]) -> tuple[dict[str, User], list[str]]:
        keys = [entry.key for entry in entries]
        found: dict[str, User] = {}
        by_username: dict[str, User] = {}
        for user in User.objects.filter(Q(student_number__in=keys) | Q(username__in=keys)):
            if user.student_number in keys:
                found[user.student_number] = user
            else:
                by_username[user.username] = user
        problems: list[str] = []
        for entry in entries:
            if entry.key in found or entry.key not in by_username:
                continue
            user = by_username[entry.key]
            if user.student_number:
                problems.append(_("%(file)s:%(line)s: the username %(key)s belongs to another account "
                                  "(student number %(other)s).")
                                % {"file": self.filename, "line": entry.line, "key": entry.key,
                                   "other": user.student_number})
            else:
                found[entry.key] = user
        return found, problems

    def user_new(self, entry: RosterEntry) -> User:
        # make_password(None): an unusable password, no hashing (a thousand accounts in a blink).
        return User(username=entry.key, student_number=entry.key, display_name=entry.name, email=entry.email,
                    password=make_password(None))

    def user_update(self, user: User, entry: RosterEntry) -> list[str]:
        """The student number always; the name and email only while the account has no password yet:
        once someone has set one, the account is theirs (a roster must not redirect its password
        resets to another address)."""
        changed: list[str] = []
        fields = [("student_number", entry.key)]
        if not user.has_usable_password():
            fields += [("display_name", entry.name), ("email", entry.email)]
        for name, value in fields:
            if value and getattr(user, name) != value:
                setattr(user, name, value)
                changed.append(name)
        if "email" in changed:
            user.invited_at = None  # the invitation goes to the corrected address
        return changed


@dataclass(frozen=True)
class RosterChange:
    entry: RosterEntry
    user: User | None  # None: a new account
    fields: tuple[str, ...] = ()  # what changes (updates)


@dataclass
class RosterPlan:
    new: list[RosterChange] = field(default_factory=list)  # not in the course (new account or not)
    restored: list[RosterChange] = field(default_factory=list)  # dropped before, listed again
    updated: list[RosterChange] = field(default_factory=list)
    dropped: list[Enrollment] = field(default_factory=list)
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)
    # What the writes need (not shown): accounts to save, enrolments to write.
    _user_updates: dict[int, tuple[User, list[str]]] = field(default_factory=dict, repr=False)
    _enrollment_updates: list[tuple[Enrollment, RosterEntry]] = field(default_factory=list, repr=False)

    @property
    def changes(self) -> int:
        return len(self.new) + len(self.restored) + len(self.updated) + len(self.dropped)

    def fingerprint(self) -> str:
        """What this plan would do, in a short digest: the preview's, checked again at apply."""
        parts = [f"new:{c.entry.key}:{c.entry.role}:{c.entry.section}" for c in self.new]
        parts += [f"restored:{c.entry.key}" for c in self.restored]
        parts += [f"updated:{c.entry.key}:{','.join(c.fields)}" for c in self.updated]
        parts += [f"dropped:{e.user_id}" for e in self.dropped]
        return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()[:32]

    def summary(self) -> dict[str, int]:
        return {"new": len(self.new), "restored": len(self.restored), "updated": len(self.updated),
                "dropped": len(self.dropped), "unchanged": self.unchanged}


def roster_plan(*, course: Course, entries: list[RosterEntry], matcher: UserMatcher,
                source: str = EnrollmentSource.ROSTER) -> RosterPlan:
    """What ``roster_apply`` would do. Four queries, whatever the roster's size."""
    plan = RosterPlan()
    users, plan.errors = matcher.users_for(entries)
    enrollments = {e.user_id: e for e in Enrollment.objects.filter(course=course).select_related("user")}
    dropped_ids = set(DroppedEnrollment.objects.filter(course=course).values_list("user_id", flat=True))
    listed: set[int] = set()
    for entry in entries:
        user = users.get(entry.key)
        if user is None:
            plan.new.append(RosterChange(entry=entry, user=None))
            continue
        listed.add(user.pk)
        user_fields = matcher.user_update(user, entry)
        if user_fields:
            plan._user_updates[user.pk] = (user, user_fields)
        enrollment = enrollments.get(user.pk)
        if enrollment is None:
            (plan.restored if user.pk in dropped_ids else plan.new).append(RosterChange(entry=entry, user=user))
            continue
        # Staff an instructor added by hand keep their role (a registrar lists a TA as a student).
        keeps_role = enrollment.role in STAFF_ROLES and enrollment.source == EnrollmentSource.MANUAL
        enrollment_fields = [name for name, value in (("role", entry.role), ("section", entry.section))
                             if getattr(enrollment, name) != value and not (name == "role" and keeps_role)]
        if enrollment.role == Role.STUDENT and enrollment.source != source:
            enrollment_fields.append("source")  # the roster takes over a student who joined another way
        if enrollment_fields:
            plan._enrollment_updates.append((enrollment, entry))
        if user_fields or enrollment_fields:
            plan.updated.append(RosterChange(entry=entry, user=user, fields=tuple(user_fields + enrollment_fields)))
        else:
            plan.unchanged += 1
    plan.dropped = sorted(
        (e for e in enrollments.values() if e.role == Role.STUDENT and e.source == source and e.user_id not in listed),
        key=lambda e: e.user.username,
    )
    return plan


class RosterChanged(ServiceError):
    """The course's roster changed between the preview and the apply: nothing was written."""

    code = "roster_changed"


class RosterRefused(ServiceError):
    """The roster cannot be applied as it is (``errors``: "file:line: …"); nothing was written."""

    code = "roster_refused"

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@transaction.atomic
def roster_apply(*, course: Course, entries: list[RosterEntry], matcher: UserMatcher,
                 source: str = EnrollmentSource.ROSTER,
                 on_invite: Callable[[list[int]], None] | None = None,
                 expected_fingerprint: str | None = None) -> RosterPlan:
    """Make the course's roster what ``entries`` say (see the module's rules); the plan it carried
    out. All or nothing: a problem raises :class:`RosterRefused` and writes nothing. ``on_invite``
    gets, once committed, the ids of the course's accounts that have no password and were never invited.
    With ``expected_fingerprint`` (the preview's), a plan that differs raises :class:`RosterChanged`."""
    Course.objects.select_for_update().filter(pk=course.pk).first()  # one import of a course at a time
    plan = roster_plan(course=course, entries=entries, matcher=matcher, source=source)
    if plan.errors:
        raise RosterRefused(plan.errors)
    if expected_fingerprint is not None and plan.fingerprint() != expected_fingerprint:
        raise RosterChanged(_("The course's roster changed since this preview; check the new preview."))
    now = timezone.now()

    created = User.objects.bulk_create([matcher.user_new(change.entry) for change in plan.new if change.user is None])
    created_by_key = {user.username: user for user in created}
    if plan._user_updates:
        fields = sorted({name for _user, names in plan._user_updates.values() for name in names}
                        | {"invited_at"})
        User.objects.bulk_update([user for user, _names in plan._user_updates.values()], fields, batch_size=500)

    joining = [(change.user or created_by_key[change.entry.key], change.entry) for change in plan.new + plan.restored]
    changed_fields = {change.entry.key: change.fields for change in plan.updated}
    plan_fields = {enrollment.pk: changed_fields.get(entry.key, ()) for enrollment, entry in plan._enrollment_updates}
    Enrollment.objects.bulk_create([
        Enrollment(user=user, course=course, role=entry.role, section=entry.section, source=source)
        for user, entry in joining
    ])
    if plan.restored:
        DroppedEnrollment.objects.filter(course=course, user__in=[c.user for c in plan.restored]).delete()
    for enrollment, entry in plan._enrollment_updates:
        enrollment.section = entry.section
        if "role" in plan_fields[enrollment.pk]:
            enrollment.role = entry.role
        if enrollment.role == Role.STUDENT:
            enrollment.source = source
    if plan._enrollment_updates:
        Enrollment.objects.bulk_update([e for e, _entry in plan._enrollment_updates], ["role", "section", "source"],
                                       batch_size=500)
    if plan.dropped:
        DroppedEnrollment.objects.bulk_create([
            DroppedEnrollment(user_id=e.user_id, course=course, role=e.role, section=e.section, source=e.source,
                              dropped_at=now)
            for e in plan.dropped
        ])
        Enrollment.objects.filter(pk__in=[e.pk for e in plan.dropped]).delete()

    staff_changed = {user.pk for user, entry in joining if entry.role in (Role.TA, Role.INSTRUCTOR)}
    staff_changed |= {e.user_id for e, _entry in plan._enrollment_updates}
    for user_id in staff_changed:
        transaction.on_commit(lambda user_id=user_id: nav_staff_forget(user_id=user_id))

    if on_invite is not None:
        invite_ids = list(User.objects.filter(enrollments__course=course, invited_at=None,
                                              password__startswith=UNUSABLE_PASSWORD_PREFIX)
                          .order_by("pk").values_list("pk", flat=True))
        if invite_ids:
            transaction.on_commit(lambda: on_invite(invite_ids))
    return plan


__all__ = ["RosterChange", "RosterChanged", "RosterFileError", "RosterPlan", "RosterRefused", "StudentNumberMatcher", "UserMatcher",
           "roster_apply", "roster_plan"]
