"""Lab ``conv2d-forward``: a 2-D convolution layer's forward pass in numpy.

The student writes ``conv2d_forward(x, w, b, stride=1, padding=0, dilation=1, groups=1)`` with
torch's semantics (cross-correlation, zero padding on each side, grouped channels). Expected
outputs come from :func:`grader.reference.conv.conv2d`. A wrong answer that equals the true
(kernel-flipped) convolution, or the layer without its bias, gets a hint naming that mistake.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from grader.codelabs.base import Check, CodeLab, TestCase
from grader.i18n import N_
from grader.reference.conv import conv2d

from ._array_lab_tools import (
    IntOrPair,
    array_case,
    describe_hyper,
    expect_close,
    int_or_pair,
    random_conv_geometry,
    with_hint,
)

__all__ = ["LAB", "Conv2dForwardLab"]

Array = npt.NDArray[Any]

# Inputs are float64; this leaves room for a different summation order, not for float32.
RTOL, ATOL = 1e-6, 1e-8

_FLIP_HINT = N_(
    "Your output equals the mathematical convolution (kernel rotated by 180°). A CNN layer "
    "computes cross-correlation: use w[o, c, a, b] as it is, without flipping."
)
_NO_BIAS_HINT = N_("Your output equals the layer without its bias: add b[o] to every position of output channel o.")


def _output_check(x: Array, w: Array, b: Array | None, hyper: dict[str, Any]) -> Callable[[Any], Check]:
    expected = conv2d(x, w, b, **hyper)
    # Private copies: in-process runs hand the student the case's own arrays, which they may modify.
    x, w, b = np.array(x), np.array(w), None if b is None else np.array(b)
    hints = [(lambda: conv2d(x, w, b, flip=True, **hyper), _FLIP_HINT)]
    if b is not None and np.any(b != 0):
        hints.append((lambda: conv2d(x, w, None, **hyper), _NO_BIAS_HINT))

    def check(got: Any) -> Check:
        return with_hint(expect_close(got, expected, "y", RTOL, ATOL), got, hints, RTOL, ATOL)

    return check


def _title(x: Array, w: Array, b: Array | None, hyper: dict[str, Any]) -> str:
    n, c_in, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    defaults = {"stride": None, "padding": 0, "dilation": 1, "groups": 1}  # stride is always shown
    shown = {k: v for k, v in hyper.items() if v != defaults.get(k)}
    return (
        f"N={n}, {c_in}→{c_out} channels, {h}×{wd} input, {kh}×{kw} kernel, "
        f"{describe_hyper(**shown)}{', no bias' if b is None else ''}"
    )


class Conv2dForwardLab(CodeLab):
    slug: ClassVar[str] = "conv2d-forward"
    title: ClassVar[str] = N_("Conv2d forward pass in numpy")
    functions: ClassVar[tuple[str, ...]] = ("conv2d_forward",)

    def _case(
        self,
        name: str,
        points: float,
        x: Array,
        w: Array,
        b: Array | None,
        *,
        public: bool = False,
        title: str | None = None,
        **hyper: Any,
    ) -> TestCase:
        return array_case(
            name=name,
            title=title or _title(x, w, b, hyper),
            points=points,
            function="conv2d_forward",
            arrays=(x, w, b),
            kwargs=hyper,
            check=_output_check(x, w, b, hyper),
            public=public,
        )

    def public_cases(self) -> list[TestCase]:
        # 1) A hand-checkable case with an asymmetric kernel (flipping it changes the answer) and
        #    every hyper-parameter at its default (no kwargs are passed).
        x_hand = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
        w_hand = np.array([[[[1.0, 2.0], [0.0, -1.0]]]])
        hand = self._case(
            "public-hand-2x2",
            1,
            x_hand,
            w_hand,
            np.array([0.5]),
            public=True,
            title="4×4 ramp image, one asymmetric 2×2 kernel, bias 0.5, defaults",
        )
        rng = np.random.default_rng(20240301)  # fixed: public cases never change
        x = rng.normal(size=(2, 2, 5, 5))
        w = rng.normal(size=(3, 2, 3, 3))
        b = rng.normal(size=3)
        padded = self._case(
            "public-stride2-pad1", 1, x, w, b, public=True, stride=2, padding=1, dilation=1, groups=1
        )
        return [hand, padded]

    def hidden_cases(self, seed: int) -> list[TestCase]:
        rng = np.random.default_rng(seed)
        cases: list[TestCase] = []

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
            bias: bool = True,
        ) -> None:
            h, wd = random_conv_geometry(rng, kernel=kernel, padding=padding, dilation=dilation)
            x = rng.normal(size=(batch, groups * c_in_per_group, h, wd))
            w = rng.normal(size=(groups * c_out_per_group, c_in_per_group, *kernel))
            b = rng.normal(size=groups * c_out_per_group) if bias else None
            cases.append(
                self._case(
                    name, points, x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups
                )
            )

        def draw(low: int, high: int) -> int:
            return int(rng.integers(low, high + 1))

        def square_kernel(low: int = 2, high: int = 4) -> tuple[int, int]:
            k = draw(low, high)
            return (k, k)

        add(
            "stride-padding", 1, batch=draw(1, 2), groups=1, c_in_per_group=draw(1, 3),
            c_out_per_group=draw(1, 3), kernel=square_kernel(), stride=draw(2, 3), padding=draw(1, 2), dilation=1,
        )  # fmt: skip
        add(
            "dilation", 1, batch=1, groups=1, c_in_per_group=draw(1, 3), c_out_per_group=draw(1, 3),
            kernel=square_kernel(2, 3), stride=draw(1, 2), padding=draw(0, 2), dilation=draw(2, 3),
        )  # fmt: skip
        add(
            "groups", 1.5, batch=draw(1, 2), groups=draw(2, 3), c_in_per_group=draw(1, 3),
            c_out_per_group=draw(1, 2), kernel=square_kernel(), stride=draw(1, 2), padding=draw(0, 1), dilation=1,
        )  # fmt: skip
        depthwise_channels = draw(2, 5)
        add(
            "depthwise", 1, batch=draw(1, 2), groups=depthwise_channels, c_in_per_group=1,
            c_out_per_group=draw(1, 2), kernel=square_kernel(3, 3), stride=1, padding=1, dilation=1,
        )  # fmt: skip
        kh = draw(1, 2)
        add(
            "non-square", 1.5, batch=1, groups=1, c_in_per_group=draw(1, 3), c_out_per_group=draw(1, 3),
            kernel=(kh, kh + draw(1, 3)), stride=(draw(1, 2), draw(2, 3)), padding=(draw(0, 1), draw(1, 2)),
            dilation=(draw(1, 2), 1),
        )  # fmt: skip
        add(
            "batch-no-bias", 1, batch=draw(3, 4), groups=1, c_in_per_group=draw(1, 3),
            c_out_per_group=draw(1, 3), kernel=square_kernel(), stride=1, padding=draw(0, 1), dilation=1,
            bias=False,
        )  # fmt: skip
        add(
            "everything", 1, batch=draw(2, 3), groups=2, c_in_per_group=draw(1, 2), c_out_per_group=draw(1, 2),
            kernel=(draw(2, 3), draw(2, 3)), stride=int_or_pair(rng, 1, 3, pair=True),
            padding=int_or_pair(rng, 0, 2, pair=True), dilation=int_or_pair(rng, 1, 2, pair=True),
            bias=bool(rng.integers(0, 2)),
        )  # fmt: skip
        return cases


LAB = Conv2dForwardLab()
