"""Benchmark of the item analysis: ``python -m grader.item_analysis_bench [--students N] [--items M]``.

Times :func:`grader.item_analysis.analyse` on a simulated exam (default 2,000 students × 30 items:
a third single-choice items with five options, a third parameterized items with variant groups and
misconception tags, a third partial-credit items). Goal: ≤ 1 s. Prints the median of five runs
and a fixed workload's CPU time (this machine's speed varies; compare runs at similar figures).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence

import numpy as np

from grader.calibration import calibration_ms, speed_line
from grader.item_analysis import ItemColumn, analyse

GOAL_SECONDS = 1.0


def simulated_exam(students: int, items: int, seed: int = 0) -> tuple[np.ndarray, list[ItemColumn]]:
    rng = np.random.default_rng(seed)
    ability = rng.normal(size=students)
    scores = np.empty((students, items))
    columns: list[ItemColumn] = []
    for j in range(items):
        p_right = 1 / (1 + np.exp(-(ability - rng.normal())))
        right = rng.random(students) < p_right
        if j % 3 == 0:
            wrong = rng.integers(1, 5, size=students)
            chosen = [(0,) if ok else (int(w),) for ok, w in zip(right, wrong, strict=True)]
            scores[:, j] = right
            columns.append(ItemColumn(key=f"q{j}", options=(True, False, False, False, False), chosen=chosen))
        elif j % 3 == 1:
            groups = [("a", "b", "c", "d")[g] for g in rng.integers(0, 4, size=students)]
            scores[:, j] = np.where(right, 1.0, rng.choice([0.0, 0.5], size=students))
            tags = [() if ok else ("kernel-not-flipped",) for ok in right]
            columns.append(ItemColumn(key=f"q{j}", misconceptions=tags, variant_groups=groups))
        else:
            scores[:, j] = np.round(p_right * rng.random(students), 2)
            columns.append(ItemColumn(key=f"q{j}", max_points=2.0))
    return scores, columns




def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    speed = calibration_ms()
    scores, columns = simulated_exam(args.students, args.items)
    analyse(scores, columns)  # warm-up
    times = []
    for _ in range(args.runs):
        began = time.perf_counter()
        result = analyse(scores, columns)
        times.append(time.perf_counter() - began)
    median = statistics.median(times)
    print(f"item analysis of {args.students} students × {args.items} items: median {median * 1000:.0f} ms "
          f"of {args.runs} runs (alpha {result.alpha:.3f}); goal ≤ {GOAL_SECONDS:.0f} s: "
          f"{'met' if median <= GOAL_SECONDS else 'NOT met'}")
    print(speed_line(speed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
