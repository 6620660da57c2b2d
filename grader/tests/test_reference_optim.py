"""grader.reference.optim against torch.optim, step for step, plus hand-worked updates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.reference import optim

SETTINGS = settings(max_examples=50, deadline=None)
STEPS = 6


def grad_fn(rng: np.random.Generator, shape: tuple[int, ...]) -> Callable[[np.ndarray, int], np.ndarray]:
    """A gradient that depends on the current parameters (a noisy quadratic), so errors compound."""
    curvature = rng.uniform(0.1, 2.0, size=shape)
    noise = rng.normal(size=(STEPS, *shape))
    return lambda p, t: curvature * p + noise[t]


def run_torch(
    opt_cls: type[torch.optim.Optimizer], p0: np.ndarray, grad, **hyper
) -> tuple[list[np.ndarray], list[dict]]:
    param = torch.nn.Parameter(torch.tensor(p0, dtype=torch.float64))
    opt = opt_cls([param], **hyper)
    params, states = [], []
    for t in range(STEPS):
        param.grad = torch.tensor(grad(param.detach().numpy(), t), dtype=torch.float64)
        opt.step()
        params.append(param.detach().numpy().copy())
        states.append(
            {k: (v.item() if k == "step" else v.numpy().copy()) for k, v in opt.state[param].items()}
        )
    return params, states


def run_ours(step_fn, p0: np.ndarray, grad, **hyper) -> tuple[list[np.ndarray], list[dict]]:
    p, state = p0.copy(), None
    params, states = [], []
    for t in range(STEPS):
        p, state = step_fn(p, grad(p, t), state, **hyper)
        params.append(p)
        states.append(state)
    return params, states


def assert_same_trajectory(ours: tuple[list, list], theirs: tuple[list, list]) -> None:
    for t, (p_ours, p_torch) in enumerate(zip(ours[0], theirs[0], strict=True)):
        np.testing.assert_allclose(
            p_ours, p_torch, rtol=1e-11, atol=1e-13, err_msg=f"params after step {t + 1}"
        )
    for t, (s_ours, s_torch) in enumerate(zip(ours[1], theirs[1], strict=True)):
        assert set(s_ours) == set(s_torch), f"state keys after step {t + 1}"
        for key, value in s_torch.items():
            np.testing.assert_allclose(
                s_ours[key], value, rtol=1e-11, atol=1e-13, err_msg=f"state[{key}] step {t + 1}"
            )


problem = st.tuples(st.integers(0, 2**32 - 1), st.sampled_from([(3,), (2, 3), (1,)]))


def setup(seed_shape: tuple[int, tuple[int, ...]]) -> tuple[np.ndarray, Callable]:
    seed, shape = seed_shape
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape), grad_fn(rng, shape)


# --------------------------------------------------------------------------- against torch.optim


@SETTINGS
@given(prob=problem, lr=st.sampled_from([1e-3, 0.05, 0.3]), wd=st.sampled_from([0.0, 0.01]))
def test_sgd_matches_torch(prob, lr: float, wd: float) -> None:
    p0, grad = setup(prob)
    ours = run_ours(optim.sgd_step, p0, grad, lr=lr, weight_decay=wd)
    theirs = run_torch(torch.optim.SGD, p0, grad, lr=lr, weight_decay=wd)
    assert_same_trajectory(ours, theirs)


@SETTINGS
@given(
    prob=problem,
    lr=st.sampled_from([0.01, 0.1]),
    momentum=st.sampled_from([0.5, 0.9, 0.99]),
    variant=st.sampled_from([(0.0, False), (0.3, False), (0.0, True)]),
    wd=st.sampled_from([0.0, 0.05]),
)
def test_momentum_matches_torch(
    prob, lr: float, momentum: float, variant: tuple[float, bool], wd: float
) -> None:
    dampening, nesterov = variant
    p0, grad = setup(prob)
    hyper = {"lr": lr, "momentum": momentum, "dampening": dampening, "nesterov": nesterov, "weight_decay": wd}
    assert_same_trajectory(
        run_ours(optim.momentum_step, p0, grad, **hyper), run_torch(torch.optim.SGD, p0, grad, **hyper)
    )


@SETTINGS
@given(
    prob=problem,
    lr=st.sampled_from([1e-3, 0.01, 0.1]),
    alpha=st.sampled_from([0.9, 0.99, 0.5]),
    eps=st.sampled_from([1e-8, 1e-3]),
    momentum=st.sampled_from([0.0, 0.9]),
    centered=st.booleans(),
    wd=st.sampled_from([0.0, 0.01]),
)
def test_rmsprop_matches_torch(prob, lr, alpha, eps, momentum, centered, wd) -> None:
    p0, grad = setup(prob)
    hyper = {
        "lr": lr,
        "alpha": alpha,
        "eps": eps,
        "momentum": momentum,
        "centered": centered,
        "weight_decay": wd,
    }
    assert_same_trajectory(
        run_ours(optim.rmsprop_step, p0, grad, **hyper), run_torch(torch.optim.RMSprop, p0, grad, **hyper)
    )


@SETTINGS
@given(
    prob=problem,
    lr=st.sampled_from([1e-3, 0.01, 0.1]),
    betas=st.sampled_from([(0.9, 0.999), (0.8, 0.9), (0.0, 0.5)]),
    eps=st.sampled_from([1e-8, 1e-2]),
    wd=st.sampled_from([0.0, 0.01]),
    amsgrad=st.booleans(),
)
def test_adam_matches_torch(prob, lr, betas, eps, wd, amsgrad) -> None:
    p0, grad = setup(prob)
    hyper = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": wd, "amsgrad": amsgrad}
    assert_same_trajectory(
        run_ours(optim.adam_step, p0, grad, **hyper), run_torch(torch.optim.Adam, p0, grad, **hyper)
    )


def test_defaults_match_torch_defaults() -> None:
    rng = np.random.default_rng(0)
    p0, grad = rng.normal(size=4), grad_fn(rng, (4,))
    assert_same_trajectory(run_ours(optim.adam_step, p0, grad), run_torch(torch.optim.Adam, p0, grad))
    assert_same_trajectory(run_ours(optim.rmsprop_step, p0, grad), run_torch(torch.optim.RMSprop, p0, grad))
    assert_same_trajectory(run_ours(optim.sgd_step, p0, grad), run_torch(torch.optim.SGD, p0, grad))


def test_dict_params_match_torch_with_two_tensors() -> None:
    rng = np.random.default_rng(1)
    params = {"weight": rng.normal(size=(2, 3)), "bias": rng.normal(size=3)}
    grads_seq = [{k: rng.normal(size=v.shape) for k, v in params.items()} for _ in range(STEPS)]
    tw = torch.nn.Parameter(torch.tensor(params["weight"]))
    tb = torch.nn.Parameter(torch.tensor(params["bias"]))
    opt = torch.optim.Adam([tw, tb], lr=0.05)
    ours, state = dict(params), None
    for grads in grads_seq:
        tw.grad, tb.grad = torch.tensor(grads["weight"]), torch.tensor(grads["bias"])
        opt.step()
        ours, state = optim.adam_step(ours, grads, state, lr=0.05)
    np.testing.assert_allclose(ours["weight"], tw.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours["bias"], tb.detach().numpy(), rtol=1e-12)
    assert state["bias"]["step"] == STEPS
    np.testing.assert_allclose(state["weight"]["exp_avg_sq"], opt.state[tw]["exp_avg_sq"].numpy(), rtol=1e-12)


# --------------------------------------------------------------------------- hand-worked updates


def test_adam_eps_goes_after_the_bias_corrected_sqrt() -> None:
    # Step 1: m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps). With g = eps = 1e-8
    # that is lr / 2 -- eps inside the sqrt, or added before bias correction, gives another number.
    p, state = optim.adam_step(np.array([0.0]), np.array([1e-8]), None, lr=0.1, eps=1e-8)
    assert p[0] == pytest.approx(-0.05, rel=1e-12)
    assert state["step"] == 1
    # Step 2 with g = 0: m = 0.09e-8 -> m_hat = 0.09e-8 / 0.19; v = 0.999e-19 ... by formula:
    m = 0.9 * 0.1e-8
    v = 0.999 * 0.001e-16
    expected = -0.05 - 0.1 * (m / (1 - 0.81)) / (np.sqrt(v / (1 - 0.999**2)) + 1e-8)
    p2, _ = optim.adam_step(p, np.array([0.0]), state, lr=0.1, eps=1e-8)
    assert p2[0] == pytest.approx(expected, rel=1e-12)


def test_momentum_torch_form_equals_textbook_form_for_constant_lr() -> None:
    rng = np.random.default_rng(3)
    lr, beta = 0.1, 0.9
    p_torch, state = np.array([1.0, -2.0]), None
    p_text, v = p_torch.copy(), np.zeros(2)
    for _ in range(8):
        g = rng.normal(size=2)
        p_torch, state = optim.momentum_step(p_torch, g, state, lr=lr, momentum=beta)
        v = beta * v - lr * g  # textbook: v <- beta v - eta g; theta <- theta + v
        p_text = p_text + v
        np.testing.assert_allclose(p_torch, p_text, rtol=1e-12)
        np.testing.assert_allclose(v, -lr * state["momentum_buffer"], rtol=1e-12)


def test_rmsprop_torch_first_step_is_large() -> None:
    p, _ = optim.rmsprop_step(np.array([0.0]), np.array([0.5]), None, lr=0.01, alpha=0.99, eps=0.0)
    assert p[0] == pytest.approx(-0.01 / np.sqrt(0.01))  # v = 0.01 * g^2 -> step lr / sqrt(1 - alpha)


def test_rmsprop_slides_hand_example() -> None:
    # sigma^0 = |g^0| = 2 -> w^1 = w^0 - lr * (-2) / 2 = w^0 + lr  (downhill for a negative gradient)
    w1, s1 = optim.rmsprop_step_slides(np.array([1.0]), np.array([-2.0]), None, lr=0.1, alpha=0.5)
    assert w1[0] == pytest.approx(1.1) and s1["sigma"][0] == 2.0 and s1["step"] == 1
    # sigma^1 = sqrt(0.5 * 4 + 0.5 * 1) = sqrt(2.5); w^2 = w^1 - 0.1 / sqrt(2.5) * 1
    w2, s2 = optim.rmsprop_step_slides(w1, np.array([1.0]), s1, lr=0.1, alpha=0.5)
    assert s2["sigma"][0] == pytest.approx(np.sqrt(2.5))
    assert w2[0] == pytest.approx(1.1 - 0.1 / np.sqrt(2.5))
    # Zero gradients from the start: sigma = 0, no movement, no NaN.
    w, s = optim.rmsprop_step_slides(np.array([3.0, 4.0]), np.array([0.0, 1.0]), None, lr=0.1)
    np.testing.assert_array_equal(w, [3.0, 3.9])
    w, s = optim.rmsprop_step_slides(w, np.array([0.0, 1.0]), s, lr=0.1)
    assert np.all(np.isfinite(w)) and w[0] == 3.0


@SETTINGS
@given(prob=problem, lr=st.sampled_from([0.01, 0.1]), alpha=st.sampled_from([0.5, 0.9, 0.99]))
def test_rmsprop_slides_is_torch_rmsprop_seeded_with_first_gradient(prob, lr: float, alpha: float) -> None:
    # The slides' recursion = torch RMSprop with eps = 0 whose running average starts at (g^0)^2
    # instead of 0 (then alpha*(g0^2) + (1-alpha)*(g0^2) = (g0^2): sigma^0 = |g^0|).
    p0, grad = setup(prob)
    param = torch.nn.Parameter(torch.tensor(p0))
    opt = torch.optim.RMSprop([param], lr=lr, alpha=alpha, eps=0.0)
    g0 = grad(p0, 0)
    opt.state[param] = {"step": torch.tensor(0.0), "square_avg": torch.tensor(g0 * g0)}
    p, state = p0.copy(), None
    for t in range(STEPS):
        g = grad(p, t)
        param.grad = torch.tensor(grad(param.detach().numpy(), t))
        opt.step()
        p, state = optim.rmsprop_step_slides(p, g, state, lr=lr, alpha=alpha)
        np.testing.assert_allclose(p, param.detach().numpy(), rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(state["sigma"] ** 2, opt.state[param]["square_avg"].numpy(), rtol=1e-11)


# --------------------------------------------------------------------------- API contract


@pytest.mark.parametrize(
    "step_fn",
    [optim.sgd_step, optim.momentum_step, optim.rmsprop_step, optim.adam_step, optim.rmsprop_step_slides],
)
def test_steps_are_pure_and_accept_lists(step_fn) -> None:
    p = np.array([1.0, 2.0])
    g = np.array([0.5, -0.5])
    p_new, s1 = step_fn(p, g, None)
    snapshot = {k: np.copy(v) for k, v in s1.items()}
    p_again, s2 = step_fn(p_new, g, s1)
    np.testing.assert_array_equal(p, [1.0, 2.0])
    np.testing.assert_array_equal(g, [0.5, -0.5])
    for k, v in snapshot.items():
        np.testing.assert_array_equal(s1[k], v)  # the old state is not modified
    lst, _ = step_fn([1.0, 2.0], [0.5, -0.5], None)
    np.testing.assert_array_equal(lst, p_new)
    assert not np.shares_memory(p_new, p)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: optim.sgd_step(np.zeros(2), np.zeros(3), lr=0.1), "shape"),
        (lambda: optim.sgd_step({"w": np.zeros(2)}, {"b": np.zeros(2)}, lr=0.1), "same names"),
        (lambda: optim.sgd_step({"w": np.zeros(2)}, np.zeros(2), lr=0.1), "dict"),
        (lambda: optim.sgd_step(np.zeros(2), {"w": np.zeros(2)}, lr=0.1), "single array"),
        (
            lambda: optim.adam_step({"w": np.zeros(2)}, {"w": np.zeros(2)}, {"v": {}}),
            "one entry per parameter",
        ),
        (
            lambda: optim.momentum_step(np.zeros(2), np.zeros(2), lr=0.1, dampening=0.1, nesterov=True),
            "nesterov",
        ),
        (lambda: optim.adam_step(np.zeros(2), np.zeros(2), betas=(1.0, 0.9)), "betas"),
        (lambda: optim.rmsprop_step(np.zeros(2), np.zeros(2), lr=-1.0), "lr"),
        (lambda: optim.rmsprop_step_slides(np.zeros(2), np.zeros(2), alpha=1.5), "alpha"),
    ],
)
def test_invalid_arguments(call: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
