"""A part whose whole answer is a named wrong method earns the misconception's stated credit
(default 0), not the entries that agree by coincidence; the student is told why."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from grader.i18n import N_, word
from grader.problems import get_family
from grader.problems.base import Misconception, Params, Part, ProblemFamily, Response


def _first_seed_with_coincidences(mode: str, tag: str) -> tuple[Params, Response]:
    family = get_family("conv-by-hand")
    for seed in range(200):
        params = family.generate(seed, {"mode": mode})
        alt = family.alternatives(params).get(tag)
        if not alt:
            continue
        expected = family.solve(params)
        given = np.asarray(alt["output"])
        if given.shape == np.asarray(expected["output"]).shape and (given == expected["output"]).any():
            return params, {**expected, **alt}
    raise AssertionError("no variant where the wrong method agrees with some entries")


def test_cross_correlation_for_a_true_convolution_earns_nothing_for_the_matrix() -> None:
    family = get_family("conv-by-hand")
    params, response = _first_seed_with_coincidences("convolution", "kernel-not-flipped")
    result = family.grade(params, response)
    output = next(p for p in result.parts if p.name == "output")
    assert output.misconceptions == ("kernel-not-flipped",)
    assert output.cells is not None and any(any(row) for row in output.cells)  # some entries agree…
    assert output.score == 0.0 and output.points == 0.0  # …by coincidence: no credit
    assert result.points == 1.0  # the size is right
    assert "earns no points" in word(output.message, "en")
    assert "不予計分" in word(output.message, "zh-Hant")
    assert "kernel-not-flipped" not in word(output.message, "en")


def test_the_flip_the_other_way_round_earns_nothing_either() -> None:
    family = get_family("conv-by-hand")
    params, response = _first_seed_with_coincidences("correlation", "kernel-flipped")
    output = next(p for p in family.grade(params, response).parts if p.name == "output")
    assert output.score == 0.0 and "kernel-flipped" in output.misconceptions


def test_a_slip_marked_credit_none_keeps_its_entry_credit() -> None:
    # Forgetting the +1: the entries given are right, only a row and a column are missing.
    family = get_family("conv-by-hand")
    for seed in range(200):
        params = family.generate(seed)
        alt = family.alternatives(params).get("size-off-by-one")
        if alt:
            break
    else:
        raise AssertionError("no variant with an off-by-one alternative")
    result = family.grade(params, {**family.solve(params), **alt})
    output = next(p for p in result.parts if p.name == "output")
    assert 0.0 < output.score < 1.0
    assert "earns no points" not in word(output.message, "en")


class _Toy(ProblemFamily):
    """Two parts: a vector with per-entry credit and its sum; one mistake with a stated credit."""

    name = "toy-credit"
    title = N_("Convolution by hand")
    topic = "test"
    credit: float | None = 0.5

    def __init__(self, credit: float | None) -> None:
        self.misconceptions = (
            Misconception("reversed", N_("Incorrect."), lambda p: {"v": p["v"][::-1]}, credit=credit),
        )

    def sample(self, rng: np.random.Generator, constraints: Any) -> Params:
        return {"v": [1, 2, 2, 1, 5]}

    def parts(self, params: Params) -> list[Part]:
        return [Part("v", "vector", N_("Output Y"), points=2.0, length=5, partial=True)]

    def solve(self, params: Params) -> Response:
        return {"v": params["v"]}

    def render(self, params: Params, lang: str = "en") -> str:
        return ""

    def explain(self, params: Params, lang: str = "en") -> str:
        return ""


@pytest.mark.parametrize(("credit", "score"), [(0.0, 0.0), (0.5, 0.5), (None, 0.2)])
def test_the_table_states_the_credit(credit: float | None, score: float) -> None:
    family = _Toy(credit)
    params = family.sample(np.random.default_rng(0), {})
    result = family.grade(params, {"v": [5, 1, 2, 2, 1]})  # reversed: entry 2 agrees by coincidence
    assert result.parts[0].misconceptions == ("reversed",)
    assert result.parts[0].score == pytest.approx(score)
    assert result.points == pytest.approx(2 * score)
    if credit == 0.5:
        assert "50 %" in word(result.parts[0].message, "en")
        assert "50 %" in word(result.parts[0].message, "zh-Hant")


def test_a_wrong_answer_that_is_no_named_method_keeps_its_entry_credit() -> None:
    family = _Toy(0.0)
    result = family.grade(family.sample(np.random.default_rng(0), {}), {"v": [1, 2, 2, 1, 4]})
    assert result.parts[0].misconceptions == ()
    assert result.parts[0].score == pytest.approx(0.8)


def test_a_credit_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError):
        Misconception("x", N_("Incorrect."), lambda p: None, credit=1.5)
