"""Deep linking round trip with the loopback platform: an instructor's LtiDeepLinkingRequest → our
picker → a signed LtiDeepLinkingResponse the platform verifies against our JWKS → a student's launch of
the placed link lands on the chosen assessment."""

from __future__ import annotations

import html
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from lti_tool.models import LtiUser

from accounts.models import Course, Enrollment, Role
from accounts.tests.factories import make_course, make_member
from labs.tests.factories import make_lab
from lti.services.registrations import registration_create
from lti.tests.conftest import launch
from lti.tests.platform import INSTRUCTOR, LEARNER, LaunchSpec, Platform
from quizzes.tests.factories import make_assessment

pytestmark = pytest.mark.django_db(transaction=True)

DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"


@pytest.fixture
def lms(live_server: Any) -> Iterator[tuple[Platform, Course]]:
    platform = Platform(host="127.0.0.1").start()
    platform.tool_launch_url = "http://testserver" + reverse("lti-launch")
    platform.tool_jwks_url = live_server.url + reverse("lti-jwks")  # the platform checks our signature
    course = make_course("dlcv")
    tool_registration = registration_create(course=course, by=None, **platform.registration_fields())
    platform.tool_login_url = "http://testserver" + reverse("lti-login", args=[tool_registration.registration.uuid])
    yield platform, course
    platform.stop()


def test_an_instructor_places_an_assessment_and_a_student_lands_on_it(lms: Any) -> None:
    platform, course = lms
    make_assessment(course, [], slug="week-3")
    make_lab(course, "lab1")
    client = Client()
    hint = platform.prepare(LaunchSpec(sub="prof", roles=INSTRUCTOR, message_type="LtiDeepLinkingRequest"))
    response = launch(client, platform, hint)
    assert response.status_code == 302 and response["Location"].startswith("/lti/deep-link/lti1p3-launch-")
    picker_url = response["Location"]
    picker = client.get(picker_url).content.decode()
    assert 'value="assessment:week-3"' in picker and 'value="lab:lab1"' in picker
    student = Client()
    student.force_login(make_member(course, Role.STUDENT, username="nosy"))
    assert student.get(picker_url).status_code == 403  # the address alone is not enough

    assert client.post(picker_url, {"item": "assessment:nope"}).status_code == 400
    answer = client.post(picker_url, {"item": "assessment:week-3"})
    assert answer.status_code == 200
    page = answer.content.decode()
    action = html.unescape(re.search(r'<form method="post" action="([^"]+)" data-lti-autosubmit>', page).group(1))
    token = re.search(r'name="JWT" value="([^"]+)"', page).group(1)
    assert action == platform.url + "/deep-link-return"
    assert platform.url in answer["Content-Security-Policy"]  # the browser may post the form there
    request = urllib.request.Request(action, data=urllib.parse.urlencode({"JWT": token}).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response_from_platform:
        assert response_from_platform.status == 200
    (claims,) = platform.deep_link_responses
    (item,) = claims[DL_CLAIM]
    assert item["type"] == "ltiResourceLink" and item["url"] == platform.tool_launch_url
    assert item["custom"] == {"assessment": "week-3"}
    # The picker's launch is spent; another staff member or a student cannot use its address.
    assert client.get(picker_url).status_code == 400

    student = launch(Client(), platform, platform.prepare(LaunchSpec(sub="s1", roles=LEARNER, custom=item["custom"])))
    assert student["Location"] == reverse("assessment-landing", args=["dlcv", "week-3"])


def test_a_learner_may_not_deep_link_and_nothing_is_created(lms: Any) -> None:
    platform, course = lms
    hint = platform.prepare(LaunchSpec(sub="s1", roles=LEARNER, message_type="LtiDeepLinkingRequest"))
    response = launch(Client(), platform, hint)
    assert response.status_code == 403
    assert 'data-launch-error="launch_deep_link_role"' in response.content.decode()
    assert not Enrollment.objects.filter(course=course).exists() and not LtiUser.objects.exists()
