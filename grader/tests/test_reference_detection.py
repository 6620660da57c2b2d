"""grader.reference.detection against plain-loop references, hand-worked cases and pycocotools."""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from grader.reference import detection as det

SETTINGS = settings(max_examples=60, deadline=None)


# --------------------------------------------------------------------------- plain references


def iou_scalar(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two xyxy boxes written out longhand."""
    area_a = max(a[2] - a[0], 0.0) * max(a[3] - a[1], 0.0)
    area_b = max(b[2] - b[0], 0.0) * max(b[3] - b[1], 0.0)
    iw = max(min(a[2], b[2]) - max(a[0], b[0]), 0.0)
    ih = max(min(a[3], b[3]) - max(a[1], b[1]), 0.0)
    inter = iw * ih
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


def nms_loop(boxes: list[list[float]], scores: list[float], thr: float) -> list[int]:
    """torchvision's CPU algorithm, with a stable descending order."""
    order = sorted(range(len(boxes)), key=lambda i: -scores[i])  # sorted() is stable
    removed = [False] * len(boxes)
    keep = []
    for pos, i in enumerate(order):
        if removed[i]:
            continue
        keep.append(i)
        for j in order[pos + 1 :]:
            if not removed[j] and iou_scalar(boxes[i], boxes[j]) > thr:
                removed[j] = True
    return keep


def voc_ap_loop(rec: list[float], prec: list[float]) -> float:
    """All-point AP the way the VOC2010+ devkit describes it: envelope, then rectangles."""
    mrec = [0.0, *rec, 1.0]
    mpre = [0.0, *prec, 0.0]
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    return sum((mrec[i] - mrec[i - 1]) * mpre[i] for i in range(1, len(mrec)) if mrec[i] != mrec[i - 1])


def sampled_ap_loop(rec: list[float], prec: list[float], levels: Sequence[float]) -> float:
    """Interpolated AP: mean over levels t of max precision over rows with recall >= t."""
    total = 0.0
    for t in levels:
        total += max([p for r, p in zip(rec, prec, strict=True) if r >= t], default=0.0)
    return total / len(levels)


def voc_eval_loop(dets: list[dict], gts: list[dict], thr: float) -> tuple[dict, list[str]]:
    """VOC-devkit style per-class evaluation in plain Python -> (ap per class with GT, outcomes)."""
    outcomes = [""] * len(dets)
    aps = {}
    for c in sorted({g["class_id"] for g in gts} | {d["class_id"] for d in dets}):
        idx = sorted((i for i, d in enumerate(dets) if d["class_id"] == c), key=lambda i: -dets[i]["score"])
        n_gt = sum(g["class_id"] == c for g in gts)
        used: set[int] = set()
        flags = []
        for i in idx:
            cands = [
                k for k, g in enumerate(gts) if g["class_id"] == c and g["image_id"] == dets[i]["image_id"]
            ]
            best, best_iou = None, -1.0
            for k in cands:
                o = iou_scalar(dets[i]["box"], gts[k]["box"])
                if o > best_iou:
                    best, best_iou = k, o
            if best is None:
                outcomes[i] = "no_gt"
            elif best_iou < thr:
                outcomes[i] = "low_iou"
            elif best in used:
                outcomes[i] = "duplicate"
            else:
                outcomes[i] = "tp"
                used.add(best)
            flags.append(outcomes[i] == "tp")
        if n_gt:
            tp = np.cumsum(flags)
            prec = [t / (k + 1) for k, t in enumerate(tp)]
            aps[c] = voc_ap_loop([t / n_gt for t in tp], prec)
    return aps, outcomes


def run_cocoeval(dets: list[dict], gts: list[dict]) -> np.ndarray:
    """pycocotools COCOeval stats[0:3] on in-memory data (xyxy converted to xywh)."""
    images = sorted({r["image_id"] for r in dets} | {r["image_id"] for r in gts})
    cats = sorted({r["class_id"] for r in dets} | {r["class_id"] for r in gts})

    def xywh(b: Sequence[float]) -> list[float]:
        return [b[0], b[1], b[2] - b[0], b[3] - b[1]]

    coco_gt = COCO()
    coco_gt.dataset = {
        "images": [{"id": i} for i in images],
        "categories": [{"id": c} for c in cats],
        "annotations": [
            # ids from 1: pycocotools treats a GT id of 0 as "unmatched".
            {
                "id": k + 1,
                "image_id": g["image_id"],
                "category_id": g["class_id"],
                "bbox": xywh(g["box"]),
                "area": (g["box"][2] - g["box"][0]) * (g["box"][3] - g["box"][1]),
                "iscrowd": 0,
            }
            for k, g in enumerate(gts)
        ],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt.createIndex()
        results = [
            {
                "image_id": d["image_id"],
                "category_id": d["class_id"],
                "bbox": xywh(d["box"]),
                "score": d["score"],
            }
            for d in dets
        ]
        coco_dt = coco_gt.loadRes(results)
        ev = COCOeval(coco_gt, coco_dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats[:3])


def assert_matches_cocoeval(dets: list[dict], gts: list[dict]) -> det.CocoEvaluation:
    ours = det.coco_map(dets, gts)
    got = np.array([ours.mean_ap, ours.ap50, ours.ap75])
    if not dets:  # loadRes cannot take an empty list; COCOeval would give 0 (or -1 without GT)
        expected = np.full(3, 0.0 if gts else np.nan)
    else:
        expected = run_cocoeval(dets, gts)
        expected = np.where(expected == -1, np.nan, expected)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12, equal_nan=True)
    return ours


# --------------------------------------------------------------------------- strategies


def int_box(draw: st.DrawFn, size: int = 12, allow_empty: bool = True) -> list[float]:
    x1, y1 = draw(st.integers(0, size)), draw(st.integers(0, size))
    w = draw(st.integers(0 if allow_empty else 1, 6))
    h = draw(st.integers(0 if allow_empty else 1, 6))
    return [float(x1), float(y1), float(x1 + w), float(y1 + h)]


@st.composite
def box_lists(draw: st.DrawFn, max_size: int = 10) -> list[list[float]]:
    n = draw(st.integers(0, max_size))
    out = []
    for _ in range(n):
        if draw(st.booleans()):
            out.append(int_box(draw))
        else:
            x1, y1 = draw(st.floats(-5, 20)), draw(st.floats(-5, 20))
            out.append([x1, y1, x1 + draw(st.floats(0, 8)), y1 + draw(st.floats(0, 8))])
    return out


@st.composite
def detection_problems(draw: st.DrawFn, *, integer: bool = True, max_images: int = 3, max_classes: int = 3):
    """Ground truths plus detections that are jittered copies of them or random boxes."""
    images = list(range(1, draw(st.integers(1, max_images)) + 1))
    classes = list(range(1, draw(st.integers(1, max_classes)) + 1))
    score_pool = st.sampled_from([0.9, 0.8, 0.5, 0.3]) if draw(st.booleans()) else st.floats(0.01, 1.0)

    def random_box() -> list[float]:
        if integer:
            return int_box(draw, size=10)
        x1, y1 = draw(st.floats(0, 10)), draw(st.floats(0, 10))
        return [x1, y1, x1 + draw(st.floats(0.5, 6)), y1 + draw(st.floats(0.5, 6))]

    gts = [
        {
            "image_id": draw(st.sampled_from(images)),
            "class_id": draw(st.sampled_from(classes)),
            "box": random_box(),
        }
        for _ in range(draw(st.integers(0, 8)))
    ]
    dets = []
    for _ in range(draw(st.integers(0, 14))):
        if gts and draw(st.integers(0, 3)) > 0:
            g = draw(st.sampled_from(gts))
            jitter = st.integers(-2, 2).map(float) if integer else st.floats(-1.5, 1.5)
            x1, y1, x2, y2 = (v + draw(jitter) for v in g["box"])
            box = [min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)]
            cls = g["class_id"] if draw(st.integers(0, 4)) else draw(st.sampled_from(classes))
            img = g["image_id"]
        else:
            box, cls, img = random_box(), draw(st.sampled_from(classes)), draw(st.sampled_from(images))
        dets.append({"image_id": img, "class_id": cls, "box": box, "score": draw(score_pool)})
    return dets, gts


