"""Family ``backprop-chain``: activation derivatives and small chain-rule gradients, by hand.

Three kinds of variant (``params["variant"]``):

* ``activation``: the derivative ``f'(z)`` of three activations (sigmoid, tanh, ReLU, leaky ReLU)
  at given points; parts ``d0``, ``d1``, ``d2``. When a ReLU-type point sits at the kink
  ``z = 0`` the statement states the convention (torch's left derivative, or the slides'
  ``f'(0) = 1``).
* ``neuron``: ``y = f(w x + b)`` with ``L = ½(y − t)²`` (or ``(y − t)²``, as stated); parts
  ``dL_dw``, ``dL_db``, ``dL_dx``.
* ``two-layer``: ``h = f₁(w₁ x + b₁)``, ``y = f₂(w₂ h + b₂)`` (``f₂`` sigmoid or the identity),
  same loss; parts ``dL_dw2``, ``dL_dw1``, ``dL_db1``, ``dL_dx``.

Activations and their derivatives come from ``grader.reference`` (``sigmoid_grad``, ``tanh_grad``,
``relu_grad``, ``leaky_relu_grad`` with ``at_zero`` for the slides' convention). Numbers are
accepted within 0.2 % or when correct to 3 significant figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.answers import Tolerance
from grader.i18n import N_, Text, Wording, gettext_for, join_list
from grader.problems import register
from grader.problems.base import Misconception, Params, Part, ProblemFamily, Response, fmt_decimal, pick
from grader.reference import (
    leaky_relu,
    leaky_relu_grad,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    tanh,
    tanh_grad,
)

TOL = Tolerance(rel=2e-3, abs=1e-9, sigfigs=3)
VARIANTS = ("activation", "neuron", "two-layer")
FUNCTIONS = ("sigmoid", "tanh", "relu", "leaky_relu")
SLOPE = 0.1  # leaky ReLU negative slope used in every variant (stated)

# How a derivative is (mis)computed: the right way, or one of the misconceptions.
Twist = str  # "", "none" (f' = 1), "value" (f(z) for f'(z)), "preact" (z(1 − z), 1 − z²), "zero" (other kink convention)


def _f(fn: str, z: float) -> float:
    if fn == "sigmoid":
        return float(sigmoid(z))
    if fn == "tanh":
        return float(tanh(z))
    if fn == "relu":
        return float(relu(z))
    if fn == "leaky_relu":
        return float(leaky_relu(z, SLOPE))
    return float(z)  # identity


def _df(fn: str, z: float, convention: str, twist: Twist = "") -> float:
    """``f'(z)`` (reference), or what a misconception uses instead."""
    if fn == "identity":
        return 1.0
    if twist == "none":
        return 1.0
    if twist == "value":
        return _f(fn, z)
    if twist == "preact" and fn in ("sigmoid", "tanh"):
        return z * (1 - z) if fn == "sigmoid" else 1 - z * z
    if fn == "sigmoid":
        return float(sigmoid_grad(z))
    if fn == "tanh":
        return float(tanh_grad(z))
    slides = (convention == "slides") != (twist == "zero")
    if fn == "relu":
        return float(relu_grad(z, at_zero=1.0 if slides else 0.0))
    return float(leaky_relu_grad(z, SLOPE, at_zero=1.0 if slides else None))


def _names(params: Params) -> list[str]:
    v = params["variant"]
    if v == "activation":
        return [f"d{i}" for i in range(len(params["points"]))]
    if v == "neuron":
        return ["dL_dw", "dL_db", "dL_dx"]
    return ["dL_dw2", "dL_dw1", "dL_db1", "dL_dx"]


def _forward(params: Params) -> dict[str, float]:
    """Forward values of the chain variants."""
    x = params["x"]
    if params["variant"] == "neuron":
        z = params["w"] * x + params["b"]
        return {"z": z, "y": _f(params["f"], z)}
    z1 = params["w1"] * x + params["b1"]
    h = _f(params["f1"], z1)
    z2 = params["w2"] * h + params["b2"]
    return {"z1": z1, "h": h, "z2": z2, "y": _f(params["f2"], z2)}


