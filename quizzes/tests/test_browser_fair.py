"""Browser tests of issue 19's fair scores: the practice retry flow (a wrong check keeps the answer
back, the student tries again or asks for the solution) and a closed exam's landing page, in both
languages at 375 px, with screenshots in var/screenshots/."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from quizzes.models import AssessmentMode, Attempt
from quizzes.tests import test_browser as base
from quizzes.tests.factories import make_assessment
from quizzes.tests.test_browser import SCREENSHOTS, _item, _paste
from quizzes.tests.test_student_pages import MATRIX, NUMERIC, SINGLE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The fixtures of the quiz browser tests (Chromium, a course with the bank's questions, a student).
browser, course, student = base.browser, base.course, base.student



def _page(browser, live_server, user, lang: str):  # type: ignore[no-untyped-def]
    page = base.logged_in_page(browser, live_server.url, user, lang=lang, width=375, height=812)
    page.on("dialog", lambda dialog: dialog.accept())
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return page, problems


@pytest.mark.parametrize("lang", ["en", "zh-hant"])
def test_practice_retry_flow(browser, live_server, student, lang: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    course = student.enrollments.first().course
    practice = make_assessment(course, [MATRIX, NUMERIC], mode=AssessmentMode.PRACTICE, minutes=None,
                               slug=f"practice-{lang}")
    page, problems = _page(browser, live_server, student, lang)
    page.goto(f"{live_server.url}/courses/dlcv/a/{practice.slug}/")
    page.locator("form[action$='/start'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/attempts/\d+/$"))
    attempt = Attempt.objects.get(assessment=practice, user=student)
    item = _item(attempt, MATRIX)
    right = item.question_version.spec["answer"]
    wrong = [list(row) for row in right]
    wrong[1][1] = right[1][1] + 7
    matrix = page.locator(f"#item-{item.id}")
    first_cell = f'#item-{item.id} input.cell[data-r="1"][data-c="1"]'
    _paste(page, first_cell, "\r\n".join("\t".join(str(v) for v in row) for row in wrong) + "\r\n")

    # 1. A wrong check: it says so and marks the cell, the answer stays on the server.
    with page.expect_response(re.compile(r"/check$")) as checked:
        matrix.locator("[data-action=check]").click()
    body: dict[str, Any] = checked.value.json()
    assert body["solution_shown"] is False and body["score"] < 1
    assert "expected" not in json.dumps(body["parts"]) and "grid-static" not in body["html"]
    feedback = matrix.locator("[data-feedback]")
    expect(feedback.locator("[data-retry]")).to_be_visible()
    expect(feedback.locator(".explanation")).to_have_count(0)
    expect(feedback.locator(".correct")).to_have_count(0)
    expect(matrix.locator("input.cell.cell-bad")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    matrix.scroll_into_view_if_needed()
    matrix.screenshot(path=str(SCREENSHOTS / f"practice-retry-wrong-375-{lang}.png"))

    # 2. Asking for the solution shows it (and it stays after a reload).
    feedback.locator("[data-action=reveal]").click()
    expect(feedback.locator(".correct")).to_be_visible()
    expect(feedback.locator(".explanation")).to_be_visible()
    matrix.screenshot(path=str(SCREENSHOTS / f"practice-retry-revealed-375-{lang}.png"))
    page.reload()
    expect(page.locator(f"#item-{item.id} [data-feedback] .correct")).to_be_visible()

    # 3. Trying again on the other question: fix the answer after a wrong check, and it is right.
    numeric = page.locator(f"#item-{_item(attempt, NUMERIC).id}")
    numeric.locator("input").first.fill("0.5")
    numeric.locator("[data-action=check]").click()
    expect(numeric.locator("[data-feedback] [data-retry]")).to_be_visible()
    numeric.locator("input").first.fill("-0.5")
    numeric.locator("[data-action=check]").click()
    expect(numeric.locator("[data-feedback] .fb-correct, [data-feedback].fb-correct, .fb-correct")).to_have_count(1)
    expect(numeric.locator("[data-feedback] [data-retry]")).to_have_count(0)
    expect(numeric.locator("[data-feedback] .explanation")).to_be_visible()
    numeric.screenshot(path=str(SCREENSHOTS / f"practice-retry-right-375-{lang}.png"))
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems


@pytest.mark.parametrize("lang", ["en", "zh-hant"])
def test_closed_exam_page(browser, live_server, student, lang: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    course = student.enrollments.first().course
    now = timezone.now()
    closed = make_assessment(course, [SINGLE], mode=AssessmentMode.EXAM, slug=f"closed-{lang}",
                             opens_at=now - timedelta(days=2), closes_at=now - timedelta(hours=3))
    later = make_assessment(course, [SINGLE], mode=AssessmentMode.EXAM, slug=f"later-{lang}",
                            opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=1, hours=2))
    page, problems = _page(browser, live_server, student, lang)
    for exam, state in ((closed, "closed"), (later, "not-open-yet")):
        page.goto(f"{live_server.url}/courses/dlcv/a/{exam.slug}/")
        expect(page.locator(f'[data-window="{state}"]')).to_be_visible()
        expect(page.locator("form[action$='/start']")).to_have_count(0)
        expect(page.locator("main button")).to_have_count(0)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
        page.screenshot(path=str(SCREENSHOTS / f"exam-{state}-375-{lang}.png"), full_page=True)
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
