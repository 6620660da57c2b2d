"""An LTI 1.3 launch, from the platform's signed id_token to a logged-in member of the course.

``launch_validate`` has pylti1p3 check everything the id_token must prove (its signature against the
platform's JWKS, iss and aud naming a registered platform, exp, the nonce this tool issued, the state
of the browser that started the login, a registered deployment, the claims of its message type) and
then spends the nonce: a second post of the same token is refused. Nothing is written until it has
passed. ``launch_enrol`` then writes, in one transaction: django-lti's records of the launch (user,
context, membership, resource link), our account for the platform's ``sub`` (the email is only copied
onto a new account, never used to find one), the enrolment with the LMS role mapped, and the login.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from lti_tool.models import LtiLaunch, LtiUser
from pylti1p3.exception import LtiException

from accounts.models import STAFF_ROLES, Course, DroppedEnrollment, Enrollment, EnrollmentSource, Role, User
from accounts.selectors import nav_staff_forget
from dlcv_site.errors import ServiceError
from labs.models import Lab
from lti import sql
from lti.services.ags import line_item_for_launch
from lti.services.launch_records import launch_records_sync
from lti.services.platforms import CachedKeysLaunch, message_launch_for
from quizzes.models import Assessment

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
ROLES_CLAIM = CLAIM + "roles"
CUSTOM_CLAIM = CLAIM + "custom"
MESSAGE_TYPE_CLAIM = CLAIM + "message_type"
#: How long a spent nonce is remembered: longer than any id_token this tool accepts lives.
NONCE_MEMORY_SECONDS = 24 * 3600


class LaunchRefused(ServiceError):
    """The launch is refused (``code`` says why); nothing was written."""

    http_status = 400


def _messages() -> dict[str, str]:
    return {
        "launch_malformed": _("The launch did not carry a readable signed token from the LMS."),
        "launch_state": _("This launch was not started from this browser, or it took too long. Open the "
                          "activity again from your course in the LMS."),
        "launch_nonce": _("This launch has already been used or was not issued here (its one-time "
                          "number is unknown). Open the activity again from your course in the LMS."),
        "launch_replayed": _("This launch has already been used. Open the activity again from your course "
                             "in the LMS."),
        "launch_unknown_platform": _("The platform that sent this launch (its issuer and client ID) is not "
                                     "registered with this site."),
        "launch_signature": _("The launch's signature could not be verified with the platform's public keys."),
        "launch_expired": _("The launch has expired. Open the activity again from your course in the LMS."),
        "launch_deployment": _("The LMS deployment this launch came from is not registered with this site."),
        "launch_claims": _("The launch is missing information this site needs: who you are, your role in the "
                           "course, or the activity you opened."),
        "launch_message_type": _("This kind of LTI message is not supported here."),
        "launch_no_course": _("The platform is registered, but not linked to a course on this site."),
        "launch_deep_link_role": _("Only the course's instructors and TAs may choose what to place in the LMS course."),
        "launch_continuation": _("This link to continue from the LMS has expired or was already used. Open the "
                                 "activity again from your course in the LMS."),
        "launch_deep_link_gone": _("This choice of what to place in the LMS course has expired. Start it again "
                                   "from the LMS."),
    }


def launch_refusal(code: str) -> LaunchRefused:
    status = 403 if code in ("launch_unknown_platform", "launch_deployment", "launch_no_course",
                             "launch_deep_link_role") else 400
    refusal = LaunchRefused(_messages()[code], code=code)
    refusal.http_status = status
    return refusal


def _code_for(library_message: str) -> str:
    """pylti1p3's reason (English, for developers) → our code."""
    text = library_message.lower()
    if "expired" in text:
        return "launch_expired"
    if "state" in text:
        return "launch_state"
    if "nonce" in text:
        return "launch_nonce"
    if "registration not found" in text or "client id not registered" in text or '"iss" is empty' in text:
        return "launch_unknown_platform"
    if "deployment" in text:
        return "launch_deployment"
    if "signature" in text or "public key" in text or "kid" in text or "alg" in text or "decode id_token" in text:
        return "launch_signature"
    if "jwt" in text or "id_token" in text:
        return "launch_malformed"
    return "launch_claims"


