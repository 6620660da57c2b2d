"""Lab ``maxpool``: max pooling with indices, its backward pass, and max unpooling, in numpy.

The student writes three functions with torch's semantics:

* ``maxpool_forward(x, kernel_size, stride=None, padding=0) -> (y, indices)`` as
  ``F.max_pool2d(..., return_indices=True)`` (padding is −∞; indices are flat ``row * W + col``
  positions in the unpadded plane; ties go to the first maximum in row-major order);
* ``maxpool_backward(dout, indices, input_shape) -> dx`` (overlapping windows add up);
* ``max_unpool(y, indices, output_size) -> x`` as ``F.max_unpool2d``.

Expected values come from :func:`grader.reference.conv.max_pool2d`, ``max_unpool2d`` and
:func:`grader.reference.conv_grad.max_pool2d_backward`. Wrong answers that match a classic mistake
(zero padding, indices in padded or window coordinates, ``dx[idx] += dout`` losing repeated
indices) get a hint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from grader.codelabs.base import Check, CodeLab, TestCase
from grader.codelabs.checks import expect_array
from grader.i18n import N_
from grader.reference.conv import max_pool2d, max_unpool2d
from grader.reference.conv_grad import max_pool2d_backward

from ._array_lab_tools import (
    IntOrPair,
    all_of,
    as_pair,
    describe_hyper,
    expect_close,
    expect_tuple,
    with_hint,
)

__all__ = ["LAB", "MaxPoolLab"]

Array = npt.NDArray[Any]

RTOL, ATOL = 1e-9, 1e-12  # max pooling only copies and adds numbers; there is no rounding to allow for

_ZERO_PAD_HINT = N_(
    "Your y equals max pooling over a zero-padded input. Max pooling pads with −∞ (padding must "
    "never win), so a window of negative values next to the border keeps a negative maximum."
)
_PADDED_INDEX_HINT = N_(
    "Your indices are positions in the *padded* plane. Report row * W + col in the unpadded H × W input."
)
_WINDOW_INDEX_HINT = N_(
    "Your indices are positions *inside each window* (0 … kH·kW − 1). Report the flat position "
    "row * W + col of the maximum in the whole H × W input plane."
)
_LAST_TIE_HINT = N_(
    "Your indices pick the *last* maximum on ties; take the first one in row-major window order "
    "(np.argmax does), as torch does."
)
_NO_ACCUMULATE_HINT = N_(
    "Your dx keeps only one gradient where several overlapping windows chose the same input "
    "position; they must add up. Note that `dx[idx] += dout` with repeated indices in idx adds only "
    "once; use np.add.at (or loop)."
)


# --------------------------------------------------------------------------- mistakes, for hints


def _window_origin(out: int, stride: int, padding: int) -> Array:
    return np.arange(out) * stride - padding


def _indices_in_padded_plane(indices: Array, width: int, padding: tuple[int, int]) -> Array:
    rows, cols = np.divmod(indices, width)
    return (rows + padding[0]) * (width + 2 * padding[1]) + cols + padding[1]


def _indices_in_window(
    indices: Array, width: int, kernel: tuple[int, int], stride: tuple[int, int], pad: tuple[int, int]
) -> Array:
    rows, cols = np.divmod(indices, width)
    top = _window_origin(indices.shape[-2], stride[0], pad[0])[:, None]
    left = _window_origin(indices.shape[-1], stride[1], pad[1])[None, :]
    return (rows - top) * kernel[1] + (cols - left)


def _indices_last_tie(
    x: Array, kernel: tuple[int, int], stride: tuple[int, int], pad: tuple[int, int]
) -> Array:
    """Indices of the *last* maximum: pool the 180°-rotated input and map positions back."""
    h, w = x.shape[-2:]
    # Rotating the input (and swapping which side gets the floor's leftover) reverses the order
    # of taps in every window, so "first" there is "last" here, provided the windows line up,
    # i.e. the padded size fits the windows exactly. Otherwise the hint is skipped (ValueError).
    for axis, n in ((0, h), (1, w)):
        if (n + 2 * pad[axis] - kernel[axis]) % stride[axis]:
            raise ValueError("windows do not tile the input exactly")
    _, rotated_idx = max_pool2d(x[..., ::-1, ::-1], kernel, stride, pad)
    rows, cols = np.divmod(rotated_idx[..., ::-1, ::-1], w)
    return (h - 1 - rows) * w + (w - 1 - cols)


def _backward_without_accumulation(dout: Array, indices: Array, input_shape: tuple[int, ...]) -> Array:
    n, c = input_shape[:2]
    dx = np.zeros((n, c, input_shape[2] * input_shape[3]))
    for i in range(n):
        for j in range(c):
            dx[i, j][indices[i, j].ravel()] += dout[i, j].ravel()  # the buffered += bug, on purpose
    return dx.reshape(input_shape)


# --------------------------------------------------------------------------- checks


def _forward_check(
    x: Array, kernel_size: IntOrPair, stride: IntOrPair | None, padding: IntOrPair
) -> Callable[[Any], Check]:
    expected_y, expected_idx = max_pool2d(x, kernel_size, stride, padding)
    x = np.array(x)  # private copy: in-process runs hand the student the case's own array
    kernel = as_pair(kernel_size)
    step = kernel if stride is None else as_pair(stride)
    pad = as_pair(padding)
    width = x.shape[-1]

    def zero_padded_y() -> Array:
        padded = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
        return max_pool2d(padded, kernel, step, 0)[0]

    y_hints = [(zero_padded_y, _ZERO_PAD_HINT)] if pad != (0, 0) else []
    idx_hints = [
        (lambda: _indices_in_window(expected_idx, width, kernel, step, pad), _WINDOW_INDEX_HINT),
        (lambda: _indices_last_tie(x, kernel, step, pad), _LAST_TIE_HINT),
    ]
    if pad != (0, 0):
        idx_hints.insert(0, (lambda: _indices_in_padded_plane(expected_idx, width, pad), _PADDED_INDEX_HINT))

    def check(got: Any) -> Check:
        wrong_container = expect_tuple(got, ("y", "indices"))
        if wrong_container is not None:
            return wrong_container
        y_check = with_hint(expect_close(got[0], expected_y, "y", RTOL, ATOL), got[0], y_hints, RTOL, ATOL)
        idx_check = expect_array(got[1], expected_idx, name="indices", integer=True)
        return all_of([y_check, with_hint(idx_check, got[1], idx_hints, 0.0, 0.0)])

    return check


def _backward_check(dout: Array, indices: Array, input_shape: tuple[int, ...]) -> Callable[[Any], Check]:
    expected = max_pool2d_backward(dout, indices, input_shape)
    dout, indices = np.array(dout), np.array(indices)
    hints = [(lambda: _backward_without_accumulation(dout, indices, input_shape), _NO_ACCUMULATE_HINT)]

    def check(got: Any) -> Check:
        return with_hint(expect_close(got, expected, "dx", RTOL, ATOL), got, hints, RTOL, ATOL)

    return check


def _unpool_check(y: Array, indices: Array, output_size: tuple[int, int]) -> Callable[[Any], Check]:
    expected = max_unpool2d(y, indices, output_size)

    def check(got: Any) -> Check:
        return expect_close(got, expected, "x", RTOL, ATOL)

    return check


def _pool_title(
    x_shape: tuple[int, ...], kernel_size: IntOrPair, stride: IntOrPair | None, padding: IntOrPair
) -> str:
    n, c, h, w = x_shape
    return f"N={n}, C={c}, {h}×{w} input, " + describe_hyper(
        kernel=kernel_size, stride=stride if stride is not None else "default", padding=padding
    )


# --------------------------------------------------------------------------- the lab


class MaxPoolLab(CodeLab):
    slug: ClassVar[str] = "maxpool"
    title: ClassVar[str] = N_("Max pooling: forward with indices, backward, unpooling")
    functions: ClassVar[tuple[str, ...]] = ("maxpool_forward", "maxpool_backward", "max_unpool")

    def _forward_case(
        self,
        name: str,
        points: float,
        x: Array,
        kernel_size: IntOrPair,
        stride: IntOrPair | None = None,
        padding: IntOrPair = 0,
        *,
        public: bool = False,
        title: str | None = None,
    ) -> TestCase:
        # Defaults are left out of the call, so the student's defaults are exercised too.
        kwargs: dict[str, Any] = {}
        if stride is not None:
            kwargs["stride"] = stride
        if padding != 0:
            kwargs["padding"] = padding
        return TestCase(
            name=name,
            title=title or "forward: " + _pool_title(x.shape, kernel_size, stride, padding),
            points=points,
            function="maxpool_forward",
            args=(np.array(x), kernel_size),
            kwargs=kwargs,
            check=_forward_check(x, kernel_size, stride, padding),
            public=public,
        )

    def _backward_case(
        self,
        name: str,
        points: float,
        x: Array,
        dout: Array | None,
        rng: np.random.Generator | None,
        kernel_size: IntOrPair,
        stride: IntOrPair | None = None,
        padding: IntOrPair = 0,
        *,
        public: bool = False,
        title: str | None = None,
    ) -> TestCase:
        """Indices come from pooling ``x``; ``dout`` is drawn from ``rng`` when not given."""
        y, indices = max_pool2d(x, kernel_size, stride, padding)
        if dout is None:
            assert rng is not None
            dout = rng.normal(size=y.shape)
        shape = tuple(int(s) for s in x.shape)
        return TestCase(
            name=name,
            title=title or "backward: " + _pool_title(x.shape, kernel_size, stride, padding),
            points=points,
            function="maxpool_backward",
            args=(np.array(dout), np.array(indices), shape),
            check=_backward_check(dout, indices, shape),
            public=public,
        )

    def _unpool_case(
        self,
        name: str,
        points: float,
        x: Array,
        kernel_size: IntOrPair,
        stride: IntOrPair | None = None,
        padding: IntOrPair = 0,
        *,
        public: bool = False,
        title: str | None = None,
    ) -> TestCase:
        y, indices = max_pool2d(x, kernel_size, stride, padding)
        size = (int(x.shape[2]), int(x.shape[3]))
        return TestCase(
            name=name,
            title=title or "unpool: " + _pool_title(x.shape, kernel_size, stride, padding),
            points=points,
            function="max_unpool",
            args=(np.array(y), np.array(indices), size),
            check=_unpool_check(y, indices, size),
            public=public,
        )

    def public_cases(self) -> list[TestCase]:
        ramp = np.array(
            [[1.0, 3.0, 2.0, 0.0], [4.0, 2.0, 8.0, 5.0], [0.0, 9.0, 1.0, 3.0], [6.0, 2.0, 7.0, 4.0]]
        )
        # Every 3×3 window of this 4×4 plane (stride 1) contains (2, 1) = 9, so all four windows
        # report index 2·4 + 1 = 9 and dx[2, 1] must be the sum of all of dout.
        peak = np.array(
            [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [2.0, 20.0, 4.0, 3.0], [0.0, 1.0, 5.0, 2.0]]
        )
        rng = np.random.default_rng(20240303)  # fixed: public cases never change
        return [
            self._forward_case(
                "public-forward-2x2",
                1,
                ramp[None, None],
                2,
                public=True,
                title="forward: one 4×4 plane, kernel 2, default stride (= 2), no padding",
            ),
            self._backward_case(
                "public-backward-overlap",
                1,
                peak[None, None],
                np.array([[[[1.0, 2.0], [3.0, 4.0]]]]),
                None,
                3,
                1,
                public=True,
                title="backward: 4×4 plane, kernel 3, stride 1; all four windows pick the same pixel",
            ),
            self._unpool_case(
                "public-unpool-padding",
                1,
                rng.normal(size=(2, 2, 5, 5)),
                3,
                2,
                1,
                public=True,
                title="unpool: N=2, C=2, 5×5 input, kernel 3, stride 2, padding 1",
            ),
        ]

    def hidden_cases(self, seed: int) -> list[TestCase]:
        rng = np.random.default_rng(seed)

        def draw(low: int, high: int) -> int:
            return int(rng.integers(low, high + 1))

        def normal(n: int, c: int, h: int, w: int) -> Array:
            return rng.normal(size=(n, c, h, w))  # distinct values (with probability 1): no ties

        overlap_x = normal(draw(1, 2), draw(1, 3), draw(5, 8), draw(5, 8))
        # All values negative: with zero padding instead of −∞, border windows would give 0.
        negative_x = -rng.uniform(0.5, 5.0, size=(draw(1, 2), draw(1, 2), draw(4, 7), draw(4, 7)))
        non_square_x = normal(draw(1, 2), draw(1, 2), draw(5, 9), draw(5, 9))
        # Few distinct values: many ties, which go to the first maximum in row-major order.
        ties_x = rng.integers(0, 3, size=(1, draw(1, 2), draw(4, 6), draw(4, 6))).astype(np.float64)
        ties_kernel = draw(2, 3)
        strided_x = normal(draw(1, 3), draw(1, 3), draw(4, 9), draw(4, 9))
        overlapping_x = normal(draw(1, 2), draw(1, 3), draw(4, 7), draw(4, 7))
        unpool_x = normal(draw(1, 2), draw(1, 3), draw(4, 9), draw(4, 9))
        unpool_kernel = draw(2, 3)
        unpool_stride = [None, 1, 2][draw(0, 2)]  # None: the default, the kernel size
        return [
            self._forward_case("forward-overlap", 1, overlap_x, 3, draw(1, 2)),
            self._forward_case("forward-padding", 1, negative_x, (3, 2), (2, 1), (1, 1)),
            self._forward_case("forward-non-square", 1, non_square_x, (2, 3)),
            self._forward_case("forward-ties", 0.5, ties_x, ties_kernel, 1),
            self._backward_case("backward-stride", 1, strided_x, None, rng, 2),
            self._backward_case("backward-overlap", 1.5, overlapping_x, None, rng, 3, 1, 1),
            self._unpool_case("unpool", 1, unpool_x, unpool_kernel, unpool_stride),
        ]


LAB = MaxPoolLab()
