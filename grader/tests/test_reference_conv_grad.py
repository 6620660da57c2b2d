"""grader.reference.conv_grad against torch autograd, central differences and hand examples."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.reference.conv import conv2d, max_pool2d
from grader.reference.conv_grad import conv2d_backward, max_pool2d_backward, softmax_cross_entropy_grad
from grader.reference.functional import softmax_cross_entropy

SETTINGS = settings(max_examples=50, deadline=None)


def leaf(a: np.ndarray) -> torch.Tensor:
    """A float64 torch leaf that records its gradient."""
    return torch.tensor(np.array(a, dtype=np.float64), requires_grad=True)


def int_or_pair(lo: int, hi: int) -> st.SearchStrategy[Any]:
    return st.one_of(st.integers(lo, hi), st.tuples(st.integers(lo, hi), st.integers(lo, hi)))


def as_pair(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


# --------------------------------------------------------------------------- conv2d_backward


@st.composite
def conv_problem(draw: st.DrawFn) -> dict[str, Any]:
    """A random conv layer (groups 1, 2 or depthwise; everything possibly non-square) and dout."""
    groups = draw(st.sampled_from([1, 2, "depthwise"]))
    c_in_g = draw(st.integers(1, 3))
    if groups == "depthwise":
        groups, c_in_g = draw(st.integers(1, 4)), 1
    c_in, c_out = c_in_g * groups, draw(st.integers(1, 3)) * groups
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride, padding, dilation = draw(int_or_pair(1, 3)), draw(int_or_pair(0, 2)), draw(int_or_pair(1, 3))
    (dh, dw), (ph, pw) = as_pair(dilation), as_pair(padding)
    h = max(1, dh * (kh - 1) + 1 - 2 * ph) + draw(st.integers(0, 6))
    w = max(1, dw * (kw - 1) + 1 - 2 * pw) + draw(st.integers(0, 6))
    batch = draw(st.sampled_from([None, 1, 3]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.normal(size=(c_in, h, w) if batch is None else (batch, c_in, h, w))
    weight = rng.normal(size=(c_out, c_in_g, kh, kw))
    hyper = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    dout = rng.normal(size=conv2d(x, weight, **hyper).shape)
    return {"x": x, "w": weight, "b": rng.normal(size=c_out), "dout": dout, "hyper": hyper}


@SETTINGS
@given(conv_problem())
def test_conv2d_backward_matches_torch_autograd(problem: dict[str, Any]) -> None:
    x, w, b = leaf(problem["x"]), leaf(problem["w"]), leaf(problem["b"])
    y = F.conv2d(x, w, b, **problem["hyper"])
    y.backward(torch.from_numpy(problem["dout"]))
    grads = conv2d_backward(problem["dout"], problem["x"], problem["w"], **problem["hyper"])
    for ours, theirs, name in zip(grads, (x.grad, w.grad, b.grad), ("dx", "dw", "db"), strict=True):
        assert ours.dtype == np.float64, name
        assert ours.shape == tuple(theirs.shape), name
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-10, err_msg=name)
    # The NamedTuple unpacks like the plain (dx, dw, db) the lab asks for.
    dx, dw, db = grads
    assert dx is grads.dx and dw is grads.dw and db is grads.db


def numerical_gradient(loss: Any, value: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar ``loss(value)``, one entry at a time."""
    grad = np.zeros_like(value)
    for index in np.ndindex(value.shape):
        bumped_up, bumped_down = value.copy(), value.copy()
        bumped_up[index] += eps
        bumped_down[index] -= eps
        grad[index] = (loss(bumped_up) - loss(bumped_down)) / (2 * eps)
    return grad


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "hyper"),
    [
        ((1, 1, 4, 4), (1, 1, 2, 2), {}),
        ((2, 2, 5, 6), (3, 2, 3, 3), {"stride": 2, "padding": 1}),
        ((1, 2, 7, 6), (2, 2, 2, 3), {"stride": (1, 2), "padding": (2, 0), "dilation": (2, 1)}),
        ((2, 4, 5, 5), (4, 2, 3, 2), {"groups": 2, "stride": 3, "padding": 1}),
        ((1, 3, 6, 7), (3, 1, 3, 3), {"groups": 3, "dilation": 2, "padding": 2}),
        ((3, 5, 5), (2, 3, 2, 2), {"stride": 2}),  # unbatched; stride 2 leaves the last row unread
    ],
)
def test_conv2d_backward_matches_central_differences(
    x_shape: tuple[int, ...], w_shape: tuple[int, ...], hyper: dict[str, Any]
) -> None:
    rng = np.random.default_rng(7)
    x, w, b = rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0])
    dout = rng.normal(size=conv2d(x, w, b, **hyper).shape)

    # L = <dout, conv(x, w, b)> has gradient (dx, dw, db) for this dout.
    def loss(xv: np.ndarray, wv: np.ndarray, bv: np.ndarray) -> float:
        return float(np.sum(dout * conv2d(xv, wv, bv, **hyper)))

    dx, dw, db = conv2d_backward(dout, x, w, **hyper)
    # The loss is linear in each argument, so central differences are exact up to rounding.
    np.testing.assert_allclose(dx, numerical_gradient(lambda v: loss(v, w, b), x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dw, numerical_gradient(lambda v: loss(x, v, b), w), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(db, numerical_gradient(lambda v: loss(x, w, v), b), rtol=1e-6, atol=1e-7)


def test_conv2d_backward_hand_example() -> None:
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.array([[[[1.0, 2.0], [0.0, -1.0]]]])
    dx, dw, db = conv2d_backward(np.ones((1, 1, 3, 3)), x, w)
    assert db.tolist() == [9.0]  # nine output positions
    # dw[a, k] = sum of the 3 × 3 block of x starting at (a, k).
    np.testing.assert_array_equal(dw[0, 0], [[45.0, 54.0], [81.0, 90.0]])
    # dx[i, j] = sum of the taps that read pixel (i, j): corners see one tap each.
    assert (dx[0, 0, 0, 0], dx[0, 0, 0, 3], dx[0, 0, 3, 0], dx[0, 0, 3, 3]) == (1.0, 2.0, 0.0, -1.0)
    assert dx[0, 0, 1, 1] == 2.0  # all four taps: 1 + 2 + 0 - 1


def test_conv2d_backward_unread_rows_get_zero_gradient() -> None:
    x = np.ones((1, 1, 6, 6))
    dx, _, _ = conv2d_backward(np.ones((1, 1, 2, 2)), x, np.ones((1, 1, 2, 2)), stride=3)
    # Windows start at rows/cols 0 and 3 and span 2: row/column 2 and 5 are never read.
    assert np.all(dx[0, 0, [2, 5], :] == 0) and np.all(dx[0, 0, :, [2, 5]] == 0)
    assert np.all(dx[0, 0, :2, :2] == 1)


@pytest.mark.parametrize(
    ("dout_shape", "kwargs", "match"),
    [
        ((1, 1, 2, 2), {}, "dout must have the conv output's shape"),
        ((1, 2, 3, 3), {}, "dout must have the conv output's shape"),
        ((1, 1, 3, 3), {"groups": 2}, "groups=2"),
        ((1, 1, 3, 3), {"stride": 0}, "stride must be >= 1"),
    ],
)
def test_conv2d_backward_validation(dout_shape: tuple[int, ...], kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        conv2d_backward(np.zeros(dout_shape), np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2)), **kwargs)


# --------------------------------------------------------------------------- max_pool2d_backward


@st.composite
def pool_problem(draw: st.DrawFn) -> dict[str, Any]:
    """Distinct input values (no ties, so torch and we pick the same maximum), any overlap."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.one_of(st.none(), int_or_pair(1, 4)))
    padding = (draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2)))
    h, w = kh + draw(st.integers(0, 6)), kw + draw(st.integers(0, 6))
    rank = draw(st.sampled_from([2, 3, 4]))
    lead = {2: (), 3: (draw(st.integers(1, 3)),), 4: (draw(st.integers(1, 3)), draw(st.integers(1, 3)))}[rank]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    size = int(np.prod(lead)) * h * w
    # A permutation of a grid of values: distinct and not too close together.
    x = (rng.permutation(size) - size / 2).reshape(*lead, h, w) / 7.0
    return {"x": x, "kernel_size": (kh, kw), "stride": stride, "padding": padding, "rng": rng}


@SETTINGS
@given(pool_problem())
def test_max_pool2d_backward_matches_torch_autograd(problem: dict[str, Any]) -> None:
    x = problem["x"]
    hyper = {k: problem[k] for k in ("kernel_size", "stride", "padding")}
    y, indices = max_pool2d(x, **hyper)
    dout = problem["rng"].normal(size=y.shape)
    # torch's pooling wants a batch or channel axis; give a lone plane one and drop it again.
    tx = leaf(x if x.ndim > 2 else x[None])
    ty = F.max_pool2d(tx, **hyper)
    ty.backward(torch.from_numpy(dout if x.ndim > 2 else dout[None]))
    expected = tx.grad.numpy().reshape(x.shape)
    ours = max_pool2d_backward(dout, indices, x.shape)
    assert ours.shape == x.shape and ours.dtype == np.float64
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12)


def test_max_pool2d_backward_overlapping_windows_add_up() -> None:
    # Every 3 × 3 window (stride 1) of this plane contains the 20 at (2, 1), index 9.
    x = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [2.0, 20.0, 4.0, 3.0], [0.0, 1.0, 5.0, 2.0]])
    _, indices = max_pool2d(x, 3, 1)
    assert indices.tolist() == [[9, 9], [9, 9]]
    dx = max_pool2d_backward(np.array([[1.0, 2.0], [3.0, 4.0]]), indices, x.shape)
    expected = np.zeros((4, 4))
    expected[2, 1] = 10.0
    np.testing.assert_array_equal(dx, expected)


def test_max_pool2d_backward_tie_rule() -> None:
    """Our rule on ties: the whole gradient goes to the *first* maximum in row-major window order.

    It is not split between the tied pixels. This is the pixel the forward pass reports, and
    what torch's CPU kernel does too (it keeps the first maximum it meets).
    """
    x = np.array([[[[3.0, 3.0, 1.0], [3.0, 0.0, 3.0], [2.0, 3.0, 3.0]]]])
    y, indices = max_pool2d(x, 2, 1)
    assert y.tolist() == [[[[3.0, 3.0], [3.0, 3.0]]]]
    # Windows at (0, 0), (0, 1), (1, 0), (1, 1): first 3 in each, row-major.
    assert indices.tolist() == [[[[0, 1], [3, 5]]]]
    dx = max_pool2d_backward(np.array([[[[1.0, 10.0], [100.0, 1000.0]]]]), indices, x.shape)
    expected = np.zeros((1, 1, 3, 3))
    expected[0, 0, 0, 0], expected[0, 0, 0, 1], expected[0, 0, 1, 0], expected[0, 0, 1, 2] = 1, 10, 100, 1000
    np.testing.assert_array_equal(dx, expected)


@pytest.mark.parametrize(
    ("indices", "input_shape", "match"),
    [
        (np.array([[[[0, 16]]]]), (1, 1, 4, 4), r"indices must lie in \[0, 16\)"),
        (np.array([[[[0, -1]]]]), (1, 1, 4, 4), "indices must lie"),
        (np.array([[[[0.0, 1.0]]]]), (1, 1, 4, 4), "indices must be integers"),
        (np.array([[[0, 1]]]), (1, 1, 4, 4), "indices shape"),
        (np.array([[[[0, 1]]]]), (1, 4, 4), "rank"),
        (np.array([[[[0, 1]]]]), (1, 2, 4, 4), "batch/channel"),
    ],
)
def test_max_pool2d_backward_validation(
    indices: np.ndarray, input_shape: tuple[int, ...], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        max_pool2d_backward(np.ones((1, 1, 1, 2)), indices, input_shape)


# --------------------------------------------------------------------------- softmax cross-entropy


@st.composite
def classification_batch(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n, k = draw(st.integers(1, 6)), draw(st.integers(1, 8))
    scale = draw(st.sampled_from([1.0, 30.0, 1e4, 1e300]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return scale * rng.normal(size=(n, k)), rng.integers(0, k, size=n)


@SETTINGS
@given(classification_batch(), st.sampled_from(["mean", "sum"]))
def test_softmax_cross_entropy_grad_matches_torch_autograd(
    batch: tuple[np.ndarray, np.ndarray], reduction: str
) -> None:
    logits, labels = batch
    z = leaf(logits)
    loss = F.cross_entropy(z, torch.from_numpy(labels), reduction=reduction)
    loss.backward()
    grad = softmax_cross_entropy_grad(logits, labels, reduction=reduction)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, z.grad.numpy(), rtol=1e-9, atol=1e-15)
    # The loss the lab pairs with this gradient is finite and torch's too, even at 1e300.
    if reduction == "mean":
        ours = softmax_cross_entropy(logits, labels)
        assert np.isfinite(ours)
        np.testing.assert_allclose(ours, loss.item(), rtol=1e-9)
    # Each row of (softmax - onehot) sums to 0.
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-12)


def test_softmax_cross_entropy_grad_hand_example() -> None:
    grad = softmax_cross_entropy_grad(np.array([[0.0, 0.0], [1e300, -1e300]]), np.array([1, 1]))
    np.testing.assert_allclose(grad, [[0.25, -0.25], [0.5, -0.5]])


@pytest.mark.parametrize(
    ("logits", "labels", "match"),
    [
        (np.zeros(3), np.array([0]), r"shape \(N, K\)"),
        (np.zeros((2, 3)), np.array([0, 3]), r"labels must be in \[0, 2\]"),
        (np.zeros((2, 3)), np.array([0.0, 1.0]), "labels must be integers"),
        (np.zeros((2, 3)), np.array([0]), "labels must be integers of shape"),
        (np.array([[0.0, np.nan]]), np.array([0]), "NaN"),
    ],
)
def test_softmax_cross_entropy_grad_validation(logits: np.ndarray, labels: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        softmax_cross_entropy_grad(logits, labels)
