"""Family ``box-encoding-anchors``: the training targets of detectors, by hand.

Variant, four small tasks on integer boxes ``[x1, y1, x2, y2]`` (continuous coordinates):

1. ``deltas``: the R-CNN regression targets ``(tx, ty, tw, th)`` that move an anchor ``A`` onto a
   ground-truth box ``G`` (weights 1, natural log);
2. ``decoded``: the box the predicted deltas ``t`` give when applied to the same anchor, as corners;
3. ``cell`` and ``offset``: the YOLO-v1 cell (row, column) responsible for an object centre in an
   ``S × S`` grid, and the centre's offsets in that cell;
4. ``labels``: Faster R-CNN's RPN labels (1 positive, 0 negative, −1 ignored) of 4–6 anchors
   against one or two ground truths, with the IoU table given (positive ``≥ 0.7``, negative
   ``< 0.3``, and each ground truth's best anchor positive).

Conventions: ``grader/CONVENTIONS.md`` ("Detectors", "Anchors and cell targets"); computed with
:func:`grader.reference.encode_box_deltas`, :func:`~grader.reference.decode_box_deltas`,
:func:`~grader.reference.yolo_cell_target` and :func:`~grader.reference.label_anchors`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np

from grader.answers import EXACT, Tolerance
from grader.i18n import N_, Text, Wording, gettext_for, join_list
from grader.problems import register
from grader.problems.base import Misconception, Params, Part, ProblemFamily, Response, fmt_decimal, pick
from grader.reference import (
    box_iou,
    centre_to_corners,
    corners_to_centre,
    decode_box_deltas,
    encode_box_deltas,
    label_anchors,
    yolo_cell_target,
)

#: Deltas and offsets: 3 significant figures, or within 0.001 (small values such as 0.0625).
TOL = Tolerance(rel=1e-3, abs=1e-3, sigfigs=3)
#: Decoded corners are pixel coordinates: within 0.01 pixel, or 3 significant figures.
TOL_BOX = Tolerance(rel=1e-3, abs=1e-2, sigfigs=3)
POSITIVE, NEGATIVE = 0.7, 0.3
#: Smallest distance between an anchor's IoU and a threshold, and between a ground truth's best
#: anchor and its runner-up: keeps the decisions robust to the two-decimal IoU table.
MARGIN = 0.03


# --------------------------------------------------------------------------- computation


def _floats(values: Any) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=np.float64).ravel()]


def _labels(params: Params) -> Any:
    return label_anchors(params["anchors"], params["gts"], POSITIVE, NEGATIVE)


@lru_cache(maxsize=4096)
def _solve_json(key: str) -> str:
    return json.dumps(_compute(json.loads(key)))


def _solve(params: Params) -> Response:
    """The answer; memoized (the misconception solvers start from it), a fresh copy each call."""
    return json.loads(_solve_json(json.dumps(params, sort_keys=True)))


def _compute(params: Params) -> Response:
    row, col, x, y = yolo_cell_target(params["centre"], tuple(params["image"]), params["grid"])
    return {
        "deltas": _floats(encode_box_deltas([params["anchor"]], [params["gt"]])),
        "decoded": _floats(decode_box_deltas([params["anchor"]], [params["deltas"]])),
        "cell": [row, col],
        "offset": [x, y],
        "labels": [int(v) for v in _labels(params).labels],
    }


def _centre(box: list[int]) -> list[float]:
    return _floats(corners_to_centre(box))


# --------------------------------------------------------------------------- misconceptions


def _no_log(params: Params) -> Response | None:
    p, g = _centre(params["anchor"]), _centre(params["gt"])
    right = _solve(params)["deltas"]
    return {"deltas": [right[0], right[1], g[2] / p[2], g[3] / p[3]]}


def _by_gt(params: Params) -> Response | None:
    p, g = _centre(params["anchor"]), _centre(params["gt"])
    right = _solve(params)["deltas"]
    return {"deltas": [(g[0] - p[0]) / g[2], (g[1] - p[1]) / g[3], right[2], right[3]]}


def _reversed(params: Params) -> Response | None:
    return {"deltas": [-v for v in _solve(params)["deltas"]]}


def _decode_no_exp(params: Params) -> Response | None:
    p, t = _centre(params["anchor"]), params["deltas"]
    box = [p[0] + t[0] * p[2], p[1] + t[1] * p[3], p[2] * t[2], p[3] * t[3]]
    return {"decoded": _floats(centre_to_corners(box))}


def _decode_unscaled(params: Params) -> Response | None:
    p, t = _centre(params["anchor"]), params["deltas"]
    box = [p[0] + t[0], p[1] + t[1], p[2] * math.exp(t[2]), p[3] * math.exp(t[3])]
    return {"decoded": _floats(centre_to_corners(box))}


def _decode_centre_form(params: Params) -> Response | None:
    return {"decoded": _floats(corners_to_centre(_solve(params)["decoded"]))}


def _swapped(params: Params) -> Response | None:
    row, col = _solve(params)["cell"]
    return {"cell": [col, row]} if row != col else None


def _image_relative(params: Params) -> Response | None:
    (cx, cy), (w, h) = params["centre"], params["image"]
    return {"offset": [cx / w, cy / h]}


def _rounded(params: Params) -> Response | None:
    (cx, cy), (w, h), s = params["centre"], params["image"], params["grid"]
    u, v = cx * s / w, cy * s / h
    col, row = min(int(math.floor(u + 0.5)), s - 1), min(int(math.floor(v + 0.5)), s - 1)
    if [row, col] == _solve(params)["cell"]:
        return None
    return {"cell": [row, col], "offset": [u - col, v - row]}


def _no_ignore(params: Params) -> Response | None:
    labels = _solve(params)["labels"]
    return {"labels": [0 if v == -1 else v for v in labels]} if -1 in labels else None


def _no_best_match(params: Params) -> Response | None:
    found = _labels(params)
    if not found.low_quality.any():
        return None
    best = found.iou.max(axis=1)
    labels = [int(v) for v in found.labels]
    for i in np.flatnonzero(found.low_quality):
        labels[i] = 0 if best[i] < NEGATIVE else -1
    return {"labels": labels}


_MISCONCEPTIONS = (
    Misconception(
        "delta-no-log",
        N_(
            "You used the size ratios $g_w / p_w$ and $g_h / p_h$ as $t_w$, $t_h$. The size targets are their "
            "*logarithms*: $t_w = \\log(g_w / p_w)$, $t_h = \\log(g_h / p_h)$, so that an unchanged size gives 0 and "
            "growing and shrinking are symmetric."
        ),
        _no_log,
    ),
    Misconception(
        "delta-normalised-by-gt",
        N_(
            "You divided the centre offsets by the ground truth's size. They are divided by the *anchor's* (the "
            "proposal's) size: $t_x = (g_x - p_x) / p_w$, $t_y = (g_y - p_y) / p_h$ — the network only knows the "
            "anchor when it predicts them."
        ),
        _by_gt,
    ),
    Misconception(
        "delta-reversed",
        N_(
            "Your deltas have the wrong sign: they move the ground truth onto the anchor. The targets move the "
            "*anchor* onto the ground truth: $t_x = (g_x - p_x)/p_w$ and $t_w = \\log(g_w / p_w)$."
        ),
        _reversed,
    ),
    Misconception(
        "decode-no-exp",
        N_(
            "You multiplied the anchor's size by $t_w$, $t_h$ directly. They are log-scale factors: "
            "$w = p_w\\, e^{t_w}$, $h = p_h\\, e^{t_h}$."
        ),
        _decode_no_exp,
    ),
    Misconception(
        "decode-offset-not-scaled",
        N_(
            "You added $t_x$, $t_y$ to the centre in pixels. They are in units of the anchor's size: "
            "$x = p_x + t_x\\, p_w$, $y = p_y + t_y\\, p_h$."
        ),
        _decode_unscaled,
    ),
    Misconception(
        "decode-centre-form",
        N_(
            "You gave the decoded box as centre and size $[x, y, w, h]$. The question asks for corners: "
            "$[x - w/2,\\ y - h/2,\\ x + w/2,\\ y + h/2]$."
        ),
        _decode_centre_form,
    ),
    Misconception(
        "yolo-row-column-swapped",
        N_(
            "You swapped row and column. The row index comes from $y$ (downwards), the column index from $x$: "
            "row $= \\lfloor c_y S / H \\rfloor$, column $= \\lfloor c_x S / W \\rfloor$."
        ),
        _swapped,
    ),
    Misconception(
        "yolo-offset-image-relative",
        N_(
            "You gave the centre relative to the whole image. YOLO's $(x, y)$ are offsets inside the responsible "
            "cell, in cell units: $x = c_x S / W - \\text{column}$, between 0 and 1."
        ),
        _image_relative,
    ),
    Misconception(
        "yolo-cell-rounded",
        N_(
            "You rounded to the nearest cell. The responsible cell is the one the centre lies *in*: take the floor "
            "$\\lfloor c_x S / W \\rfloor$, so the offsets stay between 0 and 1."
        ),
        _rounded,
    ),
    Misconception(
        "anchor-ignore-band-dropped",
        N_(
            "You labelled every anchor that is not positive as negative. Anchors whose best IoU lies between the two "
            "thresholds ($0.3 \\le \\text{IoU} < 0.7$) are *ignored* ($-1$): they are neither object nor background "
            "and do not enter the classification loss."
        ),
        _no_ignore,
    ),
    Misconception(
        "anchor-best-match-forgotten",
        N_(
            "You forgot the second positive rule: for each ground-truth box, the anchor with the highest IoU is "
            "positive even below 0.7, so that every object has at least one anchor to learn from."
        ),
        _no_best_match,
    ),
)


# --------------------------------------------------------------------------- the family


@register
class BoxEncodingAnchors(ProblemFamily):
    """R-CNN box deltas both ways, the YOLO-v1 cell target, and RPN anchor labels."""

    name = "box-encoding-anchors"
    title = N_("Box encoding and anchors: deltas, YOLO cells, anchor labels")
    topic = "detection"
    misconceptions = _MISCONCEPTIONS
    constraint_keys = {
        "gts": "number of ground-truth boxes in the anchor-labelling task, 1 or 2",
        "anchors": "number of anchors to label, 4..6",
    }

    def sample(self, rng: np.random.Generator, constraints: Mapping[str, Any]) -> Params:
        c = constraints
        n_gts = int(c.get("gts") or rng.integers(1, 3))
        n_anchors = int(c.get("anchors") or rng.integers(4, 7))
        if n_gts not in (1, 2) or n_anchors not in range(4, 7):
            raise ValueError(f"{self.name}: bad constraints {dict(c)}")
        params: Params = {**self._encoding(rng), **self._yolo(rng)}
        for _ in range(2000):
            matching = self._matching(rng, n_gts, n_anchors)
            if matching is not None:
                return {**params, **matching}
        raise ValueError(f"{self.name}: no anchor layout found for {dict(c)}")

    def _encoding(self, rng: np.random.Generator) -> Params:
        pw, ph = (int(pick(rng, (16, 20, 24, 32, 40, 48, 64))) for _ in range(2))
        px, py = (int(v) for v in rng.integers(10, 40, size=2) * 4)
        gw = max(4, 2 * round(pw * float(rng.uniform(0.55, 1.7)) / 2))
        gh = max(4, 2 * round(ph * float(rng.uniform(0.55, 1.7)) / 2))
        gx, gy = px + int(rng.integers(-pw // 3, pw // 3 + 1)), py + int(rng.integers(-ph // 3, ph // 3 + 1))
        deltas = [
            round(float(pick(rng, (-0.3, -0.25, -0.2, -0.15, -0.1, 0.1, 0.15, 0.2, 0.25, 0.3))), 2),
            round(float(pick(rng, (-0.3, -0.25, -0.2, -0.15, -0.1, 0.1, 0.15, 0.2, 0.25, 0.3))), 2),
            round(float(pick(rng, (-0.5, -0.4, -0.3, -0.2, 0.2, 0.3, 0.4, 0.5))), 2),
            round(float(pick(rng, (-0.5, -0.4, -0.3, -0.2, 0.2, 0.3, 0.4, 0.5))), 2),
        ]
        return {
            "anchor": [px - pw // 2, py - ph // 2, px + pw // 2, py + ph // 2],
            "gt": [gx - gw // 2, gy - gh // 2, gx + gw // 2, gy + gh // 2],
            "deltas": deltas,
        }

    def _yolo(self, rng: np.random.Generator) -> Params:
        size, grid = pick(rng, ((448, 7), (224, 7), (416, 13), (320, 5), (384, 6)))
        cell = size // grid
        while True:
            row, col = (int(v) for v in rng.integers(0, grid, size=2))
            if row != col:
                break
        # Offsets away from 0 and 1, and about half the time past the middle of the cell.
        fx, fy = (int(v) for v in rng.integers(max(1, cell // 10), cell - max(1, cell // 10), size=2))
        return {"image": [size, size], "grid": grid, "centre": [col * cell + fx, row * cell + fy]}

    def _matching(self, rng: np.random.Generator, n_gts: int, n_anchors: int) -> Params | None:
        gts = []
        for k in range(n_gts):
            w, h = (int(v) for v in rng.integers(20, 61, size=2))
            x, y = 30 + 120 * k + int(rng.integers(0, 30)), 30 + int(rng.integers(0, 60))
            gts.append([x, y, x + w, y + h])
        anchors = []
        for _ in range(n_anchors):
            if rng.random() < 0.15:
                x, y = (int(v) for v in rng.integers(0, 260, size=2))
                s = int(rng.integers(16, 49))
                anchors.append([x, y, x + s, y + s])
                continue
            g = gts[int(rng.integers(n_gts))]
            w, h = g[2] - g[0], g[3] - g[1]
            aw, ah = (max(8, int(round(v * float(rng.uniform(0.5, 1.6))))) for v in (w, h))
            cx = (g[0] + g[2]) // 2 + int(round(w * float(rng.uniform(-0.6, 0.6))))
            cy = (g[1] + g[3]) // 2 + int(round(h * float(rng.uniform(-0.6, 0.6))))
            anchors.append([cx - aw // 2, cy - ah // 2, cx - aw // 2 + aw, cy - ah // 2 + ah])
        iou = box_iou(np.asarray(anchors, float), np.asarray(gts, float))
        nonzero = iou[iou > 0]
        if np.any(np.abs(nonzero[:, None] - np.array([NEGATIVE, POSITIVE])) < MARGIN) or np.any(
            (nonzero > 0) & (nonzero < 0.02)
        ):
            return None
        for k in range(n_gts):
            column = np.sort(iou[:, k])[::-1]
            if column[0] < 0.2 or column[0] - column[1] < MARGIN:
                return None
        found = label_anchors(anchors, gts, POSITIVE, NEGATIVE)
        labels = found.labels.tolist()
        if -1 not in labels or 0 not in labels or not found.low_quality.any():
            return None
        return {"anchors": anchors, "gts": gts}

    def parts(self, params: Params) -> list[Part]:
        return [
            Part("deltas", "vector", N_("Regression targets (tx, ty, tw, th)"), points=2.0, tolerance=TOL, length=4,
                 partial=True),
            Part("decoded", "vector", N_("Decoded box [x1, y1, x2, y2]"), points=2.0, tolerance=TOL_BOX, length=4,
                 partial=True),
            Part("cell", "vector", N_("Responsible cell (row, column)"), tolerance=EXACT, length=2),
            Part("offset", "vector", N_("Offsets (x, y) in the cell"), tolerance=TOL, length=2),
            Part("labels", "vector", N_("Anchor labels"), points=2.0, tolerance=EXACT, length=len(params["anchors"]),
                 partial=True),
        ]

    def solve(self, params: Params) -> Response:
        return _solve(params)

    def clear_caches(self) -> None:
        _solve_json.cache_clear()

    def hint(self, params: Params, part: Part, given: Any) -> Wording | None:
        return Text(_HINTS[part.name])

    # ---- text -------------------------------------------------------------------------------

    def render(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        t = params["deltas"]
        (w, h), s, (cx, cy) = params["image"], params["grid"], params["centre"]
        iou = box_iou(np.asarray(params["anchors"], float), np.asarray(params["gts"], float))
        gt_names = [f"G{k}" for k in range(len(params["gts"]))]
        head = _("| anchor | box $[x_1, y_1, x_2, y_2]$ |") + "".join(
            _(" IoU with %(gt)s |") % {"gt": g} for g in gt_names
        )
        rows = [head, "|---|---|" + "---|" * len(gt_names)]
        rows += [
            f"| A{i} | {a} |" + "".join(f" {v:.2f} |" for v in iou[i]) for i, a in enumerate(params["anchors"])
        ]
        gts = join_list([f"$G_{k} = {g}$" for k, g in enumerate(params["gts"])], lang)
        text = [
            _(
                "Boxes are $[x_1, y_1, x_2, y_2]$ in pixels (continuous coordinates: width $x_2 - x_1$). An anchor "
                "$A = %(anchor)s$ is matched to the ground-truth box $G = %(gt)s$."
            ) % {"anchor": params["anchor"], "gt": params["gt"]},
            _(
                "1. **Encoding.** Give the R-CNN regression targets $(t_x, t_y, t_w, t_h)$ that move $A$ onto $G$ "
                "(from the boxes' centres and sizes; weights 1, natural logarithm).\n"
                "2. **Decoding.** For the same anchor $A$ the network predicts $t = (%(t)s)$. Give the predicted box "
                "as corners $[x_1, y_1, x_2, y_2]$."
            ) % {"t": ", ".join(fmt_decimal(v) for v in t)},
            _(
                "3. **YOLO cell.** A YOLO v1 detector divides a $%(w)d \\times %(h)d$ image into $%(s)d \\times %(s)d$ "
                "cells. An object's box is centred at $(c_x, c_y) = (%(cx)d, %(cy)d)$ pixels ($y$ pointing down). "
                "Which cell is responsible for it (row, column; both counted from 0, row 0 at the top, column 0 on "
                "the left), and what are the centre's offsets $(x, y)$ inside that cell, in cell units?"
            ) % {"w": w, "h": h, "s": s, "cx": cx, "cy": cy},
            _(
                "4. **Anchor labels.** A region proposal network labels anchors against the ground-truth boxes "
                "%(gts)s (IoUs in the table): an anchor is **positive** (1) if its IoU with some ground truth is "
                "$\\ge 0.7$, and also if it is the anchor with the highest IoU for some ground truth; otherwise it is "
                "**negative** (0) if its IoU with every ground truth is $< 0.3$, and **ignored** ($-1$) in between. "
                "Give the label of each anchor, in order."
            ) % {"gts": gts},
            "\n".join(rows),
            _(
                "*Answer format*: numbers separated by commas, e.g. `0.25, -0.1, 0.405, 0`; decimals to at least 3 "
                "significant figures (corners to 0.01 pixel); labels as `1, 0, -1, …`."
            ),
        ]
        return "\n\n".join(text) + "\n"

    def explain(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        ans = _solve(params)
        p, g = _centre(params["anchor"]), _centre(params["gt"])
        d, t = ans["deltas"], params["deltas"]
        f = fmt_decimal
        out = [
            _("**1. Encoding.** Centres and sizes: $A$: $p = (%(p)s)$, $G$: $g = (%(g)s)$ (as $x, y, w, h$).")
            % {"p": ", ".join(f(v) for v in p), "g": ", ".join(f(v) for v in g)},
            f"$$t_x = \\frac{{g_x - p_x}}{{p_w}} = \\frac{{{f(g[0])} - {f(p[0])}}}{{{f(p[2])}}} = {f(d[0])},\\quad "
            f"t_y = \\frac{{{f(g[1])} - {f(p[1])}}}{{{f(p[3])}}} = {f(d[1])}$$",
            f"$$t_w = \\log\\frac{{g_w}}{{p_w}} = \\log\\frac{{{f(g[2])}}}{{{f(p[2])}}} = {f(d[2])},\\quad "
            f"t_h = \\log\\frac{{{f(g[3])}}}{{{f(p[3])}}} = {f(d[3])}$$",
        ]
        centre = [p[0] + t[0] * p[2], p[1] + t[1] * p[3], p[2] * math.exp(t[2]), p[3] * math.exp(t[3])]
        out.append(
            _("**2. Decoding** (the inverse): $x = p_x + t_x p_w$, $y = p_y + t_y p_h$, $w = p_w e^{t_w}$, "
              "$h = p_h e^{t_h}$:")
        )
        out.append(
            f"$$x = {f(p[0])} + ({f(t[0])})({f(p[2])}) = {f(centre[0])},\\quad y = {f(p[1])} + ({f(t[1])})({f(p[3])}) = "
            f"{f(centre[1])},\\quad w = {f(p[2])}\\,e^{{{f(t[2])}}} = {f(centre[2])},\\quad h = {f(p[3])}\\,e^{{{f(t[3])}}} = "
            f"{f(centre[3])}$$"
        )
        out.append(
            _("Corners $[x - w/2, y - h/2, x + w/2, y + h/2] = [%(box)s]$.")
            % {"box": ", ".join(f(v) for v in ans["decoded"])}
        )
        w, s, (cx, cy) = params["image"][0], params["grid"], params["centre"]
        row, col = ans["cell"]
        out.append(
            _(
                "**3. YOLO cell.** Each cell is $%(cw)s$ pixels wide. Column $= \\lfloor %(cx)d / %(cw)s \\rfloor = %(col)d$, "
                "row $= \\lfloor %(cy)d / %(cw)s \\rfloor = %(row)d$; offsets $x = %(cx)d / %(cw)s - %(col)d = %(x)s$, "
                "$y = %(cy)d / %(cw)s - %(row)d = %(y)s$."
            )
            % {"cw": f(w / s), "cx": cx, "cy": cy, "col": col, "row": row, "x": f(ans["offset"][0]),
               "y": f(ans["offset"][1])}
        )
        found = _labels(params)
        best = found.iou.max(axis=1)
        steps = []
        names = {1: _("positive"), 0: _("negative"), -1: _("ignored")}
        for i, label in enumerate(ans["labels"]):
            if found.low_quality[i]:
                why = _("best anchor of G%(k)d (IoU %(iou).2f)") % {"k": int(found.iou[i].argmax()), "iou": best[i]}
            elif label == 1:
                why = _("IoU %(iou).2f ≥ 0.7") % {"iou": best[i]}
            elif label == 0:
                why = _("best IoU %(iou).2f < 0.3") % {"iou": best[i]}
            else:
                why = _("0.3 ≤ %(iou).2f < 0.7") % {"iou": best[i]}
            steps.append(f"- A{i}: {why} → {names[label]} ({label})")
        out.append(_("**4. Anchor labels** (the best IoU of each anchor over the ground truths):"))
        out.append("\n".join(steps))
        return "\n\n".join(out) + "\n"


_HINTS = {
    "deltas": N_(
        "Convert both boxes to centre and size; $t_x = (g_x - p_x)/p_w$, $t_y = (g_y - p_y)/p_h$, "
        "$t_w = \\log(g_w/p_w)$, $t_h = \\log(g_h/p_h)$ ($p$: the anchor)."
    ),
    "decoded": N_(
        "Invert the encoding: $x = p_x + t_x p_w$, $w = p_w e^{t_w}$ (and the same for $y$, $h$), then convert the "
        "centre and size to corners."
    ),
    "cell": N_("Divide the centre's coordinates by the cell size and take the floor: the row from $y$, the column from $x$."),
    "offset": N_("The offset is the fractional part of the centre's coordinate in cell units (between 0 and 1)."),
    "labels": N_(
        "Take each anchor's best IoU over the ground truths: ≥ 0.7 positive, < 0.3 negative, otherwise ignored; then "
        "make each ground truth's best anchor positive."
    ),
}