# --------------------------------------------------------------------------- IoU


def test_box_iou_hand_cases() -> None:
    a = [[0, 0, 2, 1], [0, 0, 4, 4], [0, 0, 1, 1], [0, 0, 1, 1]]
    b = [[1, 0, 3, 1], [1, 1, 3, 3], [1, 0, 2, 1], [0, 0, 1, 1]]
    got = np.diag(det.box_iou(a, b))
    np.testing.assert_allclose(got, [1 / 3, 4 / 16, 0.0, 1.0])  # half overlap, contained, touching, identical
    # Continuous coordinates, no +1: a 10x10 box shifted by 5 has IoU 50/150.
    assert det.box_iou([0, 0, 10, 10], [5, 0, 15, 10])[0, 0] == pytest.approx(1 / 3)
    # Degenerate and inverted boxes give 0, never NaN, even against themselves.
    degenerate = [[2, 2, 2, 5], [3, 3, 3, 3], [5, 5, 1, 1]]
    out = det.box_iou(degenerate, degenerate + [[0, 0, 10, 10]])
    assert np.array_equal(out, np.zeros((3, 4)))
    assert det.box_iou(np.zeros((0, 4)), [[0, 0, 1, 1]]).shape == (0, 1)
    assert det.box_iou([[0, 0, 1, 1]], []).shape == (1, 0)


