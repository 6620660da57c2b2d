"""Every figure of the item analysis against a direct numpy/scipy computation on random response
matrices (seeded), written independently of grader.item_analysis (loops, scipy.stats, covariance)."""

from __future__ import annotations

import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from grader.item_analysis import (
    FLAG_DISTRACTOR_TOP,
    FLAG_NEGATIVE_DISCRIMINATION,
    FLAG_TOO_EASY,
    FLAG_UNFAIR_VARIANTS,
    ItemColumn,
    Thresholds,
    analyse,
)

SEEDS = range(6)


def _random_exam(seed: int, *, missing: bool = False):
    """n attempts × m items: a latent ability drives right/wrong choice items, partial-credit
    parameterized items with variant groups and misconception tags; optional missing (pool) cells."""
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(20, 120)), int(rng.integers(3, 9))
    ability = rng.normal(size=n)
    scores = np.empty((n, m))
    columns = []
    for j in range(m):
        kind = ("choice", "param", "plain")[j % 3]
        difficulty = rng.normal()
        p_right = 1 / (1 + np.exp(-(ability - difficulty)))
        if kind == "choice":
            k = int(rng.integers(3, 6))
            correct_index = int(rng.integers(k))
            right = rng.random(n) < p_right
            chosen = []
            for i in range(n):
                if rng.random() < 0.05:
                    chosen.append(None)
                    right[i] = False
                else:
                    chosen.append((correct_index,) if right[i] else (int(rng.choice([x for x in range(k)
                                                                                      if x != correct_index])),))
            scores[:, j] = right.astype(float)
            columns.append(ItemColumn(key=f"q{j}", max_points=float(rng.integers(1, 4)),
                                      options=tuple(x == correct_index for x in range(k)), chosen=chosen))
        elif kind == "param":
            groups = [str(g) for g in rng.choice(["a", "b", "c"], size=n)]
            shift = {"a": 0.0, "b": 0.1, "c": -0.2}
            scores[:, j] = np.clip(np.round(p_right + [shift[g] for g in groups] + rng.normal(0, 0.1, n), 2), 0, 1)
            tags = [tuple(t for t in ("flip", "pad") if rng.random() < 0.3 * (1 - scores[i, j]) + 0.02)
                    for i in range(n)]
            columns.append(ItemColumn(key=f"q{j}", max_points=2.0, misconceptions=tags, variant_groups=groups))
        else:
            scores[:, j] = np.round(rng.random(n) * p_right, 3)
            columns.append(ItemColumn(key=f"q{j}", max_points=1.5))
    if missing:
        scores[rng.random((n, m)) < 0.15] = np.nan
        for col_index, column in enumerate(columns):
            for i in range(n):
                if np.isnan(scores[i, col_index]):
                    if column.chosen:
                        column.chosen[i] = None
                    if column.misconceptions:
                        column.misconceptions[i] = ()
                    if column.variant_groups:
                        column.variant_groups[i] = None
    return scores, columns


def _totals(scores, columns):
    weights = np.array([c.max_points for c in columns])
    totals = []
    for row in scores:
        got = sum(s * w for s, w in zip(row, weights, strict=True) if not np.isnan(s))
        possible = sum(w for s, w in zip(row, weights, strict=True) if not np.isnan(s))
        totals.append(got / possible if possible else 0.0)
    return np.array(totals)


