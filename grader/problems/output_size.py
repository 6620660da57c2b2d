"""Family ``output-size-receptive-field``: spatial sizes through a small conv/pool stack, and the
receptive field of one output unit.

Variant: an ``n × n`` input (``n`` from 20 to 230, channels do not matter) and 2–4 layers, each a
convolution (``k`` ∈ {1, 3, 5, 7}, stride 1–2, padding 0…k//2), a max pooling (2×2/2, 3×3/2,
3×3/2 with padding 1, 3×3/3) or a dilated 3×3 convolution (dilation 2–3, padding 0 or ``d``).
Every layer's stride, padding and dilation are stated in a table.

Parts: ``sizes`` (the side length after each layer, a vector, per-entry credit with error
carried forward: entry ``i`` also counts as right if it is the correct function of the student's
own entry ``i − 1``) and ``rf`` (the receptive field of one unit of the last layer, in input
pixels). Formulas and conventions are those of ``grader/CONVENTIONS.md`` ("Output size",
"Receptive field"), computed with :func:`grader.reference.conv_output_size`,
:func:`~grader.reference.pool_output_size` and :func:`~grader.reference.receptive_field`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from grader import answers
from grader.i18n import N_, Text, Wording, gettext_for, join_sentences
from grader.problems import register
from grader.problems.base import (
    Misconception,
    Params,
    Part,
    PartScore,
    ProblemFamily,
    Response,
    cells_right,
)
from grader.reference import RFLayer, conv_output_size, pool_output_size, receptive_field

Layer = dict[str, Any]

_RF = Part("rf", "integer", N_("Receptive field"), points=1.0)


def _sizes_part(n_layers: int) -> Part:
    return Part(
        "sizes",
        "vector",
        N_("Output size after each layer"),
        points=2.0,
        length=n_layers,
        tolerance=answers.EXACT,
        partial=True,
    )


# --------------------------------------------------------------------------- computation


def _k_eff(layer: Layer, dilation: bool = True) -> int:
    d = layer["d"] if dilation else 1
    return d * (layer["k"] - 1) + 1


def _correct_size(n: int, layer: Layer) -> int:
    """One layer's output size, from the reference functions (raises ValueError if it does not fit)."""
    if layer["type"] == "pool":
        return pool_output_size(n, layer["k"], layer["s"], layer["p"], layer["d"])
    return conv_output_size(n, layer["k"], layer["s"], layer["p"], layer["d"])


def _correct_sizes(params: Params) -> list[int] | None:
    n, sizes = params["n"], []
    try:
        for layer in params["layers"]:
            n = _correct_size(n, layer)
            sizes.append(n)
    except ValueError:
        return None
    return sizes


