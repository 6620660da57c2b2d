"""quizzes.bank.hackmd: the shipped 109/108 share note, tolerant input, errors (no database, no Django)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from quizzes.bank.hackmd import (
    ExamQuestion,
    HackMDFormatError,
    PeerAnswer,
    exam_question_id,
    parse_exam_share,
)

EXAMS_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "exams"
NOTE = EXAMS_DIR / "exam-share-109-108.md"

# Counted by hand from the note: (year, number) -> [(name, style), ...] in note order.
EXPECTED_ANSWERS: dict[tuple[int, int], list[tuple[str, str]]] = {
    **{
        (109, n): [("啟恩", "plain"), ("仲瑜", "warning"), ("Adrien", "plain"), ("宇", "info")]
        for n in range(1, 8)
    },
    (109, 8): [("啟恩", "plain"), ("仲瑜", "warning"), ("Adrien", "plain")],
    (108, 1): [("仲瑜", "success"), ("蔡杰", "danger"), ("Adrien", "plain")],
    (108, 2): [("蔡杰", "danger")],
    (108, 5): [("仲瑜", "success")],
    (108, 6): [("蔡杰", "danger")],
    (108, 7): [("蔡杰", "danger")],
    (108, 8): [("蔡杰", "danger")],
}
EXPECTED_CHAPTERS = {1: 1, 2: 2, 3: 2, 4: 2, 5: 3, 6: 3, 7: 3, 8: 3}


@pytest.fixture(scope="module")
def questions() -> list[ExamQuestion]:
    return parse_exam_share(NOTE.read_text(encoding="utf-8"))


def by_key(questions: list[ExamQuestion]) -> dict[tuple[int, int], ExamQuestion]:
    return {(q.year, q.number): q for q in questions}


# ----------------------------------------------------------------------------- the shipped note


def test_note_has_exactly_the_expected_questions(questions: list[ExamQuestion]) -> None:
    assert [(q.year, q.number) for q in questions] == list(EXPECTED_ANSWERS)
    assert [q.id for q in questions][:2] == ["exam-109-q1", "exam-109-q2"]
    assert questions[-1].id == "exam-108-q8"
    assert all(q.points == 15 for q in questions)


def test_note_peer_answers_names_and_styles(questions: list[ExamQuestion]) -> None:
    for key, question in by_key(questions).items():
        got = [(a.name, a.style) for a in question.peer_answers]
        assert got == EXPECTED_ANSWERS[key], key
    assert sum(len(q.peer_answers) for q in questions) == 39


def test_note_prompts_and_bodies(questions: list[ExamQuestion]) -> None:
    q = by_key(questions)
    assert q[109, 1].prompt.startswith("為什麼卷積神經網路 (CNN) 的卷積層")
    assert q[109, 3].prompt.splitlines()[2:4] == [
        "- i. cross entropy 與 KL divergence 的差別",
        "- ii. softmax 與 sigmoid 的差別。",
    ]
    assert "三者在架構與意義上的差別" in q[109, 7].prompt  # PDF line-wrap space removed
    assert q[108, 2].prompt.endswith("(也就是深淺、廣窄的優缺點)。")
    # Bodies are the answers only: no headers, no fences, no trailing rule.
    for question in questions:
        for answer in question.peer_answers:
            assert ":::" not in answer.body
            assert "**---" not in answer.body
            assert not answer.body.endswith("---")
    assert q[109, 7].peer_answers[2].body == "skip"
    assert q[109, 7].peer_answers[3].body.endswith("其中一個為生成器,用來")  # truncated in the note
    assert q[108, 1].peer_answers[2].body == ""  # Adrien's header with nothing under it
    assert q[108, 6].peer_answers[0].body == q[108, 7].peer_answers[0].body == ""
    assert q[109, 8].peer_answers[2].body.startswith("一般卷積: (3x3) x (32x32) x 64 x 64\n分支卷積:")
    adrien_q4 = q[109, 4].peer_answers[2].body
    assert "> Ch2 p137: 一般辨識問題的評估,大都使用 accuracy\n> Ch2 p138:" in adrien_q4


def test_note_images_and_chapters(questions: list[ExamQuestion]) -> None:
    q = by_key(questions)
    assert q[109, 8].images == ("https://i.imgur.com/lonqmCN.png",)
    assert q[108, 5].images == ("https://i.imgur.com/B6fvjF0.png",)
    assert sum(1 for x in questions if x.images) == 2
    assert q[108, 5].peer_answers[0].body == "![](https://i.imgur.com/t8zUarW.png)"
    for number, chapter in EXPECTED_CHAPTERS.items():
        assert q[109, number].chapter == chapter
        assert not q[109, number].prompt[:1].isdigit()
    assert all(x.chapter is None for x in questions if x.year == 108)


def test_every_question_has_key_points(questions: list[ExamQuestion]) -> None:
    key_points = yaml.safe_load((EXAMS_DIR / "key_points.yaml").read_text(encoding="utf-8"))
    expected = {f"{q.year}-{q.number}" for q in questions}
    assert set(key_points) == expected
    for key, points in key_points.items():
        assert isinstance(points, list) and 3 <= len(points) <= 6, key
        assert all(isinstance(p, str) and p.strip() for p in points), key


def test_reconstruction_numbers() -> None:
    data = yaml.safe_load((EXAMS_DIR / "reconstructed.yaml").read_text(encoding="utf-8"))
    numeric = data["109-8"]["numeric"]
    h = w = 32
    c_in = c_out = 64
    k = 3
    groups = 8
    normal = h * w * c_out * c_in * k * k
    grouped = h * w * groups * ((c_out // groups) * (c_in // groups) * k * k)
    assert numeric["normal"]["multiplications"] == normal == 37_748_736
    assert numeric["grouped"]["multiplications"] == grouped == 4_718_592
    assert numeric["ratio"] == normal // grouped == 8
    assert data["109-8"]["status"] == "reconstructed"
    assert data["108-5"]["status"] == "not_reconstructable"


# ----------------------------------------------------------------------------- tolerant input

NEXT_YEAR = """\
# DLCV Exam - Share

