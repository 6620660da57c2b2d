"""Hand-checked cases for the ``softmax-ce-kl`` family."""

from __future__ import annotations

import math
from typing import Any

import pytest

from grader.i18n import word
from grader.problems import get_family

FAMILY = get_family("softmax-ce-kl")

# p = (1/2, 1/4, 1/4), q = (1/8, 1/8, 3/4), in bits:
#   H(p)     = 1/2·1 + 1/4·2 + 1/4·2                  = 1.5
#   KL(p‖q)  = 1/2·log2 4 + 1/4·log2 2 + 1/4·log2(1/3) = 1.25 − 0.25·log2 3 = 0.853759...
#   H(p, q)  = H(p) + KL(p‖q)                           = 2.353759...
#   KL(q‖p)  = 1/8·log2(1/4) + 1/8·log2(1/2) + 3/4·log2 3 = −0.375 + 0.75·log2 3 = 0.813722...
P = [0.5, 0.25, 0.25]
Q = [0.125, 0.125, 0.75]
LOG2_3 = math.log2(3)
H_P, KL_PQ, KL_QP = 1.5, 1.25 - 0.25 * LOG2_3, -0.375 + 0.75 * LOG2_3
H_PQ = H_P + KL_PQ


def dist(unit: str = "bits", asked: list[str] | None = None) -> dict[str, Any]:
    return {
        "variant": "distributions",
        "unit": unit,
        "p": P,
        "q": Q,
        "asked": asked or ["entropy", "cross_entropy", "kl_pq", "kl_qp"],
    }


def logits(**kw: Any) -> dict[str, Any]:
    return {"variant": "logits", "unit": "nats", "logits": [0, 1, 2], "target": 0, "sigmoid_index": 1, **kw}


def test_distributions_by_hand_in_bits_and_nats() -> None:
    ans = FAMILY.solve(dist())
    assert ans["entropy"] == pytest.approx(H_P)
    assert ans["cross_entropy"] == pytest.approx(H_PQ)
    assert ans["kl_pq"] == pytest.approx(KL_PQ)
    assert ans["kl_qp"] == pytest.approx(KL_QP)
    nats = FAMILY.solve(dist("nats"))
    assert nats["kl_pq"] == pytest.approx(KL_PQ * math.log(2))
    assert list(ans) == ["entropy", "cross_entropy", "kl_pq", "kl_qp"]


def test_logits_by_hand() -> None:
    # softmax(0, 1, 2) = (1, e, e²) / (1 + e + e²); loss for class 0 = ln(1 + e + e²); σ(1) = 1/(1 + e⁻¹).
    e = math.e
    total = 1 + e + e * e
    ans = FAMILY.solve(logits())
    assert ans["probs"] == pytest.approx([1 / total, e / total, e * e / total])
    assert ans["sigmoid"] == pytest.approx(1 / (1 + 1 / e))
    assert ans["loss"] == pytest.approx(math.log(total))
    assert FAMILY.solve(logits(unit="bits"))["loss"] == pytest.approx(math.log2(total))


def test_logits_target_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    for seed in range(40):
        p = FAMILY.generate(seed, {"variant": "logits-target"})
        z = torch.tensor([p["logits"]], dtype=torch.float64)
        target = torch.tensor([p["p"]], dtype=torch.float64)
        ce = torch.nn.functional.cross_entropy(z, target).item()
        log_q = torch.log_softmax(z, dim=1)
        kl = torch.nn.functional.kl_div(log_q, target, reduction="sum").item()
        scale = math.log(2) if p["unit"] == "bits" else 1.0
        ans = FAMILY.solve(p)
        assert ans["cross_entropy"] == pytest.approx(ce / scale)
        assert ans["kl_pq"] == pytest.approx(kl / scale)
        assert ans["probs"] == pytest.approx(torch.softmax(z, dim=1)[0].tolist())


def test_three_significant_figures_are_enough() -> None:
    params = dist(asked=["kl_pq", "kl_qp"])
    assert FAMILY.check(params, {"kl_pq": "0.854", "kl_qp": "0.814"}).score == 1.0
    grade = FAMILY.check(params, {"kl_pq": "0.85", "kl_qp": "0.81"})
    assert grade.score == 0.0 and grade.misconceptions == ()


