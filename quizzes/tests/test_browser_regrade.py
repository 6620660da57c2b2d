"""Browser test of regrades (issue 19 item 3), in both languages: a student asks for a regrade, staff
answer and change the score, the student sees the outcome; an instructor previews a class regrade
after fixing a question's key and applies it, watching the progress the real Celery worker makes.
Screenshots at 1280 and 375 px in var/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.tests.factories import make_course
from quizzes.models import RegradeJob, RegradeJobStatus, RegradeRequest, RegradeRequestStatus
from quizzes.tests import test_browser as base
from quizzes.tests.factories import load_shipped_bank
from quizzes.tests.regrade_world import build, correct_the_key
from quizzes.tests.test_browser import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]

browser = base.browser


def _page(browser: Any, live_server: Any, user: Any, lang: str, width: int) -> tuple[Any, list[str]]:
    page = base.logged_in_page(browser, live_server.url, user, lang=lang, width=width)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return page, problems


def _shots(page: Any, name: str, lang: str) -> None:
    """The page at 1280 and at 375 px, whole."""
    size = page.viewport_size
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"regrade-{name}-{lang}-{width}.png"), full_page=True)
    page.set_viewport_size(size)


@pytest.mark.parametrize("lang", ["en", "zh-hant"])
def test_regrade_request_and_class_regrade(browser, live_server, celery_worker_process, lang: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    load_shipped_bank()
    world = build(make_course("dlcv"))
    student, item = world.students[2], world.item(2)
    results = f"{live_server.url}/attempts/{item.attempt_id}/results"

    # 1. The student asks, on their results page.
    page, problems = _page(browser, live_server, student, lang, 375)
    page.goto(results)
    expect(page.locator("[data-regrade-window]")).to_be_visible()
    box = page.locator(f"#item-{item.id} [data-regrade-item]")
    box.locator("summary").click()
    box.locator("textarea[name=reason]").fill("Choice C matches the definition in lecture 3.")
    box.locator("button[type=submit]").click()
    expect(page.locator(f"#item-{item.id} [data-regrade-request=open]")).to_be_visible()
    request = RegradeRequest.objects.get(item=item)
    _shots(page, "student-asked", lang)

    # 2. Staff answer from the queue and give full credit.
    staff, staff_problems = _page(browser, live_server, world.instructor, lang, 1280)
    staff.goto(f"{live_server.url}/instructor/courses/{world.course.slug}/regrades/")
    row = staff.locator(f"[data-request='{request.pk}']")
    expect(row).to_contain_text(student.username)
    _shots(staff, "queue", lang)
    row.locator("a").click()
    form = staff.locator("[data-regrade-answer]")
    form.locator("textarea[name=message]").fill("Agreed: full credit.")
    form.locator("input[name=points]").fill("1")
    _shots(staff, "answer", lang)
    form.locator("button[type=submit]").click()
    staff.wait_for_url("**/regrades/")
    request.refresh_from_db()
    assert request.status == RegradeRequestStatus.ANSWERED

    # 3. The student sees the answer and the changed score.
    page.reload()
    answered = page.locator(f"#item-{item.id} [data-regrade-request=answered]")
    expect(answered).to_contain_text("Agreed: full credit.")
    expect(page.locator(f"#item-{item.id} [data-regraded]")).to_be_visible()
    expect(page.locator(".total")).to_contain_text("1 /")
    _shots(page, "student-answered", lang)

    # 4. The key is corrected; the instructor previews and applies a class regrade.
    correct_the_key(world)
    staff.goto(f"{live_server.url}/instructor/courses/{world.course.slug}/assessments/{world.exam.pk}/regrade/")
    staff.locator("[data-regrade-choose] button[type=submit]").click()
    preview = staff.locator("[data-regrade-preview]")
    expect(preview.locator("tr[data-change=up]")).to_have_count(1)  # students[1]; students[2] already has 1
    expect(preview.locator("tbody tr")).to_have_count(3)
    _shots(staff, "class-preview", lang)
    preview.locator("button[data-apply]").click()
    expect(staff.locator("[data-regrade-job][data-finished='1']")).to_be_attached(timeout=60_000)
    expect(staff.locator("[data-job-bar]")).to_have_attribute("value", "3")
    _shots(staff, "class-job", lang)
    job = RegradeJob.objects.get()
    assert (job.status, job.raised, job.lowered) == (RegradeJobStatus.DONE, 1, 0)

    # 5. The raised student sees the note.
    other, other_problems = _page(browser, live_server, world.students[1], lang, 375)
    other.goto(f"{live_server.url}/attempts/{world.attempts[1].pk}/results")
    expect(other.locator(f"#item-{world.item(1).pk} [data-regraded]")).to_be_visible()
    _shots(other, "student-class-regraded", lang)
    assert problems == staff_problems == other_problems == []
