"""Browser test of a past exam's study view (headless Chromium, Playwright, the live server): reached
from the course dashboard without starting an attempt, every figure loaded from the project (none
broken, each with alt text), classmates' answers with their line breaks, at 375 px in both languages.

Screenshots go to ``var/screenshots/study-*.png`` for a person to look at.
"""

from __future__ import annotations

import pytest

from accounts.tests.factories import make_course, make_member
from quizzes.models import Attempt
from quizzes.services.bank import BankContents, bank_sync, mock_exam_ensure
from quizzes.tests.test_browser import SCREENSHOTS, browser, logged_in_page  # noqa: F401  (browser: a fixture)
from quizzes.tests.test_student_pages import _bank

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def past_exam_course(browser, transactional_db):  # type: ignore[no-untyped-def]  # noqa: F811
    contents = _bank()
    bank_sync(contents=BankContents(topics=contents.topics, mock_exams={},
                                    questions=[q for q in contents.questions if q.id.startswith("exam-")]))
    course = make_course("dlcv")
    for year in (108, 109):
        mock_exam_ensure(course=course, year=year)
    return course, make_member(course, username="alice")


def _page(browser, live_server, user, lang: str, width: int):  # type: ignore[no-untyped-def]  # noqa: F811
    return logged_in_page(browser, live_server.url, user, lang=lang, width=width, height=800)


@pytest.mark.parametrize(("lang", "study", "no_answer"), [("en", "Study", "(no answer)"), ("zh-hant", "研讀", "（未作答）")])
def test_study_view_from_the_dashboard_offline_figures_and_line_breaks(
        browser, live_server, past_exam_course, lang: str, study: str, no_answer: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    course, student = past_exam_course
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = _page(browser, live_server, student, lang, 375)
    external: list[str] = []
    page.on("request", lambda request: external.append(request.url)
            if not request.url.startswith(live_server.url) and not request.url.startswith("data:") else None)
    page.goto(f"{live_server.url}/courses/{course.slug}/")
    card = page.locator('[data-assessment="mock-109"]')
    card.get_by_role("link", name=study, exact=True).click()
    page.wait_for_url("**/a/mock-109/study")
    expect(page.locator("h1")).to_contain_text(study)
    assert page.locator("section.study-q").count() == 8

    # 109 Q8's redrawn figure: loaded from the project (a real image, not a broken one), with alt text.
    figure = page.locator("#exam-109-q8 .q-prompt img")
    figure.scroll_into_view_if_needed()
    expect(figure).to_be_visible()
    assert figure.get_attribute("src") == "/static/exams/exam-109-q8-modules.svg"
    assert len(figure.get_attribute("alt") or "") > 40
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", figure.element_handle())
    # Every image on the page loaded and has alt text; nothing was asked of another host.
    broken = page.evaluate("""() => [...document.images]
        .filter(img => !(img.complete && img.naturalWidth > 0) || !img.alt.trim()).map(img => img.src)""")
    assert broken == [] and external == []
    # The page fits the phone: nothing wider than the viewport but the formulas' own scroll boxes.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    page.screenshot(path=str(SCREENSHOTS / f"study-109-q8-375-{lang}.png"))

    # A classmate's answer keeps its lines: 啟恩's Q8 answer has its formula on a line of its own.
    kai = page.locator("#exam-109-q8 .peer").first
    assert kai.locator("br").count() >= 3
    kai.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"study-109-peer-375-{lang}.png"))
    page.screenshot(path=str(SCREENSHOTS / f"study-109-375-{lang}.png"), full_page=True)

    # 108: empty answers labelled, the unavailable figure a box that says what it showed.
    page.goto(f"{live_server.url}/courses/{course.slug}/a/mock-108/")
    page.get_by_role("link", name="Study the questions and classmates' answers" if lang == "en" else "閱讀題目與同學的答案").click()
    page.wait_for_url("**/a/mock-108/study")
    empty = page.locator("#exam-108-q1 .peer-empty")
    expect(empty).to_have_text(no_answer)
    box = page.locator("#exam-108-q5 .q-prompt blockquote")
    expect(box).to_contain_text("figure not available")
    box.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"study-108-q5-375-{lang}.png"))
    formulas = page.locator("#exam-108-q8 .peer math[display='block']")
    assert formulas.count() == 3
    formulas.first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"study-108-q8-375-{lang}.png"))
    assert not Attempt.objects.exists(), "studying must not start an attempt"
    page.context.close()

