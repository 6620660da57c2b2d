"""Parsing what people type: numbers, lists, shapes, matrices, tolerances."""

from __future__ import annotations

import math

import pytest

from grader.answers import (
    DEFAULT_TOLERANCES,
    AnswerFormatError,
    Tolerance,
    expressions_equal,
    format_value,
    normalize_text,
    numbers_match,
    parse_choice,
    parse_expression,
    parse_indices,
    parse_integer,
    parse_matrix,
    parse_number,
    parse_shape,
    parse_vector,
)
from grader.i18n import localize

# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("72,855,552", 72855552),
        ("72 855 552", 72855552),
        ("72\u202f855\u202f552", 72855552),  # narrow no-break space, as typeset
        ("7.29e7", 72900000),
        ("7.29E+7", 72900000),
        ("7.29×10^7", 72900000),
        ("7.29 × 10^7", 72900000),
        ("7.29*10^7", 72900000),
        ("7.29x10^7", 72900000),
        ("7.29*10**7", 72900000),
        ("7.29·10⁷", 72900000),
        ("7.29×10^{7}", 72900000),
        ("10^-3", 0.001),
        ("10⁻³", 0.001),
        ("1e-3", 0.001),
        ("3/4", 0.75),
        ("-3/4", -0.75),
        ("1.5/3", 0.5),
        ("-1.5", -1.5),
        ("\u22121.5", -1.5),  # Unicode minus
        ("\u20131.5", -1.5),  # en dash from a word processor
        ("+2", 2),
        ("  42  ", 42),
        ("0.5", 0.5),
        (".5", 0.5),
        ("2.", 2),
        ("1,234.5", 1234.5),
        ("０", 0),
        ("７２，８５５，５５２", 72855552),  # full-width digits and comma
        ("１．５", 1.5),  # full-width point
        ("３／４", 0.75),  # full-width slash
        ("－２", -2),  # full-width minus
        ("\u3000１２\u3000", 12),  # ideographic spaces
    ],
)
def test_parse_number_forms(text: str, expected: float) -> None:
    assert parse_number(text) == pytest.approx(expected, rel=1e-12)


def test_integral_values_come_back_as_int() -> None:
    assert type(parse_number("72,855,552")) is int
    assert type(parse_number("4.0")) is int
    assert type(parse_number("0.25")) is float


@pytest.mark.parametrize(
    ("text", "kwargs", "expected"),
    [
        ("75%", {"allow_percent": True}, 0.75),
        ("７５％", {"allow_percent": True}, 0.75),
        ("12.5 %", {"allow_percent": True}, 0.125),
        ("inf", {"allow_inf": True}, math.inf),
        ("-inf", {"allow_inf": True}, -math.inf),
        ("∞", {"allow_inf": True}, math.inf),
        ("Infinity", {"allow_inf": True}, math.inf),
    ],
)
def test_parse_number_opt_in_forms(text: str, kwargs: dict[str, bool], expected: float) -> None:
    assert parse_number(text, **kwargs) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("nan", "NaN"),
        ("NaN", "NaN"),
        ("inf", "Infinity"),
        ("75%", "Percent"),
        ("1,2", "decimal point"),
        ("1,23", "decimal point"),
        ("3,14", "decimal point"),
        ("1,2345", "three digits"),
        ("12,34,567", "three digits"),
        ("1 2", "not one number"),
        ("abc", "not a number"),
        ("1/0", "zero"),
        ("1/2/3", "more than one"),
        ("1e999", "out of range"),
        ("1" * 201, "too long"),
        ("0x10", "not a number"),
        ("--1", "not a number"),
    ],
)
def test_parse_number_errors(text: str, fragment: str) -> None:
    with pytest.raises(AnswerFormatError) as info:
        parse_number(text)
    assert fragment.lower() in info.value.message("en").lower()
    # Every error also has a Traditional Chinese message (not the English one passed through).
    assert info.value.message("zh-Hant") and info.value.message("zh-Hant") != info.value.message("en")


