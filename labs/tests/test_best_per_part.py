"""A lab's points are best per part: each part keeps its best points with the factor of the attempt
that earned them (labs.policy.LabPolicy.lab_points), read the same by the lab page, the course's
lab list, the JSON API and the gradebook; regrades and submissions graded before keep to it."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.conf import settings
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone

from accounts.models import Role, User
from accounts.tests.factories import make_member
from dlcv_site.tests.db_support import migrate_to
from labs.models import Lab, Submission
from labs.policy import LabPolicy
from labs.selectors import course_gradebook, lab_row_for_student
from labs.services import lab_regrade, submission_create, submission_grade
from labs.tests.factories import lab_answers, make_lab

DECLINING = {"mode": "declining", "points": [1.0, 0.8, 0.6]}


def _submit(lab: Lab, user: User, wrong: dict[str, str] | None = None) -> Submission:
    answers = lab_answers(lab, user, wrong=wrong)
    submission = submission_create(user=user, lab=lab, answers=answers).submission
    submission_grade(submission_id=submission.pk)
    submission.refresh_from_db()
    return submission


def _wrong_cost(lab: Lab, user: User) -> dict[str, str]:
    from labs.tests.factories import first_misconception

    return {"cost": first_misconception(lab.parts.get(key="cost"), user)}


def _wrong_conv(lab: Lab, user: User) -> dict[str, str]:
    return {"conv": "kernel-flipped"}  # the lab's conv part asks for the cross-correlation


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_the_policy_takes_each_parts_best_with_its_own_factor() -> None:
    # Attempt 1 (×1): part a right (6), part b wrong (0); attempt 2 (×0.8): both right.
    policy = LabPolicy(declining=(1.0, 0.8))
    first = policy.part_points({"a": 6, "b": 0}, position=1, late_days=0)
    second = policy.part_points({"a": 6, "b": 4}, position=2, late_days=0)
    assert second == {"a": 4.8, "b": 3.2}
    assert LabPolicy.lab_points([first, second]) == 6 + 3.2
    assert LabPolicy.lab_points([second, first]) == 6 + 3.2  # order does not matter
    assert LabPolicy.lab_points([]) is None
    late = LabPolicy(declining=(1.0,), penalty_per_day=0.1, max_late_days=3).part_points({"a": 10}, position=1, late_days=2)
    assert late == {"a": 8.0}


@pytest.mark.django_db
def test_a_correct_later_attempt_never_lowers_or_undercuts(course, student: User) -> None:
    lab = make_lab(course, "lab1", attempts_policy=DECLINING)  # conv 3 points, cost 2
    first = _submit(lab, student, wrong=_wrong_cost(lab, student))
    assert first.points == Decimal("3.0000") and first.part_points == {"conv": 3.0, "cost": 0.0}
    second = _submit(lab, student)  # all right, at 80 %
    assert second.points == Decimal("4.0000") and second.part_points == {"conv": 2.4, "cost": 1.6}
    # Best per part: conv's 3 from attempt 1, cost's 1.6 from attempt 2 — more than either attempt.
    assert lab_row_for_student(user=student, lab=lab).best_points == Decimal("4.6")
    third = _submit(lab, student, wrong=_wrong_conv(lab, student))  # a worse attempt lowers nothing
    assert third.points < second.points
    row = lab_row_for_student(user=student, lab=lab)
    assert row.best_points == Decimal("4.6")

    # One rule, read the same everywhere: the lab page, the course's lab list, the API, the gradebook.
    client = _client(student)
    page = client.get("/labs/lab1/").content.decode()
    assert "data-best>4.60 / 5<" in page, page[page.find("data-best"):page.find("data-best") + 80]
    assert "data-best>4.60 / 5<" in client.get("/courses/dlcv/labs/").content.decode()
    grades = json.loads(client.get("/api/me/grades/", headers={"Accept": "application/json"}).content)
    assert [g["best_score"] for g in grades if g["lab"] == "lab1"] == [4.6]
    book = course_gradebook(course=course)
    assert book.rows[0].points[0] == Decimal("4.6")


@pytest.mark.django_db
def test_a_mostly_wrong_first_attempt_does_not_outscore_a_correct_second(course, student: User) -> None:
    lab = make_lab(course, "lab1", attempts_policy=DECLINING)
    first = _submit(lab, student, wrong=_wrong_conv(lab, student))
    second = _submit(lab, student)
    lab_points = lab_row_for_student(user=student, lab=lab).best_points
    assert lab_points is not None and lab_points >= max(first.points, second.points)
    assert lab_points == Decimal("2") + Decimal("3") * Decimal("0.8")  # cost from 1, conv from 2


@pytest.mark.django_db
def test_a_regrade_keeps_the_rule(course, student: User, django_capture_on_commit_callbacks) -> None:
    lab = make_lab(course, "lab1", attempts_policy=DECLINING)
    _submit(lab, student, wrong=_wrong_cost(lab, student))
    _submit(lab, student)
    with django_capture_on_commit_callbacks(execute=False):
        lab_regrade(lab=lab)
    assert Submission.objects.filter(lab=lab, part_points={}).count() == 2  # nothing stale is read
    assert lab_row_for_student(user=student, lab=lab).best_points is None
    for submission in Submission.objects.filter(lab=lab).order_by("-number"):  # any order
        submission_grade(submission_id=submission.pk)
    assert lab_row_for_student(user=student, lab=lab).best_points == Decimal("4.6")


@pytest.mark.django_db
def test_the_lab_page_states_the_policy_in_both_languages(course, student: User) -> None:
    make_lab(course, "lab1", attempts_policy=DECLINING)
    client = _client(student)
    html = client.get("/labs/lab1/").content.decode()
    assert "Best per part" in html and "100 %, 80 %, 60 %" in html
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hant"
    html = client.get("/labs/lab1/").content.decode()
    assert "每一部分" in html and "100 %, 80 %, 60 %" in html


@pytest.mark.django_db
def test_other_students_submissions_do_not_count(course, student: User) -> None:
    lab = make_lab(course, "lab1", attempts_policy=DECLINING)
    other = make_member(course, Role.STUDENT, username="bob")
    _submit(lab, other)
    _submit(lab, student, wrong=_wrong_cost(lab, student))
    assert lab_row_for_student(user=student, lab=lab).best_points == Decimal("3")
    book = {row.student.username: row.points[0] for row in course_gradebook(course=course).rows}
    assert book == {"alice": Decimal("3"), "bob": Decimal("5")}


@pytest.mark.django_db(transaction=True)
def test_submissions_graded_before_get_their_points_per_part(migration_executor: MigrationExecutor) -> None:
    old = migrate_to(migration_executor, [("labs", "0006_translations")])
    user = old.get_model("accounts", "User").objects.create(username="graded-before")
    course = old.get_model("accounts", "Course").objects.create(slug="c", title="C")
    numeric = old.get_model("labs", "Lab").objects.create(course=course, slug="n", title="N")
    code = old.get_model("labs", "Lab").objects.create(course=course, slug="k", title="K", kind="code")
    OldSubmission = old.get_model("labs", "Submission")
    now = timezone.now()
    result = {"version": 2, "score": 0.8, "points": 4.0, "max_points": 5.0,
              "parts": [{"name": "conv", "score": 1.0, "points": 3.0, "max_points": 3.0},
                        {"name": "cost", "score": 0.5, "points": 1.0, "max_points": 2.0}],
              "policy": {"attempt": 2, "attempt_factor": 0.8, "late_days": 0, "late_factor": 1.0}}
    graded = OldSubmission.objects.create(lab=numeric, user=user, number=2, status="graded", finished_at=now,
                                          points=Decimal("3.2"), score=Decimal("0.8"), result=result)
    coded = OldSubmission.objects.create(lab=code, user=user, number=1, status="graded", finished_at=now,
                                         points=Decimal("7"), score=Decimal("0.7"),
                                         result={"score": 0.7, "points": 7, "max_points": 10, "tests": []})
    queued = OldSubmission.objects.create(lab=numeric, user=user, number=3, status="queued")

    new = migrate_to(migration_executor, [("labs", "0007_submission_part_points")])
    rows = {row.pk: row for row in new.get_model("labs", "Submission").objects.all()}
    assert rows[graded.pk].part_points == {"conv": 2.4, "cost": 0.8}
    assert rows[coded.pk].part_points == {"": 7.0}
    assert rows[queued.pk].part_points == {}
