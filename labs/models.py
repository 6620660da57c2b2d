"""Labs (numeric now, coding later), their parts, and submissions graded by the Celery grader.

The database row is the truth about a submission: Celery only carries its id, so a lost message,
a killed worker or a restarted broker never loses work — the sweeper re-enqueues from the table.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Course


class LabKind(models.TextChoices):
    NUMERIC = "numeric", _("Numeric lab")
    CODE = "code", _("Coding lab")


class Lab(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="labs")
    # Unique site-wide: the API addresses labs as /api/labs/{slug}/.
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=LabKind.choices, default=LabKind.NUMERIC)
    # Coding labs: the grader's lab spec (grader.codelabs) this lab runs, e.g. "conv2d-forward".
    codelab = models.CharField(max_length=80, blank=True)
    # Coding labs: what the student's file may import besides the standard library (a sandbox
    # runtime, e.g. ["numpy"] or ["numpy", "torch"]); empty: the code lab's own.
    allowed_packages = models.JSONField(default=list, blank=True)
    # A coding lab's total points (the sum of its tests'); numeric labs sum their parts instead.
    code_points = models.DecimalField(max_digits=6, decimal_places=2, default=0)
    description = models.TextField(blank=True, help_text="Markdown + LaTeX, zh-Hant.")
    translations = models.JSONField(
        default=dict, blank=True, help_text="Title and description in other languages: {lang: {title, description}}.",
    )
    published = models.BooleanField(default=True)
    due_at = models.DateTimeField(null=True, blank=True)
    # {"mode": "unlimited"} (before the due date) or {"mode": "declining", "points": [1.0, 0.8, 0.6]}
    attempts_policy = models.JSONField(default=dict)
    # {"penalty_per_day": 0.1, "max_late_days": 3}; empty → no late submissions
    late_policy = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["course", "slug"]

    def __str__(self) -> str:
        return f"{self.course.slug}/{self.slug}"


class LabPart(models.Model):
    """One part of a lab: a grader problem family with constraints; each student gets a variant."""

    lab = models.ForeignKey(Lab, on_delete=models.CASCADE, related_name="parts")
    position = models.PositiveIntegerField()
    key = models.SlugField(max_length=60, help_text="Stable name used in API answers, e.g. 'conv'.")
    title = models.CharField(max_length=200)
    translations = models.JSONField(default=dict, blank=True, help_text="The title in other languages: {lang: {title}}.")
    family = models.CharField(max_length=80)
    constraints = models.JSONField(default=dict, blank=True)
    points = models.DecimalField(max_digits=6, decimal_places=2, default=1)

    class Meta:
        ordering = ["lab", "position"]
        constraints = [
            models.UniqueConstraint(fields=["lab", "position"], name="lab_part_position_unique"),
            models.UniqueConstraint(fields=["lab", "key"], name="lab_part_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.lab} · {self.key}"


class SubmissionStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Grading")
    GRADED = "graded", _("Graded")
    FAILED = "failed", _("Grading failed")  # our fault (e.g. a grader bug); never costs an attempt


class Submission(models.Model):
    lab = models.ForeignKey(Lab, on_delete=models.CASCADE, related_name="submissions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lab_submissions")
    # Assigned at creation and never reused; submissions whose grading failed (our fault) keep their
    # number but are skipped when the attempts policy counts (see labs.services).
    number = models.PositiveIntegerField(help_text="1 for the student's first submission of this lab.")
    answers = models.JSONField(default=dict, help_text="{part_key: {part_name: raw}} as submitted.")
    # The variant graded against, fixed at submission time: {part_key: params}.
    variant = models.JSONField(default=dict)
    lang = models.CharField(max_length=8, default="zh-Hant", help_text="Language of the feedback.")
    source_code = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=SubmissionStatus.choices, default=SubmissionStatus.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    grading_runs = models.PositiveIntegerField(default=0, help_text="How many times a worker claimed it.")
    # The current claim: a result is written only by the worker holding it (conditional UPDATE).
    claim_token = models.UUIDField(null=True, blank=True)
    # The broker message (Celery task id) that made the current claim: a later delivery of that same
    # message means its earlier run died (its worker was lost), so it may take the claim over.
    claim_task_id = models.CharField(max_length=64, blank=True, default="")
    result_writes = models.PositiveIntegerField(default=0, help_text="How many times a result was stored.")
    late_days = models.PositiveIntegerField(default=0)
    # One vocabulary with grader.results: a score is a fraction 0–1, points are points. (The JSON API
    # keeps its older names: see labs.presenters.submission_api_view.)
    points = models.DecimalField(
        max_digits=8, decimal_places=4, null=True, blank=True,
        help_text="Points earned after the lab's attempts and late policies (null until graded).",
    )
    score = models.DecimalField(
        max_digits=8, decimal_places=4, null=True, blank=True,
        help_text="The result's score, a fraction 0–1, before the lab's policies (null until graded).",
    )
    result = models.JSONField(null=True, blank=True, help_text="Per part: score, points, feedback, misconceptions.")
    # What the lab's points are made of (labs.policy.LabPolicy.lab_points: best per part).
    part_points = models.JSONField(
        default=dict, blank=True,
        help_text="Each part's points after this submission's attempt and late factors (part key → points; "
                  "a coding lab is one part, ''). Empty until graded.",
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["lab", "user", "number"], name="submission_number_unique"),
            models.UniqueConstraint(
                fields=["user", "lab", "idempotency_key"], condition=~Q(idempotency_key=""),
                name="submission_idempotency_key_unique",
            ),
            models.CheckConstraint(
                condition=~Q(status=SubmissionStatus.GRADED)
                | Q(points__isnull=False, score__isnull=False, finished_at__isnull=False),
                name="submission_graded_has_points_and_score",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "enqueued_at"]),
            models.Index(fields=["status", "started_at"]),
            models.Index(fields=["lab", "user"]),
        ]

    def __str__(self) -> str:
        return f"{self.lab} by {self.user_id} #{self.number} ({self.status})"
