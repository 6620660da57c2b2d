"""Rubric grading of exam essays: a question's rubric items (points, or deductions), applied to answers.

An answer's score is the one rule ``quizzes.rubric.rubric_score`` (applied items + the grader's free
adjustment, clamped to [0, max]); every score a person sets goes through
``quizzes.services.attempts.attempt_item_score_set`` (the audit ``ScoreChange``), except the set-wise
re-score after a rubric item's points change or its deletion, which writes the same rows in bulk: the items' scores
and feedback, one ``ScoreChange`` (kind ``rubric``) per answer whose score changed, and the attempts'
points by ``attempt_totals`` — one read of the answers, bulk writes.

What the student sees once results are released is the stored feedback (``GradingResult``): the applied
items as its parts (title in every language, points), the adjustment as a part named ``adjustment``,
the comment as its message — through ``GradingResult.for_student``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from dlcv_site.errors import ServiceError
from dlcv_site.i18n import COURSE_LANG
from grader.i18n import Translated, Verbatim
from grader.results import GradingResult, PartResult
from quizzes import sql
from quizzes.models import (
    Attempt,
    AttemptItem,
    GradingPreference,
    Question,
    QuestionType,
    RubricApplication,
    RubricItem,
    ScoreChange,
    ScoreChangeKind,
)
from quizzes.rubric import rubric_score
from quizzes.services.attempts import attempt_item_score_set, attempt_totals

ADJUSTMENT_PART = "adjustment"
MAX_RUBRIC_POINTS = Decimal("1000")


class RubricError(ServiceError):
    """A rule refused a rubric action."""

    code = "rubric"


def _points(value: Decimal | float | str) -> Decimal:
    try:
        points = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise RubricError(_("Points must be a number.")) from exc
    if not points.is_finite() or abs(points) > MAX_RUBRIC_POINTS:
        raise RubricError(_("Points must be a number between -1000 and 1000."))
    return points


def _title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise RubricError(_("A rubric item needs a title."))
    if len(title) > 300:
        raise RubricError(_("A rubric item's title is at most 300 characters."))
    return title


def _translations(title_en: str) -> dict[str, Any]:
    title_en = " ".join((title_en or "").split())[:300]
    return {"en": {"title": title_en}} if title_en else {}


def rubric_wording(rubric_item: RubricItem) -> Translated:
    """A rubric item's title in every language it has, the course's language first."""
    texts = {COURSE_LANG: rubric_item.title}
    for lang, fields in (rubric_item.translations or {}).items():
        if isinstance(fields, dict) and fields.get("title"):
            texts[lang] = str(fields["title"])
    return Translated(texts)


@transaction.atomic
def rubric_seed_from_key_points(*, question: Question) -> list[RubricItem]:
    """The question's rubric; when it has none yet, one item per key point of its current version (each
    worth an equal share of the version's points, English titles from its translation). Idempotent."""
    Question.objects.select_for_update().filter(pk=question.pk).first()
    existing = list(RubricItem.objects.filter(question=question))
    if existing or question.current_version is None:
        return existing
    version = question.current_version
    points = list(version.spec.get("key_points") or [])
    if not points:
        return []
    english = list(((version.translations or {}).get("en") or {}).get("key_points") or [])
    share = (Decimal(version.points) / len(points)).quantize(Decimal("0.01"))
    items = [RubricItem(question=question, title=_title(str(text))[:300], position=i + 1, points=share,
                        translations=_translations(english[i] if i < len(english) else
                                                   (str(text) if version.lang == "en" else "")))
             for i, text in enumerate(points)]
    return RubricItem.objects.bulk_create(items)


@transaction.atomic
def rubric_item_create(*, question: Question, title: str, title_en: str = "",
                       points: Decimal | float | str) -> RubricItem:
    """A new rubric item, last in the question's rubric."""
    Question.objects.select_for_update().filter(pk=question.pk).first()
    last = RubricItem.objects.filter(question=question).aggregate(last=Max("position"))["last"] or 0
    return RubricItem.objects.create(question=question, title=_title(title), translations=_translations(title_en),
                                     points=_points(points), position=last + 1)


