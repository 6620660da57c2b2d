"""Family ``detection-map``: TP/FP, the precision/recall table, AP and mAP of a small detection run.

Variant: 1–3 classes, 2–3 images, a handful of ground-truth boxes (integer corners, one per cell
of a 2×2 grid per image, so objects never overlap) and scored detections (distinct scores,
listed in a shuffled order), IoU threshold 0.5 (TP when IoU ≥ 0.5) and an AP method, ``voc``
(all-point, area under the monotone precision envelope) or ``voc07`` (11-point). A third method,
``coco``, is generated only when a constraint asks for it (see "COCO mode" below).

Parts, for the first listed class (the *table class*): ``tp`` (1 = TP, 0 = FP for its detections
in descending score order; ``TP``/``FP`` are accepted too), ``precision`` and ``recall`` (the
cumulative table, one value per row); then ``ap`` (a number with one class, else a vector of the
APs in class order) and, with several classes, ``map``.

Everything is computed by the reference ``evaluate_detections`` / ``average_precision`` (VOC
matching: a detection takes the GT with the highest IoU; if that GT is taken, it is a
duplicate FP). The misconceptions re-run the same reference code on modified inputs (scores
replaced by the listing order, a threshold just above 0.5) or re-score its tables.

COCO mode (``method: coco``): 2–3 classes on 2–3 images; the statement gives every detection's IoU
with the ground truth it overlaps (each overlaps at most one, and every IoU stays 0.01 away from
the ten thresholds 0.50, 0.55, …, 0.95) and the class-mean AP at eight of the thresholds. The
student computes, by hand, the 101-point AP of each class at IoU 0.50 (``ap50``) and 0.75
(``ap75``), their class means ``map50`` (AP50) and ``map75`` (AP75), and ``map`` = AP@[.5:.95]
(error carried forward from their own AP50/AP75). The first class has one object found twice,
loosely by the higher score and tightly by the lower one: the TP changes sides between 0.50 and
0.75. The answer is the reference ``coco_map`` (tested against pycocotools); misconceptions re-score
the per-threshold tables of ``evaluate_detections`` (11-point, all-point, no envelope) or average
the wrong columns.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np

from grader import answers
from grader.answers import EXACT, AnswerFormatError, Tolerance
from grader.i18n import N_, Text, Wording, gettext_for, join_list, join_sentences
from grader.problems import register
from grader.problems.base import Misconception, Params, Part, ProblemFamily, Response
from grader.reference import (
    COCO_IOU_THRESHOLDS,
    COCO_RECALL_THRESHOLDS,
    CocoEvaluation,
    DetectionEvaluation,
    average_precision,
    coco_map,
    evaluate_detections,
)

TOL = Tolerance(rel=1e-3, abs=1e-9, sigfigs=3)
THRESHOLD = 0.5
METHODS = ("voc", "voc07")  # drawn when no method is asked for; "coco" only on request
COCO = "coco"
#: The classes a scene draws from (in this order), each with its name as the statement shows it (the
#: class id itself in English; the translation names the class and keeps the id, "貓 (cat)").
CLASS_NAMES = {"cat": N_("cat"), "dog": N_("dog"), "car": N_("car"), "person": N_("person")}
#: The labels of the table class's parts (tp, precision, recall, and its AP when it is the only
#: class): a part's label is one whole catalog message, so there is one per class.
TABLE_LABELS = {
    "cat": (N_("TP/FP (cat)"), N_("precision (cat)"), N_("recall (cat)"), N_("AP (cat)")),
    "dog": (N_("TP/FP (dog)"), N_("precision (dog)"), N_("recall (dog)"), N_("AP (dog)")),
    "car": (N_("TP/FP (car)"), N_("precision (car)"), N_("recall (car)"), N_("AP (car)")),
    "person": (N_("TP/FP (person)"), N_("precision (person)"), N_("recall (person)"), N_("AP (person)")),
}
CELL = 22  # each image is a 2×2 grid of CELL×CELL cells, one object per cell at most
MARGIN = 0.06  # non-tied IoUs stay this far from the threshold


# --------------------------------------------------------------------------- evaluation


@lru_cache(maxsize=2048)
def _evaluate(key: str, *, strict: bool = False, listed_order: bool = False) -> DetectionEvaluation:
    """The reference evaluation of the variant serialized in ``key``. ``strict`` makes the TP rule
    IoU > 0.5 (the next float above the threshold); ``listed_order`` ranks detections in the
    order they are listed instead of by score."""
    params = json.loads(key)
    dets = [dict(d) for d in params["detections"]]
    if listed_order:
        for i, d in enumerate(dets):
            d["score"] = float(len(dets) - i)
    thr = float(np.nextafter(THRESHOLD, 1.0)) if strict else THRESHOLD
    return evaluate_detections(dets, params["ground_truths"], iou_threshold=thr, method=params["method"])


def _key(params: Params) -> str:
    return json.dumps(
        {k: params[k] for k in ("classes", "detections", "ground_truths", "method")}, sort_keys=True, separators=(",", ":")
    )


@lru_cache(maxsize=4096)
def _cached_answer(key: str, twist: str) -> str | None:
    """The answer (JSON text, so every caller gets fresh lists) of the variant ``key`` under a
    misconception ``twist`` ("" = the correct answer)."""
    params = json.loads(key)
    ev = _evaluate(key, strict=twist == "strict", listed_order=twist == "unsorted")
    other = "voc07" if params["method"] == "voc" else "voc"
    answer = _answer(
        params,
        ev,
        method=other if twist == "method" else None,
        envelope=twist != "no-envelope",
        duplicates_tp=twist == "duplicates",
        weighted_map=twist == "weighted",
    )
    return None if answer is None else json.dumps(answer)


def _twisted(params: Params, twist: str) -> Response | None:
    text = _cached_answer(_key(params), twist)
    return None if text is None else json.loads(text)


def _raw_ap(recall: np.ndarray, precision: np.ndarray, method: str) -> float:
    """AP *without* the precision envelope (the misconception): raw precision of each row."""
    if method == "voc":
        widths = np.diff(np.concatenate(([0.0], recall)))
        return float(np.sum(widths * precision))
    if method == COCO:
        if recall.size == 0:
            return 0.0
        # The first row reaching each of the 101 recall levels, as the reference samples them.
        idx = np.searchsorted(recall, COCO_RECALL_THRESHOLDS, side="left")
        reached = idx < recall.size
        return float(np.where(reached, precision[np.minimum(idx, recall.size - 1)], 0.0).mean())
    vals = []
    for t in np.arange(11) / 10.0:
        idx = np.flatnonzero(recall >= t - 1e-12)
        vals.append(float(precision[idx[0]]) if idx.size else 0.0)
    return float(np.mean(vals))


def _answer(
    params: Params,
    ev: DetectionEvaluation,
    *,
    method: str | None = None,
    envelope: bool = True,
    duplicates_tp: bool = False,
    weighted_map: bool = False,
) -> Response | None:
    """Parts from an evaluation, with optional misconception twists; None if a twist gives an
    impossible table (recall above 1)."""
    method = method or params["method"]
    outcome = {m.index: m.outcome for m in ev.matches}
    classes = params["classes"]
    aps: list[float] = []
    tables: dict[str, tuple[list[int], list[float], list[float]]] = {}
    for c in classes:
        cls = ev.classes[c]
        flags = np.asarray(
            [outcome[i] in ("tp", "duplicate") if duplicates_tp else outcome[i] == "tp" for i in cls.order], dtype=bool
        )
        cum_tp = np.cumsum(flags)
        precision = cum_tp / np.arange(1, flags.size + 1)
        recall = cum_tp / cls.num_gt
        if recall.size and recall[-1] > 1:
            return None
        ap = average_precision(recall, precision, method) if envelope else _raw_ap(recall, precision, method)  # type: ignore[arg-type]
        aps.append(ap)
        tables[c] = ([int(f) for f in flags], [float(p) for p in precision], [float(r) for r in recall])
    tp, precision, recall = tables[classes[0]]
    out: Response = {"tp": tp, "precision": precision, "recall": recall}
    if len(classes) == 1:
        out["ap"] = aps[0]
    else:
        out["ap"] = aps
        if weighted_map:
            counts = [len(ev.classes[c].order) for c in classes]
            out["map"] = float(np.dot(counts, aps) / sum(counts))
        else:
            out["map"] = float(np.mean(aps))
    return out


def _solve(params: Params) -> Response:
    answer = _twisted(params, "")
    assert answer is not None
    return answer


def _tie_exists(params: Params) -> bool:
    """Some detection's best IoU with a GT of its image and class is exactly 0.5."""
    return _tie_cached(_key(params))


