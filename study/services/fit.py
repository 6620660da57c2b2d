"""Fitting a course's FSRS parameters from its own review logs (the ``fsrs`` package's Optimizer).

Below ``MIN_REVIEWS`` logs the defaults stay: a fit on a handful of answers would only be noise.
The fit and the defaults' log loss on the same logs are stored for the instructors' page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone
from fsrs import Optimizer, Rating
from fsrs import ReviewLog as FsrsReviewLog
from fsrs.scheduler import DEFAULT_PARAMETERS

from study.models import ReviewLog, StudySettings
from study.services.cards import study_settings_for

MIN_REVIEWS = 400


@dataclass(frozen=True)
class Fit:
    fitted: bool
    reviews: int
    log_loss: float | None = None
    default_log_loss: float | None = None


def _logs(course_id: int) -> list[FsrsReviewLog]:
    rows = ReviewLog.objects.filter(course_id=course_id).order_by("reviewed_at", "id").values_list(
        "card_id", "rating", "reviewed_at", "duration_ms")
    return [FsrsReviewLog(card_id=card_id, rating=Rating(rating), review_datetime=at.astimezone(UTC),
                          review_duration=duration) for card_id, rating, at, duration in rows]


def parameters_fit(*, course_id: int, now: datetime | None = None, min_reviews: int = MIN_REVIEWS) -> Fit:
    """Fit and store the course's parameters when it has ``min_reviews`` logs; else keep the defaults."""
    now = now or timezone.now()
    logs = _logs(course_id)
    if len(logs) < min_reviews:
        return Fit(fitted=False, reviews=len(logs))
    optimizer = Optimizer(logs)
    parameters = [float(p) for p in optimizer.compute_optimal_parameters()]
    loss = float(optimizer._compute_batch_loss(parameters=parameters))
    default_loss = float(optimizer._compute_batch_loss(parameters=list(DEFAULT_PARAMETERS)))
    _store(course_id, parameters, len(logs), loss, default_loss, now)
    return Fit(fitted=True, reviews=len(logs), log_loss=loss, default_log_loss=default_loss)


@transaction.atomic
def _store(course_id: int, parameters: list[float], reviews: int, loss: float, default_loss: float,
           now: datetime) -> StudySettings:
    settings = study_settings_for(course_id=course_id)
    settings = StudySettings.objects.select_for_update().get(pk=settings.pk)
    # The fit is kept only when it predicts the course's answers better than the defaults.
    settings.parameters = parameters if loss <= default_loss else []
    settings.fitted_at, settings.fit_reviews = now, reviews
    settings.fit_log_loss, settings.default_log_loss = loss, default_loss
    settings.save()
    return settings
