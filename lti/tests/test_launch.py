"""LTI 1.3 launches from a real platform on loopback (lti/tests/platform.py): each role, and every
kind of bad input refused with a clear page and nothing created."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from lti_tool.models import LtiContext, LtiUser

from accounts.models import Enrollment, EnrollmentSource, Role, User
from lti import sql
from lti.services.launch import lti_username
from lti.tests.conftest import launch
from lti.tests.platform import INSTRUCTOR, LEARNER, LTI, TEACHING_ASSISTANT, LaunchSpec, new_key
from quizzes.tests.factories import make_assessment

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("roles", "role"), [(LEARNER, Role.STUDENT), (TEACHING_ASSISTANT, Role.TA),
                                               (INSTRUCTOR, Role.INSTRUCTOR)])
def test_a_launch_enrols_with_the_lms_role_and_lands_logged_in_on_the_course(
        client: Client, platform, registered, roles: list[str], role: str) -> None:  # type: ignore[no-untyped-def]
    hint = platform.prepare(LaunchSpec(sub="sub-42", roles=roles, name="Mei Lin", email="mei@example.edu"))
    response = launch(client, platform, hint)
    assert response.status_code == 302
    assert response["Location"] == reverse("course-dashboard", args=["dlcv"])
    user = User.objects.get(username=lti_username(issuer=platform.issuer, sub="sub-42"))
    assert (user.display_name, user.email, user.has_usable_password()) == ("Mei Lin", "mei@example.edu", False)
    enrollment = Enrollment.objects.get(user=user, course=registered.course)
    assert (enrollment.role, enrollment.source) == (role, EnrollmentSource.LTI)
    assert LtiUser.objects.get(sub="sub-42").auth_user == user
    assert client.get(reverse("course-dashboard", args=["dlcv"])).status_code == 200  # logged in


def test_a_launch_of_a_linked_assessment_lands_on_it(client: Client, platform, registered) -> None:  # type: ignore[no-untyped-def]
    make_assessment(registered.course, [], slug="week-3")
    hint = platform.prepare(LaunchSpec(sub="s1", roles=LEARNER, custom={"assessment": "week-3"}))
    response = launch(client, platform, hint)
    assert response["Location"] == reverse("assessment-landing", args=["dlcv", "week-3"])


def test_the_email_is_never_the_key_and_a_second_launch_reuses_the_account(
        client: Client, platform, registered) -> None:  # type: ignore[no-untyped-def]
    User.objects.create(username="mei", email="mei@example.edu")
    for _ in range(2):
        launch(Client(), platform, platform.prepare(LaunchSpec(sub="s1", roles=LEARNER, email="mei@example.edu")))
    assert User.objects.filter(email="mei@example.edu").count() == 2  # the existing account is not taken over
    assert Enrollment.objects.filter(course=registered.course).count() == 1
    assert not Enrollment.objects.filter(user__username="mei").exists()


def test_a_platform_user_whose_record_is_gone_gets_their_account_back(client: Client, platform, registered) -> None:  # type: ignore[no-untyped-def]
    """The platform registered again (django-lti's records of its users deleted with the old one): the
    account made for (issuer, sub) is found, not made twice, and the launch logs into it."""
    spec = LaunchSpec(sub="s1", roles=LEARNER, name="Mei Lin")
    launch(Client(), platform, platform.prepare(spec))
    account = User.objects.get(username=lti_username(issuer=platform.issuer, sub="s1"))
    LtiUser.objects.all().delete()
    assert launch(client, platform, platform.prepare(spec)).status_code == 302
    assert LtiUser.objects.get(sub="s1").auth_user == account
    assert User.objects.filter(username__startswith="lti-").count() == 1
    assert Enrollment.objects.filter(course=registered.course).count() == 1
    assert client.get(reverse("course-dashboard", args=["dlcv"])).wsgi_request.user == account


def test_a_launch_in_a_browser_with_a_session_gives_it_a_new_key(client: Client, platform, registered) -> None:  # type: ignore[no-untyped-def]
    """Login's rotation against session fixation stays for a browser that brought a session (here an
    anonymous one, as an attacker could plant); one that brought none gets a fresh key, saved once."""
    planted = client.session  # the test client saves it and sets its cookie
    planted["seen"] = True
    planted.save()
    before = planted.session_key
    assert before and client.cookies[settings.SESSION_COOKIE_NAME].value == before
    assert launch(client, platform, platform.prepare(LaunchSpec(sub="s1", roles=LEARNER))).status_code == 302
    assert client.session.session_key != before
    account = User.objects.get(username=lti_username(issuer=platform.issuer, sub="s1"))
    assert client.get(reverse("course-dashboard", args=["dlcv"])).wsgi_request.user == account
    fresh = Client()
    assert launch(fresh, platform, platform.prepare(LaunchSpec(sub="s1", roles=LEARNER))).status_code == 302
    assert fresh.session.session_key not in (None, before, client.session.session_key)
    assert fresh.get(reverse("course-dashboard", args=["dlcv"])).wsgi_request.user == account


def _statements(platform, spec: LaunchSpec) -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    """The SQL of one launch's login initiation and of its id_token post (a browser of its own)."""
    client = Client()
    hint = platform.prepare(spec)
    with CaptureQueriesContext(connection) as login_queries:
        started = client.post(platform.tool_login_url, platform.login_params(hint))
    fields = platform.authenticate(started["Location"])
    fields.pop("_action")
    with CaptureQueriesContext(connection) as post_queries:
        assert client.post(reverse("lti-launch"), fields).status_code == 302
    return [q["sql"] for q in login_queries.captured_queries], [q["sql"] for q in post_queries.captured_queries]


