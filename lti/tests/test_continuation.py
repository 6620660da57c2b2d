"""A launch the LMS shows in an iframe: verified and enrolled, but answered with a page the platform
(only) may frame, whose one-time link logs the student in in a new window (lti/services/continuation.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Enrollment, EnrollmentSource, Role, User
from accounts.tests.factories import make_course, make_member
from lti.models import LaunchContinuation
from lti.services.continuation import CONTINUATION_SECONDS, _digest, continuation_consume, continuation_create
from lti.services.launch import LaunchRefused, lti_username
from lti.tests.conftest import launch
from lti.tests.platform import INSTRUCTOR, LEARNER, LaunchSpec
from quizzes.tests.factories import make_assessment

pytestmark = pytest.mark.django_db

IFRAME = {"Sec-Fetch-Dest": "iframe"}


def _member(username: str = "mei") -> User:
    return make_member(make_course(f"c-{username}"), Role.STUDENT, username=username)


def _refused(call: Any) -> None:
    with pytest.raises(LaunchRefused) as refused:
        call()
    assert refused.value.code == "launch_continuation"


# -- the service -------------------------------------------------------------------------------------


def test_a_continuation_is_stored_hashed_and_spent_once() -> None:
    user = _member()
    token = continuation_create(user=user, target="/courses/x/")
    assert len(token) >= 43
    row = LaunchContinuation.objects.get()
    assert row.token_hash == _digest(token) and token not in row.token_hash  # only its hash is kept
    assert timedelta(seconds=CONTINUATION_SECONDS - 5) < row.expires_at - timezone.now() \
        <= timedelta(seconds=CONTINUATION_SECONDS)
    logged_in: list[User] = []
    assert continuation_consume(token=token, log_in=logged_in.append) == (user, "/courses/x/")
    assert logged_in == [user]
    _refused(lambda: continuation_consume(token=token, log_in=logged_in.append))  # a second use
    assert logged_in == [user] and not LaunchContinuation.objects.exists()


def test_an_expired_continuation_is_refused_and_logs_nobody_in() -> None:
    token = continuation_create(user=_member(), target="/courses/x/")
    LaunchContinuation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    logged_in: list[User] = []
    _refused(lambda: continuation_consume(token=token, log_in=logged_in.append))
    assert logged_in == []
    # Expired rows go when the next continuation is made.
    continuation_create(user=_member("other"), target="/courses/y/")
    assert LaunchContinuation.objects.count() == 1


@pytest.mark.parametrize("token", ["", "made-up", "x" * 500])
def test_an_unknown_or_forged_token_is_refused_and_logs_nobody_in(token: str) -> None:
    real = continuation_create(user=_member(), target="/courses/x/")
    logged_in: list[User] = []
    _refused(lambda: continuation_consume(token=token, log_in=logged_in.append))
    _refused(lambda: continuation_consume(token=_digest(real), log_in=logged_in.append))  # its stored hash
    _refused(lambda: continuation_consume(token=real[:-1], log_in=logged_in.append))
    assert logged_in == [] and LaunchContinuation.objects.count() == 1  # the real one is still unspent


def test_a_continuation_is_bound_to_its_user_and_target() -> None:
    mei, lin = _member("mei"), _member("lin")
    for_mei, for_lin = (continuation_create(user=mei, target="/a/"), continuation_create(user=lin, target="/b/"))
    assert continuation_consume(token=for_lin) == (lin, "/b/")
    assert continuation_consume(token=for_mei) == (mei, "/a/")


def test_a_continuation_targets_only_this_site() -> None:
    user = _member()
    for target in ("https://evil.example/", "//evil.example/x", "relative/path"):
        with pytest.raises(ValueError):
            continuation_create(user=user, target=target)
    assert not LaunchContinuation.objects.exists()


# -- the views ---------------------------------------------------------------------------------------


def _directives(response: Any) -> dict[str, str]:
    """The response's CSP, directive → its sources (django-csp writes the directives in any order)."""
    parts = (part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


def _continue_url(response: Any) -> str:
    page = response.content.decode()
    start = page.index('href="/lti/continue/?token=') + len('href="')
    return page[start:page.index('"', start)]


def test_a_framed_launch_enrols_and_answers_a_page_only_the_platform_may_frame_without_a_session(
        client: Client, platform: Any, registered: Any) -> None:
    make_assessment(registered.course, [], slug="week-3")
    hint = platform.prepare(LaunchSpec(sub="s1", roles=LEARNER, name="Mei Lin", custom={"assessment": "week-3"}))
    response = launch(client, platform, hint, headers=IFRAME)
    assert response.status_code == 200
    assert _directives(response)["frame-ancestors"] == platform.url  # the platform's origin only
    assert "X-Frame-Options" not in response
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert 'target="_blank"' in page and 'rel="noopener noreferrer"' in page and "data-lti-framed" in page
    # Enrolled as today, but nobody logged in here: no session made, no session cookie.
    user = User.objects.get(username=lti_username(issuer=platform.issuer, sub="s1"))
    assert Enrollment.objects.get(user=user).source == EnrollmentSource.LTI
    assert settings.SESSION_COOKIE_NAME not in response.cookies and not Session.objects.exists()
    assert client.get(reverse("course-dashboard", args=["dlcv"])).status_code == 302  # to the login page
    # The new window: logged in as the launch's user, on the linked assessment; the link works once.
    window = Client()
    landed = window.get(_continue_url(response))
    assert landed.status_code == 302
    assert landed["Location"] == reverse("assessment-landing", args=["dlcv", "week-3"])
    assert landed["Referrer-Policy"] == "no-referrer" and "X-Frame-Options" in landed
    assert window.get(landed["Location"]).wsgi_request.user == user
    again = Client().get(_continue_url(response))
    assert again.status_code == 400 and 'data-launch-error="launch_continuation"' in again.content.decode()
    assert "_auth_user_id" not in Client().session


def test_every_other_lti_page_still_refuses_to_be_framed(client: Client, platform: Any, registered: Any) -> None:
    response = launch(client, platform, platform.prepare(LaunchSpec(sub="s1", roles=LEARNER)))
    assert response.status_code == 302 and response["X-Frame-Options"] == "DENY"
    assert _directives(response)["frame-ancestors"] == "'none'"
    refused = client.get(reverse("lti-continue") + "?token=nope", headers=IFRAME)
    assert refused.status_code == 400 and refused["X-Frame-Options"] == "DENY"
    assert _directives(refused)["frame-ancestors"] == "'none'"
    assert refused["Referrer-Policy"] == "no-referrer"


def test_a_wrong_or_spent_continuation_logs_nobody_in_and_keeps_a_session_as_it_was(
        client: Client, platform: Any, registered: Any) -> None:
    other = make_member(registered.course, Role.STUDENT, username="other")
    client.force_login(other)
    for token in ("forged", ""):
        response = client.get(reverse("lti-continue"), {"token": token})
        assert response.status_code == 400
        assert 'data-launch-error="launch_continuation"' in response.content.decode()
        assert client.session["_auth_user_id"] == str(other.pk)  # not logged out, nor in as anyone else


def test_a_continuation_in_a_browser_logged_in_as_someone_else_logs_in_its_own_user_only(
        client: Client, platform: Any, registered: Any) -> None:
    other = make_member(registered.course, Role.STUDENT, username="other")
    response = launch(Client(), platform, platform.prepare(LaunchSpec(sub="s1", roles=LEARNER)), headers=IFRAME)
    client.force_login(other)
    before = client.session.session_key
    landed = client.get(_continue_url(response))
    assert landed.status_code == 302
    user = User.objects.get(username=lti_username(issuer=platform.issuer, sub="s1"))
    assert client.get(landed["Location"]).wsgi_request.user == user
    assert client.session.session_key != before  # the other user's session is not reused


def test_a_framed_deep_linking_launch_continues_on_the_picker(client: Client, platform: Any, registered: Any) -> None:
    hint = platform.prepare(LaunchSpec(sub="prof", roles=INSTRUCTOR, message_type="LtiDeepLinkingRequest"))
    response = launch(client, platform, hint, headers=IFRAME)
    assert response.status_code == 200 and "X-Frame-Options" not in response
    window = Client()
    landed = window.get(_continue_url(response))
    assert landed["Location"].startswith("/lti/deep-link/lti1p3-launch-")
    assert window.get(landed["Location"]).status_code == 200


def test_a_refused_framed_launch_makes_no_continuation(client: Client, platform: Any, registered: Any) -> None:
    response = launch(client, platform, platform.prepare(LaunchSpec(sub="s", roles=LEARNER, exp_in=-120)),
                      headers=IFRAME)
    assert response.status_code == 400 and not LaunchContinuation.objects.exists()


def test_the_registrations_page_tells_the_lms_admin_the_tool_may_be_embedded(client: Client, registered: Any) -> None:
    client.force_login(make_member(registered.course, Role.INSTRUCTOR, username="prof"))
    page = client.get(reverse("lti-registrations", args=["dlcv"]), headers={"Accept-Language": "en"}).content.decode()
    assert "The LMS may embed this tool in its page or open it in a new window" in page


@pytest.mark.django_db(transaction=True)
def test_two_uses_at_once_log_in_once() -> None:
    """Two windows spend the same token at the same moment: the row lock lets one through."""
    import threading

    from django.db import connection

    token = continuation_create(user=_member(), target="/courses/x/")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def spend() -> None:
        try:
            barrier.wait(timeout=10)
            continuation_consume(token=token)
            outcomes.append("in")
        except LaunchRefused:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=spend) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["in", "refused"]