@pytest.mark.parametrize(
    ("response", "tag"),
    [
        ({"entropy": H_P * math.log(2), "cross_entropy": H_PQ * math.log(2), "kl_pq": KL_PQ * math.log(2), "kl_qp": KL_QP * math.log(2)}, "wrong-log-base"),
        ({"entropy": H_P, "cross_entropy": H_PQ, "kl_pq": KL_QP, "kl_qp": KL_PQ}, "kl-direction-swapped"),
        ({"entropy": H_P, "cross_entropy": H_PQ, "kl_pq": H_PQ, "kl_qp": KL_QP}, "cross-entropy-for-kl"),
        ({"entropy": -H_P, "cross_entropy": -H_PQ, "kl_pq": KL_PQ, "kl_qp": KL_QP}, "forgot-minus-sign"),
    ],
)
def test_distribution_misconceptions(response: dict[str, float], tag: str) -> None:
    grade = FAMILY.grade(dist(), response)
    assert grade.misconceptions == (tag,)
    assert grade.score < 1
    message = next(m for m in FAMILY.misconceptions if m.tag == tag).message("zh-Hant")
    assert message in word(grade.message, "zh-Hant")


def test_logit_misconceptions() -> None:
    e = math.e
    sig = [1 / (1 + math.exp(-z)) for z in (0, 1, 2)]
    right = FAMILY.solve(logits())
    # Sigmoid per class: probabilities (0.5, 0.731, 0.881) and the loss −ln σ(z₀) = ln 2.
    grade = FAMILY.grade(logits(), {**right, "probs": sig, "loss": math.log(2)})
    assert grade.misconceptions == ("sigmoid-instead-of-softmax",)
    assert grade.parts[0].misconceptions == ("sigmoid-instead-of-softmax",)
    # Softmax probability of class 1 where σ(z₁) was asked.
    grade = FAMILY.grade(logits(), {**right, "sigmoid": e / (1 + e + e * e)})
    assert grade.misconceptions == ("softmax-instead-of-sigmoid",)
    # log₂ instead of ln, and a missing minus sign.
    assert FAMILY.grade(logits(), {**right, "loss": right["loss"] / math.log(2)}).misconceptions == ("wrong-log-base",)
    assert FAMILY.grade(logits(), {**right, "loss": -right["loss"]}).misconceptions == ("forgot-minus-sign",)


def test_probs_get_per_entry_credit() -> None:
    right = FAMILY.solve(logits())
    probs = [right["probs"][0], right["probs"][1], 0.5]
    grade = FAMILY.grade(logits(), {**right, "probs": probs})
    assert grade.parts[0].score == pytest.approx(2 / 3)


def test_format_errors_cost_nothing() -> None:
    params = logits()
    bad_length = FAMILY.parse(params, {"probs": "0.1, 0.9", "sigmoid": "0.7", "loss": "1"})
    assert not bad_length.valid and set(bad_length.format_errors) == {"probs"}
    garbage = FAMILY.check(params, {"probs": "0.1 0.2 0.7", "sigmoid": "seven", "loss": "1"})
    shown = garbage.for_student(lang="zh-Hant")
    assert not garbage.gradable and not shown["gradable"] and shown["score"] == 0
    assert "不是數字" in shown["format_errors"]["sigmoid"]
    # Percentages are refused (not silently read as 75).
    assert not FAMILY.parse(params, {"probs": "10%, 20%, 70%", "sigmoid": "0.7", "loss": "1"}).valid


def test_generated_variants_are_well_formed() -> None:
    for seed in range(200):
        p = FAMILY.generate(seed)
        assert p["unit"] in ("bits", "nats")
        if "p" in p:
            assert abs(sum(p["p"]) - 1) < 1e-9 and min(p["p"]) > 0
        if p["variant"] == "distributions":
            assert abs(sum(p["q"]) - 1) < 1e-9 and min(p["q"]) > 0
            assert any(a.startswith("kl") for a in p["asked"])
        if "logits" in p:
            assert 3 <= len(p["logits"]) <= 4


def test_statement_states_unit_and_tolerance() -> None:
    text = FAMILY.render(dist())
    assert "**bits**" in text and "\\log_2" in text and "3 significant figures" in text
    zh = FAMILY.render(logits(), "zh-Hant")
    assert "nats" in zh and "交叉熵損失 (cross-entropy loss)" in zh
    assert "KL(q‖p)" in FAMILY.explain(dist()) or "\\mathrm{KL}(q\\,\\|\\,p)" in FAMILY.explain(dist())


def test_asked_constraint_fixes_the_quantities() -> None:
    from grader.problems import get_family

    family = get_family("softmax-ce-kl")
    for seed in range(30):
        params = family.generate(seed, {"variant": "distributions", "asked": ["kl_qp", "kl_pq"]})
        assert params["asked"] == ["kl_pq", "kl_qp"]
        assert sorted(family.solve(params)) == ["kl_pq", "kl_qp"]
    import pytest

    with pytest.raises(ValueError):
        family.generate(1, {"variant": "distributions", "asked": ["perplexity"]})
