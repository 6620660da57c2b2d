"""Semantic-segmentation metrics from label maps: confusion matrix, pixel accuracy, IoU, Dice.

Conventions (``grader/CONVENTIONS.md``, "Segmentation metrics"):

* A label map is an integer array of class indices ``0 … K − 1`` (any shape; ground truth and
  prediction have the same shape). Pixels whose ground truth is ``ignore_index`` (if given) are
  left out of every count, as in torchmetrics' / mmseg's ``ignore_index`` (255 in VOC).
* The **confusion matrix** ``C[g, p]`` counts pixels of true class ``g`` predicted as ``p``
  (rows: ground truth, as ``sklearn.metrics.confusion_matrix``). For class ``c``:
  ``TP = C[c, c]``, ``FP = Σ_g C[g, c] − TP``, ``FN = Σ_p C[c, p] − TP``.
* **Pixel accuracy** = correct pixels / all pixels (an average over *pixels*); the **mean class
  accuracy** averages each class's recall ``TP / (TP + FN)`` over classes instead.
* **IoU** of class ``c`` = ``TP / (TP + FP + FN)``; **Dice** (= F1) = ``2 TP / (2 TP + FP + FN)``,
  so ``Dice = 2 IoU / (1 + IoU)``. A class absent from both maps has an undefined score (NaN).
* **mIoU** is the mean of the per-class IoUs over the classes asked for (all, or without the
  background), skipping NaN (classes present in neither map), as torchmetrics and mmseg do.
  The **frequency-weighted IoU** weights each class's IoU by its share of the true pixels.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "confusion_matrix",
    "dice_per_class",
    "frequency_weighted_iou",
    "iou_per_class",
    "mean_class_accuracy",
    "mean_iou",
    "pixel_accuracy",
]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


def confusion_matrix(
    truth: ArrayLike, prediction: ArrayLike, num_classes: int, ignore_index: int | None = None
) -> IntArray:
    """``(K, K)`` counts: row = true class, column = predicted class."""
    t = np.asarray(truth)
    p = np.asarray(prediction)
    if t.shape != p.shape:
        raise ValueError(f"truth {t.shape} and prediction {p.shape} must have the same shape")
    if num_classes < 1:
        raise ValueError("num_classes must be at least 1")
    if not (np.issubdtype(t.dtype, np.integer) and np.issubdtype(p.dtype, np.integer)):
        raise ValueError("label maps must hold integer class indices")
    keep = np.ones(t.shape, dtype=bool) if ignore_index is None else t != ignore_index
    t, p = t[keep].astype(np.int64), p[keep].astype(np.int64)
    for name, arr in (("truth", t), ("prediction", p)):
        if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
            raise ValueError(f"{name} has labels outside 0..{num_classes - 1}")
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def _counts(cm: IntArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    tp = np.diag(cm).astype(np.float64)
    return tp, cm.sum(axis=0) - tp, cm.sum(axis=1) - tp


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def pixel_accuracy(cm: IntArray) -> float:
    """Correct pixels / all counted pixels (NaN with no pixels)."""
    total = cm.sum()
    return float(np.trace(cm) / total) if total else float("nan")


def mean_class_accuracy(cm: IntArray) -> float:
    """Mean over classes present in the truth of ``TP / (TP + FN)``."""
    tp, _, fn = _counts(cm)
    return float(np.nanmean(_ratio(tp, tp + fn)))


def iou_per_class(cm: IntArray) -> FloatArray:
    """``TP / (TP + FP + FN)`` per class; NaN for a class in neither map."""
    tp, fp, fn = _counts(cm)
    return _ratio(tp, tp + fp + fn)


def dice_per_class(cm: IntArray) -> FloatArray:
    """``2 TP / (2 TP + FP + FN)`` per class (F1); NaN for a class in neither map."""
    tp, fp, fn = _counts(cm)
    return _ratio(2 * tp, 2 * tp + fp + fn)


def mean_iou(cm: IntArray, classes: Iterable[int] | None = None) -> float:
    """Mean IoU over ``classes`` (default: all), skipping classes present in neither map."""
    iou = iou_per_class(cm)
    picked = iou if classes is None else iou[list(classes)]
    return float(np.nanmean(picked)) if np.any(~np.isnan(picked)) else float("nan")


def frequency_weighted_iou(cm: IntArray) -> float:
    """``Σ_c (true pixels of c / all pixels) · IoU_c`` (classes in neither map weigh 0)."""
    total = cm.sum()
    if not total:
        return float("nan")
    weights = cm.sum(axis=1) / total
    return float(np.nansum(weights * iou_per_class(cm)))
