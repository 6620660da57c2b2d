"""Parsing what people type into answer boxes, and comparing numbers with a tolerance.

Pure functions, no Django. Every parser takes either the text a person typed or an already
decoded JSON value (``72855552``, ``[3, 3]``, ``[[1, 2], [3, 4]]``) and returns plain
JSON-serializable Python values (``int``, ``float``, ``str``, lists of those). Anything that
cannot be read unambiguously raises :class:`AnswerFormatError` with a message in English and in
Traditional Chinese; a format error must never cost the student an attempt.

Accepted number forms (after Unicode NFKC normalization, so full-width ``７２，８５５．５``,
``／`` and ``％`` work): ``72,855,552``, ``72 855 552``, ``7.29e7``, ``7.29×10^7``,
``7.29*10^7``, ``7.29·10⁷``, ``10^-3``, ``3/4``, ``-1.5``, ``−1.5`` (Unicode minus), ``+2``,
``75%`` (only where a part allows percentages), ``inf``/``∞`` (only where allowed).
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from grader.i18n import DEFAULT_LANG, Text

__all__ = [
    "DEFAULT_TOLERANCES",
    "EXACT",
    "MAX_NUMBER_CHARS",
    "MAX_TEXT_CHARS",
    "AnswerFormatError",
    "Tolerance",
    "expressions_equal",
    "format_value",
    "display_number",
    "normalize_text",
    "numbers_match",
    "parse_choice",
    "parse_expression",
    "parse_indices",
    "parse_integer",
    "parse_matrix",
    "parse_number",
    "parse_shape",
    "parse_vector",
]

#: A single number longer than this is refused (nobody types 200 characters for one number, and
#: it bounds the work of parsing untrusted input).
MAX_NUMBER_CHARS = 200
#: Bound for lists, matrices and expressions.
MAX_TEXT_CHARS = 10_000
#: Largest decimal exponent accepted; keeps ``Fraction`` arithmetic from blowing up on ``1e999999``.
MAX_EXPONENT = 308


class AnswerFormatError(ValueError):
    """The input cannot be read as the requested kind of answer (not a wrong answer). ``text``
    says why, worded in the reader's language (:mod:`grader.i18n`)."""

    def __init__(self, text: Text) -> None:
        super().__init__(text(DEFAULT_LANG))
        self.text = text

    def message(self, lang: str = DEFAULT_LANG) -> str:
        """The message in ``lang`` ("en" or "zh-Hant")."""
        return self.text(lang)


def _err(msgid: str, **args: Any) -> AnswerFormatError:
    return AnswerFormatError(Text(msgid, **args))


# --------------------------------------------------------------------------- normalization

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_SUPERSCRIPT_RUN = re.compile("[⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+")
# Characters NFKC leaves alone but people use for the same thing.
_EXTRA = str.maketrans(
    {
        "\u2212": "-",  # minus sign
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",  # en dash (word processors turn "-" into it)
        "\u00b7": "×",  # middle dot, as in 7.29·10^7
        "\u22c5": "×",
        "\u2715": "×",
        "\u2716": "×",
        "\u3001": ",",  # ideographic comma
        "\u221e": "inf",
    }
)


def normalize_text(text: str) -> str:
    """NFKC-normalize (full-width → ASCII), unify minus signs, commas and superscript exponents."""
    # Superscripts must be rewritten before NFKC, which would turn 10⁷ into "107".
    text = _SUPERSCRIPT_RUN.sub(lambda m: "^" + m.group().translate(_SUPERSCRIPTS), text)
    text = unicodedata.normalize("NFKC", text).translate(_EXTRA)
    return text.replace("\r\n", "\n").replace("\r", "\n")


# --------------------------------------------------------------------------- numbers

