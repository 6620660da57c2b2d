"""Hand-checked cases for the ``box-encoding-anchors`` family, and its answers for generated
variants against the R-CNN paper's formulas in plain numpy and IoUs from pycocotools."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from grader.i18n import word
from grader.problems import get_family

FAMILY = get_family("box-encoding-anchors")

# A = [0, 0, 20, 40]: centre (10, 20), 20 × 40. G = [5, 10, 35, 50]: centre (20, 30), 30 × 40.
#   t = (10/20, 10/40, log 1.5, log 1) = (0.5, 0.25, 0.405465, 0).
# Deltas (0.1, −0.2, 0.5, −0.3) on A: centre (12, 12), size 20e^0.5 × 40e^−0.3 = 32.9744 × 29.6327
#   → [−4.4872, −2.8164, 28.4872, 26.8164].
# 448 × 448 image, 7 × 7 cells of 64: centre (200, 100) → column 3, row 1, offsets (0.125, 0.5625).
# Anchors vs G0 = [0, 0, 10, 10], G1 = [100, 100, 110, 110]: IoUs 0.9, 0.5, 0.5 (G1's best), 0.2, 0
#   → labels 1, −1, 1, 0, 0.
BASE: dict[str, Any] = {
    "anchor": [0, 0, 20, 40], "gt": [5, 10, 35, 50], "deltas": [0.1, -0.2, 0.5, -0.3],
    "image": [448, 448], "grid": 7, "centre": [200, 100],
    "anchors": [[0, 0, 10, 9], [0, 0, 10, 5], [100, 100, 110, 105], [100, 100, 110, 102], [50, 50, 60, 60]],
    "gts": [[0, 0, 10, 10], [100, 100, 110, 110]],
}
RIGHT = {
    "deltas": "0.5, 0.25, 0.4055, 0",
    "decoded": "-4.487, -2.816, 28.487, 26.816",
    "cell": "1, 3",
    "offset": "0.125, 0.5625",
    "labels": "1, -1, 1, 0, 0",
}


def test_answer_by_hand() -> None:
    ans = FAMILY.solve(BASE)
    assert ans["deltas"] == pytest.approx([0.5, 0.25, math.log(1.5), 0.0])
    assert ans["decoded"] == pytest.approx([-4.48721, -2.81636, 28.48721, 26.81636], abs=1e-4)
    assert ans["cell"] == [1, 3] and ans["offset"] == [0.125, 0.5625]
    assert ans["labels"] == [1, -1, 1, 0, 0]
    assert FAMILY.check(BASE, RIGHT).score == 1.0


@pytest.mark.parametrize(
    ("part", "value", "tag"),
    [
        ("deltas", "0.5, 0.25, 1.5, 1", "delta-no-log"),
        ("deltas", "0.3333, 0.25, 0.4055, 0", "delta-normalised-by-gt"),
        ("deltas", "-0.5, -0.25, -0.4055, 0", "delta-reversed"),
        ("decoded", "7, 18, 17, 6", "decode-no-exp"),  # centre (12, 12), "size" 20·0.5 × 40·(−0.3)
        ("decoded", "-6.387, 4.984, 26.587, 34.616", "decode-offset-not-scaled"),  # centre (10.1, 19.8)
        ("decoded", "12, 12, 32.974, 29.633", "decode-centre-form"),
        ("cell", "3, 1", "yolo-row-column-swapped"),
        ("offset", "0.4464, 0.2232", "yolo-offset-image-relative"),
        ("labels", "1, 0, 1, 0, 0", "anchor-ignore-band-dropped"),
        ("labels", "1, -1, -1, 0, 0", "anchor-best-match-forgotten"),
    ],
)
def test_each_misconception_by_hand(part: str, value: str, tag: str) -> None:
    grade = FAMILY.check(BASE, {**RIGHT, part: value})
    assert grade.misconceptions == (tag,), word(grade.message, "en")
    assert [p.name for p in grade.parts if not p.correct] == [part]


def test_rounded_cell_explains_cell_and_offset() -> None:
    # 1.5625 rounds to row 2: offset 1.5625 − 2 = −0.4375.
    grade = FAMILY.check(BASE, {**RIGHT, "cell": "2, 3", "offset": "0.125, -0.4375"})
    assert grade.misconceptions == ("yolo-cell-rounded",)
    assert "取下整" in word(grade.message, "zh-Hant")


def test_labels_get_per_anchor_credit() -> None:
    grade = FAMILY.check(BASE, {**RIGHT, "labels": "1, -1, 0, 0, 0"})
    labels = next(p for p in grade.parts if p.name == "labels")
    assert labels.score == pytest.approx(0.8)


def _xywh(boxes: list[list[int]]) -> list[list[int]]:
    return [[b[0], b[1], b[2] - b[0], b[3] - b[1]] for b in boxes]


def test_generated_answers_equal_independent_computations() -> None:
    """For generated variants: deltas and decoded boxes from the R-CNN paper's formulas written
    out here; labels from pycocotools' IoU and the RPN's rule in a plain loop; the statement's
    IoU table agrees with pycocotools."""
    for seed in range(60):
        p = FAMILY.generate(seed)
        ans = FAMILY.solve(p)
        (a1, b1, a2, b2), (c1, d1, c2, d2) = p["anchor"], p["gt"]
        pw, ph, gw, gh = a2 - a1, b2 - b1, c2 - c1, d2 - d1
        px, py = a1 + pw / 2, b1 + ph / 2
        gx, gy = c1 + gw / 2, d1 + gh / 2
        assert ans["deltas"] == pytest.approx([(gx - px) / pw, (gy - py) / ph, math.log(gw / pw), math.log(gh / ph)])
        tx, ty, tw, th = p["deltas"]
        x, y, w, h = px + pw * tx, py + ph * ty, pw * math.exp(tw), ph * math.exp(th)
        assert ans["decoded"] == pytest.approx([x - w / 2, y - h / 2, x + w / 2, y + h / 2])
        (cx, cy), (iw, ih), s = p["centre"], p["image"], p["grid"]
        assert ans["cell"] == [int(cy // (ih / s)), int(cx // (iw / s))]
        iou = np.asarray(coco_mask.iou(_xywh(p["anchors"]), _xywh(p["gts"]), [0] * len(p["gts"])))
        labels = [1 if r.max() >= 0.7 else 0 if r.max() < 0.3 else -1 for r in iou]
        for k in range(iou.shape[1]):
            labels[int(iou[:, k].argmax())] = 1
        assert ans["labels"] == labels
        assert -1 in labels and 0 in labels
        table = FAMILY.render(p)
        for i, row in enumerate(iou):
            assert f"| A{i} | {p['anchors'][i]} |" + "".join(f" {v:.2f} |" for v in row) in table


def test_statement_and_explanation() -> None:
    text = FAMILY.render(BASE)
    assert "$A = [0, 0, 20, 40]$" in text and "$t = (0.1, -0.2, 0.5, -0.3)$" in text
    assert "| A2 | [100, 100, 110, 105] | 0.00 | 0.50 |" in text
    zh = FAMILY.render(BASE, "zh-Hant")
    assert "錨框" in zh and "忽略" in zh
    explanation = FAMILY.explain(BASE)
    assert "\\log\\frac{30}{20} = 0.4055" in explanation
    assert "A2: best anchor of G1 (IoU 0.50) → positive (1)" in explanation
    assert "A1: 0.3 ≤ 0.50 < 0.7 → ignored (-1)" in explanation


def test_constraints() -> None:
    p = FAMILY.generate(4, {"gts": 2, "anchors": 6})
    assert len(p["gts"]) == 2 and len(p["anchors"]) == 6
    with pytest.raises(ValueError, match="bad constraints"):
        FAMILY.generate(4, {"gts": 3})
