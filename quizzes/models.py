"""Question bank, assessments and attempts.

A ``Question`` is the stable identity of a bank file (its ``bank_id``); every distinct content of
that file is a ``QuestionVersion``. Attempts point at versions, so editing a question never changes
what a past attempt answered.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Course


class Topic(models.Model):
    slug = models.SlugField(unique=True, max_length=64)
    name_zh = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "slug"]

    def __str__(self) -> str:
        return self.slug


class QuestionType(models.TextChoices):
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")
    TRUEFALSE = "truefalse", _("True/false")
    NUMERIC = "numeric", _("Numeric")
    MATRIX = "matrix", _("Matrix")
    SYMBOLIC = "symbolic", _("Formula")
    TEXT = "text", _("Short text")
    ESSAY = "essay", _("Essay")
    PARAM = "param", _("Parameterized")


class Question(models.Model):
    bank_id = models.SlugField(unique=True, max_length=100)
    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="questions")
    type = models.CharField(max_length=16, choices=QuestionType.choices)
    current_version = models.ForeignKey(
        "QuestionVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source_path = models.CharField(max_length=300, blank=True)
    file_hash = models.CharField(
        max_length=64, blank=True,
        help_text="The content hash of its bank file as load_bank last read it (empty: never read from a file). "
                  "A current version that differs was edited in the browser since (quizzes/bank/drift.py).",
    )
    retired = models.BooleanField(default=False, help_text="No longer in the bank files; kept for past attempts.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["topic__position", "bank_id"]

    def __str__(self) -> str:
        return self.bank_id


class QuestionVersion(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64)
    source_text = models.TextField()
    title = models.CharField(max_length=300)
    prompt = models.TextField()
    explanation = models.TextField()
    hint = models.TextField(blank=True)
    spec = models.JSONField(default=dict, help_text="Type-specific data: choices, answer, tolerance, family…")
    points = models.DecimalField(max_digits=6, decimal_places=2, default=1)
    difficulty = models.PositiveSmallIntegerField(default=1)
    tags = models.JSONField(default=list)
    lang = models.CharField(max_length=10, default="zh-Hant")
    translations = models.JSONField(
        default=dict, blank=True,
        help_text="The text in other languages: {lang: {title, prompt, explanation, hint, choices…}} (bank ::: en).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["question", "number"]
        constraints = [
            models.UniqueConstraint(fields=["question", "number"], name="question_version_number_unique"),
            models.UniqueConstraint(fields=["question", "content_hash"], name="question_version_content_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.question.bank_id} v{self.number}"


class BankFileConflict(models.Model):
    """A bank file that changed while its question was also edited in the browser: load_bank changes
    nothing of the question until an instructor keeps one side (``quizzes.services.bank.bank_conflict_resolve``)."""

    question = models.OneToOneField(Question, on_delete=models.CASCADE, related_name="file_conflict")
    file_text = models.TextField(blank=True, help_text="The file's text as load_bank read it; empty: the file was removed.")
    file_hash = models.CharField(max_length=64, blank=True)
    found_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"conflict on {self.question_id}"


class AssessmentMode(models.TextChoices):
    PRACTICE = "practice", _("Practice")
    EXAM = "exam", _("Exam")
    MOCK = "mock", _("Mock exam")


#: The unpublished practice set that holds a course's study-plan review variants (the study app's):
#: no list of assessments shows it (``quizzes.selectors.in_syllabus_order``).
STUDY_REVIEW_SLUG = "study-review"


class Assessment(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="assessments")
    slug = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    mode = models.CharField(max_length=16, choices=AssessmentMode.choices, default=AssessmentMode.PRACTICE)
    published = models.BooleanField(default=False)
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    time_limit_minutes = models.PositiveIntegerField(null=True, blank=True)
    results_released_at = models.DateTimeField(null=True, blank=True)
    shuffle_questions = models.BooleanField(default=False)
    translations = models.JSONField(
        default=dict, blank=True, help_text="Title and description in other languages: {lang: {title, description}}.",
    )
    practice_reveal_after = models.PositiveSmallIntegerField(
        default=3,
        help_text="Practice: wrong checks of a fixed question before its solution is shown unasked "
                  "(the student may ask for it sooner).",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["course", "opens_at", "slug"]
        constraints = [
            models.UniqueConstraint(fields=["course", "slug"], name="assessment_slug_unique_in_course"),
            models.CheckConstraint(
                condition=Q(opens_at__isnull=True) | Q(closes_at__isnull=True) | Q(closes_at__gt=models.F("opens_at")),
                name="assessment_closes_after_it_opens",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.course.slug}/{self.slug}"


class AssessmentItem(models.Model):
    """One slot of an assessment: a fixed question, or a pool (a topic/tag) drawn from per student."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    question = models.ForeignKey(Question, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    pool_topic = models.ForeignKey(Topic, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    pool_tag = models.SlugField(max_length=64, blank=True)
    pool_count = models.PositiveSmallIntegerField(default=1)
    points = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["assessment", "position"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "position"], name="assessment_item_position_unique"),
            models.CheckConstraint(
                condition=Q(question__isnull=False, pool_topic__isnull=True)
                | Q(question__isnull=True, pool_topic__isnull=False),
                name="assessment_item_question_xor_pool",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.assessment} #{self.position}"


