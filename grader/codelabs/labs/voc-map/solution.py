"""Model solution for the voc-map lab (numpy only)."""

import numpy as np


def _iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one [x1, y1, x2, y2] box with each row of boxes (continuous coordinates, no +1)."""
    iw = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    ih = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = iw * ih
    area = max(box[2] - box[0], 0) * max(box[3] - box[1], 0)
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    union = area + areas - inter
    iou = np.zeros_like(inter)
    np.divide(inter, union, out=iou, where=union > 0)
    return iou


def _all_point_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """Area under the monotone precision envelope (VOC2010+)."""
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    # Envelope: each precision becomes the best precision at this recall or any higher one.
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    steps = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1  # where recall increases
    return float(np.sum((mrec[steps] - mrec[steps - 1]) * mpre[steps]))


def voc_map(detections, ground_truths, num_classes, iou_threshold=0.5):
    d_img = np.asarray(detections["image_id"]).reshape(-1)
    d_cls = np.asarray(detections["class_id"]).reshape(-1)
    d_score = np.asarray(detections["score"], dtype=np.float64).reshape(-1)
    d_box = np.asarray(detections["box"], dtype=np.float64).reshape(-1, 4)
    g_img = np.asarray(ground_truths["image_id"]).reshape(-1)
    g_cls = np.asarray(ground_truths["class_id"]).reshape(-1)
    g_box = np.asarray(ground_truths["box"], dtype=np.float64).reshape(-1, 4)
    g_diff = np.asarray(ground_truths["difficult"], dtype=bool).reshape(-1)

    ap = np.full(int(num_classes), np.nan)
    for c in range(int(num_classes)):
        is_class = g_cls == c
        num_pos = int(np.sum(is_class & ~g_diff))  # difficult objects are not counted
        if num_pos == 0:
            continue  # AP undefined: stays NaN and is left out of the mean
        det_idx = np.flatnonzero(d_cls == c)
        det_idx = det_idx[np.argsort(-d_score[det_idx], kind="stable")]  # ties: input order
        matched = np.zeros(len(g_img), dtype=bool)
        flags = []  # 1 = TP, 0 = FP; ignored detections get no row
        for i in det_idx:
            cand = np.flatnonzero(is_class & (g_img == d_img[i]))
            if cand.size == 0:
                flags.append(0)
                continue
            ious = _iou_one_to_many(d_box[i], g_box[cand])
            k = int(np.argmax(ious))  # best GT, matched or not (first one on a tie)
            j = cand[k]
            if ious[k] < iou_threshold:
                flags.append(0)
            elif g_diff[j]:
                continue  # matching a difficult object: neither TP nor FP
            elif matched[j]:
                flags.append(0)  # duplicate detection of an object already found
            else:
                matched[j] = True
                flags.append(1)
        flags = np.asarray(flags, dtype=np.float64)
        cum_tp = np.cumsum(flags)
        cum_fp = np.cumsum(1.0 - flags)
        recall = cum_tp / num_pos
        precision = cum_tp / np.maximum(cum_tp + cum_fp, 1.0)
        ap[c] = _all_point_ap(recall, precision)

    valid = ~np.isnan(ap)
    mean_ap = float(ap[valid].mean()) if valid.any() else float("nan")
    return {"map": mean_ap, "ap": ap}