@SETTINGS
@given(a=box_lists(), b=box_lists())
def test_box_iou_matches_scalar_reference(a: list[list[float]], b: list[list[float]]) -> None:
    got = det.box_iou(np.asarray(a).reshape(-1, 4), np.asarray(b).reshape(-1, 4))
    assert got.shape == (len(a), len(b))
    expected = np.array([[iou_scalar(x, y) for y in b] for x in a]).reshape(len(a), len(b))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert np.all((got >= 0) & (got <= 1))
    np.testing.assert_array_equal(
        det.box_iou(np.asarray(b).reshape(-1, 4), np.asarray(a).reshape(-1, 4)), got.T
    )


def test_box_iou_rejects_bad_shapes_and_nan() -> None:
    with pytest.raises(ValueError, match="shape"):
        det.box_iou([[0, 0, 1]], [[0, 0, 1, 1]])
    with pytest.raises(ValueError, match="NaN"):
        det.box_iou([[0, 0, np.nan, 1]], [[0, 0, 1, 1]])


# --------------------------------------------------------------------------- NMS


@SETTINGS
@given(boxes=box_lists(max_size=12), data=st.data())
def test_nms_matches_loop_reference(boxes: list[list[float]], data: st.DataObject) -> None:
    scores = data.draw(
        st.lists(
            st.sampled_from([0.1, 0.5, 0.5, 0.7, 0.9]) | st.floats(0, 1),
            min_size=len(boxes),
            max_size=len(boxes),
        )
    )
    thr = data.draw(st.sampled_from([0.0, 1 / 3, 0.5, 0.7, 1.0]) | st.floats(0, 1))
    got = det.nms(np.asarray(boxes).reshape(-1, 4), scores, thr)
    assert got.dtype == np.int64
    assert got.tolist() == nms_loop(boxes, scores, thr)


def test_nms_hand_cases() -> None:
    boxes = [[0, 0, 2, 1], [1, 0, 3, 1], [0, 0, 2, 1.05], [10, 10, 11, 11]]
    # IoU(0, 1) = 1/3 exactly: equal to the threshold, so box 1 survives (strict >).
    assert det.nms(boxes[:2], [0.9, 0.8], 1 / 3).tolist() == [0, 1]
    assert det.nms(boxes[:2], [0.9, 0.8], 0.33).tolist() == [0]
    # Highest score first; 2 overlaps 0 heavily and is removed; far box kept.
    assert det.nms(boxes, [0.6, 0.5, 0.9, 0.1], 0.5).tolist() == [2, 1, 3]
    # Equal scores: input order decides.
    assert det.nms([[0, 0, 1, 1], [0, 0, 1, 1]], [0.5, 0.5], 0.5).tolist() == [0]
    assert det.nms([[0, 0, 1, 1], [0, 0, 1, 1]][::-1], [0.5, 0.5], 0.5).tolist() == [0]
    assert det.nms(np.zeros((0, 4)), [], 0.5).tolist() == []
    with pytest.raises(ValueError, match="iou_threshold"):
        det.nms(boxes, [1, 1, 1, 1], 1.5)
    with pytest.raises(ValueError, match="scores"):
        det.nms(boxes, [1, 1], 0.5)


