"""Names and Roles: the course's roster from the loopback platform's membership service, by the
roster import's rules (new, updated, dropped), keyed by (issuer, sub); on demand and by the nightly task."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from lti_tool.models import LtiUser

from accounts.models import Course, DroppedEnrollment, Enrollment, Role, User
from accounts.tests.factories import make_course, make_member
from lti.services.launch import lti_username
from lti.services.nrps import course_roster_sync, courses_with_rosters
from lti.services.registrations import registration_create
from lti.tests.conftest import launch
from lti.tests.platform import INSTRUCTOR, LEARNER, ROLE, LaunchSpec, Platform

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def lms(live_server: Any) -> Iterator[tuple[Platform, Course]]:
    platform = Platform(host="127.0.0.1").start()
    platform.tool_launch_url = "http://testserver" + reverse("lti-launch")
    platform.tool_jwks_url = live_server.url + reverse("lti-jwks")
    course = make_course("dlcv")
    tool_registration = registration_create(course=course, by=None, **platform.registration_fields())
    platform.tool_login_url = "http://testserver" + reverse("lti-login", args=[tool_registration.registration.uuid])
    yield platform, course
    platform.stop()


def _member(sub: str, name: str, roles: list[str], status: str = "Active") -> dict[str, Any]:
    return {"user_id": sub, "name": name, "email": f"{sub}@example.edu", "roles": roles, "status": status}


def _username(platform: Platform, sub: str) -> str:
    return lti_username(issuer=platform.issuer, sub=sub)


def test_a_roster_sync_adds_updates_and_drops_like_the_csv_import(lms: Any) -> None:
    platform, course = lms
    for sub, roles in (("s1", LEARNER), ("s2", LEARNER), ("t1", INSTRUCTOR)):
        assert launch(Client(), platform, platform.prepare(LaunchSpec(sub=sub, roles=roles, name=sub, email=f"{sub}@example.edu"))).status_code == 302
    hand_added = make_member(course, Role.STUDENT, username="walk-in")  # came another way: never dropped
    platform.memberships["course-101"] = [
        _member("s1", "Chen Yi", LEARNER),  # renamed
        _member("s3", "Lin Hua", [ROLE + "Learner"]),  # new
        _member("s2", "s2", LEARNER, status="Inactive"),  # dropped
        _member("t1", "t1", INSTRUCTOR),
    ]
    plan = course_roster_sync(course=course)
    assert plan.summary() == {"new": 1, "restored": 0, "updated": 1, "dropped": 1, "unchanged": 1}
    assert User.objects.get(username=_username(platform, "s1")).display_name == "Chen Yi"
    new = User.objects.get(username=_username(platform, "s3"))
    assert (new.display_name, new.email, new.has_usable_password()) == ("Lin Hua", "s3@example.edu", False)
    assert LtiUser.objects.get(sub="s3").auth_user == new
    assert DroppedEnrollment.objects.filter(course=course, user__username=_username(platform, "s2")).exists()
    assert Enrollment.objects.filter(course=course, user=hand_added).exists()
    assert Enrollment.objects.get(course=course, user__username=_username(platform, "t1")).role == Role.INSTRUCTOR

    # The same roster again changes nothing; the new member's first launch finds their account.
    assert course_roster_sync(course=course).changes == 0
    accounts = User.objects.count()
    assert launch(Client(), platform, platform.prepare(LaunchSpec(sub="s3", roles=LEARNER))).status_code == 302
    assert User.objects.count() == accounts


def test_the_sync_button_and_the_nightly_list(lms: Any) -> None:
    platform, course = lms
    assert courses_with_rosters() == []
    launch(Client(), platform, platform.prepare(LaunchSpec(sub="t1", roles=INSTRUCTOR)))
    assert courses_with_rosters() == [course.pk]
    platform.memberships["course-101"] = [_member("t1", "t1", INSTRUCTOR), _member("s9", "Wu", LEARNER)]
    instructor = User.objects.get(username=_username(platform, "t1"))
    client = Client()
    client.force_login(instructor)
    response = client.post(reverse("lti-roster-sync", args=["dlcv"]), follow=True)
    assert "Roster synced from the LMS: 1 new" in response.content.decode()
    assert Enrollment.objects.filter(course=course, user__username=_username(platform, "s9")).exists()
