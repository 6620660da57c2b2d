"""grader.reference.yolo against hand-worked cases, plain loops and torch ops."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.reference import yolo
from grader.reference.detection import box_iou, nms

SETTINGS = settings(max_examples=60, deadline=None)

finite = st.floats(-100, 100, allow_nan=False, allow_infinity=False)


@st.composite
def positive_boxes(draw: st.DrawFn, n: int) -> np.ndarray:
    """``n`` corner boxes with width and height in [0.5, 50]."""
    xy = draw(hnp.arrays(np.float64, (n, 2), elements=finite))
    wh = draw(hnp.arrays(np.float64, (n, 2), elements=st.floats(0.5, 50)))
    return np.concatenate([xy, xy + wh], axis=1)


# --------------------------------------------------------------------------- box formats and deltas


def test_box_formats_by_hand() -> None:
    corners = np.array([[0.0, 10.0, 4.0, 16.0], [1.0, 1.0, 1.0, 3.0]])
    centre = np.array([[2.0, 13.0, 4.0, 6.0], [1.0, 2.0, 0.0, 2.0]])
    np.testing.assert_array_equal(yolo.corners_to_centre(corners), centre)
    np.testing.assert_array_equal(yolo.centre_to_corners(centre), corners)
    # Any leading shape; a single box works too.
    assert yolo.corners_to_centre(np.zeros((2, 3, 4))).shape == (2, 3, 4)
    np.testing.assert_array_equal(yolo.centre_to_corners([5, 5, 2, 4]), [4, 3, 6, 7])
    with pytest.raises(ValueError, match="shape"):
        yolo.corners_to_centre(np.zeros((3, 5)))


@SETTINGS
@given(hnp.arrays(np.float64, st.tuples(st.integers(0, 4), st.just(4)), elements=finite))
def test_box_formats_are_inverses(boxes: np.ndarray) -> None:
    np.testing.assert_allclose(yolo.centre_to_corners(yolo.corners_to_centre(boxes)), boxes, atol=1e-12)
    np.testing.assert_allclose(yolo.corners_to_centre(yolo.centre_to_corners(boxes)), boxes, atol=1e-12)


def test_box_deltas_by_hand() -> None:
    # Proposal centre (5, 5) size 10 × 10; target centre (10, 15) size 10 × 20.
    proposal = np.array([[0.0, 0.0, 10.0, 10.0]])
    target = np.array([[5.0, 5.0, 15.0, 25.0]])
    deltas = yolo.encode_box_deltas(proposal, target)
    np.testing.assert_allclose(deltas, [[0.5, 1.0, 0.0, math.log(2.0)]])
    weighted = yolo.encode_box_deltas(proposal, target, yolo.BBOX_DELTA_WEIGHTS_FASTER_RCNN)
    np.testing.assert_allclose(weighted, [[5.0, 10.0, 0.0, 5 * math.log(2.0)]])
    np.testing.assert_allclose(yolo.decode_box_deltas(proposal, deltas), target)
    # Zero deltas leave the proposal where it is.
    np.testing.assert_allclose(yolo.decode_box_deltas(proposal, np.zeros((1, 4))), proposal)


def test_box_deltas_clamp_and_validation() -> None:
    proposal = np.array([[0.0, 0.0, 16.0, 16.0]])
    big = np.array([[0.0, 0.0, 20.0, 20.0]])
    clamped = yolo.decode_box_deltas(proposal, big, max_log_scale=math.log(1000 / 16))
    np.testing.assert_allclose(clamped, [[-492.0, -492.0, 508.0, 508.0]])  # 1000 wide, same centre
    with pytest.raises(ValueError, match="positive width"):
        yolo.encode_box_deltas([[0, 0, 0, 5]], [[0, 0, 1, 1]])
    with pytest.raises(ValueError, match="positive"):
        yolo.encode_box_deltas([[0, 0, 1, 1]], [[0, 0, 1, 1]], weights=(1, 1, 0, 1))
    with pytest.raises(ValueError, match="same shape"):
        yolo.encode_box_deltas(np.ones((2, 4)) * [0, 0, 1, 1], np.ones((3, 4)) * [0, 0, 1, 1])


@SETTINGS
@given(
    st.integers(1, 5).flatmap(lambda n: st.tuples(positive_boxes(n), positive_boxes(n))),
    st.tuples(*[st.floats(0.5, 10)] * 4),
)
def test_box_deltas_are_inverses(pair: tuple[np.ndarray, np.ndarray], weights: tuple[float, ...]) -> None:
    proposals, targets = pair
    deltas = yolo.encode_box_deltas(proposals, targets, weights)
    np.testing.assert_allclose(
        yolo.decode_box_deltas(proposals, deltas, weights), targets, rtol=1e-9, atol=1e-9
    )
    # And the other way round: encoding what the deltas decode to gives the deltas back.
    np.testing.assert_allclose(
        yolo.encode_box_deltas(proposals, yolo.decode_box_deltas(proposals, deltas, weights), weights),
        deltas,
        rtol=1e-9,
        atol=1e-9,
    )


# --------------------------------------------------------------------------- YOLO decoding


def hand_grid() -> np.ndarray:
    """A 2 × 2 grid, B = 2, C = 2, for a 100 (high) × 200 (wide) image.

    Cell (row 1, col 0), box 0: x = y = 0.5, √w = √h = 0.5, conf 0.9 → centre (50, 75),
    size 50 × 25 → [25, 62.5, 75, 87.5]. Cell (1, 0), box 1 is the same box shifted 5 px right
    (IoU 45·25 / (2·50·25 − 45·25) = 0.818) with conf 0.8. Class probs of that cell (0.7, 0.3):
    scores 0.63/0.27 and 0.56/0.24. Cell (0, 1) box 0: x = 0, y = 1, √w = 0.2, √h = 0.4,
    conf 0.5, probs (0.5, 0.5) → centre (100, 50), size 8 × 16 → [96, 42, 104, 58], score
    0.25 for both classes. Everything else has confidence 0.
    """
    raw = np.zeros((2, 2, 12))
    raw[1, 0, 0:5] = [0.5, 0.5, 0.5, 0.5, 0.9]
    raw[1, 0, 5:10] = [0.5 + 5 / 100, 0.5, 0.5, 0.5, 0.8]  # 5 px = 0.05 of a 100 px wide cell
    raw[1, 0, 10:] = [0.7, 0.3]
    raw[0, 1, 0:5] = [0.0, 1.0, 0.2, 0.4, 0.5]
    raw[0, 1, 10:] = [0.5, 0.5]
    return raw


def test_yolo_grid_by_hand() -> None:
    grid = yolo.yolo_grid(hand_grid(), 2, (100, 200))
    np.testing.assert_allclose(grid.boxes[1, 0, 0], [25, 62.5, 75, 87.5])
    np.testing.assert_allclose(grid.boxes[1, 0, 1], [30, 62.5, 80, 87.5])
    np.testing.assert_allclose(grid.boxes[0, 1, 0], [96, 42, 104, 58])
    np.testing.assert_allclose(grid.confidence[1, 0], [0.9, 0.8])
    scores = yolo.yolo_class_scores(grid)
    assert scores.shape == (2, 2, 2, 2)
    np.testing.assert_allclose(scores[1, 0], [[0.63, 0.27], [0.56, 0.24]])


def test_decode_yolo_by_hand() -> None:
    det = yolo.decode_yolo(hand_grid(), 2, (100, 200), score_threshold=0.2, iou_threshold=0.5)
    assert isinstance(det, yolo.Detections)
    # Class 0: 0.63 kept, 0.56 suppressed (IoU 0.818), 0.25 kept; class 1: 0.27 kept, 0.24
    # suppressed, 0.25 (small box) kept. A box appears once per class.
    np.testing.assert_allclose(det.scores, [0.63, 0.27, 0.25, 0.25])
    np.testing.assert_array_equal(det.classes, [0, 1, 0, 1])
    np.testing.assert_array_equal(det.cells, [[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0]])
    np.testing.assert_allclose(det.boxes[0], [25, 62.5, 75, 87.5])
    assert set(det.as_dict()) == {"boxes", "scores", "classes"}
    # At IoU threshold 0.9 nothing is suppressed; the threshold is strict (0.25 is not > 0.25).
    det = yolo.decode_yolo(hand_grid(), 2, (100, 200), score_threshold=0.25, iou_threshold=0.9)
    np.testing.assert_allclose(det.scores, [0.63, 0.56, 0.27])
    # Nothing above the threshold: empty arrays of the right shapes.
    det = yolo.decode_yolo(hand_grid(), 2, (100, 200), score_threshold=0.99, iou_threshold=0.5)
    assert det.boxes.shape == (0, 4) and det.scores.shape == (0,) and det.classes.shape == (0,)
    assert det.classes.dtype == np.int64


def test_decode_yolo_batch_and_validation() -> None:
    batch = np.stack([hand_grid(), np.zeros((2, 2, 12))])
    out = yolo.decode_yolo(batch, 2, (100, 200), 0.2, 0.5)
    assert isinstance(out, list) and len(out) == 2 and len(out[1]) == 0
    np.testing.assert_array_equal(
        out[0].scores, yolo.decode_yolo(hand_grid(), 2, (100, 200), 0.2, 0.5).scores
    )
    with pytest.raises(ValueError, match="5B"):
        yolo.decode_yolo(np.zeros((2, 2, 10)), 2, 64, 0.2, 0.5)  # no class channel left
    with pytest.raises(ValueError, match="NaN"):
        yolo.decode_yolo(np.full((2, 2, 12), np.nan), 2, 64, 0.2, 0.5)
    with pytest.raises(ValueError, match="image_size"):
        yolo.decode_yolo(hand_grid(), 2, (0, 5), 0.2, 0.5)
    with pytest.raises(ValueError, match="iou_threshold"):
        yolo.decode_yolo(hand_grid(), 2, 64, 0.99, 1.5)  # even with no candidate left


def decode_loop(
    raw: np.ndarray, b: int, height: float, width: float, thr: float, iou_thr: float
) -> list[tuple]:
    """YOLO decoding written cell by cell; NMS per class as a plain loop over ranked candidates."""
    rows, cols, depth = raw.shape
    cands = []
    for i in range(rows):
        for j in range(cols):
            for k in range(b):
                x, y, sw, sh, conf = raw[i, j, 5 * k : 5 * k + 5]
                cx, cy = (j + x) * width / cols, (i + y) * height / rows
                w, h = sw * sw * width, sh * sh * height
                box = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
                for c in range(depth - 5 * b):
                    score = conf * raw[i, j, 5 * b + c]
                    if score > thr:
                        cands.append((score, c, box, (i, j, k)))
    order = sorted(range(len(cands)), key=lambda n: -cands[n][0])  # stable
    kept: list[int] = []
    for n in order:
        score, c, box, _ = cands[n]
        if all(cands[m][1] != c or box_iou([box], [cands[m][2]])[0, 0] <= iou_thr for m in kept):
            kept.append(n)
    return [cands[n] for n in kept]


@SETTINGS
@given(
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(0, 2**31 - 1),
    st.floats(0.05, 0.5),
    st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0]),
)
def test_decode_yolo_matches_loop(
    rows: int, cols: int, b: int, c: int, seed: int, thr: float, iou_thr: float
) -> None:
    rng = np.random.default_rng(seed)
    raw = rng.uniform(-0.2, 1.0, size=(rows, cols, 5 * b + c))  # negatives: √w is squared anyway
    height, width = float(rng.integers(20, 100)), float(rng.integers(20, 100))
    det = yolo.decode_yolo(raw, b, (height, width), thr, iou_thr)
    expected = decode_loop(raw, b, height, width, thr, iou_thr)
    np.testing.assert_allclose(det.scores, [e[0] for e in expected])
    np.testing.assert_array_equal(det.classes, [e[1] for e in expected])
    np.testing.assert_allclose(det.boxes, np.asarray([e[2] for e in expected]).reshape(-1, 4))
    np.testing.assert_array_equal(det.cells, np.asarray([e[3] for e in expected]).reshape(-1, 3))


@SETTINGS
@given(st.integers(0, 30), st.integers(0, 2**31 - 1), st.sampled_from([0.0, 0.3, 0.5, 0.8]))
def test_batched_nms_equals_offset_trick(n: int, seed: int, thr: float) -> None:
    """Per-class NMS = one NMS after moving each class's boxes far apart (torchvision's trick)."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 50, size=(n, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(1, 30, size=(n, 2))], axis=1)
    scores = rng.choice([0.1, 0.5, 0.9], size=n) if seed % 2 else rng.uniform(size=n)  # ties too
    classes = rng.integers(0, 3, size=n)
    shifted = boxes + (classes * 1000.0)[:, None]
    np.testing.assert_array_equal(yolo.batched_nms(boxes, scores, classes, thr), nms(shifted, scores, thr))