def _feedback(*, applied: Iterable[RubricItem], adjustment: Decimal, score: Decimal, comment: str,
              graded_by: str) -> dict[str, Any]:
    """The stored grade of a rubric-graded answer (what the student sees once released)."""
    parts = [PartResult(name=f"rubric-{r.pk}", label=rubric_wording(r), score=1.0, points=float(r.points),
                        max_points=max(float(r.points), 0.0), correct=r.points >= 0) for r in applied]
    if adjustment:
        parts.append(PartResult(name=ADJUSTMENT_PART, label="", score=1.0, points=float(adjustment),
                                max_points=max(float(adjustment), 0.0), correct=adjustment >= 0))
    return GradingResult(score=float(score), points=float(score), max_points=1.0, message=Verbatim(comment),
                         parts=tuple(parts), graded_by=graded_by).to_json()


@transaction.atomic
def essay_grade_with_rubric(*, item_id: int, applied_ids: Iterable[int], adjustment: Decimal | float | str,
                            comment: str, grader: User, now: datetime | None = None) -> ScoreChange | None:
    """Grade an exam essay by its question's rubric: exactly ``applied_ids`` applied (others removed),
    the free ``adjustment`` (points), the ``comment``. The score is ``rubric_score``; it is set through
    ``attempt_item_score_set`` (kind ``manual``): two graders on one answer — the last write wins, both
    are audited; the same grade submitted twice writes one audit entry. Returns that entry (or None)."""
    now = now or timezone.now()
    item = (AttemptItem.objects.select_for_update(of=("self",)).select_related("question_version__question")
            .get(pk=item_id))
    question = item.question_version.question
    if question.type != QuestionType.ESSAY:
        raise RubricError(_("Only essays are graded by rubric."))
    wanted = set(applied_ids)
    rubric = {r.pk: r for r in RubricItem.objects.filter(question=question)}
    if wanted - set(rubric):
        raise RubricError(_("That rubric item is not in this question's rubric."))
    adjustment = _points(adjustment)
    applied = [rubric[pk] for pk in sorted(wanted, key=lambda pk: (rubric[pk].position, pk))]
    RubricApplication.objects.filter(item=item).exclude(rubric_item_id__in=wanted).delete()
    RubricApplication.objects.bulk_create([RubricApplication(item=item, rubric_item_id=pk) for pk in wanted],
                                          ignore_conflicts=True)
    if item.rubric_adjustment != adjustment:
        item.rubric_adjustment = adjustment
        AttemptItem.objects.filter(pk=item.pk).update(rubric_adjustment=adjustment)
    score = rubric_score(applied=[r.points for r in applied], adjustment=adjustment, max_points=item.max_points)
    feedback = _feedback(applied=applied, adjustment=adjustment, score=score, comment=comment,
                         graded_by=str(grader))
    return attempt_item_score_set(item_id=item.pk, score=score, kind=ScoreChangeKind.MANUAL, changed_by=grader,
                                  reason=comment, feedback=feedback, now=now)


def _rubric_part(rubric_item: RubricItem) -> dict[str, Any]:
    """A rubric item as a part of a stored grade (what the student sees of it)."""
    return PartResult(name=f"rubric-{rubric_item.pk}", label=rubric_wording(rubric_item), score=1.0,
                      points=float(rubric_item.points), max_points=max(float(rubric_item.points), 0.0),
                      correct=rubric_item.points >= 0).to_json()


def _rescored_feedback(feedback: Any, part: dict[str, Any], score: Decimal) -> Any:
    """The stored grade with the changed item's ``part`` (title, points) and the new score."""
    if not isinstance(feedback, dict):
        return feedback
    parts = [part if isinstance(old, dict) and old.get("name") == part["name"] else old
             for old in feedback.get("parts") or []]
    return {**feedback, "parts": parts, "score": round(float(score), 6), "points": round(float(score), 6)}


