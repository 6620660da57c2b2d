"""The checks most coding labs share, run in this process: the model solution scores full marks,
the starter scores zero, and the numpy labs import only numpy and grade fast.

Each lab keeps its own seeds here and its specific checks in ``test_codelab_<lab>.py``.
``train-cnn`` is not in this file: its solution trains for real and its starter changes torch's
thread count, so its own file checks both. ``test_codelabs_sandbox.py`` grades every lab again
through the real sandbox.
"""

from __future__ import annotations

import time

import pytest

from grader.codelabs import get_codelab
from grader.codelabs.inprocess import run_in_process
from grader.i18n import word
from grader.tests.codelab_support import ARRAY_LAB_SEEDS, earned, failed, imported_roots

SEEDS_BY_LAB: dict[str, list[int]] = {
    "conv2d-forward": ARRAY_LAB_SEEDS,
    "conv2d-backward": ARRAY_LAB_SEEDS,
    "maxpool": ARRAY_LAB_SEEDS,
    "softmax-ce": ARRAY_LAB_SEEDS,
    "iou-nms": [0, 1, 2, 3, 17, 2024],
    "voc-map": [0, 1, 2, 3, 42, 999],
    "yolo-decode": [0, 1, 2, 7, 123],
    "cnn-forward-numpy": [0, 1, 2, 3, 12345, 2**40 + 7],
}
NUMPY_ONLY_LABS = ["conv2d-forward", "conv2d-backward", "maxpool", "softmax-ce"]
# softmax-ce times its solution in its own file, together with its floating-point checks.
FAST_LABS = ["conv2d-forward", "conv2d-backward", "maxpool"]


@pytest.mark.parametrize(
    ("slug", "seed"), [(slug, seed) for slug, seeds in SEEDS_BY_LAB.items() for seed in seeds]
)
def test_solution_scores_full_marks(slug: str, seed: int) -> None:
    lab = get_codelab(slug)
    outcomes = run_in_process(lab, lab.solution(), seed)
    assert not failed(outcomes), {n: word(o.check.message, "en") for n, o in failed(outcomes).items()}
    # Exact: every fraction is 1.0, and the points are summed in the same order as total_points.
    assert earned(outcomes) == lab.total_points(seed)
    assert lab.total_points(seed) == pytest.approx(10.0)


@pytest.mark.parametrize("slug", SEEDS_BY_LAB)
def test_starter_scores_zero(slug: str) -> None:
    lab = get_codelab(slug)
    outcomes = run_in_process(lab, lab.starter(), 0)
    assert earned(outcomes) == 0
    assert all("NotImplementedError" in word(o.check.message, "en") for o in outcomes)


@pytest.mark.parametrize("slug", NUMPY_ONLY_LABS)
def test_solution_and_starter_import_only_numpy(slug: str) -> None:
    lab = get_codelab(slug)
    for source in (lab.solution(), lab.starter()):
        assert imported_roots(source) <= {"numpy"}


@pytest.mark.parametrize("slug", FAST_LABS)
def test_solution_is_fast(slug: str) -> None:
    lab = get_codelab(slug)
    start = time.process_time()
    for seed in ARRAY_LAB_SEEDS:
        run_in_process(lab, lab.solution(), seed)
    assert (time.process_time() - start) / len(ARRAY_LAB_SEEDS) < 1.0