_NAN_WORDS = {"nan", "-nan", "+nan"}
_INF_WORDS = {"inf": 1, "+inf": 1, "infinity": 1, "+infinity": 1, "-inf": -1, "-infinity": -1}
_EXP = r"(?:\{\s*[+-]?\s*\d+\s*\}|\(\s*[+-]?\s*\d+\s*\)|[+-]?\s*\d+)"
_NUMBER = re.compile(
    rf"""^(?P<sign>[+-]?)\s*
    (?:
        (?P<mant>\d[\d,' _]*(?:\.\d*)?|\.\d+)
        (?:
            [eE](?P<e1>[+-]?\d+)
          | \s*(?:×|x|X|\*)\s*10\s*(?:\^|\*\*)\s*(?P<e2>{_EXP})
        )?
      | 10\s*(?:\^|\*\*)\s*(?P<e3>{_EXP})
    )$""",
    re.VERBOSE,
)
_GROUPED = re.compile(r"^\d{1,3}(?P<sep>[,' _])\d{3}(?:(?P=sep)\d{3})*$")


def _exponent(text: str) -> int:
    digits = re.sub(r"[\s{}()]", "", text)
    value = int(digits)
    if abs(value) > MAX_EXPONENT:
        raise _err("The exponent %(exponent)d is out of range.", exponent=value)
    return value


def _mantissa(text: str, original: str) -> Fraction:
    whole, _, frac = text.partition(".")
    whole = whole.strip()
    if re.search(r"[,' _]", whole):
        if not _GROUPED.match(whole):
            if re.fullmatch(r"\d+,\d+", whole) and not frac:
                guess = whole.replace(",", ".")
                raise _err(
                    "'%(answer)s' is ambiguous: use a decimal point (%(guess)s); a comma is only read as a "
                    "thousands separator in groups of three digits (72,855,552).",
                    answer=original, guess=guess,
                )
            raise _err(
                "'%(answer)s' is not one number: spaces or commas between digits are only allowed "
                "to group thousands, three digits a group (72,855,552 or 72 855 552).",
                answer=original,
            )
        whole = re.sub(r"[,' _]", "", whole)
    return Fraction(int(whole or "0")) + (Fraction(int(frac), 10 ** len(frac)) if frac else 0)


def _parse_real(text: str, original: str) -> Fraction:
    """One real number without fraction bar or percent sign, exactly."""
    m = _NUMBER.match(text)
    if not m:
        if "," in text and re.search(r"\d,\d", text):
            raise _err(
                "'%(answer)s' is not one number. Use a decimal point (1.5), not a comma; "
                "commas only group thousands (72,855,552).",
                answer=original,
            )
        raise _err("'%(answer)s' is not a number.", answer=original)
    sign = -1 if m.group("sign") == "-" else 1
    if m.group("e3") is not None:
        return sign * Fraction(10) ** _exponent(m.group("e3"))
    value = _mantissa(m.group("mant"), original)
    exp = m.group("e1") or m.group("e2")
    if exp is not None:
        value *= Fraction(10) ** _exponent(exp)
    return sign * value


def _number_exact(raw: Any, *, allow_percent: bool = False, allow_inf: bool = False) -> Fraction | float:
    """Parse to an exact ``Fraction`` (or ``±inf`` as float)."""
    if isinstance(raw, bool):
        raise _err("Expected a number, got true/false.")
    if isinstance(raw, int):
        return Fraction(raw)
    if isinstance(raw, float):
        if math.isnan(raw):
            raise _err("NaN is not an answer.")
        if math.isinf(raw):
            if not allow_inf:
                raise _err("Infinity is not accepted for this answer.")
            return raw
        return Fraction(raw)
    if not isinstance(raw, str):
        raise _err("Expected a number.")
    if len(raw) > MAX_NUMBER_CHARS:
        raise _err("The answer is too long (over %(limit)d characters).", limit=MAX_NUMBER_CHARS)
    original = raw.strip()
    text = normalize_text(raw).strip()
    if not text:
        raise _err("The answer is empty.")
    low = text.lower().replace(" ", "")
    if low in _NAN_WORDS:
        raise _err("NaN is not an answer.")
    if low in _INF_WORDS:
        if not allow_inf:
            raise _err("Infinity is not accepted for this answer.")
        return math.inf * _INF_WORDS[low]
    scale = Fraction(1)
    if text.endswith("%"):
        if not allow_percent:
            raise _err(
                "Percentages are not accepted here; write '%(answer)s' as a plain number (e.g. 0.75 for 75%%).",
                answer=original,
            )
        text = text[:-1].rstrip()
        scale = Fraction(1, 100)
    if text.count("/") > 1:
        raise _err("'%(answer)s' has more than one '/'.", answer=original)
    if "/" in text:
        num_text, den_text = text.split("/")
        num = _parse_real(num_text.strip(), original)
        den = _parse_real(den_text.strip(), original)
        if den == 0:
            raise _err("Division by zero.")
        return num / den * scale
    return _parse_real(text, original) * scale