def test_comma_error_suggests_decimal_point_in_both_languages() -> None:
    with pytest.raises(AnswerFormatError) as info:
        parse_number("1,5")
    assert "1.5" in info.value.message("en")
    assert "1.5" in info.value.message("zh-Hant")
    assert localize(info.value.text) == {"en": info.value.message("en"), "zh-Hant": info.value.message("zh-Hant")}


@pytest.mark.parametrize("value", [float("nan"), True, None, [1]])
def test_parse_number_rejects_non_numbers(value: object) -> None:
    with pytest.raises(AnswerFormatError):
        parse_number(value)


def test_parse_number_json_values() -> None:
    assert parse_number(3) == 3
    assert parse_number(2.5) == 2.5
    with pytest.raises(AnswerFormatError):
        parse_number(float("inf"))
    assert parse_number(float("inf"), allow_inf=True) == math.inf


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("72,855,552", 72855552),
        ("7.2855552e7", 72855552),
        ("4.0", 4),
        ("-3", -3),
        ("１２", 12),
        (12, 12),
        (12.0, 12),
    ],
)
def test_parse_integer(text: object, expected: int) -> None:
    assert parse_integer(text) == expected


@pytest.mark.parametrize("text", ["3/4", "2.5", "7.29e-1", 2.5])
def test_parse_integer_rejects_fractions(text: object) -> None:
    with pytest.raises(AnswerFormatError) as info:
        parse_integer(text)
    assert "whole number" in info.value.message("en")


def test_normalize_text() -> None:
    assert normalize_text("７２，８５５．５") == "72,855.5"
    assert normalize_text("10⁷") == "10^7"
    assert normalize_text("\u22121") == "-1"


# --------------------------------------------------------------------------- vectors and shapes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1, 2, 3]", [1, 2, 3]),
        ("(1, 2, 3)", [1, 2, 3]),
        ("1 2 3", [1, 2, 3]),
        ("1,2,3", [1, 2, 3]),
        ("1; 2; 3", [1, 2, 3]),
        ("1\t2\t3", [1, 2, 3]),
        ("[1, 2, 3,]", [1, 2, 3]),
        ("0.5, -1.5, 3/4", [0.5, -1.5, 0.75]),
        ("1,000 2,500", [1000, 2500]),  # whitespace-separated, commas group thousands
        ("1,234", [1, 234]),  # in a list a lone comma separates entries
        ("［１，２，３］", [1, 2, 3]),
        ([1, 2.5, "3"], [1, 2.5, 3]),
    ],
)
def test_parse_vector(text: object, expected: list[float]) -> None:
    assert parse_vector(text) == expected


@pytest.mark.parametrize(
    ("text", "kwargs", "fragment"),
    [
        ("", {}, "empty"),
        ("[]", {}, "empty"),
        ("1,,2", {}, "Entry 2 is empty"),
        ("[1, 2", {}, "Unbalanced"),
        ("[[1, 2]]", {}, "brackets"),
        ("1 2 3", {"length": 2}, "Expected 2 values, got 3"),
        ("1, x", {}, "Entry 2"),
        ([[1, 2]], {}, "nested"),
    ],
)
def test_parse_vector_errors(text: object, kwargs: dict[str, int], fragment: str) -> None:
    with pytest.raises(AnswerFormatError) as info:
        parse_vector(text, **kwargs)
    assert fragment.lower() in info.value.message("en").lower()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(64, 56, 56)", [64, 56, 56]),
        ("[64, 56, 56]", [64, 56, 56]),
        ("64×56×56", [64, 56, 56]),
        ("64x56x56", [64, 56, 56]),
        ("64 X 56 x 56", [64, 56, 56]),
        ("64 56 56", [64, 56, 56]),
        ("(3×3)", [3, 3]),
        ("３×３", [3, 3]),
        ("３ｘ３", [3, 3]),
        ([3, 3], [3, 3]),
        ("3,3", [3, 3]),
    ],
)
def test_parse_shape(text: object, expected: list[int]) -> None:
    assert parse_shape(text) == expected


