"""load_bank: validation, idempotence and versioning of edited questions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.tests.factories import make_course, make_user
from quizzes.models import Assessment, Attempt, AttemptItem, Question, QuestionVersion
from quizzes.services.bank import bank_read, bank_sync

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

QUESTION = """---
id: relu-derivative-01
type: numeric
topic: activations
title: ReLU 的導數
answer: {answer}
tolerance: {{abs: 0.01}}
---
ReLU 在 $x = 2$ 的導數是多少？

::: explanation
$x > 0$ 時 ReLU 的斜率是 1。
:::
"""


@pytest.fixture
def fixtures_dir(tmp_path: Path) -> Path:
    bank = tmp_path / "bank"
    (bank / "activations").mkdir(parents=True)
    shutil.copy(FIXTURES / "bank" / "topics.yaml", bank / "topics.yaml")
    (bank / "activations" / "relu-derivative-01.md").write_text(QUESTION.format(answer=1), "utf-8")
    return tmp_path


def sync(fixtures_dir: Path):
    contents, errors = bank_read(fixtures_dir=fixtures_dir)
    assert errors == []
    return bank_sync(contents=contents)


def answer_current_version(bank_id: str) -> AttemptItem:
    course = make_course()
    assessment = Assessment.objects.create(course=course, slug="p", title="p")
    attempt = Attempt.objects.create(assessment=assessment, user=make_user(), started_at=timezone.now())
    version = Question.objects.get(bank_id=bank_id).current_version
    return AttemptItem.objects.create(attempt=attempt, position=1, question_version=version, response={"value": "1"})


@pytest.mark.django_db
def test_load_is_idempotent(fixtures_dir: Path) -> None:
    first = sync(fixtures_dir)
    assert first.created == ["relu-derivative-01"]
    second = sync(fixtures_dir)
    assert second.created == [] and second.unchanged == 1 and second.new_versions == []
    assert QuestionVersion.objects.count() == 1


@pytest.mark.django_db
def test_editing_an_unanswered_question_updates_it_in_place(fixtures_dir: Path) -> None:
    sync(fixtures_dir)
    (fixtures_dir / "bank/activations/relu-derivative-01.md").write_text(QUESTION.format(answer=2), "utf-8")
    report = sync(fixtures_dir)
    assert report.updated_in_place == ["relu-derivative-01"]
    version = Question.objects.get().current_version
    assert version.number == 1 and version.spec["answer"] == 2


@pytest.mark.django_db
def test_editing_an_answered_question_makes_a_new_version_and_attempts_keep_theirs(fixtures_dir: Path) -> None:
    sync(fixtures_dir)
    answered = answer_current_version("relu-derivative-01")
    (fixtures_dir / "bank/activations/relu-derivative-01.md").write_text(QUESTION.format(answer=3), "utf-8")
    report = sync(fixtures_dir)
    assert report.new_versions == ["relu-derivative-01"]
    question = Question.objects.get()
    assert question.current_version.number == 2 and question.current_version.spec["answer"] == 3
    answered.refresh_from_db()
    assert answered.question_version.number == 1 and answered.question_version.spec["answer"] == 1
    # Reverting the file points back at the old version instead of adding a third.
    (fixtures_dir / "bank/activations/relu-derivative-01.md").write_text(QUESTION.format(answer=1), "utf-8")
    sync(fixtures_dir)
    question.refresh_from_db()
    assert question.current_version.number == 1 and question.versions.count() == 2


@pytest.mark.django_db
def test_a_removed_file_retires_the_question(fixtures_dir: Path) -> None:
    sync(fixtures_dir)
    (fixtures_dir / "bank/activations/relu-derivative-01.md").unlink()
    assert sync(fixtures_dir).retired == ["relu-derivative-01"]
    assert Question.objects.get().retired is True


@pytest.mark.django_db
def test_a_broken_file_loads_nothing_and_names_file_and_line(fixtures_dir: Path, capsys) -> None:
    (fixtures_dir / "bank/activations/relu-derivative-01.md").write_text(
        QUESTION.format(answer="oops"), "utf-8"
    )
    with pytest.raises(CommandError, match="1 error"):
        call_command("load_bank", str(fixtures_dir))
    assert "relu-derivative-01.md:6:" in capsys.readouterr().err
    assert Question.objects.count() == 0


@pytest.mark.django_db
def test_shipped_bank_checks_and_loads(capsys) -> None:
    call_command("load_bank", "--check")
    assert "no errors" in capsys.readouterr().out
    call_command("load_bank")
    out = capsys.readouterr().out
    assert Question.objects.filter(type="essay", topic__slug="past-exams").count() == 14
    concept = Question.objects.exclude(topic__slug="past-exams").exclude(type="param").count()
    assert concept >= 150, out
    from grader.problems import all_families

    # Every grader problem family is practised by at least one parameterized bank question.
    used = set(Question.objects.filter(type="param").values_list("current_version__spec__family", flat=True))
    assert {family.name for family in all_families()} <= used
    exam_q8 = Question.objects.get(bank_id="exam-109-q8").current_version
    assert len(exam_q8.spec["peer_answers"]) == 3 and exam_q8.points == 15
    assert Question.objects.get(bank_id="exam-109-q8-normal-multiplies").current_version.spec["answer"] == 37748736
    call_command("load_bank")
    assert "0 created, 0 new versions" in capsys.readouterr().out


@pytest.mark.django_db
def test_mock_exams_follow_exam_order() -> None:
    from quizzes.services.bank import mock_exam_ensure

    call_command("load_bank")
    course = make_course()
    exam = mock_exam_ensure(course=course, year=109)
    ids = list(exam.items.order_by("position").values_list("question__bank_id", flat=True))
    assert ids[:2] == ["exam-109-q1", "exam-109-q2"]
    assert ids[-3:] == ["exam-109-q8", "exam-109-q8-grouped-multiplies", "exam-109-q8-normal-multiplies"]
    assert mock_exam_ensure(course=course, year=109).items.count() == len(ids) == 10
    assert [i.question.bank_id for i in mock_exam_ensure(course=course, year=108).items.order_by("position")] == [
        f"exam-108-q{n}" for n in (1, 2, 5, 6, 7, 8)
    ]


@pytest.mark.django_db
def test_practice_sets_per_topic_and_mixed_draw_fresh_questions() -> None:
    from quizzes.services.attempts import attempt_start, attempt_submit
    from quizzes.services.bank import practice_sets_ensure

    call_command("load_bank")
    course = make_course()
    sets = practice_sets_ensure(course=course)
    assert len(sets) == 25  # 24 topics + mixed
    assert practice_sets_ensure(course=course)[0].items.count() == 1  # idempotent
    student = make_user()
    conv = next(s for s in sets if s.slug == "practice-convolution")
    first = attempt_start(user=student, assessment=conv)
    topics = set(first.items.values_list("question_version__question__topic__slug", flat=True))
    assert topics == {"convolution"} and first.items.count() == 5
    attempt_submit(attempt=first)
    second = attempt_start(user=student, assessment=conv)
    assert second.pk != first.pk  # unlimited practice
    mixed = next(s for s in sets if s.slug == "practice-mixed")
    drawn = attempt_start(user=student, assessment=mixed)
    assert drawn.items.count() == 24
    assert len(set(drawn.items.values_list("question_version__question__topic__slug", flat=True))) == 24
