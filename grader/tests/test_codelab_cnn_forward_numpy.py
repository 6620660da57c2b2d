"""Lab ``cnn-forward-numpy``: classic mistakes, case generation, the solution equals torch.

The model solution's full marks and the starter's zero are checked with the other labs in
``test_codelabs_in_process.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.codelabs.base import LABS_DIR, CodeLab
from grader.codelabs.inprocess import load_source, run_in_process
from grader.codelabs.labs.cnn_forward_numpy import LAB, variant_forward
from grader.i18n import word
from grader.reference.cnn import forward_numpy, make_reference_cnn, state_dict_arrays
from grader.tests.codelab_support import earned, imported_roots, wire_safe

SOLUTION = LAB.solution()


def _mutated(old: str, new: str) -> str:
    # Stricter than codelab_support.mutated: each mistake here edits exactly one spot.
    assert SOLUTION.count(old) == 1, f"the solution changed; fix the mutation of {old!r}"
    return SOLUTION.replace(old, new)


def test_lab_shape() -> None:
    assert isinstance(LAB, CodeLab)
    assert LAB.slug == "cnn-forward-numpy" and LAB.functions == ("cnn_forward",) and not LAB.uses_torch
    folder = LABS_DIR / LAB.slug
    for name in (
        "statement.en.md",
        "statement.zh-Hant.md",
        "starter.py",
        "solution.py",
        "reference_weights.npz",
    ):
        assert (folder / name).is_file(), name
    for lang in ("en", "zh-Hant"):
        assert "cnn_forward" in LAB.statement(lang)
    assert imported_roots(SOLUTION) == imported_roots(LAB.starter()) == {"numpy"}
    assert LAB.total_points(0) == 10


@pytest.mark.parametrize(
    ("old", "new", "hint_en", "hint_zh"),
    [
        (
            "np.maximum(conv3x3_same(h, weight, bias), 0.0)",
            "conv3x3_same(h, weight, bias)",
            "without the ReLU",
            "沒有 ReLU",
        ),
        (
            "features = h.reshape(h.shape[0], -1)",
            "features = h.transpose(0, 2, 3, 1).reshape(h.shape[0], -1)",
            "channels-last",
            "channels-last",
        ),
        ("return blocks.max(axis=(3, 5))", "return blocks.mean(axis=(3, 5))", "*average* pooling", "平均"),
    ],
)
def test_classic_mistakes_lose_every_point_and_are_named(
    old: str, new: str, hint_en: str, hint_zh: str
) -> None:
    outcomes = run_in_process(LAB, _mutated(old, new), 5)
    assert earned(outcomes) == 0
    for outcome in outcomes:
        assert "elements differ; first at" in word(outcome.check.message, "en")
        assert hint_en in word(outcome.check.message, "en")
        assert hint_zh in word(outcome.check.message, "zh-Hant")
        assert "likely_mistake" in outcome.check.detail


def test_an_unrecognised_mistake_fails_without_a_wrong_hint() -> None:
    source = _mutated("features @ fc_weight.T + fc_bias", "(features @ fc_weight.T + fc_bias)[:, ::-1]")
    outcomes = run_in_process(LAB, source, 0)
    assert earned(outcomes) == 0
    assert all("likely_mistake" not in o.check.detail for o in outcomes)


def test_ceil_mode_pooling_loses_the_odd_size_case_only() -> None:
    # Padding odd sides up to a full block (ceil mode) is right whenever sizes are multiples of 4.
    source = _mutated(
        "h2, w2 = h // 2, w // 2\n    blocks = x[:, :, : 2 * h2, : 2 * w2]",
        "h2, w2 = -(-h // 2), -(-w // 2)\n"
        "    x = np.pad(x, ((0, 0), (0, 0), (0, 2 * h2 - h), (0, 2 * w2 - w)), constant_values=-np.inf)\n"
        "    blocks = x",
    )
    outcomes = {o.case.name: o.check for o in run_in_process(LAB, source, 0)}
    assert not outcomes["odd-size"].passed
    assert all(check.passed for name, check in outcomes.items() if name != "odd-size")


@pytest.mark.parametrize(
    "value", [None, "logits", [[1.0, 2.0], [3.0]], np.zeros((3, 10)), np.full((3, 10), np.nan), {"a": 1}]
)
def test_odd_return_values_fail_without_raising(value: Any) -> None:
    case = LAB.public_cases()[0]
    check = case.check(value)
    assert check.fraction == 0
    assert word(check.message, "en") and word(check.message, "zh-Hant")


def test_float32_answers_are_accepted() -> None:
    module = load_source(SOLUTION)
    for case in LAB.cases(4):
        got = np.asarray(module.cnn_forward(*case.args), dtype=np.float32)
        assert case.check(got).passed, case.name


def test_hidden_cases_differ_between_seeds_and_repeat_for_a_seed() -> None:
    def signature(seed: int) -> list[tuple[str, tuple[int, ...], float]]:
        return [
            (c.name, c.args[1].shape, float(np.sum(c.args[1])) + float(np.sum(c.args[0]["conv1.weight"])))
            for c in LAB.hidden_cases(seed)
        ]

    assert signature(1) == signature(1)
    assert signature(1) != signature(2)


def test_public_cases_are_fixed_and_everything_is_wire_safe() -> None:
    first, second = LAB.public_cases(), LAB.public_cases()
    assert all(c.public for c in first) and not any(c.public for c in LAB.hidden_cases(0))
    for a, b in zip(first, second, strict=True):
        assert a.name == b.name
        assert all(np.array_equal(a.args[0][k], b.args[0][k]) for k in a.args[0])
        assert np.array_equal(a.args[1], b.args[1])
    assert all(wire_safe(c.args) and wire_safe(dict(c.kwargs)) for c in LAB.cases(3))


def test_a_student_mutating_the_inputs_cannot_change_the_expected_answer() -> None:
    case = LAB.public_cases()[0]
    state, x = case.args
    expected = forward_numpy(state, x)
    for arr in (*state.values(), x):
        arr *= 0  # a rude student function writing into its arguments
    assert case.check(expected).passed


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    h=st.integers(4, 12),
    w=st.integers(4, 12),
    c1=st.integers(1, 5),
    c2=st.integers(1, 5),
    classes=st.integers(1, 6),
)
def test_solution_and_correct_variant_equal_torch(
    seed: int, h: int, w: int, c1: int, c2: int, classes: int
) -> None:
    model = make_reference_cnn(seed, image_size=(h, w), channels=(c1, c2), num_classes=classes).double()
    state = state_dict_arrays(model)
    x = np.random.default_rng(seed).standard_normal((3, 1, h, w))
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(load_source(SOLUTION).cnn_forward(state, x), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(variant_forward(state, x), expected, rtol=1e-10, atol=1e-12)
