"""The machine-speed figure every benchmark prints beside its result.

Machines here differ in speed (the same fixed workload ranged about 2× across them, and by half
between stretches of a day on one), so a benchmark's figure is read against this one, measured in
the same run: runs compare only when their calibrations are alike.
"""

from __future__ import annotations

import time


def calibration_ms() -> float:
    """CPU ms of a fixed pure-Python workload (dicts, strings), best of five."""
    def once() -> float:
        began = time.process_time()
        table = {str(number): number * number for number in range(100_000)}
        sum(len(key) for key in table)
        return (time.process_time() - began) * 1000
    return min(once() for _ in range(5))


def speed_line(speed_ms: float) -> str:
    """How every benchmark words the figure of :func:`calibration_ms` beside its result."""
    return (f"machine speed: a fixed workload took {speed_ms:.1f} ms of CPU (lower is faster; compare runs only at "
            "similar figures)")
