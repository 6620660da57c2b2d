"""The pure rules of progress/mastery.py: no database, no Django."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from progress import mastery as rules

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def test_mastery_is_the_recency_weighted_mean_with_its_answer_count() -> None:
    # Today 1.0 (weight 1) and one half-life ago 0.0 (weight 1/2): (1·1 + 0·½) / 1½ = 2/3.
    found = rules.mastery([(1.0, NOW), (0.0, days_ago(rules.HALF_LIFE_DAYS))], now=NOW)
    assert found.value == pytest.approx(2 / 3) and found.answers == 2
    # Two half-lives: weight ¼.
    found = rules.mastery([(0.0, NOW), (1.0, days_ago(2 * rules.HALF_LIFE_DAYS))], now=NOW)
    assert found.value == pytest.approx(0.25 / 1.25)


def test_mastery_of_nothing_and_of_answers_after_now() -> None:
    assert rules.mastery([], now=NOW) == rules.NO_MASTERY
    assert rules.mastery([(1.0, NOW + timedelta(minutes=1))], now=NOW) == rules.NO_MASTERY
    assert rules.mastery([(1.7, NOW), (-0.5, NOW)], now=NOW).value == pytest.approx(0.5)  # scores clipped to 0–1


def test_same_age_answers_give_the_plain_mean_and_a_recent_improvement_counts_more() -> None:
    assert rules.mastery([(0.2, days_ago(3)), (0.6, days_ago(3)), (1.0, days_ago(3))], now=NOW).value == pytest.approx(0.6)
    improving = rules.mastery([(0.0, days_ago(30)), (1.0, days_ago(1))], now=NOW).value
    slipping = rules.mastery([(1.0, days_ago(30)), (0.0, days_ago(1))], now=NOW).value
    assert improving is not None and slipping is not None and improving > 0.5 > slipping


def test_confidence_on_track_and_weak() -> None:
    assert not rules.Mastery(1.0, rules.MIN_ANSWERS - 1).on_track
    assert rules.Mastery(rules.ON_TRACK_MASTERY, rules.MIN_ANSWERS).on_track
    assert not rules.Mastery(rules.ON_TRACK_MASTERY - 0.01, rules.MIN_ANSWERS).on_track
    assert rules.Mastery(rules.WEAK_MASTERY - 0.01, rules.MIN_ANSWERS).weak
    assert not rules.Mastery(0.0, rules.MIN_ANSWERS - 1).weak  # too few answers to call it weak
    assert not rules.NO_MASTERY.weak and not rules.NO_MASTERY.on_track


def test_mastery_by_key_groups_answers() -> None:
    answers = [rules.Answer("conv", 1.0, days_ago(1)), rules.Answer("pool", 0.0, days_ago(1)),
               rules.Answer("conv", 0.0, days_ago(1))]
    found = rules.mastery_by_key(answers, now=NOW)
    assert found["conv"] == rules.Mastery(0.5, 2) and found["pool"] == rules.Mastery(0.0, 1)


def test_weekly_mastery_equals_mastery_read_at_each_week_end() -> None:
    rng = random.Random(7)
    answers = [(rng.random(), days_ago(rng.uniform(0, 60))) for _ in range(40)]
    ends = [days_ago(7 * back) for back in range(8, -1, -1)]
    weekly = rules.weekly_mastery(answers, ends)
    for end, found in zip(ends, weekly, strict=True):
        expected = rules.mastery(answers, now=end)
        assert found.answers == expected.answers
        if expected.value is None:
            assert found.value is None
        else:
            assert math.isclose(found.value or 0.0, expected.value, rel_tol=1e-9)


def test_student_on_track_needs_enough_of_the_class_topics() -> None:
    good, poor = rules.Mastery(0.9, 5), rules.Mastery(0.3, 5)
    topics = ["a", "b", "c", "d", "e"]
    four_of_five = {"a": good, "b": good, "c": good, "d": good, "e": poor}
    three_of_five = {"a": good, "b": good, "c": good, "d": poor}
    assert rules.student_on_track(four_of_five, topics)  # 80 %
    assert not rules.student_on_track(three_of_five, topics)  # 60 %; "e" unanswered counts against
    assert not rules.student_on_track({}, [])


def test_forgetting_counts_the_weeks_that_fell() -> None:
    found = rules.forgetting([0.5, 0.7, 0.6, None, 0.62, 0.5])
    assert found.drops == 2 and found.total_drop == pytest.approx(0.1 + 0.12)
    assert found.latest_drop == pytest.approx(0.12)
    assert rules.forgetting([0.5, 0.52, 0.49]) == rules.Forgetting(0, 0.0, pytest.approx(0.03))  # below FORGET_DROP
    assert rules.forgetting([]) == rules.Forgetting(0, 0.0, 0.0)


def test_week_ends_stop_at_now_and_skip_weeks_before_the_first_answer() -> None:
    ends = rules.week_ends(first=days_ago(100), now=NOW, weeks=4)
    assert ends == [days_ago(21), days_ago(14), days_ago(7), NOW]
    assert rules.week_ends(first=days_ago(3), now=NOW, weeks=8) == [days_ago(7), NOW]


@pytest.mark.parametrize(("delta", "parts"), [
    (timedelta(days=3, hours=4, minutes=10), (("days", 3), ("hours", 4))),
    (timedelta(days=2, minutes=30), (("days", 2),)),
    (timedelta(hours=5, minutes=1), (("hours", 5), ("minutes", 1))),
    (timedelta(hours=1), (("hours", 1),)),
    (timedelta(minutes=59, seconds=1), (("hours", 1),)),  # rounded up to 60 minutes
    (timedelta(seconds=20), (("minutes", 1),)),
])
def test_countdown_says_the_two_largest_units(delta: timedelta, parts: tuple[tuple[str, int], ...]) -> None:
    found = rules.countdown(NOW + delta, NOW)
    assert found is not None and found.parts == parts


def test_countdown_rounds_up_to_the_minute_and_ends_at_the_start() -> None:
    assert rules.countdown(NOW + timedelta(days=1, seconds=1), NOW) == rules.Countdown(1, 0, 1)
    assert rules.countdown(NOW, NOW) is None
    assert rules.countdown(NOW - timedelta(hours=1), NOW) is None


def test_the_class_grid_equals_the_rules_for_each_student() -> None:
    rng = random.Random(11)
    ends = [days_ago(7 * back) for back in range(5, -1, -1)]
    answers = [(rng.randrange(3), rng.randrange(4), rng.random() if rng.random() < 0.7 else 0.95,
                days_ago(rng.uniform(-2, 50))) for _ in range(300)]  # a few after the last week end
    grid = rules.weekly_grid(np.array([a[0] for a in answers]), np.array([a[1] for a in answers]),
                             np.array([a[2] for a in answers]), np.array([a[3].timestamp() for a in answers]),
                             shape=(3, 4), week_ends=[end.timestamp() for end in ends])
    on_track = rules.students_on_track(grid)
    for user in range(4):
        for w, end in enumerate(ends):
            masteries = {}
            for key in range(3):
                expected = rules.mastery([(a[2], a[3]) for a in answers if a[:2] == (key, user)], now=end)
                masteries[key] = expected
                assert grid.counts[key, user, w] == expected.answers
                if expected.value is None:
                    assert np.isnan(grid.values[key, user, w])
                else:
                    assert grid.values[key, user, w] == pytest.approx(expected.value)
                assert bool(grid.on_track[key, user, w]) == expected.on_track
            class_topics = [k for k in range(3) if grid.counts[k, :, w].any()]
            assert bool(on_track[user, w]) == rules.student_on_track(masteries, class_topics)
