"""My grades on a phone and the gradebook's sticky first column, in headless Chromium (the quiz browser
tests' fixture and login helper; Debian's /usr/bin/chromium)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import make_course, make_member
from grades.selectors import course_grades
from grades.tests.factories import build_course
from quizzes.tests.test_browser import _page, browser  # noqa: F401  (browser: a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: Where the screenshots go when GRADES_SHOTS names a folder (a developer looking at the pages).
SHOTS = os.environ.get("GRADES_SHOTS", "")


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_my_grades_on_a_phone_shows_the_total_without_sideways_scrolling(
        browser: Any, live_server: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    course = make_course("dlcv")
    built = build_course(course, now=timezone.now(), students=3, labs=5, exams=3, practice=1)
    student = built.students[1]
    expected = course_grades(course=course, user=student).rows[0].percent
    page = _page(browser, live_server, student, width=375)
    page.goto(f"{live_server.url}/courses/dlcv/")
    page.get_by_role("link", name="My grades").click()
    expect(page).to_have_url(re.compile(r"/courses/dlcv/grades/$"))
    expect(page.locator("[data-total]")).to_have_text(f"{expected * 100:.1f} %")
    expect(page.get_by_role("row", name=re.compile("Exam Late")).get_by_text("Not released yet")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Lab 1")).get_by_role("link", name=re.compile("Feedback"))).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    _shot(page, "my-grades-375-en")


def test_the_gradebooks_first_column_stays_in_sight_when_40_columns_scroll(
        browser: Any, live_server: Any) -> None:  # noqa: F811
    course = make_course("dlcv")
    instructor = make_member(course, Role.INSTRUCTOR, username="ines")
    build_course(course, now=timezone.now(), students=6, labs=20, exams=19, practice=0)  # + the unreleased exam
    page = _page(browser, live_server, instructor, width=1280)
    page.goto(f"{live_server.url}/instructor/courses/dlcv/grades/")
    wrap = page.locator(".gradebook-wrap")
    first = page.locator('tr[data-student="s000"] th.sticky')
    total = page.locator('tr[data-student="s000"] td[data-total]')
    assert page.locator("table.gradebook thead th").count() >= 1 + 40
    before = first.bounding_box()
    box = wrap.bounding_box()
    assert total.bounding_box()["x"] > box["x"] + box["width"]  # the totals are out of sight to the right
    wrap.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    page.wait_for_function("document.querySelector('.gradebook-wrap').scrollLeft > 0")
    after = first.bounding_box()
    assert after["x"] == pytest.approx(before["x"], abs=1) and after["x"] >= box["x"] - 1  # still in its place
    shown = total.bounding_box()
    assert box["x"] + after["width"] <= shown["x"] <= box["x"] + box["width"]  # the last column came into sight
    # The name column is drawn over the cells scrolled under it (it is on top at its own place).
    on_top = page.evaluate("""([x, y]) => document.elementFromPoint(x, y).closest('th')?.className || ''""",
                           [after["x"] + after["width"] / 2, after["y"] + after["height"] / 2])
    assert "sticky" in on_top
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # the page itself does not scroll
    _shot(page, "gradebook-1280-en-scrolled")
