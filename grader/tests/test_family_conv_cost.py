"""Hand-checked cases for the ``conv-cost`` family."""

from __future__ import annotations

from typing import Any

import pytest

from grader.i18n import word
from grader.problems import get_family

FAMILY = get_family("conv-cost")

# The notes' AlexNet conv1: 3×227×227, 64 filters 11×11, stride 4, padding 2, biases.
#   H' = floor((227 + 4 - 11)/4) + 1 = 56; output 64×56×56 = 200,704 elements
#   params 64·3·11·11 + 64 = 23,296; multiplies 200,704 · 363 = 72,855,552
#   memory 200,704 · 4 = 802,816 bytes = 784 KiB = 802.816 KB
ALEXNET: dict[str, Any] = {
    "kind": "plain",
    "c_in": 3,
    "h": 227,
    "w": 227,
    "c_out": 64,
    "k": 11,
    "stride": 4,
    "padding": 2,
    "bias": True,
    "unit": "KiB",
    "alexnet": True,
}
ALEXNET_ANSWER = {"shape": [64, 56, 56], "params": 23_296, "multiplies": 72_855_552, "memory": 784}

# Exam 109 Q8: 32×32 maps, 64 → 64 channels, 3×3, 8 branches of 8 channels.
#   normal  (32·32) · 64·64 · 9 = 37,748,736 multiplies, 64·64·9 = 36,864 weights
#   grouped 8 · ((32·32) · 8·8 · 9) = 4,718,592 multiplies, 8 · 8·8·9 = 4,608 weights
EXAM_109_Q8: dict[str, Any] = {"kind": "grouped", "c_in": 64, "c_out": 64, "h": 32, "k": 3, "groups": 8}


def test_alexnet_conv1_from_the_notes() -> None:
    assert FAMILY.solve(ALEXNET) == ALEXNET_ANSWER
    assert FAMILY.solve({**ALEXNET, "unit": "KB"})["memory"] == pytest.approx(802.816)
    assert FAMILY.generate(5, {"alexnet": True})["alexnet"] is True
    grade = FAMILY.check(
        ALEXNET, {"shape": "64×56×56", "params": "23,296", "multiplies": "72,855,552", "memory": "784"}
    )
    assert grade.score == 1.0


def test_exam_109_q8_grouped_convolution() -> None:
    assert FAMILY.solve(EXAM_109_Q8) == {
        "mult_normal": 37_748_736,
        "mult_grouped": 4_718_592,
        "params_normal": 36_864,
        "params_grouped": 4_608,
    }
    alts = FAMILY.alternatives(EXAM_109_Q8)
    assert alts["ignored-groups"]["mult_grouped"] == 37_748_736
    assert alts["grouped-one-branch"] == {"mult_grouped": 589_824, "params_grouped": 576}
    assert alts["forgot-c-in"]["mult_normal"] == 32 * 32 * 64 * 9


def test_inception_1x1_reduction() -> None:
    # 192×28×28 → 32 channels, 5×5: direct 28·28·32 · 192·25 = 120,422,400;
    # with 16-channel 1×1: 28·28·16·192 + 28·28·32·16·25 = 2,408,448 + 10,035,200 = 12,443,648.
    p = {"kind": "bottleneck", "c_in": 192, "c_out": 32, "h": 28, "k": 5, "reduce": 16, "bias": True}
    assert FAMILY.solve(p) == {
        "mult_direct": 120_422_400,
        "mult_reduced": 12_443_648,
        "params_direct": 32 * 192 * 25 + 32,
        "params_reduced": 16 * 192 + 16 + 32 * 16 * 25 + 32,
    }
    alts = FAMILY.alternatives(p)
    assert alts["forgot-extra-layer"] == {"mult_reduced": 10_035_200, "params_reduced": 32 * 16 * 25 + 32}
    assert alts["forgot-bias"] == {"params_direct": 153_600, "params_reduced": 3_072 + 12_800}