# --------------------------------------------------------------------------- average precision

# 4 GT; ranked detections TP, FP, TP, TP, FP, FP.
HAND_RECALL = [0.25, 0.25, 0.5, 0.75, 0.75, 0.75]
HAND_PRECISION = [1.0, 0.5, 2 / 3, 0.75, 0.6, 0.5]


def test_average_precision_hand_example_differs_by_method() -> None:
    # Envelope: 1 up to recall 0.25, 0.75 up to recall 0.75, nothing beyond.
    # voc07: levels 0, .1, .2 -> 1; .3 .. .7 -> 0.75; .8, .9, 1 -> 0  => (3 + 5 * 0.75) / 11
    assert det.average_precision(HAND_RECALL, HAND_PRECISION, "voc07") == pytest.approx(6.75 / 11, abs=1e-15)
    # voc (all-point): 0.25 * 1 + 0.5 * 0.75 = 0.625
    assert det.average_precision(HAND_RECALL, HAND_PRECISION, "voc") == pytest.approx(0.625, abs=1e-15)
    # coco: 26 levels (0 .. 0.25) at 1, 50 levels (0.26 .. 0.75) at 0.75, 25 at 0  => 63.5 / 101
    assert det.average_precision(HAND_RECALL, HAND_PRECISION, "coco") == pytest.approx(63.5 / 101, abs=1e-15)


def test_average_precision_edge_cases() -> None:
    for method in ("voc07", "voc", "coco"):
        assert det.average_precision([0.5, 1.0], [1.0, 1.0], method) == 1.0
        assert det.average_precision([], [], method) == 0.0
        assert det.average_precision([0.0, 0.0], [0.0, 0.0], method) == 0.0
    # Recall of exactly 3/10 reaches the 0.3 level (the devkit's arange grid would miss it).
    rec, prec = [0.1, 0.2, 3 / 10], [1.0, 1.0, 1.0]
    assert det.average_precision(rec, prec, "voc07") == pytest.approx(4 / 11)
    with pytest.raises(ValueError, match="non-decreasing"):
        det.average_precision([0.5, 0.25], [1.0, 0.5])
    with pytest.raises(ValueError, match="method"):
        det.average_precision([0.5], [1.0], "voc12")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        det.average_precision([0.5], [1.5])


@st.composite
def pr_tables(draw: st.DrawFn) -> tuple[list[float], list[float]]:
    flags = draw(st.lists(st.booleans(), min_size=1, max_size=30))
    n_gt = sum(flags) + draw(st.integers(0 if sum(flags) else 1, 5))
    tp = np.cumsum(flags)
    rec = (tp / n_gt).tolist()
    prec = (tp / np.arange(1, len(flags) + 1)).tolist()
    return rec, prec


@SETTINGS
@given(table=pr_tables())
def test_average_precision_matches_loop_definitions(table: tuple[list[float], list[float]]) -> None:
    rec, prec = table
    assert det.average_precision(rec, prec, "voc") == pytest.approx(voc_ap_loop(rec, prec), abs=1e-12)
    levels07 = [k / 10 for k in range(11)]
    assert det.average_precision(rec, prec, "voc07") == pytest.approx(
        sampled_ap_loop(rec, prec, levels07), abs=1e-12
    )
    levels_coco = np.linspace(0.0, 1.0, 101).tolist()
    assert det.average_precision(rec, prec, "coco") == pytest.approx(
        sampled_ap_loop(rec, prec, levels_coco), abs=1e-12
    )