def _to_plain(value: Fraction | float) -> int | float:
    # ints stay exact (JSON keeps them), everything else becomes a float.
    if isinstance(value, Fraction) and value.denominator == 1 and abs(value.numerator) < 2**63:
        return int(value.numerator)
    return float(value)


# The common case, a plain ASCII integer, skips normalization and exact arithmetic entirely.
_PLAIN_INT = re.compile(r"\s*[+-]?\d{1,18}\s*")


def _plain_int(raw: Any) -> int | None:
    if type(raw) is int:
        return raw
    if type(raw) is str and _PLAIN_INT.fullmatch(raw):
        return int(raw)
    return None


def parse_number(raw: Any, *, allow_percent: bool = False, allow_inf: bool = False) -> int | float:
    """Parse one real number; integral values come back as ``int``, others as ``float``."""
    fast = _plain_int(raw)
    if fast is not None:
        return fast
    return _to_plain(_number_exact(raw, allow_percent=allow_percent, allow_inf=allow_inf))


def parse_integer(raw: Any) -> int:
    """Parse a whole number exactly (``72,855,552``, ``7.2855552e7`` and ``4.0`` are fine; ``3/4`` is not)."""
    fast = _plain_int(raw)
    if fast is not None:
        return fast
    value = _number_exact(raw)
    if isinstance(value, float) or value.denominator != 1:
        shown = raw if isinstance(raw, str) else json.dumps(raw)
        raise _err("Expected a whole number, got '%(answer)s'.", answer=str(shown).strip())
    return int(value.numerator)


# --------------------------------------------------------------------------- lists and matrices

_OPEN_CLOSE = {"[": "]", "(": ")", "{": "}"}


def _strip_brackets(text: str) -> str:
    text = text.strip()
    if text and text[0] in _OPEN_CLOSE:
        if not text.endswith(_OPEN_CLOSE[text[0]]):
            raise _err("Unbalanced brackets.")
        text = text[1:-1].strip()
    if any(c in text for c in "[](){}"):
        raise _err("Unexpected brackets inside the list.")
    return text


def _split_cells(text: str) -> list[str]:
    """Split one row/list into cell texts.

    ``;`` or tabs separate cells if present. Otherwise commas separate cells, except when the
    cells are clearly separated by whitespace and every comma sits between digit groups of three
    (``1,000 2,000``), in which case the commas are thousands separators.
    """
    text = text.strip()
    if not text:
        return []
    if ";" in text:
        cells = text.split(";")
    elif "\t" in text:
        cells = text.split("\t")
    elif "," in text:
        words = text.split()
        if len(words) > 1 and all(
            _GROUPED.match(w.lstrip("+-")) or re.fullmatch(r"[+-]?[\d.]+", w) for w in words
        ):
            cells = words
        else:
            cells = text.split(",")
    else:
        cells = text.split()
    cells = [c.strip() for c in cells]
    if cells and cells[-1] == "" and len(cells) > 1:
        cells.pop()  # a trailing comma, as Python allows: "1, 2, 3,"
    for i, cell in enumerate(cells, start=1):
        if not cell:
            raise _err("Entry %(entry)d is empty.", entry=i)
    return cells


def _check_length(n: int, length: int | None) -> None:
    if length is not None and n != length:
        raise _err("Expected %(expected)d values, got %(got)d.", expected=length, got=n)


def _entry(raw: Any, where: Text, **kw: bool) -> int | float:
    try:
        return parse_number(raw, **kw)
    except AnswerFormatError as exc:
        raise _err("%(where)s: %(error)s", where=where, error=exc.text) from None


def _text_or_list(raw: Any) -> str | list[Any]:
    if isinstance(raw, list | tuple):
        return list(raw)
    if isinstance(raw, str):
        if len(raw) > MAX_TEXT_CHARS:
            raise _err("The answer is too long (over %(limit)d characters).", limit=MAX_TEXT_CHARS)
        text = normalize_text(raw).strip()
        if not text:
            raise _err("The answer is empty.")
        return text
    raise _err("Expected a list of numbers.")


