"""One optimizer step as a pure function, matching ``torch.optim`` update for update.

Every step function has the form ``step(params, grads, state=None, **hyper) -> (new_params,
new_state)``. ``params`` and ``grads`` are an array or a dict name -> array (same names);
``state`` is ``None`` on the first step and afterwards whatever the previous call returned.
Inputs are never modified. Hyper-parameters carry ``torch.optim``'s names (``lr``, ``momentum``,
``dampening``, ``nesterov``, ``alpha``, ``eps``, ``betas``, ``weight_decay``) and the per-parameter
state uses torch's keys (``momentum_buffer``, ``square_avg``, ``exp_avg``, ``exp_avg_sq``, ...),
with ``step`` as a plain int. All arithmetic is float64.

``weight_decay`` is torch's coupled L2 form: ``g <- g + weight_decay * param`` before the update.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "adam_step",
    "momentum_step",
    "rmsprop_step",
    "rmsprop_step_slides",
    "sgd_step",
]

FloatArray = NDArray[np.float64]
Params = ArrayLike | Mapping[str, ArrayLike]
#: For a single array: that parameter's state dict. For a dict of parameters: name -> state dict.
State = dict[str, Any]
_StepFn = Callable[[FloatArray, FloatArray, dict[str, Any] | None], tuple[FloatArray, dict[str, Any]]]


def _as_float(x: ArrayLike, name: str) -> FloatArray:
    # np.array copies, so the caller's arrays are never aliased by the returned state.
    return np.array(x, dtype=np.float64)


def _apply(params: Params, grads: Params, state: State | None, one: _StepFn) -> tuple[Any, State]:
    """Run ``one`` on a single array or on each entry of a dict of arrays."""
    if isinstance(params, Mapping):
        if not isinstance(grads, Mapping) or set(grads) != set(params):
            raise ValueError("grads must be a dict with exactly the same names as params")
        if state is not None and set(state) != set(params):
            raise ValueError("state must have one entry per parameter name (or be None on the first step)")
        new_params: dict[str, FloatArray] = {}
        new_state: State = {}
        for name in params:
            p = _as_float(params[name], f"params[{name!r}]")
            g = _as_float(grads[name], f"grads[{name!r}]")
            if p.shape != g.shape:
                raise ValueError(f"params[{name!r}] has shape {p.shape} but its gradient has shape {g.shape}")
            new_params[name], new_state[name] = one(p, g, None if state is None else state[name])
        return new_params, new_state
    if isinstance(grads, Mapping):
        raise ValueError("params is a single array, so grads must be one too")
    p = _as_float(params, "params")
    g = _as_float(grads, "grads")
    if p.shape != g.shape:
        raise ValueError(f"params has shape {p.shape} but grads has shape {g.shape}")
    return one(p, g, state)


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)


def _state_array(s: dict[str, Any], key: str, like: FloatArray) -> FloatArray:
    arr = np.array(s[key], dtype=np.float64)
    _check(arr.shape == like.shape, f"state[{key!r}] has shape {arr.shape}, expected {like.shape}")
    return arr


# --------------------------------------------------------------------------- SGD and momentum


def sgd_step(
    params: Params, grads: Params, state: State | None = None, *, lr: float = 1e-3, weight_decay: float = 0.0
) -> tuple[Any, State]:
    """Plain SGD: ``p <- p - lr * g`` (``torch.optim.SGD`` with ``momentum=0``). State stays empty."""
    _check(lr >= 0, f"lr must be >= 0, got {lr}")
    _check(weight_decay >= 0, f"weight_decay must be >= 0, got {weight_decay}")

    def one(p: FloatArray, g: FloatArray, s: dict[str, Any] | None) -> tuple[FloatArray, dict[str, Any]]:
        if weight_decay:
            g = g + weight_decay * p
        return p - lr * g, {}

    return _apply(params, grads, state, one)


def momentum_step(
    params: Params,
    grads: Params,
    state: State | None = None,
    *,
    lr: float = 1e-3,
    momentum: float = 0.9,
    dampening: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> tuple[Any, State]:
    """SGD with momentum in torch's form (``torch.optim.SGD`` with ``momentum > 0``).

    ``buf <- g`` on the first step, then ``buf <- momentum * buf + (1 - dampening) * g``;
    ``p <- p - lr * buf`` (or ``p - lr * (g + momentum * buf)`` with ``nesterov=True``).
    The learning rate multiplies the buffer, unlike the textbook ``v <- beta v - eta g; p <- p + v``;
    with a constant ``lr`` both give the same parameters (``v = -lr * buf``), not the same state.
    Note torch does not dampen the first step: the buffer starts as the raw gradient.
    """
    _check(lr >= 0, f"lr must be >= 0, got {lr}")
    _check(momentum >= 0, f"momentum must be >= 0, got {momentum}")
    _check(weight_decay >= 0, f"weight_decay must be >= 0, got {weight_decay}")
    _check(not nesterov or (momentum > 0 and dampening == 0), "nesterov needs momentum > 0 and dampening = 0")

    def one(p: FloatArray, g: FloatArray, s: dict[str, Any] | None) -> tuple[FloatArray, dict[str, Any]]:
        if weight_decay:
            g = g + weight_decay * p
        if s is None or s.get("momentum_buffer") is None:
            buf = g.copy()
        else:
            buf = momentum * _state_array(s, "momentum_buffer", p) + (1.0 - dampening) * g
        direction = g + momentum * buf if nesterov else buf
        return p - lr * direction, {"momentum_buffer": buf}

    return _apply(params, grads, state, one)


# --------------------------------------------------------------------------- RMSProp


def rmsprop_step(
    params: Params,
    grads: Params,
    state: State | None = None,
    *,
    lr: float = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
) -> tuple[Any, State]:
    """RMSProp as ``torch.optim.RMSprop``: ``v <- alpha v + (1 - alpha) g^2`` (``v`` starts at 0),
    ``p <- p - lr * g / (sqrt(v) + eps)``.

    ``centered=True`` subtracts the squared running mean of ``g`` from ``v`` before the square
    root; ``momentum > 0`` accumulates ``buf <- momentum * buf + g / (sqrt(v) + eps)`` and steps by
    ``lr * buf``. Because ``v`` starts at 0 the first step is about ``lr / sqrt(1 - alpha)`` per
    coordinate -- the course slides' variant avoids that, see :func:`rmsprop_step_slides`.
    """
    _check(lr >= 0, f"lr must be >= 0, got {lr}")
    _check(alpha >= 0, f"alpha must be >= 0, got {alpha}")
    _check(eps >= 0, f"eps must be >= 0, got {eps}")
    _check(momentum >= 0, f"momentum must be >= 0, got {momentum}")
    _check(weight_decay >= 0, f"weight_decay must be >= 0, got {weight_decay}")

    def one(p: FloatArray, g: FloatArray, s: dict[str, Any] | None) -> tuple[FloatArray, dict[str, Any]]:
        if weight_decay:
            g = g + weight_decay * p
        first = s is None
        square_avg = np.zeros_like(p) if first else _state_array(s, "square_avg", p)
        square_avg = alpha * square_avg + (1.0 - alpha) * g * g
        new: dict[str, Any] = {"step": 1 if first else int(s["step"]) + 1, "square_avg": square_avg}
        if centered:
            grad_avg = np.zeros_like(p) if first else _state_array(s, "grad_avg", p)
            grad_avg = grad_avg + (1.0 - alpha) * (g - grad_avg)  # torch's lerp
            new["grad_avg"] = grad_avg
            avg = np.sqrt(square_avg - grad_avg * grad_avg) + eps
        else:
            avg = np.sqrt(square_avg) + eps
        if momentum > 0:
            buf = np.zeros_like(p) if first else _state_array(s, "momentum_buffer", p)
            buf = momentum * buf + g / avg
            new["momentum_buffer"] = buf
            return p - lr * buf, new
        return p - lr * g / avg, new

    return _apply(params, grads, state, one)


def rmsprop_step_slides(
    params: Params, grads: Params, state: State | None = None, *, lr: float = 1e-2, alpha: float = 0.99
) -> tuple[Any, State]:
    """RMSProp exactly as the course slides write it (not torch's form).

    ``sigma^0 = |g^0|``; ``sigma^t = sqrt(alpha (sigma^(t-1))^2 + (1 - alpha) (g^t)^2)``;
    ``w^(t+1) = w^t - lr / sigma^t * g^t``. The running RMS starts from the first gradient instead
    of 0 and there is no ``eps``, so the first step is ``lr * sign(g^0)`` per coordinate. The slides
    write ``sigma^0 = g^0``; the absolute value is the RMS of one gradient and keeps the first step
    downhill when ``g^0 < 0``. Where ``sigma = 0`` every gradient so far was 0 and the step is 0.
    State: ``{"step": t + 1, "sigma": sigma^t}``.
    """
    _check(lr >= 0, f"lr must be >= 0, got {lr}")
    _check(0 <= alpha <= 1, f"alpha must be in [0, 1], got {alpha}")

    def one(p: FloatArray, g: FloatArray, s: dict[str, Any] | None) -> tuple[FloatArray, dict[str, Any]]:
        if s is None:
            sigma = np.abs(g)
            step = 1
        else:
            prev = _state_array(s, "sigma", p)
            sigma = np.sqrt(alpha * prev * prev + (1.0 - alpha) * g * g)
            step = int(s["step"]) + 1
        # 0 / 0 only happens where sigma = 0, i.e. all gradients so far were 0: no movement.
        ratio = np.divide(g, sigma, out=np.zeros_like(g), where=sigma > 0)
        return p - lr * ratio, {"step": step, "sigma": sigma}

    return _apply(params, grads, state, one)


# --------------------------------------------------------------------------- Adam


def adam_step(
    params: Params,
    grads: Params,
    state: State | None = None,
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
) -> tuple[Any, State]:
    """Adam as ``torch.optim.Adam`` (bias-corrected, ``eps`` added after the square root).

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2`` (both start at 0), step ``t``
    counted from 1; ``p <- p - lr * m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = m / (1 - b1^t)``,
    ``v_hat = v / (1 - b2^t)`` -- the paper's Algorithm 1. (The paper's "efficient" form adds
    ``eps`` to ``sqrt(v)`` before bias correction, which is a slightly different update.)
    ``amsgrad=True`` uses the running maximum of ``v`` in the denominator.
    """
    beta1, beta2 = (float(b) for b in betas)
    _check(lr >= 0, f"lr must be >= 0, got {lr}")
    _check(0 <= beta1 < 1 and 0 <= beta2 < 1, f"betas must be in [0, 1), got {betas}")
    _check(eps >= 0, f"eps must be >= 0, got {eps}")
    _check(weight_decay >= 0, f"weight_decay must be >= 0, got {weight_decay}")

    def one(p: FloatArray, g: FloatArray, s: dict[str, Any] | None) -> tuple[FloatArray, dict[str, Any]]:
        if weight_decay:
            g = g + weight_decay * p
        first = s is None
        step = 1 if first else int(s["step"]) + 1
        m = np.zeros_like(p) if first else _state_array(s, "exp_avg", p)
        v = np.zeros_like(p) if first else _state_array(s, "exp_avg_sq", p)
        m = m + (1.0 - beta1) * (g - m)  # torch's lerp, = b1 m + (1 - b1) g
        v = beta2 * v + (1.0 - beta2) * g * g
        new: dict[str, Any] = {"step": step, "exp_avg": m, "exp_avg_sq": v}
        if amsgrad:
            v_max = v if first else np.maximum(_state_array(s, "max_exp_avg_sq", p), v)
            new["max_exp_avg_sq"] = v_max
        else:
            v_max = v
        # Same order of operations as torch, so results agree to rounding.
        step_size = lr / (1.0 - beta1**step)
        denom = np.sqrt(v_max) / np.sqrt(1.0 - beta2**step) + eps
        return p - step_size * m / denom, new

    return _apply(params, grads, state, one)
