"""Parameter, multiply (MAC), FLOP and activation-memory counts for CNN layers and whole stacks.

Counting rules (see ``grader/CONVENTIONS.md``):

* ``params = weights + biases``; batch-norm and other non-layer parameters are not counted.
* ``multiplies`` = multiply-accumulates (MACs) of the weights, one per kernel tap per output
  element, *including* taps that land on zero padding; bias additions are excluded.
* ``flops = 2 * multiplies`` (one multiply + one add per MAC).
* ``activation_elements`` = number of values in the layer's output for one example;
  ``activation_bytes = activation_elements * bytes_per_element`` (default 4, float32).
* ``KB``/``MB`` are powers of 1000, ``KiB``/``MiB`` powers of 1024.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .sizes import check_int, conv_output_size, pool_output_size

__all__ = [
    "LayerCost",
    "NetworkCost",
    "Stack",
    "alexnet",
    "conv_layer_cost",
    "inception_5x5_direct",
    "inception_5x5_reduced",
    "linear_layer_cost",
    "mobilenet_separable_block",
    "network_cost",
    "pool_layer_cost",
    "resnet_bottleneck_block",
    "resnext_block",
    "standard_conv_block",
    "to_kb",
    "to_kib",
    "to_mb",
    "to_mib",
    "vgg16",
]

IntOrPair = int | Sequence[int]


def to_kib(nbytes: int | float) -> float:
    """Bytes to KiB (1 KiB = 1024 bytes)."""
    return nbytes / 1024


def to_mib(nbytes: int | float) -> float:
    """Bytes to MiB (1 MiB = 1024**2 bytes)."""
    return nbytes / 1024**2


def to_kb(nbytes: int | float) -> float:
    """Bytes to KB (1 KB = 1000 bytes, SI)."""
    return nbytes / 1000


def to_mb(nbytes: int | float) -> float:
    """Bytes to MB (1 MB = 1000**2 bytes, SI)."""
    return nbytes / 1000**2


@dataclass(frozen=True, slots=True)
class LayerCost:
    """Cost of one layer for one input example (batch size 1)."""

    name: str
    kind: str
    out_shape: tuple[int, ...]
    weights: int
    biases: int
    params: int
    multiplies: int
    flops: int
    activation_elements: int
    activation_bytes: int
    bytes_per_element: int

    @property
    def param_bytes(self) -> int:
        """Memory for the parameters, at the same bytes per element as activations."""
        return self.params * self.bytes_per_element

    @property
    def activation_kib(self) -> float:
        return to_kib(self.activation_bytes)

    @property
    def activation_mib(self) -> float:
        return to_mib(self.activation_bytes)

    @property
    def activation_kb(self) -> float:
        return to_kb(self.activation_bytes)

    @property
    def activation_mb(self) -> float:
        return to_mb(self.activation_bytes)


def _make_cost(
    name: str,
    kind: str,
    out_shape: tuple[int, ...],
    weights: int,
    biases: int,
    multiplies: int,
    bytes_per_element: int,
) -> LayerCost:
    # One constructor so the derived fields can never disagree with their definitions.
    elements = math.prod(out_shape)
    return LayerCost(
        name=name,
        kind=kind,
        out_shape=out_shape,
        weights=weights,
        biases=biases,
        params=weights + biases,
        multiplies=multiplies,
        flops=2 * multiplies,
        activation_elements=elements,
        activation_bytes=elements * bytes_per_element,
        bytes_per_element=bytes_per_element,
    )


def _check_bool(value: Any, name: str) -> bool:
    # A string such as "false" would be truthy; insist on a real bool.
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def _pair(value: IntOrPair, name: str, *, minimum: int) -> tuple[int, int]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (h, w), got {value!r}")
        return (check_int(value[0], name, minimum=minimum), check_int(value[1], name, minimum=minimum))
    v = check_int(value, name, minimum=minimum)
    return v, v


def conv_layer_cost(
    c_in: int,
    h: int,
    w: int,
    c_out: int,
    kernel_size: IntOrPair,
    *,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
    bias: bool = True,
    bytes_per_element: int = 4,
    name: str = "conv",
) -> LayerCost:
    """Cost of a ``Conv2d(c_in, c_out, kernel_size, ...)`` on a ``c_in x h x w`` input.

    ``weights = c_out * (c_in / groups) * kH * kW``, ``biases = c_out`` (if ``bias``),
    ``multiplies = c_out * H_out * W_out * (c_in / groups) * kH * kW``. Depthwise convolution is
    ``groups = c_in``. Example (AlexNet conv1): ``conv_layer_cost(3, 227, 227, 64, 11, stride=4,
    padding=2)`` gives out_shape (64, 56, 56), 23,296 params, 72,855,552 multiplies and
    802,816 activation bytes (784 KiB).
    """
    c_in = check_int(c_in, "c_in", minimum=1)
    c_out = check_int(c_out, "c_out", minimum=1)
    g = check_int(groups, "groups", minimum=1)
    if c_in % g or c_out % g:
        raise ValueError(f"groups={g} must divide both c_in={c_in} and c_out={c_out}")
    bpe = check_int(bytes_per_element, "bytes_per_element", minimum=1)
    kh, kw = _pair(kernel_size, "kernel_size", minimum=1)
    sh, sw = _pair(stride, "stride", minimum=1)
    ph, pw = _pair(padding, "padding", minimum=0)
    dh, dw = _pair(dilation, "dilation", minimum=1)
    oh = conv_output_size(h, kh, sh, ph, dh)
    ow = conv_output_size(w, kw, sw, pw, dw)
    per_output = (c_in // g) * kh * kw  # MACs to produce one output value
    return _make_cost(
        name=name,
        kind="conv",
        out_shape=(c_out, oh, ow),
        weights=c_out * per_output,
        biases=c_out if _check_bool(bias, "bias") else 0,
        multiplies=c_out * oh * ow * per_output,
        bytes_per_element=bpe,
    )


def linear_layer_cost(
    in_features: int,
    out_features: int,
    *,
    bias: bool = True,
    bytes_per_element: int = 4,
    name: str = "fc",
) -> LayerCost:
    """Cost of a fully connected layer: ``in * out`` weights and multiplies, ``out`` biases."""
    fin = check_int(in_features, "in_features", minimum=1)
    fout = check_int(out_features, "out_features", minimum=1)
    bpe = check_int(bytes_per_element, "bytes_per_element", minimum=1)
    return _make_cost(
        name, "fc", (fout,), fin * fout, fout if _check_bool(bias, "bias") else 0, fin * fout, bpe
    )


def pool_layer_cost(
    c: int,
    h: int,
    w: int,
    kernel_size: IntOrPair,
    *,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    ceil_mode: bool = False,
    bytes_per_element: int = 4,
    name: str = "pool",
) -> LayerCost:
    """Cost of a max/avg pooling layer: no parameters and no multiplies, only an output.

    ``stride`` defaults to ``kernel_size`` (as torch). Comparisons/additions are not counted.
    """
    c = check_int(c, "c", minimum=1)
    _check_bool(ceil_mode, "ceil_mode")
    bpe = check_int(bytes_per_element, "bytes_per_element", minimum=1)
    kh, kw = _pair(kernel_size, "kernel_size", minimum=1)
    sh, sw = (kh, kw) if stride is None else _pair(stride, "stride", minimum=1)
    ph, pw = _pair(padding, "padding", minimum=0)
    dh, dw = _pair(dilation, "dilation", minimum=1)
    oh = pool_output_size(h, kh, sh, ph, dh, ceil_mode)
    ow = pool_output_size(w, kw, sw, pw, dw, ceil_mode)
    return _make_cost(name, "pool", (c, oh, ow), 0, 0, 0, bpe)


# --------------------------------------------------------------------------- whole networks


@dataclass(frozen=True, slots=True)
class NetworkCost:
    """Per-layer costs of a stack plus totals (one example).

    ``rows`` has one entry per conv/pool/fc layer (``flatten`` only reshapes and gets no row).
    Totals cover the layer outputs; the input itself is reported separately as
    ``input_elements``/``input_bytes`` (add it if a problem counts the input image as memory).
    """

    input_shape: tuple[int, ...]
    rows: tuple[LayerCost, ...]
    bytes_per_element: int
    input_elements: int = field(init=False)
    total_params: int = field(init=False)
    total_multiplies: int = field(init=False)
    total_activation_elements: int = field(init=False)

    def __post_init__(self) -> None:
        # Frozen dataclass: derived totals are set through object.__setattr__ once, here.
        object.__setattr__(self, "input_elements", math.prod(self.input_shape))
        object.__setattr__(self, "total_params", sum(r.params for r in self.rows))
        object.__setattr__(self, "total_multiplies", sum(r.multiplies for r in self.rows))
        object.__setattr__(self, "total_activation_elements", sum(r.activation_elements for r in self.rows))

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self.rows[-1].out_shape if self.rows else self.input_shape

    @property
    def total_flops(self) -> int:
        return 2 * self.total_multiplies

    @property
    def total_activation_bytes(self) -> int:
        return self.total_activation_elements * self.bytes_per_element

    @property
    def input_bytes(self) -> int:
        return self.input_elements * self.bytes_per_element

    def as_rows(self) -> list[dict[str, Any]]:
        """The table as dicts (name, out_shape, params, multiplies, activation_bytes), plus a total row."""
        table = [
            {
                "name": r.name,
                "out_shape": r.out_shape,
                "params": r.params,
                "multiplies": r.multiplies,
                "activation_bytes": r.activation_bytes,
            }
            for r in self.rows
        ]
        table.append(
            {
                "name": "total",
                "out_shape": self.out_shape,
                "params": self.total_params,
                "multiplies": self.total_multiplies,
                "activation_bytes": self.total_activation_bytes,
            }
        )
        return table

    def to_markdown(self) -> str:
        """A Markdown table of :meth:`as_rows` with thousands separators."""
        lines = ["| layer | output | params | multiplies | activation bytes |", "|---|---|--:|--:|--:|"]
        for row in self.as_rows():
            shape = "x".join(str(d) for d in row["out_shape"])
            lines.append(
                f"| {row['name']} | {shape} | {row['params']:,} | {row['multiplies']:,} | {row['activation_bytes']:,} |"
            )
        return "\n".join(lines)


_LAYER_KEYS: dict[str, frozenset[str]] = {
    "conv": frozenset(
        {"type", "name", "out", "k", "kernel_size", "stride", "padding", "dilation", "groups", "bias"}
    ),
    "pool": frozenset(
        {"type", "name", "k", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "mode"}
    ),
    "fc": frozenset({"type", "name", "out", "bias"}),
    "flatten": frozenset({"type", "name"}),
}
_TYPE_ALIASES = {"linear": "fc", "maxpool": "pool", "avgpool": "pool"}


def _kernel(layer: Mapping[str, Any]) -> Any:
    if ("k" in layer) == ("kernel_size" in layer):
        raise ValueError("give exactly one of 'k' or 'kernel_size'")
    return layer["k"] if "k" in layer else layer["kernel_size"]


def network_cost(
    layers: Sequence[Mapping[str, Any]],
    input_shape: Sequence[int],
    *,
    bytes_per_element: int = 4,
) -> NetworkCost:
    """Cost table for a sequential stack described by plain dicts, on a ``(C, H, W)`` input.

    Layer dicts (defaults in brackets):

    * ``{"type": "conv", "out": 64, "k": 11, "stride": [1], "padding": [0], "dilation": [1],
      "groups": [1], "bias": [True]}`` (``groups=C_in=out`` is a depthwise convolution)
    * ``{"type": "pool", "k": 3, "stride": [k], "padding": [0], "ceil_mode": [False]}``
    * ``{"type": "flatten"}`` (required before the first ``fc`` after convolutions)
    * ``{"type": "fc", "out": 4096, "bias": [True]}`` (alias ``"linear"``)

    Every dict may carry a ``"name"``; the default is the type plus a per-type counter
    (``conv1``, ``conv2``, ``pool1``, ...). Unknown types or keys raise ``ValueError``.
    """
    in_shape = tuple(check_int(d, "input_shape entry", minimum=1) for d in input_shape)
    if len(in_shape) not in (1, 3):
        raise ValueError(f"input_shape must be (C, H, W) or (features,), got {tuple(input_shape)}")
    shape = in_shape
    bpe = check_int(bytes_per_element, "bytes_per_element", minimum=1)
    counters: dict[str, int] = {}
    rows: list[LayerCost] = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, Mapping) or "type" not in layer:
            raise ValueError(f"layer {i}: expected a dict with a 'type' key, got {layer!r}")
        kind = _TYPE_ALIASES.get(layer["type"], layer["type"])
        if kind not in _LAYER_KEYS:
            raise ValueError(f"layer {i}: unknown type {layer['type']!r} (conv, pool, fc, flatten)")
        unknown = set(layer) - _LAYER_KEYS[kind]
        if unknown:
            raise ValueError(f"layer {i} ({kind}): unknown keys {sorted(unknown)}")
        counters[kind] = counters.get(kind, 0) + 1
        name = str(layer.get("name", f"{kind}{counters[kind]}"))
        where = f"layer {i} ({name})"
        if kind == "flatten":
            shape = (math.prod(shape),)
            continue
        try:
            cost = _layer_cost(kind, layer, shape, bpe, name)
        except KeyError as exc:
            raise ValueError(f"{where}: missing key {exc}") from None
        except ValueError as exc:
            # Say which layer failed; the inner message says why.
            raise ValueError(f"{where}: {exc}") from None
        rows.append(cost)
        shape = cost.out_shape
    return NetworkCost(input_shape=in_shape, rows=tuple(rows), bytes_per_element=bpe)


def _layer_cost(
    kind: str, layer: Mapping[str, Any], shape: tuple[int, ...], bpe: int, name: str
) -> LayerCost:
    """Cost of one conv/pool/fc layer dict on an input of ``shape``."""
    if kind == "fc":
        if len(shape) != 1:
            raise ValueError(f"fc needs a flat input, got {shape}; add {{'type': 'flatten'}} first")
        return linear_layer_cost(
            shape[0], layer["out"], bias=layer.get("bias", True), bytes_per_element=bpe, name=name
        )
    if len(shape) != 3:
        raise ValueError(f"{kind} needs a (C, H, W) input, got {shape}")
    c, h, w = shape
    if kind == "conv":
        return conv_layer_cost(
            c,
            h,
            w,
            layer["out"],
            _kernel(layer),
            stride=layer.get("stride", 1),
            padding=layer.get("padding", 0),
            dilation=layer.get("dilation", 1),
            groups=layer.get("groups", 1),
            bias=layer.get("bias", True),
            bytes_per_element=bpe,
            name=name,
        )
    return pool_layer_cost(
        c,
        h,
        w,
        _kernel(layer),
        stride=layer.get("stride"),
        padding=layer.get("padding", 0),
        dilation=layer.get("dilation", 1),
        ceil_mode=layer.get("ceil_mode", False),
        bytes_per_element=bpe,
        name=name,
    )


# --------------------------------------------------------------------------- ready-made stacks


@dataclass(frozen=True, slots=True)
class Stack:
    """A named layer stack with its input shape; ``cost()`` runs :func:`network_cost`."""

    name: str
    input_shape: tuple[int, int, int]
    layers: tuple[Mapping[str, Any], ...]

    def cost(self, *, bytes_per_element: int = 4) -> NetworkCost:
        return network_cost(self.layers, self.input_shape, bytes_per_element=bytes_per_element)


def alexnet() -> Stack:
    """AlexNet as in torchvision and the notes: 3x227x227 input, conv1 = 64 filters 11x11/4, pad 2.

    conv 64/11/s4/p2, maxpool 3/2, conv 192/5/p2, maxpool 3/2, conv 384/3/p1, conv 256/3/p1,
    conv 256/3/p1, maxpool 3/2 (-> 256x6x6), fc 4096, fc 4096, fc 1000; 61,100,840 parameters.
    """
    layers = (
        {"type": "conv", "name": "conv1", "out": 64, "k": 11, "stride": 4, "padding": 2},
        {"type": "pool", "name": "pool1", "k": 3, "stride": 2},
        {"type": "conv", "name": "conv2", "out": 192, "k": 5, "padding": 2},
        {"type": "pool", "name": "pool2", "k": 3, "stride": 2},
        {"type": "conv", "name": "conv3", "out": 384, "k": 3, "padding": 1},
        {"type": "conv", "name": "conv4", "out": 256, "k": 3, "padding": 1},
        {"type": "conv", "name": "conv5", "out": 256, "k": 3, "padding": 1},
        {"type": "pool", "name": "pool3", "k": 3, "stride": 2},
        {"type": "flatten"},
        {"type": "fc", "name": "fc6", "out": 4096},
        {"type": "fc", "name": "fc7", "out": 4096},
        {"type": "fc", "name": "fc8", "out": 1000},
    )
    return Stack("AlexNet", (3, 227, 227), layers)


def vgg16() -> Stack:
    """VGG-16 (configuration D) on 3x224x224: 13 conv 3x3/p1 with biases, 5 maxpools 2/2, 3 fc."""
    layers: list[Mapping[str, Any]] = []
    for block, (width, reps) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)], start=1):
        for r in range(1, reps + 1):
            layers.append({"type": "conv", "name": f"conv{block}_{r}", "out": width, "k": 3, "padding": 1})
        layers.append({"type": "pool", "name": f"pool{block}", "k": 2, "stride": 2})
    layers += [
        {"type": "flatten"},
        {"type": "fc", "name": "fc6", "out": 4096},
        {"type": "fc", "name": "fc7", "out": 4096},
        {"type": "fc", "name": "fc8", "out": 1000},
    ]
    return Stack("VGG-16", (3, 224, 224), tuple(layers))


def resnet_bottleneck_block(
    channels: int = 256, width: int = 64, size: int = 56, *, bias: bool = False
) -> Stack:
    """ResNet bottleneck residual branch: 1x1 reduce to ``width``, 3x3 (pad 1), 1x1 expand back.

    Defaults are ResNet-50's first stage (256 -> 64 -> 64 -> 256 on 56x56). ``bias=False`` as in
    torchvision (batch norm follows each conv; its parameters are not counted). The identity
    shortcut and the addition have no parameters and no multiplies.
    """
    layers = (
        {"type": "conv", "name": "reduce1x1", "out": width, "k": 1, "bias": bias},
        {"type": "conv", "name": "conv3x3", "out": width, "k": 3, "padding": 1, "bias": bias},
        {"type": "conv", "name": "expand1x1", "out": channels, "k": 1, "bias": bias},
    )
    return Stack("ResNet bottleneck", (channels, size, size), layers)


def resnext_block(
    channels: int = 256, width: int = 128, cardinality: int = 32, size: int = 56, *, bias: bool = False
) -> Stack:
    """ResNeXt block (form c): 1x1 to ``width``, grouped 3x3 with ``groups=cardinality``, 1x1 back.

    Defaults are ResNeXt-50 32x4d's first stage (256 -> 128 -> 128 (32 groups of 4) -> 256).
    """
    layers = (
        {"type": "conv", "name": "reduce1x1", "out": width, "k": 1, "bias": bias},
        {
            "type": "conv",
            "name": "grouped3x3",
            "out": width,
            "k": 3,
            "padding": 1,
            "groups": cardinality,
            "bias": bias,
        },
        {"type": "conv", "name": "expand1x1", "out": channels, "k": 1, "bias": bias},
    )
    return Stack("ResNeXt block", (channels, size, size), layers)


def inception_5x5_direct(c_in: int = 192, c_out: int = 32, size: int = 28, *, bias: bool = True) -> Stack:
    """A 5x5 'same' convolution straight from ``c_in`` to ``c_out`` channels (120,422,400 multiplies by default)."""
    layers = ({"type": "conv", "name": "conv5x5", "out": c_out, "k": 5, "padding": 2, "bias": bias},)
    return Stack("Inception 5x5 direct", (c_in, size, size), layers)


def inception_5x5_reduced(
    c_in: int = 192, reduce: int = 16, c_out: int = 32, size: int = 28, *, bias: bool = True
) -> Stack:
    """The same 5x5 branch behind a 1x1 bottleneck to ``reduce`` channels (12,443,648 multiplies by default)."""
    layers = (
        {"type": "conv", "name": "reduce1x1", "out": reduce, "k": 1, "bias": bias},
        {"type": "conv", "name": "conv5x5", "out": c_out, "k": 5, "padding": 2, "bias": bias},
    )
    return Stack("Inception 5x5 with 1x1 reduction", (c_in, size, size), layers)


def mobilenet_separable_block(
    c_in: int = 32, c_out: int = 64, size: int = 112, stride: int = 1, *, bias: bool = False
) -> Stack:
    """MobileNet depthwise-separable block: depthwise 3x3 (``groups=c_in``, pad 1) then pointwise 1x1.

    Compared with :func:`standard_conv_block` the cost ratio is ``1/c_out + 1/9``.
    """
    layers = (
        {
            "type": "conv",
            "name": "depthwise3x3",
            "out": c_in,
            "k": 3,
            "stride": stride,
            "padding": 1,
            "groups": c_in,
            "bias": bias,
        },
        {"type": "conv", "name": "pointwise1x1", "out": c_out, "k": 1, "bias": bias},
    )
    return Stack("MobileNet depthwise-separable", (c_in, size, size), layers)


def standard_conv_block(
    c_in: int = 32, c_out: int = 64, size: int = 112, stride: int = 1, k: int = 3, *, bias: bool = False
) -> Stack:
    """A plain ``k x k`` 'same' convolution, the baseline a separable block is compared with."""
    layers = (
        {
            "type": "conv",
            "name": f"conv{k}x{k}",
            "out": c_out,
            "k": k,
            "stride": stride,
            "padding": k // 2,
            "bias": bias,
        },
    )
    return Stack("standard convolution", (c_in, size, size), layers)
