"""Family ``conv-cost``: output shape, parameters, multiplies and activation memory of conv layers.

Sub-kinds (chosen by the seed, or ``constraints={"kind": ...}``):

* ``plain`` — one ``Conv2d`` on a ``C_in × H × W`` input (sometimes the notes' AlexNet conv1:
  3×227×227, 64 filters 11×11, stride 4, padding 2). Parts: ``shape`` (C×H×W), ``params``,
  ``multiplies``, ``memory`` (activation memory of the output at 4 bytes per element, in the
  unit the statement names: KiB/MiB = powers of 1024, KB/MB = powers of 1000).
* ``grouped`` — a normal vs a grouped 3×3 (or 5×5) "same" convolution (as exam 109 Q8: 32×32 maps,
  64 → 64 channels, 8 branches of 8 channels). Parts: ``mult_normal``, ``mult_grouped``,
  ``params_normal``, ``params_grouped`` (no biases).
* ``bottleneck`` — a ``k × k`` "same" convolution straight from ``C_in`` to ``C_out`` vs behind a
  1×1 reduction to ``R`` channels (the Inception example). Parts: ``mult_direct``,
  ``mult_reduced``, ``params_direct``, ``params_reduced`` (biases as stated).
* ``separable`` — a standard 3×3 convolution vs a depthwise-separable block (depthwise 3×3 with
  ``groups = C_in``, then pointwise 1×1), stride 1 or 2, no biases (MobileNet). Parts:
  ``mult_standard``, ``mult_separable``, ``params_standard``, ``params_separable``.

"Multiplies" are multiply–accumulates (MACs), zero-padding taps included and bias additions
excluded; every count comes from :func:`grader.reference.conv_layer_cost` (see
``grader/CONVENTIONS.md``, "Costs"). Counts are graded exactly; memory to 3 significant figures.

Error carried forward (``plain``): ``multiplies`` and ``memory`` also get full credit when they
are right for the student's own (wrong) output shape.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from grader import answers
from grader.problems import register
from grader.problems.base import Misconception, Params, Part, ProblemFamily, Response, tr
from grader.reference import LayerCost, conv_layer_cost

KINDS = ("plain", "grouped", "bottleneck", "separable")
_UNITS = {"KiB": 1024, "KB": 1000, "MiB": 1024**2, "MB": 1000**2}
_OTHER_UNIT = {"KiB": "KB", "KB": "KiB", "MiB": "MB", "MB": "MiB"}
BYTES = 4  # float32


def _count(name: str, en: str, zh: str, points: float = 1.0) -> Part:
    return Part(name, "integer", {"en": en, "zh-Hant": zh}, points=points, tolerance=answers.EXACT)


_PLAIN_PARTS = [
    Part("shape", "shape", {"en": "Output shape", "zh-Hant": "輸出形狀 (output shape)"}, length=3),
    _count("params", "Parameters", "參數量 (parameters)"),
    _count("multiplies", "Multiplies", "乘法數 (multiplies)"),
]
_PAIR_PARTS = {
    "grouped": [
        _count("mult_normal", "Multiplies, normal conv", "一般卷積的乘法數"),
        _count("mult_grouped", "Multiplies, grouped conv", "分組 (grouped) 卷積的乘法數"),
        _count("params_normal", "Parameters, normal conv", "一般卷積的參數量"),
        _count("params_grouped", "Parameters, grouped conv", "分組 (grouped) 卷積的參數量"),
    ],
    "bottleneck": [
        _count("mult_direct", "Multiplies, direct", "直接卷積的乘法數"),
        _count("mult_reduced", "Multiplies, with 1×1 reduction", "先 1×1 降維的乘法數"),
        _count("params_direct", "Parameters, direct", "直接卷積的參數量"),
        _count("params_reduced", "Parameters, with 1×1 reduction", "先 1×1 降維的參數量"),
    ],
    "separable": [
        _count("mult_standard", "Multiplies, standard conv", "一般卷積的乘法數"),
        _count(
            "mult_separable", "Multiplies, depthwise separable", "深度可分離 (depthwise separable) 的乘法數"
        ),
        _count("params_standard", "Parameters, standard conv", "一般卷積的參數量"),
        _count(
            "params_separable", "Parameters, depthwise separable", "深度可分離 (depthwise separable) 的參數量"
        ),
    ],
}


def _memory_part(unit: str) -> Part:
    return Part(
        "memory", "number", {"en": f"Activation memory ({unit})", "zh-Hant": f"輸出的記憶體用量 ({unit})"}
    )


# --------------------------------------------------------------------------- computation


def _plain_layer(params: Params, *, c_in: int | None = None) -> LayerCost:
    p = params
    return conv_layer_cost(
        p["c_in"] if c_in is None else c_in,
        p["h"],
        p["w"],
        p["c_out"],
        p["k"],
        stride=p["stride"],
        padding=p["padding"],
        bias=p["bias"],
    )


def _layers(
    params: Params, *, c_in_one: bool = False, groups_one: bool = False
) -> dict[str, list[LayerCost]]:
    """The two alternatives of a comparison kind, as lists of layer costs.

    ``c_in_one``: every layer computed as if it had one input channel per group (a student who
    forgot the ``C_in`` factor); ``groups_one``: grouped/depthwise layers computed as normal ones.
    """
    p, kind = params, params["kind"]
    h = p["h"]
    if kind == "grouped":
        c_in, c_out, k, g = p["c_in"], p["c_out"], p["k"], p["groups"]
        if c_in_one:  # C_in (or C_in/g per group) forgotten: one input channel per filter
            normal = conv_layer_cost(1, h, h, c_out, k, padding=k // 2, bias=False)
            grouped = conv_layer_cost(g, h, h, c_out, k, padding=k // 2, groups=g, bias=False)
        else:
            normal = conv_layer_cost(c_in, h, h, c_out, k, padding=k // 2, bias=False)
            g = 1 if groups_one else g
            grouped = conv_layer_cost(c_in, h, h, c_out, k, padding=k // 2, groups=g, bias=False)
        return {"normal": [normal], "grouped": [grouped]}
    if kind == "bottleneck":
        c_in, r = (1, 1) if c_in_one else (p["c_in"], p["reduce"])
        k, bias = p["k"], p["bias"]
        direct = conv_layer_cost(c_in, h, h, p["c_out"], k, padding=k // 2, bias=bias)
        reduce = conv_layer_cost(c_in, h, h, p["reduce"], 1, bias=bias)
        conv = conv_layer_cost(r, h, h, p["c_out"], k, padding=k // 2, bias=bias)
        return {"direct": [direct], "reduced": [reduce, conv]}
    # separable
    c_in, s = p["c_in"], p["stride"]
    standard = conv_layer_cost(1 if c_in_one else c_in, h, h, p["c_out"], 3, stride=s, padding=1, bias=False)
    depthwise = conv_layer_cost(
        c_in, h, h, c_in, 3, stride=s, padding=1, groups=1 if groups_one else c_in, bias=False
    )
    h2 = depthwise.out_shape[1]
    pointwise = conv_layer_cost(1 if c_in_one else c_in, h2, h2, p["c_out"], 1, bias=False)
    return {"standard": [standard], "separable": [depthwise, pointwise]}


def _layer_specs(params: Params) -> dict[str, list[tuple[tuple[str, str], int, int]]]:
    """For the worked solution: per alternative, each layer's (label zh/en, C_in/g, k)."""
    p, kind = params, params["kind"]
    k = p["k"]
    conv = (f"{k}×{k} 卷積", f"{k}×{k} convolution")
    if kind == "grouped":
        return {
            "normal": [(conv, p["c_in"], k)],
            "grouped": [((f"{k}×{k} 分組卷積", f"{k}×{k} grouped convolution"), p["c_in"] // p["groups"], k)],
        }
    if kind == "bottleneck":
        reduce = (("1×1 降維", "1×1 reduction"), p["c_in"], 1)
        return {"direct": [(conv, p["c_in"], k)], "reduced": [reduce, (conv, p["reduce"], k)]}
    return {
        "standard": [(conv, p["c_in"], 3)],
        "separable": [
            (("depthwise 3×3", "depthwise 3×3"), 1, 3),
            (("pointwise 1×1", "pointwise 1×1"), p["c_in"], 1),
        ],
    }


def _pair_answer(
    params: Params, layers: dict[str, list[LayerCost]], *, mult: Any = None, par: Any = None
) -> Response:
    """Response of a comparison kind; ``mult``/``par`` map a layer cost to the number a student
    reports for it (default: the correct multiplies / params)."""
    mult = mult or (lambda c: c.multiplies)
    par = par or (lambda c: c.params)
    out: Response = {}
    for key, costs in layers.items():
        out[f"mult_{key}"] = sum(mult(c) for c in costs)
    for key, costs in layers.items():
        out[f"params_{key}"] = sum(par(c) for c in costs)
    return out


def _plain_answer(
    params: Params, cost: LayerCost, *, unit: str | None = None, nbytes: int | None = None
) -> Response:
    value = (cost.activation_bytes if nbytes is None else nbytes) / _UNITS[unit or params["unit"]]
    return {
        "shape": list(cost.out_shape),
        "params": cost.params,
        "multiplies": cost.multiplies,
        "memory": int(value) if float(value).is_integer() else value,
    }


def _only(response: Response, *names: str) -> Response:
    return {k: v for k, v in response.items() if any(k == n or k.startswith(n + "_") for n in names)}


def _solve(params: Params) -> Response:
    if params["kind"] == "plain":
        return _plain_answer(params, _plain_layer(params))
    return _pair_answer(params, _layers(params))


# --------------------------------------------------------------------------- misconceptions


def _forgot_c_in(params: Params) -> Response | None:
    kind = params["kind"]
    if kind == "plain":
        if params["c_in"] == 1:
            return None
        return _only(_plain_answer(params, _plain_layer(params, c_in=1)), "params", "multiplies")
    return _pair_answer(params, _layers(params, c_in_one=True))


def _bias_in_multiplies(params: Params) -> Response | None:
    if not params.get("bias"):
        return None
    extra = lambda c: c.multiplies + c.biases * c.out_shape[1] * c.out_shape[2]  # noqa: E731
    if params["kind"] == "plain":
        return {"multiplies": extra(_plain_layer(params))}
    return _only(_pair_answer(params, _layers(params), mult=extra), "mult")


def _flops(params: Params) -> Response | None:
    answer = _solve(params)
    return {k: 2 * v for k, v in answer.items() if k == "multiplies" or k.startswith("mult_")}


def _input_spatial(params: Params) -> Response | None:
    kind = params["kind"]
    if kind == "plain":
        cost = _plain_layer(params)
        _, oh, ow = cost.out_shape
        if (oh, ow) == (params["h"], params["w"]):
            return None
        return {"multiplies": cost.multiplies // (oh * ow) * params["h"] * params["w"]}
    if kind != "separable" or params["stride"] == 1:
        return None
    hw = params["h"] ** 2
    per_pixel = lambda c: c.multiplies // (c.out_shape[1] * c.out_shape[2]) * hw  # noqa: E731
    return _only(_pair_answer(params, _layers(params), mult=per_pixel), "mult")


def _ignored_groups(params: Params) -> Response | None:
    if params["kind"] not in ("grouped", "separable"):
        return None
    return _pair_answer(params, _layers(params, groups_one=True))


def _one_branch(params: Params) -> Response | None:
    if params["kind"] != "grouped":
        return None
    g = params["groups"]
    answer = _solve(params)
    return {"mult_grouped": answer["mult_grouped"] // g, "params_grouped": answer["params_grouped"] // g}


def _forgot_extra_layer(params: Params) -> Response | None:
    kind = params["kind"]
    if kind not in ("bottleneck", "separable"):
        return None
    layers = _layers(params)
    key = "reduced" if kind == "bottleneck" else "separable"
    # Bottleneck: only the k×k conv after the 1×1; separable: only the depthwise conv.
    kept = layers[key][1] if kind == "bottleneck" else layers[key][0]
    return {f"mult_{key}": kept.multiplies, f"params_{key}": kept.params}


def _forgot_bias(params: Params) -> Response | None:
    if not params.get("bias"):
        return None
    weights = lambda c: c.weights  # noqa: E731
    if params["kind"] == "plain":
        return {"params": _plain_layer(params).weights}
    return _only(_pair_answer(params, _layers(params), par=weights), "params")


def _unit_swap(params: Params) -> Response | None:
    if params["kind"] != "plain":
        return None
    return {"memory": _plain_answer(params, _plain_layer(params), unit=_OTHER_UNIT[params["unit"]])["memory"]}


def _forgot_bytes(params: Params) -> Response | None:
    if params["kind"] != "plain":
        return None
    cost = _plain_layer(params)
    return {"memory": _plain_answer(params, cost, nbytes=cost.activation_elements)["memory"]}


_MISCONCEPTIONS = (
    Misconception(
        "forgot-c-in",
        r"You left out the input channels: each filter spans all $C_\text{in}$ input channels (or "
        r"$C_\text{in}/g$ of them in a grouped convolution), so one output value takes "
        r"$(C_\text{in}/g) \cdot k_H k_W$ multiplies and each filter has that many weights.",
        r"你漏掉了輸入通道數：每個 filter 涵蓋全部 $C_\text{in}$ 個輸入通道（分組卷積則是 $C_\text{in}/g$ 個），"
        r"所以每個輸出值要 $(C_\text{in}/g) \cdot k_H k_W$ 次乘法，每個 filter 也有這麼多個權重。",
        _forgot_c_in,
    ),
    Misconception(
        "bias-in-multiplies",
        r"You counted the bias in the multiplies: the bias is *added* once per output value, it is not a "
        r"multiplication; multiplies $= C_\text{out} H_\text{out} W_\text{out} \cdot (C_\text{in}/g)\, k_H k_W$.",
        r"你把偏差 (bias) 也算進乘法數：bias 對每個輸出值只是*加*一次，不是乘法；"
        r"乘法數 $= C_\text{out} H_\text{out} W_\text{out} \cdot (C_\text{in}/g)\, k_H k_W$。",
        _bias_in_multiplies,
    ),
    Misconception(
        "flops-not-multiplies",
        r"You reported FLOPs (multiply **and** add, $2\times$ the multiply–accumulates); the question asks "
        r"for the number of multiplies (MACs), $C_\text{out} H_\text{out} W_\text{out} \cdot (C_\text{in}/g)\, k_H k_W$.",
        r"你算的是 FLOPs（乘法**加上**加法，是乘加次數的 $2$ 倍）；本題問的是乘法數 (multiplies, MACs)："
        r"$C_\text{out} H_\text{out} W_\text{out} \cdot (C_\text{in}/g)\, k_H k_W$。",
        _flops,
    ),
    Misconception(
        "input-spatial-size",
        r"You multiplied by the input's spatial size: the kernel is applied once per **output** position, "
        r"so use $H_\text{out} \times W_\text{out}$ (smaller than the input when the stride is above 1 or "
        r"there is too little padding).",
        r"你乘上的是輸入的空間大小：kernel 是在每個**輸出**位置各算一次，所以要用 $H_\text{out} \times W_\text{out}$"
        r"（步長 (stride) 大於 1 或補零不足時會比輸入小）。",
        _input_spatial,
    ),
    Misconception(
        "ignored-groups",
        r"You ignored the groups: in a convolution with $g$ groups each filter sees only the $C_\text{in}/g$ "
        r"channels of its own group (a depthwise convolution has $g = C_\text{in}$: one channel per filter), "
        r"so weights and multiplies are divided by $g$.",
        r"你忽略了分組 (groups)：分成 $g$ 組時，每個 filter 只看自己那一組的 $C_\text{in}/g$ 個通道"
        r"（depthwise 卷積 $g = C_\text{in}$，每個 filter 只看一個通道），所以權重與乘法數都要除以 $g$。",
        _ignored_groups,
    ),
    Misconception(
        "grouped-one-branch",
        r"You counted only one branch: a grouped convolution runs all $g$ branches, each mapping "
        r"$C_\text{in}/g$ to $C_\text{out}/g$ channels, so the total is $g$ times one branch.",
        r"你只算了一個分支 (branch)：分組卷積有 $g$ 個分支同時運算，每個分支把 $C_\text{in}/g$ 個通道"
        r"映射到 $C_\text{out}/g$ 個，所以總數是單一分支的 $g$ 倍。",
        _one_branch,
    ),
    Misconception(
        "forgot-extra-layer",
        r"You left out one of the two layers: with a 1×1 reduction the cost is that of the 1×1 layer "
        r"**plus** the $k \times k$ layer on the reduced channels; a depthwise-separable block is the "
        r"depthwise layer **plus** the 1×1 pointwise layer.",
        r"你漏掉了兩層中的一層：先用 1×1 降維時，成本是 1×1 層**加上**在降維後通道上做的 $k \times k$ 層；"
        r"深度可分離 (depthwise separable) 是 depthwise 層**加上** 1×1 的 pointwise 層。",
        _forgot_extra_layer,
    ),
    Misconception(
        "forgot-bias",
        r"You left out the biases: each filter has one bias, so the layer has $C_\text{out}$ bias "
        r"parameters on top of its weights.",
        r"你漏掉了偏差 (bias)：每個 filter 有一個 bias，所以除了權重之外還有 $C_\text{out}$ 個 bias 參數。",
        _forgot_bias,
    ),
    Misconception(
        "kb-vs-kib",
        r"You used the wrong unit: KiB and MiB are powers of 1024 (1 KiB = 1024 bytes), KB and MB powers "
        r"of 1000 (1 KB = 1000 bytes); divide the bytes by the unit the question names.",
        r"單位用錯了：KiB、MiB 是 1024 的次方（1 KiB = 1024 bytes），KB、MB 是 1000 的次方（1 KB = 1000 bytes）；"
        r"請用題目指定的單位去除位元組數。",
        _unit_swap,
    ),
    Misconception(
        "memory-forgot-bytes",
        r"You counted elements, not bytes: each float32 value takes 4 bytes, so the memory is "
        r"$C_\text{out} H_\text{out} W_\text{out} \times 4$ bytes before converting the unit.",
        r"你算的是元素個數，不是位元組：每個 float32 值佔 4 bytes，所以記憶體是 "
        r"$C_\text{out} H_\text{out} W_\text{out} \times 4$ bytes，再換算單位。",
        _forgot_bytes,
    ),
)


# --------------------------------------------------------------------------- the family


def _n(x: int) -> str:
    """A count with thousands separators, for LaTeX."""
    return f"{x:,}".replace(",", "{,}")


@register
class ConvCost(ProblemFamily):
    """Shapes, parameters, multiplies and memory of convolution layers."""

    name = "conv-cost"
    title = {"en": "Cost of a convolution layer", "zh-Hant": "卷積層的參數量與計算量"}
    topic = "convolution"
    misconceptions = _MISCONCEPTIONS
    constraint_keys = {
        "kind": "'plain', 'grouped', 'bottleneck' or 'separable'",
        "alexnet": "true: the notes' AlexNet conv1 (kind 'plain')",
        "unit": "'KiB', 'KB', 'MiB' or 'MB' (kind 'plain')",
    }

    # ---- variants ----------------------------------------------------------------------------

    def sample(self, rng: np.random.Generator, constraints: Mapping[str, Any]) -> Params:
        c = constraints
        kind = c.get("kind") or (
            "plain" if c.get("alexnet") else KINDS[int(rng.choice(4, p=[0.4, 0.2, 0.2, 0.2]))]
        )
        if kind not in KINDS:
            raise ValueError(f"{self.name}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if kind == "plain":
            return self._plain(rng, c)
        if kind == "grouped":
            g = int(rng.choice([2, 4, 8, 16, 32]))
            c_in = int(rng.choice([x for x in (32, 64, 128, 256) if x >= 4 * g]))
            c_out = (
                c_in if rng.random() < 0.6 else int(rng.choice([x for x in (32, 64, 128, 256) if x >= 4 * g]))
            )
            h = int(rng.choice([7, 14, 16, 28, 32, 56]))
            k = int(rng.choice([3, 5], p=[0.8, 0.2]))
            return {"kind": kind, "c_in": c_in, "c_out": c_out, "h": h, "k": k, "groups": g}
        if kind == "bottleneck":
            c_in = int(rng.choice([128, 192, 256, 480, 512]))
            reduce = int(rng.choice([x for x in (16, 24, 32, 48, 64) if x < c_in // 2]))
            c_out = int(rng.choice([32, 48, 64, 96, 128]))
            h = int(rng.choice([7, 14, 28, 56]))
            k = int(rng.choice([3, 5], p=[0.4, 0.6]))
            return {
                "kind": kind,
                "c_in": c_in,
                "c_out": c_out,
                "h": h,
                "k": k,
                "reduce": reduce,
                "bias": bool(rng.random() < 0.5),
            }
        c_in = int(rng.choice([16, 32, 64, 128, 256]))
        c_out = int(rng.choice([x for x in (32, 64, 128, 256, 512) if x >= c_in]))
        h = int(rng.choice([14, 28, 56, 112]))
        return {"kind": kind, "c_in": c_in, "c_out": c_out, "h": h, "stride": int(rng.choice([1, 2])), "k": 3}

    def _plain(self, rng: np.random.Generator, c: Mapping[str, Any]) -> Params:
        alexnet = bool(c["alexnet"]) if "alexnet" in c else bool(rng.random() < 0.15)
        if alexnet:
            p: Params = {
                "c_in": 3,
                "h": 227,
                "w": 227,
                "c_out": 64,
                "k": 11,
                "stride": 4,
                "padding": 2,
                "bias": True,
            }
        else:
            while True:
                k = int(rng.choice([1, 3, 5, 7, 11], p=[0.15, 0.45, 0.2, 0.1, 0.1]))
                s = int(rng.choice([1, 2, 4], p=[0.5, 0.4, 0.1]))
                h = int(rng.choice([28, 32, 56, 64, 112, 224, 227]))
                w = h if rng.random() < 0.8 else int(rng.choice([28, 32, 56, 64, 112, 224]))
                p = {
                    "c_in": int(rng.choice([1, 3, 16, 32, 64, 128])),
                    "h": h,
                    "w": w,
                    "c_out": int(rng.choice([8, 16, 32, 64, 96, 128, 256])),
                    "k": k,
                    "stride": s,
                    "padding": int(rng.choice([0, k // 2])),
                    "bias": bool(rng.random() < 0.8),
                }
                if s < k or k == 1:
                    break
        nbytes = _plain_layer(p).activation_bytes
        if "unit" in c:
            unit = str(c["unit"])
            if unit not in _UNITS:
                raise ValueError(f"{self.name}: unit must be one of {', '.join(_UNITS)}, got {unit!r}")
        else:
            big = nbytes >= 4 * 1024**2
            unit = str(rng.choice(["MiB", "MB"] if big else ["KiB", "KB"], p=[0.6, 0.4]))
        return {"kind": "plain", **p, "unit": unit, "alexnet": alexnet}

    def parts(self, params: Params) -> list[Part]:
        if params["kind"] == "plain":
            return [*_PLAIN_PARTS, _memory_part(params["unit"])]
        return _PAIR_PARTS[params["kind"]]

    def solve(self, params: Params) -> Response:
        return _solve(params)

    # ---- grading -----------------------------------------------------------------------------

    def carried_forward(self, params: Params, part: Part, response: Response) -> Any | None:
        """``plain``: multiplies and memory that are right for the student's own output shape."""
        shape = response.get("shape")
        if params["kind"] != "plain" or part.name not in ("multiplies", "memory") or not shape:
            return None
        if len(shape) != 3 or min(shape) <= 0:
            return None
        elements = math.prod(shape)
        if part.name == "memory":
            return elements * BYTES / _UNITS[params["unit"]]
        return elements * params["c_in"] * params["k"] ** 2

    def hint(self, params: Params, part: Part, given: Any, lang: str) -> str | None:
        key = (
            "shape"
            if part.name == "shape"
            else ("memory" if part.name == "memory" else part.name.split("_")[0])
        )
        return tr(_HINTS[key], lang)

    # ---- text --------------------------------------------------------------------------------

    def render(self, params: Params, lang: str = "en") -> str:
        zh = lang == "zh-Hant"
        kind = params["kind"]
        text = getattr(self, f"_render_{kind}")(params, zh)
        rules = (
            "*約定*：乘法數 (multiplies) 指乘加次數 (multiply–accumulates, MACs)：落在補零上的乘法也要算，"
            "加上 bias 不算乘法。只算一張輸入 (batch size 1)。數量請給精確整數，例如 `72,855,552`。"
            if zh
            else "*Conventions*: multiplies are multiply–accumulates (MACs): products with padding zeros count, "
            "adding the bias does not. One input example (batch size 1). Give exact counts, e.g. `72,855,552`."
        )
        return f"{text}\n\n{rules}\n"

    def _render_plain(self, p: Params, zh: bool) -> str:
        c_in, h, w, c_out, k, s, pad = (
            p["c_in"],
            p["h"],
            p["w"],
            p["c_out"],
            p["k"],
            p["stride"],
            p["padding"],
        )
        unit, base = p["unit"], _UNITS[p["unit"]]
        base_text = f"1 {unit} = {base:,} bytes"
        if zh:
            intro = "（課堂筆記中 AlexNet 的第一層 conv1）" if p["alexnet"] else ""
            bias = "有偏差 (bias)" if p["bias"] else "沒有偏差 (bias)"
            return (
                f"一個卷積層{intro}的輸入是 ${c_in} \\times {h} \\times {w}$（通道 × 高 × 寬），"
                f"使用 ${c_out}$ 個 ${k} \\times {k}$ 的 filter，步長 (stride) ${s}$，四周各補零 (padding) ${pad}$，{bias}。\n\n"
                "1. **輸出形狀 (output shape)** $C \\times H \\times W$？\n"
                "2. **參數量 (parameters)**（權重加上 bias）？\n"
                "3. **乘法數 (multiplies)**？\n"
                f"4. 以 float32（每個元素 4 bytes）儲存輸出需要多少記憶體，單位 **{unit}**（{base_text}）？"
            )
        intro = " (the notes' AlexNet conv1)" if p["alexnet"] else ""
        bias = "with biases" if p["bias"] else "without biases"
        return (
            f"A convolution layer{intro} takes a ${c_in} \\times {h} \\times {w}$ input (channels × height × width) "
            f"and applies ${c_out}$ filters of size ${k} \\times {k}$ with stride ${s}$ and zero padding ${pad}$ "
            f"on each side, {bias}.\n\n"
            "1. **Output shape** $C \\times H \\times W$?\n"
            "2. **Parameters** (weights plus biases)?\n"
            "3. **Multiplies**?\n"
            f"4. **Activation memory** of the output stored as float32 (4 bytes per element), in **{unit}** "
            f"({base_text})?"
        )

    def _render_grouped(self, p: Params, zh: bool) -> str:
        c_in, c_out, h, k, g = p["c_in"], p["c_out"], p["h"], p["k"], p["groups"]
        if zh:
            return (
                f"兩個模組都把 ${c_in}$ 張 ${h} \\times {h}$ 的特徵圖 (feature maps) 變成 ${c_out}$ 張同樣大小的特徵圖"
                f"（${k} \\times {k}$ 卷積，步長 1，補零使大小不變，沒有 bias）：\n\n"
                f"- **一般卷積**：一個 ${c_in} \\to {c_out}$ 的 ${k} \\times {k}$ 卷積。\n"
                f"- **分組卷積 (grouped convolution)**：輸入通道分成 ${g}$ 個分支 (branch)，每個分支把 ${c_in // g}$ 個通道"
                f"以 ${k} \\times {k}$ 卷積變成 ${c_out // g}$ 個，再把 ${g}$ 個分支的輸出串接 (concatenate)（即 `groups={g}`）。\n\n"
                "分別求兩個模組的**乘法數 (multiplies)** 與**參數量 (parameters)**。"
            )
        return (
            f"Two modules both turn ${c_in}$ feature maps of size ${h} \\times {h}$ into ${c_out}$ maps of the same size "
            f"(${k} \\times {k}$ convolutions, stride 1, padding that keeps the size, no biases):\n\n"
            f"- **Normal convolution**: one ${k} \\times {k}$ convolution from ${c_in}$ to ${c_out}$ channels.\n"
            f"- **Grouped convolution**: the input channels are split into ${g}$ branches; each branch maps its "
            f"${c_in // g}$ channels to ${c_out // g}$ with a ${k} \\times {k}$ convolution, and the ${g}$ outputs are "
            f"concatenated (`groups={g}`).\n\n"
            "Give the **multiplies** and the **parameters** of each module."
        )

    def _render_bottleneck(self, p: Params, zh: bool) -> str:
        c_in, c_out, h, k, r = p["c_in"], p["c_out"], p["h"], p["k"], p["reduce"]
        if zh:
            bias = "每個卷積都有偏差 (bias)" if p["bias"] else "沒有偏差 (bias)"
            return (
                f"輸入是 ${c_in} \\times {h} \\times {h}$，要得到 ${c_out} \\times {h} \\times {h}$ 的輸出"
                f"（步長 1，補零使大小不變，{bias}）：\n\n"
                f"- **直接**：一個 ${c_in} \\to {c_out}$ 的 ${k} \\times {k}$ 卷積。\n"
                f"- **先 1×1 降維**：先用 1×1 卷積把通道降到 ${r}$，再做 ${r} \\to {c_out}$ 的 ${k} \\times {k}$ 卷積。\n\n"
                "分別求兩種做法的總**乘法數 (multiplies)** 與總**參數量 (parameters)**。"
            )
        bias = "every convolution has biases" if p["bias"] else "no biases"
        return (
            f"From a ${c_in} \\times {h} \\times {h}$ input we want a ${c_out} \\times {h} \\times {h}$ output "
            f"(stride 1, padding that keeps the size, {bias}):\n\n"
            f"- **Direct**: one ${k} \\times {k}$ convolution from ${c_in}$ to ${c_out}$ channels.\n"
            f"- **With a 1×1 reduction**: a 1×1 convolution down to ${r}$ channels, then a ${k} \\times {k}$ "
            f"convolution from ${r}$ to ${c_out}$ channels.\n\n"
            "Give the total **multiplies** and total **parameters** of each option."
        )

    def _render_separable(self, p: Params, zh: bool) -> str:
        c_in, c_out, h, s = p["c_in"], p["c_out"], p["h"], p["stride"]
        if zh:
            return (
                f"輸入是 ${c_in} \\times {h} \\times {h}$，輸出 ${c_out}$ 個通道，步長 (stride) ${s}$，沒有偏差 (bias)：\n\n"
                f"- **一般卷積**：${c_in} \\to {c_out}$ 的 3×3 卷積，步長 ${s}$，補零 1。\n"
                f"- **深度可分離卷積 (depthwise separable)**：先做 depthwise 3×3 卷積（每個通道各自一個 3×3 filter，"
                f"`groups={c_in}`，步長 ${s}$，補零 1），再做 ${c_in} \\to {c_out}$ 的 1×1 pointwise 卷積。\n\n"
                "分別求兩者的**乘法數 (multiplies)** 與**參數量 (parameters)**。"
            )
        return (
            f"The input is ${c_in} \\times {h} \\times {h}$ and we want ${c_out}$ output channels with stride ${s}$, "
            "no biases:\n\n"
            f"- **Standard convolution**: a 3×3 convolution from ${c_in}$ to ${c_out}$ channels, stride ${s}$, padding 1.\n"
            f"- **Depthwise separable**: a depthwise 3×3 convolution (one 3×3 filter per channel, `groups={c_in}`, "
            f"stride ${s}$, padding 1), then a 1×1 pointwise convolution from ${c_in}$ to ${c_out}$ channels.\n\n"
            "Give the **multiplies** and the **parameters** of each."
        )

    def explain(self, params: Params, lang: str = "en") -> str:
        zh = lang == "zh-Hant"
        if params["kind"] == "plain":
            return self._explain_plain(params, zh)
        layers = _layers(params)
        answer = self.solve(params)
        lines = []
        names = {
            "normal": ("一般卷積", "Normal convolution"),
            "grouped": ("分組卷積", "Grouped convolution"),
            "direct": ("直接", "Direct"),
            "reduced": ("先 1×1 降維", "With the 1×1 reduction"),
            "standard": ("一般卷積", "Standard convolution"),
            "separable": ("深度可分離", "Depthwise separable"),
        }
        lines.append(
            "每一層：乘法數 $= C_\\text{out} H_\\text{out} W_\\text{out} \\cdot (C_\\text{in}/g)\\, k^2$，"
            "權重 $= C_\\text{out} (C_\\text{in}/g)\\, k^2$（再加 $C_\\text{out}$ 個 bias，若有）。"
            if zh
            else "Per layer: multiplies $= C_\\text{out} H_\\text{out} W_\\text{out} \\cdot (C_\\text{in}/g)\\, k^2$, "
            "weights $= C_\\text{out} (C_\\text{in}/g)\\, k^2$ (plus $C_\\text{out}$ biases, if any)."
        )
        specs = _layer_specs(params)
        for key, costs in layers.items():
            lines.append(f"**{names[key][0 if zh else 1]}**")
            for c, (label, c_in_g, k) in zip(costs, specs[key], strict=True):
                lines.append(f"{label[0 if zh else 1]}: " + self._layer_line(c, c_in_g, k, zh))
            if len(costs) > 1:
                total = (
                    ("合計" if zh else "Total")
                    + f": ${_n(answer['mult_' + key])}$ "
                    + ("次乘法，" if zh else "multiplies, ")
                    + f"${_n(answer['params_' + key])}$ "
                    + ("個參數。" if zh else "parameters.")
                )
                lines.append(total)
        mults = [answer[k] for k in answer if k.startswith("mult_")]
        ratio = mults[1] / mults[0]
        lines.append(
            f"第二種做法的乘法數約為第一種的 ${ratio:.3g}$ 倍。"
            if zh
            else f"The second option needs about ${ratio:.3g}\\times$ the multiplies of the first."
        )
        return "\n\n".join(lines) + "\n"

    def _layer_line(self, c: LayerCost, c_in_g: int, k: int, zh: bool) -> str:
        c_out, oh, ow = c.out_shape
        bias = f" + {c.biases}" if c.biases else ""
        return (
            f"$({c_out} \\cdot {oh} \\cdot {ow}) \\cdot ({c_in_g} \\cdot {k}^2) = {_n(c.multiplies)}$"
            + (" 次乘法；參數 " if zh else " multiplies; parameters ")
            + f"${c_out} \\cdot {c_in_g} \\cdot {k}^2{bias} = {_n(c.params)}$"
        )

    def _explain_plain(self, p: Params, zh: bool) -> str:
        cost = _plain_layer(p)
        c_out, oh, ow = cost.out_shape
        c_in, k, s, pad = p["c_in"], p["k"], p["stride"], p["padding"]
        unit, base = p["unit"], _UNITS[p["unit"]]
        answer = self.solve(p)
        lines = ["**1. 輸出形狀 (output shape)**" if zh else "**1. Output shape**"]
        for axis, n, out in (("H", p["h"], oh), ("W", p["w"], ow)):
            lines.append(
                f"$${axis}_\\text{{out}} = \\left\\lfloor \\frac{{{n} + 2 \\cdot {pad} - {k}}}{{{s}}} \\right\\rfloor + 1 = {out}$$"
            )
        lines.append(
            (f"通道數等於 filter 數 ${c_out}$，所以輸出是 ${c_out} \\times {oh} \\times {ow}$。")
            if zh
            else f"The number of channels is the number of filters, ${c_out}$: the output is ${c_out} \\times {oh} \\times {ow}$."
        )
        lines.append("**2. 參數量 (parameters)**" if zh else "**2. Parameters**")
        bias = f" + {c_out}" if p["bias"] else ""
        bias_sym = " + C_\\text{out}" if p["bias"] else ""
        lines.append(
            f"$C_\\text{{out}} \\cdot C_\\text{{in}} \\cdot k \\cdot k{bias_sym}"
            f" = {c_out} \\cdot {c_in} \\cdot {k} \\cdot {k}{bias} = {_n(cost.params)}$"
        )
        lines.append("**3. 乘法數 (multiplies)**" if zh else "**3. Multiplies**")
        lines.append(
            f"$(C_\\text{{out}} H_\\text{{out}} W_\\text{{out}}) \\cdot (C_\\text{{in}} k^2) = ({c_out} \\cdot {oh} \\cdot {ow}) "
            f"\\cdot ({c_in} \\cdot {k}^2) = {_n(cost.activation_elements)} \\cdot {c_in * k * k} = {_n(cost.multiplies)}$"
        )
        lines.append(
            f"（FLOPs 乘法加加法則是 $2 \\times$ 這個數，${_n(cost.flops)}$。）"
            if zh
            else f"(FLOPs, counting the additions too, would be twice that: ${_n(cost.flops)}$.)"
        )
        lines.append("**4. 記憶體 (activation memory)**" if zh else "**4. Activation memory**")
        value = answer["memory"]
        shown = f"{value:,}" if isinstance(value, int) else f"{value:.6g}"
        lines.append(
            f"${_n(cost.activation_elements)} \\times 4 = {_n(cost.activation_bytes)}$ bytes; "
            f"$ {_n(cost.activation_bytes)} / {_n(base)} = {shown.replace(',', '{,}')}$ {unit}"
        )
        return "\n\n".join(lines) + "\n"


_HINTS = {
    "shape": {
        "en": r"Per axis $\lfloor (n + 2p - k)/s \rfloor + 1$; the channels are the number of filters.",
        "zh-Hant": r"每個軸 $\lfloor (n + 2p - k)/s \rfloor + 1$；通道數等於 filter 的個數。",
    },
    "params": {
        "en": r"Weights $C_\text{out} (C_\text{in}/g)\, k^2$, plus $C_\text{out}$ biases if the layer has them; add up all layers.",
        "zh-Hant": r"權重 $C_\text{out} (C_\text{in}/g)\, k^2$，有 bias 再加 $C_\text{out}$；把各層加總。",
    },
    "multiplies": {
        "en": r"Multiplies $= C_\text{out} H_\text{out} W_\text{out} \cdot (C_\text{in}/g)\, k^2$ per layer.",
        "zh-Hant": r"每一層的乘法數 $= C_\text{out} H_\text{out} W_\text{out} \cdot (C_\text{in}/g)\, k^2$。",
    },
    "mult": {
        "en": r"Multiplies $= C_\text{out} H_\text{out} W_\text{out} \cdot (C_\text{in}/g)\, k^2$ per layer; add up all layers.",
        "zh-Hant": r"每一層的乘法數 $= C_\text{out} H_\text{out} W_\text{out} \cdot (C_\text{in}/g)\, k^2$；把各層加總。",
    },
    "memory": {
        "en": r"Elements $C_\text{out} H_\text{out} W_\text{out}$, times 4 bytes, divided by the unit.",
        "zh-Hant": r"元素個數 $C_\text{out} H_\text{out} W_\text{out}$，乘 4 bytes，再除以單位。",
    },
}
