"""Lab softmax-ce: unstable and typical bugs fail with the right feedback, expected = torch.

The basic checks (full marks for the solution, zero for the starter, numpy-only imports) are
shared with the other labs in ``test_codelabs_in_process.py``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.codelabs import get_codelab
from grader.codelabs.base import TestCase
from grader.codelabs.inprocess import CaseOutcome, run_in_process
from grader.codelabs.labs.softmax_ce import LAB
from grader.i18n import localize, word
from grader.tests.codelab_support import (
    ARRAY_LAB_SEEDS,
    assert_every_check_rejects,
    earned,
    outcomes_by_name,
    with_bug,
)

HUGE = ["public-large", "large-logits", "extreme-logits", "very-negative"]

# Plausible student mistakes.
NAIVE_EXP = """
def softmax_cross_entropy(logits, labels):
    z = np.asarray(logits, dtype=np.float64)
    n = z.shape[0]
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)  # no shift: overflow / 0 / 0
    loss = -np.log(p[np.arange(n), labels]).mean()
    grad = p.copy()
    grad[np.arange(n), labels] -= 1
    return loss, grad / n
"""
LOG_OF_SOFTMAX = """
def softmax_cross_entropy(logits, labels):
    z = np.asarray(logits, dtype=np.float64)
    n = z.shape[0]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)  # stable softmax ...
    loss = -np.log(p[np.arange(n), labels]).mean()  # ... but log(0) = -inf when p underflows
    grad = p.copy()
    grad[np.arange(n), labels] -= 1
    return loss, grad / n
"""
SUM_NOT_MEAN = """
_correct = softmax_cross_entropy
def softmax_cross_entropy(logits, labels):
    loss, grad = _correct(logits, labels)
    return loss * len(labels), grad
"""
GRAD_NOT_DIVIDED = """
_correct = softmax_cross_entropy
def softmax_cross_entropy(logits, labels):
    loss, grad = _correct(logits, labels)
    return loss, grad * len(labels)
"""
TORCH_STYLE_SCALAR_ARRAYS = """
_correct = softmax_cross_entropy
def softmax_cross_entropy(logits, labels):
    loss, grad = _correct(logits, labels)
    return [np.array([loss]), grad.tolist()]  # a one-element array and nested lists are fine
