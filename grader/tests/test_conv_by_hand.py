"""Hand-checked cases for the ``conv-by-hand`` family."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from grader.i18n import word
from grader.problems import get_family
from grader.problems.conv_by_hand import _conv

FAMILY = get_family("conv-by-hand")

# 3×3 image, 2×2 kernel, stride 1, no padding. Worked by hand:
#   cross-correlation  Y[0,0] = 1·1 + 2·2 + 0·0 + (−1)·1 = 4,  Y[0,1] = 1·2 + 2·0 + 0·1 + (−1)·3 = −1,
#                      Y[1,0] = 1·0 + 2·1 + 0·4 + (−1)·0 = 2,  Y[1,1] = 1·1 + 2·3 + 0·0 + (−1)·1 = 6;
#   convolution uses K rotated by 180°, K' = [[−1, 0], [2, 1]]:
#                      Y[0,0] = −1 + 0 + 0 + 1 = 0,  Y[0,1] = −2 + 0 + 2 + 3 = 3,
#                      Y[1,0] = 0 + 0 + 8 + 0 = 8,   Y[1,1] = −1 + 0 + 0 + 1 = 0.
IMAGE = [[1, 2, 0], [0, 1, 3], [4, 0, 1]]
KERNEL = [[1, 2], [0, -1]]
CORRELATION = [[4, -1], [2, 6]]
CONVOLUTION = [[0, 3], [8, 0]]


def params(**overrides: Any) -> dict[str, Any]:
    base = {"image": IMAGE, "kernel": KERNEL, "stride": 1, "padding": 0, "dilation": 1, "mode": "correlation"}
    return {**base, **overrides}


def test_correlation_and_convolution_by_hand() -> None:
    assert FAMILY.solve(params()) == {"shape": [2, 2], "output": CORRELATION}
    assert FAMILY.solve(params(mode="convolution")) == {"shape": [2, 2], "output": CONVOLUTION}


def test_padding_stride_and_dilation_by_hand() -> None:
    # Padding 1 around IMAGE, stride 2: windows start at (0,0), (0,2), (2,0), (2,2) of the 5×5 padded input.
    # Y[0,0] = K·[[0,0],[0,1]] = −1;  Y[0,1] = K·[[0,0],[2,0]] = 0;
    # Y[1,0] = K·[[0,0],[0,4]] = −4;  Y[1,1] = K·[[1,3],[0,1]] = 1 + 6 − 1 = 6.
    p = params(padding=1, stride=2)
    assert FAMILY.solve(p) == {"shape": [2, 2], "output": [[-1, 0], [-4, 6]]}
    # Dilation 2 on a 4×4 image: taps at offsets (0,0), (0,2), (2,0), (2,2); one window per axis... 2×2 output.
    image = [[1, 0, 2, 0], [0, 1, 0, 3], [1, 0, 1, 0], [0, 2, 0, 1]]
    p = params(image=image, dilation=2)
    # Y[0,0] = 1·1 + 2·2 + 0·1 + (−1)·1 = 4;  Y[1,1] = 1·1 + 2·3 + 0·2 + (−1)·1 = 6.
    out = FAMILY.solve(p)["output"]
    assert out[0][0] == 4 and out[1][1] == 6 and FAMILY.solve(p)["shape"] == [2, 2]


def test_matches_torch_for_generated_variants() -> None:
    torch = pytest.importorskip("torch")
    for seed in range(100):
        p = FAMILY.generate(seed)
        x = torch.tensor(p["image"], dtype=torch.float64)[None, None]
        w = torch.tensor(p["kernel"], dtype=torch.float64)[None, None]
        if p["mode"] == "convolution":
            w = torch.flip(w, dims=(2, 3))
        y = torch.nn.functional.conv2d(x, w, stride=p["stride"], padding=p["padding"], dilation=p["dilation"])
        assert FAMILY.solve(p)["output"] == y[0, 0].round().long().tolist(), f"seed {seed}"


def test_slicing_shortcut_equals_direct_reference_calls() -> None:
    from grader.reference import conv2d

    for seed in range(200):
        p = FAMILY.generate(seed)
        for kw in (
            {},
            {"stride": 1},
            {"padding": 0},
            {"dilation": 1},
            {"mode": "correlation"},
            {"mode": "convolution"},
        ):
            s, pad, d = (kw.get(k, p[k]) for k in ("stride", "padding", "dilation"))
            try:
                direct = conv2d(
                    np.asarray(p["image"])[None],
                    np.asarray(p["kernel"])[None, None],
                    stride=s,
                    padding=pad,
                    dilation=d,
                    flip=kw.get("mode", p["mode"]) == "convolution",
                )[0].tolist()
            except ValueError:
                direct = None
            assert _conv(p, **kw) == direct, f"seed {seed} {kw}"


def test_generated_variants_are_hand_sized() -> None:
    for seed in range(300):
        p = FAMILY.generate(seed)
        h, w = len(p["image"]), len(p["image"][0])
        assert 4 <= h <= 7 and 4 <= w <= 7
        assert len(p["kernel"]) in (2, 3) and all(len(r) == len(p["kernel"]) for r in p["kernel"])
        assert any(v < 0 for r in p["kernel"] for v in r)
        assert all(0 <= v <= 3 for r in p["image"] for v in r)
        assert p["stride"] in (1, 2) and p["padding"] in (0, 1) and p["dilation"] in (1, 2)
        assert p["mode"] in ("correlation", "convolution")
        oh, ow = FAMILY.solve(p)["shape"]
        assert 2 <= oh <= 4 and 2 <= ow <= 4 and oh * ow <= 12


def test_constraints() -> None:
    p = FAMILY.generate(7, {"mode": "convolution", "stride": 2, "padding": 1, "kernel_size": 3})
    assert (p["mode"], p["stride"], p["padding"], len(p["kernel"])) == ("convolution", 2, 1, 3)
    p = FAMILY.generate(7, {"height": 5, "width": 5, "kernel_size": 3})
    assert len(p["image"]) == 5 and len(p["image"][0]) == 5
    with pytest.raises(ValueError, match="unknown constraint"):
        FAMILY.generate(1, {"colour": "red"})
    with pytest.raises(ValueError, match="stride=3"):
        FAMILY.generate(1, {"stride": 3})


def test_correlation_instead_of_convolution_is_diagnosed_in_both_languages() -> None:
    p = params(mode="convolution")
    grade = FAMILY.check(p, {"shape": "2x2", "output": "4 -1\n2 6"})
    assert grade.misconceptions == ("kernel-not-flipped",)
    assert "cross-correlation, not the convolution" in grade.for_student(lang="en")["message"]
    output = grade.parts[1]
    assert output.misconceptions == ("kernel-not-flipped",) and output.cells == [
        [False, False],
        [False, False],
    ]
    assert grade.parts[0].correct and grade.score == pytest.approx(1 / 4)
    zh = FAMILY.check(p, {"shape": "2×2", "output": "4 -1\n2 6"}).for_student(lang="zh-Hant")
    assert "互相關 (cross-correlation)，不是卷積 (convolution)" in zh["message"]


def test_flipping_when_correlation_was_asked() -> None:
    grade = FAMILY.grade(params(), {"shape": [2, 2], "output": CONVOLUTION})
    assert grade.misconceptions == ("kernel-flipped",)


def test_per_cell_partial_credit() -> None:
    grade = FAMILY.grade(params(), {"shape": [2, 2], "output": [[4, -1], [2, 5]]})
    output = grade.parts[1]
    assert output.cells == [[True, True], [True, False]]
    assert output.score == pytest.approx(3 / 4) and output.points == pytest.approx(9 / 4)
    assert grade.score == pytest.approx((1 + 9 / 4) / 4)
    assert grade.misconceptions == () and "3 of your 4 entries" in word(output.message, "en")


def test_padding_ignored() -> None:
    p = params(padding=1)  # correct: 4×4; without padding: the 2×2 CORRELATION
    grade = FAMILY.grade(p, {"shape": [2, 2], "output": CORRELATION})
    assert grade.misconceptions == ("padding-ignored",)
    assert [part.misconceptions for part in grade.parts] == [("padding-ignored",), ("padding-ignored",)]
    # The message is said once; the second part points back to the first.
    shown = grade.for_student(lang="en")
    assert shown["message"].count("zero padding") == 1 and "Same mistake" in shown["parts"][1]["message"]


def test_stride_ignored_and_size_off_by_one_and_ceil() -> None:
    image = [[1, 0, 2, 0, 1], [0, 1, 0, 3, 0], [1, 0, 1, 0, 2], [0, 2, 0, 1, 0], [3, 0, 1, 0, 1]]
    p = params(image=image, kernel=[[1, 0, -1], [2, 0, 0], [0, 1, 0]], stride=2)
    # (5 - 3) / 2 + 1 = 2 per axis; stride 1 gives 3; forgetting +1 gives 1.
    assert FAMILY.solve(p)["shape"] == [2, 2]
    assert FAMILY.grade(
        p, {**FAMILY.solve(p), "shape": [1, 1], "output": [[FAMILY.solve(p)["output"][0][0]]]}
    ).misconceptions == ("size-off-by-one",)
    stride1 = _conv(p, stride=1)
    assert FAMILY.grade(p, {"shape": [3, 3], "output": stride1}).misconceptions == ("stride-ignored",)
    # 6×6 image, 3×3 kernel, stride 2: (6 - 3) / 2 = 1.5 → floor gives 2, ceiling gives 3.
    p6 = params(image=[[1] * 6 for _ in range(6)], kernel=[[1, 0, -1], [2, 0, 0], [0, 1, 0]], stride=2)
    assert FAMILY.solve(p6)["shape"] == [2, 2]
    ceil = FAMILY.grade(p6, {**FAMILY.solve(p6), "shape": [3, 3]})
    assert ceil.misconceptions == ("ceil-instead-of-floor",) and "floor" in word(ceil.message, "en")


def test_dilation_ignored() -> None:
    image = [[1, 0, 2, 0], [0, 1, 0, 3], [1, 0, 1, 0], [0, 2, 0, 1]]
    p = params(image=image, dilation=2)
    undilated = _conv(p, dilation=1)
    assert undilated is not None and len(undilated) == 3
    assert FAMILY.grade(p, {"shape": [3, 3], "output": undilated}).misconceptions == ("dilation-ignored",)


def test_error_carried_forward_rule() -> None:
    p = params(padding=1)
    right = FAMILY.solve(p)["output"]  # 4×4
    bigger = [row + [0] for row in right] + [[0] * 5]
    # Matrix matches the student's own (wrong) size: the extra cells are not penalised again.
    consistent = FAMILY.grade(p, {"shape": [5, 5], "output": bigger})
    assert consistent.parts[0].score == 0 and consistent.parts[1].score == 1.0
    assert "not penalised again" in word(consistent.parts[1].message, "en")
    # Same matrix, but the stated size disagrees with it: extra cells count as wrong.
    inconsistent = FAMILY.grade(p, {"shape": [4, 4], "output": bigger})
    assert inconsistent.parts[1].score == pytest.approx(16 / 25)
    # A smaller matrix: missing cells always count as wrong, even when consistent.
    smaller = FAMILY.grade(p, {"shape": [2, 2], "output": [row[:2] for row in right[:2]]})
    assert smaller.parts[1].score == pytest.approx(4 / 16)
    assert smaller.parts[1].cells == [[True, True], [True, True]]


def test_feedback_does_not_reveal_the_answer() -> None:
    grade = FAMILY.grade(params(), {"shape": [3, 3], "output": [[0, 0, 0], [0, 0, 0], [0, 0, 0]]})
    for lang in ("en", "zh-Hant"):
        shown = grade.for_student(lang=lang)
        for text in [shown["message"], *(part["message"] for part in shown["parts"])]:
            assert "2×2" not in text and "4 -1" not in text and "bmatrix" not in text
        assert all("expected" not in part for part in shown["parts"])
    assert all("expected" not in part for part in grade.to_json()["parts"])


def test_render_states_the_operation_and_settings() -> None:
    conv = FAMILY.render(params(mode="convolution", padding=1, stride=2, dilation=2))
    assert "**convolution**" in conv and "180°" in conv and "$p = 1$" in conv and "$d = 2$" in conv
    assert r"\begin{bmatrix} 1 & 2 & 0 \\ 0 & 1 & 3 \\ 4 & 0 & 1 \end{bmatrix}" in conv
    corr = FAMILY.render(params())
    assert "cross-correlation" in corr and "no padding" in corr and "dilation" not in corr
    zh = FAMILY.render(params(mode="convolution"), "zh-Hant")
    assert "卷積 (convolution)" in zh and "步幅 (stride)" in zh


def test_explain_walks_through_every_entry() -> None:
    text = FAMILY.explain(params(mode="convolution"))
    assert "K' = " in text and "Y[1,1]" in text and r"\begin{bmatrix} 0 & 3 \\ 8 & 0 \end{bmatrix}" in text
    assert "逐格計算" in FAMILY.explain(params(), "zh-Hant")
