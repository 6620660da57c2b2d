"""Browser test of the item analysis (headless Chromium, Playwright, the live server): an instructor
goes from the assessment to its analysis of a simulated class, finds the planted bad item and the
unfair variant flagged, switches to first attempts, downloads the CSV; the charts are images with
names; no CSP violation; the page fits 375 px in both languages.

Screenshots go to ``var/screenshots/analysis-*.png`` for a person to look at.
"""

from __future__ import annotations

import pytest

from accounts.models import Role
from accounts.tests.factories import make_course, make_member
from quizzes.services.simulation import BAD_ITEM, UNFAIR_ITEM, simulated_exam_create
from quizzes.tests.factories import load_shipped_bank
from quizzes.tests.test_browser import SCREENSHOTS, browser, logged_in_page  # noqa: F401  (browser: a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def simulated_course(browser, transactional_db):  # type: ignore[no-untyped-def]  # noqa: F811
    load_shipped_bank()
    course = make_course("dlcv")
    made = simulated_exam_create(course=course, students=100, seed=1)
    return course, made.assessment, make_member(course, Role.INSTRUCTOR, username="prof")


def _page(browser, live_server, user, lang: str, width: int):  # type: ignore[no-untyped-def]  # noqa: F811
    return logged_in_page(browser, live_server.url, user, lang=lang, width=width, height=800, accept_downloads=True)


WORDS = {
    "en": {"link": "Item analysis", "bad": "Negative discrimination", "unfair": "Unfair variants",
           "scatter": "Difficulty and discrimination of each item", "histogram": "Score histogram",
           "first": "Each student's first attempt", "show": "Show", "csv": "Download as CSV"},
    "zh-hant": {"link": "試題分析", "bad": "鑑別度為負", "unfair": "變體不公平", "scatter": "各題的難度與鑑別度",
                "histogram": "分數分布圖", "first": "每位學生的第一次作答", "show": "顯示", "csv": "下載 CSV"},
}


@pytest.mark.parametrize("lang", ["en", "zh-hant"])
def test_an_instructor_finds_the_planted_faults(browser, live_server, simulated_course, lang: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    course, assessment, instructor = simulated_course
    words = WORDS[lang]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = _page(browser, live_server, instructor, lang, 375)
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text else None)

    page.goto(f"{live_server.url}/instructor/courses/{course.slug}/assessments/{assessment.pk}/")
    page.get_by_role("link", name=words["link"], exact=True).click()
    page.wait_for_url("**/analysis/")
    expect(page.locator("h1")).to_contain_text(words["link"])
    flags = page.locator(".flag-list")
    expect(flags.locator("li", has_text=BAD_ITEM)).to_contain_text(words["bad"])
    expect(flags.locator("li", has_text=UNFAIR_ITEM)).to_contain_text(words["unfair"])
    # The charts are images with accessible names; the scatter has a point per item.
    expect(page.get_by_role("img", name=words["scatter"])).to_be_visible()
    expect(page.get_by_role("img", name=words["histogram"])).to_be_visible()
    assert page.locator("svg.chart .point").count() == assessment.items.count()
    assert page.locator("svg.chart .point.flagged").count() >= 2
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    page.screenshot(path=str(SCREENSHOTS / f"analysis-375-{lang}.png"), full_page=True)

    # An accessibility audit of the page (axe-core): no serious or critical violation.
    from axe_playwright_python.sync_playwright import Axe

    audit = Axe().run(page)
    serious = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in audit.response["violations"]
               if v["impact"] in ("serious", "critical")]
    assert serious == []

    # The unfair variant's groups, in its opened details.
    details = page.locator("details.item-details", has_text=UNFAIR_ITEM)
    expect(details).to_have_attribute("open", "")
    expect(details).to_contain_text("convolution")
    expect(details).to_contain_text("kernel-not-flipped")
    details.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"analysis-variants-375-{lang}.png"))

    # First attempts only (each simulated student has one: the same figures), then the CSV.
    page.locator("#id_population").select_option(label=words["first"])
    page.get_by_role("button", name=words["show"]).click()
    page.wait_for_url("**/analysis/?population=first")
    expect(page.locator("#id_population")).to_have_value("first")
    with page.expect_download() as download_info:
        page.get_by_role("link", name=words["csv"]).click()
    download = download_info.value
    assert download.suggested_filename == f"{assessment.slug}-item-analysis-first.csv"
    text = open(download.path(), encoding="utf-8").read()
    assert BAD_ITEM in text and len(text.strip().splitlines()) == 1 + assessment.items.count()

    # One question across assessments, from its link in the items table.
    page.locator("table.analysis-items").get_by_role("link", name=UNFAIR_ITEM).click()
    page.wait_for_url(f"**/questions/{UNFAIR_ITEM}/analysis/")
    expect(page.locator("table.analysis-items tbody tr")).to_have_count(1)
    expect(page.locator("table.analysis-items")).to_contain_text(words["unfair"])
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    page.screenshot(path=str(SCREENSHOTS / f"analysis-question-375-{lang}.png"), full_page=True)

    # Wide: the two charts side by side, for the report.
    wide = _page(browser, live_server, instructor, lang, 1280)
    wide.goto(f"{live_server.url}/instructor/courses/{course.slug}/assessments/{assessment.pk}/analysis/")
    wide.screenshot(path=str(SCREENSHOTS / f"analysis-1280-{lang}.png"), full_page=True)
    assert violations == []
