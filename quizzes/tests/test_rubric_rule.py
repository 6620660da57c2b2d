"""The rubric's scoring rule (pure: no database)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from quizzes.rubric import rubric_points, rubric_score


@pytest.mark.parametrize(("applied", "adjustment", "max_points", "points"), [
    ([], "0", "10", "0"),
    (["3", "4"], "0", "10", "7"),
    (["3", "4"], "1.5", "10", "8.5"),
    (["6", "7"], "0", "10", "10"),  # clamped to the maximum
    (["2", "-5"], "0", "10", "0"),  # a deduction never makes it negative
    (["5", "-2"], "0", "10", "3"),
    (["5"], "-6", "10", "0"),
    ([], "12", "10", "10"),
    (["4"], "0", "0", "0"),
])
def test_points_are_the_applied_items_plus_the_adjustment_clamped(applied, adjustment, max_points, points) -> None:
    got = rubric_points(applied=[D(a) for a in applied], adjustment=D(adjustment), max_points=D(max_points))
    assert got == D(points)


def test_score_is_a_fraction_of_the_maximum_at_the_stored_precision() -> None:
    assert rubric_score(applied=[D("1"), D("1")], adjustment=D("0"), max_points=D("3")) == D("0.6667")
    assert rubric_score(applied=[D("15")], adjustment=D("0"), max_points=D("15")) == D("1.0000")
    assert rubric_score(applied=[D("-1")], adjustment=D("0"), max_points=D("15")) == D("0")
    assert rubric_score(applied=[D("3")], adjustment=D("0"), max_points=D("0")) == D("0")
