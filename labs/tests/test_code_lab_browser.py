"""The coding lab page in headless Chromium (Playwright), graded by a real Celery worker.

Chromium is Debian's ``/usr/bin/chromium`` (the quiz browser tests' fixture and helpers are reused);
when it, Playwright or the worker is missing the test fails under REQUIRE_SERVICES=1 and skips
loudly otherwise. The student types in the editor (Tab indents), meets a syntax error next to the
editor, leaves and comes back to a restored draft, loads a .py file with the file picker, double
clicks submit, and watches the per-test table appear while the page polls.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from accounts.tests.factories import make_course, make_member
from grader.codelabs import get_codelab
from labs.models import Submission, SubmissionStatus
from labs.services import lab_upsert
from quizzes.tests.test_browser import _page, browser  # noqa: F401  (browser: a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]

CODELAB = "iou-nms"
SCREENSHOTS = Path(settings.VAR_DIR) / "screenshots"


def test_a_student_writes_loads_submits_and_watches_the_tests_graded(
        browser: Any, live_server: Any, celery_worker_process: Any, tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect

    course = make_course("dlcv")
    student = make_member(course, username="alice")
    lab, _ = lab_upsert(course=course, spec={"slug": "iou", "title": "IoU and NMS", "kind": "code", "codelab": CODELAB})
    spec = get_codelab(CODELAB)

    page = _page(browser, live_server, student, width=375)  # a phone's width
    page.goto(f"{live_server.url}/labs/iou/")
    expect(page.locator("[data-statement] math").first).to_be_attached()
    editor = page.locator("#code-editor")
    expect(editor).to_have_value(spec.starter())

    # Typing: Tab indents by 4 spaces; a syntax error is shown next to the editor and stores nothing.
    editor.fill("")
    editor.press_sequentially("def box_iou(a, b:")
    editor.press("Enter")
    editor.press("Tab")
    editor.press_sequentially("return a")
    expect(editor).to_have_value("def box_iou(a, b:\n    return a")
    page.get_by_role("button", name="Submit for grading").click()
    errors = page.locator("[data-editor-errors]")
    expect(errors).to_contain_text("Your code was not accepted (this costs no attempt)")
    expect(errors).to_contain_text("Syntax error on line 1")
    expect(editor).to_have_attribute("aria-invalid", "true")
    assert not Submission.objects.exists()

    # Leaving the page loses nothing: the draft comes back from this browser's storage.
    page.reload()
    expect(editor).to_have_value("def box_iou(a, b:\n    return a")
    expect(page.locator("[data-draft-note]")).to_be_visible()

    # The file picker loads a .py file into the editor.
    mine = tmp_path / "my_iou.py"
    mine.write_text(spec.solution(), encoding="utf-8")
    page.locator("[data-file-input]").set_input_files(str(mine))
    expect(editor).to_have_value(spec.solution())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "code-lab-375.png"), full_page=True)

    page.get_by_role("button", name="Submit for grading").dblclick()  # a double click submits once
    panel = page.locator("[data-results-panel]")
    expect(panel.locator("[data-status-region]")).to_contain_text("Graded", timeout=90_000)
    submission = Submission.objects.get()
    tests_count = len(submission.result["tests"])
    expect(panel.locator("tr.test-row")).to_have_count(tests_count)
    expect(panel.locator('tr.test-row[data-test-status="passed"]')).to_have_count(tests_count)
    expect(panel.locator("[data-code-passed]")).to_contain_text(f"{tests_count} of {tests_count} tests passed")
    assert submission.status == SubmissionStatus.GRADED and submission.source_code == spec.solution()
    row = page.locator(f'[data-history-row="{submission.pk}"]')
    expect(row.locator("[data-history-status]")).to_have_text("Graded")
    expect(row.locator("[data-history-points]")).to_have_text(re.compile(r"^10 / 10$"))
    assert page.evaluate("(key) => window.localStorage.getItem(key)", f"dlcv:code-draft:{student.pk}:iou") is None
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1  # nothing forces sideways scrolling
    page.screenshot(path=str(SCREENSHOTS / "code-lab-graded-375.png"), full_page=True)

    # Back later: the editor holds the submitted code, the panel its result.
    page.reload()
    expect(editor).to_have_value(spec.solution())
    expect(page.locator("[data-draft-note]")).to_be_hidden()
    expect(panel.locator('tr.test-row[data-test-status="passed"]')).to_have_count(tests_count)
    page.locator(f'[data-history-row="{submission.pk}"] a').click()
    expect(page).to_have_url(re.compile(rf"/submissions/{submission.pk}/$"))
    expect(page.locator("[data-source-code]")).to_contain_text("def nms(")
    assert Submission.objects.count() == 1
    page.context.close()
