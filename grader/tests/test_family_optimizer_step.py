"""Hand-checked cases for the ``optimizer-step`` family."""

from __future__ import annotations

import math
from typing import Any

import pytest

from grader.i18n import LANGS
from grader.problems import get_family

FAMILY = get_family("optimizer-step")


def params(opt: str, grads: list[list[float]], **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"optimizer": opt, "theta": [1.0, 2.0], "grads": grads, "lrs": [0.1] * len(grads)}
    return {**base, **kw}


def test_sgd_by_hand() -> None:
    # θ − 0.1 g twice: (1, 2) − 0.1 (0.5, −0.2) − 0.1 (0.3, 0.4) = (0.92, 1.98)
    p = params("sgd", [[0.5, -0.2], [0.3, 0.4]])
    assert FAMILY.solve(p)["theta"] == pytest.approx([0.92, 1.98])


def test_momentum_by_hand_and_the_textbook_form() -> None:
    # torch: b₁ = g₁ = (1, −1), θ₁ = (0.9, 2.1); b₂ = 0.9 b₁ + g₂ = (1.9, −0.4), θ₂ = θ₁ − η₂ b₂.
    p = params("momentum", [[1.0, -1.0], [1.0, 0.5]], momentum=0.9)
    ans = FAMILY.solve(p)
    assert ans["theta"] == pytest.approx([0.71, 2.14]) and ans["buffer"] == pytest.approx([1.9, -0.4])
    # Same learning rate: the textbook velocity v = −η b gives the same θ, only the buffer differs.
    alt = FAMILY.alternatives(p)["momentum-textbook-form"]
    assert alt["theta"] == pytest.approx([0.71, 2.14]) and alt["buffer"] == pytest.approx([-0.19, 0.04])
    grade = FAMILY.grade(p, {**FAMILY.solve(p), **alt})
    assert grade.misconceptions == ("momentum-textbook-form",) and grade.parts[0].correct
    # η halves after step 1: torch θ₂ = θ₁ − 0.05 b₂ = (0.805, 2.12); textbook v₂ = 0.9 v₁ − 0.05 g₂ =
    # (−0.14, 0.065), θ₂ = θ₁ + v₂ = (0.76, 2.165): now the parameters differ too.
    p = {**p, "lrs": [0.1, 0.05]}
    assert FAMILY.solve(p)["theta"] == pytest.approx([0.805, 2.12])
    alt = FAMILY.alternatives(p)["momentum-textbook-form"]
    assert alt["theta"] == pytest.approx([0.76, 2.165]) and alt["buffer"] == pytest.approx([-0.14, 0.065])
    assert FAMILY.grade(p, {**FAMILY.solve(p), **alt}).parts[0].misconceptions == ("momentum-textbook-form",)


def test_rmsprop_by_hand() -> None:
    # v = 0.1 g² = (0.025, 0.004); θ = θ − 0.01 g / (√v + 1e-8): steps 0.01·0.5/0.15811 and 0.01·0.2/0.063246.
    p = params("rmsprop", [[0.5, 0.2]], lrs=[0.01], alpha=0.9, eps=1e-8)
    ans = FAMILY.solve(p)
    assert ans["v"] == pytest.approx([0.025, 0.004])
    assert ans["theta"] == pytest.approx([1 - 0.01 * 0.5 / math.sqrt(0.025), 2 - 0.01 * 0.2 / math.sqrt(0.004)])


def test_rmsprop_slides_by_hand() -> None:
    # σ⁰ = |g⁰| = (0.5, 0.2): first step η·sign(g) = (0.1, −0.1) for g⁰ = (0.5, −0.2);
    # σ¹ = √(0.5·σ⁰² + 0.5·g¹²) with g¹ = (0.5, 0.4): (0.5, √0.1); θ² = θ¹ − 0.1 g¹/σ¹.
    p = params("rmsprop-slides", [[0.5, -0.2], [0.5, 0.4]], alpha=0.5)
    ans = FAMILY.solve(p)
    assert ans["sigma"] == pytest.approx([0.5, math.sqrt(0.1)])
    assert ans["theta"] == pytest.approx([0.8, 2.1 - 0.1 * 0.4 / math.sqrt(0.1)])


def test_adam_by_hand() -> None:
    # One step: m̂ = g, v̂ = g², so θ ← θ − η g / (|g| + ε). With ε = 0.1 and g = (0.2, −0.4):
    # θ = (1 − 0.1·0.2/0.3, 2 + 0.1·0.4/0.5) = (0.93333, 2.08).
    p = params("adam", [[0.2, -0.4]], betas=[0.9, 0.999], eps=0.1)
    ans = FAMILY.solve(p)
    assert ans["theta"] == pytest.approx([1 - 0.02 / 0.3, 2.08])
    assert ans["m_hat"] == pytest.approx([0.2, -0.4]) and ans["v_hat"] == pytest.approx([0.04, 0.16])
    alts = FAMILY.alternatives(p)
    # ε inside the root: 0.2/√(0.04 + 0.1) = 0.53452…
    assert alts["eps-inside-sqrt"]["theta"][0] == pytest.approx(1 - 0.1 * 0.2 / math.sqrt(0.14))
    # No bias correction: m = 0.1 g, v = 0.001 g², step η·0.1 g/(√0.001 |g| + ε).
    assert alts["adam-no-bias-correction"]["m_hat"] == pytest.approx([0.02, -0.04])
    assert alts["adam-no-bias-correction"]["theta"][0] == pytest.approx(1 - 0.1 * 0.02 / (math.sqrt(0.001) * 0.2 + 0.1))


