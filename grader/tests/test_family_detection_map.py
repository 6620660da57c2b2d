"""Hand-checked cases for the ``detection-map`` family."""

from __future__ import annotations

import copy
import itertools
import json
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from grader.answers import AnswerFormatError
from grader.i18n import word
from grader.problems import get_family
from grader.problems.detection_map import parse_flags
from grader.reference import COCO_IOU_THRESHOLDS, coco_map, evaluate_detections
from grader.tests.test_reference_detection import run_cocoeval

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
    grade = FAMILY.check(p, FAMILY.format_answer(p, {**right, **alt}))
    assert grade.gradable and grade.misconceptions == (tag,)
    assert grade.score < 1
    misconception = next(m for m in FAMILY.misconceptions if m.tag == tag)
    for lang in ("en", "zh-Hant"):
        assert misconception.message(lang) in word(grade.message, lang)


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
    with pytest.raises(AnswerFormatError, match="neither TP nor FP") as error:
        parse_flags("TP maybe", 2)
    assert error.value.message("zh-Hant") == "第 2 個值：「maybe」不是 TP 或 FP（請寫 TP/FP 或 1/0）。"
    with pytest.raises(AnswerFormatError, match="Expected 3 values") as error:
        parse_flags("TP FP", 3)
    assert error.value.message("zh-Hant") == "需要 3 個值，但收到 2 個。"


def test_format_errors_cost_nothing() -> None:
    p = params()
    good = {"tp": "FP TP TP FP", "precision": "0, 1/2, 2/3, 1/2", "recall": "0 1/3 2/3 2/3", "ap": "4/9"}
    for part, bad in [("tp", "TP FP"), ("precision", "0, 0.5, 0.67"), ("ap", "44%"), ("recall", "a b c d")]:
        result = FAMILY.check(p, {**good, part: bad})
        assert not result.gradable and set(result.format_errors) == {part}
        shown = result.for_student(lang="zh-Hant")
        assert shown["gradable"] is False and shown["score"] == 0 and shown["points"] == 0
        assert shown["format_errors"][part]


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
    assert "**貓 (cat)**（3 個真實框）" in FAMILY.explain(params(), "zh-Hant")
    labels = [(part.label, part.label_in("zh-Hant")) for part in FAMILY.parts(params())]
    assert labels == [("TP/FP (cat)", "TP/FP（貓 cat）"), ("precision (cat)", "精確率 precision（貓）"),
                      ("recall (cat)", "召回率 recall（貓）"), ("AP (cat)", "AP（貓）")]


# --------------------------------------------------------------------------- COCO mode

COCO = {"method": "coco"}
COCO_TAGS = {"coco-only-iou-50", "coco-two-thresholds-only", "coco-11-point", "coco-area-not-101-points",
             "no-precision-envelope"}
THRESHOLDS = [Fraction(50 + 5 * k, 100) for k in range(10)]


