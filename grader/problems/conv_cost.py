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
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from grader import answers
from grader.i18n import N_, Text, Wording, gettext_for
from grader.problems import register
from grader.problems.base import Misconception, Params, Part, ProblemFamily, Response
from grader.reference import LayerCost, conv_layer_cost

KINDS = ("plain", "grouped", "bottleneck", "separable")
_UNITS = {"KiB": 1024, "KB": 1000, "MiB": 1024**2, "MB": 1000**2}
_OTHER_UNIT = {"KiB": "KB", "KB": "KiB", "MiB": "MB", "MB": "MiB"}
BYTES = 4  # float32


def _count(name: str, label: str, points: float = 1.0) -> Part:
    return Part(name, "integer", label, points=points, tolerance=answers.EXACT)


_PLAIN_PARTS = [
    Part("shape", "shape", N_("Output shape"), length=3),
    _count("params", N_("Parameters")),
    _count("multiplies", N_("Multiplies")),
]
_PAIR_PARTS = {
    "grouped": [
        _count("mult_normal", N_("Multiplies, normal conv")),
        _count("mult_grouped", N_("Multiplies, grouped conv")),
        _count("params_normal", N_("Parameters, normal conv")),
        _count("params_grouped", N_("Parameters, grouped conv")),
    ],
    "bottleneck": [
        _count("mult_direct", N_("Multiplies, direct")),
        _count("mult_reduced", N_("Multiplies, with 1×1 reduction")),
        _count("params_direct", N_("Parameters, direct")),
        _count("params_reduced", N_("Parameters, with 1×1 reduction")),
    ],
    "separable": [
        _count("mult_standard", N_("Multiplies, standard conv")),
        _count("mult_separable", N_("Multiplies, depthwise separable")),
        _count("params_standard", N_("Parameters, standard conv")),
        _count("params_separable", N_("Parameters, depthwise separable")),
    ],
}
#: The memory box's label, by the unit the statement names.
_MEMORY_LABELS = {
    "KiB": N_("Activation memory (KiB)"),
    "KB": N_("Activation memory (KB)"),
    "MiB": N_("Activation memory (MiB)"),
    "MB": N_("Activation memory (MB)"),
}


def _memory_part(unit: str) -> Part:
    return Part("memory", "number", _MEMORY_LABELS[unit])


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


