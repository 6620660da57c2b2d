"""The study plan in headless Chromium over several simulated days (``settings.STUDY_TEST_CLOCK``):
new cards on day 0, a parameterized answer with a named misconception, the targeted variant that
exposes it two days later, and readiness rising as the answers come in. Keyboard only where a
student would use it: Enter checks an answer box, Enter on "Next review" goes on."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from accounts.tests.factories import make_course, make_member
from grader import spaced
from grader.problems import get_family
from quizzes.models import AssessmentMode
from quizzes.services.bank import BankContents, bank_sync
from quizzes.tests.factories import make_assessment
from quizzes.tests.test_browser import _fill_grid, _page, browser  # noqa: F401  (browser: a fixture)
from quizzes.tests.test_student_pages import NUMERIC, PARAM, SINGLE, _bank
from study import selectors
from study.models import Card, StudyPreferences
from study.services.simulation import right_response
from study.tests.test_study import mistake_response

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots-issue-20-study")


@pytest.fixture
def course(browser, transactional_db):  # type: ignore[no-untyped-def]  # noqa: F811
    contents = _bank()
    wanted = {NUMERIC, PARAM, SINGLE}
    bank_sync(contents=BankContents(topics=contents.topics, mock_exams={},
                                    questions=[q for q in contents.questions if q.id in wanted]))
    return make_course("dlcv")


def _answer(page: Any, item: Any, response: dict[str, Any]) -> None:
    section = page.locator(f"#item-{item.id}")
    qtype = item.question_version.question.type
    if qtype == "param":
        spec = item.question_version.spec
        family = get_family(spec["family"])
        params = family.generate(item.seed, spec.get("constraints") or None)
        typed = family.format_answer(params, response["parts"])
        section.locator('[data-name="shape"] input').fill(typed["shape"])
        _fill_grid(section, "output", response["parts"]["output"])
        section.get_by_role("button", name="Check").click()
    elif qtype == "single":
        section.locator(f'input[type=radio][value="{response["choice"]}"]').check()
        section.get_by_role("button", name="Check").click()
    else:
        box = page.locator(f"#w-{item.id}-value")
        box.fill(str(response["value"]))
        box.press("Enter")  # study.js: Enter in an answer box checks it


def _served(student: Any) -> Any:
    return Card.objects.select_related("serving__question_version__question").get(
        user=student, serving__isnull=False, serving__checks=0).serving


def test_a_week_of_reviews_in_the_browser(browser, live_server, course, settings) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    student = make_member(course, username="alice")
    day0 = timezone.now().replace(hour=2, minute=0, second=0, microsecond=0)  # 10:00 in Taipei
    make_assessment(course, [NUMERIC], mode=AssessmentMode.EXAM, slug="final", opens_at=day0 + timedelta(days=10),
                    closes_at=day0 + timedelta(days=10, hours=2))
    StudyPreferences.objects.create(user=student, course=course, new_per_day=3, reviews_per_day=50)
    settings.STUDY_TEST_CLOCK = day0
    before = selectors.readiness(user=student, course=course, now=day0)
    SHOTS.mkdir(parents=True, exist_ok=True)

    page = _page(browser, live_server, student)
    page.set_default_timeout(60_000)  # a loaded shared machine; nothing here asserts time
    page.goto(f"{live_server.url}/courses/dlcv/study/")
    panel = page.locator("[data-today-panel]")
    expect(panel.locator("[data-new]")).to_have_text("3")
    expect(panel.locator("[data-due]")).to_have_text("0")
    expect(panel).to_contain_text("in 10 days")
    page.screenshot(path=str(SHOTS / "walk-plan-day0-1280-en.png"), full_page=True)
    with page.expect_navigation():
        panel.get_by_role("link", name="Start today's review").click()

    # Day 0: three new skills; the parameterized one answered with a misconception.
    tag = ""
    for _ in range(3):
        expect(page.locator("section.q")).to_have_count(1)
        item = _served(student)
        if item.question_version.question.type == "param":
            tag, response = mistake_response(item)
        else:
            response = right_response(item)
        _answer(page, item, response)
        feedback = page.locator("[data-feedback]")
        expect(feedback.locator("[data-outcome]")).to_be_visible()
        if item.question_version.question.type == "param":
            expect(feedback.locator(".misconceptions")).to_be_visible()
            expect(feedback).to_contain_text("variants built to expose it")
            expect(feedback).to_contain_text("Again tomorrow")
            page.screenshot(path=str(SHOTS / "walk-review-mistake-1280-en.png"), full_page=True)
        else:
            expect(feedback.locator(".next-due")).to_contain_text(re.compile(r"Again in \d+ days"))
        expect(page.locator("[data-next-review]")).to_be_focused()
        with page.expect_navigation():
            page.keyboard.press("Enter")
    expect(page.locator("[data-review-done]")).to_be_visible()
    assert tag, "the bank slice has the parameterized question"
    mistake_skill = spaced.family_skill("conv-by-hand", tag)
    assert Card.objects.filter(user=student, skill=mistake_skill).exists()

    # Day 2: the plan has reviews due; the targeted link serves a variant that exposes the mistake.
    settings.STUDY_TEST_CLOCK = day0 + timedelta(days=2)
    page.goto(f"{live_server.url}/courses/dlcv/study/")
    expect(page.locator("[data-today-panel] [data-due]")).not_to_have_text("0")
    page.goto(f"{live_server.url}/courses/dlcv/study/review?skill={mistake_skill}")
    expect(page.locator("section.q")).to_have_count(1)
    item = _served(student)
    family = get_family("conv-by-hand")
    params = family.generate(item.seed, item.question_version.spec.get("constraints") or None)
    assert tag in family.alternatives(params) and tag not in family.undiscriminated(params)
    _answer(page, item, right_response(item))
    expect(page.locator("[data-feedback] .fb-correct")).to_be_visible()
    expect(page.locator("[data-feedback] .next-due")).to_contain_text("Again")
    page.screenshot(path=str(SHOTS / "walk-review-targeted-1280-en.png"), full_page=True)

    # Everything else due today, then readiness: higher than on day 0.
    page.goto(f"{live_server.url}/courses/dlcv/study/review")
    while page.locator("[data-review-done]").count() == 0:
        item = _served(student)
        _answer(page, item, right_response(item))
        expect(page.locator("[data-next-review]")).to_be_focused()
        with page.expect_navigation():
            page.keyboard.press("Enter")
    after = selectors.readiness(user=student, course=course, now=day0 + timedelta(days=2))
    assert after.overall_plan > before.overall_plan
    page.goto(f"{live_server.url}/courses/dlcv/study/readiness")
    expect(page.locator(".readiness-chart")).to_be_visible()
    expect(page.locator(".readiness-table tbody tr")).not_to_have_count(0)
    page.screenshot(path=str(SHOTS / "walk-readiness-day2-1280-en.png"), full_page=True)
    page.context.close()