# --------------------------------------------------------------------------- RoI pooling


def roi_pool_loop(
    features: np.ndarray, rois: np.ndarray, out_h: int, out_w: int, scale: float = 1.0
) -> np.ndarray:
    """Fast R-CNN's loop, with exact fractions for the bin edges."""

    def c_round(v: float) -> int:
        return int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)

    channels, height, width = features.shape
    out = np.zeros((len(rois), channels, out_h, out_w))
    for n, roi in enumerate(rois):
        x1, y1, x2, y2 = (c_round(v * scale) for v in roi)
        roi_h, roi_w = max(y2 - y1 + 1, 1), max(x2 - x1 + 1, 1)
        for i in range(out_h):
            h0 = min(max(y1 + math.floor(Fraction(i * roi_h, out_h)), 0), height)
            h1 = min(max(y1 + math.ceil(Fraction((i + 1) * roi_h, out_h)), 0), height)
            for j in range(out_w):
                w0 = min(max(x1 + math.floor(Fraction(j * roi_w, out_w)), 0), width)
                w1 = min(max(x1 + math.ceil(Fraction((j + 1) * roi_w, out_w)), 0), width)
                for ch in range(channels):
                    cells = [features[ch, r, q] for r in range(h0, h1) for q in range(w0, w1)]
                    out[n, ch, i, j] = max(cells) if cells else 0.0
    return out


