"""The ``voc-map`` code lab: typical bugs, the check, and the trusted answer itself.

The model solution's full marks and the starter's zero are checked with the other labs in
``test_codelabs_in_process.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.codelabs.inprocess import load_source, run_in_process
from grader.codelabs.labs.voc_map import LAB, _random_scene, check_voc_map, expected_voc_map
from grader.i18n import localize, word
from grader.tests.codelab_support import failed, mutated, wire_safe

SOLUTION = LAB.solution()


def test_public_cases_worked_values() -> None:
    tiny, difficult = LAB.public_cases()
    got = expected_voc_map(*tiny.args)
    np.testing.assert_allclose(got["ap"], [5 / 6, 1.0, np.nan])
    assert got["map"] == pytest.approx(11 / 12)
    got = expected_voc_map(*difficult.args)
    np.testing.assert_allclose(got["ap"], [0.5, np.nan])
    assert got["map"] == pytest.approx(0.5)


def test_cases_are_wire_values_and_seeded() -> None:
    for case in LAB.cases(3):
        assert wire_safe(case.args), case.name
    h0, h1 = LAB.hidden_cases(0), LAB.hidden_cases(1)
    assert [c.name for c in h0] == [c.name for c in h1]
    assert any(
        len(a.args[0]["score"]) != len(b.args[0]["score"])
        or not np.array_equal(a.args[0]["score"], b.args[0]["score"])
        for a, b in zip(h0, h1, strict=True)
    )
    again = LAB.hidden_cases(0)
    for a, b in zip(h0, again, strict=True):
        np.testing.assert_array_equal(a.args[0]["box"], b.args[0]["box"])


def test_hidden_scenes_have_every_ingredient() -> None:
    for seed in range(6):
        for case in LAB.hidden_cases(seed):
            dets, gts, num_classes, thr = case.args
            answer = expected_voc_map(dets, gts, num_classes, thr)
            assert np.isfinite(answer["map"])
            if case.name.startswith("scene"):
                assert gts["difficult"].any()
                assert 0 < answer["map"] < 1
            if case.name == "empty-classes":
                assert np.isnan(answer["ap"][[2, 3, 5]]).all() and answer["ap"][4] == 0.0


def test_bug_eleven_point_interpolation() -> None:
    """VOC2007's 11-point AP: every case fails, and the feedback says which interpolation it was."""
    src = mutated(
        SOLUTION,
        "    steps = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1  # where recall increases\n"
        "    return float(np.sum((mrec[steps] - mrec[steps - 1]) * mpre[steps]))",
        "    levels = np.arange(11) / 10\n"
        "    return float(np.mean([mpre[:-1][mrec[:-1] >= t].max(initial=0.0) for t in levels]))",
    )
    for seed in (0, 1):
        fails = failed(run_in_process(LAB, src, seed))
        assert {"public-tiny", "scene-1", "scene-2"} <= set(fails)
        msg = localize(fails["public-tiny"].check.message)
        assert "`ap`: 1 of 3 elements differ; first at [0]: got 0.848485, expected 0.833333" in msg["en"]
        assert "11-point (VOC2007)" in msg["en"] and "11 點（VOC2007）" in msg["zh-Hant"]
        assert fails["public-tiny"].check.detail["misconception"] == "voc07-11-point"


def test_bug_difficult_counted() -> None:
    src = mutated(
        SOLUTION,
        'g_diff = np.asarray(ground_truths["difficult"], dtype=bool).reshape(-1)',
        'g_diff = np.zeros(len(np.asarray(ground_truths["difficult"])), dtype=bool)',
    )
    fails = failed(run_in_process(LAB, src, 0))
    assert "public-difficult" in fails and "public-tiny" not in fails
    check = fails["public-difficult"].check
    assert check.detail["misconception"] == "difficult-counted" and "difficult" in word(check.message, "en")


def test_bug_difficult_detections_as_false_positives() -> None:
    src = mutated(SOLUTION, "continue  # matching a difficult object: neither TP nor FP", "flags.append(0)")
    fails = failed(run_in_process(LAB, src, 0))
    assert "public-difficult" in fails
    assert "misconception" not in fails["public-difficult"].check.detail  # not a named one


def test_bug_strict_iou() -> None:
    fails = failed(
        run_in_process(
            LAB, mutated(SOLUTION, "if ious[k] < iou_threshold:", "if ious[k] <= iou_threshold:"), 0
        )
    )
    assert "public-tiny" in fails and "scene-1" not in fails  # random scenes avoid exact ties


def test_bug_nan_classes_counted_as_zero() -> None:
    src = mutated(
        SOLUTION,
        "            continue  # AP undefined: stays NaN and is left out of the mean",
        "            ap[c] = 0.0\n            continue",
    )
    fails = failed(run_in_process(LAB, src, 0))
    assert {"public-tiny", "public-difficult", "empty-classes"} <= set(fails)
    assert "expected nan" in word(fails["public-tiny"].check.message, "en")


def test_bug_reversed_ties() -> None:
    src = mutated(
        SOLUTION,
        'np.argsort(-d_score[det_idx], kind="stable")',
        'np.argsort(d_score[det_idx], kind="stable")[::-1]',
    )
    lost = [set(failed(run_in_process(LAB, src, seed))) for seed in range(4)]
    assert all(not (f - {"tied-scores"}) for f in lost)  # distinct scores elsewhere: only ties matter
    assert any("tied-scores" in f for f in lost)