def test_matches_torch_optim() -> None:
    torch = pytest.importorskip("torch")
    for seed in range(120):
        p = FAMILY.generate(seed)
        opt = p["optimizer"]
        if opt == "rmsprop-slides":
            continue  # not a torch optimizer
        theta = torch.tensor(p["theta"], dtype=torch.float64, requires_grad=True)
        lr = p["lrs"][0]
        if opt == "sgd":
            o = torch.optim.SGD([theta], lr=lr)
        elif opt == "momentum":
            o = torch.optim.SGD([theta], lr=lr, momentum=p["momentum"])
        elif opt == "rmsprop":
            o = torch.optim.RMSprop([theta], lr=lr, alpha=p["alpha"], eps=p["eps"])
        else:
            o = torch.optim.Adam([theta], lr=lr, betas=tuple(p["betas"]), eps=p["eps"])
        for t, g in enumerate(p["grads"]):
            for group in o.param_groups:
                group["lr"] = p["lrs"][t]
            theta.grad = torch.tensor(g, dtype=torch.float64)
            o.step()
        ans = FAMILY.solve(p)
        assert ans["theta"] == pytest.approx(theta.detach().tolist(), rel=1e-12), f"seed {seed}"
        state = o.state[theta]
        if opt == "momentum":
            assert ans["buffer"] == pytest.approx(state["momentum_buffer"].tolist())
        if opt == "rmsprop":
            assert ans["v"] == pytest.approx(state["square_avg"].tolist())


@pytest.mark.parametrize(
    ("opt", "extra", "tag"),
    [
        ("adam", {"betas": [0.9, 0.999], "eps": 0.1}, "adam-no-bias-correction"),
        ("adam", {"betas": [0.9, 0.999], "eps": 0.1}, "eps-inside-sqrt"),
        ("rmsprop", {"lrs": [0.01], "alpha": 0.9, "eps": 0.01}, "eps-inside-sqrt"),
        ("rmsprop", {"lrs": [0.01], "alpha": 0.9, "eps": 1e-8}, "rmsprop-g-not-squared"),
        ("sgd", {}, "gradient-ascent"),
        ("adam", {"betas": [0.9, 0.999], "eps": 1e-8}, "gradient-ascent"),
    ],
)
def test_misconceptions_are_tagged(opt: str, extra: dict[str, Any], tag: str) -> None:
    p = params(opt, [[0.2, 0.4]], **extra)
    right = FAMILY.solve(p)
    alt = FAMILY.alternatives(p)[tag]
    grade = FAMILY.check(p, FAMILY.format_answer(p, {**right, **alt}))
    assert grade.misconceptions == (tag,) and grade.score < 1
    message = next(m for m in FAMILY.misconceptions if m.tag == tag).message
    for lang in LANGS:
        assert message(lang) in grade.for_student(lang=lang)["message"]


def test_inapplicable_misconceptions_are_skipped() -> None:
    # ε = 1e-8 inside or outside the root: the same to many digits, so it is not a diagnosable mistake.
    assert "eps-inside-sqrt" not in FAMILY.alternatives(params("adam", [[0.2, 0.4]], betas=[0.9, 0.999], eps=1e-8))
    # A negative average of raw gradients has no square root: nobody would reach that answer.
    p = params("rmsprop", [[0.2, -0.4]], lrs=[0.01], alpha=0.9, eps=1e-8)
    assert "rmsprop-g-not-squared" not in FAMILY.alternatives(p)


def test_ascent_mirrors_the_step() -> None:
    p = params("sgd", [[0.5, -0.2]])
    assert FAMILY.alternatives(p)["gradient-ascent"]["theta"] == pytest.approx([1.05, 1.98])


def test_format_errors_cost_nothing() -> None:
    p = params("adam", [[0.2, -0.4]], betas=[0.9, 0.999], eps=0.1)
    good = {"theta": "0.93333, 2.08", "m_hat": "0.2, -0.4", "v_hat": "0.04 0.16"}
    assert FAMILY.check(p, good).score == 1.0
    result = FAMILY.check(p, {**good, "theta": "0.93333"})
    assert not result.gradable and set(result.format_errors) == {"theta"}
    result = FAMILY.check(p, {**good, "v_hat": "0.04; zero"})
    assert not result.gradable and set(result.format_errors) == {"v_hat"}
    # Per-entry credit: one of the two parameters right.
    assert FAMILY.check(p, {**good, "theta": "0.93333, 2.5"}).parts[0].score == pytest.approx(0.5)


def test_statement_states_the_rules() -> None:
    text = FAMILY.render(params("adam", [[0.2, -0.4]], betas=[0.9, 0.999], eps=1e-8))
    assert "\\epsilon = 10^{-8}" in text and "bias-corrected" in text and "\\sqrt{\\hat v} + \\epsilon" in text
    text = FAMILY.render(params("momentum", [[1.0, -1.0], [1.0, 0.5]], momentum=0.9, lrs=[0.1, 0.05]))
    assert "\\eta_1 = 0.1,\\ \\eta_2 = 0.05" in text and "momentum_buffer" in text
    zh = FAMILY.render(params("rmsprop-slides", [[0.5, -0.2], [0.5, 0.4]], alpha=0.5), "zh-Hant")
    assert "投影片" in zh and "\\sigma^0 = |g^0|" in zh
    assert "0.001996" in FAMILY.explain(params("rmsprop", [[0.2, 0.1], [0.4, 0.1]], lrs=[0.01, 0.01], alpha=0.99, eps=1e-8))
