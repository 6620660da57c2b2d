"""Family ``image-filter``: apply a classic 3×3 image filter from the slides to a small image by hand.

Variant: a 5×5 … 6×6 image of small integers (random, or a bright rectangle on a dark background
as in the slides' 6×6 example) and one filter, its kernel always printed in the statement:

* ``sobel-h`` — Sobel for **horizontal edges**, the slides' *Sobel_H*
  ``[[1, 2, 1], [0, 0, 0], [-1, -2, -1]]`` or its negation ``[[-1, -2, -1], [0, 0, 0], [1, 2, 1]]``
  (= ``sobel_kernel("y")``, the derivative along the rows). Note the naming clash: the slides call
  this kernel "horizontal" after the edges it finds; ``grader.reference.sobel_kernel`` uses
  "horizontal" as an alias of ``"x"``, the *derivative* direction (vertical edges). Statements
  therefore name the edges and print the kernel.
* ``sobel-v`` — Sobel for **vertical edges**, the slides' *Sobel_V* ``[[1, 0, -1], [2, 0, -2],
  [1, 0, -1]]`` or its negation (= ``sobel_kernel("x")``).
* ``prewitt`` — ``[[1, 0, -1]] × 3``, the kernel of the slides' 6×6 example (which the slides call
  a Sobel filter).
* ``laplacian`` — the reference's 4-neighbour ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]`` or the slides'
  8-neighbour ``[[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]``.
* ``box`` — ``1/9`` times a 3×3 block of ones; ``gaussian`` — ``1/16 [[1, 2, 1], [2, 4, 2], [1, 2, 1]]``;
  ``median`` — the 3×3 median.

Padding is ``valid`` (none) or zero-padded ``same``; the antisymmetric kernels are applied either
as a cross-correlation (as a CNN layer and the slides do) or as a true convolution (kernel rotated
by 180°), as stated. Values come from one reference :func:`grader.reference.conv2d` call (the
kernels stacked) and :func:`~grader.reference.median_filter`, cached per image and kernel (see
``_planes``).

Parts: ``shape`` (the size of the whole output, 1 point) and ``output`` (a requested block of at
most 3×3 cells of the output, or all of it when it is that small; 3 points, per-cell credit).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np

from grader.answers import Tolerance, display_number
from grader.i18n import N_, Text, Wording, gettext_for
from grader.problems import register
from grader.problems.base import Misconception, Params, Part, ProblemFamily, Response, latex_matrix
from grader.reference import box_kernel, conv2d, laplacian_kernel, median_filter, sobel_kernel

FILTERS = ("sobel-h", "sobel-v", "prewitt", "laplacian", "box", "gaussian", "median")
Matrix = list[list[Any]]

_SHAPE = Part("shape", "shape", N_("Output size"), points=1.0, length=2)
_EXACT = Tolerance(abs=1e-9)


def _kernels(name: str) -> list[tuple[Matrix, int]]:
    """The (integer kernel, normalization divisor) options of a filter, the slides' form first."""
    if name == "sobel-h":
        return [((-sobel_kernel("y")).tolist(), 1), (sobel_kernel("y").tolist(), 1)]
    if name == "sobel-v":
        return [((-sobel_kernel("x")).tolist(), 1), (sobel_kernel("x").tolist(), 1)]
    if name == "prewitt":
        return [([[1, 0, -1]] * 3, 1)]
    if name == "laplacian":
        return [((-laplacian_kernel(8)).tolist(), 1), (laplacian_kernel(4).tolist(), 1)]
    if name == "box":
        # box_kernel(3) is 1/9 everywhere; the hand form is an integer kernel and a divisor.
        ones = box_kernel(3) * 9
        return [(np.rint(ones).astype(int).tolist(), 9)]
    if name == "gaussian":
        return [(np.outer([1, 2, 1], [1, 2, 1]).tolist(), 16)]
    return [([], 1)]  # median: no kernel


# --------------------------------------------------------------------------- computation


def _asymmetric(params: Params) -> bool:
    k = np.asarray(params["kernel"])
    return k.size > 0 and not np.array_equal(k, k[::-1, ::-1])