def coco_params() -> dict[str, Any]:
    """Hand-built COCO scene. cat: G0 (image 1) found loosely by D0 (IoU 64/100, score 0.9) and tightly
    by D1 (IoU 81/100, score 0.6); G1 (image 2) found by D2 (IoU 70/130 ≈ 0.538, score 0.8). dog: G2
    found exactly by D3 (0.7); D4 (0.95) is a false alarm on image 2, which has no dog.

    cat at 0.50: D0 TP, D2 TP, D1 FP (G0 taken): recall 1/2, 1 at precision 1 → AP 1.
    cat at 0.55 and 0.60: D0 TP, D2 FP, D1 FP → 51 levels (r ≤ 0.5) at 1 → 51/101.
    cat at 0.65 … 0.80: D0 FP, D2 FP, D1 TP (precision 1/3 at recall 1/2) → 51·(1/3)/101 = 17/101.
    cat at 0.85 … 0.95: nothing → 0.   dog everywhere: D4 FP, D3 TP → 101 levels at 1/2 → 1/2.
    AP50 = (1 + 1/2)/2 = 3/4; AP75 = (17/101 + 1/2)/2 = 135/404;
    AP@[.5:.95] = ((1 + 2·51/101 + 4·17/101)/10 + 1/2)/2 = 776/2020.
    """
    gts = [
        {"image_id": 1, "class_id": "cat", "box": [0, 0, 10, 10]},
        {"image_id": 2, "class_id": "cat", "box": [0, 0, 10, 10]},
        {"image_id": 1, "class_id": "dog", "box": [20, 20, 30, 30]},
    ]
    dets = [
        {"image_id": 1, "class_id": "cat", "box": [0, 0, 8, 8], "score": 0.9},
        {"image_id": 1, "class_id": "cat", "box": [1, 1, 10, 10], "score": 0.6},
        {"image_id": 2, "class_id": "cat", "box": [3, 0, 13, 10], "score": 0.8},
        {"image_id": 1, "class_id": "dog", "box": [20, 20, 30, 30], "score": 0.7},
        {"image_id": 2, "class_id": "dog", "box": [20, 20, 28, 28], "score": 0.95},
    ]
    return {"classes": ["cat", "dog"], "images": 2, "ground_truths": gts, "detections": dets, "method": "coco"}