def _without_part(feedback: Any, name: str, score: Decimal) -> Any:
    """The stored grade without the deleted item's part, with the new score."""
    if not isinstance(feedback, dict):
        return feedback
    parts = [old for old in feedback.get("parts") or [] if not (isinstance(old, dict) and old.get("name") == name)]
    return {**feedback, "parts": parts, "score": round(float(score), 6), "points": round(float(score), 6)}


def _rescore(*, rubric_item: RubricItem, reason: str, changed_by: User | None, now: datetime,
             regrade: Callable[[Any, Decimal], Any], removed: bool = False) -> int:
    """Re-score every answer ``rubric_item`` is applied to, set-wise: one locked read of those answers with
    the points of the items applied to each (without ``rubric_item`` when it is ``removed``), bulk updates
    of their scores and feedback (``regrade(feedback, score)``), one ``ScoreChange`` (kind ``rubric``) per
    answer whose score changed, and the points of their attempts by ``attempt_totals``. Returns how many
    answers changed score."""
    # One locked read of the answers it is applied to (plain rows: no model instances for 500 answers).
    rows = list(AttemptItem.objects.select_for_update()
                .filter(rubric_applications__rubric_item=rubric_item).order_by("id")
                .values_list("id", "attempt_id", "score", "max_points", "rubric_adjustment", "feedback", "graded_at"))
    if not rows:
        return 0
    applications = RubricApplication.objects.filter(item__in=[row[0] for row in rows])
    if removed:
        applications = applications.exclude(rubric_item=rubric_item)
    applied: dict[int, list[Decimal]] = defaultdict(list)
    for item_id, item_points in applications.values_list("item_id", "rubric_item__points"):
        applied[item_id].append(item_points)
    grades: list[tuple[int, Decimal | None, Any, datetime | None]] = []
    audit: list[ScoreChange] = []
    changed_attempts: set[int] = set()
    for item_id, attempt_id, old_score, max_points, adjustment, feedback, graded_at in rows:
        score = rubric_score(applied=applied[item_id], adjustment=adjustment, max_points=max_points)
        if score != old_score:
            audit.append(ScoreChange(item_id=item_id, kind=ScoreChangeKind.RUBRIC, old_score=old_score,
                                     new_score=score, reason=reason, changed_by=changed_by, created_at=now))
            changed_attempts.add(attempt_id)
            graded_at = now
        grades.append((item_id, score, regrade(feedback, score), graded_at))
    if sql.available():  # one UPDATE … FROM (VALUES …), not bulk_update's CASE per row
        sql.attempt_items_grades_set(rows=grades)
    else:
        AttemptItem.objects.bulk_update([AttemptItem(pk=pk, score=score, feedback=feedback, graded_at=graded_at)
                                         for pk, score, feedback, graded_at in grades],
                                        ["score", "feedback", "graded_at"], batch_size=500)
    ScoreChange.objects.bulk_create(audit, batch_size=500)
    _attempts_points_refresh(attempt_ids=changed_attempts)
    return len(audit)


@transaction.atomic
def rubric_item_update(*, rubric_item_id: int, title: str, title_en: str = "", points: Decimal | float | str,
                       changed_by: User | None, now: datetime | None = None) -> int:
    """Change a rubric item; every answer it is applied to gets the item's new title in its stored grade
    and, when its points change, its new score (``_rescore``: set-wise, audited as kind ``rubric``).
    Returns how many answers changed score."""
    now = now or timezone.now()
    rubric_item = RubricItem.objects.select_for_update().get(pk=rubric_item_id)
    old_points = rubric_item.points
    rubric_item.title, rubric_item.translations = _title(title), _translations(title_en)
    rubric_item.points = _points(points)
    rubric_item.save(update_fields=["title", "translations", "points"])
    reason = _("Rubric item “%(title)s”: %(old)s → %(new)s points.") % {
        "title": rubric_item.title, "old": old_points, "new": rubric_item.points}
    part = _rubric_part(rubric_item)
    return _rescore(rubric_item=rubric_item, reason=reason, changed_by=changed_by, now=now,
                    regrade=lambda feedback, score: _rescored_feedback(feedback, part, score))


