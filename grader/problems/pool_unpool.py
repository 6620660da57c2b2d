"""Family ``pool-unpool``: pooling, unpooling, upsampling and a small transposed convolution by hand.

Sub-kinds (chosen by the seed, or ``constraints={"kind": ...}``):

* ``max-pool`` — max pooling (2×2/2, 3×3/2 or 2×2/1) of a 3×3 … 7×7 integer map without ties
  inside a window. Parts: ``shape``, ``output`` and ``indices`` (the remembered argmax positions
  as flat indices ``row · W + col`` into the input, torch's ``return_indices`` convention).
* ``avg-pool`` — average pooling (2×2/2 or 2×2/1). Parts: ``shape``, ``output``.
* ``max-unpool`` — max unpooling (2×2/2) of a decoder map ``Z`` with the switches of an earlier
  max pooling, given either as that pooling's input ``X`` or as flat indices. Part: ``output``.
* ``nearest`` / ``bed-of-nails`` — upsampling of a 2×2 or 2×3 map by 2 (or a 2×2 map by 3).
  Part: ``output``.
* ``transposed-conv`` — a 2×2 input, a 2×2 or 3×3 kernel, stride 1 or 2, no padding, no bias;
  overlapping stamps are summed. Parts: ``shape``, ``output``.

Every answer comes from the reference functions (:func:`grader.reference.max_pool2d`,
``avg_pool2d``, ``max_unpool2d``, ``nearest_upsample``, ``bed_of_nails_upsample``,
``conv_transpose2d``); conventions are in ``grader/CONVENTIONS.md`` ("Pooling", "Max-pool
indices", "Unpooling", "Output size").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from grader.answers import Tolerance
from grader.i18n import N_, Text, Wording, gettext_for
from grader.problems import register
from grader.problems.base import Misconception, Params, Part, ProblemFamily, Response, latex_matrix
from grader.reference import (
    avg_pool2d,
    bed_of_nails_upsample,
    conv_transpose2d,
    max_pool2d,
    max_unpool2d,
    nearest_upsample,
)

KINDS = ("max-pool", "avg-pool", "max-unpool", "nearest", "bed-of-nails", "transposed-conv")
Matrix = list[list[Any]]

_EXACT = Tolerance(abs=1e-9)
_SHAPE = Part("shape", "shape", N_("Output size"), points=1.0, length=2)
_OUT_INT = Part("output", "matrix", N_("Output"), points=2.0, tolerance=_EXACT)
_OUT_REAL = Part("output", "matrix", N_("Output"), points=2.0)
_INDICES = Part("indices", "matrix", N_("Argmax indices"), points=1.0, tolerance=_EXACT)
_PARTS = {
    "max-pool": [_SHAPE, _OUT_INT, _INDICES],
    "avg-pool": [_SHAPE, _OUT_REAL],
    "max-unpool": [_OUT_INT],
    "nearest": [_OUT_INT],
    "bed-of-nails": [_OUT_INT],
    "transposed-conv": [_SHAPE, _OUT_INT],
}


# --------------------------------------------------------------------------- computation


def _arr(m: Matrix) -> np.ndarray:
    return np.asarray(m, dtype=np.int64)


def _plain(values: Any) -> Matrix:
    """Nested lists with integral floats turned into ints (JSON-friendly, typed as students would)."""
    arr = np.asarray(values)
    if arr.dtype.kind != "f":
        return arr.tolist()
    return [[int(v) if v.is_integer() else v for v in row] for row in arr.tolist()]


def _pool(params: Params, *, stride: int | None = None, mode: str | None = None) -> Response:
    """Shape, output (and indices for max) of the pooling with the stride/mode possibly changed."""
    x, k = _arr(params["x"]), params["k"]
    s = params["s"] if stride is None else stride
    mode = mode or ("max" if params["kind"] == "max-pool" else "avg")
    if mode == "max":
        y, idx = max_pool2d(x, k, s)
        return {"shape": list(y.shape), "output": _plain(y), "indices": _plain(idx)}
    y = avg_pool2d(x, k, s)
    return {"shape": list(y.shape), "output": _plain(y)}


def _switches(params: Params) -> np.ndarray:
    """Max-unpool: flat argmax indices of the 2×2/2 max pooling of ``x``."""
    return max_pool2d(_arr(params["x"]), 2, 2)[1]


def _transposed(params: Params, *, stride: int | None = None) -> np.ndarray:
    s = params["s"] if stride is None else stride
    return conv_transpose2d(_arr(params["x"])[None], _arr(params["kernel"])[None, None], stride=s)[0]


def _solve(params: Params) -> Response:
    kind = params["kind"]
    if kind in ("max-pool", "avg-pool"):
        return _pool(params)
    if kind == "max-unpool":
        x = _arr(params["x"])
        return {"output": _plain(max_unpool2d(_arr(params["z"]), _switches(params), x.shape))}
    if kind == "nearest":
        return {"output": _plain(nearest_upsample(_arr(params["x"]), params["scale"]))}
    if kind == "bed-of-nails":
        return {"output": _plain(bed_of_nails_upsample(_arr(params["x"]), params["scale"]))}
    y = _transposed(params)
    return {"shape": list(y.shape), "output": _plain(y)}


# --------------------------------------------------------------------------- misconceptions


def _is_pool(params: Params) -> bool:
    return params["kind"] in ("max-pool", "avg-pool")


def _avg_for_max(params: Params) -> Response | None:
    return {"output": _pool(params, mode="avg")["output"]} if params["kind"] == "max-pool" else None


def _max_for_avg(params: Params) -> Response | None:
    return {"output": _pool(params, mode="max")["output"]} if params["kind"] == "avg-pool" else None


def _stride(params: Params) -> Response | None:
    if _is_pool(params):
        return _pool(params, stride=1) if params["s"] > 1 else None
    if params["kind"] == "transposed-conv":
        y = _transposed(params, stride=3 - params["s"])
        return {"shape": list(y.shape), "output": _plain(y)}
    return None


def _size_formula(params: Params) -> Response | None:
    kind = params["kind"]
    if _is_pool(params):
        k, s = params["k"], params["s"]
        shape = [(n - k) // s for n in np.shape(params["x"])]  # the +1 forgotten
        if min(shape) <= 0:
            return None
        right = _pool(params)
        # Same windows, one fewer per axis.
        return {
            name: [row[: shape[1]] for row in m[: shape[0]]] for name, m in right.items() if name != "shape"
        } | {"shape": shape}
    if kind == "transposed-conv":
        # "Upsampling by the stride": n·s. Not applicable when it coincides with the right size or
        # with the size a wrong stride gives (that mistake explains it better).
        shape = [n * params["s"] for n in np.shape(params["x"])]
        stride_shape = list(_transposed(params, stride=3 - params["s"]).shape)
        if shape == list(_transposed(params).shape) or shape == stride_shape:
            return None
        return {"shape": shape}
    return None


def _ceil(params: Params) -> Response | None:
    if not _is_pool(params):
        return None
    k, s = params["k"], params["s"]
    rooms = [n - k for n in np.shape(params["x"])]
    if all(r % s == 0 for r in rooms):
        return None
    return {"shape": [-(-r // s) + 1 for r in rooms]}


def _index_in_window(params: Params) -> Response | None:
    if params["kind"] != "max-pool":
        return None
    k, s = params["k"], params["s"]
    w = len(params["x"][0])
    idx = np.asarray(_pool(params)["indices"])
    rows, cols = np.divmod(idx, w)
    oi, oj = np.indices(idx.shape)
    return {"indices": _plain((rows - oi * s) * k + (cols - oj * s))}


def _top_left(params: Params) -> Response | None:
    if params["kind"] != "max-unpool":
        return None
    return {"output": _plain(bed_of_nails_upsample(_arr(params["z"]), 2))}


def _rule_mixed_up(params: Params) -> Response | None:
    kind = params["kind"]
    if kind == "max-unpool":
        return {"output": _plain(nearest_upsample(_arr(params["z"]), 2))}
    if kind == "nearest":
        return {"output": _plain(bed_of_nails_upsample(_arr(params["x"]), params["scale"]))}
    if kind == "bed-of-nails":
        return {"output": _plain(nearest_upsample(_arr(params["x"]), params["scale"]))}
    return None


def _pooled_values(params: Params) -> Response | None:
    if params["kind"] != "max-unpool" or params["given"] != "input":
        return None
    y, idx = max_pool2d(_arr(params["x"]), 2, 2)
    return {"output": _plain(max_unpool2d(y, idx, np.shape(params["x"])))}


def _overwrite(params: Params) -> Response | None:
    if params["kind"] != "transposed-conv" or len(params["kernel"]) <= params["s"]:
        return None
    x, kern, s = _arr(params["x"]), _arr(params["kernel"]), params["s"]
    k = len(kern)
    out = np.zeros(_transposed(params).shape, dtype=np.int64)
    for i in range(x.shape[0]):  # raster order: each stamp overwrites what was there
        for j in range(x.shape[1]):
            out[s * i : s * i + k, s * j : s * j + k] = x[i, j] * kern
    return {"output": _plain(out)}


_MISCONCEPTIONS = (
    Misconception(
        "average-instead-of-max",
        N_("You averaged each window: max pooling keeps the **largest** value of each window."),
        _avg_for_max,
    ),
    Misconception(
        "max-instead-of-average",
        N_(
            r"You took the maximum of each window: average pooling outputs the **mean** of the window, "
            r"the sum of its $k \times k$ values divided by $k^2$."
        ),
        _max_for_avg,
    ),
    Misconception(
        "stride-misapplied",
        N_(
            r"You used the wrong stride. In pooling the window moves $s$ pixels at a time (windows start at "
            r"$0, s, 2s, \dots$); in a transposed convolution the stamp of input pixel $(i, j)$ is placed at "
            r"$(s\,i, s\,j)$ in the output, so the stride is the spacing of the stamps."
        ),
        _stride,
    ),
    Misconception(
        "output-size-formula",
        N_(
            r"Your output size is off. Pooling gives $\lfloor (n - k)/s \rfloor + 1$ windows per axis (the $+1$ "
            r"counts the first window); a transposed convolution without padding gives $(n - 1)\,s + k$ "
            r"(the last stamp starts at $(n-1)\,s$ and is $k$ wide)."
        ),
        _size_formula,
        # Only the size is off: the entries given come from the right windows.
        credit=None,
    ),
    Misconception(
        "ceil-instead-of-floor",
        N_(
            r"You rounded up: a last window that would run past the edge is dropped, so the size is "
            r"$\lfloor (n - k)/s \rfloor + 1$ (floor, as PyTorch's default `ceil_mode=False`)."
        ),
        _ceil,
    ),
    Misconception(
        "argmax-index-in-window",
        N_(
            r"You gave the position inside each window: the remembered index is the flat position of the "
            r"maximum in the whole input, $\text{row} \cdot W + \text{col}$ (0-based), as `return_indices=True` "
            r"returns it."
        ),
        _index_in_window,
    ),
    Misconception(
        "unpool-top-left",
        N_(
            "You put every value at the top-left of its block: max unpooling puts each value back at the "
            "position where the maximum was in the corresponding max-pooling layer (its switch), zeros elsewhere."
        ),
        _top_left,
    ),
    Misconception(
        "upsampling-rule-mixed-up",
        N_(
            r"You used the other upsampling rule: nearest-neighbour copies each value into its whole "
            r"$s \times s$ block, while bed of nails (and max unpooling) puts it in a single cell of the block "
            r"and fills the rest with zeros."
        ),
        _rule_mixed_up,
    ),
    Misconception(
        "unpool-pooled-values",
        N_(
            "You unpooled the max-pooling output: the switches only say *where* each value goes; the values "
            "placed are those of the decoder's feature map $Z$."
        ),
        _pooled_values,
    ),
    Misconception(
        "transposed-overwrite",
        N_(
            r"Where stamps overlap you kept only one of them: a transposed convolution **adds** all "
            r"contributions $x_{ij} K$ that land on the same output cell."
        ),
        _overwrite,
        # Only the cells where stamps overlap are wrong; the others follow the right rule.
        credit=None,
    ),
)


# --------------------------------------------------------------------------- the family


def _windows_ok(x: np.ndarray, k: int, s: int) -> bool:
    """No tie for the maximum inside any pooling window."""
    oh, ow = (x.shape[0] - k) // s + 1, (x.shape[1] - k) // s + 1
    for i in range(oh):
        for j in range(ow):
            win = x[i * s : i * s + k, j * s : j * s + k]
            if (win == win.max()).sum() > 1:
                return False
    return True


@register
class PoolUnpool(ProblemFamily):
    """Pooling, unpooling, upsampling and transposed convolution by hand."""

    name = "pool-unpool"
    title = N_("Pooling, unpooling and upsampling")
    topic = "pooling"
    misconceptions = _MISCONCEPTIONS
    constraint_keys = {"kind": "one of " + ", ".join(f"'{k}'" for k in KINDS)}

    # ---- variants ----------------------------------------------------------------------------

    def sample(self, rng: np.random.Generator, constraints: Mapping[str, Any]) -> Params:
        kind = constraints.get("kind") or KINDS[int(rng.choice(6, p=[0.25, 0.15, 0.2, 0.08, 0.08, 0.24]))]
        if kind not in KINDS:
            raise ValueError(f"{self.name}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
        return getattr(self, "_sample_" + kind.replace("-", "_"))(rng)

    def _sample_max_pool(self, rng: np.random.Generator) -> Params:
        k, s, sizes = [(2, 2, (4, 5, 6)), (3, 2, (5, 6, 7)), (2, 1, (3, 4))][
            int(rng.choice(3, p=[0.5, 0.3, 0.2]))
        ]
        h, w = (int(rng.choice(sizes)) for _ in range(2))
        while True:
            x = rng.integers(0, 10 if k == 2 else 20, size=(h, w))
            if _windows_ok(x, k, s):
                return {"kind": "max-pool", "x": x.tolist(), "k": k, "s": s}

    def _sample_avg_pool(self, rng: np.random.Generator) -> Params:
        s, sizes = [(2, (4, 5, 6)), (1, (3, 4))][int(rng.choice(2, p=[0.7, 0.3]))]
        h, w = (int(rng.choice(sizes)) for _ in range(2))
        return {"kind": "avg-pool", "x": rng.integers(0, 10, size=(h, w)).tolist(), "k": 2, "s": s}

    def _sample_max_unpool(self, rng: np.random.Generator) -> Params:
        h, w = [(4, 4), (4, 6), (6, 4)][int(rng.choice(3, p=[0.6, 0.2, 0.2]))]
        while True:
            x = rng.integers(0, 10, size=(h, w))
            if not _windows_ok(x, 2, 2):
                continue
            pooled, idx = max_pool2d(x, 2, 2)
            rows, cols = np.divmod(idx, w)
            moved = ((rows % 2) + (cols % 2) > 0).mean()  # switches that are not the top-left cell
            z = rng.integers(1, 10, size=pooled.shape)
            if moved >= 0.5 and (z != pooled).all():
                given = "input" if rng.random() < 0.6 else "indices"
                return {"kind": "max-unpool", "x": x.tolist(), "z": z.tolist(), "given": given}

    def _sample_upsample(self, rng: np.random.Generator, kind: str) -> Params:
        shape, scale = [((2, 2), 2), ((2, 3), 2), ((3, 2), 2), ((2, 2), 3)][int(rng.choice(4))]
        return {"kind": kind, "x": rng.integers(1, 10, size=shape).tolist(), "scale": scale}

    def _sample_nearest(self, rng: np.random.Generator) -> Params:
        return self._sample_upsample(rng, "nearest")

    def _sample_bed_of_nails(self, rng: np.random.Generator) -> Params:
        return self._sample_upsample(rng, "bed-of-nails")

    def _sample_transposed_conv(self, rng: np.random.Generator) -> Params:
        k = int(rng.choice([2, 3]))
        s = int(rng.choice([1, 2]))
        x = rng.integers(1, 4, size=(2, 2))
        while True:
            kern = rng.integers(-1, 3, size=(k, k))
            if 1 <= (kern < 0).sum() <= k and (kern == 0).sum() <= 1:
                break
        return {"kind": "transposed-conv", "x": x.tolist(), "kernel": kern.tolist(), "s": s}

    def parts(self, params: Params) -> list[Part]:
        return _PARTS[params["kind"]]

    def solve(self, params: Params) -> Response:
        return _solve(params)

    def hint(self, params: Params, part: Part, given: Any) -> Wording | None:
        key = (params["kind"], part.name)
        return Text(_HINTS[key]) if key in _HINTS else None

    # ---- text --------------------------------------------------------------------------------

    def render(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        kind = params["kind"]
        x = params["x"]
        has_size = any(p.name == "shape" for p in self.parts(params))
        if has_size:
            fmt = _(
                "*Answer format*: a size as `2×3`; a matrix one row per line (or rows separated by `;`), "
                "entries separated by spaces or commas."
            )
        else:
            fmt = _(
                "*Answer format*: a matrix one row per line (or rows separated by `;`), entries separated by "
                "spaces or commas."
            )
        if kind in ("max-pool", "avg-pool"):
            k, s = params["k"], params["s"]
            h, w = len(x), len(x[0])
            sizes = {"k": k, "s": s, "h": h, "w": w}
            if kind == "max-pool":
                intro = _(
                    "Apply max pooling with a $%(k)d \\times %(k)d$ window and stride $%(s)d$, no padding (an "
                    "incomplete last window is dropped), to the $%(h)d \\times %(w)d$ input $X$."
                ) % sizes
                questions = _(
                    "1. **Output size**?\n2. **Output** matrix?\n"
                    "3. **Argmax indices**: where in the input does each output value come from? Give a matrix "
                    "of the output's shape holding flat indices $\\text{row} \\cdot %(w)d + \\text{col}$ "
                    "(0-based; e.g. row 1, column 2 is $1 \\cdot %(w)d + 2 = %(example)d$), "
                    "as PyTorch's `return_indices=True`."
                ) % {"w": w, "example": w + 2}
            else:
                intro = _(
                    "Apply average pooling with a $%(k)d \\times %(k)d$ window and stride $%(s)d$, no padding (an "
                    "incomplete last window is dropped), to the $%(h)d \\times %(w)d$ input $X$."
                ) % sizes
                questions = _(
                    "1. **Output size**?\n2. **Output** matrix? "
                    "(Non-integers: at least 3 significant figures, or a fraction such as `9/4`.)"
                )
            return f"{intro}\n\n$$X = {latex_matrix(x)}$$\n\n{questions}\n\n{fmt}\n"
        if kind == "max-unpool":
            return self._render_unpool(params, lang) + f"\n\n{fmt}\n"
        if kind in ("nearest", "bed-of-nails"):
            sc = params["scale"]
            h, w = len(x), len(x[0])
            sizes = {"h": h, "w": w, "scale": sc, "out_h": h * sc, "out_w": w * sc}
            if kind == "nearest":
                text = _(
                    "Upsample the $%(h)d \\times %(w)d$ feature map $X$ by a factor $%(scale)d$ with "
                    "nearest-neighbour upsampling (each value is copied into its whole block); each value owns a "
                    "$%(scale)d \\times %(scale)d$ block of the output. Give the $%(out_h)d \\times %(out_w)d$ "
                    "**output**."
                ) % sizes
            else:
                text = _(
                    "Upsample the $%(h)d \\times %(w)d$ feature map $X$ by a factor $%(scale)d$ with "
                    "bed-of-nails upsampling (each value goes to the top-left cell of its block, zeros elsewhere); "
                    "each value owns a $%(scale)d \\times %(scale)d$ block of the output. Give the "
                    "$%(out_h)d \\times %(out_w)d$ **output**."
                ) % sizes
            return f"{text}\n\n$$X = {latex_matrix(x)}$$\n\n{fmt}\n"
        s, kern = params["s"], params["kernel"]
        k = len(kern)
        intro = _(
            "Compute the transposed convolution (`ConvTranspose2d`) of the $2 \\times 2$ input $X$ with the "
            "$%(k)d \\times %(k)d$ kernel $K$, stride $%(s)d$, no padding, no bias."
        ) % {"k": k, "s": s}
        questions = _("1. **Output size**?\n2. **Output** matrix?")
        return (
            f"{intro}\n\n$$X = {latex_matrix(x)}, \\qquad K = {latex_matrix(kern)}$$\n\n{questions}\n\n{fmt}\n"
        )

    def _render_unpool(self, params: Params, lang: str) -> str:
        _ = gettext_for(lang)
        x, z = params["x"], params["z"]
        h, w = len(x), len(x[0])
        if params["given"] == "input":
            where = _(
                "An encoder applied $2 \\times 2$ max pooling with stride 2 to the $%(h)d \\times %(w)d$ feature "
                "map $X$ and remembered where each maximum was (the switches):"
            ) % {"h": h, "w": w}
            given = f"$$X = {latex_matrix(x)}$$"
        else:
            where = _(
                "An encoder applied $2 \\times 2$ max pooling with stride 2 to an $%(h)d \\times %(w)d$ feature "
                "map and remembered where each maximum was, as flat indices "
                "$\\text{row} \\cdot %(w)d + \\text{col}$ (0-based):"
            ) % {"h": h, "w": w}
            given = f"$$I = {latex_matrix(_plain(_switches(params)))}$$"
        ask = _(
            "The matching max-unpooling layer of the decoder uses those positions to upsample the feature map $Z$ "
            "back to $%(h)d \\times %(w)d$:"
        ) % {"h": h, "w": w}
        question = _("Give the unpooled **output**.")
        return f"{where}\n\n{given}\n\n{ask}\n\n$$Z = {latex_matrix(z)}$$\n\n{question}"

    def explain(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        kind = params["kind"]
        answer = self.solve(params)
        lines: list[str] = []
        if kind in ("max-pool", "avg-pool"):
            x, k, s = np.asarray(params["x"]), params["k"], params["s"]
            h, w = x.shape
            oh, ow = answer["shape"]
            lines.append(_("**1. Output size**"))
            lines.append(
                f"$$H_\\text{{out}} = \\left\\lfloor \\frac{{{h} - {k}}}{{{s}}} \\right\\rfloor + 1 = {oh}, \\quad "
                f"W_\\text{{out}} = \\left\\lfloor \\frac{{{w} - {k}}}{{{s}}} \\right\\rfloor + 1 = {ow}$$"
            )
            lines.append(_("**2. Each window**"))
            for i in range(oh):
                for j in range(ow):
                    win = x[i * s : i * s + k, j * s : j * s + k]
                    vals = ", ".join(str(v) for v in win.ravel())
                    if kind == "max-pool":
                        flat = answer["indices"][i][j]
                        r, c = divmod(flat, w)
                        lines.append(
                            _("%(value)s, at $(%(row)d, %(col)d)$, index $%(row)d \\cdot %(width)d + %(col)d = %(index)d$")
                            % {
                                "value": f"$Y[{i},{j}] = \\max({vals}) = {answer['output'][i][j]}$",
                                "row": r, "col": c, "width": w, "index": flat,
                            }
                        )
                    else:
                        lines.append(
                            f"$Y[{i},{j}] = ({' + '.join(str(v) for v in win.ravel())}) / {k * k} = "
                            f"{win.sum()}/{k * k} = {answer['output'][i][j]:g}$"
                        )
            lines.append(_("**Answer**: %(answer)s") % {"answer": f"$$Y = {latex_matrix(answer['output'])}$$"})
            if kind == "max-pool":
                lines.append(f"$$I = {latex_matrix(answer['indices'])}$$")
        elif kind == "max-unpool":
            w = len(params["x"][0])
            idx = _plain(_switches(params))
            lines.append(
                _(
                    "Max unpooling puts $Z[i, j]$ where the maximum of window $(i, j)$ was during max pooling, "
                    "zeros elsewhere:"
                )
            )
            for i, row in enumerate(params["z"]):
                for j, v in enumerate(row):
                    r, c = divmod(idx[i][j], w)
                    lines.append(f"$Z[{i},{j}] = {v} \\to ({r}, {c})$")
            lines.append(_("**Answer**: %(answer)s") % {"answer": f"$${latex_matrix(answer['output'])}$$"})
        elif kind in ("nearest", "bed-of-nails"):
            sc = params["scale"]
            if kind == "nearest":
                lines.append(
                    _(
                        "Each value $X[i, j]$ fills rows $%(scale)di \\dots %(scale)di+%(last)d$ and columns "
                        "$%(scale)dj \\dots %(scale)dj+%(last)d$ of the output."
                    )
                    % {"scale": sc, "last": sc - 1}
                )
            else:
                lines.append(
                    _(
                        "Each value $X[i, j]$ goes to output cell $(%(scale)di, %(scale)dj)$, the top-left of its "
                        "block; everything else is 0."
                    )
                    % {"scale": sc}
                )
            lines.append(_("**Answer**: %(answer)s") % {"answer": f"$${latex_matrix(answer['output'])}$$"})
        else:
            x, kern, s = params["x"], params["kernel"], params["s"]
            k = len(kern)
            oh, ow = answer["shape"]
            lines.append(_("**1. Output size**"))
            lines.append(f"$$(n - 1)\\,s + k = (2 - 1) \\cdot {s} + {k} = {oh}$$")
            lines.append(_("**2. One stamp per input pixel**"))
            corner = "(i, j)" if s == 1 else f"({s}i, {s}j)"
            lines.append(
                _(
                    "Input $x_{ij}$ adds $x_{ij} K$ to the $%(k)d \\times %(k)d$ block of the output whose top-left "
                    "is $%(corner)s$; overlapping contributions are summed."
                )
                % {"k": k, "corner": corner}
            )
            for i in range(2):
                for j in range(2):
                    stamp = (np.asarray(kern) * x[i][j]).tolist()
                    lines.append(
                        f"$x_{{{i}{j}}} K = {x[i][j]} K = {latex_matrix(stamp)}$ → $({s * i}, {s * j})$"
                    )
            lines.append(_("**Answer**: %(answer)s") % {"answer": f"$$Y = {latex_matrix(answer['output'])}$$"})
        return "\n\n".join(lines) + "\n"


_POOL_SIZE_HINT = N_(r"Per axis: $\lfloor (n - k)/s \rfloor + 1$.")
_HINTS = {
    ("max-pool", "shape"): _POOL_SIZE_HINT,
    ("avg-pool", "shape"): _POOL_SIZE_HINT,
    ("transposed-conv", "shape"): N_(r"Without padding: $(n - 1)\,s + k$ per axis."),
    ("transposed-conv", "output"): N_(
        r"Stamp $x_{ij} K$ with its top-left at $(s\,i, s\,j)$ for every input pixel and add the stamps."
    ),
    ("max-pool", "indices"): N_(
        r"Index $= \text{row} \cdot W + \text{col}$ of the maximum in the input, rows and columns from 0."
    ),
}
