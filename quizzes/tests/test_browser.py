"""Browser tests: the real quiz pages in headless Chromium (Playwright), against pytest-django's live server.

Chromium is Debian's ``/usr/bin/chromium`` (never ``playwright install``). When it or the Playwright
package is missing these tests fail under REQUIRE_SERVICES=1 and skip loudly otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

import conftest
from accounts.tests.factories import make_course, make_member
from grader.problems import get_family
from quizzes.models import Assessment, AssessmentMode, Attempt, AttemptItem, AttemptStatus
from quizzes.services.attempts import attempt_start, attempts_submit_overdue
from quizzes.services.bank import BankContents, bank_sync
from quizzes.tests.factories import make_assessment
from quizzes.tests.test_student_pages import (
    ESSAY,
    MATRIX,
    MULTIPLE,
    NUMERIC,
    ONE_OF_EACH,
    PARAM,
    SINGLE,
    SYMBOLIC,
    TEXT,
    TRUEFALSE,
    _bank,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Playwright's sync API keeps an event loop running in this thread for as long as the browser
    # lives; the ORM calls the tests (and the database teardown) make meanwhile are plain
    # synchronous calls, so tell Django they are safe.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield from _chromium()


def _chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        conftest.service_missing(f"Chromium: {CHROMIUM} not found")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:
        conftest.service_missing(f"Chromium: the playwright package is not importable ({exc})")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        except Error as exc:
            conftest.service_missing(f"Chromium: cannot launch {CHROMIUM}: {exc}")
        yield chromium
        chromium.close()


@pytest.fixture
def course(browser, transactional_db):  # type: ignore[no-untyped-def]
    contents = _bank()
    wanted = set(ONE_OF_EACH)
    bank_sync(contents=BankContents(topics=contents.topics, mock_exams={},
                                    questions=[q for q in contents.questions if q.id in wanted]))
    return make_course("dlcv")


@pytest.fixture
def student(course):  # type: ignore[no-untyped-def]
    return make_member(course, username="alice")


#: The browser's own locale for each site language (the language cookie decides the pages' language).
LOCALES = {"en": "en-US", "zh-hant": "zh-TW"}


def session_cookie(user: Any) -> str:
    """The session cookie's value of a test-client login as ``user``."""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def logged_in_page(browser: Any, base_url: str, user: Any, *, lang: str = "en", width: int = 1280,
                   height: int = 900, locale: str | None = None, **context_options: Any) -> Any:
    """A page of a fresh browser context on ``base_url`` in ``lang``, logged in as ``user`` (None:
    anonymous): the session cookie of a test-client login and the language cookie, copied onto the
    context. Every browser test that needs a logged-in page starts here."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale=locale or LOCALES[lang],
                                  **context_options)
    cookies = [{"name": settings.LANGUAGE_COOKIE_NAME, "value": lang, "url": base_url}]
    if user is not None:
        cookies.append({"name": settings.SESSION_COOKIE_NAME, "value": session_cookie(user), "url": base_url})
    context.add_cookies(cookies)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


def _page(browser, live_server, user, *, width: int = 1280):  # type: ignore[no-untyped-def]
    """A logged-in page in English whose confirm() prompts are accepted (the quiz's submit)."""
    page = logged_in_page(browser, live_server.url, user, width=width)
    page.on("dialog", lambda dialog: dialog.accept())  # the submit confirm() and any beforeunload prompt
    return page


def _item(attempt: Attempt, bank_id: str) -> AttemptItem:
    return attempt.items.select_related("question_version").get(question_version__question__bank_id=bank_id)


def _variant(item: AttemptItem) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    spec = item.question_version.spec
    family = get_family(spec["family"])
    params = family.generate(item.seed, spec.get("constraints") or None)
    return family, params, family.solve(params)


def _fill_grid(section, name: str, rows: list[list[Any]]) -> None:  # type: ignore[no-untyped-def]
    widget = section.locator(f'[data-widget="matrix"][data-name="{name}"]')
    if widget.locator('[data-grid="rows"]').count():
        widget.locator('[data-grid="rows"]').fill(str(len(rows)))
        widget.locator('[data-grid="rows"]').press("Tab")
        widget.locator('[data-grid="cols"]').fill(str(len(rows[0])))
        widget.locator('[data-grid="cols"]').press("Tab")
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row, start=1):
            widget.locator(f'input.cell[data-r="{i}"][data-c="{j}"]').fill(str(value))


