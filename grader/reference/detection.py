"""Box IoU, non-maximum suppression, average precision and detection mAP (VOC and COCO) in numpy.

Conventions (see ``grader/CONVENTIONS.md``):

* Boxes are ``[x1, y1, x2, y2]`` in continuous coordinates: width is ``x2 - x1`` (no ``+ 1``).
  A box with ``x2 <= x1`` or ``y2 <= y1`` is empty (area 0) and has IoU 0 with every box,
  itself included.
* NMS suppresses a box when its IoU with a kept box is strictly greater than the threshold.
* A detection is a true positive when its IoU is greater than or equal to the threshold.
* Sorting by score is stable: equal scores keep their input order.
* Everything is computed in float64.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "COCO_IOU_THRESHOLDS",
    "COCO_RECALL_THRESHOLDS",
    "ClassEvaluation",
    "CocoEvaluation",
    "DetectionEvaluation",
    "DetectionMatch",
    "average_precision",
    "box_iou",
    "coco_map",
    "evaluate_detections",
    "nms",
]

FloatArray = NDArray[np.float64]
APMethod = Literal["voc07", "voc", "coco"]
Outcome = Literal["tp", "duplicate", "low_iou", "no_gt"]

# The exact float grids pycocotools uses (np.linspace, not arange, whose points drift upwards).
# coco_map must compare against these very numbers to reproduce COCOeval bit for bit.
COCO_IOU_THRESHOLDS: FloatArray = np.linspace(0.5, 0.95, 10)
COCO_RECALL_THRESHOLDS: FloatArray = np.linspace(0.0, 1.0, 101)
# VOC2007's 11 recall levels as exact tenths (k / 10): a recall of exactly 3/10 counts as
# reaching 0.3. (The devkit's np.arange(0, 1.1, 0.1) has 0.30000000000000004 instead.)
_VOC07_RECALL_THRESHOLDS: FloatArray = np.arange(11) / 10.0


# --------------------------------------------------------------------------- IoU and NMS


def _as_boxes(boxes: ArrayLike, name: str) -> FloatArray:
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] == 4:
        arr = arr[None, :]
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 4)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{name} must have shape (N, 4) as [x1, y1, x2, y2], got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite coordinates")
    return arr


def _areas(b: FloatArray) -> FloatArray:
    # Clipping makes inverted boxes empty instead of giving them a negative area.
    return np.clip(b[:, 2] - b[:, 0], 0.0, None) * np.clip(b[:, 3] - b[:, 1], 0.0, None)


def box_iou(a: ArrayLike, b: ArrayLike) -> FloatArray:
    """Pairwise IoU of boxes ``a`` (N, 4) and ``b`` (M, 4) in xyxy format -> (N, M).

    Continuous coordinates (area ``(x2 - x1) * (y2 - y1)``, no ``+ 1``). Pairs whose union is
    empty, i.e. both boxes degenerate, get IoU 0 rather than 0/0. A single box of shape (4,) is
    accepted and treated as (1, 4); the result is always 2-D.
    """
    a = _as_boxes(a, "a")
    b = _as_boxes(b, "b")
    w = np.clip(
        np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0.0, None
    )
    h = np.clip(
        np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0.0, None
    )
    inter = w * h
    union = (_areas(a)[:, None] + _areas(b)[None, :]) - inter
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def _stable_desc_order(scores: FloatArray) -> NDArray[np.intp]:
    # A stable ascending sort of -score is a descending sort in which ties keep input order.
    return np.argsort(-scores, kind="stable")


def nms(boxes: ArrayLike, scores: ArrayLike, iou_threshold: float) -> NDArray[np.int64]:
    """Greedy non-maximum suppression; returns kept indices in descending score order.

    Same rule as ``torchvision.ops.nms``: visit boxes by descending score, keep a box unless a
    previously kept box overlaps it with IoU strictly greater than ``iou_threshold``. Equal
    scores are visited in input order (torchvision's sort is not stable, so its order for exact
    ties is unspecified). Empty boxes have IoU 0 and are never suppressed.
    """
    boxes = _as_boxes(boxes, "boxes")
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (boxes.shape[0],):
        raise ValueError(f"scores must have shape ({boxes.shape[0]},), got {scores.shape}")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores contain NaN or infinite values")
    thr = float(iou_threshold)
    if not 0.0 <= thr <= 1.0:
        raise ValueError(f"iou_threshold must be in [0, 1], got {iou_threshold!r}")
    iou = box_iou(boxes, boxes)
    suppressed = np.zeros(boxes.shape[0], dtype=bool)
    keep: list[int] = []
    # The greedy scan is inherently sequential; each step is a vectorized row update.
    for i in _stable_desc_order(scores):
        if suppressed[i]:
            continue
        keep.append(int(i))
        suppressed |= iou[i] > thr
    return np.asarray(keep, dtype=np.int64)


# --------------------------------------------------------------------------- average precision


def _check_pr(recall: ArrayLike, precision: ArrayLike) -> tuple[FloatArray, FloatArray]:
    r = np.asarray(recall, dtype=np.float64)
    p = np.asarray(precision, dtype=np.float64)
    if r.ndim != 1 or p.shape != r.shape:
        raise ValueError(f"recall and precision must be 1-D of equal length, got {r.shape} and {p.shape}")
    for arr, name in ((r, "recall"), (p, "precision")):
        if not np.all(np.isfinite(arr)) or np.any((arr < 0) | (arr > 1)):
            raise ValueError(f"{name} values must be finite and in [0, 1]")
    if np.any(np.diff(r) < 0):
        raise ValueError("recall must be non-decreasing (rows ordered by descending score)")
    return r, p


def _envelope(p: FloatArray) -> FloatArray:
    """Monotone precision envelope: ``env[i] = max(p[i:])``."""
    return np.maximum.accumulate(p[::-1])[::-1]


def _sampled_precision(r: FloatArray, env: FloatArray, thresholds: FloatArray) -> FloatArray:
    # First row whose recall reaches each threshold (searchsorted "left" is the first index with
    # r >= t); thresholds beyond the last recall get precision 0, as in pycocotools.
    idx = np.searchsorted(r, thresholds, side="left")
    reached = idx < r.size
    out = np.zeros(thresholds.shape, dtype=np.float64)
    out[reached] = env[idx[reached]]
    return out


def average_precision(recall: ArrayLike, precision: ArrayLike, method: APMethod = "voc") -> float:
    """Average precision from a cumulative recall/precision table (rows by descending score).

    * ``"voc07"``: 11-point interpolation, mean over recall levels t = 0, 0.1, ..., 1 of the best
      precision among rows with recall >= t (0 if no row reaches t).
    * ``"voc"``: all-point (VOC2010+), the exact area under the monotone precision envelope,
      with the curve extended to recall 0 and closed at recall 1 with precision 0.
    * ``"coco"``: 101-point, the envelope sampled at recall 0, 0.01, ..., 1 (pycocotools'
      linspace grid, first row with recall >= t), 0 beyond the last recall, then averaged.

    An empty table gives 0.
    """
    r, p = _check_pr(recall, precision)
    if r.size == 0:
        if method not in ("voc07", "voc", "coco"):
            raise ValueError(f"method must be 'voc07', 'voc' or 'coco', got {method!r}")
        return 0.0
    env = _envelope(p)
    if method == "voc07":
        return float(_sampled_precision(r, env, _VOC07_RECALL_THRESHOLDS).mean())
    if method == "coco":
        return float(_sampled_precision(r, env, COCO_RECALL_THRESHOLDS).mean())
    if method == "voc":
        # Rectangles between consecutive recall values, each as high as the envelope to its right;
        # zero-width steps (FP rows) add nothing.
        widths = np.diff(np.concatenate(([0.0], r)))
        return float(np.sum(widths * env))
    raise ValueError(f"method must be 'voc07', 'voc' or 'coco', got {method!r}")


# --------------------------------------------------------------------------- input records


@dataclass(frozen=True)
class _Records:
    image_ids: list[Hashable]
    class_ids: list[Hashable]
    boxes: FloatArray
    scores: FloatArray  # empty for ground truths


def _parse(records: Iterable[Mapping[str, Any]], *, with_score: bool, name: str) -> _Records:
    image_ids: list[Hashable] = []
    class_ids: list[Hashable] = []
    boxes: list[Sequence[float]] = []
    scores: list[float] = []
    keys = ("image_id", "class_id", "box") + (("score",) if with_score else ())
    for i, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            raise ValueError(f"{name}[{i}] must be a dict, got {type(rec).__name__}")
        missing = [k for k in keys if k not in rec]
        if missing:
            raise ValueError(f"{name}[{i}] is missing {', '.join(missing)}")
        box = np.asarray(rec["box"], dtype=np.float64)
        if box.shape != (4,) or not np.all(np.isfinite(box)):
            raise ValueError(
                f"{name}[{i}]['box'] must be 4 finite numbers [x1, y1, x2, y2], got {rec['box']!r}"
            )
        image_ids.append(rec["image_id"])
        class_ids.append(rec["class_id"])
        boxes.append(box)
        if with_score:
            score = float(rec["score"])
            if not np.isfinite(score):
                raise ValueError(f"{name}[{i}]['score'] must be finite, got {rec['score']!r}")
            scores.append(score)
    return _Records(
        image_ids,
        class_ids,
        np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
        np.asarray(scores, dtype=np.float64),
    )


def _ordered(keys: Iterable[Hashable]) -> list[Hashable]:
    """Distinct keys, sorted when they are mutually comparable, else in first-seen order."""
    distinct = list(dict.fromkeys(keys))
    try:
        return sorted(distinct)  # type: ignore[type-var]
    except TypeError:
        return distinct


def _group(
    image_ids: Sequence[Hashable], class_ids: Sequence[Hashable]
) -> dict[tuple[Hashable, Hashable], list[int]]:
    groups: dict[tuple[Hashable, Hashable], list[int]] = {}
    for i, key in enumerate(zip(image_ids, class_ids, strict=True)):
        groups.setdefault(key, []).append(i)
    return groups


# --------------------------------------------------------------------------- VOC-style evaluation


@dataclass(frozen=True)
class DetectionMatch:
    """How one detection was judged (``index`` is its position in the input list)."""

    index: int
    image_id: Hashable
    class_id: Hashable
    score: float
    iou: float  # IoU with ``best_gt`` (0.0 when the image has no GT of this class)
    best_gt: int | None  # index into ground_truths of the highest-IoU GT, matched or not
    matched_gt: int | None  # same as best_gt for a TP, None for an FP
    outcome: Outcome  # "tp", or why it is an FP: "duplicate", "low_iou", "no_gt"

    @property
    def is_tp(self) -> bool:
        return self.outcome == "tp"


@dataclass(frozen=True)
class ClassEvaluation:
    """Ranked table for one class: row k is the k-th detection by descending score."""

    class_id: Hashable
    num_gt: int
    order: tuple[int, ...]  # detection indices (into the input list), by descending score
    is_tp: tuple[bool, ...]
    cum_tp: tuple[int, ...]
    cum_fp: tuple[int, ...]
    precision: tuple[float, ...]  # cum_tp / (cum_tp + cum_fp)
    recall: tuple[float, ...]  # cum_tp / num_gt; NaN when num_gt == 0
    ap: float  # NaN when num_gt == 0 (no GT: AP undefined, left out of the mAP)


@dataclass(frozen=True)
class DetectionEvaluation:
    """Result of :func:`evaluate_detections`."""

    iou_threshold: float
    method: APMethod
    matches: tuple[DetectionMatch, ...]  # one per detection, in input order
    classes: dict[Hashable, ClassEvaluation]  # every class seen in detections or ground truths
    ap: dict[Hashable, float]  # classes with at least one GT only
    mean_ap: float  # mean of ``ap``; NaN when no class has a GT


def evaluate_detections(
    detections: Iterable[Mapping[str, Any]],
    ground_truths: Iterable[Mapping[str, Any]],
    *,
    iou_threshold: float = 0.5,
    method: APMethod = "voc",
) -> DetectionEvaluation:
    """PASCAL-VOC-style evaluation: per-detection TP/FP, precision/recall per class, AP and mAP.

    ``detections`` are dicts ``{"image_id", "class_id", "box": [x1, y1, x2, y2], "score"}``,
    ``ground_truths`` the same without ``"score"``. For each class, detections are visited by
    descending score (stable: ties keep input order). A detection is compared with every GT of
    its image and class, matched or not, and takes the one with the highest IoU (first in input
    order on a tie). It is a TP when that IoU >= ``iou_threshold`` and that GT is still
    unmatched; if that GT is already taken it is an FP ("duplicate") even when another unmatched
    GT also overlaps enough -- the VOC devkit rule (COCO instead searches the unmatched GTs only,
    see :func:`coco_map`). ``method`` picks the AP interpolation (see :func:`average_precision`).
    The mAP is the mean AP over classes with at least one ground truth; a class with GT but no
    detection has AP 0, a class with detections but no GT is left out.
    """
    if method not in ("voc07", "voc", "coco"):
        raise ValueError(f"method must be 'voc07', 'voc' or 'coco', got {method!r}")
    thr = float(iou_threshold)
    if not 0.0 < thr <= 1.0:
        raise ValueError(f"iou_threshold must be in (0, 1], got {iou_threshold!r}")
    dets = _parse(detections, with_score=True, name="detections")
    gts = _parse(ground_truths, with_score=False, name="ground_truths")
    gt_groups = _group(gts.image_ids, gts.class_ids)
    num_gt_per_class: dict[Hashable, int] = {}
    for c in gts.class_ids:
        num_gt_per_class[c] = num_gt_per_class.get(c, 0) + 1

    matches: list[DetectionMatch | None] = [None] * len(dets.scores)
    classes: dict[Hashable, ClassEvaluation] = {}
    for c in _ordered(dets.class_ids + gts.class_ids):
        det_idx = np.asarray([i for i, k in enumerate(dets.class_ids) if k == c], dtype=np.intp)
        order = det_idx[_stable_desc_order(dets.scores[det_idx])]
        # IoU of each detection with every GT of its image and class, one matrix per image.
        iou_rows: dict[int, FloatArray] = {}
        for i_group in _group([dets.image_ids[i] for i in det_idx], [c] * det_idx.size).values():
            rows = det_idx[i_group]
            gt_idx = gt_groups.get((dets.image_ids[rows[0]], c), [])
            iou = box_iou(dets.boxes[rows], gts.boxes[gt_idx])
            iou_rows.update(zip(rows.tolist(), iou, strict=True))
        taken: set[int] = set()
        is_tp: list[bool] = []
        for i in order:
            gt_idx = gt_groups.get((dets.image_ids[i], c), [])
            if not gt_idx:
                best, best_iou, outcome = None, 0.0, "no_gt"
            else:
                ious = iou_rows[int(i)]
                j = int(np.argmax(ious))  # first maximum
                best, best_iou = gt_idx[j], float(ious[j])
                if best_iou < thr:
                    outcome = "low_iou"
                elif best in taken:
                    outcome = "duplicate"
                else:
                    outcome = "tp"
                    taken.add(best)
            is_tp.append(outcome == "tp")
            matches[i] = DetectionMatch(
                index=int(i),
                image_id=dets.image_ids[i],
                class_id=c,
                score=float(dets.scores[i]),
                iou=best_iou,
                best_gt=best,
                matched_gt=best if outcome == "tp" else None,
                outcome=outcome,  # type: ignore[arg-type]
            )
        classes[c] = _class_table(c, num_gt_per_class.get(c, 0), order, np.asarray(is_tp, dtype=bool), method)

    ap = {c: ev.ap for c, ev in classes.items() if ev.num_gt > 0}
    mean_ap = float(np.mean(list(ap.values()))) if ap else float("nan")
    return DetectionEvaluation(
        iou_threshold=thr,
        method=method,
        matches=tuple(m for m in matches if m is not None),
        classes=classes,
        ap=ap,
        mean_ap=mean_ap,
    )


def _class_table(
    class_id: Hashable, num_gt: int, order: NDArray[np.intp], is_tp: NDArray[np.bool_], method: APMethod
) -> ClassEvaluation:
    cum_tp = np.cumsum(is_tp, dtype=np.int64)
    cum_fp = np.cumsum(~is_tp, dtype=np.int64)
    precision = cum_tp / np.maximum(cum_tp + cum_fp, 1)
    if num_gt > 0:
        recall = cum_tp / num_gt
        ap = average_precision(recall, precision, method)
    else:
        recall = np.full(cum_tp.shape, np.nan)
        ap = float("nan")
    return ClassEvaluation(
        class_id=class_id,
        num_gt=num_gt,
        order=tuple(int(i) for i in order),
        is_tp=tuple(bool(t) for t in is_tp),
        cum_tp=tuple(int(t) for t in cum_tp),
        cum_fp=tuple(int(f) for f in cum_fp),
        precision=tuple(float(p) for p in precision),
        recall=tuple(float(r) for r in recall),
        ap=ap,
    )


# --------------------------------------------------------------------------- COCO-style mAP


@dataclass(frozen=True)
class CocoEvaluation:
    """Result of :func:`coco_map`; ``mean_ap``, ``ap50``, ``ap75`` are COCOeval ``stats[0:3]``."""

    mean_ap: float  # AP averaged over IoU 0.50:0.05:0.95 and over classes with GT
    ap50: float
    ap75: float
    iou_thresholds: tuple[float, ...]
    ap_per_class: dict[Hashable, tuple[float, ...]]  # AP at each IoU threshold, classes with GT
    max_dets: int


def _coco_match(ious: FloatArray, thresholds: FloatArray) -> NDArray[np.bool_]:
    """COCO greedy matching for one image and class -> TP flags of shape (T, D).

    ``ious`` is (D, G) with detections already in descending score order. At each threshold a
    detection takes, among the GTs not yet matched, the one with the highest IoU provided that
    IoU >= threshold; on equal IoU the later GT wins (pycocotools keeps replacing its best match
    while ``iou >= best``).
    """
    num_det, num_gt = ious.shape
    tp = np.zeros((thresholds.size, num_det), dtype=bool)
    if num_gt == 0:
        return tp
    matched = np.zeros((thresholds.size, num_gt), dtype=bool)
    rows = np.arange(thresholds.size)
    for d in range(num_det):
        ok = ~matched & (ious[d][None, :] >= thresholds[:, None])
        cand = np.where(ok, ious[d][None, :], -1.0)
        # Last index of the maximum = first index of the maximum in the reversed row.
        j = num_gt - 1 - np.argmax(cand[:, ::-1], axis=1)
        hit = ok[rows, j]
        matched[rows[hit], j[hit]] = True
        tp[:, d] = hit
    return tp


def coco_map(
    detections: Iterable[Mapping[str, Any]],
    ground_truths: Iterable[Mapping[str, Any]],
    *,
    max_dets: int = 100,
) -> CocoEvaluation:
    """COCO box mAP@[.5:.95] with 101-point interpolation, plus AP@0.5 and AP@0.75.

    Equals pycocotools' ``COCOeval(...).stats[0:3]`` for boxes without crowd flags, area range
    "all" and ``maxDets=100``, given the same boxes (xyxy here, xywh there). Rules, as in COCOeval:

    * per image and class, only the ``max_dets`` highest-scoring detections count (pycocotools
      applies the 100 limit per image *and category*);
    * matching per IoU threshold t (pycocotools' linspace grid): by descending score each
      detection takes the unmatched GT with the highest IoU >= t (later GT on equal IoU); a
      detection finding none is an FP -- unlike VOC, a detection whose best GT is taken may
      still match another unmatched GT;
    * per class, all images' detections are ranked by descending score; equal scores are ordered
      by image id (ascending) and then by input order;
    * AP per class and threshold is the 101-point interpolated precision (see
      :func:`average_precision`); mAP is the mean over thresholds and over classes with at least
      one GT (pycocotools reports -1 when no class has a GT; this returns NaN).

    Boxes must not be inverted (``x2 >= x1``, ``y2 >= y1``); zero-area boxes are allowed (IoU 0).
    Boxes larger than pycocotools' area limit (1e10) are not treated specially.
    Precision is ``tp / (tp + fp)`` exactly; pycocotools adds ``np.spacing(1)`` to the denominator,
    so results agree to about 1e-15, not bit for bit.
    """
    if int(max_dets) < 1:
        raise ValueError(f"max_dets must be >= 1, got {max_dets!r}")
    dets = _parse(detections, with_score=True, name="detections")
    gts = _parse(ground_truths, with_score=False, name="ground_truths")
    for recs, name in ((dets, "detections"), (gts, "ground_truths")):
        # pycocotools gives an inverted box a negative area, which its "all" area range then
        # ignores (neither TP nor FP); rather than mimic that accident, refuse such input.
        bad = np.flatnonzero((recs.boxes[:, 2] < recs.boxes[:, 0]) | (recs.boxes[:, 3] < recs.boxes[:, 1]))
        if bad.size:
            raise ValueError(f"{name}[{bad[0]}] has x2 < x1 or y2 < y1; coco_map needs x1 <= x2 and y1 <= y2")
    det_groups = _group(dets.image_ids, dets.class_ids)
    gt_groups = _group(gts.image_ids, gts.class_ids)
    images = _ordered(dets.image_ids + gts.image_ids)
    thresholds = COCO_IOU_THRESHOLDS

    ap_per_class: dict[Hashable, tuple[float, ...]] = {}
    for c in _ordered(gts.class_ids):  # classes without GT are left out, as in COCOeval
        num_gt = sum(len(gt_groups.get((img, c), [])) for img in images)
        scores: list[FloatArray] = []
        flags: list[NDArray[np.bool_]] = []
        for img in images:
            d_idx = np.asarray(det_groups.get((img, c), []), dtype=np.intp)
            d_idx = d_idx[_stable_desc_order(dets.scores[d_idx])][: int(max_dets)]
            g_idx = gt_groups.get((img, c), [])
            ious = box_iou(dets.boxes[d_idx], gts.boxes[g_idx])
            scores.append(dets.scores[d_idx])
            flags.append(_coco_match(ious, thresholds))
        all_scores = np.concatenate(scores)
        all_tp = np.concatenate(flags, axis=1)
        # Stable sort over the image-ordered concatenation = ties by image id, then input order.
        rank = _stable_desc_order(all_scores)
        all_tp = all_tp[:, rank]
        cum_tp = np.cumsum(all_tp, axis=1)
        cum_fp = np.cumsum(~all_tp, axis=1)
        aps = []
        for t in range(thresholds.size):
            precision = cum_tp[t] / np.maximum(cum_tp[t] + cum_fp[t], 1)
            aps.append(average_precision(cum_tp[t] / num_gt, precision, "coco"))
        ap_per_class[c] = tuple(aps)

    if ap_per_class:
        table = np.asarray(list(ap_per_class.values()))  # (K, T)
        mean_ap, ap50, ap75 = float(table.mean()), float(table[:, 0].mean()), float(table[:, 5].mean())
    else:
        mean_ap = ap50 = ap75 = float("nan")
    return CocoEvaluation(
        mean_ap=mean_ap,
        ap50=ap50,
        ap75=ap75,
        iou_thresholds=tuple(float(t) for t in thresholds),
        ap_per_class=ap_per_class,
        max_dets=int(max_dets),
    )