def test_mobilenet_depthwise_separable() -> None:
    # 32×112×112 → 64, stride 1: standard 112²·64·32·9 = 231,211,008;
    # depthwise 112²·32·9 = 3,612,672 plus pointwise 112²·64·32 = 25,690,112 → 29,302,784.
    p = {"kind": "separable", "c_in": 32, "c_out": 64, "h": 112, "stride": 1, "k": 3}
    assert FAMILY.solve(p) == {
        "mult_standard": 231_211_008,
        "mult_separable": 29_302_784,
        "params_standard": 18_432,
        "params_separable": 288 + 2_048,
    }
    assert FAMILY.alternatives(p)["ignored-groups"]["mult_separable"] == 112 * 112 * 32 * 32 * 9 + 25_690_112
    strided = FAMILY.alternatives({**p, "stride": 2})
    # With stride 2 the output is 56×56; using the input's 112×112 makes every count 4× too big.
    assert (
        strided["input-spatial-size"]["mult_separable"]
        == 4 * FAMILY.solve({**p, "stride": 2})["mult_separable"]
    )


def test_plain_misconceptions_by_hand() -> None:
    alts = FAMILY.alternatives(ALEXNET)
    assert alts["forgot-c-in"] == {"params": 64 * 121 + 64, "multiplies": 200_704 * 121}
    assert alts["bias-in-multiplies"] == {"multiplies": 72_855_552 + 200_704}
    assert alts["flops-not-multiplies"] == {"multiplies": 145_711_104}
    assert alts["input-spatial-size"] == {"multiplies": 64 * 227 * 227 * 363}
    assert alts["forgot-bias"] == {"params": 23_232}
    assert alts["kb-vs-kib"] == {"memory": pytest.approx(802.816)}
    assert alts["memory-forgot-bytes"] == {"memory": 196}


@pytest.mark.parametrize(
    ("changes", "tag"),
    [
        ({"multiplies": "145,711,104"}, "flops-not-multiplies"),
        ({"multiplies": "73056256"}, "bias-in-multiplies"),
        ({"params": "23232"}, "forgot-bias"),
        ({"params": "7808", "multiplies": "24,285,184"}, "forgot-c-in"),
        ({"memory": "802.8"}, "kb-vs-kib"),
        ({"memory": "196"}, "memory-forgot-bytes"),
    ],
)
def test_misconceptions_are_tagged(changes: dict[str, str], tag: str) -> None:
    typed = {"shape": "64x56x56", "params": "23296", "multiplies": "72855552", "memory": "784", **changes}
    grade = FAMILY.check(ALEXNET, typed)
    assert grade.gradable and grade.misconceptions == (tag,) and grade.score < 1
    message = next(m for m in FAMILY.misconceptions if m.tag == tag)
    for lang in ("en", "zh-Hant"):
        assert message.message(lang) in grade.for_student(lang=lang)["message"]


def test_exam_misconceptions_are_tagged() -> None:
    right = FAMILY.solve(EXAM_109_Q8)
    grade = FAMILY.grade(EXAM_109_Q8, {**right, "mult_grouped": 37_748_736, "params_grouped": 36_864})
    assert grade.misconceptions == ("ignored-groups",) and grade.score == pytest.approx(0.5)
    # With 64 channels in 8 groups, C/g = g: one branch, (C/g)²·HW·k² = 8·8·1024·9, equals the count with
    # C_in forgotten, C·HW·k² = 64·1024·9 = 589,824. Both explanations are offered (generate avoids such variants).
    grade = FAMILY.grade(EXAM_109_Q8, {**right, "mult_grouped": 589_824})
    assert grade.misconceptions == ("forgot-c-in", "grouped-one-branch")
    wide = {**EXAM_109_Q8, "c_in": 128, "c_out": 128}  # one branch: 16·16·1024·9 = 2,359,296
    right = FAMILY.solve(wide)
    grade = FAMILY.grade(wide, {**right, "mult_grouped": 2_359_296})
    assert grade.misconceptions == ("grouped-one-branch",) and "分支" in word(grade.message, "zh-Hant")
    assert FAMILY.undiscriminated(wide) == [] and FAMILY.undiscriminated(EXAM_109_Q8) != []