def _plain(values: np.ndarray) -> Matrix:
    if values.dtype.kind != "f":
        return values.tolist()
    return [[int(v) if v.is_integer() else v for v in row] for row in values.tolist()]


Grid = tuple[tuple[int, ...], ...]  # hashable matrix, for the cache


@lru_cache(maxsize=4096)
def _planes(image: Grid, kernel: Grid) -> np.ndarray:
    """Zero-padded 'same' outputs, ``(4, H, W)`` int64: the kernel's weighted sums as given
    (cross-correlation), with the kernel rotated by 180° (convolution), the 3×3 box sums, and the
    3×3 median.

    One reference ``conv2d`` call (the kernels stacked as output channels) and one
    ``median_filter`` call serve the answer and every misconception: a 'valid' output is the
    interior ``[1:-1, 1:-1]`` of the 'same' one, because a 3×3 window that fits inside the image
    never reads the padding. ``test_family_image_filter`` checks this against direct
    ``apply_filter``/``median_filter`` calls.
    """
    img = np.asarray(image, dtype=np.int64)
    k = np.asarray(kernel, dtype=np.int64) if kernel else np.zeros((3, 3), dtype=np.int64)
    stack = np.stack([k, k[::-1, ::-1], np.ones((3, 3), dtype=np.int64)])[:, None]
    sums = conv2d(img[None], stack, padding=1)
    planes = np.concatenate([sums, median_filter(img, 3, padding="same")[None]])
    planes.setflags(write=False)  # cached: must never be modified by a caller
    return planes


def _grid(rows: Matrix) -> Grid:
    return tuple(tuple(r) for r in rows)


def _filtered(
    params: Params,
    *,
    mode: str | None = None,
    padding: str | None = None,
    raw: bool = False,
    mean: bool = False,
) -> np.ndarray:
    """The whole filtered image. ``raw``: kernel sums before dividing; ``mean``: the 3×3 mean
    instead of the median."""
    planes = _planes(_grid(params["image"]), _grid(params["kernel"]))
    if params["filter"] == "median" and not mean:
        plane, scale = planes[3], 1
    elif mean:
        plane, scale = planes[2], 9
    else:
        plane, scale = planes[1 if (mode or params["mode"]) == "convolution" else 0], params["scale"]
    if (padding or params["padding"]) == "valid":
        plane = plane[1:-1, 1:-1]
    return plane if raw or scale == 1 else plane / scale


def _region(params: Params, full: np.ndarray) -> Matrix | None:
    r0, c0, rh, rw = params["region"]
    if r0 + rh > full.shape[0] or c0 + rw > full.shape[1]:
        return None
    return _plain(full[r0 : r0 + rh, c0 : c0 + rw])


def _answer(params: Params, full: np.ndarray) -> Response:
    region = _region(params, full)
    return {"shape": list(full.shape), **({"output": region} if region is not None else {})}


# --------------------------------------------------------------------------- misconceptions


def _flipped(params: Params) -> Response | None:
    if not _asymmetric(params) or params["mode"] != "correlation":
        return None
    return {"output": _region(params, _filtered(params, mode="convolution"))}


def _not_flipped(params: Params) -> Response | None:
    if not _asymmetric(params) or params["mode"] != "convolution":
        return None
    return {"output": _region(params, _filtered(params, mode="correlation"))}


def _no_padding(params: Params) -> Response | None:
    if params["padding"] != "same":
        return None
    # The student filters without padding and reads their (smaller) output at the asked positions.
    return _answer(params, _filtered(params, padding="valid"))


def _median_as_mean(params: Params) -> Response | None:
    if params["filter"] != "median":
        return None
    return {"output": _region(params, _filtered(params, mean=True))}


def _no_normalization(params: Params) -> Response | None:
    if params["scale"] == 1:
        return None
    return {"output": _region(params, _filtered(params, raw=True))}