def test_coco_grids_are_pycocotools_grids() -> None:
    params = COCOeval(iouType="bbox").params
    np.testing.assert_array_equal(det.COCO_IOU_THRESHOLDS, params.iouThrs)
    np.testing.assert_array_equal(det.COCO_RECALL_THRESHOLDS, params.recThrs)


# --------------------------------------------------------------------------- VOC-style evaluation


def d(img: Any, cls: Any, box: list[float], score: float) -> dict[str, Any]:
    return {"image_id": img, "class_id": cls, "box": box, "score": score}


def g(img: Any, cls: Any, box: list[float]) -> dict[str, Any]:
    return {"image_id": img, "class_id": cls, "box": box}


def test_evaluate_detections_hand_case() -> None:
    gts = [
        g("a", "cat", [0, 0, 10, 10]),
        g("a", "cat", [20, 0, 30, 10]),
        g("b", "cat", [0, 0, 10, 10]),
        g("b", "dog", [0, 0, 10, 10]),
        g("c", "bird", [0, 0, 4, 4]),  # never detected: AP 0, still in the mAP
    ]
    dets = [
        d("a", "cat", [0, 0, 10, 10], 0.9),  # TP (GT 0)
        d("a", "cat", [1, 0, 10, 10], 0.8),  # best GT 0 again -> duplicate FP
        d("b", "cat", [0, 0, 10, 20], 0.7),  # IoU 0.5 >= 0.5 -> TP (GT 2)
        d("a", "cat", [20, 0, 28, 10], 0.6),  # IoU 0.8 -> TP (GT 1)
        d("c", "cat", [0, 0, 1, 1], 0.95),  # no cat in image c -> FP
        d("b", "dog", [5, 5, 15, 15], 0.5),  # IoU 25/175 -> low-IoU FP
        d("b", "horse", [0, 0, 1, 1], 0.4),  # class without GT: not in the mAP
    ]
    ev = det.evaluate_detections(dets, gts, iou_threshold=0.5, method="voc")
    assert [m.outcome for m in ev.matches] == ["tp", "duplicate", "tp", "tp", "no_gt", "low_iou", "no_gt"]
    assert [m.matched_gt for m in ev.matches] == [0, None, 2, 1, None, None, None]
    assert ev.matches[1].best_gt == 0 and ev.matches[1].iou == pytest.approx(0.9)
    assert ev.matches[5].iou == pytest.approx(25 / 175)
    cat = ev.classes["cat"]
    assert cat.order == (4, 0, 1, 2, 3)
    assert cat.is_tp == (False, True, False, True, True)
    assert cat.cum_tp == (0, 1, 1, 2, 3) and cat.cum_fp == (1, 1, 2, 2, 2)
    np.testing.assert_allclose(cat.precision, [0, 1 / 2, 1 / 3, 2 / 4, 3 / 5])
    np.testing.assert_allclose(cat.recall, [0, 1 / 3, 1 / 3, 2 / 3, 1.0])
    # Envelope 0.6 over the whole recall range -> all-point AP 0.6; 11-point also 0.6.
    assert cat.ap == pytest.approx(0.6)
    assert ev.ap == pytest.approx({"bird": 0.0, "cat": 0.6, "dog": 0.0})
    assert ev.mean_ap == pytest.approx(0.2)
    assert math.isnan(ev.classes["horse"].ap) and "horse" not in ev.ap
    assert ev.classes["bird"].order == () and ev.classes["bird"].num_gt == 1
    # At IoU 0.55 the 0.5-IoU detection becomes a low-IoU FP.
    ev55 = det.evaluate_detections(dets, gts, iou_threshold=0.55)
    assert ev55.matches[2].outcome == "low_iou"


