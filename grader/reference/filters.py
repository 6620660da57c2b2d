"""Classic image filters from the course slides, on single-channel 2-D images.

Kernels are returned as numpy arrays *in correlation form*: ``apply_filter(image, k)`` (the default
``mode="correlate"``) computes ``out[i, j] = sum_{a,b} k[a, b] * image[i + a, j + b]``, which is what
a deep-learning "convolution" layer does. ``mode="convolve"`` rotates the kernel 180 degrees first
(true convolution). Symmetric kernels (box, Gaussian, Laplacian, sharpen) give the same result
either way; the Sobel kernels change sign.

Image axes: row index ``i`` grows downwards (``y``), column index ``j`` grows to the right (``x``).
Padding is always zeros.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from .conv import Array, IntOrPair, _pair, conv2d
from .sizes import check_int

__all__ = [
    "SobelGradients",
    "apply_filter",
    "box_kernel",
    "gaussian_kernel",
    "identity_kernel",
    "laplacian_kernel",
    "median_filter",
    "sharpen_kernel",
    "sobel_gradients",
    "sobel_kernel",
]

Padding = Literal["valid", "same"] | int | tuple[int, int]


# --------------------------------------------------------------------------- kernels


def identity_kernel(size: int = 3) -> Array:
    """``size x size`` impulse (1 in the centre, zeros elsewhere); ``size`` must be odd."""
    n = check_int(size, "size", minimum=1)
    if n % 2 == 0:
        raise ValueError(f"identity kernel needs an odd size to have a centre, got {n}")
    k = np.zeros((n, n), dtype=np.int64)
    k[n // 2, n // 2] = 1
    return k


def box_kernel(size: IntOrPair = 3) -> Array:
    """Average (box) filter: ``kH x kW`` kernel of ``1 / (kH * kW)`` (float64, sums to 1)."""
    kh, kw = _pair(size, "size", minimum=1)
    return np.full((kh, kw), 1.0 / (kh * kw))


def gaussian_kernel(size: int, sigma: float) -> Array:
    """Normalized 2-D Gaussian ``exp(-(x^2 + y^2) / (2 sigma^2))`` sampled on a ``size x size`` grid.

    The grid is centred (offsets ``-(size-1)/2 ... (size-1)/2``) and the samples are divided by
    their sum, so the kernel sums to exactly 1 (not by the continuous ``1 / (2 pi sigma^2)``).
    It is the outer product of the normalized 1-D Gaussian with itself (separable).
    """
    n = check_int(size, "size", minimum=1)
    s = float(sigma)
    if not np.isfinite(s) or s <= 0:
        raise ValueError(f"sigma must be a positive finite number, got {sigma!r}")
    offsets = np.arange(n) - (n - 1) / 2
    g = np.exp(-(offsets**2) / (2 * s * s))
    g /= g.sum()
    return np.outer(g, g)


def sobel_kernel(direction: Literal["x", "y", "horizontal", "vertical"]) -> Array:
    """Sobel kernel (int64, correlation form).

    * ``"x"`` (alias ``"horizontal"``): ``[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]`` - the horizontal
      derivative d/dx, positive where intensity increases to the right. It responds to
      **vertical edges**.
    * ``"y"`` (alias ``"vertical"``): ``[[-1, -2, -1], [0, 0, 0], [1, 2, 1]]`` - the vertical
      derivative d/dy, positive where intensity increases downwards. It responds to
      **horizontal edges**.

    "Horizontal/vertical" name the derivative direction (as in ``G_x``/``G_y``), not the edge.
    """
    aliases = {"x": "x", "horizontal": "x", "y": "y", "vertical": "y"}
    if direction not in aliases:
        raise ValueError(f"direction must be 'x'/'horizontal' or 'y'/'vertical', got {direction!r}")
    gx = np.outer([1, 2, 1], [-1, 0, 1]).astype(np.int64)  # smoothing along y times difference along x
    return gx if aliases[direction] == "x" else gx.T.copy()


def laplacian_kernel(neighbours: Literal[4, 8] = 4) -> Array:
    """Discrete Laplacian (int64) with a negative centre.

    4-neighbour: ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]``; 8-neighbour: ``[[1, 1, 1], [1, -8, 1], [1, 1, 1]]``.
    Some slides use the negated kernel (positive centre); negate the result for that convention.
    """
    if neighbours == 4:
        return np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.int64)
    if neighbours == 8:
        return np.array([[1, 1, 1], [1, -8, 1], [1, 1, 1]], dtype=np.int64)
    raise ValueError(f"neighbours must be 4 or 8, got {neighbours!r}")


def sharpen_kernel(kind: Literal["laplacian4", "laplacian8", "unsharp"] = "laplacian4") -> Array:
    """3x3 sharpening kernel: identity minus a Laplacian, or "2 x identity - box".

    * ``"laplacian4"``: ``[[0, -1, 0], [-1, 5, -1], [0, -1, 0]]`` (int64)
    * ``"laplacian8"``: ``[[-1, -1, -1], [-1, 9, -1], [-1, -1, -1]]`` (int64)
    * ``"unsharp"``: ``2 * identity - box(3)`` = centre ``17/9``, others ``-1/9`` (float64)

    Every variant sums to 1, so flat regions are unchanged.
    """
    if kind == "laplacian4":
        return identity_kernel(3) - laplacian_kernel(4)
    if kind == "laplacian8":
        return identity_kernel(3) - laplacian_kernel(8)
    if kind == "unsharp":
        return 2 * identity_kernel(3) - box_kernel(3)
    raise ValueError(f"kind must be 'laplacian4', 'laplacian8' or 'unsharp', got {kind!r}")


# --------------------------------------------------------------------------- applying filters


def _check_image(image: npt.ArrayLike, name: str = "image") -> Array:
    arr = np.asarray(image)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (H, W), got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty, shape {arr.shape}")
    return arr


def _pad_widths(padding: Padding, kh: int, kw: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """(top, bottom), (left, right) zero padding for a kh x kw window."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "same":
            # Total k-1 per axis; for even kernels the extra row/column goes bottom/right, as
            # torch's padding="same" does.
            return ((kh - 1) // 2, kh - 1 - (kh - 1) // 2), ((kw - 1) // 2, kw - 1 - (kw - 1) // 2)
        raise ValueError(f"padding must be 'valid', 'same', an int or a pair, got {padding!r}")
    ph, pw = _pair(padding, "padding", minimum=0)
    return (ph, ph), (pw, pw)


def apply_filter(
    image: npt.ArrayLike,
    kernel: npt.ArrayLike,
    *,
    padding: Padding = "valid",
    mode: Literal["correlate", "convolve"] = "correlate",
) -> Array:
    """Filter a 2-D image with a 2-D kernel (stride 1), reusing :func:`conv2d`.

    ``padding``: ``"valid"`` (no padding, output shrinks by k-1), ``"same"`` (zeros so the output
    has the input's shape; even kernels pad one more at the bottom/right), or an int / pair of
    zeros on each side. ``mode="correlate"`` slides the kernel as given; ``"convolve"`` flips it
    180 degrees first. Integer image and kernel give an exact int64 result, otherwise float64.
    """
    img = _check_image(image)
    ker = _check_image(kernel, "kernel")
    if mode not in ("correlate", "convolve"):
        raise ValueError(f"mode must be 'correlate' or 'convolve', got {mode!r}")
    # Pad here rather than in conv2d so the asymmetric "same" case works too.
    img = np.pad(img, _pad_widths(padding, *ker.shape))
    return conv2d(img[None], ker[None, None], flip=mode == "convolve")[0]


def median_filter(image: npt.ArrayLike, size: IntOrPair = 3, *, padding: Padding = "valid") -> Array:
    """Median of each ``size`` window (stride 1); ``padding`` as in :func:`apply_filter` (zeros).

    Window sides must be odd so the median is one of the values (no averaging of two middles);
    an integer image therefore gives an exact int64 result.
    """
    img = _check_image(image)
    kh, kw = _pair(size, "size", minimum=1)
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(f"median filter window sides must be odd, got {(kh, kw)}")
    dtype = np.int64 if img.dtype.kind in "biu" else np.float64
    img = np.pad(img.astype(dtype), _pad_widths(padding, kh, kw))
    if img.shape[0] < kh or img.shape[1] < kw:
        raise ValueError(f"window {(kh, kw)} is larger than the padded image {img.shape}")
    win = sliding_window_view(img, (kh, kw))
    # The middle order statistic; np.partition avoids a full sort and keeps the dtype.
    flat = win.reshape(*win.shape[:2], kh * kw)
    mid = (kh * kw) // 2
    return np.partition(flat, mid, axis=-1)[..., mid]


class SobelGradients(NamedTuple):
    """Sobel responses: ``gx`` (d/dx), ``gy`` (d/dy), ``magnitude = sqrt(gx^2 + gy^2)``, ``direction = atan2(gy, gx)``."""

    gx: Array
    gy: Array
    magnitude: Array
    direction: Array


def sobel_gradients(image: npt.ArrayLike, *, padding: Padding = "valid") -> SobelGradients:
    """Sobel gradients of a 2-D image (correlation with :func:`sobel_kernel`).

    ``direction`` is in radians with ``y`` pointing down (image rows), so ``pi/2`` means
    intensity increases downwards.
    """
    gx = apply_filter(image, sobel_kernel("x"), padding=padding)
    gy = apply_filter(image, sobel_kernel("y"), padding=padding)
    gxf, gyf = gx.astype(np.float64), gy.astype(np.float64)
    return SobelGradients(gx, gy, np.hypot(gxf, gyf), np.arctan2(gyf, gxf))
