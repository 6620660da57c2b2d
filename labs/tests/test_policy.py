"""A lab's policy as one value: windows, late days, attempt factors (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from labs.policy import LabPolicy, Refusal, Window, policy_spec_errors

DUE = datetime(2031, 1, 1, 4, 0, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
LATE = {"penalty_per_day": 0.1, "max_late_days": 3}


def policy(attempts: dict | None = None, late: dict | None = None, due: datetime | None = DUE) -> LabPolicy:
    # Any object with the three fields will do: the policy reads a lab without importing Django.
    return LabPolicy.of(SimpleNamespace(due_at=due, attempts_policy=attempts or {"mode": "unlimited"},
                                        late_policy=late or {}))


@pytest.mark.parametrize(
    ("now", "late", "window", "refusal", "late_days"),
    [
        (DUE - HOUR, LATE, Window.OPEN, None, 0),
        (DUE, LATE, Window.OPEN, None, 0),  # the due date itself is on time
        (DUE + HOUR, LATE, Window.LATE, None, 1),  # a started day counts as a day
        (DUE + 3 * DAY, LATE, Window.LATE, None, 3),
        (DUE + 3 * DAY + HOUR, LATE, Window.CLOSED, Refusal.TOO_LATE, 4),
        (DUE + HOUR, {}, Window.CLOSED, Refusal.CLOSED, 1),  # no late submissions at all
        (DUE + HOUR, {"penalty_per_day": 0.1, "max_late_days": 0}, Window.CLOSED, Refusal.TOO_LATE, 1),
    ],
)
def test_window_refusal_and_late_days(now: datetime, late: dict, window: Window, refusal: Refusal | None,
                                      late_days: int) -> None:
    rules = policy(late=late)
    assert rules.window(now) is window
    assert rules.refusal(now) is refusal
    assert rules.late_days(now) == late_days
    # The answers are shown exactly when nobody can submit any more.
    assert rules.answers_revealed(now) is (window is Window.CLOSED)


def test_closes_at_is_the_due_date_plus_the_late_days() -> None:
    assert policy(late=LATE).closes_at == DUE + 3 * DAY
    assert policy().closes_at == DUE
    assert policy(due=None).closes_at is None


def test_a_lab_without_a_due_date_is_always_open_and_never_reveals() -> None:
    rules = policy(due=None, late=LATE)
    far = datetime(2099, 1, 1, tzinfo=UTC)
    assert rules.window(far) is Window.OPEN and rules.refusal(far) is None and rules.late_days(far) == 0
    assert not rules.answers_revealed(far)


@pytest.mark.parametrize(("days", "factor"), [(0, 1.0), (1, 0.9), (3, 0.7), (12, 0.0)])
def test_late_factor(days: int, factor: float) -> None:
    assert policy(late=LATE).late_factor(days) == pytest.approx(factor)


def test_declining_points_and_the_attempt_limit() -> None:
    rules = policy(attempts={"mode": "declining", "points": [1.0, 0.8, 0.6]})
    assert rules.attempt_limit == 3 and rules.attempts_left(1) == 2 and rules.attempts_left(5) == 0
    assert [rules.attempt_factor(n) for n in (1, 2, 3)] == [1.0, 0.8, 0.6]
    # A failed grading regraded after later submissions can land past the list: the last factor.
    assert rules.attempt_factor(4) == 0.6
    unlimited = policy()
    assert unlimited.attempt_limit is None and unlimited.attempts_left(100) is None
    assert unlimited.attempt_factor(7) == 1.0


TWO_ATTEMPTS = {"mode": "declining", "points": [1.0, 0.5]}


@pytest.mark.parametrize(
    ("now", "late", "attempts", "used", "refusal"),
    [
        (DUE - HOUR, LATE, TWO_ATTEMPTS, 1, None),
        (DUE - HOUR, LATE, TWO_ATTEMPTS, 2, Refusal.NO_ATTEMPTS_LEFT),
        (DUE + HOUR, LATE, TWO_ATTEMPTS, 1, None),  # late, and taken
        (DUE + HOUR, LATE, TWO_ATTEMPTS, 2, Refusal.NO_ATTEMPTS_LEFT),
        # Closed says closed, whatever the attempts: it is the reason nobody can submit.
        (DUE + HOUR, {}, TWO_ATTEMPTS, 2, Refusal.CLOSED),
        (DUE + 4 * DAY, LATE, TWO_ATTEMPTS, 0, Refusal.TOO_LATE),
        (DUE - HOUR, LATE, None, 500, None),  # unlimited attempts
    ],
)
def test_submission_refusal_weighs_the_window_then_the_attempts(
        now: datetime, late: dict, attempts: dict | None, used: int, refusal: Refusal | None) -> None:
    assert policy(attempts=attempts, late=late).submission_refusal(now, used) is refusal


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"attempts_policy": {"mode": "declining", "points": []}}, "non-empty list"),
        ({"attempts_policy": {"mode": "declining", "points": [1.2]}}, "fractions in [0, 1]"),
        ({"attempts_policy": {"mode": "sometimes"}}, "unlimited"),
        ({"late_policy": {"penalty_per_day": 0.1}}, "exactly penalty_per_day and max_late_days"),
        ({"late_policy": {"penalty_per_day": 2, "max_late_days": 1}}, "penalty_per_day in [0, 1]"),
        ({"late_policy": "yes"}, "mapping"),
        ({"due_days": 1.5}, "whole number"),
    ],
)
def test_policy_spec_errors(spec: dict, fragment: str) -> None:
    errors = policy_spec_errors(spec)
    assert errors and any(fragment in error for error in errors), errors


def test_a_good_spec_has_no_errors() -> None:
    assert policy_spec_errors({"attempts_policy": {"mode": "declining", "points": [1, 0.5]}, "late_policy": LATE,
                               "due_days": 14}) == []
