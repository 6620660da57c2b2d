"""Spaced review: a card per (student, skill), its review log, the course's settings and each
student's daily limits. Fields and constraints only; the rules are in ``grader.spaced`` and ``study.services``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Course
from quizzes.models import Assessment, AttemptItem, Question, Topic


class StudySettings(models.Model):
    """A course's spaced-review settings and its fitted FSRS parameters (empty: the defaults)."""

    course = models.OneToOneField(Course, on_delete=models.CASCADE, related_name="study_settings")
    desired_retention = models.FloatField(default=0.9)
    parameters = models.JSONField(default=list, blank=True, help_text="FSRS-6's 21 parameters; empty: the defaults.")
    fitted_at = models.DateTimeField(null=True, blank=True)
    fit_reviews = models.PositiveIntegerField(default=0, help_text="Review logs the last fit read.")
    fit_log_loss = models.FloatField(null=True, blank=True, help_text="Log loss of the fitted parameters.")
    default_log_loss = models.FloatField(null=True, blank=True, help_text="Log loss of the defaults, same logs.")

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(desired_retention__gte=0.7, desired_retention__lte=0.99),
                                              name="study_retention_range")]

    def __str__(self) -> str:
        return f"study settings of {self.course_id}"


class StudyPreferences(models.Model):
    """One student's daily limits in one course."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    new_per_day = models.PositiveSmallIntegerField(default=10)
    reviews_per_day = models.PositiveSmallIntegerField(default=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="study_preferences_unique"),
            models.CheckConstraint(condition=Q(new_per_day__lte=200, reviews_per_day__gte=1, reviews_per_day__lte=1000),
                                   name="study_preferences_limits"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.course_id}"


class Card(models.Model):
    """One skill of one student (``grader.spaced`` skill keys) and its FSRS memory state."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    skill = models.CharField(max_length=200)
    topic = models.ForeignKey(Topic, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    question = models.ForeignKey(Question, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 help_text="The bank question a review serves (a family's: one that uses it).")
    state = models.PositiveSmallIntegerField(default=0, help_text="0 new, 1 learning, 2 review, 3 relearning.")
    step = models.PositiveSmallIntegerField(null=True, blank=True)
    stability = models.FloatField(null=True, blank=True)
    difficulty = models.FloatField(null=True, blank=True)
    due = models.DateTimeField(null=True, blank=True, help_text="Empty: a new card, not studied yet.")
    last_review = models.DateTimeField(null=True, blank=True)
    reps = models.PositiveIntegerField(default=0)
    lapses = models.PositiveIntegerField(default=0)
    serving = models.ForeignKey(AttemptItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                help_text="The variant the review session shows now (unanswered).")
    served_at = models.DateTimeField(null=True, blank=True, help_text="When that variant was first shown.")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "course", "skill"], name="study_card_unique")]
        indexes = [models.Index(fields=["user", "course", "due"], name="study_card_due")]

    def __str__(self) -> str:
        return f"{self.skill} of {self.user_id}"


class ReviewSource(models.TextChoices):
    PRACTICE = "practice"
    REVIEW = "review"
    MOCK = "mock"
    EXAM = "exam"
    LAB = "lab"
    SELF = "self"


class ReviewLog(models.Model):
    """One answer's effect on one card: the rating and what the card predicted before it."""

    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="logs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=ReviewSource.choices)
    source = models.CharField(max_length=80, help_text="The answer: item:<id>, lab:<submission>:<part>, self:<…>.")
    rating = models.PositiveSmallIntegerField()
    score = models.FloatField(null=True, blank=True)
    misconception = models.CharField(max_length=80, blank=True)
    predicted = models.FloatField(null=True, blank=True, help_text="Recall predicted just before (null: new card).")
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    reviewed_at = models.DateTimeField()
    due_after = models.DateTimeField(help_text="The card's due date this review set.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["card", "source"], name="study_review_once_per_answer")]
        indexes = [models.Index(fields=["course", "reviewed_at"], name="study_log_course_time")]

    def __str__(self) -> str:
        return f"{self.source} → {self.card_id}: {self.rating}"


class ExamRecorded(models.Model):
    """An exam whose released answers reached the study plans, and the release time they were read at
    (a release moved later is read again)."""

    assessment = models.OneToOneField(Assessment, on_delete=models.CASCADE, related_name="+")
    released_at = models.DateTimeField()
    recorded_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"exam {self.assessment_id} recorded"
