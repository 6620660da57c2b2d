"""grader.reference.filters against scipy.ndimage (zero padding) and torch for even 'same' kernels."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.ndimage as ndi
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.reference.filters import (
    apply_filter,
    box_kernel,
    gaussian_kernel,
    identity_kernel,
    laplacian_kernel,
    median_filter,
    sharpen_kernel,
    sobel_gradients,
    sobel_kernel,
)

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def image_and_kernel(draw: st.DrawFn, *, odd: bool, integer: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    sizes = st.sampled_from([1, 3, 5]) if odd else st.integers(1, 5)
    kh, kw = draw(sizes), draw(sizes)
    h, w = draw(st.integers(1, 10)), draw(st.integers(1, 10))
    if integer:
        return rng.integers(-9, 10, size=(h, w)), rng.integers(-3, 4, size=(kh, kw))
    return rng.normal(size=(h, w)), rng.normal(size=(kh, kw))


def valid_crop(same: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Interior of a 'same' result where the (odd) kernel never touched padding."""
    rh, rw = kernel.shape[0] // 2, kernel.shape[1] // 2
    return same[rh : same.shape[0] - rh, rw : same.shape[1] - rw]


@SETTINGS
@given(image_and_kernel(odd=True, integer=False), st.sampled_from(["correlate", "convolve"]))
def test_apply_filter_matches_scipy(case: tuple[np.ndarray, np.ndarray], mode: Any) -> None:
    img, ker = case
    ref_fn = ndi.correlate if mode == "correlate" else ndi.convolve
    ref = ref_fn(img, ker, mode="constant", cval=0.0)
    np.testing.assert_allclose(apply_filter(img, ker, padding="same", mode=mode), ref, atol=1e-12)
    if img.shape[0] >= ker.shape[0] and img.shape[1] >= ker.shape[1]:
        np.testing.assert_allclose(apply_filter(img, ker, mode=mode), valid_crop(ref, ker), atol=1e-12)
    else:
        with pytest.raises(ValueError, match="<= 0"):
            apply_filter(img, ker, mode=mode)


@SETTINGS
@given(image_and_kernel(odd=True, integer=True), st.sampled_from(["correlate", "convolve"]))
def test_apply_filter_integers_are_exact(case: tuple[np.ndarray, np.ndarray], mode: Any) -> None:
    img, ker = case
    ref_fn = ndi.correlate if mode == "correlate" else ndi.convolve
    ours = apply_filter(img, ker, padding="same", mode=mode)
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours, ref_fn(img, ker, mode="constant", cval=0))


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@SETTINGS
@given(image_and_kernel(odd=False, integer=False), st.integers(0, 2))
def test_apply_filter_same_and_int_padding_match_torch(case: tuple[np.ndarray, np.ndarray], pad: int) -> None:
    img, ker = case
    ti, tk = torch.from_numpy(img)[None, None], torch.from_numpy(ker.copy())[None, None]
    # torch puts the extra padding of an even kernel at the bottom/right, as we do.
    ref = F.conv2d(ti, tk, padding="same").numpy()[0, 0]
    np.testing.assert_allclose(apply_filter(img, ker, padding="same"), ref, atol=1e-12)
    if img.shape[0] + 2 * pad >= ker.shape[0] and img.shape[1] + 2 * pad >= ker.shape[1]:
        ref = F.conv2d(ti, tk, padding=pad).numpy()[0, 0]
        np.testing.assert_allclose(apply_filter(img, ker, padding=pad), ref, atol=1e-12)


@SETTINGS
@given(
    st.integers(0, 2**32 - 1),
    st.integers(1, 10),
    st.integers(1, 10),
    st.sampled_from([1, 3, 5]),
    st.sampled_from([1, 3]),
    st.booleans(),
)
def test_median_filter_matches_scipy(seed: int, h: int, w: int, kh: int, kw: int, integer: bool) -> None:
    rng = np.random.default_rng(seed)
    # Few distinct values, so windows contain repeats (and zeros from the padding matter).
    img = rng.integers(-4, 5, size=(h, w))
    if not integer:
        img = img + rng.normal(scale=0.1, size=(h, w))
    ref = ndi.median_filter(img, size=(kh, kw), mode="constant", cval=0)
    ours = median_filter(img, (kh, kw), padding="same")
    assert ours.dtype == (np.int64 if integer else np.float64)
    np.testing.assert_array_equal(ours, ref)
    if h >= kh and w >= kw:
        np.testing.assert_array_equal(median_filter(img, (kh, kw)), valid_crop(ref, np.zeros((kh, kw))))


def test_median_filter_hand_example_removes_salt() -> None:
    img = np.full((5, 5), 10)
    img[2, 2] = 255  # a single salt pixel
    np.testing.assert_array_equal(median_filter(img, 3), np.full((3, 3), 10))
    # With zero padding the corners see 4 real pixels out of 9, so the median is 0 there.
    same = median_filter(img, 3, padding="same")
    assert same[0, 0] == 0 and same[0, 1] == 10 and same[2, 2] == 10


@pytest.mark.parametrize(("size", "sigma"), [(3, 0.5), (5, 1.0), (7, 2.5), (1, 1.0)])
def test_gaussian_kernel_matches_scipy(size: int, sigma: float) -> None:
    g = gaussian_kernel(size, sigma)
    assert g.shape == (size, size)
    assert g.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(g, g.T)
    np.testing.assert_allclose(g, g[::-1, ::-1])
    # scipy's Gaussian with radius r is correlation with this kernel: recover it from an impulse.
    r = size // 2
    impulse = np.zeros((size + 4, size + 4))
    impulse[r + 2, r + 2] = 1.0
    ref = ndi.gaussian_filter(impulse, sigma, radius=r, mode="constant")[2 : size + 2, 2 : size + 2]
    np.testing.assert_allclose(g, ref, atol=1e-15)


