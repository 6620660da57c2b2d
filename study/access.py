"""Access to the study pages' objects: a member's own cards and review variants only."""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404

from accounts.access import course_get_for_member, course_get_for_staff
from accounts.models import Course, User
from quizzes.models import AssessmentItem, AttemptItem, Question
from study.services.cards import REVIEW_SLUG


def course_get_for_studier(*, user: User, course_slug: str) -> Course:
    """The course, for any of its members (each sees their own plan); 404 for others."""
    course, _role = course_get_for_member(user=user, course_slug=course_slug)
    return course


def course_get_for_study_staff(*, user: User, course_slug: str) -> Course:
    """The course's study settings: its TAs and instructors (403 for students, 404 for others)."""
    return course_get_for_staff(user=user, course_slug=course_slug)


def review_item_get_for_owner(*, user: User, course: Course, item_id: int) -> AttemptItem:
    """A variant served to this user by this course's review session; 404 otherwise."""
    item = (AttemptItem.objects.select_related("attempt__assessment", "question_version__question")
            .filter(pk=item_id, attempt__user=user, attempt__assessment__course=course,
                    attempt__assessment__slug=REVIEW_SLUG).first())
    if item is None:
        raise Http404("No such review item.")
    return item


def past_question_get_for_member(*, course: Course, bank_id: str) -> Question:
    """A question of one of the course's published assessments (the past-exam study view's buttons);
    404 otherwise."""
    question = Question.objects.filter(bank_id=bank_id, retired=False).filter(
        Q(id__in=AssessmentItem.objects.filter(assessment__course=course, assessment__published=True)
          .values("question_id"))).first()
    if question is None:
        raise Http404("No such question.")
    return question
