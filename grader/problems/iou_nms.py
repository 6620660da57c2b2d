"""Family ``iou-nms``: IoU of box pairs and greedy non-maximum suppression, by hand.

Variant: 3–6 boxes ``[x1, y1, x2, y2]`` with integer corners (continuous coordinates, area
``(x2 − x1)(y2 − y1)``, no ``+1``) and distinct scores, an IoU threshold in {0.3, …, 0.7}, and
one or two named pairs. Parts: ``iou_i_j`` for each pair (a number; exact fractions such as
``2/7`` are accepted, decimals within 0.1 % or to 3 significant figures) and ``keep``,
the indices NMS keeps, in the order it keeps them (descending score), exact.

NMS follows ``torchvision.ops.nms`` (``grader/CONVENTIONS.md``): visit by descending score, a box
is suppressed when its IoU with an already *kept* box is strictly greater than the threshold.
About a third of the variants place a pair whose IoU equals the threshold exactly, so that the
``>`` rule matters (the statement states it). The correct answer comes from the reference
``box_iou`` and ``nms``; the misconceptions are alternative greedy loops over the same IoU table.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np

from grader.answers import Tolerance
from grader.i18n import N_, Text, Wording, gettext_for, join_list
from grader.problems import register
from grader.problems.base import Misconception, Params, Part, ProblemFamily, Response
from grader.reference import box_iou, nms

TOL = Tolerance(rel=1e-3, abs=1e-9, sigfigs=3)
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
#: Smallest distance between a (non-tied) IoU and the threshold: keeps hand decisions robust.
MARGIN = 0.03
Boxes = tuple[tuple[int, int, int, int], ...]


def _tie_shapes() -> dict[float, list[tuple[int, int, int]]]:
    """``(w1, w2, o)``: two boxes of equal height, widths ``w1``, ``w2``, side by side with an
    overlap of ``o`` columns have IoU ``o / (w1 + w2 − o)`` whatever the height; the table keeps
    the shapes whose IoU is exactly one of the thresholds."""
    table: dict[float, list[tuple[int, int, int]]] = {t: [] for t in THRESHOLDS}
    for w1 in range(2, 11):
        for w2 in range(2, 11):
            for o in range(1, min(w1, w2) + 1):
                iou = Fraction(o, w1 + w2 - o)
                for t in THRESHOLDS:
                    if iou == Fraction(t).limit_denominator(10):
                        table[t].append((w1, w2, o))
    return table


_TIES = _tie_shapes()


# --------------------------------------------------------------------------- computation


def _key(params: Params) -> tuple[Boxes, tuple[float, ...], float]:
    return tuple(tuple(b) for b in params["boxes"]), tuple(params["scores"]), float(params["threshold"])


@lru_cache(maxsize=4096)
def _tables(boxes: Boxes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """IoU (reference), IoU with the +1 convention, intersection and areas."""
    b = np.asarray(boxes, dtype=np.float64)
    iou = box_iou(b, b)
    # The VOC devkit's pixel-inclusive +1 is the continuous IoU of boxes one unit larger.
    iou_plus = box_iou(b + [0, 0, 1, 1], b + [0, 0, 1, 1])
    w = np.clip(np.minimum(b[:, None, 2], b[None, :, 2]) - np.maximum(b[:, None, 0], b[None, :, 0]), 0, None)
    h = np.clip(np.minimum(b[:, None, 3], b[None, :, 3]) - np.maximum(b[:, None, 1], b[None, :, 1]), 0, None)
    areas = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    for arr in (iou, iou_plus, w, areas):
        arr.setflags(write=False)
    return iou, iou_plus, w * h, areas


def _exact_iou(a: list[int], b: list[int]) -> Fraction:
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return Fraction(inter, union)


def _order(scores: list[float]) -> list[int]:
    return [int(i) for i in np.argsort(-np.asarray(scores), kind="stable")]


def _greedy(iou: np.ndarray, order: list[int], thr: float, *, ge: bool = False, all_visited: bool = False) -> list[int]:
    """Greedy NMS variants for the misconceptions: ``ge`` suppresses at IoU = threshold too;
    ``all_visited`` lets suppressed boxes suppress as well."""
    keep: list[int] = []
    seen: list[int] = []
    for i in order:
        against = seen if all_visited else keep
        if not any((iou[j, i] >= thr) if ge else (iou[j, i] > thr) for j in against):
            keep.append(i)
        seen.append(i)
    return keep


def _part_names(params: Params) -> list[str]:
    return [f"iou_{i}_{j}" for i, j in params["pairs"]] + ["keep"]


def _solve(params: Params) -> Response:
    boxes, scores, thr = _key(params)
    iou = _tables(boxes)[0]
    out: Response = {f"iou_{i}_{j}": float(iou[i, j]) for i, j in params["pairs"]}
    out["keep"] = [int(k) for k in nms(np.asarray(boxes, dtype=float), np.asarray(scores), thr)]
    return out


def _ties(params: Params) -> list[tuple[int, int]]:
    boxes, thr = params["boxes"], Fraction(params["threshold"]).limit_denominator(10)
    n = len(boxes)
    return [(i, j) for i in range(n) for j in range(i + 1, n) if _exact_iou(boxes[i], boxes[j]) == thr]


# --------------------------------------------------------------------------- misconceptions


def _iou_variant(params: Params, which: str) -> Response:
    _, iou_plus, inter, areas = _tables(_key(params)[0])
    out: Response = {}
    for i, j in params["pairs"]:
        if which == "plus-one":
            value = iou_plus[i, j]
        elif which == "min":
            value = inter[i, j] / min(areas[i], areas[j])
        else:
            value = inter[i, j] / (areas[i] + areas[j])
        out[f"iou_{i}_{j}"] = float(value)
    return out


def _plus_one(params: Params) -> Response | None:
    return _iou_variant(params, "plus-one")


def _over_min(params: Params) -> Response | None:
    return _iou_variant(params, "min")


def _over_sum(params: Params) -> Response | None:
    return _iou_variant(params, "sum")


def _unsorted(params: Params) -> Response | None:
    boxes, _, thr = _key(params)
    return {"keep": _greedy(_tables(boxes)[0], list(range(len(boxes))), thr)}


def _ge(params: Params) -> Response | None:
    if not _ties(params):
        return None
    boxes, scores, thr = _key(params)
    return {"keep": _greedy(_tables(boxes)[0], _order(list(scores)), thr, ge=True)}


def _non_greedy(params: Params) -> Response | None:
    boxes, scores, thr = _key(params)
    return {"keep": _greedy(_tables(boxes)[0], _order(list(scores)), thr, all_visited=True)}


_MISCONCEPTIONS = (
    Misconception(
        "iou-plus-one",
        N_(
            "You used the pixel-inclusive $+1$ convention (width $x_2 - x_1 + 1$). Here boxes are in continuous "
            "coordinates: width $x_2 - x_1$, height $y_2 - y_1$, and the same for the intersection."
        ),
        _plus_one,
    ),
    Misconception(
        "iou-over-min-area",
        N_(
            "You divided the intersection by the smaller box's area. IoU divides by the *union*: "
            "$\\text{IoU} = \\frac{|A \\cap B|}{|A| + |B| - |A \\cap B|}$."
        ),
        _over_min,
    ),
    Misconception(
        "iou-union-not-subtracted",
        N_(
            "You divided by $|A| + |B|$: that counts the overlap twice. The union is "
            "$|A| + |B| - |A \\cap B|$ — subtract the intersection once."
        ),
        _over_sum,
    ),
    Misconception(
        "nms-not-sorted",
        N_(
            "You ran NMS in the order the boxes are listed. NMS first sorts the boxes by score and visits them "
            "from the highest score down, so a box can only be suppressed by a higher-scoring one."
        ),
        _unsorted,
    ),
    Misconception(
        "nms-ge-threshold",
        N_(
            "You suppressed a box whose IoU equals the threshold. NMS (as torchvision) suppresses only when the "
            "IoU is *strictly greater* than the threshold; IoU equal to the threshold survives."
        ),
        _ge,
    ),
    Misconception(
        "nms-non-greedy",
        N_(
            "You let a box that was already suppressed suppress others. Only *kept* boxes suppress: compare each "
            "box with the boxes kept so far, not with every higher-scoring box."
        ),
        _non_greedy,
    ),
)


# --------------------------------------------------------------------------- the family


@register
class IouNms(ProblemFamily):
    """IoU of named box pairs and the boxes greedy NMS keeps."""

    name = "iou-nms"
    title = N_("IoU and non-maximum suppression")
    topic = "detection"
    misconceptions = _MISCONCEPTIONS
    constraint_keys = {
        "boxes": "number of boxes, 3..6",
        "threshold": "NMS IoU threshold, one of 0.3, 0.4, 0.5, 0.6, 0.7",
        "pairs": "number of IoU pairs asked, 1 or 2",
        "tie": "true: some pair has IoU exactly equal to the threshold; false: none has",
    }
    max_tries = 100

    def sample(self, rng: np.random.Generator, constraints: Mapping[str, Any]) -> Params:
        c = constraints
        for _ in range(2000):
            params = self._candidate(rng, c)
            if params is not None:
                return params
        raise ValueError(f"{self.name}: no variant found for constraints {dict(c)}")

    def _candidate(self, rng: np.random.Generator, c: Mapping[str, Any]) -> Params | None:
        """One attempt. The layout is built so that the misconceptions matter: a *chain* A, B, C
        (B overlaps A and C above the threshold, A and C overlap below it), listed with B before A
        (so input-order NMS keeps B) and scored A > B > C (so a suppressed B would wrongly
        suppress C); in tie variants a separate pair with IoU exactly at the threshold; the other
        boxes are jittered copies near the chain or stand alone."""
        tie = bool(c["tie"]) if "tie" in c else None
        if "boxes" in c:
            n = int(c["boxes"])
        else:
            n = int(rng.integers(5, 7)) if tie else int(rng.integers(3, 7))
        if tie is None:
            tie = n >= 5 and bool(rng.random() < 0.4)
        thr = float(c.get("threshold") or THRESHOLDS[int(rng.integers(len(THRESHOLDS)))])
        n_pairs = int(c.get("pairs") or rng.integers(1, 3))
        if n not in range(3, 7) or thr not in THRESHOLDS or n_pairs not in (1, 2) or (tie and n < 5):
            raise ValueError(f"{self.name}: bad constraints {dict(c)} (a tie needs at least 5 boxes)")
        w, h = int(rng.integers(4, 9)), int(rng.integers(4, 9))
        x0, y0 = int(rng.integers(0, 4)), int(rng.integers(0, 4))
        a = [x0, y0, x0 + w, y0 + h]
        dx, dy = int(rng.integers(1, 4)), int(rng.integers(0, 3))
        if rng.random() < 0.5:
            dx, dy = dy, dx
        b = [a[0] + dx, a[1] + dy, a[2] + dx, a[3] + dy]
        ex, ey = int(rng.integers(0, 4)), int(rng.integers(0, 4))
        cbox = [b[0] + ex, b[1] + ey, b[2] + ex + int(rng.integers(-1, 2)), b[3] + ey + int(rng.integers(-1, 2))]
        chain = [a, b, cbox]
        top = sorted(rng.choice(np.arange(50, 100), size=n, replace=False).tolist(), reverse=True)
        # Chain scores in decreasing order, interleaved at random with the others' scores.
        slots = sorted(rng.choice(n, size=3, replace=False).tolist())
        chain_scores = [top[k] for k in slots]
        others_scores = [top[k] for k in range(n) if k not in slots]
        boxes: list[list[int]] = []
        scores: list[int] = []
        extra: list[list[int]] = []
        if tie:
            w1, w2, o = _TIES[thr][int(rng.integers(len(_TIES[thr])))]
            th = int(rng.integers(2, 9))
            tx, ty = 14 + int(rng.integers(0, 6)), int(rng.integers(0, 8))
            pair = [[tx, ty, tx + w1, ty + th], [tx + w1 - o, ty, tx + w1 - o + w2, ty + th]]
            if rng.random() < 0.5:  # overlap along y instead of x
                pair = [[p[1], p[0], p[3], p[2]] for p in pair]
            extra += pair
        while len(extra) < n - 3:
            if rng.random() < 0.5:
                base = chain[int(rng.integers(3))]
                j = rng.integers(-2, 3, size=4)
                box = [int(v) for v in np.asarray(base) + j]
            else:
                bx, by = int(rng.integers(0, 26)), int(rng.integers(0, 26))
                box = [bx, by, bx + int(rng.integers(3, 8)), by + int(rng.integers(3, 8))]
            box[0], box[1] = max(box[0], 0), max(box[1], 0)
            if box[2] - box[0] >= 2 and box[3] - box[1] >= 2:
                extra.append(box)
        # Input order: B before A; everything else shuffled around them.
        listed = [("b", b), ("a", a), ("c", cbox)] + [(f"x{k}", e) for k, e in enumerate(extra)]
        perm = [int(i) for i in rng.permutation(len(listed))]
        listed = [listed[i] for i in perm]
        ia, ib = next(i for i, (k, _) in enumerate(listed) if k == "a"), next(i for i, (k, _) in enumerate(listed) if k == "b")
        if ib > ia:
            listed[ia], listed[ib] = listed[ib], listed[ia]
        chain_score = dict(zip("abc", chain_scores, strict=True))
        others = iter(others_scores)
        for key, box in listed:
            boxes.append(box)
            scores.append(chain_score[key] if key in chain_score else next(others))
        params: Params = {
            "boxes": boxes,
            "scores": [round(v / 100, 2) for v in scores],
            "threshold": thr,
            "pairs": [],
        }
        ties = _ties(params)
        if bool(ties) != tie:
            return None
        iou = _tables(_key(params)[0])[0]
        tied = {frozenset(p) for p in ties}
        for i in range(n):
            for j in range(i + 1, n):
                if frozenset((i, j)) not in tied and abs(iou[i, j] - thr) < MARGIN:
                    return None
        order = _order(params["scores"])
        right = _solve(params)["keep"]
        alts = [_greedy(iou, list(range(n)), thr), _greedy(iou, order, thr, all_visited=True)]
        if tie:
            alts.append(_greedy(iou, order, thr, ge=True))
        keeps = [right, *alts]
        if len({tuple(k) for k in keeps}) != len(keeps) or set(alts[0]) == set(right):
            return None
        overlapping = [(i, j) for i in range(n) for j in range(i + 1, n) if iou[i, j] > 0.05]
        if len(overlapping) < n_pairs:
            return None
        picks = rng.choice(len(overlapping), size=n_pairs, replace=False)
        params["pairs"] = sorted([list(overlapping[int(k)]) for k in picks])
        return params

    def parts(self, params: Params) -> list[Part]:
        # An IoU box's label is a formula, the same in every language (not a catalog message).
        out = [Part(f"iou_{i}_{j}", "number", f"IoU(B{i}, B{j})", tolerance=TOL) for i, j in params["pairs"]]
        out.append(Part("keep", "indices", N_("Boxes kept by NMS"), points=2.0))
        return out

    def solve(self, params: Params) -> Response:
        return _solve(params)

    def clear_caches(self) -> None:
        _tables.cache_clear()

    def hint(self, params: Params, part: Part, given: Any) -> Wording | None:
        if part.name == "keep":
            right = _solve(params)["keep"]
            if isinstance(given, list) and sorted(given) == sorted(right):
                return Text(_HINT_ORDER)
            return Text(_HINT_KEEP)
        return Text(_HINT_IOU)

    # ---- text -------------------------------------------------------------------------------

    def render(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        boxes, scores, thr = params["boxes"], params["scores"], params["threshold"]
        head = _("| box | $x_1$ | $y_1$ | $x_2$ | $y_2$ | score |")
        rows = [head, "|---|---|---|---|---|---|"]
        rows += [f"| B{i} | {b[0]} | {b[1]} | {b[2]} | {b[3]} | {s:.2f} |" for i, (b, s) in enumerate(zip(boxes, scores, strict=True))]
        pairs = join_list((f"$\\text{{IoU}}(B_{i}, B_{j})$" for i, j in params["pairs"]), lang)
        intro = _(
            "A detector outputs %(n)d boxes of one class as $[x_1, y_1, x_2, y_2]$ (top-left and bottom-right "
            "corners) in continuous coordinates: the area is $(x_2 - x_1)(y_2 - y_1)$, with **no** $+1$."
        ) % {"n": len(boxes)}
        q = _(
            "1. Compute %(pairs)s.\n"
            "2. Run non-maximum suppression (NMS) with IoU threshold $%(threshold)s$: visit the boxes by descending score "
            "and suppress a box if its IoU with an already *kept* box is **strictly greater** than the threshold "
            "(an IoU equal to the threshold survives). List the indices of the kept boxes in the order they are kept.\n\n"
            "*Answer format*: an IoU as a fraction (`2/7`) or a decimal (at least 3 significant figures); the kept "
            "boxes as indices, e.g. `2, 0, 4`."
        ) % {"pairs": pairs, "threshold": thr}
        return f"{intro}\n\n" + "\n".join(rows) + f"\n\n{q}\n"

    def explain(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        boxes, scores, thr = params["boxes"], params["scores"], params["threshold"]
        n = len(boxes)
        iou, _iou_plus, inter, areas = _tables(_key(params)[0])
        out: list[str] = []
        out.append(_("**1. Areas**"))
        out.append(
            ",\\ ".join(f"$|B_{i}| = ({b[2]}-{b[0]})({b[3]}-{b[1]}) = {int(areas[i])}$" for i, b in enumerate(boxes))
        )
        out.append("**2. IoU**")
        lines = []
        for i in range(n):
            for j in range(i + 1, n):
                if inter[i, j] > 0:
                    a, b = boxes[i], boxes[j]
                    w = min(a[2], b[2]) - max(a[0], b[0])
                    h = min(a[3], b[3]) - max(a[1], b[1])
                    frac = _exact_iou(a, b)
                    lines.append(
                        f"$\\text{{IoU}}(B_{i}, B_{j}) = \\frac{{{w} \\cdot {h}}}{{{int(areas[i])} + {int(areas[j])} - {w * h}}}"
                        f" = \\frac{{{frac.numerator}}}{{{frac.denominator}}} \\approx {iou[i, j]:.4f}$"
                    )
        out.append("\n\n".join(lines) if lines else _("No two boxes overlap."))
        out.append(_("All other pairs do not overlap (IoU = 0)."))
        out.append("**3. NMS**")
        order = _order(scores)
        out.append(_("Order by score: %(order)s") % {"order": " > ".join(f"B{i} ({scores[i]:.2f})" for i in order)})
        keep: list[int] = []
        steps = []
        for i in order:
            worst = max(keep, key=lambda k: iou[k, i], default=None)
            if worst is not None and iou[worst, i] > thr:
                steps.append(
                    _("B%(i)d: IoU(B%(k)d, B%(i)d) ≈ %(iou).4f > %(threshold)s → suppressed")
                    % {"i": i, "k": worst, "iou": iou[worst, i], "threshold": thr}
                )
            else:
                keep.append(i)
                if worst is None:
                    steps.append(_("B%(i)d: highest score → kept") % {"i": i})
                else:
                    steps.append(
                        _("B%(i)d: largest IoU with a kept box ≈ %(iou).4f ≤ %(threshold)s → kept")
                        % {"i": i, "iou": iou[worst, i], "threshold": thr}
                    )
        out.append("\n".join(f"- {s}" for s in steps))
        ans = _solve(params)
        summary = "; ".join(f"IoU(B{i}, B{j}) ≈ {ans[f'iou_{i}_{j}']:.4f}" for i, j in params["pairs"])
        out.append(
            _("**Answer**: %(ious)s; keep = %(keep)s") % {"ious": summary, "keep": ", ".join(map(str, ans["keep"]))}
        )
        return "\n\n".join(out) + "\n"


_HINT_ORDER = N_("You kept the right boxes, but list them in the order NMS keeps them: by descending score.")
_HINT_KEEP = N_(
    "Go down the score-sorted list; a box survives unless it overlaps a box kept so far with IoU above the threshold."
)
_HINT_IOU = N_(
    "Intersection: overlap of the x-ranges times overlap of the y-ranges; union = sum of the areas minus the "
    "intersection."
)