@pytest.mark.parametrize(
    "got",
    [
        None,
        0.5,
        "map",
        {"map": 0.5},
        {"map": None, "ap": None},
        {"map": [1, 2], "ap": [1]},
        {"map": 0.9, "ap": "x", "extra": 1},
        {"map": np.nan, "ap": [np.nan, np.nan, np.nan]},
        [0.5, [1, 2, 3]],
    ],
)
def test_check_never_raises(got: Any) -> None:
    tiny = LAB.public_cases()[0]
    check = tiny.check(got)
    assert check.fraction == 0.0 and word(check.message, "en") and word(check.message, "zh-Hant")


def test_check_accepts_lists_and_numpy_scalars() -> None:
    expected = {"map": 0.75, "ap": np.array([0.5, 1.0, np.nan])}
    assert check_voc_map({"map": np.float64(0.75), "ap": [0.5, 1.0, float("nan")]}, expected, {}).passed


# --------------------------------------------------------------------------- the trusted answer


def devkit_loop(dets: dict, gts: dict, num_classes: int, thr: float) -> np.ndarray:
    """The VOC devkit's per-class loop, transcribed with plain Python lists (ignored rows kept as
    0/0 rows, as the devkit does; they do not change the all-point area)."""

    def iou(a: list[float], b: list[float]) -> float:
        iw = max(min(a[2], b[2]) - max(a[0], b[0]), 0.0)
        ih = max(min(a[3], b[3]) - max(a[1], b[1]), 0.0)
        inter = iw * ih
        union = max(a[2] - a[0], 0) * max(a[3] - a[1], 0) + max(b[2] - b[0], 0) * max(b[3] - b[1], 0) - inter
        return inter / union if union > 0 else 0.0

    aps = []
    for c in range(num_classes):
        objs = [k for k in range(len(gts["box"])) if gts["class_id"][k] == c]
        npos = sum(not gts["difficult"][k] for k in objs)
        if npos == 0:
            aps.append(float("nan"))
            continue
        order = sorted(
            (i for i in range(len(dets["score"])) if dets["class_id"][i] == c),
            key=lambda i: -dets["score"][i],
        )
        seen: set[int] = set()
        tp, fp = [], []
        for i in order:
            best, best_k = -1.0, None
            for k in objs:
                if gts["image_id"][k] == dets["image_id"][i]:
                    o = iou(list(dets["box"][i]), list(gts["box"][k]))
                    if o > best:
                        best, best_k = o, k
            if best_k is not None and best >= thr:
                if gts["difficult"][best_k]:
                    tp.append(0), fp.append(0)
                elif best_k in seen:
                    tp.append(0), fp.append(1)
                else:
                    seen.add(best_k)
                    tp.append(1), fp.append(0)
            else:
                tp.append(0), fp.append(1)
        ctp, cfp = np.cumsum(tp), np.cumsum(fp)
        rec = list(ctp / npos)
        prec = list(ctp / np.maximum(ctp + cfp, np.finfo(np.float64).eps))
        mrec, mpre = [0.0, *rec, 1.0], [0.0, *prec, 0.0]
        for k in range(len(mpre) - 2, -1, -1):
            mpre[k] = max(mpre[k], mpre[k + 1])
        aps.append(
            sum((mrec[k] - mrec[k - 1]) * mpre[k] for k in range(1, len(mrec)) if mrec[k] != mrec[k - 1])
        )
    return np.asarray(aps)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(1, 5),
    st.integers(1, 4),
    st.sampled_from([0.3, 0.5, 0.7]),
    st.booleans(),
)
def test_expected_answer_equals_devkit_loop_and_solution(
    seed: int, num_images: int, num_classes: int, thr: float, ties: bool
) -> None:
    rng = np.random.default_rng(seed)
    levels = np.array([0.8, 0.5, 0.2]) if ties else None
    dets, gts = _random_scene(rng, num_images, num_classes, difficult_rate=0.3, score_levels=levels)
    expected = expected_voc_map(dets, gts, num_classes, thr)
    np.testing.assert_allclose(expected["ap"], devkit_loop(dets, gts, num_classes, thr), rtol=1e-12)
    got = load_source(SOLUTION).voc_map(dets, gts, num_classes, thr)
    np.testing.assert_allclose(got["ap"], expected["ap"], rtol=1e-12)
    np.testing.assert_allclose(got["map"], expected["map"], rtol=1e-12)


def test_no_detections_and_no_objects() -> None:
    empty_dets = {
        "image_id": np.zeros(0, np.int64),
        "class_id": np.zeros(0, np.int64),
        "score": np.zeros(0),
        "box": np.zeros((0, 4)),
    }
    gts = {
        "image_id": np.array([0]),
        "class_id": np.array([1]),
        "box": np.array([[0.0, 0, 5, 5]]),
        "difficult": np.array([False]),
    }
    answer = expected_voc_map(empty_dets, gts, 2)
    np.testing.assert_array_equal(answer["ap"], [np.nan, 0.0])
    assert answer["map"] == 0.0
    no_gts = {k: v[:0] for k, v in gts.items()}
    assert np.isnan(expected_voc_map(empty_dets, no_gts, 2)["map"])
    got = load_source(SOLUTION).voc_map(empty_dets, gts, 2)
    np.testing.assert_array_equal(got["ap"], [np.nan, 0.0])