@lru_cache(maxsize=4096)
def _tie_cached(key: str) -> bool:
    params = json.loads(key)
    half = Fraction(1, 2)
    for d in params["detections"]:
        best = Fraction(0)
        for g in params["ground_truths"]:
            if g["image_id"] == d["image_id"] and g["class_id"] == d["class_id"]:
                best = max(best, _exact_iou(d["box"], g["box"]))
        if best == half:
            return True
    return False


def _exact_iou(a: list[int], b: list[int]) -> Fraction:
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return Fraction(inter, (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


# --------------------------------------------------------------------------- misconceptions


def _method_swapped(params: Params) -> Response | None:
    if params["method"] == COCO:
        return None
    return _twisted(params, "method")


def _no_envelope(params: Params) -> Response | None:
    if params["method"] == COCO:
        return _coco_twisted(params, "no-envelope")
    return _twisted(params, "no-envelope")


def _duplicates(params: Params) -> Response | None:
    if params["method"] == COCO or not any(m.outcome == "duplicate" for m in _evaluate(_key(params)).matches):
        return None
    return _twisted(params, "duplicates")


def _unsorted(params: Params) -> Response | None:
    if params["method"] == COCO:
        return None
    return _twisted(params, "unsorted")


def _strict(params: Params) -> Response | None:
    if params["method"] == COCO or not _tie_exists(params):
        return None
    return _twisted(params, "strict")


def _weighted(params: Params) -> Response | None:
    if params["method"] == COCO or len(params["classes"]) < 2:
        return None
    answer = _twisted(params, "weighted")
    assert answer is not None
    return {"map": answer["map"]}


_MISCONCEPTIONS = (
    Misconception(
        "ap-method-swapped",
        N_(
            "You used the other AP definition. VOC2007's 11-point AP is the mean of the interpolated precision at "
            "recall 0, 0.1, …, 1; the all-point AP (VOC2010+) is the area under the whole interpolated curve, "
            "$\\sum_k (r_k - r_{k-1})\\,\\hat p(r_k)$. Use the one the problem states."
        ),
        _method_swapped,
    ),
    Misconception(
        "no-precision-envelope",
        N_(
            "You used the raw precision of each row. AP uses the interpolated precision "
            "$\\hat p(r) = \\max_{r' \\ge r} p(r')$ — the best precision at this recall *or higher* — which makes the "
            "curve non-increasing before taking the area or the 11-point (COCO: 101-point) mean."
        ),
        _no_envelope,
    ),
    Misconception(
        "duplicate-counted-as-tp",
        N_(
            "You counted a second detection of an already-matched object as a TP. Each ground-truth box can be "
            "matched only once: the highest-scoring detection takes it, later detections of the same object are "
            "FPs (duplicates), even with a high IoU."
        ),
        _duplicates,
        # Only duplicate detections are flagged wrongly; the others follow the right rule.
        credit=None,
    ),
    Misconception(
        "not-sorted-by-score",
        N_(
            "You went through the detections in the order they are listed. First sort them by confidence score, "
            "highest first; matching and the cumulative precision/recall table follow that order."
        ),
        _unsorted,
    ),
    Misconception(
        "iou-threshold-strict",
        N_(
            "You treated IoU = 0.5 as a miss. A detection is a TP when its IoU is *at least* the threshold "
            "($\\text{IoU} \\ge 0.5$), so an IoU of exactly 0.5 counts."
        ),
        _strict,
        # A boundary slip: only detections at exactly the threshold differ.
        credit=None,
    ),
    Misconception(
        "map-weighted-by-detections",
        N_(
            "You weighted each class by its number of detections. The mAP is the plain mean of the per-class APs: "
            "every class counts once, $\\text{mAP} = \\frac{1}{C}\\sum_c \\text{AP}_c$."
        ),
        _weighted,
    ),
    # COCO mode only.
    Misconception(
        "coco-only-iou-50",
        N_(
            "You gave AP50 as the COCO AP. AP@[.5:.95] averages the AP over ten IoU thresholds, "
            "$t = 0.50, 0.55, \\dots, 0.95$ (and over the classes): AP50 is only its first column, and the stricter "
            "thresholds are what reward tightly fitting boxes."
        ),
        lambda params: _coco_twisted(params, "only-50"),
    ),
    Misconception(
        "coco-two-thresholds-only",
        N_(
            "You averaged AP50 and AP75 only. AP@[.5:.95] is the mean over all ten thresholds "
            "$0.50, 0.55, \\dots, 0.95$: add the eight values of the table to your AP50 and AP75, then divide by 10."
        ),
        lambda params: _coco_twisted(params, "two-thresholds"),
    ),
    Misconception(
        "coco-11-point",
        N_(
            "You used VOC2007's 11-point interpolation (recall $0, 0.1, \\dots, 1$). COCO samples the interpolated "
            "precision $\\hat p(r)$ at 101 recall levels, $r = 0, 0.01, \\dots, 1$, and averages the 101 values."
        ),
        lambda params: _coco_twisted(params, "voc07"),
    ),
    Misconception(
        "coco-area-not-101-points",
        N_(
            "You took the exact area under the interpolated curve (the VOC2010+ all-point AP). COCO does not "
            "integrate: it averages $\\hat p(r)$ at the 101 recall levels $r = 0, 0.01, \\dots, 1$, so a step that "
            "ends at recall $R$ counts $\\lfloor 100R \\rfloor + 1$ levels (minus those of the steps before it)."
        ),
        lambda params: _coco_twisted(params, "voc"),
    ),
)


# --------------------------------------------------------------------------- parsing TP/FP


_TP_WORDS = {"tp": 1, "t": 1, "1": 1, "true": 1, "✓": 1, "fp": 0, "f": 0, "0": 0, "false": 0, "✗": 0, "x": 0}


def parse_flags(raw: Any, length: int) -> list[int]:
    """A list of TP/FP flags: ``TP FP TP``, ``1, 0, 1``, ``[1, 0, 1]`` or JSON ``[true, false]``."""
    if isinstance(raw, str):
        if len(raw) > answers.MAX_TEXT_CHARS:
            raise AnswerFormatError(Text("The answer is too long."))
        text = answers.normalize_text(raw).strip().strip("[]()").strip()
        tokens = [t for t in text.replace(",", " ").replace(";", " ").split() if t]
    elif isinstance(raw, list | tuple):
        tokens = list(raw)
    else:
        raise AnswerFormatError(Text("Expected a list of TP/FP (or 1/0)."))
    flags = []
    for i, tok in enumerate(tokens, start=1):
        if isinstance(tok, bool):
            flags.append(int(tok))
            continue
        word = str(tok).strip().lower()
        if word not in _TP_WORDS:
            raise AnswerFormatError(
                Text("Entry %(entry)d: '%(token)s' is neither TP nor FP (write TP/FP or 1/0).", entry=i, token=str(tok))
            )
        flags.append(_TP_WORDS[word])
    if len(flags) != length:
        raise AnswerFormatError(Text("Expected %(expected)d values, got %(got)d.", expected=length, got=len(flags)))
    return flags


# --------------------------------------------------------------------------- scene generation


def _jitter_box(rng: np.random.Generator, gt: list[int], lo: float, hi: float, spread: int) -> list[int] | None:
    for _ in range(60):
        j = rng.integers(-spread, spread + 1, size=4)
        box = [int(v) for v in np.asarray(gt) + j]
        if box[2] - box[0] < 3 or box[3] - box[1] < 3 or min(box) < 0:
            continue
        iou = _exact_iou(box, gt)
        if lo <= iou <= hi:
            return box
    return None


def _tie_box(rng: np.random.Generator, gt: list[int]) -> list[int]:
    """A box of the GT's height (or width), shifted sideways, with IoU exactly 1/2:
    overlap ``o`` and width ``w2 = 3o − w`` give ``o / (w + w2 − o) = 1/2``."""
    vertical = bool(rng.random() < 0.5)
    g = [gt[1], gt[0], gt[3], gt[2]] if vertical else list(gt)
    w = g[2] - g[0]
    options = [o for o in range(math.ceil(w / 2), w + 1) if 3 * o - w >= 3]
    o = options[int(rng.integers(len(options)))]
    w2 = 3 * o - w
    if rng.random() < 0.5:
        box = [g[0] + w - o, g[1], g[0] + w - o + w2, g[3]]
    else:
        box = [g[0] + o - w2, g[1], g[0] + o, g[3]]
    return [box[1], box[0], box[3], box[2]] if vertical else box

# --------------------------------------------------------------------------- COCO mode

COCO_CELL = 30  # coco scenes: each image is a 2×2 grid of 30×30 cells; objects 10–16 px, 5 px inside
_COCO_T = tuple(Fraction(50 + 5 * k, 100) for k in range(10))  # 0.50, 0.55, …, 0.95 exactly
_T50, _T75 = 0, 5  # their indices in COCO_IOU_THRESHOLDS
_GAP = Fraction(1, 100)  # every IoU keeps this distance from every threshold: no rounding doubt


def _level_window(level: int) -> tuple[Fraction, Fraction]:
    """IoUs with which a detection passes exactly the first ``level`` of the ten thresholds."""
    if level == 0:
        return Fraction(5, 100), Fraction(45, 100)
    if level == 10:
        return Fraction(96, 100), Fraction(1)
    return _COCO_T[level - 1] + _GAP, _COCO_T[level] - _GAP


@lru_cache(maxsize=2048)
def _coco(key: str) -> CocoEvaluation:
    params = json.loads(key)
    return coco_map(params["detections"], params["ground_truths"])


@lru_cache(maxsize=4096)
def _at_threshold(key: str, index: int, method: str) -> DetectionEvaluation:
    """The per-class tables at one COCO threshold, with the AP rule ``method`` ("coco" = 101-point).
    In these scenes a detection overlaps at most one ground truth of its class and image, so the
    reference's VOC matching and COCO matching agree (the tests compare with ``coco_map``)."""
    params = json.loads(key)
    threshold = float(COCO_IOU_THRESHOLDS[index])
    return evaluate_detections(params["detections"], params["ground_truths"], iou_threshold=threshold, method=method)


def _coco_given(params: Params) -> list[tuple[int, float]]:
    """The table in the statement: (threshold index, AP averaged over the classes) for the eight
    thresholds other than 0.50 and 0.75."""
    ev = _coco(_key(params))
    table = np.asarray([ev.ap_per_class[c] for c in params["classes"]])
    return [(i, float(table[:, i].mean())) for i in range(len(_COCO_T)) if i not in (_T50, _T75)]


@lru_cache(maxsize=4096)
def _coco_answer(key: str, twist: str) -> str:
    """The COCO-mode answer (JSON text) of the variant ``key`` under a misconception ``twist``
    ("" = correct; "voc07", "voc", "no-envelope" re-score the tables at 0.50 and 0.75;
    "only-50", "two-thresholds" average the wrong columns)."""
    params = json.loads(key)
    ev = _coco(key)
    classes = params["classes"]
    if twist == "":
        return json.dumps({
            "ap50": [ev.ap_per_class[c][_T50] for c in classes],
            "ap75": [ev.ap_per_class[c][_T75] for c in classes],
            "map50": ev.ap50,
            "map75": ev.ap75,
            "map": ev.mean_ap,
        })
    if twist == "only-50":
        return json.dumps({"map": ev.ap50})
    if twist == "two-thresholds":
        return json.dumps({"map": (ev.ap50 + ev.ap75) / 2})
    columns: dict[int, list[float]] = {}
    for index in (_T50, _T75):
        tables = _at_threshold(key, index, COCO if twist == "no-envelope" else twist).classes
        if twist == "no-envelope":
            columns[index] = [
                _raw_ap(np.asarray(tables[c].recall), np.asarray(tables[c].precision), COCO) for c in classes
            ]
        else:
            columns[index] = [tables[c].ap for c in classes]
    map50, map75 = float(np.mean(columns[_T50])), float(np.mean(columns[_T75]))
    given = sum(value for _, value in _coco_given(params))
    return json.dumps({
        "ap50": columns[_T50],
        "ap75": columns[_T75],
        "map50": map50,
        "map75": map75,
        "map": (map50 + map75 + given) / len(_COCO_T),
    })


def _coco_twisted(params: Params, twist: str) -> Response | None:
    """A COCO misconception's answer, or None outside COCO mode or when it changes nothing."""
    if params["method"] != COCO:
        return None
    key = _key(params)
    answer = json.loads(_coco_answer(key, twist))
    right = json.loads(_coco_answer(key, ""))
    same = all(
        answers.numbers_match(a, b, TOL)
        for name, value in answer.items()
        for a, b in zip(np.atleast_1d(value), np.atleast_1d(right[name]), strict=True)
    )
    return None if same else answer


def _box_in_window(rng: np.random.Generator, gt: list[int], lo: Fraction, hi: Fraction, spread: int) -> list[int] | None:
    """A box drawn uniformly among those whose corners are within ``spread`` of the ground truth's
    and whose IoU with it is in [lo, hi] (exact integer arithmetic), or None if there is none."""
    d = np.arange(-spread, spread + 1)
    x1, y1, x2, y2 = (np.asarray(g) + a.ravel() for g, a in zip(gt, np.meshgrid(d, d, d, d, indexing="ij"), strict=True))
    iw = np.clip(np.minimum(x2, gt[2]) - np.maximum(x1, gt[0]), 0, None)
    ih = np.clip(np.minimum(y2, gt[3]) - np.maximum(y1, gt[1]), 0, None)
    inter = iw * ih
    union = (x2 - x1) * (y2 - y1) + (gt[2] - gt[0]) * (gt[3] - gt[1]) - inter
    ok = (x2 - x1 >= 3) & (y2 - y1 >= 3) & (np.minimum(x1, y1) >= 0)
    ok &= (inter * lo.denominator >= lo.numerator * union) & (inter * hi.denominator <= hi.numerator * union)
    found = np.flatnonzero(ok)
    if not found.size:
        return None
    i = found[int(rng.integers(found.size))]
    return [int(x1[i]), int(y1[i]), int(x2[i]), int(y2[i])]


def _overlaps(params: Params, d: Mapping[str, Any]) -> list[tuple[int, Fraction]]:
    """(index, exact IoU) of the ground truths of the detection's image and class it overlaps."""
    return [
        (j, iou)
        for j, g in enumerate(params["ground_truths"])
        if g["image_id"] == d["image_id"] and g["class_id"] == d["class_id"]
        and (iou := _exact_iou(d["box"], g["box"])) > 0
    ]


def _class_name(c: str, lang: str) -> str:
    """The class ``c`` as the statement names it in ``lang``."""
    return gettext_for(lang)(CLASS_NAMES[c])


def _class_list(classes: list[str], lang: str) -> str:
    """The classes as an inline list, in order (each one emphasized in English)."""
    _ = gettext_for(lang)
    # Translators: one class name in a list of classes (English italicizes it; Chinese does not).
    return join_list([_("*%(class_name)s*") % {"class_name": _class_name(c, lang)} for c in classes], lang)


def _gt_header(lang: str) -> str:
    _ = gettext_for(lang)
    return _("| GT | image | class | box $[x_1, y_1, x_2, y_2]$ |")


def _class_heading(c: str, num_gt: int, lang: str) -> str:
    _ = gettext_for(lang)
    return _("**Class %(class_name)s** (%(n)d ground truths)") % {"class_name": _class_name(c, lang), "n": num_gt}


def _coco_tables_text(params: Params, lang: str) -> list[str]:
    """The scene as Markdown tables: ground truths, and detections with their IoU."""
    _ = gettext_for(lang)
    gt_rows = [_gt_header(lang), "|---|---|---|---|"]
    gt_rows += [
        f"| G{i} | {g['image_id']} | {_class_name(g['class_id'], lang)} | {g['box']} |"
        for i, g in enumerate(params["ground_truths"])
    ]
    det_rows = [
        _("| detection | image | class | box $[x_1, y_1, x_2, y_2]$ | score | IoU with a ground truth |"),
        "|---|---|---|---|---|---|",
    ]
    for i, d in enumerate(params["detections"]):
        hits = _overlaps(params, d)
        iou = f"G{hits[0][0]}: {float(hits[0][1]):.3f}" if hits else "—"
        det_rows.append(
            f"| D{i} | {d['image_id']} | {_class_name(d['class_id'], lang)} | {d['box']} | {d['score']:.2f} | {iou} |"
        )
    return ["\n".join(gt_rows), "\n".join(det_rows)]


def _coco_ap_table(params: Params, lang: str) -> str:
    _ = gettext_for(lang)
    head = _("IoU threshold $t$")
    row = _("AP (mean over the classes)")
    given = dict(_coco_given(params))
    cells = [f"{given[i]:.4f}" if i in given else "?" for i in range(len(_COCO_T))]
    return "\n".join([
        f"| {head} | " + " | ".join(f"{float(t):.2f}" for t in _COCO_T) + " |",
        "|---" * (len(_COCO_T) + 1) + "|",
        f"| {row} | " + " | ".join(cells) + " |",
    ])


def _coco_render(params: Params, lang: str) -> str:
    _ = gettext_for(lang)
    scene, dets = _coco_tables_text(params, lang)
    text = [
        _(
            "An object detector was run on %(images)d images. Each detection overlaps at most one ground "
            "truth of its image and class; the table gives that IoU."
        ) % {"images": params["images"]},
        scene,
        dets,
        _(
            "**COCO evaluation**: for each IoU threshold $t \\in \\{0.50, 0.55, \\dots, 0.95\\}$ and each class "
            "separately, go through the detections by descending score. A detection is a TP if a ground truth of "
            "its image and class that is **not matched yet** has IoU $\\ge t$ with it (it takes the one with the "
            "highest IoU); otherwise it is an FP. So the same detection can be a TP at one threshold and an FP at "
            "another. With the cumulative precision $p_k$ and recall $r_k$ of the rows, the AP at $t$ is the "
            "**101-point interpolated** precision "
            "$$\\text{AP} = \\frac{1}{101}\\sum_{r \\in \\{0, 0.01, \\dots, 1\\}} \\hat p(r), \\qquad "
            "\\hat p(r) = \\max\\{p_k : r_k \\ge r\\}$$"
            "($\\hat p(r) = 0$ if no row reaches $r$). Hint: $\\lfloor 100R \\rfloor + 1$ of the 101 levels are "
            "$\\le R$. AP50 and AP75 are the means over the classes of the AP at $t = 0.50$ and $t = 0.75$; "
            "AP@[.5:.95] is the mean over the ten thresholds and the classes."
        ),
        _("The other thresholds, already averaged over the classes:"),
        _coco_ap_table(params, lang),
        _(
            "1. The AP of each class at IoU 0.50 (in the order %(classes)s).\n"
            "2. The AP of each class at IoU 0.75 (same order).\n"
            "3. AP50.\n4. AP75.\n"
            "5. AP@[.5:.95] (your AP50 and AP75 fill the two columns marked ?)."
        ) % {"classes": _class_list(params["classes"], lang)},
        _(
            "*Answer format*: numbers to at least 3 significant figures, fractions such as `56/101` are fine; "
            "separate the per-class values with commas."
        ),
    ]
    return "\n\n".join(text) + "\n"


def _coco_explain(params: Params, lang: str) -> str:
    _ = gettext_for(lang)
    key = _key(params)
    ans = json.loads(_coco_answer(key, ""))
    labels = {
        "tp": "TP",
        "duplicate": _("FP (matched already)"),
        "low_iou": _("FP (IoU < t)"),
        "no_gt": _("FP (no ground truth)"),
    }
    out: list[str] = []
    for index in (_T50, _T75):
        t = _COCO_T[index]
        ev = _at_threshold(key, index, COCO)
        matches = {m.index: m for m in ev.matches}
        out.append(f"### $t = {float(t):.2f}$")
        for c in params["classes"]:
            cls = ev.classes[c]
            out.append(_class_heading(c, cls.num_gt, lang))
            head = _("| rank | det | score | IoU | result | cum. TP | precision | recall |")
            rows = [head, "|---|---|---|---|---|---|---|---|"]
            for r, i in enumerate(cls.order):
                m = matches[i]
                iou = f"{m.iou:.3f}" if m.best_gt is not None and m.iou > 0 else "—"
                rows.append(
                    f"| {r + 1} | D{i} | {m.score:.2f} | {iou} | {labels[m.outcome]} | {cls.cum_tp[r]} | "
                    f"{cls.cum_tp[r]}/{r + 1} = {cls.precision[r]:.4f} | {cls.cum_tp[r]}/{cls.num_gt} = {cls.recall[r]:.4f} |"
                )
            out.append("\n".join(rows))
            precision = np.asarray(cls.precision)
            envelope = np.maximum.accumulate(precision[::-1])[::-1] if precision.size else precision
            # Each new recall R_k = k / n adds the levels in (R_{k-1}, R_k]: floor(100 R_k) + 1 of them
            # are <= R_k. Exact fractions, so the counts are what a hand count gives.
            terms, counted = [], 0
            for r, i in enumerate(cls.order):
                if matches[i].outcome != "tp":
                    continue
                levels = math.floor(Fraction(100 * cls.cum_tp[r], cls.num_gt)) + 1
                terms.append(f"{levels - counted} \\times {envelope[r]:.4f}")
                counted = levels
            tail = (" + " + f"{101 - counted} \\times 0") if counted < 101 else ""
            ap = ans["ap50" if index == _T50 else "ap75"][params["classes"].index(c)]
            out.append(
                _("Interpolated precision $\\hat p$ (best precision from this row on): %(values)s")
                % {"values": ", ".join(f"{v:.4f}" for v in envelope)}
            )
            out.append(f"$$\\text{{AP}} = \\tfrac{{1}}{{101}}({' + '.join(terms) or '0'}{tail}) = {ap:.4f}$$")
    k = len(params["classes"])
    out.append(
        f"$$\\text{{AP50}} = \\tfrac{{1}}{{{k}}}({' + '.join(f'{a:.4f}' for a in ans['ap50'])}) = {ans['map50']:.4f}, \\quad "
        f"\\text{{AP75}} = \\tfrac{{1}}{{{k}}}({' + '.join(f'{a:.4f}' for a in ans['ap75'])}) = {ans['map75']:.4f}$$"
    )
    given = dict(_coco_given(params))
    column = [f"{ans['map50']:.4f}" if i == _T50 else f"{ans['map75']:.4f}" if i == _T75 else f"{given[i]:.4f}"
              for i in range(len(_COCO_T))]
    out.append(f"$$\\text{{AP@[.5:.95]}} = \\tfrac{{1}}{{10}}({' + '.join(column)}) = {ans['map']:.4f}$$")
    return "\n\n".join(out) + "\n"


_COCO_HINTS = {
    "ap50": N_(
        "At $t = 0.50$: rank the class's detections by score, mark TP/FP (a ground truth is matched once), "
        "then average $\\hat p$ over the 101 recall levels."
    ),
    "ap75": N_(
        "At $t = 0.75$ a detection with IoU below 0.75 is an FP, and a later detection of the same object may "
        "now be the TP. Redo the table, then the 101-point average."
    ),
    "map50": N_("Average your per-class APs at 0.50."),
    "map75": N_("Average your per-class APs at 0.75."),
    "map": N_("Average the ten class-mean APs: your AP50, your AP75 and the eight in the table."),
}


@register
class DetectionMap(ProblemFamily):
    """VOC-style TP/FP matching, precision/recall table, AP and mAP; or COCO's AP@[.5:.95]."""

    name = "detection-map"
    title = N_("Detection AP and mAP")
    topic = "detection"
    misconceptions = _MISCONCEPTIONS
    constraint_keys = {
        "classes": "number of classes, 1..3 (coco: 2..3)",
        "images": "number of images, 2 or 3",
        "method": "'voc' (all-point), 'voc07' (11-point) or 'coco' (AP@[.5:.95], 101-point; only when asked for)",
        "tie": "true: some detection has IoU exactly 0.5 with its best ground truth (not with coco)",
    }
    max_tries = 100
    modes_on_request = ({"method": COCO},)

    def sample(self, rng: np.random.Generator, constraints: Mapping[str, Any]) -> Params:
        for _ in range(500):
            params = self._candidate(rng, constraints)
            if params is not None:
                return params
        raise ValueError(f"{self.name}: no variant found for constraints {dict(constraints)}")

    def _candidate(self, rng: np.random.Generator, c: Mapping[str, Any]) -> Params | None:
        if c.get("method") == COCO:
            return self._candidate_coco(rng, c)
        k = int(c.get("classes") or rng.choice([1, 2, 3], p=[0.4, 0.4, 0.2]))
        n_img = int(c.get("images") or rng.integers(2, 4))
        method = c.get("method") or METHODS[int(rng.integers(2))]
        tie = bool(c["tie"]) if "tie" in c else bool(rng.random() < 0.3)
        if k not in (1, 2, 3) or n_img not in (2, 3) or method not in METHODS:
            raise ValueError(f"{self.name}: bad constraints {dict(c)}")
        names = [str(x) for x in rng.choice(list(CLASS_NAMES), size=k, replace=False)]
        free = [(img, cell) for img in range(1, n_img + 1) for cell in range(4)]
        rng.shuffle(free)
        gts: list[dict[str, Any]] = []
        dets: list[dict[str, Any]] = []

        def place(cls: str) -> dict[str, Any]:
            img, cell = free.pop()
            w, h = int(rng.integers(6, 12)), int(rng.integers(6, 12))
            x = (cell % 2) * CELL + 4 + int(rng.integers(0, CELL - 8 - w + 1 + 3))
            y = (cell // 2) * CELL + 4 + int(rng.integers(0, CELL - 8 - h + 1 + 3))
            gt = {"image_id": img, "class_id": cls, "box": [x, y, x + w, y + h]}
            gts.append(gt)
            return gt

        for ci, cls in enumerate(names):
            table = ci == 0
            n_gt = (3 if tie else int(rng.integers(2, 4))) if table else int(rng.integers(1, 3))
            objs = [place(cls) for _ in range(n_gt)]
            plan: list[tuple[str, dict[str, Any] | None]] = []
            if table:
                # One object is missed (recall < 1, room for a counted duplicate); the others are
                # found, one of them twice; plus a poor localisation and sometimes a false alarm.
                found = objs[:-1]
                if tie:
                    plan.append(("tie", found[0]))
                    found = found[1:]
                plan += [("good", o) for o in found]
                plan.append(("good", found[0]))  # found twice: one of the two is a duplicate
                plan.append(("poor", objs[int(rng.integers(n_gt))]))
                if rng.random() < 0.5:
                    plan.append(("nogt", None))
            else:
                for o in objs:
                    if rng.random() < 0.75:
                        plan.append(("good", o))
                plan.append(("poor", objs[int(rng.integers(n_gt))]) if rng.random() < 0.5 else ("nogt", None))
            for kind, obj in plan:
                if kind == "nogt":
                    images_with = {g["image_id"] for g in gts if g["class_id"] == cls}
                    empty = [i for i in range(1, n_img + 1) if i not in images_with]
                    img = int(rng.choice(empty)) if empty else int(rng.integers(1, n_img + 1))
                    x, y = int(rng.integers(2, 2 * CELL - 12)), int(rng.integers(2, 2 * CELL - 12))
                    box = [x, y, x + int(rng.integers(5, 10)), y + int(rng.integers(5, 10))]
                else:
                    assert obj is not None
                    img = obj["image_id"]
                    if kind == "tie":
                        box = _tie_box(rng, obj["box"])
                    elif kind == "good":
                        box = _jitter_box(rng, obj["box"], Fraction(3, 5), Fraction(1), 2)
                    else:
                        box = _jitter_box(rng, obj["box"], Fraction(1, 10), Fraction(2, 5), 5)
                    if box is None:
                        return None
                dets.append({"image_id": img, "class_id": cls, "box": box, "score": 0.0})
        scores = rng.choice(np.arange(30, 100), size=len(dets), replace=False)
        for d, s in zip(dets, scores, strict=True):
            d["score"] = round(int(s) / 100, 2)
        order = [int(i) for i in rng.permutation(len(dets))]
        dets = [dets[i] for i in order]
        gts.sort(key=lambda g: (g["image_id"], names.index(g["class_id"]), g["box"]))
        params: Params = {
            "classes": names,
            "images": n_img,
            "ground_truths": gts,
            "detections": dets,
            "method": str(method),
        }
        return params if self._acceptable(params, tie) else None

    def _candidate_coco(self, rng: np.random.Generator, c: Mapping[str, Any]) -> Params | None:
        k = int(c.get("classes") or rng.choice([2, 3], p=[0.7, 0.3]))
        n_img = int(c.get("images") or (2 if k == 2 else 3))
        if k not in (2, 3) or n_img not in (2, 3) or "tie" in c:
            raise ValueError(f"{self.name}: bad constraints {dict(c)} (coco: 2 or 3 classes, no tie)")
        names = [str(x) for x in rng.choice(list(CLASS_NAMES), size=k, replace=False)]
        free = [(img, cell) for img in range(1, n_img + 1) for cell in range(4)]
        rng.shuffle(free)
        gts: list[dict[str, Any]] = []
        # (level, object): the detection passes the first ``level`` thresholds; level -1 = an image
        # without an object of the class.
        plans: list[list[tuple[int, dict[str, Any] | None]]] = []
        # One IoU just above 0.50, one in (0.70, 0.75), one in (0.75, 0.80): then AP50 and AP75 differ
        # from their neighbours in the table, so they cannot be copied from it.
        required = [1, 5, 6]

        def place(cls: str) -> dict[str, Any]:
            img, cell = free.pop()
            w, h = int(rng.integers(10, 17)), int(rng.integers(10, 17))
            x = (cell % 2) * COCO_CELL + 5 + int(rng.integers(0, COCO_CELL - 10 - w + 1))
            y = (cell // 2) * COCO_CELL + 5 + int(rng.integers(0, COCO_CELL - 10 - h + 1))
            gt = {"image_id": img, "class_id": cls, "box": [x, y, x + w, y + h]}
            gts.append(gt)
            return gt

        for ci, cls in enumerate(names):
            later = k - ci - 1
            objs = [place(cls) for _ in range(min(int(rng.integers(2, 4)), len(free) - 2 * later))]
            plan: list[tuple[int, dict[str, Any] | None]] = []
            if ci == 0:
                # One object found twice, loosely by the higher score, tightly by the lower: at 0.50 the
                # loose box is the TP (the tight one a duplicate), at 0.75 the tight one is.
                plan += [(int(rng.integers(2, 5)), objs[0]), (int(rng.integers(7, 10)), objs[0])]
            for obj in objs[1 if ci == 0 else 0:]:
                if required:
                    plan.append((required.pop(int(rng.integers(len(required)))), obj))
                elif rng.random() > 0.25 or not plan:  # else missed: recall stays below 1
                    plan.append((int(rng.integers(1, 11)), obj))
            if rng.random() < 0.5:  # a false alarm: a poor box, or nothing there at all
                plan.append((0, objs[int(rng.integers(len(objs)))]) if rng.random() < 0.5 else (-1, None))
            plans.append(plan)
        if required:
            return None
        dets: list[dict[str, Any]] = []
        for cls, plan in zip(names, plans, strict=True):
            for level, obj in plan:
                if obj is None:
                    images_with = {g["image_id"] for g in gts if g["class_id"] == cls}
                    empty = [i for i in range(1, n_img + 1) if i not in images_with]
                    if not empty:
                        return None
                    x, y = (int(v) for v in rng.integers(5, 2 * COCO_CELL - 20, size=2))
                    box = [x, y, x + int(rng.integers(8, 16)), y + int(rng.integers(8, 16))]
                    img = int(rng.choice(empty))
                else:
                    img = obj["image_id"]
                    if level == 10:
                        box = list(obj["box"])
                    else:
                        lo, hi = _level_window(level)
                        found = _box_in_window(rng, obj["box"], lo, hi, 6 if level == 0 else 4)
                        if found is None:
                            return None
                        box = found
                dets.append({"image_id": img, "class_id": cls, "box": box, "score": 0.0})
        scores = sorted((int(v) for v in rng.choice(np.arange(30, 100), size=len(dets), replace=False)), reverse=True)
        order = [int(i) for i in rng.permutation(len(dets))]
        for rank, i in enumerate(order):
            dets[i]["score"] = round(scores[rank] / 100, 2)
        if dets[0]["score"] < dets[1]["score"]:  # the loose box of the pair scores higher
            dets[0]["score"], dets[1]["score"] = dets[1]["score"], dets[0]["score"]
        listing = [int(i) for i in rng.permutation(len(dets))]
        dets = [dets[i] for i in listing]
        gts.sort(key=lambda g: (g["image_id"], names.index(g["class_id"]), g["box"]))
        params: Params = {"classes": names, "images": n_img, "ground_truths": gts, "detections": dets, "method": COCO}
        return params if self._acceptable_coco(params) else None

    def _acceptable_coco(self, params: Params) -> bool:
        for d in params["detections"]:
            hits = _overlaps(params, d)
            if len(hits) > 1:  # keeps VOC and COCO matching the same (see _at_threshold)
                return False
            if hits and any(abs(hits[0][1] - t) < _GAP for t in _COCO_T):
                return False
        given = dict(_coco_given(params))
        right = json.loads(_coco_answer(_key(params), ""))
        blanks = {_T50: right["map50"], _T75: right["map75"]}
        # Neither blank of the table equals a value given next to it (so it cannot be copied).
        return not any(answers.numbers_match(blanks[a], given[b], TOL) for a, b in ((_T50, 1), (_T75, 4), (_T75, 6)))

    def _acceptable(self, params: Params, tie: bool) -> bool:
        if _tie_exists(params) != tie:
            return False
        ev = _evaluate(_key(params))
        table = ev.classes[params["classes"][0]]
        listed = [i for i, d in enumerate(params["detections"]) if d["class_id"] == params["classes"][0]]
        if list(table.order) == listed:
            return False
        # Every non-tied best IoU keeps a margin from the threshold; no detection is 0.5 ± ε.
        for m in ev.matches:
            if m.best_gt is not None and m.iou != THRESHOLD and abs(m.iou - THRESHOLD) < MARGIN:
                return False
        if not any(m.outcome == "duplicate" and m.class_id == params["classes"][0] for m in ev.matches):
            return False
        # Cheap pre-checks of what ``generate`` verifies in full: the raw-precision AP must differ
        # (an FP ranked above a TP), and the duplicate twist must keep recall ≤ 1.
        right, raw = _solve(params)["ap"], _no_envelope(params)["ap"]  # type: ignore[index]
        if all(answers.numbers_match(a, b, TOL) for a, b in zip(np.atleast_1d(right), np.atleast_1d(raw), strict=True)):
            return False
        return _duplicates(params) is not None

    def parts(self, params: Params) -> list[Part]:
        classes = params["classes"]
        if params["method"] == COCO:
            k = len(classes)
            return [
                Part("ap50", "vector", N_("AP at IoU 0.50, per class"), points=2.0, tolerance=TOL, length=k, partial=True),
                Part("ap75", "vector", N_("AP at IoU 0.75, per class"), points=2.0, tolerance=TOL, length=k, partial=True),
                Part("map50", "number", N_("AP50"), tolerance=TOL),
                Part("map75", "number", N_("AP75"), tolerance=TOL),
                Part("map", "number", N_("AP@[.5:.95]"), points=2.0, tolerance=TOL),
            ]
        n = sum(1 for d in params["detections"] if d["class_id"] == classes[0])
        tp_label, precision_label, recall_label, ap_label = TABLE_LABELS[classes[0]]
        out = [
            Part("tp", "vector", tp_label, tolerance=EXACT, length=n, partial=True),
            Part("precision", "vector", precision_label, tolerance=TOL, length=n, partial=True),
            Part("recall", "vector", recall_label, tolerance=TOL, length=n, partial=True),
        ]
        if len(classes) == 1:
            out.append(Part("ap", "number", ap_label, points=2.0, tolerance=TOL))
        else:
            out.append(
                Part("ap", "vector", N_("AP per class"), points=2.0, tolerance=TOL, length=len(classes), partial=True)
            )
            out.append(Part("map", "number", N_("mAP"), tolerance=TOL))
        return out

    def parse_part(self, part: Part, raw: Any) -> Any:
        if part.name == "tp":
            assert part.length is not None
            return parse_flags(raw, part.length)
        return super().parse_part(part, raw)

    def solve(self, params: Params) -> Response:
        if params["method"] == COCO:
            return json.loads(_coco_answer(_key(params), ""))
        return _solve(params)

    def carried_forward(self, params: Params, part: Part, response: Response) -> Any | None:
        """COCO mode: AP50/AP75 from the student's own per-class values, AP@[.5:.95] from their own
        AP50 and AP75 with the table."""
        if params["method"] != COCO:
            return None
        if part.name in ("map50", "map75"):
            values = response.get("ap50" if part.name == "map50" else "ap75")
            return float(np.mean(values)) if values else None
        if part.name == "map" and response.get("map50") is not None and response.get("map75") is not None:
            given = sum(value for _, value in _coco_given(params))
            return (float(response["map50"]) + float(response["map75"]) + given) / len(_COCO_T)
        return None

    def clear_caches(self) -> None:
        for cached in (_evaluate, _cached_answer, _tie_cached, _coco, _at_threshold, _coco_answer):
            cached.cache_clear()

    def hint(self, params: Params, part: Part, given: Any) -> Wording | None:
        return Text((_COCO_HINTS if params["method"] == COCO else _HINTS)[part.name])

    # ---- text -------------------------------------------------------------------------------

    def render(self, params: Params, lang: str = "en") -> str:
        if params["method"] == COCO:
            return _coco_render(params, lang)
        _ = gettext_for(lang)
        classes, method = params["classes"], params["method"]
        c0 = classes[0]
        gt_rows = [_gt_header(lang), "|---|---|---|---|"]
        gt_rows += [
            f"| G{i} | {g['image_id']} | {_class_name(g['class_id'], lang)} | {g['box']} |"
            for i, g in enumerate(params["ground_truths"])
        ]
        det_rows = [_("| detection | image | class | box $[x_1, y_1, x_2, y_2]$ | score |"), "|---|---|---|---|---|"]
        det_rows += [
            f"| D{i} | {d['image_id']} | {_class_name(d['class_id'], lang)} | {d['box']} | {d['score']:.2f} |"
            for i, d in enumerate(params["detections"])
        ]
        n0 = sum(1 for d in params["detections"] if d["class_id"] == c0)
        ap_rule = (
            _(
                "the **all-point AP** (VOC2010+): the area under the interpolated precision "
                "$\\hat p(r) = \\max_{r' \\ge r} p(r')$, i.e. $\\sum_k (r_k - r_{k-1})\\,\\hat p(r_k)$ with $r_0 = 0$"
            )
            if method == "voc"
            else _(
                "the **11-point AP** (VOC2007): the mean of the interpolated precision "
                "$\\hat p(r) = \\max_{r' \\ge r} p(r')$ at recall $0, 0.1, \\dots, 1$ (0 where no row reaches that recall)"
            )
        )
        evaluation = _(
            "Evaluation (PASCAL VOC): each class separately; detections are processed by descending score, and each "
            "is matched to the ground truth of the same image and class with which it has the highest IoU: it is a "
            "TP if that IoU is $\\ge 0.5$ and that ground truth is not matched yet, otherwise an FP (a second "
            "detection of the same object is an FP). AP is %(ap_rule)s."
        ) % {"ap_rule": ap_rule}
        several = len(classes) > 1
        questions = _(
            "1. Sort the %(n)d detections of class *%(class_name)s* by descending score: is each one a TP or an FP?\n"
            "2. Their cumulative precision and\n3. cumulative recall (one value per row)."
        ) % {"n": n0, "class_name": _class_name(c0, lang)}
        last = (
            _("4. The AP of each class (in the order %(classes)s).\n5. The mAP.") % {"classes": _class_list(classes, lang)}
            if several
            else _("4. The AP of class *%(class_name)s*.") % {"class_name": _class_name(c0, lang)}
        )
        text = [
            _(
                "An object detector was run on %(images)d images (continuous box coordinates, area "
                "$(x_2 - x_1)(y_2 - y_1)$)."
            ) % {"images": params["images"]},
            "\n".join(gt_rows),
            "\n".join(det_rows),
            join_sentences([evaluation, _("The mAP is the mean of the per-class APs.") if several else None])(lang),
            f"{questions}\n{last}",
            _(
                "*Answer format*: TP/FP as `TP, FP, TP` (or `1, 0, 1`); numbers to at least 3 significant figures, "
                "fractions such as `2/3` are fine."
            ),
        ]
        return "\n\n".join(text) + "\n"

    def explain(self, params: Params, lang: str = "en") -> str:
        if params["method"] == COCO:
            return _coco_explain(params, lang)
        _ = gettext_for(lang)
        ev = _evaluate(_key(params))
        ans = _solve(params)
        method = params["method"]
        out: list[str] = []
        labels = {
            "tp": "TP",
            "duplicate": _("FP (duplicate)"),
            "low_iou": _("FP (IoU < 0.5)"),
            "no_gt": _("FP (no GT)"),
        }
        matches = {m.index: m for m in ev.matches}
        aps = []
        for c in params["classes"]:
            cls = ev.classes[c]
            out.append(_class_heading(c, cls.num_gt, lang))
            head = _("| rank | det | score | best GT / IoU | result | cum. TP | precision | recall |")
            rows = [head, "|---|---|---|---|---|---|---|---|"]
            for r, i in enumerate(cls.order):
                m = matches[i]
                best = f"G{m.best_gt} / {m.iou:.4f}" if m.best_gt is not None else "—"
                rows.append(
                    f"| {r + 1} | D{i} | {m.score:.2f} | {best} | {labels[m.outcome]} | {cls.cum_tp[r]} | "
                    f"{cls.cum_tp[r]}/{r + 1} = {cls.precision[r]:.4f} | {cls.cum_tp[r]}/{cls.num_gt} = {cls.recall[r]:.4f} |"
                )
            out.append("\n".join(rows))
            r = np.asarray(cls.recall)
            p = np.asarray(cls.precision)
            env = np.maximum.accumulate(p[::-1])[::-1] if p.size else p
            out.append(
                _("Interpolated precision $\\hat p$ (max of the precision from this row on): %(values)s")
                % {"values": ", ".join(f"{v:.4f}" for v in env)}
            )
            if method == "voc":
                terms = []
                prev = 0.0
                for rk, pk in zip(r, env, strict=True):
                    if rk > prev:
                        terms.append(f"({rk:.4f} - {prev:.4f}) \\times {pk:.4f}")
                        prev = rk
                out.append(f"$$\\text{{AP}} = {' + '.join(terms) or '0'} = {cls.ap:.4f}$$")
            else:
                samples = []
                for t in np.arange(11) / 10.0:
                    idx = np.flatnonzero(r >= t - 1e-12)
                    samples.append(f"{env[idx[0]]:.4f}" if idx.size else "0")
                out.append(
                    f"$$\\text{{AP}} = \\tfrac{{1}}{{11}}({' + '.join(samples)}) = {cls.ap:.4f}$$"
                )
            aps.append(cls.ap)
        if len(params["classes"]) > 1:
            out.append(
                f"$$\\text{{mAP}} = \\tfrac{{1}}{{{len(aps)}}}({' + '.join(f'{a:.4f}' for a in aps)}) = {ans['map']:.4f}$$"
            )
        return "\n\n".join(out) + "\n"


_HINTS = {
    "tp": N_(
        "Sort by score; for each detection find the GT of its image and class with the highest IoU; TP only if "
        "IoU ≥ 0.5 and that GT is still free."
    ),
    "precision": N_("Row $k$: (TPs so far) / $k$."),
    "recall": N_("Row $k$: (TPs so far) / (number of ground truths of the class)."),
    "ap": N_("Replace each precision by the maximum precision at that row or below, then apply the stated AP rule."),
    "map": N_("Average the APs of the classes."),
}
