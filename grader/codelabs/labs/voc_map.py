"""Lab ``voc-map``: PASCAL VOC mAP (all-point interpolation, "difficult" objects) in numpy.

Wire format (arrays in dicts, so they cross the sandbox boundary as they are):

* detections ``{"image_id": int (D,), "class_id": int (D,), "score": float (D,), "box": (D, 4)}``;
* ground truths ``{"image_id": int (G,), "class_id": int (G,), "box": (G, 4), "difficult": bool (G,)}``;
* result ``{"map": float, "ap": float (num_classes,)}``, NaN for a class without a
  non-difficult ground truth.

Expected values come from :func:`grader.reference.detection.evaluate_detections` (VOC matching:
greedy by descending score with stable ties, a detection takes its best-IoU ground truth among
all of its image and class, duplicates are false positives, TP when IoU ≥ threshold) and
:func:`~grader.reference.detection.average_precision` (``"voc"``, all-point). The reference has
no notion of "difficult"; :func:`expected_voc_map` adds the devkit's rule on top of its
per-detection matches: difficult objects do not count as positives, and a detection whose best
ground truth (IoU ≥ threshold) is difficult is ignored — removed from the ranking, neither TP nor
FP. Since a detection's outcome depends only on its own best ground truth, running the
reference with the difficult objects included and then dropping those detections is exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from grader.codelabs.base import Check, CodeLab, TestCase
from grader.codelabs.checks import expect_array, expect_mapping, expect_number
from grader.i18n import N_, Text, join_sentences
from grader.reference.detection import APMethod, average_precision, box_iou, evaluate_detections

__all__ = ["LAB", "VocMapLab", "check_voc_map", "expected_voc_map"]

Rng = np.random.Generator
Arrays = dict[str, np.ndarray]
#: Random scenes are redrawn while any detection–GT IoU is this close to the threshold.
MARGIN = 1e-6


def expected_voc_map(
    detections: Mapping[str, Any],
    ground_truths: Mapping[str, Any],
    num_classes: int,
    iou_threshold: float = 0.5,
    method: APMethod = "voc",
    *,
    use_difficult: bool = True,
) -> dict[str, Any]:
    """The lab's answer: ``{"map", "ap"}`` (see the module docstring for the difficult rule).

    ``method="voc07"`` and ``use_difficult=False`` give the answers of two misconceptions
    (11-point interpolation; difficult objects treated as ordinary ones).
    """
    d_box = np.asarray(detections["box"], dtype=np.float64).reshape(-1, 4)
    g_box = np.asarray(ground_truths["box"], dtype=np.float64).reshape(-1, 4)
    difficult = np.asarray(ground_truths["difficult"], dtype=bool).reshape(-1)
    if not use_difficult:
        difficult = np.zeros_like(difficult)
    dets = [
        {"image_id": int(i), "class_id": int(c), "score": float(s), "box": b}
        for i, c, s, b in zip(
            np.asarray(detections["image_id"]).tolist(),
            np.asarray(detections["class_id"]).tolist(),
            np.asarray(detections["score"]).tolist(),
            d_box,
            strict=True,
        )
    ]
    gts = [
        {"image_id": int(i), "class_id": int(c), "box": b}
        for i, c, b in zip(
            np.asarray(ground_truths["image_id"]).tolist(),
            np.asarray(ground_truths["class_id"]).tolist(),
            g_box,
            strict=True,
        )
    ]
    evaluation = evaluate_detections(dets, gts, iou_threshold=iou_threshold, method=method)
    g_cls = np.asarray(ground_truths["class_id"]).reshape(-1)
    ap = np.full(int(num_classes), np.nan)
    for c in range(int(num_classes)):
        num_pos = int(np.sum((g_cls == c) & ~difficult))
        if num_pos == 0:
            continue
        table = evaluation.classes.get(c)
        flags = []
        for index in table.order if table is not None else ():
            match = evaluation.matches[index]
            if match.outcome in ("tp", "duplicate") and difficult[match.best_gt]:
                continue  # its best GT (IoU >= threshold) is difficult: ignored
            flags.append(match.outcome == "tp")
        is_tp = np.asarray(flags, dtype=bool)
        cum_tp = np.cumsum(is_tp)
        cum_fp = np.cumsum(~is_tp)
        precision = cum_tp / np.maximum(cum_tp + cum_fp, 1)
        ap[c] = average_precision(cum_tp / num_pos, precision, method)
    valid = ~np.isnan(ap)
    return {"map": float(ap[valid].mean()) if valid.any() else float("nan"), "ap": ap}


#: Alternative answers worth naming when a result matches one of them.
MISCONCEPTIONS: tuple[tuple[str, dict[str, Any], str], ...] = (
    (
        "voc07-11-point",
        {"method": "voc07"},
        N_(
            "Your APs equal the 11-point (VOC2007) interpolation; this lab asks for the all-point "
            "area under the precision envelope (VOC2010+)."
        ),
    ),
    (
        "difficult-counted",
        {"use_difficult": False},
        N_(
            "Your APs are what you get when difficult objects count as ordinary ones; they must not "
            "count as positives, and detections matching them must be ignored."
        ),
    ),
)


def _same(got: Any, answer: Mapping[str, Any]) -> bool:
    try:
        ap = np.asarray(got["ap"], dtype=np.float64)
        mean = float(np.asarray(got["map"], dtype=np.float64).reshape(()))
    except Exception:
        return False
    return (
        ap.shape == answer["ap"].shape
        and bool(np.allclose(ap, answer["ap"], rtol=1e-6, atol=1e-9, equal_nan=True))
        and bool(np.isclose(mean, answer["map"], rtol=1e-6, atol=1e-9, equal_nan=True))
    )


def check_voc_map(
    got: Any, expected: Mapping[str, Any], alternatives: Mapping[str, Mapping[str, Any]]
) -> Check:
    """``{"map", "ap"}`` against the expected values; names a misconception the result matches."""

    def each(key: str, value: Any) -> Check:
        if key == "map":
            return expect_number(value, expected["map"], name="map", rtol=1e-6, atol=1e-9)
        return expect_array(value, expected["ap"], name="ap", rtol=1e-6, atol=1e-9)

    check = expect_mapping(got, ["map", "ap"], each)
    if check.passed:
        return check
    for tag, _, hint in MISCONCEPTIONS:
        if tag in alternatives and _same(got, alternatives[tag]):
            return Check(
                check.fraction,
                join_sentences([check.message, Text(hint)]),
                {**check.detail, "misconception": tag},
            )
    return check


def _case(
    name: str,
    title: str,
    points: float,
    dets: Arrays,
    gts: Arrays,
    num_classes: int,
    iou_threshold: float = 0.5,
    public: bool = False,
) -> TestCase:
    expected = expected_voc_map(dets, gts, num_classes, iou_threshold)
    alternatives = {
        tag: expected_voc_map(dets, gts, num_classes, iou_threshold, **kw) for tag, kw, _ in MISCONCEPTIONS
    }
    # Only name a misconception whose answer actually differs from the right one here.
    alternatives = {tag: alt for tag, alt in alternatives.items() if not _same(alt, expected)}
    return TestCase(
        name=name,
        title=title,
        points=points,
        function="voc_map",
        args=(dets, gts, int(num_classes), float(iou_threshold)),
        check=lambda got: check_voc_map(got, expected, alternatives),
        public=public,
    )


def _arrays(
    records: list[tuple[int, int, list[float]]],
    scores: list[float] | None = None,
    difficult: list[bool] | None = None,
) -> Arrays:
    out: Arrays = {
        "image_id": np.asarray([r[0] for r in records], dtype=np.int64),
        "class_id": np.asarray([r[1] for r in records], dtype=np.int64),
    }
    if scores is not None:
        out["score"] = np.asarray(scores, dtype=np.float64)
    out["box"] = np.asarray([r[2] for r in records], dtype=np.float64).reshape(-1, 4)
    if difficult is not None:
        out["difficult"] = np.asarray(difficult, dtype=bool)
    return out


# --------------------------------------------------------------------------- random scenes


def _jitter(rng: Rng, box: np.ndarray, spread: float) -> np.ndarray:
    w, h = box[2] - box[0], box[3] - box[1]
    out = box + rng.normal(0.0, spread, size=4) * np.array([w, h, w, h])
    out[2:] = np.maximum(out[2:], out[:2] + 1.0)
    return np.round(out, 2)


def _random_scene(
    rng: Rng,
    num_images: int,
    num_classes: int,
    *,
    difficult_rate: float = 0.15,
    score_levels: np.ndarray | None = None,
) -> tuple[Arrays, Arrays]:
    """Objects (some difficult, some crowded pairs of one class), detections around them with
    varied localisation, duplicates, wrong-class and background false positives."""
    gt_rec: list[tuple[int, int, list[float]]] = []
    gt_diff: list[bool] = []
    det_rec: list[tuple[int, int, list[float]]] = []
    det_good: list[bool] = []
    for img in range(num_images):
        objects = []
        for _ in range(int(rng.integers(1, 5))):
            xy = rng.uniform(0, 140, size=2)
            box = np.round(np.concatenate([xy, xy + rng.uniform(12, 60, size=2)]), 1)
            objects.append((int(rng.integers(num_classes)), box))
            if rng.random() < 0.2:  # a crowded neighbour of the same class
                objects.append((objects[-1][0], _jitter(rng, box, 0.25)))
        for cls, box in objects:
            gt_rec.append((img, cls, box.tolist()))
            gt_diff.append(bool(rng.random() < difficult_rate))
            if rng.random() < 0.8:
                det_rec.append((img, cls, _jitter(rng, box, float(rng.choice([0.05, 0.12, 0.25]))).tolist()))
                det_good.append(True)
            if rng.random() < 0.3:  # a duplicate
                det_rec.append((img, cls, _jitter(rng, box, 0.1).tolist()))
                det_good.append(False)
            if rng.random() < 0.15:  # right place, wrong class
                det_rec.append((img, int(rng.integers(num_classes)), _jitter(rng, box, 0.1).tolist()))
                det_good.append(False)
        for _ in range(int(rng.integers(0, 3))):  # background
            xy = rng.uniform(0, 160, size=2)
            box = np.round(np.concatenate([xy, xy + rng.uniform(8, 40, size=2)]), 1)
            det_rec.append((img, int(rng.integers(num_classes)), box.tolist()))
            det_good.append(False)
    good = np.asarray(det_good)
    if score_levels is None:
        # Good detections score higher on average, but the two populations overlap.
        scores = np.where(good, rng.beta(5, 2, size=good.size), rng.beta(2, 4, size=good.size))
        scores = np.round(scores, 6)
    else:
        scores = rng.choice(score_levels, size=good.size)
    order = rng.permutation(len(det_rec))  # detections in no particular order
    dets = _arrays([det_rec[i] for i in order], scores[order].tolist())
    gts = _arrays(gt_rec, difficult=gt_diff)
    return dets, gts


def _unambiguous(dets: Arrays, gts: Arrays, thr: float, distinct_scores: bool) -> bool:
    """No IoU within MARGIN of the threshold (so ``>=`` vs float noise cannot decide a case)."""
    if distinct_scores and len(np.unique(dets["score"])) != len(dets["score"]):
        return False
    iou = box_iou(dets["box"], gts["box"])
    same_image = dets["image_id"][:, None] == gts["image_id"][None, :]
    return not np.any(same_image & (np.abs(iou - thr) < MARGIN))


def _scene(
    rng: Rng, num_images: int, num_classes: int, thr: float, distinct_scores: bool = True, **kw: Any
) -> tuple[Arrays, Arrays]:
    while True:
        dets, gts = _random_scene(rng, num_images, num_classes, **kw)
        # With a nonzero difficult rate, insist on at least one difficult object in the scene.
        wants_difficult = kw.get("difficult_rate", 0.15) > 0
        if wants_difficult and not gts["difficult"].any():
            continue
        if _unambiguous(dets, gts, thr, distinct_scores) and len(dets["score"]) > 0:
            return dets, gts


def _holes_scene(rng: Rng) -> tuple[Arrays, Arrays, int]:
    """A random scene plus classes that break naive code: detections but no GT (NaN), only
    difficult GT with a detection on it (NaN), GT but no detection (AP 0), nothing at all (NaN)."""
    dets, gts = _scene(rng, 3, 2, 0.5, difficult_rate=0.0)
    det_only, difficult_only, missed, nothing = 2, 3, 4, 5
    extra_gt = [
        (0, difficult_only, [10.0, 10.0, 50.0, 40.0]),
        (1, missed, [100.0, 100.0, 150.0, 170.0]),
    ]
    extra_det = [
        (0, det_only, [30.0, 30.0, 60.0, 70.0]),
        (2, det_only, [5.0, 5.0, 20.0, 20.0]),
        (0, difficult_only, [11.0, 12.0, 50.0, 41.0]),
    ]
    gts2 = _arrays(
        [
            (int(i), int(c), b.tolist())
            for i, c, b in zip(gts["image_id"], gts["class_id"], gts["box"], strict=True)
        ]
        + extra_gt,
        difficult=gts["difficult"].tolist() + [True, False],
    )
    extra_scores = np.round(rng.uniform(0.3, 0.99, size=len(extra_det)), 6).tolist()
    dets2 = _arrays(
        [
            (int(i), int(c), b.tolist())
            for i, c, b in zip(dets["image_id"], dets["class_id"], dets["box"], strict=True)
        ]
        + extra_det,
        dets["score"].tolist() + extra_scores,
    )
    return dets2, gts2, nothing + 1


# --------------------------------------------------------------------------- the lab


class VocMapLab(CodeLab):
    slug: ClassVar[str] = "voc-map"
    title: ClassVar[str] = N_("Mean average precision, PASCAL VOC style")
    functions: ClassVar[tuple[str, ...]] = ("voc_map",)

    def public_cases(self) -> list[TestCase]:
        # Tiny scene (worked in the statement): class 0 ranks TP, FP (duplicate), TP, FP with 2
        # objects → AP 0.5·1 + 0.5·(2/3) = 5/6; class 1 has one TP at IoU exactly 0.5 → AP 1;
        # class 2 has a detection but no object → NaN. mAP = (5/6 + 1) / 2 = 11/12.
        tiny_gts = _arrays(
            [(0, 0, [0, 0, 10, 10]), (0, 1, [20, 20, 40, 40]), (1, 0, [5, 5, 25, 25])],
            difficult=[False, False, False],
        )
        tiny_dets = _arrays(
            [
                (0, 0, [0, 0, 10, 9]),
                (1, 0, [50, 50, 60, 60]),
                (0, 0, [1, 1, 10, 10]),
                (1, 0, [5, 5, 25, 25]),
                (0, 1, [20, 20, 30, 40]),
                (1, 2, [0, 0, 5, 5]),
            ],
            [0.8, 0.6, 0.9, 0.7, 0.5, 0.4],
        )
        # Difficult objects: class 0 has 2 ordinary objects (one never detected) and a difficult
        # one detected twice (both ignored); ranked TP, FP → AP 0.5. Class 1's only object is
        # difficult → NaN. mAP = 0.5.
        diff_gts = _arrays(
            [
                (0, 0, [0, 0, 10, 10]),
                (0, 0, [30, 30, 50, 50]),
                (0, 0, [60, 0, 80, 20]),
                (1, 1, [0, 0, 20, 20]),
            ],
            difficult=[False, True, False, True],
        )
        diff_dets = _arrays(
            [
                (0, 0, [31, 30, 50, 50]),
                (0, 0, [0, 0, 10, 10]),
                (0, 0, [30, 31, 50, 50]),
                (0, 0, [100, 100, 120, 120]),
                (1, 1, [0, 0, 19, 20]),
            ],
            [0.95, 0.9, 0.5, 0.7, 0.8],
        )
        return [
            _case(
                "public-tiny",
                "2 images, 3 classes: a duplicate, a miss, IoU exactly 0.5",
                1,
                tiny_dets,
                tiny_gts,
                3,
                public=True,
            ),
            _case(
                "public-difficult", "difficult objects are ignored", 1, diff_dets, diff_gts, 2, public=True
            ),
        ]

    def hidden_cases(self, seed: int) -> list[TestCase]:
        rng = np.random.default_rng(seed)
        cases = []
        for k in (1, 2):
            n_img, n_cls = int(rng.integers(4, 8)), int(rng.integers(3, 6))
            dets, gts = _scene(rng, n_img, n_cls, 0.5)
            cases.append(
                _case(f"scene-{k}", f"{n_img} images, {n_cls} classes, IoU 0.5", 2, dets, gts, n_cls)
            )
        thr = float(rng.choice([0.6, 0.7, 0.75]))
        n_img, n_cls = int(rng.integers(4, 8)), int(rng.integers(3, 6))
        dets, gts = _scene(rng, n_img, n_cls, thr)
        cases.append(
            _case(
                "scene-strict-iou", f"{n_img} images, {n_cls} classes, IoU {thr:g}", 2, dets, gts, n_cls, thr
            )
        )
        levels = np.array([0.9, 0.7, 0.5, 0.3])
        dets, gts = _scene(rng, 5, 2, 0.5, distinct_scores=False, score_levels=levels)
        cases.append(_case("tied-scores", "5 images, 2 classes, scores from only 4 values", 1, dets, gts, 2))
        dets, gts, n_cls = _holes_scene(rng)
        cases.append(
            _case(
                "empty-classes",
                "classes without objects, only difficult ones, or no detections",
                1,
                dets,
                gts,
                n_cls,
            )
        )
        return cases


LAB = VocMapLab()
