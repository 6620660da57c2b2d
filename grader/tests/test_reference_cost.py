"""grader.reference.cost: the notes' numbers, and torch's own parameter/FLOP counts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from grader.reference.cost import (
    LayerCost,
    Stack,
    alexnet,
    conv_layer_cost,
    inception_5x5_direct,
    inception_5x5_reduced,
    linear_layer_cost,
    mobilenet_separable_block,
    network_cost,
    pool_layer_cost,
    resnet_bottleneck_block,
    resnext_block,
    standard_conv_block,
    to_kb,
    to_kib,
    to_mb,
    to_mib,
    vgg16,
)

SETTINGS = settings(max_examples=60, deadline=None)


def test_alexnet_conv1_matches_the_notes() -> None:
    c = conv_layer_cost(3, 227, 227, 64, 11, stride=4, padding=2)
    assert c.out_shape == (64, 56, 56)
    assert c.activation_elements == 200_704
    assert c.activation_bytes == 802_816
    assert c.activation_kib == 784
    assert c.activation_kb == pytest.approx(802.816)
    assert c.weights == 23_232
    assert c.biases == 64
    assert c.params == 23_296
    assert c.multiplies == 72_855_552
    assert c.flops == 2 * 72_855_552
    assert c.param_bytes == 23_296 * 4


def test_unit_helpers() -> None:
    assert to_kib(802_816) == 784
    assert to_mib(1024**2 * 3) == 3
    assert to_kb(802_816) == 802.816
    assert to_mb(2_500_000) == 2.5


def test_layer_cost_is_frozen() -> None:
    c = linear_layer_cost(10, 3)
    with pytest.raises(AttributeError):
        c.params = 0  # type: ignore[misc]


def test_linear_and_pool_costs() -> None:
    fc = linear_layer_cost(9216, 4096)
    assert (fc.out_shape, fc.weights, fc.biases, fc.multiplies) == ((4096,), 37_748_736, 4096, 37_748_736)
    assert linear_layer_cost(10, 3, bias=False).params == 30
    pool = pool_layer_cost(64, 56, 56, 3, stride=2)
    assert (pool.out_shape, pool.params, pool.multiplies) == ((64, 27, 27), 0, 0)
    assert pool_layer_cost(64, 56, 56, 2).out_shape == (64, 28, 28)  # stride defaults to kernel
    assert pool_layer_cost(3, 5, 5, 2, ceil_mode=True).out_shape == (3, 3, 3)


def test_bytes_per_element() -> None:
    c = conv_layer_cost(3, 32, 32, 8, 3, padding=1, bytes_per_element=2)
    assert c.activation_bytes == 8 * 32 * 32 * 2
    assert c.param_bytes == c.params * 2


def test_depthwise_and_grouped_counts() -> None:
    dw = conv_layer_cost(32, 112, 112, 32, 3, padding=1, groups=32, bias=False)
    assert dw.params == 32 * 9
    assert dw.multiplies == 32 * 112 * 112 * 9
    grouped = conv_layer_cost(128, 56, 56, 128, 3, padding=1, groups=32, bias=False)
    assert grouped.params == 128 * 4 * 9


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"groups": 5}, "groups=5 must divide"),
        ({"stride": 0}, "stride must be >= 1"),
        ({"kernel_size": 40}, "<= 0"),
        ({"bias": "no"}, "bias must be True or False"),
        ({"bytes_per_element": 0}, "bytes_per_element"),
    ],
)
def test_conv_cost_validation(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"kernel_size": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        conv_layer_cost(4, 32, 32, 8, **args)


# --------------------------------------------------------------------------- whole stacks


def test_alexnet_table() -> None:
    cost = alexnet().cost()
    names = [r.name for r in cost.rows]
    assert names == [
        "conv1",
        "pool1",
        "conv2",
        "pool2",
        "conv3",
        "conv4",
        "conv5",
        "pool3",
        "fc6",
        "fc7",
        "fc8",
    ]
    assert cost.rows[0].multiplies == 72_855_552
    assert cost.rows[7].out_shape == (256, 6, 6)
    assert cost.total_params == 61_100_840  # torchvision's alexnet parameter count
    assert cost.out_shape == (1000,)
    table = cost.as_rows()
    assert table[-1]["name"] == "total"
    assert table[-1]["params"] == 61_100_840
    assert table[-1]["multiplies"] == sum(r["multiplies"] for r in table[:-1])
    assert "| conv1 | 64x56x56 | 23,296 | 72,855,552 | 802,816 |" in cost.to_markdown()
    assert cost.input_bytes == 3 * 227 * 227 * 4


def test_vgg16_totals() -> None:
    cost = vgg16().cost()
    assert cost.total_params == 138_357_544
    assert cost.total_multiplies == 15_470_264_320
    assert cost.total_flops == 2 * cost.total_multiplies
    assert [r.out_shape for r in cost.rows if r.kind == "pool"][-1] == (512, 7, 7)


def test_inception_reduction_numbers() -> None:
    direct = inception_5x5_direct().cost()
    reduced = inception_5x5_reduced().cost()
    assert direct.total_multiplies == 28 * 28 * 32 * 192 * 25 == 120_422_400
    assert reduced.total_multiplies == 28 * 28 * 16 * 192 + 28 * 28 * 32 * 16 * 25 == 12_443_648
    assert direct.out_shape == reduced.out_shape == (32, 28, 28)


def test_resnet_and_resnext_blocks() -> None:
    res = resnet_bottleneck_block().cost()
    assert res.total_params == 256 * 64 + 64 * 64 * 9 + 64 * 256 == 69_632
    nxt = resnext_block().cost()
    assert nxt.total_params == 256 * 128 + 128 * 4 * 9 + 128 * 256 == 70_144
    assert res.out_shape == nxt.out_shape == (256, 56, 56)


def test_mobilenet_ratio() -> None:
    sep = mobilenet_separable_block(c_in=32, c_out=64).cost()
    std = standard_conv_block(c_in=32, c_out=64).cost()
    assert sep.out_shape == std.out_shape == (64, 112, 112)
    # Depthwise-separable / standard = 1/c_out + 1/k^2 (multiplies, and params without bias).
    assert sep.total_multiplies / std.total_multiplies == pytest.approx(1 / 64 + 1 / 9)
    assert sep.total_params / std.total_params == pytest.approx(1 / 64 + 1 / 9)


def test_network_cost_validation() -> None:
    with pytest.raises(ValueError, match="add {'type': 'flatten'} first"):
        network_cost([{"type": "fc", "out": 10}], (3, 8, 8))
    with pytest.raises(ValueError, match="unknown type"):
        network_cost([{"type": "relu"}], (3, 8, 8))
    with pytest.raises(ValueError, match=r"unknown keys \['kernel'\]"):
        network_cost([{"type": "conv", "out": 4, "kernel": 3}], (3, 8, 8))
    with pytest.raises(ValueError, match=r"layer 1 \(conv2\).*<= 0"):
        network_cost([{"type": "conv", "out": 4, "k": 3}, {"type": "conv", "out": 4, "k": 9}], (3, 8, 8))
    with pytest.raises(ValueError, match="missing key 'out'"):
        network_cost([{"type": "conv", "k": 3}], (3, 8, 8))
    with pytest.raises(ValueError, match="input_shape"):
        network_cost([], (3, 8))


def test_flatten_adds_no_row() -> None:
    cost = network_cost([{"type": "flatten"}, {"type": "linear", "out": 5, "name": "head"}], (2, 3, 4))
    assert [(r.name, r.params) for r in cost.rows] == [("head", 24 * 5 + 5)]


# --------------------------------------------------------------------------- against torch


def torch_layer(layer: Mapping[str, Any], in_shape: tuple[int, ...]) -> nn.Module:
    """The torch module a layer dict describes, on the meta device (no memory, no compute)."""
    kind = layer["type"]
    k = layer.get("k", layer.get("kernel_size"))
    if kind == "conv":
        return nn.Conv2d(
            in_shape[0],
            layer["out"],
            k,
            stride=layer.get("stride", 1),
            padding=layer.get("padding", 0),
            dilation=layer.get("dilation", 1),
            groups=layer.get("groups", 1),
            bias=layer.get("bias", True),
            device="meta",
        )
    if kind == "pool":
        return nn.MaxPool2d(k, stride=layer.get("stride"), padding=layer.get("padding", 0))
    if kind == "flatten":
        return nn.Flatten()
    return nn.Linear(in_shape[0], layer["out"], bias=layer.get("bias", True), device="meta")


def check_against_torch(stack: Stack) -> None:
    """Per-layer output shapes, total params and FLOPs agree with torch's module and FlopCounterMode."""
    cost = stack.cost()
    shape: tuple[int, ...] = stack.input_shape
    x = torch.empty((1, *shape), device="meta")
    torch_shapes, params, flops = [], 0, 0
    for layer in stack.layers:
        mod = torch_layer(layer, shape)
        with FlopCounterMode(display=False) as counter:
            x = mod(x)
        shape = tuple(x.shape[1:])
        params += sum(p.numel() for p in mod.parameters())
        flops += counter.get_total_flops()
        if layer["type"] != "flatten":
            torch_shapes.append(shape)
    assert [r.out_shape for r in cost.rows] == torch_shapes
    assert cost.total_params == params
    # torch counts 2 FLOPs per multiply-accumulate and, like us, ignores bias additions.
    assert cost.total_flops == flops


