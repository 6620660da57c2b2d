"""Item analysis of a quiz or exam: how hard each question was, whether it told stronger students
from weaker ones, which wrong options and misconceptions drew students, whether a parameterized
question's variants were equally hard, and how reliable the whole test was.

Pure: a response matrix and each item's metadata in, frozen dataclasses out (no Django, no
database). The definitions follow Moodle's quiz statistics ("Quiz statistics calculations"):

* an item's *facility* is its mean score as a fraction of its maximum (scores here are already
  fractions 0–1), its *SD* the sample standard deviation (n − 1) of that fraction;
* the *discrimination index* D is the mean score of the upper 27 % of the item's takers, ranked by
  their total, minus that of the lower 27 % (k = max(1, round(0.27 n)) each; ties keep attempt order);
* the *corrected item–total correlation* is Pearson's r between the item's points and the rest of the
  test (the attempt's points minus the item's), Moodle's "discrimination index" column;
* the test's *coefficient of internal consistency* is Cronbach's alpha
  k/(k − 1) · (1 − Σ var(item points) / var(total points)) (sample variances) over the attempts that
  were given every item; it is KR-20 when every item is scored right/wrong only. The *standard error
  of measurement* is SD(total) · √(1 − alpha) (Moodle's error ratio times the SD).

Totals are fractions of the points an attempt could earn, so attempts that drew different pool
questions compare. Flags are codes; the apps word them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "FLAG_DISTRACTOR_TOP", "FLAG_NEGATIVE_DISCRIMINATION", "FLAG_TOO_EASY", "FLAG_TOO_HARD", "FLAG_UNFAIR_VARIANTS",
    "AssessmentStats", "GroupStat", "HistogramBin", "ItemColumn", "ItemStats", "MisconceptionStat", "OptionStat",
    "Thresholds", "analyse", "group_size",
]

FLAG_TOO_EASY = "too_easy"
FLAG_TOO_HARD = "too_hard"
FLAG_NEGATIVE_DISCRIMINATION = "negative_discrimination"
FLAG_DISTRACTOR_TOP = "distractor_chosen_by_top_group"
FLAG_UNFAIR_VARIANTS = "unfair_variants"

GROUP_FRACTION = 0.27


@dataclass(frozen=True)
class Thresholds:
    """When an item is flagged (fractions, not percents)."""

    too_easy: float = 0.90  # facility at or above
    too_hard: float = 0.20  # facility at or below
    variant_spread: float = 0.10  # variant groups' facilities differ by more than this (10 points)
    min_group: int = 5  # a variant group counts for the spread from this many takers on
    #: A wrong option is flagged when the upper group picks it more often than the lower group and
    #: at least this share of the upper group does (one or two strong students are noise).
    distractor_top_share: float = 0.10


@dataclass(frozen=True)
class ItemColumn:
    """One item of the analysis and, per attempt (the matrix's rows), what is known of its answer.

    ``options``: a choice item's options in bank order, True for a correct one (empty otherwise);
    ``chosen``: per attempt, the option indices picked (None: not given the item or no answer);
    ``misconceptions``: per attempt, the misconception tags its grading named;
    ``variant_groups``: per attempt, a parameterized item's variant group (None: not parameterized).
    Per-attempt sequences are empty or as long as the matrix has rows.
    """

    key: str
    max_points: float = 1.0
    options: tuple[bool, ...] = ()
    chosen: Sequence[tuple[int, ...] | None] = ()
    misconceptions: Sequence[tuple[str, ...]] = ()
    variant_groups: Sequence[str | None] = ()


@dataclass(frozen=True)
class OptionStat:
    index: int
    correct: bool
    count: int
    frequency: float  # share of the item's takers who picked it
    mean_total: float | None  # mean total (fraction) of those who picked it
    upper_share: float  # share of the upper group who picked it
    lower_share: float
    drew_top_group: bool = False  # a wrong option the upper group picked more than the lower one


@dataclass(frozen=True)
class MisconceptionStat:
    tag: str
    count: int
    frequency: float  # share of the item's takers whose answer showed it


@dataclass(frozen=True)
class GroupStat:
    group: str
    n: int
    facility: float


@dataclass(frozen=True)
class ItemStats:
    key: str
    n: int  # attempts given the item
    facility: float | None
    sd: float | None
    discrimination: float | None  # upper 27 % minus lower 27 %
    item_rest_r: float | None  # corrected item–total correlation
    unanswered: int = 0  # choice items: takers who picked nothing
    options: tuple[OptionStat, ...] = ()
    misconceptions: tuple[MisconceptionStat, ...] = ()
    variant_groups: tuple[GroupStat, ...] = ()
    variant_spread: float | None = None  # max − min facility over groups with enough takers
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class HistogramBin:
    low: float  # fraction of the maximum
    high: float
    count: int


@dataclass(frozen=True)
class AssessmentStats:
    n: int
    mean: float | None  # totals as fractions of the attempt's maximum
    median: float | None
    sd: float | None
    histogram: tuple[HistogramBin, ...]
    alpha: float | None  # Cronbach's alpha (KR-20 when every item is right/wrong)
    alpha_n: int  # attempts alpha was computed over (those given every item)
    dichotomous: bool  # every score 0 or 1: alpha is KR-20
    sem: float | None  # standard error of measurement, as a fraction of the maximum
    items: tuple[ItemStats, ...] = field(default_factory=tuple)


def group_size(n: int) -> int:
    """The size of the upper and of the lower group among n takers."""
    return max(1, int(round(GROUP_FRACTION * n))) if n else 0


def _sample_sd(values: np.ndarray) -> float | None:
    return float(np.std(values, ddof=1)) if values.size >= 2 else None


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    if x.size < 2:
        return None
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy = float(dx @ dx), float(dy @ dy)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None  # a constant item or rest: no correlation
    return float(dx @ dy) / float(np.sqrt(sxx * syy))


def _cronbach_alpha(points: np.ndarray) -> float | None:
    n, k = points.shape
    if n < 2 or k < 2:
        return None
    total_var = float(np.var(points.sum(axis=1), ddof=1))
    if total_var <= 0:
        return None
    return k / (k - 1) * (1.0 - float(np.var(points, axis=0, ddof=1).sum()) / total_var)


def _item(column: ItemColumn, scores: np.ndarray, totals: np.ndarray, total_points: np.ndarray,
          thresholds: Thresholds) -> ItemStats:
    taken = ~np.isnan(scores)
    rows = np.flatnonzero(taken)
    n = int(rows.size)
    if n == 0:
        return ItemStats(key=column.key, n=0, facility=None, sd=None, discrimination=None, item_rest_r=None)
    item_scores = scores[rows]
    facility = float(item_scores.mean())
    item_points = item_scores * column.max_points
    rest_r = _pearson(item_points, total_points[rows] - item_points)
    k = group_size(n)
    order = np.argsort(totals[rows], kind="stable")
    lower, upper = rows[order[:k]], rows[order[n - k:]]
    discrimination = float(scores[upper].mean() - scores[lower].mean()) if n >= 2 else None
    flags: list[str] = []
    if facility >= thresholds.too_easy:
        flags.append(FLAG_TOO_EASY)
    elif facility <= thresholds.too_hard:
        flags.append(FLAG_TOO_HARD)
    if discrimination is not None and discrimination < 0:
        flags.append(FLAG_NEGATIVE_DISCRIMINATION)

    options: list[OptionStat] = []
    unanswered = 0
    if column.options and column.chosen:
        picked = np.zeros((scores.size, len(column.options)), dtype=bool)
        answered = np.zeros(scores.size, dtype=bool)
        for row in rows:
            chosen = column.chosen[row]
            if chosen:
                answered[row] = True
                picked[row, [i for i in chosen if 0 <= i < len(column.options)]] = True
        unanswered = int(n - answered[rows].sum())
        for index, correct in enumerate(column.options):
            choosers = rows[picked[rows, index]]
            count = int(choosers.size)
            upper_share = float(picked[upper, index].mean())
            lower_share = float(picked[lower, index].mean())
            drew_top = (not correct and n >= 2 and upper_share > lower_share
                        and upper_share >= thresholds.distractor_top_share)
            options.append(OptionStat(
                index=index, correct=correct, count=count, frequency=count / n,
                mean_total=float(totals[choosers].mean()) if count else None,
                upper_share=upper_share, lower_share=lower_share, drew_top_group=drew_top,
            ))
            if drew_top and FLAG_DISTRACTOR_TOP not in flags:
                flags.append(FLAG_DISTRACTOR_TOP)

    misconceptions: tuple[MisconceptionStat, ...] = ()
    if column.misconceptions:
        counts = Counter(tag for row in rows for tag in set(column.misconceptions[row] or ()))
        misconceptions = tuple(MisconceptionStat(tag=tag, count=count, frequency=count / n)
                               for tag, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    groups: tuple[GroupStat, ...] = ()
    spread = None
    if column.variant_groups:
        members: dict[str, list[int]] = {}
        for row in rows:
            group = column.variant_groups[row]
            if group is not None:
                members.setdefault(group, []).append(int(row))
        groups = tuple(GroupStat(group=group, n=len(ids), facility=float(scores[ids].mean()))
                       for group, ids in sorted(members.items()))
        counted = [g.facility for g in groups if g.n >= thresholds.min_group]
        if len(counted) >= 2:
            spread = max(counted) - min(counted)
            if spread > thresholds.variant_spread:
                flags.append(FLAG_UNFAIR_VARIANTS)

    return ItemStats(
        key=column.key, n=n, facility=facility, sd=_sample_sd(item_scores), discrimination=discrimination,
        item_rest_r=rest_r, unanswered=unanswered, options=tuple(options), misconceptions=misconceptions,
        variant_groups=groups, variant_spread=spread, flags=tuple(flags),
    )


def analyse(scores: np.ndarray | Sequence[Sequence[float]], items: Sequence[ItemColumn], *,
            bins: int = 10, thresholds: Thresholds | None = None) -> AssessmentStats:
    """The statistics of ``scores`` (attempts × items, each a fraction 0–1; NaN: the attempt was not
    given the item) with ``items`` describing its columns in order."""
    thresholds = thresholds or Thresholds()
    matrix = np.asarray(scores, dtype=float)
    if matrix.ndim != 2:
        if matrix.size == 0:
            matrix = matrix.reshape(0, len(items))
        else:
            raise ValueError(f"scores must be attempts × items, got shape {matrix.shape}")
    n, m = matrix.shape
    if m != len(items):
        raise ValueError(f"{m} score columns but {len(items)} items")
    for column in items:
        for name in ("chosen", "misconceptions", "variant_groups"):
            values = getattr(column, name)
            if values and len(values) != n:
                raise ValueError(f"item {column.key}: {name} has {len(values)} rows, the matrix {n}")
    finite = matrix[~np.isnan(matrix)]
    if finite.size and (finite.min() < 0 or finite.max() > 1):
        raise ValueError("scores must be fractions between 0 and 1")
    max_points = np.array([column.max_points for column in items], dtype=float)
    points = matrix * max_points
    taken = ~np.isnan(matrix)
    total_points = np.nansum(points, axis=1)
    possible = taken.astype(float) @ max_points
    totals = np.divide(total_points, possible, out=np.zeros(n), where=possible > 0)
    counts, edges = np.histogram(totals, bins=bins, range=(0.0, 1.0))
    histogram = tuple(HistogramBin(low=float(edges[i]), high=float(edges[i + 1]), count=int(counts[i]))
                      for i in range(bins))
    complete = taken.all(axis=1)
    alpha = _cronbach_alpha(points[complete])
    sd = _sample_sd(totals)
    sem = sd * float(np.sqrt(1.0 - alpha)) if sd is not None and alpha is not None else None
    return AssessmentStats(
        n=n, mean=float(totals.mean()) if n else None, median=float(np.median(totals)) if n else None, sd=sd,
        histogram=histogram, alpha=alpha, alpha_n=int(complete.sum()),
        dichotomous=bool(np.isin(finite, (0.0, 1.0)).all()) if finite.size else False, sem=sem,
        items=tuple(_item(column, matrix[:, j], totals, total_points, thresholds) for j, column in enumerate(items)),
    )