def _layer_specs(params: Params, lang: str) -> dict[str, list[tuple[str, int, int]]]:
    """For the worked solution: per alternative, each layer's (label in ``lang``, C_in/g, k)."""
    _ = gettext_for(lang)
    p, kind = params, params["kind"]
    k = p["k"]
    conv = _("%(k)d×%(k)d convolution") % {"k": k}
    if kind == "grouped":
        return {
            "normal": [(conv, p["c_in"], k)],
            "grouped": [(_("%(k)d×%(k)d grouped convolution") % {"k": k}, p["c_in"] // p["groups"], k)],
        }
    if kind == "bottleneck":
        reduce = (_("1×1 reduction"), p["c_in"], 1)
        return {"direct": [(conv, p["c_in"], k)], "reduced": [reduce, (conv, p["reduce"], k)]}
    # The layer names are PyTorch's words in every language.
    return {
        "standard": [(conv, p["c_in"], 3)],
        "separable": [("depthwise 3×3", 1, 3), ("pointwise 1×1", p["c_in"], 1)],
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
        N_(
            r"You left out the input channels: each filter spans all $C_\text{in}$ input channels (or "
            r"$C_\text{in}/g$ of them in a grouped convolution), so one output value takes "
            r"$(C_\text{in}/g) \cdot k_H k_W$ multiplies and each filter has that many weights."
        ),
        _forgot_c_in,
    ),
    Misconception(
        "bias-in-multiplies",
        N_(
            r"You counted the bias in the multiplies: the bias is *added* once per output value, it is not a "
            r"multiplication; multiplies $= C_\text{out} H_\text{out} W_\text{out} \cdot (C_\text{in}/g)\, k_H k_W$."
        ),
        _bias_in_multiplies,
    ),
    Misconception(
        "flops-not-multiplies",
        N_(
            r"You reported FLOPs (multiply **and** add, $2\times$ the multiply–accumulates); the question asks "
            r"for the number of multiplies (MACs), $C_\text{out} H_\text{out} W_\text{out} \cdot (C_\text{in}/g)\, k_H k_W$."
        ),
        _flops,
    ),
    Misconception(
        "input-spatial-size",
        N_(
            r"You multiplied by the input's spatial size: the kernel is applied once per **output** position, "
            r"so use $H_\text{out} \times W_\text{out}$ (smaller than the input when the stride is above 1 or "
            r"there is too little padding)."
        ),
        _input_spatial,
    ),
    Misconception(
        "ignored-groups",
        N_(
            r"You ignored the groups: in a convolution with $g$ groups each filter sees only the $C_\text{in}/g$ "
            r"channels of its own group (a depthwise convolution has $g = C_\text{in}$: one channel per filter), "
            r"so weights and multiplies are divided by $g$."
        ),
        _ignored_groups,
    ),
    Misconception(
        "grouped-one-branch",
        N_(
            r"You counted only one branch: a grouped convolution runs all $g$ branches, each mapping "
            r"$C_\text{in}/g$ to $C_\text{out}/g$ channels, so the total is $g$ times one branch."
        ),
        _one_branch,
    ),
    Misconception(
        "forgot-extra-layer",
        N_(
            r"You left out one of the two layers: with a 1×1 reduction the cost is that of the 1×1 layer "
            r"**plus** the $k \times k$ layer on the reduced channels; a depthwise-separable block is the "
            r"depthwise layer **plus** the 1×1 pointwise layer."
        ),
        _forgot_extra_layer,
    ),
    Misconception(
        "forgot-bias",
        N_(
            r"You left out the biases: each filter has one bias, so the layer has $C_\text{out}$ bias "
            r"parameters on top of its weights."
        ),
        _forgot_bias,
    ),
    Misconception(
        "kb-vs-kib",
        N_(
            r"You used the wrong unit: KiB and MiB are powers of 1024 (1 KiB = 1024 bytes), KB and MB powers "
            r"of 1000 (1 KB = 1000 bytes); divide the bytes by the unit the question names."
        ),
        _unit_swap,
    ),
    Misconception(
        "memory-forgot-bytes",
        N_(
            r"You counted elements, not bytes: each float32 value takes 4 bytes, so the memory is "
            r"$C_\text{out} H_\text{out} W_\text{out} \times 4$ bytes before converting the unit."
        ),
        _forgot_bytes,
    ),
)


# --------------------------------------------------------------------------- the family


def _grouped(x: int) -> str:
    """A count with thousands separators, for LaTeX."""
    return f"{x:,}".replace(",", "{,}")


@register
class ConvCost(ProblemFamily):
    """Shapes, parameters, multiplies and memory of convolution layers."""

    name = "conv-cost"
    title = N_("Cost of a convolution layer")
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
            if alexnet:
                # The notes work this example out as 784 "KB", dividing by 1024: it is asked in KiB so
                # that the notes' number is the right answer (the draw above keeps the seed's stream).
                unit = "KiB"
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

    def hint(self, params: Params, part: Part, given: Any) -> Wording | None:
        key = (
            "shape"
            if part.name == "shape"
            else ("memory" if part.name == "memory" else part.name.split("_")[0])
        )
        return Text(_HINTS[key])

    # ---- text --------------------------------------------------------------------------------

    def render(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        kind = params["kind"]
        text = getattr(self, f"_render_{kind}")(params, _)
        rules = _(
            "*Conventions*: multiplies are multiply–accumulates (MACs): products with padding zeros count, "
            "adding the bias does not. One input example (batch size 1). Give exact counts, e.g. `72,855,552`."
        )
        return f"{text}\n\n{rules}\n"

    def _render_plain(self, p: Params, _: Callable[[str], str]) -> str:
        unit, base = p["unit"], _UNITS[p["unit"]]
        layer = (
            _("A convolution layer (the notes' AlexNet conv1)") if p["alexnet"] else _("A convolution layer")
        )
        setting = _(
            "%(layer)s takes a $%(c_in)d \\times %(h)d \\times %(w)d$ input (channels × height × width) "
            "and applies $%(c_out)d$ filters of size $%(k)d \\times %(k)d$ with stride $%(s)d$ and zero padding "
            "$%(pad)d$ on each side, %(bias)s."
        ) % {
            "layer": layer,
            "c_in": p["c_in"],
            "h": p["h"],
            "w": p["w"],
            "c_out": p["c_out"],
            "k": p["k"],
            "s": p["stride"],
            "pad": p["padding"],
            "bias": _("with biases") if p["bias"] else _("without biases"),
        }
        questions = _(
            "1. **Output shape** $C \\times H \\times W$?\n"
            "2. **Parameters** (weights plus biases)?\n"
            "3. **Multiplies**?\n"
            "4. **Activation memory** of the output stored as float32 (4 bytes per element), in **%(unit)s** "
            "(%(base)s)?"
        ) % {"unit": unit, "base": f"1 {unit} = {base:,} bytes"}
        if p["alexnet"] and unit in ("KiB", "KB"):
            questions += "\n\n" + _(
                "(The notes write this example's memory in \"KB\" but divide by 1,024: their unit is the KiB.)"
            )
        return f"{setting}\n\n{questions}"

    def _render_grouped(self, p: Params, _: Callable[[str], str]) -> str:
        c_in, c_out, h, k, g = p["c_in"], p["c_out"], p["h"], p["k"], p["groups"]
        values = {
            "c_in": c_in,
            "c_out": c_out,
            "h": h,
            "k": k,
            "g": g,
            "c_in_g": c_in // g,
            "c_out_g": c_out // g,
        }
        intro = (
            _(
                "Two modules both turn $%(c_in)d$ feature maps of size $%(h)d \\times %(h)d$ into $%(c_out)d$ maps "
                "of the same size ($%(k)d \\times %(k)d$ convolutions, stride 1, padding that keeps the size, no biases):"
            )
            % values
        )
        normal = (
            _(
                "- **Normal convolution**: one $%(k)d \\times %(k)d$ convolution from $%(c_in)d$ to $%(c_out)d$ channels."
            )
            % values
        )
        grouped = (
            _(
                "- **Grouped convolution**: the input channels are split into $%(g)d$ branches; each branch maps its "
                "$%(c_in_g)d$ channels to $%(c_out_g)d$ with a $%(k)d \\times %(k)d$ convolution, and the $%(g)d$ "
                "outputs are concatenated (`groups=%(g)d`)."
            )
            % values
        )
        question = _("Give the **multiplies** and the **parameters** of each module.")
        return f"{intro}\n\n{normal}\n{grouped}\n\n{question}"

    def _render_bottleneck(self, p: Params, _: Callable[[str], str]) -> str:
        values = {
            "c_in": p["c_in"],
            "c_out": p["c_out"],
            "h": p["h"],
            "k": p["k"],
            "r": p["reduce"],
            "bias": _("every convolution has biases") if p["bias"] else _("no biases"),
        }
        intro = (
            _(
                "From a $%(c_in)d \\times %(h)d \\times %(h)d$ input we want a $%(c_out)d \\times %(h)d \\times %(h)d$ "
                "output (stride 1, padding that keeps the size, %(bias)s):"
            )
            % values
        )
        direct = (
            _("- **Direct**: one $%(k)d \\times %(k)d$ convolution from $%(c_in)d$ to $%(c_out)d$ channels.")
            % values
        )
        reduced = (
            _(
                "- **With a 1×1 reduction**: a 1×1 convolution down to $%(r)d$ channels, then a $%(k)d \\times %(k)d$ "
                "convolution from $%(r)d$ to $%(c_out)d$ channels."
            )
            % values
        )
        question = _("Give the total **multiplies** and total **parameters** of each option.")
        return f"{intro}\n\n{direct}\n{reduced}\n\n{question}"

    def _render_separable(self, p: Params, _: Callable[[str], str]) -> str:
        values = {"c_in": p["c_in"], "c_out": p["c_out"], "h": p["h"], "s": p["stride"]}
        intro = (
            _(
                "The input is $%(c_in)d \\times %(h)d \\times %(h)d$ and we want $%(c_out)d$ output channels with "
                "stride $%(s)d$, no biases:"
            )
            % values
        )
        standard = (
            _(
                "- **Standard convolution**: a 3×3 convolution from $%(c_in)d$ to $%(c_out)d$ channels, stride $%(s)d$, "
                "padding 1."
            )
            % values
        )
        separable = (
            _(
                "- **Depthwise separable**: a depthwise 3×3 convolution (one 3×3 filter per channel, `groups=%(c_in)d`, "
                "stride $%(s)d$, padding 1), then a 1×1 pointwise convolution from $%(c_in)d$ to $%(c_out)d$ channels."
            )
            % values
        )
        question = _("Give the **multiplies** and the **parameters** of each.")
        return f"{intro}\n\n{standard}\n{separable}\n\n{question}"

    def explain(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        if params["kind"] == "plain":
            return self._explain_plain(params, _)
        layers = _layers(params)
        answer = self.solve(params)
        lines = []
        names = {
            "normal": N_("Normal convolution"),
            "grouped": N_("Grouped convolution"),
            "direct": N_("Direct"),
            "reduced": N_("With the 1×1 reduction"),
            "standard": N_("Standard convolution"),
            "separable": N_("Depthwise separable"),
        }
        lines.append(
            _(
                "Per layer: multiplies $= C_\\text{out} H_\\text{out} W_\\text{out} \\cdot (C_\\text{in}/g)\\, k^2$, "
                "weights $= C_\\text{out} (C_\\text{in}/g)\\, k^2$ (plus $C_\\text{out}$ biases, if any)."
            )
        )
        specs = _layer_specs(params, lang)
        for key, costs in layers.items():
            lines.append(f"**{_(names[key])}**")
            for c, (label, c_in_g, k) in zip(costs, specs[key], strict=True):
                lines.append(f"{label}: " + self._layer_line(c, c_in_g, k, _))
            if len(costs) > 1:
                lines.append(
                    _("Total: %(multiplies)s multiplies, %(params)s parameters.")
                    % {
                        "multiplies": f"${_grouped(answer['mult_' + key])}$",
                        "params": f"${_grouped(answer['params_' + key])}$",
                    }
                )
        mults = [answer[k] for k in answer if k.startswith("mult_")]
        ratio = mults[1] / mults[0]
        lines.append(
            _("The second option needs about $%(ratio).3g\\times$ the multiplies of the first.")
            % {"ratio": ratio}
        )
        return "\n\n".join(lines) + "\n"

    def _layer_line(self, c: LayerCost, c_in_g: int, k: int, _: Callable[[str], str]) -> str:
        c_out, oh, ow = c.out_shape
        bias = f" + {c.biases}" if c.biases else ""
        return _("%(multiplies)s multiplies; parameters %(params)s") % {
            "multiplies": f"$({c_out} \\cdot {oh} \\cdot {ow}) \\cdot ({c_in_g} \\cdot {k}^2) = {_grouped(c.multiplies)}$",
            "params": f"${c_out} \\cdot {c_in_g} \\cdot {k}^2{bias} = {_grouped(c.params)}$",
        }

    def _explain_plain(self, p: Params, _: Callable[[str], str]) -> str:
        cost = _plain_layer(p)
        c_out, oh, ow = cost.out_shape
        c_in, k, s, pad = p["c_in"], p["k"], p["stride"], p["padding"]
        unit, base = p["unit"], _UNITS[p["unit"]]
        answer = self.solve(p)
        lines = [_("**1. Output shape**")]
        for axis, n, out in (("H", p["h"], oh), ("W", p["w"], ow)):
            lines.append(
                f"$${axis}_\\text{{out}} = \\left\\lfloor \\frac{{{n} + 2 \\cdot {pad} - {k}}}{{{s}}} \\right\\rfloor + 1 = {out}$$"
            )
        lines.append(
            _(
                "The number of channels is the number of filters, $%(c_out)d$: "
                "the output is $%(c_out)d \\times %(oh)d \\times %(ow)d$."
            )
            % {"c_out": c_out, "oh": oh, "ow": ow}
        )
        lines.append(_("**2. Parameters**"))
        bias = f" + {c_out}" if p["bias"] else ""
        bias_sym = " + C_\\text{out}" if p["bias"] else ""
        lines.append(
            f"$C_\\text{{out}} \\cdot C_\\text{{in}} \\cdot k \\cdot k{bias_sym}"
            f" = {c_out} \\cdot {c_in} \\cdot {k} \\cdot {k}{bias} = {_grouped(cost.params)}$"
        )
        lines.append(_("**3. Multiplies**"))
        lines.append(
            f"$(C_\\text{{out}} H_\\text{{out}} W_\\text{{out}}) \\cdot (C_\\text{{in}} k^2) = ({c_out} \\cdot {oh} \\cdot {ow}) "
            f"\\cdot ({c_in} \\cdot {k}^2) = {_grouped(cost.activation_elements)} \\cdot {c_in * k * k} = {_grouped(cost.multiplies)}$"
        )
        lines.append(
            _(
                "The notes call this count the layer's floating-point operations (FLOPs), counting one "
                "multiply–add as one operation; counting the multiply and the add separately gives twice "
                "as many, $%(flops)s$."
            )
            % {"flops": _grouped(cost.flops)}
        )
        lines.append(_("**4. Activation memory**"))
        value = answer["memory"]
        shown = f"{value:,}" if isinstance(value, int) else f"{value:.6g}"
        lines.append(
            f"${_grouped(cost.activation_elements)} \\times 4 = {_grouped(cost.activation_bytes)}$ bytes; "
            f"$ {_grouped(cost.activation_bytes)} / {_grouped(base)} = {shown.replace(',', '{,}')}$ {unit}"
        )
        return "\n\n".join(lines) + "\n"


_HINTS = {
    "shape": N_(r"Per axis $\lfloor (n + 2p - k)/s \rfloor + 1$; the channels are the number of filters."),
    "params": N_(
        r"Weights $C_\text{out} (C_\text{in}/g)\, k^2$, plus $C_\text{out}$ biases if the layer has them; "
        r"add up all layers."
    ),
    "multiplies": N_(
        r"Multiplies $= C_\text{out} H_\text{out} W_\text{out} \cdot (C_\text{in}/g)\, k^2$ per layer."
    ),
    "mult": N_(
        r"Multiplies $= C_\text{out} H_\text{out} W_\text{out} \cdot (C_\text{in}/g)\, k^2$ per layer; "
        r"add up all layers."
    ),
    "memory": N_(r"Elements $C_\text{out} H_\text{out} W_\text{out}$, times 4 bytes, divided by the unit."),
}
