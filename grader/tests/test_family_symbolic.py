"""Hand-checked cases for the ``symbolic`` family, including hostile formula input."""

from __future__ import annotations

import time
from typing import Any

import pytest

from grader.answers import AnswerFormatError
from grader.i18n import word
from grader.problems import get_family
from grader.problems.symbolic import parse_formula

FAMILY = get_family("symbolic")

SIZE = {"topic": "output-size", "numbers": {"n": 32, "k": 5, "p": 2, "s": 1}}  # (32 + 4 − 5)/1 + 1 = 32
SIZE_S2 = {"topic": "output-size", "numbers": {"n": 31, "k": 3, "p": 1, "s": 2}}  # (31 + 2 − 3)/2 + 1 = 16
DILATED = {"topic": "size-dilated", "numbers": {"n": 20, "k": 3, "p": 1, "s": 1, "d": 2}}  # 20 + 2 − 5 + 1 = 18
SAME = {"topic": "same-padding", "numbers": {"k": 5}}  # p = 2
PARAMS = {"topic": "conv-params", "bias": True, "numbers": {"C_in": 3, "C_out": 64, "k": 11}}  # 64·(3·121 + 1) = 23,296
NO_BIAS = {"topic": "conv-params", "bias": False, "numbers": {"C_in": 64, "C_out": 64, "k": 3}}  # 36,864
SIGMOID = {"topic": "activation-derivative", "function": "sigmoid", "at": 0.2}  # 0.2·0.8 = 0.16
TANH = {"topic": "activation-derivative", "function": "tanh", "at": -0.5}  # 1 − 0.25 = 0.75


def check(params: dict[str, Any], formula: str, value: Any) -> Any:
    return FAMILY.check(params, {"formula": formula, "value": value})


def test_values_by_hand() -> None:
    assert FAMILY.solve(SIZE)["value"] == 32
    assert FAMILY.solve(SIZE_S2)["value"] == 16
    assert FAMILY.solve(DILATED)["value"] == 18
    assert FAMILY.solve(SAME)["value"] == 2
    assert FAMILY.solve(PARAMS)["value"] == 23_296  # AlexNet conv1, as in CONVENTIONS.md
    assert FAMILY.solve(NO_BIAS)["value"] == 36_864
    assert FAMILY.solve(SIGMOID)["value"] == pytest.approx(0.16)
    assert FAMILY.solve(TANH)["value"] == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("params", "formula"),
    [
        (SIZE, "(n + 2p - k)/s + 1"),
        (SIZE, "(n - k + 2*p + s)/s"),
        (SIZE, "floor((n + 2p − k)/s) + 1"),
        (SIZE, "⌊(n+2p-k)/s⌋+1"),
        (SIZE, "n/s + (2p - k)/s + 1"),
        (DILATED, "(n + 2p - (d(k-1) + 1))/s + 1"),
        (SAME, "(k-1)/2"),
        (SAME, "k/2 - 1/2"),
        (PARAMS, "C_out (C_in k^2 + 1)"),
        (PARAMS, "Cin*Cout*k**2 + Cout"),
        (PARAMS, "C_{in}·C_{out}·k² + C_{out}"),
        (NO_BIAS, "c_in c_out k^2"),
        (SIGMOID, "σ(1-σ)"),
        (SIGMOID, "σ(x)(1 − σ(x))"),
        (SIGMOID, "sigma - sigma^2"),
        (SIGMOID, "exp(-x)/(1 + exp(-x))^2"),
        (TANH, "1 - tanh^2"),
        (TANH, "(1 - tanh(x))(1 + tanh(x))"),
    ],
)
def test_equivalent_formulas_are_accepted(params: dict[str, Any], formula: str) -> None:
    value = FAMILY.solve(params)["value"]
    grade = check(params, formula, str(value))
    assert grade.gradable, grade.format_errors
    assert grade.score == 1.0, word(grade.message, "en")


