"""Lab ``train-cnn``: the fixed digits split, the graded evaluation, and the model solution.

Training runs cost about 1.5 s each (single thread), so the solution trains four times in this
file: once through ``run_in_process`` (public + hidden case = 2 runs), once for the shared
``trained`` fixture and once more to check determinism.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.codelabs.base import LABS_DIR, CodeLab
from grader.codelabs.inprocess import load_source, run_in_process
from grader.codelabs.labs import train_cnn
from grader.codelabs.labs.train_cnn import (
    LAB,
    PASS_ACCURACY,
    TARGET_ACCURACY,
    check_trained_state,
    digits_split,
    held_out_accuracy,
    stratified_split,
)
from grader.i18n import word
from grader.reference.cnn import PARAMETER_NAMES, make_reference_cnn, state_dict_arrays
from grader.tests.codelab_support import imported_roots


@pytest.fixture(autouse=True)
def _restore_torch_threads() -> Iterator[None]:
    """The solution calls torch.set_num_threads(1); keep that from leaking into other tests."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def solution() -> types.ModuleType:
    return load_source(LAB.solution())


@pytest.fixture(scope="module")
def trained(solution: types.ModuleType) -> dict[str, np.ndarray]:
    threads = torch.get_num_threads()
    split = digits_split()
    try:
        return solution.train(np.array(split.x_train), np.array(split.y_train), 0)
    finally:
        torch.set_num_threads(threads)


# --------------------------------------------------------------------------- lab and data


def test_lab_shape_and_limits() -> None:
    assert isinstance(LAB, CodeLab)
    assert LAB.slug == "train-cnn" and LAB.functions == ("train",) and LAB.uses_torch
    assert (LAB.limits.cpu_seconds, LAB.limits.wall_seconds, LAB.limits.memory_mb) == (60.0, 90.0, 2048)
    for name in ("statement.en.md", "statement.zh-Hant.md", "starter.py", "solution.py"):
        assert (LABS_DIR / LAB.slug / name).is_file(), name
    for lang in ("en", "zh-Hant"):
        assert "def train(" in LAB.statement(lang)
    assert imported_roots(LAB.solution()) == imported_roots(LAB.starter()) == {"numpy", "torch"}
    assert LAB.total_points(0) == 10


def test_digits_split_is_fixed_stratified_and_read_only() -> None:
    split = digits_split()
    assert split is digits_split()  # cached
    assert split.x_train.shape == (1347, 1, 8, 8) and split.x_test.shape == (450, 1, 8, 8)
    assert split.x_train.dtype == split.x_test.dtype == np.float32
    assert split.y_train.dtype == split.y_test.dtype == np.int64
    assert 0.0 <= split.x_train.min() and split.x_train.max() == 1.0
    train_counts, test_counts = np.bincount(split.y_train), np.bincount(split.y_test)
    assert train_counts.size == test_counts.size == 10
    assert test_counts.min() >= 43 and test_counts.max() <= 46  # 25 % of 174..183 each
    for arr in (split.x_train, split.y_train, split.x_test, split.y_test):
        assert not arr.flags.writeable
    # Pinned: a change to the split would change every student's score, so it must be noticed.
    assert split.y_test[:12].tolist() == [0, 2, 5, 9, 4, 6, 8, 5, 6, 5, 6, 9]
    assert float(split.x_test.sum(dtype=np.float64)) == 8731.8125
    assert float(split.x_train.sum(dtype=np.float64)) == 26375.5625


def test_no_test_image_is_also_a_training_image() -> None:
    split = digits_split()
    train_rows = {row.tobytes() for row in split.x_train.reshape(len(split.x_train), -1)}
    # The digits data set has a few exact duplicate images; they may fall on both sides, but only a few.
    shared = sum(row.tobytes() in train_rows for row in split.x_test.reshape(len(split.x_test), -1))
    assert shared <= 5


