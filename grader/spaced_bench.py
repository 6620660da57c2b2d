"""The spaced-review benchmark: a simulated cohort (``grader.spaced.simulate_cohort``) under three
plans. Prints each goal and result and the machine-speed figure; writes the calibration plot.

    python -m grader.spaced_bench [--students 500] [--days 30] [--out var/bench/study_calibration.svg]

Goals: calibration RMSE ≤ 0.05 over 10 bins; FSRS reaching ≥ 90 % recall on the exam date with
≥ 30 % fewer reviews than every skill every 2 days; FSRS beating "the weakest topic" on recall at
the same number of reviews.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from grader.calibration import calibration_ms
from grader.spaced import CohortSpec, simulate_cohort


def _plot(calibration: list[tuple[float, float, int]], rmse: float, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [(p, o, n) for p, o, n in calibration if n]
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="#888", label="perfect")
    ax.scatter([p for p, _o, _n in shown], [o for _p, o, _n in shown], s=[max(12, min(200, n / 200)) for *_x, n in shown],
               color="#2b6cb0", label="10 bins (size: answers)")
    ax.set_xlabel("predicted P(right)")
    ax.set_ylabel("observed share right")
    ax.set_title(f"FSRS calibration, RMSE {rmse:.4f}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format=out.suffix.lstrip(".") or "svg", bbox_inches="tight")
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--skills", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("var/bench/study_calibration.svg"))
    args = parser.parse_args(argv)
    spec = CohortSpec(students=args.students, days=args.days, skills=args.skills)
    began = time.perf_counter()
    fsrs = simulate_cohort(spec, policy="fsrs")
    fixed = simulate_cohort(spec, policy="fixed")
    weakest = simulate_cohort(spec, policy="weakest", budget=fsrs.daily)  # type: ignore[attr-defined]
    seconds = time.perf_counter() - began
    rmse = fsrs.calibration_rmse
    saving = 1 - fsrs.reviews / fixed.reviews
    print(f"cohort: {spec.students} students × {spec.skills} skills × {spec.days} days "
          f"(pace spread σ={spec.spread}, slip {spec.slip}, guess {spec.guess}); {seconds:.1f} s")
    print(f"calibration  goal RMSE ≤ 0.05 over 10 bins      result {rmse:.4f} "
          f"({sum(n for *_x, n in fsrs.calibration)} predicted answers)")
    for p, o, n in fsrs.calibration:
        if n:
            print(f"    predicted {p:.3f}  observed {o:.3f}  n={n}")
    print(f"fsrs         reviews {fsrs.reviews:>7}  recall on exam day {fsrs.exam_recall:.4f}  "
          f"students ≥ 90 %: {fsrs.share_ready:.1%}")
    print(f"every 2 days reviews {fixed.reviews:>7}  recall on exam day {fixed.exam_recall:.4f}  "
          f"students ≥ 90 %: {fixed.share_ready:.1%}")
    print(f"weakest topic reviews {weakest.reviews:>6}  recall on exam day {weakest.exam_recall:.4f}  "
          f"students ≥ 90 %: {weakest.share_ready:.1%}")
    print(f"efficiency   goal ≥ 30 % fewer reviews than every 2 days at ≥ 90 % recall   "
          f"result {saving:.1%} fewer, recall {fsrs.exam_recall:.1%}")
    print(f"vs weakest   goal higher recall at equal reviews   result {fsrs.exam_recall:.4f} vs {weakest.exam_recall:.4f}")
    _plot(fsrs.calibration, rmse, args.out)
    print(f"calibration plot: {args.out}")
    print(f"machine speed: calibration {calibration_ms():.1f} ms (grader/calibration.py)")
    ok = rmse <= 0.05 and saving >= 0.30 and fsrs.exam_recall >= 0.90 and fsrs.exam_recall > weakest.exam_recall
    print("all goals met" if ok else "GOALS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