@pytest.mark.parametrize("missing", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_every_figure_agrees_with_a_direct_computation(seed: int, missing: bool) -> None:
    scores, columns = _random_exam(seed, missing=missing)
    result = analyse(scores, columns)
    n = scores.shape[0]
    totals = _totals(scores, columns)

    # The assessment.
    assert result.n == n
    assert result.mean == pytest.approx(statistics.fmean(totals))
    assert result.median == pytest.approx(statistics.median(totals))
    assert result.sd == pytest.approx(statistics.stdev(totals))
    by_hand = [0] * 10
    for t in totals:
        by_hand[min(int(t * 10 + 1e-12), 9)] += 1
    assert [b.count for b in result.histogram] == by_hand
    assert [b.low for b in result.histogram] == pytest.approx([i / 10 for i in range(10)])

    complete = ~np.isnan(scores).any(axis=1)
    points = scores[complete] * np.array([c.max_points for c in columns])
    assert result.alpha_n == int(complete.sum())
    if complete.sum() >= 2:
        cov = np.cov(points, rowvar=False)  # alpha from the covariance matrix
        k = points.shape[1]
        alpha = k / (k - 1) * (1 - np.trace(cov) / cov.sum())
        assert result.alpha == pytest.approx(alpha)
        assert result.sem == pytest.approx(statistics.stdev(totals) * np.sqrt(1 - alpha))

    # Each item.
    for j, (column, item) in enumerate(zip(columns, result.items, strict=True)):
        took = [i for i in range(n) if not np.isnan(scores[i, j])]
        s = scores[took, j]
        assert item.key == column.key and item.n == len(took)
        assert item.facility == pytest.approx(statistics.fmean(s))
        assert item.sd == pytest.approx(statistics.stdev(s))
        rest = np.array([totals_points - scores[i, j] * column.max_points for i, totals_points in
                         ((i, np.nansum(scores[i] * [c.max_points for c in columns])) for i in took)])
        assert item.item_rest_r == pytest.approx(sps.pearsonr(s * column.max_points, rest).statistic)
        # Upper and lower 27 % by total, ties in attempt order (ordinal ranks).
        k = max(1, round(0.27 * len(took)))
        ranks = sps.rankdata(totals[took], method="ordinal")
        lower = [took[x] for x in range(len(took)) if ranks[x] <= k]
        upper = [took[x] for x in range(len(took)) if ranks[x] > len(took) - k]
        d = statistics.fmean(scores[upper, j]) - statistics.fmean(scores[lower, j])
        assert item.discrimination == pytest.approx(d)
        assert (FLAG_NEGATIVE_DISCRIMINATION in item.flags) == (d < 0)
        assert (FLAG_TOO_EASY in item.flags) == (statistics.fmean(s) >= 0.9)

        if column.options:
            top_distractor = False
            for index, option in enumerate(item.options):
                choosers = [i for i in took if column.chosen[i] and index in column.chosen[i]]
                assert option.count == len(choosers)
                assert option.frequency == pytest.approx(len(choosers) / len(took))
                if choosers:
                    assert option.mean_total == pytest.approx(statistics.fmean(totals[choosers]))
                else:
                    assert option.mean_total is None
                up = sum(1 for i in upper if column.chosen[i] and index in column.chosen[i]) / len(upper)
                low = sum(1 for i in lower if column.chosen[i] and index in column.chosen[i]) / len(lower)
                assert (option.upper_share, option.lower_share) == pytest.approx((up, low))
                drew = not column.options[index] and up >= 0.10 and up > low
                assert option.drew_top_group == drew
                top_distractor |= drew
            assert item.unanswered == sum(1 for i in took if not column.chosen[i])
            assert (FLAG_DISTRACTOR_TOP in item.flags) == top_distractor

        if column.misconceptions:
            for stat in item.misconceptions:
                count = sum(1 for i in took if stat.tag in column.misconceptions[i])
                assert (stat.count, stat.frequency) == (count, pytest.approx(count / len(took)))
            assert {m.tag for m in item.misconceptions} == {t for i in took for t in column.misconceptions[i]}

        if column.variant_groups:
            facilities = {}
            for group in sorted({column.variant_groups[i] for i in took}):
                members = [i for i in took if column.variant_groups[i] == group]
                stat = next(g for g in item.variant_groups if g.group == group)
                assert stat.n == len(members)
                assert stat.facility == pytest.approx(statistics.fmean(scores[members, j]))
                if len(members) >= 5:
                    facilities[group] = stat.facility
            spread = max(facilities.values()) - min(facilities.values())
            assert item.variant_spread == pytest.approx(spread)
            assert (FLAG_UNFAIR_VARIANTS in item.flags) == (spread > 0.10)


def test_dichotomous_alpha_is_kr20() -> None:
    """Right/wrong items: alpha equals KR-20's own formula, k/(k−1)·(1 − Σpq/σ²)."""
    rng = np.random.default_rng(7)
    ability = rng.normal(size=300)
    scores = (rng.random((300, 12)) < 1 / (1 + np.exp(-(ability[:, None] - rng.normal(size=12))))).astype(float)
    result = analyse(scores, [ItemColumn(key=str(j)) for j in range(12)])
    p = scores.mean(axis=0)
    # KR-20 with the population variance in both places, which equals alpha with sample variances.
    kr20 = 12 / 11 * (1 - (p * (1 - p)).sum() / scores.sum(axis=1).var())
    assert result.dichotomous
    assert result.alpha == pytest.approx(kr20)


def test_a_planted_bad_item_and_an_unfair_variant_are_flagged() -> None:
    rng = np.random.default_rng(3)
    n = 200
    ability = rng.normal(size=n)
    scores = (rng.random((n, 6)) < 1 / (1 + np.exp(-ability[:, None]))).astype(float)
    scores[:, 2] = (rng.random(n) < 1 / (1 + np.exp(2 * ability))).astype(float)  # the weak get it right
    groups = ["easy" if i % 2 else "hard" for i in range(n)]
    scores[:, 4] = np.where(np.array(groups) == "easy", scores[:, 4], 0.0)  # one variant group is harder
    columns = [ItemColumn(key=str(j)) for j in range(6)]
    columns[4] = ItemColumn(key="4", variant_groups=groups)
    # A distractor the strongest students pick.
    chosen = [(1,) if ability[i] > 1.0 else ((0,) if scores[i, 5] else (2,)) for i in range(n)]
    scores[:, 5] = [1.0 if c == (0,) else 0.0 for c in chosen]
    columns[5] = ItemColumn(key="5", options=(True, False, False), chosen=chosen)
    items = analyse(scores, columns).items
    assert FLAG_NEGATIVE_DISCRIMINATION in items[2].flags and items[2].item_rest_r < 0
    assert FLAG_UNFAIR_VARIANTS in items[4].flags and items[4].variant_spread > 0.3
    assert FLAG_DISTRACTOR_TOP in items[5].flags
    assert not any(FLAG_NEGATIVE_DISCRIMINATION in items[j].flags for j in (0, 1, 3))
    assert FLAG_UNFAIR_VARIANTS not in analyse(scores, columns, thresholds=Thresholds(variant_spread=0.99)).items[4].flags


def test_small_and_degenerate_inputs() -> None:
    empty = analyse(np.empty((0, 2)), [ItemColumn(key="a"), ItemColumn(key="b")])
    assert empty.n == 0 and empty.mean is None and empty.alpha is None and empty.items[0].facility is None
    one = analyse([[1.0, 0.0]], [ItemColumn(key="a"), ItemColumn(key="b")])
    assert one.sd is None and one.alpha is None and one.items[0].sd is None and one.items[0].item_rest_r is None
    constant = analyse([[1.0, 0.5], [1.0, 0.0], [1.0, 1.0]], [ItemColumn(key="a"), ItemColumn(key="b")])
    assert constant.items[0].item_rest_r is None and constant.items[0].facility == 1.0
    assert FLAG_TOO_EASY in constant.items[0].flags


@pytest.mark.parametrize("bad, message", [
    ([[1.5, 0.0]], "between 0 and 1"),
    ([[1.0]], "1 score columns but 2 items"),
    ([1.0, 0.0], "attempts × items"),
])
def test_bad_input_is_a_clear_error(bad, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        analyse(bad, [ItemColumn(key="a"), ItemColumn(key="b")])


def test_per_attempt_columns_must_match_the_rows() -> None:
    with pytest.raises(ValueError, match="chosen has 1 rows, the matrix 2"):
        analyse([[1.0], [0.0]], [ItemColumn(key="a", options=(True, False), chosen=[(0,)])])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0]), min_size=3, max_size=3), min_size=2, max_size=30))
def test_figures_stay_in_range(rows: list[list[float]]) -> None:
    result = analyse(rows, [ItemColumn(key=str(j)) for j in range(3)])
    for item in result.items:
        assert 0 <= item.facility <= 1
        assert -1 <= item.discrimination <= 1
        assert item.item_rest_r is None or -1 - 1e-9 <= item.item_rest_r <= 1 + 1e-9
    assert sum(b.count for b in result.histogram) == len(rows)
    assert result.alpha is None or result.alpha <= 1 + 1e-9


def test_the_bench_prints_its_goal_and_the_machine_speed(capsys) -> None:
    from grader import item_analysis_bench

    assert item_analysis_bench.main(["--students", "200", "--items", "6", "--runs", "1"]) == 0
    out = capsys.readouterr().out
    assert "200 students × 6 items" in out and "goal ≤ 1 s" in out and "machine speed" in out


def test_a_variant_group_is_the_family_s_kind_of_variant() -> None:
    from grader.problems import get_family

    conv = get_family("conv-by-hand")
    groups = {conv.variant_group(conv.generate(seed)) for seed in range(30)}
    assert groups == {"convolution", "correlation"}
    iou = get_family("iou-nms")
    assert iou.variant_group(iou.generate(1)) == ""
