"""Hand-checked cases for the ``backprop-chain`` family."""

from __future__ import annotations

from typing import Any

import pytest

from grader.i18n import word
from grader.problems import get_family

FAMILY = get_family("backprop-chain")

# y = σ(w x + b) with w = 1, x = 2, b = −2: z = 0, y = 1/2; t = 1, L = ½(y − t)²:
#   ∂L/∂y = −1/2, σ'(0) = 1/4, δ = −1/8 → ∂L/∂w = δ x = −1/4, ∂L/∂b = −1/8, ∂L/∂x = δ w = −1/8.
NEURON = {"variant": "neuron", "f": "sigmoid", "w": 1.0, "x": 2.0, "b": -2.0, "t": 1, "loss": "half"}
# h = ReLU(2·1 + 0) = 2, y = 0.5·2 − 1 = 0, t = 1: δ₂ = −1, ∂L/∂w₂ = −2; δ₁ = −1 · 0.5 · 1 = −0.5:
#   ∂L/∂w₁ = −0.5, ∂L/∂b₁ = −0.5, ∂L/∂x = δ₁ w₁ = −1.
TWO = {"variant": "two-layer", "f1": "relu", "f2": "identity", "w1": 2.0, "b1": 0.0, "w2": 0.5, "b2": -1.0, "x": 1.0, "t": 1, "loss": "half"}


def act(*points: tuple[str, float], convention: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"variant": "activation", "points": [{"f": f, "z": z} for f, z in points]}
    if convention:
        out["convention"] = convention
    return out


def test_neuron_by_hand() -> None:
    assert FAMILY.solve(NEURON) == pytest.approx({"dL_dw": -0.25, "dL_db": -0.125, "dL_dx": -0.125})
    # With L = (y − t)² every gradient doubles.
    assert FAMILY.solve({**NEURON, "loss": "plain"})["dL_dw"] == pytest.approx(-0.5)


def test_two_layer_by_hand() -> None:
    assert FAMILY.solve(TWO) == pytest.approx({"dL_dw2": -2.0, "dL_dw1": -0.5, "dL_db1": -0.5, "dL_dx": -1.0})


def test_activation_derivatives_by_hand() -> None:
    p = act(("sigmoid", 0.0), ("tanh", 0.0), ("leaky_relu", -1.0))
    assert FAMILY.solve(p) == pytest.approx({"d0": 0.25, "d1": 1.0, "d2": 0.1})
    # At the kink: torch's left derivative vs the slides' "1 for z ≥ 0".
    assert FAMILY.solve(act(("relu", 0.0), ("leaky_relu", 0.0), ("tanh", 1.0), convention="torch"))["d0"] == 0
    assert FAMILY.solve(act(("relu", 0.0), ("leaky_relu", 0.0), ("tanh", 1.0), convention="torch"))["d1"] == 0.1
    assert FAMILY.solve(act(("leaky_relu", 0.0), ("tanh", 1.0), ("sigmoid", 1.0), convention="slides"))["d0"] == 1


def test_matches_torch_autograd() -> None:
    torch = pytest.importorskip("torch")
    fns = {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.1),
        "identity": lambda z: z,
    }
    for seed in range(150):
        p = FAMILY.generate(seed)
        if p["variant"] == "activation":
            continue
        x = torch.tensor(p["x"], dtype=torch.float64, requires_grad=True)
        if p["variant"] == "neuron":
            w = torch.tensor(p["w"], dtype=torch.float64, requires_grad=True)
            b = torch.tensor(p["b"], dtype=torch.float64, requires_grad=True)
            y = fns[p["f"]](w * x + b)
            wanted = {"dL_dw": w, "dL_db": b, "dL_dx": x}
        else:
            w1, b1, w2, b2 = (torch.tensor(p[k], dtype=torch.float64, requires_grad=True) for k in ("w1", "b1", "w2", "b2"))
            y = fns[p["f2"]](w2 * fns[p["f1"]](w1 * x + b1) + b2)
            wanted = {"dL_dw2": w2, "dL_dw1": w1, "dL_db1": b1, "dL_dx": x}
        loss = (0.5 if p["loss"] == "half" else 1.0) * (y - p["t"]) ** 2
        loss.backward()
        ans = FAMILY.solve(p)
        for name, tensor in wanted.items():
            assert ans[name] == pytest.approx(tensor.grad.item()), f"seed {seed} {name}"


