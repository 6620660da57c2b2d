"""Lab ``softmax-ce``: softmax cross-entropy loss and its gradient, numerically stable, in numpy.

The student writes ``softmax_cross_entropy(logits, labels) -> (loss, dlogits)`` for ``(N, K)``
logits and integer labels: the mean over rows of ``−log softmax(z)[label]`` and its gradient
``(softmax(z) − onehot) / N``. Hidden cases include logits of size ±1e4 and ~1e300 (finite
float64), where ``exp`` overflows or ``softmax`` underflows unless each row is shifted by its max
first; a non-finite answer is reported as such, with the log-sum-exp hint. Expected values come
from :func:`grader.reference.functional.softmax_cross_entropy` and
:func:`grader.reference.conv_grad.softmax_cross_entropy_grad`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from grader.codelabs.base import Check, CodeLab, TestCase
from grader.codelabs.checks import expect_array, expect_number
from grader.i18n import N_, Text
from grader.reference.conv_grad import softmax_cross_entropy_grad
from grader.reference.functional import softmax_cross_entropy

from ._array_lab_tools import all_of, array_case, expect_finite, expect_tuple, with_hint

__all__ = ["LAB", "SoftmaxCrossEntropyLab"]

Array = npt.NDArray[Any]

RTOL, ATOL = 1e-6, 1e-10
NAMES = ("loss", "dlogits")

_STABILITY_HINT = N_(
    "Large logits make exp(z) overflow (exp(710) is already inf in float64) or make softmax "
    "underflow to 0 (then log 0 = −inf). Subtract each row's maximum first and use "
    "log-softmax = (z − max) − log Σ exp(z − max), never log(softmax(z))."
)
_LOSS_SUM_HINT = N_("Your loss is N times the expected value: it is the *mean* over the N rows, not the sum.")
_GRAD_TIMES_N_HINT = N_(
    "Your dlogits is N times too large: the loss is a mean over N rows, so divide the gradient by N."
)


def _loss_and_grad_check(logits: Array, labels: Array) -> Callable[[Any], Check]:
    expected_loss = float(softmax_cross_entropy(logits, labels))
    expected_grad = softmax_cross_entropy_grad(logits, labels)
    n = logits.shape[0]
    loss_hints = [(lambda: np.asarray(expected_loss * n), _LOSS_SUM_HINT)] if n > 1 else []
    grad_hints = [(lambda: expected_grad * n, _GRAD_TIMES_N_HINT)] if n > 1 else []

    def check_loss(got: Any) -> Check:
        not_finite = expect_finite(got, "loss", Text(_STABILITY_HINT))
        if not_finite is not None:
            return not_finite
        result = expect_number(got, expected_loss, name="loss", rtol=RTOL, atol=ATOL)
        return with_hint(result, got, loss_hints, RTOL, ATOL)

    def check_grad(got: Any) -> Check:
        not_finite = expect_finite(got, "dlogits", Text(_STABILITY_HINT))
        if not_finite is not None:
            return not_finite
        result = expect_array(got, expected_grad, name="dlogits", rtol=RTOL, atol=ATOL)
        return with_hint(result, got, grad_hints, RTOL, ATOL)

    def check(got: Any) -> Check:
        wrong_container = expect_tuple(got, NAMES)
        if wrong_container is not None:
            return wrong_container
        return all_of([check_loss(got[0]), check_grad(got[1])])

    return check


def _title(logits: Array, label: str) -> str:
    n, k = logits.shape
    return f"N={n}, K={k}, {label}"


class SoftmaxCrossEntropyLab(CodeLab):
    slug: ClassVar[str] = "softmax-ce"
    title: ClassVar[str] = N_("Stable softmax cross-entropy and its gradient")
    functions: ClassVar[tuple[str, ...]] = ("softmax_cross_entropy",)

    def _case(
        self, name: str, points: float, logits: Array, labels: Array, title: str, *, public: bool = False
    ) -> TestCase:
        logits = np.asarray(logits, dtype=np.float64)
        labels = np.asarray(labels, dtype=np.int64)
        return array_case(
            name=name,
            title=_title(logits, title),
            points=points,
            function="softmax_cross_entropy",
            arrays=(logits, labels),
            check=_loss_and_grad_check(logits, labels),
            public=public,
        )

    def public_cases(self) -> list[TestCase]:
        return [
            # Row 2 is uniform: its loss is log 3 whatever the label.
            self._case(
                "public-small",
                1,
                np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]),
                np.array([2, 0]),
                "hand-sized logits",
                public=True,
            ),  # fmt: skip
            # exp(1000) overflows: only a shifted (stable) computation passes.
            self._case(
                "public-large",
                1,
                np.array([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 999.0]]),
                np.array([0, 2]),
                "logits of ±1000",
                public=True,
            ),  # fmt: skip
        ]

    def hidden_cases(self, seed: int) -> list[TestCase]:
        rng = np.random.default_rng(seed)

        def draw(low: int, high: int) -> int:
            return int(rng.integers(low, high + 1))

        def labels(n: int, k: int) -> Array:
            return rng.integers(0, k, size=n)

        n, k = draw(3, 8), draw(3, 10)
        random_logits = 3.0 * rng.normal(size=(n, k))
        random_labels = labels(n, k)
        n_many, k_many = draw(2, 4), draw(50, 200)
        many_logits = rng.normal(size=(n_many, k_many))
        many_labels = labels(n_many, k_many)
        n_large, k_large = draw(3, 6), draw(3, 8)
        large_logits = rng.uniform(-1e4, 1e4, size=(n_large, k_large))
        large_labels = labels(n_large, k_large)
        # Magnitudes near 1e300 are still finite in float64 (max ~1.8e308); the true losses are
        # huge but finite, and so are the gradients.
        n_extreme, k_extreme = draw(2, 5), draw(2, 6)
        extreme_logits = 1e300 * rng.normal(size=(n_extreme, k_extreme))
        extreme_labels = labels(n_extreme, k_extreme)
        # Everything near −1e4: exp underflows to 0 in every class, so a naive softmax is 0/0.
        n_negative, k_negative = draw(2, 5), draw(3, 8)
        negative_logits = -1e4 + 2.0 * rng.normal(size=(n_negative, k_negative))
        negative_labels = labels(n_negative, k_negative)
        k_single = draw(2, 6)
        single_logits = rng.normal(size=(1, k_single))
        single_labels = labels(1, k_single)
        return [
            self._case("random", 1.5, random_logits, random_labels, "random logits (scale 3)"),
            self._case("many-classes", 1, many_logits, many_labels, "many classes"),
            self._case("large-logits", 1.5, large_logits, large_labels, "logits uniform in ±1e4"),
            self._case("extreme-logits", 1.5, extreme_logits, extreme_labels, "logits of magnitude ~1e300"),
            self._case("very-negative", 1.5, negative_logits, negative_labels, "all logits near −1e4"),
            self._case("single-row", 1, single_logits, single_labels, "a single row"),
        ]


LAB = SoftmaxCrossEntropyLab()