class Extension(models.Model):
    """Extra time for one student on one assessment (added to the time limit and to the window)."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="extensions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    extra_minutes = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["assessment", "user"], name="one_extension_per_student")]

    def __str__(self) -> str:
        return f"+{self.extra_minutes} min for {self.user_id} on {self.assessment_id}"


class AttemptStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    SUBMITTED = "submitted", _("Submitted")
    AUTO_SUBMITTED = "auto_submitted", _("Submitted at the deadline")


class Attempt(models.Model):
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="attempts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=AttemptStatus.choices, default=AttemptStatus.IN_PROGRESS)
    started_at = models.DateTimeField()
    deadline = models.DateTimeField(null=True, blank=True, help_text="Server-side; saves after it are refused.")
    submitted_at = models.DateTimeField(null=True, blank=True)
    points = models.DecimalField(
        max_digits=8, decimal_places=3, null=True, blank=True,
        help_text="Points earned: the sum of each item's score × its max_points, self-assessed essays left out "
                  "(null until submitted).",
    )
    max_points = models.DecimalField(
        max_digits=8, decimal_places=3, default=0,
        help_text="The most points the attempt can earn: its items' max_points (once submitted, self-assessed "
                  "essays of practice and mock exams are left out: quizzes.services.attempts.attempt_totals).",
    )

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "user", "number"], name="attempt_number_unique"),
            # A double click on "start" can never open two live attempts.
            models.UniqueConstraint(
                fields=["assessment", "user"],
                condition=Q(status="in_progress"),
                name="one_open_attempt_per_student",
            ),
        ]
        indexes = [models.Index(fields=["status", "deadline"])]

    def __str__(self) -> str:
        return f"{self.assessment} by {self.user_id} #{self.number}"


class AttemptItem(models.Model):
    """A question as one student sees it: the version and variant seed are fixed at creation.

    The student's answer lives on this row, so an autosave is one small UPDATE.
    """

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    question_version = models.ForeignKey(QuestionVersion, on_delete=models.PROTECT, related_name="+")
    seed = models.BigIntegerField(default=0)
    max_points = models.DecimalField(
        max_digits=6, decimal_places=2, default=1,
        help_text="What the item is worth: the slot's points, else its question version's.",
    )
    response = models.JSONField(null=True, blank=True)
    response_saved_at = models.DateTimeField(null=True, blank=True)
    save_count = models.PositiveIntegerField(default=0)
    graded_at = models.DateTimeField(null=True, blank=True)
    score = models.DecimalField(
        max_digits=6, decimal_places=4, null=True, blank=True,
        help_text="The grade, a fraction 0–1 (points earned: score × max_points); null until graded.",
    )
    feedback = models.JSONField(null=True, blank=True)
    needs_manual_grading = models.BooleanField(default=False)
    self_assessment = models.JSONField(null=True, blank=True)
    checks = models.PositiveIntegerField(default=0, help_text="Graded checks in practice (format errors excluded).")
    solution_requested_at = models.DateTimeField(
        null=True, blank=True, help_text="Practice: when the student asked to see the solution.")
    hint_used = models.BooleanField(
        default=False, db_default=False,
        help_text="The student opened the question's hint before the answer was graded (quiz.js; never without JS).")
    rubric_adjustment = models.DecimalField(
        max_digits=6, decimal_places=2, default=0, db_default=0,
        help_text="Rubric grading: the grader's free adjustment in points, added to the applied rubric items.")

    class Meta:
        ordering = ["attempt", "position"]
        constraints = [models.UniqueConstraint(fields=["attempt", "position"], name="attempt_item_position_unique")]

    def __str__(self) -> str:
        return f"{self.attempt_id}#{self.position}"


class PracticeRecord(models.Model):
    """Best and latest practice score per student and question: the data behind "where am I weak"."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")
    best_score = models.DecimalField(max_digits=6, decimal_places=4)
    latest_score = models.DecimalField(max_digits=6, decimal_places=4)
    tries = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "question"], name="one_practice_record")]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.question_id}: best {self.best_score}"


class ScoreChangeKind(models.TextChoices):
    MANUAL = "manual", _("Graded by hand")
    RUBRIC = "rubric", _("Rubric item changed")
    REGRADE_REQUEST = "regrade_request", _("Regrade request")
    CLASS_REGRADE = "class_regrade", _("Question re-graded for the class")