@pytest.mark.parametrize(
    ("params", "formula", "value", "tag"),
    [
        (SIZE, "(n + 2p - k)/s", "31", "size-forgot-plus-one"),
        (SIZE, "(n + p - k)/s + 1", "30", "padding-one-side"),
        (SIZE_S2, "(n + 2p - k)/s", "15", "size-forgot-plus-one"),
        (DILATED, "(n + 2p - k)/s + 1", "20", "dilation-ignored"),
        (DILATED, "(n + p - d(k - 1) - 1)/s + 1", "17", "padding-one-side"),
        (SAME, "k/2", None, "size-forgot-plus-one"),
        (SAME, "k - 1", "4", "padding-one-side"),
        (PARAMS, "C_out (k^2 + 1)", "7808", "params-forgot-c-in"),
        (PARAMS, "C_in C_out k^2", "23232", "params-forgot-bias"),
        (PARAMS, "C_out (C_in k + 1)", "2176", "params-k-not-squared"),
        (NO_BIAS, "C_out k^2", "576", "params-forgot-c-in"),
        (SIGMOID, "σ", "0.2", "derivative-missing-factor"),
        (TANH, "1 - tanh", "1.5", "derivative-missing-factor"),
    ],
)
def test_misconceptions_are_tagged(params: dict[str, Any], formula: str, value: str | None, tag: str) -> None:
    right = FAMILY.solve(params)["value"]
    grade = check(params, formula, value if value is not None else str(right))
    assert grade.gradable and grade.misconceptions == (tag,)
    assert not grade.parts[0].correct
    if value is not None:
        assert grade.score == 0 and grade.parts[1].misconceptions == (tag,)


def test_wrong_value_with_right_formula() -> None:
    grade = check(SIZE, "(n+2p-k)/s+1", "33")
    assert grade.parts[0].correct and not grade.parts[1].correct
    assert grade.score == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    "text",
    [
        "x**10**10",
        "n**10**10",
        "n^(10^10)",
        "n^1000",
        "n^2^2",
        "(n+1)^(k)^9",
        "n" * 500,
        "n + " * 2000 + "n",
        "__import__('os').system('true')",
        "lambda: 1",
        "n; k",
        "n.__class__",
        "∑ n",
    ],
)
def test_hostile_input_is_a_quick_format_error(text: str) -> None:
    start = time.perf_counter()
    result = FAMILY.check(SIZE, {"formula": text, "value": "32"})
    assert time.perf_counter() - start < 1.0
    assert not result.gradable and set(result.format_errors) == {"formula"}
    assert result.to_json()["gradable"] is False and result.score == 0 and not result.parts
    zh = result.for_student(lang="zh-Hant")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh["format_errors"]["formula"])


def test_power_messages_are_clear() -> None:
    with pytest.raises(AnswerFormatError, match="powers cannot be stacked"):
        parse_formula("n**10**10", "output-size")
    with pytest.raises(AnswerFormatError, match="too long"):
        parse_formula("n+" * 150 + "n", "output-size")
    with pytest.raises(AnswerFormatError, match="Unknown name 'x'"):
        parse_formula("x + 1", "output-size")  # the variables are n, k, p, s
    # Small exponents and symbolic ones are fine (a wrong answer, not a format error).
    assert parse_formula("k^2 + 2^n", "output-size")


def test_big_but_legal_formulas_stay_fast() -> None:
    start = time.perf_counter()
    for text in ["(" * 60 + "n" + ")" * 60, "exp(exp(exp(exp(exp(n)))))", "9" * 190, "n*" * 99 + "n"]:
        grade = check(SIZE, text, "32")
        assert grade.gradable and not grade.parts[0].correct
    assert time.perf_counter() - start < 2.0


def test_format_errors_cost_nothing() -> None:
    assert not FAMILY.parse(SIZE, {"formula": "(n+2p-k)/s+1", "value": "32.5"}).valid  # a size is whole
    assert not FAMILY.parse(SIZE, {"formula": "(n+2p-k)/s+1"}).valid
    assert not FAMILY.parse(SIZE, {"formula": 42, "value": "32"}).valid
    assert FAMILY.parse(SIGMOID, {"formula": "σ(1-σ)", "value": "16%"}).valid is False


def test_generated_variants() -> None:
    topics = set()
    for seed in range(200):
        p = FAMILY.generate(seed)
        topics.add(p["topic"])
        if p["topic"] in ("output-size", "size-dilated"):
            v = p["numbers"]
            span = v.get("d", 1) * (v["k"] - 1) + 1
            assert (v["n"] + 2 * v["p"] - span) % v["s"] == 0  # "assume the division is exact" holds
        assert isinstance(FAMILY.solve(p)["value"], int | float)
    assert topics == {"output-size", "size-dilated", "same-padding", "conv-params", "activation-derivative"}


def test_statement_and_explanation() -> None:
    text = FAMILY.render(SIZE)
    assert "assume the division is exact" in text and "`floor(...)` is accepted" in text
    assert "$n = 32$" in text
    zh = FAMILY.render(PARAMS, "zh-Hant")
    assert "偏置 (bias)" in zh and "`C_in`" in zh
    assert "\\sigma(x)\\,(1 - \\sigma(x))" in FAMILY.explain(SIGMOID)
    assert "23296" in FAMILY.explain(PARAMS)
