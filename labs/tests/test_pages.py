"""The lab pages through the HTTP interface (Django's test client), grading called in-process.

No broker: ``labs.services._enqueue`` is replaced by a recorder, and the tests grade with
``labs.services.submission_grade(submission_id=...)`` when they want a result.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Course, Enrollment, Role, User
from accounts.tests.factories import make_course, make_member, make_user
from grader.problems import get_family
from labs.models import Lab, LabPart, Submission, SubmissionStatus
from labs.presenters import pr_curve_svg
from labs.selectors import lab_part_stats
from labs.services import (
    grading,
    lab_part_params,
    lab_variant_seed,
    queue,
    submission_create,
    submission_grade,
)
from labs.tests.factories import lab_answers, make_lab, part_answer
from quizzes.models import Assessment, AssessmentMode, Attempt, AttemptStatus

#: A conv part with a 3×3 output (room for one wrong cell among right ones) and a counts part.
GRID_PARTS = (
    ("conv", "conv-by-hand", {"height": 5, "width": 5, "kernel_size": 3, "stride": 1, "padding": 0,
                              "dilation": 1, "mode": "correlation"}, 3),
    ("cost", "conv-cost", {"kind": "grouped"}, 2),
)
DETECTION_PARTS = (("map", "detection-map", {"method": "voc", "classes": 1}, 3),)
ENQUEUED: list[int] = []


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[None]:
    """Enqueues are recorded, not sent; a fast password hasher."""
    ENQUEUED.clear()
    monkeypatch.setattr(queue, "enqueue_gradings", lambda ids, *args, **kwargs: ENQUEUED.extend(ids))
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield


@pytest.fixture
def other(course: Course) -> User:
    return make_member(course, Role.STUDENT, username="bob")


@pytest.fixture
def ta(course: Course) -> User:
    return make_member(course, Role.TA, username="tina")


@pytest.fixture
def lab(course: Course) -> Lab:
    return make_lab(course, "lab1", parts=GRID_PARTS)


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def submit_json(client: Client, lab: Lab, answers: Any, key: str | None = None) -> Any:
    headers = {"Accept": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    # What labs.js does: the API, with the browser's session.
    return client.post(f"/api/labs/{lab.slug}/submissions/", json.dumps({"answers": answers}),
                       content_type="application/json", headers=headers)


def conv_with_one_wrong_cell(lab: Lab, user: User) -> tuple[dict[str, dict[str, str]], tuple[int, int]]:
    """Right answers to every part, except one cell (row 1, column 1) of the conv output."""
    part = lab.parts.get(key="conv")
    family = get_family(part.family)
    params = lab_part_params(part=part, seed=lab_variant_seed(lab_id=lab.pk, user_id=user.pk))
    expected = family.solve(params)
    output = [list(row) for row in expected["output"]]
    output[0][0] += 7
    answers = lab_answers(lab, user)
    answers["conv"] = family.format_answer(params, {**expected, "output": output})
    return answers, (1, 1)


def graded(lab: Lab, user: User, answers: dict[str, Any], *, now: datetime | None = None) -> Submission:
    submission = submission_create(user=user, lab=lab, answers=answers, lang="en", now=now).submission
    submission_grade(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.GRADED, submission.error
    return submission


def section(html: str, marker: str) -> str:
    """The HTML of the <section> holding ``marker`` (results and parts are sections)."""
    start = html.rindex("<section", 0, html.index(marker))
    return html[start:html.index("</section>", start)]


# --------------------------------------------------------------------------- lab list and lab page


def test_lab_list_shows_the_due_date_in_taipei_attempts_and_the_best_score(course: Course, student: User) -> None:
    lab = make_lab(course, "lab1", due_at=datetime(2031, 1, 1, 4, 0, tzinfo=UTC),
                   attempts_policy={"mode": "declining", "points": [1.0, 0.8, 0.6]})
    make_lab(course, "hidden", published=False)
    graded(lab, student, lab_answers(lab, student))
    response = client_for(student).get("/courses/dlcv/labs/")
    assert response.status_code == 200
    html = response.content.decode()
    card = html[html.index('data-lab="lab1"'):]
    assert "2031-01-01 12:00" in card  # 04:00 UTC is noon in Taipei
    assert "1 of 3 used, 2 left" in card
    assert re.search(r"data-best>5 / 5<", card)  # conv 3 + cost 2, all right
    assert 'data-lab="hidden"' not in html  # unpublished labs exist only for staff


def test_lab_page_states_the_students_own_variant_with_mathml_and_grid_widgets(lab: Lab, student: User) -> None:
    response = client_for(student).get("/labs/lab1/")
    assert response.status_code == 200
    html = response.content.decode()
    conv = section(html, 'data-part="conv"')
    assert "<math" in conv  # the statement's LaTeX rendered server-side
    assert 'data-widget="matrix" data-name="output"' in conv  # the quiz pages' grid widget
    assert 'id="w-conv-output-rows"' in conv and '<label for="w-conv-output-rows">' in conv
    assert 'data-widget="text" data-name="shape"' in conv and '<label for="w-conv-shape">' in conv
    assert 'data-part="cost"' in html
    assert "Submit for grading" in html and 'action="/api/labs/lab1/submissions/"' in html
    assert 'src="/static/js/labs.js"' in html
    # In Traditional Chinese (the site's default for users) the family states the variant in zh-Hant.
    chinese = Client()
    chinese.force_login(student)
    chinese.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hant"
    assert "卷積核" in section(chinese.get("/labs/lab1/").content.decode(), 'data-part="conv"')


def test_lab_pages_are_404_for_outsiders_and_unpublished_labs_for_students(course: Course, student: User) -> None:
    make_lab(course, "draft", published=False)
    outsider = make_user("eve")
    assert client_for(outsider).get("/labs/draft/").status_code == 404
    assert client_for(outsider).get("/courses/dlcv/labs/").status_code == 404
    assert client_for(student).get("/labs/draft/").status_code == 404
    assert client_for(None).get("/labs/draft/").status_code == 302  # to the login form


# --------------------------------------------------------------------------- submitting


def test_format_errors_are_shown_next_to_the_part_and_cost_nothing(
        lab: Lab, student: User, django_capture_on_commit_callbacks: Any) -> None:
    client = client_for(student)
    answers = lab_answers(lab, student)
    answers["conv"] = {**answers["conv"], "shape": "two by two"}

    response = submit_json(client, lab, answers, key="k-1")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["detail"] == "The answers could not be read."
    assert set(body["errors"]) == {"conv"} and "shape" in body["errors"]["conv"]
    assert not Submission.objects.exists() and ENQUEUED == []
    # The page's script shows these next to the part; the strings it uses come with the page.
    assert "this did not use an attempt" in client.get("/labs/lab1/").content.decode()

    # Fixed: the first submission is number 1, and it is the first attempt used.
    with django_capture_on_commit_callbacks(execute=True):
        response = submit_json(client, lab, lab_answers(lab, student), key="k-3")
    assert response.status_code == 201
    submission = Submission.objects.get()
    assert submission.number == 1 and ENQUEUED == [submission.pk]
    assert response.json()["page_url"] == f"/submissions/{submission.pk}/"
    assert "1 used" in client.get("/labs/lab1/").content.decode()


def test_the_same_idempotency_key_twice_stores_one_submission(lab: Lab, student: User) -> None:
    client = client_for(student)
    first = submit_json(client, lab, lab_answers(lab, student), key="double-click-1")
    second = submit_json(client, lab, lab_answers(lab, student), key="double-click-1")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"] and Submission.objects.count() == 1
    assert submit_json(client, lab, lab_answers(lab, student), key="bad key with spaces").status_code == 400


def test_refusals_are_shown_as_a_message(course: Course, student: User) -> None:
    closed = make_lab(course, "closed", due_at=timezone.now() - timedelta(hours=1))
    client = client_for(student)
    response = submit_json(client, closed, lab_answers(closed, student))
    assert response.status_code == 409 and response.json()["code"] == "closed"
    assert response.json()["detail"] == "This lab is closed for submissions."
    assert "This lab is closed for submissions." in client.get("/labs/closed/").content.decode()

    once = make_lab(course, "once", attempts_policy={"mode": "declining", "points": [1.0]})
    graded(once, student, lab_answers(once, student))
    response = submit_json(client, once, lab_answers(once, student))
    assert response.status_code == 409 and response.json()["code"] == "attempts_exhausted"
    assert "You have used all your attempts of this lab." in client.get("/labs/once/").content.decode()
    assert Submission.objects.filter(lab=once).count() == 1


SUBMIT_BUTTON = re.compile(r"<button type=\"submit\" data-submit[^>]*>")


def submit_button(html: str) -> str:
    return SUBMIT_BUTTON.search(html).group(0)


def test_the_lab_page_shows_the_attempts_left_and_disables_the_form_when_none_are(
        course: Course, student: User) -> None:
    twice = make_lab(course, "twice", attempts_policy={"mode": "declining", "points": [1.0, 0.5]})
    client = client_for(student)
    html = client.get("/labs/twice/").content.decode()
    assert '<p class="attempts-left" data-attempts-left>2 attempts left</p>' in html
    assert "disabled" not in submit_button(html) and "data-refused" not in html
    graded(twice, student, lab_answers(twice, student))
    html = client.get("/labs/twice/").content.decode()
    assert '<p class="attempts-left" data-attempts-left>1 attempt left</p>' in html
    graded(twice, student, lab_answers(twice, student))

    html = client.get("/labs/twice/").content.decode()
    button = submit_button(html)
    assert " disabled" in button and 'aria-describedby="submit-refusal"' in button
    assert ('<p class="submit-refusal" id="submit-refusal" data-submit-refusal="no_attempts_left">'
            "You have used all your attempts of this lab.</p>") in html
    assert "data-refused" in html and "data-attempts-left" not in html
    # Up front too, above the parts.
    assert html.index("You have used all your attempts of this lab.") < html.index('data-part="conv"')


@pytest.mark.parametrize(("due_ago", "late_policy", "reason", "code"), [
    (timedelta(days=4), {"penalty_per_day": 0.1, "max_late_days": 3},
     "The late-submission period of this lab is over.", "too_late"),
    (timedelta(hours=1), {}, "This lab is closed for submissions.", "closed"),
])
def test_a_lab_past_its_late_window_disables_the_form_with_the_reason(
        course: Course, student: User, due_ago: timedelta, late_policy: dict[str, Any], reason: str,
        code: str) -> None:
    make_lab(course, "past", due_at=timezone.now() - due_ago, late_policy=late_policy)
    html = client_for(student).get("/labs/past/").content.decode()
    assert " disabled" in submit_button(html)
    assert f'data-submit-refusal="{code}">{reason}</p>' in html


def test_a_late_lab_with_attempts_left_keeps_its_form(course: Course, student: User) -> None:
    make_lab(course, "late", due_at=timezone.now() - timedelta(hours=1),
             late_policy={"penalty_per_day": 0.1, "max_late_days": 3})
    html = client_for(student).get("/labs/late/").content.decode()
    assert "disabled" not in submit_button(html) and "data-refused" not in html
    assert "a submission now is late" in html


def test_logged_out_scripts_get_401(lab: Lab) -> None:
    response = submit_json(client_for(None), lab, {})
    assert response.status_code == 401 and response.json()["detail"]
    assert client_for(None).get("/submissions/1/state", headers={"Accept": "application/json"}).status_code == 401



def test_the_regrade_progress_poll_answers_json_logged_out_and_to_students(lab: Lab, student: User, ta: User) -> None:
    """labs.js polls it: 401 JSON logged out (not the login page, which fetch would follow), 403 JSON
    for a student, the counts for the staff."""
    url = reverse("instructor-lab-regrade-progress", args=[lab.course.slug, lab.slug])
    logged_out = client_for(None).get(url)
    assert logged_out.status_code == 401 and logged_out.json()["code"] == "login_required"
    refused = client_for(student).get(url)
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert client_for(ta).get(url).json()["finished"] is True


# --------------------------------------------------------------------------- a submission, live


def test_another_students_submission_page_state_and_curve_are_404(lab: Lab, student: User, other: User,
                                                                 ta: User) -> None:
    submission = graded(lab, student, lab_answers(lab, student))
    for url in (f"/submissions/{submission.pk}/", f"/submissions/{submission.pk}/state",
                f"/submissions/{submission.pk}/parts/conv/pr-curve.svg", "/submissions/999999/state"):
        assert client_for(other).get(url).status_code == 404, url
    assert client_for(ta).get(f"/submissions/{submission.pk}/").status_code == 200  # the course's staff may look


def test_state_json_goes_queued_grading_graded(lab: Lab, student: User) -> None:
    client = client_for(student)
    submission = submission_create(user=student, lab=lab, answers=lab_answers(lab, student), lang="en").submission
    url = f"/submissions/{submission.pk}/state"

    state = client.get(url).json()
    assert (state["status"], state["pending"], state["done"], state["delayed"]) == ("queued", True, False, False)
    assert "Queued" in state["status_html"] and state["result_html"] == ""
    assert client.get(url)["Cache-Control"].startswith("max-age=0")

    Submission.objects.filter(pk=submission.pk).update(status=SubmissionStatus.RUNNING, started_at=timezone.now())
    state = client.get(url).json()
    assert (state["status"], state["done"]) == ("running", False) and "Grading" in state["status_html"]

    Submission.objects.filter(pk=submission.pk).update(status=SubmissionStatus.QUEUED)
    submission_grade(submission_id=submission.pk)
    state = client.get(url).json()
    assert (state["status"], state["pending"], state["done"]) == ("graded", False, True)
    assert state["points"] == 5.0 and state["max_points"] == 5.0
    # The part's title is the lab's own text, marked with its language (<span lang="zh-Hant">).
    assert "Graded" in state["status_html"] and "Part 1: Conv" in re.sub(r"<[^>]+>", "", state["result_html"])


def test_a_submission_waiting_more_than_10_s_says_delayed_never_an_error(lab: Lab, student: User) -> None:
    client = client_for(student)
    submission = submission_create(user=student, lab=lab, answers=lab_answers(lab, student), lang="en").submission
    Submission.objects.filter(pk=submission.pk).update(enqueued_at=timezone.now() - timedelta(seconds=9))
    assert client.get(f"/submissions/{submission.pk}/state").json()["delayed"] is False

    Submission.objects.filter(pk=submission.pk).update(enqueued_at=timezone.now() - timedelta(seconds=11))
    state = client.get(f"/submissions/{submission.pk}/state").json()
    assert state["delayed"] is True and state["status"] == "queued"
    assert "Grading delayed — your submission is safe" in state["status_html"]
    page = client.get(f"/submissions/{submission.pk}/").content.decode()
    assert "Grading delayed — your submission is safe" in page and 'data-pending="true"' in page
    assert "our fault" not in page

    Submission.objects.filter(pk=submission.pk).update(status=SubmissionStatus.RUNNING, started_at=timezone.now())
    assert client.get(f"/submissions/{submission.pk}/state").json()["delayed"] is True


def test_a_failed_grading_says_our_fault_and_does_not_count(lab: Lab, student: User,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("grader bug")

    monkeypatch.setattr(grading, "_grade", broken)
    submission = submission_create(user=student, lab=lab, answers=lab_answers(lab, student), lang="en").submission
    submission_grade(submission_id=submission.pk)
    client = client_for(student)
    state = client.get(f"/submissions/{submission.pk}/state").json()
    assert (state["status"], state["done"]) == ("failed", True)
    message = "We could not grade this (our fault); it does not count."
    assert message in state["status_html"]
    assert message in client.get(f"/submissions/{submission.pk}/").content.decode()
    assert "0 used" in client.get("/labs/lab1/").content.decode()  # failed gradings use no attempt


def test_the_grid_highlights_the_wrong_cell_and_reveals_no_correct_values(lab: Lab, student: User) -> None:
    answers, (row, col) = conv_with_one_wrong_cell(lab, student)
    submission = graded(lab, student, answers)
    html = client_for(student).get(f"/submissions/{submission.pk}/").content.decode()
    conv = section(html, 'data-result-part="conv"')
    output = conv[conv.index('data-box="output"'):]
    assert len(re.findall(r'class="cell cell-bad" data-r="(\d+)" data-c="(\d+)"', output)) == 1
    assert f'class="cell cell-bad" data-r="{row}" data-c="{col}"' in output
    assert output.count("cell cell-ok") == 8
    assert f"Wrong entries (row, column): ({row}, {col})" in output
    assert "readonly" in output  # the student's grid, shown, not editable
    # This lab has no due date: right/wrong per cell, never the correct values.
    assert "data-correct" not in html and "grid-static" not in html and "data-no-reveal" in html


def test_correct_values_appear_once_the_lab_is_closed_and_to_staff_at_once(course: Course, student: User,
                                                                           ta: User) -> None:
    due = timezone.now() + timedelta(days=2)
    lab = make_lab(course, "lab1", parts=GRID_PARTS, due_at=due,
                   late_policy={"penalty_per_day": 0.1, "max_late_days": 1})
    answers, _cell = conv_with_one_wrong_cell(lab, student)
    submission = graded(lab, student, answers)
    url = f"/submissions/{submission.pk}/"
    assert "data-correct" not in client_for(student).get(url).content.decode()
    assert "data-correct" in client_for(ta).get(url).content.decode()

    Lab.objects.filter(pk=lab.pk).update(due_at=timezone.now() - timedelta(hours=1))  # late day still running
    assert "data-correct" not in client_for(student).get(url).content.decode()
    Lab.objects.filter(pk=lab.pk).update(due_at=timezone.now() - timedelta(days=1, hours=1))
    html = client_for(student).get(url).content.decode()
    output = section(html, 'data-result-part="conv"')
    assert "data-reveal" in html and "data-correct" in output and "grid-static" in output


# --------------------------------------------------------------------------- the precision/recall curve


def _detection_submission(course: Course, student: User, *, due_at: datetime) -> tuple[Lab, Submission]:
    lab = make_lab(course, "lab4", parts=DETECTION_PARTS, due_at=due_at)
    part = lab.parts.get()
    family = get_family(part.family)
    params = lab_part_params(part=part, seed=lab_variant_seed(lab_id=lab.pk, user_id=student.pk))
    expected = family.solve(params)
    precision = list(expected["precision"])
    precision[-1] = precision[-1] / 2 + 0.05  # one wrong row
    answers = {"map": family.format_answer(params, {**expected, "precision": precision})}
    return lab, graded(lab, student, answers, now=due_at - timedelta(days=1))


def test_the_pr_curve_is_an_svg_without_the_correct_curve_before_the_due_date(course: Course, student: User) -> None:
    lab, submission = _detection_submission(course, student, due_at=timezone.now() + timedelta(days=3))
    client = client_for(student)
    url = f"/submissions/{submission.pk}/parts/map/pr-curve.svg"
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("image/svg+xml")
    svg = response.content.decode()
    assert "<svg" in svg and svg.rstrip().endswith("</svg>")
    assert 'id="your-points"' in svg and 'id="your-wrong-points"' in svg
    assert "correct-curve" not in svg and "correct-points" not in svg
    assert client.get(url).content.decode() == svg  # cached per submission

    page = client.get(f"/submissions/{submission.pk}/").content.decode()
    result = section(page, 'data-result-part="map"')
    assert f'src="{url}"' in result and 'class="tpfp"' in result
    table = result[result.index('class="tpfp"'):]
    assert table.count('class="cell-bad"') == 1  # the wrong precision row, in the TP/FP table
    assert "correct-col" not in result

    Lab.objects.filter(pk=lab.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    svg = client.get(url).content.decode()
    assert 'id="correct-curve"' in svg and 'id="correct-points"' in svg
    assert "correct-col" in client.get(f"/submissions/{submission.pk}/").content.decode()


def test_pr_curve_svg_for_other_parts_or_pending_submissions_is_404(lab: Lab, student: User) -> None:
    submission = graded(lab, student, lab_answers(lab, student))
    assert client_for(student).get(f"/submissions/{submission.pk}/parts/conv/pr-curve.svg").status_code == 404


def test_pr_curve_svg_is_a_pure_function_of_its_points() -> None:
    svg = pr_curve_svg(recall=[0.5, 0.5, 1.0], precision=[1.0, 0.5, 0.67], right=[True, True, False])
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "correct-curve" not in svg
    shown = pr_curve_svg(recall=[0.5], precision=[1.0], right=[True], correct=([0.5, 1.0], [1.0, 0.67]))
    assert 'id="correct-curve"' in shown and "your-wrong-points" not in shown


# --------------------------------------------------------------------------- instructor pages


def _bulk_course(course: Course, students: int = 100) -> tuple[list[User], list[Lab], list[Assessment]]:
    users = User.objects.bulk_create(
        [User(username=f"s{i:03d}", display_name=f"學生{i:03d}", password="!") for i in range(students)])
    Enrollment.objects.bulk_create([Enrollment(user=user, course=course, role=Role.STUDENT) for user in users])
    labs = [make_lab(course, f"lab{n}") for n in range(1, 5)]
    now = timezone.now()
    Submission.objects.bulk_create([
        Submission(lab=lab, user=user, number=1, status=SubmissionStatus.GRADED, points=Decimal(i % 6),
                   score=Decimal(i % 6) / 5, finished_at=now, result={"parts": []}, part_points={"": i % 6})
        for lab in labs for i, user in enumerate(users)
    ])
    assessments = [
        Assessment.objects.create(course=course, slug="practice", title="Practice", mode=AssessmentMode.PRACTICE),
        Assessment.objects.create(course=course, slug="mock", title="Mock", mode=AssessmentMode.MOCK),
        Assessment.objects.create(course=course, slug="midterm", title="期中考", mode=AssessmentMode.EXAM),
    ]
    Attempt.objects.bulk_create([
        Attempt(assessment=assessment, user=user, number=number, status=AttemptStatus.SUBMITTED, started_at=now,
                submitted_at=now, points=Decimal(number + i % 3), max_points=Decimal(10))
        for assessment in assessments for i, user in enumerate(users) for number in (1, 2)
    ])
    return users, labs, assessments


def test_the_gradebook_of_100_students_4_labs_and_3_assessments_takes_at_most_13_queries(
        course: Course, ta: User, django_assert_max_num_queries: Any) -> None:
    # The session, the user, the access check and the TA's sections (4), the section filter's choices,
    # the gradebook (5), the grading categories and the excused items (grades.selectors.course_grades).
    _bulk_course(course)
    client = client_for(ta)
    with django_assert_max_num_queries(13):
        response = client.get("/instructor/courses/dlcv/grades/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<th scope="row" class="sticky">') == 100
    assert "/instructor/courses/dlcv/grades/labs/lab1/" in html and "期中考" in html


def test_the_gradebook_csv_has_a_bom_one_row_per_student_and_the_visible_scores(course: Course, ta: User) -> None:
    users, labs, _assessments = _bulk_course(course, students=12)
    response = client_for(ta).get("/instructor/courses/dlcv/grades/grades.csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="dlcv-grades.csv"' in response["Content-Disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:9] == ["username", "name", "lab:lab1", "lab:lab2", "lab:lab3", "lab:lab4",
                           "quiz:midterm", "quiz:mock", "quiz:practice"]
    assert rows[0][9].startswith("category:") and rows[0][-1] == "total_percent"  # grades.csv_export
    assert len(rows) == 1 + 12 and [row[0] for row in rows[1:]] == [user.username for user in users]
    first = dict(zip(rows[0], rows[2], strict=True))  # s001: lab points 1, quiz best = 2 + 1 % 3 = 3
    assert first["name"] == "學生001" and first["lab:lab1"] == "1"
    assert first["quiz:practice"] == "3" and first["quiz:mock"] == "3"
    assert first["quiz:midterm"] == ""  # an exam's results are not released: not visible, not in the book
    Assessment.objects.filter(slug="midterm").update(results_released_at=timezone.now() - timedelta(minutes=1))
    rows = list(csv.reader(io.StringIO(client_for(ta).get("/instructor/courses/dlcv/grades/grades.csv")
                                       .content.decode("utf-8-sig"))))
    assert dict(zip(rows[0], rows[2], strict=True))["quiz:midterm"] == "3"


def test_the_csv_keeps_names_that_look_like_formulas_as_text(course: Course, ta: User) -> None:
    make_member(course, Role.STUDENT, username="mallory").__class__.objects.filter(username="mallory").update(
        display_name="=HYPERLINK(\"x\")")
    rows = list(csv.reader(io.StringIO(client_for(ta).get("/instructor/courses/dlcv/grades/grades.csv")
                                       .content.decode("utf-8-sig"))))
    assert rows[1][1] == "'=HYPERLINK(\"x\")"


def _fixed_results(lab: Lab, students: list[User]) -> None:
    """Part "conv": 3 right, 5 wrong (kernel-not-flipped ×2, padding-ignored ×1, both ×1, none ×1)."""
    outcomes = [
        (1.0, True, []), (1.0, True, []), (1.0, True, []),
        (0.0, False, ["kernel-not-flipped"]), (0.5, False, ["kernel-not-flipped"]),
        (0.5, False, ["padding-ignored"]), (0.25, False, ["kernel-not-flipped", "padding-ignored"]),
        (0.8, False, []),
    ]
    now = timezone.now()
    Submission.objects.bulk_create([
        Submission(lab=lab, user=students[i % len(students)], number=1 + i // len(students),
                   status=SubmissionStatus.GRADED, points=Decimal(1), score=Decimal("0.5"), finished_at=now,
                   part_points={"conv": 0.5, "cost": 0.5},
                   result={"parts": [{"key": "conv", "family": "conv-by-hand", "score": score, "correct": correct,
                                      "misconceptions": tags, "items": []},
                                     {"key": "cost", "family": "conv-cost", "score": 1.0, "correct": True,
                                      "misconceptions": [], "items": []}]})
        for i, (score, correct, tags) in enumerate(outcomes)
    ])
    Submission.objects.create(lab=lab, user=students[0], number=99, status=SubmissionStatus.FAILED)


def test_misconception_frequencies_on_a_fixed_data_set(lab: Lab, student: User, other: User, ta: User) -> None:
    _fixed_results(lab, [student, other])
    stats = lab_part_stats(lab=lab, lang="en")
    assert (stats.submissions, stats.students) == (8, 2)
    conv, cost = stats.parts
    assert (conv.answers, conv.wrong, conv.correct, conv.unexplained) == (8, 5, 3, 1)
    assert [(m.tag, m.count, m.share) for m in conv.misconceptions] == [
        ("kernel-not-flipped", 3, 0.6), ("padding-ignored", 2, 0.4)]
    assert conv.misconceptions[0].message.startswith("You computed the cross-correlation, not the convolution")
    assert dict(conv.bins) == {"0%": 1, "1–24%": 0, "25–49%": 1, "50–74%": 2, "75–99%": 1, "100%": 3}
    assert (cost.wrong, cost.misconceptions) == (0, [])

    html = client_for(ta).get("/instructor/courses/dlcv/grades/labs/lab1/").content.decode()
    part1 = section(html, 'data-part-stats="conv"')
    flipped = part1[part1.index('data-tag="kernel-not-flipped"'):]
    assert re.search(r'<strong class="pct">60%</strong>\s*of wrong answers to part 1 \(3 of 5\)', flipped)
    assert "You computed the cross-correlation, not the convolution" in flipped
    assert re.search(r'<strong class="pct">40%</strong>', part1[part1.index('data-tag="padding-ignored"'):])
    assert re.search(r'<strong class="pct">20%</strong>\s*of wrong answers to part 1 \(1 of 5\) match no known', part1)
    assert "No wrong answers yet." in section(html, 'data-part-stats="cost"')


def test_regrade_button_and_progress_endpoint(lab: Lab, student: User, other: User, ta: User) -> None:
    first = graded(lab, student, lab_answers(lab, student))
    second = graded(lab, other, lab_answers(lab, other))
    client = client_for(ta)
    progress_url = "/instructor/courses/dlcv/grades/labs/lab1/regrade/progress"
    assert client.get(progress_url).json() == {"total": 2, "done": 2, "queued": 0, "running": 0, "graded": 2,
                                               "failed": 0, "pending": 0, "finished": True}
    page = client.get("/instructor/courses/dlcv/grades/labs/lab1/").content.decode()
    assert 'data-pending="0"' in page and "<progress" in page

    response = client.post("/instructor/courses/dlcv/grades/labs/lab1/regrade")
    assert response.status_code == 302
    progress = client.get(progress_url).json()
    assert (progress["total"], progress["done"], progress["queued"], progress["finished"]) == (2, 0, 2, False)
    assert 'data-pending="2"' in client.get("/instructor/courses/dlcv/grades/labs/lab1/").content.decode()

    submission_grade(submission_id=first.pk)
    assert client.get(progress_url).json()["done"] == 1
    submission_grade(submission_id=second.pk)
    assert client.get(progress_url).json()["finished"] is True
    response = client.post("/instructor/courses/dlcv/grades/labs/lab1/regrade", headers={"Accept": "application/json"})
    assert response.status_code == 202 and response.json()["queued"] == 2


def test_students_get_403_and_outsiders_404_on_instructor_pages(lab: Lab, student: User, course: Course) -> None:
    other_course = make_course("other")
    make_lab(other_course, "foreign")
    urls = ["/instructor/courses/dlcv/grades/", "/instructor/courses/dlcv/grades/grades.csv",
            "/instructor/courses/dlcv/grades/labs/lab1/", "/instructor/courses/dlcv/grades/labs/lab1/regrade/progress"]
    for url in urls:
        assert client_for(student).get(url).status_code == 403, url
        assert client_for(make_user()).get(url).status_code == 404, url
    assert client_for(student).post("/instructor/courses/dlcv/grades/labs/lab1/regrade").status_code == 403
    staff = make_member(course, Role.INSTRUCTOR)
    assert client_for(staff).get("/instructor/courses/dlcv/grades/labs/foreign/").status_code == 404


def test_the_course_pages_link_the_labs_and_the_gradebook(course: Course, student: User, ta: User) -> None:
    assert 'href="/courses/dlcv/labs/"' in client_for(student).get("/courses/dlcv/").content.decode()
    assert 'href="/instructor/courses/dlcv/grades/"' in client_for(ta).get("/instructor/courses/dlcv/").content.decode()


def test_part_answer_factory_still_matches_the_page_widgets(lab: Lab, student: User) -> None:
    """The factory's typed answers are what a student types into the page's boxes (one per widget)."""
    part: LabPart = lab.parts.get(key="cost")
    html = section(client_for(student).get("/labs/lab1/").content.decode(), 'data-part="cost"')
    for name in part_answer(part, student):
        assert f'data-name="{name}"' in html


def test_a_coco_map_part_has_no_pr_curve_and_its_page_renders_after_the_due_date(course: Course, student: User) -> None:
    lab = make_lab(course, parts=(("coco", "detection-map", {"method": "coco"}, 3),),
                   due_at=timezone.now() + timedelta(days=1))
    submission = graded(lab, student, lab_answers(lab, student), now=timezone.now())
    assert submission.score == 1
    Lab.objects.filter(pk=lab.pk).update(due_at=timezone.now() - timedelta(minutes=1))  # answers revealed
    client = client_for(student)
    page = client.get(f"/submissions/{submission.pk}/")
    assert page.status_code == 200 and "pr-curve.svg" not in page.content.decode()
    assert client.get(f"/submissions/{submission.pk}/parts/coco/pr-curve.svg").status_code == 404