def _wrong_sizes(
    params: Params, *, plus_one: bool = True, ceil: bool = False, pad_sides: int = 2, dilation: bool = True
) -> list[int] | None:
    """Sizes as a student with a wrong formula would chain them (each layer from their own
    previous size); None when the chain breaks (a size ≤ 0)."""
    n, sizes = params["n"], []
    for layer in params["layers"]:
        room = n + pad_sides * layer["p"] - _k_eff(layer, dilation)
        if room < 0:
            return None
        n = (-(-room // layer["s"]) if ceil else room // layer["s"]) + (1 if plus_one else 0)
        if n <= 0:
            return None
        sizes.append(n)
    return sizes


def _rf_layers(params: Params, dilation: bool = True) -> list[RFLayer]:
    return [
        RFLayer(kernel_size=lay["k"], stride=lay["s"], dilation=lay["d"] if dilation else 1, padding=lay["p"])
        for lay in params["layers"]
    ]


def _rf(params: Params, dilation: bool = True) -> int:
    return receptive_field(_rf_layers(params, dilation)).size


# --------------------------------------------------------------------------- misconceptions


def _no_plus_one(params: Params) -> Response | None:
    sizes = _wrong_sizes(params, plus_one=False)
    return {"sizes": sizes} if sizes else None


def _ceil(params: Params) -> Response | None:
    # Only where some division is not exact (otherwise the mistake is invisible).
    sizes = _wrong_sizes(params, ceil=True)
    return {"sizes": sizes} if sizes and sizes != _correct_sizes(params) else None


def _pad_once(params: Params) -> Response | None:
    if not any(lay["p"] for lay in params["layers"]):
        return None
    sizes = _wrong_sizes(params, pad_sides=1)
    return {"sizes": sizes} if sizes else None


def _no_dilation(params: Params) -> Response | None:
    if all(lay["d"] == 1 for lay in params["layers"]):
        return None
    sizes = _wrong_sizes(params, dilation=False)
    return {"sizes": sizes, "rf": _rf(params, dilation=False)} if sizes else None


def _rf_no_jump(params: Params) -> Response | None:
    # Strides only matter for the receptive field if a strided layer is followed by another one.
    if all(lay["s"] == 1 for lay in params["layers"][:-1]):
        return None
    return {"rf": 1 + sum(_k_eff(lay) - 1 for lay in params["layers"])}


_MISCONCEPTIONS = (
    Misconception(
        "size-off-by-one",
        N_(
            r"Your sizes are one too small: a layer has $\lfloor (n + 2p - k_\text{eff})/s \rfloor + 1$ window "
            r"positions per axis — the $+1$ counts the first position."
        ),
        _no_plus_one,
    ),
    Misconception(
        "ceil-instead-of-floor",
        N_(
            r"You rounded up: when $n + 2p - k_\text{eff}$ is not a multiple of $s$, the last, incomplete window "
            r"is dropped, so take the floor: $\lfloor (n + 2p - k_\text{eff})/s \rfloor + 1$."
        ),
        _ceil,
        # A rounding slip: the sizes it does not touch are right by the right rule.
        credit=None,
    ),
    Misconception(
        "padding-counted-once",
        N_(
            r"You added the padding only once: $p$ zeros are added on *each* side, so the padded length is "
            r"$n + 2p$."
        ),
        _pad_once,
    ),
    Misconception(
        "dilation-ignored",
        N_(
            r"You ignored the dilation: a $k \times k$ kernel with dilation $d$ spans $k_\text{eff} = d(k-1) + 1$ "
            r"pixels; use $k_\text{eff}$ both in the size formula and in the receptive field."
        ),
        _no_dilation,
    ),
    Misconception(
        "rf-ignores-stride",
        N_(
            r"You added the kernel sizes without the strides: each layer grows the receptive field by "
            r"$(k_\text{eff} - 1) \cdot j$, where the jump $j$ is the product of the strides of all earlier "
            r"layers ($r \leftarrow r + (k_\text{eff} - 1)\, j$, then $j \leftarrow j\, s$)."
        ),
        _rf_no_jump,
    ),
)


# --------------------------------------------------------------------------- the family


def _layer_name(layer: Layer, lang: str) -> str:
    _ = gettext_for(lang)
    k = layer["k"]
    if layer["type"] == "pool":
        return _("max pooling %(k)d×%(k)d") % {"k": k}
    if layer["d"] > 1:
        return _("dilated conv %(k)d×%(k)d") % {"k": k}
    return _("conv %(k)d×%(k)d") % {"k": k}


@register
class OutputSizeReceptiveField(ProblemFamily):
    """Output sizes through a conv/pool stack and the receptive field of its last layer."""

    name = "output-size-receptive-field"
    title = N_("Output sizes and receptive field")
    topic = "convolution"
    misconceptions = _MISCONCEPTIONS
    constraint_keys = {
        "n": "input side length, 8..256",
        "layers": "number of layers, 2..4",
    }

    # ---- variants ----------------------------------------------------------------------------

    def _layer(self, rng: np.random.Generator) -> Layer:
        kind = ["conv", "pool", "dilated"][int(rng.choice(3, p=[0.5, 0.3, 0.2]))]
        if kind == "pool":
            k, s, p = [(2, 2, 0), (3, 2, 0), (3, 2, 1), (3, 3, 0)][
                int(rng.choice(4, p=[0.45, 0.25, 0.2, 0.1]))
            ]
            return {"type": "pool", "k": k, "s": s, "p": p, "d": 1}
        if kind == "dilated":
            d = int(rng.choice([2, 3]))
            return {"type": "conv", "k": 3, "s": 1, "p": int(rng.choice([0, d])), "d": d}
        k = int(rng.choice([1, 3, 5, 7], p=[0.1, 0.55, 0.2, 0.15]))
        s = int(rng.choice([1, 2], p=[0.6, 0.4]))
        p = int(rng.integers(0, k // 2 + 1))
        return {"type": "conv", "k": k, "s": s, "p": p, "d": 1}

    def sample(self, rng: np.random.Generator, constraints: Mapping[str, Any]) -> Params:
        c = constraints
        for _ in range(1000):
            if "n" in c:
                n = int(c["n"])
            elif rng.random() < 0.4:
                n = int(rng.choice([28, 32, 64, 96, 100, 112, 128, 224, 227]))
            else:
                n = int(rng.integers(20, 231))
            count = int(c.get("layers", rng.integers(2, 5)))
            layers = [self._layer(rng) for _ in range(count)]
            params = {"n": n, "layers": layers}
            sizes = _correct_sizes(params)
            if sizes and sizes[-1] >= 2:
                return params
        raise ValueError(f"{self.name}: no layer stack fits the constraints {dict(c)}")

    def parts(self, params: Params) -> list[Part]:
        return [_sizes_part(len(params["layers"])), _RF]

    def solve(self, params: Params) -> Response:
        sizes = _correct_sizes(params)
        assert sizes is not None, "generated variants always fit"
        return {"sizes": sizes, "rf": _rf(params)}

    # ---- grading -----------------------------------------------------------------------------

    def score_part(self, params: Params, part: Part, given: Any, expected: Any, response: Response) -> PartScore:
        """Per-entry credit for ``sizes``, with error carried forward from the previous entry."""
        if part.name != "sizes" or given is None or len(given) != len(expected):
            return super().score_part(params, part, given, expected, response)
        hits, carried = [], False
        prev: Any = params["n"]
        for value, want, layer in zip(given, expected, params["layers"], strict=True):
            ok = value == want
            if not ok and isinstance(prev, int) and prev != want and prev >= 1:
                try:
                    ok = value == _correct_size(prev, layer)
                except ValueError:
                    ok = False
                carried = carried or ok
            hits.append(ok)
            prev = value if isinstance(value, int) else None
        score = sum(hits) / len(hits)
        notes: list[Wording] = [] if score == 1 else [cells_right(sum(hits), len(hits))]
        if carried:
            notes.append(Text(_ECF_NOTE))
        return PartScore(score, [hits], join_sentences(notes))

    def hint(self, params: Params, part: Part, given: Any) -> Wording | None:
        return Text(_HINTS[part.name])

    # ---- text --------------------------------------------------------------------------------

    def _table(self, params: Params, lang: str) -> str:
        _ = gettext_for(lang)
        head = _("| layer | type | stride $s$ | padding $p$ | dilation $d$ |")
        rows = [head, "|---|---|--:|--:|--:|"]
        for i, lay in enumerate(params["layers"], start=1):
            rows.append(f"| {i} | {_layer_name(lay, lang)} | {lay['s']} | {lay['p']} | {lay['d']} |")
        return "\n".join(rows)

    def render(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        n, count = params["n"], len(params["layers"])
        intro = _(
            "An input of size $%(n)d \\times %(n)d$ goes through the %(count)d layers below, in order (the number "
            "of channels does not matter here). The padding $p$ is the number of zeros added on **each** side; "
            "max-pooling padding never wins the maximum."
        ) % {"n": n, "count": count}
        questions = _(
            "1. **Output size after each layer**: give the side length of each layer's (square) output, in order, "
            "separated by commas, e.g. `30, 15, 13`.\n"
            "2. **Receptive field**: how many input pixels wide is the region of the input that **one** unit of "
            "the last layer's output sees? (Only its size; padding does not change it.)"
        )
        conventions = _(
            "*Conventions*: $k_\\text{eff} = d(k-1) + 1$ and the output size is "
            "$\\lfloor (n + 2p - k_\\text{eff})/s \\rfloor + 1$ (floor)."
        )
        return f"{intro}\n\n{self._table(params, lang)}\n\n{questions}\n\n{conventions}\n"

    def explain(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        answer = self.solve(params)
        lines = [_("**1. Output sizes**")]
        n = params["n"]
        for i, (lay, out) in enumerate(zip(params["layers"], answer["sizes"], strict=True), start=1):
            k, s, p, d = lay["k"], lay["s"], lay["p"], lay["d"]
            span = _k_eff(lay)
            eff = f"k_\\text{{eff}} = {d}({k}-1)+1 = {span},\\ " if d > 1 else ""
            room = n + 2 * p - span
            lines.append(_("Layer %(layer)d (%(name)s):") % {"layer": i, "name": _layer_name(lay, lang)})
            lines.append(
                f"$${eff}\\left\\lfloor \\frac{{{n} + 2 \\cdot {p} - {span}}}{{{s}}} \\right\\rfloor + 1"
                f" = \\left\\lfloor \\frac{{{room}}}{{{s}}} \\right\\rfloor + 1 = {out}$$"
            )
            n = out
        sizes = ", ".join(str(v) for v in answer["sizes"])
        lines.append(_("So the sizes are $%(sizes)s$.") % {"sizes": sizes})
        lines.append(_("**2. Receptive field**"))
        lines.append(
            _(
                "Start from $r = 1$ and jump $j = 1$; each layer does $r \\leftarrow r + (k_\\text{eff} - 1)\\, j$, "
                "then $j \\leftarrow j \\cdot s$:"
            )
        )
        rf = receptive_field(_rf_layers(params))
        r, j = 1, 1
        for i, (lay, step) in enumerate(zip(params["layers"], rf.per_layer, strict=True), start=1):
            span = _k_eff(lay)
            lines.append(
                _("Layer %(layer)d: %(step)s")
                % {
                    "layer": i,
                    "step": f"$r = {r} + ({span} - 1) \\cdot {j} = {step.size}$, $j = {j} \\cdot {lay['s']} = {step.jump}$",
                }
            )
            r, j = step.size, step.jump
        lines.append(
            _("**Answer**: sizes $%(sizes)s$; receptive field $%(rf)d \\times %(rf)d$ pixels.")
            % {"sizes": sizes, "rf": answer["rf"]}
        )
        return "\n\n".join(lines) + "\n"


_ECF_NOTE = N_("Entries that follow correctly from your own previous size are counted as right.")
_HINTS = {
    "sizes": N_(
        r"Per layer: $\lfloor (n + 2p - k_\text{eff})/s \rfloor + 1$ with $k_\text{eff} = d(k-1) + 1$, "
        r"starting from the previous layer's size."
    ),
    "rf": N_(r"Use $r \leftarrow r + (k_\text{eff} - 1)\, j$ and $j \leftarrow j\, s$ layer by layer, from $r = j = 1$."),
}