def exact_iou(a: list[int], b: list[int]) -> Fraction:
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return Fraction(inter, (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def hand_ap(p: dict[str, Any], cls: str, t: Fraction) -> Fraction:
    """COCO's AP at ``t`` the way a student computes it: exact IoUs, greedy matching by score to a free
    ground truth with IoU ≥ t, and the 101 recall levels counted with fractions."""
    gts = [(j, g) for j, g in enumerate(p["ground_truths"]) if g["class_id"] == cls]
    matched: set[int] = set()
    rows: list[tuple[Fraction, Fraction]] = []
    for k, d in enumerate(sorted((d for d in p["detections"] if d["class_id"] == cls), key=lambda d: -d["score"]), 1):
        free = [(exact_iou(d["box"], g["box"]), j) for j, g in gts if g["image_id"] == d["image_id"] and j not in matched]
        best = max(free, default=None)
        if best is not None and best[0] >= t:
            matched.add(best[1])
        rows.append((Fraction(len(matched), len(gts)), Fraction(len(matched), k)))
    levels = [max((prec for rec, prec in rows if rec >= Fraction(i, 100)), default=Fraction(0)) for i in range(101)]
    return sum(levels, Fraction(0)) / 101


def test_coco_hand_case() -> None:
    p = coco_params()
    ans = FAMILY.solve(p)
    assert ans["ap50"] == pytest.approx([1.0, 0.5]) and ans["ap75"] == pytest.approx([17 / 101, 0.5])
    assert ans["map50"] == pytest.approx(0.75) and ans["map75"] == pytest.approx(135 / 404)
    assert ans["map"] == pytest.approx(776 / 2020)
    for cls, index in itertools.product(p["classes"], range(10)):
        assert coco_map(p["detections"], p["ground_truths"]).ap_per_class[cls][index] == pytest.approx(
            float(hand_ap(p, cls, THRESHOLDS[index])), abs=1e-12)
    alts = FAMILY.alternatives(p)
    assert set(alts) == COCO_TAGS
    assert alts["coco-only-iou-50"] == {"map": pytest.approx(0.75)}
    assert alts["coco-two-thresholds-only"] == {"map": pytest.approx((0.75 + 135 / 404) / 2)}
    # 11-point at 0.75 for cat: recall 0 … 0.5 (6 of the 11 levels) at 1/3 → 2/11.
    assert alts["coco-11-point"]["ap75"] == pytest.approx([2 / 11, 0.5])
    # The area: cat at 0.75 is 1/2 · 1/3; dog 1 · 1/2.
    assert alts["coco-area-not-101-points"]["ap75"] == pytest.approx([1 / 6, 0.5])
    # Raw precision, no envelope: dog's first row reaching recall 0 is D4's (precision 0), the rest D3's (1/2).
    assert alts["no-precision-envelope"]["ap50"][1] == pytest.approx(100 * 0.5 / 101)
    typed = {"ap50": "1, 1/2", "ap75": "17/101, 0.5", "map50": "0.75", "map75": "0.3342", "map": "0.3842"}
    assert FAMILY.check(p, typed).score == 1.0
    grade = FAMILY.check(p, {**typed, "map": "0.75"})
    assert grade.misconceptions == ("coco-only-iou-50",) and "AP50" in word(grade.parts[-1].message, "zh-Hant")


@pytest.mark.parametrize("tag", sorted(COCO_TAGS))
def test_each_coco_misconception_is_tagged_on_the_hand_case(tag: str) -> None:
    p = coco_params()
    alt = FAMILY.alternatives(p)[tag]
    grade = FAMILY.check(p, FAMILY.format_answer(p, {**FAMILY.solve(p), **alt}))
    assert grade.gradable and grade.misconceptions == (tag,) and grade.score < 1


def test_coco_error_carried_forward() -> None:
    """Wrong per-class APs (11-point instead of 101 points), then AP50, AP75 and AP@[.5:.95] computed
    correctly from them: only the per-class part loses points, and the mistake is named."""
    p = coco_params()
    right = FAMILY.solve(p)
    eleven = FAMILY.alternatives(p)["coco-11-point"]
    grade = FAMILY.check(p, FAMILY.format_answer(p, eleven))
    by_name = {part.name: part for part in grade.parts}
    # The per-class APs are the wrong method's (those that agree do so by coincidence): no credit.
    assert by_name["ap75"].score == 0.0 and by_name["map75"].score == 1.0 and by_name["map"].score == 1.0
    assert by_name["ap50"].score == 1.0 and grade.misconceptions == ("coco-11-point",)
    assert "Consistent with your earlier answer" in word(by_name["map"].message, "en")
    own = {**right, "map": (right["map50"] + 0.1 + sum(given_means(p))) / 10, "map75": 0.1}
    grade = FAMILY.check(p, FAMILY.format_answer(p, own))
    assert [part.score for part in grade.parts] == [1.0, 1.0, 1.0, 0.0, 1.0]


def given_means(p: dict[str, Any]) -> list[float]:
    """The eight class-mean APs the statement gives, as printed (4 decimals)."""
    table = FAMILY.render(p).split("| AP (mean over the classes) |")[1].splitlines()[0]
    cells = [c.strip() for c in table.strip(" |").split("|")]
    assert len(cells) == 10 and cells[0] == cells[5] == "?"
    return [float(c) for i, c in enumerate(cells) if i not in (0, 5)]


def test_coco_statement_in_both_languages() -> None:
    p = coco_params()
    en, zh = FAMILY.render(p, "en"), FAMILY.render(p, "zh-Hant")
    assert "101-point interpolated" in en and "not matched yet" in en and "| D2 | 2 | cat | [3, 0, 13, 10] | 0.80 | G1: 0.538 |" in en
    assert "| D4 | 2 | dog | [20, 20, 28, 28] | 0.95 | — |" in en and "AP@[.5:.95]" in en
    assert "101 點內插" in zh and "尚未被配對" in zh and "貓 (cat)" in zh and "| AP（各類別平均） | ? |" in zh
    assert given_means(p) == pytest.approx([0.5025, 0.5025, 0.3342, 0.3342, 0.3342, 0.25, 0.25, 0.25], abs=1e-4)
    explanation = FAMILY.explain(p, "en")
    assert "FP (matched already)" in explanation and "51 \\times 1.0000 + 50 \\times 1.0000" in explanation
    assert "0.3842" in explanation and "17/101" not in explanation
    assert "FP（真實框已被配對）" in FAMILY.explain(p, "zh-Hant")


def test_coco_constraints() -> None:
    for bad in ({"method": "coco", "classes": 1}, {"method": "coco", "tie": True}, {"method": "coco", "images": 4}):
        with pytest.raises(ValueError, match="bad constraints"):
            FAMILY.generate(0, bad)
    p = FAMILY.generate(7, {"method": "coco", "classes": 3})
    assert len(p["classes"]) == 3 and p["images"] == 3
    # Without a method constraint the family never draws coco (existing variants stay as they were).
    assert all(FAMILY.generate(seed)["method"] in ("voc", "voc07") for seed in range(40))


@pytest.mark.parametrize("constraints", [COCO, {**COCO, "classes": 3}, {**COCO, "classes": 2, "images": 3}])
def test_coco_generated_variants(constraints: dict[str, Any]) -> None:
    seen: set[str] = set()
    for seed in range(40):
        p = FAMILY.generate(seed, constraints)
        assert FAMILY.undiscriminated(p) == []
        right = FAMILY.solve(p)
        grade = FAMILY.check(p, FAMILY.format_answer(p, right))
        assert grade.score == 1.0
        for lang in ("en", "zh-Hant"):
            assert grade.for_student(lang=lang)["message"]
        assert FAMILY.check(p, json.loads(json.dumps(right))).score == 1.0
        # The rounded table of the statement plus the student's own AP50 and AP75 gives full marks.
        from_table = (right["map50"] + right["map75"] + sum(given_means(p))) / 10
        assert FAMILY.check(p, FAMILY.format_answer(p, {**right, "map": from_table})).score == 1.0
        for tag, alt in FAMILY.alternatives(p).items():
            seen.add(tag)
            grade = FAMILY.check(p, FAMILY.format_answer(p, {**right, **alt}))
            assert grade.misconceptions == (tag,) and grade.score < 1, (seed, tag)
        scores = [d["score"] for d in p["detections"]]
        assert len(set(scores)) == len(scores)
        for d in p["detections"]:
            ious = [exact_iou(d["box"], g["box"]) for g in p["ground_truths"]
                    if g["image_id"] == d["image_id"] and g["class_id"] == d["class_id"]]
            hits = [iou for iou in ious if iou > 0]
            assert len(hits) <= 1 and all(abs(iou - t) >= Fraction(1, 100) for iou in hits for t in THRESHOLDS)
        # Hand-computable: exact fractions give the reference's numbers.
        for i, cls in enumerate(p["classes"]):
            assert right["ap50"][i] == pytest.approx(float(hand_ap(p, cls, THRESHOLDS[0])), abs=1e-12)
            assert right["ap75"][i] == pytest.approx(float(hand_ap(p, cls, THRESHOLDS[5])), abs=1e-12)
        assert "?" in FAMILY.render(p, "zh-Hant") and FAMILY.explain(p, "zh-Hant")
    assert seen == COCO_TAGS


def test_coco_reference_answer_matches_pycocotools() -> None:
    """The family's answer is the reference ``coco_map``; on the generated scenes it equals COCOeval's
    stats[0:3], and the per-threshold tables the misconceptions re-score (VOC-style matching at each
    COCO threshold) agree with COCO matching there."""
    for seed in range(25):
        p = FAMILY.generate(seed, {**COCO, "classes": 2 + seed % 2})
        ids = {c: k + 1 for k, c in enumerate(p["classes"])}
        dets = [{**d, "class_id": ids[d["class_id"]]} for d in p["detections"]]
        gts = [{**g, "class_id": ids[g["class_id"]]} for g in p["ground_truths"]]
        ans = FAMILY.solve(p)
        np.testing.assert_allclose(run_cocoeval(dets, gts), [ans["map"], ans["map50"], ans["map75"]], rtol=0, atol=1e-12)
        per_class = coco_map(p["detections"], p["ground_truths"]).ap_per_class
        for index, threshold in enumerate(COCO_IOU_THRESHOLDS):
            voc_style = evaluate_detections(p["detections"], p["ground_truths"], iou_threshold=float(threshold), method="coco")
            for c in p["classes"]:
                assert voc_style.ap[c] == pytest.approx(per_class[c][index], abs=1e-12)