"""


def run(source: str, seed: int) -> dict[str, CaseOutcome]:
    with np.errstate(all="ignore"):  # the unstable variants overflow on purpose
        return outcomes_by_name(LAB, source, seed)


def test_lab_is_registered() -> None:
    assert get_codelab("softmax-ce") is LAB
    assert LAB.functions == ("softmax_cross_entropy",)
    assert not LAB.uses_torch


def test_solution_is_fast_and_raises_no_floating_point_warning() -> None:
    start = time.process_time()
    # The model solution never overflows, divides by zero or makes a NaN (exp may underflow to 0).
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        for seed in ARRAY_LAB_SEEDS:
            outcomes = run_in_process(LAB, LAB.solution(), seed)
            assert all(o.check.passed for o in outcomes)
    assert (time.process_time() - start) / len(ARRAY_LAB_SEEDS) < 1.0


def test_statements_exist_in_both_languages() -> None:
    for lang in ("en", "zh-Hant"):
        assert "softmax_cross_entropy(logits, labels)" in LAB.statement(lang)
    assert "log-sum-exp" in LAB.statement("zh-Hant")


def test_public_cases_are_deterministic_and_hidden_cases_depend_on_the_seed() -> None:
    first, second = LAB.public_cases(), LAB.public_cases()
    assert all(c.public for c in first) and not any(c.public for c in LAB.hidden_cases(0))
    for a, b in zip(first, second, strict=True):
        assert a.name == b.name
        assert all(np.array_equal(u, v) for u, v in zip(a.args, b.args, strict=True))

    def fingerprint(seed: int) -> list[Any]:
        return [
            (c.args[0].shape, c.args[0].ravel()[:2].tolist(), c.args[1].tolist())
            for c in LAB.hidden_cases(seed)
        ]

    assert fingerprint(8) == fingerprint(8)
    assert fingerprint(8) != fingerprint(9)


def test_hidden_logits_are_huge_but_finite() -> None:
    for seed in ARRAY_LAB_SEEDS:
        cases = {c.name: c for c in LAB.hidden_cases(seed)}
        assert np.all(np.isfinite(cases["extreme-logits"].args[0]))
        assert np.abs(cases["extreme-logits"].args[0]).max() > 1e299
        assert np.abs(cases["large-logits"].args[0]).max() > 1000
        assert cases["very-negative"].args[0].max() < -9000
        assert cases["random"].args[1].dtype.kind == "i"


def test_naive_exp_fails_every_huge_case_as_not_finite() -> None:
    outcomes = run(with_bug(LAB, NAIVE_EXP), 0)
    for name in HUGE:
        message = localize(outcomes[name].check.message)
        assert not outcomes[name].check.passed
        assert "is not finite" in message["en"] and "NaN" in message["en"], name
        assert "Subtract each row's maximum" in message["en"]
        assert "不是有限值" in message["zh-Hant"]
    assert outcomes["random"].check.passed and outcomes["public-small"].check.passed
    assert earned(outcomes.values()) == pytest.approx(10 - 1 - 1.5 - 1.5 - 1.5)


def test_log_of_softmax_gives_an_infinite_loss() -> None:
    outcomes = run(with_bug(LAB, LOG_OF_SOFTMAX), 1)
    check = outcomes["extreme-logits"].check
    assert not check.passed
    # The gradient is fine (stable softmax); only the loss is reported.
    assert word(check.message, "en").startswith("`loss` is not finite: 0 NaN and 1 infinite value(s).")
    assert "never log(softmax(z))" in word(check.message, "en")
    assert "`dlogits`" not in word(check.message, "en")
    assert outcomes["random"].check.passed


def test_sum_instead_of_mean_gets_a_hint() -> None:
    outcomes = run(with_bug(LAB, SUM_NOT_MEAN), 0)
    check = outcomes["public-small"].check
    assert not check.passed and word(check.message, "en").startswith("`loss`: 1 of 1 elements differ")
    assert "mean* over the N rows" in word(check.message, "en")
    assert outcomes["single-row"].check.passed  # N = 1: sum = mean


def test_gradient_not_divided_by_n_gets_a_hint() -> None:
    outcomes = run(with_bug(LAB, GRAD_NOT_DIVIDED), 0)
    check = outcomes["public-small"].check
    assert not check.passed and word(check.message, "en").startswith("`dlogits`: ")
    assert "divide the gradient by N" in word(check.message, "en")
    assert "除以 N" in word(check.message, "zh-Hant")


def test_one_element_arrays_and_lists_are_accepted() -> None:
    assert earned(run(with_bug(LAB, TORCH_STYLE_SCALAR_ARRAYS), 0).values()) == pytest.approx(10.0)


GARBAGE: list[Any] = [
    None,
    "loss",
    3.0,
    [1, [2, 3]],
    {"loss": 1},
    (None, None),
    ("a", np.zeros((2, 3))),
    (np.array([1.0, 2.0]), np.zeros((2, 3))),  # two numbers where one is expected
    (np.nan, np.full((2, 3), np.nan)),
    (np.inf, None),
    (1.0, 2.0, 3.0),
]


@pytest.mark.parametrize("value", GARBAGE, ids=lambda v: type(v).__name__)
def test_checks_never_raise_on_garbage(value: Any) -> None:
    assert_every_check_rejects(LAB.cases(0), value)


def torch_answer(case: TestCase) -> tuple[float, np.ndarray]:
    logits, labels = case.args
    z = torch.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(z, torch.from_numpy(labels))
    loss.backward()
    return loss.item(), z.grad.numpy()


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_expected_values_agree_with_torch(seed: int) -> None:
    for case in LAB.cases(seed):
        check = case.check(torch_answer(case))
        assert check.passed, (case.name, word(check.message, "en"))