def launch_validate(*, request: Any) -> CachedKeysLaunch:
    """The launch of this request, verified and its nonce spent; :class:`LaunchRefused` otherwise."""
    try:
        message_launch = message_launch_for(request)  # over HTTPS: refused here without the session cookie
        message_launch.validate()
    except LtiException as exc:
        raise launch_refusal(_code_for(str(exc))) from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a token of the wrong shape
        raise launch_refusal("launch_malformed") from exc
    claims = message_launch.get_launch_data()
    if claims.get(MESSAGE_TYPE_CLAIM) not in ("LtiResourceLinkRequest", "LtiDeepLinkingRequest"):
        raise launch_refusal("launch_message_type")
    nonce_key = "lti:nonce-spent:" + hashlib.sha256(f"{claims['iss']}|{claims['nonce']}".encode()).hexdigest()
    if not cache.add(nonce_key, 1, NONCE_MEMORY_SECONDS):
        raise launch_refusal("launch_replayed")
    return message_launch


def role_for(roles: list[str]) -> str:
    """The course role an LMS's roles map to: TeachingAssistant → TA, Instructor (or an
    administrator) → instructor, anything else (Learner) → student."""
    names = {role.rsplit("#", 1)[-1].rsplit("/", 1)[-1] for role in roles}
    if "TeachingAssistant" in names:
        return Role.TA
    if names & {"Instructor", "Administrator"}:
        return Role.INSTRUCTOR
    return Role.STUDENT


def lti_username(*, issuer: str, sub: str) -> str:
    """The username of the account made for a platform's user: derived from (issuer, sub), never the email."""
    return "lti-" + hashlib.sha256(f"{issuer}\n{sub}".encode()).hexdigest()[:24]


def _lms_name(lti_user: LtiUser) -> str:
    return lti_user.name or " ".join(part for part in (lti_user.given_name, lti_user.family_name) if part)


def account_made(*, lti_user: LtiUser, issuer: str) -> tuple[User, bool]:
    """The account for a platform user who has none linked: a new one (an unusable password, never a hash;
    the email only copied onto it), or the one made before for the same (issuer, sub) (the platform was
    registered again, or a concurrent first launch made it) — with whether it was made here."""
    username = lti_username(issuer=issuer, sub=lti_user.sub)
    values = {"username": username, "display_name": _lms_name(lti_user)[:150], "email": lti_user.email,
              "password": make_password(None)}
    if sql.available():  # one statement: INSERT … ON CONFLICT (username) DO NOTHING RETURNING id
        made = sql.user_insert_unless_taken(values=values, date_joined=timezone.now())
        if made is not None:
            return made, True
    else:
        try:
            with transaction.atomic():  # a savepoint: a clash leaves the launch's transaction usable
                return User.objects.create(**values), True
        except IntegrityError:
            pass
    user = User.objects.filter(username=username).first()
    if user is None:  # the clash was another constraint's than the username's
        raise IntegrityError(f"account {username} could not be made")
    return user, False


def account_for(*, lti_user: LtiUser, issuer: str) -> tuple[User, bool]:
    """The account linked to this platform user, or one made (or found) and linked now (a platform user on
    record without an account: a roster sync's)."""
    name = _lms_name(lti_user)
    if lti_user.auth_user_id is not None:
        user = lti_user.auth_user
        if name and not (user.display_name or user.first_name or user.last_name):  # the name shown to people
            user.display_name = name[:150]
            user.save(update_fields=["display_name"])
        return user, False
    user, created = account_made(lti_user=lti_user, issuer=issuer)
    lti_user.auth_user = user
    lti_user.save(update_fields=["auth_user", "datetime_modified"])
    return user, created


