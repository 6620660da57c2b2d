"""grader.reference.functional against torch, scipy and hand-worked values."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.reference import functional as fn

SETTINGS = settings(max_examples=60, deadline=None)

finite = st.floats(-60.0, 60.0, allow_nan=False, allow_infinity=False)
logit_arrays = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6), elements=finite
)


@st.composite
def distributions(
    draw: st.DrawFn, *, min_size: int = 1, max_size: int = 8, positive: bool = False, size: int | None = None
):
    """A probability vector, with some exact zeros unless ``positive``."""
    n = size if size is not None else draw(st.integers(min_size, max_size))
    low = 0.01 if positive else 0.0
    w = np.asarray(draw(st.lists(st.floats(low, 1.0), min_size=n, max_size=n)))
    if w.sum() == 0:
        w[draw(st.integers(0, n - 1))] = 1.0
    return w / w.sum()


@st.composite
def distribution_pairs(draw: st.DrawFn, *, q_positive: bool = False):
    n = draw(st.integers(1, 8))
    return draw(distributions(size=n)), draw(distributions(size=n, positive=q_positive))


def t64(x: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


# --------------------------------------------------------------------------- softmax family


@SETTINGS
@given(z=logit_arrays, data=st.data())
def test_softmax_and_log_softmax_match_torch_and_scipy(z: np.ndarray, data: st.DataObject) -> None:
    axis = data.draw(st.integers(-z.ndim, z.ndim - 1))
    s = fn.softmax(z, axis=axis)
    ls = fn.log_softmax(z, axis=axis)
    np.testing.assert_allclose(s, torch.softmax(t64(z), dim=axis).numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(s, scipy.special.softmax(z, axis=axis), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ls, torch.log_softmax(t64(z), dim=axis).numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ls, scipy.special.log_softmax(z, axis=axis), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.sum(s, axis=axis), 1.0, rtol=1e-12)


def test_softmax_is_stable_for_huge_logits() -> None:
    z = np.array([[1e308, -1e308, 0.0], [1000.0, 1000.0, -1000.0], [-1e4, -1e4 - np.log(3.0), -np.inf]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = fn.softmax(z)
        ls = fn.log_softmax(z)
    assert np.all(np.isfinite(s))
    np.testing.assert_allclose(s[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(s[1], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(s[2], [0.75, 0.25, 0.0], rtol=1e-12)
    # log-softmax keeps the log of probabilities that underflow to 0 in softmax.
    np.testing.assert_allclose(ls[1], [-np.log(2), -np.log(2), -2000 - np.log(2)], rtol=1e-12)
    assert ls[0, 1] == -np.inf or ls[0, 1] < -1e307
    np.testing.assert_allclose(ls[2, :2], np.log([0.75, 0.25]), rtol=1e-12)
    assert ls[2, 2] == -np.inf
    # Shift invariance.
    np.testing.assert_allclose(
        fn.softmax(np.array([1.0, 2.0, 3.0]) + 1e6), fn.softmax([1.0, 2.0, 3.0]), rtol=1e-9
    )


def test_softmax_hand_values() -> None:
    e = np.exp([3.0, 1.0, -3.0])
    np.testing.assert_allclose(fn.softmax([3.0, 1.0, -3.0]), e / e.sum(), rtol=1e-15)
    assert fn.softmax([7.0]) == pytest.approx(np.array([1.0]))
    assert np.isscalar(fn.sigmoid(0.0)) and fn.sigmoid(0.0) == 0.5


# --------------------------------------------------------------------------- entropies


@SETTINGS
@given(p=distributions(), base=st.sampled_from([2.0, np.e, 10.0, 3.5]))
def test_entropy_matches_scipy(p: np.ndarray, base: float) -> None:
    assert fn.entropy(p, base) == pytest.approx(scipy.stats.entropy(p, base=base), rel=1e-12, abs=1e-14)
    assert fn.entropy(p, base=base) >= 0


@SETTINGS
@given(pq=distribution_pairs(q_positive=True), base=st.sampled_from([2.0, np.e]))
def test_cross_entropy_and_kl_match_torch_and_scipy(pq: tuple[np.ndarray, np.ndarray], base: float) -> None:
    p, q = pq
    ce = fn.cross_entropy(p, q, base)
    kl = fn.kl_divergence(p, q, base)
    ln_base = np.log(base)
    # H(p, q) as torch's soft-label cross-entropy of logits log q (softmax(log q) = q).
    torch_ce = F.cross_entropy(t64(np.log(q))[None], t64(p)[None]).item() / ln_base
    # F.kl_div(input=log q, target=p) is KL(p || q): note the reversed argument order.
    torch_kl = F.kl_div(t64(np.log(q)), t64(p), reduction="sum").item() / ln_base
    assert ce == pytest.approx(torch_ce, rel=1e-10, abs=1e-12)
    assert kl == pytest.approx(torch_kl, rel=1e-10, abs=1e-12)
    assert kl == pytest.approx(scipy.stats.entropy(p, q, base=base), rel=1e-10, abs=1e-12)
    assert kl == pytest.approx(scipy.special.rel_entr(p, q).sum() / ln_base, rel=1e-10, abs=1e-12)
    # H(p, q) = H(p) + KL(p || q)
    assert ce == pytest.approx(fn.entropy(p, base) + kl, rel=1e-10, abs=1e-12)


@SETTINGS
@given(pq=distribution_pairs(q_positive=False))
def test_kl_with_zeros_matches_scipy_rel_entr(pq: tuple[np.ndarray, np.ndarray]) -> None:
    p, q = pq
    expected = scipy.special.rel_entr(p, q).sum()  # 0 log 0 = 0, p log(p/0) = inf
    got = fn.kl_divergence(p, q)
    if np.isinf(expected):
        assert got == np.inf
        assert fn.cross_entropy(p, q) == np.inf
    else:
        assert got == pytest.approx(expected, rel=1e-10, abs=1e-12)
        assert np.isfinite(fn.cross_entropy(p, q))


def test_entropy_hand_values_in_bits_and_nats() -> None:
    assert fn.entropy([0.5, 0.5], 2) == pytest.approx(1.0)
    assert fn.entropy(np.full(8, 0.125), base=2) == pytest.approx(3.0)  # the notes' 8 weather states
    assert fn.entropy([0.5, 0.5]) == pytest.approx(np.log(2))
    assert fn.entropy([1.0, 0.0, 0.0]) == 0.0
    # H(p, q) in bits for p = (1/2, 1/4, 1/4), q = (1/4, 1/4, 1/2): 1/2*2 + 1/4*2 + 1/4*1 = 1.75
    assert fn.cross_entropy([0.5, 0.25, 0.25], [0.25, 0.25, 0.5], 2) == pytest.approx(1.75)
    # KL = 1.75 - H(p) = 1.75 - 1.5
    assert fn.kl_divergence([0.5, 0.25, 0.25], [0.25, 0.25, 0.5], 2) == pytest.approx(0.25)
    # KL is not symmetric: KL(q || p) = 1/4*(-1) + 0 + 1/2*(1) = 0.25 here by coincidence; use another pair.
    p, q = [0.9, 0.1], [0.5, 0.5]
    assert fn.kl_divergence(p, q) != pytest.approx(fn.kl_divergence(q, p))


def test_zero_log_zero_conventions() -> None:
    assert fn.cross_entropy([1.0, 0.0], [1.0, 0.0]) == 0.0  # 0 * log 0 = 0
    assert fn.kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(np.log(2))
    assert fn.kl_divergence([0.5, 0.5], [1.0, 0.0]) == np.inf
    assert fn.cross_entropy([0.5, 0.5], [1.0, 0.0]) == np.inf
    assert fn.kl_divergence([0.3, 0.7], [0.3, 0.7]) == 0.0


def test_batched_entropies_along_axis() -> None:
    p = np.array([[0.5, 0.5], [1.0, 0.0], [0.25, 0.75]])
    np.testing.assert_allclose(fn.entropy(p, 2), scipy.stats.entropy(p, base=2, axis=1), rtol=1e-12)
    np.testing.assert_allclose(fn.entropy(p.T, 2, axis=0), scipy.stats.entropy(p, base=2, axis=1), rtol=1e-12)
    q = np.array([[0.9, 0.1], [0.6, 0.4], [0.5, 0.5]])
    np.testing.assert_allclose(fn.kl_divergence(p, q), scipy.stats.entropy(p, q, axis=1), rtol=1e-12)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: fn.entropy([0.5, 0.6]), "sum to 1"),
        (lambda: fn.entropy([1.5, -0.5]), "negative"),
        (lambda: fn.entropy([np.nan, 1.0]), "NaN"),
        (lambda: fn.entropy(1.0), "at least one dimension"),
        (lambda: fn.entropy([0.5, 0.5], base=1), "base"),
        (lambda: fn.entropy([0.5, 0.5], base=-2), "base"),
        (lambda: fn.cross_entropy([0.5, 0.5], [0.2, 0.3, 0.5]), "same shape"),
        (lambda: fn.kl_divergence([0.5, 0.5], [0.2, 0.7]), "q must sum to 1"),
        (lambda: fn.binary_cross_entropy([1.0], [1.2]), r"\[0, 1\]"),
        (lambda: fn.binary_cross_entropy([1.0, 0.0], [0.5]), "same shape"),
        (lambda: fn.softmax_cross_entropy([[1.0, 2.0]], [2]), "class indices"),
        (lambda: fn.softmax_cross_entropy([[1.0, 2.0]], [1.0]), "integers"),
        (lambda: fn.softmax_cross_entropy([[1.0, 2.0]], [[0.3, 0.3]]), "sum to 1"),
        (lambda: fn.softmax_cross_entropy([[1.0, 2.0]], [0], reduction="avg"), "reduction"),
    ],
)
def test_invalid_inputs_raise_value_error(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_tolerance_on_the_sum() -> None:
    fn.entropy([0.3333333, 0.3333333, 0.3333334])  # rounded to 7 digits: accepted
    with pytest.raises(ValueError):
        fn.entropy([0.333, 0.333, 0.333])


# --------------------------------------------------------------------------- losses


@SETTINGS
@given(
    y=hnp.arrays(np.float64, st.integers(1, 10), elements=st.floats(0.0, 1.0)),
    data=st.data(),
    reduction=st.sampled_from(["none", "mean", "sum"]),
)
def test_binary_cross_entropy_matches_torch(y: np.ndarray, data: st.DataObject, reduction: str) -> None:
    # Keep p away from 0 and 1, where torch clamps log at -100.
    p = data.draw(hnp.arrays(np.float64, y.shape, elements=st.floats(1e-6, 1 - 1e-6)))
    expected = F.binary_cross_entropy(t64(p), t64(y), reduction=reduction).numpy()
    np.testing.assert_allclose(
        fn.binary_cross_entropy(y, p, reduction=reduction), expected, rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(
        fn.binary_cross_entropy(y, p, 2, reduction=reduction), expected / np.log(2), rtol=1e-10, atol=1e-12
    )


def test_binary_cross_entropy_edge_values() -> None:
    np.testing.assert_array_equal(
        fn.binary_cross_entropy([1.0, 0.0], [1.0, 0.0], reduction="none"), [0.0, 0.0]
    )
    assert fn.binary_cross_entropy([1.0], [0.0]) == np.inf  # torch would clamp to 100
    assert fn.binary_cross_entropy(1.0, 0.5, 2) == pytest.approx(1.0)
    # Agrees with the two-class cross-entropy H((y, 1-y), (p, 1-p)).
    assert fn.binary_cross_entropy(0.3, 0.8) == pytest.approx(fn.cross_entropy([0.3, 0.7], [0.8, 0.2]))


@SETTINGS
@given(
    shape=st.tuples(st.integers(1, 5), st.integers(1, 7)),
    scale=st.sampled_from([1.0, 30.0, 1e4]),
    reduction=st.sampled_from(["none", "mean", "sum"]),
    data=st.data(),
)
def test_softmax_cross_entropy_matches_torch(
    shape: tuple[int, int], scale: float, reduction: str, data: st.DataObject
) -> None:
    n, c = shape
    logits = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-1.0, 1.0))) * scale
    idx = np.asarray(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)), dtype=np.int64)
    expected = F.cross_entropy(t64(logits), torch.as_tensor(idx), reduction=reduction).numpy()
    got = fn.softmax_cross_entropy(logits, idx, reduction=reduction)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    probs = np.stack([data.draw(distributions(size=c)) for _ in range(n)])
    expected_soft = F.cross_entropy(t64(logits), t64(probs), reduction=reduction).numpy()
    np.testing.assert_allclose(
        fn.softmax_cross_entropy(logits, probs, reduction=reduction), expected_soft, rtol=1e-10, atol=1e-10
    )
    # One-hot probabilities give the same loss as indices.
    np.testing.assert_allclose(
        fn.softmax_cross_entropy(logits, np.eye(c)[idx], reduction=reduction), got, rtol=1e-12, atol=1e-12
    )


def test_softmax_cross_entropy_single_sample_and_extremes() -> None:
    logits = np.array([2.0, 1.0, 0.1])
    expected = -np.log(np.exp(2.0) / np.exp(logits).sum())
    assert fn.softmax_cross_entropy(logits, 0) == pytest.approx(expected)
    assert fn.softmax_cross_entropy(logits, 0, 2) == pytest.approx(expected / np.log(2))
    # A huge wrong margin: exact loss is 2000, not inf/NaN.
    assert fn.softmax_cross_entropy([[1000.0, -1000.0]], [1]) == pytest.approx(2000.0)
    # A masked (-inf) class with zero target weight contributes nothing.
    assert fn.softmax_cross_entropy([[0.0, 0.0, -np.inf]], [[0.5, 0.5, 0.0]]) == pytest.approx(np.log(2))


# --------------------------------------------------------------------------- activations

activation_inputs = hnp.arrays(
    np.float64,
    st.integers(1, 12),
    elements=st.one_of(st.just(0.0), st.just(-0.0), st.floats(-30.0, 30.0), st.integers(-3, 3).map(float)),
)


def _torch_value_and_grad(f, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = t64(z).clone().requires_grad_(True)
    y = f(x)
    y.sum().backward()
    return y.detach().numpy(), x.grad.numpy()


@SETTINGS
@given(z=activation_inputs, slope=st.sampled_from([0.01, 0.2, 0.5]))
def test_activations_and_derivatives_match_torch_autograd(z: np.ndarray, slope: float) -> None:
    cases = [
        (fn.sigmoid, fn.sigmoid_grad, torch.sigmoid),
        (fn.tanh, fn.tanh_grad, torch.tanh),
        (fn.relu, fn.relu_grad, torch.relu),
        (
            lambda v: fn.leaky_relu(v, slope),
            lambda v: fn.leaky_relu_grad(v, slope),
            lambda v: F.leaky_relu(v, slope),
        ),
    ]
    for f, df, tf in cases:
        value, grad = _torch_value_and_grad(tf, z)
        np.testing.assert_allclose(f(z), value, rtol=1e-13, atol=1e-300)
        # atol covers torch's s*(1-s) rounding to 0 in the far tails, where ours stays accurate.
        np.testing.assert_allclose(df(z), grad, rtol=1e-9, atol=1e-15)


def test_sigmoid_has_no_overflow_and_accurate_tails() -> None:
    z = np.array([-1e4, -745.0, -40.0, 0.0, 40.0, 745.0, 1e4])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        s = fn.sigmoid(z)
        ds = fn.sigmoid_grad(z)
        dt = fn.tanh_grad(z)
    # atol: expit flushes e^-745 to 0, ours keeps the subnormal.
    np.testing.assert_allclose(s, scipy.special.expit(z), rtol=1e-15, atol=1e-300)
    assert fn.sigmoid_grad(40.0) == pytest.approx(np.exp(-40.0), rel=1e-12)  # torch's s(1-s) gives 0 here
    assert fn.tanh_grad(20.0) == pytest.approx(4 * np.exp(-40.0), rel=1e-12)
    assert np.all(np.isfinite(ds)) and np.all(np.isfinite(dt))
    assert fn.sigmoid_grad(0.0) == 0.25 and fn.tanh_grad(0.0) == 1.0


def test_kink_conventions_at_zero() -> None:
    assert fn.relu_grad(0.0) == 0.0  # torch
    assert fn.relu_grad(0.0, at_zero=1.0) == 1.0  # the course slides: 1 for x >= 0
    np.testing.assert_array_equal(fn.relu_grad([-1.0, 0.0, 2.0]), [0.0, 0.0, 1.0])
    assert fn.leaky_relu_grad(0.0) == 0.01  # torch: the left slope
    assert fn.leaky_relu_grad(0.0, 0.2, at_zero=1.0) == 1.0
    np.testing.assert_array_equal(fn.leaky_relu([-2.0, 0.0, 3.0], 0.1), [-0.2, 0.0, 3.0])
    assert np.isnan(fn.relu(np.nan))
