"""The reference CNN: seeded torch model, weights as arrays, validation, and the numpy forward pass."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.codelabs.labs.cnn_forward_numpy import REFERENCE_WEIGHTS_PATH, REFERENCE_WEIGHTS_SEED
from grader.reference.cnn import (
    PARAMETER_NAMES,
    ReferenceCNN,
    forward_numpy,
    load_reference_weights,
    load_state_dict_arrays,
    make_reference_cnn,
    save_reference_weights,
    state_dict_arrays,
)

DIGITS_SHAPES = {
    "conv1.weight": (8, 1, 3, 3),
    "conv1.bias": (8,),
    "conv2.weight": (16, 8, 3, 3),
    "conv2.bias": (16,),
    "fc.weight": (10, 64),
    "fc.bias": (10,),
}


def _torch_logits(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


# --------------------------------------------------------------------------- the model


def test_default_architecture_is_the_digits_network() -> None:
    model = make_reference_cnn(0)
    arrays = state_dict_arrays(model)
    assert tuple(arrays) == PARAMETER_NAMES
    assert {k: v.shape for k, v in arrays.items()} == DIGITS_SHAPES
    assert all(v.dtype == np.float32 for v in arrays.values())
    assert _torch_logits(model, np.zeros((5, 1, 8, 8), np.float32)).shape == (5, 10)


def test_mnist_sized_and_rectangular_inputs() -> None:
    mnist = make_reference_cnn(1, image_size=28)
    assert mnist.fc.in_features == 16 * 7 * 7
    assert _torch_logits(mnist, np.zeros((2, 1, 28, 28), np.float32)).shape == (2, 10)
    wide = make_reference_cnn(1, image_size=(9, 13), channels=(3, 5), num_classes=4)
    assert wide.fc.in_features == 5 * 2 * 3


def test_too_small_image_is_refused() -> None:
    with pytest.raises(ValueError, match="too small"):
        ReferenceCNN(image_size=3)


def test_same_seed_same_weights_other_seed_other_weights() -> None:
    a, b, c = (state_dict_arrays(make_reference_cnn(s)) for s in (7, 7, 8))
    assert all(np.array_equal(a[k], b[k]) for k in PARAMETER_NAMES)
    assert not np.array_equal(a["conv1.weight"], c["conv1.weight"])


def test_building_a_reference_model_leaves_the_global_rng_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    make_reference_cnn(5)
    assert torch.equal(torch.rand(3), expected)


def test_state_dict_arrays_are_copies() -> None:
    model = make_reference_cnn(0)
    arrays = state_dict_arrays(model)
    arrays["fc.bias"][:] = 99.0
    assert not torch.any(model.fc.bias == 99.0)


# --------------------------------------------------------------------------- loading and validation


def test_load_round_trip_reproduces_the_model() -> None:
    source, target = make_reference_cnn(1), make_reference_cnn(2)
    assert load_state_dict_arrays(target, state_dict_arrays(source)) is target
    x = np.random.default_rng(0).random((4, 1, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(_torch_logits(target, x), _torch_logits(source, x))


def test_float64_and_nested_lists_are_accepted_and_cast() -> None:
    arrays = {k: v.astype(np.float64) for k, v in state_dict_arrays(make_reference_cnn(3)).items()}
    arrays["fc.bias"] = arrays["fc.bias"].tolist()
    model = load_state_dict_arrays(make_reference_cnn(4), arrays)
    assert model.fc.bias.dtype == torch.float32
    np.testing.assert_allclose(model.fc.bias.detach().numpy(), arrays["fc.bias"], rtol=1e-6)


def _digits_arrays() -> dict[str, np.ndarray]:
    return state_dict_arrays(make_reference_cnn(0))


@pytest.mark.parametrize(
    ("mutate", "pattern"),
    [
        (lambda a: a.pop("fc.bias"), r"missing \['fc.bias'\]"),
        (lambda a: a.update({"fc2.weight": np.zeros(3, np.float32)}), r"unexpected \['fc2.weight'\]"),
        (
            lambda a: a.update({"fc.weight": np.zeros((10, 16), np.float32)}),
            r"'fc.weight' has shape \(10, 16\)",
        ),
        (lambda a: a.update({"conv1.bias": np.zeros(8, np.int64)}), "'conv1.bias' must be a floating-point"),
        (lambda a: a.update({"conv1.bias": np.zeros(8, bool)}), "floating-point array, got dtype bool"),
        (lambda a: a["conv2.weight"].__setitem__((0, 0, 0, 0), np.nan), r"'conv2.weight' has 1 non-finite"),
        (lambda a: a["fc.bias"].__setitem__(slice(0, 2), np.inf), r"'fc.bias' has 2 non-finite"),
        (
            lambda a: a.update({"fc.bias": [[1.0], [2.0, 3.0]]}),
            "'fc.bias' (is not an array|must be a floating)",
        ),
        (lambda a: a.update({"fc.bias": None}), "'fc.bias' must be a floating-point"),
    ],
)
def test_invalid_arrays_are_refused_with_a_clear_message(
    mutate: Callable[[dict[str, Any]], object], pattern: str
) -> None:
    arrays = _digits_arrays()
    mutate(arrays)
    model = make_reference_cnn(9)
    before = state_dict_arrays(model)
    with pytest.raises(ValueError, match=pattern):
        load_state_dict_arrays(model, arrays)
    after = state_dict_arrays(model)
    assert all(np.array_equal(before[k], after[k]) for k in PARAMETER_NAMES), (
        "a refused load changed the model"
    )


@pytest.mark.parametrize("value", [None, [1, 2], "weights", 3.0])
def test_a_non_mapping_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match="expected a dict"):
        load_state_dict_arrays(make_reference_cnn(0), value)


# --------------------------------------------------------------------------- numpy forward


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(1, 4),
    h=st.integers(4, 13),
    w=st.integers(4, 13),
    c1=st.integers(1, 6),
    c2=st.integers(1, 6),
    classes=st.integers(1, 7),
)
def test_forward_numpy_equals_torch_in_float64(
    seed: int, n: int, h: int, w: int, c1: int, c2: int, classes: int
) -> None:
    model = make_reference_cnn(seed, image_size=(h, w), channels=(c1, c2), num_classes=classes).double()
    x = np.random.default_rng(seed).standard_normal((n, 1, h, w))
    expected = _torch_logits(model, x)
    got = forward_numpy(state_dict_arrays(model), x)
    assert got.dtype == np.float64 and got.shape == (n, classes)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 8))
def test_forward_numpy_matches_the_float32_digits_model(seed: int, n: int) -> None:
    model = make_reference_cnn(seed)
    x = np.random.default_rng(seed).random((n, 1, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(
        forward_numpy(state_dict_arrays(model), x), _torch_logits(model, x), rtol=1e-5, atol=1e-6
    )


def test_forward_numpy_on_28x28() -> None:
    model = make_reference_cnn(3, image_size=28).double()
    x = np.random.default_rng(3).random((2, 1, 28, 28))
    np.testing.assert_allclose(
        forward_numpy(state_dict_arrays(model), x), _torch_logits(model, x), rtol=1e-10
    )


def test_forward_numpy_flattens_channels_first() -> None:
    # One fc input per feature: the logit is the feature at flat index c·4 + i·2 + j.
    state = {k: np.zeros(v, np.float64) for k, v in DIGITS_SHAPES.items()}
    state["conv1.weight"][:, 0, 1, 1] = 1.0  # every channel copies the image
    state["conv2.weight"][:, 0, 1, 1] = 1.0
    state["conv2.bias"][:] = np.arange(16) * 100.0  # channel c adds 100·c
    x = np.zeros((1, 1, 8, 8))
    x[0, 0, 4:6, 0:2] = 7.0  # lands in pooled cell (row 1, col 0)
    state["fc.weight"][0, 3 * 4 + 1 * 2 + 0] = 1.0  # channel 3, row 1, col 0
    assert forward_numpy(state, x)[0, 0] == pytest.approx(307.0)


@pytest.mark.parametrize(
    ("x_shape", "pattern"),
    [
        ((8, 8), r"x must have shape \(N, 1, H, W\)"),
        ((2, 3, 8, 8), r"x must have shape \(N, 1, H, W\)"),
        ((1, 1, 3, 8), "at least 4 × 4"),
        ((1, 1, 12, 12), "fc.weight has 64 inputs but a 12 × 12 image gives 16 × 3 × 3 = 144"),
    ],
)
def test_forward_numpy_refuses_inconsistent_inputs(x_shape: tuple[int, ...], pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        forward_numpy(_digits_arrays(), np.zeros(x_shape))


def test_forward_numpy_refuses_inconsistent_weights() -> None:
    arrays = _digits_arrays()
    arrays["conv2.weight"] = np.zeros((16, 4, 3, 3), np.float32)
    with pytest.raises(
        ValueError, match=r"'conv2.weight' has shape \(16, 4, 3, 3\), expected \(16, 8, 3, 3\)"
    ):
        forward_numpy(arrays, np.zeros((1, 1, 8, 8)))
    with pytest.raises(ValueError, match="missing"):
        forward_numpy({"conv1.weight": np.zeros((8, 1, 3, 3))}, np.zeros((1, 1, 8, 8)))


# --------------------------------------------------------------------------- weights saved with the lab


def test_saved_lab_weights_equal_the_seeded_reference() -> None:
    """Regenerate after a torch upgrade changes initialisation with:
    ``.venv/bin/python -c "from grader.reference.cnn import save_reference_weights as s;
    from grader.codelabs.labs.cnn_forward_numpy import REFERENCE_WEIGHTS_PATH as p, REFERENCE_WEIGHTS_SEED as k;
    s(p, k)"``
    """
    saved = load_reference_weights(REFERENCE_WEIGHTS_PATH)
    fresh = state_dict_arrays(make_reference_cnn(REFERENCE_WEIGHTS_SEED))
    assert tuple(saved) == PARAMETER_NAMES
    for name in PARAMETER_NAMES:
        assert saved[name].dtype == fresh[name].dtype == np.float32
        np.testing.assert_array_equal(saved[name], fresh[name], err_msg=name)


def test_save_and_load_round_trip_without_pickle(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    save_reference_weights(path, 5, image_size=28, channels=(2, 3), num_classes=4)
    with np.load(path, allow_pickle=False) as data:  # would raise on any object array
        assert sorted(data.files) == sorted(PARAMETER_NAMES)
    loaded = load_reference_weights(path)
    fresh = state_dict_arrays(make_reference_cnn(5, image_size=28, channels=(2, 3), num_classes=4))
    assert all(np.array_equal(loaded[k], fresh[k]) for k in PARAMETER_NAMES)