def enrolment_set(*, course: Course, user: User, role: str, new_account: bool = False) -> Enrollment:
    """Enrol (or restore) ``user`` with the LMS's role; staff added by hand keep theirs (the roster's rule).
    ``new_account``: made in this transaction, so neither enrolled nor dropped yet (nothing to read)."""
    enrollment = (None if new_account
                  else Enrollment.objects.select_for_update().filter(course=course, user=user).first())
    if enrollment is None:
        if not new_account:
            DroppedEnrollment.objects.filter(course=course, user=user).delete()
        enrollment = Enrollment.objects.create(course=course, user=user, role=role, source=EnrollmentSource.LTI)
    elif enrollment.role != role and not (enrollment.role in STAFF_ROLES
                                          and enrollment.source == EnrollmentSource.MANUAL):
        enrollment.role = role
        enrollment.save(update_fields=["role"])
    if enrollment.role in STAFF_ROLES:
        transaction.on_commit(lambda: nav_staff_forget(user_id=user.pk))
    return enrollment


@dataclass(frozen=True)
class LaunchOutcome:
    user: User
    course: Course
    role: str
    landing: str  # the URL the member lands on
    deep_linking: bool
    context_id: int


def launch_target(*, course: Course, custom: dict[str, Any]) -> tuple[Assessment | None, Lab | None]:
    """The assessment or lab the link names (its custom parameters ``assessment`` / ``lab``: a slug)."""
    assessment_slug, lab_slug = str(custom.get("assessment", "")), str(custom.get("lab", ""))
    assessment = Assessment.objects.filter(course=course, slug=assessment_slug).first() if assessment_slug else None
    lab = Lab.objects.filter(course=course, slug=lab_slug).first() if lab_slug and assessment is None else None
    return assessment, lab


def landing_url(*, course: Course, assessment: Assessment | None, lab: Lab | None) -> str:
    """The linked assessment or lab, else the course."""
    if assessment is not None:
        return reverse("assessment-landing", args=[course.slug, assessment.slug])
    if lab is not None:
        return reverse("lab-page", args=[lab.slug])
    return reverse("course-dashboard", args=[course.slug])


@transaction.atomic
def launch_enrol(*, message_launch: CachedKeysLaunch,
                 log_in: Callable[[User], None] | None = None) -> LaunchOutcome:
    """Write what a verified launch says: django-lti's records, the account, the enrolment; then
    ``log_in(account)``, in the same transaction (its writes commit with the enrolment, or not at all)."""
    lti_launch = LtiLaunch(message_launch)
    tool_registration = message_launch.get_tool_conf().tool_registration  # read with the registration
    if tool_registration is None:
        raise launch_refusal("launch_no_course")
    issuer = lti_launch.get_claim("iss")
    made: list[User] = []

    def first_account(lti_user: LtiUser) -> User:
        user, created = account_made(lti_user=lti_user, issuer=issuer)
        if created:
            made.append(user)
        return user

    launch_records_sync(lti_launch, account=first_account)
    user, created = account_for(lti_user=lti_launch.user, issuer=issuer)
    created = created or bool(made)
    role = role_for(list(lti_launch.roles_claim or []))
    if lti_launch.is_deep_link_launch and role not in STAFF_ROLES:
        raise launch_refusal("launch_deep_link_role")
    course = tool_registration.course
    enrolment_set(course=course, user=user, role=role, new_account=created)
    custom = lti_launch.get_claim(CUSTOM_CLAIM) or {}
    assessment, lab = launch_target(course=course, custom=custom if isinstance(custom, dict) else {})
    if not lti_launch.is_deep_link_launch:
        line_item_for_launch(context=lti_launch.context, assessment=assessment, lab=lab)
    if log_in is not None:
        log_in(user)
    return LaunchOutcome(user=user, course=course, role=role,
                         landing=landing_url(course=course, assessment=assessment, lab=lab),
                         deep_linking=lti_launch.is_deep_link_launch, context_id=lti_launch.context.pk)
