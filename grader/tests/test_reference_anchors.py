"""grader.reference.anchors and the box coder against independent computations: IoU from
pycocotools (torchvision cannot be installed next to the pinned torch), the R-CNN paper's
formulas written out here in plain numpy, and plain loops for the anchor labels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from pycocotools import mask as coco_mask

from grader.reference import box_iou, decode_box_deltas, encode_box_deltas, label_anchors, yolo_cell_target

SETTINGS = settings(max_examples=80, deadline=None)


@st.composite
def int_boxes(draw: st.DrawFn, n: int) -> np.ndarray:
    """``n`` corner boxes with integer corners in [0, 100] and sides 1..60."""
    xy = draw(hnp.arrays(np.int64, (n, 2), elements=st.integers(0, 100)))
    wh = draw(hnp.arrays(np.int64, (n, 2), elements=st.integers(1, 60)))
    return np.concatenate([xy, xy + wh], axis=1).astype(np.float64)


def _xywh(boxes: np.ndarray) -> np.ndarray:
    return np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)


def _paper_encode(p: np.ndarray, g: np.ndarray) -> np.ndarray:
    """R-CNN (Girshick et al. 2014, appendix C): t_x = (G_x − P_x)/P_w, t_y = (G_y − P_y)/P_h,
    t_w = log(G_w/P_w), t_h = log(G_h/P_h), with P, G given by centre, width and height."""
    out = []
    for (a1, b1, a2, b2), (c1, d1, c2, d2) in zip(p, g, strict=True):
        pw, ph, gw, gh = a2 - a1, b2 - b1, c2 - c1, d2 - d1
        px, py, gx, gy = a1 + pw / 2, b1 + ph / 2, c1 + gw / 2, d1 + gh / 2
        out.append([(gx - px) / pw, (gy - py) / ph, math.log(gw / pw), math.log(gh / ph)])
    return np.array(out)


def _paper_decode(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The paper's Ĝ_x = P_w d_x + P_x, Ĝ_w = P_w exp(d_w), back to corners."""
    out = []
    for (a1, b1, a2, b2), (tx, ty, tw, th) in zip(p, t, strict=True):
        pw, ph = a2 - a1, b2 - b1
        x, y = a1 + pw / 2 + pw * tx, b1 + ph / 2 + ph * ty
        w, h = pw * math.exp(tw), ph * math.exp(th)
        out.append([x - w / 2, y - h / 2, x + w / 2, y + h / 2])
    return np.array(out)


def _loop_labels(iou: np.ndarray, pos: float, neg: float) -> list[int]:
    labels = []
    for i in range(iou.shape[0]):
        best = max(iou[i])
        labels.append(1 if best >= pos else 0 if best < neg else -1)
    for k in range(iou.shape[1]):
        top = max(iou[:, k])
        for i in range(iou.shape[0]):
            if top > 0 and iou[i, k] == top:
                labels[i] = 1
    return labels


@SETTINGS
@given(int_boxes(4), int_boxes(3))
def test_box_iou_equals_pycocotools(a: np.ndarray, b: np.ndarray) -> None:
    coco = np.asarray(coco_mask.iou(_xywh(a).tolist(), _xywh(b).tolist(), [0] * len(b)))
    np.testing.assert_allclose(box_iou(a, b), coco, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(int_boxes(5), int_boxes(5), hnp.arrays(np.float64, (5, 4), elements=st.floats(-1, 1)))
def test_box_coder_equals_the_papers_formulas(p: np.ndarray, g: np.ndarray, t: np.ndarray) -> None:
    np.testing.assert_allclose(encode_box_deltas(p, g), _paper_encode(p, g), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(decode_box_deltas(p, t), _paper_decode(p, t), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(decode_box_deltas(p, encode_box_deltas(p, g)), g, atol=1e-9)


@SETTINGS
@given(int_boxes(6), int_boxes(2))
def test_anchor_labels_equal_loops_over_pycocotools_iou(anchors: np.ndarray, gts: np.ndarray) -> None:
    iou = np.asarray(coco_mask.iou(_xywh(anchors).tolist(), _xywh(gts).tolist(), [0] * len(gts)))
    found = label_anchors(anchors, gts)
    assert found.labels.tolist() == _loop_labels(iou, 0.7, 0.3)
    positive_by_threshold = iou.max(axis=1) >= 0.7
    assert (found.low_quality == ((found.labels == 1) & ~positive_by_threshold)).all()


def test_anchor_labels_by_hand() -> None:
    gts = [[0, 0, 10, 10], [100, 100, 110, 110]]
    anchors = [[0, 0, 10, 9], [0, 0, 10, 5], [100, 100, 110, 105], [100, 100, 110, 102], [50, 50, 60, 60]]
    found = label_anchors(anchors, gts)
    assert found.labels.tolist() == [1, -1, 1, 0, 0]
    assert found.low_quality.tolist() == [False, False, True, False, False]
    assert found.matched_gt.tolist()[:3] == [0, 0, 1]
    # Ties at a ground truth's best IoU: every tied anchor becomes positive (torchvision's rule).
    tied = label_anchors([[0, 0, 10, 5], [0, 5, 10, 10], [50, 50, 60, 60]], [[0, 0, 10, 10]])
    assert tied.labels.tolist() == [1, 1, 0]
    # A ground truth that overlaps no anchor makes nothing positive.
    assert label_anchors([[50, 50, 60, 60]], [[0, 0, 10, 10]]).labels.tolist() == [0]
    with pytest.raises(ValueError, match="negative"):
        label_anchors(anchors, gts, positive=0.3, negative=0.7)


def test_yolo_cell_target_by_hand_and_round_trip() -> None:
    assert yolo_cell_target((200, 100), (448, 448), 7) == (1, 3, 0.125, 0.5625)
    assert yolo_cell_target((448, 0), (448, 448), 7) == (0, 6, 1.0, 0.0)  # right edge: last cell
    rng = np.random.default_rng(0)
    for _ in range(200):
        w, h, s = int(rng.integers(50, 600)), int(rng.integers(50, 600)), int(rng.integers(1, 20))
        cx, cy = float(rng.uniform(0, w)), float(rng.uniform(0, h))
        row, col, x, y = yolo_cell_target((cx, cy), (w, h), s)
        assert 0 <= x < 1 and 0 <= y < 1
        # YOLO's decoding (grader.reference.yolo): cx = (j + x) / S · W.
        assert (col + x) / s * w == pytest.approx(cx) and (row + y) / s * h == pytest.approx(cy)
    with pytest.raises(ValueError, match="outside"):
        yolo_cell_target((500, 10), (448, 448), 7)
