"""The rubric's one scoring rule, pure (no Django): an answer's points are the sum of the rubric items
applied to it plus the grader's free adjustment, clamped to [0, the item's max_points].

Used by every write of a rubric grade (``quizzes.services.rubric``: grading one answer, and re-scoring
every answer a rubric item was applied to when its points change) and tested without a database.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["rubric_points", "rubric_score"]

_SCORE_PLACES = Decimal("0.0001")  # AttemptItem.score's precision


def rubric_points(*, applied: Iterable[Decimal], adjustment: Decimal, max_points: Decimal) -> Decimal:
    """Points earned: ``clamp(sum(applied) + adjustment, 0, max_points)``."""
    total = sum(applied, Decimal(0)) + adjustment
    return min(max(total, Decimal(0)), max(max_points, Decimal(0)))


def rubric_score(*, applied: Iterable[Decimal], adjustment: Decimal, max_points: Decimal) -> Decimal:
    """The same as a fraction 0–1 of ``max_points`` (what ``AttemptItem.score`` stores); 0 when the
    item is worth nothing."""
    if max_points <= 0:
        return Decimal(0)
    points = rubric_points(applied=applied, adjustment=adjustment, max_points=max_points)
    return (points / max_points).quantize(_SCORE_PLACES, rounding=ROUND_HALF_UP)