_MISCONCEPTIONS = (
    Misconception(
        "kernel-flipped",
        N_(
            "You rotated the kernel by 180°, which is the mathematical convolution; this problem slides the "
            "kernel as given (cross-correlation, what a CNN layer and the slides compute). For a Sobel-type "
            "kernel the flip changes the sign of every output."
        ),
        _flipped,
    ),
    Misconception(
        "kernel-not-flipped",
        N_(
            "You slid the kernel as given (cross-correlation); a true convolution first rotates the kernel by "
            "180° (flip top–bottom and left–right). For a Sobel-type kernel this changes the sign of every output."
        ),
        _not_flipped,
    ),
    Misconception(
        "padding-ignored",
        N_(
            "You left out the zero padding: for a 'same' output first surround the image with one row/column "
            "of zeros on every side, so the output keeps the image's size and the border outputs see those zeros."
        ),
        _no_padding,
    ),
    Misconception(
        "median-as-mean",
        N_(
            "You averaged the window: the median filter sorts the 9 values of the window and takes the middle "
            "one (the 5th), which is why it removes salt-and-pepper noise without blurring edges."
        ),
        _median_as_mean,
    ),
    Misconception(
        "normalization-forgotten",
        N_(
            "You forgot the normalization factor in front of the kernel ($\\frac{1}{9}$ for the average filter, "
            "$\\frac{1}{16}$ for this Gaussian): divide each weighted sum by it, so the weights sum to 1 and a flat "
            "region keeps its value."
        ),
        _no_normalization,
    ),
)


# --------------------------------------------------------------------------- text helpers

_SLIDES_SOBEL_H = [[1, 2, 1], [0, 0, 0], [-1, -2, -1]]
_SLIDES_SOBEL_V = [[1, 0, -1], [2, 0, -2], [1, 0, -1]]


_FILTER_NAMES = {
    "laplacian": N_("the Laplacian filter"),
    "box": N_("the average (box) filter"),
    "gaussian": N_("the Gaussian filter (3×3 integer approximation)"),
    "median": N_("the 3×3 median filter"),
}


def _filter_text(params: Params, lang: str) -> str:
    _ = gettext_for(lang)
    name, kernel = params["filter"], params["kernel"]
    if name == "sobel-h":
        if kernel == _SLIDES_SOBEL_H:
            return _(
                "the Sobel filter for **horizontal edges** (it responds to brightness changing from top to bottom; "
                "the slides' *Sobel Filter_H*)"
            )
        return _("the Sobel filter for **horizontal edges** (it responds to brightness changing from top to bottom)")
    if name == "sobel-v":
        if kernel == _SLIDES_SOBEL_V:
            return _(
                "the Sobel filter for **vertical edges** (it responds to brightness changing from left to right; "
                "the slides' *Sobel Filter_V*)"
            )
        return _("the Sobel filter for **vertical edges** (it responds to brightness changing from left to right)")
    if name == "prewitt":
        return _(
            "the edge filter of the slides' 6×6 example (the slides call it a Sobel filter; with equal row weights it "
            "is strictly the Prewitt filter), which responds to **vertical edges**"
        )
    return _(_FILTER_NAMES[name])


def _kernel_latex(params: Params) -> str:
    scale = params["scale"]
    front = f"\\frac{{1}}{{{scale}}} " if scale > 1 else ""
    return f"K = {front}{latex_matrix(params['kernel'])}"


def _region_text(params: Params, lang: str) -> str:
    _ = gettext_for(lang)
    r0, c0, rh, rw = params["region"]
    if params.get("whole"):
        return _("the whole output $Y$")
    rows = f"{r0}" if rh == 1 else f"{r0}–{r0 + rh - 1}"
    cols = f"{c0}" if rw == 1 else f"{c0}–{c0 + rw - 1}"
    return _(
        "rows %(rows)s and columns %(cols)s of the output $Y$ (0-based indices), a $%(rh)d \\times %(rw)d$ block"
    ) % {"rows": rows, "cols": cols, "rh": rh, "rw": rw}


def _fmt(v: Any, tol: Tolerance | None) -> str:
    return display_number(v, tol)


# --------------------------------------------------------------------------- the family


