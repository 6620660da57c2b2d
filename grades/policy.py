"""The course's grading policy as one pure rule: categories with weights, drop-lowest-N, the total.

Framework-free (no Django, no database; ``grades/tests/test_policy.py`` checks it without either).
``grades.selectors.course_grades`` is the one caller: it reads the points and the course's
categories, and every page and CSV (My grades, the gradebook, the LMS exports) shows what this
module computed.

The rule:

* An item (a lab or an assessment) has a *state*: ``scored`` (its points count), ``missing`` (past
  its due date with nothing: 0), ``excused`` (left out), ``pending`` (not yet due, or an exam whose
  results are not released: left out) — :func:`item_state`.
* An item belongs to the first category that names it explicitly (``items``), else to the first
  whose ``kinds`` hold its kind (``lab``, ``practice``, ``mock``, ``exam``); else it counts nowhere
  (practice, unless an instructor puts it in a category).
* A category's percent is the mean of its counted items' fractions (points / max points: every item
  weighs the same in its category) after dropping its ``drop_lowest`` lowest fractions — never all of
  them: at least one item stays. A category with no counted item has no percent.
* The total is the weighted mean of the categories that have a percent, the weights normalized over
  those categories (``normalized`` says the weights did not add up to 100 among them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

#: The kinds an item can be, in the order the category page lists them.
KINDS: tuple[str, ...] = ("lab", "practice", "mock", "exam")


class ItemState(Enum):
    SCORED = "scored"
    MISSING = "missing"  # past the due date without a score: counts as 0
    EXCUSED = "excused"  # left out of its category
    PENDING = "pending"  # not yet due or not graded yet: left out
    UNRELEASED = "unreleased"  # an exam whose results are not released yet: left out (worded apart)

    @property
    def counted(self) -> bool:
        return self in (ItemState.SCORED, ItemState.MISSING)


def item_state(*, points: float | None, excused: bool, due: datetime | None, now: datetime,
               released: bool = True) -> ItemState:
    """An item's state for one student: ``points`` what they can see (None: nothing), ``due`` when it
    closes for good (a lab's last late day, an assessment's closing time; None: never), ``released``
    False for an exam whose results are not out (its points are then not visible either)."""
    if excused:
        return ItemState.EXCUSED
    if not released:
        return ItemState.UNRELEASED
    if points is not None:
        return ItemState.SCORED
    if due is not None and due <= now:
        return ItemState.MISSING
    return ItemState.PENDING


@dataclass(frozen=True)
class Item:
    key: str  # "lab:<slug>" or "quiz:<slug>"
    kind: str  # one of KINDS
    max_points: float | None  # None or 0: not known yet (nobody's score is visible): left out


@dataclass(frozen=True)
class Category:
    key: str
    weight: float  # any non-negative number; normalized over the categories that have items
    drop_lowest: int = 0
    kinds: frozenset[str] = frozenset()
    items: frozenset[str] = frozenset()  # explicit item keys (before the kinds)


#: Labs 40 %, exams 60 % — when a course has set no categories.
DEFAULT_CATEGORIES: tuple[Category, ...] = (
    Category("labs", 40.0, 0, frozenset({"lab"})),
    Category("exams", 60.0, 0, frozenset({"exam"})),
)


def assign(items: Iterable[Item], categories: Sequence[Category]) -> dict[str, str | None]:
    """Item key → the key of its category (None: counts nowhere)."""
    placed: dict[str, str | None] = {}
    for item in items:
        home = next((c.key for c in categories if item.key in c.items), None)
        if home is None:
            home = next((c.key for c in categories if item.kind in c.kinds), None)
        placed[item.key] = home
    return placed


@dataclass(frozen=True)
class CategoryResult:
    key: str
    weight: float
    percent: float | None  # 0–1; None: no counted item
    counted: tuple[str, ...]  # item keys whose fractions make the percent
    dropped: tuple[str, ...]  # item keys dropped as the lowest
    share: float = 0.0  # the category's weight after normalizing (0–1; 0 without a percent)


@dataclass(frozen=True)
class Total:
    percent: float | None  # 0–1; None: nothing counted yet
    categories: tuple[CategoryResult, ...]
    normalized: bool  # the weights of the categories with a percent did not add up to 100
    fractions: Mapping[str, float] = field(default_factory=dict)  # item key → its counted fraction


_PENDING: tuple[ItemState, float | None] = (ItemState.PENDING, None)


def _fraction(points: float | None, max_points: float) -> float:
    return max(0.0, (points or 0.0) / max_points)


def category_percent(fractions: Sequence[tuple[str, float]], drop_lowest: int
                     ) -> tuple[float | None, tuple[str, ...], tuple[str, ...]]:
    """The mean of ``fractions`` (item key, fraction) after dropping the ``drop_lowest`` lowest (ties:
    the earlier item is dropped first), keeping at least one; (percent, kept keys, dropped keys)."""
    if not fractions:
        return None, (), ()
    drop = max(0, min(drop_lowest, len(fractions) - 1))
    order = sorted(range(len(fractions)), key=lambda i: (fractions[i][1], i))
    dropped_at = set(order[:drop])
    kept = [fractions[i] for i in range(len(fractions)) if i not in dropped_at]
    percent = sum(value for _key, value in kept) / len(kept)
    return percent, tuple(key for key, _v in kept), tuple(fractions[i][0] for i in sorted(dropped_at))


def student_total(items: Sequence[Item], categories: Sequence[Category],
                  scores: Mapping[str, tuple[ItemState, float | None]],
                  placed: Mapping[str, str | None] | None = None) -> Total:
    """One student's categories and total. ``scores``: item key → (state, points); an item absent from
    it is pending. Items whose maximum is unknown (None or 0) are left out. ``placed``: ``assign(items,
    categories)`` when the caller has it already (the same for every student of a course)."""
    if placed is None:
        placed = assign(items, categories)
    per_category: dict[str, list[tuple[str, float]]] = {c.key: [] for c in categories}
    fractions: dict[str, float] = {}
    for item in items:  # (the gradebook runs this 8,000 times a page: no calls per item)
        key, top = item.key, item.max_points
        home = placed[key]
        if home is None or not top:
            continue
        state, points = scores.get(key, _PENDING)
        if state is ItemState.SCORED:
            fraction = _fraction(points, top)
        elif state is ItemState.MISSING:
            fraction = 0.0
        else:
            continue
        per_category[home].append((key, fraction))
        fractions[key] = fraction
    results = []
    for category in categories:
        percent, kept, dropped = category_percent(per_category[category.key], category.drop_lowest)
        results.append(CategoryResult(category.key, category.weight, percent, kept, dropped))
    weight_sum = sum(r.weight for r in results if r.percent is not None)
    if weight_sum <= 0:
        return Total(None, tuple(results), False, fractions)
    shared = tuple(
        CategoryResult(r.key, r.weight, r.percent, r.counted, r.dropped,
                       r.weight / weight_sum if r.percent is not None else 0.0)
        for r in results
    )
    total = sum(r.share * r.percent for r in shared if r.percent is not None)
    return Total(total, shared, abs(weight_sum - 100.0) > 1e-9, fractions)