def test_a_new_and_a_returning_students_launch_run_a_fixed_number_of_statements(platform, registered) -> None:  # type: ignore[no-untyped-def]
    """Issue 18 (launch p99 ≤ 100 ms): statements are what a launch spends its time on, counted here
    (`python -m lti.bench --scores 0` times them). Another student launched first: the context and the
    resource link exist, the platform's JWKS is cached."""
    launch(Client(), platform, platform.prepare(LaunchSpec(sub="first", roles=LEARNER)))
    spec = LaunchSpec(sub="s1", roles=LEARNER, name="Mei Lin", email="mei@example.edu")
    login, post = _statements(platform, spec)
    # Login initiation: the registration only. The post: the registration with its deployment and course;
    # in one transaction the membership (none), the context with its resource link, the account (one
    # INSERT … ON CONFLICT on PostgreSQL, lti.sql; else in a savepoint: two more), the LtiUser linked to
    # it, the membership, the enrolment, the login (axes, last_login); then the session, saved once.
    assert (len(login), len(post)) == (1, 15 if sql.available() else 17), "\n".join(login + post)
    login, post = _statements(platform, spec)
    # Returning: the membership with the user, account, context and resource link in one read; the
    # enrolment (locked); nothing of django-lti's is written.
    assert (len(login), len(post)) == (1, 11), "\n".join(login + post)


def _nothing_created(registered) -> None:  # type: ignore[no-untyped-def]
    assert not User.objects.filter(username__startswith="lti-").exists()
    assert not Enrollment.objects.filter(course=registered.course).exists()
    assert not LtiUser.objects.exists()
    assert not LtiContext.objects.exists()


