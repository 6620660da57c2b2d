"""Softmax, entropies, classification losses and activations (with derivatives) in numpy.

Conventions (see ``grader/CONVENTIONS.md``):

* Everything is computed in float64, whatever the input dtype.
* Logarithms are natural (nats) unless ``base`` is given; ``base=2`` gives bits.
* ``0 * log 0 = 0``; a term with ``p > 0`` and ``q = 0`` makes a cross-entropy or KL infinite.
* Distributions are validated (finite, non-negative, summing to 1 within ``DISTRIBUTION_ATOL``)
  and rejected with ``ValueError`` rather than silently renormalized, because a grader must not
  "fix" bad problem data.
* Derivatives of piecewise activations at the kink use the left derivative, as torch's autograd
  does (``relu_grad(0) = 0``, ``leaky_relu_grad(0) = negative_slope``); ``at_zero`` overrides it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DISTRIBUTION_ATOL",
    "binary_cross_entropy",
    "cross_entropy",
    "entropy",
    "kl_divergence",
    "leaky_relu",
    "leaky_relu_grad",
    "log_softmax",
    "relu",
    "relu_grad",
    "sigmoid",
    "sigmoid_grad",
    "softmax",
    "softmax_cross_entropy",
    "tanh",
    "tanh_grad",
]

#: How far the sum of a probability vector may be from 1 (absolute). Tight enough to catch a
#: wrong problem, loose enough for vectors written with ~7 significant digits.
DISTRIBUTION_ATOL = 1e-6

FloatArray = NDArray[np.float64]
#: A numpy float for 0-d results, an array otherwise (numpy ufunc style).
Floats = np.float64 | FloatArray
Reduction = Literal["none", "mean", "sum"]


# --------------------------------------------------------------------------- helpers


def _as_float(x: ArrayLike, name: str) -> FloatArray:
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric array-like: {exc}") from None


def _out(x: FloatArray) -> Floats:
    # ``x[()]`` turns a 0-d array into a numpy scalar and leaves other arrays unchanged.
    return x[()]


def _log_of_base(base: float) -> float:
    base = float(base)
    if not (np.isfinite(base) and base > 0 and base != 1):
        raise ValueError(f"log base must be a finite positive number other than 1, got {base!r}")
    return float(np.log(base))


def _xlogy(x: FloatArray, y: FloatArray) -> FloatArray:
    """``x * log(y)`` with the information-theory convention ``0 * log(anything) = 0``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0, 0.0, x * np.log(y))


def _check_distribution(p: FloatArray, name: str, axis: int) -> None:
    if p.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension (a probability vector)")
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if np.any(p < 0):
        raise ValueError(f"{name} has negative entries (min {p.min():.6g}); probabilities must be >= 0")
    sums = p.sum(axis=axis)
    bad = np.abs(sums - 1.0) > DISTRIBUTION_ATOL
    if np.any(bad):
        worst = np.asarray(sums)[bad].flat[0]
        raise ValueError(
            f"{name} must sum to 1 along axis {axis} (within {DISTRIBUTION_ATOL}); got a sum of {worst:.10g}"
        )


