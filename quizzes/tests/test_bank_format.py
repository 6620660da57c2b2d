"""The question-file parser/validator (quizzes.bank.format): valid files, every kind of error with
its line number, the bank directory loader, and the shipped ``fixtures/bank`` (the ``--check``)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quizzes.bank.format import (
    BankError,
    BankValidationError,
    QuestionSource,
    load_bank_dir,
    load_topics,
    parse_question,
)

BANK_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "bank"
TOPICS = {"convolution", "pooling", "cnn-properties", "past-exams"}

BODY = "題目敘述 $x_1$。\n\n::: explanation\n說明 $\\frac{1}{2}$。\n:::\n"


def make(front: str, body: str = BODY) -> str:
    """A question file from front-matter lines (without the ``---``) and a body."""
    return f"---\n{front.strip(chr(10))}\n---\n{body}"


def errors_of(text: str, **kwargs: object) -> list[BankError]:
    with pytest.raises(BankValidationError) as info:
        parse_question(text, "q.md", topics=TOPICS, **kwargs)  # type: ignore[arg-type]
    return info.value.errors


# --------------------------------------------------------------------------- valid files, every type

HEAD = "id: q-01\ntopic: convolution\ntitle: 標題\n"

VALID: dict[str, str] = {
    "single": """
choices:
  - text: '$3\\times3$ 卷積核'
    correct: true
  - text: 0.5
    feedback: '不對'
shuffle: false
""",
    "multiple": """
choices:
  - {text: a, correct: true}
  - {text: b, correct: true}
  - {text: c}
""",
    "truefalse": "answer: false\nfeedback_true: '再想想'\n",
    "numeric": """
answer: 1e-3
tolerance: {rel: 0.01}
unit: 'MB'
misconceptions:
  - {answer: 2, message: '忘了 bias'}
""",
    "matrix": "answer: [[1, 2.5], [-3, 4]]\ntolerance: {abs: 0.005}\nshape_given: false\n",
    "symbolic": "answer: '(n + 2*p - k)/s + 1 + 0*sigmoid(n)^2'\nvariables: [n, k, p, s]\n",
    "text": "accept: ['stride', '步幅']\nregex: false\n",
    "essay": """
key_points: ['權重共享', '局部連結']
peer_answers:
  - {name: '同學 A', body: '答案 $x$', style: success}
  - {body: '沒署名的答案'}
