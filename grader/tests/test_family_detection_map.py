"""Hand-checked cases for the ``detection-map`` family."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from grader.answers import AnswerFormatError
from grader.problems import get_family
from grader.problems.detection_map import parse_flags

FAMILY = get_family("detection-map")

# One class "cat", two images, three ground truths:
#   G0 = img 1 [0,0,10,10], G1 = img 1 [30,30,40,40] (never found), G2 = img 2 [0,0,10,10].
# Detections, listed in this order:
#   D0 img 1 [0,0,10,10]  0.60  IoU 1 with G0
#   D1 img 1 [1,1,10,10]  0.90  IoU 81/100 = 0.81 with G0
#   D2 img 2 [0,0,10,5]   0.70  IoU 50/100 = 0.5 exactly with G2
#   D3 img 2 [5,5,15,15]  0.95  IoU 25/175 ≈ 0.14 with G2
# By score: D3 FP (low IoU), D1 TP (takes G0), D2 TP (IoU = 0.5 counts), D0 FP (G0 already taken).
#   precision 0, 1/2, 2/3, 1/2;  recall 0, 1/3, 2/3, 2/3;  envelope 2/3, 2/3, 2/3, 1/2
#   all-point AP = 1/3·2/3 + 1/3·2/3 = 4/9;  11-point: recall 0…0.3 → 2/3 (4 points), 0.4…0.6 → 2/3
#   (3 points), 0.7…1 → 0: 7·(2/3)/11 = 14/33.
#   raw precision area (no envelope): 1/3·1/2 + 1/3·2/3 = 7/18.
GTS = [
    {"image_id": 1, "class_id": "cat", "box": [0, 0, 10, 10]},
    {"image_id": 1, "class_id": "cat", "box": [30, 30, 40, 40]},
    {"image_id": 2, "class_id": "cat", "box": [0, 0, 10, 10]},
]
DETS = [
    {"image_id": 1, "class_id": "cat", "box": [0, 0, 10, 10], "score": 0.6},
    {"image_id": 1, "class_id": "cat", "box": [1, 1, 10, 10], "score": 0.9},
    {"image_id": 2, "class_id": "cat", "box": [0, 0, 10, 5], "score": 0.7},
    {"image_id": 2, "class_id": "cat", "box": [5, 5, 15, 15], "score": 0.95},
]


def params(method: str = "voc", two_classes: bool = False) -> dict[str, Any]:
    gts, dets, classes = copy.deepcopy(GTS), copy.deepcopy(DETS), ["cat"]
    if two_classes:
        # "dog": one object, found once (AP 1). mAP = (4/9 + 1)/2; by detections (4·4/9 + 1·1)/5 = 5/9.
        classes.append("dog")
        gts.append({"image_id": 1, "class_id": "dog", "box": [30, 0, 40, 10]})
        dets.append({"image_id": 1, "class_id": "dog", "box": [30, 0, 40, 10], "score": 0.5})
    return {"classes": classes, "images": 2, "ground_truths": gts, "detections": dets, "method": method}


RIGHT = {"tp": [0, 1, 1, 0], "precision": [0, 1 / 2, 2 / 3, 1 / 2], "recall": [0, 1 / 3, 2 / 3, 2 / 3]}


def test_table_and_ap_by_hand() -> None:
    ans = FAMILY.solve(params())
    assert ans["tp"] == RIGHT["tp"]
    assert ans["precision"] == pytest.approx(RIGHT["precision"])
    assert ans["recall"] == pytest.approx(RIGHT["recall"])
    assert ans["ap"] == pytest.approx(4 / 9)
    assert FAMILY.solve(params("voc07"))["ap"] == pytest.approx(14 / 33)
    two = FAMILY.solve(params(two_classes=True))
    assert two["ap"] == pytest.approx([4 / 9, 1.0]) and two["map"] == pytest.approx((4 / 9 + 1) / 2)


def test_misconception_alternatives_by_hand() -> None:
    alts = FAMILY.alternatives(params())
    assert alts["ap-method-swapped"]["ap"] == pytest.approx(14 / 33)
    assert alts["no-precision-envelope"]["ap"] == pytest.approx(7 / 18)
    # D0 counted as a TP: recall reaches 1, precision 3/4 at the end → envelope 3/4 everywhere.
    assert alts["duplicate-counted-as-tp"]["tp"] == [0, 1, 1, 1]
    assert alts["duplicate-counted-as-tp"]["ap"] == pytest.approx(0.75)
    # IoU = 0.5 treated as a miss: D2 becomes an FP, AP = 1/3 · 1/2.
    assert alts["iou-threshold-strict"]["tp"] == [0, 1, 0, 0]
    assert alts["iou-threshold-strict"]["ap"] == pytest.approx(1 / 6)
    # Listed order D0, D1, D2, D3: D0 takes G0, D1 is then the duplicate.
    assert alts["not-sorted-by-score"]["tp"] == [1, 0, 1, 0]
    weighted = FAMILY.alternatives(params(two_classes=True))["map-weighted-by-detections"]["map"]
    assert weighted == pytest.approx(5 / 9)


@pytest.mark.parametrize(
    "tag",
    [
        "ap-method-swapped",
        "no-precision-envelope",
        "duplicate-counted-as-tp",
        "iou-threshold-strict",
        "not-sorted-by-score",
        "map-weighted-by-detections",
    ],
)
def test_each_misconception_is_tagged_on_the_fixed_variant(tag: str) -> None:
    p = params(two_classes=True)
    right = FAMILY.solve(p)
    alt = FAMILY.alternatives(p)[tag]
    grade = FAMILY.check(p, FAMILY.format_answer(p, {**right, **alt}), lang="zh-Hant")
    assert grade.gradable and grade.misconceptions == [tag]
    assert grade.score < 1


def test_tp_fp_can_be_typed_as_words() -> None:
    p = params()
    typed = {"tp": "FP TP TP FP", "precision": "0, 1/2, 2/3, 1/2", "recall": "0 1/3 2/3 2/3", "ap": "4/9"}
    assert FAMILY.check(p, typed).score == 1.0
    assert FAMILY.check(p, {**typed, "tp": "[0, 1, 1, 0]"}).score == 1.0
    assert FAMILY.check(p, {**typed, "tp": [False, True, True, False]}).score == 1.0
    # Per-entry credit in the table: one wrong flag out of four.
    grade = FAMILY.check(p, {**typed, "tp": "FP TP FP FP"})
    assert grade.parts[0].score == pytest.approx(3 / 4)


def test_parse_flags() -> None:
    assert parse_flags("ＴＰ，ＦＰ", 2) == [1, 0]
    assert parse_flags("t f 1 0", 4) == [1, 0, 1, 0]
    with pytest.raises(AnswerFormatError, match="neither TP nor FP"):
        parse_flags("TP maybe", 2)
    with pytest.raises(AnswerFormatError, match="Expected 3 values"):
        parse_flags("TP FP", 3)


def test_format_errors_cost_nothing() -> None:
    p = params()
    good = {"tp": "FP TP TP FP", "precision": "0, 1/2, 2/3, 1/2", "recall": "0 1/3 2/3 2/3", "ap": "4/9"}
    for part, bad in [("tp", "TP FP"), ("precision", "0, 0.5, 0.67"), ("ap", "44%"), ("recall", "a b c d")]:
        result = FAMILY.check(p, {**good, part: bad})
        assert not result.gradable and set(result.format_errors) == {part}
        assert result.to_dict()["score"] is None


def test_generated_variants() -> None:
    ties = multi = 0
    for seed in range(120):
        p = FAMILY.generate(seed)
        assert 1 <= len(p["classes"]) <= 3 and p["method"] in ("voc", "voc07")
        alts = FAMILY.alternatives(p)
        assert "duplicate-counted-as-tp" in alts  # the table class always has a duplicate
        ties += "iou-threshold-strict" in alts
        multi += len(p["classes"]) > 1
        scores = [d["score"] for d in p["detections"]]
        assert len(set(scores)) == len(scores)
        ans = FAMILY.solve(p)
        assert all(0 <= r <= 1 for r in ans["recall"])
    assert ties >= 15 and multi >= 40


def test_constraints_and_text() -> None:
    p = FAMILY.generate(5, {"classes": 3, "method": "voc07", "tie": True})
    assert len(p["classes"]) == 3 and p["method"] == "voc07" and "iou-threshold-strict" in FAMILY.alternatives(p)
    text = FAMILY.render(params("voc07"))
    assert "11-point" in text and "$\\ge 0.5$" in text and "| D3 | 2 | cat | [5, 5, 15, 15] | 0.95 |" in text
    zh = FAMILY.render(params(two_classes=True), "zh-Hant")
    assert "mAP 為各類別 AP 的平均" in zh and "第二個偵測是 FP" in zh
    explanation = FAMILY.explain(params())
    assert "FP (duplicate)" in explanation and "0.4444" in explanation