def test_gaussian_even_size_is_centred() -> None:
    g = gaussian_kernel(4, 1.0)
    np.testing.assert_allclose(g, g[::-1, ::-1])
    assert g[1, 1] == g.max()


def test_box_kernel_matches_uniform_filter() -> None:
    img = np.random.default_rng(3).normal(size=(6, 7))
    np.testing.assert_allclose(box_kernel(3).sum(), 1.0)
    ref = ndi.uniform_filter(img, size=(3, 5), mode="constant")
    np.testing.assert_allclose(apply_filter(img, box_kernel((3, 5)), padding="same"), ref, atol=1e-12)


def test_sobel_directions() -> None:
    # Dark left half, bright right half: a vertical edge.
    vertical_edge = np.zeros((5, 6), dtype=np.int64)
    vertical_edge[:, 3:] = 1
    g = sobel_gradients(vertical_edge)
    assert (g.gx >= 0).all() and g.gx.max() == 4  # x-kernel fires: intensity increases to the right
    assert (g.gy == 0).all()  # y-kernel is blind to it
    np.testing.assert_allclose(g.magnitude, np.abs(g.gx))
    np.testing.assert_allclose(g.direction[g.magnitude > 0], 0.0)
    # Transposed image: a horizontal edge, bright below -> gy positive, direction +pi/2.
    g = sobel_gradients(vertical_edge.T)
    assert (g.gx == 0).all() and g.gy.max() == 4
    np.testing.assert_allclose(g.direction[g.magnitude > 0], np.pi / 2)
    assert np.array_equal(sobel_kernel("horizontal"), sobel_kernel("x"))
    assert np.array_equal(sobel_kernel("vertical"), sobel_kernel("x").T)
    np.testing.assert_array_equal(sobel_kernel("x"), [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    # Convolution flips the sign of the antisymmetric Sobel kernel.
    np.testing.assert_array_equal(
        apply_filter(vertical_edge, sobel_kernel("x"), mode="convolve"), -sobel_gradients(vertical_edge).gx
    )


def test_sobel_matches_scipy() -> None:
    img = np.random.default_rng(4).normal(size=(7, 9))
    g = sobel_gradients(img, padding="same")
    np.testing.assert_allclose(g.gx, ndi.sobel(img, axis=1, mode="constant"), atol=1e-12)
    np.testing.assert_allclose(g.gy, ndi.sobel(img, axis=0, mode="constant"), atol=1e-12)
    np.testing.assert_allclose(g.magnitude, np.hypot(g.gx, g.gy))


def test_laplacian_and_sharpen() -> None:
    img = np.random.default_rng(5).integers(0, 10, size=(6, 6))
    np.testing.assert_array_equal(
        apply_filter(img, laplacian_kernel(4), padding="same"), ndi.laplace(img, mode="constant")
    )
    assert laplacian_kernel(8).sum() == 0 and laplacian_kernel(8)[1, 1] == -8
    for kind in ("laplacian4", "laplacian8", "unsharp"):
        k = sharpen_kernel(kind)
        assert k.sum() == pytest.approx(1.0)
        flat = np.full((5, 5), 7.0)
        np.testing.assert_allclose(apply_filter(flat, k), np.full((3, 3), 7.0))
    np.testing.assert_array_equal(sharpen_kernel(), [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    np.testing.assert_allclose(sharpen_kernel("unsharp")[1, 1], 17 / 9)
    np.testing.assert_array_equal(identity_kernel(3), [[0, 0, 0], [0, 1, 0], [0, 0, 0]])


def test_hand_example_valid_correlation() -> None:
    img = np.arange(1, 10).reshape(3, 3)
    ker = np.array([[1, 0], [0, 2]])
    # out[i, j] = img[i, j] + 2 img[i+1, j+1]
    np.testing.assert_array_equal(apply_filter(img, ker), [[1 + 10, 2 + 12], [4 + 16, 5 + 18]])
    # Convolution uses the rotated kernel [[2, 0], [0, 1]]: out = 2 img[i, j] + img[i+1, j+1].
    np.testing.assert_array_equal(apply_filter(img, ker, mode="convolve"), [[2 + 5, 4 + 6], [8 + 8, 10 + 9]])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: apply_filter(np.zeros((3, 3, 3)), np.ones((3, 3))), "2-D"),
        (lambda: apply_filter(np.zeros((3, 3)), np.ones(3)), "kernel must be a 2-D"),
        (lambda: apply_filter(np.zeros((3, 3)), np.ones((3, 3)), mode="flip"), "mode must be"),
        (lambda: apply_filter(np.zeros((3, 3)), np.ones((3, 3)), padding="full"), "padding must be"),
        (lambda: apply_filter(np.zeros((3, 3)), np.ones((3, 3)), padding=-1), "padding must be >= 0"),
        (lambda: median_filter(np.zeros((3, 3)), 2), "odd"),
        (lambda: median_filter(np.zeros((3, 3)), 5), "larger than"),
        (lambda: gaussian_kernel(3, 0.0), "sigma"),
        (lambda: sobel_kernel("z"), "direction"),  # type: ignore[arg-type]
        (lambda: laplacian_kernel(6), "4 or 8"),  # type: ignore[arg-type]
        (lambda: sharpen_kernel("blur"), "kind"),  # type: ignore[arg-type]
        (lambda: identity_kernel(2), "odd"),
    ],
)
def test_filter_validation(call: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()
