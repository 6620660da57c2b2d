"""Item analysis in the app: the selector's matrix equals the attempts in the database, the
population filter, the simulated exam's planted faults flagged, and the pages (staff only, a fixed
number of queries, CSP-clean, accessible charts, CSV)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Course, Role, User
from accounts.tests.factories import PASSWORD, make_course, make_member, make_user
from grader.item_analysis import FLAG_NEGATIVE_DISCRIMINATION, FLAG_UNFAIR_VARIANTS, ItemColumn, analyse
from quizzes.analysis_selectors import assessment_analysis, question_analysis
from quizzes.models import Assessment, AssessmentMode, Attempt, AttemptItem, AttemptStatus, Question
from quizzes.services.simulation import BAD_ITEM, UNFAIR_ITEM, SimulationError, simulated_exam_create
from quizzes.tests.factories import load_shipped_bank, make_assessment

pytestmark = pytest.mark.usefixtures("postgres_required")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def course(db: None) -> Course:
    load_shipped_bank()
    return make_course("dlcv")


@pytest.fixture
def simulated(course: Course) -> Assessment:
    return simulated_exam_create(course=course, students=60, seed=3).assessment


def login(user: User) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_the_selector_reads_the_attempts_as_they_are_stored(simulated: Assessment) -> None:
    """The statistics equal analyse() of a matrix built row by row from the ORM."""
    attempts = list(Attempt.objects.filter(assessment=simulated).order_by("user_id", "number"))
    bank_ids = list(simulated.items.order_by("position").values_list("question__bank_id", flat=True))
    matrix = np.full((len(attempts), len(bank_ids)), np.nan)
    points = [0.0] * len(bank_ids)
    for i, attempt in enumerate(attempts):
        for item in attempt.items.select_related("question_version__question"):
            j = bank_ids.index(item.question_version.question.bank_id)
            matrix[i, j] = float(item.score)
            points[j] = float(item.max_points)
    direct = analyse(matrix, [ItemColumn(key=b, max_points=p) for b, p in zip(bank_ids, points, strict=True)])
    found = assessment_analysis(assessment=simulated).stats
    assert [item.key for item in found.items] == bank_ids
    assert (found.n, found.mean, found.sd, found.alpha) == (direct.n, direct.mean, direct.sd, direct.alpha)
    for ours, theirs in zip(found.items, direct.items, strict=True):
        assert (ours.facility, ours.discrimination, ours.item_rest_r) == (
            theirs.facility, theirs.discrimination, theirs.item_rest_r)
    # Every choice item's options (single, multiple, true/false) are read from the saved responses,
    # and every item's misconception tags from the stored feedback.
    for item in found.items:
        rows = AttemptItem.objects.filter(attempt__assessment=simulated, question_version__question__bank_id=item.key)
        qtype = Question.objects.get(bank_id=item.key).type
        if qtype in ("single", "multiple", "truefalse"):
            counts: dict[int, int] = {}
            for response in rows.values_list("response", flat=True):
                picked = ([response["choice"]] if qtype == "single" else response["choices"] if qtype == "multiple"
                          else [0 if response["value"] else 1])
                for index in picked:
                    counts[index] = counts.get(index, 0) + 1
            assert {o.index: o.count for o in item.options if o.count} == counts, item.key
        tags: dict[str, int] = {}
        for feedback in rows.values_list("feedback", flat=True):
            for tag in set(feedback["misconceptions"]):
                tags[tag] = tags.get(tag, 0) + 1
        assert {m.tag: m.count for m in item.misconceptions} == tags, item.key
    assert {q.type for q in Question.objects.filter(bank_id__in=bank_ids)} >= {"single", "multiple", "truefalse",
                                                                                "numeric", "param"}


def test_the_simulated_exam_s_planted_faults_are_flagged(course: Course, capsys: Any) -> None:
    call_command("simulate_exam", course="dlcv", students=100, seed=1)
    out = capsys.readouterr().out
    assessment = Assessment.objects.get(course=course, slug="simulated-exam")
    stats = assessment_analysis(assessment=assessment).stats
    assert stats.n == 100
    flags = {item.key: item.flags for item in stats.items}
    assert FLAG_NEGATIVE_DISCRIMINATION in flags[BAD_ITEM]
    assert FLAG_UNFAIR_VARIANTS in flags[UNFAIR_ITEM]
    # Only the planted item discriminates the wrong way.
    assert [key for key, f in flags.items() if FLAG_NEGATIVE_DISCRIMINATION in f] == [BAD_ITEM]
    unfair = next(item for item in stats.items if item.key == UNFAIR_ITEM)
    assert {g.group for g in unfair.variant_groups} == {"convolution", "correlation"}
    assert unfair.misconceptions[0].tag == "kernel-not-flipped"
    assert f"{BAD_ITEM}:" in out and "negative_discrimination" in out and "unfair_variants" in out


def test_the_simulation_refuses_bad_input(course: Course) -> None:
    simulated_exam_create(course=course, students=3, slug="once")
    with pytest.raises(SimulationError, match="already has"):
        simulated_exam_create(course=course, students=3, slug="once")
    with pytest.raises(SimulationError, match="at least 2"):
        simulated_exam_create(course=course, students=1, slug="other")


def _attempt(assessment: Assessment, user: User, number: int, scores: list[float | None],
             status: str = AttemptStatus.SUBMITTED) -> Attempt:
    now = timezone.now() - timedelta(hours=number)
    attempt = Attempt.objects.create(assessment=assessment, user=user, number=number, status=status, started_at=now,
                                     submitted_at=now if status != AttemptStatus.IN_PROGRESS else None)
    for position, (item, score) in enumerate(zip(assessment.items.order_by("position"), scores, strict=True), 1):
        AttemptItem.objects.create(attempt=attempt, position=position, question_version=item.question.current_version,
                                   max_points=Decimal(1), score=None if score is None else Decimal(str(score)),
                                   response={"choice": 0} if item.question.type == "single" else None)
    return attempt


def test_populations_and_unfinished_or_ungraded_answers(course: Course) -> None:
    bank_ids = ["conv-feature-map-channels-01", "conv-flip-kernel-04"]
    practice = make_assessment(course, bank_ids, mode=AssessmentMode.PRACTICE, slug="practice")
    alice, bob = make_member(course), make_member(course)
    _attempt(practice, alice, 1, [0.0, 0.0])
    _attempt(practice, alice, 2, [1.0, 1.0])
    _attempt(practice, bob, 1, [1.0, None])  # an answer not graded yet: missing, not zero
    _attempt(practice, bob, 2, [1.0, 1.0], status=AttemptStatus.IN_PROGRESS)  # never counted
    every = assessment_analysis(assessment=practice, population="all").stats
    first = assessment_analysis(assessment=practice, population="first").stats
    assert every.n == 3 and first.n == 2
    assert [i.n for i in every.items] == [3, 2] and [i.n for i in first.items] == [2, 1]
    assert first.items[0].facility == 0.5 and every.items[0].facility == pytest.approx(2 / 3)
    assert first.alpha_n == 1  # bob's first attempt lacks a graded answer


def test_a_question_across_assessments(course: Course) -> None:
    one = make_assessment(course, ["conv-feature-map-channels-01", "conv-flip-kernel-04"], slug="one")
    two = make_assessment(course, ["conv-flip-kernel-04"], slug="two")
    make_assessment(course, ["conv-flip-kernel-04"], slug="unanswered")
    students = [make_member(course) for _ in range(3)]
    for user, scores in zip(students, ([1.0, 1.0], [0.0, 1.0], [0.0, 0.0]), strict=True):
        _attempt(one, user, 1, scores)
    _attempt(two, students[0], 1, [0.0])
    other_course = make_course("other")
    _attempt(make_assessment(other_course, ["conv-flip-kernel-04"], slug="elsewhere"), make_member(other_course), 1,
             [1.0])
    question = Question.objects.get(bank_id="conv-flip-kernel-04")
    found = question_analysis(course=course, question=question)
    assert [(f.assessment.slug, f.item.n, f.item.facility) for f in found] == [
        ("one", 3, pytest.approx(2 / 3)), ("two", 1, 0.0)]


# --------------------------------------------------------------------------- the pages


def page_url(course: Course, assessment: Assessment, suffix: str = "") -> str:
    return reverse("instructor-assessment-analysis" + suffix, args=[course.slug, assessment.pk])


def test_only_course_staff_see_the_analysis(course: Course, simulated: Assessment) -> None:
    student = make_member(course, Role.STUDENT)
    assert login(student).get(page_url(course, simulated)).status_code == 403
    assert login(student).get(page_url(course, simulated, "-csv")).status_code == 403
    outsider = make_user()
    assert login(outsider).get(page_url(course, simulated)).status_code == 404
    other = make_course("other")
    assert login(make_member(other, Role.INSTRUCTOR)).get(page_url(course, simulated)).status_code == 404
    ta = make_member(course, Role.TA)
    assert login(ta).get(page_url(course, simulated)).status_code == 200
    assert Client().get(page_url(course, simulated)).status_code == 302  # to the login page


def test_the_page_in_a_fixed_number_of_queries(course: Course, simulated: Assessment,
                                               django_assert_max_num_queries: Any) -> None:
    client = login(make_member(course, Role.INSTRUCTOR))
    client.get(page_url(course, simulated))  # variant groups into the cache
    with django_assert_max_num_queries(10):
        response = client.get(page_url(course, simulated), {"population": "first"})
    assert response.status_code == 200
    html = response.content.decode()
    # CSP: no inline script, style attribute or event handler.
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert " style=" not in html and not re.search(r"\son[a-z]+=", html)
    # Both charts are SVG with a title and a description; the figures are also in tables.
    assert html.count('role="img"') == 2 and 'id="scatter-title"' in html and 'id="histogram-desc"' in html
    assert html.count('<circle') == len(simulated.items.all())
    assert "Negative discrimination" in html and "Unfair variants" in html
    assert "kernel-not-flipped" in html and "convolution" in html
    # Options are shown as the bank's Markdown renders them (maths as MathML), not as source.
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML"' in html and "$" not in html


def test_the_page_in_chinese_and_a_bad_population(course: Course, simulated: Assessment) -> None:
    client = login(make_member(course, Role.INSTRUCTOR))
    html = client.get(page_url(course, simulated), HTTP_ACCEPT_LANGUAGE="zh-Hant").content.decode()
    assert "試題分析" in html and "鑑別度為負" in html
    response = client.get(page_url(course, simulated), {"population": "everyone"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert client.get(page_url(course, simulated, "-csv"), {"population": "everyone"}).status_code == 400


def test_the_csv_export(course: Course, simulated: Assessment) -> None:
    client = login(make_member(course, Role.INSTRUCTOR))
    response = client.get(page_url(course, simulated, "-csv"), {"population": "first"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "simulated-exam-item-analysis-first.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["Number", "Bank id", "Title"] and len(rows) == 1 + simulated.items.count()
    stats = assessment_analysis(assessment=simulated, population="first").stats
    bad = next(row for row in rows if row[1] == BAD_ITEM)
    item = next(i for i in stats.items if i.key == BAD_ITEM)
    assert float(bad[5]) == pytest.approx(item.facility, abs=1e-4)
    assert float(bad[7]) == pytest.approx(item.discrimination, abs=1e-4)
    assert "Negative discrimination" in bad[10]


def test_the_question_page_and_the_links(course: Course, simulated: Assessment,
                                         django_assert_max_num_queries: Any) -> None:
    client = login(make_member(course, Role.INSTRUCTOR))
    client.get(reverse("instructor-question-analysis", args=[course.slug, UNFAIR_ITEM]))  # variant groups cached
    with django_assert_max_num_queries(10):
        response = client.get(reverse("instructor-question-analysis", args=[course.slug, UNFAIR_ITEM]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Simulated exam" in html and "Unfair variants" in html
    detail = client.get(reverse("instructor-assessment", args=[course.slug, simulated.pk])).content.decode()
    assert page_url(course, simulated) in detail
    student = make_member(course, Role.STUDENT)
    assert login(student).get(reverse("instructor-question-analysis", args=[course.slug, UNFAIR_ITEM])
                              ).status_code == 403


def test_an_assessment_without_finished_attempts(course: Course) -> None:
    empty = make_assessment(course, ["conv-flip-kernel-04"], slug="empty")
    response = login(make_member(course, Role.INSTRUCTOR)).get(page_url(course, empty))
    assert response.status_code == 200 and "No finished attempts yet" in response.content.decode()


def test_variant_groups_are_cached_and_a_cache_that_is_down_costs_only_time(simulated: Assessment, cache_down: None,
                                                                             caplog: Any) -> None:
    unfair = next(i for i in assessment_analysis(assessment=simulated).stats.items if i.key == UNFAIR_ITEM)
    assert {g.group for g in unfair.variant_groups} == {"convolution", "correlation"}
    assert "variant groups' cache unavailable" in caplog.text


def test_variant_groups_come_from_the_cache_once_worked_out(simulated: Assessment, monkeypatch: Any) -> None:
    from grader.problems import base

    first = assessment_analysis(assessment=simulated).stats
    monkeypatch.setattr(base.ProblemFamily, "generate", lambda *a, **k: pytest.fail("generated again"))
    again = assessment_analysis(assessment=simulated).stats
    assert [i.variant_groups for i in again.items] == [i.variant_groups for i in first.items]


def test_a_family_that_no_longer_exists_leaves_the_groups_out(simulated: Assessment, caplog: Any) -> None:
    from quizzes.models import QuestionVersion

    version = QuestionVersion.objects.get(question__bank_id=UNFAIR_ITEM)
    version.spec = {**version.spec, "family": "renamed-family"}
    version.save(update_fields=["spec"])
    unfair = next(i for i in assessment_analysis(assessment=simulated).stats.items if i.key == UNFAIR_ITEM)
    assert unfair.variant_groups == () and unfair.n == 60 and "no variant groups for renamed-family" in caplog.text