def parse_vector(
    raw: Any,
    *,
    length: int | None = None,
    integer: bool = False,
    allow_percent: bool = False,
    allow_inf: bool = False,
) -> list[int | float]:
    """Parse a list of numbers: ``[1, 2, 3]``, ``(1, 2, 3)``, ``1 2 3``, ``1,2,3``, ``1; 2; 3``.

    In a list, commas separate entries (``1,234`` is two entries) unless entries are separated by
    whitespace and every comma groups three digits (``1,000 2,500``).
    """
    value = _text_or_list(raw)
    cells: list[Any] = _split_cells(_strip_brackets(value)) if isinstance(value, str) else value
    if not cells:
        raise _err("The list is empty.")
    _check_length(len(cells), length)
    out: list[int | float] = []
    for i, cell in enumerate(cells, start=1):
        if isinstance(cell, list):
            raise _err("Expected a flat list of numbers, not nested lists.")
        if integer:
            try:
                out.append(parse_integer(cell))
            except AnswerFormatError as exc:
                raise _err("%(where)s: %(error)s", where=Text("Entry %(entry)d", entry=i), error=exc.text) from None
        else:
            out.append(
                _entry(cell, Text("Entry %(entry)d", entry=i), allow_percent=allow_percent, allow_inf=allow_inf)
            )
    return out


_SHAPE_TIMES = re.compile(r"^\s*\d+(?:\s*[×xX*]\s*\d+)+\s*$")


def parse_shape(raw: Any, *, length: int | None = None) -> list[int]:
    """Parse a tensor shape: ``(64, 56, 56)``, ``[64, 56, 56]``, ``64×56×56``, ``64x56x56``, ``64 56 56``."""
    value = _text_or_list(raw)
    if isinstance(value, str):
        inner = value
        if inner[:1] in _OPEN_CLOSE and inner[-1:] == _OPEN_CLOSE[inner[0]]:
            inner = inner[1:-1]
        if _SHAPE_TIMES.match(inner):
            value = re.split(r"\s*[×xX*]\s*", inner.strip())
    dims = parse_vector(value, integer=True)
    _check_length(len(dims), length)
    if any(d < 0 for d in dims):
        raise _err("Dimensions cannot be negative.")
    return [int(d) for d in dims]


def parse_indices(raw: Any, *, length: int | None = None) -> list[int]:
    """Parse a list of non-negative integer indices (``[0, 3]``, ``0 3``); ``[]``/``none`` is empty."""
    if isinstance(raw, str) and normalize_text(raw).strip().lower() in {"[]", "()", "none", "empty", "無"}:
        return []
    if isinstance(raw, list) and not raw:
        return []
    indices = parse_vector(raw, integer=True, length=length)
    if any(i < 0 for i in indices):
        raise _err("Indices cannot be negative.")
    return [int(i) for i in indices]


_INNER_GROUP = re.compile(r"\[([^\[\]]*)\]")


def _matrix_rows_from_text(text: str) -> list[list[str]] | list[list[Any]]:
    if text.startswith("["):
        try:
            decoded = json.loads(text)
        except ValueError:
            decoded = None
        if isinstance(decoded, list) and decoded:
            return decoded  # valid JSON; parse_matrix checks that it is a list of rows
        rows = _INNER_GROUP.findall(text)
        if text.startswith("[[") or len(rows) > 1:
            # One bracketed group per row: numpy's print "[[1 2]\n [3 4]]", "[1, 2], [3, 4]".
            leftover = re.sub(r"[\s,;]", "", _INNER_GROUP.sub("", text))
            if rows and leftover in {"", "[]"}:
                return [_split_cells(r) for r in rows]
            raise _err("Unbalanced brackets in the matrix.")
    if text[:1] in _OPEN_CLOSE and text.endswith(_OPEN_CLOSE[text[0]]):
        text = text[1:-1]  # MATLAB style "[1 2; 3 4]"
    lines = [ln for ln in re.split(r"[\n;]", text) if ln.strip()]
    rows = []
    for line in lines:
        line = line.strip()
        if line[:1] in _OPEN_CLOSE and line.endswith(_OPEN_CLOSE[line[0]]):
            line = line[1:-1]
        line = line.rstrip(",")
        if "\t" in line:
            rows.append([c.strip() for c in line.split("\t") if c.strip()])
        else:
            rows.append(_split_cells(line))
    return rows