def test_roi_pool_by_hand() -> None:
    feat = np.arange(36, dtype=np.float64).reshape(1, 6, 6)  # value = 6 row + col
    # RoI columns 1..4, rows 0..2 (inclusive): 4 wide, 3 high → 2 × 2 bins.
    # Rows: bin 0 = [0, 2) (⌈3/2⌉ = 2), bin 1 = [1, 3): they overlap in row 1.
    # Columns: [1, 3) and [3, 5). The max of each bin is its bottom-right cell.
    out = yolo.roi_pool(feat, [[1, 0, 4, 2]], 2)
    np.testing.assert_array_equal(out, [[[[8, 10], [14, 16]]]])
    # Rounding halves away from zero: 0.5 → 1, 3.5 → 4 (np.round would give 0 and 4).
    np.testing.assert_array_equal(yolo.roi_pool(feat, [[0.5, 0, 3.5, 2]], 2), out)
    # spatial_scale maps image coordinates onto the map (here 1/2: [2, 0, 8, 4] → [1, 0, 4, 2]).
    np.testing.assert_array_equal(yolo.roi_pool(feat, [[2, 0, 8, 4]], 2, spatial_scale=0.5), out)
    # A RoI hanging off the map: bins outside are empty → 0.
    off = yolo.roi_pool(feat, [[4, 4, 7, 7]], 2)
    np.testing.assert_array_equal(off, [[[[35, 0], [0, 0]]]])
    # Smaller than the output: cells repeat.
    np.testing.assert_array_equal(yolo.roi_pool(feat, [[2, 2, 2, 2]], (2, 3)), np.full((1, 1, 2, 3), 14.0))
    assert yolo.roi_pool(feat, np.zeros((0, 4)), 3).shape == (0, 1, 3, 3)