def _grads(params: Params, twist: Twist = "", sign: float = 1.0) -> Response:
    conv = params.get("convention", "torch")
    if params["variant"] == "activation":
        return {f"d{i}": _df(p["f"], p["z"], conv, twist) for i, p in enumerate(params["points"])}
    fw = _forward(params)
    c = 1.0 if params["loss"] == "half" else 2.0
    dy = sign * c * (fw["y"] - params["t"])
    if params["variant"] == "neuron":
        delta = dy * _df(params["f"], fw["z"], conv, twist)
        return {"dL_dw": delta * params["x"], "dL_db": delta, "dL_dx": delta * params["w"]}
    d2 = dy * _df(params["f2"], fw["z2"], conv, twist)
    d1 = d2 * params["w2"] * _df(params["f1"], fw["z1"], conv, twist)
    return {"dL_dw2": d2 * fw["h"], "dL_dw1": d1 * params["x"], "dL_db1": d1, "dL_dx": d1 * params["w1"]}


def _fns(params: Params) -> list[tuple[str, float]]:
    """(activation, pre-activation) pairs that appear in the variant."""
    if params["variant"] == "activation":
        return [(p["f"], p["z"]) for p in params["points"]]
    fw = _forward(params)
    if params["variant"] == "neuron":
        return [(params["f"], fw["z"])]
    return [(params["f1"], fw["z1"]), (params["f2"], fw["z2"])]


# --------------------------------------------------------------------------- misconceptions


def _no_derivative(params: Params) -> Response | None:
    if params["variant"] == "activation":
        return None
    return _grads(params, "none")


def _value(params: Params) -> Response | None:
    return _grads(params, "value")


def _preact(params: Params) -> Response | None:
    if not any(fn in ("sigmoid", "tanh") for fn, _ in _fns(params)):
        return None
    return _grads(params, "preact")


def _sign(params: Params) -> Response | None:
    if params["variant"] == "activation":
        return None
    return _grads(params, sign=-1.0)


def _kink(params: Params) -> Response | None:
    if params["variant"] != "activation" or not any(fn in ("relu", "leaky_relu") and z == 0 for fn, z in _fns(params)):
        return None
    return _grads(params, "zero")


_MISCONCEPTIONS = (
    Misconception(
        "forgot-activation-derivative",
        N_(
            "You left out the activation's derivative. By the chain rule every activation on the path contributes "
            "a factor $f'(z)$: e.g. $\\frac{\\partial L}{\\partial w} = \\frac{\\partial L}{\\partial y}\\, f'(z)\\, x$."
        ),
        _no_derivative,
    ),
    Misconception(
        "activation-value-for-derivative",
        N_(
            "You used the activation's value $f(z)$ where its derivative is needed: $\\sigma'(z) = \\sigma(z)(1 - \\sigma(z))$, "
            "$\\tanh'(z) = 1 - \\tanh^2(z)$, and ReLU's derivative is 1 (or the leaky slope), not $\\max(0, z)$."
        ),
        _value,
    ),
    Misconception(
        "derivative-of-preactivation",
        N_(
            "You plugged $z$ into the derivative formula instead of the activation: $\\sigma'(z) = \\sigma(z)(1 - \\sigma(z))$, "
            "not $z(1 - z)$; $\\tanh'(z) = 1 - \\tanh^2(z)$, not $1 - z^2$. First compute $\\sigma(z)$ (or $\\tanh z$)."
        ),
        _preact,
    ),
    Misconception(
        "sign-error-target",
        N_(
            "Your gradients have the wrong sign: $\\frac{\\partial}{\\partial y}\\tfrac12 (y - t)^2 = y - t$ "
            "(prediction minus target), not $t - y$."
        ),
        _sign,
    ),
    Misconception(
        "relu-kink-convention",
        N_(
            "At $z = 0$ use the convention the problem states: torch (the left derivative) gives $\\mathrm{ReLU}'(0) = 0$ and "
            "$\\mathrm{LeakyReLU}'(0) = $ the slope; the course slides write $f'(z) = 1$ for $z \\ge 0$."
        ),
        _kink,
    ),
)