@settings(max_examples=40, deadline=None)
@given(
    labels=st.lists(st.integers(0, 4), min_size=2, max_size=60),
    fraction=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_stratified_split_sizes_and_shares(labels: list[int], fraction: float, seed: int) -> None:
    y = np.array(labels)
    test_size = round(fraction * y.size)
    train_idx, test_idx = stratified_split(y, test_size, seed)
    assert test_idx.size == test_size
    assert np.array_equal(np.sort(np.concatenate([train_idx, test_idx])), np.arange(y.size))
    for cls in np.unique(y):
        exact = test_size * np.count_nonzero(y == cls) / y.size
        assert abs(np.count_nonzero(y[test_idx] == cls) - exact) < 1.0
    again = stratified_split(y, test_size, seed)
    assert np.array_equal(again[1], test_idx)


# --------------------------------------------------------------------------- cases


def test_cases_send_only_training_data() -> None:
    split = digits_split()
    for case in LAB.cases(3):
        x, y, seed = case.args
        assert isinstance(seed, int) and not case.kwargs
        assert np.array_equal(x, split.x_train) and np.array_equal(y, split.y_train)
        assert x.flags.writeable and x is not split.x_train  # a private, writable copy
        assert x.dtype == np.float32 and y.dtype == np.int64


def test_public_case_is_seed_zero_and_hidden_seeds_vary() -> None:
    (public,) = LAB.public_cases()
    assert public.public and public.args[2] == 0 and public.points == 4
    seeds = {LAB.hidden_cases(s)[0].args[2] for s in range(20)}
    assert len(seeds) == 20 and 0 not in seeds
    assert LAB.hidden_cases(7)[0].args[2] == LAB.hidden_cases(7)[0].args[2]
    assert [c.points for c in LAB.hidden_cases(7)] == [6]


# --------------------------------------------------------------------------- grading


def test_solution_gets_full_marks_in_process() -> None:
    outcomes = run_in_process(LAB, LAB.solution(), 11)
    assert [o.case.name for o in outcomes] == ["public-train-seed-0", "train"]
    for outcome in outcomes:
        assert outcome.check.fraction == 1.0, word(outcome.check.message, "en")
        assert outcome.check.detail["accuracy"] >= TARGET_ACCURACY
        assert "Held-out accuracy 0.9" in word(outcome.check.message, "en")
        assert "保留測試集準確率" in word(outcome.check.message, "zh-Hant")


def test_solution_is_deterministic(solution: types.ModuleType, trained: dict[str, np.ndarray]) -> None:
    split = digits_split()
    again = solution.train(np.array(split.x_train), np.array(split.y_train), 0)
    assert tuple(again) == PARAMETER_NAMES
    for name in PARAMETER_NAMES:
        np.testing.assert_array_equal(again[name], trained[name], err_msg=name)


def test_starter_scores_zero() -> None:
    outcomes = run_in_process(LAB, LAB.starter(), 0)
    assert all(o.check.fraction == 0 and "NotImplementedError" in word(o.check.message, "en") for o in outcomes)


def test_torch_tensors_and_float64_are_accepted(trained: dict[str, np.ndarray]) -> None:
    as_tensors = {k: torch.from_numpy(v.copy()) for k, v in trained.items()}
    assert check_trained_state(as_tensors).fraction == 1.0
    as_float64 = {k: v.astype(np.float64) for k, v in trained.items()}
    assert check_trained_state(as_float64).fraction == 1.0


def test_untrained_weights_get_only_the_validity_share() -> None:
    check = check_trained_state(state_dict_arrays(make_reference_cnn(3)))
    assert check.fraction == pytest.approx(0.2)
    assert check.detail["accuracy"] < PASS_ACCURACY
    assert "Valid state dict ✓" in word(check.message, "en") and "≥ 0.90 ✗" in word(check.message, "en")


@pytest.mark.parametrize(
    ("mutate", "en", "zh"),
    [
        (lambda s: {f"layer.{k}": v for k, v in s.items()}, "state dict keys differ", "有效 state dict"),
        # nn.Sequential numbers its layers instead of naming them.
        (
            lambda s: dict(
                zip(
                    ["0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias"],
                    s.values(),
                    strict=True,
                )
            ),
            "missing ['conv1.weight'",
            "state dict",
        ),
        (
            lambda s: {**s, "fc.weight": s["fc.weight"][:, :16]},
            "'fc.weight' has shape (10, 16)",
            "state dict",
        ),
        (
            lambda s: {**s, "fc.bias": np.full(10, np.nan, np.float32)},
            "'fc.bias' has 10 non-finite",
            "state dict",
        ),
        (lambda s: {**s, "fc.bias": np.zeros(10, np.int64)}, "must be a floating-point", "state dict"),
        (lambda s: list(s.values()), "expected a dict of arrays", "state dict"),
        (lambda s: None, "got NoneType", "state dict"),
        (lambda s: {**s, "fc.bias": "zeros"}, "must be a floating-point", "state dict"),
    ],
)
def test_invalid_state_dicts_score_zero_with_a_reason(
    trained: dict[str, np.ndarray], mutate: Any, en: str, zh: str
) -> None:
    check = check_trained_state(mutate(dict(trained)))
    assert check.fraction == 0
    assert en in word(check.message, "en")
    assert zh in word(check.message, "zh-Hant")
    assert check.detail == {"valid": False}


@pytest.mark.parametrize(
    ("accuracy", "fraction", "marks"),
    [
        (0.10, 0.2, ("✗", "✗")),
        (0.8999, 0.2, ("✗", "✗")),
        (0.90, 0.6, ("✓", "✗")),
        (0.9499, 0.6, ("✓", "✗")),
        (0.95, 1.0, ("✓", "✓")),
        (1.0, 1.0, ("✓", "✓")),
    ],
)
def test_points_ladder(
    monkeypatch: pytest.MonkeyPatch, accuracy: float, fraction: float, marks: tuple[str, str]
) -> None:
    monkeypatch.setattr(train_cnn, "held_out_accuracy", lambda state: accuracy)
    check = check_trained_state({})
    assert check.fraction == pytest.approx(fraction)
    assert check.passed == (fraction == 1.0)
    assert f"accuracy ≥ 0.90 {marks[0]}; accuracy ≥ 0.95 {marks[1]}" in word(check.message, "en")
    assert f"{accuracy:.4f}" in word(check.message, "en") and f"{accuracy:.4f}" in word(check.message, "zh-Hant")


def test_accuracy_is_measured_on_the_held_out_split(trained: dict[str, np.ndarray]) -> None:
    split = digits_split()
    model = make_reference_cnn(0)
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in trained.items()})
    with torch.no_grad():
        predictions = model(torch.from_numpy(np.array(split.x_test))).argmax(1).numpy()
    assert held_out_accuracy(trained) == pytest.approx(np.mean(predictions == split.y_test))
