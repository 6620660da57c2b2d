"""The lab pages in headless Chromium (Playwright) against pytest-django's live server.

Chromium is Debian's ``/usr/bin/chromium`` (the quiz browser tests' fixture and helpers are reused);
when it or Playwright is missing the test fails under REQUIRE_SERVICES=1 and skips loudly otherwise.

Grading: no Celery worker here. ``labs.services._enqueue`` is replaced by a recorder (the live
server runs in a thread of this process, so the patched module attribute reaches it), and the test
itself calls ``submission_grade`` once the page shows the submission queued: so the page is seen
moving from "queued" to "graded" by its own polling, which eager Celery (grading inside the
request) would skip.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from accounts.tests.factories import make_course, make_member
from grader.problems import get_family
from labs.models import Submission, SubmissionStatus
from labs.services import lab_part_params, lab_variant_seed, queue, submission_grade
from labs.tests.factories import make_lab, part_answer
from labs.tests.test_pages import GRID_PARTS
from quizzes.tests.test_browser import _fill_grid, _page, browser  # noqa: F401  (browser: a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.VAR_DIR) / "screenshots"


def test_a_student_submits_one_wrong_cell_and_watches_it_graded_live(
        browser: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from playwright.sync_api import expect

    enqueued: list[int] = []
    monkeypatch.setattr(queue, "enqueue_gradings", lambda ids, *args, **kwargs: enqueued.extend(ids))
    course = make_course("dlcv")
    student = make_member(course, username="alice")
    lab = make_lab(course, "lab1", parts=GRID_PARTS)
    conv, cost = lab.parts.get(key="conv"), lab.parts.get(key="cost")
    family = get_family(conv.family)
    params = lab_part_params(part=conv, seed=lab_variant_seed(lab_id=lab.pk, user_id=student.pk))
    expected = family.solve(params)
    output = [list(row) for row in expected["output"]]
    output[0][0] += 7  # the one wrong cell

    page = _page(browser, live_server, student, width=375)  # a phone's width
    page.goto(f"{live_server.url}/courses/dlcv/labs/")
    page.get_by_role("link", name="Test lab").first.click()
    expect(page).to_have_url(re.compile(r"/labs/lab1/$"))
    expect(page.locator('[data-part="conv"] .q-statement math').first).to_be_attached()

    conv_section = page.locator('[data-part="conv"]')
    conv_section.get_by_label("Output size").fill("two by two")
    _fill_grid(conv_section, "output", output)
    # Keyboard: Enter in a grid cell moves down a row instead of submitting the form.
    conv_section.locator('input.cell[data-r="1"][data-c="1"]').press("Enter")
    expect(conv_section.locator('input.cell[data-r="2"][data-c="1"]')).to_be_focused()
    for name, typed in part_answer(cost, student).items():
        page.locator(f"#w-cost-{name}").fill(typed)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "lab-form-375.png"), full_page=True)

    # A format error: shown next to its box, nothing stored, the page stays.
    page.get_by_role("button", name="Submit for grading").click()
    expect(conv_section.locator('[data-error-for="shape"]')).to_contain_text("Format error (this costs no attempt)")
    expect(conv_section.get_by_label("Output size")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("[data-form-banner]")).to_contain_text("did not use an attempt")
    assert not Submission.objects.exists()
    conv_section.get_by_label("Output size").fill(family.format_answer(params, expected)["shape"])

    page.get_by_role("button", name="Submit for grading").dblclick()  # a double click submits once
    expect(page).to_have_url(re.compile(r"/submissions/\d+/$"))
    status = page.locator("[data-status-region]")
    expect(status).to_contain_text("Queued")
    submission = Submission.objects.get()
    assert submission.status == SubmissionStatus.QUEUED and enqueued == [submission.pk]

    submission_grade(submission_id=submission.pk)  # the worker's job, done while the page polls
    expect(status).to_contain_text("Graded", timeout=15_000)
    result = page.locator('[data-result-part="conv"]')
    expect(result.locator("input.cell.cell-bad")).to_have_count(1)
    expect(result.locator('input.cell.cell-bad[data-r="1"][data-c="1"]')).to_have_value(str(output[0][0]))
    expect(result.locator("input.cell.cell-ok")).to_have_count(len(output) * len(output[0]) - 1)
    expect(result.locator("[data-wrong-cells]")).to_contain_text("(1, 1)")
    expect(page.locator("[data-correct]")).to_have_count(0)  # no due date: never the correct values
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1  # nothing forces sideways scrolling
    page.screenshot(path=str(SCREENSHOTS / "lab-graded-375.png"), full_page=True)
    assert Submission.objects.count() == 1
    page.context.close()


COST_ONLY = (("cost", "conv-cost", {"kind": "grouped"}, 2),)


def test_a_lab_with_no_attempts_left_or_past_its_late_window_disables_its_form_with_the_reason(
        browser: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from datetime import timedelta

    from django.utils import timezone
    from playwright.sync_api import expect

    monkeypatch.setattr(queue, "enqueue_gradings", lambda ids, *args, **kwargs: None)
    course = make_course("dlcv")
    student = make_member(course, username="alice")
    lab = make_lab(course, "once", parts=COST_ONLY, attempts_policy={"mode": "declining", "points": [1.0]})
    page = _page(browser, live_server, student, width=375)
    page.goto(f"{live_server.url}/labs/once/")
    submit = page.get_by_role("button", name="Submit for grading")
    expect(page.locator("[data-attempts-left]")).to_have_text("1 attempt left")  # before any submit
    expect(submit).to_be_enabled()
    for name, typed in part_answer(lab.parts.get(), student).items():
        page.locator(f"#w-cost-{name}").fill(typed)
    submit.click()
    expect(page).to_have_url(re.compile(r"/submissions/\d+/$"))

    page.goto(f"{live_server.url}/labs/once/")
    reason = "You have used all your attempts of this lab."
    expect(submit).to_be_disabled()
    expect(submit).to_have_accessible_description(reason)
    expect(page.locator("[data-lab-notice]")).to_have_text(reason)  # up front, above the parts
    expect(page.locator("[data-attempts-left]")).to_have_count(0)
    page.locator("#w-cost-" + next(iter(part_answer(lab.parts.get(), student)))).press("Enter")
    page.wait_for_timeout(500)
    expect(page).to_have_url(f"{live_server.url}/labs/once/")
    assert Submission.objects.count() == 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "lab-no-attempts-left-375.png"), full_page=True)

    make_lab(course, "past", parts=COST_ONLY, due_at=timezone.now() - timedelta(days=4),
             late_policy={"penalty_per_day": 0.1, "max_late_days": 3})
    page.goto(f"{live_server.url}/labs/past/")
    expect(submit).to_be_disabled()
    expect(submit).to_have_accessible_description("The late-submission period of this lab is over.")
    page.context.close()


def test_a_code_lab_with_no_attempts_left_takes_no_ctrl_enter_submit(
        browser: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from playwright.sync_api import expect

    from labs.models import Lab
    from labs.services import lab_upsert, submission_create

    monkeypatch.setattr(queue, "enqueue_gradings", lambda ids, *args, **kwargs: None)
    course = make_course("dlcv")
    student = make_member(course, username="alice")
    lab, _ = lab_upsert(course=course, spec={"slug": "iou", "title": "IoU and NMS", "kind": "code", "codelab": "iou-nms"})
    Lab.objects.filter(pk=lab.pk).update(attempts_policy={"mode": "declining", "points": [1.0]})
    lab.refresh_from_db()
    submission_create(user=student, lab=lab, source_code="def box_iou(a, b):\n    return 1\n", lang="en")

    page = _page(browser, live_server, student, width=375)
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.goto(f"{live_server.url}/labs/iou/")
    submit = page.get_by_role("button", name="Submit for grading")
    expect(submit).to_be_disabled()
    expect(submit).to_have_accessible_description("You have used all your attempts of this lab.")
    page.locator("#code-editor").press("Control+Enter")  # the editor's own shortcut submits the form
    page.wait_for_timeout(500)
    assert posts == []  # not even asked: the page knew
    expect(page.locator("[data-editor-errors]")).to_be_hidden()
    assert Submission.objects.count() == 1
    page.context.close()
