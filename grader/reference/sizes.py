"""Output sizes of convolution / pooling layers and receptive fields (one spatial axis).

All functions take plain ints for one axis; for non-square layers call them once per axis.
Formulas (``k`` kernel size, ``s`` stride, ``p`` padding on *each* side, ``d`` dilation,
``k_eff = d * (k - 1) + 1`` the span of a dilated kernel):

* convolution / floor-mode pooling: ``out = floor((n + 2p - k_eff) / s) + 1``
* ceil-mode pooling: ``out = ceil((n + 2p - k_eff) / s) + 1``, minus one if the last window
  would start in the right padding (``(out - 1) * s >= n + p``), exactly as PyTorch does.
* transposed convolution: ``out = (n - 1) * s - 2p + k_eff + output_padding``
* receptive field: ``r_l = r_{l-1} + (k_eff_l - 1) * j_{l-1}``, ``j_l = j_{l-1} * s_l``,
  starting from ``r_0 = j_0 = 1``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "LayerRF",
    "RFLayer",
    "ReceptiveField",
    "check_int",
    "conv_output_size",
    "conv_transpose_output_size",
    "pool_output_size",
    "receptive_field",
]


def check_int(value: Any, name: str, *, minimum: int) -> int:
    """Return ``value`` as an int, raising ``ValueError`` if it is not an integer >= ``minimum``."""
    # bool is an int subclass; ``stride=True`` is almost certainly a bug, so refuse it.
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def conv_output_size(n: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output length of a convolution along one axis: ``floor((n + 2p - d(k-1) - 1) / s) + 1``.

    Raises ``ValueError`` if the result is <= 0 (the dilated kernel does not fit in the padded input).
    """
    n = check_int(n, "input size", minimum=1)
    k = check_int(kernel_size, "kernel_size", minimum=1)
    s = check_int(stride, "stride", minimum=1)
    p = check_int(padding, "padding", minimum=0)
    d = check_int(dilation, "dilation", minimum=1)
    span = d * (k - 1) + 1
    if n + 2 * p < span:
        raise ValueError(
            f"output size would be <= 0: padded input {n} + 2*{p} = {n + 2 * p} is smaller than the "
            f"(dilated) kernel span {span}"
        )
    # Python's // floors, which is the convention (incomplete last windows are dropped).
    return (n + 2 * p - span) // s + 1


def conv_transpose_output_size(
    n: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    dilation: int = 1,
) -> int:
    """Output length of a transposed convolution: ``(n-1)s - 2p + d(k-1) + output_padding + 1``.

    ``output_padding`` must be smaller than the stride or the dilation (as in PyTorch); it resolves
    the ambiguity that several input sizes map to the same conv output size.
    Raises ``ValueError`` if the result is <= 0.
    """
    n = check_int(n, "input size", minimum=1)
    k = check_int(kernel_size, "kernel_size", minimum=1)
    s = check_int(stride, "stride", minimum=1)
    p = check_int(padding, "padding", minimum=0)
    op = check_int(output_padding, "output_padding", minimum=0)
    d = check_int(dilation, "dilation", minimum=1)
    if op >= max(s, d):
        raise ValueError(f"output_padding ({op}) must be smaller than either stride ({s}) or dilation ({d})")
    out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
    if out <= 0:
        raise ValueError(f"output size would be <= 0 ({out}): padding {p} crops away the whole output")
    return out