@transaction.atomic
def rubric_item_delete(*, rubric_item_id: int, changed_by: User | None, now: datetime | None = None) -> int:
    """Delete a rubric item: every answer it was applied to is re-scored without it and loses it from its
    stored grade (``_rescore``: set-wise, audited as kind ``rubric``); the items after it move up one
    place (their number keys follow). Returns how many answers changed score."""
    now = now or timezone.now()
    rubric_item = RubricItem.objects.select_for_update().get(pk=rubric_item_id)
    Question.objects.select_for_update().filter(pk=rubric_item.question_id).first()
    reason = _("Rubric item “%(title)s” (%(points)s points) deleted.") % {
        "title": rubric_item.title, "points": rubric_item.points}
    name = f"rubric-{rubric_item.pk}"
    changed = _rescore(rubric_item=rubric_item, reason=reason, changed_by=changed_by, now=now, removed=True,
                       regrade=lambda feedback, score: _without_part(feedback, name, score))
    question_id, position = rubric_item.question_id, rubric_item.position
    rubric_item.delete()
    for later in (RubricItem.objects.filter(question_id=question_id, position__gt=position).order_by("position")):
        RubricItem.objects.filter(pk=later.pk).update(position=later.position - 1)
    return changed


@transaction.atomic
def rubric_item_move(*, rubric_item_id: int, up: bool) -> RubricItem:
    """Move a rubric item one place up or down in its question's rubric (swapped with its neighbour;
    at either end nothing moves). The grading page's number keys follow the order."""
    rubric_item = RubricItem.objects.select_for_update().get(pk=rubric_item_id)
    Question.objects.select_for_update().filter(pk=rubric_item.question_id).first()
    siblings = RubricItem.objects.filter(question_id=rubric_item.question_id)
    neighbour = (siblings.filter(position__lt=rubric_item.position).order_by("-position") if up
                 else siblings.filter(position__gt=rubric_item.position).order_by("position")).first()
    if neighbour is None:
        return rubric_item
    mine, theirs = rubric_item.position, neighbour.position
    # Positions are unique per question: through a free place (0: positions start at 1).
    RubricItem.objects.filter(pk=rubric_item.pk).update(position=0)
    RubricItem.objects.filter(pk=neighbour.pk).update(position=mine)
    RubricItem.objects.filter(pk=rubric_item.pk).update(position=theirs)
    rubric_item.position = theirs
    return rubric_item


@dataclass(frozen=True)
class _Question:
    type: str


@dataclass(frozen=True)
class _Version:
    question: _Question


@dataclass(frozen=True)
class _Counted:
    """What ``attempt_totals`` reads of an attempt item, read as a plain row (no model instances)."""

    score: Decimal | None
    max_points: Decimal
    question_version: _Version


def _attempts_points_refresh(*, attempt_ids: set[int]) -> None:
    """The stored points of these attempts, by ``attempt_totals`` (one read of their items, one bulk write)."""
    if not attempt_ids:
        return
    modes = dict(Attempt.objects.select_for_update(of=("self",)).filter(pk__in=attempt_ids).order_by("id")
                 .values_list("id", "assessment__mode"))
    by_attempt: dict[int, list[_Counted]] = defaultdict(list)
    for attempt_id, score, max_points, qtype in (AttemptItem.objects.filter(attempt_id__in=attempt_ids).values_list(
            "attempt_id", "score", "max_points", "question_version__question__type")):
        by_attempt[attempt_id].append(_Counted(score, max_points, _Version(_Question(qtype))))
    points = [(attempt_id, attempt_totals(mode=mode, items=cast(list[AttemptItem], by_attempt[attempt_id])).points)
              for attempt_id, mode in modes.items()]
    if sql.available():
        sql.attempts_points_set(rows=points)
    else:
        Attempt.objects.bulk_update([Attempt(pk=pk, points=value) for pk, value in points], ["points"], batch_size=500)


def grading_anonymous_set(*, user: User, anonymous: bool) -> None:
    """A grader's anonymous mode (names hidden on the grading pages until a question is done)."""
    GradingPreference.objects.update_or_create(user=user, defaults={"anonymous": anonymous})
