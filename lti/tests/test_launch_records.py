"""django-lti's records of a launch written by lti/services/launch_records.py: the same rows as django-lti's
own ``sync_data_from_launch`` over a run of launches (new, unchanged, changed claims, another context, a
deep link, a platform instance), and nothing written for a returning student whose claims did not change."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from lti_tool.models import (
    LtiContext,
    LtiDeployment,
    LtiMembership,
    LtiPlatformInstance,
    LtiResourceLink,
    LtiUser,
)
from lti_tool.utils import sync_data_from_launch

from accounts.models import User
from lti.services import launch as launch_service
from lti.services.launch import lti_username
from lti.tests.conftest import launch
from lti.tests.platform import INSTRUCTOR, LEARNER, LTI, TEACHING_ASSISTANT, LaunchSpec

pytestmark = pytest.mark.django_db

TOOL_PLATFORM = {LTI + "tool_platform": {"guid": "moodle-1", "name": "Moodle", "version": "4.3",
                                         "contact_email": "lms@example.edu"}}


def _specs() -> list[LaunchSpec]:
    return [
        LaunchSpec(sub="s1", roles=LEARNER, name="Mei Lin", email="mei@example.edu"),
        LaunchSpec(sub="s1", roles=LEARNER, name="Mei Lin", email="mei@example.edu"),  # nothing changed
        LaunchSpec(sub="s1", roles=INSTRUCTOR, name="Mei Lin-Chen", email="mei@example.edu",
                   resource_link_id="link-2", overrides=TOOL_PLATFORM),
        LaunchSpec(sub="s2", roles=TEACHING_ASSISTANT, context_id="course-202", overrides=TOOL_PLATFORM),
        LaunchSpec(sub="s3", roles=INSTRUCTOR, message_type="LtiDeepLinkingRequest",
                   overrides={**TOOL_PLATFORM, LTI + "tool_platform": {"guid": "moodle-1", "name": "Moodle 4"}}),
    ]


def _records() -> dict[str, list[Any]]:
    """Every lti_tool row a launch writes, by natural keys (no ids, no times)."""
    return {
        "users": sorted(LtiUser.objects.values_list("sub", "name", "given_name", "family_name", "email",
                                                    "picture_url", "auth_user__username")),
        "contexts": sorted(LtiContext.objects.values_list(
            "id_on_platform", "title", "label", "is_course_template", "is_course_offering", "is_course_section",
            "is_group", "memberships_url", "lineitems_url", "can_query_lineitems", "can_manage_lineitems",
            "can_publish_scores", "can_access_results")),
        "memberships": sorted(LtiMembership.objects.values_list(
            "user__sub", "context__id_on_platform", "is_administrator", "is_content_developer", "is_instructor",
            "is_learner", "is_mentor")),
        "links": sorted(LtiResourceLink.objects.values_list("context__id_on_platform", "id_on_platform", "title",
                                                            "description")),
        "instances": sorted(LtiPlatformInstance.objects.values_list("issuer", "guid", "name", "version",
                                                                    "contact_email", "url")),
        "deployments": sorted(LtiDeployment.objects.values_list("deployment_id", "platform_instance__guid")),
    }


def _run(platform: Any) -> dict[str, list[Any]]:
    for spec in _specs():
        response = launch(Client(), platform, platform.prepare(spec))
        assert response.status_code == 302, response.content[:300]
    return _records()


def test_the_same_records_as_django_lti_writes(platform, registered, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ours = _run(platform)
    assert ours["users"][0][:2] == ("s1", "Mei Lin-Chen") and len(ours["contexts"]) == 2
    assert len(ours["links"]) == 3 and ours["instances"][0][2] == "Moodle 4"
    for model in (LtiMembership, LtiResourceLink, LtiContext, LtiUser):
        model.objects.all().delete()
    LtiDeployment.objects.update(platform_instance=None)
    LtiPlatformInstance.objects.all().delete()
    monkeypatch.setattr(launch_service, "launch_records_sync",
                        lambda lti_launch, **_kwargs: sync_data_from_launch(lti_launch))
    assert _run(platform) == ours


def test_a_returning_student_with_unchanged_claims_writes_no_lti_record(platform, registered) -> None:  # type: ignore[no-untyped-def]
    spec = LaunchSpec(sub="s1", roles=LEARNER, name="Mei Lin", email="mei@example.edu", overrides=TOOL_PLATFORM)
    launch(Client(), platform, platform.prepare(spec))
    client = Client()
    started = client.post(platform.tool_login_url, platform.login_params(platform.prepare(spec)))
    fields = platform.authenticate(started["Location"])
    fields.pop("_action")
    with CaptureQueriesContext(connection) as queries:
        assert client.post(reverse("lti-launch"), fields).status_code == 302
    statements = [q["sql"] for q in queries.captured_queries]
    writes = [sql for sql in statements if sql.startswith(("INSERT", "UPDATE", "DELETE")) and "lti_tool_" in sql]
    assert writes == []
    # The id_token's validation reads the registration with its deployment and course (not our key: nothing
    # is signed); then, in the launch's transaction, the membership with its user, account, context and
    # resource link in one read, and the platform instance (django-lti's own sync reads, locks and updates
    # each row: 12 statements more).
    tables = [sql.split(" FROM ")[1].split()[0].strip('"') for sql in statements if "lti_tool_" in sql]
    assert sorted(tables) == sorted(["lti_tool_ltiregistration", "lti_tool_ltimembership",
                                     "lti_tool_ltiplatforminstance"])


def test_an_existing_account_without_a_name_takes_the_lms_name(platform, registered) -> None:  # type: ignore[no-untyped-def]
    launch(Client(), platform, platform.prepare(LaunchSpec(sub="s1", roles=LEARNER)))
    user = User.objects.get(username=lti_username(issuer=platform.issuer, sub="s1"))
    assert str(user) == user.username  # no name from the LMS yet: the username, the fallback
    launch(Client(), platform, platform.prepare(LaunchSpec(sub="s1", roles=LEARNER, name="Mei Lin")))
    user.refresh_from_db()
    assert (user.display_name, str(user)) == ("Mei Lin", "Mei Lin")
    launch(Client(), platform, platform.prepare(LaunchSpec(sub="s1", roles=LEARNER, name="Someone Else")))
    user.refresh_from_db()
    assert user.display_name == "Mei Lin"  # a name the account has is kept
