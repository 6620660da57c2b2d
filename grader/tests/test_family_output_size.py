"""Hand-checked cases for the ``output-size-receptive-field`` family."""

from __future__ import annotations

import re
from typing import Any

import pytest

from grader.i18n import LANGS, word
from grader.problems import get_family

FAMILY = get_family("output-size-receptive-field")


def conv(k: int, s: int = 1, p: int = 0, d: int = 1) -> dict[str, Any]:
    return {"type": "conv", "k": k, "s": s, "p": p, "d": d}


def pool(k: int, s: int, p: int = 0) -> dict[str, Any]:
    return {"type": "pool", "k": k, "s": s, "p": p, "d": 1}


# AlexNet's first four layers without conv1's padding (the original paper's 227 → 55):
#   conv 11/4:  floor((227 - 11)/4) + 1 = 54 + 1 = 55
#   pool 3/2:   floor((55 - 3)/2) + 1 = 26 + 1 = 27
#   conv 5/1/2: floor((27 + 4 - 5)/1) + 1 = 27
#   pool 3/2:   floor((27 - 3)/2) + 1 = 13
# Receptive field (r, j): (1, 1) → (1 + 10·1, 4) = (11, 4) → (11 + 2·4, 8) = (19, 8)
#                          → (19 + 4·8, 8) = (51, 8) → (51 + 2·8, 16) = (67, 16).
ALEXNET = {"n": 227, "layers": [conv(11, 4), pool(3, 2), conv(5, 1, 2), pool(3, 2)]}


def test_alexnet_stack_by_hand() -> None:
    assert FAMILY.solve(ALEXNET) == {"sizes": [55, 27, 27, 13], "rf": 67}


def test_dilated_and_padded_layers_by_hand() -> None:
    # 32 → dilated 3×3, d=2 (k_eff = 5), no padding: 32 - 5 + 1 = 28 → conv 5/1/p2 keeps 28
    # → conv 3/2/p1: floor((28 + 2 - 3)/2) + 1 = 13 + 1 = 14.
    # RF: (1,1) → (1 + 4·1, 1) = 5 → (5 + 4·1, 1) = 9 → (9 + 2·1, 2) = 11.
    p = {"n": 32, "layers": [conv(3, d=2), conv(5, p=2), conv(3, 2, 1)]}
    assert FAMILY.solve(p) == {"sizes": [28, 28, 14], "rf": 11}


def test_misconceptions_by_hand() -> None:
    alts = FAMILY.alternatives(ALEXNET)
    # Forgetting +1, chained from the student's own sizes: 54 → floor(51/2) = 25 → 25 + 4 - 5 = 24 → floor(21/2) = 10.
    assert alts["size-off-by-one"] == {"sizes": [54, 25, 24, 10]}
    # Kernel sizes summed without strides: 1 + 10 + 2 + 4 + 2 = 19.
    assert alts["rf-ignores-stride"] == {"rf": 19}
    # Padding once: conv 5/1/p2 on 27 gives 27 + 2 - 5 + 1 = 25, then floor((25 - 3)/2) + 1 = 12.
    assert alts["padding-counted-once"] == {"sizes": [55, 27, 25, 12]}
    # All divisions are exact here, so rounding up changes nothing and is not a candidate.
    assert "ceil-instead-of-floor" not in alts and "dilation-ignored" not in alts

    dilated = {"n": 32, "layers": [conv(3, d=2), pool(2, 2)]}
    # Without dilation: 30, 15 and RF 1 + 2 + 1 = 4 instead of 28, 14 and RF 1 + 4 + 1 = 6.
    assert FAMILY.solve(dilated) == {"sizes": [28, 14], "rf": 6}
    assert FAMILY.alternatives(dilated)["dilation-ignored"] == {"sizes": [30, 15], "rf": 4}

    odd = {"n": 28, "layers": [conv(3, 2), conv(3)]}  # floor(25/2) + 1 = 13; ceil gives 14
    assert FAMILY.solve(odd)["sizes"] == [13, 11]
    assert FAMILY.alternatives(odd)["ceil-instead-of-floor"] == {"sizes": [14, 12]}


@pytest.mark.parametrize(
    ("response", "tag"),
    [
        ({"sizes": "54, 25, 24, 10", "rf": "67"}, "size-off-by-one"),
        ({"sizes": "55, 27, 27, 13", "rf": "19"}, "rf-ignores-stride"),
        ({"sizes": "55, 27, 25, 12", "rf": "67"}, "padding-counted-once"),
    ],
)
def test_misconceptions_are_tagged(response: dict[str, str], tag: str) -> None:
    grade = FAMILY.check(ALEXNET, response)
    assert grade.gradable and grade.misconceptions == (tag,) and grade.score < 1
    message = next(m for m in FAMILY.misconceptions if m.tag == tag).message
    for lang in LANGS:
        assert message(lang) in grade.for_student(lang=lang)["message"]


def test_error_carried_forward_inside_the_sizes() -> None:
    # 54 is wrong, but 26, 26, 12 follow correctly from it: 3 of 4 entries earn credit.
    grade = FAMILY.check(ALEXNET, {"sizes": "54, 26, 26, 12", "rf": "67"})
    sizes = grade.parts[0]
    assert sizes.cells == [[False, True, True, True]]
    assert sizes.score == pytest.approx(3 / 4)
    assert "your own previous size" in word(sizes.message, "en")
    assert "前一層的大小" in word(sizes.message, "zh-Hant")
    # A wrong entry that does not follow from the previous one earns nothing.
    grade = FAMILY.check(ALEXNET, {"sizes": "55, 27, 27, 14", "rf": "67"})
    assert grade.parts[0].cells == [[True, True, True, False]]


def test_format_errors_cost_nothing() -> None:
    grade = FAMILY.check(ALEXNET, {"sizes": "55, 27, 27", "rf": "67"})  # wrong length
    assert not grade.gradable and set(grade.format_errors) == {"sizes"}
    grade = FAMILY.check(ALEXNET, {"sizes": "55, 27, 27, 13", "rf": "sixty-seven"})
    shown = grade.for_student(lang="zh-Hant")
    assert not grade.gradable and shown["gradable"] is False and shown["score"] == 0
    assert set(shown["format_errors"]) == {"rf"} and re.search(r"[\u4e00-\u9fff]", shown["format_errors"]["rf"])
    assert FAMILY.check(ALEXNET, {"sizes": "55 27 27 13", "rf": "67"}).score == 1.0


def test_generated_variants_and_constraints() -> None:
    for seed in range(200):
        p = FAMILY.generate(seed)
        assert 2 <= len(p["layers"]) <= 4
        assert FAMILY.solve(p)["sizes"][-1] >= 2
        for lay in p["layers"]:
            assert lay["p"] <= lay["k"] // 2 or lay["d"] > 1
    p = FAMILY.generate(3, {"n": 64, "layers": 4})
    assert p["n"] == 64 and len(p["layers"]) == 4
    with pytest.raises(ValueError, match="unknown constraint"):
        FAMILY.generate(1, {"depth": 3})


def test_statement_has_the_table_and_conventions() -> None:
    text = FAMILY.render(ALEXNET)
    assert "| 2 | max pooling 3×3 | 2 | 0 | 1 |" in text and "227 \\times 227" in text
    zh = FAMILY.render(ALEXNET, "zh-Hant")
    assert "感受野 (receptive field)" in zh and "最大池化 (max pooling)" in zh
    explanation = FAMILY.explain(ALEXNET)
    assert "r = 51 + (3 - 1) \\cdot 8 = 67" in explanation
