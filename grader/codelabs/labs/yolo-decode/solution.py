"""Model solution for the yolo-decode lab (numpy only)."""

import numpy as np


def _iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    iw = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    iou = np.zeros_like(inter)
    np.divide(inter, union, out=iou, where=union > 0)
    return iou


def _nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    order = np.argsort(-scores, kind="stable")
    iou = _iou_matrix(boxes, boxes)
    suppressed = np.zeros(len(scores), dtype=bool)
    keep = []
    for i in order:
        if not suppressed[i]:
            keep.append(i)
            suppressed |= iou[i] > iou_threshold
    return np.asarray(keep, dtype=np.int64)


def decode(raw, num_boxes, image_size, score_threshold, iou_threshold):
    raw = np.asarray(raw, dtype=np.float64)
    rows, cols, depth = raw.shape
    b = int(num_boxes)
    height, width = (float(v) for v in image_size)
    per_box = raw[..., : 5 * b].reshape(rows, cols, b, 5)
    class_probs = raw[..., 5 * b :]  # (rows, cols, C)

    # Column j shifts x and row i shifts y; broadcast over the B boxes of each cell.
    col = np.arange(cols)[None, :, None]
    row = np.arange(rows)[:, None, None]
    cx = (col + per_box[..., 0]) / cols * width
    cy = (row + per_box[..., 1]) / rows * height
    w = per_box[..., 2] ** 2 * width  # the network predicts square roots
    h = per_box[..., 3] ** 2 * height
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)  # (rows, cols, B, 4)

    # Every (box, class) pair is a candidate: score = confidence * P(class | object).
    scores = per_box[..., 4][..., None] * class_probs[:, :, None, :]  # (rows, cols, B, C)
    cand = np.argwhere(scores > score_threshold)  # row-major (i, j, b, c)
    cand_scores = scores[cand[:, 0], cand[:, 1], cand[:, 2], cand[:, 3]]
    cand_boxes = boxes[cand[:, 0], cand[:, 1], cand[:, 2]].reshape(-1, 4)
    cand_classes = cand[:, 3]

    kept = []
    for c in np.unique(cand_classes):  # classes never suppress each other
        members = np.flatnonzero(cand_classes == c)
        kept.extend(members[_nms(cand_boxes[members], cand_scores[members], iou_threshold)])
    kept = np.asarray(kept, dtype=np.int64)
    kept = kept[np.lexsort((kept, -cand_scores[kept]))]  # by descending score, then candidate order
    return {
        "boxes": cand_boxes[kept].reshape(-1, 4),
        "scores": cand_scores[kept],
        "classes": cand_classes[kept].astype(np.int64),
    }