def parse_matrix(
    raw: Any,
    *,
    shape: tuple[int, int] | None = None,
    allow_percent: bool = False,
    allow_inf: bool = False,
) -> list[list[int | float]]:
    """Parse a matrix: JSON nested lists, numpy's printout, or rows separated by new lines or ``;``
    with cells separated by spaces, commas or tabs (as pasted from a spreadsheet).

    The result must be rectangular (the message names the first offending row) and, if ``shape``
    is given, have exactly that shape.
    """
    value = _text_or_list(raw)
    rows = _matrix_rows_from_text(value) if isinstance(value, str) else value
    if not rows:
        raise _err("The matrix is empty.")
    if not all(isinstance(r, list | tuple) for r in rows):
        # A flat list is only unambiguous when the matrix is known to be a single row.
        if shape is not None and shape[0] == 1 and not any(isinstance(r, list | tuple) for r in rows):
            rows = [list(rows)]
        else:
            raise _err("Expected a list of rows, e.g. [[1, 2], [3, 4]].")
    width = len(rows[0])
    if width == 0:
        raise _err("Row 1 is empty.")
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != width:
            raise _err(
                "The matrix is not rectangular: row %(row)d has %(entries)d entries, but row 1 has %(width)d.",
                row=i, entries=len(row), width=width,
            )
    if shape is not None and (len(rows), width) != tuple(shape):
        raise _err(
            "Expected a %(rows)d×%(cols)d matrix, got %(got_rows)d×%(got_cols)d.",
            rows=shape[0], cols=shape[1], got_rows=len(rows), got_cols=width,
        )
    return [
        [
            _entry(
                cell,
                Text("Row %(row)d, column %(column)d", row=i, column=j),
                allow_percent=allow_percent,
                allow_inf=allow_inf,
            )
            for j, cell in enumerate(row, start=1)
        ]
        for i, row in enumerate(rows, start=1)
    ]


# --------------------------------------------------------------------------- choices, expressions


def parse_choice(raw: Any, choices: tuple[str, ...] | list[str]) -> str:
    """Parse a choice key: case-insensitive, ``(b)``/``b)``/``b.`` are read as ``b``."""
    if not isinstance(raw, str):
        raise _err("Expected one of the choices.")
    text = normalize_text(raw).strip().strip("().").strip()
    by_lower = {c.lower(): c for c in choices}
    if text.lower() in by_lower:
        return by_lower[text.lower()]
    listed = ", ".join(choices)
    raise _err("Choose one of: %(choices)s.", choices=listed)


_EXPR_FUNCTIONS = (
    "exp",
    "log",
    "ln",
    "sqrt",
    "sin",
    "cos",
    "tan",
    "tanh",
    "sigmoid",
    "Abs",
    "abs",
    "max",
    "min",
)
_EXPR_CONSTANTS = ("pi", "E")
_EXPR_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?|\.\d+)|(?P<name>[A-Za-z_][A-Za-z_0-9]*)|(?P<op>\*\*|[-+*/^(),]))"
)


def parse_expression(raw: Any, symbols: tuple[str, ...] | list[str]) -> str:
    """Validate a formula over ``symbols`` and return it in sympy's canonical string form.

    Only numbers, the given symbols, a few functions and ``+ - * / ^ ( ) ,`` are allowed, which
    is what makes handing the text to sympy's (eval-based) parser safe.
    """
    if not isinstance(raw, str):
        raise _err("Expected a formula.")
    if len(raw) > MAX_NUMBER_CHARS:
        raise _err("The formula is too long (over %(limit)d characters).", limit=MAX_NUMBER_CHARS)
    text = normalize_text(raw).replace("×", "*").strip()
    if not text:
        raise _err("The answer is empty.")
    allowed = set(symbols) | set(_EXPR_FUNCTIONS) | set(_EXPR_CONSTANTS)
    pos = 0
    while pos < len(text):
        m = _EXPR_TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise _err("Unexpected character '%(character)s' in the formula.", character=text[pos:].strip()[:1])
        name = m.group("name")
        if name is not None and name not in allowed:
            known = ", ".join(symbols)
            raise _err("Unknown name '%(name)s' (variables: %(known)s).", name=name, known=known)
        pos = m.end()
    expr = _sympify(text, symbols)
    return str(expr)