@pytest.mark.parametrize(
    ("text", "kwargs"), [("3.5×3", {}), ("-3, 3", {}), ("3×3×3", {"length": 2}), ("3×", {})]
)
def test_parse_shape_errors(text: str, kwargs: dict[str, int]) -> None:
    with pytest.raises(AnswerFormatError):
        parse_shape(text, **kwargs)


@pytest.mark.parametrize(
    ("text", "expected"), [("[0, 3]", [0, 3]), ("0 3", [0, 3]), ("[]", []), ("none", []), ([], [])]
)
def test_parse_indices(text: object, expected: list[int]) -> None:
    assert parse_indices(text) == expected


def test_parse_indices_rejects_negative() -> None:
    with pytest.raises(AnswerFormatError):
        parse_indices("1, -2")


# --------------------------------------------------------------------------- matrices


@pytest.mark.parametrize(
    "text",
    [
        "[[1, 2], [3, 4]]",
        "[[1,2],[3,4]]",
        "1 2\n3 4",
        "1 2\r\n3 4\r\n",  # Windows line ends and a trailing newline
        "1, 2\n3, 4",
        "1,2;3,4",
        "1 2; 3 4",
        "1\t2\n3\t4\n",  # pasted from a spreadsheet
        "[1 2; 3 4]",  # MATLAB
        "[[1 2]\n [3 4]]",  # numpy's print
        "[1, 2], [3, 4]",
        "[1, 2]\n[3, 4]",
        "１ ２\n３ ４",
        "1 2\n\n3 4",  # blank line ignored
        [[1, 2], [3, 4]],
        [["1", "2"], ["3", "4"]],
    ],
)
def test_parse_matrix_forms(text: object) -> None:
    assert parse_matrix(text) == [[1, 2], [3, 4]]


def test_parse_matrix_spreadsheet_thousands() -> None:
    assert parse_matrix("1,000\t2,000\n3\t4") == [[1000, 2000], [3, 4]]


def test_parse_matrix_not_rectangular_names_the_row() -> None:
    with pytest.raises(AnswerFormatError) as info:
        parse_matrix("1 2 3\n4 5 6\n7 8")
    assert "row 3" in info.value.message("en")
    assert "第 3 列" in info.value.message("zh-Hant")


@pytest.mark.parametrize(
    ("text", "kwargs", "fragment"),
    [
        ("", {}, "empty"),
        ("1 2\n3 4", {"shape": (2, 3)}, "2×3"),
        ("[[1, 2], [3]]", {}, "row 2"),
        ("[[1, 2], 3]", {}, "list of rows"),
        ([1, 2, 3], {}, "list of rows"),
        ("1 2\n3 x", {}, "Row 2, column 2"),
        ("[[1, 2], [3, 4]", {}, "brackets"),
    ],
)
def test_parse_matrix_errors(text: object, kwargs: dict[str, tuple[int, int]], fragment: str) -> None:
    with pytest.raises(AnswerFormatError) as info:
        parse_matrix(text, **kwargs)
    assert fragment.lower() in info.value.message("en").lower()


def test_parse_matrix_flat_list_for_a_single_row() -> None:
    assert parse_matrix([1, 2, 3], shape=(1, 3)) == [[1, 2, 3]]


# --------------------------------------------------------------------------- choices, expressions


def test_parse_choice() -> None:
    assert parse_choice("(B)", ("a", "b", "c")) == "b"
    assert parse_choice("ｃ", ("a", "b", "c")) == "c"
    with pytest.raises(AnswerFormatError):
        parse_choice("d", ("a", "b", "c"))


def test_parse_expression_and_equivalence() -> None:
    assert parse_expression("x^2 + 2x", ["x"]) == "x**2 + 2*x"
    assert expressions_equal("x^2 + 2*x", "x*(x + 2)", ["x"])
    assert not expressions_equal("x^2", "x^3", ["x"])
    assert expressions_equal("sigmoid(x)*(1 - sigmoid(x))", "exp(-x)/(1 + exp(-x))^2", ["x"])


@pytest.mark.parametrize("text", ["__import__('os')", "x.real", "y + 1", "x +* 2)", "import os"])
def test_parse_expression_rejects(text: str) -> None:
    with pytest.raises(AnswerFormatError):
        parse_expression(text, ["x"])


