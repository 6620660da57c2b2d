"""Family ``softmax-ce-kl``: softmax, sigmoid, entropy, cross-entropy and KL divergence by hand.

Three kinds of variant (``params["variant"]``), each in bits or nats as the statement says:

* ``logits``: logits ``z`` (3–4 classes) and a true class ``y``. Parts ``probs`` (softmax
  probabilities, a vector), ``sigmoid`` (``σ(z_j)`` of one logit, as an independent multi-label
  output would give) and ``loss`` (the cross-entropy ``−log softmax(z)_y``).
* ``distributions``: a true distribution ``p`` and a prediction ``q``; a subset of ``entropy``
  ``H(p)``, ``cross_entropy`` ``H(p, q)``, ``kl_pq`` ``KL(p‖q)`` and ``kl_qp`` ``KL(q‖p)``
  (always at least one KL).
* ``logits-target``: logits ``z`` and a soft target ``p`` (label smoothing): ``probs``
  (``q = softmax(z)``), ``cross_entropy`` ``H(p, q)`` and ``kl_pq`` ``KL(p‖q)``.

Every value comes from ``grader.reference`` (``softmax``, ``sigmoid``, ``entropy``,
``cross_entropy``, ``kl_divergence``, ``softmax_cross_entropy``). Numbers are accepted within
0.1 % or when correct to 3 significant figures (stated in the problem).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from grader.answers import Tolerance
from grader.i18n import N_, Text, Wording, gettext_for
from grader.problems import register
from grader.problems.base import Misconception, Params, Part, ProblemFamily, Response, fmt_decimal
from grader.reference import (
    cross_entropy,
    entropy,
    kl_divergence,
    sigmoid,
    softmax,
    softmax_cross_entropy,
)

TOL = Tolerance(rel=1e-3, abs=1e-9, sigfigs=3)
#: The relative tolerance as the statements word it: "0.1 %".
_TOLERANCE = f"{TOL.rel * 100:g} %"
VARIANTS = ("logits", "distributions", "logits-target")
UNITS = ("nats", "bits")
_LOG_PARTS = ("loss", "entropy", "cross_entropy", "kl_pq", "kl_qp")

_LABELS: dict[str, str] = {
    "probs": N_("softmax probabilities"),
    "sigmoid": N_("sigmoid σ(z_j)"),
    "loss": N_("cross-entropy loss"),
    "entropy": N_("H(p)"),
    "cross_entropy": N_("H(p, q)"),
    "kl_pq": N_("KL(p‖q)"),
    "kl_qp": N_("KL(q‖p)"),
}
_POINTS = {"probs": 2.0}


def _part(name: str, n_classes: int) -> Part:
    if name == "probs":
        return Part(name, "vector", _LABELS[name], points=2.0, tolerance=TOL, length=n_classes, partial=True)
    return Part(name, "number", _LABELS[name], points=_POINTS.get(name, 1.0), tolerance=TOL)


def _names(params: Params) -> list[str]:
    v = params["variant"]
    if v == "logits":
        return ["probs", "sigmoid", "loss"]
    if v == "logits-target":
        return ["probs", "cross_entropy", "kl_pq"]
    return list(params["asked"])


def _base(unit: str) -> float:
    return 2.0 if unit == "bits" else math.e


def _other(unit: str) -> str:
    return "nats" if unit == "bits" else "bits"


# --------------------------------------------------------------------------- computation


def _q(params: Params) -> np.ndarray:
    """The predicted distribution: ``softmax(z)`` or the given ``q``."""
    if "logits" in params:
        return np.asarray(softmax(params["logits"]))
    return np.asarray(params["q"], dtype=float)


def _values(params: Params, unit: str | None = None) -> Response:
    """All asked values in ``unit`` (default: the stated one)."""
    unit = unit or params["unit"]
    base = _base(unit)
    out: Response = {}
    names = _names(params)
    if "probs" in names:
        out["probs"] = [float(v) for v in _q(params)]
    if "sigmoid" in names:
        out["sigmoid"] = float(sigmoid(params["logits"][params["sigmoid_index"]]))
    if "loss" in names:
        out["loss"] = float(softmax_cross_entropy(params["logits"], np.int64(params["target"]), base))
    p = np.asarray(params.get("p", []), dtype=float)
    q = _q(params)
    if "entropy" in names:
        out["entropy"] = float(entropy(p, base))
    if "cross_entropy" in names:
        if "logits" in params:
            out["cross_entropy"] = float(softmax_cross_entropy(params["logits"], p, base))
        else:
            out["cross_entropy"] = float(cross_entropy(p, q, base))
    if "kl_pq" in names:
        out["kl_pq"] = float(kl_divergence(p, q, base))
    if "kl_qp" in names:
        out["kl_qp"] = float(kl_divergence(q, p, base))
    return {n: out[n] for n in names}


# --------------------------------------------------------------------------- misconceptions


def _wrong_base(params: Params) -> Response | None:
    other = _values(params, _other(params["unit"]))
    return {k: v for k, v in other.items() if k in _LOG_PARTS} or None


def _kl_parts_by(params: Params, measure: Callable[..., Any], *, swapped: bool) -> Response | None:
    """The KL parts computed with another measure and/or the arguments swapped (two misconceptions)."""
    names = _names(params)
    if "kl_pq" not in names and "kl_qp" not in names:
        return None
    base = _base(params["unit"])
    p, q = np.asarray(params["p"], dtype=float), _q(params)
    first, second = (q, p) if swapped else (p, q)
    out: Response = {}
    if "kl_pq" in names:
        out["kl_pq"] = float(measure(first, second, base))
    if "kl_qp" in names:
        out["kl_qp"] = float(measure(second, first, base))
    return out


def _kl_swapped(params: Params) -> Response | None:
    return _kl_parts_by(params, kl_divergence, swapped=True)


def _ce_for_kl(params: Params) -> Response | None:
    return _kl_parts_by(params, cross_entropy, swapped=False)


def _sigmoid_for_softmax(params: Params) -> Response | None:
    """Each class squashed on its own with σ (not a distribution), then used as the prediction."""
    if "logits" not in params:
        return None
    s = np.asarray(sigmoid(params["logits"]))
    ln_base = math.log(_base(params["unit"]))
    out: Response = {"probs": [float(v) for v in s]}
    if params["variant"] == "logits":
        out["loss"] = float(-math.log(s[params["target"]]) / ln_base)
    else:
        # −Σ p log σ(z) and Σ p log(p/σ(z)): the misconception's own formulas (σ(z) does not sum to 1,
        # so the reference functions rightly refuse it).
        p = np.asarray(params["p"], dtype=float)
        out["cross_entropy"] = float(-np.sum(p * np.log(s)) / ln_base)
        out["kl_pq"] = float(np.sum(p * (np.log(p) - np.log(s))) / ln_base)
    return out


def _softmax_for_sigmoid(params: Params) -> Response | None:
    if params["variant"] != "logits":
        return None
    return {"sigmoid": float(softmax(params["logits"])[params["sigmoid_index"]])}


def _forgot_minus(params: Params) -> Response | None:
    vals = _values(params)
    return {k: -v for k, v in vals.items() if k in _LOG_PARTS} or None


_MISCONCEPTIONS = (
    Misconception(
        "wrong-log-base",
        N_(
            "You used the wrong logarithm: the problem asks for the stated unit — bits use $\\log_2$, nats the "
            "natural log $\\ln$. They differ by a constant factor: $H_\\text{bits} = H_\\text{nats} / \\ln 2$."
        ),
        _wrong_base,
    ),
    Misconception(
        "kl-direction-swapped",
        N_(
            "You swapped the direction of the KL divergence: $\\mathrm{KL}(p\\,\\|\\,q) = \\sum_i p_i \\log(p_i/q_i)$ "
            "takes the expectation under the *first* argument $p$; it is not symmetric, so "
            "$\\mathrm{KL}(q\\,\\|\\,p)$ is a different number."
        ),
        _kl_swapped,
    ),
    Misconception(
        "cross-entropy-for-kl",
        N_(
            "You gave the cross-entropy where the KL divergence was asked: "
            "$\\mathrm{KL}(p\\,\\|\\,q) = H(p, q) - H(p)$ — subtract the entropy of the first distribution."
        ),
        _ce_for_kl,
    ),
    Misconception(
        "sigmoid-instead-of-softmax",
        N_(
            "You applied the sigmoid to each logit separately; softmax normalizes over the classes: "
            "$q_i = e^{z_i} / \\sum_j e^{z_j}$, so the probabilities sum to 1 (sigmoid outputs need not)."
        ),
        _sigmoid_for_softmax,
    ),
    Misconception(
        "softmax-instead-of-sigmoid",
        N_(
            "You gave the softmax probability; the sigmoid looks at one logit alone: "
            "$\\sigma(z_j) = 1 / (1 + e^{-z_j})$, independent of the other classes (multi-label outputs)."
        ),
        _softmax_for_sigmoid,
    ),
    Misconception(
        "forgot-minus-sign",
        N_(
            "Your value has the wrong sign: entropy and cross-entropy are $-\\sum p \\log(\\cdot)$ — the logarithm of a "
            "probability is negative, so the minus sign makes them $\\ge 0$; and "
            "$\\mathrm{KL}(p\\,\\|\\,q) = \\sum p \\log(p/q) \\ge 0$."
        ),
        _forgot_minus,
    ),
)


# --------------------------------------------------------------------------- text helpers


def _vec(values: list[float], digits: int = 4) -> str:
    return "(" + ",\\ ".join(fmt_decimal(v, digits) for v in values) + ")"


def _log_sym(unit: str) -> str:
    return "\\log_2" if unit == "bits" else "\\ln"


# --------------------------------------------------------------------------- the family


@register
class SoftmaxCeKl(ProblemFamily):
    """Softmax / sigmoid probabilities, entropy, cross-entropy and KL divergence, by hand."""

    name = "softmax-ce-kl"
    title = N_("Softmax, cross-entropy and KL divergence")
    topic = "losses"
    misconceptions = _MISCONCEPTIONS
    constraint_keys = {
        "variant": "'logits', 'distributions' or 'logits-target'",
        "unit": "'nats' or 'bits'",
        "classes": "number of classes, 3 or 4",
        "asked": "for 'distributions': the quantities asked, a subset of entropy, cross_entropy, kl_pq, kl_qp",
    }

    def sample(self, rng: np.random.Generator, constraints: Mapping[str, Any]) -> Params:
        c = constraints
        variant = c.get("variant") or VARIANTS[int(rng.choice(3, p=[0.35, 0.4, 0.25]))]
        unit = c.get("unit") or UNITS[int(rng.integers(2))]
        n = int(c.get("classes") or rng.integers(3, 5))
        if variant not in VARIANTS or unit not in UNITS or n not in (3, 4):
            raise ValueError(f"{self.name}: bad constraints {dict(c)}")
        params: Params = {"variant": variant, "unit": unit}
        if variant in ("logits", "logits-target"):
            while True:
                z = rng.integers(-4, 7, size=n) / 2  # halves in [-2, 3]
                if np.ptp(z) >= 1 and np.ptp(z) <= 4 and len(set(z.tolist())) >= 2:
                    break
            params["logits"] = [float(v) if not float(v).is_integer() else int(v) for v in z]
        if variant == "logits":
            params["target"] = int(rng.integers(n))
            params["sigmoid_index"] = int(rng.integers(n))
            return params
        if variant == "logits-target":
            # Label smoothing: 1 − ε on the true class, ε spread over the others.
            y = int(rng.integers(n))
            # ε / (n − 1) is a short decimal: 0.05, 0.1 or 0.15.
            eps = float(rng.choice([0.1, 0.2, 0.3] if n == 3 else [0.15, 0.3]))
            p = [round(eps / (n - 1), 6)] * n
            p[y] = round(1 - eps, 6)
            params["p"] = p
            return params
        while True:
            p = _partition(rng, n)
            q = _partition(rng, n)
            kpq = float(kl_divergence(p, q))
            kqp = float(kl_divergence(q, p))
            if kpq >= 0.15 and kqp >= 0.15 and abs(kpq - kqp) > 0.02 * max(kpq, kqp):
                break
        params["p"], params["q"] = p, q
        options = [
            ["entropy", "cross_entropy", "kl_pq"],
            ["kl_pq", "kl_qp"],
            ["entropy", "cross_entropy", "kl_pq", "kl_qp"],
            ["cross_entropy", "kl_pq"],
        ]
        asked = c.get("asked")
        if asked is not None:
            known = ["entropy", "cross_entropy", "kl_pq", "kl_qp"]
            if not asked or any(a not in known for a in asked):
                raise ValueError(f"{self.name}: 'asked' must be a non-empty subset of {known}, got {asked!r}")
            params["asked"] = [a for a in known if a in asked]  # a fixed order, whatever the lab wrote
        else:
            params["asked"] = options[int(rng.integers(len(options)))]
        return params

    def parts(self, params: Params) -> list[Part]:
        n = len(params.get("logits") or params["p"])
        return [_part(name, n) for name in _names(params)]

    def solve(self, params: Params) -> Response:
        return _values(params)

    def hint(self, params: Params, part: Part, given: Any) -> Wording | None:
        return Text(_HINTS[part.name])

    # ---- text -------------------------------------------------------------------------------

    def render(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        v, unit = params["variant"], params["unit"]
        log = _log_sym(unit)
        lines: list[str] = []
        if "logits" in params:
            z = params["logits"]
            zs = ",\\ ".join(fmt_decimal(x) for x in z)
            lines.append(
                _("A classifier outputs the logits $z = (%(logits)s)$ for %(n)d classes (class 0 … %(last)d).")
                % {"logits": zs, "n": len(z), "last": len(z) - 1}
            )
        if v == "logits":
            y, j = params["target"], params["sigmoid_index"]
            lines.append(
                _(
                    "1. Compute the softmax probabilities $q_i = e^{z_i} / \\sum_k e^{z_k}$ (all %(n)d values, in "
                    "class order).\n"
                    "2. If instead every class were an independent yes/no output (multi-label, one sigmoid per "
                    "class), what would the probability of class %(j)d, $\\sigma(z_{%(j)d})$, be?\n"
                    "3. The true class is $y = %(y)d$. Compute the cross-entropy loss $-%(log)s q_{%(y)d}$ "
                    "in **%(unit)s** (use $%(log)s$)."
                )
                % {"n": len(params["logits"]), "j": j, "y": y, "log": log, "unit": unit}
            )
        else:
            p = params["p"]
            if v == "logits-target":
                lines.append(
                    _(
                        "Training uses label smoothing: the target distribution is $p = %(p)s$, and the "
                        "model's prediction is $q = \\mathrm{softmax}(z)$."
                    )
                    % {"p": _vec(p)}
                )
            else:
                lines.append(
                    _("Over %(n)d classes, the true distribution is $p = %(p)s$ and the model predicts $q = %(q)s$.")
                    % {"n": len(p), "p": _vec(p), "q": _vec(params["q"])}
                )
            items = [
                _("$q = \\mathrm{softmax}(z)$ (in class order)") if name == "probs" else _(_DEFS[name])
                for name in _names(params)
            ]
            intro = _(
                "Compute, in **%(unit)s** (use $%(log)s$) ($p$, the true distribution, is the first argument):"
            ) % {"unit": unit, "log": log}
            lines.append(intro + "\n" + "\n".join(f"{i}. {t}" for i, t in enumerate(items, start=1)))
        lines.append(
            _(
                "*Answer format*: give each number to at least 3 significant figures (within %(tolerance)s or "
                "correct to 3 significant figures is accepted); a probability vector as comma- or space-separated "
                "values, e.g. `0.1, 0.2, 0.7`."
            )
            % {"tolerance": _TOLERANCE}
        )
        return "\n\n".join(lines) + "\n"

    def explain(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        unit = params["unit"]
        log = _log_sym(unit)
        ans = self.solve(params)
        out: list[str] = []
        if "logits" in params:
            z = params["logits"]
            ez = [math.exp(x) for x in z]
            total = sum(ez)
            out.append("**Softmax**")
            out.append(
                "$$" + ",\\ ".join(f"e^{{{fmt_decimal(x)}}} = {fmt_decimal(e)}" for x, e in zip(z, ez, strict=True))
                + f",\\qquad \\sum_k e^{{z_k}} = {fmt_decimal(total)}$$"
            )
            q = [float(x) for x in softmax(z)]
            out.append(f"$$q = \\mathrm{{softmax}}(z) = {_vec(q)}$$")
            out.append(_("(They sum to 1.)"))
        if params["variant"] == "logits":
            j, y = params["sigmoid_index"], params["target"]
            zj = params["logits"][j]
            out.append("**Sigmoid**")
            out.append(
                f"$$\\sigma(z_{{{j}}}) = \\frac{{1}}{{1 + e^{{-({fmt_decimal(zj)})}}}} = {fmt_decimal(ans['sigmoid'])}$$"
            )
            out.append(_("The sigmoid looks at one logit only; the other classes do not matter."))
            out.append(_("**Cross-entropy loss**"))
            qy = float(softmax(params["logits"])[y])
            out.append(f"$$-{log} q_{{{y}}} = -{log} {fmt_decimal(qy, 5)} = {fmt_decimal(ans['loss'])}\\ \\text{{{unit}}}$$")
            out.append(_summary(ans, unit, lang))
            return "\n\n".join(out) + "\n"
        p = [float(x) for x in params["p"]]
        q = [float(x) for x in _q(params)]
        names = _names(params)

        def terms(a: list[float], b: list[float]) -> str:
            return " + ".join(f"{fmt_decimal(x)}\\,{log}\\,{fmt_decimal(y, 4)}" for x, y in zip(a, b, strict=True))

        h_p = float(entropy(p, _base(unit)))
        h_pq = float(cross_entropy(p, q, _base(unit)))
        if "entropy" in names or "kl_pq" in names:
            out.append(_("**Entropy**"))
            out.append(f"$$H(p) = -\\left({terms(p, p)}\\right) = {fmt_decimal(h_p)}$$")
        if "cross_entropy" in names or "kl_pq" in names:
            out.append(_("**Cross-entropy**"))
            out.append(f"$$H(p, q) = -\\left({terms(p, q)}\\right) = {fmt_decimal(h_pq)}$$")
        if "kl_pq" in names:
            out.append(_("**KL divergence**"))
            ratio = " + ".join(f"{fmt_decimal(a)}\\,{log}\\frac{{{fmt_decimal(a)}}}{{{fmt_decimal(b, 4)}}}" for a, b in zip(p, q, strict=True))
            out.append(
                f"$$\\mathrm{{KL}}(p\\,\\|\\,q) = \\sum_i p_i {log}\\frac{{p_i}}{{q_i}} = {ratio} = {fmt_decimal(ans['kl_pq'])}$$"
            )
            out.append(
                _("Equivalently $H(p, q) - H(p) = %(cross_entropy)s - %(entropy)s$.")
                % {"cross_entropy": fmt_decimal(h_pq), "entropy": fmt_decimal(h_p)}
            )
        if "kl_qp" in names:
            ratio = " + ".join(f"{fmt_decimal(b, 4)}\\,{log}\\frac{{{fmt_decimal(b, 4)}}}{{{fmt_decimal(a)}}}" for a, b in zip(p, q, strict=True))
            out.append(
                f"$$\\mathrm{{KL}}(q\\,\\|\\,p) = \\sum_i q_i {log}\\frac{{q_i}}{{p_i}} = {ratio} = {fmt_decimal(ans['kl_qp'])}$$"
            )
            out.append(_("KL is not symmetric: the two directions differ."))
        out.append(_summary(ans, unit, lang))
        return "\n\n".join(out) + "\n"


def _summary(ans: Response, unit: str, lang: str) -> str:
    _ = gettext_for(lang)

    def value(v: Any) -> str:
        return f"${_vec(v)}$" if isinstance(v, list) else f"${fmt_decimal(v)}$"

    body = "; ".join(f"{_(_LABELS[k])} = {value(v)}" for k, v in ans.items())
    return _("**Answer** (logarithmic values in %(unit)s): %(answers)s") % {"unit": unit, "answers": body}


def _partition(rng: np.random.Generator, n: int) -> list[float]:
    """A random distribution over ``n`` classes in steps of 0.05, every entry ≥ 0.05."""
    while True:
        cuts = np.sort(rng.choice(np.arange(1, 20), size=n - 1, replace=False))
        parts = np.diff(np.concatenate(([0], cuts, [20])))
        if parts.min() >= 1:
            return [round(int(k) / 20, 2) for k in parts]


_DEFS = {
    "entropy": N_("the entropy $H(p)$"),
    "cross_entropy": N_("the cross-entropy $H(p, q)$"),
    "kl_pq": N_("the KL divergence $\\mathrm{KL}(p\\,\\|\\,q)$"),
    "kl_qp": N_("the KL divergence in the other direction, $\\mathrm{KL}(q\\,\\|\\,p)$"),
}

_HINTS = {
    "probs": N_("Exponentiate every logit, then divide each by the sum of all of them."),
    "sigmoid": N_("$\\sigma(z) = 1/(1 + e^{-z})$ of that one logit."),
    "loss": N_("Take minus the log (in the stated base) of the softmax probability of the true class."),
    "entropy": N_("$H(p) = -\\sum_i p_i \\log p_i$."),
    "cross_entropy": N_("$H(p, q) = -\\sum_i p_i \\log q_i$."),
    "kl_pq": N_("$\\mathrm{KL}(p\\,\\|\\,q) = \\sum_i p_i \\log(p_i / q_i)$."),
    "kl_qp": N_("$\\mathrm{KL}(q\\,\\|\\,p) = \\sum_i q_i \\log(q_i / p_i)$."),
}
