"""Helpers shared by the numpy array labs (conv2d forward/backward, max pooling, softmax CE).

Not a lab itself: the catalog skips modules whose name starts with ``_``. Everything that looks
at a student's value accepts any decoded wire value and never raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from grader.i18n import Text, Wording, join_sentences

from ..base import Check, TestCase
from ..checks import expect_array, failing_messages

__all__ = [
    "IntOrPair",
    "all_of",
    "array_case",
    "as_pair",
    "describe_hyper",
    "expect_close",
    "expect_finite",
    "expect_tuple",
    "int_or_pair",
    "matches",
    "random_conv_geometry",
    "with_hint",
]

IntOrPair = int | tuple[int, int]


def as_pair(value: IntOrPair) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def int_or_pair(rng: np.random.Generator, low: int, high: int, *, pair: bool) -> IntOrPair:
    """An int in ``[low, high]``, or an ``(h, w)`` pair of them when ``pair`` (plain Python ints)."""
    if pair:
        return (int(rng.integers(low, high + 1)), int(rng.integers(low, high + 1)))
    return int(rng.integers(low, high + 1))


def describe_hyper(**values: Any) -> str:
    """``"stride 2, padding (1, 0)"`` from keyword values, skipping ``None``."""
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in values.items() if v is not None)


def array_case(
    *,
    name: str,
    title: str,
    points: float,
    function: str,
    arrays: Sequence[np.ndarray | None],
    check: Callable[[Any], Check],
    kwargs: Mapping[str, Any] | None = None,
    public: bool = False,
) -> TestCase:
    """A case calling ``function(*arrays, **kwargs)`` with private copies of ``arrays`` (None stays None).

    In-process runs hand the student the case's own arguments, which they may write into; copies
    keep that from reaching the arrays the check was built from.
    """
    return TestCase(
        name=name,
        title=title,
        points=points,
        function=function,
        args=tuple(None if a is None else np.array(a) for a in arrays),
        kwargs={} if kwargs is None else kwargs,
        check=check,
        public=public,
    )


def random_conv_geometry(
    rng: np.random.Generator,
    *,
    kernel: tuple[int, int],
    padding: IntOrPair,
    dilation: IntOrPair,
    extra: tuple[int, int] = (2, 6),
) -> tuple[int, int]:
    """An input ``(H, W)`` for which the dilated kernel fits the padded input (output size >= 1).

    The stride never makes the output empty, so it is not needed; ``extra`` is the range of
    rows/columns added beyond the smallest size.
    """
    sizes = []
    for axis in (0, 1):
        span = as_pair(dilation)[axis] * (kernel[axis] - 1) + 1
        smallest = max(1, span - 2 * as_pair(padding)[axis])
        sizes.append(smallest + int(rng.integers(extra[0], extra[1] + 1)))
    return sizes[0], sizes[1]


def _as_numeric(value: Any) -> np.ndarray | None:
    """``value`` as a numeric numpy array, or None when it is not one (ragged, strings, None...)."""
    if value is None:
        return None
    try:
        arr = np.asarray(value)
    except Exception:
        return None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        return None
    return arr


def expect_finite(got: Any, name: str, hint: Wording | None = None) -> Check | None:
    """A failing Check if ``got`` is numeric but holds NaN or ±inf; None if finite or unreadable.

    ``hint`` (a text) follows the message. Unreadable values are left to :func:`expect_array`,
    which explains what came back.
    """
    arr = _as_numeric(got)
    if arr is None or not np.issubdtype(arr.dtype, np.inexact):
        return None
    bad = ~np.isfinite(arr)
    if not bad.any():
        return None
    count_nan, count_inf = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
    if arr.ndim == 0:
        message = Text("`%(name)s` is not finite: %(nan)d NaN and %(inf)d infinite value(s).",
                       name=name, nan=count_nan, inf=count_inf)
    else:
        index = "[" + ", ".join(str(int(i)) for i in np.argwhere(bad)[0]) + "]"
        message = Text("`%(name)s` is not finite: %(nan)d NaN and %(inf)d infinite value(s) (first at %(index)s).",
                       name=name, nan=count_nan, inf=count_inf, index=index)
    return Check.fail(join_sentences([message, hint]), {"not_finite": True, "nan": count_nan, "inf": count_inf})


def expect_tuple(got: Any, names: Sequence[str]) -> Check | None:
    """A failing Check unless ``got`` is a tuple/list of ``len(names)`` items; None if it is."""
    if isinstance(got, (tuple, list)) and len(got) == len(names):
        return None
    listed, kind = ", ".join(names), type(got).__name__
    if isinstance(got, (tuple, list)):
        return Check.fail(Text("Expected a tuple (%(names)s), got %(type)s of length %(length)d.",
                               names=listed, type=kind, length=len(got)))
    return Check.fail(Text("Expected a tuple (%(names)s), got %(type)s.", names=listed, type=kind))


def all_of(checks: Sequence[Check]) -> Check:
    """All parts must pass (a test is all or nothing); the messages of the failing parts are joined."""
    if all(c.passed for c in checks):
        return Check.ok({"parts": [c.detail for c in checks]})
    return Check(0.0, failing_messages(checks), {"parts": [c.detail for c in checks]})


def matches(got: Any, expected: np.ndarray, rtol: float, atol: float) -> bool:
    """True if ``got`` has ``expected``'s shape and is close to it (never raises)."""
    arr = _as_numeric(got)
    if arr is None or arr.shape != np.shape(expected):
        return False
    with np.errstate(all="ignore"):
        return bool(np.allclose(arr.astype(np.float64), expected, rtol=rtol, atol=atol))


def with_hint(
    check: Check,
    got: Any,
    alternatives: Sequence[tuple[Callable[[], np.ndarray], str]],
    rtol: float,
    atol: float,
) -> Check:
    """Append the hint of the first known mistake ``got`` reproduces, when ``check`` failed.

    ``alternatives`` are ``(what the mistake computes, hint)``, the hint an English message marked
    with ``N_`` (translated when worded); the mistake's output is computed lazily and any error
    there just skips that hint.
    """
    if check.passed:
        return check
    for compute, hint in alternatives:
        try:
            wrong = compute()
        except Exception:
            continue
        if matches(got, wrong, rtol, atol):
            return Check(check.fraction, join_sentences([check.message, Text(hint)]), {**check.detail, "hint": hint})
    return check


def expect_close(got: Any, expected: np.ndarray, name: str, rtol: float, atol: float) -> Check:
    """:func:`expect_array` after a finiteness check, so NaN/inf get their own clear message."""
    return expect_finite(got, name) or expect_array(got, expected, name=name, rtol=rtol, atol=atol)
