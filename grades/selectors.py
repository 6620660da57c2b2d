"""The course's grades: every student's items, categories and total, read once for every page.

:func:`course_grades` is the one function behind My grades, the gradebook page and its CSVs (today's,
Canvas's, Moodle's): the points come from ``labs.selectors.course_gradebook`` (labs best per part;
assessments' best *visible* points, which reads ``quizzes.selectors``), the course's categories and
excusals from this app, and the totals from the pure rule ``grades.policy``. A fixed number of
queries whatever the class size (asserted by ``grades/tests/test_pages.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from accounts.models import Course, Enrollment, Role, User
from dlcv_site.i18n import localized
from grades import policy
from grades.models import Excusal, GradeCategory
from grades.policy import ItemState
from labs.models import Lab
from labs.policy import LabPolicy
from labs.selectors import GradebookColumn, course_gradebook
from quizzes.models import Assessment, AssessmentMode


@dataclass(frozen=True)
class GradeItem:
    """A column: a lab or an assessment, as the policy sees it."""

    key: str  # "lab:<slug>" or "quiz:<slug>"
    kind: str  # one of grades.policy.KINDS
    column: GradebookColumn
    due: datetime | None  # when it closes for good (a lab's last late day); None: never
    released: bool  # False: an exam whose results are not out yet
    category: str | None  # the key of its category; None: counts nowhere
    obj: Lab | Assessment

    @property
    def counts(self) -> bool:
        return self.category is not None and self.column.published


@dataclass(frozen=True)
class CategoryView:
    key: str
    name: str
    name_lang: str
    weight: Decimal
    drop_lowest: int
    kinds: tuple[str, ...]
    items: tuple[str, ...]


@dataclass(frozen=True)
class GradeCell:
    points: Decimal | None  # what the student can see (None: nothing)
    state: ItemState
    dropped: bool = False  # dropped as one of its category's lowest


@dataclass(frozen=True)
class StudentGrades:
    student: User
    section: str
    cells: list[GradeCell]  # one per item
    total: policy.Total

    @property
    def percent(self) -> float | None:
        return self.total.percent


@dataclass(frozen=True)
class CourseGrades:
    items: list[GradeItem]
    categories: list[CategoryView]
    is_default: bool  # the course has set no categories: labs 40, exams 60
    rows: list[StudentGrades]
    labs: list[Lab]

    @property
    def weights_total(self) -> Decimal:
        return sum((c.weight for c in self.categories), Decimal(0))

    @property
    def weights_add_up(self) -> bool:
        return self.weights_total == 100


def item_key(kind: str, slug: str) -> str:
    """``lab:<slug>`` or ``quiz:<slug>``: how a category and an excusal name an item."""
    return f"{kind}:{slug}"


def _kind(obj: Lab | Assessment) -> str:
    return "lab" if isinstance(obj, Lab) else str(obj.mode)


def _due(obj: Lab | Assessment) -> datetime | None:
    return LabPolicy.of(obj).closes_at if isinstance(obj, Lab) else obj.closes_at


def _released(obj: Lab | Assessment, now: datetime) -> bool:
    if isinstance(obj, Lab) or obj.mode != AssessmentMode.EXAM:
        return True
    return obj.results_released_at is not None and obj.results_released_at <= now


def _default_name(key: str) -> str:
    from django.utils.translation import gettext

    return gettext("Labs") if key == "labs" else gettext("Exams")


def course_categories(*, course: Course) -> tuple[list[CategoryView], bool]:
    """The course's categories in order, in the request's language (one query), and whether they are
    the default (labs 40, exams 60: the course set none)."""
    rows = list(GradeCategory.objects.filter(course=course).order_by("position"))
    if not rows:
        return [CategoryView(c.key, _default_name(c.key), "", Decimal(int(c.weight)), c.drop_lowest,
                             tuple(sorted(c.kinds)), ()) for c in policy.DEFAULT_CATEGORIES], True
    views = []
    for row in rows:
        name = localized(row.name, row.translations, "name")
        views.append(CategoryView(f"c{row.pk}", name.text, name.lang, row.weight, row.drop_lowest,
                                  tuple(row.kinds), tuple(row.items)))
    return views, False


def course_grades(*, course: Course, now: datetime | None = None, sections: frozenset[str] | None = None,
                  user: User | None = None) -> CourseGrades:
    """Every student of ``sections`` (None: all), or ``user`` alone (My grades): each item's points and
    state, each category and the total — computed by ``grades.policy.student_total``, the one rule.
    Seven queries whatever the class size (eight for one student: the columns' maximums are the course's).
    An unpublished item counts nowhere and is never missing."""
    now = now or timezone.now()
    book = course_gradebook(course=course, now=now, sections=sections, user=user)
    categories, is_default = course_categories(course=course)
    rules = [policy.Category(c.key, float(c.weight), c.drop_lowest, frozenset(c.kinds), frozenset(c.items))
             for c in categories]
    objects: list[Lab | Assessment] = [*book.labs, *book.assessments]
    policy_items = [policy.Item(item_key(col.kind, col.slug), _kind(obj),
                                float(col.max_points) if col.max_points is not None else None)
                    for col, obj in zip(book.columns, objects, strict=True)]
    placed = policy.assign(policy_items, rules)
    items = [
        GradeItem(pi.key, pi.kind, col, _due(obj) if col.published else None, _released(obj, now),
                  placed[pi.key] if col.published else None, obj)
        for pi, col, obj in zip(policy_items, book.columns, objects, strict=True)
    ]
    counted_items = [pi for pi, item in zip(policy_items, items, strict=True) if item.counts]
    excused = set(Excusal.objects.filter(course=course, **({"user": user} if user is not None else {}))
                  .values_list("user_id", "item"))
    rows = []
    for row in book.rows:
        student_id = row.student.pk
        states: dict[str, tuple[ItemState, float | None]] = {}
        cells_state = []
        for item, points in zip(items, row.points, strict=True):
            value = None if points is None else float(points)
            state = policy.item_state(points=value, excused=(student_id, item.key) in excused, due=item.due,
                                      now=now, released=item.released)
            states[item.key] = (state, value)
            cells_state.append((item.key, points, state))
        total = policy.student_total(counted_items, rules, states, placed)
        dropped = {key for result in total.categories for key in result.dropped}
        cells = [GradeCell(points if state is not ItemState.UNRELEASED else None, state, key in dropped)
                 for key, points, state in cells_state]
        rows.append(StudentGrades(row.student, row.section, cells, total))
    return CourseGrades(items, categories, is_default, rows, book.labs)


def course_sections(*, course: Course) -> list[str]:
    """The sections the course's students are in, sorted (one query); "" (no section) left out."""
    return sorted(s for s in Enrollment.objects.filter(course=course, role=Role.STUDENT)
                  .values_list("section", flat=True).distinct() if s)