def test_voc_duplicate_rule_differs_from_coco() -> None:
    # Two objects side by side; both detections overlap the left one best.
    gts = [g(1, 1, [0, 0, 10, 10]), g(1, 1, [4, 0, 14, 10])]
    dets = [d(1, 1, [0, 0, 10, 10], 0.9), d(1, 1, [1, 0, 11, 10], 0.8)]
    iou = det.box_iou(dets[1]["box"], [gt["box"] for gt in gts])[0]
    assert iou[0] > iou[1] >= 0.5  # best is the taken GT, but the other GT also qualifies
    voc = det.evaluate_detections(dets, gts)
    assert [m.outcome for m in voc.matches] == ["tp", "duplicate"]
    assert voc.ap[1] == pytest.approx(0.5)
    coco = assert_matches_cocoeval(dets, gts)  # COCO matches the second detection to the free GT
    assert coco.ap50 == pytest.approx(1.0)


def test_ties_keep_input_order() -> None:
    gts = [g(1, 1, [0, 0, 10, 10])]
    dets = [d(1, 1, [0, 0, 10, 9], 0.5), d(1, 1, [0, 0, 10, 10], 0.5)]
    ev = det.evaluate_detections(dets, gts)
    assert ev.classes[1].order == (0, 1)
    assert [m.outcome for m in ev.matches] == ["tp", "duplicate"]
    ev_rev = det.evaluate_detections(dets[::-1], gts)
    assert [m.outcome for m in ev_rev.matches] == ["tp", "duplicate"]
    # Equal IoU with two GTs: the first GT (input order) is the best one.
    gts2 = [g(1, 1, [0, 0, 2, 2]), g(1, 1, [2, 0, 4, 2])]
    ev2 = det.evaluate_detections([d(1, 1, [1, 0, 3, 2], 0.9)], gts2, iou_threshold=0.3)
    assert ev2.matches[0].best_gt == 0 and ev2.matches[0].outcome == "tp"


@SETTINGS
@given(problem=detection_problems(), thr=st.sampled_from([0.3, 0.5, 0.7]))
def test_evaluate_detections_matches_loop_reference(
    problem: tuple[list[dict], list[dict]], thr: float
) -> None:
    dets, gts = problem
    ev = det.evaluate_detections(dets, gts, iou_threshold=thr)
    aps, outcomes = voc_eval_loop(dets, gts, thr)
    assert [m.outcome for m in ev.matches] == outcomes
    assert ev.ap.keys() == aps.keys()
    for c, ap in aps.items():
        assert ev.ap[c] == pytest.approx(ap, abs=1e-12)
    if aps:
        assert ev.mean_ap == pytest.approx(np.mean(list(aps.values())), abs=1e-12)
    else:
        assert math.isnan(ev.mean_ap)
    matched = [m.matched_gt for m in ev.matches if m.is_tp]
    assert len(matched) == len(set(matched))  # each GT matched at most once
    for method in ("voc07", "coco"):
        alt = det.evaluate_detections(dets, gts, iou_threshold=thr, method=method)
        for c, table in ev.classes.items():
            assert alt.classes[c].is_tp == table.is_tp  # the method changes interpolation only
            if table.num_gt:
                assert alt.ap[c] == pytest.approx(
                    det.average_precision(table.recall, table.precision, method)
                )


