"""Writes of the grades app: a course's categories (replaced as a whole, as the page edits them) and
excusals. Refusals raise ``GradesInvalid`` (an ``InvalidInput``) with a translated message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Course, Enrollment, Role, User
from dlcv_site.errors import InvalidInput
from grades.models import Excusal, GradeCategory
from grades.policy import KINDS

MAX_WEIGHT = Decimal(1000)
MAX_DROP = 50


class GradesInvalid(InvalidInput):
    code = "grades_invalid"


@dataclass(frozen=True)
class CategorySpec:
    name: str
    name_en: str
    weight: Decimal
    drop_lowest: int
    kinds: tuple[str, ...]
    items: tuple[str, ...]


def _check(specs: Sequence[CategorySpec], item_keys: set[str]) -> None:
    errors: dict[str, str] = {}
    claimed: dict[str, int] = {}
    for n, spec in enumerate(specs, start=1):
        if not spec.name.strip():
            errors[f"{n}.name"] = _("Category %(n)s needs a name.") % {"n": n}
        if not Decimal(0) <= spec.weight <= MAX_WEIGHT:
            errors[f"{n}.weight"] = _("Category %(n)s: the weight must be between 0 and 1000.") % {"n": n}
        if not 0 <= spec.drop_lowest <= MAX_DROP:
            errors[f"{n}.drop_lowest"] = _("Category %(n)s: drop between 0 and 50 items.") % {"n": n}
        if set(spec.kinds) - set(KINDS):
            errors[f"{n}.kinds"] = _("Category %(n)s: unknown kind of item.") % {"n": n}
        for key in spec.items:
            if key not in item_keys:
                errors[f"{n}.items"] = _("Category %(n)s names an item the course does not have.") % {"n": n}
            elif key in claimed:
                errors[f"{n}.items"] = _("An item may be named by one category only (categories %(a)s and %(b)s).") % {
                    "a": claimed[key], "b": n}
            claimed.setdefault(key, n)
    if errors:
        raise GradesInvalid(" ".join(dict.fromkeys(errors.values())), errors)


@transaction.atomic
def grade_categories_set(*, course: Course, categories: Sequence[CategorySpec], item_keys: set[str]) -> None:
    """The course's categories become ``categories``, in that order (none: the default, labs 40 and
    exams 60). ``item_keys``: the course's items ("lab:<slug>", "quiz:<slug>") an explicit list may name."""
    _check(categories, item_keys)
    GradeCategory.objects.select_for_update().filter(course=course).delete()
    GradeCategory.objects.bulk_create([
        GradeCategory(course=course, position=n, name=spec.name.strip(),
                      translations={"en": {"name": spec.name_en.strip()}} if spec.name_en.strip() else {},
                      weight=spec.weight, drop_lowest=spec.drop_lowest, kinds=list(spec.kinds),
                      items=list(spec.items))
        for n, spec in enumerate(categories, start=1)
    ])


@transaction.atomic
def excusal_set(*, course: Course, student_id: int, item: str, excused: bool, by: User, item_keys: set[str]) -> None:
    """Excuse a student of the course from an item (or take the excusal back). Idempotent."""
    if item not in item_keys:
        raise GradesInvalid(_("The course has no such item."), {"item": _("The course has no such item.")})
    if not Enrollment.objects.filter(course=course, user_id=student_id, role=Role.STUDENT).exists():
        raise GradesInvalid(_("No such student in this course."), {"student": _("No such student in this course.")})
    if excused:
        Excusal.objects.get_or_create(course=course, user_id=student_id, item=item, defaults={"created_by": by})
    else:
        Excusal.objects.filter(course=course, user_id=student_id, item=item).delete()
