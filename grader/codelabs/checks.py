"""Trusted comparisons of what a student's function returned with the reference's answer.

Feedback names the first mismatching shape or element and the max absolute / relative error, as
lazy :mod:`grader.i18n` texts worded in the reader's language. Nothing here trusts the value it is given: it may be any
decoded wire value (array, number, list, dict, None).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from grader.i18n import Joined, Text

from .base import Check

__all__ = ["array_report", "expect_array", "expect_arrays", "expect_mapping", "expect_number", "failing_messages"]


def _fmt_shape(shape: Sequence[int]) -> str:
    return str(tuple(int(s) for s in shape))


def _fmt_num(x: Any) -> str:
    return f"{float(x):.6g}" if np.isscalar(x) or np.ndim(x) == 0 else str(x)


def array_report(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> dict[str, Any]:
    """Where ``got`` and ``expected`` (same shape) differ: first index, max errors, counts."""
    g = got.astype(np.float64)
    e = expected.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        abs_err = np.abs(g - e)
        rel_err = abs_err / np.maximum(np.abs(e), np.finfo(np.float64).tiny)
        close = np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
    bad = ~close
    finite = np.isfinite(abs_err)
    report: dict[str, Any] = {
        "mismatches": int(bad.sum()),
        "size": int(bad.size),
        "max_abs_error": float(abs_err[finite].max()) if finite.any() else 0.0,
        "max_rel_error": float(rel_err[finite].max()) if finite.any() else 0.0,
    }
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        report["first_index"] = list(index)
        report["first_got"] = float(g[index])
        report["first_expected"] = float(e[index])
    return report


def expect_array(
    got: Any, expected: np.ndarray, *, name: str = "output", rtol: float = 1e-6, atol: float = 1e-8,
    integer: bool = False,
) -> Check:
    """``got`` must be an array (or nested list) of ``expected``'s shape, close element-wise."""
    expected = np.asarray(expected)
    if got is None:
        return Check.fail(Text("`%(name)s`: your function returned None.", name=name))
    try:
        arr = np.asarray(got)
    except Exception:  # ragged lists etc.: say what came back
        return Check.fail(
            Text("`%(name)s`: could not read the returned value as an array (%(type)s).",
                 name=name, type=type(got).__name__)
        )
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        return Check.fail(
            Text("`%(name)s`: expected a numeric array, got dtype %(dtype)s.", name=name, dtype=str(arr.dtype))
        )
    if arr.shape != expected.shape:
        return Check.fail(
            Text("`%(name)s`: shape %(shape)s, expected %(expected)s.",
                 name=name, shape=_fmt_shape(arr.shape), expected=_fmt_shape(expected.shape)),
            {"got_shape": list(arr.shape), "expected_shape": list(expected.shape)},
        )
    if integer and not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_):
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            return Check.fail(Text("`%(name)s`: expected integers (indices), got non-integral values.", name=name))
    report = array_report(arr, expected, rtol=rtol, atol=0 if integer else atol)
    if report["mismatches"] == 0:
        return Check.ok(report)
    message = Text(
        "`%(name)s`: %(mismatches)d of %(size)d elements differ; first at %(index)s: got %(got)s, "
        "expected %(expected)s. Max abs error %(abs_error).3g, max rel error %(rel_error).3g "
        "(tolerance rtol=%(rtol)g, atol=%(atol)g).",
        name=name, mismatches=report["mismatches"], size=report["size"],
        index="[" + ", ".join(map(str, report["first_index"])) + "]",
        got=_fmt_num(report["first_got"]), expected=_fmt_num(report["first_expected"]),
        abs_error=report["max_abs_error"], rel_error=report["max_rel_error"], rtol=rtol, atol=atol,
    )
    return Check.fail(message, report)


def expect_number(got: Any, expected: float, *, name: str = "output", rtol: float = 1e-6, atol: float = 1e-8) -> Check:
    """A scalar (a 0-d or one-element array is accepted)."""
    try:
        value = float(np.asarray(got, dtype=np.float64).reshape(()))
    except Exception:
        return Check.fail(Text("`%(name)s`: expected one number, got %(type)s.", name=name, type=type(got).__name__))
    return expect_array(np.asarray(value), np.asarray(expected, dtype=np.float64), name=name, rtol=rtol, atol=atol)


def failing_messages(checks: Sequence[Check]) -> Joined:
    """The messages of the checks that failed, one after another (a space between them)."""
    return Joined((c.message for c in checks if not c.passed), separator=" ")


def _combine(checks: Sequence[Check]) -> Check:
    failed = [c for c in checks if not c.passed]
    if not failed:
        return Check.ok({"parts": [c.detail for c in checks]})
    fraction = sum(c.fraction for c in checks) / len(checks)
    return Check(
        fraction if fraction >= 1.0 else 0.0,  # a test is all or nothing; parts only explain
        failing_messages(checks),
        {"parts": [c.detail for c in checks]},
    )


def expect_arrays(got: Any, expected: Sequence[np.ndarray], names: Sequence[str], **tol: Any) -> Check:
    """A tuple/list of arrays, e.g. ``(dx, dw, db)``; each compared as :func:`expect_array`."""
    if not isinstance(got, (tuple, list)) or len(got) != len(expected):
        n, listed, kind = len(expected), ", ".join(names), type(got).__name__
        if isinstance(got, (tuple, list)):
            return Check.fail(Text("Expected a tuple of %(n)d arrays (%(names)s), got %(type)s of length %(length)d.",
                                   n=n, names=listed, type=kind, length=len(got)))
        return Check.fail(Text("Expected a tuple of %(n)d arrays (%(names)s), got %(type)s.",
                               n=n, names=listed, type=kind))
    return _combine([expect_array(g, e, name=n, **tol) for g, e, n in zip(got, expected, names, strict=True)])


def expect_mapping(
    got: Any, expected_keys: Sequence[str], check_each: Callable[[str, Any], Check] | None = None
) -> Check:
    """A dict with exactly ``expected_keys`` (e.g. a state dict); optionally check each value."""
    if not isinstance(got, Mapping):
        return Check.fail(Text("Expected a dict with keys %(keys)s, got %(type)s.",
                               keys=", ".join(expected_keys), type=type(got).__name__))
    missing = [k for k in expected_keys if k not in got]
    extra = [k for k in got if k not in expected_keys]
    if missing or extra:
        return Check.fail(Text("Keys differ: missing %(missing)s, unexpected %(extra)s.",
                               missing=str(missing) if missing else Text("none"),
                               extra=str(extra) if extra else Text("none")))
    if check_each is None:
        return Check.ok()
    return _combine([check_each(k, got[k]) for k in expected_keys])
