"""What LTI 1.3 adds to django-lti's own models (``lti_tool``: LtiRegistration, LtiDeployment,
LtiUser, LtiContext, LtiResourceLink, Key): which course a platform's launches land in, the grade
columns (AGS line items) made for our assessments and labs, and the scores waiting to be sent or
sent, with every try logged. Fields and constraints only."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from lti_tool.models import LtiContext, LtiRegistration

from accounts.models import Course


class ToolRegistration(models.Model):
    """A platform registered by an instructor (or an admin) for a course: its launches enrol there."""

    registration = models.OneToOneField(LtiRegistration, on_delete=models.CASCADE, related_name="dlcv")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="lti_registrations")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.registration} → {self.course}"


class LineItem(models.Model):
    """One grade column on the platform for one assessment or lab in one LMS context: made once."""

    context = models.ForeignKey(LtiContext, on_delete=models.CASCADE, related_name="dlcv_line_items")
    assessment = models.ForeignKey("quizzes.Assessment", null=True, blank=True, on_delete=models.CASCADE)
    lab = models.ForeignKey("labs.Lab", null=True, blank=True, on_delete=models.CASCADE)
    url = models.URLField(_("line item URL"), max_length=500, blank=True)  # "" until the platform made it
    label = models.CharField(max_length=255)
    maximum = models.DecimalField(max_digits=9, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(assessment__isnull=True, lab__isnull=False)
                                   | Q(assessment__isnull=False, lab__isnull=True),
                                   name="line_item_one_target"),
            models.UniqueConstraint(fields=["context", "assessment"], condition=Q(assessment__isnull=False),
                                    name="one_line_item_per_assessment_and_context"),
            models.UniqueConstraint(fields=["context", "lab"], condition=Q(lab__isnull=False),
                                    name="one_line_item_per_lab_and_context"),
        ]

    def __str__(self) -> str:
        return self.label


class OutboxState(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class ScoreOutbox(models.Model):
    """The score a member has in a line item, to be sent (one row per line item and user). ``version``
    grows when the score changes; ``timestamp`` is the score's own time, sent with it, so a retry sends
    the very same score and the platform keeps the newest."""

    line_item = models.ForeignKey(LineItem, on_delete=models.CASCADE, related_name="scores")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lti_scores")
    sub = models.CharField(max_length=255)  # the platform's id of the user
    score_given = models.DecimalField(max_digits=9, decimal_places=2)
    score_maximum = models.DecimalField(max_digits=9, decimal_places=2)
    version = models.PositiveIntegerField(default=1)
    timestamp = models.DateTimeField()
    sent_version = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=16, choices=OutboxState.choices, default=OutboxState.PENDING)
    tries = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["line_item", "user"], name="one_outbox_row_per_line_item_and_user"),
        ]
        indexes = [models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"{self.user} in {self.line_item}: {self.score_given}/{self.score_maximum} v{self.version}"


class SendOutcome(models.TextChoices):
    SENT = "sent", _("Sent")
    RETRY = "retry", _("Will retry")
    FAILED = "failed", _("Failed")


class ScoreSendLog(models.Model):
    """Every try to send a score: what was sent, what the platform answered."""

    outbox = models.ForeignKey(ScoreOutbox, on_delete=models.CASCADE, related_name="log")
    version = models.PositiveIntegerField()
    score_given = models.DecimalField(max_digits=9, decimal_places=2)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=SendOutcome.choices)
    detail = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["outbox", "at"])]

    def __str__(self) -> str:
        return f"{self.outbox_id} v{self.version}: {self.outcome}"


class LaunchContinuation(models.Model):
    """A launch shown inside the LMS's iframe cannot log in there (no first-party cookie in a cross-site
    frame): it leaves this one-time pass instead, which the student's new window spends to log in and land.
    Only the token's SHA-256 is kept (the token itself is 256 random bits, shown once); short-lived, and
    deleted when spent."""

    token_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    target = models.CharField(max_length=500)  # a path on this site: where the launch lands
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user_id} → {self.target} until {self.expires_at:%H:%M:%S}"
