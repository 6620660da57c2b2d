"""Hand-checked cases for the ``image-filter`` family."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from grader.i18n import LANGS
from grader.problems import get_family
from grader.problems.image_filter import FILTERS
from grader.reference import sobel_kernel

FAMILY = get_family("image-filter")

# The slides' 6×6 example ("動手算算看"): a bright block on a dark background.
SLIDES_IMAGE = [
    [0, 0, 0, 0, 0, 0],
    [0, 0, 3, 3, 3, 0],
    [0, 0, 1, 1, 3, 0],
    [0, 0, 1, 1, 3, 0],
    [0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0],
]


def params(filter: str, kernel: list[list[int]], scale: int = 1, **overrides: Any) -> dict[str, Any]:
    base = {
        "filter": filter,
        "kernel": kernel,
        "scale": scale,
        "mode": "correlation",
        "padding": "valid",
        "image": SLIDES_IMAGE,
        "region": [0, 0, 4, 4],
        "whole": True,
    }
    return {**base, **overrides}


def close(got: Any, want: Any) -> bool:
    return bool(np.allclose(np.asarray(got, dtype=float), np.asarray(want, dtype=float), rtol=0, atol=1e-12))


def test_slides_6x6_example_with_its_kernel() -> None:
    # The slides' kernel [[1, 0, -1]] × 3: Y[i, j] = (column sums of rows i..i+2) at j minus at j + 2.
    #   rows 0–2: column sums 0 0 4 4 6 0 → Y[0] = 0-4, 0-4, 4-6, 4-0 = -4 -4 -2 4
    #   rows 1–3: 0 0 5 5 9 0 → -5 -5 -4 5;  rows 2–4: 0 0 2 2 6 0 → -2 -2 -4 2;  rows 3–5: 0 0 1 1 3 0 → -1 -1 -2 1
    p = params("prewitt", [[1, 0, -1]] * 3)
    assert FAMILY.solve(p) == {
        "shape": [4, 4],
        "output": [[-4, -4, -2, 4], [-5, -5, -4, 5], [-2, -2, -4, 2], [-1, -1, -2, 1]],
    }


def test_slides_6x6_with_the_sobel_kernels() -> None:
    # Sobel_V [[1, 0, -1], [2, 0, -2], [1, 0, -1]]: column sums weighted 1, 2, 1 over rows i..i+2,
    #   rows 0–2: 0 0 7 7 9 0 → -7 -7 -2 7;  rows 1–3: 0 0 6 6 12 0 → -6 -6 -6 6;
    #   rows 2–4: 0 0 3 3 9 0 → -3 -3 -6 3;  rows 3–5: 0 0 1 1 3 0 → -1 -1 -2 1.
    sobel_v = [[1, 0, -1], [2, 0, -2], [1, 0, -1]]
    assert sobel_v == (-sobel_kernel("x")).tolist()
    vertical = [[-7, -7, -2, 7], [-6, -6, -6, 6], [-3, -3, -6, 3], [-1, -1, -2, 1]]
    assert FAMILY.solve(params("sobel-v", sobel_v))["output"] == vertical
    # Sobel_H [[1, 2, 1], [0, 0, 0], [-1, -2, -1]]: row sums H(r, j) = X[r, j] + 2 X[r, j+1] + X[r, j+2],
    #   H(1) = 3 9 12 9, H(2) = H(3) = 1 3 6 7, others 0; Y[i] = H(i) - H(i + 2).
    sobel_h = [[1, 2, 1], [0, 0, 0], [-1, -2, -1]]
    assert sobel_h == (-sobel_kernel("y")).tolist()
    horizontal = [[-1, -3, -6, -7], [2, 6, 6, 2], [1, 3, 6, 7], [1, 3, 6, 7]]
    assert FAMILY.solve(params("sobel-h", sobel_h))["output"] == horizontal
    # A true convolution rotates the antisymmetric kernel by 180°, which negates every output.
    conv = FAMILY.solve(params("sobel-h", sobel_h, mode="convolution"))["output"]
    assert conv == (-np.asarray(horizontal)).tolist()


def test_sobel_statement_names_the_edges_and_prints_the_kernel() -> None:
    p = params("sobel-h", [[1, 2, 1], [0, 0, 0], [-1, -2, -1]])
    text = FAMILY.render(p)
    assert "**horizontal edges**" in text and "Sobel Filter_H" in text
    assert r"\begin{bmatrix} 1 & 2 & 1 \\ 0 & 0 & 0 \\ -1 & -2 & -1 \end{bmatrix}" in text
    zh = FAMILY.render(p, "zh-Hant")
    assert "**水平邊緣** (horizontal edges)" in zh and "互相關 (cross-correlation)" in zh
    negated = FAMILY.render(params("sobel-h", sobel_kernel("y").tolist()))
    assert "**horizontal edges**" in negated and "Sobel Filter_H" not in negated
    assert "**vertical edges**" in FAMILY.render(params("sobel-v", [[1, 0, -1], [2, 0, -2], [1, 0, -1]]))


def test_flipped_kernel_is_tagged() -> None:
    p = params("sobel-v", [[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    negated = "7 7 2 -7; 6 6 6 -6; 3 3 6 -3; 1 1 2 -1"
    grade = FAMILY.check(p, {"shape": "4x4", "output": negated})
    assert grade.misconceptions == ("kernel-flipped",) and grade.score == pytest.approx(1 / 4)
    flipped = next(m for m in FAMILY.misconceptions if m.tag == "kernel-flipped")
    for lang in LANGS:
        assert flipped.message(lang) in grade.for_student(lang=lang)["message"]
    grade = FAMILY.check(
        {**p, "mode": "convolution"},
        {"shape": "4x4", "output": "-7 -7 -2 7; -6 -6 -6 6; -3 -3 -6 3; -1 -1 -2 1"},
    )
    assert grade.misconceptions == ("kernel-not-flipped",)
    # Symmetric kernels never offer the flip.
    lap = params(
        "laplacian",
        [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
        padding="same",
        region=[0, 0, 2, 3],
        whole=False,
    )
    assert {"kernel-flipped", "kernel-not-flipped"}.isdisjoint(FAMILY.alternatives(lap))


BOX_IMAGE = [[1, 2, 3, 0, 0], [4, 5, 6, 0, 0], [7, 8, 9, 0, 0], [0] * 5, [0] * 5]


def test_box_filter_with_same_padding_by_hand() -> None:
    p = params("box", [[1] * 3] * 3, 9, image=BOX_IMAGE, padding="same", region=[0, 0, 2, 3], whole=False)
    # Zero padded: Y[0,0] = (1+2+4+5)/9 = 12/9, Y[0,1] = (1+2+3+4+5+6)/9 = 21/9, Y[0,2] = (2+3+5+6)/9 = 16/9,
    #              Y[1,0] = (1+2+4+5+7+8)/9 = 3, Y[1,1] = 45/9 = 5, Y[1,2] = (2+3+5+6+8+9)/9 = 33/9.
    answer = FAMILY.solve(p)
    assert answer["shape"] == [5, 5]
    assert close(answer["output"], [[12 / 9, 21 / 9, 16 / 9], [3, 5, 33 / 9]])
    assert FAMILY.check(p, {"shape": "5x5", "output": "4/3 7/3 16/9; 3 5 11/3"}).score == 1.0
    assert FAMILY.check(p, {"shape": "5×5", "output": "1.33 2.33 1.78\n3 5 3.67"}).score == 1.0
    alts = FAMILY.alternatives(p)
    assert alts["normalization-forgotten"] == {"output": [[12, 21, 16], [27, 45, 33]]}
    # Without padding: a 3×3 output, read at the same positions (valid windows start at (0, 0)).
    assert alts["padding-ignored"]["shape"] == [3, 3]
    assert close(alts["padding-ignored"]["output"], [[5, 33 / 9, 2], [39 / 9, 28 / 9, 15 / 9]])
    grade = FAMILY.check(p, {"shape": "5x5", "output": "12 21 16; 27 45 33"})
    assert grade.misconceptions == ("normalization-forgotten",)
    assert "正規化係數" in grade.for_student(lang="zh-Hant")["message"]
    grade = FAMILY.grade(p, alts["padding-ignored"])
    assert grade.misconceptions == ("padding-ignored",) and grade.parts[0].score == 0


def test_gaussian_kernel_is_the_16ths() -> None:
    p = params("gaussian", [[1, 2, 1], [2, 4, 2], [1, 2, 1]], 16, image=BOX_IMAGE, region=[0, 0, 3, 3])
    # Centre window of 1..9: (1 + 2·2 + 3 + 2·4 + 4·5 + 2·6 + 7 + 2·8 + 9)/16 = 80/16 = 5.
    assert FAMILY.solve(p)["output"][0][0] == 5
    assert r"K = \frac{1}{16}" in FAMILY.render(p)


MEDIAN_IMAGE = [[1, 9, 2, 8, 3], [7, 4, 6, 5, 0], [2, 8, 1, 9, 4], [3, 3, 3, 3, 3], [0, 1, 0, 1, 0]]


def test_median_by_hand() -> None:
    p = params("median", [], image=MEDIAN_IMAGE, region=[0, 0, 3, 3])
    # e.g. Y[0,0]: 1 9 2 / 7 4 6 / 2 8 1 sorted 1 1 2 2 [4] 6 7 8 9 → 4 (mean 40/9).
    assert FAMILY.solve(p) == {"shape": [3, 3], "output": [[4, 6, 4], [3, 4, 3], [2, 3, 3]]}
    sums = [[40, 52, 38], [37, 42, 34], [21, 29, 24]]
    assert close(FAMILY.alternatives(p)["median-as-mean"]["output"], np.asarray(sums) / 9)
    typed = "\n".join(" ".join(f"{v}/9" for v in row) for row in sums)
    grade = FAMILY.check(p, {"shape": "3x3", "output": typed})
    assert grade.misconceptions == ("median-as-mean",) and "middle" in grade.for_student(lang="en")["message"]
    assert "sorted $(1, 1, 2, 2, 4, 6, 7, 8, 9)$" in FAMILY.explain(p)


def test_format_errors_cost_nothing() -> None:
    p = params("prewitt", [[1, 0, -1]] * 3)
    wrong_size = FAMILY.check(p, {"shape": "4x4", "output": "1 2; 3 4"})  # the block's size is stated
    assert not wrong_size.gradable and set(wrong_size.format_errors) == {"output"}
    garbage = FAMILY.check(
        p, {"shape": "four by four", "output": "-4 -4 -2 4; -5 -5 -4 5; -2 -2 -4 2; -1 -1 -2 1"}
    )
    assert not garbage.gradable and set(garbage.format_errors) == {"shape"}
    shown = garbage.for_student(lang="en")
    assert shown["gradable"] is False and shown["score"] == 0 and shown["format_errors"]["shape"]


def test_generated_variants_are_hand_sized_and_constrainable() -> None:
    for seed in range(200):
        p = FAMILY.generate(seed)
        h, w = len(p["image"]), len(p["image"][0])
        assert 5 <= h <= 6 and 5 <= w <= 6
        _, _, rh, rw = p["region"]
        assert rh * rw <= 9
        if p["padding"] == "same":
            r0, c0 = p["region"][:2]
            assert r0 == 0 or c0 == 0 or r0 + rh == h or c0 + rw == w, "the block must show the padding"
    for name in FILTERS:
        p = FAMILY.generate(4, {"filter": name, "padding": "same"})
        assert p["filter"] == name and p["padding"] == "same" and FAMILY.undiscriminated(p) == []
    with pytest.raises(ValueError, match="filter must be one of"):
        FAMILY.generate(1, {"filter": "bilateral"})


def test_linear_filters_match_torch() -> None:
    torch = pytest.importorskip("torch")
    for seed in range(150):
        p = FAMILY.generate(seed)
        if p["filter"] == "median":
            continue
        x = torch.tensor(p["image"], dtype=torch.float64)[None, None]
        w = torch.tensor(p["kernel"], dtype=torch.float64)[None, None] / p["scale"]
        if p["mode"] == "convolution":
            w = torch.flip(w, dims=(2, 3))
        y = torch.nn.functional.conv2d(x, w, padding=1 if p["padding"] == "same" else 0)[0, 0]
        r0, c0, rh, rw = p["region"]
        assert close(FAMILY.solve(p)["output"], y[r0 : r0 + rh, c0 : c0 + rw].numpy()), f"seed {seed}"


def test_cached_planes_equal_direct_reference_calls() -> None:
    from grader.problems.image_filter import _filtered
    from grader.reference import apply_filter, median_filter

    for seed in range(150):
        p = FAMILY.generate(seed)
        image = np.asarray(p["image"])
        for padding in ("valid", "same"):
            if p["filter"] == "median":
                assert np.array_equal(_filtered(p, padding=padding), median_filter(image, 3, padding=padding))
            else:
                for mode in ("correlation", "convolution"):
                    direct = apply_filter(
                        image,
                        p["kernel"],
                        padding=padding,
                        mode="convolve" if mode == "convolution" else "correlate",
                    )
                    assert np.array_equal(_filtered(p, mode=mode, padding=padding, raw=True), direct), (
                        f"seed {seed}"
                    )
            mean = apply_filter(image, np.ones((3, 3), dtype=int), padding=padding) / 9
            assert np.array_equal(_filtered(p, padding=padding, mean=True), mean)


def test_worked_solution_writes_true_equations_for_scaled_kernels() -> None:
    """Not "= 19 = \\frac{19}{9} = 2.111": the sum is divided by the divisor, and a rounded value is ≈."""
    from grader.problems import get_family

    family = get_family("image-filter")
    seen_approx = seen_exact = False
    for seed in range(30):
        params = family.generate(seed, {"filter": "box"})
        text = family.explain(params)
        for line in text.split("\n\n"):
            if not line.startswith("$Y["):
                continue
            assert line.count("=") >= 2 and "\\frac{1}{9}\\left(" in line
            total = int(line.split("\\frac{")[-1].split("}")[0])
            if total % 9:
                assert f"\\frac{{{total}}}{{9}} \\approx" in line
                seen_approx = True
            else:
                assert line.endswith(f"= {total // 9}$")
                seen_exact = True
        assert "111111" not in text and "= 19 =" not in text
    assert seen_approx and seen_exact


def test_laplacian_solutions_reconcile_the_two_sign_conventions() -> None:
    from grader.problems import get_family

    family = get_family("image-filter")
    for seed in range(6):
        params = family.generate(seed, {"filter": "laplacian"})
        assert "image $-$ Laplacian" in family.explain(params) and "image $+$ Laplacian" in family.explain(params)
        assert "原圖 $-$ Laplacian" in family.explain(params, "zh-Hant")
