"""Lab conv2d-forward: typical bugs fail with the right feedback, expected values = torch.

The basic checks (full marks for the solution, zero for the starter, numpy-only imports, speed)
are shared with the other labs in ``test_codelabs_in_process.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.codelabs import get_codelab
from grader.codelabs.base import TestCase
from grader.codelabs.labs.conv2d_forward import LAB
from grader.i18n import word
from grader.tests.codelab_support import assert_every_check_rejects, earned, outcomes_by_name, with_bug

# Plausible student mistakes, written as wrappers around the model solution.
FLIPPED_KERNEL = """
_correct = conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0, dilation=1, groups=1):
    # "convolution" as in signal processing: kernel rotated by 180 degrees
    return _correct(x, np.asarray(w)[:, :, ::-1, ::-1], b, stride, padding, dilation, groups)
"""
NO_PADDING = """
_correct = conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0, dilation=1, groups=1):
    return _correct(x, w, b, stride, 0, dilation, groups)
"""
NO_DILATION = """
_correct = conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0, dilation=1, groups=1):
    return _correct(x, w, b, stride, padding, 1, groups)
"""
NO_BIAS = """
_correct = conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0, dilation=1, groups=1):
    return _correct(x, w, None, stride, padding, dilation, groups)
"""
RETURNS_NAN = """
def conv2d_forward(x, w, b, stride=1, padding=0, dilation=1, groups=1):
    return np.full((1,), np.nan)
"""


def test_lab_is_registered() -> None:
    assert get_codelab("conv2d-forward") is LAB
    assert LAB.functions == ("conv2d_forward",)
    assert not LAB.uses_torch


def test_statements_exist_in_both_languages() -> None:
    for lang in ("en", "zh-Hant"):
        text = LAB.statement(lang)
        assert "conv2d_forward(x, w, b, stride=1, padding=0, dilation=1, groups=1)" in text
    assert "互相關" in LAB.statement("zh-Hant")


def test_public_cases_are_deterministic_and_hidden_cases_depend_on_the_seed() -> None:
    first, second = LAB.public_cases(), LAB.public_cases()
    assert all(c.public for c in first) and not any(c.public for c in LAB.hidden_cases(0))
    for a, b in zip(first, second, strict=True):
        assert a.name == b.name and a.kwargs == b.kwargs
        assert all(np.array_equal(u, v) for u, v in zip(a.args, b.args, strict=True) if u is not None)

    def fingerprint(seed: int) -> list[Any]:
        return [
            (c.args[0].shape, c.args[0].ravel()[:3].tolist(), dict(c.kwargs)) for c in LAB.hidden_cases(seed)
        ]

    assert fingerprint(5) == fingerprint(5)
    assert fingerprint(5) != fingerprint(6)
    assert [c.name for c in LAB.hidden_cases(5)] == [c.name for c in LAB.hidden_cases(6)]


def test_flipped_kernel_fails_everything_with_a_hint() -> None:
    outcomes = outcomes_by_name(LAB, with_bug(LAB, FLIPPED_KERNEL), 0)
    assert earned(outcomes.values()) == 0
    hand = outcomes["public-hand-2x2"].check
    assert "elements differ" in word(hand.message, "en") and "first at [0, 0, 0, 0]" in word(hand.message, "en")
    assert all("mathematical convolution" in word(o.check.message, "en") for o in outcomes.values())
    assert all("互相關" in word(o.check.message, "zh-Hant") for o in outcomes.values())


def test_forgetting_padding_fails_padded_cases_with_a_shape_message() -> None:
    outcomes = outcomes_by_name(LAB, with_bug(LAB, NO_PADDING), 1)
    check = outcomes["public-stride2-pad1"].check
    assert not check.passed
    assert "shape (2, 3, 2, 2), expected (2, 3, 3, 3)" in word(check.message, "en")
    assert "形狀" in word(check.message, "zh-Hant")
    assert outcomes["public-hand-2x2"].check.passed  # no padding there
    assert 0 < earned(outcomes.values()) < 10


def test_ignoring_dilation_fails_the_dilation_case() -> None:
    outcomes = outcomes_by_name(LAB, with_bug(LAB, NO_DILATION), 2)
    assert not outcomes["dilation"].check.passed
    assert outcomes["stride-padding"].check.passed
    assert earned(outcomes.values()) < 10


def test_forgetting_the_bias_gets_a_hint() -> None:
    outcomes = outcomes_by_name(LAB, with_bug(LAB, NO_BIAS), 3)
    check = outcomes["public-hand-2x2"].check
    assert not check.passed and "without its bias" in word(check.message, "en")
    assert outcomes["batch-no-bias"].check.passed


def test_nan_output_is_reported_as_not_finite() -> None:
    outcomes = outcomes_by_name(LAB, with_bug(LAB, RETURNS_NAN), 0)
    assert earned(outcomes.values()) == 0
    assert "not finite" in word(outcomes["public-hand-2x2"].check.message, "en")


GARBAGE: list[Any] = [
    None,
    "y",
    3,
    2.5,
    True,
    [1, [2, 3]],
    {"y": 1},
    (None, None),
    np.array(["a", "b"]),
    np.array([1 + 2j]),
    np.zeros((0,)),
    np.full((2, 3), np.inf),
    [[np.nan]],
]


@pytest.mark.parametrize("value", GARBAGE, ids=lambda v: type(v).__name__)
def test_checks_never_raise_on_garbage(value: Any) -> None:
    assert_every_check_rejects(LAB.cases(0), value)


def torch_output(case: TestCase) -> np.ndarray:
    x, w, b = case.args
    return F.conv2d(
        torch.from_numpy(x),
        torch.from_numpy(w),
        None if b is None else torch.from_numpy(b),
        **dict(case.kwargs),
    ).numpy()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_expected_values_agree_with_torch(seed: int) -> None:
    for case in LAB.cases(seed):
        check = case.check(torch_output(case))
        assert check.passed, (case.name, word(check.message, "en"))