def _sympify(text: str, symbols: tuple[str, ...] | list[str]) -> Any:
    import sympy  # imported lazily: sympy takes a noticeable time to import
    from sympy.parsing.sympy_parser import (
        convert_xor,
        implicit_multiplication_application,
        parse_expr,
        standard_transformations,
    )

    local: dict[str, Any] = {s: sympy.Symbol(s) for s in symbols}
    local.update({"ln": sympy.log, "abs": sympy.Abs, "max": sympy.Max, "min": sympy.Min, "E": sympy.E})
    # An opaque function, so that nothing gets substituted and evaluated while parsing.
    local["sigmoid"] = sympy.Function("sigmoid")
    transformations = (*standard_transformations, convert_xor, implicit_multiplication_application)
    try:
        # evaluate=False: "9^9^9^9" must stay a tree, not be computed as an integer.
        return parse_expr(text, local_dict=local, transformations=transformations, evaluate=False)
    except Exception:  # sympy raises many kinds for malformed input; all mean the same to a student
        raise _err("The formula cannot be read (check brackets and operators).") from None


_FUNCS: dict[str, Any] = {
    "exp": math.exp,
    "log": math.log,
    "sqrt": math.sqrt,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "tanh": math.tanh,
    "Abs": abs,
    "sigmoid": lambda t: 1.0 / (1.0 + math.exp(-t)) if t >= 0 else math.exp(t) / (1.0 + math.exp(t)),
}


def _evaluate(expr: Any, env: dict[Any, float]) -> float:
    """Evaluate a sympy tree with Python floats: overflow raises instead of building huge integers."""
    import sympy

    if expr in env:
        return env[expr]
    if expr.is_Number or expr in (sympy.pi, sympy.E):
        return float(expr)
    args = [_evaluate(a, env) for a in expr.args]
    if expr.is_Add:
        return math.fsum(args)
    if expr.is_Mul:
        return math.prod(args)
    if expr.is_Pow:
        return float(args[0] ** args[1])  # complex results raise TypeError in float()
    name = type(expr).__name__
    if name in _FUNCS:
        return float(_FUNCS[name](*args))
    if name in {"Max", "Min"}:
        return (max if name == "Max" else min)(args)
    raise ValueError(f"cannot evaluate {name}")


def expressions_equal(
    given: str, expected: str, symbols: tuple[str, ...] | list[str], *, rel: float = 1e-6
) -> bool:
    """Numerical equivalence at a few fixed pseudo-random points in (0.1, 2)."""
    import random

    import sympy

    try:
        a = _sympify(given, symbols)
        b = _sympify(expected, symbols)
    except AnswerFormatError:
        return False
    syms = [sympy.Symbol(s) for s in symbols]
    rng = random.Random(12345)
    checked = 0
    for _ in range(12):
        env = {sym: rng.uniform(0.1, 2.0) for sym in syms}
        try:
            va, vb = _evaluate(a, env), _evaluate(b, env)
        except (ArithmeticError, ValueError, TypeError):
            continue
        if not (math.isfinite(va) and math.isfinite(vb)):
            continue
        if abs(va - vb) > rel * max(1.0, abs(vb)):
            return False
        checked += 1
    return checked >= 3


