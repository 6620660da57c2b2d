"""Names and Roles (NRPS): the course's roster from its LMS contexts, by the roster's one rule
(``accounts.services.roster``: plan and apply, new, restored, updated, dropped) with a
:class:`UserMatcher` keyed by the platform's (issuer, sub). On demand (the LTI page) and nightly (beat)."""

from __future__ import annotations

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils.translation import gettext as _
from lti_tool.models import LtiContext, LtiRegistration, LtiUser
from pylti1p3.exception import LtiServiceException

from accounts.models import Course, EnrollmentSource, User
from accounts.roster import RosterEntry
from accounts.services.roster import RosterPlan, roster_apply
from dlcv_site.errors import ServiceError
from lti.services.ags import CachedTokenConnector
from lti.services.launch import lti_username, role_for

NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
NRPS_ACCEPT = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MAX_PAGES = 200


class RosterSyncFailed(ServiceError):
    code = "lti_roster_sync_failed"
    http_status = 502


class LtiSubMatcher:
    """A roster key is the account's username made from (issuer, sub) (``lti_username``); accounts are
    found through django-lti's ``LtiUser`` link first. The email is copied, never matched on."""

    def __init__(self, subs: dict[str, tuple[LtiRegistration, str]]) -> None:
        self.subs = subs  # key → (registration, sub)

    def users_for(self, entries: list[RosterEntry]) -> tuple[dict[str, User], list[str]]:
        keys = [entry.key for entry in entries]
        found: dict[str, User] = {}
        by_sub = {(registration.pk, sub): key for key, (registration, sub) in self.subs.items()}
        for lti_user in LtiUser.objects.filter(sub__in=[sub for _r, sub in self.subs.values()],
                                               auth_user__isnull=False).select_related("auth_user"):
            key = by_sub.get((lti_user.registration_id, lti_user.sub))
            if key is not None:
                found[key] = lti_user.auth_user  # type: ignore[assignment]
        for user in User.objects.filter(username__in=[k for k in keys if k not in found]):
            found[user.username] = user
        return found, []

    def user_new(self, entry: RosterEntry) -> User:
        return User(username=entry.key, display_name=entry.name[:150], email=entry.email, password=make_password(None))

    def user_update(self, user: User, entry: RosterEntry) -> list[str]:
        """Name and email follow the LMS only while the account has no password of its own."""
        changed: list[str] = []
        if user.has_usable_password():
            return changed
        for name, value in (("display_name", entry.name[:150]), ("email", entry.email)):
            if value and getattr(user, name) != value:
                setattr(user, name, value)
                changed.append(name)
        return changed


def _members(context: LtiContext) -> list[dict[str, object]]:
    connector = CachedTokenConnector(context.deployment.registration)
    url: str | None = context.memberships_url
    members: list[dict[str, object]] = []
    for _page in range(MAX_PAGES):
        if not url:
            break
        answer = connector.make_service_request([NRPS_SCOPE], url, accept=NRPS_ACCEPT)
        body = answer["body"] if isinstance(answer["body"], dict) else {}
        members += [m for m in body.get("members", []) if isinstance(m, dict)]
        url = answer["next_page_url"]
    return members


def course_roster_sync(*, course: Course) -> RosterPlan:
    """Bring the course's roster in line with its LMS contexts' memberships (Active members only)."""
    contexts = list(LtiContext.objects.filter(deployment__registration__dlcv__course=course)
                    .exclude(memberships_url="").select_related("deployment__registration"))
    if not contexts:
        raise RosterSyncFailed(_("No LMS course has been launched into this course yet, so there is no roster "
                                 "to read."))
    entries: dict[str, RosterEntry] = {}
    subs: dict[str, tuple[LtiRegistration, str]] = {}
    try:
        for context in contexts:
            registration = context.deployment.registration
            for member in _members(context):
                sub = str(member.get("user_id") or "")
                if not sub or member.get("status", "Active") != "Active":
                    continue
                key = lti_username(issuer=registration.issuer, sub=sub)
                name = str(member.get("name") or " ".join(
                    str(member.get(part) or "") for part in ("given_name", "family_name")).strip())
                entries[key] = RosterEntry(key=key, name=name, email=str(member.get("email") or ""),
                                           role=role_for([str(r) for r in member.get("roles") or []]),  # type: ignore[union-attr]
                                           section="", line=0)
                subs[key] = (registration, sub)
    except (LtiServiceException, OSError) as exc:
        raise RosterSyncFailed(_("The LMS did not give the roster (%(error)s); nothing was changed.")
                               % {"error": str(exc)[:200]}) from exc
    with transaction.atomic():
        plan = roster_apply(course=course, entries=list(entries.values()), matcher=LtiSubMatcher(subs),
                            source=EnrollmentSource.LTI)
        users = {u.username: u for u in User.objects.filter(username__in=list(subs))}
        for key, (registration, sub) in subs.items():
            entry = entries[key]
            lti_user, _created = LtiUser.objects.get_or_create(registration=registration, sub=sub)
            lti_user.name, lti_user.email = entry.name[:500], entry.email
            if lti_user.auth_user_id is None:
                lti_user.auth_user = users.get(key)
            lti_user.save()
    return plan


def courses_with_rosters() -> list[int]:
    """The courses whose LMS contexts serve a roster (NRPS): the nightly sync's list."""
    return sorted(set(LtiContext.objects.exclude(memberships_url="").filter(
        deployment__registration__dlcv__isnull=False).values_list("deployment__registration__dlcv__course_id",
                                                                 flat=True)))