def test_error_carried_forward_from_a_wrong_shape() -> None:
    # Forgetting the padding gives 64×55×55; multiplies and memory consistent with it earn full credit.
    typed = {
        "shape": "64x55x55",
        "params": "23296",
        "multiplies": str(64 * 55 * 55 * 363),
        "memory": str(64 * 55 * 55 * 4 / 1024),
    }
    grade = FAMILY.check(ALEXNET, typed)
    assert [p.score for p in grade.parts] == [0.0, 1.0, 1.0, 1.0]
    assert "Consistent with your earlier answer" in word(grade.parts[2].message, "en")


def test_format_errors_cost_nothing() -> None:
    grade = FAMILY.check(
        ALEXNET, {"shape": "64x56", "params": "23296", "multiplies": "72855552", "memory": "784"}
    )
    assert not grade.gradable and set(grade.format_errors) == {"shape"}
    grade = FAMILY.check(
        ALEXNET, {"shape": "64x56x56", "params": "23296.5", "multiplies": "7.29e7", "memory": "784"}
    )
    assert not grade.gradable and set(grade.format_errors) == {
        "params"
    }  # 7.29e7 is a whole number, just wrong
    assert FAMILY.check(EXAM_109_Q8, {"mult_normal": "a lot"}).gradable is False


def test_statements_name_units_and_settings() -> None:
    text = FAMILY.render(ALEXNET)
    assert "AlexNet conv1" in text and "**KiB** (1 KiB = 1,024 bytes)" in text and "with biases" in text
    assert "1 MB = 1,000,000 bytes" in FAMILY.render({**ALEXNET, "unit": "MB"})
    zh = FAMILY.render(EXAM_109_Q8, "zh-Hant")
    assert "分組卷積 (grouped convolution)" in zh and "`groups=8`" in zh
    assert "72{,}855{,}552" in FAMILY.explain(ALEXNET)


def test_constraints() -> None:
    for kind in ("plain", "grouped", "bottleneck", "separable"):
        assert FAMILY.generate(2, {"kind": kind})["kind"] == kind
    assert FAMILY.generate(2, {"kind": "plain", "unit": "KB"})["unit"] == "KB"
    with pytest.raises(ValueError, match="kind must be one of"):
        FAMILY.generate(1, {"kind": "fancy"})


def test_the_notes_alexnet_example_is_asked_in_kib_as_the_notes_compute_it() -> None:
    """The notes divide by 1,024 (784 "KB"): a drawn AlexNet variant asks in KiB, so 784 is right."""
    drawn = [FAMILY.generate(seed, {"kind": "plain"}) for seed in range(400)]
    alexnet = [p for p in drawn if p["alexnet"]]
    assert alexnet, "no AlexNet variant in 400 seeds"
    assert {p["unit"] for p in alexnet} == {"KiB"}
    assert {p["unit"] for p in drawn if not p["alexnet"]} >= {"KB", "KiB"}  # other layers still mix units
    assert all(FAMILY.solve(p)["memory"] == 784 for p in alexnet)
    # Asked in KB on purpose, the statement says what the notes' "KB" was.
    for lang, words in (("en", "divide by 1,024"), ("zh-Hant", "1,024")):
        assert words in FAMILY.render({**ALEXNET, "unit": "KB"}, lang)


def test_worked_solution_says_the_notes_count_a_multiply_add_as_one_flop() -> None:
    en = FAMILY.explain(ALEXNET)
    assert "one multiply–add as one operation" in en and "145{,}711{,}104" in en
    zh = FAMILY.explain(ALEXNET, "zh-Hant")
    assert "乘法加加" not in zh and "145{,}711{,}104" in zh and "一次運算" in zh