max_words: 200
""",
    "param": "family: conv-by-hand\nconstraints: {size: 5}\n",
}


@pytest.mark.parametrize("qtype", list(VALID))
def test_valid_file_of_every_type_parses(qtype: str) -> None:
    text = make(f"{HEAD}type: {qtype}\n{VALID[qtype]}")
    q = parse_question(text, "convolution/q-01.md", topics=TOPICS, known_families={"conv-by-hand"})
    assert isinstance(q, QuestionSource)
    assert (q.id, q.type, q.topic, q.title) == ("q-01", qtype, "convolution", "標題")
    assert (q.difficulty, q.points, q.tags, q.lang) == (1, 1, (), "zh-Hant")
    assert q.prompt == "題目敘述 $x_1$。"
    assert q.explanation == "說明 $\\frac{1}{2}$。"
    assert q.hint is None
    assert q.path == "convolution/q-01.md"
    assert len(q.content_hash) == 64


def test_spec_contents_and_defaults() -> None:
    def spec(qtype: str) -> dict[str, object]:
        return parse_question(make(f"{HEAD}type: {qtype}\n{VALID[qtype]}"), topics=TOPICS).spec

    single = spec("single")
    assert single["shuffle"] is False
    assert single["choices"] == [
        {"text": "$3\\times3$ 卷積核", "correct": True, "feedback": None},
        {"text": "0.5", "correct": False, "feedback": "不對"},  # the text as written, not a float
    ]
    assert spec("multiple")["shuffle"] is True
    numeric = spec("numeric")
    assert numeric["answer"] == pytest.approx(1e-3)  # YAML 1.1 reads 1e-3 as a string; we accept it
    assert numeric["tolerance"] == {"rel": 0.01}
    assert numeric["misconceptions"] == [{"answer": 2, "message": "忘了 bias"}]
    assert spec("matrix") == {"answer": [[1, 2.5], [-3, 4]], "tolerance": {"abs": 0.005}, "shape_given": False}
    assert spec("symbolic") == {"answer": "(n + 2*p - k)/s + 1 + 0*sigmoid(n)^2", "variables": ["n", "k", "p", "s"]}
    assert spec("text") == {"accept": ["stride", "步幅"], "case_sensitive": False, "regex": False}
    assert spec("essay")["peer_answers"] == [
        {"name": "同學 A", "body": "答案 $x$", "style": "success"},
        {"name": "", "body": "沒署名的答案", "style": "plain"},
    ]
    assert spec("param") == {"family": "conv-by-hand", "constraints": {"size": 5}}
    assert spec("truefalse") == {"answer": False, "feedback_true": "再想想", "feedback_false": None}

    default = parse_question(make(f"{HEAD}type: numeric\nanswer: 3\n"), topics=TOPICS)
    assert default.spec["tolerance"] == {"rel": 1e-6}


def test_common_optional_fields_and_hint() -> None:
    text = make(
        HEAD + "type: truefalse\nanswer: true\ndifficulty: 3\npoints: 2.5\ntags: [a-b, c]\nlang: en\n",
        "Prompt.\n\n::: hint\nA hint.\n:::\n\n::: explanation\nWhy.\n:::\n",
    )
    q = parse_question(text)
    assert (q.difficulty, q.points, q.tags, q.lang) == (3, 2.5, ("a-b", "c"), "en")
    assert (q.prompt, q.hint, q.explanation) == ("Prompt.", "A hint.", "Why.")


def test_content_hash_normalizes_line_endings_and_bom() -> None:
    text = make(HEAD + "type: truefalse\nanswer: true\n")
    base = parse_question(text).content_hash
    assert parse_question("\ufeff" + text.replace("\n", "\r\n")).content_hash == base
    assert parse_question(text + "\n\n").content_hash == base
    assert parse_question(text.replace("題目", "問題")).content_hash != base


def test_blocks_inside_code_fences_and_admonitions_are_content() -> None:
    body = (
        "Prompt\n\n```\n::: explanation\n:::\n```\n\n:::info\nnote\n:::\n\n"
        "::: explanation\nWhy\n\n:::warning\ncareful\n:::\nstill explanation\n:::\n"
    )
    q = parse_question(make(HEAD + "type: truefalse\nanswer: true\n", body))
    assert "```\n::: explanation\n:::\n```" in q.prompt
    assert ":::info\nnote\n:::" in q.prompt
    assert q.explanation == "Why\n\n:::warning\ncareful\n:::\nstill explanation"


def test_param_prompt_may_be_empty_and_family_checked() -> None:
    text = make(HEAD + "type: param\nfamily: conv-by-hand\n", "::: explanation\n由題族產生。\n:::\n")
    assert parse_question(text, known_families={"conv-by-hand"}).prompt == ""
    [error] = errors_of(text, known_families={"conv-by-hnd"})
    assert error.line == 6 and "unknown problem family 'conv-by-hand'" in error.message


def test_bank_error_str() -> None:
    assert str(BankError("fixtures/bank/a/b.md", 7, "boom")) == "fixtures/bank/a/b.md:7: boom"


# --------------------------------------------------------------------------- errors and their lines

# (case id, file text, expected line, expected message fragment)
ERROR_CASES: list[tuple[str, str, int, str]] = [
    ("yaml-syntax", make(HEAD + "type: truefalse\nanswer: true\nfeedback_true: a: b\n"), 7, "YAML syntax error"),
    ("yaml-flow", make(HEAD + "type: truefalse\nanswer: [true\nfeedback_true: x\n"), 7, "YAML syntax error"),
    ("yaml-bad-escape", make(HEAD + 'type: truefalse\nanswer: true\nfeedback_true: "$\\sigma$"\n'), 7, "single quotes"),
    ("double-quoted-latex", make(HEAD + 'type: truefalse\nanswer: true\nfeedback_true: "$\\frac12$"\n'), 7,
     "backslash in a double-quoted string"),
    ("unknown-key", make(HEAD + "type: numeric\nanswer: 3\ntolerence: {rel: 0.1}\n"), 7,
     "unknown key 'tolerence' (did you mean 'tolerance'?)"),
    ("key-of-other-type", make(HEAD + "type: numeric\nanswer: 3\nchoices: []\n"), 7,
     "key 'choices' is not used by type 'numeric'"),
    ("duplicate-key", make(HEAD + "type: numeric\nanswer: 3\nanswer: 4\n"), 7, "duplicate key 'answer' (first at line 6)"),
    ("bad-id", make("id: Conv_01\ntopic: convolution\ntitle: t\ntype: truefalse\nanswer: true\n"), 2, "'id' must be a slug"),
    ("unknown-type", make("id: q\ntopic: convolution\ntitle: t\ntype: numerc\nanswer: 1\n"), 5,
     "unknown type 'numerc' (did you mean 'numeric'?)"),
    ("unknown-topic", make("id: q\ntopic: convolutoin\ntitle: t\ntype: truefalse\nanswer: true\n"), 3,
     "unknown topic 'convolutoin' (did you mean 'convolution'?)"),
    ("missing-title", make("id: q\ntopic: convolution\ntype: truefalse\nanswer: true\n"), 1, "missing required key 'title'"),
    ("missing-type-key", make(HEAD + "type: numeric\n"), 1, "missing required key 'answer' (type 'numeric')"),
    ("empty-title", make("id: q\ntopic: convolution\ntitle:\ntype: truefalse\nanswer: true\n"), 4, "'title' must be a string"),
    ("difficulty-range", make(HEAD + "type: truefalse\nanswer: true\ndifficulty: 4\n"), 7, "'difficulty' must be between 1 and 3"),
    ("points-negative", make(HEAD + "type: truefalse\nanswer: true\npoints: -1\n"), 7, "'points' must be positive"),
    ("tags-not-slug", make(HEAD + "type: truefalse\nanswer: true\ntags:\n  - ok\n  - Not OK\n"), 9, "tag 'Not OK'"),
    ("bad-lang", make(HEAD + "type: truefalse\nanswer: true\nlang: zh-TW\n"), 7, "'lang' must be one of zh-Hant, en"),
    ("single-two-correct", make(HEAD + "type: single\nchoices:\n  - {text: a, correct: true}\n  - {text: b, correct: true}\n"),
     6, "exactly one correct choice, found 2 (lines 7, 8)"),
    ("single-none-correct", make(HEAD + "type: single\nchoices:\n  - {text: a}\n  - {text: b}\n"), 6,
     "exactly one correct choice, found 0"),
    ("multiple-none-correct", make(HEAD + "type: multiple\nchoices:\n  - {text: a}\n  - {text: b}\n"), 6,
     "at least one correct choice"),
    ("too-few-choices", make(HEAD + "type: multiple\nchoices:\n  - {text: a, correct: true}\n"), 6, "2 to 8 items, found 1"),
    ("too-many-choices", make(HEAD + "type: multiple\nchoices:\n" + "".join(f"  - {{text: c{i}, correct: true}}\n" for i in range(9))),
     6, "2 to 8 items, found 9"),
    ("choice-without-text", make(HEAD + "type: single\nchoices:\n  - {text: a, correct: true}\n  - {feedback: x}\n"), 8,
     "choice 2: missing required key 'text'"),
    ("choice-correct-not-bool", make(HEAD + "type: single\nchoices:\n  - text: a\n    correct: 'sure'\n  - text: b\n"), 8,
     "choice 1: 'correct' must be true or false"),
    ("choice-unknown-key", make(HEAD + "type: single\nchoices:\n  - {text: a, correct: true}\n  - {text: b, feedbak: x}\n"), 8,
     "choice 2: unknown key 'feedbak' (did you mean 'feedback'?)"),
    ("duplicate-choice", make(HEAD + "type: single\nchoices:\n  - {text: a, correct: true}\n  - {text: a}\n"), 8,
     "same text as choice at line 7"),
    ("truefalse-not-bool", make(HEAD + "type: truefalse\nanswer: 'true'\n"), 6, "'answer' must be true or false"),
    ("numeric-not-number", make(HEAD + "type: numeric\nanswer: 'twelve'\n"), 6, "'answer' must be a number"),
    ("numeric-infinite", make(HEAD + "type: numeric\nanswer: .inf\n"), 6, "'answer' must be a finite number"),
    ("tolerance-negative", make(HEAD + "type: numeric\nanswer: 1\ntolerance:\n  rel: -0.1\n"), 8,
     "tolerance 'rel' must not be negative"),
    ("tolerance-unknown", make(HEAD + "type: numeric\nanswer: 1\ntolerance: {relative: 0.1}\n"), 7,
     "unknown key 'relative'"),
    ("tolerance-sigfigs", make(HEAD + "type: numeric\nanswer: 1\ntolerance: {sigfigs: 0}\n"), 7,
     "'sigfigs' must be between 1 and 17"),
    ("misconception-equals-answer", make(HEAD + "type: numeric\nanswer: 1\nmisconceptions:\n  - {answer: 1, message: m}\n"),
     8, "misconception 1: misconception answer equals the correct answer"),
    ("matrix-ragged", make(HEAD + "type: matrix\nanswer:\n  - [1, 2]\n  - [3]\n"), 8, "not rectangular: row 2 has 1 cells"),
    ("matrix-cell", make(HEAD + "type: matrix\nanswer:\n  - [1, 2]\n  - [3, .nan]\n"), 8, "cell (2, 2) must be a finite number"),
    ("matrix-empty", make(HEAD + "type: matrix\nanswer: []\n"), 6, "non-empty list of rows"),
    ("symbolic-undeclared", make(HEAD + "type: symbolic\nanswer: 'n + m'\nvariables: [n]\n"), 6,
     "undeclared variable(s) m"),
    ("symbolic-syntax", make(HEAD + "type: symbolic\nanswer: 'n +* 2'\nvariables: [n]\n"), 6, "does not parse"),
    ("symbolic-unbalanced", make(HEAD + "type: symbolic\nanswer: '(n + 1'\nvariables: [n]\n"), 6, "does not parse"),
    ("symbolic-code", make(HEAD + "type: symbolic\nanswer: \"__import__('os').system('true')\"\nvariables: [n]\n"), 6,
     "unknown function '__import__'"),
    ("symbolic-attribute", make(HEAD + "type: symbolic\nanswer: 'n.evalf()'\nvariables: [n]\n"), 6, "'.' is not allowed"),
    ("symbolic-keyword-variable", make(HEAD + "type: symbolic\nanswer: '2'\nvariables: [x, lambda]\n"), 7,
     "'lambda' is a Python keyword"),
    ("text-accept-empty", make(HEAD + "type: text\naccept: []\n"), 6, "'accept' must list at least one item"),
    ("text-bad-regex", make(HEAD + "type: text\nregex: true\naccept:\n  - 'ok'\n  - '(unclosed'\n"), 9, "not a valid regex"),
    ("essay-no-key-points", make(HEAD + "type: essay\nkey_points: []\n"), 6, "'key_points' must list at least one item"),
    ("essay-peer-style", make(HEAD + "type: essay\nkey_points: [a]\npeer_answers:\n  - name: A\n    body: b\n    style: red\n"),
     10, "peer answer 1: 'style' must be one of"),
    ("param-empty-family", make(HEAD + "type: param\nfamily: ''\n"), 6, "'family' must not be empty"),
    ("missing-explanation", make(HEAD + "type: truefalse\nanswer: true\n", "Prompt.\n\n::: hint\nh\n:::\n"), 12,
     "missing '::: explanation' block"),
    ("unclosed-explanation", make(HEAD + "type: truefalse\nanswer: true\n", "Prompt.\n\n::: explanation\nwhy\n"), 10,
     "'::: explanation' opened here is never closed"),
    ("empty-explanation", make(HEAD + "type: truefalse\nanswer: true\n", "Prompt.\n::: explanation\n\n:::\n"), 9,
     "'::: explanation' block is empty"),
    ("unknown-block", make(HEAD + "type: truefalse\nanswer: true\n", "P\n::: explantion\nx\n:::\n::: explanation\ny\n:::\n"), 9,
     "unknown block '::: explantion' (did you mean 'explanation'?)"),
    ("stray-close", make(HEAD + "type: truefalse\nanswer: true\n", "P\n:::\n::: explanation\ny\n:::\n"), 9, "':::' closes nothing"),
    ("text-after-blocks", make(HEAD + "type: truefalse\nanswer: true\n", "P\n::: explanation\ny\n:::\n\nstray\n"), 13,
     "text after the blocks"),
    ("duplicate-explanation", make(HEAD + "type: truefalse\nanswer: true\n", "P\n::: explanation\ny\n:::\n::: explanation\nz\n:::\n"),
     12, "duplicate '::: explanation' block (first at line 9)"),
    ("unclosed-admonition", make(HEAD + "type: truefalse\nanswer: true\n", "P\n:::info\nnote\n\n::: explanation\ny\n:::\n"), 9,
     "':::info' opened here is never closed"),
    ("unclosed-fence", make(HEAD + "type: truefalse\nanswer: true\n", "P\n```python\nx = 1\n::: explanation\ny\n:::\n"), 9,
     "code fence opened here is never closed"),
    ("trailing-text-on-block", make(HEAD + "type: truefalse\nanswer: true\n", "P\n::: explanation 說明\ny\n:::\n"), 9,
     "unexpected text after '::: explanation'"),
    ("empty-prompt", make(HEAD + "type: truefalse\nanswer: true\n", "\n::: explanation\ny\n:::\n"), 8, "the prompt"),
    ("bad-math-prompt", make(HEAD + "type: truefalse\nanswer: true\n", "P\n\nline two $\\frac{1}{2$\n::: explanation\ny\n:::\n"),
     10, "LaTeX cannot be rendered (unbalanced braces"),
    ("bad-math-explanation", make(HEAD + "type: truefalse\nanswer: true\n", "P\n::: explanation\ny\n\n$$\n\\notacommand\n$$\n:::\n"),
     12, "unsupported LaTeX command \\notacommand"),
    ("bad-math-choice", make(HEAD + "type: single\nchoices:\n  - {text: a, correct: true}\n  - text: '$\\frac{1$'\n"), 8,
     "LaTeX cannot be rendered"),
    ("bad-math-block-scalar", make(HEAD + "type: truefalse\nanswer: true\nfeedback_true: |\n  ok\n  $\\foo$\n"), 9,
     "unsupported LaTeX command \\foo"),
    ("no-front-matter", "id: q\n\nPrompt\n", 1, "must start with a '---' line"),
    ("unclosed-front-matter", "---\nid: q\ntype: truefalse\n\nPrompt\n", 1, "front matter opened here is never closed"),
    ("front-matter-list", "---\n- a\n- b\n---\nP\n::: explanation\ny\n:::\n", 2, "front matter must be a mapping"),
]


@pytest.mark.parametrize(("text", "line", "fragment"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_error_is_reported_at_the_offending_line(text: str, line: int, fragment: str) -> None:
    errors = errors_of(text)
    matching = [e for e in errors if fragment in e.message]
    assert matching, f"no error containing {fragment!r} in:\n" + "\n".join(map(str, errors))
    assert matching[0].line == line, "\n".join(map(str, errors))
    assert str(matching[0]).startswith(f"q.md:{line}: ")


def test_all_errors_in_a_file_are_collected() -> None:
    text = (
        "---\n"            # 1
        "id: Bad\n"        # 2
        "type: single\n"   # 3
        "topic: nowhere\n"  # 4
        "title: t\n"        # 5
        "colour: red\n"     # 6
        "choices:\n"        # 7
        "  - {text: a}\n"   # 8
        "  - {text: b}\n"   # 9
        "---\n"             # 10
        "Prompt $\\oops$\n"  # 11
        "::: hint\n"        # 12
        "h\n"               # 13
    )
    errors = errors_of(text)
    assert [e.line for e in errors] == sorted(e.line for e in errors)
    lines = {e.line for e in errors}
    assert {2, 4, 6, 7, 11, 12, 13} <= lines, "\n".join(map(str, errors))
    assert str(BankValidationError(errors)).count("\n") == len(errors) - 1


def test_symbolic_names_match_what_students_can_type() -> None:
    from grader import answers
    from quizzes.bank.format import SYMBOLIC_FUNCTIONS

    assert set(SYMBOLIC_FUNCTIONS) == set(answers._EXPR_FUNCTIONS) | set(answers._EXPR_CONSTANTS)
    [error] = errors_of(make(HEAD + "type: symbolic\nanswer: 'floor(n/2)'\nvariables: [n]\n"))
    assert error.line == 6 and "unknown function 'floor'" in error.message


def test_symbolic_answers_never_reach_eval() -> None:
    for evil in ["().__class__", "lambda: 0", "[n]", "{}", "'a'", "n; n", "exec('1')", "n if n else n"]:
        quoted = "'" + evil.replace("'", "''") + "'"
        text = make(HEAD + f"type: symbolic\nanswer: {quoted}\nvariables: [n]\n")
        errors = errors_of(text, check_math=False)
        assert any("symbolic answer" in e.message for e in errors), (evil, errors)
    # Huge powers are parsed unevaluated: fast, and valid.
    start = time.perf_counter()
    parse_question(make(HEAD + "type: symbolic\nanswer: '9**9**9**9*n'\nvariables: [n]\n"))
    assert time.perf_counter() - start < 2


def test_messages_are_in_the_active_language() -> None:
    """gettext: Chinese under zh-hant (the editor's request language), the same English as ever under en.
    The math-error tooltip in rendered HTML stays English: rendered HTML is cached for every language."""
    from django.utils import translation

    from quizzes.bank.render import render_markdown

    text = make(HEAD + "type: single\ntags: [a, a]\nchoices:\n  - {text: x, correct: true}\n  - {text: y, corect: 1}\n",
                "Prompt $}$.\n\n::: explanation\nWhy.\n:::\n")
    with translation.override("zh-hant"):
        zh = [str(e) for e in errors_of(text)]
        assert 'title="unbalanced braces: &#x27;}&#x27; without &#x27;{&#x27;"' in render_markdown("$}$")
    with translation.override("en"):
        en = [str(e) for e in errors_of(text)]
    assert en == [
        "q.md:6: duplicate tag 'a'",
        "q.md:9: choice 2: unknown key 'corect' (did you mean 'correct'?)",
        "q.md:11: LaTeX cannot be rendered (unbalanced braces: '}' without '{'): '}'",
    ]
    assert zh == [
        "q.md:6: 重複的標籤 'a'",
        "q.md:9: 第 2 個選項：未知的鍵 'corect'（是不是要寫 'correct'？）",
        "q.md:11: LaTeX 無法呈現（大括號不成對：有 '}' 卻沒有對應的 '{'）：'}'",
    ]


# --------------------------------------------------------------------------- fuzzing: only BankValidationError


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.integers(min_value=0, max_value=400), junk=st.text(alphabet="-:\n $\\{}[]'\"#`~ab1&*|>", max_size=12))
def test_damaged_files_fail_cleanly(position: int, junk: str) -> None:
    text = make(f"{HEAD}type: single\n{VALID['single']}")
    damaged = text[:position] + junk + text[position:]
    try:
        parse_question(damaged, "q.md", topics=TOPICS)
    except BankValidationError as exc:
        assert exc.errors and all(e.line >= 1 for e in exc.errors)


# --------------------------------------------------------------------------- the bank directory


def write_bank(root: Path, files: dict[str, str]) -> Path:
    (root / "topics.yaml").write_text(
        "- {slug: convolution, zh: 卷積, en: Convolution}\n- {slug: pooling, zh: 池化, en: Pooling}\n", encoding="utf-8"
    )
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def tf(qid: str, topic: str = "convolution") -> str:
    return make(f"id: {qid}\ntopic: {topic}\ntitle: t\ntype: truefalse\nanswer: true\n")


def test_load_bank_dir_reads_questions_and_skips_docs(tmp_path: Path) -> None:
    root = write_bank(tmp_path, {
        "convolution/a-01.md": tf("a-01"),
        "pooling/b-01.md": tf("b-01", "pooling"),
        "FORMAT.md": "# not a question",
        "convolution/README.md": "# notes",
        "convolution/_template.md": "---\n",
    })
    questions, errors = load_bank_dir(root)
    assert errors == []
    assert [q.id for q in questions] == ["a-01", "b-01"]
    assert questions[0].path == str(root / "convolution" / "a-01.md")


def test_duplicate_ids_across_files_name_both_files(tmp_path: Path) -> None:
    root = write_bank(tmp_path, {"convolution/x-01.md": tf("x-01"), "pooling/x-01.md": tf("x-01", "pooling")})
    questions, errors = load_bank_dir(root)
    assert [q.path for q in questions] == [str(root / "convolution" / "x-01.md")]
    [error] = errors
    assert error.path == str(root / "pooling" / "x-01.md") and error.line == 2
    assert f"duplicate id 'x-01': also in {root / 'convolution' / 'x-01.md'}:2" in error.message


def test_file_name_and_folder_must_match_id_and_topic(tmp_path: Path) -> None:
    root = write_bank(tmp_path, {"convolution/wrong-name.md": tf("a-01"), "convolution/b-01.md": tf("b-01", "pooling"),
                                 "c-01.md": tf("c-01")})
    questions, errors = load_bank_dir(root)
    assert questions == []
    messages = sorted((Path(e.path).name, e.line, e.message) for e in errors)
    assert messages[0][:2] == ("b-01.md", 3) and "folder 'convolution' but its topic is 'pooling'" in messages[0][2]
    assert messages[1][:2] == ("c-01.md", 1) and "topic folder" in messages[1][2]
    assert messages[2][:2] == ("wrong-name.md", 2) and "does not match id 'a-01'" in messages[2][2]


def test_unknown_topic_checked_against_topics_yaml(tmp_path: Path) -> None:
    root = write_bank(tmp_path, {"detection/d-01.md": tf("d-01", "detection")})
    _, errors = load_bank_dir(root)
    assert any(e.line == 3 and "unknown topic 'detection'" in e.message for e in errors), errors


def test_errors_from_all_files_are_collected(tmp_path: Path) -> None:
    root = write_bank(tmp_path, {
        "convolution/ok-01.md": tf("ok-01"),
        "convolution/bad-01.md": tf("bad-01").replace("answer: true", "answer: maybe"),
        "convolution/bad-02.md": tf("bad-02").removesuffix(":::\n"),
    })
    (root / "convolution" / "latin1.md").write_bytes("---\nid: x\ntitle: caf\xe9\n".encode("latin-1"))
    questions, errors = load_bank_dir(root)
    assert [q.id for q in questions] == ["ok-01"]
    by_file = {Path(e.path).name: e for e in errors}
    assert by_file["bad-01.md"].line == 6
    assert "never closed" in by_file["bad-02.md"].message
    assert by_file["latin1.md"].line == 3 and "UTF-8" in by_file["latin1.md"].message


def test_known_families_may_be_a_callable(tmp_path: Path) -> None:
    text = make("id: p-01\ntopic: convolution\ntitle: t\ntype: param\nfamily: conv-by-hand\n")
    root = write_bank(tmp_path, {"convolution/p-01.md": text})
    assert load_bank_dir(root, known_families=lambda: {"conv-by-hand"})[1] == []
    [error] = load_bank_dir(root, known_families=set())[1]
    assert error.line == 6 and "unknown problem family" in error.message


def test_bad_topics_yaml_is_reported(tmp_path: Path) -> None:
    (tmp_path / "topics.yaml").write_text("- {slug: a, zh: A, en: A}\n- {slug: a, zh: B}\n", encoding="utf-8")
    with pytest.raises(BankValidationError) as info:
        load_topics(tmp_path / "topics.yaml")
    assert {e.line for e in info.value.errors} == {2}
    assert any("duplicate topic 'a'" in e.message for e in info.value.errors)
    assert any("missing required key 'en'" in e.message for e in info.value.errors)


# --------------------------------------------------------------------------- the shipped bank (--check)


def test_shipped_topics() -> None:
    slugs = [t["slug"] for t in load_topics(BANK_DIR / "topics.yaml")]
    assert "convolution" in slugs and len(slugs) == len(set(slugs))


def test_shipped_bank_has_no_errors() -> None:
    from grader.problems import all_families

    families = {f.name for f in all_families()}
    questions, errors = load_bank_dir(BANK_DIR, known_families=families)
    assert errors == [], "errors in fixtures/bank:\n" + "\n".join(map(str, errors))
    assert len({q.id for q in questions}) == len(questions)


def test_time_limit_interrupts_and_restores_an_outer_alarm() -> None:
    import signal

    from quizzes.bank.format import _time_limit

    with pytest.raises(TimeoutError), _time_limit(0.05):
        time.sleep(2)
    previous = signal.signal(signal.SIGALRM, lambda *_: None)
    signal.setitimer(signal.ITIMER_REAL, 30)
    try:
        with _time_limit(0.5):
            pass
        assert 25 < signal.getitimer(signal.ITIMER_REAL)[0] <= 30
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
