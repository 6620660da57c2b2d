"""Factories for assessments built from a small, real slice of the shipped bank."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from django.utils import timezone

from accounts.models import Course
from quizzes.models import Assessment, AssessmentItem, AssessmentMode, Question
from quizzes.services.bank import bank_read, bank_sync

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
_contents = None


def load_shipped_bank() -> None:
    """Load the real bank once per process (parsing is cached; syncing is per test database)."""
    global _contents
    if _contents is None:
        _contents, errors = bank_read(fixtures_dir=FIXTURES)
        assert errors == []
    bank_sync(contents=_contents)


def make_assessment(course: Course, bank_ids: list[str], *, mode: str = AssessmentMode.EXAM,
                    minutes: int | None = 60, slug: str = "exam", **fields: object) -> Assessment:
    now = timezone.now()
    defaults: dict[str, object] = {"published": True, "time_limit_minutes": minutes}
    if mode == AssessmentMode.EXAM:
        defaults.update(opens_at=now - timedelta(hours=1), closes_at=now + timedelta(hours=3))
    defaults.update(fields)
    assessment = Assessment.objects.create(course=course, slug=slug, title=slug, mode=mode, **defaults)
    for position, bank_id in enumerate(bank_ids, start=1):
        AssessmentItem.objects.create(assessment=assessment, position=position,
                                      question=Question.objects.get(bank_id=bank_id))
    return assessment


def save_answer(item: Any, *, response: Any, now: Any = None, user: Any = None) -> Any:
    """Autosave ``response`` to ``item`` as its attempt's student (or ``user``)."""
    from quizzes.services.attempts import attempt_item_save

    return attempt_item_save(user=user or item.attempt.user, attempt_id=item.attempt_id, item_id=item.pk,
                             response=response, now=now)
