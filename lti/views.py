"""The LTI 1.3 endpoints (our JWKS, OIDC login initiation, the launch) and the instructor's page of
the course's platforms. The launch is a cross-site form post from the platform: it is CSRF-exempt and
proves itself by the signed id_token, the nonce and the state cookie pylti1p3 set at login initiation
(SameSite=None; Secure over HTTPS)."""

from __future__ import annotations

from functools import partial
from urllib.parse import urlencode, urlsplit

from csp.constants import NONE
from django.contrib import messages
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from lti_tool.models import Key
from pylti1p3.contrib.django import DjangoCacheDataStorage, DjangoOIDCLogin
from pylti1p3.exception import LtiException, OIDCException

from accounts.access import user_is_staff_of_course
from accounts.models import User
from dlcv_site.errors import InvalidInput
from lti.access import course_get_for_lti_admin
from lti.forms import RegistrationForm
from lti.presenters import registration_rows, score_log_view, tool_urls
from lti.selectors import course_registrations, course_score_log
from lti.services.ags import course_scores_sync
from lti.services.continuation import continuation_consume, continuation_create
from lti.services.deep_linking import deep_link_choices, deep_link_launch_get, deep_link_response
from lti.services.launch import LaunchRefused, launch_enrol, launch_refusal, launch_validate
from lti.services.nrps import RosterSyncFailed, course_roster_sync
from lti.services.platforms import CachedKeysLaunch, StrictToolConfig, platform_origins, tool_key
from lti.services.registrations import registration_create

LOGIN_BACKEND = "accounts.backends.UserBackend"


def _log_in(request: HttpRequest, user: User) -> None:
    """Django's login, with the session written once. A launch is a cross-site post: the browser usually
    brings no session, so there is no key an attacker could have planted (what login's key rotation
    guards against) and the session middleware saves the new session under a fresh key with the
    response; login would save it here first as well. Marking the session as this user's beforehand
    makes login keep it as it is; a session that exists is rotated (or flushed) by login as always."""
    session = request.session
    if SESSION_KEY not in session and session.session_key is None:  # (the test loads it: a stale key is dropped)
        session[SESSION_KEY] = user._meta.pk.value_to_string(user)
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    login(request, user, backend=LOGIN_BACKEND)


def _refused(request: HttpRequest, refusal: LaunchRefused) -> HttpResponse:
    return render(request, "lti/launch_error.html",
                  {"status": refusal.http_status, "message": refusal.message, "code": refusal.code,
                   "logged_in": False}, status=refusal.http_status)


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    """Our public keys, for platforms to check what we sign (service tokens, deep linking responses)."""
    tool_key()
    return JsonResponse(Key.objects.as_jwks())


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def oidc_login(request: HttpRequest, registration_uuid: str) -> HttpResponse:
    """Third-party login initiation: redirect the browser to the platform's OIDC authentication with a
    fresh state (also set as a cookie) and nonce. (One query: the registration; our key is not needed.)"""
    oidc = DjangoOIDCLogin(request, StrictToolConfig(str(registration_uuid)),
                           launch_data_storage=DjangoCacheDataStorage())
    try:
        return oidc.redirect(request.build_absolute_uri(reverse("lti-launch")))
    except OIDCException:
        return _refused(request, launch_refusal("launch_unknown_platform"))
    except LtiException:
        return _refused(request, launch_refusal("launch_claims"))


def _framed(request: HttpRequest) -> bool:
    """The browser loads this request into a frame (Fetch Metadata; Chromium, Firefox and Safari send it)."""
    return request.headers.get("Sec-Fetch-Dest") in ("iframe", "frame")


@csrf_exempt
@never_cache
@require_POST
def launch(request: HttpRequest) -> HttpResponse:
    """The platform's form post of the signed id_token: verify, enrol, log in, land. Inside the LMS's
    iframe: verify and enrol alike, but answer a page to continue in a new window (no login here)."""
    framed = _framed(request)
    try:
        message_launch = launch_validate(request=request)
        outcome = launch_enrol(message_launch=message_launch, log_in=None if framed else partial(_log_in, request))
    except LaunchRefused as refusal:
        return _refused(request, refusal)
    if framed:
        target = (reverse("lti-deep-link", kwargs={"launch_id": message_launch.get_launch_id()})
                  if outcome.deep_linking else outcome.landing)
        return _framed_page(request, message_launch=message_launch,
                            token=continuation_create(user=outcome.user, target=target))
    if outcome.deep_linking:
        return redirect("lti-deep-link", launch_id=message_launch.get_launch_id())
    return redirect(outcome.landing)


