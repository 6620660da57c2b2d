"""Hand-checked cases for the ``pool-unpool`` family."""

from __future__ import annotations

from typing import Any

import pytest

from grader.i18n import word
from grader.problems import get_family
from grader.problems.pool_unpool import KINDS

FAMILY = get_family("pool-unpool")

# The classic max-pool / max-unpool picture (CS231n): 2×2/2 max pooling of X keeps 5, 6, 7, 8 at
# (1, 1), (0, 2), (3, 0), (3, 3); the decoder's Z = [[1, 2], [3, 4]] goes back to those cells.
X = [[1, 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]]
UNPOOL: dict[str, Any] = {"kind": "max-unpool", "x": X, "z": [[1, 2], [3, 4]], "given": "input"}
UNPOOLED = [[0, 0, 2, 0], [0, 1, 0, 0], [0, 0, 0, 0], [3, 0, 0, 4]]
MAXPOOL: dict[str, Any] = {"kind": "max-pool", "x": X, "k": 2, "s": 2}


def test_max_pool_with_indices_by_hand() -> None:
    # Flat indices row·4 + col: (1,1) → 5, (0,2) → 2, (3,0) → 12, (3,3) → 15.
    assert FAMILY.solve(MAXPOOL) == {
        "shape": [2, 2],
        "output": [[5, 6], [7, 8]],
        "indices": [[5, 2], [12, 15]],
    }
    alts = FAMILY.alternatives(MAXPOOL)
    # Averages: (1+2+3+5)/4 = 2.75, (6+3+2+1)/4 = 3, (1+2+7+3)/4 = 3.25, (2+1+4+8)/4 = 3.75.
    assert alts["average-instead-of-max"] == {"output": [[2.75, 3], [3.25, 3.75]]}
    # Position inside each 2×2 window, row-major: (1,1) → 3, (0,0) → 0, (1,0) → 2, (1,1) → 3.
    assert alts["argmax-index-in-window"] == {"indices": [[3, 0], [2, 3]]}
    # Stride 1: a 3×3 output of overlapping windows.
    assert alts["stride-misapplied"]["output"] == [[5, 6, 6], [5, 5, 2], [7, 4, 8]]
    # Forgetting +1: floor((4 - 2)/2) = 1 per axis.
    assert alts["output-size-formula"]["shape"] == [1, 1]


def test_max_pool_floor_and_ceil() -> None:
    p = {"kind": "max-pool", "x": [[1, 2, 3, 4, 5]] * 2 + [[0, 9, 0, 9, 0]] * 3, "k": 2, "s": 2}
    # 5×5, 2×2/2: floor(3/2) + 1 = 2 per axis (the last row and column are dropped); ceil would give 3.
    assert FAMILY.solve(p)["shape"] == [2, 2]
    assert FAMILY.alternatives(p)["ceil-instead-of-floor"] == {"shape": [3, 3]}


def test_avg_pool_by_hand() -> None:
    p = {"kind": "avg-pool", "x": X, "k": 2, "s": 2}
    assert FAMILY.solve(p) == {"shape": [2, 2], "output": [[2.75, 3], [3.25, 3.75]]}
    grade = FAMILY.check(p, {"shape": "2x2", "output": "11/4 3; 13/4 3.75"})
    assert grade.score == 1.0
    grade = FAMILY.check(p, {"shape": "2x2", "output": "5 6; 7 8"})
    assert grade.misconceptions == ("max-instead-of-average",)


def test_known_max_unpool() -> None:
    assert FAMILY.solve(UNPOOL) == {"output": UNPOOLED}
    assert FAMILY.solve({**UNPOOL, "given": "indices"}) == {"output": UNPOOLED}
    alts = FAMILY.alternatives(UNPOOL)
    assert alts["unpool-top-left"] == {"output": [[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]]}
    assert alts["upsampling-rule-mixed-up"] == {
        "output": [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]
    }
    assert alts["unpool-pooled-values"] == {
        "output": [[0, 0, 6, 0], [0, 5, 0, 0], [0, 0, 0, 0], [7, 0, 0, 8]]
    }
    assert "unpool-pooled-values" not in FAMILY.alternatives({**UNPOOL, "given": "indices"})
    # The indices variant prints the switches, not X.
    text = FAMILY.render({**UNPOOL, "given": "indices"})
    assert r"\begin{bmatrix} 5 & 2 \\ 12 & 15 \end{bmatrix}" in text and "1 & 2 & 6 & 3" not in text


def test_unpool_to_top_left_is_tagged_in_both_languages() -> None:
    typed = {"output": "1 0 2 0\n0 0 0 0\n3 0 4 0\n0 0 0 0"}
    grade = FAMILY.check(UNPOOL, typed)
    # Only the 6 in window (0, 1) really was at its top-left: 10 of the 16 cells agree, by
    # coincidence — the whole matrix is the wrong method's, so it earns the mistake's credit, 0.
    assert grade.misconceptions == ("unpool-top-left",) and grade.score == 0.0
    assert grade.parts[0].cells is not None and sum(map(sum, grade.parts[0].cells)) == 10
    assert "where the maximum was" in grade.for_student(lang="en")["message"]
    zh = grade.for_student(lang="zh-Hant")
    assert zh["misconceptions"] == ["unpool-top-left"] and "最大反池化 (max unpooling)" in zh["message"]


