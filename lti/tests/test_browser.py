"""From the LMS's launch button to our assessment page, logged in, in headless Chromium: the test
platform (lti/tests/platform.py) on loopback, the site on pytest-django's live server. Also the LTI
pages at a desktop's and a phone's width in both languages (screenshots in var/screenshots/lti/)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from accounts.models import Enrollment, Role
from accounts.tests.factories import make_course, make_member
from lti.services.launch import lti_username
from lti.services.registrations import registration_create
from lti.tests.platform import LEARNER, LaunchSpec, Platform, new_key
from quizzes.tests.factories import make_assessment
from quizzes.tests.test_browser import TIMEOUT_MS, browser, logged_in_page  # noqa: F401  (browser: a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.VAR_DIR) / "screenshots" / "lti"


@pytest.fixture
def lms(live_server: Any) -> Any:
    platform = Platform(host="localhost").start()  # the same site as the live server (cookies ignore ports)
    platform.tool_launch_url = live_server.url + reverse("lti-launch")
    platform.tool_jwks_url = live_server.url + reverse("lti-jwks")
    course = make_course("dlcv")
    tool_registration = registration_create(course=course, by=None, **platform.registration_fields())
    platform.tool_login_url = live_server.url + reverse("lti-login", args=[tool_registration.registration.uuid])
    yield platform, course
    platform.stop()


def test_a_student_goes_from_the_lms_launch_button_to_the_assessment_logged_in(
        browser: Any, live_server: Any, lms: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    platform, course = lms
    make_assessment(course, [], slug="week-3")
    hint = platform.prepare(LaunchSpec(sub="learner-7", roles=LEARNER, name="Mei Lin", custom={"assessment": "week-3"}))
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{platform.url}/start/{hint}")
    page.get_by_role("button", name="Open the activity").click()
    expect(page).to_have_url(re.compile(r"/courses/dlcv/a/week-3/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("week-3")
    # Logged in as the account made for the platform's user, named by the LMS's name (not our lti- username).
    enrollment = Enrollment.objects.get(course=course)
    assert enrollment.role == Role.STUDENT and enrollment.user.display_name == "Mei Lin"
    assert enrollment.user.username == lti_username(issuer=platform.issuer, sub="learner-7")
    expect(page.locator("header")).to_contain_text("Log out (Mei Lin)")
    expect(page.locator("body")).not_to_contain_text(enrollment.user.username)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "landed-1280.png"), full_page=True)

    # The same launch posted again (the browser's back button and a resubmit): refused, on the error page.
    hint = platform.prepare(LaunchSpec(sub="learner-7", roles=LEARNER, key=new_key()))
    page.goto(f"{platform.url}/start/{hint}")
    page.get_by_role("button", name="Open the activity").click()
    expect(page.locator("[data-launch-error]")).to_contain_text("signature could not be verified")
    context.close()


def test_the_lti_pages_at_a_desktop_and_a_phone_width_in_both_languages(
        browser: Any, live_server: Any, lms: Any) -> None:  # noqa: F811
    platform, course = lms
    instructor = make_member(course, Role.INSTRUCTOR, username="prof")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for lang in ("zh-hant", "en"):
        for width in (1280, 375):
            page = logged_in_page(browser, live_server.url, instructor, lang=lang, width=width)
            page.goto(live_server.url + reverse("lti-registrations", args=["dlcv"]))
            assert page.evaluate("document.documentElement.lang") == lang
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            page.screenshot(path=str(SCREENSHOTS / f"registrations-{lang}-{width}.png"), full_page=True)
            page.goto(f"{platform.url}/start/{platform.prepare(LaunchSpec(sub='x', roles=LEARNER, exp_in=-100))}")
            page.get_by_role("button", name="Open the activity").click()
            page.wait_for_selector("[data-launch-error]")
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            page.screenshot(path=str(SCREENSHOTS / f"launch-refused-{lang}-{width}.png"), full_page=True)
            page.context.close()


def test_an_instructor_places_a_lab_through_the_picker_and_the_browser_posts_it_to_the_lms(
        browser: Any, live_server: Any, lms: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    from labs.tests.factories import make_lab
    from lti.tests.platform import INSTRUCTOR

    platform, course = lms
    make_lab(course, "lab1")
    make_assessment(course, [], slug="week-3")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for lang in ("zh-hant", "en"):
        for width in (1280, 375):
            page = logged_in_page(browser, live_server.url, None, lang=lang, width=width)  # the LMS logs in
            violations: list[str] = []
            page.on("console", lambda message, seen=violations: seen.append(message.text)
                    if "Content Security Policy" in message.text else None)
            hint = platform.prepare(LaunchSpec(sub="prof", roles=INSTRUCTOR, message_type="LtiDeepLinkingRequest"))
            page.goto(f"{platform.url}/start/{hint}")
            page.get_by_role("button", name="Open the activity").click()
            expect(page).to_have_url(re.compile(r"/lti/deep-link/lti1p3-launch-[0-9a-f-]+/$"))
            assert page.evaluate("document.documentElement.lang") == lang
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            page.screenshot(path=str(SCREENSHOTS / f"deep-link-picker-{lang}-{width}.png"), full_page=True)
            page.locator('input[value="lab:lab1"]').check()
            page.locator("form.stacked button[type=submit]").click()
            expect(page.get_by_role("heading", name="Linked in the LMS")).to_be_visible()  # the script posted it
            assert not violations, violations
            page.context.close()
    assert [item["custom"] for claims in platform.deep_link_responses
            for item in claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]] == [{"lab": "lab1"}] * 4
    instructor = Enrollment.objects.get(course=course, user__username=lti_username(issuer=platform.issuer, sub="prof"))
    assert instructor.role == Role.INSTRUCTOR
    for lang in ("zh-hant", "en"):
        page = logged_in_page(browser, live_server.url, instructor.user, lang=lang, width=375)
        page.goto(live_server.url + reverse("lti-scores", args=["dlcv"]))
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(SCREENSHOTS / f"scores-{lang}-375.png"), full_page=True)
        page.context.close()


FRAME_SHOTS = Path("/tmp/shots-lti-frame")


def test_a_launch_the_lms_shows_in_an_iframe_continues_logged_in_in_a_new_window(
        browser: Any, live_server: Any, lms: Any) -> None:  # noqa: F811
    """Canvas and Moodle embed tools in an iframe: Chromium sends Sec-Fetch-Dest: iframe with the launch,
    which answers the page the platform may frame; its link opens a new window, logged in, on the activity."""
    from playwright.sync_api import expect

    platform, course = lms
    make_assessment(course, [], slug="week-3")
    FRAME_SHOTS.mkdir(parents=True, exist_ok=True)
    for lang in ("en", "zh-hant"):
        for width in (1280, 375):
            page = logged_in_page(browser, live_server.url, None, lang=lang, width=width)  # the LMS logs in
            violations: list[str] = []
            page.on("console", lambda message, seen=violations: seen.append(message.text)
                    if "Content Security Policy" in message.text or "X-Frame-Options" in message.text else None)
            hint = platform.prepare(LaunchSpec(sub="learner-7", roles=LEARNER, name="Mei Lin",
                                               custom={"assessment": "week-3"}))
            page.goto(f"{platform.url}/start/{hint}?frame=1")
            page.get_by_role("button", name="Open the activity").click()
            framed = page.frame_locator('iframe[name="tool-frame"]')
            expect(framed.locator("[data-lti-framed]")).to_be_visible()
            frame = page.frame(name="tool-frame")
            assert frame is not None and frame.url == live_server.url + reverse("lti-launch")
            assert frame.evaluate("document.documentElement.lang") == lang
            with translation.override(lang):  # the page in the request's language
                expect(framed.get_by_role("heading", level=1)).to_have_text(
                    translation.gettext("This activity opens in its own window"))
                continue_link = framed.get_by_role("link", name=translation.gettext("Continue in a new window"))
            assert frame.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert not violations, violations
            # Enrolled, but no session in the frame: nothing to be lost to third-party cookie blocking.
            assert settings.SESSION_COOKIE_NAME not in {c["name"] for c in page.context.cookies(live_server.url)}
            frame.wait_for_load_state("load")  # its stylesheets too, before the picture
            page.screenshot(path=str(FRAME_SHOTS / f"framed-{lang}-{width}.png"), full_page=True)
            with page.context.expect_page() as opened:
                continue_link.click()
            window = opened.value
            window.set_default_timeout(TIMEOUT_MS)
            expect(window).to_have_url(re.compile(r"/courses/dlcv/a/week-3/$"))
            expect(window.get_by_role("heading", level=1)).to_contain_text("week-3")
            expect(window.locator("header")).to_contain_text("Mei Lin")  # logged in as the LMS's user
            assert window.evaluate("document.documentElement.lang") == lang
            assert window.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            window.screenshot(path=str(FRAME_SHOTS / f"new-window-{lang}-{width}.png"), full_page=True)
            page.context.close()
    enrollment = Enrollment.objects.get(course=course)
    assert enrollment.user.username == lti_username(issuer=platform.issuer, sub="learner-7")
