"""Backward passes in numpy: convolution, max pooling and softmax cross-entropy (float64).

Each function returns the gradients PyTorch's autograd gives for the matching forward op in
:mod:`grader.reference.conv` / :mod:`grader.reference.functional`, with the same conventions
(``grader/CONVENTIONS.md``): channels-first, cross-correlation, zero padding ``p`` on each side,
max-pool indices as flat positions in the unpadded ``H x W`` plane.

* Convolution: ``db`` sums ``dout`` over batch and space; ``dw`` correlates the (padded) input
  with ``dout``; ``dx`` scatters ``dout * w`` back through every window and drops the padding.
  Input rows/columns that no window reaches (the floor in the output size) get gradient 0.
* Max pooling: the whole upstream gradient of a window goes to the one position its index names
  (the first maximum on ties, as the forward pass reports); overlapping windows that picked the
  same position add up.
* Softmax cross-entropy with the mean over rows: ``(softmax(z) - onehot(y)) / N``.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from .conv import IntOrPair, _as_array, _pair, _to_batched
from .functional import softmax
from .sizes import check_int, conv_output_size

__all__ = [
    "Conv2dGrads",
    "conv2d_backward",
    "max_pool2d_backward",
    "softmax_cross_entropy_grad",
]

Array = npt.NDArray[Any]


class Conv2dGrads(NamedTuple):
    """Gradients of a conv layer's loss w.r.t. its input, weight and bias (a plain 3-tuple too)."""

    dx: Array
    dw: Array
    db: Array


def conv2d_backward(
    dout: npt.ArrayLike,
    x: npt.ArrayLike,
    w: npt.ArrayLike,
    *,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
) -> Conv2dGrads:
    """Gradients of ``conv2d(x, w, b, ...)`` given the upstream gradient ``dout``.

    ``x``: ``(N, C_in, H, W)`` or ``(C_in, H, W)``; ``w``: ``(C_out, C_in / groups, kH, kW)``;
    ``dout``: the conv output's shape, ``(N, C_out, H_out, W_out)`` (same rank as ``x``).
    Returns ``(dx, dw, db)`` in float64 with the shapes of ``x``, ``w`` and ``(C_out,)``. The bias
    does not enter any gradient but ``db``, so it is not an argument.
    """
    xa, wa, ga = _as_array(x, "x"), _as_array(w, "w"), _as_array(dout, "dout")
    x4 = _to_batched(xa, "x", (3, 4)).astype(np.float64)
    if wa.ndim != 4:
        raise ValueError(f"w must have shape (C_out, C_in/groups, kH, kW), got shape {wa.shape}")
    n, c_in, h, wd = x4.shape
    c_out, c_in_g, kh, kw = wa.shape
    g = check_int(groups, "groups", minimum=1)
    if c_in == 0 or c_out == 0 or kh == 0 or kw == 0 or h == 0 or wd == 0:
        raise ValueError(f"empty channels, kernel or image: x {xa.shape}, w {wa.shape}")
    if c_in % g or c_out % g or c_in_g * g != c_in:
        raise ValueError(
            f"groups={g} must divide C_in={c_in} and C_out={c_out}, and w.shape[1] must be "
            f"C_in/groups; got w of shape {wa.shape}"
        )
    (sh, sw), (ph, pw), (dh, dw) = (
        _pair(stride, "stride", minimum=1),
        _pair(padding, "padding", minimum=0),
        _pair(dilation, "dilation", minimum=1),
    )
    oh = conv_output_size(h, kh, sh, ph, dh)
    ow = conv_output_size(wd, kw, sw, pw, dw)
    expected_dout = (n, c_out, oh, ow) if xa.ndim == 4 else (c_out, oh, ow)
    if ga.shape != expected_dout:
        raise ValueError(f"dout must have the conv output's shape {expected_dout}, got {ga.shape}")

    c_out_g = c_out // g
    grad_out = ga.astype(np.float64).reshape(n, g, c_out_g, oh, ow)
    kernel = wa.astype(np.float64).reshape(g, c_out_g, c_in_g, kh, kw)
    x_padded = np.pad(x4, ((0, 0), (0, 0), (ph, ph), (pw, pw)))

    # db: every output position of channel o added b[o] once.
    db = grad_out.sum(axis=(0, 3, 4)).reshape(c_out)

    # dw[o, c, i, j] = sum over n and output positions of dout * (the input tap (i, j) saw).
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    windows = sliding_window_view(x_padded, (span_h, span_w), axis=(2, 3))[:, :, ::sh, ::sw, ::dh, ::dw]
    windows = windows[:, :, :oh, :ow].reshape(n, g, c_in_g, oh, ow, kh, kw)
    dw_grouped = np.einsum("ngchwij,ngohw->gocij", windows, grad_out, optimize=True)

    # dx: tap (i, j) of output (r, s) read padded input (r*sh + i*dh, s*sw + j*dw); send the
    # gradient back there. Loop over taps only; each tap adds a whole strided image.
    tap_grads = np.einsum("ngohw,gocij->ngcijhw", grad_out, kernel, optimize=True)
    dx_padded = np.zeros((n, g, c_in_g, h + 2 * ph, wd + 2 * pw))
    rows_span, cols_span = (oh - 1) * sh + 1, (ow - 1) * sw + 1
    for i in range(kh):
        for j in range(kw):
            dx_padded[:, :, :, i * dh : i * dh + rows_span : sh, j * dw : j * dw + cols_span : sw] += (
                tap_grads[:, :, :, i, j]
            )
    dx = dx_padded[:, :, :, ph : ph + h, pw : pw + wd].reshape(n, c_in, h, wd)

    dx_out = dx.reshape(xa.shape)
    return Conv2dGrads(np.ascontiguousarray(dx_out), dw_grouped.reshape(wa.shape), db)


