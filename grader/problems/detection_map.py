"""Family ``detection-map``: TP/FP, the precision/recall table, AP and mAP of a small detection run.

Variant: 1–3 classes, 2–3 images, a handful of ground-truth boxes (integer corners, one per cell
of a 2×2 grid per image, so objects never overlap) and scored detections (distinct scores,
listed in a shuffled order), IoU threshold 0.5 (TP when IoU ≥ 0.5) and an AP method, ``voc``
(all-point, area under the monotone precision envelope) or ``voc07`` (11-point).

Parts, for the first listed class (the *table class*): ``tp`` (1 = TP, 0 = FP for its detections
in descending score order; ``TP``/``FP`` are accepted too), ``precision`` and ``recall`` (the
cumulative table, one value per row); then ``ap`` (a number with one class, else a vector of the
APs in class order) and, with several classes, ``map``.

Everything is computed by the reference ``evaluate_detections`` / ``average_precision`` (VOC
matching: a detection takes the GT with the highest IoU; if that GT is taken, it is a
duplicate FP). The misconceptions re-run the same reference code on modified inputs (scores
replaced by the listing order, a threshold just above 0.5) or re-score its tables.
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
from grader.problems import register
from grader.problems.base import Misconception, Params, Part, ProblemFamily, Response, tr
from grader.reference import DetectionEvaluation, average_precision, evaluate_detections

TOL = Tolerance(rel=1e-3, abs=1e-9, sigfigs=3)
THRESHOLD = 0.5
METHODS = ("voc", "voc07")
CLASS_NAMES = {"cat": "貓", "dog": "狗", "car": "汽車", "person": "人"}
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
    return _twisted(params, "method")


def _no_envelope(params: Params) -> Response | None:
    return _twisted(params, "no-envelope")


def _duplicates(params: Params) -> Response | None:
    if not any(m.outcome == "duplicate" for m in _evaluate(_key(params)).matches):
        return None
    return _twisted(params, "duplicates")


def _unsorted(params: Params) -> Response | None:
    return _twisted(params, "unsorted")


def _strict(params: Params) -> Response | None:
    if not _tie_exists(params):
        return None
    return _twisted(params, "strict")


def _weighted(params: Params) -> Response | None:
    if len(params["classes"]) < 2:
        return None
    answer = _twisted(params, "weighted")
    assert answer is not None
    return {"map": answer["map"]}


_MISCONCEPTIONS = (
    Misconception(
        "ap-method-swapped",
        "You used the other AP definition. VOC2007's 11-point AP is the mean of the interpolated precision at "
        "recall 0, 0.1, …, 1; the all-point AP (VOC2010+) is the area under the whole interpolated curve, "
        "$\\sum_k (r_k - r_{k-1})\\,\\hat p(r_k)$. Use the one the problem states.",
        "你用了另一種 AP 定義。VOC2007 的 11 點 AP 是在 recall = 0, 0.1, …, 1 這 11 點取內插精確率 (precision) "
        "的平均；全點 (all-point, VOC2010 起) AP 是整條內插曲線下的面積 $\\sum_k (r_k - r_{k-1})\\,\\hat p(r_k)$。"
        "請用題目指定的方法。",
        _method_swapped,
    ),
    Misconception(
        "no-precision-envelope",
        "You used the raw precision of each row. AP uses the interpolated precision "
        "$\\hat p(r) = \\max_{r' \\ge r} p(r')$ — the best precision at this recall *or higher* — which makes the "
        "curve non-increasing before taking the area or the 11-point mean.",
        "你直接用了每一列的原始精確率 (precision)。AP 要用內插精確率 $\\hat p(r) = \\max_{r' \\ge r} p(r')$"
        "（此 recall 或更高 recall 時的最佳精確率），讓曲線先變成不遞增，再算面積或 11 點平均。",
        _no_envelope,
    ),
    Misconception(
        "duplicate-counted-as-tp",
        "You counted a second detection of an already-matched object as a TP. Each ground-truth box can be "
        "matched only once: the highest-scoring detection takes it, later detections of the same object are "
        "FPs (duplicates), even with a high IoU.",
        "你把同一物件的第二個偵測也算成 TP。每個真實框 (ground truth) 只能被配對一次："
        "分數最高的偵測先配對，之後同一物件的偵測都是 FP（重複偵測 (duplicate)），即使 IoU 很高。",
        _duplicates,
    ),
    Misconception(
        "not-sorted-by-score",
        "You went through the detections in the order they are listed. First sort them by confidence score, "
        "highest first; matching and the cumulative precision/recall table follow that order.",
        "你照列出的順序處理偵測結果。要先依信心分數 (confidence score) 由高到低排序，"
        "配對與累積的 precision/recall 表都依這個順序。",
        _unsorted,
    ),
    Misconception(
        "iou-threshold-strict",
        "You treated IoU = 0.5 as a miss. A detection is a TP when its IoU is *at least* the threshold "
        "($\\text{IoU} \\ge 0.5$), so an IoU of exactly 0.5 counts.",
        "你把 IoU 恰好等於 0.5 當成沒偵測到。IoU「大於或等於」門檻值 ($\\text{IoU} \\ge 0.5$) 就是 TP，"
        "恰好 0.5 也算。",
        _strict,
    ),
    Misconception(
        "map-weighted-by-detections",
        "You weighted each class by its number of detections. The mAP is the plain mean of the per-class APs: "
        "every class counts once, $\\text{mAP} = \\frac{1}{C}\\sum_c \\text{AP}_c$.",
        "你依各類別的偵測數加權平均。mAP 是各類別 AP 的簡單平均，每個類別只算一次："
        "$\\text{mAP} = \\frac{1}{C}\\sum_c \\text{AP}_c$。",
        _weighted,
    ),
)


# --------------------------------------------------------------------------- parsing TP/FP


_TP_WORDS = {"tp": 1, "t": 1, "1": 1, "true": 1, "✓": 1, "fp": 0, "f": 0, "0": 0, "false": 0, "✗": 0, "x": 0}


def parse_flags(raw: Any, length: int) -> list[int]:
    """A list of TP/FP flags: ``TP FP TP``, ``1, 0, 1``, ``[1, 0, 1]`` or JSON ``[true, false]``."""
    if isinstance(raw, str):
        if len(raw) > answers.MAX_TEXT_CHARS:
            raise AnswerFormatError("The answer is too long.", "答案過長。")
        text = answers.normalize_text(raw).strip().strip("[]()").strip()
        tokens = [t for t in text.replace(",", " ").replace(";", " ").split() if t]
    elif isinstance(raw, list | tuple):
        tokens = list(raw)
    else:
        raise AnswerFormatError("Expected a list of TP/FP (or 1/0).", "需要一串 TP/FP（或 1/0）。")
    flags = []
    for i, tok in enumerate(tokens, start=1):
        if isinstance(tok, bool):
            flags.append(int(tok))
            continue
        word = str(tok).strip().lower()
        if word not in _TP_WORDS:
            raise AnswerFormatError(
                f"Entry {i}: '{tok}' is neither TP nor FP (write TP/FP or 1/0).",
                f"第 {i} 個值：「{tok}」不是 TP 或 FP（請寫 TP/FP 或 1/0）。",
            )
        flags.append(_TP_WORDS[word])
    if len(flags) != length:
        raise AnswerFormatError(f"Expected {length} values, got {len(flags)}.", f"需要 {length} 個值，但收到 {len(flags)} 個。")
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


@register
class DetectionMap(ProblemFamily):
    """VOC-style TP/FP matching, precision/recall table, AP and mAP."""

    name = "detection-map"
    title = {"en": "Detection AP and mAP", "zh-Hant": "偵測的 AP 與 mAP"}
    topic = "detection"
    misconceptions = _MISCONCEPTIONS
    constraint_keys = {
        "classes": "number of classes, 1..3",
        "images": "number of images, 2 or 3",
        "method": "'voc' (all-point) or 'voc07' (11-point)",
        "tie": "true: some detection has IoU exactly 0.5 with its best ground truth",
    }
    max_tries = 100

    def sample(self, rng: np.random.Generator, constraints: Mapping[str, Any]) -> Params:
        for _ in range(500):
            params = self._candidate(rng, constraints)
            if params is not None:
                return params
        raise ValueError(f"{self.name}: no variant found for constraints {dict(constraints)}")

    def _candidate(self, rng: np.random.Generator, c: Mapping[str, Any]) -> Params | None:
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
        n = sum(1 for d in params["detections"] if d["class_id"] == classes[0])
        c0 = classes[0]
        zh0 = CLASS_NAMES[c0]
        out = [
            Part("tp", "vector", {"en": f"TP/FP ({c0})", "zh-Hant": f"TP/FP（{zh0} {c0}）"}, tolerance=EXACT, length=n, partial=True),
            Part("precision", "vector", {"en": f"precision ({c0})", "zh-Hant": f"精確率 precision（{zh0}）"}, tolerance=TOL, length=n, partial=True),
            Part("recall", "vector", {"en": f"recall ({c0})", "zh-Hant": f"召回率 recall（{zh0}）"}, tolerance=TOL, length=n, partial=True),
        ]
        if len(classes) == 1:
            out.append(Part("ap", "number", {"en": f"AP ({c0})", "zh-Hant": f"AP（{zh0}）"}, points=2.0, tolerance=TOL))
        else:
            out.append(
                Part("ap", "vector", {"en": "AP per class", "zh-Hant": "各類別的 AP"}, points=2.0, tolerance=TOL, length=len(classes), partial=True)
            )
            out.append(Part("map", "number", {"en": "mAP", "zh-Hant": "mAP"}, tolerance=TOL))
        return out

    def parse_part(self, part: Part, raw: Any) -> Any:
        if part.name == "tp":
            assert part.length is not None
            return parse_flags(raw, part.length)
        return super().parse_part(part, raw)

    def solve(self, params: Params) -> Response:
        return _solve(params)

    def clear_caches(self) -> None:
        _evaluate.cache_clear()
        _cached_answer.cache_clear()
        _tie_cached.cache_clear()

    def hint(self, params: Params, part: Part, given: Any, lang: str) -> str | None:
        return tr(_HINTS[part.name], lang)

    # ---- text -------------------------------------------------------------------------------

    def render(self, params: Params, lang: str = "en") -> str:
        zh = lang == "zh-Hant"
        classes, method = params["classes"], params["method"]
        c0 = classes[0]

        def cname(c: str) -> str:
            return f"{CLASS_NAMES[c]} ({c})" if zh else c

        gt_rows = [
            "| 真實框 (GT) | 影像 (image) | 類別 (class) | 框 $[x_1, y_1, x_2, y_2]$ |" if zh else "| GT | image | class | box $[x_1, y_1, x_2, y_2]$ |",
            "|---|---|---|---|",
        ]
        gt_rows += [f"| G{i} | {g['image_id']} | {cname(g['class_id'])} | {g['box']} |" for i, g in enumerate(params["ground_truths"])]
        det_rows = [
            "| 偵測 (detection) | 影像 (image) | 類別 (class) | 框 $[x_1, y_1, x_2, y_2]$ | 分數 (score) |" if zh else "| detection | image | class | box $[x_1, y_1, x_2, y_2]$ | score |",
            "|---|---|---|---|---|",
        ]
        det_rows += [
            f"| D{i} | {d['image_id']} | {cname(d['class_id'])} | {d['box']} | {d['score']:.2f} |"
            for i, d in enumerate(params["detections"])
        ]
        n0 = sum(1 for d in params["detections"] if d["class_id"] == c0)
        if zh:
            meth = (
                "**全點 (all-point) AP**（VOC2010 起）：內插精確率曲線 $\\hat p(r) = \\max_{r' \\ge r} p(r')$ 下的面積 "
                "$\\sum_k (r_k - r_{k-1})\\,\\hat p(r_k)$，$r_0 = 0$"
                if method == "voc"
                else "**11 點 (11-point) AP**（VOC2007）：在 recall $= 0, 0.1, \\dots, 1$ 取內插精確率 "
                "$\\hat p(r) = \\max_{r' \\ge r} p(r')$ 的平均（達不到的 recall 取 0）"
            )
            text = [
                f"一個物件偵測器在 {params['images']} 張影像上的結果如下（框為連續座標，面積 $(x_2 - x_1)(y_2 - y_1)$）。",
                "\n".join(gt_rows),
                "\n".join(det_rows),
                "評估規則（PASCAL VOC）：每個類別分開計算；偵測結果依分數由高到低處理，每個偵測與同一影像、同一類別中 "
                "IoU 最高的真實框配對：若該 IoU $\\ge 0.5$ 且該真實框尚未被配對，則為 TP；否則為 FP"
                "（同一物件的第二個偵測是 FP）。" + f"AP 使用 {meth}。"
                + ("mAP 為各類別 AP 的平均。" if len(classes) > 1 else ""),
                f"1. 類別 {cname(c0)} 的 {n0} 個偵測依分數由高到低排列後，各是 TP 還是 FP？\n"
                f"2. 對應的累積精確率 (precision) 與\n3. 累積召回率 (recall)（每列一個值）。\n"
                + (f"4. 類別 {cname(c0)} 的 AP。" if len(classes) == 1 else
                   "4. 各類別的 AP（依 " + "、".join(cname(c) for c in classes) + " 的順序）。\n5. mAP。"),
                "*作答格式*：TP/FP 寫成 `TP, FP, TP`（或 `1, 0, 1`）；數值至少 3 位有效數字，可寫分數如 `2/3`。",
            ]
        else:
            meth = (
                "the **all-point AP** (VOC2010+): the area under the interpolated precision "
                "$\\hat p(r) = \\max_{r' \\ge r} p(r')$, i.e. $\\sum_k (r_k - r_{k-1})\\,\\hat p(r_k)$ with $r_0 = 0$"
                if method == "voc"
                else "the **11-point AP** (VOC2007): the mean of the interpolated precision "
                "$\\hat p(r) = \\max_{r' \\ge r} p(r')$ at recall $0, 0.1, \\dots, 1$ (0 where no row reaches that recall)"
            )
            text = [
                f"An object detector was run on {params['images']} images (continuous box coordinates, area "
                "$(x_2 - x_1)(y_2 - y_1)$).",
                "\n".join(gt_rows),
                "\n".join(det_rows),
                "Evaluation (PASCAL VOC): each class separately; detections are processed by descending score, and each "
                "is matched to the ground truth of the same image and class with which it has the highest IoU: it is a "
                "TP if that IoU is $\\ge 0.5$ and that ground truth is not matched yet, otherwise an FP (a second "
                f"detection of the same object is an FP). AP is {meth}."
                + (" The mAP is the mean of the per-class APs." if len(classes) > 1 else ""),
                f"1. Sort the {n0} detections of class *{c0}* by descending score: is each one a TP or an FP?\n"
                "2. Their cumulative precision and\n3. cumulative recall (one value per row).\n"
                + (f"4. The AP of class *{c0}*." if len(classes) == 1 else
                   "4. The AP of each class (in the order " + ", ".join(f"*{c}*" for c in classes) + ").\n5. The mAP."),
                "*Answer format*: TP/FP as `TP, FP, TP` (or `1, 0, 1`); numbers to at least 3 significant figures, "
                "fractions such as `2/3` are fine.",
            ]
        return "\n\n".join(text) + "\n"

    def explain(self, params: Params, lang: str = "en") -> str:
        zh = lang == "zh-Hant"
        ev = _evaluate(_key(params))
        ans = _solve(params)
        method = params["method"]
        out: list[str] = []
        labels = {"tp": "TP", "duplicate": "FP (duplicate)", "low_iou": "FP (IoU < 0.5)", "no_gt": "FP (no GT)"}
        if zh:
            labels = {"tp": "TP", "duplicate": "FP（重複偵測 duplicate）", "low_iou": "FP（IoU < 0.5）", "no_gt": "FP（影像中沒有此類真實框）"}
        matches = {m.index: m for m in ev.matches}
        aps = []
        for c in params["classes"]:
            cls = ev.classes[c]
            out.append(f"**{CLASS_NAMES[c]} ({c})**" if zh else f"**Class {c}** ({cls.num_gt} ground truths)")
            head = "| 排名 | 偵測 | 分數 | 最佳真實框 / IoU | 結果 | 累積 TP | precision | recall |" if zh else "| rank | det | score | best GT / IoU | result | cum. TP | precision | recall |"
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
                ("內插精確率 (interpolated precision) $\\hat p$：" if zh else "Interpolated precision $\\hat p$ (max of the precision from this row on): ")
                + ", ".join(f"{v:.4f}" for v in env)
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
    "tp": {
        "en": "Sort by score; for each detection find the GT of its image and class with the highest IoU; TP only if IoU ≥ 0.5 and that GT is still free.",
        "zh-Hant": "依分數排序；每個偵測找同影像、同類別 IoU 最高的真實框；只有 IoU ≥ 0.5 且該真實框尚未被配對時才是 TP。",
    },
    "precision": {"en": "Row $k$: (TPs so far) / $k$.", "zh-Hant": "第 $k$ 列：（到此為止的 TP 數）/ $k$。"},
    "recall": {"en": "Row $k$: (TPs so far) / (number of ground truths of the class).", "zh-Hant": "第 $k$ 列：（到此為止的 TP 數）/（該類別真實框的總數）。"},
    "ap": {"en": "Replace each precision by the maximum precision at that row or below, then apply the stated AP rule.", "zh-Hant": "先把每列的精確率換成該列及之後各列的最大值，再依題目的 AP 定義計算。"},
    "map": {"en": "Average the APs of the classes.", "zh-Hant": "把各類別的 AP 取平均。"},
}