def test_huge_power_does_not_hang() -> None:
    assert not expressions_equal("9^9^9^9", "x", ["x"])


# --------------------------------------------------------------------------- tolerance


@pytest.mark.parametrize(
    ("given", "expected", "tol", "ok"),
    [
        (72900000, 72855552, Tolerance(sigfigs=3), True),
        (72800000, 72855552, Tolerance(sigfigs=3), False),
        (0.693, 0.6931, DEFAULT_TOLERANCES["number"], True),
        (0.69, 0.6931, DEFAULT_TOLERANCES["number"], False),
        (1.0005, 1.0, Tolerance(rel=1e-3), True),
        (1.002, 1.0, Tolerance(rel=1e-3), False),
        (1e-10, 0.0, Tolerance(abs=1e-9), True),
        (1e-10, 0.0, Tolerance(rel=1e-3, sigfigs=3), False),
        (3, 3, Tolerance(), True),
        (3.0000001, 3, Tolerance(), False),
        (math.inf, math.inf, Tolerance(rel=0.1), True),
        (math.inf, -math.inf, Tolerance(rel=0.1), False),
        (1e308, math.inf, Tolerance(rel=0.1), False),
        (float("nan"), 1.0, Tolerance(rel=0.1), False),
    ],
)
def test_numbers_match(given: float, expected: float, tol: Tolerance, ok: bool) -> None:
    assert numbers_match(given, expected, tol) is ok


def test_default_tolerances_by_kind() -> None:
    assert DEFAULT_TOLERANCES["integer"].exact
    assert DEFAULT_TOLERANCES["shape"].exact
    assert not DEFAULT_TOLERANCES["number"].exact
    assert numbers_match(5, 5, None)
    assert not numbers_match(5.001, 5, None)


# --------------------------------------------------------------------------- formatting round trip


@pytest.mark.parametrize(
    ("kind", "value", "parser"),
    [
        ("integer", 72855552, parse_integer),
        ("number", 0.1, parse_number),
        ("number", -2.5e-7, parse_number),
        ("vector", [1, -2.5, 3], parse_vector),
        ("shape", [64, 56, 56], parse_shape),
        ("indices", [0, 4], parse_indices),
        ("matrix", [[1, -2], [0, 3]], parse_matrix),
    ],
)
def test_format_value_round_trips(kind: str, value: object, parser: object) -> None:
    assert parser(format_value(kind, value)) == value  # type: ignore[operator]


# --------------------------------------------------------------------------- what a student is shown

from grader.answers import Tolerance, display_number  # noqa: E402


@pytest.mark.parametrize(
    ("value", "tol", "shown"),
    [
        (0.4899999999999999, Tolerance(rel=1e-3, sigfigs=3), "0.49"),  # float noise, exactly 0.49
        (0.4899999999999999, None, "0.49"),
        (19 / 9, Tolerance(rel=1e-3, abs=1e-9, sigfigs=3), "2.11"),  # the graded precision
        (19 / 9, Tolerance(rel=1e-6), "2.11111"),
        (0.05972578140253641, Tolerance(rel=2e-3, sigfigs=3), "0.0597"),
        (0.1875, Tolerance(sigfigs=3), "0.1875"),  # short and exact: shown exactly
        (0.08750000000000001, None, "0.0875"),
        (72855552.0, None, "72855552"),
        (-2.5e-7, None, "-0.00000025"),
        (5, None, "5"),
    ],
)
def test_display_number_rounds_to_the_graded_precision(value: float, tol: Tolerance | None, shown: str) -> None:
    assert display_number(value, tol) == shown
    if tol is not None:
        assert numbers_match(parse_number(shown), value, tol)  # what is shown is a right answer


def test_format_value_shows_vectors_at_their_tolerance() -> None:
    tol = Tolerance(rel=1e-3, sigfigs=3)
    assert format_value("vector", [0.4899999999999999, 1 / 3], tol) == "0.49, 0.333"
    assert format_value("matrix", [[19 / 9, 2.0]], tol) == "2.11 2"
