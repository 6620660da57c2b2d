"""A course's grade categories (what counts and how much) and excused items. The rule that reads
them is ``grades.policy`` (pure); without a category the course uses its default (labs 40, exams 60)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Course


class GradeCategory(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="grade_categories")
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=100, help_text="In the course's language (zh-Hant).")
    translations = models.JSONField(default=dict, blank=True, help_text="The name in other languages: {lang: {name}}.")
    weight = models.DecimalField(max_digits=6, decimal_places=2, help_text="Normalized over the categories with items.")
    drop_lowest = models.PositiveSmallIntegerField(default=0)
    kinds = models.JSONField(default=list, blank=True, help_text='Item kinds it takes: "lab", "practice", "mock", "exam".')
    items = models.JSONField(default=list, blank=True,
                             help_text='Items it takes by name, before any kind: "lab:<slug>", "quiz:<slug>".')

    class Meta:
        ordering = ["course", "position"]
        constraints = [
            models.UniqueConstraint(fields=["course", "position"], name="grade_category_position_unique"),
            models.CheckConstraint(condition=Q(weight__gte=0), name="grade_category_weight_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.course.slug}: {self.name} ({self.weight})"


class Excusal(models.Model):
    """One student excused from one item: it is left out of their category."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    item = models.CharField(max_length=100, help_text='"lab:<slug>" or "quiz:<slug>".')
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["course", "user", "item"], name="one_excusal_per_item")]

    def __str__(self) -> str:
        return f"{self.user_id} excused from {self.item} in {self.course_id}"
