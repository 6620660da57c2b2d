"""Users, courses and enrolments. A user's role is per course: student, TA or instructor."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """Django's user, owned by the project so fields can be added without a migration rewrite."""

    display_name = models.CharField(_("display name"), max_length=150, blank=True)
    # The registrar's number: how a roster file names a student (``accounts.roster``). Unique when set.
    student_number = models.CharField(_("student number"), max_length=64, unique=True, null=True, blank=True)
    # When the invitation to set a password was last sent (None: never); re-imports do not send it again.
    invited_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        # The name shown to people: the display name, else first and last name, else the username.
        return self.display_name or " ".join(n for n in (self.first_name, self.last_name) if n) or self.username


class Course(models.Model):
    slug = models.SlugField(unique=True, max_length=64)
    title = models.CharField(max_length=200)
    term = models.CharField(max_length=50, blank=True)
    time_zone = models.CharField(max_length=64, default="Asia/Taipei")
    # The language of what the course sends (invitations); a page keeps the reader's language.
    language = models.CharField(max_length=16, choices=settings.LANGUAGES, default="zh-hant")
    # The optional join code (None: off); ``accounts.services.course_join_code_rotate`` makes one.
    join_code = models.CharField(max_length=16, unique=True, null=True, blank=True)
    regrade_window_days = models.PositiveSmallIntegerField(
        default=7, help_text="Students may ask for a regrade until this many days after an assessment's results "
                             "are released (quizzes.services.regrades).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "slug"]
        permissions = [("create_course", "May create courses (and becomes their instructor)")]

    def __str__(self) -> str:
        # The term once: a title that already ends with it (as the demo course's did) keeps it alone.
        term = f"({self.term})"
        if not self.term or self.title.endswith(term):
            return self.title
        return f"{self.title} {term}"


class Role(models.TextChoices):
    STUDENT = "student", _("Student")
    TA = "ta", _("Teaching assistant")
    INSTRUCTOR = "instructor", _("Instructor")


STAFF_ROLES = (Role.TA, Role.INSTRUCTOR)


class EnrollmentSource(models.TextChoices):
    """How a member came in. A roster (CSV now, the LMS's later) drops only the students it brought."""

    MANUAL = "manual", _("Added by staff")
    ROSTER = "roster", _("Roster import")
    JOIN_CODE = "join_code", _("Join code")
    LTI = "lti", _("LMS")


class Enrollment(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrollments")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STUDENT)
    section = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=16, choices=EnrollmentSource.choices, default=EnrollmentSource.MANUAL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="one_enrollment_per_user_and_course"),
        ]
        indexes = [models.Index(fields=["course", "role"])]

    def __str__(self) -> str:
        return f"{self.user} in {self.course} as {self.role}"


class DroppedEnrollment(models.Model):
    """A member a roster dropped. The enrolment row is gone (so every page and query hides the course
    from them); their attempts and submissions stay, and a later roster that lists them restores it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dropped_enrollments")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="dropped_enrollments")
    role = models.CharField(max_length=16, choices=Role.choices)
    section = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=16, choices=EnrollmentSource.choices)
    dropped_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="one_drop_per_user_and_course"),
        ]

    def __str__(self) -> str:
        return f"{self.user} dropped from {self.course}"


class TeachingSection(models.Model):
    """A TA limited to sections: they see only those sections' students. No rows: every section."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="teaching_sections")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="teaching_sections")
    section = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "user", "section"], name="one_teaching_section"),
        ]

    def __str__(self) -> str:
        return f"{self.user} teaches section {self.section} of {self.course}"
