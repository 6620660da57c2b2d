"""Properties every registered problem family must have (families added later are covered too).

For ``N_SEEDS`` seeds per family (and ``N_MODE_SEEDS`` per mode it makes only on request): params
are plain JSON and deterministic; the family's own answer (as JSON values, as typed text, and typed
in full-width characters) scores 1; each misconception's answer scores < 1 and is tagged with
exactly that misconception; statements and worked solutions render in both languages; feedback is
always present; the expected answer stays hidden unless revealed.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest

from grader.i18n import LANGS, localize, word
from grader.problems import all_families, get_family
from grader.problems.base import PART_KINDS, ProblemFamily

N_SEEDS = 300
N_MODE_SEEDS = 100  # per constraint set in ProblemFamily.modes_on_request
FAMILIES = [f.name for f in all_families()]
_CJK = re.compile(r"[\u4e00-\u9fff]")


@cache
def variants(name: str) -> list[tuple[int, dict[str, Any]]]:
    family = get_family(name)
    return [(seed, family.generate(seed)) for seed in range(N_SEEDS)]


@cache
def mode_variants(name: str) -> list[tuple[int, dict[str, Any], dict[str, Any]]]:
    """``(seed, constraints, params)`` for the modes the family generates only on request."""
    family = get_family(name)
    return [(seed, c, family.generate(seed, c)) for c in family.modes_on_request for seed in range(N_MODE_SEEDS)]


def all_variants(name: str) -> list[tuple[str, dict[str, Any]]]:
    """Unconstrained variants and those of the on-request modes, labelled for messages."""
    return [(str(seed), params) for seed, params in variants(name)] + [
        (f"{seed} {json.dumps(c)}", params) for seed, c, params in mode_variants(name)
    ]


def _full_width(text: str) -> str:
    """What a student typing with a Chinese IME in full-width mode produces."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in text)


def test_some_family_is_registered() -> None:
    assert "conv-by-hand" in FAMILIES


@pytest.mark.parametrize("name", FAMILIES)
def test_family_metadata(name: str) -> None:
    family = get_family(name)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", family.name)
    assert isinstance(family.title, str) and family.title.strip()
    assert _CJK.search(family.title_in("zh-Hant")), "the title has no translation"
    assert family.topic
    tags = [m.tag for m in family.misconceptions]
    assert len(tags) == len(set(tags)), "misconception tags must be unique"
    for m in family.misconceptions:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", m.tag)
        assert m.text.strip() and not _CJK.search(m.text), f"{m.tag}: the source message is English"
        assert _CJK.search(m.message("zh-Hant")), f"{m.tag}: the message has no translation"
    json.dumps(family.describe())


@pytest.mark.parametrize("name", FAMILIES)
def test_params_are_json_and_deterministic(name: str) -> None:
    family = get_family(name)
    seen = set()
    for seed, params in variants(name):
        text = json.dumps(params, sort_keys=True)
        assert json.loads(text) == params, f"seed {seed}: params do not round-trip through JSON"
        assert family.generate(seed) == params, f"seed {seed}: generate is not deterministic"
        seen.add(text)
    assert len(seen) > N_SEEDS // 2, "seeds should give varied variants"
    for seed, constraints, params in mode_variants(name):
        assert json.loads(json.dumps(params)) == params
        assert family.generate(seed, constraints) == params, f"seed {seed} {constraints}: not deterministic"


@pytest.mark.parametrize("name", FAMILIES)
def test_parts_match_the_answer(name: str) -> None:
    family = get_family(name)
    for seed, params in variants(name)[:50] + all_variants(name)[N_SEEDS::10]:
        parts = family.parts(params)
        answer = family.solve(params)
        assert [p.name for p in parts] == list(answer), f"seed {seed}: solve keys must be the parts, in order"
        for p in parts:
            assert p.kind in PART_KINDS and p.points > 0
            assert p.label.strip() and p.label_in("zh-Hant").strip()
            if re.search("[a-z]{3}", p.label):  # words to translate, not a symbol such as σ or IoU(B1, B2)
                assert _CJK.search(p.label_in("zh-Hant")), f"{p.name}: label not translated"
            json.dumps(p.to_dict())
        json.dumps(answer)


@pytest.mark.parametrize("name", FAMILIES)
def test_own_answer_scores_full(name: str) -> None:
    family = get_family(name)
    for i, (seed, params) in enumerate(all_variants(name)):
        answer = family.solve(params)
        typed = family.format_answer(params, answer)
        forms = {"json": json.loads(json.dumps(answer)), "typed": typed}
        if i % 10 == 0:
            forms["full-width"] = {k: _full_width(v) for k, v in typed.items()}
        for form, raw in forms.items():
            grade = family.check(params, raw)
            assert grade.gradable, f"seed {seed} ({form}): {grade.format_errors}"
            assert grade.score == 1.0, f"seed {seed} ({form}): scored {grade.score}: {word(grade.message, 'en')}"
            assert grade.misconceptions == ()
            assert all(p.correct for p in grade.parts)
            assert all(localize(grade.message).values())
        assert family.grade(params, answer).score == 1.0
        assert family.undiscriminated(params) == [], f"seed {seed}: variant does not discriminate"


