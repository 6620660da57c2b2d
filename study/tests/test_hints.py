"""A hint opened before answering reaches the rating: quiz.js sends ``hint_used`` with the answer's save
and check (practice, the review session), the item keeps it while it is not graded, and the cards read
a right answer with a hint as Hard. Without the flag (no script) the same answer is Good."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from grader import spaced
from quizzes.models import AssessmentMode, AttemptItem, Question
from quizzes.services.bank import BankContents, bank_sync
from quizzes.tests import test_student_pages as pages
from quizzes.tests.factories import make_assessment
from study.models import Card, ReviewLog, StudyPreferences
from study.services import cards
from study.services.simulation import right_response

course, student, student_client = pages.course, pages.student, pages.student_client
#: Two numeric questions of the bank with a hint (in both languages).
HINTED = ["ssl-simclr-03", "patchgan-rf-01"]


@pytest.fixture
def bank(db) -> None:  # type: ignore[no-untyped-def]
    contents = pages._bank()
    wanted = {*pages.TWENTY, *HINTED}
    bank_sync(contents=BankContents(topics=contents.topics, mock_exams={},
                                    questions=[q for q in contents.questions if q.id in wanted]))


def _post(client: Client, url: str, body: object) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json", HTTP_ACCEPT="application/json")


def _rating(item: AttemptItem) -> int:
    return ReviewLog.objects.get(source=f"item:{item.pk}", card__skill=spaced.concept_skill(
        item.question_version.question.bank_id)).rating


@pytest.mark.django_db
def test_a_hint_opened_before_a_right_practice_answer_makes_it_hard(course, student,  # type: ignore[no-untyped-def]
                                                                    student_client) -> None:
    practice = make_assessment(course, HINTED, mode=AssessmentMode.PRACTICE, minutes=None, slug="p")
    attempt = student_client.post(reverse("assessment-start", args=[course.slug, practice.slug]))
    assert attempt.status_code == 302
    with_hint, without = AttemptItem.objects.filter(attempt__user=student).select_related(
        "question_version__question").order_by("position")
    page = student_client.get(attempt["Location"]).content.decode()
    assert page.count('<details class="hint" data-hint>') == 2 and page.count('value="0" data-hint-used') == 2

    # The hint opened, then the answer typed: the autosave carries the flag; the check (first grade) too.
    save = _post(student_client, reverse("item-save", args=[attempt_id := with_hint.attempt_id, with_hint.pk]),
                 {"response": right_response(with_hint), "hint_used": True})
    assert save.status_code == 200
    with_hint.refresh_from_db()
    assert with_hint.hint_used
    check = _post(student_client, reverse("item-check", args=[attempt_id, with_hint.pk]),
                  {"response": right_response(with_hint), "hint_used": True})
    assert check.json()["score"] == 1
    # The same right answer with no flag (no script, or the hint left closed).
    check = _post(student_client, reverse("item-check", args=[attempt_id, without.pk]),
                  {"response": right_response(without)})
    assert check.json()["score"] == 1
    for item in (with_hint, without):
        cards.attempt_item_record(item_id=item.pk)
    assert _rating(with_hint) == spaced.Rating.HARD
    assert _rating(without) == spaced.Rating.GOOD
    without.refresh_from_db()
    assert not without.hint_used

    # Opened after the answer was graded: a later check or save does not count it.
    _post(student_client, reverse("item-check", args=[attempt_id, without.pk]),
          {"response": right_response(without), "hint_used": True})
    _post(student_client, reverse("item-save", args=[attempt_id, without.pk]),
          {"response": right_response(without), "hint_used": True})
    without.refresh_from_db()
    assert not without.hint_used
    # The student's page says so on the item with the hint used.
    page = student_client.get(attempt["Location"]).content.decode()
    assert page.count('small hint-used"') == 1 and 'value="1" data-hint-used' in page


@pytest.mark.django_db
def test_a_hint_opened_in_the_review_session_makes_a_right_answer_hard(course, student,  # type: ignore[no-untyped-def]
                                                                       student_client, settings) -> None:
    settings.STUDY_TEST_CLOCK = timezone.now()
    StudyPreferences.objects.create(user=student, course=course, new_per_day=5, reviews_per_day=50)
    ratings = {}
    for hint_used in (True, False):
        topic = Question.objects.get(bank_id=HINTED[hint_used]).topic.slug  # each hinted question's own topic
        page = student_client.get(reverse("study-review", args=[course.slug]) + f"?topic={topic}")
        assert page.status_code == 200 and '<details class="hint" data-hint>' in page.content.decode()
        item = Card.objects.get(user=student, serving__isnull=False).serving
        body = {"response": right_response(item)} | ({"hint_used": True} if hint_used else {})
        check = _post(student_client, reverse("study-review-check", args=[course.slug, item.pk]), body)
        assert check.status_code == 200 and check.json()["score"] == 1
        item.refresh_from_db()
        assert item.hint_used is hint_used
        ratings[hint_used] = ReviewLog.objects.get(source=f"item:{item.pk}").rating
    assert ratings == {True: spaced.Rating.HARD, False: spaced.Rating.GOOD}
