"""A hint opened in headless Chromium reaches the card: the review session's item with its hint open
(quiz.js sets the hidden field on the details' toggle, the check posts it), the stored flag and the
card's Hard rating; and the class view's exam-date verdict. Screenshots in English and Chinese at
375 and 1280 px for a look by eye."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import make_course, make_member
from grader import spaced
from quizzes.models import AssessmentMode, Question
from quizzes.services.bank import BankContents, bank_sync
from quizzes.tests.factories import make_assessment
from quizzes.tests.test_browser import _page, browser, logged_in_page  # noqa: F401  (browser: a fixture)
from quizzes.tests.test_student_pages import NUMERIC, SINGLE, _bank
from study.models import Card, ReviewLog
from study.services.simulation import right_response

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots-issue-20-hints")
HINTED = "ssl-simclr-03"  # a numeric question of the bank with a hint in both languages


@pytest.fixture
def course(browser, transactional_db):  # type: ignore[no-untyped-def]  # noqa: F811
    contents = _bank()
    wanted = {HINTED, NUMERIC, SINGLE}
    bank_sync(contents=BankContents(topics=contents.topics, mock_exams={},
                                    questions=[q for q in contents.questions if q.id in wanted]))
    return make_course("dlcv")


def _shots(browser: Any, live_server: Any, user: Any, url: str, name: str, before: Any = None) -> None:  # noqa: F811
    """``url`` in both languages at both widths (``before``: what to do on the page first)."""
    for lang, code in (("en", "en"), ("zh", "zh-hant")):
        for width in (375, 1280):
            page = logged_in_page(browser, live_server.url, user, lang=code, width=width)
            page.set_default_timeout(60_000)
            page.goto(url)
            if before:
                before(page)
            page.screenshot(path=str(SHOTS / f"{name}-{width}-{lang}.png"), full_page=True)
            page.context.close()


def test_a_hint_opened_in_the_review_makes_the_card_hard(browser, live_server, course, settings) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    student = make_member(course, username="alice")
    now = timezone.now()
    exam = make_assessment(course, [NUMERIC], mode=AssessmentMode.EXAM, slug="final", opens_at=now + timedelta(days=6),
                           closes_at=now + timedelta(days=6, hours=2))
    exam.title = "Final exam"
    exam.save(update_fields=["title"])
    settings.STUDY_TEST_CLOCK = now
    SHOTS.mkdir(parents=True, exist_ok=True)
    topic = Question.objects.get(bank_id=HINTED).topic.slug
    review_url = f"{live_server.url}/courses/dlcv/study/review?topic={topic}"

    page = _page(browser, live_server, student)
    page.set_default_timeout(60_000)  # a loaded shared machine; nothing here asserts time
    page.goto(review_url)
    item = Card.objects.select_related("serving__question_version__question").get(user=student, serving__isnull=False).serving
    assert item.question_version.question.bank_id == HINTED
    section = page.locator(f"#item-{item.id}")
    field = section.locator("[data-hint-used]")
    expect(field).to_have_value("0")
    section.locator("details.hint summary").click()
    expect(section.locator("details.hint")).to_have_attribute("open", "")
    expect(field).to_have_value("1")  # quiz.js, on the toggle
    _shots(browser, live_server, student, review_url, "review-hint-open",
           before=lambda p: p.locator("details.hint summary").click())

    box = page.locator(f"#w-{item.id}-value")
    box.fill(str(right_response(item)["value"]))
    box.press("Enter")  # study.js: Enter checks
    expect(page.locator("[data-feedback] [data-outcome]")).to_be_visible()
    page.screenshot(path=str(SHOTS / "review-hint-checked-1280-en.png"), full_page=True)
    item.refresh_from_db()
    assert item.hint_used and item.score == 1
    log = ReviewLog.objects.get(source=f"item:{item.pk}")
    assert log.rating == spaced.Rating.HARD  # right, with the hint: Hard, not Good
    assert log.card.reps == 1

    # The class view: alice has studied one card, the classmate none.
    make_member(course, username="bob")
    instructor = make_member(course, Role.INSTRUCTOR, username="prof")
    class_url = f"{live_server.url}/instructor/courses/dlcv/class/"
    staff = _page(browser, live_server, instructor)
    staff.goto(class_url)
    expect(staff.locator(".readiness-counts [data-count=not_started]")).to_contain_text("1 not started")
    expect(staff.locator(".exam-horizon")).to_contain_text("Final exam")
    _shots(browser, live_server, instructor, class_url, "class-view",
           before=lambda p: p.locator("details.class-students summary").click())
