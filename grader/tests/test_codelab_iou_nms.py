"""The ``iou-nms`` code lab: typical bugs fail with feedback, and the solution equals the reference.

The model solution's full marks and the starter's zero are checked with the other labs in
``test_codelabs_in_process.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.codelabs.inprocess import load_source, run_in_process
from grader.codelabs.labs.iou_nms import EXACT_TIES, LAB, _threshold_edge_scene, check_keep
from grader.i18n import localize, word
from grader.reference.detection import box_iou, nms
from grader.tests.codelab_support import failed, mutated, wire_safe

SOLUTION = LAB.solution()


def test_cases_are_wire_values_public_fixed_hidden_seeded() -> None:
    for case in LAB.cases(5):
        assert wire_safe(case.args) and wire_safe(dict(case.kwargs)), case.name
    assert all(c.public for c in LAB.public_cases())
    first, again = LAB.public_cases(), LAB.public_cases()
    for a, b in zip(first, again, strict=True):
        for x, y in zip(a.args, b.args, strict=True):
            np.testing.assert_array_equal(x, y)
    h0, h1 = LAB.hidden_cases(0), LAB.hidden_cases(1)
    assert [c.name for c in h0] == [c.name for c in h1]
    assert any(not np.array_equal(a.args[0], b.args[0]) for a, b in zip(h0, h1, strict=True))
    for a, b in zip(h0, LAB.hidden_cases(0), strict=True):  # deterministic in the seed
        for x, y in zip(a.args, b.args, strict=True):
            np.testing.assert_array_equal(x, y)


def test_hidden_scenes_exercise_the_rules() -> None:
    for seed in range(5):
        cases = {c.name: c for c in LAB.hidden_cases(seed)}
        boxes, scores, thr = cases["nms-ties"].args
        assert len(np.unique(scores)) < len(scores) - 5  # many ties
        keep = nms(boxes, scores, thr)
        assert 3 < len(keep) < len(boxes)  # suppression happens, but not of everything
        boxes, scores, thr = cases["nms-clusters"].args
        assert len(nms(boxes, scores, thr)) < len(boxes)


@pytest.mark.parametrize("tie", EXACT_TIES)
def test_threshold_edge_scene(tie: tuple[float, int, int, int, int]) -> None:
    """Each edge scene has a pair at exactly the threshold and a chain whose third box survives."""
    for seed in range(40):
        boxes, scores, thr = _threshold_edge_scene(np.random.default_rng(seed))
        if thr == tie[0]:
            break
    iou = box_iou(boxes, boxes)
    assert np.any(iou == thr)  # exactly, as floats
    kept = set(nms(boxes, scores, thr).tolist())
    by_score = {float(s): i for i, s in enumerate(scores)}
    assert {by_score[0.9], by_score[0.8]} <= kept  # the pair at IoU == threshold
    assert by_score[0.7] in kept and by_score[0.5] not in kept  # one more unit of overlap
    assert {by_score[0.95], by_score[0.75]} <= kept and by_score[0.85] not in kept  # the chain
    assert by_score[0.6] not in kept and {by_score[0.99], by_score[0.55]} <= kept  # copy, empties


def test_bug_non_strict_threshold() -> None:
    """``>=`` instead of ``>`` suppresses the pair at exactly the threshold."""
    bad = run_in_process(LAB, mutated(SOLUTION, "iou[i] > iou_threshold", "iou[i] >= iou_threshold"), 0)
    fails = failed(bad)
    assert {"public-nms", "nms-edges"} <= set(fails)
    msg = localize(fails["public-nms"].check.message)
    assert "should be kept but were not: [4]" in msg["en"] and "應保留卻被抑制的框：[4]" in msg["zh-Hant"]


def test_bug_unstable_order() -> None:
    """Reversing an ascending sort puts equal scores in reverse input order."""
    src = mutated(SOLUTION, 'np.argsort(-scores, kind="stable")', 'np.argsort(scores, kind="stable")[::-1]')
    fails = failed(run_in_process(LAB, src, 0))
    assert "nms-ties" in fails and "public-nms" not in fails and "nms-clusters" not in fails
    assert "kept" in word(fails["nms-ties"].check.message, "en")


def test_bug_suppressed_boxes_suppress() -> None:
    src = mutated(
        SOLUTION,
        "        if suppressed[i]:\n            continue  # a suppressed box suppresses nothing\n        keep.append(i)",
        "        if not suppressed[i]:\n            keep.append(i)",
    )
    fails = failed(run_in_process(LAB, src, 0))
    assert "nms-edges" in fails and "public-nms" in fails


def test_bug_unclipped_areas() -> None:
    """Multiplying raw widths gives inverted boxes an area (and 0/0 → NaN for two empty ones)."""
    src = mutated(
        SOLUTION,
        "return np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)",
        "return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])",
    ).replace("np.divide(inter, union, out=iou, where=union > 0)", "iou = inter / union")
    with np.errstate(all="ignore"):
        fails = failed(run_in_process(LAB, src, 0))
    assert "iou-degenerate" in fails and "iou-random" not in fails
    assert "elements differ" in word(fails["iou-degenerate"].check.message, "en")


def test_bug_plus_one_areas() -> None:
    """The old VOC ``+ 1`` convention changes every IoU."""
    src = (
        mutated(SOLUTION, "b[None, :, 0]), 0, None", "b[None, :, 0]) + 1, 0, None")
        .replace("b[None, :, 1]), 0, None", "b[None, :, 1]) + 1, 0, None")
        .replace("boxes[:, 0], 0, None)", "boxes[:, 0] + 1, 0, None)")
        .replace("boxes[:, 1], 0, None)", "boxes[:, 1] + 1, 0, None)")
    )
    fails = failed(run_in_process(LAB, src, 0))
    assert "public-iou" in fails and "iou-random" in fails


@pytest.mark.parametrize(
    "got",
    [
        None,
        "0 1",
        [[0, 1]],
        [0.5, 1],
        [np.nan],
        {"keep": [0]},
        [0, 1, 2, 3],
        [[0], [1]],
        object(),
        np.array([3, 1]),
    ],
)
def test_check_keep_never_raises(got: Any) -> None:
    check = check_keep(got, np.array([3, 1, 2], dtype=np.int64))
    assert check.fraction == 0.0 and word(check.message, "en") and word(check.message, "zh-Hant")


def test_check_keep_feedback() -> None:
    expected = np.array([3, 1, 2], dtype=np.int64)
    assert check_keep([3, 1, 2], expected).passed
    assert check_keep(np.array([3.0, 1.0, 2.0]), expected).passed  # integral floats are fine
    order = check_keep([1, 3, 2], expected)
    assert "wrong order" in word(order.message, "en") and "順序不對" in word(order.message, "zh-Hant")
    diff = check_keep([3, 0, 2], expected)
    assert "[1]" in word(diff.message, "en") and "[0]" in word(diff.message, "en")
    assert check_keep(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)).passed


@st.composite
def any_boxes(draw: st.DrawFn) -> np.ndarray:
    n = draw(st.integers(0, 8))
    return draw(hnp.arrays(np.float64, (n, 4), elements=st.integers(-5, 15).map(float)))


@settings(max_examples=80, deadline=None)
@given(any_boxes(), any_boxes(), st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), st.integers(0, 2**32 - 1))
def test_solution_equals_reference(a: np.ndarray, b: np.ndarray, thr: float, seed: int) -> None:
    """Integer corners hit empty boxes, touching edges and exact ties often."""
    module = load_source(SOLUTION)
    np.testing.assert_allclose(module.box_iou(a, b), box_iou(a, b), rtol=1e-12, atol=0)
    scores = np.random.default_rng(seed).choice([0.2, 0.5, 0.9], size=len(a))
    np.testing.assert_array_equal(module.nms(a, scores, thr), nms(a, scores, thr))