# --------------------------------------------------------------------------- tolerance


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How close a number must be. A number matches if it is within *any* of the given criteria.

    ``rel``: ``|given - expected| <= rel * |expected|``; ``abs``: ``|given - expected| <= abs``;
    ``sigfigs``: ``given`` is within half a unit of the last significant digit of ``expected``
    (so ``7.29e7`` matches 72,855,552 at 3 significant figures). All ``None`` means exact.
    """

    rel: float | None = None
    abs: float | None = None
    sigfigs: int | None = None

    @property
    def exact(self) -> bool:
        return self.rel is None and self.abs is None and self.sigfigs is None

    def to_dict(self) -> dict[str, float | int | None]:
        return {"rel": self.rel, "abs": self.abs, "sigfigs": self.sigfigs}


EXACT = Tolerance()
_APPROX = Tolerance(rel=1e-3, abs=1e-9, sigfigs=3)
#: Default per part kind: counts are exact; real numbers accept 3 significant figures or 0.1 %.
DEFAULT_TOLERANCES: dict[str, Tolerance] = {
    "integer": EXACT,
    "shape": EXACT,
    "indices": EXACT,
    "number": _APPROX,
    "vector": _APPROX,
    "matrix": _APPROX,
}


def numbers_match(given: float, expected: float, tol: Tolerance | None = None) -> bool:
    """True if ``given`` is close enough to ``expected`` under ``tol`` (exact when ``tol`` is None)."""
    if given == expected:
        return True
    if tol is None or tol.exact:
        return False
    g, e = float(given), float(expected)
    if not (math.isfinite(g) and math.isfinite(e)):
        return False  # inf only equals the same inf (handled above); NaN never matches
    diff = abs(g - e)
    if tol.abs is not None and diff <= tol.abs:
        return True
    if tol.rel is not None and diff <= tol.rel * abs(e):
        return True
    if tol.sigfigs is not None and e != 0:
        half_unit = 0.5 * 10.0 ** (math.floor(math.log10(abs(e))) - tol.sigfigs + 1)
        # The tiny slack absorbs binary rounding when the student rounded exactly at the half unit.
        if diff <= half_unit * (1 + 1e-9):
            return True
    return False


# --------------------------------------------------------------------------- formatting


#: Significant digits an exactly short number keeps when shown (``0.1875``, ``2.5e-07``).
_SHORT_DIGITS = 6
#: Digits that remove binary float noise (``0.4899999999999999`` is 0.49) and nothing else.
_NOISE_DIGITS = 12


def _positional(x: float, digits: int) -> str:
    """``x`` rounded to ``digits`` significant figures, written without an exponent or trailing zeros."""
    text = format(Decimal(f"{x:.{digits}g}"), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def display_number(value: Any, tol: Tolerance | None = None) -> str:
    """A computed number as a student is shown it: the one rule for expected answers everywhere.

    Whole numbers as integers; a value that is short once binary float noise is removed, exactly
    (``0.4899999999999999`` → ``0.49``, ``0.1875``); anything longer rounded to the fewest
    significant figures (at least 3) that ``tol`` — the precision the part is graded at — accepts
    (``2.111111111111111`` at 3 significant figures → ``2.11``), so what is shown is always a
    right answer. Without a tolerance (exact grading) it keeps 12 significant figures.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    x = float(value)
    if not math.isfinite(x):
        return "inf" if x > 0 else ("-inf" if x < 0 else "nan")
    if x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    clean = float(f"{x:.{_NOISE_DIGITS}g}")
    for digits in range(1, _SHORT_DIGITS + 1):
        if float(f"{clean:.{digits}g}") == clean:
            return _positional(clean, digits)
    for digits in range(3, _NOISE_DIGITS + 1):
        rounded = float(f"{clean:.{digits}g}")
        if tol is not None and not tol.exact and numbers_match(rounded, x, tol):
            return _positional(rounded, digits)
    return _positional(clean, _NOISE_DIGITS)


def _fmt_num(x: Any, tol: Tolerance | None = None) -> str:
    if isinstance(x, float):
        return display_number(x, tol)
    return str(x)


def format_value(kind: str, value: Any, tol: Tolerance | None = None) -> str:
    """Write ``value`` as a person would type it for a part of ``kind`` (inverse of the parsers);
    real numbers as :func:`display_number` shows them at the part's tolerance ``tol``."""
    if kind in {"integer", "number"}:
        return _fmt_num(value, tol)
    if kind == "shape":
        return "×".join(str(d) for d in value)
    if kind in {"vector", "indices"}:
        return ", ".join(_fmt_num(v, tol) for v in value)
    if kind == "matrix":
        return "\n".join(" ".join(_fmt_num(v, tol) for v in row) for row in value)
    return str(value)
