"""Family ``conv-by-hand``: convolve a small integer image with a small kernel by hand.

Variant: a 4×4 … 7×7 image (0/1 or small ints) and a 2×2 or 3×3 kernel of small ints (with at
least one negative), stride 1–2, zero padding 0–1, sometimes dilation 2, and either
cross-correlation (what ``torch.nn.functional.conv2d`` computes) or true convolution (kernel
rotated by 180°), as the statement says. The output is kept hand-sized (2…4 per axis, ≤ 12 cells).

Parts: ``shape`` (output H×W, 1 point) and ``output`` (the matrix, 3 points, per-cell credit).

Grading rule for ``output`` when its size is wrong (error carried forward, documented in
``grader/README.md``): cells are compared with the correct output at the same (row, column),
anchored at the top-left, because entry (i, j) comes from the same window whatever the output
size. Missing cells always count as wrong (else a 1×1 answer would be a cheap way to credit).
Extra cells beyond the correct output do not cost anything *if* the matrix has exactly the size
the student gave in ``shape`` (that part already lost its point); otherwise they count as wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np

from grader.answers import Tolerance
from grader.i18n import N_, Text, Wording, gettext_for, join_list, join_sentences
from grader.problems import register
from grader.problems.base import (
    Misconception,
    Params,
    Part,
    PartScore,
    ProblemFamily,
    Response,
    cells_right,
    compare_cells,
    latex_matrix,
    wrong_size,
)
from grader.reference import conv2d, conv_output_size

Matrix = list[list[int]]
Grid = tuple[tuple[int, ...], ...]  # hashable matrix, for the cache

_SHAPE = Part("shape", "shape", N_("Output size"), points=1.0, length=2)
_OUTPUT = Part(
    "output",
    "matrix",
    N_("Output Y"),
    points=3.0,
    tolerance=Tolerance(abs=1e-9),
)
_PARTS = [_SHAPE, _OUTPUT]


# --------------------------------------------------------------------------- computation


def _span(params: Params, dilation: int | None = None) -> int:
    d = params["dilation"] if dilation is None else dilation
    return d * (len(params["kernel"]) - 1) + 1


@lru_cache(maxsize=4096)
def _stride1(image: Grid, kernel: Grid, padding: int, dilation: int) -> np.ndarray | None:
    """Stride-1 outputs, ``(2, H1, W1)``: channel 0 with the kernel as given (cross-correlation),
    channel 1 with it rotated by 180° (convolution); None if the kernel does not fit.

    One reference call serves the answer and every misconception, because a stride-``s`` output
    is a slice of the stride-1 one (``y_s[i] = y_1[s i]``) and dropping padding only shifts the
    windows (``y_{p=0}[i] = y_{p}[p + s i]``). The reference ``conv2d`` costs ~0.2 ms on these
    tiny inputs (mostly fixed overhead), so this and the cache are what make grading fast.
    """
    x = np.asarray(image, dtype=np.int64)[None]
    k = np.asarray(kernel, dtype=np.int64)
    w = np.stack([k, k[::-1, ::-1]])[:, None]
    try:
        y = conv2d(x, w, stride=1, padding=padding, dilation=dilation)
    except ValueError:
        return None
    y.setflags(write=False)  # cached: must never be modified by a caller
    return y


def _grid(rows: list[list[int]]) -> Grid:
    return tuple(tuple(r) for r in rows)


def _conv(
    params: Params,
    *,
    mode: str | None = None,
    stride: int | None = None,
    padding: int | None = None,
    dilation: int | None = None,
) -> Matrix | None:
    """The output with some settings overridden (reduced padding only); None when the kernel
    does not fit."""
    s = params["stride"] if stride is None else stride
    p = params["padding"] if padding is None else padding
    d = params["dilation"] if dilation is None else dilation
    assert p <= params["padding"], "only dropping padding is supported"
    full = _stride1(_grid(params["image"]), _grid(params["kernel"]), params["padding"], d)
    if full is None:
        return None
    span = d * (len(params["kernel"]) - 1) + 1
    rooms = [n + 2 * p - span for n in (len(params["image"]), len(params["image"][0]))]
    if min(rooms) < 0:
        return None
    oh, ow = (r // s + 1 for r in rooms)
    off = params["padding"] - p
    plane = full[1 if (mode or params["mode"]) == "convolution" else 0]
    return plane[off : off + s * (oh - 1) + 1 : s, off : off + s * (ow - 1) + 1 : s].tolist()


def _answer(output: Matrix | None) -> Response | None:
    if output is None:
        return None
    return {"shape": [len(output), len(output[0])], "output": output}


def _rooms(params: Params) -> list[tuple[int, int]]:
    """Per axis (H, W): ``(n + 2p - k_eff, stride)``, the numbers the size formula divides."""
    image = params["image"]
    return [
        (n + 2 * params["padding"] - _span(params), params["stride"]) for n in (len(image), len(image[0]))
    ]


# --------------------------------------------------------------------------- misconceptions


def _not_flipped(params: Params) -> Response | None:
    return _answer(_conv(params, mode="correlation")) if params["mode"] == "convolution" else None


def _flipped(params: Params) -> Response | None:
    return _answer(_conv(params, mode="convolution")) if params["mode"] == "correlation" else None


def _no_padding(params: Params) -> Response | None:
    return _answer(_conv(params, padding=0)) if params["padding"] > 0 else None


def _no_stride(params: Params) -> Response | None:
    return _answer(_conv(params, stride=1)) if params["stride"] > 1 else None


def _no_dilation(params: Params) -> Response | None:
    return _answer(_conv(params, dilation=1)) if params["dilation"] > 1 else None


def _off_by_one(params: Params) -> Response | None:
    shape = [room // s for room, s in _rooms(params)]
    if min(shape) <= 0:
        return None
    # A student who forgot the +1 computes the same windows but one fewer per axis.
    correct = _conv(params)
    assert correct is not None
    return {"shape": shape, "output": [row[: shape[1]] for row in correct[: shape[0]]]}


def _ceil(params: Params) -> Response | None:
    rooms = _rooms(params)
    if all(room % s == 0 for room, s in rooms):
        return None
    return {"shape": [-(-room // s) + 1 for room, s in rooms]}


_MISCONCEPTIONS = (
    Misconception(
        "kernel-not-flipped",
        N_(
            "You computed the cross-correlation, not the convolution: for a true convolution first rotate the "
            "kernel by 180° (flip it top–bottom and left–right), then slide it as usual."
        ),
        _not_flipped,
    ),
    Misconception(
        "kernel-flipped",
        N_(
            "You flipped the kernel, which gives the mathematical convolution; this problem asks for the "
            "cross-correlation (what deep-learning libraries call convolution): slide the kernel as given."
        ),
        _flipped,
    ),
    Misconception(
        "padding-ignored",
        N_(
            "You left out the zero padding: first surround the input with $p$ rows and columns of zeros on every "
            "side; this changes both the output size and the values near the border."
        ),
        _no_padding,
    ),
    Misconception(
        "stride-ignored",
        N_(
            "You moved the window one pixel at a time: with stride $s$ it jumps $s$ pixels, so only every "
            r"$s$-th position is computed and the size is $\lfloor (n + 2p - k_\text{eff})/s \rfloor + 1$."
        ),
        _no_stride,
    ),
    Misconception(
        "size-off-by-one",
        N_(
            r"Your output size is one too small: the number of window positions is "
            r"$\lfloor (n + 2p - k_\text{eff})/s \rfloor + 1$ — the $+1$ counts the first position."
        ),
        _off_by_one,
        # The entries given are the right ones, only the last row and column are missing.
        credit=None,
    ),
    Misconception(
        "ceil-instead-of-floor",
        N_(
            r"You rounded up: when $n + 2p - k_\text{eff}$ is not a multiple of $s$ the last, incomplete window "
            r"is dropped, so the size is $\lfloor (n + 2p - k_\text{eff})/s \rfloor + 1$ (floor, not ceiling)."
        ),
        _ceil,
    ),
    Misconception(
        "dilation-ignored",
        N_(
            r"You ignored the dilation: with dilation $d$ the kernel taps are $d$ pixels apart, so the kernel "
            r"spans $k_\text{eff} = d(k-1) + 1$ pixels and tap $(m, n)$ reads $X_p[s i + d m,\ s j + d n]$."
        ),
        _no_dilation,
    ),
)


# --------------------------------------------------------------------------- the family


@register
class ConvByHand(ProblemFamily):
    """Convolution or cross-correlation of a small image with a small kernel, by hand."""

    name = "conv-by-hand"
    title = N_("Convolution by hand")
    topic = "convolution"
    misconceptions = _MISCONCEPTIONS
    constraint_keys = {
        "mode": "'correlation' or 'convolution'",
        "kernel_size": "2 or 3",
        "stride": "1 or 2",
        "padding": "0 or 1",
        "dilation": "1 or 2",
        "height": "image height, 4..7",
        "width": "image width, 4..7",
    }

    # ---- variants ----------------------------------------------------------------------------

    def sample(self, rng: np.random.Generator, constraints: Mapping[str, Any]) -> Params:
        c = constraints
        for key, value in c.items():
            if value not in _ALLOWED[key]:
                raise ValueError(f"{self.name}: constraint {key}={value!r} not in {list(_ALLOWED[key])}")

        def pick(key: str, options: list[Any], p: list[float] | None = None) -> Any:
            if key in c:
                return c[key]
            return options[int(rng.choice(len(options), p=p))]

        # Draw settings until some image size in 4..7 gives a hand-sized output (2..4 per axis,
        # at most 12 cells); e.g. stride 1 with padding 1 and a 2×2 kernel never does.
        for _ in range(100):
            mode = pick("mode", ["correlation", "convolution"])
            k = pick("kernel_size", [2, 3], [0.3, 0.7])
            stride = pick("stride", [1, 2])
            padding = pick("padding", [0, 1])
            dilation = pick("dilation", [1, 2], [0.75, 0.25])
            span = dilation * (k - 1) + 1

            def out(n: int, padding: int = padding, span: int = span, stride: int = stride) -> int:
                room = n + 2 * padding - span
                return room // stride + 1 if room >= 0 else 0

            heights = [n for n in range(4, 8) if 2 <= out(n) <= 4] if "height" not in c else [c["height"]]
            widths = [n for n in range(4, 8) if 2 <= out(n) <= 4] if "width" not in c else [c["width"]]
            sizes = [(h, w) for h in heights for w in widths if out(h) * out(w) <= 12 and out(h) * out(w) > 0]
            if sizes:
                break
        else:
            raise ValueError(
                f"{self.name}: no image size gives a hand-sized output for constraints {dict(c)}"
            )
        h, w = sizes[int(rng.integers(len(sizes)))]
        if rng.random() < 0.5:
            image = rng.integers(0, 2, size=(h, w))
        else:
            image = rng.integers(0, 4, size=(h, w))
        while True:
            kernel = rng.integers(-2, 3, size=(k, k))
            # A negative weight makes sign slips visible; asymmetry makes the flip matter.
            if (
                (kernel < 0).any()
                and (kernel != 0).sum() >= 2
                and not np.array_equal(kernel, kernel[::-1, ::-1])
            ):
                break
        return {
            "image": image.tolist(),
            "kernel": kernel.tolist(),
            "stride": int(stride),
            "padding": int(padding),
            "dilation": int(dilation),
            "mode": str(mode),
        }

    def parts(self, params: Params) -> list[Part]:
        return _PARTS

    def solve(self, params: Params) -> Response:
        output = _conv(params)
        k, s, p, d = len(params["kernel"]), params["stride"], params["padding"], params["dilation"]
        shape = [conv_output_size(n, k, s, p, d) for n in (len(params["image"]), len(params["image"][0]))]
        assert output is not None and [len(output), len(output[0])] == shape
        return {"shape": shape, "output": output}

    # ---- grading ----------------------------------------------------------------------------

    def clear_caches(self) -> None:
        _stride1.cache_clear()

    def score_part(self, params: Params, part: Part, given: Any, expected: Any, response: Response) -> PartScore:
        if part.name != "output" or given is None:
            return super().score_part(params, part, given, expected, response)
        cells = compare_cells(given, expected, part.tol)
        gh, gw = len(given), len(given[0])
        eh, ew = len(expected), len(expected[0])
        ok = sum(map(sum, cells))
        extra = sum(1 for i in range(gh) for j in range(gw) if i >= eh or j >= ew)
        # Error carried forward: extra cells are free only if the matrix matches the stated size.
        consistent = response.get("shape") == [gh, gw]
        total = eh * ew + (0 if consistent else extra)
        if ok == total and (gh, gw) == (eh, ew):
            return PartScore(1.0, cells)
        note: Wording = cells_right(ok, gh * gw)
        if (gh, gw) != (eh, ew):
            ecf = consistent and extra > 0
            note = join_sentences([Text(_ECF_NOTE) if ecf else wrong_size(gh, gw), note])
        return PartScore(ok / total, cells, note)

    def hint(self, params: Params, part: Part, given: Any) -> Wording | None:
        return Text(_HINTS[part.name])

    # ---- text -------------------------------------------------------------------------------

    def render(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        image, kernel = params["image"], params["kernel"]
        s, p, d, mode = params["stride"], params["padding"], params["dilation"], params["mode"]
        h, w, k = len(image), len(image[0]), len(kernel)
        conv = mode == "convolution"
        operation = (
            _("the **convolution** in the mathematical sense (the kernel is rotated by 180° before sliding)")
            if conv
            else _("the **cross-correlation** (what PyTorch's `conv2d` computes: the kernel is *not* flipped)")
        )
        settings = [_("stride $s = %(s)d$") % {"s": s}]
        settings += [_("zero padding $p = %(p)d$ on every side") % {"p": p}] if p else [_("no padding")]
        settings += [_("dilation $d = %(d)d$") % {"d": d}] if d > 1 else []
        intro = _(
            "Compute %(operation)s of the $%(h)d \\times %(w)d$ input $X$ with the $%(k)d \\times %(k)d$ "
            "kernel $K$, using %(settings)s. There is no bias."
        ) % {"operation": operation, "h": h, "w": w, "k": k, "settings": join_list(settings, lang)}
        where = _("where $X_p$ is the zero-padded input and indices start at 0.")
        questions = _(
            "1. **Output size**: what is $H_\\text{out} \\times W_\\text{out}$?\n"
            "2. **Output**: give the matrix $Y$.\n\n"
            "*Answer format*: the size as `3×3` (or `3x3`, `(3, 3)`); the matrix one row per line "
            "(or rows separated by `;`), entries separated by spaces or commas."
        )
        tap = "K[k-1-m,\\, k-1-n]" if conv else "K[m, n]"
        dm, dn = ("d\\,m", "d\\,n") if d > 1 else ("m", "n")
        formula = f"$$Y[i, j] = \\sum_{{m=0}}^{{{k - 1}}} \\sum_{{n=0}}^{{{k - 1}}} {tap}\\; X_p[s\\,i + {dm},\\; s\\,j + {dn}]$$"
        matrices = f"$$X = {latex_matrix(image)}, \\qquad K = {latex_matrix(kernel)}$$"
        return f"{intro}\n\n{matrices}\n\n{formula}\n\n{where}\n\n{questions}\n"

    def explain(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        image, kernel = params["image"], params["kernel"]
        s, p, d, mode = params["stride"], params["padding"], params["dilation"], params["mode"]
        k = len(kernel)
        answer = self.solve(params)
        out = answer["output"]
        span = _span(params)
        lines: list[str] = []
        # 1. size
        lines.append(_("**1. Output size**"))
        if d > 1:
            lines.append(f"$k_\\text{{eff}} = d(k-1) + 1 = {d}({k}-1) + 1 = {span}$")
        for axis, n in (("H", len(image)), ("W", len(image[0]))):
            room = n + 2 * p - span
            size = room // s + 1
            lines.append(
                f"$${axis}_\\text{{out}} = \\left\\lfloor \\frac{{{n} + 2 \\cdot {p} - {span}}}{{{s}}} \\right\\rfloor + 1"
                f" = \\left\\lfloor \\frac{{{room}}}{{{s}}} \\right\\rfloor + 1 = {size}$$"
            )
        oh, ow = answer["shape"]
        lines.append(_("So the output is $%(rows)d \\times %(cols)d$.") % {"rows": oh, "cols": ow})
        # 2. kernel and padding
        taps = np.asarray(kernel)
        lines.append(_("**2. Setup**"))
        if mode == "convolution":
            taps = taps[::-1, ::-1]
            lines.append(
                _("Convolution first rotates the kernel by 180°: %(kernel)s, then slides it like a cross-correlation.")
                % {"kernel": f"$K' = {latex_matrix(taps.tolist())}$"}
            )
        else:
            lines.append(_("Cross-correlation uses $K$ as given, without flipping."))
        xp = np.pad(np.asarray(image), p)
        if p:
            lines.append(_("Zero-padded input: %(matrix)s") % {"matrix": f"$$X_p = {latex_matrix(xp.tolist())}$$"})
        # 3. entries
        lines.append(_("**3. Each entry**"))
        for i, row in enumerate(out):
            for j, value in enumerate(row):
                terms = []
                for m in range(k):
                    for n in range(k):
                        wt = int(taps[m, n])
                        if wt:
                            xv = int(xp[s * i + d * m, s * j + d * n])
                            terms.append(f"({wt})({xv})")
                lines.append(f"$Y[{i},{j}] = {' + '.join(terms) or '0'} = {value}$")
        lines.append(_("**Answer**: %(answer)s") % {"answer": f"$$Y = {latex_matrix(out)}$$"})
        return "\n\n".join(lines) + "\n"


_ALLOWED: dict[str, tuple[Any, ...]] = {
    "mode": ("correlation", "convolution"),
    "kernel_size": (2, 3),
    "stride": (1, 2),
    "padding": (0, 1),
    "dilation": (1, 2),
    "height": (4, 5, 6, 7),
    "width": (4, 5, 6, 7),
}
_ECF_NOTE = N_(
    "Your matrix does not have the correct size, but it matches your own output size, so the entries "
    "beyond the correct size are not penalised again."
)
_HINTS = {
    "shape": N_(
        r"Per axis the size is $\lfloor (n + 2p - k_\text{eff})/s \rfloor + 1$ with $k_\text{eff} = d(k-1) + 1$."
    ),
    "output": N_("Check the window position $(s\\,i, s\\,j)$ in the padded input and the products in the wrong entries."),
}
