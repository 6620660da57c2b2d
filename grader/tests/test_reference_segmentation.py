"""grader.reference.segmentation against plain loops over the pixels and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.metrics import accuracy_score, f1_score, jaccard_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from grader.reference import segmentation as seg

SETTINGS = settings(max_examples=80, deadline=None)


@st.composite
def label_maps(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int]:
    k = draw(st.integers(1, 5))
    shape = draw(st.tuples(st.integers(1, 6), st.integers(1, 6)))
    labels = st.integers(0, k - 1)
    truth = draw(hnp.arrays(np.int64, shape, elements=labels))
    pred = draw(hnp.arrays(np.int64, shape, elements=labels))
    return truth, pred, k


def _loops(truth: np.ndarray, pred: np.ndarray, k: int) -> dict[str, list[float]]:
    """The definitions, pixel by pixel: TP, FP, FN per class by counting."""
    t, p = truth.ravel().tolist(), pred.ravel().tolist()
    iou, dice = [], []
    for c in range(k):
        tp = sum(1 for a, b in zip(t, p, strict=True) if a == c and b == c)
        fp = sum(1 for a, b in zip(t, p, strict=True) if a != c and b == c)
        fn = sum(1 for a, b in zip(t, p, strict=True) if a == c and b != c)
        iou.append(tp / (tp + fp + fn) if tp + fp + fn else float("nan"))
        dice.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan"))
    return {"iou": iou, "dice": dice, "acc": [sum(a == b for a, b in zip(t, p, strict=True)) / len(t)]}


def test_by_hand() -> None:
    truth = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [0, 2, 2, 0], [0, 2, 2, 0]])
    pred = np.array([[0, 1, 1, 1], [0, 0, 1, 1], [0, 2, 0, 0], [2, 2, 2, 0]])
    cm = seg.confusion_matrix(truth, pred, 3)
    np.testing.assert_array_equal(cm, [[6, 1, 1], [0, 4, 0], [1, 0, 3]])
    assert seg.pixel_accuracy(cm) == 13 / 16
    np.testing.assert_allclose(seg.iou_per_class(cm), [2 / 3, 4 / 5, 3 / 5])
    np.testing.assert_allclose(seg.dice_per_class(cm), [12 / 15, 8 / 9, 3 / 4])
    assert seg.mean_iou(cm) == pytest.approx(31 / 45)
    assert seg.mean_iou(cm, [1, 2]) == pytest.approx(0.7)
    assert seg.mean_class_accuracy(cm) == pytest.approx(2.5 / 3)
    assert seg.frequency_weighted_iou(cm) == pytest.approx(1 / 3 + 0.2 + 0.15)


def test_absent_class_and_ignore_index() -> None:
    truth = np.array([[0, 0], [255, 1]])
    pred = np.array([[0, 1], [1, 1]])
    cm = seg.confusion_matrix(truth, pred, 3, ignore_index=255)
    assert cm.sum() == 3  # the ignored pixel is not counted, whatever was predicted there
    iou = seg.iou_per_class(cm)
    assert np.isnan(iou[2]) and iou[0] == 0.5 and iou[1] == 0.5
    assert seg.mean_iou(cm) == 0.5  # class 2 (in neither map) is skipped, not counted as 0
    with pytest.raises(ValueError, match="outside"):
        seg.confusion_matrix(np.array([3]), np.array([0]), 3)
    with pytest.raises(ValueError, match="same shape"):
        seg.confusion_matrix(np.zeros((2, 2), int), np.zeros((2, 3), int), 2)
    with pytest.raises(ValueError, match="integer"):
        seg.confusion_matrix(np.zeros(2), np.zeros(2), 2)


@SETTINGS
@given(label_maps())
def test_equals_pixel_loops(maps: tuple[np.ndarray, np.ndarray, int]) -> None:
    truth, pred, k = maps
    cm = seg.confusion_matrix(truth, pred, k)
    direct = _loops(truth, pred, k)
    np.testing.assert_allclose(seg.iou_per_class(cm), direct["iou"], equal_nan=True)
    np.testing.assert_allclose(seg.dice_per_class(cm), direct["dice"], equal_nan=True)
    assert seg.pixel_accuracy(cm) == pytest.approx(direct["acc"][0])
    iou, dice = seg.iou_per_class(cm), seg.dice_per_class(cm)
    present = ~np.isnan(iou)
    np.testing.assert_allclose(dice[present], 2 * iou[present] / (1 + iou[present]))


@pytest.mark.filterwarnings("ignore:A single label was found")
@SETTINGS
@given(label_maps())
def test_equals_scikit_learn(maps: tuple[np.ndarray, np.ndarray, int]) -> None:
    truth, pred, k = maps
    t, p = truth.ravel(), pred.ravel()
    labels = list(range(k))
    cm = seg.confusion_matrix(truth, pred, k)
    np.testing.assert_array_equal(cm, sk_confusion_matrix(t, p, labels=labels))
    assert seg.pixel_accuracy(cm) == pytest.approx(accuracy_score(t, p))
    # scikit-learn scores a class in neither map as 0 (zero_division); ours is NaN and left out.
    present = ~np.isnan(seg.iou_per_class(cm))
    sk_iou = jaccard_score(t, p, labels=labels, average=None, zero_division=0)
    sk_f1 = f1_score(t, p, labels=labels, average=None, zero_division=0)
    np.testing.assert_allclose(seg.iou_per_class(cm)[present], sk_iou[present])
    np.testing.assert_allclose(seg.dice_per_class(cm)[present], sk_f1[present])
    present_labels = [c for c in labels if present[c]]
    assert seg.mean_iou(cm) == pytest.approx(
        jaccard_score(t, p, labels=present_labels, average="macro", zero_division=0)
    )
    # Frequency-weighted IoU is scikit-learn's support-weighted Jaccard.
    assert seg.frequency_weighted_iou(cm) == pytest.approx(
        jaccard_score(t, p, labels=labels, average="weighted", zero_division=0)
    )