# --------------------------------------------------------------------------- text helpers


_TEX = {"sigmoid": "\\sigma", "tanh": "\\tanh", "relu": "\\mathrm{ReLU}", "leaky_relu": "\\mathrm{LeakyReLU}", "identity": ""}
_DERIV = {
    "sigmoid": "\\sigma(z)(1 - \\sigma(z))",
    "tanh": "1 - \\tanh^2(z)",
    "relu": "\\begin{cases}1 & z > 0\\\\ 0 & z < 0\\end{cases}",
    "leaky_relu": f"\\begin{{cases}}1 & z > 0\\\\ {SLOPE} & z < 0\\end{{cases}}",
    "identity": "1",
}


def _p(x: float) -> str:
    """A factor in a product: negative numbers in parentheses."""
    return f"({fmt_decimal(x)})" if x < 0 else fmt_decimal(x)


@dataclass(frozen=True)
class _DerivativePart(Part):
    """An answer box whose label names the activation and the point (``sigmoid'(0.5)``): the
    label is a catalog message with these as arguments."""

    function: str = ""
    point: str = ""

    @property
    def wording(self) -> Text:
        return Text(self.label, function=self.function, z=self.point)

    def label_in(self, lang: str) -> str:
        return self.wording(lang)


# --------------------------------------------------------------------------- the family


