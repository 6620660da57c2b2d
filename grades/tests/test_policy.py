"""The grading policy (``grades.policy``) without a database: edge cases, and properties checked
against a direct computation (every subset of the right size: dropping the lowest keeps the best mean)."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from grades.policy import (
    DEFAULT_CATEGORIES,
    Category,
    Item,
    ItemState,
    assign,
    category_percent,
    item_state,
    student_total,
)

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
LABS = Category("labs", 40, 0, frozenset({"lab"}))
EXAMS = Category("exams", 60, 0, frozenset({"exam"}))


def scored(points: float) -> tuple[ItemState, float]:
    return ItemState.SCORED, points


def test_an_items_state_follows_excused_release_score_and_due_date() -> None:
    before, after = NOW + timedelta(days=1), NOW - timedelta(days=1)
    assert item_state(points=3, excused=True, due=after, now=NOW) is ItemState.EXCUSED
    assert item_state(points=None, excused=False, due=after, now=NOW, released=False) is ItemState.UNRELEASED
    assert item_state(points=3, excused=False, due=before, now=NOW) is ItemState.SCORED
    assert item_state(points=None, excused=False, due=after, now=NOW) is ItemState.MISSING
    assert item_state(points=None, excused=False, due=NOW, now=NOW) is ItemState.MISSING
    assert item_state(points=None, excused=False, due=before, now=NOW) is ItemState.PENDING
    assert item_state(points=None, excused=False, due=None, now=NOW) is ItemState.PENDING


def test_the_default_is_labs_40_and_exams_60_without_practice_or_mock() -> None:
    items = [Item("lab:a", "lab", 10), Item("quiz:p", "practice", 5), Item("quiz:m", "mock", 5),
             Item("quiz:e", "exam", 20)]
    assert assign(items, DEFAULT_CATEGORIES) == {"lab:a": "labs", "quiz:p": None, "quiz:m": None, "quiz:e": "exams"}
    total = student_total(items, DEFAULT_CATEGORIES, {"lab:a": scored(5), "quiz:p": scored(0), "quiz:e": scored(20)})
    assert math.isclose(total.percent, 0.4 * 0.5 + 0.6 * 1.0) and not total.normalized


def test_an_explicit_item_goes_before_the_kinds_and_practice_counts_once_included() -> None:
    bonus = Category("bonus", 10, 0, frozenset({"practice"}), frozenset({"quiz:e2"}))
    items = [Item("quiz:e1", "exam", 10), Item("quiz:e2", "exam", 10), Item("quiz:p", "practice", 4)]
    assert assign(items, [EXAMS, bonus]) == {"quiz:e1": "exams", "quiz:e2": "bonus", "quiz:p": "bonus"}


def test_an_empty_category_is_left_out_and_the_weights_normalized_over_the_rest() -> None:
    total = student_total([Item("lab:a", "lab", 4)], [LABS, EXAMS], {"lab:a": scored(3)})
    labs, exams = total.categories
    assert exams.percent is None and exams.share == 0 and labs.share == 1
    assert math.isclose(total.percent, 0.75) and total.normalized


def test_weights_not_adding_up_to_100_are_normalized() -> None:
    items = [Item("lab:a", "lab", 10), Item("quiz:e", "exam", 10)]
    cats = [Category("labs", 1, 0, frozenset({"lab"})), Category("exams", 3, 0, frozenset({"exam"}))]
    total = student_total(items, cats, {"lab:a": scored(10), "quiz:e": scored(0)})
    assert math.isclose(total.percent, 0.25) and total.normalized


def test_no_counted_item_no_total_and_zero_weights_no_total() -> None:
    assert student_total([], [LABS, EXAMS], {}).percent is None
    zero = Category("labs", 0, 0, frozenset({"lab"}))
    assert student_total([Item("lab:a", "lab", 1)], [zero], {"lab:a": scored(1)}).percent is None


def test_dropping_more_than_there_are_keeps_the_best_one() -> None:
    assert category_percent([("a", 0.2), ("b", 0.9), ("c", 0.5)], 10) == (0.9, ("b",), ("a", "c"))
    assert category_percent([], 2) == (None, (), ())
    assert category_percent([("a", 0.3)], 1) == (0.3, ("a",), ())


def test_missing_counts_zero_excused_and_pending_and_unreleased_do_not_count() -> None:
    items = [Item(f"lab:{k}", "lab", 10) for k in "abcde"]
    scores = {"lab:a": scored(10), "lab:b": (ItemState.MISSING, None), "lab:c": (ItemState.EXCUSED, 2.0),
              "lab:d": (ItemState.PENDING, None), "lab:e": (ItemState.UNRELEASED, None)}
    total = student_total(items, [LABS], scores)
    assert total.categories[0].counted == ("lab:a", "lab:b") and math.isclose(total.percent, 0.5)
    assert total.fractions == {"lab:a": 1.0, "lab:b": 0.0}


def test_a_missing_item_is_what_a_drop_lowest_drops_first() -> None:
    items = [Item(f"lab:{k}", "lab", 10) for k in "abc"]
    cat = Category("labs", 100, 1, frozenset({"lab"}))
    total = student_total(items, [cat], {"lab:a": scored(8), "lab:b": (ItemState.MISSING, None), "lab:c": scored(6)})
    assert total.categories[0].dropped == ("lab:b",) and math.isclose(total.percent, 0.7)


def test_an_item_without_a_known_maximum_is_left_out() -> None:
    total = student_total([Item("quiz:e", "exam", None), Item("quiz:f", "exam", 0)], [EXAMS],
                          {"quiz:e": (ItemState.MISSING, None), "quiz:f": (ItemState.MISSING, None)})
    assert total.percent is None


# --------------------------------------------------------------------------- properties

fractions_st = st.lists(st.floats(min_value=0, max_value=1, allow_nan=False), min_size=0, max_size=7)


@settings(max_examples=300, deadline=None)
@given(values=fractions_st, drop=st.integers(min_value=0, max_value=9))
def test_dropping_the_lowest_keeps_the_best_mean_of_any_subset_of_that_size(values: list[float], drop: int) -> None:
    keyed = [(f"k{i}", v) for i, v in enumerate(values)]
    percent, kept, dropped = category_percent(keyed, drop)
    if not values:
        assert percent is None
        return
    size = max(1, len(values) - drop)
    best = max(sum(c) / size for c in itertools.combinations(values, size))
    assert math.isclose(percent, best, abs_tol=1e-12)
    assert len(kept) == size and sorted(kept + dropped) == sorted(k for k, _v in keyed)
    assert 0 <= percent <= 1


item_st = st.tuples(st.sampled_from(["lab", "practice", "mock", "exam"]),
                    st.floats(min_value=0.5, max_value=100, allow_nan=False),
                    st.sampled_from(list(ItemState)),
                    st.floats(min_value=0, max_value=1, allow_nan=False))
#: Weights as a course stores them (two decimals): none, or at least 0.01.
weight_st = st.one_of(st.just(0.0), st.floats(min_value=0.01, max_value=100, allow_nan=False))
category_st = st.tuples(weight_st, st.integers(0, 3),
                        st.sets(st.sampled_from(["lab", "practice", "mock", "exam"])))


@settings(max_examples=300, deadline=None)
@given(raw_items=st.lists(item_st, max_size=10), raw_cats=st.lists(category_st, min_size=1, max_size=4))
def test_the_total_equals_a_direct_computation(raw_items: list, raw_cats: list) -> None:
    items = [Item(f"i{n}", kind, top) for n, (kind, top, _s, _f) in enumerate(raw_items)]
    scores = {f"i{n}": (state, share * top) for n, (_k, top, state, share) in enumerate(raw_items)}
    cats = [Category(f"c{n}", w, d, frozenset(kinds)) for n, (w, d, kinds) in enumerate(raw_cats)]
    total = student_total(items, cats, scores)

    # Directly: each counted item to the first category of its kind; mean after dropping; weighted mean.
    sums: dict[str, list[float]] = {}
    for kind, _top, state, share in raw_items:
        home = next((f"c{m}" for m, (_w, _d, kinds) in enumerate(raw_cats) if kind in kinds), None)
        if home is None or state not in (ItemState.SCORED, ItemState.MISSING):
            continue
        sums.setdefault(home, []).append(share if state is ItemState.SCORED else 0.0)
    parts = []
    for m, (weight, drop, _kinds) in enumerate(raw_cats):
        values = sorted(sums.get(f"c{m}", []))
        if values:
            kept = values[min(drop, len(values) - 1):]
            parts.append((weight, sum(kept) / len(kept)))
    weight_sum = sum(w for w, _p in parts)
    if weight_sum <= 0:
        assert total.percent is None
        return
    expected = sum(w * p for w, p in parts) / weight_sum
    assert total.percent is not None and math.isclose(total.percent, expected, rel_tol=1e-9, abs_tol=1e-9)
    assert -1e-12 <= total.percent <= 1 + 1e-12
    assert math.isclose(sum(c.share for c in total.categories), 1.0)


@settings(max_examples=100, deadline=None)
@given(raw_items=st.lists(item_st, min_size=1, max_size=8), factor=st.floats(min_value=0.01, max_value=50))
def test_scaling_every_weight_changes_no_total(raw_items: list, factor: float) -> None:
    items = [Item(f"i{n}", kind, top) for n, (kind, top, _s, _f) in enumerate(raw_items)]
    scores = {f"i{n}": (state, share * top) for n, (_k, top, state, share) in enumerate(raw_items)}
    cats = [Category("a", 40, 1, frozenset({"lab", "practice"})), Category("b", 60, 0, frozenset({"exam", "mock"}))]
    scaled = [Category(c.key, c.weight * factor, c.drop_lowest, c.kinds) for c in cats]
    one, two = student_total(items, cats, scores).percent, student_total(items, scaled, scores).percent
    assert (one is None) == (two is None)
    if one is not None:
        assert math.isclose(one, two, rel_tol=1e-9, abs_tol=1e-12)
