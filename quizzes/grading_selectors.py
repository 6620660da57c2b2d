"""Reads of the essay grading pages: the questions waiting (progress per question), one question's answers
in grading order (for next/previous, progress and the anonymous "Student N" labels) and a rubric —
each a fixed number of queries.

The answers of a question are the essays of submitted exam attempts of the course that were answered
(``response`` stored); graded means not waiting for a person (``needs_manual_grading`` off). A TA limited
to sections (``accounts.access.sections_visible_to``) sees their sections' answers only; anonymous labels
number the students of the whole course in submission order, so "Student 17" is the same student for
every grader of the question.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery

from accounts.models import Course, Enrollment
from quizzes.models import AssessmentMode, AttemptItem, AttemptStatus, Question, RubricApplication, RubricItem


def _answers(course: Course) -> QuerySet[AttemptItem]:
    return (AttemptItem.objects.filter(attempt__assessment__course=course,
                                       attempt__assessment__mode=AssessmentMode.EXAM,
                                       question_version__question__type="essay", response__isnull=False)
            .exclude(attempt__status=AttemptStatus.IN_PROGRESS))


def _in_sections(items: QuerySet[AttemptItem], course: Course, sections: frozenset[str] | None) -> QuerySet[AttemptItem]:
    if sections is None:
        return items
    return items.filter(attempt__user__enrollments__course=course, attempt__user__enrollments__section__in=sections)


@dataclass(frozen=True)
class QuestionProgress:
    question_id: int
    title: str
    translations: dict
    graded: int
    total: int

    @property
    def done(self) -> bool:
        return self.graded >= self.total


def grading_questions(*, course: Course, sections: frozenset[str] | None) -> list[QuestionProgress]:
    """Each essay question answered in the course's exams, with graded / total answers this grader sees;
    the ones with answers waiting first (one query)."""
    rows = (_in_sections(_answers(course), course, sections)
            .values("question_version__question_id")
            .annotate(total=Count("id", distinct=True),
                      graded=Count("id", distinct=True, filter=Q(needs_manual_grading=False)),
                      title=F("question_version__question__current_version__title"),
                      translations=F("question_version__question__current_version__translations"))
            .order_by("question_version__question_id"))
    out = [QuestionProgress(row["question_version__question_id"], row["title"] or "", row["translations"] or {},
                            row["graded"], row["total"]) for row in rows]
    return sorted(out, key=lambda q: (q.done, q.question_id))


@dataclass(frozen=True)
class Answer:
    item_id: int
    attempt_id: int
    user_id: int
    name: str
    number: int  # the anonymous label's number: "Student <number>"
    graded: bool
    visible: bool


@dataclass(frozen=True)
class QuestionAnswers:
    answers: list[Answer]  # those this grader sees, in grading order

    @property
    def graded(self) -> int:
        return sum(a.graded for a in self.answers)

    @property
    def total(self) -> int:
        return len(self.answers)

    @property
    def done(self) -> bool:
        return self.graded >= self.total

    def find(self, item_id: int) -> int | None:
        return next((i for i, a in enumerate(self.answers) if a.item_id == item_id), None)

    def previous(self, item_id: int) -> Answer | None:
        at = self.find(item_id)
        return self.answers[at - 1] if at is not None and at > 0 else None

    def following(self, item_id: int) -> Answer | None:
        at = self.find(item_id)
        return self.answers[at + 1] if at is not None and at + 1 < len(self.answers) else None

    def next_ungraded(self, after: int | None = None) -> Answer | None:
        """The first answer waiting after ``after`` (an item id), wrapping round; else None."""
        at = self.find(after) if after is not None else None
        start = 0 if at is None else at + 1
        ordered = self.answers[start:] + self.answers[:start]
        return next((a for a in ordered if not a.graded and a.item_id != after), None)


def question_answers(*, course: Course, question_id: int, sections: frozenset[str] | None) -> QuestionAnswers:
    """The question's answers in the course in grading order (submission time), with each student's
    stable anonymous number, marked visible to this grader by section (one query)."""
    section = Subquery(Enrollment.objects.filter(course=course, user=OuterRef("attempt__user")).values("section")[:1])
    rows = (_answers(course).filter(question_version__question_id=question_id)
            .annotate(section=section)
            .values_list("id", "attempt_id", "attempt__user_id", "attempt__user__username",
                         "attempt__user__first_name", "attempt__user__last_name", "needs_manual_grading", "section")
            .order_by("attempt__submitted_at", "attempt_id", "id"))
    numbers: dict[int, int] = {}
    answers = []
    for item_id, attempt_id, user_id, username, first, last, waiting, student_section in rows:
        number = numbers.setdefault(user_id, len(numbers) + 1)
        name = " ".join(part for part in (first, last) if part) or username
        answers.append(Answer(item_id, attempt_id, user_id, name, number, not waiting,
                              sections is None or student_section in sections))
    return QuestionAnswers([a for a in answers if a.visible])


def rubric_for_question(*, question: Question) -> list[RubricItem]:
    # An aggregate query does not take Meta.ordering: the rubric's order (its number keys) said here.
    return list(RubricItem.objects.filter(question=question).annotate(uses=Count("applications"))
                .order_by("position", "id"))


def applied_rubric_ids(*, item_id: int) -> set[int]:
    return set(RubricApplication.objects.filter(item_id=item_id).values_list("rubric_item_id", flat=True))