@xframe_options_exempt
def _framed_page(request: HttpRequest, *, message_launch: CachedKeysLaunch, token: str) -> HttpResponse:
    """The one page the platform may frame (CSP frame-ancestors: its origins; no X-Frame-Options), with
    the link that carries the continuation token; no Referer from it, so the token goes nowhere else."""
    continue_url = reverse("lti-continue") + "?" + urlencode({"token": token})
    response = render(request, "lti/launch_framed.html", {"continue_url": continue_url})
    origins = platform_origins(message_launch.get_tool_conf().registration, message_launch.get_launch_data())
    response._csp_replace = {"frame-ancestors": origins or [NONE]}  # type: ignore[attr-defined]
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@require_GET
def launch_continue(request: HttpRequest) -> HttpResponse:
    """A framed launch's new window: spend its one-time token, log its user in (as a launch does), land."""
    try:
        _user, target = continuation_consume(token=request.GET.get("token", ""), log_in=partial(_log_in, request))
    except LaunchRefused as refusal:
        response = _refused(request, refusal)
    else:
        response = redirect(target)
    response["Referrer-Policy"] = "no-referrer"  # the token is in this URL: never in a Referer
    return response


def _absolute(request: HttpRequest):  # type: ignore[no-untyped-def]
    return request.build_absolute_uri


@login_required
@require_http_methods(["GET", "POST"])
def registrations(request: HttpRequest, course_slug: str) -> HttpResponse:
    """The course's LMS platforms (LTI 1.3): register one; our addresses to give the LMS."""
    course = course_get_for_lti_admin(user=request.user, course_slug=course_slug)
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            registration_create(course=course, by=request.user, **form.cleaned_data)
        except InvalidInput as exc:
            for name, message in exc.errors.items():
                form.add_error(name if name in form.fields else None, message)
        else:
            messages.success(request, _("Platform registered: %(name)s.") % {"name": form.cleaned_data["name"]})
            return redirect("lti-registrations", course_slug=course.slug)
    absolute = _absolute(request)
    context = {"course": course, "form": form, "is_course_staff": True,
               "tool_urls": tool_urls(absolute=absolute),
               "registrations": registration_rows(rows=course_registrations(course=course), absolute=absolute)}
    return render(request, "lti/registrations.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def roster_sync(request: HttpRequest, course_slug: str) -> HttpResponse:
    """Sync the course's roster from its LMS now (Names and Roles), by the roster import's rules."""
    course = course_get_for_lti_admin(user=request.user, course_slug=course_slug)
    try:
        plan = course_roster_sync(course=course)
    except RosterSyncFailed as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Roster synced from the LMS: %(new)s new, %(restored)s restored, %(updated)s "
                                    "updated, %(dropped)s dropped, %(unchanged)s unchanged.") % plan.summary())
    return redirect("lti-registrations", course_slug=course.slug)


@login_required
@require_POST
def scores_sync(request: HttpRequest, course_slug: str) -> HttpResponse:
    """Send the course's scores to the LMS now: what changed, and what was not sent yet."""
    course = course_get_for_lti_admin(user=request.user, course_slug=course_slug)
    staged = course_scores_sync(course=course)
    messages.success(request, _("Scores queued for the LMS: %(staged)s changed; unsent ones are sent again.")
                     % {"staged": staged.staged})
    return redirect("lti-scores", course_slug=course.slug)


@login_required
@require_GET
def scores(request: HttpRequest, course_slug: str) -> HttpResponse:
    """What was sent to the LMS's gradebook, and what failed."""
    course = course_get_for_lti_admin(user=request.user, course_slug=course_slug)
    counts, log = course_score_log(course=course)
    return render(request, "lti/scores.html",
                  {"course": course, "is_course_staff": True, **score_log_view(counts=counts, log=log)})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def deep_link(request: HttpRequest, launch_id: str) -> HttpResponse:
    """The picker of a deep linking launch: choose an assessment or lab; the answer goes back to the
    LMS as a signed form post (the browser submits it; a button if scripts are off)."""
    try:
        message_launch, course = deep_link_launch_get(request=request, launch_id=launch_id)
    except LaunchRefused as refusal:
        return _refused(request, refusal)
    if not user_is_staff_of_course(user=request.user, course_id=course.pk):
        return _refused(request, launch_refusal("launch_deep_link_role"))
    choices = deep_link_choices(course=course)
    error = ""
    if request.method == "POST":
        try:
            answer = deep_link_response(message_launch=message_launch, course=course,
                                        value=request.POST.get("item", ""),
                                        launch_url=request.build_absolute_uri(reverse("lti-launch")))
        except LaunchRefused as refusal:
            return _refused(request, refusal)
        if answer is not None:
            return_url, token = answer
            response = render(request, "lti/deep_link_return.html",
                              {"course": course, "return_url": return_url, "jwt": token})
            parts = urlsplit(return_url)
            response._csp_update = {"form-action": [f"{parts.scheme}://{parts.netloc}"]}  # type: ignore[attr-defined]
            return response
        error = _("Choose one of the assessments or labs.")
    return render(request, "lti/deep_link.html", {"course": course, "choices": choices, "error": error,
                                                  "is_course_staff": True}, status=400 if error else 200)