@register
class ImageFilter(ProblemFamily):
    """A classic 3×3 filter (Sobel, Laplacian, average, Gaussian, median) applied by hand."""

    name = "image-filter"
    title = N_("Image filters by hand")
    topic = "filters"
    misconceptions = _MISCONCEPTIONS
    constraint_keys = {
        "filter": "one of " + ", ".join(f"'{f}'" for f in FILTERS),
        "padding": "'valid' or 'same'",
        "mode": "'correlation' or 'convolution' (only matters for the Sobel/Prewitt kernels)",
        "height": "image height, 5..6",
        "width": "image width, 5..6",
    }

    # ---- variants ----------------------------------------------------------------------------

    def sample(self, rng: np.random.Generator, constraints: Mapping[str, Any]) -> Params:
        c = constraints
        name = c.get("filter") or FILTERS[int(rng.choice(7, p=[0.16, 0.16, 0.08, 0.12, 0.16, 0.14, 0.18]))]
        if name not in FILTERS:
            raise ValueError(f"{self.name}: filter must be one of {', '.join(FILTERS)}, got {name!r}")
        options = _kernels(name)
        kernel, scale = options[0] if len(options) == 1 or rng.random() < 0.6 else options[1]
        asym = bool(kernel) and not np.array_equal(np.asarray(kernel), np.asarray(kernel)[::-1, ::-1])
        mode = str(c.get("mode") or ("convolution" if asym and rng.random() < 0.3 else "correlation"))
        if name == "laplacian":
            padding = str(c.get("padding", "same"))  # a 'valid' Laplacian would test no misconception
        else:
            padding = str(c.get("padding") or ("same" if rng.random() < 0.45 else "valid"))
        h = int(c.get("height", rng.integers(5, 7)))
        w = int(c.get("width", rng.integers(5, 7)))
        params: Params = {
            "filter": name,
            "kernel": kernel,
            "scale": int(scale),
            "mode": mode,
            "padding": padding,
            "image": [],
            "region": [],
        }
        best: Params | None = None
        for _ in range(60):
            params["image"] = self._image(rng, name, h, w).tolist()
            params["region"], params["whole"] = self._pick_region(rng, params)
            if self._distinct_enough(params):
                return dict(params)
            best = dict(params)
        assert best is not None
        return best

    def _image(self, rng: np.random.Generator, name: str, h: int, w: int) -> np.ndarray:
        if name in ("sobel-h", "sobel-v", "prewitt", "laplacian") and rng.random() < 0.5:
            # A bright rectangle on a dark background, as in the slides' 6×6 example.
            img = np.zeros((h, w), dtype=np.int64)
            r1, c1 = int(rng.integers(0, h - 2)), int(rng.integers(0, w - 2))
            r2, c2 = int(rng.integers(r1 + 2, h + 1)), int(rng.integers(c1 + 2, w + 1))
            img[r1:r2, c1:c2] = rng.choice([1, 2, 3], size=(r2 - r1, c2 - c1))
            return img
        high = {"median": 10, "box": 6, "gaussian": 6}.get(name, 4)
        return rng.integers(0, high, size=(h, w))

    def _pick_region(self, rng: np.random.Generator, params: Params) -> tuple[list[int], bool]:
        h, w = len(params["image"]), len(params["image"][0])
        oh, ow = (h, w) if params["padding"] == "same" else (h - 2, w - 2)
        if oh * ow <= 9:
            return [0, 0, oh, ow], True
        rh, rw = [(2, 3), (3, 2), (3, 3), (2, 2)][int(rng.integers(4))]
        rh, rw = min(rh, oh), min(rw, ow)
        r0, c0 = int(rng.integers(0, oh - rh + 1)), int(rng.integers(0, ow - rw + 1))
        if params["padding"] == "same":
            # Padding only shows at the border: make the block touch it (mostly the top or left edge).
            edge = int(rng.integers(4)) if rng.random() < 0.3 else int(rng.integers(2))
            if edge == 0:
                r0 = 0
            elif edge == 1:
                c0 = 0
            elif edge == 2:
                r0 = oh - rh
            else:
                c0 = ow - rw
        return [r0, c0, rh, rw], False

    def _distinct_enough(self, params: Params) -> bool:
        """Each misconception's block differs from the right one in at least half of its cells, and
        the right block is not constant (all zeros, say)."""
        right = np.asarray(self.solve(params)["output"], dtype=float)
        if np.all(right == right.flat[0]):
            return False
        for m in self.misconceptions:
            alt = m.solve(params)
            if alt and alt.get("output") is not None:
                wrong = np.asarray(alt["output"], dtype=float)
                if (np.abs(wrong - right) > 1e-9).sum() < math.ceil(right.size / 2):
                    return False
        return True

    def parts(self, params: Params) -> list[Part]:
        _, _, rh, rw = params["region"]
        tol = None if params["scale"] > 1 else _EXACT
        label = N_("Output Y") if params.get("whole") else N_("Output block")
        return [_SHAPE, Part("output", "matrix", label, points=3.0, tolerance=tol, shape=(rh, rw))]

    def solve(self, params: Params) -> Response:
        return _answer(params, _filtered(params))

    def clear_caches(self) -> None:
        _planes.cache_clear()

    def hint(self, params: Params, part: Part, given: Any) -> Wording | None:
        if part.name == "shape":
            return Text(_HINTS["shape"])
        return Text(_HINTS["median" if params["filter"] == "median" else "output"])

    # ---- text --------------------------------------------------------------------------------

    def render(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        image = params["image"]
        h, w = len(image), len(image[0])
        median = params["filter"] == "median"
        same = params["padding"] == "same"
        xp = "X_p" if same else "X"
        matrices = (
            f"$$X = {latex_matrix(image)}" + ("" if median else f", \\qquad {_kernel_latex(params)}") + "$$"
        )
        pad = (
            _("with zero padding ('same': first surround the image with one ring of zeros, giving $X_p$)")
            if same
            else _("without padding ('valid': only positions where the whole kernel fits inside the image)")
        )
        if median:
            how = _("Each output is the median of the 9 values in its 3×3 window.")
        elif _asymmetric(params) and params["mode"] == "convolution":
            how = _(
                "Compute the **convolution** in the mathematical sense: rotate the kernel by 180° before sliding it."
            )
        elif _asymmetric(params):
            how = _(
                "Compute the **cross-correlation** (as a CNN layer and the slides do): slide the kernel as given, "
                "without flipping, $Y[i,j] = \\sum_{m,n} K[m,n]\\, %(xp)s[i+m,\\, j+n]$."
            ) % {"xp": xp}
        else:
            how = _(
                "Slide the kernel over the image and take the weighted sum at each position (the kernel is symmetric, "
                "so flipping it would change nothing)."
            )
        intro = _("Apply %(filter)s to the $%(h)d \\times %(w)d$ image $X$, %(padding)s. %(how)s") % {
            "filter": _filter_text(params, lang), "h": h, "w": w, "padding": pad, "how": how,
        }
        region = _region_text(params, lang)
        if params["scale"] > 1:
            give = _(
                "2. **Output**: give %(region)s. "
                "(Non-integers: at least 3 significant figures, or a fraction such as `13/9`.)"
            ) % {"region": region}
        else:
            give = _("2. **Output**: give %(region)s.") % {"region": region}
        questions = _("1. **Output size**: the size of the whole output $Y$?")
        answer_format = _(
            "*Answer format*: a size as `4×4`; a matrix one row per line (or rows separated by `;`), entries "
            "separated by spaces or commas."
        )
        return f"{intro}\n\n{matrices}\n\n{questions}\n{give}\n\n{answer_format}\n"

    def explain(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        answer = self.solve(params)
        image = np.asarray(params["image"])
        h, w = image.shape
        same = params["padding"] == "same"
        median = params["filter"] == "median"
        lines = [_("**1. Output size**")]
        oh, ow = answer["shape"]
        if same:
            lines.append(
                _(
                    "Padded with one ring of zeros the image is $%(ph)d \\times %(pw)d$; a 3×3 window fits in "
                    "$%(rows)d \\times %(cols)d$ positions, the input's size."
                )
                % {"ph": h + 2, "pw": w + 2, "rows": oh, "cols": ow}
            )
        else:
            lines.append(
                _(
                    "Without padding a 3×3 window fits in $(%(h)d - 2) \\times (%(w)d - 2) = %(rows)d \\times %(cols)d$ "
                    "positions."
                )
                % {"h": h, "w": w, "rows": oh, "cols": ow}
            )
        xp = np.pad(image, 1) if same else image
        taps = np.asarray(params["kernel"])
        if not median or same:
            lines.append(_("**2. Setup**"))
        if not median:
            if _asymmetric(params) and params["mode"] == "convolution":
                taps = taps[::-1, ::-1]
                lines.append(
                    _("Convolution first rotates the kernel by 180°: %(kernel)s")
                    % {"kernel": f"$K' = {latex_matrix(taps.tolist())}$"}
                )
            else:
                lines.append(_("The kernel is used as given, not flipped."))
        if same:
            lines.append(_("Zero-padded image: %(matrix)s") % {"matrix": f"$$X_p = {latex_matrix(xp.tolist())}$$"})
        lines.append(_("**3. Each requested entry**"))
        r0, c0, rh, rw = params["region"]
        scale = params["scale"]
        tol = self.parts(params)[1].tol
        for a in range(rh):
            for b in range(rw):
                i, j = r0 + a, c0 + b
                win = xp[i : i + 3, j : j + 3]
                value = _fmt(answer["output"][a][b], tol)
                if median:
                    vals = ", ".join(str(v) for v in sorted(win.ravel().tolist()))
                    lines.append(
                        _("%(entry)s: sorted %(values)s → median %(median)s")
                        % {"entry": f"$Y[{i},{j}]$", "values": f"$({vals})$", "median": f"${value}$"}
                    )
                    continue
                terms = [
                    f"({int(t)})({int(v)})" for t, v in zip(taps.ravel(), win.ravel(), strict=True) if t and v
                ]
                total = int((taps * win).sum())
                products = " + ".join(terms) or "0"
                if scale > 1:
                    # The sum is divided by the kernel's divisor: the sum itself is not the output.
                    exact = total % scale == 0
                    tail = f" = {total // scale}" if exact else f" \\approx {value}"
                    lines.append(
                        f"$Y[{i},{j}] = \\frac{{1}}{{{scale}}}\\left({products}\\right) = \\frac{{{total}}}{{{scale}}}{tail}$"
                    )
                else:
                    lines.append(f"$Y[{i},{j}] = {products} = {total}$")
        if params["filter"] == "laplacian":
            lines.append(_LAPLACIAN_SIGNS(lang))
        lines.append(
            _("**Answer**: %(answer)s") % {"answer": f"$${latex_matrix(answer['output'], tol=tol)}$$"}
        )
        return "\n\n".join(lines) + "\n"


#: Where a student meets both Laplacian kernels (this family draws either) and both ways of writing sharpening.
_LAPLACIAN_SIGNS = Text(
    "*Signs*: the Laplacian is written with a negative centre (e.g. $-4$, neighbours $+1$) or, as in the "
    "slides, with a positive one ($+8$, all neighbours $-1$); the two differ only in sign. Sharpening adds the "
    "detail back: image $-$ Laplacian with the negative-centre kernel, which is the same as image $+$ Laplacian "
    "with the slides' positive-centre kernel; either way the sharpening kernel has a positive centre (5 with four "
    "neighbours $-1$, or 9 with all eight $-1$)."
)

_HINTS = {
    "shape": N_("'valid' loses one pixel on each side for a 3×3 window; zero-padded 'same' keeps the input's size."),
    "output": N_(
        "Output $(i, j)$ uses the 3×3 window whose top-left is $(i, j)$ in the (padded) image; check the "
        "products in the wrong entries."
    ),
    "median": N_("Sort the 9 values of the window whose top-left is $(i, j)$ in the (padded) image and take the 5th."),
}
