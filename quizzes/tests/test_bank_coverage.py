"""The topics issue 17 found thin are covered by the shipped bank, and every shipped numeric
question grades its own answer right and each listed wrong answer with its own message (and the
new ones do so for answers rounded as a student types them)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from grader.i18n import word
from grader.questions import grade_question
from grader.results import GradingResult
from quizzes.bank.format import QuestionSource, load_bank_dir

BANK_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "bank"

#: (topic, a tag that marks the concept, the fewest questions it needs).
COVERAGE = [
    ("optimizers", "lr-schedule", 3),
    ("optimizers", "adagrad", 2),
    ("regularization", "weight-decay", 2),
    ("regularization", "early-stopping", 3),
    ("regularization", "group-norm", 3),
    ("regularization", "layer-norm", 3),
    ("regularization", "instance-norm", 2),
    ("regularization", "augmentation", 5),
    ("one-stage-detection", "mask-r-cnn", 4),
    ("fcn-unet", "overfeat", 3),
    ("ml-basics", "generative-model", 4),
    ("ml-basics", "statistical-learning", 2),
    ("cnn-architectures", "pyramid-attention-network", 3),
    ("cnn-architectures", "depth", 3),
]
#: Parameterized questions of the families issue 17 added, and their topics.
FAMILY_QUESTIONS = {"segmentation-metrics": "segmentation", "box-encoding-anchors": "two-stage-detection"}


@cache
def bank() -> tuple[QuestionSource, ...]:
    from grader.problems import all_families

    questions, errors = load_bank_dir(BANK_DIR, known_families={f.name for f in all_families()})
    assert errors == []
    return tuple(questions)


@pytest.mark.parametrize(("topic", "tag", "fewest"), COVERAGE)
def test_thin_topics_are_covered(topic: str, tag: str, fewest: int) -> None:
    found = [q for q in bank() if q.topic == topic and tag in q.tags]
    assert len(found) >= fewest, f"{topic}/{tag}: {[q.id for q in found]}"
    for q in found:
        assert q.explanation.strip() and q.translations["en"]["explanation"].strip(), q.id
        if q.type in ("single", "multiple"):
            wrong = [c for c in q.spec["choices"] if not c.get("correct")]
            assert all(c.get("feedback") for c in wrong), f"{q.id}: a wrong choice without feedback"


@pytest.mark.parametrize(("family", "topic"), FAMILY_QUESTIONS.items())
def test_new_families_have_a_bank_question(family: str, topic: str) -> None:
    assert [q.topic for q in bank() if q.type == "param" and q.spec["family"] == family] == [topic]


def test_numeric_questions_grade_their_answers_and_misconceptions() -> None:
    numeric = [q for q in bank() if q.type == "numeric"]
    assert len(numeric) > 40
    for q in numeric:
        right = grade_question("numeric", q.spec, {"value": str(q.spec["answer"])})
        assert right.score == 1.0, q.id
        for m in q.spec["misconceptions"]:
            wrong = grade_question("numeric", q.spec, {"value": str(m["answer"])})
            assert isinstance(wrong, GradingResult) and wrong.score == 0.0, q.id
            assert wrong.misconceptions, f"{q.id}: {m['answer']} is not recognised"
            assert m["message"] in word(wrong.message, "en"), q.id


@pytest.mark.parametrize(
    ("question_id", "typed", "score"),
    [
        ("opt-adagrad-steps-13", "8.2", 1.0),
        ("opt-adagrad-steps-13", "9.507", 0.0),  # divided by Σg², not its square root
        ("opt-lr-sqrt-decay-11", "0.1", 1.0),
        ("opt-lr-sqrt-decay-11", "0.106", 0.0),  # √8 instead of √9
        ("reg-weight-decay-step-09", "1.948", 1.0),
        ("reg-weight-decay-step-09", "1.949", 0.0),
        ("ml-gaussian-mle-13", "26/3", 1.0),
        ("ml-gaussian-mle-13", "13", 0.0),
        ("ml-bayes-posterior-12", "5/8", 1.0),
        ("ml-bayes-posterior-12", "0.714", 0.0),
        ("reg-groupnorm-count-15", "1024", 1.0),
        ("reg-early-stopping-patience-12", "6", 1.0),
        ("reg-early-stopping-patience-12", "9", 0.0),
    ],
)
def test_rounded_answers_as_students_type_them(question_id: str, typed: str, score: float) -> None:
    q = next(q for q in bank() if q.id == question_id)
    result = grade_question("numeric", q.spec, {"value": typed})
    assert result.score == score
    assert bool(result.misconceptions) == (score == 0.0)
