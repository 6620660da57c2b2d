"""Users, courses and enrolments. A user's role is per course: student, TA or instructor."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """Django's user, owned by the project so fields can be added without a migration rewrite."""

    display_name = models.CharField(_("display name"), max_length=150, blank=True)

    def __str__(self) -> str:
        return self.display_name or self.username


class Course(models.Model):
    slug = models.SlugField(unique=True, max_length=64)
    title = models.CharField(max_length=200)
    term = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "slug"]

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


class Enrollment(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrollments")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STUDENT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="one_enrollment_per_user_and_course"),
        ]
        indexes = [models.Index(fields=["course", "role"])]

    def __str__(self) -> str:
        return f"{self.user} in {self.course} as {self.role}"