@st.composite
def roi_case(draw: st.DrawFn, inside: bool) -> tuple[np.ndarray, np.ndarray, int, int]:
    channels, height, width = draw(st.integers(1, 3)), draw(st.integers(1, 10)), draw(st.integers(1, 10))
    feat = draw(hnp.arrays(np.float64, (channels, height, width), elements=finite))
    rois = []
    for _ in range(draw(st.integers(1, 4))):
        if inside:
            x1, y1 = draw(st.integers(0, width - 1)), draw(st.integers(0, height - 1))
            x2, y2 = draw(st.integers(x1, width - 1)), draw(st.integers(y1, height - 1))
            jitter = draw(st.lists(st.floats(-0.45, 0.45), min_size=4, max_size=4))  # rounds away
            rois.append(np.array([x1, y1, x2, y2], dtype=np.float64) + np.array(jitter))
        else:
            rois.append(np.array(draw(st.lists(st.floats(-5, 15), min_size=4, max_size=4))))
    return feat, np.array(rois), draw(st.integers(1, 5)), draw(st.integers(1, 5))


@SETTINGS
@given(roi_case(inside=True))
def test_roi_pool_equals_adaptive_max_pool_on_crops(case: tuple[np.ndarray, np.ndarray, int, int]) -> None:
    feat, rois, out_h, out_w = case
    got = yolo.roi_pool(feat, rois, (out_h, out_w))
    t = torch.from_numpy(feat)
    for n, roi in enumerate(np.round(rois).astype(int)):  # jitter < 0.5: plain rounding agrees
        x1, y1, x2, y2 = roi
        crop = t[None, :, y1 : y2 + 1, x1 : x2 + 1]
        expected = F.adaptive_max_pool2d(crop, (out_h, out_w))[0].numpy()
        np.testing.assert_array_equal(got[n], expected)