def test_nearest_and_bed_of_nails() -> None:
    x = [[1, 2], [3, 4]]
    nearest = {"kind": "nearest", "x": x, "scale": 2}
    nails = {"kind": "bed-of-nails", "x": x, "scale": 2}
    assert FAMILY.solve(nearest)["output"] == [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]
    assert FAMILY.solve(nails)["output"] == [[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]]
    grade = FAMILY.grade(nails, FAMILY.solve(nearest))
    assert grade.misconceptions == ("upsampling-rule-mixed-up",)


def test_transposed_convolution_by_hand() -> None:
    # Stride 1, K of ones: stamps of 1, 2, 3, 4 at (0,0), (0,1), (1,0), (1,1), summed where they overlap:
    #   [[1, 1+2, 2], [1+3, 1+2+3+4, 2+4], [3, 3+4, 4]].
    p = {"kind": "transposed-conv", "x": [[1, 2], [3, 4]], "kernel": [[1, 1], [1, 1]], "s": 1}
    assert FAMILY.solve(p) == {"shape": [3, 3], "output": [[1, 3, 2], [4, 10, 6], [3, 7, 4]]}
    alts = FAMILY.alternatives(p)
    # Overwriting in raster order keeps the last stamp on each cell.
    assert alts["transposed-overwrite"] == {"output": [[1, 2, 2], [3, 4, 4], [3, 4, 4]]}
    assert alts["output-size-formula"] == {"shape": [2, 2]}  # n·s
    assert alts["stride-misapplied"]["shape"] == [4, 4]
    # Stride 2, 3×3 kernel: output (2 - 1)·2 + 3 = 5; the stamps overlap on row/column 2.
    k = [[1, 0, -1], [0, 1, 0], [-1, 0, 1]]
    p2 = {"kind": "transposed-conv", "x": [[1, 2], [3, 4]], "kernel": k, "s": 2}
    assert FAMILY.solve(p2)["output"] == [
        [1, 0, -1 + 2, 0, -2],
        [0, 1, 0, 2, 0],
        [-1 + 3, 0, 1 - 2 - 3 + 4, 0, 2 - 4],
        [0, 3, 0, 4, 0],
        [-3, 0, 3 - 4, 0, 4],
    ]
    # n·s = 4 is also what stride 1 gives ((2 - 1)·1 + 3); the wrong stride explains it, so no second tag.
    assert "output-size-formula" not in FAMILY.alternatives(p2)
    grade = FAMILY.check(p, {"shape": "3x3", "output": "1 2 2; 3 4 4; 3 4 4"})
    assert grade.misconceptions == ("transposed-overwrite",) and "**adds**" in word(grade.message, "en")


def test_format_errors_cost_nothing() -> None:
    bad = FAMILY.check(MAXPOOL, {"shape": "2x2", "output": "5 6; 7", "indices": "5 2; 12 15"})
    assert not bad.gradable and set(bad.format_errors) == {"output"}
    assert FAMILY.check(UNPOOL, {"output": ""}).gradable is False
    assert FAMILY.check(UNPOOL, {"output": UNPOOLED, "shape": "4x4"}).gradable is False  # no such part here


def test_every_kind_can_be_asked_for() -> None:
    for kind in KINDS:
        p = FAMILY.generate(11, {"kind": kind})
        assert p["kind"] == kind and FAMILY.undiscriminated(p) == []
    with pytest.raises(ValueError, match="kind must be one of"):
        FAMILY.generate(1, {"kind": "min-pool"})


def test_generated_max_pools_have_no_ties_and_unpools_move() -> None:
    for seed in range(100):
        p = FAMILY.generate(seed, {"kind": "max-unpool"})
        top_left = FAMILY.alternatives(p)["unpool-top-left"]["output"]
        assert top_left != FAMILY.solve(p)["output"]
        m = FAMILY.generate(seed, {"kind": "max-pool"})
        assert len(FAMILY.solve(m)["output"]) * len(FAMILY.solve(m)["output"][0]) <= 9


def test_matches_torch_for_generated_variants() -> None:
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    for seed in range(150):
        p = FAMILY.generate(seed)
        answer, kind = FAMILY.solve(p), p["kind"]
        x = torch.tensor(p["x"], dtype=torch.float64)[None, None]
        if kind == "max-pool":
            y, idx = F.max_pool2d(x, p["k"], p["s"], return_indices=True)
            assert (y[0, 0].tolist(), idx[0, 0].tolist()) == (answer["output"], answer["indices"]), (
                f"seed {seed}"
            )
        elif kind == "avg-pool":
            assert F.avg_pool2d(x, p["k"], p["s"])[0, 0].tolist() == answer["output"], f"seed {seed}"
        elif kind == "max-unpool":
            _, idx = F.max_pool2d(x, 2, 2, return_indices=True)
            z = torch.tensor(p["z"], dtype=torch.float64)[None, None]
            assert F.max_unpool2d(z, idx, 2, 2, output_size=x.shape[2:])[0, 0].tolist() == answer["output"]
        elif kind == "nearest":
            assert (
                F.interpolate(x, scale_factor=p["scale"], mode="nearest")[0, 0].tolist() == answer["output"]
            )
        elif kind == "transposed-conv":
            w = torch.tensor(p["kernel"], dtype=torch.float64)[None, None]
            assert F.conv_transpose2d(x, w, stride=p["s"])[0, 0].tolist() == answer["output"], f"seed {seed}"
