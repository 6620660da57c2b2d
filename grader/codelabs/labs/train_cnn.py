"""Lab ``train-cnn``: train the reference CNN on scikit-learn's 8 × 8 digits.

The student writes ``train(x_train, y_train, seed) -> state dict``. Only the training split
crosses into the sandbox; the held-out split stays here, and the returned weights are loaded into
:class:`grader.reference.cnn.ReferenceCNN` (after :func:`load_state_dict_arrays` has validated
names, shapes, dtypes and finiteness) and scored on it. One call is one training run, so each
case grades in steps: a valid state dict (20 %), held-out accuracy ≥ 0.90 (40 %), ≥ 0.95 (40 %).

The data are ``sklearn.datasets.load_digits`` (1,797 images shipped inside the scikit-learn
wheel, no download), split once by a fixed seed, stratified by class: 1,347 train / 450 test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import torch

from grader.codelabs.base import Check, CodeLab, Limits, TestCase
from grader.i18n import N_, Text
from grader.reference.cnn import PARAMETER_NAMES, load_state_dict_arrays, make_reference_cnn

__all__ = [
    "LAB",
    "PASS_ACCURACY",
    "TARGET_ACCURACY",
    "DigitsSplit",
    "TrainCnnLab",
    "digits_split",
    "held_out_accuracy",
    "stratified_split",
]

Array = npt.NDArray[Any]

SPLIT_SEED = 20240917  # fixed forever: changing it changes every student's score
TEST_SIZE = 450
PASS_ACCURACY = 0.90
TARGET_ACCURACY = 0.95
# Share of a case's points for each step; they add up to 1.
VALID_SHARE, PASS_SHARE, TARGET_SHARE = 0.2, 0.4, 0.4


@dataclass(frozen=True)
class DigitsSplit:
    """Images ``(n, 1, 8, 8)`` float32 in [0, 1] and labels ``(n,)`` int64; arrays are read-only."""

    x_train: Array
    y_train: Array
    x_test: Array
    y_test: Array


def stratified_split(labels: Array, test_size: int, seed: int) -> tuple[Array, Array]:
    """Sorted ``(train_idx, test_idx)`` with each class's test share as close to equal as possible.

    Each class gets ``test_size · n_c / n`` test items, rounded by largest remainder so the total
    is exactly ``test_size``; which items is a seeded permutation inside the class. Written here
    rather than taken from scikit-learn so the split cannot change with a library upgrade.
    """
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    exact = test_size * counts / counts.sum()
    quota = np.floor(exact).astype(np.int64)
    shortfall = test_size - int(quota.sum())
    # Largest remainders first; ties broken by class order (stable sort), so the split is fixed.
    quota[np.argsort(-(exact - quota), kind="stable")[:shortfall]] += 1
    rng = np.random.default_rng(seed)
    test_parts = []
    for cls, q in zip(classes, quota, strict=True):
        members = np.flatnonzero(labels == cls)
        test_parts.append(rng.permutation(members)[:q])
    test_idx = np.sort(np.concatenate(test_parts))
    train_idx = np.setdiff1d(np.arange(labels.size), test_idx)
    return train_idx, test_idx


@cache
def digits_split() -> DigitsSplit:
    """The lab's fixed train / held-out split of the 8 × 8 digits (loaded once per process)."""
    from sklearn.datasets import load_digits  # slow import; only this lab needs it

    digits = load_digits()
    # Pixel values are integers 0..16.
    images = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    labels = digits.target.astype(np.int64)
    train_idx, test_idx = stratified_split(labels, TEST_SIZE, SPLIT_SEED)
    arrays = [images[train_idx], labels[train_idx], images[test_idx], labels[test_idx]]
    for arr in arrays:
        arr.setflags(write=False)  # cached and shared: nobody may change it
    return DigitsSplit(*arrays)