class ScoreChange(models.Model):
    """The audit log of scores set by people: every change of an attempt item's score by a grader, a
    rubric edit, a regrade request or a class-wide regrade — who, when, old → new, why. Written only by
    ``quizzes.services.attempts.attempt_item_score_set``."""

    item = models.ForeignKey(AttemptItem, on_delete=models.CASCADE, related_name="score_changes")
    kind = models.CharField(max_length=20, choices=ScoreChangeKind.choices)
    old_score = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True,
                                    help_text="A fraction of the item's max_points; empty: it had no score yet.")
    new_score = models.DecimalField(max_digits=6, decimal_places=4)
    reason = models.TextField(blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["item", "created_at", "id"]
        indexes = [models.Index(fields=["item", "created_at"], name="score_change_item_time")]

    def __str__(self) -> str:
        return f"{self.item_id}: {self.old_score} → {self.new_score} ({self.kind})"


class RegradeRequestStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered")


class RegradeRequest(models.Model):
    """A student's request to look at the grade of one released item again, and staff's answer
    (``quizzes.services.regrades``). One open request per item; a score changed by the answer is a
    ``ScoreChange`` (kind ``regrade_request``), linked here."""

    item = models.ForeignKey(AttemptItem, on_delete=models.CASCADE, related_name="regrade_requests")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    status = models.CharField(max_length=16, choices=RegradeRequestStatus.choices, default=RegradeRequestStatus.OPEN)
    created_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    answer = models.TextField(blank=True)
    score_change = models.ForeignKey(ScoreChange, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["item"], condition=Q(status="open"), name="one_open_regrade_request_per_item"),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="regrade_request_status_time")]

    def __str__(self) -> str:
        return f"regrade request {self.pk} on {self.item_id} ({self.status})"


class RegradeRequestEventKind(models.TextChoices):
    OPENED = "opened", _("Asked")
    ANSWERED = "answered", _("Answered")


class RegradeRequestEvent(models.Model):
    """The history of a regrade request: asked (the reason), answered (the message, old → new)."""

    request = models.ForeignKey(RegradeRequest, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=RegradeRequestEventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    message = models.TextField(blank=True)
    old_score = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    new_score = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["request", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.request_id}: {self.kind}"


class RegradeJobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")


class RegradeJob(models.Model):
    """A class-wide regrade of one question of an assessment after the question was fixed: the
    attempts' items that used ``from_versions`` graded again against ``to_version`` by the task
    ``quizzes.class_regrade`` (``quizzes.services.regrades``). Progress is counted here."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="regrade_jobs")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    from_versions = models.JSONField(default=list, help_text="The ids of the QuestionVersions graded again.")
    to_version = models.ForeignKey(QuestionVersion, on_delete=models.PROTECT, related_name="+")
    allow_lower = models.BooleanField(default=False, help_text="May lower released scores (else max(old, new)).")
    status = models.CharField(max_length=16, choices=RegradeJobStatus.choices, default=RegradeJobStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    raised = models.PositiveIntegerField(default=0)
    lowered = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    runs = models.PositiveIntegerField(default=0, help_text="Task runs that worked on it (a re-delivery adds one).")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last progress of a task run.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A double click on "apply" cannot start two jobs for the same question.
            models.UniqueConstraint(fields=["assessment", "question"], condition=Q(status__in=["queued", "running"]),
                                    name="one_live_regrade_job_per_question"),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="regrade_job_status_beat")]

    def __str__(self) -> str:
        return f"regrade job {self.pk} of {self.question_id} in {self.assessment_id} ({self.status})"


class RegradeJobItem(models.Model):
    """One attempt item of a job; ``applied_at`` is the processed marker written in the same
    transaction as the score, so a run repeated after a worker's kill never applies it twice."""

    job = models.ForeignKey(RegradeJob, on_delete=models.CASCADE, related_name="entries")
    item = models.ForeignKey(AttemptItem, on_delete=models.CASCADE, related_name="regrade_job_entries")
    old_score = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    graded_score = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True,
                                       help_text="What the new version gives.")
    new_score = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True,
                                    help_text="What was kept: graded_score, or old_score when it may not be lowered.")
    applied_at = models.DateTimeField(null=True, blank=True)
    score_change = models.ForeignKey(ScoreChange, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["job", "id"]
        constraints = [models.UniqueConstraint(fields=["job", "item"], name="regrade_job_item_unique")]

    def __str__(self) -> str:
        return f"{self.job_id}/{self.item_id}"
class RubricItem(models.Model):
    """One line of a question's grading rubric: points given (or, negative, taken) when a grader applies
    it to an answer (``quizzes.services.rubric``). Seeded from the bank question's key points."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="rubric_items")
    title = models.CharField(max_length=300)
    translations = models.JSONField(default=dict, blank=True, help_text="{lang: {title}} (English: {'en': {…}}).")
    points = models.DecimalField(max_digits=6, decimal_places=2, help_text="Points; negative: a deduction.")
    position = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["question", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["question", "position"], name="rubric_item_position_unique")]

    def __str__(self) -> str:
        return f"{self.question_id}#{self.position} ({self.points})"


class RubricApplication(models.Model):
    """A rubric item applied to one answer (an attempt item)."""

    item = models.ForeignKey(AttemptItem, on_delete=models.CASCADE, related_name="rubric_applications")
    rubric_item = models.ForeignKey(RubricItem, on_delete=models.CASCADE, related_name="applications")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "rubric_item"], name="rubric_applied_once")]

    def __str__(self) -> str:
        return f"{self.rubric_item_id} on {self.item_id}"


class GradingPreference(models.Model):
    """A grader's own settings of the grading pages: anonymous mode (names hidden until a question is done)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    anonymous = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.user_id}: anonymous={self.anonymous}"
