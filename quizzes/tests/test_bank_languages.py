"""A bank question in both languages: the ``::: en`` block, the spec the grader gets, the pages' text."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import translation

from grader.questions import grade_question
from grader.results import GradingResult
from quizzes import presenters
from quizzes.bank.format import BankValidationError, parse_question
from quizzes.bank.languages import english_coverage, grading_spec, translated_spec
from quizzes.services.bank import bank_english_coverage, bank_read

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

SINGLE = """---
id: relu-dead-01
type: single
topic: activations
title: Dead ReLU 問題
choices:
  - text: '輸出恆為 0、梯度恆為 0'
    correct: true
    feedback: '正確：負區間導數是 0。'
  - text: '正區間導數太小'
    feedback: '正區間導數是 1。'
  - text: '數值溢位'
---
「dead ReLU」是指什麼？

::: explanation
ReLU 在 $x<0$ 時導數是 0。
:::

::: hint
看負區間的導數。
:::
{en}"""

ENGLISH = """
::: en
title: The dead ReLU problem
prompt: |
  What is a "dead ReLU"?
choices:
  - text: 'It always outputs 0 and its gradient is always 0'
    feedback: 'Right: the derivative is 0 for negative inputs.'
  - text: 'Its derivative is too small for positive inputs'
    feedback: 'The derivative is 1 for positive inputs.'
  - text: 'Numerical overflow'
explanation: |
  For $x<0$ ReLU's derivative is 0.
hint: Look at the derivative for negative inputs.
:::
"""

NUMERIC = """---
id: relu-count-01
type: numeric
topic: activations
title: 計數
answer: 4
unit: bits
misconceptions:
  - {answer: 8, message: '你算了兩次。'}
---
幾個？

::: explanation
四個。
:::