@pytest.mark.parametrize("name", FAMILIES)
def test_each_misconception_is_diagnosed(name: str) -> None:
    family = get_family(name)
    applied: set[str] = set()
    for seed, params in all_variants(name):
        answer = family.solve(params)
        parts = {p.name: p for p in family.parts(params)}
        for m in family.misconceptions:
            alt = m.solve(params)
            if not alt:
                continue
            assert set(alt) <= set(parts), f"{m.tag}: answers unknown parts {set(alt) - set(parts)}"
            response = {**answer, **alt}
            if all(family.values_match(parts[k], v, answer[k]) for k, v in alt.items()):
                assert not m.main, f"seed {seed}: main misconception {m.tag} gives the right answer"
                continue
            applied.add(m.tag)
            grade = family.check(params, family.format_answer(params, response))
            assert grade.gradable, f"seed {seed} {m.tag}: {grade.format_errors}"
            assert grade.score < 1.0, f"seed {seed} {m.tag}: a misconception scored full marks"
            if m.main:
                assert grade.misconceptions == (m.tag,), f"seed {seed}: expected [{m.tag}], got {grade.misconceptions}"
            else:
                assert m.tag in grade.misconceptions
            for lang in LANGS:
                assert m.message(lang) in word(grade.message, lang)
            json.dumps(grade.to_json())
    missing = {m.tag for m in family.misconceptions} - applied
    assert not missing, f"misconceptions never exercised in {len(all_variants(name))} variants: {sorted(missing)}"


@pytest.mark.parametrize("name", FAMILIES)
def test_render_and_explain_in_both_languages(name: str) -> None:
    family = get_family(name)
    for seed, params in all_variants(name)[::3]:
        texts = {lang: (family.render(params, lang), family.explain(params, lang)) for lang in LANGS}
        for lang, (statement, explanation) in texts.items():
            assert statement.strip() and explanation.strip(), f"seed {seed} {lang}: empty text"
            assert statement.count("$") % 2 == 0, f"seed {seed} {lang}: unbalanced $ in the statement"
        assert _CJK.search(texts["zh-Hant"][0]) and _CJK.search(texts["zh-Hant"][1])
        assert texts["en"][0] != texts["zh-Hant"][0]


@pytest.mark.parametrize("name", FAMILIES)
def test_wrong_answers_get_feedback_and_expected_stays_hidden(name: str) -> None:
    family = get_family(name)
    seed, params = variants(name)[0]
    answer = family.solve(params)
    alt = next(iter(family.alternatives(params).values()))
    grade = family.grade(params, {**answer, **alt})
    for lang in LANGS:
        hidden = grade.for_student(lang=lang)
        assert hidden["message"] and all(p["message"] for p in hidden["parts"])
        assert all("expected" not in p for p in hidden["parts"])
        for key in ("gradable", "score", "points", "max_points", "parts", "message", "misconceptions"):
            assert key in hidden
        assert 0.0 <= hidden["score"] < 1.0
    shown = grade.for_student(lang="en", reveal=True)
    assert [p["expected"] for p in shown["parts"]] == list(answer.values())
    stored = grade.to_json()
    assert all("expected" not in p for p in stored["parts"])
    assert all(set(p["message"]) == set(LANGS) and all(p["message"].values()) for p in stored["parts"])


@pytest.mark.parametrize("name", FAMILIES)
def test_format_errors_are_reported_not_graded(name: str) -> None:
    family: ProblemFamily = get_family(name)
    _, params = variants(name)[0]
    typed = family.format_answer(params, family.solve(params))
    names = list(typed)

    missing = family.parse(params, {})
    assert not missing.valid and set(missing.format_errors) == set(names)

    unknown = family.parse(params, {**typed, "no-such-part": "1"})
    assert set(unknown.format_errors) == {"no-such-part"}

    garbage = family.check(params, {**typed, names[0]: "?!"})
    assert not garbage.gradable and set(garbage.format_errors) == {names[0]}
    result = garbage.for_student(lang="zh-Hant")
    assert result["gradable"] is False and result["score"] == 0 and _CJK.search(result["format_errors"][names[0]])
    json.dumps(garbage.to_json())

    assert not family.parse(params, "not an object").valid
