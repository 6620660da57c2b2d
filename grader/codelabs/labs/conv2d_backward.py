"""Lab ``conv2d-backward``: gradients of a 2-D convolution layer in numpy.

The student writes ``conv2d_backward(dout, x, w, stride=1, padding=0, dilation=1, groups=1)``
returning ``(dx, dw, db)`` for torch's ``F.conv2d`` (cross-correlation, zero padding, groups).
Expected gradients come from :func:`grader.reference.conv_grad.conv2d_backward`, which is tested
against torch autograd and numerical differences. A ``dx`` that equals the backward pass of the
*flipped* kernel (correlating ``dout`` with ``w`` instead of convolving) gets a hint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from grader.codelabs.base import Check, CodeLab, TestCase
from grader.i18n import N_
from grader.reference.conv import conv2d
from grader.reference.conv_grad import conv2d_backward

from ._array_lab_tools import (
    IntOrPair,
    all_of,
    array_case,
    describe_hyper,
    expect_close,
    expect_tuple,
    int_or_pair,
    random_conv_geometry,
    with_hint,
)

__all__ = ["LAB", "Conv2dBackwardLab"]

Array = npt.NDArray[Any]

RTOL, ATOL = 1e-6, 1e-8
NAMES = ("dx", "dw", "db")

_DX_FLIP_HINT = N_(
    "Your dx equals the result of sliding the kernel over dout *without* rotating it. The gradient "
    "w.r.t. the input is a full convolution of dout with w: each dout value is sent back to the "
    "input pixels its window read, weighted by the tap that read them."
)


def _grads_check(dout: Array, x: Array, w: Array, hyper: dict[str, Any]) -> Callable[[Any], Check]:
    expected = conv2d_backward(dout, x, w, **hyper)
    dout, x, w = np.array(dout), np.array(x), np.array(w)  # private copies (see conv2d_forward)
    flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1])
    dx_hints = [(lambda: conv2d_backward(dout, x, flipped, **hyper).dx, _DX_FLIP_HINT)]

    def check(got: Any) -> Check:
        wrong_container = expect_tuple(got, NAMES)
        if wrong_container is not None:
            return wrong_container
        parts = [
            expect_close(g, e, name, RTOL, ATOL) for g, e, name in zip(got, expected, NAMES, strict=True)
        ]
        parts[0] = with_hint(parts[0], got[0], dx_hints, RTOL, ATOL)
        return all_of(parts)

    return check


def _title(x: Array, w: Array, hyper: dict[str, Any]) -> str:
    n, c_in, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    defaults = {"stride": None, "padding": 0, "dilation": 1, "groups": 1}  # stride is always shown
    shown = {k: v for k, v in hyper.items() if v != defaults.get(k)}
    return f"N={n}, {c_in}→{c_out} channels, {h}×{wd} input, {kh}×{kw} kernel, {describe_hyper(**shown)}"


class Conv2dBackwardLab(CodeLab):
    slug: ClassVar[str] = "conv2d-backward"
    title: ClassVar[str] = N_("Conv2d backward pass in numpy")
    functions: ClassVar[tuple[str, ...]] = ("conv2d_backward",)

    def _case(
        self,
        name: str,
        points: float,
        dout: Array,
        x: Array,
        w: Array,
        *,
        public: bool = False,
        title: str | None = None,
        **hyper: Any,
    ) -> TestCase:
        return array_case(
            name=name,
            title=title or _title(x, w, hyper),
            points=points,
            function="conv2d_backward",
            arrays=(dout, x, w),
            kwargs=hyper,
            check=_grads_check(dout, x, w, hyper),
            public=public,
        )

    def public_cases(self) -> list[TestCase]:
        # 1) Hand-checkable: ramp image, asymmetric 2×2 kernel, dout all ones, defaults. Then
        #    db = 9 (3×3 outputs), dw[a, k] = sum of the 3×3 block of x starting at (a, k), and
        #    dx[i, j] = sum of the kernel taps that read pixel (i, j).
        x_hand = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
        w_hand = np.array([[[[1.0, 2.0], [0.0, -1.0]]]])
        hand = self._case(
            "public-hand-2x2",
            1,
            np.ones((1, 1, 3, 3)),
            x_hand,
            w_hand,
            public=True,
            title="4×4 ramp image, one asymmetric 2×2 kernel, dout all ones, defaults",
        )
        rng = np.random.default_rng(20240302)  # fixed: public cases never change
        x = rng.normal(size=(2, 2, 5, 5))
        w = rng.normal(size=(3, 2, 3, 3))
        dout = rng.normal(size=(2, 3, 3, 3))  # (5 + 2 - 3) // 2 + 1 = 3
        padded = self._case(
            "public-stride2-pad1", 1, dout, x, w, public=True, stride=2, padding=1, dilation=1, groups=1
        )
        return [hand, padded]

    def hidden_cases(self, seed: int) -> list[TestCase]:
        rng = np.random.default_rng(seed)
        cases: list[TestCase] = []

        def draw(low: int, high: int) -> int:
            return int(rng.integers(low, high + 1))

        def add(
            name: str,
            points: float,
            *,
            batch: int,
            groups: int,
            c_in_per_group: int,
            c_out_per_group: int,
            kernel: tuple[int, int],
            stride: IntOrPair,
            padding: IntOrPair,
            dilation: IntOrPair,
            size: tuple[int, int] | None = None,
        ) -> None:
            h, wd = size or random_conv_geometry(rng, kernel=kernel, padding=padding, dilation=dilation)
            x = rng.normal(size=(batch, groups * c_in_per_group, h, wd))
            w = rng.normal(size=(groups * c_out_per_group, c_in_per_group, *kernel))
            hyper = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
            out_shape = conv2d(x, w, **hyper).shape
            dout = rng.normal(size=out_shape)
            cases.append(self._case(name, points, dout, x, w, **hyper))

        add(
            "stride-padding", 1.5, batch=draw(1, 2), groups=1, c_in_per_group=draw(1, 3),
            c_out_per_group=draw(1, 3), kernel=(3, 3), stride=2, padding=draw(1, 2), dilation=1,
        )  # fmt: skip
        add(
            "dilation", 1.5, batch=1, groups=1, c_in_per_group=draw(1, 2), c_out_per_group=draw(1, 3),
            kernel=(draw(2, 3), draw(2, 3)), stride=draw(1, 2), padding=draw(0, 2), dilation=draw(2, 3),
        )  # fmt: skip
        add(
            "groups", 1.5, batch=draw(1, 2), groups=draw(2, 3), c_in_per_group=draw(1, 3),
            c_out_per_group=draw(1, 2), kernel=(draw(2, 3), draw(2, 3)), stride=draw(1, 2), padding=draw(0, 1),
            dilation=1,
        )  # fmt: skip
        add(
            "depthwise", 1, batch=draw(1, 2), groups=draw(2, 5), c_in_per_group=1, c_out_per_group=1,
            kernel=(3, 3), stride=draw(1, 2), padding=1, dilation=1,
        )  # fmt: skip
        add(
            "non-square-batch", 1.5, batch=draw(2, 4), groups=1, c_in_per_group=draw(1, 3),
            c_out_per_group=draw(1, 3), kernel=(draw(1, 2), draw(3, 4)), stride=int_or_pair(rng, 1, 3, pair=True),
            padding=(draw(0, 1), draw(1, 2)), dilation=(1, draw(1, 2)),
        )  # fmt: skip
        # The floor in the output size drops the last rows/columns: no window reads them, so their
        # gradient is 0 (and a dx built by padding/cropping dout gets the shape wrong).
        stride, kernel = draw(2, 3), draw(2, 3)
        remainder_h, remainder_w = draw(1, stride - 1), draw(1, stride - 1)
        size = (kernel + stride * draw(1, 3) + remainder_h, kernel + stride * draw(1, 3) + remainder_w)
        add(
            "uneven-stride", 1, batch=1, groups=1, c_in_per_group=draw(1, 2), c_out_per_group=draw(1, 2),
            kernel=(kernel, kernel), stride=stride, padding=0, dilation=1, size=size,
        )  # fmt: skip
        return cases


LAB = Conv2dBackwardLab()