def _refused(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    page = response.content.decode()
    assert f'data-launch-error="{code}"' in page
    assert "The LMS launch was refused" in page


BAD = {
    "a bad signature": (LaunchSpec(sub="s", roles=LEARNER, key=new_key()), 400, "launch_signature"),
    "an unknown key id": (LaunchSpec(sub="s", roles=LEARNER, kid="other-key"), 400, "launch_signature"),
    "an expired token": (LaunchSpec(sub="s", roles=LEARNER, exp_in=-120), 400, "launch_expired"),
    "a wrong audience": (LaunchSpec(sub="s", roles=LEARNER, overrides={"aud": "someone-else"}), 403,
                         "launch_unknown_platform"),
    "a wrong issuer": (LaunchSpec(sub="s", roles=LEARNER, overrides={"iss": "http://evil.example"}), 403,
                       "launch_unknown_platform"),
    "an unknown deployment": (LaunchSpec(sub="s", roles=LEARNER, overrides={LTI + "deployment_id": "other"}), 403,
                              "launch_deployment"),
    "no sub": (LaunchSpec(sub="s", roles=LEARNER, drop=("sub",)), 400, "launch_claims"),
    "no roles": (LaunchSpec(sub="s", roles=LEARNER, drop=(LTI + "roles",)), 400, "launch_claims"),
    "no resource link": (LaunchSpec(sub="s", roles=LEARNER, drop=(LTI + "resource_link",)), 400, "launch_claims"),
    "no LTI version": (LaunchSpec(sub="s", roles=LEARNER, drop=(LTI + "version",)), 400, "launch_claims"),
    "a nonce the tool never issued": (LaunchSpec(sub="s", roles=LEARNER, overrides={"nonce": "made-up"}), 400,
                                      "launch_nonce"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_refused_with_a_clear_page_and_nothing_created(
        client: Client, platform, registered, case: str) -> None:  # type: ignore[no-untyped-def]
    spec, status, code = BAD[case]
    _refused(launch(client, platform, platform.prepare(spec)), status, code)
    _nothing_created(registered)


def test_a_wrong_state_is_refused(client: Client, platform, registered) -> None:  # type: ignore[no-untyped-def]
    hint = platform.prepare(LaunchSpec(sub="s", roles=LEARNER))
    _refused(launch(client, platform, hint, tamper=lambda f: {**f, "state": "state-forged"}), 400, "launch_state")
    _nothing_created(registered)


def test_a_missing_or_unreadable_id_token_is_refused(client: Client, platform, registered) -> None:  # type: ignore[no-untyped-def]
    hint = platform.prepare(LaunchSpec(sub="s", roles=LEARNER))
    _refused(launch(client, platform, hint, tamper=lambda f: {**f, "id_token": "not-a-jwt"}), 400, "launch_malformed")
    _nothing_created(registered)


def test_a_replayed_launch_is_refused_the_second_time(client: Client, platform, registered) -> None:  # type: ignore[no-untyped-def]
    posted: dict[str, str] = {}

    def keep(fields: dict[str, str]) -> dict[str, str]:
        posted.update(fields)
        return fields

    assert launch(client, platform, platform.prepare(LaunchSpec(sub="s", roles=LEARNER)), tamper=keep).status_code == 302
    enrolled = Enrollment.objects.count()
    replay = client.post(reverse("lti-launch"), posted)
    _refused(replay, 400, "launch_replayed")
    assert Enrollment.objects.count() == enrolled


def test_a_token_swapped_for_another_signed_one_with_the_same_state_is_refused(
        client: Client, platform, registered) -> None:  # type: ignore[no-untyped-def]
    """The state is bound to the browser (cookie); the nonce to the login this tool started."""
    spec = LaunchSpec(sub="s", roles=LEARNER)
    forged = platform.id_token(spec, nonce="never-issued")
    _refused(launch(client, platform, platform.prepare(spec), tamper=lambda f: {**f, "id_token": forged}), 400,
             "launch_nonce")
    _nothing_created(registered)


def test_the_platforms_jwks_is_fetched_once_per_cache_period_and_again_for_a_new_key_id(
        client: Client, platform, registered) -> None:  # type: ignore[no-untyped-def]
    for sub in ("a", "b", "c"):
        assert launch(Client(), platform, platform.prepare(LaunchSpec(sub=sub, roles=LEARNER))).status_code == 302
    assert platform.jwks_fetches == 1
    # The platform rotates its key: the unknown key id is fetched again, once.
    platform.key, platform.kid = new_key(), "platform-key-2"
    for sub in ("d", "e"):
        assert launch(Client(), platform, platform.prepare(LaunchSpec(sub=sub, roles=LEARNER))).status_code == 302
    assert platform.jwks_fetches == 2
    # A token with a key id the platform does not have: one more fetch at most, then refused from the cache.
    for sub in ("f", "g"):
        response = launch(Client(), platform, platform.prepare(LaunchSpec(sub=sub, roles=LEARNER, kid="bogus")))
        assert response.status_code == 400
    assert platform.jwks_fetches == 3


def test_the_tools_jwks_has_its_public_key_and_no_private_part(client: Client, db: None) -> None:
    keys = client.get(reverse("lti-jwks")).json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "RSA" and keys[0]["kid"] and "d" not in keys[0]


def test_the_key_command_makes_one_key_and_rotates_on_request(db: None) -> None:
    from django.core.management import call_command
    from lti_tool.models import Key

    call_command("lti_key")
    call_command("lti_key")
    assert Key.objects.count() == 1
    call_command("lti_key", "--rotate")
    assert Key.objects.active().count() == 2


def test_over_https_the_state_and_session_cookies_are_samesite_none_and_secure(
        client: Client, platform, registered) -> None:  # type: ignore[no-untyped-def]
    """The launch is a cross-site form post: the cookies pylti1p3 sets at login initiation must reach it."""
    hint = platform.prepare(LaunchSpec(sub="s1", roles=LEARNER))
    started = client.post(platform.tool_login_url, platform.login_params(hint), secure=True)
    set_cookies = [c for name, c in started.cookies.items() if name.startswith("lti1p3-")]
    assert len(set_cookies) == 2  # the state and pylti1p3's session id
    assert all(c["samesite"] == "None" and c["secure"] for c in set_cookies)
    fields = platform.authenticate(started["Location"])
    fields.pop("_action")
    assert client.post(reverse("lti-launch"), fields, secure=True).status_code == 302
    # Without those cookies (a browser that dropped them): refused, nothing created.
    other = Client()
    hint = platform.prepare(LaunchSpec(sub="s2", roles=LEARNER))
    fields = platform.authenticate(client.post(platform.tool_login_url, platform.login_params(hint),
                                               secure=True)["Location"])
    fields.pop("_action")
    response = other.post(reverse("lti-launch"), fields, secure=True)
    assert response.status_code == 400
    assert not LtiUser.objects.filter(sub="s2").exists()
