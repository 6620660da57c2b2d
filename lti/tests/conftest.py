"""The LTI tests' platform (a real one on loopback: lti/tests/platform.py) and a course registered with it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Course
from accounts.tests.factories import make_course
from lti.models import ToolRegistration
from lti.services.registrations import registration_create
from lti.tests.platform import Platform


@pytest.fixture
def platform() -> Iterator[Platform]:
    started = Platform().start()
    started.tool_launch_url = "http://testserver" + reverse("lti-launch")
    started.tool_jwks_url = ""
    yield started
    started.stop()


@pytest.fixture
def course(db: None) -> Course:
    return make_course("dlcv")


@pytest.fixture
def registered(course: Course, platform: Platform) -> ToolRegistration:
    tool_registration = registration_create(course=course, by=None, **platform.registration_fields())
    platform.tool_login_url = "http://testserver" + reverse("lti-login", args=[tool_registration.registration.uuid])
    return tool_registration


def launch(client: Client, platform: Platform, hint: str, *, tamper: Any = None, secure: bool = False,
           headers: dict[str, str] | None = None) -> Any:
    """Login initiation → the platform's authentication → the form post to our launch URL.
    ``tamper(fields)`` may change the posted fields (a replay, a swapped token) before the post;
    ``headers`` are the post's (``Sec-Fetch-Dest: iframe``: the LMS shows the launch in a frame)."""
    started = client.post(platform.tool_login_url, platform.login_params(hint), secure=secure)
    assert started.status_code == 302, started.content[:500]
    fields = platform.authenticate(started["Location"])
    action = fields.pop("_action")
    assert action == platform.tool_launch_url
    if tamper is not None:
        fields = tamper(fields)
    return client.post(reverse("lti-launch"), fields, secure=secure, headers=headers)