def _check_same_shape(a: FloatArray, b: FloatArray, names: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{names} must have the same shape, got {a.shape} and {b.shape}")


def _reduce(loss: FloatArray, reduction: Reduction) -> Floats:
    if reduction == "none":
        return _out(loss)
    if reduction == "mean":
        return np.float64(loss.mean()) if loss.size else np.float64(np.nan)
    if reduction == "sum":
        return np.float64(loss.sum())
    raise ValueError(f"reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


# --------------------------------------------------------------------------- softmax family


def softmax(z: ArrayLike, axis: int = -1) -> Floats:
    """Softmax along ``axis``; stable for huge logits (shifts by the max first).

    ``-inf`` logits get probability 0; a slice that is all ``-inf`` gives NaN, as in torch.
    """
    z = _as_float(z, "z")
    m = np.max(z, axis=axis, keepdims=True)
    # A non-finite max (all -inf, or +inf) cannot be subtracted; leave those slices unshifted so
    # they produce NaN like torch instead of raising.
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.exp(z - m)
        return _out(e / e.sum(axis=axis, keepdims=True))


def log_softmax(z: ArrayLike, axis: int = -1) -> Floats:
    """``log(softmax(z))`` computed as ``z - logsumexp(z)`` so tiny probabilities keep their log."""
    z = _as_float(z, "z")
    m = np.max(z, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        shifted = z - m
        return _out(shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True)))


# --------------------------------------------------------------------------- information theory


def entropy(p: ArrayLike, base: float = np.e, *, axis: int = -1) -> Floats:
    """Shannon entropy ``H(p) = -sum p log p`` along ``axis`` (nats by default, ``base=2`` for bits)."""
    p = _as_float(p, "p")
    _check_distribution(p, "p", axis)
    return _out(-_xlogy(p, p).sum(axis=axis) / _log_of_base(base))


def cross_entropy(p: ArrayLike, q: ArrayLike, base: float = np.e, *, axis: int = -1) -> Floats:
    """Cross-entropy ``H(p, q) = -sum p log q``: ``p`` is the true distribution, ``q`` the prediction.

    Terms with ``p = 0`` contribute 0 (even where ``q = 0``); ``p > 0`` with ``q = 0`` gives ``inf``.
    """
    p = _as_float(p, "p")
    q = _as_float(q, "q")
    _check_same_shape(p, q, "p and q")
    _check_distribution(p, "p", axis)
    _check_distribution(q, "q", axis)
    return _out(-_xlogy(p, q).sum(axis=axis) / _log_of_base(base))


def kl_divergence(p: ArrayLike, q: ArrayLike, base: float = np.e, *, axis: int = -1) -> Floats:
    """``KL(p || q) = sum p log(p / q)`` = ``H(p, q) - H(p)``; the expectation is taken under ``p``.

    Not symmetric. Terms with ``p = 0`` are 0; ``p > 0`` with ``q = 0`` gives ``inf``.
    """
    p = _as_float(p, "p")
    q = _as_float(q, "q")
    _check_same_shape(p, q, "p and q")
    _check_distribution(p, "p", axis)
    _check_distribution(q, "q", axis)
    # log p - log q instead of log(p / q): p / q can overflow when q is subnormal.
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p == 0, 0.0, p * (np.log(p) - np.log(q)))
    return _out(terms.sum(axis=axis) / _log_of_base(base))


def binary_cross_entropy(
    y: ArrayLike, p: ArrayLike, base: float = np.e, *, reduction: Reduction = "mean"
) -> Floats:
    """Binary cross-entropy ``-[y log p + (1 - y) log(1 - p)]`` per element, then reduced.

    ``y`` is the target (0/1 or a soft label in [0, 1]), ``p`` the predicted probability of class 1.
    Note the argument order: target first, like ``H(p, q)``; torch's ``F.binary_cross_entropy``
    takes ``(input, target)``. Unlike torch, which clamps ``log`` at -100, a confident wrong
    prediction (``p = 0`` where ``y > 0``) gives ``inf``. ``reduction`` is as in torch (default mean).
    """
    y = _as_float(y, "y")
    p = _as_float(p, "p")
    _check_same_shape(y, p, "y and p")
    for arr, name in ((y, "y"), (p, "p")):
        if not np.all(np.isfinite(arr)) or np.any((arr < 0) | (arr > 1)):
            raise ValueError(f"{name} must contain probabilities in [0, 1]")
    loss = -(_xlogy(y, p) + _xlogy(1.0 - y, 1.0 - p)) / _log_of_base(base)
    return _reduce(loss, reduction)


