"""Browser test of rubric grading (issue 19 item 2): open the queue → start the rubric from the key points →
grade with number keys and ``s`` → next / previous with ``n``/``p`` → anonymous mode → the progress follows.
At 1280 px, with screenshots of the item page at 375 px in both languages in var/screenshots/."""

from __future__ import annotations

import re
from typing import Any

import pytest

from accounts.models import Role
from accounts.tests.factories import make_member
from quizzes.models import AttemptItem, RubricApplication, RubricItem, ScoreChange
from quizzes.rubric import rubric_score
from quizzes.services.attempts import attempt_start, attempt_submit
from quizzes.tests import test_browser as base
from quizzes.tests.factories import make_assessment, save_answer
from quizzes.tests.test_browser import SCREENSHOTS
from quizzes.tests.test_student_pages import ESSAY

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The fixtures of the quiz browser tests (Chromium, a course with one question of each type).
browser, course = base.browser, base.course


def _page(browser: Any, live_server: Any, user: Any, *, lang: str = "en", width: int = 1280) -> Any:
    return base.logged_in_page(browser, live_server.url, user, lang=lang, width=width)


def test_grading_by_rubric_with_the_keys(browser: Any, live_server: Any, course: Any) -> None:
    from playwright.sync_api import expect

    exam = make_assessment(course, [ESSAY], slug="final")
    essays = []
    for number, name in enumerate(("ann", "bo", "cy"), start=1):
        student = make_member(course, username=name)
        attempt = attempt_start(user=student, assessment=exam)
        item = attempt.items.get()
        save_answer(item, response={"text": f"Answer {number}: weight sharing <b>and</b> $k^2$ parameters"})
        attempt_submit(attempt=attempt)
        essays.append(item)
    instructor = make_member(course, Role.INSTRUCTOR, username="ian")
    base_url = f"{live_server.url}/instructor/courses/{course.slug}/grading/"

    page = _page(browser, live_server, instructor)
    page.goto(base_url)
    expect(page.locator("table.grading-questions tbody tr")).to_have_count(1)
    expect(page.locator("table.grading-questions")).to_contain_text("0 / 3")
    page.get_by_role("link", name="Grade", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/grading/{essays[0].pk}/$"))
    expect(page.locator("[data-answer]")).to_contain_text("<b>and</b>")  # the student's HTML shown as text
    expect(page.locator("[data-answer] math")).to_have_count(1)  # maths rendered
    page.get_by_role("button", name=re.compile("Start the rubric from the")).click()
    expect(page.locator("[data-rubric-key]")).not_to_have_count(0)
    rubric = list(RubricItem.objects.filter(question=essays[0].question_version.question))
    keyboard_help = page.locator(".keyboard-help")
    expect(keyboard_help).to_be_visible()

    # Keys: 1 and 2 apply the first two items, 2 again removes it, 2 once more applies it; s saves.
    page.locator("h1").click()
    for key in ("1", "2", "2", "2"):
        page.keyboard.press(key)
    expect(page.locator('[data-rubric-key="1"]')).to_be_checked()
    expect(page.locator('[data-rubric-key="2"]')).to_be_checked()
    expected_points = rubric[0].points + rubric[1].points
    expect(page.locator("[data-score-now]")).to_have_text(re.compile(rf"^{float(expected_points):g}"))
    page.keyboard.press("s")
    expect(page).to_have_url(re.compile(rf"/grading/{essays[1].pk}/$"))
    expect(page.get_by_role("status")).to_contain_text("1 of 3 answers to this question graded")
    expect(page.locator("[data-progress]")).to_have_attribute("value", "1")
    first = AttemptItem.objects.get(pk=essays[0].pk)
    assert set(RubricApplication.objects.filter(item=first).values_list("rubric_item_id", flat=True)) == {
        rubric[0].pk, rubric[1].pk}
    assert first.score == rubric_score(applied=[rubric[0].points, rubric[1].points], adjustment=first.rubric_adjustment,
                                       max_points=first.max_points)

    # p goes back (the grade shown as saved), n forward again.
    page.locator("h1").click()
    page.keyboard.press("p")
    expect(page).to_have_url(re.compile(rf"/grading/{essays[0].pk}/$"))
    expect(page.locator('[data-rubric-key="1"]')).to_be_checked()
    page.keyboard.press("n")
    expect(page).to_have_url(re.compile(rf"/grading/{essays[1].pk}/$"))
    expect(page.locator("[data-student]")).to_have_text("bo")

    # Anonymous mode: the name becomes "Student 2" (its place in the question), and stays hidden.
    page.get_by_label("Anonymous grading").check()
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("[data-student]")).to_have_text("Student 2")
    expect(page.locator("[data-answer]")).to_contain_text("Answer 2:")
    expect(page.locator("main")).not_to_contain_text(re.compile(r"\bbo\b"))  # the answer shows, the name nowhere
    page.locator("h1").click()
    page.keyboard.press("3")
    page.keyboard.press("s")
    expect(page).to_have_url(re.compile(rf"/grading/{essays[2].pk}/$"))
    expect(page.locator("[data-student]")).to_have_text("Student 3")
    expect(page.locator("[data-progress]")).to_have_attribute("value", "2")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "rubric-grading-1280-en.png"), full_page=True)
    question_id = essays[0].question_version.question_id
    for lang in ("en", "zh-hant"):
        narrow = _page(browser, live_server, instructor, lang=lang, width=375)
        for shot, path in (("grading", f"{essays[2].pk}/"), ("queue", ""),
                           ("rubric", f"questions/{question_id}/rubric/")):
            narrow.goto(f"{base_url}{path}")
            assert narrow.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (shot, lang)
            narrow.screenshot(path=str(SCREENSHOTS / f"rubric-{shot}-375-{lang}.png"), full_page=True)
        narrow.context.close()

    # The last answer: graded with the adjustment box; the question is done, the names come back.
    page.get_by_label("Adjustment (points)").fill("4")
    page.get_by_role("button", name="Save grade").click()
    expect(page).to_have_url(re.compile(r"/grading/$"))
    expect(page.locator("table.grading-questions")).to_contain_text("3 / 3")
    page.goto(f"{base_url}{essays[1].pk}/")
    expect(page.locator("[data-student]")).to_have_text("bo")
    assert ScoreChange.objects.filter(kind="manual").count() == 3
    page.context.close()
