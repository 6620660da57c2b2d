"""Hand-checked cases for the ``iou-nms`` family."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from grader.i18n import word
from grader.problems import get_family
from grader.problems.iou_nms import _exact_iou, _greedy, _tables

FAMILY = get_family("iou-nms")

# A chain listed as B0 = "B", B1 = "A", B2 = "C" (10×10 boxes shifted by 3 along x):
#   IoU(A, B) = IoU(B, C) = 70 / 130 ≈ 0.538 > 0.5,   IoU(A, C) = 40 / 160 = 0.25.
# Scores A 0.9 > B 0.8 > C 0.7. NMS at 0.5: keep A, B is suppressed by A, C overlaps only B
# above the threshold and B was suppressed, so C is kept → [1, 2].
#   input order (no sort): B kept, A suppressed by B, C suppressed by B → [0]
#   suppressed boxes suppressing too: C suppressed by B → [1]
# A tie pair far away: D = [20, 0, 26, 2], E = [22, 0, 28, 2], overlap 4 × 2 → 8 / 16 = 0.5 exactly;
# IoU = threshold survives, so E (score 0.6) is kept; with "≥" it would be suppressed.
CHAIN = [[3, 0, 13, 10], [0, 0, 10, 10], [6, 0, 16, 10]]
TIE = [[20, 0, 26, 2], [22, 0, 28, 2]]


def params(**kw: Any) -> dict[str, Any]:
    base = {"boxes": CHAIN + TIE, "scores": [0.8, 0.9, 0.7, 0.95, 0.6], "threshold": 0.5, "pairs": [[0, 1], [3, 4]]}
    return {**base, **kw}


def test_iou_and_nms_by_hand() -> None:
    ans = FAMILY.solve(params())
    assert ans["iou_0_1"] == pytest.approx(70 / 130)
    assert ans["iou_3_4"] == 0.5
    assert ans["keep"] == [3, 1, 2, 4]
    assert _exact_iou(CHAIN[1], CHAIN[2]) == Fraction(1, 4)


def test_iou_conventions_by_hand() -> None:
    # [0,0,4,4] and [2,0,6,4]: intersection 2·4 = 8, areas 16 + 16, union 24 → 1/3.
    # +1 pixels: 5·5 areas, intersection 3·5 = 15, union 35 → 3/7; over min area 8/16; over the sum 8/32.
    p = {"boxes": [[0, 0, 4, 4], [2, 0, 6, 4], [10, 10, 12, 12]], "scores": [0.9, 0.8, 0.7], "threshold": 0.5, "pairs": [[0, 1]]}
    assert FAMILY.solve(p)["iou_0_1"] == pytest.approx(1 / 3)
    alts = FAMILY.alternatives(p)
    assert alts["iou-plus-one"]["iou_0_1"] == pytest.approx(3 / 7)
    assert alts["iou-over-min-area"]["iou_0_1"] == pytest.approx(0.5)
    assert alts["iou-union-not-subtracted"]["iou_0_1"] == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("keep", "tag"),
    [([0, 3, 4], "nms-not-sorted"), ([3, 1, 4], "nms-non-greedy"), ([3, 1, 2], "nms-ge-threshold")],
)
def test_nms_misconceptions(keep: list[int], tag: str) -> None:
    p = params()
    right = FAMILY.solve(p)
    grade = FAMILY.check(p, {**FAMILY.format_answer(p, right), "keep": ", ".join(map(str, keep))})
    assert grade.misconceptions == (tag,)
    assert grade.parts[-1].score == 0 and grade.parts[0].correct


def test_unsorted_alternative_by_hand() -> None:
    iou = _tables(tuple(tuple(b) for b in CHAIN + TIE))[0]
    assert _greedy(iou, [0, 1, 2, 3, 4], 0.5) == [0, 3, 4]
    assert _greedy(iou, [3, 1, 0, 2, 4], 0.5, all_visited=True) == [3, 1, 4]
    assert _greedy(iou, [3, 1, 0, 2, 4], 0.5, ge=True) == [3, 1, 2]


@pytest.mark.parametrize(
    ("value", "tag"),
    [("8/14", "iou-plus-one"), ("7/10", "iou-over-min-area"), ("0.35", "iou-union-not-subtracted")],
)
def test_iou_misconceptions(value: str, tag: str) -> None:
    # Pair (0, 1): 7·10 = 70 of 100 + 100: +1 → 8·11 / (2·121 − 88) = 88/154 = 8/14; over min 0.7; over the sum 0.35.
    p = params()
    right = FAMILY.format_answer(p, FAMILY.solve(p))
    grade = FAMILY.check(p, {**right, "iou_0_1": value})
    assert grade.misconceptions == (tag,)


def test_fractions_and_order_hint() -> None:
    p = params()
    grade = FAMILY.check(p, {"iou_0_1": "7/13", "iou_3_4": "1/2", "keep": "3 1 2 4"})
    assert grade.score == 1.0
    # The right boxes in the wrong order: wrong, with a pointed hint instead of a misconception.
    grade = FAMILY.check(p, {"iou_0_1": "7/13", "iou_3_4": "1/2", "keep": "1, 2, 3, 4"})
    assert grade.parts[-1].score == 0 and grade.misconceptions == ()
    assert "descending score" in word(grade.parts[-1].message, "en")
    assert "分數由高到低" in word(grade.parts[-1].message, "zh-Hant")


def test_format_errors_cost_nothing() -> None:
    p = params()
    for bad in ("B3, B1", "-1, 2", "3.5"):
        result = FAMILY.check(p, {"iou_0_1": "0.538", "iou_3_4": "0.5", "keep": bad})
        assert not result.gradable and set(result.format_errors) == {"keep"}
    assert not FAMILY.parse(p, {"iou_0_1": "about half", "iou_3_4": "0.5", "keep": "3"}).valid
    # An empty keep list is a readable (if wrong) answer.
    assert FAMILY.parse(p, {"iou_0_1": "0.538", "iou_3_4": "0.5", "keep": "none"}).valid


def test_generated_variants_discriminate_by_construction() -> None:
    ties = 0
    for seed in range(150):
        p = FAMILY.generate(seed)
        n = len(p["boxes"])
        assert 3 <= n <= 6 and len(set(p["scores"])) == n
        assert all(b[2] > b[0] and b[3] > b[1] and min(b) >= 0 for b in p["boxes"])
        right = FAMILY.solve(p)["keep"]
        alts = FAMILY.alternatives(p)
        assert set(alts["nms-not-sorted"]["keep"]) != set(right)
        assert alts["nms-non-greedy"]["keep"] != right
        if "nms-ge-threshold" in alts:
            ties += 1
            assert alts["nms-ge-threshold"]["keep"] != right
        # IoUs are either exactly the threshold or clearly away from it.
        iou = _tables(tuple(tuple(b) for b in p["boxes"]))[0]
        off = np.abs(iou - p["threshold"])
        assert np.all((off == 0) | (off >= 0.03))
    assert ties >= 20


def test_constraints() -> None:
    p = FAMILY.generate(3, {"tie": True, "threshold": 0.7, "boxes": 5})
    assert p["threshold"] == 0.7 and len(p["boxes"]) == 5 and "nms-ge-threshold" in FAMILY.alternatives(p)
    with pytest.raises(ValueError, match="tie needs at least 5"):
        FAMILY.generate(3, {"tie": True, "boxes": 3})
    with pytest.raises(ValueError, match="unknown constraint"):
        FAMILY.generate(1, {"colour": "red"})


def test_statement_states_the_conventions() -> None:
    text = FAMILY.render(params())
    assert "**strictly greater**" in text and "no** $+1$" in text and "| B4 | 22 | 0 | 28 | 2 | 0.60 |" in text
    zh = FAMILY.render(params(), "zh-Hant")
    assert "嚴格大於" in zh and "非極大值抑制 (NMS)" in zh
    explanation = FAMILY.explain(params())
    assert "\\frac{1}{2}" in explanation and "B0: IoU(B1, B0) ≈ 0.5385 > 0.5 → suppressed" in explanation