## 110

### 1. (10%) 第一題
第二行題目

**--name**
答案一

:::info --宇
答案二
:::



:::success
沒有名字的答案
:::

--- Wang Da-Ming ---
plain 無粗體

### 2. (20%) 第二題

**--- 陳 小 明 ---**

有空白的名字

## 109 年

### 3. (15%)2 另一年
:::danger --- 蔡杰 ---
:::
"""


def test_tolerant_next_year_note() -> None:
    qs = parse_exam_share(NEXT_YEAR)
    assert [(q.year, q.number, q.points) for q in qs] == [(110, 1, 10), (110, 2, 20), (109, 3, 15)]
    first = qs[0]
    assert first.prompt == "第一題\n第二行題目"
    assert first.peer_answers == (
        PeerAnswer("name", "plain", "答案一"),
        PeerAnswer("宇", "info", "答案二"),
        PeerAnswer("", "success", "沒有名字的答案"),
        PeerAnswer("Wang Da-Ming", "plain", "plain 無粗體"),
    )
    assert qs[1].peer_answers == (PeerAnswer("陳 小 明", "plain", "有空白的名字"),)
    assert qs[2].chapter == 2 and qs[2].prompt == "另一年"
    assert qs[2].peer_answers == (PeerAnswer("蔡杰", "danger", ""),)
    assert qs[0].id == "exam-110-q1"


def test_crlf_and_bom_parse_like_lf() -> None:
    lf = parse_exam_share(NEXT_YEAR)
    assert parse_exam_share("\ufeff" + NEXT_YEAR.replace("\n", "\r\n")) == lf
    shipped = NOTE.read_text(encoding="utf-8")
    assert parse_exam_share(shipped.replace("\n", "\r\n")) == parse_exam_share(shipped)


def test_fullwidth_weight_and_heading_variants() -> None:
    text = "# 111 年\n\n###  4 .（15％） 全形括號\n\n:::Warning\n無名\n:::\n"
    (q,) = parse_exam_share(text)
    assert (q.year, q.number, q.points, q.prompt) == (111, 4, 15, "全形括號")
    assert q.peer_answers == (PeerAnswer("", "warning", "無名"),)


def test_text_after_a_block_without_header_is_an_anonymous_answer() -> None:
    text = "## 110\n### 1. (10%) Q\n:::info --- A\na\n:::\n\n---\n\n孤兒段落\n### 2. (10%) R\n"
    q1, q2 = parse_exam_share(text)
    assert q1.peer_answers == (PeerAnswer("A", "info", "a"), PeerAnswer("", "plain", "---\n\n孤兒段落"))
    assert q2.peer_answers == ()


def test_separator_only_between_answers_is_not_an_answer() -> None:
    text = "## 110\n### 1. (10%) Q\n:::info --- A\na\n:::\n\n---\n\n### 2. (10%) R\n"
    assert len(parse_exam_share(text)[0].peer_answers) == 1


def test_nested_containers_and_fences_stay_in_the_answer() -> None:
    text = (
        "## 110\n### 1. (10%) Q\n"
        ":::info --- A\n:::spoiler 看答案\n內容\n:::\n```\n:::\n### 9. (5%) not a heading\n```\n:::\n"
    )
    (q,) = parse_exam_share(text)
    (answer,) = q.peer_answers
    assert answer.body == ":::spoiler 看答案\n內容\n:::\n```\n:::\n### 9. (5%) not a heading\n```"


def test_preamble_chrome_and_images() -> None:
    text = (
        "menu\n# Title\n:::info\n說明\n:::\n**--- x ---**\n## 110\n### 1. (10%) Q ![](a.png)\n"
        '<img src="b.png">\n![alt](c.png "t")\n**--- A ---**\n![](d.png)\n'
    )
    (q,) = parse_exam_share(text)
    assert q.images == ("a.png", "b.png", "c.png")
    assert q.peer_answers[0].body == "![](d.png)"


def test_exam_question_id() -> None:
    assert exam_question_id(109, 8) == "exam-109-q8"
    with pytest.raises(ValueError):
        exam_question_id(0, 1)
    with pytest.raises(ValueError):
        exam_question_id(109, True)


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("## 110\n### 1. (10%) Q\n\n:::info --- A\nbody\n", 4, "never closed"),
        ("## 110\n### 1. (10%) Q\n:::warning --- A\nbody\n### 2. (10%) R\n", 3, "not closed before"),
        ("## 110\n### 1. (10%) Q\nbody\n:::\n", 4, "closes no open block"),
        ("# Title\n### 1. (10%) Q\n", 2, "before any year section"),
        ("## 110\n### 1. (10%) Q\n### 2. no weight\n", 3, "without a weight"),
        ("## 110\n### 1. (10%) Q\n### 1. (10%) again\n", 3, "appears twice (first on line 2)"),
        ("## 110\n**--- A ---**\n", 2, "before any question heading"),
        ("## 110\n### 1. (10%) Q\n:::spoiler x\n:::\n", 3, "unknown block"),
        ("## 110\n### 1. (10%) Q\n**--- A ---**\n```python\ncode\n", 4, "never closed"),
        ("## 110\n### 1. (10%) Q\n:::info --- A\n:::spoiler\nx\n:::\n", 3, "':::info' block is never closed"),
        ("## 110\n### 1. (10%) Q\n:::info --- A\nx\n:::spoiler\n", 5, "inside an answer is never closed"),
        ("# Title\n\ntext\n", 3, "no question headings"),
    ],
)
def test_errors_name_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(HackMDFormatError) as info:
        parse_exam_share(text)
    assert info.value.line == line
    assert fragment in info.value.message
    assert str(info.value).startswith(f"line {line}: ")


def test_error_line_numbers_count_crlf_lines_once() -> None:
    text = "## 110\r\n### 1. (10%) Q\r\n\r\n\r\n:::danger --- A\r\nbody\r\n"
    with pytest.raises(HackMDFormatError) as info:
        parse_exam_share(text)
    assert info.value.line == 5


def test_peer_answer_rejects_unknown_style() -> None:
    with pytest.raises(ValueError):
        PeerAnswer("x", "note", "")