::: en
title: Counting
prompt: How many?
misconceptions: ['You counted twice.']
explanation: Four.
:::
"""


def parse(text: str):
    return parse_question(text, "q.md", topics={"activations"})


def errors_of(text: str) -> list[str]:
    with pytest.raises(BankValidationError) as info:
        parse(text)
    return [f"{error.line}: {error.message}" for error in info.value.errors]


def test_the_english_block_is_read_into_translations() -> None:
    question = parse(SINGLE.format(en=ENGLISH))
    english = question.translations["en"]
    assert english["title"] == "The dead ReLU problem"
    assert english["prompt"] == 'What is a "dead ReLU"?'
    assert english["hint"] == "Look at the derivative for negative inputs."
    assert english["choices"][0] == {"text": "It always outputs 0 and its gradient is always 0",
                                     "feedback": "Right: the derivative is 0 for negative inputs."}
    assert english["choices"][2] == {"text": "Numerical overflow"}
    # The question itself is unchanged by its translation.
    plain = parse(SINGLE.format(en=""))
    assert (question.prompt, question.explanation, question.spec) == (plain.prompt, plain.explanation, plain.spec)
    assert plain.translations == {}
    assert question.content_hash != plain.content_hash  # a translation is a new version of the file


@pytest.mark.parametrize("change, line, fragment", [
    (("hint: Look at the derivative for negative inputs.\n", ""), 24, "'hint'"),
    (("    feedback: 'The derivative is 1 for positive inputs.'\n", ""), 31, "'feedback'"),
    (("  - text: 'Numerical overflow'\n", ""), 28, "has 2 items, the question has 3"),
    (("  - text: 'Numerical overflow'\n", "  - text: 'Numerical overflow'\n    feedback: x\n"), 34, "translates nothing"),
    (("title: The dead ReLU problem", "titel: The dead ReLU problem"), 25, "'titel'"),
    (("For $x<0$", "For $\\frac{1}{x<0$"), 35, ""),
    (("prompt: |", "prompt: |\n  $\\badmacro{x}$"), 27, ""),
])
def test_english_block_errors_name_their_line(change: tuple[str, str], line: int, fragment: str) -> None:
    text = SINGLE.format(en=ENGLISH.replace(*change))
    found = errors_of(text)
    assert any(entry.startswith(f"{line}:") and fragment in entry for entry in found), found


def test_an_english_question_has_no_english_block_and_an_empty_block_is_an_error() -> None:
    english_question = SINGLE.format(en=ENGLISH).replace("title: Dead ReLU 問題", "title: Dead ReLU 問題\nlang: en")
    assert any("already written in" in entry for entry in errors_of(english_question))
    assert any("empty" in entry for entry in errors_of(SINGLE.format(en="\n::: en\n:::\n")))


def test_numeric_misconceptions_and_units() -> None:
    question = parse(NUMERIC)
    assert question.translations["en"]["misconceptions"] == ["You counted twice."]
    missing = NUMERIC.replace("misconceptions: ['You counted twice.']\n", "")
    assert any("'misconceptions'" in entry for entry in errors_of(missing))


def test_translated_spec_replaces_only_texts() -> None:
    question = parse(SINGLE.format(en=ENGLISH))
    spec = translated_spec(question.spec, question.translations["en"])
    assert [c["correct"] for c in spec["choices"]] == [c["correct"] for c in question.spec["choices"]]
    assert spec["choices"][1]["feedback"] == "The derivative is 1 for positive inputs."
    assert question.spec["choices"][1]["feedback"] == "正區間導數是 1。"  # the source is not touched
    assert spec["shuffle"] == question.spec["shuffle"]


def test_the_grader_stores_the_banks_feedback_in_both_languages() -> None:
    question = parse(SINGLE.format(en=ENGLISH))
    spec = grading_spec(question.spec, "zh-Hant", question.translations)
    stored = GradingResult.from_json(grade_question("single", spec, {"choice": 1}).to_json())
    assert stored.for_student(lang="en")["message"] == "The derivative is 1 for positive inputs."
    assert stored.for_student(lang="zh-Hant")["message"] == "正區間導數是 1。"
    # Without a translation the feedback is as written, in every language.
    plain = grade_question("single", grading_spec(question.spec, "zh-Hant", {}), {"choice": 1})
    assert plain.for_student(lang="en")["message"] == "正區間導數是 1。"


def test_a_misconception_keeps_its_tag_in_every_language() -> None:
    question = parse(NUMERIC)
    with_english = grade_question("numeric", grading_spec(question.spec, "zh-Hant", question.translations), {"value": "8"})
    without = grade_question("numeric", question.spec, {"value": "8"})
    assert with_english.misconceptions == without.misconceptions == ("你算了兩次。",)
    assert with_english.for_student(lang="en")["message"] == "You counted twice."


def _content(question, version_id: int = 1) -> presenters.VersionContent:
    return presenters.VersionContent(
        id=version_id, content_hash=question.content_hash, qtype=question.type, prompt=question.prompt,
        explanation=question.explanation, hint=question.hint or "", spec=question.spec, lang=question.lang,
        translations=question.translations)


def test_pages_show_the_requests_language_and_fall_back_to_the_source() -> None:
    translated = _content(parse(SINGLE.format(en=ENGLISH)), 1)
    plain = _content(parse(SINGLE.format(en="")), 2)
    with translation.override("en"):
        view = presenters.item_view(translated, 7, "en")
        solution = presenters.item_solution(translated, 7, "en")
        fallback = presenters.item_view(plain, 7, "en")
    assert view["lang"] == "en" and "dead ReLU" in view["prompt_html"] and "negative inputs" in view["hint_html"]
    assert {str(o["html"]) for o in view["widgets"][0]["options"]} >= {"Numerical overflow"}
    assert solution["lang"] == "en" and "derivative is 0" in solution["explanation_html"]
    assert fallback["lang"] == "zh-Hant" and "dead ReLU" in fallback["prompt_html"] and "是指" in fallback["prompt_html"]
    with translation.override("zh-hant"):
        chinese = presenters.item_view(translated, 7, "zh-hant")
    assert chinese["lang"] == "zh-Hant" and "是指" in chinese["prompt_html"]


def test_a_bank_misconception_is_shown_in_the_readers_language() -> None:
    question = parse(NUMERIC)
    content = _content(question, 3)
    grade = grade_question("numeric", grading_spec(question.spec, "zh-Hant", question.translations), {"value": "8"})
    with translation.override("en"):
        solution = presenters.item_solution(content, 1, "en")
        shown = presenters.feedback_view(grade, solution, "en")
    # Named by its words in the reader's language; its key is the message as written (internal).
    assert shown["misconceptions"] == [{"tag": "你算了兩次。", "name": "You counted twice", "lang": "en"}]
    assert shown["feedback_lang"] == ""  # translated: in the page's language
    untranslated = grade_question("numeric", question.spec, {"value": "8"})
    with translation.override("en"):
        old = presenters.feedback_view(untranslated, solution, "en")
    assert old["feedback_lang"] == "zh-Hant"  # as written: marked


def test_localized_course_content() -> None:
    translations = {"en": {"title": "Final exam"}}
    assert presenters.localized("期末考", translations, "title", "en") == presenters.Localized("Final exam", "en")
    assert presenters.localized("期末考", translations, "title", "zh-hant") == presenters.Localized("期末考", "zh-Hant")
    assert presenters.localized("期末考", {}, "title", "en") == presenters.Localized("期末考", "zh-Hant")
    assert presenters.localized("期末考", translations, "description", "en").lang == "zh-Hant"


def test_coverage_counts_questions_with_english() -> None:
    assert english_coverage([{"en": {"title": "x"}}, {}, None, {"en": {}}]) == (1, 4)


def test_shipped_bank_english_coverage_is_reported() -> None:
    contents, errors = bank_read(fixtures_dir=FIXTURES)
    assert errors == []
    coverage = bank_english_coverage(contents.questions)
    count, total = coverage[""]
    assert total == len(contents.questions) and 0 <= count <= total
    print(f"English coverage: {count}/{total} ({100 * count / total:.1f} %)")


def test_every_question_of_the_shipped_bank_carries_english() -> None:
    """Coverage is complete, so the bank check now requires English of every question."""
    contents, errors = bank_read(fixtures_dir=FIXTURES)
    assert errors == []
    assert bank_english_coverage(contents.questions)[""] == (len(contents.questions), len(contents.questions))


def test_a_question_without_english_fails_the_bank_check(tmp_path: Path) -> None:
    import shutil

    bank = tmp_path / "bank"
    (bank / "activations").mkdir(parents=True)
    shutil.copy(FIXTURES / "bank" / "topics.yaml", bank / "topics.yaml")
    (bank / "activations" / "relu-dead-01.md").write_text(SINGLE.format(en=""), "utf-8")
    _contents, errors = bank_read(fixtures_dir=tmp_path)
    assert errors == []  # a bank without languages.yaml requires no translation
    shutil.copy(FIXTURES / "bank" / "languages.yaml", bank / "languages.yaml")  # the shipped bank's: English
    _contents, errors = bank_read(fixtures_dir=tmp_path)
    assert [(e.path.endswith("relu-dead-01.md"), "'::: en'" in e.message) for e in errors] == [(True, True)]
    (bank / "activations" / "relu-dead-01.md").write_text(SINGLE.format(en=ENGLISH), "utf-8")
    _contents, errors = bank_read(fixtures_dir=tmp_path)
    assert errors == []


def test_past_exams_keep_their_language_under_an_english_summary() -> None:
    contents, _errors = bank_read(fixtures_dir=FIXTURES)
    essay = next(q for q in contents.questions if q.id == "exam-109-q1")
    english = essay.translations["en"]
    assert english["summary"].startswith("Why") and len(english["key_points"]) == len(essay.spec["key_points"])
    content = _content(essay, 4)
    with translation.override("en"):
        view = presenters.item_view(content, 0, "en")
        solution = presenters.item_solution(content, 0, "en")
    assert view["lang"] == "en" and "features" in view["prompt_html"]
    # The question as written, under its summary, marked as Chinese; so are the classmates' answers.
    assert view["original_lang"] == "zh-Hant" and "卷積" in view["original_html"]
    assert solution["peers"] and {peer["lang"] for peer in solution["peers"]} == {"zh-Hant"}
    assert solution["lang"] == "en" and "Key points" in solution["explanation_html"]


def test_an_english_entry_of_a_past_exam_must_match_its_key_points(tmp_path: Path) -> None:
    import shutil

    import yaml

    exams = tmp_path / "exams"
    shutil.copytree(FIXTURES / "exams", exams)
    english = yaml.safe_load((exams / "english.yaml").read_text("utf-8"))
    english["109-1"]["key_points"] = english["109-1"]["key_points"][:-1]
    (exams / "english.yaml").write_text(yaml.safe_dump(english, allow_unicode=True), "utf-8")
    from quizzes.bank.exams import load_exam_bank

    _bank, errors = load_exam_bank(exams)
    assert [(e.path.endswith("english.yaml"), e.message.startswith("109-1:")) for e in errors] == [(True, True)]


def test_a_text_question_lists_the_accepted_answers_in_the_pages_language() -> None:
    contents, _errors = bank_read(fixtures_dir=FIXTURES)
    question = next(q for q in contents.questions if q.id == "bp-text-08")
    content = _content(question, 5)
    with translation.override("en"):
        english = presenters.item_solution(content, 0, "en")["correct"]
    with translation.override("zh-hant"):
        chinese = presenters.item_solution(content, 0, "zh-hant")["correct"]
    assert (english["text"], english["lang"], english["others"]) == ("chain rule", "en", [])
    assert {other["lang"] for other in chinese["others"]} == {"zh-Hant"} and len(chinese["others"]) == 6


@pytest.mark.parametrize("qtype", ["single", "multiple", "truefalse", "numeric", "matrix", "symbolic", "text",
                                   "essay", "param"])
def test_a_new_question_written_in_chinese_starts_with_its_english_to_fill_in(qtype: str) -> None:
    from quizzes.instructor_selectors import question_template

    with translation.override("zh-hant"):
        chinese = parse_question(question_template(qtype=qtype, topic="activations"), "x.md", topics={"activations"})
    with translation.override("en"):
        english = parse_question(question_template(qtype=qtype, topic="activations"), "x.md", topics={"activations"})
    assert chinese.lang == "zh-Hant" and chinese.translations["en"]["title"] == "The title in English"
    assert english.lang == "en" and english.translations == {}
