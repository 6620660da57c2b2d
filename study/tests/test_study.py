"""The study plan through its services and pages: graded answers update cards once each, exams only
after release, the review session serves due cards as fresh variants and a diagnosed mistake as
variants built to expose it, the pages stay within their queries, over days set by a test clock."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import make_member
from grader import spaced
from grader.problems import get_family
from quizzes.models import AssessmentMode, AttemptItem
from quizzes.services.attempts import attempt_start, attempt_submit, practice_check
from quizzes.services.authoring import assessment_release_results
from quizzes.tests import test_student_pages as pages
from quizzes.tests.factories import make_assessment, save_answer
from quizzes.tests.test_student_pages import NUMERIC
from study import selectors
from study.models import Card, ReviewLog, StudyPreferences
from study.services import cards
from study.services.simulation import right_response

bank, course, student, student_client = pages.bank, pages.course, pages.student, pages.student_client
MAX_QUERIES = 10


def mistake_response(item: AttemptItem) -> tuple[str, dict[str, Any]]:
    """A parameterized item answered with one of its family's main misconceptions: (tag, response)."""
    spec = item.question_version.spec
    family = get_family(spec["family"])
    params = family.generate(item.seed, spec.get("constraints") or None)
    alternatives = family.alternatives(params)
    tag = next(m.tag for m in family.misconceptions if m.main and m.tag in alternatives)
    return tag, {"parts": {**family.solve(params), **alternatives[tag]}}


def _post(client: Client, url: str, body: object) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json", HTTP_ACCEPT="application/json")


@pytest.mark.django_db
def test_a_practice_check_updates_its_card_once(course, student) -> None:  # type: ignore[no-untyped-def]
    practice = make_assessment(course, [NUMERIC], mode=AssessmentMode.PRACTICE, minutes=None, slug="p")
    item = attempt_start(user=student, assessment=practice).items.get()
    practice_check(item=item, response=right_response(item))
    assert cards.attempt_item_record(item_id=item.pk) == 1
    assert cards.attempt_item_record(item_id=item.pk) == 0  # the task delivered again: nothing more
    card = Card.objects.get(user=student, skill=spaced.concept_skill(NUMERIC))
    assert card.reps == 1 and card.due > timezone.now() and card.topic_id is not None
    assert ReviewLog.objects.get(card=card).rating == spaced.Rating.GOOD


@pytest.mark.django_db
def test_exam_answers_reach_the_plan_only_after_release(course, student) -> None:  # type: ignore[no-untyped-def]
    exam = make_assessment(course, [NUMERIC], mode=AssessmentMode.EXAM, slug="final")
    attempt = attempt_start(user=student, assessment=exam)
    item = attempt.items.get()
    save_answer(item, response=right_response(item))
    attempt_submit(attempt=attempt)
    assert cards.attempt_record(attempt_id=attempt.pk) == 0
    assessment_release_results(assessment=exam, now=timezone.now())
    assert cards.assessment_record(assessment_id=exam.pk) == 1
    assert ReviewLog.objects.get(user=student).kind == "exam"


@pytest.mark.django_db
def test_a_misconception_schedules_variants_that_expose_it(course, student, student_client, settings) -> None:  # type: ignore[no-untyped-def]
    """Over simulated days: a wrong parameterized answer with a named mistake gives that mistake a
    card; when it comes back, the review serves a variant in which the mistake gives a wrong answer."""
    day0 = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0)
    settings.STUDY_TEST_CLOCK = day0
    StudyPreferences.objects.create(user=student, course=course, new_per_day=1, reviews_per_day=50)
    url = reverse("study-review", args=[course.slug]) + "?skill=" + spaced.family_skill("conv-by-hand")
    page = student_client.get(url)
    assert page.status_code == 200
    card = Card.objects.get(user=student, skill="f:conv-by-hand")
    item = card.serving
    tag, response = mistake_response(item)
    check = _post(student_client, reverse("study-review-check", args=[course.slug, item.pk]), {"response": response})
    body = check.json()
    assert body["score"] < 1 and tag in body["misconceptions"]
    assert "Again tomorrow" in body["html"] and "variants built to expose it" in body["html"]
    mistake = Card.objects.get(user=student, skill=spaced.family_skill("conv-by-hand", tag))
    assert mistake.due <= day0 + timedelta(days=2)
    # The same day: nothing is due, and the daily new card is used.
    assert "Nothing is due now" in student_client.get(reverse("study-review", args=[course.slug])).content.decode()
    # Two days on, the mistake's card is due: its variant exposes the mistake.
    settings.STUDY_TEST_CLOCK = day0 + timedelta(days=2)
    page = student_client.get(reverse("study-review", args=[course.slug]) + "?skill=" + mistake.skill)
    assert page.status_code == 200
    mistake.refresh_from_db()
    served = mistake.serving
    assert served is not None and served.pk != item.pk and served.seed != item.seed
    family = get_family("conv-by-hand")
    params = family.generate(served.seed, served.question_version.spec.get("constraints") or None)
    assert tag in family.alternatives(params) and tag not in family.undiscriminated(params)
    check = _post(student_client, reverse("study-review-check", args=[course.slug, served.pk]),
                  {"response": right_response(served)})
    assert check.json()["score"] == 1
    mistake.refresh_from_db()
    assert mistake.reps == 2 and mistake.due > day0 + timedelta(days=3)


