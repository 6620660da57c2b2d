"""A lab's rules as one value: attempts and their declining points, the due date and late days.

Framework-free (no Django, no database): :meth:`LabPolicy.of` reads a lab's fields once, and every
question about time and attempts — is it open, late or closed; how many days late; what an attempt
or a late day costs; when the answers may be shown — is answered here and nowhere else. The
services refuse by it, the pages describe it, the grading applies its factors.

The fields it reads (``labs.models.Lab``):

* ``attempts_policy``: ``{"mode": "unlimited"}`` or ``{"mode": "declining", "points": [1.0, 0.8, 0.6]}``
  — the n-th counted attempt earns ``points[n-1]`` of its score, and there are ``len(points)``
  attempts;
* ``late_policy``: ``{}`` (nothing after the due date) or ``{"penalty_per_day": 0.1, "max_late_days": 3}``
  — each started day past the due date costs ``penalty_per_day`` of the score, for at most
  ``max_late_days`` days;
* ``due_at``: None for a lab without a due date (always open, answers never revealed).

A student's points in a lab are **best per part** (:meth:`LabPolicy.lab_points`): each part keeps
its best points over the graded submissions, each with the attempt and late factors of the
submission that earned them. So a later attempt never lowers what a student has, and a correct
later attempt is never undercut by an earlier, mostly wrong one that kept a higher factor.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Protocol

DAY = timedelta(days=1)
#: The one "part" of a coding lab in ``Submission.part_points``.
CODE_PART = ""


class Window(Enum):
    """Where a moment falls: before the due date, in the late days, or after both."""

    OPEN = "open"
    LATE = "late"
    CLOSED = "closed"


class Refusal(Enum):
    """Why a submission at some moment (and after some attempts) is refused."""

    CLOSED = "closed"  # past the due date, and the lab takes no late submissions
    TOO_LATE = "too_late"  # past the last late day
    NO_ATTEMPTS_LEFT = "no_attempts_left"  # every counted attempt is used


class HasPolicyFields(Protocol):
    due_at: datetime | None
    attempts_policy: Mapping[str, Any]
    late_policy: Mapping[str, Any]


@dataclass(frozen=True)
class LabPolicy:
    due_at: datetime | None = None
    #: The declining points of attempts 1, 2, …; None: unlimited attempts at full points.
    declining: tuple[float, ...] | None = None
    #: The share of the score each late day costs, and how many late days there are (None: none).
    penalty_per_day: float = 0.0
    max_late_days: int | None = None

    @classmethod
    def from_fields(cls, *, due_at: datetime | None, attempts_policy: Mapping[str, Any] | None,
                    late_policy: Mapping[str, Any] | None) -> LabPolicy:
        """The policy of a lab's stored fields (validated when the lab was loaded:
        ``labs.services.definitions``)."""
        attempts = attempts_policy or {}
        declining = None
        if attempts.get("mode", "unlimited") == "declining":
            declining = tuple(float(points) for points in attempts["points"])
        late = late_policy or {}
        return cls(
            due_at=due_at,
            declining=declining,
            penalty_per_day=float(late.get("penalty_per_day", 0) or 0) if late else 0.0,
            max_late_days=int(late.get("max_late_days", 0) or 0) if late else None,
        )

    @classmethod
    def of(cls, lab: HasPolicyFields) -> LabPolicy:
        return cls.from_fields(due_at=lab.due_at, attempts_policy=lab.attempts_policy, late_policy=lab.late_policy)

    # ---- attempts -------------------------------------------------------------------------

    @property
    def attempt_limit(self) -> int | None:
        """How many submissions count at most; None: unlimited."""
        return None if self.declining is None else len(self.declining)

    def attempts_left(self, used: int) -> int | None:
        return None if self.attempt_limit is None else max(0, self.attempt_limit - used)

    def attempt_factor(self, position: int) -> float:
        """The share of its score the ``position``-th counted submission keeps. A position past the
        list only arises when a failed submission is regraded successfully after later ones were
        made; it gets the last factor rather than nothing."""
        if self.declining is None:
            return 1.0
        return self.declining[min(max(position, 1), len(self.declining)) - 1]

    # ---- time -----------------------------------------------------------------------------

    @property
    def takes_late_submissions(self) -> bool:
        return self.max_late_days is not None

    @property
    def closes_at(self) -> datetime | None:
        """When the lab stops taking submissions: the due date plus the late days."""
        if self.due_at is None:
            return None
        return self.due_at + (self.max_late_days or 0) * DAY

    def late_days(self, now: datetime) -> int:
        """Whole days, started, past the due date (0 before it)."""
        if self.due_at is None or now <= self.due_at:
            return 0
        return math.ceil((now - self.due_at) / DAY)

    def window(self, now: datetime) -> Window:
        if self.due_at is None or now <= self.due_at:
            return Window.OPEN
        if self.refusal(now) is None:
            return Window.LATE
        return Window.CLOSED

    def refusal(self, now: datetime) -> Refusal | None:
        """Why a submission at ``now`` would be refused, or None when it is taken."""
        days = self.late_days(now)
        if days == 0:
            return None
        if self.max_late_days is None:
            return Refusal.CLOSED
        return Refusal.TOO_LATE if days > self.max_late_days else None

    def submission_refusal(self, now: datetime, attempts_used: int) -> Refusal | None:
        """Why a student who has used ``attempts_used`` counted attempts may not submit at ``now``,
        or None when a submission is taken: the window first (a closed lab is closed for everyone),
        then the attempts. The lab pages disable their form by it; the service refuses by it."""
        window_refusal = self.refusal(now)
        if window_refusal is not None:
            return window_refusal
        return Refusal.NO_ATTEMPTS_LEFT if self.attempts_left(attempts_used) == 0 else None

    def late_factor(self, late_days: int) -> float:
        """The share of its score a submission ``late_days`` late keeps."""
        if late_days <= 0:
            return 1.0
        return max(0.0, 1.0 - self.penalty_per_day * late_days)

    # ---- points ---------------------------------------------------------------------------

    def part_points(self, part_points: Mapping[str, float], *, position: int, late_days: int) -> dict[str, float]:
        """One submission's points per part after its attempt and late factors (part key → points;
        a coding lab is one part, ``CODE_PART``)."""
        factor = self.attempt_factor(position) * self.late_factor(late_days)
        return {key: round(float(points) * factor, 4) for key, points in part_points.items()}

    @staticmethod
    def lab_points(submissions: Iterable[Mapping[str, float]]) -> float | None:
        """A student's points in the lab from their graded submissions' points per part (after each
        one's factors): the sum over parts of each part's best. None: nothing graded yet."""
        best: dict[str, float] = {}
        graded = False
        for part_points in submissions:
            graded = True
            for key, points in part_points.items():
                best[key] = max(best.get(key, 0.0), float(points))
        return round(sum(best.values()), 4) if graded else None

    def answers_revealed(self, now: datetime) -> bool:
        """Whether students may see the correct values of their variant: once nobody can submit any
        more (after the due date and the late days). A lab without a due date never reveals them."""
        return self.window(now) is Window.CLOSED


def policy_spec_errors(spec: Mapping[str, Any]) -> list[str]:
    """What is wrong with the policy fields of a lab definition (instructors read these, in English)."""
    errors: list[str] = []
    attempts = spec.get("attempts_policy") or {"mode": "unlimited"}
    mode = attempts.get("mode") if isinstance(attempts, Mapping) else None
    if mode == "declining":
        points = attempts.get("points")
        if not isinstance(points, list) or not points or not all(
            isinstance(p, int | float) and 0 <= p <= 1 for p in points
        ):
            errors.append("attempts_policy.points must be a non-empty list of fractions in [0, 1]")
    elif mode != "unlimited":
        errors.append("attempts_policy must be {mode: unlimited} or {mode: declining, points: [...]}")
    late = spec.get("late_policy") or {}
    if not isinstance(late, Mapping):
        errors.append("late_policy must be a mapping")
    elif late:
        penalty, days = late.get("penalty_per_day"), late.get("max_late_days")
        if set(late) != {"penalty_per_day", "max_late_days"}:
            errors.append("late_policy needs exactly penalty_per_day and max_late_days (or {} for none)")
        elif not (isinstance(penalty, int | float) and 0 <= penalty <= 1) or not (
            isinstance(days, int) and days >= 0
        ):
            errors.append("late_policy: penalty_per_day in [0, 1], max_late_days a whole number ≥ 0")
    due = spec.get("due_days")
    if due is not None and not isinstance(due, int):
        errors.append("due_days must be a whole number of days or null")
    return errors