def _as_numpy(value: Any) -> Any:
    """Tensors → arrays, as the sandbox wire does (so in-process runs see the same thing)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return value


def held_out_accuracy(state: Any) -> float:
    """Accuracy of the reference CNN with ``state`` on the held-out split; ValueError if invalid."""
    if isinstance(state, Mapping):
        state = {key: _as_numpy(value) for key, value in state.items()}
    model = load_state_dict_arrays(make_reference_cnn(0), state).eval()
    split = digits_split()
    with torch.no_grad():
        logits = model(torch.from_numpy(np.array(split.x_test)))
    predictions = logits.argmax(dim=1).numpy()
    return float(np.mean(predictions == split.y_test))


def _mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def check_trained_state(got: Any) -> Check:
    """Grade one training run: valid state dict, then the two accuracy thresholds."""
    try:
        accuracy = held_out_accuracy(got)
    except ValueError as exc:
        return Check.fail(
            Text("The returned weights are not a valid state dict of the reference CNN: %(error)s. "
                 "Expected keys %(keys)s.", error=str(exc), keys=", ".join(PARAMETER_NAMES)),
            {"valid": False},
        )
    except Exception as exc:  # anything else odd in the value: fail clearly, never raise
        return Check.fail(
            Text("Could not evaluate the returned weights (%(exception)s: %(error)s).",
                 exception=type(exc).__name__, error=str(exc)),
            {"valid": False},
        )
    passes, reaches = accuracy >= PASS_ACCURACY, accuracy >= TARGET_ACCURACY
    fraction = VALID_SHARE + PASS_SHARE * passes + TARGET_SHARE * reaches
    n_test = int(digits_split().y_test.size)
    correct = round(accuracy * n_test)
    message = Text(
        "Held-out accuracy %(accuracy).4f (%(correct)d/%(n_test)d). Valid state dict ✓; "
        "accuracy ≥ %(pass_accuracy).2f %(pass_mark)s; accuracy ≥ %(target_accuracy).2f %(target_mark)s.",
        accuracy=accuracy, correct=correct, n_test=n_test, pass_accuracy=PASS_ACCURACY, pass_mark=_mark(passes),
        target_accuracy=TARGET_ACCURACY, target_mark=_mark(reaches),
    )
    detail = {"valid": True, "accuracy": accuracy, "correct": correct, "n_test": n_test}
    return Check(min(fraction, 1.0), message, detail)


class TrainCnnLab(CodeLab):
    slug: ClassVar[str] = "train-cnn"
    title: ClassVar[str] = N_("Train a small CNN on 8 × 8 digits")
    functions: ClassVar[tuple[str, ...]] = ("train",)
    allowed_packages: ClassVar[tuple[str, ...]] = ("numpy", "torch")
    # Accuracy is measured on held-out data students never get: locally, only shapes are checked.
    public_compare: ClassVar[str] = "shapes"
    # The sandbox runs torch on one thread; the model solution trains in about a second per call.
    limits: ClassVar[Limits] = Limits(cpu_seconds=60.0, wall_seconds=90.0, memory_mb=2048)

    def _training_case(self, name: str, title: str, points: float, seed: int, public: bool) -> TestCase:
        split = digits_split()
        check: Callable[[Any], Check] = check_trained_state
        return TestCase(
            name=name,
            title=title,
            points=points,
            function="train",
            # Writable copies: the cached split must not be touched by the student's code.
            args=(np.array(split.x_train), np.array(split.y_train), seed),
            check=check,
            public=public,
        )

    def public_cases(self) -> list[TestCase]:
        return [self._training_case("public-train-seed-0", "train with seed 0", 4, 0, public=True)]

    def public_expected(self, case: TestCase, solution_function: Any, args: tuple[Any, ...],
                        kwargs: dict[str, Any]) -> Any:
        """public_tests.py checks only the state dict's names and shapes: an untrained reference
        model has them, so generating the script does not train anything."""
        from grader.reference.cnn import state_dict_arrays

        return state_dict_arrays(make_reference_cnn(0))

    def hidden_cases(self, seed: int) -> list[TestCase]:
        train_seed = int(np.random.default_rng(seed).integers(1, 2**31 - 1))
        return [self._training_case("train", f"train with seed {train_seed}", 6, train_seed, public=False)]


LAB = TrainCnnLab()