@pytest.mark.django_db
def test_reviews_over_days_raise_readiness_and_keep_to_the_limits(course, student, student_client, settings) -> None:  # type: ignore[no-untyped-def]
    start = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0)
    make_assessment(course, [NUMERIC], mode=AssessmentMode.EXAM, slug="final", opens_at=start + timedelta(days=10),
                    closes_at=start + timedelta(days=10, hours=2))
    StudyPreferences.objects.create(user=student, course=course, new_per_day=3, reviews_per_day=50)
    before = selectors.readiness(user=student, course=course, now=start)
    served_per_day = []
    for day in range(4):
        now = start + timedelta(days=day)
        settings.STUDY_TEST_CLOCK = now
        served = 0
        while served < 30:
            page = student_client.get(reverse("study-review", args=[course.slug]))
            if "data-review-done" in page.content.decode():
                break
            card = Card.objects.filter(user=student, serving__isnull=False).select_related("serving").get()
            item = card.serving
            body = _post(student_client, reverse("study-review-check", args=[course.slug, item.pk]),
                         {"response": right_response(item)}).json()
            assert body["score"] == 1, body
            served += 1
        served_per_day.append(served)
        new_today = Card.objects.filter(user=student, created_at__gte=selectors.day_start(now)).count()
        assert new_today <= 3
    assert served_per_day[0] == 3  # three new cards, nothing due yet
    after = selectors.readiness(user=student, course=course, now=start + timedelta(days=3, hours=1))
    assert after.overall_plan > before.overall_plan and after.overall_stop > before.overall_stop
    assert all(card.due <= start + timedelta(days=10) - spaced.FINAL_WINDOW + timedelta(days=1)
               for card in Card.objects.filter(user=student))
    panel = selectors.today_panel(user=student, course=course, now=start + timedelta(days=3, hours=1))
    assert panel is not None and panel["exam"]["days"] == 7 and panel["done_today"] == served_per_day[3]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["study-plan", "study-review", "study-readiness"])
def test_study_pages_stay_within_their_queries(course, student, student_client, name) -> None:  # type: ignore[no-untyped-def]
    practice = make_assessment(course, pages.ONE_OF_EACH[:5], mode=AssessmentMode.PRACTICE, minutes=None, slug="p")
    for item in attempt_start(user=student, assessment=practice).items.all():
        practice_check(item=item, response=right_response(item))
        cards.attempt_item_record(item_id=item.pk)
    student_client.get(reverse(name, args=[course.slug]))  # the review session's attempt exists
    with CaptureQueriesContext(connection) as queries:
        assert student_client.get(reverse(name, args=[course.slug])).status_code == 200
    assert len(queries) <= MAX_QUERIES, "\n".join(q["sql"][:150] for q in queries)