@pytest.mark.parametrize(
    ("dets", "gts", "kwargs", "message"),
    [
        ([{"image_id": 1, "class_id": 1, "box": [0, 0, 1, 1]}], [], {}, "missing score"),
        ([d(1, 1, [0, 0, 1], 0.5)], [], {}, "4 finite numbers"),
        ([d(1, 1, [0, 0, 1, 1], float("nan"))], [], {}, "finite"),
        ([], [g(1, 1, [0, 0, 1, 1])], {"iou_threshold": 0.0}, "iou_threshold"),
        ([], [g(1, 1, [0, 0, 1, 1])], {"method": "voc2012"}, "method"),
        ([], ["not a dict"], {}, "must be a dict"),
    ],
)
def test_evaluate_detections_validation(dets: list, gts: list, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        det.evaluate_detections(dets, gts, **kwargs)


# --------------------------------------------------------------------------- COCO mAP vs pycocotools


def test_coco_map_hand_case() -> None:
    # One object, one detection with IoU 0.62: TP at thresholds 0.50, 0.55, 0.60 only.
    gts = [g(1, 1, [0, 0, 10, 10])]
    dets = [d(1, 1, [0, 0, 10, 6.2], 0.9)]
    res = assert_matches_cocoeval(dets, gts)
    assert res.mean_ap == pytest.approx(0.3)
    assert (res.ap50, res.ap75) == (1.0, 0.0)
    assert res.ap_per_class[1] == (1.0, 1.0, 1.0, 0, 0, 0, 0, 0, 0, 0)
    # No ground truth at all: undefined.
    assert math.isnan(det.coco_map(dets, []).mean_ap)


def test_coco_map_gt_tie_goes_to_the_later_gt_like_pycocotools() -> None:
    # det 0 has IoU 7/9 with both A and B; pycocotools gives it the later one (B), so det 1
    # (exactly B) must fall back to A with IoU 0.6: TP at 0.50..0.60, FP above.
    gts = [g(1, 1, [0, 0, 4, 2]), g(1, 1, [1, 0, 5, 2])]
    dets = [d(1, 1, [0.5, 0, 4.5, 2], 0.9), d(1, 1, [1, 0, 5, 2], 0.8)]
    res = assert_matches_cocoeval(dets, gts)
    # Thresholds 0.5, 0.55, 0.6: AP 1; 0.65 .. 0.75: recall 1/2 -> 51 of 101 levels at precision 1;
    # 0.8 .. 0.95: det 0 misses too, det 1 takes B -> precision 1/2 up to recall 1/2 -> 51/202.
    expected = (3 * 1.0 + 3 * 51 / 101 + 4 * 51 / 202) / 10
    assert res.mean_ap == pytest.approx(expected, abs=1e-12)


def test_coco_map_score_ties_across_images_follow_image_id() -> None:
    # Same score on two images: pycocotools ranks image 1 before image 2 whatever the input order.
    gts = [g(2, 1, [0, 0, 10, 10])]
    dets = [d(2, 1, [0, 0, 10, 10], 0.5), d(1, 1, [0, 0, 10, 10], 0.5)]
    res = assert_matches_cocoeval(dets, gts)
    # FP first, then TP: precision 1/2 at recall 1 -> AP 0.5 at every threshold.
    assert res.mean_ap == pytest.approx(0.5)


@settings(max_examples=80, deadline=None)
@given(problem=detection_problems(integer=True))
def test_coco_map_matches_pycocotools_integer_boxes(problem: tuple[list[dict], list[dict]]) -> None:
    # Integer boxes make exact IoU ties with thresholds and between GTs common.
    assert_matches_cocoeval(*problem)


@settings(max_examples=50, deadline=None)
@given(problem=detection_problems(integer=False, max_images=4))
def test_coco_map_matches_pycocotools_float_boxes(problem: tuple[list[dict], list[dict]]) -> None:
    assert_matches_cocoeval(*problem)


def test_coco_map_keeps_100_detections_per_image_and_class() -> None:
    rng = np.random.default_rng(7)
    gts, dets = [], []
    for img in (1, 2):
        for k in range(30):
            x, y = float(rng.integers(0, 200)), float(rng.integers(0, 200))
            gts.append(g(img, 1 + k % 2, [x, y, x + 20, y + 20]))
    for _ in range(2 * 260):
        img, cls = int(rng.integers(1, 3)), int(rng.integers(1, 3))
        src = gts[int(rng.integers(0, len(gts)))]["box"]
        box = np.asarray(src) + rng.uniform(-6, 6, size=4)
        box = [min(box[0], box[2]), min(box[1], box[3]), max(box[0], box[2]), max(box[1], box[3])]
        dets.append(d(img, cls, box, float(rng.uniform())))
    # 520 detections over 4 image/class pairs: ~130 each, so the cutoff bites.
    res = assert_matches_cocoeval(dets, gts)
    assert res.mean_ap != pytest.approx(det.coco_map(dets, gts, max_dets=1000).mean_ap)


def test_coco_map_rejects_inverted_boxes() -> None:
    with pytest.raises(ValueError, match="x2 < x1"):
        det.coco_map([d(1, 1, [5, 0, 1, 1], 0.5)], [g(1, 1, [0, 0, 1, 1])])
