"""Benchmark of the grader core: ``python -m grader.bench [--family NAME ...] [--n N] [--json]``.

For each family and seeds ``0..n-1`` it times, in this single process:

* ``generate`` (including the resampling until the variant discriminates its misconceptions),
* ``solve``,
* one *grading* = ``check`` (parse the answer as typed + grade) of the right answer, and of a
  wrong one (the first applicable misconception's answer, which runs the diagnosis too),
  both *cold* (the family's memo caches cleared first) and *warm* (graded again),
* ``gen+solve+grade``: one variant from scratch, as a worker that never saw it would do.

It prints medians and the gradings per second of one core (``1 / median grading time`` over right
and wrong answers together). Goal: ≥ 2,000 gradings/s for ``conv-by-hand`` (5×5 image, 3×3
kernel), cold.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from grader.problems import all_families, get_family
from grader.problems.base import ProblemFamily

#: Constraints that make a family's benchmark match its stated goal (others: unconstrained).
BENCH_CONSTRAINTS: dict[str, dict[str, Any]] = {
    "conv-by-hand": {"height": 5, "width": 5, "kernel_size": 3},
}


def bench_family(
    family: ProblemFamily, n: int, constraints: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Time ``n`` variants of ``family``; returns medians in milliseconds and gradings per second.

    *Cold* timings clear the family's memo caches first (a worker that never saw the variant);
    *warm* ones grade a variant again (a resubmission, or the worker that generated it).
    """
    clock = time.perf_counter
    cold = family.clear_caches
    t: dict[str, list[float]] = {k: [] for k in ("gen", "solve", "total", "cold", "warm")}
    for seed in range(-3, n):  # three warm-up rounds (imports, first calls) are not recorded
        cold()
        t0 = clock()
        params = family.generate(abs(seed), constraints)
        answer = family.solve(params)
        typed = family.format_answer(params, answer)
        t1 = clock()
        grade = family.check(params, typed)
        t2 = clock()
        if grade.score != 1.0:
            raise AssertionError(f"{family.name} seed {seed}: its own answer scored {grade.score}")
        alts = family.alternatives(params)
        responses = [typed] + (
            [family.format_answer(params, {**answer, **next(iter(alts.values()))})] if alts else []
        )
        cold()
        t3 = clock()
        family.generate(abs(seed), constraints)
        t4 = clock()
        cold()
        t5 = clock()
        family.solve(params)
        t6 = clock()
        cold_times, warm_times = [], []
        for response in responses:
            cold()
            t7 = clock()
            family.check(params, response)
            cold_times.append(clock() - t7)
            t8 = clock()
            family.check(params, response)
            warm_times.append(clock() - t8)
        if seed < 0:
            continue
        t["total"].append((t1 - t0) + (t2 - t1))
        t["gen"].append(t4 - t3)
        t["solve"].append(t6 - t5)
        t["cold"] += cold_times
        t["warm"] += warm_times
    med = {k: statistics.median(v) for k, v in t.items()}
    return {
        "family": family.name,
        "n": n,
        "generate_ms": med["gen"] * 1e3,
        "solve_ms": med["solve"] * 1e3,
        "grade_cold_ms": med["cold"] * 1e3,
        "grade_warm_ms": med["warm"] * 1e3,
        "generate_solve_grade_ms": med["total"] * 1e3,
        "gradings_per_s_cold": 1.0 / med["cold"],
        "gradings_per_s_warm": 1.0 / med["warm"],
    }


_COLUMNS = [
    ("family", "family", "{}"),
    ("n", "n", "{}"),
    ("generate_ms", "generate ms", "{:.3f}"),
    ("solve_ms", "solve ms", "{:.3f}"),
    ("grade_cold_ms", "grade ms cold", "{:.3f}"),
    ("grade_warm_ms", "grade ms warm", "{:.3f}"),
    ("generate_solve_grade_ms", "gen+solve+grade ms", "{:.3f}"),
    ("gradings_per_s_cold", "gradings/s/core cold", "{:,.0f}"),
    ("gradings_per_s_warm", "warm", "{:,.0f}"),
]


def _table(rows: Sequence[dict[str, Any]]) -> str:
    head = [title for _, title, _ in _COLUMNS]
    body = [[fmt.format(r[key]) for key, _, fmt in _COLUMNS] for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(head), line(["-" * w for w in widths]), *(line(b) for b in body)])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--family", action="append", help="family name (repeatable; default: all)")
    parser.add_argument("--n", type=int, default=300, help="variants per family (default 300)")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    args = parser.parse_args(argv)
    try:
        families = [get_family(n) for n in args.family] if args.family else all_families()
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 1
    rows = [bench_family(f, args.n, BENCH_CONSTRAINTS.get(f.name)) for f in families]
    print(json.dumps(rows, indent=2) if args.json else _table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