@register
class BackpropChain(ProblemFamily):
    """Activation derivatives and chain-rule gradients of a tiny scalar network."""

    name = "backprop-chain"
    title = N_("Backpropagation by hand")
    topic = "backpropagation"
    misconceptions = _MISCONCEPTIONS
    constraint_keys = {
        "variant": "'activation', 'neuron' or 'two-layer'",
        "convention": "'torch' (ReLU'(0) = 0) or 'slides' (f'(z) = 1 for z >= 0), for kink points",
    }

    def sample(self, rng: np.random.Generator, constraints: Mapping[str, Any]) -> Params:
        c = constraints
        variant = c.get("variant") or pick(rng, list(VARIANTS))
        if variant not in VARIANTS or c.get("convention", "torch") not in ("torch", "slides"):
            raise ValueError(f"{self.name}: bad constraints {dict(c)}")
        for _ in range(1000):
            params = self._candidate(rng, variant, c)
            if params is not None:
                return params
        raise ValueError(f"{self.name}: no variant for constraints {dict(c)}")

    def _candidate(self, rng: np.random.Generator, variant: str, c: Mapping[str, Any]) -> Params | None:
        halves = [v / 2 for v in range(-4, 5)]
        params: Params = {"variant": variant}
        if variant == "activation":
            fns = [str(f) for f in rng.choice(FUNCTIONS, size=3, replace=False)]
            points = []
            for fn in fns:
                if fn in ("relu", "leaky_relu"):
                    z = pick(rng, [-1.5, -1.0, -0.5, 0.0, 0.0, 0.5, 1.5, 2.0])
                else:
                    z = pick(rng, [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0])
                points.append({"f": fn, "z": z})
            params["points"] = points
            kink = [p["f"] for p in points if p["f"] in ("relu", "leaky_relu") and p["z"] == 0]
            if kink:
                conv = c.get("convention") or pick(rng, ["torch", "slides"])
                # With the slides' ReLU'(0) = 1, "the value ReLU(0) = 0" and "the other convention"
                # would be the same wrong number: such a variant cannot tell them apart.
                if conv == "slides" and "relu" in kink:
                    return None
                params["convention"] = conv
            return params
        params["x"] = pick(rng, [v for v in halves if v != 0])
        params["t"] = pick(rng, [0, 1]) if rng.random() < 0.6 else pick(rng, [-0.5, 0.5])
        params["loss"] = "half" if rng.random() < 0.75 else "plain"
        weights = [v for v in halves if v != 0 and abs(v) <= 1.5]
        if variant == "neuron":
            params["f"] = pick(rng, ["sigmoid", "sigmoid", "tanh", "leaky_relu"])
            params["w"] = pick(rng, weights)
            params["b"] = pick(rng, halves[2:-2])
            z = params["w"] * params["x"] + params["b"]
            if params["f"] == "leaky_relu" and z >= 0:
                return None  # make the slope matter (and stay off the kink)
        else:
            params["f1"] = pick(rng, ["sigmoid", "tanh", "relu", "leaky_relu"])
            params["f2"] = pick(rng, ["identity", "sigmoid"])
            params["w1"], params["w2"] = pick(rng, weights), pick(rng, weights)
            params["b1"], params["b2"] = pick(rng, halves[2:-2]), pick(rng, halves[2:-2])
            z1 = params["w1"] * params["x"] + params["b1"]
            if params["f1"] == "relu" and (z1 <= 0 or z1 == 1 or params["f2"] == "identity"):
                return None
            if params["f1"] == "leaky_relu" and z1 >= 0:
                return None
        if params["t"] not in (0, 1) and ("sigmoid" in (params.get("f"), params.get("f2"))):
            params["t"] = pick(rng, [0.2, 0.5, 0.8])
        grads = _grads(params)
        if min(abs(v) for v in grads.values()) < 0.01:
            return None
        return params

    def parts(self, params: Params) -> list[Part]:
        labels = {
            "dL_dw": "∂L/∂w",
            "dL_db": "∂L/∂b",
            "dL_dx": "∂L/∂x",
            "dL_dw2": "∂L/∂w₂",
            "dL_dw1": "∂L/∂w₁",
            "dL_db1": "∂L/∂b₁",
        }
        out: list[Part] = []
        for name in _names(params):
            if name in labels:
                # A formula, the same in every language: not a catalog message.
                out.append(Part(name, "number", labels[name], tolerance=TOL))
            else:
                p = params["points"][int(name[1:])]
                out.append(
                    _DerivativePart(
                        name, "number", N_("%(function)s'(%(z)s)"), tolerance=TOL, function=p["f"], point=fmt_decimal(p["z"])
                    )
                )
        return out

    def solve(self, params: Params) -> Response:
        return _grads(params)

    def hint(self, params: Params, part: Part, given: Any) -> Wording | None:
        return Text(_HINT_ACT) if params["variant"] == "activation" else Text(_HINT_CHAIN)

    # ---- text -------------------------------------------------------------------------------

    def render(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        v = params["variant"]
        fmt = _(
            "*Answer format*: numbers to at least 3 significant figures (within %(tolerance)s or correct to 3 "
            "significant figures is accepted)."
        ) % {"tolerance": "0.2 %"}
        leaky = _(
            "LeakyReLU has negative slope $%(slope)s$: $\\mathrm{LeakyReLU}(z) = z$ for $z > 0$, $%(slope)s\\,z$ otherwise."
        ) % {"slope": SLOPE}
        if v == "activation":
            items = []
            for i, p in enumerate(params["points"]):
                fn = _TEX[p["f"]]
                items.append(f"{i + 1}. ${fn}'({fmt_decimal(p['z'])})$")
            lines = [_("Compute the derivative of each activation function at the given point:"), "\n".join(items)]
            if any(p["f"] == "leaky_relu" for p in params["points"]):
                lines.append(leaky)
            if "convention" in params:
                if params["convention"] == "torch":
                    lines.append(
                        _(
                            "At the kink $z = 0$ use PyTorch's convention (the left derivative): $\\mathrm{ReLU}'(0) = 0$, "
                            "$\\mathrm{LeakyReLU}'(0) = $ the negative slope."
                        )
                    )
                else:
                    lines.append(
                        _(
                            "At the kink use the course slides' convention: the derivative is 1 for $z \\ge 0$ "
                            "(so $\\mathrm{ReLU}'(0) = \\mathrm{LeakyReLU}'(0) = 1$)."
                        )
                    )
            lines.append(fmt)
            return "\n\n".join(lines) + "\n"
        loss = "L = \\tfrac12 (y - t)^2" if params["loss"] == "half" else "L = (y - t)^2"
        if v == "neuron":
            fn = _TEX[params["f"]]
            net = f"y = {fn}(w x + b)"
            vals = f"w = {fmt_decimal(params['w'])},\\ b = {fmt_decimal(params['b'])},\\ x = {fmt_decimal(params['x'])},\\ t = {fmt_decimal(params['t'])}"
            asks = ["$\\partial L/\\partial w$", "$\\partial L/\\partial b$", "$\\partial L/\\partial x$"]
            uses = [params["f"]]
        else:
            f1, f2 = _TEX[params["f1"]], _TEX[params["f2"]]
            out = f"y = {f2}(w_2 h + b_2)" if f2 else "y = w_2 h + b_2"
            net = f"h = {f1}(w_1 x + b_1),\\quad {out}"
            vals = (
                f"w_1 = {fmt_decimal(params['w1'])},\\ b_1 = {fmt_decimal(params['b1'])},\\ w_2 = {fmt_decimal(params['w2'])},\\ "
                f"b_2 = {fmt_decimal(params['b2'])},\\ x = {fmt_decimal(params['x'])},\\ t = {fmt_decimal(params['t'])}"
            )
            asks = [
                "$\\partial L/\\partial w_2$",
                "$\\partial L/\\partial w_1$",
                "$\\partial L/\\partial b_1$",
                "$\\partial L/\\partial x$",
            ]
            uses = [params["f1"], params["f2"]]
        lines = [
            _("A scalar network: %(network)s") % {"network": f"$${net},\\qquad {loss}$$"},
            _("with %(values)s.") % {"values": f"${vals}$"},
            # "a, b and c" in English, 「a、b、c」 in Chinese.
            _("Use the chain rule to compute %(others)s and %(last)s.")
            % {"others": join_list(asks[:-1], lang), "last": asks[-1]},
        ]
        if "leaky_relu" in uses:
            lines.append(leaky)
        lines.append(fmt)
        return "\n\n".join(lines) + "\n"

    def explain(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        v = params["variant"]
        ans = self.solve(params)
        out: list[str] = []
        if v == "activation":
            conv = params.get("convention", "torch")
            out.append(_("Compute the activation first, then its derivative formula:"))
            for i, p in enumerate(params["points"]):
                fn, z = p["f"], p["z"]
                d = ans[f"d{i}"]
                if fn == "sigmoid":
                    s = _f(fn, z)
                    step = f"\\sigma({fmt_decimal(z)}) = {fmt_decimal(s)},\\quad \\sigma'({fmt_decimal(z)}) = {fmt_decimal(s)}(1 - {fmt_decimal(s)}) = {fmt_decimal(d)}"
                elif fn == "tanh":
                    s = _f(fn, z)
                    step = f"\\tanh({fmt_decimal(z)}) = {fmt_decimal(s)},\\quad \\tanh'({fmt_decimal(z)}) = 1 - ({fmt_decimal(s)})^2 = {fmt_decimal(d)}"
                elif z == 0:
                    rule = _("torch: left derivative") if conv == "torch" else _("slides: 1 for z \\ge 0")
                    step = f"{_TEX[fn]}'(0) = {fmt_decimal(d)}\\quad(\\text{{{rule}}})"
                else:
                    step = f"{_TEX[fn]}'({fmt_decimal(z)}) = {fmt_decimal(d)}\\quad (z {'>' if z > 0 else '<'} 0)"
                out.append(f"{i + 1}. ${step}$")
            return "\n\n".join(out) + "\n"
        fw = _forward(params)
        conv = params.get("convention", "torch")
        c = "" if params["loss"] == "half" else "2"
        dy = (1.0 if params["loss"] == "half" else 2.0) * (fw["y"] - params["t"])
        out.append(_("**Forward pass**"))
        if v == "neuron":
            fn = params["f"]
            dz = _df(fn, fw["z"], conv)
            out.append(
                f"$z = w x + b = ({fmt_decimal(params['w'])})({fmt_decimal(params['x'])}) + ({fmt_decimal(params['b'])}) = {fmt_decimal(fw['z'])}$, "
                f"$y = {_TEX[fn]}(z) = {fmt_decimal(fw['y'])}$"
            )
            out.append(_("**Backward pass**"))
            out.append(f"$\\frac{{\\partial L}}{{\\partial y}} = {c}(y - t) = {fmt_decimal(dy)}$")
            out.append(f"$f'(z) = {_DERIV[fn]} = {fmt_decimal(dz)}$")
            delta = dy * dz
            out.append(f"$\\delta = \\frac{{\\partial L}}{{\\partial z}} = {_p(dy)} \\times {_p(dz)} = {fmt_decimal(delta)}$")
            out.append(
                f"$$\\frac{{\\partial L}}{{\\partial w}} = \\delta\\, x = {fmt_decimal(ans['dL_dw'])},\\quad "
                f"\\frac{{\\partial L}}{{\\partial b}} = \\delta = {fmt_decimal(ans['dL_db'])},\\quad "
                f"\\frac{{\\partial L}}{{\\partial x}} = \\delta\\, w = {fmt_decimal(ans['dL_dx'])}$$"
            )
            return "\n\n".join(out) + "\n"
        f1, f2 = params["f1"], params["f2"]
        out.append(
            f"$z_1 = w_1 x + b_1 = {fmt_decimal(fw['z1'])}$, $h = {_TEX[f1]}(z_1) = {fmt_decimal(fw['h'])}$, "
            f"$z_2 = w_2 h + b_2 = {fmt_decimal(fw['z2'])}$, $y = {(_TEX[f2] + '(z_2)') if f2 != 'identity' else 'z_2'} = {fmt_decimal(fw['y'])}$"
        )
        out.append(_("**Backward pass**"))
        d2f = _df(f2, fw["z2"], conv)
        d1f = _df(f1, fw["z1"], conv)
        delta2 = dy * d2f
        delta1 = delta2 * params["w2"] * d1f
        out.append(f"$\\frac{{\\partial L}}{{\\partial y}} = {c}(y - t) = {fmt_decimal(dy)}$")
        if f2 != "identity":
            out.append(f"$f_2'(z_2) = {_DERIV[f2]} = {fmt_decimal(d2f)}$, $\\delta_2 = {_p(dy)} \\times {_p(d2f)} = {fmt_decimal(delta2)}$")
        else:
            out.append(f"$\\delta_2 = \\frac{{\\partial L}}{{\\partial z_2}} = {fmt_decimal(delta2)}$")
        out.append(f"$\\frac{{\\partial L}}{{\\partial w_2}} = \\delta_2\\, h = {fmt_decimal(ans['dL_dw2'])}$")
        out.append(
            f"$f_1'(z_1) = {_DERIV[f1]} = {fmt_decimal(d1f)}$, "
            f"$\\delta_1 = \\delta_2\\, w_2\\, f_1'(z_1) = {_p(delta2)} \\times {_p(params['w2'])} \\times {_p(d1f)} = {fmt_decimal(delta1)}$"
        )
        out.append(
            f"$$\\frac{{\\partial L}}{{\\partial w_1}} = \\delta_1 x = {fmt_decimal(ans['dL_dw1'])},\\quad "
            f"\\frac{{\\partial L}}{{\\partial b_1}} = \\delta_1 = {fmt_decimal(ans['dL_db1'])},\\quad "
            f"\\frac{{\\partial L}}{{\\partial x}} = \\delta_1 w_1 = {fmt_decimal(ans['dL_dx'])}$$"
        )
        return "\n\n".join(out) + "\n"


_HINT_ACT = N_(
    "$\\sigma' = \\sigma(1 - \\sigma)$, $\\tanh' = 1 - \\tanh^2$ (both evaluated at the activation value); "
    "ReLU-type: 1 for $z > 0$, 0 or the slope for $z < 0$."
)
_HINT_CHAIN = N_(
    "Multiply the local derivatives along the path from $L$ back to the variable: $\\partial L/\\partial y$, "
    "then $f'(z)$, then the weight or input."
)

