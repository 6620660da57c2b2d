"""grader.reference.conv and grader.reference.sizes against PyTorch (float64) and hand examples."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.reference.conv import (
    avg_pool2d,
    bed_of_nails_upsample,
    conv2d,
    conv_transpose2d,
    max_pool2d,
    max_unpool2d,
    nearest_upsample,
)
from grader.reference.sizes import (
    RFLayer,
    conv_output_size,
    conv_transpose_output_size,
    pool_output_size,
    receptive_field,
)

SETTINGS = settings(max_examples=60, deadline=None)


def t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(a, dtype=np.float64, order="C", copy=True))


def int_or_pair(lo: int, hi: int) -> st.SearchStrategy[Any]:
    """An int, or an (h, w) pair of ints, both in [lo, hi]."""
    return st.one_of(st.integers(lo, hi), st.tuples(st.integers(lo, hi), st.integers(lo, hi)))


def as_pair(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


@st.composite
def conv_case(draw: st.DrawFn) -> dict[str, Any]:
    """Random conv2d problem: groups in {1, 2, C}, non-square everything, batched or not."""
    groups = draw(st.sampled_from([1, 2, "depthwise"]))
    c_in_g = draw(st.integers(1, 3))
    if groups == "depthwise":
        c_in = draw(st.integers(1, 4))
        groups, c_in_g = c_in, 1
    c_in = c_in_g * groups
    c_out = draw(st.integers(1, 3)) * groups
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride, padding, dilation = draw(int_or_pair(1, 3)), draw(int_or_pair(0, 2)), draw(int_or_pair(1, 3))
    (dh, dw), (ph, pw) = as_pair(dilation), as_pair(padding)
    # Choose H, W so that the dilated kernel fits in the padded input (output size >= 1).
    h = max(1, dh * (kh - 1) + 1 - 2 * ph) + draw(st.integers(0, 6))
    w = max(1, dw * (kw - 1) + 1 - 2 * pw) + draw(st.integers(0, 6))
    batch = draw(st.sampled_from([None, 1, 3]))
    shape = (c_in, h, w) if batch is None else (batch, c_in, h, w)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return {
        "x": rng.normal(size=shape),
        "w": rng.normal(size=(c_out, c_in_g, kh, kw)),
        "b": rng.normal(size=c_out) if draw(st.booleans()) else None,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "groups": groups,
    }


def torch_conv(case: dict[str, Any], weight: np.ndarray | None = None) -> np.ndarray:
    b = None if case["b"] is None else t(case["b"])
    return F.conv2d(
        t(case["x"]),
        t(case["w"] if weight is None else weight),
        b,
        stride=case["stride"],
        padding=case["padding"],
        dilation=case["dilation"],
        groups=case["groups"],
    ).numpy()


def ours_conv(case: dict[str, Any], **extra: Any) -> np.ndarray:
    return conv2d(
        case["x"],
        case["w"],
        case["b"],
        stride=case["stride"],
        padding=case["padding"],
        dilation=case["dilation"],
        groups=case["groups"],
        **extra,
    )


# --------------------------------------------------------------------------- conv2d


@SETTINGS
@given(conv_case())
def test_conv2d_matches_torch(case: dict[str, Any]) -> None:
    ours = ours_conv(case)
    ref = torch_conv(case)
    assert ours.shape == ref.shape
    assert ours.dtype == np.float64
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10)


@SETTINGS
@given(conv_case())
def test_conv2d_flip_is_true_convolution(case: dict[str, Any]) -> None:
    ours = ours_conv(case, flip=True)
    ref = torch_conv(case, weight=case["w"][:, :, ::-1, ::-1])
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10)


@SETTINGS
@given(conv_case())
def test_conv2d_integer_inputs_are_exact_int64(case: dict[str, Any]) -> None:
    rng = np.random.default_rng(0)
    case = dict(case)
    case["x"] = rng.integers(-9, 10, size=case["x"].shape)
    case["w"] = rng.integers(-3, 4, size=case["w"].shape)
    if case["b"] is not None:
        case["b"] = rng.integers(-5, 6, size=case["b"].shape)
    ours = ours_conv(case)
    assert ours.dtype == np.int64
    # Small integers are exact in float64, so torch's result rounds to the exact answer.
    np.testing.assert_array_equal(ours, np.rint(torch_conv(case)).astype(np.int64))


def test_conv2d_hand_example_correlation_vs_convolution() -> None:
    x = np.arange(16).reshape(1, 4, 4)
    w = np.array([[[[1, 0], [0, -1]]]])
    # Correlation: y[i, j] = x[i, j] - x[i+1, j+1] = -5 everywhere (rows differ by 4, cols by 1).
    np.testing.assert_array_equal(conv2d(x, w), np.full((1, 3, 3), -5))
    # True convolution rotates the kernel: y[i, j] = x[i+1, j+1] - x[i, j] = +5.
    np.testing.assert_array_equal(conv2d(x, w, flip=True), np.full((1, 3, 3), 5))
    # Float input switches to float64 and keeps the value.
    assert conv2d(x.astype(np.float32), w).dtype == np.float64


def test_conv2d_padding_and_stride_hand_example() -> None:
    x = np.ones((1, 3, 3), dtype=np.int64)
    w = np.ones((1, 1, 3, 3), dtype=np.int64)
    # Zero padding 1, stride 2: corners of the padded 5x5 see a 2x2 block of ones.
    np.testing.assert_array_equal(conv2d(x, w, padding=1, stride=2), [[[4, 4], [4, 4]]])
    np.testing.assert_array_equal(conv2d(x, w, padding=1), [[[4, 6, 4], [6, 9, 6], [4, 6, 4]]])


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "kwargs", "match"),
    [
        ((4, 4), (1, 1, 1, 1), {}, "x must have shape"),
        ((1, 2, 3, 4, 4), (1, 1, 1, 1), {}, "x must have shape"),
        ((1, 4, 4), (1, 1, 1), {}, "w must have shape"),
        ((3, 4, 4), (2, 2, 1, 1), {}, "channel mismatch"),
        ((3, 4, 4), (2, 1, 1, 1), {"groups": 2}, "groups=2 must divide"),
        ((4, 4, 4), (3, 2, 1, 1), {"groups": 2}, "groups=2 must divide"),
        ((1, 4, 4), (1, 1, 5, 1), {}, "output size would be <= 0"),
        ((1, 4, 4), (1, 1, 3, 3), {"dilation": 2}, "output size would be <= 0"),
        ((1, 4, 4), (1, 1, 1, 1), {"stride": 0}, "stride must be >= 1"),
        ((1, 4, 4), (1, 1, 1, 1), {"padding": -1}, "padding must be >= 0"),
        ((1, 4, 4), (1, 1, 1, 1), {"stride": (1, 2, 3)}, "pair"),
        ((1, 4, 4), (1, 1, 1, 1), {"stride": 1.5}, "must be an integer"),
        ((1, 4, 4), (1, 1, 1, 1), {"stride": True}, "must be an integer"),
        ((1, 4, 4), (1, 1, 1, 1), {"groups": 0}, "groups must be >= 1"),
    ],
)
def test_conv2d_validation(
    x_shape: tuple[int, ...], w_shape: tuple[int, ...], kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        conv2d(np.zeros(x_shape), np.zeros(w_shape), **kwargs)


def test_conv2d_bias_shape_validated() -> None:
    with pytest.raises(ValueError, match="b must have shape"):
        conv2d(np.zeros((1, 3, 3)), np.zeros((2, 1, 1, 1)), np.zeros(3))


def test_conv2d_rejects_complex() -> None:
    with pytest.raises(ValueError, match="real numeric"):
        conv2d(np.zeros((1, 3, 3), dtype=complex), np.zeros((1, 1, 1, 1)))


# --------------------------------------------------------------------------- conv_transpose2d


@st.composite
def conv_transpose_case(draw: st.DrawFn) -> dict[str, Any]:
    groups = draw(st.sampled_from([1, 2, "depthwise"]))
    c_in_g = draw(st.integers(1, 3))
    if groups == "depthwise":
        groups, c_in_g = draw(st.integers(1, 4)), 1
    c_in = c_in_g * groups
    c_out_g = draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride, dilation = draw(int_or_pair(1, 3)), draw(int_or_pair(1, 3))
    (sh, sw), (dh, dw) = as_pair(stride), as_pair(dilation)
    # output_padding must be < max(stride, dilation) per axis.
    oph, opw = draw(st.integers(0, max(sh, dh) - 1)), draw(st.integers(0, max(sw, dw) - 1))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    # Padding may crop, but must leave at least one output row/column.
    max_ph = ((h - 1) * sh + dh * (kh - 1) + oph) // 2
    max_pw = ((w - 1) * sw + dw * (kw - 1) + opw) // 2
    ph, pw = draw(st.integers(0, min(3, max_ph))), draw(st.integers(0, min(3, max_pw)))
    square = draw(st.booleans())
    padding: Any = ph if square else (ph, pw)
    if square:
        pw = ph
        if ph > max_pw:
            padding, pw = (ph, 0), 0
    batch = draw(st.sampled_from([None, 1, 2]))
    shape = (c_in, h, w) if batch is None else (batch, c_in, h, w)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return {
        "x": rng.normal(size=shape),
        "w": rng.normal(size=(c_in, c_out_g, kh, kw)),
        "b": rng.normal(size=c_out_g * groups) if draw(st.booleans()) else None,
        "stride": stride,
        "padding": padding,
        "output_padding": (oph, opw),
        "dilation": dilation,
        "groups": groups,
    }


@SETTINGS
@given(conv_transpose_case())
def test_conv_transpose2d_matches_torch(case: dict[str, Any]) -> None:
    ours = conv_transpose2d(**case)
    ref = F.conv_transpose2d(
        t(case["x"]),
        t(case["w"]),
        None if case["b"] is None else t(case["b"]),
        stride=case["stride"],
        padding=case["padding"],
        output_padding=case["output_padding"],
        dilation=case["dilation"],
        groups=case["groups"],
    ).numpy()
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10)


@SETTINGS
@given(conv_case())
def test_conv_transpose_is_adjoint_of_conv(case: dict[str, Any]) -> None:
    """<conv(x), y> == <x, conv_transpose(y)>, independent of torch."""
    x, w = case["x"], case["w"]
    kw = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    y = conv2d(x, w, **kw)
    rng = np.random.default_rng(1)
    g = rng.normal(size=y.shape)
    # output_padding recovers the input rows/columns the strided conv skipped at the end.
    (sh, sw), (ph, pw), (dh, dw) = (
        as_pair(case["stride"]),
        as_pair(case["padding"]),
        as_pair(case["dilation"]),
    )
    kh, kwid = w.shape[2:]
    h, wd = x.shape[-2:]
    oph = h - ((y.shape[-2] - 1) * sh - 2 * ph + dh * (kh - 1) + 1)
    opw = wd - ((y.shape[-1] - 1) * sw - 2 * pw + dw * (kwid - 1) + 1)
    if oph >= max(sh, dh) or opw >= max(sw, dw):
        return  # not representable with a legal output_padding; covered by the torch test
    back = conv_transpose2d(
        g,
        w,
        stride=case["stride"],
        padding=case["padding"],
        output_padding=(oph, opw),
        dilation=case["dilation"],
        groups=case["groups"],
    )
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(y * g), np.sum(x * back), rtol=1e-9, atol=1e-9)


def test_conv_transpose2d_hand_example_overlaps_sum() -> None:
    # 1-D in effect: x = [1, 2], kernel [1, 1, 1], stride 2 -> [1, 1, 1+2, 2, 2].
    x = np.array([[[1, 2]]])
    w = np.ones((1, 1, 1, 3), dtype=np.int64)
    out = conv_transpose2d(x, w, stride=2)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, [[[1, 1, 3, 2, 2]]])
    np.testing.assert_array_equal(conv_transpose2d(x, w, stride=2, padding=(0, 1)), [[[1, 3, 2]]])
    np.testing.assert_array_equal(
        conv_transpose2d(x, w, stride=2, output_padding=(0, 1)), [[[1, 1, 3, 2, 2, 0]]]
    )


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "kwargs", "match"),
    [
        ((2, 3, 3), (3, 1, 2, 2), {}, "channel mismatch"),
        ((3, 3, 3), (3, 1, 2, 2), {"groups": 2}, "groups=2 must divide"),
        ((1, 3, 3), (1, 1, 2, 2), {"output_padding": 1}, "output_padding"),
        ((1, 3, 3), (1, 1, 2, 2), {"stride": 2, "output_padding": 2}, "output_padding"),
        ((1, 1, 1), (1, 1, 1, 1), {"padding": 1}, "<= 0"),
        ((1, 3, 3), (1, 1, 2), {}, "w must have shape"),
    ],
)
def test_conv_transpose2d_validation(
    x_shape: tuple[int, ...], w_shape: tuple[int, ...], kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        conv_transpose2d(np.zeros(x_shape), np.zeros(w_shape), **kwargs)


# --------------------------------------------------------------------------- pooling


@st.composite
def pool_case(draw: st.DrawFn, *, dilation: bool = True) -> dict[str, Any]:
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kernel: Any = kh if (kh == kw and draw(st.booleans())) else (kh, kw)
    stride: Any = draw(st.one_of(st.none(), int_or_pair(1, 3)))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    padding: Any = ph if (ph == pw and draw(st.booleans())) else (ph, pw)
    dil: Any = draw(int_or_pair(1, 3)) if dilation else 1
    (dh, dw) = as_pair(dil)
    # Sometimes a little smaller than the window: ceil mode can still give one output there.
    h = max(1, dh * (kh - 1) + 1 - 2 * ph - draw(st.integers(0, 2))) + draw(st.integers(0, 6))
    w = max(1, dw * (kw - 1) + 1 - 2 * pw - draw(st.integers(0, 2))) + draw(st.integers(0, 6))
    lead = draw(st.sampled_from([(), (2,), (2, 3)]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # Small integers force ties, which exercises the "first maximum wins" index rule.
    x = rng.integers(-3, 4, size=(*lead, h, w)).astype(np.float64)
    return {
        "x": x,
        "kernel_size": kernel,
        "stride": stride,
        "padding": padding,
        "dilation": dil,
        "ceil_mode": draw(st.booleans()),
    }


def torch4(x: np.ndarray) -> torch.Tensor:
    """torch pooling wants (C, H, W) or (N, C, H, W); lift a 2-D plane to (1, H, W)."""
    return t(x[None] if x.ndim == 2 else x)


@SETTINGS
@given(pool_case())
def test_max_pool2d_matches_torch(case: dict[str, Any]) -> None:
    x = case.pop("x")
    try:
        ty, ti = F.max_pool2d(torch4(x), return_indices=True, **case)
    except RuntimeError:
        with pytest.raises(ValueError, match="output size would be <= 0"):
            max_pool2d(x, **case)
        return
    ty, ti = ty.numpy().reshape(ty.shape[-x.ndim :] if x.ndim > 2 else ty.shape[1:]), ti.numpy()
    try:
        y, idx = max_pool2d(x, **case)
    except ValueError as exc:
        # Otherwise only windows made entirely of padding are refused; torch yields -inf there.
        assert "only padding" in str(exc)
        assert np.isneginf(ty).any()
        return
    assert y.shape == ty.shape
    np.testing.assert_array_equal(y, ty)
    np.testing.assert_array_equal(idx, ti.reshape(idx.shape))
    assert idx.dtype == np.int64


@SETTINGS
@given(pool_case(dilation=False), st.booleans())
def test_avg_pool2d_matches_torch(case: dict[str, Any], count_include_pad: bool) -> None:
    x = case.pop("x")
    case.pop("dilation")
    try:
        ref = F.avg_pool2d(torch4(x), count_include_pad=count_include_pad, **case).numpy()
    except RuntimeError:
        with pytest.raises(ValueError, match="output size would be <= 0"):
            avg_pool2d(x, count_include_pad=count_include_pad, **case)
        return
    ours = avg_pool2d(x, count_include_pad=count_include_pad, **case)
    np.testing.assert_allclose(ours, ref.reshape(ours.shape), rtol=1e-12, atol=1e-12)
    assert ours.shape == (ref.shape[1:] if x.ndim == 2 else ref.shape)


@SETTINGS
@given(pool_case())
def test_max_unpool2d_matches_torch(case: dict[str, Any]) -> None:
    x = case.pop("x")
    if x.ndim == 2:
        x = x[None]
    try:
        y, idx = max_pool2d(x, **case)
    except ValueError:
        return  # refusals are checked against torch in test_max_pool2d_matches_torch
    h, w = x.shape[-2:]
    ref = torch.ops.aten.max_unpool2d(t(y), torch.from_numpy(idx), [h, w]).numpy()
    ours = max_unpool2d(y, idx, (h, w))
    np.testing.assert_array_equal(ours, ref)
    # Each kept value sits where it came from, everything else is zero.
    np.testing.assert_array_equal(ours[ours != 0], x[ours != 0])


def test_max_pool_hand_example() -> None:
    x = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]])
    y, idx = max_pool2d(x, 2)
    np.testing.assert_array_equal(y, [[6, 8], [3, 4]])
    np.testing.assert_array_equal(idx, [[5, 7], [8, 15]])
    assert y.dtype == np.int64
    np.testing.assert_array_equal(
        max_unpool2d(y, idx, 4), [[0, 0, 0, 0], [0, 6, 0, 8], [3, 0, 0, 0], [0, 0, 0, 4]]
    )


def test_max_pool_nan_and_inf_follow_torch() -> None:
    x = np.full((2, 4, 4), -np.inf)
    x[0, 1, 1] = np.nan
    x[0, 2, 2] = np.nan
    x[1, 3, 0] = 5.0
    ty, ti = F.max_pool2d(t(x), 2, 1, 1, return_indices=True)
    y, idx = max_pool2d(x, 2, 1, 1)
    np.testing.assert_array_equal(y, ty.numpy())
    np.testing.assert_array_equal(idx, ti.numpy())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kernel_size": 3, "padding": 2}, "at most half"),
        ({"kernel_size": 2, "padding": 1, "dilation": 5}, "only padding"),
        ({"kernel_size": 6}, "output size would be <= 0"),
        ({"kernel_size": 0}, "kernel_size must be >= 1"),
        ({"kernel_size": 2, "stride": 0}, "stride must be >= 1"),
    ],
)
def test_max_pool_validation(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        max_pool2d(np.zeros((1, 4, 4)), **kwargs)


def test_pool_rejects_bad_rank() -> None:
    with pytest.raises(ValueError, match="must have shape"):
        avg_pool2d(np.zeros(4), 2)
    with pytest.raises(ValueError, match="must have shape"):
        max_pool2d(np.zeros((1, 1, 1, 4, 4)), 2)


def test_max_unpool_validation() -> None:
    y, idx = max_pool2d(np.arange(16.0).reshape(1, 4, 4), 2)
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 9\)"):
        max_unpool2d(y, idx, 3)
    with pytest.raises(ValueError, match="shape"):
        max_unpool2d(y, idx[..., :1], 4)
    with pytest.raises(ValueError, match="integers"):
        max_unpool2d(y, idx.astype(float), 4)


# --------------------------------------------------------------------------- upsampling


@SETTINGS
@given(
    st.sampled_from([(3, 2), (2, 3, 4), (2, 1, 2, 3)]),
    int_or_pair(1, 3),
    st.integers(0, 2**32 - 1),
)
def test_upsampling_matches_torch(shape: tuple[int, ...], scale: Any, seed: int) -> None:
    x = np.random.default_rng(seed).normal(size=shape)
    sh, sw = as_pair(scale)
    ref = F.interpolate(
        torch4(x)[None] if x.ndim < 4 else t(x), scale_factor=(sh, sw), mode="nearest"
    ).numpy()
    ours = nearest_upsample(x, scale)
    np.testing.assert_array_equal(ours, ref.reshape(ours.shape))
    assert ours.shape == (*shape[:-2], shape[-2] * sh, shape[-1] * sw)
    # Bed of nails is max-unpooling with every index at the top-left of its block.
    h, w = shape[-2:]
    rows, cols = np.meshgrid(np.arange(h) * sh, np.arange(w) * sw, indexing="ij")
    idx = np.broadcast_to(rows * (w * sw) + cols, shape).copy()
    ref_nails = torch.ops.aten.max_unpool2d(
        torch4(x), torch.from_numpy(idx.reshape(torch4(x).shape)), [h * sh, w * sw]
    )
    nails = bed_of_nails_upsample(x, scale)
    np.testing.assert_array_equal(nails, ref_nails.numpy().reshape(nails.shape))


def test_upsampling_hand_example() -> None:
    x = np.array([[1, 2], [3, 4]])
    np.testing.assert_array_equal(
        bed_of_nails_upsample(x, 2), [[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]]
    )
    np.testing.assert_array_equal(
        nearest_upsample(x, 2), [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]
    )
    assert nearest_upsample(x, 2).dtype == np.int64
    with pytest.raises(ValueError, match="scale must be >= 1"):
        nearest_upsample(x, 0)


# --------------------------------------------------------------------------- sizes


def test_output_size_formulas() -> None:
    assert conv_output_size(227, 11, 4, 2) == 56
    assert conv_output_size(227, 11, 4) == 55
    assert conv_output_size(7, 3, 2) == 3  # floor((7 - 3) / 2) + 1
    assert conv_output_size(8, 3, 2) == 3  # floor drops the incomplete last window
    assert conv_output_size(7, 3, dilation=3) == 1
    assert conv_transpose_output_size(3, 3, stride=2) == 7
    assert conv_transpose_output_size(3, 3, stride=2, padding=1, output_padding=1) == 6
    assert pool_output_size(5, 2) == 2
    assert pool_output_size(5, 2, ceil_mode=True) == 3
    # Ceil mode would start a window in the right padding here; torch drops it.
    assert pool_output_size(5, 2, 2, padding=1, ceil_mode=True) == 3
    with pytest.raises(ValueError, match="<= 0"):
        conv_output_size(4, 5)
    with pytest.raises(ValueError, match="output_padding"):
        conv_transpose_output_size(3, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="at most half"):
        pool_output_size(5, 3, padding=2)


@SETTINGS
@given(
    st.integers(1, 30),
    st.integers(1, 6),
    st.integers(1, 4),
    st.integers(0, 3),
    st.integers(1, 3),
    st.booleans(),
)
def test_pool_output_size_matches_torch(n: int, k: int, s: int, p: int, d: int, ceil: bool) -> None:
    x = torch.zeros(1, 1, n)
    try:
        ref = F.max_pool1d(x, k, s, p, d, ceil_mode=ceil).shape[-1]
    except RuntimeError:
        ref = None
    try:
        ours = pool_output_size(n, k, s, p, d, ceil)
    except ValueError:
        ours = None
    assert ours == ref


def test_receptive_field_known_values() -> None:
    three_3x3 = receptive_field([{"kernel_size": 3}] * 3)
    assert (three_3x3.size, three_3x3.jump) == (7, 1)  # three 3x3 convs see as much as one 7x7
    dilated = receptive_field([RFLayer(3, dilation=1), RFLayer(3, dilation=2), RFLayer(3, dilation=4)])
    assert dilated.size == 15
    alex = receptive_field(
        [
            {"type": "conv", "k": 11, "stride": 4, "padding": 2},
            {"type": "pool", "k": 3, "stride": 2},
            {"type": "conv", "k": 5, "padding": 2},
        ]
    )
    assert [(r.size, r.jump) for r in alex.per_layer] == [(11, 4), (19, 8), (51, 8)]
    assert receptive_field([]).size == 1
    # Pools default their stride to the kernel size.
    assert receptive_field([{"type": "pool", "k": 2}, {"type": "pool", "k": 2}]).jump == 4
    with pytest.raises(ValueError, match="unknown keys"):
        receptive_field([{"kernel_size": 3, "strid": 2}])
    with pytest.raises(ValueError, match="exactly one"):
        receptive_field([{"stride": 2}])
    with pytest.raises(ValueError, match="no receptive field"):
        receptive_field([{"type": "fc", "out": 10}])


@SETTINGS
@given(
    st.lists(
        st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 3), st.integers(0, 2)),
        min_size=1,
        max_size=4,
    )
)
def test_receptive_field_matches_gradient_support(layers: list[tuple[int, int, int, int]]) -> None:
    """The input pixels an output unit depends on (nonzero gradient, all-positive weights) span
    exactly ``size`` pixels centred at ``start + unit * jump``."""
    rf = receptive_field([RFLayer(k, s, d, p) for k, s, d, p in layers])
    n = rf.size + 4 * rf.jump + 16
    x = torch.ones(1, 1, n, dtype=torch.float64, requires_grad=True)
    y = x
    for k, s, d, p in layers:
        y = F.conv1d(y, torch.ones(1, 1, k, dtype=torch.float64), stride=s, padding=p, dilation=d)
    checked = 0
    for unit in range(y.shape[-1]):
        centre = rf.start + unit * rf.jump
        lo, hi = centre - (rf.size - 1) / 2, centre + (rf.size - 1) / 2
        if lo < 0 or hi > n - 1:
            continue  # the field reaches into padding, where the support is clipped
        (g,) = torch.autograd.grad(y[0, 0, unit], x, retain_graph=True)
        nz = torch.nonzero(g[0, 0]).flatten().tolist()
        assert (nz[0], nz[-1]) == (lo, hi)
        checked += 1
    # n leaves room for several unclipped units, so the check above really ran.
    assert checked >= 2
