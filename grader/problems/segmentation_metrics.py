"""Family ``segmentation-metrics``: pixel accuracy, per-class IoU, mIoU and Dice from two small
label maps, by hand.

Variant: a ground-truth and a predicted label map (4×4 to 5×5 pixels) over ``K`` = 3 or 4 classes,
class 0 being the background; every class appears in both maps (so no score is undefined).
Whether the mIoU counts the background is drawn per variant and stated. Parts:
``pixel_accuracy``, ``iou`` (one value per class, in class order, per-entry credit), ``miou``
(error carried forward from the student's own per-class IoUs) and ``dice`` of one named class
(error carried forward from the student's own IoU of that class, ``2 IoU / (1 + IoU)``).
Conventions and formulas: ``grader/CONVENTIONS.md`` ("Segmentation metrics"), computed with
:mod:`grader.reference.segmentation`.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import numpy as np

from grader.answers import Tolerance
from grader.i18n import N_, Text, Wording, gettext_for, join_list
from grader.problems import register
from grader.problems.base import Misconception, Params, Part, ProblemFamily, Response, latex_matrix
from grader.reference import (
    confusion_matrix,
    dice_per_class,
    frequency_weighted_iou,
    iou_per_class,
    mean_iou,
    pixel_accuracy,
)

TOL = Tolerance(rel=1e-3, abs=1e-9, sigfigs=3)
SIZES = ((4, 4), (4, 5), (5, 5))


# --------------------------------------------------------------------------- computation


def _cm(params: Params) -> np.ndarray:
    return confusion_matrix(np.asarray(params["truth"]), np.asarray(params["prediction"]), params["classes"])


def _counted(params: Params) -> list[int]:
    """The classes the mIoU averages over."""
    return list(range(0 if params["background"] else 1, params["classes"]))


def _recall(cm: np.ndarray) -> np.ndarray:
    return np.diag(cm) / cm.sum(axis=1)


def _solve(params: Params) -> Response:
    cm = _cm(params)
    return {
        "pixel_accuracy": pixel_accuracy(cm),
        "iou": [float(v) for v in iou_per_class(cm)],
        "miou": mean_iou(cm, _counted(params)),
        "dice": float(dice_per_class(cm)[params["dice_class"]]),
    }


def _ratio_text(num: int, den: int) -> str:
    """``\\tfrac{12}{16} = \\tfrac{3}{4}``: the counts, then the reduced fraction if it differs."""
    reduced = _fraction(num, den)
    plain = f"\\tfrac{{{num}}}{{{den}}}"
    return plain if reduced == plain else f"{plain} = {reduced}"


def _fraction(num: int, den: int) -> str:
    f = Fraction(num, den)
    return str(f.numerator) if f.denominator == 1 else f"\\tfrac{{{f.numerator}}}{{{f.denominator}}}"


# --------------------------------------------------------------------------- misconceptions


def _class_averaged_accuracy(params: Params) -> Response | None:
    return {"pixel_accuracy": float(np.mean(_recall(_cm(params))))}


def _iou_over_truth(params: Params) -> Response | None:
    recall = _recall(_cm(params))
    return {"iou": [float(v) for v in recall], "miou": float(np.mean(recall[_counted(params)]))}


def _dice_as_iou(params: Params) -> Response | None:
    dice = dice_per_class(_cm(params))
    return {"iou": [float(v) for v in dice], "miou": float(np.mean(dice[_counted(params)]))}


def _pixel_weighted(params: Params) -> Response | None:
    cm = _cm(params)
    if params["background"]:
        return {"miou": frequency_weighted_iou(cm)}
    # Without the background: weights are the classes' shares of the counted true pixels.
    counted = _counted(params)
    weights = cm.sum(axis=1)[counted]
    return {"miou": float(np.sum(weights * iou_per_class(cm)[counted]) / weights.sum())}


def _background_included(params: Params) -> Response | None:
    if params["background"]:
        return None
    return {"miou": mean_iou(_cm(params))}


def _background_excluded(params: Params) -> Response | None:
    if not params["background"]:
        return None
    return {"miou": mean_iou(_cm(params), range(1, params["classes"]))}


def _dice_equals_iou(params: Params) -> Response | None:
    return {"dice": float(iou_per_class(_cm(params))[params["dice_class"]])}


def _dice_no_two(params: Params) -> Response | None:
    return {"dice": float(dice_per_class(_cm(params))[params["dice_class"]]) / 2}


_MISCONCEPTIONS = (
    Misconception(
        "accuracy-averaged-over-classes",
        N_(
            "You averaged the per-class accuracies. Pixel accuracy averages over *pixels*: the number of correctly "
            "labelled pixels divided by the number of all pixels, so large classes weigh more."
        ),
        _class_averaged_accuracy,
    ),
    Misconception(
        "iou-over-ground-truth",
        N_(
            "You divided by the class's ground-truth pixels only ($TP / (TP + FN)$, the class's recall). IoU divides "
            "by the *union* of the true and predicted regions: $TP / (TP + FP + FN)$ — pixels wrongly predicted as "
            "the class count too."
        ),
        _iou_over_truth,
    ),
    Misconception(
        "dice-given-as-iou",
        N_(
            "You gave the Dice coefficient $2TP / (2TP + FP + FN)$ where the IoU $TP / (TP + FP + FN)$ was asked. "
            "The two are related ($\\text{Dice} = 2\\,\\text{IoU} / (1 + \\text{IoU})$) but Dice is never smaller."
        ),
        _dice_as_iou,
    ),
    Misconception(
        "miou-weighted-by-pixels",
        N_(
            "You weighted each class's IoU by its number of pixels (a frequency-weighted IoU). The mIoU is the plain "
            "mean over classes: every class counts equally, however small it is."
        ),
        _pixel_weighted,
    ),
    Misconception(
        "miou-background-included",
        N_(
            "You averaged over every class, background included. This question's mIoU leaves the background "
            "(class 0) out: average only the foreground classes' IoUs."
        ),
        _background_included,
    ),
    Misconception(
        "miou-background-excluded",
        N_(
            "You left the background out of the mean. This question's mIoU averages over *all* classes, the "
            "background (class 0) included."
        ),
        _background_excluded,
    ),
    Misconception(
        "iou-given-as-dice",
        N_(
            "You gave the class's IoU where its Dice coefficient was asked. Dice (= F1) counts the overlap twice: "
            "$\\text{Dice} = \\frac{2\\,TP}{2\\,TP + FP + FN} = \\frac{2|A \\cap B|}{|A| + |B|}$."
        ),
        _dice_equals_iou,
    ),
    Misconception(
        "dice-without-factor-two",
        N_(
            "You forgot the factor 2: Dice $= \\frac{2|A \\cap B|}{|A| + |B|}$. Without it a perfect prediction "
            "would only score 0.5."
        ),
        _dice_no_two,
    ),
)


# --------------------------------------------------------------------------- the family


@register
class SegmentationMetrics(ProblemFamily):
    """Pixel accuracy, per-class IoU, mIoU and Dice of a predicted label map."""

    name = "segmentation-metrics"
    title = N_("Segmentation metrics: pixel accuracy, IoU, mIoU, Dice")
    topic = "segmentation"
    misconceptions = _MISCONCEPTIONS
    constraint_keys = {
        "classes": "number of classes including the background, 3 or 4",
        "background": "true: the mIoU counts the background class; false: foreground classes only",
    }

    def sample(self, rng: np.random.Generator, constraints: Mapping[str, Any]) -> Params:
        c = constraints
        k = int(c.get("classes") or (3 if rng.random() < 0.7 else 4))
        if k not in (3, 4):
            raise ValueError(f"{self.name}: classes must be 3 or 4, got {k}")
        background = bool(c["background"]) if "background" in c else bool(rng.random() < 0.5)
        for _ in range(500):
            params = self._candidate(rng, k, background)
            if params is not None:
                return params
        raise ValueError(f"{self.name}: no variant found for constraints {dict(c)}")

    def _candidate(self, rng: np.random.Generator, k: int, background: bool) -> Params | None:
        """Each foreground class is a rectangle in the truth; the prediction moves each by up to
        one pixel, changes its size a little, and mislabels one to three pixels."""
        h, w = SIZES[int(rng.integers(len(SIZES)))] if k == 3 else SIZES[1 + int(rng.integers(2))]
        truth = np.zeros((h, w), dtype=np.int64)
        pred = np.zeros((h, w), dtype=np.int64)
        for cls in range(1, k):
            rh, rw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
            y, x = int(rng.integers(0, h - rh + 1)), int(rng.integers(0, w - rw + 1))
            truth[y : y + rh, x : x + rw] = cls
            dy, dx = (int(v) for v in rng.integers(-1, 2, size=2))
            ph, pw = max(1, rh + int(rng.integers(-1, 2))), max(1, rw + int(rng.integers(-1, 2)))
            py, px = min(max(y + dy, 0), h - ph), min(max(x + dx, 0), w - pw)
            if py < 0 or px < 0:
                return None
            pred[py : py + ph, px : px + pw] = cls
        for _ in range(int(rng.integers(1, 4))):
            yy, xx = int(rng.integers(h)), int(rng.integers(w))
            pred[yy, xx] = int(rng.integers(k))
        for arr in (truth, pred):
            if len(np.unique(arr)) != k:
                return None
        if np.array_equal(truth, pred):
            return None
        cm = confusion_matrix(truth, pred, k)
        iou = iou_per_class(cm)
        # Some class must be imperfect beyond the background, and the maps must not be near-identical.
        if np.all(iou[1:] == 1) or np.trace(cm) == cm.sum():
            return None
        imperfect = [c for c in range(1, k) if iou[c] < 1]
        return {
            "classes": k,
            "truth": truth.tolist(),
            "prediction": pred.tolist(),
            "background": background,
            "dice_class": int(imperfect[int(rng.integers(len(imperfect)))]),
        }

    def parts(self, params: Params) -> list[Part]:
        k = params["classes"]
        return [
            Part("pixel_accuracy", "number", N_("Pixel accuracy"), tolerance=TOL),
            Part("iou", "vector", N_("IoU of each class"), points=2.0, tolerance=TOL, length=k, partial=True),
            Part("miou", "number", N_("mIoU"), tolerance=TOL),
            Part(
                "dice", "number", N_("Dice of class %(c)d"), tolerance=TOL, label_args=(("c", params["dice_class"]),)
            ),
        ]

    def solve(self, params: Params) -> Response:
        return _solve(params)

    def carried_forward(self, params: Params, part: Part, response: Response) -> Any | None:
        """The mIoU from the student's own per-class IoUs; the Dice from their own IoU of that class."""
        iou = response.get("iou")
        if not iou or len(iou) != params["classes"]:
            return None
        if part.name == "miou":
            return float(np.mean([iou[c] for c in _counted(params)]))
        if part.name == "dice":
            value = float(iou[params["dice_class"]])
            return 2 * value / (1 + value) if value > -1 else None
        return None

    def hint(self, params: Params, part: Part, given: Any) -> Wording | None:
        return Text(_HINTS[part.name])

    # ---- text -------------------------------------------------------------------------------

    def render(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        k = params["classes"]
        classes = join_list([str(c) for c in range(k)], lang)
        intro = _(
            "A segmentation network labels every pixel of an image with one of %(k)d classes (%(classes)s; class 0 "
            "is the background). Below are the ground truth $Y$ and the prediction $\\hat Y$:"
        ) % {"k": k, "classes": classes}
        maps = f"$$Y = {latex_matrix(params['truth'])} \\qquad \\hat Y = {latex_matrix(params['prediction'])}$$"
        which = (
            _("over **all %(k)d classes, background included**") % {"k": k}
            if params["background"]
            else _("over the **foreground classes only** (classes 1 to %(last)d; the background is left out)")
            % {"last": k - 1}
        )
        questions = _(
            "1. The pixel accuracy.\n"
            "2. The IoU of each class, in the order %(classes)s.\n"
            "3. The mIoU, averaged %(which)s.\n"
            "4. The Dice coefficient of class %(c)d."
        ) % {"classes": classes, "which": which, "c": params["dice_class"]}
        fmt = _(
            "*Answer format*: fractions such as `5/7` or decimals to at least 3 significant figures; the IoUs "
            "separated by commas."
        )
        return f"{intro}\n\n{maps}\n\n{questions}\n\n{fmt}\n"

    def explain(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        k = params["classes"]
        cm = _cm(params)
        ans = _solve(params)
        n = int(cm.sum())
        out = [
            _(
                "**Confusion matrix** (row: true class, column: predicted class; each cell counts pixels):"
            ),
            "\n".join(
                [_("| true \\\\ predicted |") + "".join(f" {c} |" for c in range(k)), "|---|" + "---|" * k]
                + [f"| {g} |" + "".join(f" {int(v)} |" for v in cm[g]) for g in range(k)]
            ),
        ]
        correct = int(np.trace(cm))
        out.append(
            _("**1. Pixel accuracy** = correct pixels / all pixels = $%(expr)s \\approx %(value).4f$.")
            % {"expr": _ratio_text(correct, n), "value": ans["pixel_accuracy"]}
        )
        out.append(
            _("**2. IoU per class**: $\\text{IoU}_c = TP / (TP + FP + FN)$ (FP: column total − TP; FN: row total − TP).")
        )
        rows = []
        for c in range(k):
            tp = int(cm[c, c])
            fp = int(cm[:, c].sum()) - tp
            fn = int(cm[c].sum()) - tp
            rows.append(
                f"- $\\text{{IoU}}_{c} = \\frac{{{tp}}}{{{tp} + {fp} + {fn}}} = {_fraction(tp, tp + fp + fn)}"
                f" \\approx {ans['iou'][c]:.4f}$"
            )
        out.append("\n".join(rows))
        counted = _counted(params)
        terms = " + ".join(f"{ans['iou'][c]:.4f}" for c in counted)
        out.append(
            _("**3. mIoU** (%(which)s): $\\tfrac{1}{%(n)d}(%(terms)s) \\approx %(value).4f$.")
            % {
                "which": _("all classes") if params["background"] else _("foreground classes"),
                "n": len(counted),
                "terms": terms,
                "value": ans["miou"],
            }
        )
        d = params["dice_class"]
        tp = int(cm[d, d])
        size_true, size_pred = int(cm[d].sum()), int(cm[:, d].sum())
        out.append(
            _(
                "**4. Dice of class %(c)d** = $\\frac{2|A \\cap B|}{|A| + |B|} = \\frac{2 \\cdot %(tp)d}{%(a)d + %(b)d} "
                "= %(frac)s \\approx %(value).4f$ (check: $2\\,\\text{IoU}/(1 + \\text{IoU})$ gives the same)."
            )
            % {"c": d, "tp": tp, "a": size_true, "b": size_pred, "frac": _fraction(2 * tp, size_true + size_pred),
               "value": ans["dice"]}
        )
        return "\n\n".join(out) + "\n"


_HINTS = {
    "pixel_accuracy": N_("Count the pixels where the prediction equals the ground truth and divide by all pixels."),
    "iou": N_(
        "For each class: TP = pixels labelled the class in both maps; union = pixels labelled the class in either "
        "map; IoU = TP / union."
    ),
    "miou": N_("Average the per-class IoUs over the classes the question names, each class with the same weight."),
    "dice": N_("Dice = 2 × (pixels of the class in both maps) / (pixels of the class in the truth + in the prediction)."),
}
