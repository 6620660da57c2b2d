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
from grader.problems import register
from grader.problems.base import Misconception, Params, Part, ProblemFamily, Response, latex_matrix, tr
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
_SHAPE = Part(
    "shape", "shape", {"en": "Output size", "zh-Hant": "輸出大小 (output size)"}, points=1.0, length=2
)
_OUT_INT = Part(
    "output", "matrix", {"en": "Output", "zh-Hant": "輸出 (output)"}, points=2.0, tolerance=_EXACT
)
_OUT_REAL = Part("output", "matrix", {"en": "Output", "zh-Hant": "輸出 (output)"}, points=2.0)
_INDICES = Part(
    "indices",
    "matrix",
    {"en": "Argmax indices", "zh-Hant": "最大值位置索引 (argmax indices)"},
    points=1.0,
    tolerance=_EXACT,
)
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
        "You averaged each window: max pooling keeps the **largest** value of each window.",
        "你算的是每個視窗的平均：最大池化 (max pooling) 保留的是每個視窗中**最大**的值。",
        _avg_for_max,
    ),
    Misconception(
        "max-instead-of-average",
        r"You took the maximum of each window: average pooling outputs the **mean** of the window, "
        r"the sum of its $k \times k$ values divided by $k^2$.",
        r"你取了每個視窗的最大值：平均池化 (average pooling) 輸出的是視窗的**平均**，"
        r"即 $k \times k$ 個值的總和除以 $k^2$。",
        _max_for_avg,
    ),
    Misconception(
        "stride-misapplied",
        r"You used the wrong stride. In pooling the window moves $s$ pixels at a time (windows start at "
        r"$0, s, 2s, \dots$); in a transposed convolution the stamp of input pixel $(i, j)$ is placed at "
        r"$(s\,i, s\,j)$ in the output, so the stride is the spacing of the stamps.",
        r"步長 (stride) 用錯了。池化時視窗每次移動 $s$ 格（起點是 $0, s, 2s, \dots$）；"
        r"轉置卷積 (transposed convolution) 中輸入像素 $(i, j)$ 的印記放在輸出的 $(s\,i, s\,j)$，"
        r"所以 stride 是印記之間的間距。",
        _stride,
    ),
    Misconception(
        "output-size-formula",
        r"Your output size is off. Pooling gives $\lfloor (n - k)/s \rfloor + 1$ windows per axis (the $+1$ "
        r"counts the first window); a transposed convolution without padding gives $(n - 1)\,s + k$ "
        r"(the last stamp starts at $(n-1)\,s$ and is $k$ wide).",
        r"輸出大小算錯了。池化每個軸有 $\lfloor (n - k)/s \rfloor + 1$ 個視窗（$+1$ 是第一個視窗）；"
        r"不補零的轉置卷積 (transposed convolution) 輸出大小是 $(n - 1)\,s + k$"
        r"（最後一個印記從 $(n-1)\,s$ 開始、寬 $k$）。",
        _size_formula,
    ),
    Misconception(
        "ceil-instead-of-floor",
        r"You rounded up: a last window that would run past the edge is dropped, so the size is "
        r"$\lfloor (n - k)/s \rfloor + 1$ (floor, as PyTorch's default `ceil_mode=False`).",
        r"你無條件進位了：超出邊界的最後一個視窗要捨去，所以大小是 $\lfloor (n - k)/s \rfloor + 1$"
        r"（取下整，即 PyTorch 預設的 `ceil_mode=False`）。",
        _ceil,
    ),
    Misconception(
        "argmax-index-in-window",
        r"You gave the position inside each window: the remembered index is the flat position of the "
        r"maximum in the whole input, $\text{row} \cdot W + \text{col}$ (0-based), as `return_indices=True` "
        r"returns it.",
        r"你給的是視窗內的位置：要記住的索引是最大值在整張輸入中的平面位置 $\text{row} \cdot W + \text{col}$"
        r"（從 0 開始），也就是 `return_indices=True` 回傳的值。",
        _index_in_window,
    ),
    Misconception(
        "unpool-top-left",
        "You put every value at the top-left of its block: max unpooling puts each value back at the "
        "position where the maximum was in the corresponding max-pooling layer (its switch), zeros elsewhere.",
        "你把每個值都放在區塊的左上角：最大反池化 (max unpooling) 要把值放回對應最大池化層中最大值所在的位置"
        "（記住的 switch），其餘補 0。",
        _top_left,
    ),
    Misconception(
        "upsampling-rule-mixed-up",
        r"You used the other upsampling rule: nearest-neighbour copies each value into its whole "
        r"$s \times s$ block, while bed of nails (and max unpooling) puts it in a single cell of the block "
        r"and fills the rest with zeros.",
        r"你用了另一種上採樣 (upsampling) 規則：最近鄰 (nearest neighbor) 把每個值複製到整個 $s \times s$ 區塊；"
        r"bed of nails（以及 max unpooling）只把值放在區塊中的一格，其餘補 0。",
        _rule_mixed_up,
    ),
    Misconception(
        "unpool-pooled-values",
        "You unpooled the max-pooling output: the switches only say *where* each value goes; the values "
        "placed are those of the decoder's feature map $Z$.",
        "你反池化的是最大池化的輸出：switch 只決定值要放在*哪裡*；要放的值是解碼器 (decoder) 特徵圖 $Z$ 的值。",
        _pooled_values,
    ),
    Misconception(
        "transposed-overwrite",
        r"Where stamps overlap you kept only one of them: a transposed convolution **adds** all "
        r"contributions $x_{ij} K$ that land on the same output cell.",
        r"印記重疊的地方你只保留了其中一個：轉置卷積 (transposed convolution) 要把落在同一格的所有貢獻 "
        r"$x_{ij} K$ **相加**。",
        _overwrite,
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
    title = {"en": "Pooling, unpooling and upsampling", "zh-Hant": "池化、反池化與上採樣 (upsampling)"}
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

    def hint(self, params: Params, part: Part, given: Any, lang: str) -> str | None:
        return (
            tr(_HINTS[(params["kind"], part.name)], lang) if (params["kind"], part.name) in _HINTS else None
        )

    # ---- text --------------------------------------------------------------------------------

    def render(self, params: Params, lang: str = "en") -> str:
        zh = lang == "zh-Hant"
        kind = params["kind"]
        x = params["x"]
        has_size = any(p.name == "shape" for p in self.parts(params))
        if zh:
            fmt = "*作答格式*：" + ("大小寫成 `2×3`；" if has_size else "")
            fmt += "矩陣各列 (row) 分行輸入（或以 `;` 分隔），同一列的數值以空格或逗號分隔。"
        else:
            fmt = "*Answer format*: " + ("a size as `2×3`; " if has_size else "")
            fmt += (
                "a matrix one row per line (or rows separated by `;`), entries separated by spaces or commas."
            )
        if kind in ("max-pool", "avg-pool"):
            k, s = params["k"], params["s"]
            h, w = len(x), len(x[0])
            if zh:
                op = "最大池化 (max pooling)" if kind == "max-pool" else "平均池化 (average pooling)"
                text = (
                    f"對 ${h} \\times {w}$ 的輸入 $X$ 做 {op}，視窗 ${k} \\times {k}$，步長 (stride) ${s}$，不補零"
                    "（超出邊界的不完整視窗捨去）。\n\n"
                    f"$$X = {latex_matrix(x)}$$\n\n1. **輸出大小 (output size)**？\n2. **輸出 (output)** 矩陣？"
                )
                if kind == "max-pool":
                    text += (
                        "\n3. **最大值位置索引 (argmax indices)**：每個輸出值來自輸入的哪個位置？寫成與輸出同形狀的矩陣，"
                        f"每格是平面索引 $\\text{{row}} \\cdot {w} + \\text{{col}}$（從 0 開始，"
                        f"例如第 1 列第 2 行是 $1 \\cdot {w} + 2 = {w + 2}$），如 PyTorch 的 `return_indices=True`。"
                    )
                else:
                    text += "（非整數請給至少 3 位有效數字，或分數如 `9/4`。）"
            else:
                op = "max pooling" if kind == "max-pool" else "average pooling"
                text = (
                    f"Apply {op} with a ${k} \\times {k}$ window and stride ${s}$, no padding (an incomplete last "
                    f"window is dropped), to the ${h} \\times {w}$ input $X$.\n\n"
                    f"$$X = {latex_matrix(x)}$$\n\n1. **Output size**?\n2. **Output** matrix?"
                )
                if kind == "max-pool":
                    text += (
                        "\n3. **Argmax indices**: where in the input does each output value come from? Give a matrix "
                        "of the output's shape holding flat indices $\\text{row} \\cdot "
                        f"{w} + \\text{{col}}$ (0-based; e.g. row 1, column 2 is $1 \\cdot {w} + 2 = {w + 2}$), "
                        "as PyTorch's `return_indices=True`."
                    )
                else:
                    text += " (Non-integers: at least 3 significant figures, or a fraction such as `9/4`.)"
            return f"{text}\n\n{fmt}\n"
        if kind == "max-unpool":
            return self._render_unpool(params, zh) + f"\n\n{fmt}\n"
        if kind in ("nearest", "bed-of-nails"):
            sc = params["scale"]
            h, w = len(x), len(x[0])
            if zh:
                op = (
                    "最近鄰 (nearest neighbor) 上採樣：每個值複製到它的整個區塊"
                    if kind == "nearest"
                    else "bed of nails 上採樣：每個值放在它的區塊左上角，其餘補 0"
                )
                text = (
                    f"把 ${h} \\times {w}$ 的特徵圖 $X$ 以倍率 ${sc}$ 做{op}（每個值對應輸出中一個 "
                    f"${sc} \\times {sc}$ 的區塊），寫出 ${h * sc} \\times {w * sc}$ 的**輸出 (output)**。"
                )
            else:
                op = (
                    "nearest-neighbour upsampling (each value is copied into its whole block)"
                    if kind == "nearest"
                    else "bed-of-nails upsampling (each value goes to the top-left cell of its block, zeros elsewhere)"
                )
                text = (
                    f"Upsample the ${h} \\times {w}$ feature map $X$ by a factor ${sc}$ with {op}; each value owns a "
                    f"${sc} \\times {sc}$ block of the output. Give the ${h * sc} \\times {w * sc}$ **output**."
                )
            return f"{text}\n\n$$X = {latex_matrix(x)}$$\n\n{fmt}\n"
        s, kern = params["s"], params["kernel"]
        k = len(kern)
        if zh:
            text = (
                f"對 $2 \\times 2$ 的輸入 $X$ 做轉置卷積 (transposed convolution，`ConvTranspose2d`)，"
                f"${k} \\times {k}$ 的 kernel $K$，步長 (stride) ${s}$，不補零 (padding 0)，沒有 bias。\n\n"
                f"$$X = {latex_matrix(x)}, \\qquad K = {latex_matrix(kern)}$$\n\n"
                "1. **輸出大小 (output size)**？\n2. **輸出 (output)** 矩陣？"
            )
        else:
            text = (
                f"Compute the transposed convolution (`ConvTranspose2d`) of the $2 \\times 2$ input $X$ with the "
                f"${k} \\times {k}$ kernel $K$, stride ${s}$, no padding, no bias.\n\n"
                f"$$X = {latex_matrix(x)}, \\qquad K = {latex_matrix(kern)}$$\n\n"
                "1. **Output size**?\n2. **Output** matrix?"
            )
        return f"{text}\n\n{fmt}\n"

    def _render_unpool(self, params: Params, zh: bool) -> str:
        x, z = params["x"], params["z"]
        h, w = len(x), len(x[0])
        if params["given"] == "input":
            if zh:
                where = (
                    f"編碼器 (encoder) 對 ${h} \\times {w}$ 的特徵圖 $X$ 做了 $2 \\times 2$、步長 2 的最大池化 (max pooling)，"
                    "並記住每個最大值的位置 (switches)：\n\n"
                    f"$$X = {latex_matrix(x)}$$"
                )
            else:
                where = (
                    f"An encoder applied $2 \\times 2$ max pooling with stride 2 to the ${h} \\times {w}$ feature map $X$ "
                    "and remembered where each maximum was (the switches):\n\n"
                    f"$$X = {latex_matrix(x)}$$"
                )
        else:
            idx = _plain(_switches(params))
            if zh:
                where = (
                    f"編碼器 (encoder) 對一張 ${h} \\times {w}$ 的特徵圖做了 $2 \\times 2$、步長 2 的最大池化 (max pooling)，"
                    f"記住的最大值位置 (switches) 是平面索引 $\\text{{row}} \\cdot {w} + \\text{{col}}$（從 0 開始）：\n\n"
                    f"$$I = {latex_matrix(idx)}$$"
                )
            else:
                where = (
                    f"An encoder applied $2 \\times 2$ max pooling with stride 2 to an ${h} \\times {w}$ feature map and "
                    f"remembered where each maximum was, as flat indices $\\text{{row}} \\cdot {w} + \\text{{col}}$ "
                    f"(0-based):\n\n$$I = {latex_matrix(idx)}$$"
                )
        if zh:
            ask = (
                "解碼器 (decoder) 中對應的最大反池化 (max unpooling) 層，用這些位置把特徵圖 $Z$ 放大回 "
                f"${h} \\times {w}$：\n\n$$Z = {latex_matrix(z)}$$\n\n寫出反池化的**輸出 (output)**。"
            )
        else:
            ask = (
                "The matching max-unpooling layer of the decoder uses those positions to upsample the feature map $Z$ "
                f"back to ${h} \\times {w}$:\n\n$$Z = {latex_matrix(z)}$$\n\nGive the unpooled **output**."
            )
        return f"{where}\n\n{ask}"

    def explain(self, params: Params, lang: str = "en") -> str:
        zh = lang == "zh-Hant"
        kind = params["kind"]
        answer = self.solve(params)
        lines: list[str] = []
        if kind in ("max-pool", "avg-pool"):
            x, k, s = np.asarray(params["x"]), params["k"], params["s"]
            h, w = x.shape
            oh, ow = answer["shape"]
            lines.append("**1. 輸出大小**" if zh else "**1. Output size**")
            lines.append(
                f"$$H_\\text{{out}} = \\left\\lfloor \\frac{{{h} - {k}}}{{{s}}} \\right\\rfloor + 1 = {oh}, \\quad "
                f"W_\\text{{out}} = \\left\\lfloor \\frac{{{w} - {k}}}{{{s}}} \\right\\rfloor + 1 = {ow}$$"
            )
            lines.append("**2. 每個視窗**" if zh else "**2. Each window**")
            for i in range(oh):
                for j in range(ow):
                    win = x[i * s : i * s + k, j * s : j * s + k]
                    vals = ", ".join(str(v) for v in win.ravel())
                    if kind == "max-pool":
                        flat = answer["indices"][i][j]
                        r, c = divmod(flat, w)
                        lines.append(
                            f"$Y[{i},{j}] = \\max({vals}) = {answer['output'][i][j]}$"
                            + (
                                f"，位於 $({r}, {c})$，索引 ${r} \\cdot {w} + {c} = {flat}$"
                                if zh
                                else f", at $({r}, {c})$, index ${r} \\cdot {w} + {c} = {flat}$"
                            )
                        )
                    else:
                        lines.append(
                            f"$Y[{i},{j}] = ({' + '.join(str(v) for v in win.ravel())}) / {k * k} = "
                            f"{win.sum()}/{k * k} = {answer['output'][i][j]:g}$"
                        )
            lines.append(("**答案**" if zh else "**Answer**") + f": $$Y = {latex_matrix(answer['output'])}$$")
            if kind == "max-pool":
                lines.append(f"$$I = {latex_matrix(answer['indices'])}$$")
        elif kind == "max-unpool":
            w = len(params["x"][0])
            idx = _plain(_switches(params))
            lines.append(
                "最大反池化把 $Z[i, j]$ 放到最大池化時第 $(i, j)$ 個視窗最大值所在的位置，其餘補 0："
                if zh
                else "Max unpooling puts $Z[i, j]$ where the maximum of window $(i, j)$ was during max pooling, "
                "zeros elsewhere:"
            )
            for i, row in enumerate(params["z"]):
                for j, v in enumerate(row):
                    r, c = divmod(idx[i][j], w)
                    lines.append(f"$Z[{i},{j}] = {v} \\to ({r}, {c})$")
            lines.append(("**答案**" if zh else "**Answer**") + f": $${latex_matrix(answer['output'])}$$")
        elif kind in ("nearest", "bed-of-nails"):
            sc = params["scale"]
            if kind == "nearest":
                lines.append(
                    f"每個值 $X[i, j]$ 填滿輸出中列 ${sc}i \\dots {sc}i+{sc - 1}$、行 ${sc}j \\dots {sc}j+{sc - 1}$ 的區塊。"
                    if zh
                    else f"Each value $X[i, j]$ fills rows ${sc}i \\dots {sc}i+{sc - 1}$ and columns "
                    f"${sc}j \\dots {sc}j+{sc - 1}$ of the output."
                )
            else:
                lines.append(
                    f"每個值 $X[i, j]$ 放在輸出的 $({sc}i, {sc}j)$（區塊左上角），其餘都是 0。"
                    if zh
                    else f"Each value $X[i, j]$ goes to output cell $({sc}i, {sc}j)$, the top-left of its block; "
                    "everything else is 0."
                )
            lines.append(("**答案**" if zh else "**Answer**") + f": $${latex_matrix(answer['output'])}$$")
        else:
            x, kern, s = params["x"], params["kernel"], params["s"]
            k = len(kern)
            oh, ow = answer["shape"]
            lines.append("**1. 輸出大小**" if zh else "**1. Output size**")
            lines.append(f"$$(n - 1)\\,s + k = (2 - 1) \\cdot {s} + {k} = {oh}$$")
            lines.append("**2. 每個輸入像素的印記**" if zh else "**2. One stamp per input pixel**")
            lines.append(
                f"輸入 $x_{{ij}}$ 把 $x_{{ij}} K$ 加到輸出左上角為 $({s}i, {s}j)$ 的 ${k} \\times {k}$ 區塊；重疊處相加。"
                if zh
                else f"Input $x_{{ij}}$ adds $x_{{ij}} K$ to the ${k} \\times {k}$ block of the output whose top-left is "
                f"$({s}i, {s}j)$; overlapping contributions are summed."
            )
            if s == 1:
                lines[-1] = lines[-1].replace("(1i, 1j)", "(i, j)")
            for i in range(2):
                for j in range(2):
                    stamp = (np.asarray(kern) * x[i][j]).tolist()
                    lines.append(
                        f"$x_{{{i}{j}}} K = {x[i][j]} K = {latex_matrix(stamp)}$ → $({s * i}, {s * j})$"
                    )
            lines.append(("**答案**" if zh else "**Answer**") + f": $$Y = {latex_matrix(answer['output'])}$$")
        return "\n\n".join(lines) + "\n"


_HINTS = {
    ("max-pool", "shape"): {
        "en": r"Per axis: $\lfloor (n - k)/s \rfloor + 1$.",
        "zh-Hant": r"每個軸：$\lfloor (n - k)/s \rfloor + 1$。",
    },
    ("avg-pool", "shape"): {
        "en": r"Per axis: $\lfloor (n - k)/s \rfloor + 1$.",
        "zh-Hant": r"每個軸：$\lfloor (n - k)/s \rfloor + 1$。",
    },
    ("transposed-conv", "shape"): {
        "en": r"Without padding: $(n - 1)\,s + k$ per axis.",
        "zh-Hant": r"不補零時每個軸是 $(n - 1)\,s + k$。",
    },
    ("transposed-conv", "output"): {
        "en": r"Stamp $x_{ij} K$ with its top-left at $(s\,i, s\,j)$ for every input pixel and add the stamps.",
        "zh-Hant": r"每個輸入像素把 $x_{ij} K$ 蓋在左上角 $(s\,i, s\,j)$ 的位置，再把所有印記相加。",
    },
    ("max-pool", "indices"): {
        "en": r"Index $= \text{row} \cdot W + \text{col}$ of the maximum in the input, rows and columns from 0.",
        "zh-Hant": r"索引 $= \text{row} \cdot W + \text{col}$（最大值在輸入中的列、行，從 0 開始）。",
    },
}