@pytest.mark.parametrize(
    "factory",
    [
        alexnet,
        vgg16,
        resnet_bottleneck_block,
        resnext_block,
        inception_5x5_direct,
        inception_5x5_reduced,
        mobilenet_separable_block,
        standard_conv_block,
    ],
)
def test_ready_made_stacks_match_torch(factory: Any) -> None:
    check_against_torch(factory())


@SETTINGS
@given(
    c_in_g=st.integers(1, 4),
    c_out_g=st.integers(1, 4),
    groups=st.integers(1, 3),
    k=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    extra=st.tuples(st.integers(0, 20), st.integers(0, 20)),
    bias=st.booleans(),
)
def test_conv_layer_cost_matches_torch(
    c_in_g: int,
    c_out_g: int,
    groups: int,
    k: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    extra: tuple[int, int],
    bias: bool,
) -> None:
    c_in, c_out = c_in_g * groups, c_out_g * groups
    h = max(1, dilation[0] * (k[0] - 1) + 1 - 2 * padding[0]) + extra[0]
    w = max(1, dilation[1] * (k[1] - 1) + 1 - 2 * padding[1]) + extra[1]
    cost: LayerCost = conv_layer_cost(
        c_in, h, w, c_out, k, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias
    )
    conv = nn.Conv2d(
        c_in,
        c_out,
        k,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        bias=bias,
        device="meta",
    )
    with FlopCounterMode(display=False) as counter:
        out = conv(torch.empty((1, c_in, h, w), device="meta"))
    assert cost.out_shape == tuple(out.shape[1:])
    assert cost.params == sum(p.numel() for p in conv.parameters())
    assert cost.flops == counter.get_total_flops()
    assert cost.activation_elements == out.numel()
