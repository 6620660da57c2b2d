"""Lab: box IoU and non-maximum suppression (numpy only).

Boxes are rows [x1, y1, x2, y2] in continuous coordinates: width x2 - x1, height y2 - y1 (no +1).
"""

import numpy as np


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of boxes a (N, 4) and b (M, 4) -> float array (N, M).

    iou[i, j] = area(a[i] ∩ b[j]) / area(a[i] ∪ b[j]). A box with x2 <= x1 or y2 <= y1 is empty:
    its IoU with every box (itself included) is 0, never NaN. N or M may be 0.
    """
    raise NotImplementedError


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression -> indices of the kept boxes, int array (K,).

    Visit the boxes by descending score (equal scores: lower index first). Keep a box unless
    a box that was already *kept* has IoU strictly greater than iou_threshold with it. Return the
    kept indices in the order they were kept (descending score).
    """
    raise NotImplementedError
