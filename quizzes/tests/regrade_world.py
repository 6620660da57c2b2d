"""A released exam with one single-choice question answered three ways, and the question's key
corrected afterwards: the data of the regrade tests (services, worker, pages, browser)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from accounts.models import Course, Enrollment, Role, User
from accounts.tests.factories import make_member
from quizzes.models import Assessment, AssessmentMode, Attempt, AttemptItem, Question, QuestionVersion
from quizzes.services.attempts import attempt_item_save, attempt_start, attempt_submit
from quizzes.services.authoring import question_save_source
from quizzes.tests.factories import make_assessment

FIXED = "act-dead-relu-05"  # a single-choice question whose key the tests move from choice 0 to choice 1
ESSAY = "exam-109-q1"


@dataclass
class RegradeWorld:
    course: Course
    exam: Assessment
    instructor: User
    students: list[User]  # answered choice 0 (right at v1), 1 (right at v2), 2 (wrong at both)
    attempts: list[Attempt]
    question: Question
    old_version: QuestionVersion

    def item(self, student_index: int, bank_id: str = FIXED) -> AttemptItem:
        return AttemptItem.objects.get(attempt=self.attempts[student_index], question_version__question__bank_id=bank_id)


def build(course: Course, *, released_at: datetime | None = None, sections: tuple[str, ...] = ("A", "B", "A"),
          students: int = 3, slug: str = "midterm") -> RegradeWorld:
    """The exam (the fixed question and an essay), ``students`` students answering choice i % 3, submitted
    and released ``released_at`` (default: a day ago)."""
    now = timezone.now()
    instructor = make_member(course, Role.INSTRUCTOR)
    exam = make_assessment(course, [FIXED, ESSAY], mode=AssessmentMode.EXAM, slug=slug)
    people, attempts = [], []
    for index in range(students):
        student = make_member(course, Role.STUDENT)
        Enrollment.objects.filter(user=student, course=course).update(section=sections[index % len(sections)])
        attempt = attempt_start(user=student, assessment=exam)
        for item in attempt.items.select_related("question_version__question"):
            if item.question_version.question.bank_id == FIXED:
                response = {"choice": index % 3}
            else:
                response = {"text": "Learned filters share weights across positions."}
            attempt_item_save(user=student, attempt_id=attempt.id, item_id=item.id, response=response)
        people.append(student)
        attempts.append(attempt_submit(attempt=attempt))
    Assessment.objects.filter(pk=exam.pk).update(
        results_released_at=released_at or now - timedelta(days=1), opens_at=now - timedelta(days=3),
        closes_at=now - timedelta(days=2))
    exam.refresh_from_db()
    question = Question.objects.select_related("current_version").get(bank_id=FIXED)
    return RegradeWorld(course, exam, instructor, people, attempts, question, question.current_version)


def correct_the_key(world: RegradeWorld) -> QuestionVersion:
    """Save a new version of the fixed question whose right choice is the second one."""
    return correct_key(world.question, world.instructor)


def correct_key(question: Question, user: User) -> QuestionVersion:
    """A new version of ``FIXED`` (``question``) whose right choice is the second one, saved by ``user``."""
    assert question.bank_id == FIXED
    text = QuestionVersion.objects.get(pk=Question.objects.get(pk=question.pk).current_version_id).source_text
    moved = text.replace("    correct: true\n", "", 1)
    second = "  - text: 'ReLU 在正區間的導數太小，使深層網路梯度消失'\n"
    assert moved != text and second in moved
    moved = moved.replace(second, second + "    correct: true\n", 1)
    return question_save_source(user=user, question=question, text=moved)
