"""The TA audit's content fixes (issue 17, item 2), held by tests on the shipped bank: each would
fail on the text before its fix. No database: the bank's files are parsed as ``load_bank`` does."""

from __future__ import annotations

import re
from typing import Any

import pytest

from grader.problems import get_family
from quizzes.bank.format import QuestionSource
from quizzes.presenters import VersionContent, item_solution
from quizzes.tests.test_student_pages import _bank


def _question(bank_id: str) -> QuestionSource:
    return next(q for q in _bank().questions if q.id == bank_id)


def _choice(question: QuestionSource, start: str) -> dict[str, Any]:
    return next(c for c in question.spec["choices"] if c["text"].startswith(start))


def test_sigmoid_gradient_is_multiplied_by_at_most_a_quarter() -> None:
    text = _question("act-sigmoid-max-derivative-02").explanation
    assert "至少" not in text and "**最多**是 0.25" in text and "0.25^n" in text


def test_dropout_explanation_says_where_the_notes_are_wrong_and_why() -> None:
    question = _question("reg-dropout-permanent-02")
    assert question.spec["answer"] is False
    text = question.explanation
    assert "再也回不來" in text and "單一次迭代" in text and "剪枝 (pruning)" in text


def test_the_two_borderline_select_all_options_are_unambiguous() -> None:
    detection = _question("loc-detection-gap-01")
    option = _choice(detection, "影像中可能一個物體都沒有")
    assert option["correct"] is True and not any("背景類別" in c["text"] for c in detection.spec["choices"])
    assert "$N=0$" in detection.explanation
    transfer = _question("tl-preprocess-08")
    option = _choice(transfer, "把 $32\\times32$ 的 CIFAR-10 影像直接送進")
    assert option["correct"] is True and "通常" not in option["text"] and "$1\\times1$" in option["text"]


def test_checkerboard_and_1d_transposed_convolution_give_the_same_overlap_pattern() -> None:
    checkerboard = _question("up-checkerboard-01").explanation
    tconv = _question("up-tconv-1d-01")
    assert "$2, 1, 2, 1, \\dots$" in checkerboard and "$1, 1, 2, 1, 1$" in checkerboard
    assert "$1, 1, 2, 1, 1$" in tconv.explanation and "$2, 1, 2, 1, \\dots$" in tconv.explanation
    # The counts the two explanations state, recomputed: 2 inputs and a long input, k=3, s=2.
    def coverage(n: int, k: int = 3, s: int = 2) -> list[int]:
        counts = [0] * ((n - 1) * s + k)
        for i in range(n):
            for j in range(k):
                counts[i * s + j] += 1
        return counts
    assert coverage(2) == [1, 1, 2, 1, 1] and coverage(6)[1:-1] == [1, 2] * 5 + [1]
    assert tconv.spec["answer"] == [[2, 4, 5, 6, 3]]


def test_image_filter_question_and_laplacian_sharpening_reconcile_the_signs() -> None:
    intro = _question("param-image-filter-01")
    assert "或銳化" not in intro.prompt  # the family has no sharpening filter to draw
    assert "原圖 $-$ Laplacian" in intro.explanation and "原圖 $+$ Laplacian" in intro.explanation
    assert "原圖 $-$ Laplacian" in _question("filt-laplacian-sharpen-07").explanation


@pytest.mark.parametrize("bank_id", ["exam-109-q8-normal-multiplies", "exam-109-q8-grouped-multiplies"])
def test_exam_numeric_parts_name_no_source_file(bank_id: str) -> None:
    question = _question(bank_id)
    assert not re.search(r"[\w/]+\.(?:py|ya?ml)\b", question.prompt + question.explanation)
    assert "本站其他卷積計算題" in question.prompt
    assert not any(".yaml" in point for q in _bank().questions if q.type == "essay"
                   for point in q.spec.get("key_points") or [])


def test_expected_answers_are_shown_at_the_graded_precision_not_with_float_noise() -> None:
    """What a student is shown as the correct answer of a parameterized question (the solutions'
    presenter): no 0.4899999999999999, no 2.111111111111111."""
    noise = re.compile(r"\d\.\d{9,}")  # 0.4899999999999999 has 16 decimals; nothing is graded that finely
    shown = 0
    for bank_id, family_name in (("param-optimizer-step-01", "optimizer-step"),
                                 ("param-image-filter-01", "image-filter")):
        question = _question(bank_id)
        content = VersionContent(id=hash(bank_id), content_hash=question.content_hash, qtype="param",
                                 prompt=question.prompt, explanation=question.explanation, hint="",
                                 spec=question.spec)
        family = get_family(family_name)
        for seed in range(40):
            solution = item_solution(content, seed, "en")
            for part in solution["correct"]["parts"]:
                text = part.get("text") or " ".join(" ".join(row) for row in part.get("grid") or [])
                assert not noise.search(text), (bank_id, seed, text)
                shown += 1
            assert not noise.search(family.explain(family.generate(seed, None), "en"))
    assert shown > 100
