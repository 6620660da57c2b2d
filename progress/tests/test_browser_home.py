"""The course home and the class view in headless Chromium: at 375 px in both languages the first
screen holds the next exam and what to practise, nothing scrolls sideways, and the weak topic's link is
reached and followed with the keyboard. Screenshots go to var/screenshots/ (SHOTS_DIR to change)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import make_member
from progress.tests.test_pages import _misconception, _practice, _questions, answer, build_course
from quizzes.models import AssessmentMode, AttemptStatus
from quizzes.tests.factories import make_assessment
from quizzes.tests.test_browser import browser, logged_in_page  # noqa: F401  (browser: a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("SHOTS_DIR") or Path(settings.BASE_DIR) / "var" / "screenshots")
PHONE = {"width": 375, "height": 667}


@pytest.fixture
def world(browser: Any, transactional_db: None) -> dict[str, Any]:  # noqa: F811
    course = build_course()
    student = make_member(course, username="alice")
    now = timezone.now()
    make_assessment(course, [], slug="midterm", opens_at=now + timedelta(days=3, hours=4),
                    closes_at=now + timedelta(days=3, hours=6))
    make_assessment(course, [], mode=AssessmentMode.MOCK, slug="mock-109", minutes=None)
    param, _family, tag, _name = _misconception()
    answer(student, _practice(course, "convolution"),
           [(q, 0.0, 2, []) for q in _questions("convolution")[:3]] + [(param, 0.0, 1, [tag])],
           status=AttemptStatus.IN_PROGRESS)
    answer(student, _practice(course, "pooling"), [(q, 1.0, 9, []) for q in _questions("pooling")[:3]])
    answer(student, _practice(course, "pooling"), [(q, 0.0, 2, []) for q in _questions("pooling")[:2]])
    instructor = make_member(course, Role.INSTRUCTOR, username="prof")
    return {"course": course, "student": student, "instructor": instructor}


def _page(browser: Any, live_server: Any, user: Any, lang: str, viewport: dict[str, int]) -> Any:  # noqa: F811
    return logged_in_page(browser, live_server.url, user, lang=lang, width=viewport["width"],
                          height=viewport["height"], locale="en-US")


def _sideways(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


@pytest.mark.parametrize("lang", ["en", "zh-hant"])
def test_the_home_at_375_px_shows_the_exam_and_what_to_practise_first(browser: Any, live_server: Any,  # noqa: F811
                                                                      world: dict[str, Any], lang: str) -> None:
    course = world["course"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = _page(browser, live_server, world["student"], lang, PHONE)
    page.goto(live_server.url + reverse("course-dashboard", args=[course.slug]))
    assert page.locator("html").get_attribute("lang") == lang
    page.screenshot(path=str(SHOTS / f"home-{lang}-375.png"))
    page.screenshot(path=str(SHOTS / f"home-{lang}-375-full.png"), full_page=True)
    assert _sideways(page) <= 0
    # The first screen: the next exam (with its countdown), today's study and the weakest topic; the
    # recent mistakes follow right below it.
    for selector in ('[data-assessment="midterm"] .countdown', "[data-today-panel] a.button", ".weak-topics a"):
        box = page.locator(selector).first.bounding_box()
        assert box is not None and box["y"] + box["height"] <= PHONE["height"], (selector, box)
    # Keyboard: Tab reaches the weak topic's link, Enter opens its practice set.
    weak = page.locator(".weak-topics a").first
    target = weak.get_attribute("href")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.getAttribute('href')") == target \
                and page.evaluate("document.activeElement.closest('.weak-topics') !== null"):
            break
    else:
        pytest.fail("the weak topic's link was not reached with Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{target}")
    # The practice sets open and close with the keyboard too (<details>).
    page.go_back()
    summary = page.locator(".practice-section summary").first
    summary.focus()
    page.keyboard.press("Enter")
    assert page.locator(".practice-section").first.get_attribute("open") is not None
    page.context.close()

    wide = _page(browser, live_server, world["student"], lang, {"width": 1280, "height": 900})
    wide.goto(live_server.url + reverse("course-dashboard", args=[course.slug]))
    wide.screenshot(path=str(SHOTS / f"home-{lang}-1280.png"), full_page=True)
    wide.context.close()


@pytest.mark.parametrize("lang", ["en", "zh-hant"])
def test_the_class_view_fits_a_phone(browser: Any, live_server: Any, world: dict[str, Any], lang: str) -> None:  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    url = live_server.url + reverse("instructor-class-mastery", args=[world["course"].slug])
    for viewport in (PHONE, {"width": 1280, "height": 900}):
        page = _page(browser, live_server, world["instructor"], lang, viewport)
        page.goto(url)
        assert page.locator("svg.chart").count() == 1
        page.screenshot(path=str(SHOTS / f"class-{lang}-{viewport['width']}.png"), full_page=True)
        assert _sideways(page) <= 0
        page.context.close()
