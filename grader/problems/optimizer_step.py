"""Family ``optimizer-step``: one or two optimizer steps on 2–3 parameters from given gradients.

Optimizers (``params["optimizer"]``), each exactly as ``torch.optim`` (``grader/CONVENTIONS.md``)
unless the statement says "the slides' RMSProp":

* ``sgd``: ``θ ← θ − η g``. Part ``theta``.
* ``momentum``: torch form, ``buf ← g`` then ``buf ← μ buf + g``, ``θ ← θ − η buf``. Parts ``theta``
  and ``buffer``. Two-step variants may change the learning rate between steps (a scheduler),
  which is where the textbook form ``v ← μ v − η g; θ ← θ + v`` gives other parameters too.
* ``rmsprop``: ``v ← α v + (1 − α) g²`` from 0, ``θ ← θ − η g / (√v + ε)``. Parts ``theta``, ``v``.
* ``rmsprop-slides``: ``σ⁰ = |g⁰|``, ``σᵗ = √(α σᵗ⁻¹² + (1 − α) gᵗ²)``, ``θ ← θ − η g / σ``.
  Parts ``theta``, ``sigma``.
* ``adam``: bias-corrected, ε after the square root. Parts ``theta``, ``m_hat``, ``v_hat``
  (the bias-corrected moments of the last step).

The answers come from ``grader.reference`` (``sgd_step``, ``momentum_step``, ``rmsprop_step``,
``rmsprop_step_slides``, ``adam_step``); the misconceptions are their own small loops. Vectors
are accepted entry by entry within 0.1 % or to 3 significant figures, with per-entry credit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from grader.answers import Tolerance
from grader.i18n import N_, Plural, Text, Wording, gettext_for, join_list
from grader.problems import register
from grader.problems.base import Misconception, Params, Part, ProblemFamily, Response, pick
from grader.reference import adam_step, momentum_step, rmsprop_step, rmsprop_step_slides, sgd_step

TOL = Tolerance(rel=1e-3, abs=1e-9, sigfigs=3)
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "rmsprop-slides", "adam")
_STATE_PARTS = {"sgd": [], "momentum": ["buffer"], "rmsprop": ["v"], "rmsprop-slides": ["sigma"], "adam": ["m_hat", "v_hat"]}
_LABELS = {
    "theta": N_("new parameters θ"),
    "buffer": N_("momentum buffer"),
    "v": N_("square average v"),
    "sigma": N_("σ"),
    "m_hat": N_("m̂ (bias-corrected)"),
    "v_hat": N_("v̂ (bias-corrected)"),
}


# --------------------------------------------------------------------------- computation


def _names(params: Params) -> list[str]:
    return ["theta", *_STATE_PARTS[params["optimizer"]]]


def _vec(x: Any) -> list[float]:
    return [float(v) for v in np.asarray(x, dtype=float)]


def _run(params: Params) -> tuple[np.ndarray, dict[str, Any]]:
    """The reference optimizer over all steps: final parameters and state."""
    opt = params["optimizer"]
    theta = np.asarray(params["theta"], dtype=float)
    state: dict[str, Any] | None = None
    for t, g in enumerate(params["grads"]):
        lr = params["lrs"][t]
        g = np.asarray(g, dtype=float)
        if opt == "sgd":
            theta, state = sgd_step(theta, g, state, lr=lr)
        elif opt == "momentum":
            theta, state = momentum_step(theta, g, state, lr=lr, momentum=params["momentum"])
        elif opt == "rmsprop":
            theta, state = rmsprop_step(theta, g, state, lr=lr, alpha=params["alpha"], eps=params["eps"])
        elif opt == "rmsprop-slides":
            theta, state = rmsprop_step_slides(theta, g, state, lr=lr, alpha=params["alpha"])
        else:
            theta, state = adam_step(theta, g, state, lr=lr, betas=tuple(params["betas"]), eps=params["eps"])
    assert state is not None
    return theta, state


def _solve(params: Params) -> Response:
    theta, state = _run(params)
    opt = params["optimizer"]
    out: Response = {"theta": _vec(theta)}
    if opt == "momentum":
        out["buffer"] = _vec(state["momentum_buffer"])
    elif opt == "rmsprop":
        out["v"] = _vec(state["square_avg"])
    elif opt == "rmsprop-slides":
        out["sigma"] = _vec(state["sigma"])
    elif opt == "adam":
        b1, b2 = params["betas"]
        t = state["step"]
        out["m_hat"] = _vec(np.asarray(state["exp_avg"]) / (1 - b1**t))
        out["v_hat"] = _vec(np.asarray(state["exp_avg_sq"]) / (1 - b2**t))
    return out


# --------------------------------------------------------------------------- misconceptions


def _ascent(params: Params) -> Response | None:
    theta0 = np.asarray(params["theta"], dtype=float)
    right = np.asarray(_solve(params)["theta"])
    # The gradients are given, so stepping uphill mirrors the whole displacement.
    return {"theta": _vec(2 * theta0 - right)}


def _adam_no_correction(params: Params) -> Response | None:
    if params["optimizer"] != "adam":
        return None
    b1, b2 = params["betas"]
    theta = np.asarray(params["theta"], dtype=float)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    for t, g in enumerate(params["grads"]):
        g = np.asarray(g, dtype=float)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        theta = theta - params["lrs"][t] * m / (np.sqrt(v) + params["eps"])
    return {"theta": _vec(theta), "m_hat": _vec(m), "v_hat": _vec(v)}


def _eps_inside(params: Params) -> Response | None:
    opt = params["optimizer"]
    if opt not in ("adam", "rmsprop") or params["eps"] < 1e-4:
        return None  # a tiny ε inside or outside the root gives the same numbers to 3 digits
    theta = np.asarray(params["theta"], dtype=float)
    eps = params["eps"]
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    for t, g in enumerate(params["grads"], start=1):
        g = np.asarray(g, dtype=float)
        lr = params["lrs"][t - 1]
        if opt == "adam":
            b1, b2 = params["betas"]
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            theta = theta - lr * (m / (1 - b1**t)) / np.sqrt(v / (1 - b2**t) + eps)
        else:
            v = params["alpha"] * v + (1 - params["alpha"]) * g * g
            theta = theta - lr * g / np.sqrt(v + eps)
    return {"theta": _vec(theta)}


def _textbook_momentum(params: Params) -> Response | None:
    if params["optimizer"] != "momentum":
        return None
    theta = np.asarray(params["theta"], dtype=float)
    v = np.zeros_like(theta)
    for t, g in enumerate(params["grads"]):
        v = params["momentum"] * v - params["lrs"][t] * np.asarray(g, dtype=float)
        theta = theta + v
    return {"theta": _vec(theta), "buffer": _vec(v)}


def _g_not_squared(params: Params) -> Response | None:
    opt = params["optimizer"]
    if opt not in ("rmsprop", "rmsprop-slides"):
        return None
    alpha = params["alpha"]
    theta = np.asarray(params["theta"], dtype=float)
    acc = np.zeros_like(theta)
    for t, g in enumerate(params["grads"]):
        g = np.asarray(g, dtype=float)
        if opt == "rmsprop":
            acc = alpha * acc + (1 - alpha) * g
            if np.any(acc <= 0):
                return None  # the square root of a negative average: nobody would write that down
            theta = theta - params["lrs"][t] * g / (np.sqrt(acc) + params["eps"])
        else:
            inside = np.abs(g) if t == 0 else alpha * acc**2 + (1 - alpha) * g
            if t > 0 and np.any(inside <= 0):
                return None
            acc = inside if t == 0 else np.sqrt(inside)
            theta = theta - params["lrs"][t] * g / acc
    key = "v" if opt == "rmsprop" else "sigma"
    return {"theta": _vec(theta), key: _vec(acc)}


_MISCONCEPTIONS = (
    Misconception(
        "adam-no-bias-correction",
        N_(
            "You used the raw moments $m_t$, $v_t$. Adam divides them by $1 - \\beta_1^t$ and $1 - \\beta_2^t$ "
            "($\\hat m_t = m_t / (1 - \\beta_1^t)$, $\\hat v_t = v_t / (1 - \\beta_2^t)$) because they start at 0, and "
            "steps by $\\eta\\, \\hat m_t / (\\sqrt{\\hat v_t} + \\epsilon)$."
        ),
        _adam_no_correction,
    ),
    Misconception(
        "eps-inside-sqrt",
        N_(
            "You put $\\epsilon$ inside the square root. PyTorch (and the Adam paper) add it *after* the root: "
            "the denominator is $\\sqrt{v} + \\epsilon$, not $\\sqrt{v + \\epsilon}$."
        ),
        _eps_inside,
        # A slip that changes only entries with a tiny second moment.
        credit=None,
    ),
    Misconception(
        "momentum-textbook-form",
        N_(
            "You used the textbook velocity $v \\leftarrow \\mu v - \\eta g$, $\\theta \\leftarrow \\theta + v$. PyTorch keeps "
            "the buffer without the learning rate: $b \\leftarrow \\mu b + g$ ($b = g$ on the first step) and "
            "$\\theta \\leftarrow \\theta - \\eta b$; the buffer differs in sign and scale, and the parameters differ "
            "when $\\eta$ changes between steps."
        ),
        _textbook_momentum,
    ),
    Misconception(
        "rmsprop-g-not-squared",
        N_(
            "You averaged the gradients themselves. RMSProp keeps a running average of the *squared* gradients, "
            "$v \\leftarrow \\alpha v + (1 - \\alpha) g^2$, and divides by its square root (the RMS)."
        ),
        _g_not_squared,
    ),
    Misconception(
        "gradient-ascent",
        N_(
            "You moved *along* the gradient. Gradient descent subtracts the update: "
            "$\\theta \\leftarrow \\theta - \\eta \\cdot (\\text{update})$, so each parameter moves against the sign "
            "of its gradient."
        ),
        _ascent,
    ),
)


# --------------------------------------------------------------------------- text helpers


def _sig(x: float, sig: int = 5) -> str:
    """``x`` as a plain decimal with ``sig`` significant digits (no exponent, no trailing zeros)."""
    x = float(x)
    if x == 0:
        return "0"
    if x.is_integer() and abs(x) < 1e9:
        return str(int(x))
    decimals = max(0, sig - 1 - math.floor(math.log10(abs(x))))
    text = f"{x:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def _tv(values: list[float], sig: int = 5) -> str:
    return "(" + ",\\ ".join(_sig(v, sig) for v in values) + ")"


def _eps_tex(eps: float) -> str:
    if eps < 1e-3:
        exp = round(math.log10(eps))
        return f"10^{{{exp}}}"
    return _sig(eps)


# --------------------------------------------------------------------------- the family


@register
class OptimizerStep(ProblemFamily):
    """SGD / momentum / RMSProp / Adam steps by hand."""

    name = "optimizer-step"
    title = N_("Optimizer steps by hand")
    topic = "optimization"
    misconceptions = _MISCONCEPTIONS
    constraint_keys = {
        "optimizer": "'sgd', 'momentum', 'rmsprop', 'rmsprop-slides' or 'adam'",
        "steps": "1 or 2",
        "size": "number of parameters, 2 or 3",
    }

    def sample(self, rng: np.random.Generator, constraints: Mapping[str, Any]) -> Params:
        c = constraints
        opt = c.get("optimizer") or pick(rng, ["sgd", "momentum", "momentum", "rmsprop", "rmsprop-slides", "adam", "adam"])
        default_steps = 2 if opt in ("momentum", "rmsprop-slides") else int(rng.integers(1, 3))
        steps = int(c.get("steps") or default_steps)
        size = int(c.get("size") or rng.integers(2, 4))
        if opt not in OPTIMIZERS or steps not in (1, 2) or size not in (2, 3):
            raise ValueError(f"{self.name}: bad constraints {dict(c)}")
        theta = [pick(rng, [-1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0]) for _ in range(size)]
        positive = opt in ("rmsprop", "rmsprop-slides") and rng.random() < 0.6
        grads = []
        for _ in range(steps):
            g = [int(v) / 10 for v in rng.integers(1, 9, size=size)]
            if not positive:
                g = [v if rng.random() < 0.6 else -v for v in g]
            grads.append(g)
        params: Params = {"optimizer": opt, "theta": theta, "grads": grads}
        if opt in ("sgd", "momentum"):
            lr = pick(rng, [0.1, 0.2, 0.5])
            lrs = [lr] * steps
            if opt == "momentum" and steps == 2 and rng.random() < 0.5:
                lrs = [lr, lr / 2]  # a scheduler halves the learning rate after the first step
            params["lrs"] = lrs
            if opt == "momentum":
                params["momentum"] = pick(rng, [0.9, 0.8, 0.5])
        elif opt == "rmsprop":
            params["lrs"] = [pick(rng, [0.01, 0.02])] * steps
            params["alpha"] = pick(rng, [0.9, 0.99])
            params["eps"] = pick(rng, [1e-8, 0.01, 0.01])
        elif opt == "rmsprop-slides":
            params["lrs"] = [pick(rng, [0.1, 0.2])] * steps
            params["alpha"] = pick(rng, [0.9, 0.5])
        else:
            params["lrs"] = [pick(rng, [0.1, 0.2])] * steps
            params["betas"] = [0.9, 0.999]
            params["eps"] = pick(rng, [1e-8, 0.1, 0.1, 0.01])
        return params

    def parts(self, params: Params) -> list[Part]:
        n = len(params["theta"])
        return [
            Part(name, "vector", _LABELS[name], points=2.0 if name == "theta" else 1.0, tolerance=TOL, length=n, partial=True)
            for name in _names(params)
        ]

    def solve(self, params: Params) -> Response:
        return _solve(params)

    def hint(self, params: Params, part: Part, given: Any) -> Wording | None:
        return Text("Apply the update rule in the statement entry by entry: %(rule)s", rule=Text(_RULES[params["optimizer"]]))

    # ---- text -------------------------------------------------------------------------------

    def render(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        opt, lrs, grads = params["optimizer"], params["lrs"], params["grads"]
        steps = len(grads)
        hyper = []
        if len(set(lrs)) == 1:
            hyper.append(f"\\eta = {_sig(lrs[0])}")
        else:
            hyper.append(f"\\eta_1 = {_sig(lrs[0])},\\ \\eta_2 = {_sig(lrs[1])}")
        if opt == "momentum":
            hyper.append(f"\\mu = {_sig(params['momentum'])}")
        if opt in ("rmsprop", "rmsprop-slides"):
            hyper.append(f"\\alpha = {_sig(params['alpha'])}")
        if opt == "adam":
            hyper.append(f"\\beta_1 = {params['betas'][0]},\\ \\beta_2 = {params['betas'][1]}")
        if opt in ("rmsprop", "adam"):
            hyper.append(f"\\epsilon = {_eps_tex(params['eps'])}")
        hyper_tex = ",\\ ".join(hyper)
        gl = ",\\quad ".join(f"g^{{({t + 1})}} = {_tv(g)}" for t, g in enumerate(grads))
        asks = {
            "theta": _("the parameters $\\theta$"),
            "buffer": _("PyTorch's momentum buffer `momentum_buffer` $b$"),
            "v": _("the running average of squared gradients $v$ (`square_avg`)"),
            "sigma": "$\\sigma$",
            "m_hat": _("the bias-corrected $\\hat m$"),
            "v_hat": _("the bias-corrected $\\hat v$"),
        }
        wanted = join_list((asks[n] for n in _names(params)), lang)
        task = (
            _("Give %(wanted)s after the step (all state starts at 0).")
            if steps == 1
            else _("Give %(wanted)s after the second step (all state starts at 0).")
        )
        lines = [
            Plural(
                "Update the parameters $\\theta^{(0)} = %(theta)s$ with **%(optimizer)s** for %(n)d step, "
                "hyperparameters $%(hyper)s$.",
                "Update the parameters $\\theta^{(0)} = %(theta)s$ with **%(optimizer)s** for %(n)d steps, "
                "hyperparameters $%(hyper)s$.",
                steps,
                theta=_tv(params["theta"]),
                optimizer=_(_OPT_NAMES[opt]),
                hyper=hyper_tex,
            )(lang),
            _(_RULES[opt]),
            _("The gradients of the steps are given: %(gradients)s") % {"gradients": f"$${gl}$$"},
            task % {"wanted": wanted},
            _(
                "*Answer format*: each vector in parameter order, comma-separated, e.g. `0.98, -0.47`; at least "
                "%(sigfigs)d significant figures (within %(percent)s %% or correct to %(sigfigs)d significant "
                "figures is accepted)."
            )
            % {"sigfigs": TOL.sigfigs, "percent": _sig(100 * (TOL.rel or 0))},
        ]
        return "\n\n".join(lines) + "\n"

    def explain(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        opt = params["optimizer"]
        out = [_("**Step by step** (all operations element-wise)")]
        theta = np.asarray(params["theta"], dtype=float)
        state: dict[str, Any] | None = None
        for t, g in enumerate(params["grads"], start=1):
            g_arr = np.asarray(g, dtype=float)
            lr = params["lrs"][t - 1]
            line = [_("*Step %(step)d*: %(gradient)s") % {"step": t, "gradient": f"$g = {_tv(g)}$"}]
            if opt == "sgd":
                theta, state = sgd_step(theta, g_arr, state, lr=lr)
                line.append(f"$\\theta \\leftarrow \\theta - {_sig(lr)}\\, g = {_tv(_vec(theta))}$")
            elif opt == "momentum":
                theta, state = momentum_step(theta, g_arr, state, lr=lr, momentum=params["momentum"])
                rule = "b = g" if t == 1 else f"b \\leftarrow {_sig(params['momentum'])}\\, b + g"
                line.append(f"${rule} = {_tv(_vec(state['momentum_buffer']))}$")
                line.append(f"$\\theta \\leftarrow \\theta - {_sig(lr)}\\, b = {_tv(_vec(theta))}$")
            elif opt == "rmsprop":
                theta, state = rmsprop_step(theta, g_arr, state, lr=lr, alpha=params["alpha"], eps=params["eps"])
                a = params["alpha"]
                line.append(f"$v \\leftarrow {_sig(a)}\\, v + {_sig(1 - a)}\\, g^2 = {_tv(_vec(state['square_avg']), 6)}$")
                line.append(
                    f"$\\sqrt{{v}} = {_tv(_vec(np.sqrt(state['square_avg'])))}$, "
                    f"$\\theta \\leftarrow \\theta - {_sig(lr)}\\, g / (\\sqrt{{v}} + {_eps_tex(params['eps'])}) = {_tv(_vec(theta))}$"
                )
            elif opt == "rmsprop-slides":
                theta, state = rmsprop_step_slides(theta, g_arr, state, lr=lr, alpha=params["alpha"])
                a = params["alpha"]
                rule = "\\sigma = |g|" if t == 1 else f"\\sigma \\leftarrow \\sqrt{{{_sig(a)}\\, \\sigma^2 + {_sig(1 - a)}\\, g^2}}"
                line.append(f"${rule} = {_tv(_vec(state['sigma']))}$")
                line.append(f"$\\theta \\leftarrow \\theta - \\frac{{{_sig(lr)}}}{{\\sigma}}\\, g = {_tv(_vec(theta))}$")
            else:
                b1, b2 = params["betas"]
                theta, state = adam_step(theta, g_arr, state, lr=lr, betas=(b1, b2), eps=params["eps"])
                m, v = np.asarray(state["exp_avg"]), np.asarray(state["exp_avg_sq"])
                mh, vh = m / (1 - b1**t), v / (1 - b2**t)
                line.append(f"$m \\leftarrow {b1}\\, m + {_sig(1 - b1)}\\, g = {_tv(_vec(m), 6)}$")
                line.append(f"$v \\leftarrow {b2}\\, v + {_sig(1 - b2)}\\, g^2 = {_tv(_vec(v), 6)}$")
                line.append(
                    f"$\\hat m = m / (1 - {b1}^{t}) = {_tv(_vec(mh))}$, $\\hat v = v / (1 - {b2}^{t}) = {_tv(_vec(vh), 6)}$"
                )
                line.append(
                    f"$\\theta \\leftarrow \\theta - {_sig(lr)}\\, \\hat m / (\\sqrt{{\\hat v}} + {_eps_tex(params['eps'])}) = {_tv(_vec(theta))}$"
                )
            out.append("\n\n".join(line))
        ans = _solve(params)
        out.append(
            _("**Answer**: %(values)s") % {"values": "; ".join(f"{_(_LABELS[k])} = ${_tv(v)}$" for k, v in ans.items())}
        )
        return "\n\n".join(out) + "\n"


_OPT_NAMES = {
    "sgd": N_("SGD"),
    "momentum": N_("SGD with momentum (PyTorch)"),
    "rmsprop": N_("RMSProp (PyTorch)"),
    "rmsprop-slides": N_("RMSProp as in the course slides"),
    "adam": N_("Adam (PyTorch)"),
}
_RULES = {
    "sgd": N_("$\\theta \\leftarrow \\theta - \\eta\\, g$."),
    "momentum": N_(
        "PyTorch form: $b \\leftarrow g$ on the first step, then $b \\leftarrow \\mu b + g$; "
        "$\\theta \\leftarrow \\theta - \\eta\\, b$."
    ),
    "rmsprop": N_(
        "PyTorch form: $v \\leftarrow \\alpha v + (1 - \\alpha) g^2$ with $v = 0$ at the start; "
        "$\\theta \\leftarrow \\theta - \\eta\\, g / (\\sqrt{v} + \\epsilon)$."
    ),
    "rmsprop-slides": N_(
        "The slides' form: $\\sigma^0 = |g^0|$, $\\sigma^t = \\sqrt{\\alpha (\\sigma^{t-1})^2 + (1 - \\alpha)(g^t)^2}$, "
        "$\\theta^{t+1} = \\theta^t - \\frac{\\eta}{\\sigma^t} g^t$ (no $\\epsilon$)."
    ),
    "adam": N_(
        "PyTorch form: $m \\leftarrow \\beta_1 m + (1 - \\beta_1) g$, $v \\leftarrow \\beta_2 v + (1 - \\beta_2) g^2$ "
        "(from 0), $\\hat m = m / (1 - \\beta_1^t)$, $\\hat v = v / (1 - \\beta_2^t)$ with $t$ counted from 1, "
        "$\\theta \\leftarrow \\theta - \\eta\\, \\hat m / (\\sqrt{\\hat v} + \\epsilon)$."
    ),
}
