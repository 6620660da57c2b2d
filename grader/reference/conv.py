"""Convolution, transposed convolution, pooling and upsampling in numpy (PyTorch semantics).

Layout is channels-first: ``(C, H, W)`` or batched ``(N, C, H, W)``; every function returns the
same rank it was given. Pooling and upsampling also accept a single ``(H, W)`` plane, because
hand-sized exam problems are usually one matrix.

Dtypes: if every input is integer (or bool) the work is done in ``int64`` and results are exact
integers (students convolve small integer matrices by hand); otherwise everything is ``float64``.
Average pooling always returns ``float64``.

Everything is vectorized with ``sliding_window_view`` + ``einsum``; the only Python loops run over
kernel taps (in the transposed convolution), never over pixels. Conventions are in
``grader/CONVENTIONS.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from .sizes import check_int, conv_output_size, conv_transpose_output_size, pool_output_size

__all__ = [
    "bed_of_nails_upsample",
    "conv2d",
    "conv_transpose2d",
    "max_pool2d",
    "max_unpool2d",
    "nearest_upsample",
    "avg_pool2d",
]

Array = npt.NDArray[Any]
IntOrPair = int | Sequence[int]


# --------------------------------------------------------------------------- helpers


def _pair(value: IntOrPair, name: str, *, minimum: int) -> tuple[int, int]:
    """Normalize an int or an (h, w) pair, validating each entry."""
    if isinstance(value, Sequence | np.ndarray) and not isinstance(value, str):
        items = list(np.asarray(value).ravel()) if isinstance(value, np.ndarray) else list(value)
        if len(items) != 2:
            raise ValueError(f"{name} must be an int or a pair (h, w), got {value!r}")
        return (
            check_int(items[0], f"{name}[0]", minimum=minimum),
            check_int(items[1], f"{name}[1]", minimum=minimum),
        )
    v = check_int(value, name, minimum=minimum)
    return v, v


def _as_array(value: Any, name: str) -> Array:
    arr = np.asarray(value)
    # Complex/object/string arrays have no meaning here; refuse them rather than guess.
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    return arr


def _work_dtype(*arrays: Array) -> np.dtype[Any]:
    """int64 when all inputs are integer/bool (exact arithmetic), else float64."""
    if all(a.dtype.kind in "biu" for a in arrays):
        return np.dtype(np.int64)
    return np.dtype(np.float64)


def _to_batched(x: Array, name: str, ranks: tuple[int, ...]) -> Array:
    """View ``x`` as ``(N, C, H, W)``; ``ranks`` lists the accepted input ranks."""
    if x.ndim not in ranks:
        shapes = {2: "(H, W)", 3: "(C, H, W)", 4: "(N, C, H, W)"}
        allowed = " or ".join(shapes[r] for r in ranks)
        raise ValueError(f"{name} must have shape {allowed}, got shape {x.shape}")
    return x.reshape((1,) * (4 - x.ndim) + x.shape)


def _restore_rank(y: Array, ndim: int) -> Array:
    return y.reshape(y.shape[4 - ndim :])


def _check_spatial(x4: Array, name: str) -> None:
    if x4.shape[2] == 0 or x4.shape[3] == 0:
        raise ValueError(f"{name} has an empty spatial size {x4.shape[2:]}")


# --------------------------------------------------------------------------- convolution


def conv2d(
    x: npt.ArrayLike,
    w: npt.ArrayLike,
    b: npt.ArrayLike | None = None,
    *,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
    flip: bool = False,
) -> Array:
    """2-D convolution layer, equal to ``torch.nn.functional.conv2d`` when ``flip=False``.

    ``x``: ``(C_in, H, W)`` or ``(N, C_in, H, W)``; ``w``: ``(C_out, C_in / groups, kH, kW)``;
    ``b``: ``(C_out,)`` or None. ``stride``/``padding``/``dilation`` are ints or ``(h, w)`` pairs;
    padding is zeros on both sides. ``flip=False`` is cross-correlation (what deep-learning
    libraries call convolution); ``flip=True`` rotates each kernel by 180 degrees first, giving the
    mathematical convolution. Output size per axis: ``floor((n + 2p - d(k-1) - 1) / s) + 1``.
    """
    xa, wa = _as_array(x, "x"), _as_array(w, "w")
    ba = None if b is None else _as_array(b, "b")
    dtype = _work_dtype(xa, wa, *(() if ba is None else (ba,)))
    x4 = _to_batched(xa, "x", (3, 4))
    if wa.ndim != 4:
        raise ValueError(f"w must have shape (C_out, C_in/groups, kH, kW), got shape {wa.shape}")
    n, c_in, h, wd = x4.shape
    c_out, c_in_g, kh, kw = wa.shape
    g = check_int(groups, "groups", minimum=1)
    if c_in == 0 or c_out == 0 or kh == 0 or kw == 0:
        raise ValueError(f"empty channels or kernel: x {xa.shape}, w {wa.shape}")
    if c_in % g or c_out % g:
        raise ValueError(f"groups={g} must divide both C_in={c_in} and C_out={c_out}")
    if c_in_g * g != c_in:
        raise ValueError(
            f"channel mismatch: x has C_in={c_in}, so w.shape[1] must be C_in/groups={c_in // g}, "
            f"got w of shape {wa.shape}"
        )
    if ba is not None and ba.shape != (c_out,):
        raise ValueError(f"b must have shape ({c_out},), got {ba.shape}")
    (sh, sw), (ph, pw), (dh, dw) = (
        _pair(stride, "stride", minimum=1),
        _pair(padding, "padding", minimum=0),
        _pair(dilation, "dilation", minimum=1),
    )
    _check_spatial(x4, "x")
    oh = conv_output_size(h, kh, sh, ph, dh)
    ow = conv_output_size(wd, kw, sw, pw, dw)

    xp = np.pad(x4.astype(dtype, copy=False), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    # Window axes are (span_h, span_w); striding the output axes applies the stride and striding
    # the window axes picks the dilated taps. All of this is a view, no copy yet.
    win = sliding_window_view(xp, (span_h, span_w), axis=(2, 3))[:, :, ::sh, ::sw, ::dh, ::dw]
    win = win[:, :, :oh, :ow].reshape(n, g, c_in_g, oh, ow, kh, kw)
    kern = wa.astype(dtype, copy=False)
    if flip:
        kern = kern[:, :, ::-1, ::-1]
    kern = kern.reshape(g, c_out // g, c_in_g, kh, kw)
    y = np.einsum("ngchwij,gocij->ngohw", win, kern, optimize=True).reshape(n, c_out, oh, ow)
    if ba is not None:
        y = y + ba.astype(dtype)[None, :, None, None]
    return _restore_rank(np.ascontiguousarray(y, dtype=dtype), xa.ndim)


def conv_transpose2d(
    x: npt.ArrayLike,
    w: npt.ArrayLike,
    b: npt.ArrayLike | None = None,
    *,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
) -> Array:
    """Transposed convolution, equal to ``torch.nn.functional.conv_transpose2d``.

    ``x``: ``(C_in, H, W)`` or ``(N, C_in, H, W)``; ``w``: ``(C_in, C_out / groups, kH, kW)`` (torch's
    layout, note C_in first). Each input pixel scatters ``x * kernel`` into the output at
    ``stride`` spacing; overlapping contributions are summed. ``padding`` then crops ``p`` from each
    side and ``output_padding`` (< stride or dilation) adds rows/columns at the bottom/right.
    Output size: ``(n - 1)s - 2p + d(k - 1) + output_padding + 1``.
    """
    xa, wa = _as_array(x, "x"), _as_array(w, "w")
    ba = None if b is None else _as_array(b, "b")
    dtype = _work_dtype(xa, wa, *(() if ba is None else (ba,)))
    x4 = _to_batched(xa, "x", (3, 4))
    if wa.ndim != 4:
        raise ValueError(f"w must have shape (C_in, C_out/groups, kH, kW), got shape {wa.shape}")
    n, c_in, h, wd = x4.shape
    c_in_w, c_out_g, kh, kw = wa.shape
    g = check_int(groups, "groups", minimum=1)
    if c_in == 0 or c_out_g == 0 or kh == 0 or kw == 0:
        raise ValueError(f"empty channels or kernel: x {xa.shape}, w {wa.shape}")
    if c_in_w != c_in:
        raise ValueError(
            f"channel mismatch: x has C_in={c_in} but w.shape[0]={c_in_w} (w is (C_in, C_out/groups, kH, kW))"
        )
    if c_in % g:
        raise ValueError(f"groups={g} must divide C_in={c_in}")
    c_out = c_out_g * g
    if ba is not None and ba.shape != (c_out,):
        raise ValueError(f"b must have shape ({c_out},), got {ba.shape}")
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = (
        _pair(stride, "stride", minimum=1),
        _pair(padding, "padding", minimum=0),
        _pair(output_padding, "output_padding", minimum=0),
        _pair(dilation, "dilation", minimum=1),
    )
    _check_spatial(x4, "x")
    oh = conv_transpose_output_size(h, kh, sh, ph, oph, dh)
    ow = conv_transpose_output_size(wd, kw, sw, pw, opw, dw)

    c_in_g = c_in // g
    xg = x4.astype(dtype, copy=False).reshape(n, g, c_in_g, h, wd)
    wg = wa.astype(dtype, copy=False).reshape(g, c_in_g, c_out_g, kh, kw)
    # contrib[n, o, i, j] is the image each kernel tap (i, j) stamps, before placing it.
    contrib = np.einsum("ngchw,gcoij->ngoijhw", xg, wg, optimize=True).reshape(n, c_out, kh, kw, h, wd)
    # Uncropped canvas: padding crops p from both sides, so it is exactly p larger per side.
    full = np.zeros((n, c_out, oh + 2 * ph, ow + 2 * pw), dtype=dtype)
    last_h, last_w = (h - 1) * sh + 1, (wd - 1) * sw + 1
    for i in range(kh):  # loops over kernel taps only; each adds a whole strided image
        for j in range(kw):
            full[:, :, i * dh : i * dh + last_h : sh, j * dw : j * dw + last_w : sw] += contrib[:, :, i, j]
    y = full[:, :, ph : ph + oh, pw : pw + ow]
    if ba is not None:
        y = y + ba.astype(dtype)[None, :, None, None]
    return _restore_rank(np.ascontiguousarray(y, dtype=dtype), xa.ndim)


# --------------------------------------------------------------------------- pooling


def _pool_geometry(
    h: int,
    w: int,
    kernel_size: IntOrPair,
    stride: IntOrPair | None,
    padding: IntOrPair,
    dilation: IntOrPair,
    ceil_mode: bool,
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]:
    """Validate pooling arguments; return kernel, stride, padding, dilation, output size."""
    kh, kw = _pair(kernel_size, "kernel_size", minimum=1)
    sh, sw = (kh, kw) if stride is None else _pair(stride, "stride", minimum=1)
    ph, pw = _pair(padding, "padding", minimum=0)
    dh, dw = _pair(dilation, "dilation", minimum=1)
    oh = pool_output_size(h, kh, sh, ph, dh, ceil_mode)
    ow = pool_output_size(w, kw, sw, pw, dw, ceil_mode)
    return (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow)


def _windows(
    x4: Array,
    fill: float | int,
    k: tuple[int, int],
    s: tuple[int, int],
    p: tuple[int, int],
    d: tuple[int, int],
    out: tuple[int, int],
) -> Array:
    """``(N, C, oh, ow, kh, kw)`` view of pooling windows over ``x4`` padded with ``fill``."""
    h, w = x4.shape[2:]
    spans = [d[a] * (k[a] - 1) + 1 for a in (0, 1)]
    # Ceil mode may let the last window hang past the right padding; pad enough for it.
    extra = [max(p[a], (out[a] - 1) * s[a] + spans[a] - (h, w)[a] - p[a]) for a in (0, 1)]
    xp = np.pad(x4, ((0, 0), (0, 0), (p[0], extra[0]), (p[1], extra[1])), constant_values=fill)
    win = sliding_window_view(xp, tuple(spans), axis=(2, 3))
    return win[:, :, :: s[0], :: s[1], :: d[0], :: d[1]][:, :, : out[0], : out[1]]


def _tap_positions(k: int, s: int, p: int, d: int, out: int) -> Array:
    """Input coordinate of each tap of each window along one axis, shape ``(out, k)``."""
    return np.arange(out)[:, None] * s - p + np.arange(k)[None, :] * d


def max_pool2d(
    x: npt.ArrayLike,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    *,
    dilation: IntOrPair = 1,
    ceil_mode: bool = False,
) -> tuple[Array, Array]:
    """Max pooling with the argmax indices of ``torch.nn.functional.max_pool2d(return_indices=True)``.

    ``stride`` defaults to ``kernel_size``; padding is ``-inf`` and must be ``<= kernel_size // 2``.
    Returns ``(y, indices)`` where ``indices`` (int64) is the flat position ``row * W + col`` of
    the maximum in the *unpadded* ``H x W`` plane of the same channel. Ties go to the first
    maximum in row-major window order; a NaN wins over numbers and among NaNs the last one wins
    (both as torch's CPU kernel). A window made only of padding (possible with dilation) raises
    ``ValueError``: torch returns ``-inf`` with a meaningless index there.
    """
    xa = _as_array(x, "x")
    dtype = _work_dtype(xa)
    x4 = _to_batched(xa, "x", (2, 3, 4)).astype(dtype, copy=False)
    _check_spatial(x4, "x")
    n, c, h, w = x4.shape
    k, s, p, d, out = _pool_geometry(h, w, kernel_size, stride, padding, dilation, ceil_mode)
    rows = _tap_positions(k[0], s[0], p[0], d[0], out[0])
    cols = _tap_positions(k[1], s[1], p[1], d[1], out[1])
    row_ok, col_ok = (rows >= 0) & (rows < h), (cols >= 0) & (cols < w)
    if not (row_ok.any(axis=1).all() and col_ok.any(axis=1).all()):
        raise ValueError("a pooling window covers only padding (dilation too large for this padding)")

    fill = -np.inf if dtype.kind == "f" else np.iinfo(np.int64).min
    flat = _windows(x4, fill, k, s, p, d, out).reshape(n, c, out[0], out[1], k[0] * k[1])
    y = flat.max(axis=-1)  # NaN propagates, as in torch
    valid = (row_ok[:, None, :, None] & col_ok[None, :, None, :]).reshape(out[0], out[1], -1)
    # First *real* tap equal to the max: padding never wins, even if the real values are all -inf.
    arg = np.argmax(valid & (flat == y[..., None]), axis=-1)
    if dtype.kind == "f":
        is_nan = valid & np.isnan(flat)
        last_nan = is_nan.shape[-1] - 1 - np.argmax(is_nan[..., ::-1], axis=-1)
        arg = np.where(is_nan.any(axis=-1), last_nan, arg)
    ti, tj = np.divmod(arg, k[1])
    r = np.arange(out[0])[:, None] * s[0] - p[0] + ti * d[0]
    col = np.arange(out[1])[None, :] * s[1] - p[1] + tj * d[1]
    indices = (r * w + col).astype(np.int64)
    return _restore_rank(y, xa.ndim), _restore_rank(indices, xa.ndim)


def avg_pool2d(
    x: npt.ArrayLike,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    count_include_pad: bool = True,
    *,
    ceil_mode: bool = False,
) -> Array:
    """Average pooling, equal to ``torch.nn.functional.avg_pool2d`` (always returns float64).

    Padding is zeros and must be ``<= kernel_size // 2``. With ``count_include_pad=True`` the
    divisor counts padded cells (but, in ceil mode, not the part of a window hanging beyond the
    padding, as torch); with ``False`` it counts only real input cells.
    """
    xa = _as_array(x, "x")
    dtype = _work_dtype(xa)
    x4 = _to_batched(xa, "x", (2, 3, 4)).astype(dtype, copy=False)
    _check_spatial(x4, "x")
    h, w = x4.shape[2:]
    k, s, p, d, out = _pool_geometry(h, w, kernel_size, stride, padding, 1, ceil_mode)
    sums = _windows(x4, 0, k, s, p, d, out).sum(axis=(-2, -1))

    def counts(n: int, a: int) -> Array:
        start = np.arange(out[a]) * s[a] - p[a]
        end = np.minimum(start + k[a], n + p[a])  # clipped at the padding edge (ceil mode)
        real = np.minimum(end, n) - np.maximum(start, 0)
        return end - start if count_include_pad else real

    divisor = counts(h, 0)[:, None] * counts(w, 1)[None, :]
    y = sums / divisor
    return _restore_rank(y.astype(np.float64), xa.ndim)


def max_unpool2d(y: npt.ArrayLike, indices: npt.ArrayLike, output_size: IntOrPair) -> Array:
    """Inverse of max pooling, equal to ``torch.nn.functional.max_unpool2d``.

    Places each value of ``y`` at its remembered flat position ``indices`` (as returned by
    :func:`max_pool2d`) in a zero ``output_size = (H, W)`` plane per channel ("bed of nails" with
    remembered positions). Overlapping pooling windows can repeat an index; max pooling then
    stored the same input value under it, so the order of writes does not matter. For
    hand-made ``indices`` with repeats and different values the winner is unspecified.
    """
    ya = _as_array(y, "y")
    ia = np.asarray(indices)
    if ia.dtype.kind not in "iu":
        raise ValueError(f"indices must be integers, got dtype {ia.dtype}")
    if ia.shape != ya.shape:
        raise ValueError(f"indices shape {ia.shape} must equal y shape {ya.shape}")
    dtype = _work_dtype(ya)
    y4 = _to_batched(ya, "y", (2, 3, 4)).astype(dtype, copy=False)
    i4 = ia.reshape(y4.shape).astype(np.int64)
    oh, ow = _pair(output_size, "output_size", minimum=1)
    if i4.size and (i4.min() < 0 or i4.max() >= oh * ow):
        raise ValueError(f"indices must lie in [0, {oh * ow}) for output_size ({oh}, {ow})")
    n, c = y4.shape[:2]
    out = np.zeros((n, c, oh * ow), dtype=dtype)
    np.put_along_axis(out, i4.reshape(n, c, -1), y4.reshape(n, c, -1), axis=-1)
    return _restore_rank(out.reshape(n, c, oh, ow), ya.ndim)


# --------------------------------------------------------------------------- upsampling


def bed_of_nails_upsample(x: npt.ArrayLike, scale: IntOrPair) -> Array:
    """Upsample by ``scale``: each value goes to the top-left of its ``scale x scale`` block, zeros elsewhere."""
    xa = _as_array(x, "x")
    sh, sw = _pair(scale, "scale", minimum=1)
    dtype = _work_dtype(xa)
    x4 = _to_batched(xa, "x", (2, 3, 4))
    n, c, h, w = x4.shape
    out = np.zeros((n, c, h * sh, w * sw), dtype=dtype)
    out[:, :, ::sh, ::sw] = x4
    return _restore_rank(out, xa.ndim)


def nearest_upsample(x: npt.ArrayLike, scale: IntOrPair) -> Array:
    """Nearest-neighbour upsampling by an integer ``scale`` (each value fills its block).

    Equals ``torch.nn.functional.interpolate(mode="nearest", scale_factor=scale)``.
    """
    xa = _as_array(x, "x")
    sh, sw = _pair(scale, "scale", minimum=1)
    x4 = _to_batched(xa, "x", (2, 3, 4)).astype(_work_dtype(xa), copy=False)
    out = np.repeat(np.repeat(x4, sh, axis=2), sw, axis=3)
    return _restore_rank(out, xa.ndim)
