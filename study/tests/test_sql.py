"""study.sql's statements equal their ORM rules (study.selectors.snapshot_*_orm) on the same rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from quizzes.models import AssessmentMode
from quizzes.services.attempts import attempt_start, practice_check
from quizzes.tests import test_student_pages as pages
from quizzes.tests.factories import make_assessment
from quizzes.tests.test_student_pages import NUMERIC
from study import selectors, sql
from study.models import Card, ReviewLog, StudyPreferences
from study.services import cards
from study.services.simulation import right_response

bank, course, student, student_client = pages.bank, pages.course, pages.student, pages.student_client


def _both(user, course, now):  # type: ignore[no-untyped-def]
    start = selectors.day_start(now)
    keys = {"user_id": user.pk, "course_id": course.pk, "start": start, "now": now}
    return ((sql.snapshot_head(**keys), sorted(sql.snapshot_cards(**keys))),
            (selectors.snapshot_head_orm(**keys), sorted(selectors.snapshot_cards_orm(**keys))))


@pytest.mark.django_db
@pytest.mark.parametrize("with_preferences", [False, True])
def test_the_snapshot_statements_equal_their_orm_rules(postgres_required, course, student,  # type: ignore[no-untyped-def]
                                                       with_preferences) -> None:
    now = timezone.now()
    # "Begun today" and "reviewed today" are counted from the site's midnight: the rows are placed
    # between midnight and now, whatever time of day the test runs at (00:25 in Taipei, say).
    into_today = now - selectors.day_start(now)
    empty_sql, empty_orm = _both(student, course, now)
    assert empty_sql == empty_orm and empty_sql[1] == []
    if with_preferences:
        StudyPreferences.objects.create(user=student, course=course, new_per_day=3, reviews_per_day=7)
    practice = make_assessment(course, [NUMERIC], mode=AssessmentMode.PRACTICE, minutes=None, slug="p")
    item = attempt_start(user=student, assessment=practice).items.get()
    practice_check(item=item, response=right_response(item))
    cards.attempt_item_record(item_id=item.pk, now=now - timedelta(days=3))
    card = Card.objects.get(user=student)
    Card.objects.create(user=student, course=course, skill="q:other", created_at=now - into_today / 2,
                        due=now - timedelta(hours=2), serving=item)  # due now, begun today, a variant showing
    Card.objects.create(user=student, course=course, skill="q:later", created_at=now - timedelta(days=9),
                        due=now + timedelta(days=2))  # due later: no date read
    ReviewLog.objects.create(card=card, user=student, course=course, kind="review", source="item:x", rating=3,
                             reviewed_at=now - into_today / 4, due_after=now)
    ReviewLog.objects.create(card=card, user=student, course=course, kind="review", source="item:y", rating=3,
                             reviewed_at=now + timedelta(minutes=5), due_after=now)  # after now: not counted
    by_sql, by_orm = _both(student, course, now)
    assert by_sql == by_orm
    head, rows = by_sql
    assert head[0] == (3 if with_preferences else None) and head[2] == 1 and head[3] > 0
    due_now = set(Card.objects.filter(user=student, due__lte=now).values_list("skill", flat=True))
    assert len(rows) == 3 and {row[1] for row in rows if row[3] is not None} == due_now
    assert "q:other" in due_now and "q:later" not in due_now
    assert {row[1]: row[4] for row in rows}["q:other"] is True
    assert selectors.snapshot(user=student, course=course, now=now).cards  # the page path reads the same
