"""Training targets of detectors: anchor labels by IoU (Faster R-CNN's RPN) and YOLO-v1 cell targets.

Box deltas are :func:`grader.reference.yolo.encode_box_deltas` / ``decode_box_deltas``. Conventions
(``grader/CONVENTIONS.md``, "Anchors and cell targets"):

* **Anchor labels** (Faster R-CNN's RPN; torchvision's ``Matcher(0.7, 0.3,
  allow_low_quality_matches=True)``): an anchor whose best IoU with any ground-truth box is
  ``≥ positive`` is positive (1); one whose best IoU is ``< negative`` is negative (0); the others
  (``negative ≤ IoU < positive``) are ignored (−1, they do not train the classifier). Then, for
  each ground truth, the anchor(s) with the highest IoU with it become positive even below
  ``positive`` (all anchors tied at that maximum), so that every object has an anchor. A ground
  truth that overlaps no anchor at all (best IoU 0) makes nothing positive (torchvision would mark
  every anchor with IoU 0 — a degenerate case).
* **YOLO-v1 cell target**: for an ``H × W`` image cut into ``S × S`` cells, a box centred at
  ``(cx, cy)`` belongs to the cell in row ``i = ⌊cy · S / H⌋`` and column ``j = ⌊cx · S / W⌋``
  (``raw[i, j]``, rows downwards as :mod:`grader.reference.yolo`), and its offsets are
  ``x = cx · S / W − j``, ``y = cy · S / H − i`` in ``[0, 1)``. A centre exactly on the right or
  bottom edge of the image goes to the last cell (offset 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .detection import box_iou

__all__ = ["AnchorLabels", "label_anchors", "yolo_cell_target"]


@dataclass(frozen=True)
class AnchorLabels:
    labels: NDArray[np.int64]  # (A,) 1 positive, 0 negative, −1 ignored
    matched_gt: NDArray[np.int64]  # (A,) index of the anchor's highest-IoU ground truth (first on ties)
    iou: NDArray[np.float64]  # (A, G)
    low_quality: NDArray[np.bool_]  # (A,) positive only through the best-anchor rule


def label_anchors(
    anchors: ArrayLike, gt_boxes: ArrayLike, positive: float = 0.7, negative: float = 0.3
) -> AnchorLabels:
    """Label each anchor positive / negative / ignored against the ground-truth boxes."""
    if not 0 <= negative <= positive <= 1:
        raise ValueError(f"need 0 ≤ negative ≤ positive ≤ 1, got negative={negative}, positive={positive}")
    a = np.asarray(anchors, dtype=np.float64).reshape(-1, 4)
    g = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
    if len(g) == 0:
        raise ValueError("at least one ground-truth box is needed")
    iou = box_iou(a, g)
    best = iou.max(axis=1) if len(a) else np.zeros(0)
    labels = np.full(len(a), -1, dtype=np.int64)
    labels[best < negative] = 0
    labels[best >= positive] = 1
    low = np.zeros(len(a), dtype=bool)
    for k in range(len(g)):
        top = iou[:, k].max() if len(a) else 0.0
        if top > 0:
            winners = iou[:, k] == top
            low |= winners & (labels != 1)
            labels[winners] = 1
    return AnchorLabels(labels, iou.argmax(axis=1).astype(np.int64) if len(a) else np.zeros(0, np.int64), iou, low)


def yolo_cell_target(
    centre: ArrayLike, image_size: tuple[float, float], grid: int
) -> tuple[int, int, float, float]:
    """``(row, col, x, y)``: the cell a box centre ``(cx, cy)`` falls in and its offsets in that
    cell. ``image_size`` is ``(W, H)``."""
    cx, cy = (float(v) for v in np.asarray(centre, dtype=np.float64).reshape(2))
    width, height = image_size
    if grid < 1 or width <= 0 or height <= 0:
        raise ValueError("grid and image size must be positive")
    if not (0 <= cx <= width and 0 <= cy <= height):
        raise ValueError(f"centre ({cx}, {cy}) lies outside the {width}×{height} image")
    u, v = cx * grid / width, cy * grid / height
    col, row = min(int(np.floor(u)), grid - 1), min(int(np.floor(v)), grid - 1)
    return row, col, u - col, v - row