def _paste(page, selector: str, text: str) -> None:  # type: ignore[no-untyped-def]
    """What a spreadsheet puts on the clipboard, pasted into one cell."""
    page.eval_on_selector(selector, """(cell, text) => {
        const data = new DataTransfer();
        data.setData("text/plain", text);
        cell.focus();
        cell.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
    }""", text)


def _wait_all_saved(page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    expect(page.locator("[data-save-state].is-saving, [data-save-state].is-error")).to_have_count(0)


# --------------------------------------------------------------------------- practice


def test_practice_with_a_matrix_and_a_conv_by_hand_question_names_the_misconception(
        browser, live_server, student) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    practice = make_assessment(student.enrollments.first().course, [MATRIX, PARAM], mode=AssessmentMode.PRACTICE,
                               minutes=None, slug="practice")
    page = _page(browser, live_server, student)
    page.goto(f"{live_server.url}/courses/dlcv/a/{practice.slug}/")
    page.get_by_role("button", name="Start").click()
    expect(page).to_have_url(re.compile(r"/attempts/\d+/$"))
    attempt = Attempt.objects.get(assessment=practice, user=student)

    # Matrix: paste a spreadsheet block with one wrong cell, check, see 3 of 4 right and the bad cell.
    matrix = page.locator(f"#item-{_item(attempt, MATRIX).id}")
    first_cell = f'#item-{_item(attempt, MATRIX).id} input.cell[data-r="1"][data-c="1"]'
    _paste(page, first_cell, "6\t2\r\n3\t4\r\n")
    expect(matrix.locator('input.cell[data-r="2"][data-c="2"]')).to_have_value("4")
    # ↓ and Enter move down a column (Enter submits nothing); ↑ moves back up.
    page.locator(first_cell).press("ArrowDown")
    expect(matrix.locator('input.cell[data-r="2"][data-c="1"]')).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(page.locator(first_cell)).to_be_focused()
    page.keyboard.press("Enter")
    expect(matrix.locator('input.cell[data-r="2"][data-c="1"]')).to_be_focused()
    matrix.get_by_role("button", name="Check").click()
    expect(matrix.locator("[data-feedback]")).to_contain_text("Score: 0.75 / 1")
    expect(matrix.locator("input.cell.cell-bad")).to_have_count(1)
    # A fixed question keeps its solution back after a wrong check (test_browser_fair), until asked.
    expect(matrix.locator("[data-feedback] .explanation")).to_have_count(0)
    matrix.get_by_role("button", name="Show the solution").click()
    expect(matrix.locator("[data-feedback] .explanation")).to_be_visible()

    # Conv-by-hand: a format error first (costs nothing), then the answer one misconception gives.
    item = _item(attempt, PARAM)
    family, params, expected = _variant(item)
    tag, alternative = next(iter(family.alternatives(params).items()))
    wrong = {**expected, **alternative}
    typed = family.format_answer(params, wrong)
    conv = page.locator(f"#item-{item.id}")
    expect(conv.locator(".q-statement")).to_contain_text("kernel")
    conv.locator('[data-name="shape"] input').fill("two by two")
    _fill_grid(conv, "output", wrong["output"])
    conv.get_by_role("button", name="Check").click()
    expect(conv.locator('[data-error-for="shape"]')).to_contain_text("Format error (this costs no attempt)")
    item.refresh_from_db()
    assert item.checks == 0

    conv.locator('[data-name="shape"] input').fill(typed["shape"])
    conv.get_by_role("button", name="Check").click()
    feedback = conv.locator("[data-feedback]")
    misconception = next(m for m in family.misconceptions if m.tag == tag)
    expect(feedback.locator(".misconceptions")).to_contain_text(misconception.name("en"))  # named, not tagged
    expect(feedback.locator(".misconceptions")).not_to_contain_text(tag)
    message = misconception.message("en")
    expect(feedback).to_contain_text(message[:40])
    expect(feedback.locator(".worked")).to_contain_text("Worked solution for your variant")
    expect(conv.locator('[data-error-for="shape"]')).to_be_hidden()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    conv.screenshot(path=str(SCREENSHOTS / "practice-conv-feedback-1280.png"))
    item.refresh_from_db()
    assert item.checks == 1 and item.feedback["misconceptions"] == [tag]

    # Another variant: a new question is appended and scrolled to.
    conv.get_by_role("button", name="Another variant").click()
    expect(page.locator("section.q")).to_have_count(3)
    newest = page.locator("section.q").last
    expect(newest).to_be_in_viewport()
    expect(newest.get_by_role("button", name="Check")).to_be_visible()
    assert attempt.items.count() == 3
    page.context.close()


# --------------------------------------------------------------------------- exam


def _answer_everything(page, attempt: Attempt) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Fill one answer per widget type; return what each widget should show after a reload."""
    single, multiple = _item(attempt, SINGLE), _item(attempt, MULTIPLE)
    page.locator(f"#w-{single.id}-value-1").check()
    page.locator(f"#w-{multiple.id}-value-0").check()
    page.locator(f"#w-{multiple.id}-value-2").check()
    page.locator(f"#item-{_item(attempt, TRUEFALSE).id}").get_by_label("True").check()
    page.locator(f"#w-{_item(attempt, NUMERIC).id}-value").fill("-0.5")
    _fill_grid(page.locator(f"#item-{_item(attempt, MATRIX).id}"), "value", [[6, 2], [3, 7]])
    page.locator(f"#w-{_item(attempt, SYMBOLIC).id}-value").fill("s*(1-s)")
    page.locator(f"#w-{_item(attempt, TEXT).id}-value").fill("chain rule")
    param = _item(attempt, PARAM)
    family, params, expected = _variant(param)
    typed = family.format_answer(params, expected)
    page.locator(f"#w-{param.id}-shape").fill(typed["shape"])
    _fill_grid(page.locator(f"#item-{param.id}"), "output", expected["output"])
    return {"single": single, "multiple": multiple, "param": param, "shape": typed["shape"],
            "output": expected["output"]}


def test_exam_autosaves_survives_a_reload_and_is_auto_submitted_at_the_deadline(
        browser, live_server, student) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    exam = make_assessment(student.enrollments.first().course, ONE_OF_EACH, mode=AssessmentMode.EXAM,
                           minutes=1, slug="final")
    page = _page(browser, live_server, student)
    page.goto(f"{live_server.url}/courses/dlcv/")
    page.get_by_role("link", name="final").first.click()
    expect(page.locator("main")).to_contain_text("One attempt only")
    page.get_by_role("button", name="Start").click()
    expect(page).to_have_url(re.compile(r"/attempts/\d+/$"))
    attempt = Attempt.objects.get(assessment=exam, user=student)
    expect(page.locator("[data-timer]")).to_have_text(re.compile(r"^0[01]:\d\d$"))

    answers = _answer_everything(page, attempt)
    _wait_all_saved(page)
    expect(page.locator(f"#item-{answers['single'].id} [data-save-state]")).to_contain_text(
        re.compile(r"Saved \d\d:\d\d:\d\d"))

    # The network drops while the essay is written: the answer stays on this device, and after a
    # reload it is restored from localStorage and saved once the server answers again.
    essay = _item(attempt, ESSAY)
    page.route("**/save", lambda route: route.abort())
    page.locator(f"#w-{essay.id}-text").fill("Features are learned, hierarchical responses.")
    expect(page.locator(f"#item-{essay.id} [data-save-state]")).to_contain_text("Not saved")
    page.reload()
    expect(page.locator(f"#w-{essay.id}-text")).to_have_value("Features are learned, hierarchical responses.")
    page.unroute("**/save")
    expect(page.locator(f"#item-{essay.id} [data-save-state]")).to_contain_text("Saved", timeout=20_000)
    _wait_all_saved(page)

    # A reload finds every answer as the server saved it.
    page.evaluate("localStorage.clear()")
    page.reload()
    single, multiple, param = answers["single"], answers["multiple"], answers["param"]
    expect(page.locator(f"#w-{single.id}-value-1")).to_be_checked()
    expect(page.locator(f"#w-{multiple.id}-value-0")).to_be_checked()
    expect(page.locator(f"#w-{multiple.id}-value-1")).not_to_be_checked()
    expect(page.locator(f"#w-{multiple.id}-value-2")).to_be_checked()
    expect(page.locator(f"#item-{_item(attempt, TRUEFALSE).id}").get_by_label("True")).to_be_checked()
    expect(page.locator(f"#w-{_item(attempt, NUMERIC).id}-value")).to_have_value("-0.5")
    expect(page.locator(f'#item-{_item(attempt, MATRIX).id} input.cell[data-r="2"][data-c="2"]')).to_have_value("7")
    expect(page.locator(f"#w-{_item(attempt, SYMBOLIC).id}-value")).to_have_value("s*(1-s)")
    expect(page.locator(f"#w-{_item(attempt, TEXT).id}-value")).to_have_value("chain rule")
    expect(page.locator(f"#w-{essay.id}-text")).to_have_value("Features are learned, hierarchical responses.")
    expect(page.locator(f"#w-{param.id}-shape")).to_have_value(answers["shape"])
    rows, cols = len(answers["output"]), len(answers["output"][0])
    expect(page.locator(f'#item-{param.id} input.cell[data-r="{rows}"][data-c="{cols}"]')).to_have_value(
        str(answers["output"][-1][-1]))
    saved = {i.id: i.response for i in attempt.items.all()}
    assert saved[single.id] == {"choice": int(page.locator(f"#w-{single.id}-value-1").get_attribute("value"))}
    assert all(saved.values()), saved

    # Screenshots of the exam page, narrow and wide.
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "exam-1280.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 812})
    page.screenshot(path=str(SCREENSHOTS / "exam-375.png"), full_page=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / "exam-375-top.png"))
    page.locator(f"#item-{param.id} .q-answer").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "exam-375-param.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1  # no sideways scrolling
    page.set_viewport_size({"width": 1280, "height": 900})

    # Time runs out: the deadline moves to a few seconds from now; the page counts down, says so,
    # and the server submits what was saved.
    Attempt.objects.filter(pk=attempt.pk).update(deadline=timezone.now() + timedelta(seconds=4))
    page.reload()
    expect(page.locator("[data-banner]")).to_contain_text("Time is up", timeout=20_000)
    expect(page).to_have_url(re.compile(rf"/attempts/{attempt.id}/results$"), timeout=20_000)
    expect(page.locator("[data-status]")).to_contain_text("Submitted at the deadline")
    expect(page.locator("main")).to_contain_text("Results are released by the instructor.")
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.AUTO_SUBMITTED
    assert attempts_submit_overdue() == 0  # nothing left for the periodic task
    page.context.close()


def test_exam_auto_submitted_by_the_periodic_task_sends_the_page_to_results(
        browser, live_server, student) -> None:  # type: ignore[no-untyped-def]
    """The server submits at the deadline even if the page never asks; the page follows on its next poll."""
    from playwright.sync_api import expect

    exam = make_assessment(student.enrollments.first().course, [NUMERIC], mode=AssessmentMode.EXAM, minutes=1,
                           slug="quiz")
    attempt = attempt_start(user=student, assessment=exam)
    page = _page(browser, live_server, student)
    page.goto(f"{live_server.url}/attempts/{attempt.id}/")
    page.locator(f"#w-{attempt.items.get().id}-value").fill("-0.5")
    _wait_all_saved(page)
    Attempt.objects.filter(pk=attempt.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    assert attempts_submit_overdue() == 1
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # as when the tab comes back
    expect(page).to_have_url(re.compile(rf"/attempts/{attempt.id}/results$"))
    expect(page.locator("[data-status]")).to_contain_text("Submitted at the deadline")
    assert Assessment.objects.get(pk=exam.pk).attempts.get().status == AttemptStatus.AUTO_SUBMITTED
    page.context.close()
