"""Lab conv2d-backward: typical bugs fail with the right feedback, expected values = torch.

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
from grader.codelabs.labs.conv2d_backward import LAB
from grader.i18n import word
from grader.tests.codelab_support import assert_every_check_rejects, earned, outcomes_by_name, with_bug

# Plausible student mistakes, written as wrappers around the model solution.
DX_WITH_UNROTATED_KERNEL = """
_correct = conv2d_backward
def conv2d_backward(dout, x, w, stride=1, padding=0, dilation=1, groups=1):
    # dx = "correlate padded dout with w" (forgetting the 180-degree rotation)
    dx, _, _ = _correct(dout, x, np.asarray(w)[:, :, ::-1, ::-1], stride, padding, dilation, groups)
    _, dw, db = _correct(dout, x, w, stride, padding, dilation, groups)
    return dx, dw, db
"""
DB_PER_IMAGE = """
_correct = conv2d_backward
def conv2d_backward(dout, x, w, stride=1, padding=0, dilation=1, groups=1):
    dx, dw, _ = _correct(dout, x, w, stride, padding, dilation, groups)
    return dx, dw, np.asarray(dout).sum(axis=(2, 3))  # forgot to sum over the batch
"""
DW_FIRST_IMAGE_ONLY = """
_correct = conv2d_backward
def conv2d_backward(dout, x, w, stride=1, padding=0, dilation=1, groups=1):
    dx, _, db = _correct(dout, x, w, stride, padding, dilation, groups)
    _, dw, _ = _correct(dout[:1], x[:1], w, stride, padding, dilation, groups)  # no sum over the batch
    return dx, dw, db
"""
RETURNS_TWO = """
_correct = conv2d_backward
def conv2d_backward(dout, x, w, stride=1, padding=0, dilation=1, groups=1):
    return _correct(dout, x, w, stride, padding, dilation, groups)[:2]
"""


def test_lab_is_registered() -> None:
    assert get_codelab("conv2d-backward") is LAB
    assert LAB.functions == ("conv2d_backward",)
    assert not LAB.uses_torch


def test_statements_exist_in_both_languages() -> None:
    for lang in ("en", "zh-Hant"):
        assert "conv2d_backward(dout, x, w, stride=1, padding=0, dilation=1, groups=1)" in LAB.statement(lang)


def test_public_cases_are_deterministic_and_hidden_cases_depend_on_the_seed() -> None:
    first, second = LAB.public_cases(), LAB.public_cases()
    assert all(c.public for c in first) and not any(c.public for c in LAB.hidden_cases(0))
    for a, b in zip(first, second, strict=True):
        assert a.name == b.name and a.kwargs == b.kwargs
        assert all(np.array_equal(u, v) for u, v in zip(a.args, b.args, strict=True))

    def fingerprint(seed: int) -> list[Any]:
        return [
            (c.args[1].shape, c.args[0].ravel()[:3].tolist(), dict(c.kwargs)) for c in LAB.hidden_cases(seed)
        ]

    assert fingerprint(8) == fingerprint(8)
    assert fingerprint(8) != fingerprint(9)


def test_dx_with_unrotated_kernel_fails_with_a_hint() -> None:
    outcomes = outcomes_by_name(LAB, with_bug(LAB, DX_WITH_UNROTATED_KERNEL), 0)
    assert earned(outcomes.values()) == 0
    check = outcomes["public-hand-2x2"].check
    assert word(check.message, "en").startswith("`dx`: ") and "elements differ" in word(check.message, "en")
    assert "`dw`" not in word(check.message, "en") and "`db`" not in word(check.message, "en")
    assert "without* rotating" in word(check.message, "en")
    assert "未旋轉" in word(check.message, "zh-Hant")


def test_db_not_summed_over_the_batch_fails_with_a_shape_message() -> None:
    outcomes = outcomes_by_name(LAB, with_bug(LAB, DB_PER_IMAGE), 1)
    assert earned(outcomes.values()) == 0
    check = outcomes["public-stride2-pad1"].check
    assert "`db`: shape (2, 3), expected (3,)" in word(check.message, "en")


def test_dw_from_the_first_image_only_fails_batched_cases() -> None:
    outcomes = outcomes_by_name(LAB, with_bug(LAB, DW_FIRST_IMAGE_ONLY), 2)
    assert outcomes["public-hand-2x2"].check.passed  # a batch of one
    check = outcomes["public-stride2-pad1"].check
    assert not check.passed and word(check.message, "en").startswith("`dw`: ")
    assert 0 < earned(outcomes.values()) < 10


def test_a_short_tuple_is_explained() -> None:
    outcomes = outcomes_by_name(LAB, with_bug(LAB, RETURNS_TWO), 0)
    assert earned(outcomes.values()) == 0
    assert (
        "Expected a tuple (dx, dw, db), got tuple of length 2"
        in word(outcomes["public-hand-2x2"].check.message, "en")
    )


GARBAGE: list[Any] = [
    None,
    "dx",
    3,
    [1, [2, 3]],
    {"dx": 1},
    (None, None, None),
    ("a", "b", "c"),
    (np.zeros(2), [1, [2]], {"x": 1}),
    (np.full((1, 1, 4, 4), np.nan), np.inf, -np.inf),
    np.zeros((3, 2)),
]


@pytest.mark.parametrize("value", GARBAGE, ids=lambda v: type(v).__name__)
def test_checks_never_raise_on_garbage(value: Any) -> None:
    assert_every_check_rejects(LAB.cases(0), value)


def torch_gradients(case: TestCase) -> tuple[np.ndarray, ...]:
    dout, x, w = (torch.tensor(a, requires_grad=True) for a in case.args)
    b = torch.zeros(w.shape[0], dtype=torch.float64, requires_grad=True)
    F.conv2d(x, w, b, **dict(case.kwargs)).backward(dout.detach())
    return x.grad.numpy(), w.grad.numpy(), b.grad.numpy()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_expected_values_agree_with_torch_autograd(seed: int) -> None:
    for case in LAB.cases(seed):
        check = case.check(torch_gradients(case))
        assert check.passed, (case.name, word(check.message, "en"))
