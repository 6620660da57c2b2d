"""quizzes 0002 renames Attempt.score → points, Attempt.max_score → max_points and AttemptItem.points →
max_points: every stored attempt keeps its values (both ways)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from dlcv_site.tests.db_support import migrate_to

BEFORE = [("quizzes", "0001_initial")]
AFTER = [("quizzes", "0002_attempt_points_and_item_max_points")]


@pytest.mark.django_db(transaction=True)
def test_the_rename_keeps_every_attempt_points_both_ways(migration_executor: MigrationExecutor) -> None:
    old = migrate_to(migration_executor, BEFORE)
    user = old.get_model("accounts", "User").objects.create(username="before-the-rename")
    course = old.get_model("accounts", "Course").objects.create(slug="c", title="C")
    topic = old.get_model("quizzes", "Topic").objects.create(slug="t", name_zh="t", name_en="t")
    question = old.get_model("quizzes", "Question").objects.create(bank_id="q", topic=topic, type="numeric")
    version = old.get_model("quizzes", "QuestionVersion").objects.create(
        question=question, number=1, content_hash="h", source_text="s", title="T", prompt="p", explanation="e")
    assessment = old.get_model("quizzes", "Assessment").objects.create(course=course, slug="a", title="A")
    attempt = old.get_model("quizzes", "Attempt").objects.create(
        assessment=assessment, user=user, status="submitted", started_at=timezone.now(),
        score=Decimal("1.875"), max_score=Decimal("2.500"))
    unsubmitted = old.get_model("quizzes", "Attempt").objects.create(
        assessment=assessment, user=user, number=2, started_at=timezone.now(), max_score=Decimal("2.500"))
    item = old.get_model("quizzes", "AttemptItem").objects.create(
        attempt=attempt, position=1, question_version=version, points=Decimal("2.50"), score=Decimal("0.7500"))

    new = migrate_to(migration_executor, AFTER)
    stored = new.get_model("quizzes", "Attempt").objects.get(pk=attempt.pk)
    assert (stored.points, stored.max_points) == (Decimal("1.875"), Decimal("2.500"))
    stored = new.get_model("quizzes", "Attempt").objects.get(pk=unsubmitted.pk)
    assert (stored.points, stored.max_points) == (None, Decimal("2.500"))
    stored = new.get_model("quizzes", "AttemptItem").objects.get(pk=item.pk)
    assert (stored.max_points, stored.score) == (Decimal("2.50"), Decimal("0.7500"))

    old = migrate_to(migration_executor, BEFORE)  # and back: the old names get their values again
    stored = old.get_model("quizzes", "Attempt").objects.get(pk=attempt.pk)
    assert (stored.score, stored.max_score) == (Decimal("1.875"), Decimal("2.500"))
    assert old.get_model("quizzes", "AttemptItem").objects.get(pk=item.pk).points == Decimal("2.50")
