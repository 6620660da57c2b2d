"""Lab maxpool: typical bugs fail with the right feedback, expected values = torch.

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
from grader.codelabs.labs.maxpool import LAB
from grader.i18n import word
from grader.tests.codelab_support import (
    assert_every_check_rejects,
    earned,
    mutated,
    outcomes_by_name,
    with_bug,
)

FORWARD = ["public-forward-2x2", "forward-overlap", "forward-padding", "forward-non-square", "forward-ties"]

# Plausible student mistakes, written as wrappers around (or edits of) the model solution.
ZERO_PADDING = """
_correct = maxpool_forward
def maxpool_forward(x, kernel_size, stride=None, padding=0):
    ph, pw = _pair(padding)
    x_padded = np.pad(np.asarray(x), ((0, 0), (0, 0), (ph, ph), (pw, pw)))  # zeros, not -inf
    return _correct(x_padded, kernel_size, kernel_size if stride is None else stride, 0)
"""
PADDED_INDICES = """
_correct = maxpool_forward
def maxpool_forward(x, kernel_size, stride=None, padding=0):
    ph, pw = _pair(padding)
    x_padded = np.pad(np.asarray(x), ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    return _correct(x_padded, kernel_size, kernel_size if stride is None else stride, 0)  # padded indices
"""
WINDOW_INDICES = """
_correct = maxpool_forward
def maxpool_forward(x, kernel_size, stride=None, padding=0):
    y, idx = _correct(x, kernel_size, stride, padding)
    kh, kw = _pair(kernel_size)
    sh, sw = (kh, kw) if stride is None else _pair(stride)
    ph, pw = _pair(padding)
    rows, cols = np.divmod(idx, np.asarray(x).shape[-1])
    top = (np.arange(idx.shape[2]) * sh - ph)[:, None]
    left = (np.arange(idx.shape[3]) * sw - pw)[None, :]
    return y, (rows - top) * kw + (cols - left)  # argmax inside the flattened window
"""
BUFFERED_ADD = """
def maxpool_backward(dout, indices, input_shape):
    n, c, h, w = input_shape
    dx = np.zeros((n, c, h * w))
    for i in range(n):
        for j in range(c):
            dx[i, j][np.asarray(indices)[i, j].ravel()] += np.asarray(dout)[i, j].ravel()
    return dx.reshape(n, c, h, w)
"""
UNPOOL_ONE_FLAT_BUFFER = """
def max_unpool(y, indices, output_size):
    y = np.asarray(y)
    out = np.zeros(y.shape[:2] + tuple(output_size))
    out.ravel()[np.asarray(indices).ravel()] = y.ravel()  # every channel lands in the first plane
    return out
"""


def test_lab_is_registered() -> None:
    assert get_codelab("maxpool") is LAB
    assert LAB.functions == ("maxpool_forward", "maxpool_backward", "max_unpool")
    assert not LAB.uses_torch


def test_every_function_is_tested() -> None:
    cases = LAB.cases(0)
    assert {c.function for c in cases} == set(LAB.functions)
    assert {c.function for c in cases if c.public} == set(LAB.functions)


def test_statements_exist_in_both_languages() -> None:
    for lang in ("en", "zh-Hant"):
        text = LAB.statement(lang)
        for signature in (
            "maxpool_forward(x, kernel_size, stride=None, padding=0)",
            "maxpool_backward(dout, indices, input_shape)",
            "max_unpool(y, indices, output_size)",
        ):
            assert signature in text


def test_statement_example_is_right() -> None:
    source_module: dict[str, Any] = {}
    exec(compile(LAB.solution(), "solution.py", "exec"), source_module)
    plane = np.array([[1, 3, 2, 0], [4, 2, 8, 5], [0, 9, 1, 3], [6, 2, 7, 4]], dtype=np.float64)
    y, idx = source_module["maxpool_forward"](plane[None, None], 2)
    assert y[0, 0].tolist() == [[4, 8], [9, 7]] and idx[0, 0].tolist() == [[4, 6], [9, 14]]


def test_public_cases_are_deterministic_and_hidden_cases_depend_on_the_seed() -> None:
    first, second = LAB.public_cases(), LAB.public_cases()
    assert all(c.public for c in first) and not any(c.public for c in LAB.hidden_cases(0))
    for a, b in zip(first, second, strict=True):
        assert a.name == b.name and a.kwargs == b.kwargs
        assert all(np.array_equal(u, v) for u, v in zip(a.args, b.args, strict=True))

    def fingerprint(seed: int) -> list[Any]:
        return [
            (np.shape(c.args[0]), np.ravel(c.args[0])[:3].tolist(), dict(c.kwargs))
            for c in LAB.hidden_cases(seed)
        ]

    assert fingerprint(8) == fingerprint(8)
    assert fingerprint(8) != fingerprint(9)


def test_zero_padding_fails_the_padded_case_with_hints() -> None:
    outcomes = outcomes_by_name(LAB, with_bug(LAB, ZERO_PADDING), 0)
    check = outcomes["forward-padding"].check
    assert not check.passed
    assert "`y`:" in word(check.message, "en") and "elements differ" in word(check.message, "en")
    assert "zero-padded input" in word(check.message, "en")
    assert "以 0 填補" in word(check.message, "zh-Hant")
    assert outcomes["forward-overlap"].check.passed  # no padding there


def test_indices_in_the_padded_plane_get_a_hint() -> None:
    outcomes = outcomes_by_name(LAB, with_bug(LAB, PADDED_INDICES), 0)
    check = outcomes["forward-padding"].check
    assert not check.passed
    assert word(check.message, "en").startswith("`indices`: ") and "*padded* plane" in word(check.message, "en")
    assert "`y`" not in word(check.message, "en")
    assert sum(not o.check.passed for o in outcomes.values()) == 1  # the only padded forward case


def test_indices_inside_the_window_get_a_hint() -> None:
    outcomes = outcomes_by_name(LAB, with_bug(LAB, WINDOW_INDICES), 1)
    check = outcomes["public-forward-2x2"].check
    assert not check.passed
    assert word(check.message, "en").startswith("`indices`: ") and "*inside each window*" in word(check.message, "en")
    assert all(not outcomes[name].check.passed for name in FORWARD)
    assert all(outcomes[name].check.passed for name in outcomes if name not in FORWARD)


def test_last_maximum_on_ties_fails_only_the_tie_case() -> None:
    source = mutated(LAB.solution(), "better = values > best", "better = values >= best")
    for seed in (0, 1, 2):
        outcomes = outcomes_by_name(LAB, source, seed)
        check = outcomes["forward-ties"].check
        assert not check.passed and "*last* maximum" in word(check.message, "en")
        assert earned(outcomes.values()) == pytest.approx(9.5)


def test_buffered_add_in_backward_loses_overlapping_gradients() -> None:
    outcomes = outcomes_by_name(LAB, with_bug(LAB, BUFFERED_ADD), 0)
    check = outcomes["public-backward-overlap"].check
    assert not check.passed
    assert "first at [0, 0, 2, 1]: got 4, expected 10" in word(check.message, "en")
    assert "np.add.at" in word(check.message, "en") and "np.add.at" in word(check.message, "zh-Hant")
    assert outcomes["backward-stride"].check.passed  # no overlap, no repeated index


def test_unpool_into_one_flat_buffer_fails() -> None:
    outcomes = outcomes_by_name(LAB, with_bug(LAB, UNPOOL_ONE_FLAT_BUFFER), 0)
    check = outcomes["public-unpool-padding"].check
    assert not check.passed and word(check.message, "en").startswith("`x`: ")
    assert "elements differ" in word(check.message, "en")  # later channels overwrite the first plane


GARBAGE: list[Any] = [
    None,
    "y",
    3,
    [1, [2, 3]],
    {"y": 1},
    (None, None),
    (np.zeros(2), "idx"),
    (np.full((1, 1, 2, 2), np.nan), np.full((1, 1, 2, 2), 0.5)),
    (1, 2, 3),
    np.zeros((3, 2)),
    np.array([np.inf]),
]


@pytest.mark.parametrize("value", GARBAGE, ids=lambda v: type(v).__name__)
def test_checks_never_raise_on_garbage(value: Any) -> None:
    assert_every_check_rejects(LAB.cases(0), value)


def torch_answer(case: TestCase) -> Any:
    """What torch returns for the same call (scatter for the two index-driven functions)."""
    if case.function == "maxpool_forward":
        x, kernel_size = case.args
        y, idx = F.max_pool2d(torch.from_numpy(x), kernel_size, return_indices=True, **dict(case.kwargs))
        return y.numpy(), idx.numpy()
    values, indices, shape = case.args
    n, c = values.shape[:2]
    plane = shape[-2] * shape[-1]
    flat_values = torch.from_numpy(values).reshape(n * c, -1)
    flat_indices = torch.from_numpy(indices).reshape(n * c, -1)
    out = torch.zeros(n * c, plane, dtype=torch.float64)
    if case.function == "maxpool_backward":
        return out.scatter_add_(1, flat_indices, flat_values).reshape(n, c, *shape[-2:]).numpy()
    return out.scatter_(1, flat_indices, flat_values).reshape(n, c, *shape).numpy()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_expected_values_agree_with_torch(seed: int) -> None:
    for case in LAB.cases(seed):
        check = case.check(torch_answer(case))
        assert check.passed, (case.name, word(check.message, "en"))


def test_backward_expected_values_agree_with_torch_autograd() -> None:
    # The backward cases only carry dout and indices; rebuild one from an input to use autograd.
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 6, 5))
    tx = torch.tensor(x, requires_grad=True)
    ty, tidx = F.max_pool2d(tx, 3, 1, 1, return_indices=True)
    dout = rng.normal(size=tuple(ty.shape))
    ty.backward(torch.from_numpy(dout))
    case = LAB._backward_case("autograd", 1, x, dout, None, 3, 1, 1)
    np.testing.assert_array_equal(case.args[1], tidx.numpy())
    assert case.check(tx.grad.numpy()).passed