@SETTINGS
@given(roi_case(inside=False), st.sampled_from([1.0, 0.5, 0.25, 2.0]))
def test_roi_pool_matches_loop_anywhere(case: tuple[np.ndarray, np.ndarray, int, int], scale: float) -> None:
    feat, rois, out_h, out_w = case
    got = yolo.roi_pool(feat, rois, (out_h, out_w), spatial_scale=scale)
    np.testing.assert_array_equal(got, roi_pool_loop(feat, rois, out_h, out_w, scale))


def test_roi_pool_validation() -> None:
    with pytest.raises(ValueError, match="features"):
        yolo.roi_pool(np.zeros((4, 4)), [[0, 0, 1, 1]], 2)
    with pytest.raises(ValueError, match="rois"):
        yolo.roi_pool(np.zeros((1, 4, 4)), [[0, 0, 1]], 2)
    with pytest.raises(ValueError, match="output_size"):
        yolo.roi_pool(np.zeros((1, 4, 4)), [[0, 0, 1, 1]], 0)
    with pytest.raises(ValueError, match="spatial_scale"):
        yolo.roi_pool(np.zeros((1, 4, 4)), [[0, 0, 1, 1]], 2, spatial_scale=0.0)


# --------------------------------------------------------------------------- the tiny detector


def test_tiny_yolo_outputs() -> None:
    torch_state = torch.random.get_rng_state()
    model = yolo.make_tiny_yolo(0)
    assert torch.equal(torch.random.get_rng_state(), torch_state)  # torch's RNG untouched
    images = yolo.synthetic_images(np.random.default_rng(3), 4)
    assert images.shape == (4, 3, 64, 64) and images.dtype == np.float32
    raw = yolo.detector_raw_outputs(model, images)
    assert raw.shape == (4, 7, 7, 13) and raw.dtype == np.float64
    assert np.all((raw[..., :10] >= 0) & (raw[..., :10] <= 1))  # sigmoids (rounded to 6 places)
    np.testing.assert_allclose(raw[..., 10:].sum(-1), 1.0, atol=1e-5)  # softmax
    # Same seed → same weights and outputs; another seed → different ones.
    np.testing.assert_array_equal(yolo.detector_raw_outputs(yolo.make_tiny_yolo(0), images), raw)
    assert not np.allclose(yolo.detector_raw_outputs(yolo.make_tiny_yolo(1), images), raw)
    other = yolo.make_tiny_yolo(5, grid=5, num_boxes=3, num_classes=4)
    assert yolo.detector_raw_outputs(other, images[:1]).shape == (1, 5, 5, 19)


def test_tiny_yolo_gives_nontrivial_detections() -> None:
    """Boxes of a few cells that overlap, several classes, and NMS removing some candidates."""
    model = yolo.make_tiny_yolo(0)
    raw = yolo.detector_raw_outputs(model, yolo.synthetic_images(np.random.default_rng(7), 6))
    for r in raw:
        grid = yolo.yolo_grid(r, 2, 64)
        widths = (grid.boxes[..., 2] - grid.boxes[..., 0]).ravel() / 64
        assert 0.2 < np.median(widths) < 0.6
        scores = yolo.yolo_class_scores(grid)
        thr = float(np.quantile(scores, 0.9))
        det = yolo.decode_yolo(r, 2, 64, thr, 0.4)
        assert 8 <= len(det) < int((scores > thr).sum())
        assert len(np.unique(det.classes)) >= 2
