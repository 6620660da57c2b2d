"""The ``yolo-decode`` code lab: typical bugs, case quality and the set check.

The model solution's full marks and the starter's zero are checked with the other labs in
``test_codelabs_in_process.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from grader.codelabs.inprocess import run_in_process
from grader.codelabs.labs.yolo_decode import LAB, SCORE_GAP, check_detections, hand_grid
from grader.i18n import localize, word
from grader.reference.detection import box_iou
from grader.reference.yolo import Detections, decode_yolo, yolo_class_scores, yolo_grid
from grader.tests.codelab_support import earned, failed, mutated

SOLUTION = LAB.solution()


def test_worked_example() -> None:
    det = decode_yolo(hand_grid(), 2, (100, 200), 0.25, 0.5)
    assert isinstance(det, Detections)
    np.testing.assert_allclose(det.scores, [0.63, 0.56, 0.27])
    np.testing.assert_array_equal(det.classes, [0, 1, 1])
    np.testing.assert_allclose(det.boxes, [[25, 62.5, 75, 87.5], [-11, 33, 61, 42], [25, 62.5, 75, 87.5]])


def test_cases_are_wire_values_public_fixed_hidden_seeded() -> None:
    for case in LAB.cases(0):
        raw, num_boxes, image_size, score_thr, iou_thr = case.args
        assert isinstance(raw, np.ndarray) and raw.dtype == np.float64
        assert isinstance(num_boxes, int) and isinstance(score_thr, float) and isinstance(iou_thr, float)
        assert isinstance(image_size, tuple) and all(isinstance(v, int) for v in image_size)
    a, b = LAB.public_cases(), LAB.public_cases()
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.args[0], y.args[0])
        assert x.args[1:] == y.args[1:]
    h0, h1 = LAB.hidden_cases(0), LAB.hidden_cases(1)
    assert [c.name for c in h0] == [c.name for c in h1]
    assert all(not np.array_equal(x.args[0], y.args[0]) for x, y in zip(h0, h1, strict=True))
    for x, y in zip(h0, LAB.hidden_cases(0), strict=True):
        np.testing.assert_array_equal(x.args[0], y.args[0])
        assert x.args[1:] == y.args[1:]


@pytest.mark.parametrize("seed", range(6))
def test_detector_cases_are_nontrivial_and_unambiguous(seed: int) -> None:
    cases = [c for c in LAB.cases(seed) if c.name.startswith(("detector", "public-detector"))]
    assert len(cases) == 5  # public, three hidden, the other shape
    for case in cases:
        raw, num_boxes, image_size, score_thr, iou_thr = case.args
        grid = yolo_grid(raw, num_boxes, image_size)
        scores = yolo_class_scores(grid)
        det = decode_yolo(*case.args)
        assert isinstance(det, Detections)
        candidates = int((scores > score_thr).sum())
        assert len(det) >= 5 and len(np.unique(det.classes)) >= 2, case.name
        assert candidates > len(det), case.name  # NMS removed overlapping boxes
        # No score near the threshold, no same-class IoU near the NMS threshold.
        assert np.min(np.abs(scores - score_thr)) >= SCORE_GAP / 4
        cand = np.argwhere(scores > score_thr)
        boxes = grid.boxes[cand[:, 0], cand[:, 1], cand[:, 2]]
        same = (cand[:, 3][:, None] == cand[:, 3][None, :]) & ~np.eye(len(cand), dtype=bool)
        assert not np.any(np.abs(box_iou(boxes, boxes)[same] - iou_thr) < 1e-4)


def test_float32_and_any_order_pass() -> None:
    """A float32 implementation makes the same decisions; the order of detections is free."""
    src = mutated(
        SOLUTION, "raw = np.asarray(raw, dtype=np.float64)", "raw = np.asarray(raw, dtype=np.float32)"
    )
    src = mutated(src, '"scores": cand_scores[kept],', '"scores": cand_scores[kept].astype(np.float32),')
    src = mutated(src, "kept = kept[np.lexsort((kept, -cand_scores[kept]))]", "kept = kept[::-1]")
    outcomes = run_in_process(LAB, src, 0)
    assert not failed(outcomes), {n: word(o.check.message, "en") for n, o in failed(outcomes).items()}


def test_bug_no_square() -> None:
    """Using √w as the width: right classes and scores, wrong boxes — the feedback says so."""
    src = mutated(SOLUTION, "w = per_box[..., 2] ** 2 * width", "w = per_box[..., 2] * width")
    src = mutated(src, "h = per_box[..., 3] ** 2 * height", "h = per_box[..., 3] * height")
    fails = failed(run_in_process(LAB, src, 0))
    assert "public-hand-grid" in fails and "detector-1" in fails
    msg = localize(fails["public-hand-grid"].check.message)
    assert "with the right class and score but a different box" in msg["en"]
    assert "got [0.00, 50.00, 100.00, 100.00] for class 0, score 0.630000" in msg["en"]
    assert "cell row 1, column 0, box 0" in msg["en"]
    assert "類別與分數正確但框不同" in msg["zh-Hant"] and "第 1 列、第 0 行格子的第 0 個框" in msg["zh-Hant"]


def test_bug_rows_and_columns_swapped() -> None:
    src = mutated(
        SOLUTION, "cx = (col + per_box[..., 0]) / cols * width", "cx = (row + per_box[..., 0]) / rows * width"
    )
    src = mutated(
        src, "cy = (row + per_box[..., 1]) / rows * height", "cy = (col + per_box[..., 1]) / cols * height"
    )
    fails = failed(run_in_process(LAB, src, 0))
    assert {"public-hand-grid", "detector-1", "detector-2", "detector-3"} <= set(fails)


def test_bug_width_and_height_swapped() -> None:
    """Treating image_size as (width, height): caught because the images are not square."""
    src = mutated(
        SOLUTION,
        "height, width = (float(v) for v in image_size)",
        "width, height = (float(v) for v in image_size)",
    )
    fails = failed(run_in_process(LAB, src, 0))
    assert "public-hand-grid" in fails and "detector-1" in fails


def test_bug_best_class_only() -> None:
    """One class per box (the argmax) misses a box that scores for two classes."""
    src = mutated(
        SOLUTION,
        "    cand = np.argwhere(scores > score_threshold)  # row-major (i, j, b, c)",
        "    best = scores.argmax(axis=-1)[..., None]\n"
        "    scores = np.where(np.arange(scores.shape[-1]) == best, scores, 0.0)\n"
        "    cand = np.argwhere(scores > score_threshold)",
    )
    fails = failed(run_in_process(LAB, src, 0))
    msg = word(fails["public-hand-grid"].check.message, "en")
    assert "You returned 2 detections, expected 3. 1 missing" in msg
    assert "class 1, score 0.270000" in msg and "extra" not in msg


def test_bug_class_agnostic_nms() -> None:
    src = mutated(SOLUTION, "for c in np.unique(cand_classes):", "for c in np.unique(cand_classes)[:1]:")
    src = mutated(
        src, "members = np.flatnonzero(cand_classes == c)", "members = np.arange(len(cand_classes))"
    )
    lost = set()
    for seed in range(3):
        lost |= set(failed(run_in_process(LAB, src, seed)))
    assert "public-hand-grid" in lost and any(name.startswith("detector") for name in lost)


def test_bug_threshold_not_strict() -> None:
    src = mutated(SOLUTION, "np.argwhere(scores > score_threshold)", "np.argwhere(scores >= score_threshold)")
    fails = failed(run_in_process(LAB, src, 0))
    assert set(fails) == {"public-hand-grid"}  # elsewhere no score sits on the threshold
    assert "2 extra (returned, not expected)" in word(fails["public-hand-grid"].check.message, "en")


def test_bug_sigmoid_applied_again() -> None:
    src = mutated(
        SOLUTION,
        "per_box = raw[..., : 5 * b].reshape(rows, cols, b, 5)",
        "per_box = 1 / (1 + np.exp(-raw[..., : 5 * b].reshape(rows, cols, b, 5)))",
    )
    assert earned(run_in_process(LAB, src, 0)) <= 0.5  # only the empty case survives


# --------------------------------------------------------------------------- the check itself


def expected_hand() -> Detections:
    det = decode_yolo(hand_grid(), 2, (100, 200), 0.25, 0.5)
    assert isinstance(det, Detections)
    return det


@pytest.mark.parametrize(
    "got",
    [
        None,
        [1, 2, 3],
        "boxes",
        {"boxes": [[0, 0, 1, 1]]},
        {"boxes": None, "scores": None, "classes": None},
        {"boxes": [[0, 0, 1]], "scores": [0.5], "classes": [0]},
        {"boxes": [[0, 0, 1, 1]], "scores": [0.5, 0.4], "classes": [0]},
        {"boxes": [[0, 0, 1, 1]], "scores": [np.nan], "classes": [0]},
        {"boxes": [[0, 0, 1, 1]], "scores": [0.5], "classes": [0.5]},
        {"boxes": [["a", 0, 1, 1]], "scores": [0.5], "classes": [0]},
        {"boxes": np.zeros((0, 4)), "scores": np.zeros(0), "classes": np.zeros(0, dtype=np.int64)},
        {"boxes": [[0, 0, 1, 1]], "scores": [[0.5]], "classes": [0]},
    ],
)
def test_check_never_raises(got: Any) -> None:
    check = check_detections(got, expected_hand())
    assert check.fraction == 0.0 and word(check.message, "en") and word(check.message, "zh-Hant")


def test_check_accepts_lists_permutations_and_extra_keys() -> None:
    det = expected_hand()
    perm = [2, 0, 1]
    got = {
        "boxes": det.boxes[perm].tolist(),
        "scores": [float(s) + 5e-7 for s in det.scores[perm]],
        "classes": [float(c) for c in det.classes[perm]],
        "debug": "ignored",
    }
    assert check_detections(got, det).passed
    empty = decode_yolo(hand_grid(), 2, (100, 200), 0.99, 0.5)
    assert isinstance(empty, Detections)
    assert check_detections({"boxes": [], "scores": [], "classes": []}, empty).passed
    wrong = dict(got, scores=[float(s) + 1e-4 for s in det.scores[perm]])
    assert not check_detections(wrong, det).passed


def test_check_duplicates_are_extra() -> None:
    det = expected_hand()
    doubled = {
        "boxes": np.concatenate([det.boxes, det.boxes[:1]]),
        "scores": np.concatenate([det.scores, det.scores[:1]]),
        "classes": np.concatenate([det.classes, det.classes[:1]]),
    }
    check = check_detections(doubled, det)
    assert not check.passed and "1 extra" in word(check.message, "en") and check.detail["extra"] == 1
