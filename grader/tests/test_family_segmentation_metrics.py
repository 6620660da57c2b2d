"""Hand-checked cases for the ``segmentation-metrics`` family, and its answers against a direct
numpy computation and scikit-learn for generated variants."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.metrics import f1_score, jaccard_score

from grader.i18n import word
from grader.problems import get_family

FAMILY = get_family("segmentation-metrics")

# Confusion matrix [[6, 1, 1], [0, 4, 0], [1, 0, 3]] (rows: truth): 13 of 16 pixels right;
# IoU 6/9, 4/5, 3/5; Dice 12/15, 8/9, 6/8; recall 6/8, 4/4, 3/4.
TRUTH = [[0, 0, 1, 1], [0, 0, 1, 1], [0, 2, 2, 0], [0, 2, 2, 0]]
PRED = [[0, 1, 1, 1], [0, 0, 1, 1], [0, 2, 0, 0], [2, 2, 2, 0]]


def params(**kw: Any) -> dict[str, Any]:
    return {"classes": 3, "truth": TRUTH, "prediction": PRED, "background": True, "dice_class": 2, **kw}


RIGHT = {"pixel_accuracy": "13/16", "iou": "2/3, 4/5, 3/5", "miou": "31/45", "dice": "3/4"}


def test_answer_by_hand() -> None:
    ans = FAMILY.solve(params())
    assert ans["pixel_accuracy"] == 13 / 16
    assert ans["iou"] == pytest.approx([2 / 3, 0.8, 0.6])
    assert ans["miou"] == pytest.approx(31 / 45)
    assert ans["dice"] == 0.75
    assert FAMILY.solve(params(background=False))["miou"] == pytest.approx(0.7)
    assert FAMILY.check(params(), RIGHT).score == 1.0
    assert FAMILY.check(params(), {**RIGHT, "miou": "0.689"}).score == 1.0


@pytest.mark.parametrize(
    ("part", "value", "tag"),
    [
        ("pixel_accuracy", "5/6", "accuracy-averaged-over-classes"),  # (3/4 + 1 + 3/4) / 3
        ("miou", "0.70", "miou-background-excluded"),
        ("miou", "0.68333", "miou-weighted-by-pixels"),  # 8/16·2/3 + 4/16·4/5 + 4/16·3/5
        ("dice", "0.6", "iou-given-as-dice"),
        ("dice", "0.375", "dice-without-factor-two"),
    ],
)
def test_single_part_misconceptions(part: str, value: str, tag: str) -> None:
    grade = FAMILY.check(params(), {**RIGHT, part: value})
    assert grade.misconceptions == (tag,)
    wrong = [p for p in grade.parts if not p.correct]
    assert [p.name for p in wrong] == [part]


def test_iou_misconceptions_carry_forward_to_the_miou() -> None:
    # IoU given as recall (TP / (TP + FN)) and the mIoU averaged from it: the vector is wrong, the
    # mean of the student's own values gets the carried-forward credit; the tag names the mistake.
    grade = FAMILY.check(params(), {**RIGHT, "iou": "0.75, 1, 0.75", "miou": "5/6"})
    assert grade.misconceptions == ("iou-over-ground-truth",)
    parts = {p.name: p for p in grade.parts}
    assert parts["iou"].score == pytest.approx(0.0) and parts["miou"].score == 1.0
    assert "Consistent with your earlier answer" in word(parts["miou"].message, "en")
    grade = FAMILY.check(params(), {**RIGHT, "iou": "0.8, 8/9, 0.75", "miou": "0.81296"})
    assert grade.misconceptions == ("dice-given-as-iou",)


def test_background_included_when_excluded() -> None:
    p = params(background=False)
    grade = FAMILY.check(p, {**RIGHT, "miou": "31/45"})
    assert grade.misconceptions == ("miou-background-included",)
    assert "背景" in word(grade.message, "zh-Hant")


def test_statement_names_the_classes_averaged() -> None:
    assert "background included" in FAMILY.render(params())
    assert "foreground classes only" in FAMILY.render(params(background=False))
    assert "包括背景" in FAMILY.render(params(), "zh-Hant")
    explanation = FAMILY.explain(params())
    assert "| 0 | 6 | 1 | 1 |" in explanation and "\\tfrac{13}{16}" in explanation
    assert "\\frac{2 \\cdot 3}{4 + 4} = \\tfrac{3}{4}" in explanation


def test_generated_answers_equal_numpy_and_scikit_learn() -> None:
    """The family's answers for generated variants, recomputed from the maps with plain numpy
    masks and with scikit-learn's Jaccard and F1."""
    for seed in range(60):
        p = FAMILY.generate(seed)
        truth, pred, k = np.asarray(p["truth"]), np.asarray(p["prediction"]), p["classes"]
        assert len(np.unique(truth)) == k and len(np.unique(pred)) == k
        iou = []
        for c in range(k):
            a, b = truth == c, pred == c
            iou.append(np.logical_and(a, b).sum() / np.logical_or(a, b).sum())
        d = p["dice_class"]
        a, b = truth == d, pred == d
        dice = 2 * np.logical_and(a, b).sum() / (a.sum() + b.sum())
        counted = range(0 if p["background"] else 1, k)
        ans = FAMILY.solve(p)
        assert ans["pixel_accuracy"] == pytest.approx(np.mean(truth == pred))
        assert ans["iou"] == pytest.approx(iou)
        assert ans["miou"] == pytest.approx(np.mean([iou[c] for c in counted]))
        assert ans["dice"] == pytest.approx(dice)
        t, q = truth.ravel(), pred.ravel()
        assert ans["iou"] == pytest.approx(list(jaccard_score(t, q, average=None, labels=list(range(k)))))
        assert ans["miou"] == pytest.approx(jaccard_score(t, q, average="macro", labels=list(counted)))
        assert ans["dice"] == pytest.approx(f1_score(t, q, average=None, labels=[d])[0])


def test_constraints_and_variety() -> None:
    p = FAMILY.generate(5, {"classes": 4, "background": False})
    assert p["classes"] == 4 and p["background"] is False and 1 <= p["dice_class"] <= 3
    modes = {(FAMILY.generate(s)["classes"], FAMILY.generate(s)["background"]) for s in range(40)}
    assert modes == {(3, True), (3, False), (4, True), (4, False)}
    with pytest.raises(ValueError, match="unknown constraint"):
        FAMILY.generate(1, {"ignore": 255})
    with pytest.raises(ValueError, match="3 or 4"):
        FAMILY.generate(1, {"classes": 6})