def pool_output_size(
    n: int,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Output length of a pooling layer along one axis (PyTorch semantics).

    ``stride`` defaults to ``kernel_size``. Floor mode is the convolution formula. Ceil mode rounds
    up instead, but drops the last window if it would start inside the right padding. PyTorch also
    requires ``padding <= kernel_size // 2``; that is enforced here so sizes agree with torch.
    """
    k = check_int(kernel_size, "kernel_size", minimum=1)
    s = k if stride is None else check_int(stride, "stride", minimum=1)
    p = check_int(padding, "padding", minimum=0)
    d = check_int(dilation, "dilation", minimum=1)
    n = check_int(n, "input size", minimum=1)
    if p > k // 2:
        # torch checks against the undilated kernel, despite its message mentioning "effective".
        raise ValueError(f"padding ({p}) must be at most half the kernel size ({k} // 2 = {k // 2})")
    span = d * (k - 1) + 1
    if ceil_mode:
        out = -(-(n + 2 * p - span) // s) + 1  # ceil division via negated floor division
        if (out - 1) * s >= n + p:
            out -= 1
    else:
        out = (n + 2 * p - span) // s + 1
    # Ceil mode can keep one window that hangs past the padding even when the padded input is
    # shorter than the window; only a non-positive count is an error.
    if out <= 0:
        raise ValueError(
            f"output size would be <= 0 ({out}): padded input {n + 2 * p} is smaller than the window span {span}"
        )
    return out


@dataclass(frozen=True, slots=True)
class RFLayer:
    """One layer for :func:`receptive_field` (padding only shifts ``start``, never the size)."""

    kernel_size: int
    stride: int = 1
    dilation: int = 1
    padding: int = 0


@dataclass(frozen=True, slots=True)
class LayerRF:
    """Receptive field after one layer: ``size`` and ``jump`` in input pixels.

    ``start`` is the input coordinate of the centre of the first output unit's receptive field
    (can be negative or fractional: it is the centre of the span, padding included).
    """

    size: int
    jump: int
    start: float


@dataclass(frozen=True, slots=True)
class ReceptiveField:
    """Receptive field of one unit of the last layer, with the cumulative stride (``jump``)."""

    size: int
    jump: int
    start: float
    per_layer: tuple[LayerRF, ...]


# Keys that network descriptions (see ``cost.network_cost``) carry but that do not affect the
# receptive field; anything else unknown is treated as a typo and rejected.
_IGNORED_KEYS = frozenset({"type", "name", "out", "groups", "bias", "ceil_mode", "mode"})
_RF_TYPES = frozenset({"conv", "pool", "maxpool", "avgpool"})


def _as_rf_layer(layer: RFLayer | Mapping[str, Any], index: int) -> RFLayer:
    if isinstance(layer, RFLayer):
        return layer
    if not isinstance(layer, Mapping):
        raise ValueError(f"layer {index}: expected a mapping or RFLayer, got {type(layer).__name__}")
    kind = layer.get("type")
    if kind is not None and kind not in _RF_TYPES:
        raise ValueError(f"layer {index}: type {kind!r} has no receptive field (use conv/pool layers)")
    unknown = set(layer) - {"kernel_size", "k", "stride", "dilation", "padding"} - _IGNORED_KEYS
    if unknown:
        raise ValueError(f"layer {index}: unknown keys {sorted(unknown)}")
    if ("kernel_size" in layer) == ("k" in layer):
        raise ValueError(f"layer {index}: give exactly one of 'kernel_size' or 'k'")
    k = layer["kernel_size"] if "kernel_size" in layer else layer["k"]
    # Pools default their stride to the kernel size (as torch does); convolutions to 1.
    default_stride = k if kind in {"pool", "maxpool", "avgpool"} else 1
    stride = layer.get("stride", default_stride)
    return RFLayer(
        kernel_size=k,
        stride=default_stride if stride is None else stride,
        dilation=layer.get("dilation", 1),
        padding=layer.get("padding", 0),
    )


def receptive_field(layers: Iterable[RFLayer | Mapping[str, Any]]) -> ReceptiveField:
    """Receptive field (in input pixels, one axis) of one output unit of a stack of layers.

    Each layer is an :class:`RFLayer` or a mapping with ``kernel_size`` (or ``k``), optional
    ``stride`` (1; kernel size for ``type: pool``), ``dilation`` (1) and ``padding`` (0).
    Recurrence, with ``k_eff = d(k-1) + 1``::

        size_l  = size_{l-1} + (k_eff - 1) * jump_{l-1}
        jump_l  = jump_{l-1} * stride_l
        start_l = start_{l-1} + ((k_eff - 1) / 2 - padding_l) * jump_{l-1}

    from ``size_0 = jump_0 = 1`` and ``start_0 = 0`` (input pixel ``i`` has its centre at ``i``).
    An empty stack gives size 1, jump 1 (a unit sees one pixel).
    """
    size, jump, start = 1, 1, 0.0
    per_layer: list[LayerRF] = []
    for i, raw in enumerate(layers):
        layer = _as_rf_layer(raw, i)
        k = check_int(layer.kernel_size, f"layer {i}: kernel_size", minimum=1)
        s = check_int(layer.stride, f"layer {i}: stride", minimum=1)
        d = check_int(layer.dilation, f"layer {i}: dilation", minimum=1)
        p = check_int(layer.padding, f"layer {i}: padding", minimum=0)
        span = d * (k - 1) + 1
        # Update start before jump: the shift is measured in the previous layer's pixel spacing.
        start = start + ((span - 1) / 2 - p) * jump
        size = size + (span - 1) * jump
        jump = jump * s
        per_layer.append(LayerRF(size=size, jump=jump, start=start))
    return ReceptiveField(size=size, jump=jump, start=start, per_layer=tuple(per_layer))