@pytest.mark.parametrize(
    ("response", "tag"),
    [
        ({"dL_dw": -1.0, "dL_db": -0.5, "dL_dx": -0.5}, "forgot-activation-derivative"),
        ({"dL_dw": -0.5, "dL_db": -0.25, "dL_dx": -0.25}, "activation-value-for-derivative"),
        ({"dL_dw": 0.25, "dL_db": 0.125, "dL_dx": 0.125}, "sign-error-target"),
        ({"dL_dw": 0.0, "dL_db": 0.0, "dL_dx": 0.0}, "derivative-of-preactivation"),
    ],
)
def test_neuron_misconceptions(response: dict[str, float], tag: str) -> None:
    grade = FAMILY.grade(NEURON, response)
    assert grade.misconceptions == (tag,) and grade.score == 0
    message = next(m for m in FAMILY.misconceptions if m.tag == tag)
    for lang in ("en", "zh-Hant"):
        assert message.message(lang) in word(grade.message, lang)


def test_activation_misconceptions() -> None:
    p = act(("sigmoid", 0.5), ("tanh", -1.0), ("relu", 0.0), convention="torch")
    right = FAMILY.solve(p)
    # σ(0.5) ≈ 0.6225 instead of σ'(0.5) ≈ 0.2350 (and tanh(−1) for tanh'(−1)).
    value = FAMILY.alternatives(p)["activation-value-for-derivative"]
    assert value["d0"] == pytest.approx(0.62246, abs=1e-5)
    assert FAMILY.grade(p, {**right, **value}).misconceptions == ("activation-value-for-derivative",)
    # 0.5 · (1 − 0.5) = 0.25: z plugged into σ(1 − σ).
    assert FAMILY.grade(p, {**right, "d0": 0.25}).misconceptions == ("derivative-of-preactivation",)
    # ReLU'(0) = 1 although the statement fixed torch's convention (0).
    grade = FAMILY.grade(p, {**right, "d2": 1})
    assert grade.misconceptions == ("relu-kink-convention",)
    assert "relu-kink-convention" not in FAMILY.alternatives(act(("relu", 1.5), ("tanh", 1.0), ("sigmoid", 0.0)))


def test_format_errors_cost_nothing() -> None:
    result = FAMILY.check(NEURON, {"dL_dw": "-1/4", "dL_db": "−0.125", "dL_dx": "minus one eighth"})
    assert not result.gradable and set(result.format_errors) == {"dL_dx"}
    assert FAMILY.check(NEURON, {"dL_dw": "-1/4", "dL_db": "−0.125", "dL_dx": "-1/8"}).score == 1.0
    missing = FAMILY.parse(NEURON, {"dL_dw": "-0.25"})
    assert not missing.valid and set(missing.format_errors) == {"dL_db", "dL_dx"}


def test_statement_states_the_loss_and_conventions() -> None:
    assert "L = \\tfrac12 (y - t)^2" in FAMILY.render(NEURON)
    assert "L = (y - t)^2" in FAMILY.render({**NEURON, "loss": "plain"})
    text = FAMILY.render(act(("relu", 0.0), ("tanh", 1.0), ("sigmoid", 0.0), convention="torch"))
    assert "left derivative" in text and "\\mathrm{ReLU}'(0) = 0" in text
    zh = FAMILY.render(act(("leaky_relu", 0.0), ("tanh", 1.0), ("sigmoid", 0.0), convention="slides"), "zh-Hant")
    assert "課程投影片" in zh and "負斜率" in zh
    assert "\\delta_1" in FAMILY.explain(TWO) and "反向" in FAMILY.explain(TWO, "zh-Hant")


def test_generated_variants_have_visible_gradients() -> None:
    kinds = set()
    for seed in range(200):
        p = FAMILY.generate(seed)
        kinds.add(p["variant"])
        if p["variant"] != "activation":
            assert min(abs(v) for v in FAMILY.solve(p).values()) >= 0.01
        if p["variant"] == "activation" and "convention" in p:
            assert any(pt["z"] == 0 and pt["f"] in ("relu", "leaky_relu") for pt in p["points"])
    assert kinds == {"activation", "neuron", "two-layer"}


def test_part_labels_in_both_languages() -> None:
    p = act(("sigmoid", 0.5), ("tanh", -1.0), ("relu", 0.0), convention="torch")
    labels = FAMILY.parts(p)
    assert [part.label_in("en") for part in labels] == ["sigmoid'(0.5)", "tanh'(-1)", "relu'(0)"]
    assert labels[0].label_in("zh-Hant") == "導數 sigmoid'(0.5)"
    grade = FAMILY.grade(p, {**FAMILY.solve(p), "d2": 1})
    assert grade.for_student(lang="zh-Hant")["parts"][2]["label"] == "導數 relu'(0)"
    # The gradients' labels are formulas, the same in every language.
    assert [part.label_in("zh-Hant") for part in FAMILY.parts(NEURON)] == ["∂L/∂w", "∂L/∂b", "∂L/∂x"]