def max_pool2d_backward(
    dout: npt.ArrayLike, indices: npt.ArrayLike, input_shape: tuple[int, ...] | list[int]
) -> Array:
    """Gradient of max pooling w.r.t. its input, from the forward pass's ``indices``.

    ``dout`` and ``indices`` have the pooled shape (``(N, C, H_out, W_out)``, ``(C, ...)`` or
    ``(H_out, W_out)``); ``input_shape`` is the pooled input's shape, same rank. Each ``dout``
    value is added at its window's index (flat ``row * W + col`` in its own channel's plane);
    positions picked by several overlapping windows receive the sum. The kernel size, stride and
    padding are not needed: the indices already say where every window's maximum was.
    """
    ga = _as_array(dout, "dout")
    ia = np.asarray(indices)
    if ia.dtype.kind not in "iu":
        raise ValueError(f"indices must be integers, got dtype {ia.dtype}")
    if ia.shape != ga.shape:
        raise ValueError(f"indices shape {ia.shape} must equal dout shape {ga.shape}")
    shape = tuple(check_int(s, "input_shape entry", minimum=1) for s in input_shape)
    if len(shape) != ga.ndim:
        raise ValueError(f"input_shape {shape} must have the rank of dout {ga.shape}")
    if shape[:-2] != ga.shape[:-2]:
        raise ValueError(f"input_shape {shape} and dout {ga.shape} must agree on batch/channel axes")
    g4 = _to_batched(ga, "dout", (2, 3, 4)).astype(np.float64)
    n, c = g4.shape[:2]
    plane = shape[-2] * shape[-1]
    flat_idx = ia.astype(np.int64).reshape(n * c, -1)
    if flat_idx.size and (flat_idx.min() < 0 or flat_idx.max() >= plane):
        raise ValueError(f"indices must lie in [0, {plane}) for an input plane of {shape[-2:]}")
    # One flat buffer for all planes: offset each plane's indices so np.add.at (which, unlike
    # ``dx[idx] += v``, adds repeated indices) can accumulate everything in one call.
    offsets = (np.arange(n * c, dtype=np.int64) * plane)[:, None]
    dx = np.zeros(n * c * plane)
    np.add.at(dx, (flat_idx + offsets).ravel(), g4.reshape(-1))
    return dx.reshape(shape)


def softmax_cross_entropy_grad(
    logits: npt.ArrayLike, labels: npt.ArrayLike, *, reduction: Literal["mean", "sum"] = "mean"
) -> Array:
    """Gradient of ``softmax_cross_entropy(logits, labels)`` w.r.t. the ``(N, K)`` logits.

    ``(softmax(z) - onehot(y)) / N`` for the mean over rows (``F.cross_entropy``'s default),
    without the ``/ N`` for ``reduction="sum"``. Stable for huge logits because ``softmax`` shifts
    by the row max; every entry lies in ``[-1, 1]``.
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels)
    if z.ndim != 2 or z.shape[1] == 0:
        raise ValueError(f"logits must have shape (N, K) with K >= 1, got {z.shape}")
    if np.any(np.isnan(z) | (z == np.inf)):
        raise ValueError("logits must not contain NaN or +inf")
    if y.dtype.kind not in "iu" or y.shape != (z.shape[0],):
        raise ValueError(f"labels must be integers of shape ({z.shape[0]},), got {y.dtype} {y.shape}")
    if np.any((y < 0) | (y >= z.shape[1])):
        raise ValueError(f"labels must be in [0, {z.shape[1] - 1}]")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    grad = np.array(softmax(z, axis=-1), dtype=np.float64)
    grad[np.arange(z.shape[0]), y.astype(np.intp)] -= 1.0
    return grad / z.shape[0] if reduction == "mean" and z.shape[0] else grad
