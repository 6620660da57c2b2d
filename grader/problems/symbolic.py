"""Family ``symbolic``: formula answers, checked for equivalence with sympy, plus a numeric check.

Topics (``params["topic"]``), each with two parts, ``formula`` (an expression) and ``value``
(the formula evaluated for the given numbers):

* ``output-size``: the convolution output size in ``n, k, p, s`` (``size-dilated`` adds ``d``:
  ``k_eff = d(k − 1) + 1``). The statement says to assume the division is exact, so the answer
  needs no floor; ``floor(...)`` / ``⌊...⌋`` is accepted and read as plain brackets.
* ``same-padding``: with stride 1, the padding ``p`` (in ``k``) that keeps the size.
* ``conv-params``: the number of parameters of a conv layer in ``C_in, C_out, k``, with or
  without bias as stated (value: an integer).
* ``activation-derivative``: ``σ'(x)`` or ``tanh'(x)`` written with ``σ(x)`` / ``tanh(x)``
  (typed ``σ``, ``sigma``, ``sigmoid(x)``, ``tanh``); value: the derivative where ``σ(x)`` (or
  ``tanh x``) has a given value.

Expressions go through ``grader.answers.parse_expression`` (whitelisted tokens, at most 200
characters) after this module's own normalization (aliases, ``floor``) and a guard against
power towers and huge exponents (``x**10**10`` is a format error, not a slow computation);
equivalence is ``grader.answers.expressions_equal`` (numerical, at fixed random points),
memoized here because sympy parsing costs about a millisecond per call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction
from functools import cache, lru_cache
from typing import Any

import numpy as np

from grader import answers
from grader.answers import AnswerFormatError, Tolerance
from grader.i18n import N_, Text, Wording, gettext_for
from grader.problems import register
from grader.problems.base import Misconception, Params, Part, ProblemFamily, Response, pick

TOPICS = ("output-size", "size-dilated", "same-padding", "conv-params", "activation-derivative")
SYMBOLS: dict[str, tuple[str, ...]] = {
    "output-size": ("n", "k", "p", "s"),
    "size-dilated": ("n", "k", "p", "s", "d"),
    "same-padding": ("k",),
    "conv-params": ("C_in", "C_out", "k"),
    "activation-derivative": ("x",),
}
#: Largest literal exponent accepted in a formula (none of the answers needs more than 2).
MAX_EXPONENT = 100
TOL = Tolerance(rel=1e-3, abs=1e-9, sigfigs=3)

Formula = tuple[str, Any]  # (sympy-syntax text, the same formula as a function of the numbers)

_SIZE: dict[str, Formula] = {
    "": ("(n + 2*p - k)/s + 1", lambda v: Fraction(v["n"] + 2 * v["p"] - v["k"], v["s"]) + 1),
    "plus-one": ("(n + 2*p - k)/s", lambda v: Fraction(v["n"] + 2 * v["p"] - v["k"], v["s"])),
    "one-side": ("(n + p - k)/s + 1", lambda v: Fraction(v["n"] + v["p"] - v["k"], v["s"]) + 1),
}
_SIZE_D: dict[str, Formula] = {
    "": ("(n + 2*p - d*(k - 1) - 1)/s + 1", lambda v: Fraction(v["n"] + 2 * v["p"] - v["d"] * (v["k"] - 1) - 1, v["s"]) + 1),
    "plus-one": ("(n + 2*p - d*(k - 1) - 1)/s", lambda v: Fraction(v["n"] + 2 * v["p"] - v["d"] * (v["k"] - 1) - 1, v["s"])),
    "one-side": ("(n + p - d*(k - 1) - 1)/s + 1", lambda v: Fraction(v["n"] + v["p"] - v["d"] * (v["k"] - 1) - 1, v["s"]) + 1),
    "dilation": _SIZE[""],
}
# n = n + 2p - k + 1  →  p = (k - 1)/2; without the +1, p = k/2; with p for 2p, p = k - 1.
_SAME: dict[str, Formula] = {
    "": ("(k - 1)/2", lambda v: Fraction(v["k"] - 1, 2)),
    "plus-one": ("k/2", lambda v: Fraction(v["k"], 2)),
    "one-side": ("k - 1", lambda v: Fraction(v["k"] - 1)),
}
_PARAMS_BIAS: dict[str, Formula] = {
    "": ("C_out*(C_in*k**2 + 1)", lambda v: v["C_out"] * (v["C_in"] * v["k"] ** 2 + 1)),
    "c-in": ("C_out*(k**2 + 1)", lambda v: v["C_out"] * (v["k"] ** 2 + 1)),
    "bias": ("C_in*C_out*k**2", lambda v: v["C_in"] * v["C_out"] * v["k"] ** 2),
    "k-squared": ("C_out*(C_in*k + 1)", lambda v: v["C_out"] * (v["C_in"] * v["k"] + 1)),
}
_PARAMS_NO_BIAS: dict[str, Formula] = {
    "": ("C_in*C_out*k**2", lambda v: v["C_in"] * v["C_out"] * v["k"] ** 2),
    "c-in": ("C_out*k**2", lambda v: v["C_out"] * v["k"] ** 2),
    "k-squared": ("C_in*C_out*k", lambda v: v["C_in"] * v["C_out"] * v["k"]),
}
_SIGMOID: dict[str, Formula] = {
    "": ("sigmoid(x)*(1 - sigmoid(x))", lambda a: a * (1 - a)),
    "factor": ("sigmoid(x)", lambda a: a),
}
_TANH: dict[str, Formula] = {
    "": ("1 - tanh(x)**2", lambda a: 1 - a * a),
    "factor": ("1 - tanh(x)", lambda a: 1 - a),
}


_ALL_FORMULAS = frozenset(f for t in (_SIZE, _SIZE_D, _SAME, _PARAMS_BIAS, _PARAMS_NO_BIAS, _SIGMOID, _TANH) for f, _ in t.values())


def _table(params: Params) -> dict[str, Formula]:
    topic = params["topic"]
    if topic == "output-size":
        return _SIZE
    if topic == "size-dilated":
        return _SIZE_D
    if topic == "same-padding":
        return _SAME
    if topic == "conv-params":
        return _PARAMS_BIAS if params["bias"] else _PARAMS_NO_BIAS
    return _SIGMOID if params["function"] == "sigmoid" else _TANH


def _formula(params: Params, twist: str = "") -> str | None:
    """The formula of the variant (``twist`` = a misconception's version; None if n/a)."""
    entry = _table(params).get(twist)
    return None if entry is None else entry[0]


def _value(params: Params, twist: str = "") -> int | float | None:
    """The formula at the variant's numbers, exactly; None where a whole number is needed and
    the misconception's formula does not give one (nobody would type 12.5 layers' worth)."""
    entry = _table(params).get(twist)
    if entry is None:
        return None
    if params["topic"] == "activation-derivative":
        return float(entry[1](Fraction(str(params["at"]))))
    val = Fraction(entry[1](params["numbers"]))
    return int(val) if val.denominator == 1 else None


def _answer(params: Params, twist: str = "") -> Response | None:
    formula = _formula(params, twist)
    if formula is None:
        return None
    out: Response = {"formula": formula}
    value = _value(params, twist)
    if value is not None:
        out["value"] = value
    return out


# --------------------------------------------------------------------------- parsing


_ALIASES_C = [
    (re.compile(r"\bC_?\{?\s*in\s*\}?(?![A-Za-z0-9_])", re.IGNORECASE), "C_in"),
    (re.compile(r"\bC_?\{?\s*out\s*\}?(?![A-Za-z0-9_])", re.IGNORECASE), "C_out"),
]
_POW = r"(?:\*\*|\^)"
_TOKEN = re.compile(r"\s*(\*\*|\d+(?:\.\d*)?|\.\d+|[A-Za-z_][A-Za-z_0-9]*|\S)")


def _normalize(text: str, topic: str) -> str:
    """This family's reading of a formula before the generic parser: aliases and floor."""
    text = answers.normalize_text(text).replace("×", "*").replace("·", "*").strip()
    if topic in ("output-size", "size-dilated", "same-padding"):
        # "Assume the division is exact": floor(...) is then the identity; ⌊...⌋ likewise.
        text = re.sub(r"\bfloor\s*\(", "(", text).replace("⌊", "(").replace("⌋", ")")
    if topic == "conv-params":
        for pattern, name in _ALIASES_C:
            text = pattern.sub(name, text)
    if topic == "activation-derivative":
        # σ and sigma stand for the value σ(x), as in the course's σ(1 − σ): "σ(x)" is the
        # function at x, but any other "σ(...)" is a product σ·(...).
        text = re.sub(r"(?:σ|\bsigma\b)\s*\(\s*x\s*\)", "sigmoid(x)", text)
        text = re.sub(r"σ|\bsigma\b", "sigmoid(x)", text)
        # A bare sigmoid / tanh (no argument) means the function at x.
        text = re.sub(r"\b(sigmoid|tanh)\b(?!\s*\()", r"\1(x)", text)
    return text


def _check_powers(text: str) -> None:
    """Refuse power towers (``x^10^10``, ``x^(2^9)``) and literal exponents above MAX_EXPONENT:
    they are never needed here, and refusing them keeps grading time bounded."""
    tokens = _TOKEN.findall(text)
    err = AnswerFormatError(
        Text(
            "Exponents must be plain small numbers (at most %(limit)d) and powers cannot be stacked (like x^10^10).",
            limit=MAX_EXPONENT,
        )
    )
    i = 0
    while i < len(tokens):
        if tokens[i] in ("**", "^"):
            j = i + 1
            while j < len(tokens) and tokens[j] in ("+", "-"):
                j += 1
            if j >= len(tokens):
                return  # a dangling operator: the parser reports it
            tok = tokens[j]
            if tok == "(" or (j + 1 < len(tokens) and tokens[j + 1] == "("):
                start = j if tok == "(" else j + 1
                depth, k = 0, start
                while k < len(tokens):
                    depth += tokens[k] == "("
                    depth -= tokens[k] == ")"
                    if tokens[k] in ("**", "^"):
                        raise err
                    if depth == 0:
                        break
                    k += 1
                end = k
            else:
                if re.fullmatch(r"\d+(?:\.\d*)?|\.\d+", tok) and float(tok) > MAX_EXPONENT:
                    raise err
                end = j
            if end + 1 < len(tokens) and tokens[end + 1] in ("**", "^"):
                raise err
        i += 1


def parse_formula(raw: Any, topic: str) -> str:
    """Parse a formula typed for ``topic``; raises AnswerFormatError on anything unreadable."""
    if not isinstance(raw, str):
        raise AnswerFormatError(Text("Expected a formula."))
    if len(raw) > answers.MAX_NUMBER_CHARS:
        raise AnswerFormatError(
            Text("The formula is too long (over %(limit)d characters).", limit=answers.MAX_NUMBER_CHARS)
        )
    text = _normalize(raw, topic)
    _check_powers(text)
    return _parse_cached(text, SYMBOLS[topic])


@lru_cache(maxsize=4096)
def _parse_cached(text: str, symbols: tuple[str, ...]) -> str:
    return answers.parse_expression(text, symbols)


@lru_cache(maxsize=8192)
def _equal(given: str, expected: str, symbols: tuple[str, ...]) -> bool:
    return answers.expressions_equal(given, expected, symbols)


# The formulas this module writes (right answers and misconceptions) are a fixed set of about
# twenty; their canonical forms and their pairwise equivalence are memoized for the life of the
# process and survive ``clear_caches`` (like compiled regexes), so that a worker parses each of
# them once. Only what a student types costs a sympy parse per new answer.
_KNOWN: dict[tuple[str, tuple[str, ...]], str] = {}  # (canonical text, symbols) → our formula


@cache
def _canon(formula: str, symbols: tuple[str, ...]) -> str:
    canonical = answers.parse_expression(formula, symbols)
    _KNOWN[(canonical, symbols)] = formula
    return canonical


@cache
def _const_equal(a: str, b: str, symbols: tuple[str, ...]) -> bool:
    return a == b or answers.expressions_equal(a, b, symbols)


def formulas_match(given: str, expected: str, symbols: tuple[str, ...]) -> bool:
    """Equivalence of a (parsed) answer and one of this module's formulas."""
    if given == expected:
        return True
    known_given = _KNOWN.get((given, symbols), given if given in _ALL_FORMULAS else None)
    if expected in _ALL_FORMULAS:
        if given == _canon(expected, symbols):
            return True
        if known_given is not None:
            return _const_equal(known_given, expected, symbols)
    return _equal(given, expected, symbols)


# --------------------------------------------------------------------------- misconceptions


def _twist(name: str, topics: tuple[str, ...]) -> Any:
    def solve(params: Params) -> Response | None:
        if params["topic"] not in topics:
            return None
        return _answer(params, name)

    return solve


_MISCONCEPTIONS = (
    Misconception(
        "size-forgot-plus-one",
        N_(
            "You forgot the $+1$: the window fits at $\\frac{n + 2p - k}{s}$ further positions *after* the first one, "
            "so the output size is $\\frac{n + 2p - k}{s} + 1$."
        ),
        _twist("plus-one", ("output-size", "size-dilated", "same-padding")),
    ),
    Misconception(
        "padding-one-side",
        N_(
            "You added the padding once. $p$ zeros are added on *each* side, so the padded input has "
            "$n + 2p$ pixels per axis."
        ),
        _twist("one-side", ("output-size", "size-dilated", "same-padding")),
    ),
    Misconception(
        "dilation-ignored",
        N_(
            "You ignored the dilation: a kernel of size $k$ with dilation $d$ spans $k_\\text{eff} = d(k - 1) + 1$ pixels, "
            "and $k_\\text{eff}$ replaces $k$ in the size formula."
        ),
        _twist("dilation", ("size-dilated",)),
    ),
    Misconception(
        "params-forgot-c-in",
        N_(
            "You forgot the input channels: each of the $C_\\text{out}$ filters is $C_\\text{in} \\times k \\times k$, "
            "so there are $C_\\text{out} \\cdot C_\\text{in} \\cdot k^2$ weights."
        ),
        _twist("c-in", ("conv-params",)),
    ),
    Misconception(
        "params-forgot-bias",
        N_(
            "You left out the biases: a conv layer with bias has one bias per output channel, "
            "$C_\\text{out}$ more parameters: $C_\\text{out}(C_\\text{in} k^2 + 1)$."
        ),
        _twist("bias", ("conv-params",)),
    ),
    Misconception(
        "params-k-not-squared",
        N_("A $k \\times k$ kernel has $k^2$ weights per input channel, not $k$."),
        _twist("k-squared", ("conv-params",)),
    ),
    Misconception(
        "derivative-missing-factor",
        N_(
            "Your derivative is missing a factor: $\\sigma'(x) = \\sigma(x)\\,(1 - \\sigma(x))$ and "
            "$\\tanh'(x) = 1 - \\tanh^2(x) = (1 - \\tanh x)(1 + \\tanh x)$."
        ),
        _twist("factor", ("activation-derivative",)),
    ),
)


# --------------------------------------------------------------------------- text helpers


def _tex(formula: str) -> str:
    """A formula of this module in LaTeX (only the few shapes used here)."""
    text = formula.replace("sigmoid(x)", "\\sigma(x)").replace("tanh(x)**2", "\\tanh^2(x)").replace("tanh(x)", "\\tanh(x)")
    text = text.replace("C_in", "C_\\text{in}").replace("C_out", "C_\\text{out}").replace("**2", "^2").replace("*", " \\cdot ")
    m = re.fullmatch(r"\((.*)\)/(\w) \+ 1", text)
    if m:
        return f"\\frac{{{m.group(1)}}}{{{m.group(2)}}} + 1"
    m = re.fullmatch(r"\((.*)\)/(\w)", text)
    if m:
        return f"\\frac{{{m.group(1)}}}{{{m.group(2)}}}"
    return text


# --------------------------------------------------------------------------- the family


@register
class Symbolic(ProblemFamily):
    """Formulas: output size, same padding, conv parameters, activation derivatives."""

    name = "symbolic"
    title = N_("Formulas (symbolic answers)")
    topic = "formulas"
    misconceptions = _MISCONCEPTIONS
    constraint_keys = {"topic": "one of " + ", ".join(TOPICS)}

    def sample(self, rng: np.random.Generator, constraints: Mapping[str, Any]) -> Params:
        topic = constraints.get("topic") or pick(rng, list(TOPICS))
        if topic not in TOPICS:
            raise ValueError(f"{self.name}: unknown topic {topic!r}; use one of {', '.join(TOPICS)}")
        params: Params = {"topic": topic}
        if topic in ("output-size", "size-dilated"):
            while True:
                k = pick(rng, [1, 3, 5, 7])
                s = pick(rng, [1, 2, 2, 4])
                p = pick(rng, [0, 1, 2, 3])
                d = pick(rng, [2, 3]) if topic == "size-dilated" else 1
                span = d * (k - 1) + 1
                n = int(rng.integers(8, 129))
                room = n + 2 * p - span
                if room > 0 and room % s == 0 and (p > 0) and k > 1:
                    break
            params["numbers"] = {"n": n, "k": k, "p": p, "s": s} | ({"d": d} if topic == "size-dilated" else {})
        elif topic == "same-padding":
            params["numbers"] = {"k": pick(rng, [3, 5, 7, 9, 11])}
        elif topic == "conv-params":
            params["bias"] = bool(rng.random() < 0.7)
            c_in = pick(rng, [1, 3, 16, 32, 64, 128, 256])
            params["numbers"] = {
                "C_in": c_in,
                "C_out": pick(rng, [8, 16, 32, 64, 96, 128, 256, 512]),
                "k": pick(rng, [3, 5, 7, 11] if c_in <= 3 else [1, 3, 3, 5]),
            }
        else:
            params["function"] = pick(rng, ["sigmoid", "tanh"])
            if params["function"] == "sigmoid":
                params["at"] = round(int(rng.integers(1, 20)) / 20, 2)  # σ(x) in 0.05 … 0.95
            else:
                params["at"] = round(int(rng.integers(-19, 20)) / 20, 2)
                if params["at"] == 0:
                    params["at"] = 0.5
        return params

    def parts(self, params: Params) -> list[Part]:
        topic = params["topic"]
        syms = SYMBOLS[topic]
        formula = Part("formula", "expression", _FORMULA_LABELS[topic], points=2.0, symbols=syms)
        if topic == "activation-derivative":
            value = Part("value", "number", _VALUE_LABEL, tolerance=TOL)
        else:
            value = Part("value", "integer", _VALUE_LABEL)
        return [formula, value]

    def parse_part(self, part: Part, raw: Any) -> Any:
        if part.kind == "expression":
            topic = next(t for t, syms in SYMBOLS.items() if syms == part.symbols)
            return parse_formula(raw, topic)
        return super().parse_part(part, raw)

    def values_match(self, part: Part, given: Any, expected: Any) -> bool:
        if part.kind == "expression" and given is not None and expected is not None:
            return formulas_match(given, expected, tuple(part.symbols))
        return super().values_match(part, given, expected)

    def solve(self, params: Params) -> Response:
        answer = _answer(params)
        assert answer is not None and "value" in answer
        return answer

    def clear_caches(self) -> None:
        """Drop the memos of typed answers (the module's own formulas stay parsed, see ``_canon``)."""
        _equal.cache_clear()
        _parse_cached.cache_clear()

    def hint(self, params: Params, part: Part, given: Any) -> Wording | None:
        return Text(_HINTS[params["topic"]])

    # ---- text -------------------------------------------------------------------------------

    def render(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        topic = params["topic"]
        v = params.get("numbers", {})
        if topic in ("output-size", "size-dilated"):
            lines = [
                _(
                    "A convolution layer sees $n$ pixels along one spatial axis, with kernel size $k$, stride $s$ "
                    "and zero padding $p$ on each side and dilation $d$."
                )
                if topic == "size-dilated"
                else _(
                    "A convolution layer sees $n$ pixels along one spatial axis, with kernel size $k$, stride $s$ "
                    "and zero padding $p$ on each side."
                ),
                _(
                    "1. Write the output size as a formula in %(symbols)s (assume the division is exact, so no floor "
                    "is needed; `floor(...)` is accepted)."
                )
                % {"symbols": ", ".join(f"`{x}`" for x in SYMBOLS[topic])},
                _("2. Evaluate it for %(values)s.") % {"values": ", ".join(f"${x} = {val}$" for x, val in v.items())},
            ]
        elif topic == "same-padding":
            lines = [
                _("A convolution layer with stride 1 and an odd kernel size $k$ pads $p$ zeros on each side."),
                _(
                    "1. Which $p$ keeps the output size equal to the input size (\"same\" padding)? "
                    "Give a formula in `k`."
                ),
                _("2. What is $p$ for $k = %(k)s$?") % {"k": v["k"]},
            ]
        elif topic == "conv-params":
            lines = [
                _(
                    "A 2-D convolution layer maps $C_\\text{in}$ input channels to $C_\\text{out}$ output channels "
                    "with $k \\times k$ kernels, **with** biases."
                )
                if params["bias"]
                else _(
                    "A 2-D convolution layer maps $C_\\text{in}$ input channels to $C_\\text{out}$ output channels "
                    "with $k \\times k$ kernels, **without** biases (a batch norm follows)."
                ),
                _("1. Give the number of learnable parameters as a formula in `C_in`, `C_out`, `k`."),
                _(
                    "2. How many parameters are there for $C_\\text{in} = %(c_in)s$, $C_\\text{out} = %(c_out)s$, "
                    "$k = %(k)s$?"
                )
                % {"c_in": v["C_in"], "c_out": v["C_out"], "k": v["k"]},
            ]
        else:
            sig = params["function"] == "sigmoid"
            f = "\\sigma" if sig else "\\tanh"
            typed = _("`σ`, `sigma` or `sigmoid(x)`") if sig else _("`tanh` or `tanh(x)`")
            defn = "\\sigma(x) = \\frac{1}{1 + e^{-x}}" if sig else "\\tanh(x) = \\frac{e^x - e^{-x}}{e^x + e^{-x}}"
            lines = [
                _("Consider the activation %(definition)s.") % {"definition": f"${defn}$"},
                _("1. Write its derivative $%(f)s'(x)$ in terms of $%(f)s(x)$ (type %(typed)s).")
                % {"f": f, "typed": typed},
                _("2. At a point where $%(f)s(x) = %(at)s$, what is $%(f)s'(x)$?") % {"f": f, "at": params["at"]},
            ]
        lines.append(
            _(
                "*Answer format*: formulas with `+ - * / ^ ( )`, e.g. `(a + 1)/2`, `a^2`, `2a`; "
                "the value as one number."
            )
        )
        return "\n\n".join([lines[0], "\n".join(lines[1:-1]), lines[-1]]) + "\n"

    def explain(self, params: Params, lang: str = "en") -> str:
        _ = gettext_for(lang)
        topic = params["topic"]
        v = params.get("numbers", {})
        ans = self.solve(params)
        out: list[str] = []
        if topic in ("output-size", "size-dilated"):
            if topic == "size-dilated":
                out.append(_("With dilation the kernel spans $k_\\text{eff} = d(k - 1) + 1$ pixels."))
            out.append(
                _(
                    "The padded axis has $n + 2p$ pixels; after the first window, the window moves $s$ at a time, "
                    "$(n + 2p - k_\\text{eff})/s$ more times; count the first position too:"
                )
            )
            out.append(f"$$\\text{{out}} = {_tex(ans['formula'])}$$")
            subst = ", ".join(f"{x} = {val}" for x, val in v.items())
            out.append(f"${subst}$: $\\text{{out}} = {ans['value']}$")
        elif topic == "same-padding":
            out.append(
                _(
                    "With stride 1 the output size is $n + 2p - k + 1$; setting it equal to $n$ gives $2p = k - 1$."
                )
            )
            out.append(f"$$p = \\frac{{k - 1}}{{2}},\\qquad k = {v['k']}:\\ p = {ans['value']}$$")
        elif topic == "conv-params":
            out.append(
                _("Each output channel has one $C_\\text{in} \\times k \\times k$ filter plus one bias.")
                if params["bias"]
                else _("Each output channel has one $C_\\text{in} \\times k \\times k$ filter and no bias.")
            )
            out.append(f"$$\\#\\text{{params}} = {_tex(ans['formula'])}$$")
            out.append(f"$C_\\text{{in}} = {v['C_in']},\\ C_\\text{{out}} = {v['C_out']},\\ k = {v['k']}$: ${ans['value']}$")
        else:
            a = params["at"]
            if params["function"] == "sigmoid":
                out.append(
                    "$$\\sigma'(x) = \\frac{e^{-x}}{(1 + e^{-x})^2} = \\frac{1}{1 + e^{-x}} \\cdot \\frac{e^{-x}}{1 + e^{-x}}"
                    " = \\sigma(x)\\,(1 - \\sigma(x))$$"
                )
                out.append(f"$\\sigma(x) = {a}$: $\\sigma'(x) = {a}(1 - {a}) = {ans['value']:.4g}$")
            else:
                out.append("$$\\tanh'(x) = \\frac{(e^x + e^{-x})^2 - (e^x - e^{-x})^2}{(e^x + e^{-x})^2} = 1 - \\tanh^2(x)$$")
                out.append(f"$\\tanh(x) = {a}$: $\\tanh'(x) = 1 - ({a})^2 = {ans['value']:.4g}$")
            out.append(_("(The derivative needs only the function's own value, which makes backpropagation cheap.)"))
        return "\n\n".join(out) + "\n"


_FORMULA_LABELS = {
    "output-size": N_("output size formula"),
    "size-dilated": N_("output size formula"),
    "same-padding": N_("padding formula"),
    "conv-params": N_("parameter count formula"),
    "activation-derivative": N_("derivative formula"),
}
_VALUE_LABEL = N_("value")
_HINTS = {
    "output-size": N_("Count window positions: (room left after the first window) / stride, plus the first one."),
    "size-dilated": N_("Use the dilated span $d(k - 1) + 1$ in place of $k$."),
    "same-padding": N_("Set $n + 2p - k + 1 = n$ and solve for $p$."),
    "conv-params": N_("Weights per filter × number of filters, then the biases."),
    "activation-derivative": N_("Differentiate, then rewrite the result with the function's own value."),
}