@pytest.mark.django_db
def test_others_cannot_answer_a_students_review_item_and_students_cannot_open_the_fit_page(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    student_client.get(reverse("study-review", args=[course.slug]))
    item = Card.objects.get(user=student, serving__isnull=False).serving
    bob = make_member(course, username="bob")
    other = Client()
    other.force_login(bob)
    assert _post(other, reverse("study-review-check", args=[course.slug, item.pk]), {"response": {}}).status_code == 404
    assert student_client.get(reverse("study-fit", args=[course.slug])).status_code == 403
    ta = make_member(course, role=Role.INSTRUCTOR, username="prof")
    staff = Client()
    staff.force_login(ta)
    page = staff.get(reverse("study-fit", args=[course.slug]))
    assert page.status_code == 200 and "Not fitted yet" in page.content.decode()


@pytest.mark.django_db
def test_the_simulation_command_studies_through_the_services(course) -> None:  # type: ignore[no-untyped-def]
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("simulate_study", "--course", course.slug, "--students", "2", "--days", "4",
                 "--start", "2026-11-01T09:00:00+08:00", stdout=out)
    assert "2 students × 4 days" in out.getvalue()
    logs = ReviewLog.objects.filter(course=course, user__username__startswith="sim-")
    assert logs.values("user").distinct().count() == 2
    assert logs.filter(predicted__isnull=False).exists()  # cards came back on later days
    assert all(log.reviewed_at.date() >= timezone.datetime(2026, 11, 1).date() for log in logs)


@pytest.mark.django_db
def test_the_past_exam_buttons_rate_the_questions_skill_once_a_day(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    make_assessment(course, [NUMERIC], mode=AssessmentMode.MOCK, minutes=None, slug="past")
    url = reverse("study-self-rate", args=[course.slug, NUMERIC])
    answer = student_client.post(url, {"rating": "not_yet", "next": "/courses/dlcv/"})
    assert answer.status_code == 302 and answer["Location"] == "/courses/dlcv/"
    card = Card.objects.get(user=student, skill=spaced.concept_skill(NUMERIC))
    assert ReviewLog.objects.get(card=card).rating == spaced.Rating.AGAIN
    student_client.post(url, {"rating": "can", "next": "https://elsewhere.example/"})
    assert ReviewLog.objects.filter(card=card).count() == 1  # once a day
    assert student_client.post(reverse("study-self-rate", args=[course.slug, "no-such-question"]),
                               {"rating": "can"}).status_code == 404


@pytest.mark.django_db
def test_the_course_parameters_are_fitted_from_its_logs_once_there_are_enough(course, student) -> None:  # type: ignore[no-untyped-def]
    from grader.spaced import CardState, Rating, review, scheduler
    from study.models import StudySettings
    from study.services.fit import parameters_fit

    assert parameters_fit(course_id=course.pk).fitted is False  # no logs: the defaults stay
    sched = scheduler()
    start = timezone.now() - timedelta(days=120)
    rows = []
    for n in range(60):
        card = Card.objects.create(user=student, course=course, skill=f"q:fit-{n}", created_at=start)
        state, moment = CardState(), start + timedelta(hours=n)
        for k in range(9):
            rating = Rating.AGAIN if (n + k) % 5 == 0 else Rating.GOOD
            state = review(state, rating, moment, sched=sched)
            rows.append(ReviewLog(card=card, user=student, course=course, kind="review", source=f"fit:{n}:{k}",
                                  rating=int(rating), reviewed_at=moment, due_after=state.due))
            moment = state.due
    ReviewLog.objects.bulk_create(rows)
    fit = parameters_fit(course_id=course.pk, min_reviews=400)
    assert fit.fitted and fit.reviews == 540 and 0 < fit.log_loss < 1.5 and fit.default_log_loss is not None
    settings = StudySettings.objects.get(course=course)
    assert settings.fit_reviews == 540 and settings.fit_log_loss == pytest.approx(fit.log_loss)
    assert settings.parameters == [] or len(settings.parameters) == 21


@pytest.mark.parametrize("target", [0.8, 0.9, 0.95])
def test_the_readiness_charts_dashed_line_is_the_courses_target(target: float) -> None:
    from study import presenters

    view = selectors.ReadinessView(exam=None, exam_at=timezone.now(), topics=[], overall_plan=0.97, overall_stop=0.5,
                                   verdict=spaced.Verdict(predicted=0.97, target=target))
    chart = presenters.readiness_chart(view)
    box = presenters.CHART
    assert chart["goal_x"] == pytest.approx(box["left"] + target * (box["right"] - box["left"]), abs=0.1)
    assert chart["target"] == presenters.percent(target)
