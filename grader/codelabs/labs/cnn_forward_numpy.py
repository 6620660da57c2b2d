"""Lab ``cnn-forward-numpy``: the reference CNN's forward pass in plain numpy.

The student writes ``cnn_forward(state, x) -> logits`` for conv → ReLU → max-pool, twice, then a
fully connected layer, with weights given as a dict named like the torch state dict. Cases use the
reference weights saved with the lab (``reference_weights.npz``) and freshly seeded torch
initialisations of other sizes (channel counts, classes, 8–11 px and 28 px images). Expected
logits come from :func:`grader.reference.cnn.forward_numpy`. When the answer is wrong, the check
also tries a few classic mistakes (no ReLU, channels-last flatten, average pooling) and names the
one the student's output matches.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import cache
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from grader.codelabs.base import LABS_DIR, Check, CodeLab, TestCase
from grader.codelabs.checks import expect_array
from grader.i18n import N_, Text, join_sentences
from grader.reference.cnn import forward_numpy, load_reference_weights, make_reference_cnn, state_dict_arrays
from grader.reference.conv import avg_pool2d, conv2d, max_pool2d

__all__ = ["LAB", "REFERENCE_WEIGHTS_PATH", "REFERENCE_WEIGHTS_SEED", "CnnForwardNumpyLab", "variant_forward"]

Array = npt.NDArray[Any]

SLUG = "cnn-forward-numpy"
# The weights saved with the lab are make_reference_cnn(REFERENCE_WEIGHTS_SEED) with the default
# (8 × 8 digits) architecture; grader/tests/test_reference_cnn.py checks the file still matches.
REFERENCE_WEIGHTS_SEED = 2024
REFERENCE_WEIGHTS_PATH = LABS_DIR / SLUG / "reference_weights.npz"

# Student code may work in float32 (the weights are float32); the reference is float64.
RTOL, ATOL = 1e-4, 1e-5


@cache
def _reference_weights() -> dict[str, Array]:
    weights = load_reference_weights(REFERENCE_WEIGHTS_PATH)
    for arr in weights.values():
        arr.setflags(write=False)  # shared by every case: copies go out, this never changes
    return weights


def _copy_state(state: Mapping[str, Array]) -> dict[str, Array]:
    return {name: np.array(arr) for name, arr in state.items()}


def _seeded_state(
    seed: int,
    image_size: tuple[int, int] = (8, 8),
    channels: tuple[int, int] = (8, 16),
    num_classes: int = 10,
) -> dict[str, Array]:
    model = make_reference_cnn(seed, image_size=image_size, channels=channels, num_classes=num_classes)
    return state_dict_arrays(model)


def variant_forward(
    state: Mapping[str, Array], x: Array, *, relu: bool = True, pool: str = "max", channels_last: bool = False
) -> Array:
    """The forward pass with one deliberate mistake, to recognise what a wrong answer did."""
    h = np.asarray(x, dtype=np.float64)
    for layer in ("conv1", "conv2"):
        w = np.asarray(state[f"{layer}.weight"], dtype=np.float64)
        b = np.asarray(state[f"{layer}.bias"], dtype=np.float64)
        h = conv2d(h, w, b, padding=1)
        if relu:
            h = np.maximum(h, 0.0)
        h = max_pool2d(h, 2)[0] if pool == "max" else avg_pool2d(h, 2)
    if channels_last:
        h = h.transpose(0, 2, 3, 1)
    features = h.reshape(h.shape[0], -1)
    fc_w = np.asarray(state["fc.weight"], dtype=np.float64)
    return features @ fc_w.T + np.asarray(state["fc.bias"], dtype=np.float64)


# (keyword arguments of variant_forward, hint)
_MISTAKES: tuple[tuple[dict[str, Any], str], ...] = (
    ({"relu": False}, N_("Your logits equal a forward pass *without the ReLU* after each convolution.")),
    (
        {"channels_last": True},
        N_(
            "Your logits equal flattening in channels-last order (N, H, W, C); flatten (N, C, H, W) "
            "row-major, like torch.flatten(x, 1)."
        ),
    ),
    ({"pool": "avg"}, N_("Your logits equal using *average* pooling; the network uses 2 × 2 *max* pooling.")),
)


def _diagnose(got: Any, state: Mapping[str, Array], x: Array, check: Check) -> Check:
    """Append a hint when a wrong answer matches one of the classic mistakes."""
    if check.passed:
        return check
    try:
        arr = np.asarray(got, dtype=np.float64)
        for kwargs, hint in _MISTAKES:
            variant = variant_forward(state, x, **kwargs)
            if arr.shape == variant.shape and np.allclose(arr, variant, rtol=RTOL, atol=ATOL):
                message = join_sentences([check.message, Text(hint)])
                return replace(check, message=message, detail={**check.detail, "likely_mistake": kwargs})
    except Exception:  # a value we cannot even read as numbers: the plain message says enough
        return check
    return check


def _logits_check(state: Mapping[str, Array], x: Array) -> Callable[[Any], Check]:
    expected = forward_numpy(state, x)
    # Private copies: the arrays sent to the student (in-process tests) may be modified by them.
    state, x = _copy_state(state), np.array(x)

    def check(got: Any) -> Check:
        return _diagnose(got, state, x, expect_array(got, expected, name="logits", rtol=RTOL, atol=ATOL))

    return check


class CnnForwardNumpyLab(CodeLab):
    slug: ClassVar[str] = SLUG
    student_files: ClassVar[tuple[str, ...]] = ("reference_weights.npz",)
    title: ClassVar[str] = N_("CNN forward pass in numpy")
    functions: ClassVar[tuple[str, ...]] = ("cnn_forward",)

    def _case(
        self, name: str, title: str, points: float, state: Mapping[str, Array], x: Array, public: bool = False
    ) -> TestCase:
        return TestCase(
            name=name,
            title=title,
            points=points,
            function="cnn_forward",
            args=(_copy_state(state), np.array(x)),
            check=_logits_check(state, x),
            public=public,
        )

    def public_cases(self) -> list[TestCase]:
        rng = np.random.default_rng(8080)  # fixed: public cases never change
        digits_like = rng.random((3, 1, 8, 8)).astype(np.float32)
        tiny_state = _seeded_state(11, channels=(2, 3), num_classes=4)
        tiny_x = rng.standard_normal((2, 1, 8, 8)).astype(np.float32)
        return [
            self._case(
                "public-reference-weights",
                "reference weights, 3 images of 8 × 8 in [0, 1]",
                1,
                _reference_weights(),
                digits_like,
                public=True,
            ),
            self._case(
                "public-tiny-net",
                "a tiny net (2 and 3 channels, 4 classes), 2 images of 8 × 8",
                1,
                tiny_state,
                tiny_x,
                public=True,
            ),
        ]

    def hidden_cases(self, seed: int) -> list[TestCase]:
        rng = np.random.default_rng(seed)

        def fresh_seed() -> int:
            return int(rng.integers(0, 2**31 - 1))

        n = int(rng.integers(4, 17))
        reference_x = rng.random((n, 1, 8, 8)).astype(np.float32)

        default_state = _seeded_state(fresh_seed())
        default_x = rng.standard_normal((int(rng.integers(3, 9)), 1, 8, 8)).astype(np.float32)

        # 9–11 px sides are not multiples of 4: the floor of each pooling drops the last row/column.
        odd_size = (int(rng.integers(9, 12)), int(rng.integers(9, 12)))
        odd_channels = (int(rng.integers(2, 9)), int(rng.integers(2, 13)))
        odd_classes = int(rng.integers(2, 11))
        odd_state = _seeded_state(fresh_seed(), odd_size, odd_channels, odd_classes)
        odd_x = rng.standard_normal((int(rng.integers(2, 6)), 1, *odd_size)).astype(np.float32)

        mnist_channels = (int(rng.integers(3, 9)), int(rng.integers(4, 13)))
        mnist_state = _seeded_state(fresh_seed(), (28, 28), mnist_channels, 10)
        mnist_x = rng.random((2, 1, 28, 28)).astype(np.float32)

        single_channels = (int(rng.integers(1, 7)), int(rng.integers(1, 9)))
        single_classes = int(rng.integers(2, 8))
        single_state = _seeded_state(fresh_seed(), (8, 8), single_channels, single_classes)
        single_x = (3.0 * rng.standard_normal((1, 1, 8, 8))).astype(np.float32)

        c1, c2 = odd_channels
        return [
            self._case(
                "reference-weights",
                f"reference weights, {n} images of 8 × 8",
                2,
                _reference_weights(),
                reference_x,
            ),
            self._case(
                "seeded-weights",
                f"freshly seeded weights, {len(default_x)} images with negative pixels",
                2,
                default_state,
                default_x,
            ),
            self._case(
                "odd-size",
                f"{odd_size[0]} × {odd_size[1]} images (floor pooling), {c1} and {c2} channels, "
                f"{odd_classes} classes",
                2,
                odd_state,
                odd_x,
            ),
            self._case(
                "mnist-size",
                f"28 × 28 images, {mnist_channels[0]} and {mnist_channels[1]} channels",
                1,
                mnist_state,
                mnist_x,
            ),
            self._case(
                "single-image",
                f"one image, {single_channels[0]} and {single_channels[1]} channels, {single_classes} classes",
                1,
                single_state,
                single_x,
            ),
        ]


LAB = CnnForwardNumpyLab()