def softmax_cross_entropy(
    logits: ArrayLike, target: ArrayLike, base: float = np.e, *, reduction: Reduction = "mean"
) -> Floats:
    """Cross-entropy of ``softmax(logits)`` against a target, computed stably from the logits.

    ``logits`` has shape ``(..., C)`` with classes on the last axis. ``target`` is either integer
    class indices of shape ``logits.shape[:-1]`` or a distribution with the same shape as
    ``logits`` (soft labels); it plays the role of ``p`` in ``H(p, softmax(logits))``.
    Matches ``torch.nn.functional.cross_entropy`` for (N, C) logits (default ``reduction="mean"``).
    """
    z = _as_float(logits, "logits")
    if z.ndim == 0 or z.shape[-1] == 0:
        raise ValueError("logits must have shape (..., C) with C >= 1")
    if np.any(np.isnan(z) | (z == np.inf)):
        raise ValueError("logits must not contain NaN or +inf")
    num_classes = z.shape[-1]
    t_raw = np.asarray(target)
    log_q = np.asarray(log_softmax(z, axis=-1))
    if t_raw.dtype.kind in "iu":
        if t_raw.shape != z.shape[:-1]:
            raise ValueError(
                f"class-index target must have shape {z.shape[:-1]} (logits without the class axis), got {t_raw.shape}"
            )
        if np.any((t_raw < 0) | (t_raw >= num_classes)):
            raise ValueError(f"class indices must be in [0, {num_classes - 1}]")
        loss = -np.take_along_axis(log_q, t_raw[..., None].astype(np.intp), axis=-1)[..., 0]
    elif t_raw.dtype.kind == "f":
        t = t_raw.astype(np.float64)
        if t.shape != z.shape:
            raise ValueError(
                f"a probability target must have the same shape as logits {z.shape}, got {t.shape} "
                "(class indices must be given as integers)"
            )
        _check_distribution(t, "target", -1)
        # 0 * log q = 0 even where a -inf logit makes log q = -inf.
        with np.errstate(invalid="ignore"):
            loss = -np.where(t == 0, 0.0, t * log_q).sum(axis=-1)
    else:
        raise ValueError(
            f"target must be integer class indices or float probabilities, got dtype {t_raw.dtype}"
        )
    return _reduce(loss / _log_of_base(base), reduction)


# --------------------------------------------------------------------------- activations


def sigmoid(z: ArrayLike) -> Floats:
    """Logistic function ``1 / (1 + exp(-z))`` without overflow for large ``|z|``."""
    z = _as_float(z, "z")
    # exp(-|z|) is in (0, 1], so nothing overflows; pick the algebraically equal form per sign.
    e = np.exp(-np.abs(z))
    return _out(np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)))


def sigmoid_grad(z: ArrayLike) -> Floats:
    """``d sigmoid / dz = s (1 - s)``, evaluated at the pre-activation ``z``.

    Computed as ``e / (1 + e)^2`` with ``e = exp(-|z|)``, which keeps relative accuracy in the tails
    where ``1 - s`` would round to 0.
    """
    z = _as_float(z, "z")
    e = np.exp(-np.abs(z))
    return _out(e / (1.0 + e) ** 2)


def tanh(z: ArrayLike) -> Floats:
    """Hyperbolic tangent."""
    return _out(np.tanh(_as_float(z, "z")))


def tanh_grad(z: ArrayLike) -> Floats:
    """``d tanh / dz = 1 - tanh(z)^2 = sech(z)^2``, at the pre-activation ``z``.

    Uses ``4 e / (1 + e)^2`` with ``e = exp(-2|z|)``: accurate in the tails, no overflow.
    """
    z = _as_float(z, "z")
    e = np.exp(-2.0 * np.abs(z))
    return _out(4.0 * e / (1.0 + e) ** 2)


def relu(z: ArrayLike) -> Floats:
    """``max(z, 0)``; NaN propagates as in torch."""
    return _out(np.maximum(_as_float(z, "z"), 0.0))


def relu_grad(z: ArrayLike, *, at_zero: float = 0.0) -> Floats:
    """ReLU derivative: 1 for ``z > 0``, 0 for ``z < 0``, ``at_zero`` at 0.

    The default 0 at ``z = 0`` is torch's choice; the course slides write 1 for ``z >= 0``
    (pass ``at_zero=1.0``).
    """
    z = _as_float(z, "z")
    return _out(np.where(z > 0, 1.0, np.where(z == 0, float(at_zero), 0.0)))


def leaky_relu(z: ArrayLike, negative_slope: float = 0.01) -> Floats:
    """``z`` for ``z > 0``, ``negative_slope * z`` otherwise (torch's default slope 0.01)."""
    z = _as_float(z, "z")
    return _out(np.where(z > 0, z, negative_slope * z))


def leaky_relu_grad(z: ArrayLike, negative_slope: float = 0.01, *, at_zero: float | None = None) -> Floats:
    """Leaky-ReLU derivative: 1 for ``z > 0``, ``negative_slope`` for ``z < 0``.

    At ``z = 0`` torch returns ``negative_slope`` (the left derivative); ``at_zero`` overrides it.
    """
    z = _as_float(z, "z")
    grad = np.where(z > 0, 1.0, float(negative_slope))
    if at_zero is not None:
        grad = np.where(z == 0, float(at_zero), grad)
    return _out(grad)