def test_the_frame_ancestors_are_the_platforms_origins_and_nothing_that_widens_the_policy() -> None:
    from lti_tool.models import LtiRegistration

    from lti.services.platforms import platform_origins

    canvas = LtiRegistration(issuer="https://canvas.instructure.com",
                             auth_url="https://sso.canvaslms.com/api/lti/authorize_redirect")
    assert platform_origins(canvas) == ["https://sso.canvaslms.com", "https://canvas.instructure.com"]
    moodle = LtiRegistration(issuer="https://moodle.school.edu:8443", auth_url="https://moodle.school.edu:8443/mod/lti/auth.php")
    assert platform_origins(moodle) == ["https://moodle.school.edu:8443"]
    hostile = LtiRegistration(issuer="https://a.example;script-src *", auth_url="javascript:alert(1)")
    assert platform_origins(hostile) == []
    assert platform_origins(LtiRegistration(issuer="https://u:p@lms.example/", auth_url="")) == ["https://lms.example"]
    # A hosted Canvas frames the tool from the school's host: the verified launch's platform and return URLs.
    claims = {"https://purl.imsglobal.org/spec/lti/claim/tool_platform": {"url": "https://school.instructure.com/"},
              "https://purl.imsglobal.org/spec/lti/claim/launch_presentation": {
                  "return_url": "https://school.instructure.com/courses/7/external_content/success/external_tool_redirect",
                  "document_target": "iframe"}}
    assert platform_origins(canvas, claims) == ["https://sso.canvaslms.com", "https://canvas.instructure.com",
                                                "https://school.instructure.com"]
    assert platform_origins(canvas, {"https://purl.imsglobal.org/spec/lti/claim/tool_platform": {"url": 7}}) == [
        "https://sso.canvaslms.com", "https://canvas.instructure.com"]  # a claim of the wrong type: ignored
    hostile_claims = {"https://purl.imsglobal.org/spec/lti/claim/tool_platform": {"url": "https://x.example 'unsafe-inline'"}}
    assert platform_origins(canvas, hostile_claims) == ["https://sso.canvaslms.com", "https://canvas.instructure.com"]
