"""Lab ``yolo-decode``: from a YOLO-v1 output grid to final detections, in numpy.

The raw outputs come from :func:`grader.reference.yolo.make_tiny_yolo` — a tiny seeded torch
detector run on :func:`~grader.reference.yolo.synthetic_images` — on the trusted side only: the
student's ``decode`` receives a float64 numpy array. The expected detections come from
:func:`grader.reference.yolo.decode_yolo` (layout, √w/√h convention and every rule are in that
module's docstring).

Thresholds are chosen so that no decision is close: the score threshold (4 decimals) sits in a
gap of at least ``SCORE_GAP`` between the candidates' scores, and no two same-class candidates
have an IoU within ``IOU_MARGIN`` of the NMS threshold. A float32 implementation therefore makes the same
decisions. The check matches detections as sets: same class, IoU ≥ ``MATCH_IOU`` and a score
within ``SCORE_TOL``; order does not matter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from grader.codelabs.base import Check, CodeLab, TestCase
from grader.i18n import N_, Joined, Text, join_list
from grader.reference.detection import box_iou
from grader.reference.yolo import (
    Detections,
    decode_yolo,
    detector_raw_outputs,
    make_tiny_yolo,
    synthetic_images,
    yolo_class_scores,
    yolo_grid,
)

if TYPE_CHECKING:
    import torch

__all__ = ["LAB", "YoloDecodeLab", "check_detections", "hand_grid"]

Rng = np.random.Generator
SCORE_GAP = 2e-4  # the threshold, rounded to 4 decimals, stays ≥ 5e-5 from every score
IOU_MARGIN = 1e-4
MATCH_IOU = 0.99
SCORE_TOL = 1e-6
SHOWN = 3  # detections described per category in feedback
KEYS = ("boxes", "scores", "classes")


# --------------------------------------------------------------------------- the check


def _fmt_box(box: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in box) + "]"


def _describe(expected: Detections, k: int) -> Text:
    i, j, b = (int(v) for v in expected.cells[k])
    return Text(
        "class %(cls)d, score %(score).6f, box %(box)s (cell row %(row)d, column %(column)d, box %(b)d)",
        cls=int(expected.classes[k]), score=float(expected.scores[k]), box=_fmt_box(expected.boxes[k]),
        row=i, column=j, b=b,
    )


class _InlineList(Text):
    """Items as an inline list in the reader's language ("a, b" / 「a、b」)."""

    __slots__ = ()

    def __init__(self, items: Sequence[str]) -> None:
        super().__init__("", items=tuple(items))

    def __call__(self, lang: str) -> str:
        return join_list(self.args["items"], lang)


def _parse(got: Any) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray] | None, Check | None]:
    """The student's dict as (boxes (K, 4), scores (K,), classes (K,)), or a failing Check."""
    if not isinstance(got, Mapping):
        return None, Check.fail(
            Text("Expected a dict with keys boxes, scores, classes; got %(type)s.", type=type(got).__name__)
        )
    missing = [k for k in KEYS if k not in got]
    if missing:
        return None, Check.fail(Text("The returned dict is missing %(keys)s.", keys=_InlineList(missing)))
    arrays = []
    for key in KEYS:
        try:
            arr = np.asarray(got[key], dtype=np.float64)
        except Exception:
            return None, Check.fail(
                Text("`%(key)s`: could not read it as a numeric array (%(type)s).", key=key,
                     type=type(got[key]).__name__)
            )
        if not np.all(np.isfinite(arr)):
            return None, Check.fail(Text("`%(key)s` contains NaN or infinity.", key=key))
        arrays.append(arr)
    boxes, scores, classes = arrays
    if boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    shapes_ok = (
        boxes.ndim == 2
        and boxes.shape[1] == 4
        and scores.ndim == 1
        and classes.ndim == 1
        and len(boxes) == len(scores) == len(classes)
    )
    if not shapes_ok:
        shapes = f"boxes {boxes.shape}, scores {scores.shape}, classes {classes.shape}"
        return None, Check.fail(
            Text("Shapes must be boxes (K, 4), scores (K,), classes (K,) with the same K; got %(shapes)s.",
                 shapes=shapes)
        )
    if not np.all(classes == np.round(classes)):
        return None, Check.fail(Text("`classes` must be integer class ids."))
    return (boxes, scores, classes.astype(np.int64)), None


def check_detections(got: Any, expected: Detections) -> Check:
    """Order-insensitive: every expected detection needs a returned one of the same class with
    IoU ≥ ``MATCH_IOU`` and a score within ``SCORE_TOL``, and nothing may be left over."""
    parsed, failure = _parse(got)
    if failure is not None:
        return failure
    assert parsed is not None
    boxes, scores, classes = parsed
    iou = box_iou(expected.boxes, boxes)  # (K_expected, K_got)
    same_class = expected.classes[:, None] == classes[None, :]
    close_score = np.abs(expected.scores[:, None] - scores[None, :]) <= SCORE_TOL
    candidates = np.where(same_class & close_score & (iou >= MATCH_IOU), iou, -1.0)
    used = np.zeros(len(scores), dtype=bool)
    missing: list[int] = []
    for k in range(len(expected)):  # by descending expected score: greedy best-IoU pairing
        row = np.where(used, -1.0, candidates[k])
        if row.size and row.max() >= 0:
            used[int(np.argmax(row))] = True
        else:
            missing.append(k)
    extra = np.flatnonzero(~used).tolist()
    detail = {"expected": len(expected), "got": len(scores), "missing": len(missing), "extra": len(extra)}
    if not missing and not extra:
        return Check.ok(detail)

    # A missing and an extra detection with the same class and score: the box is what differs.
    wrong_box: list[tuple[int, int]] = []
    for k in list(missing):
        near = [
            g
            for g in extra
            if classes[g] == expected.classes[k] and abs(scores[g] - expected.scores[k]) <= SCORE_TOL
        ]
        if near:
            wrong_box.append((k, near[0]))
            missing.remove(k)
            extra.remove(near[0])
    pieces: list[Text] = [
        Text("You returned %(got)d detections, expected %(expected)d.", got=len(scores), expected=len(expected))
    ]
    if wrong_box:
        pieces.append(Text("%(n)d with the right class and score but a different box, e.g.", n=len(wrong_box)))
        for k, g in wrong_box[:SHOWN]:
            pieces.append(
                Text("got %(box)s for %(detection)s;", box=_fmt_box(boxes[g]), detection=_describe(expected, k))
            )
    if missing:
        pieces.append(Text("%(n)d missing (expected, not returned), e.g.", n=len(missing)))
        # Translators: one expected detection of a list, ended as a list item.
        pieces += [Text("%(detection)s;", detection=_describe(expected, k)) for k in missing[:SHOWN]]
    if extra:
        pieces.append(Text("%(n)d extra (returned, not expected), e.g.", n=len(extra)))
        pieces += [
            Text("class %(cls)d, score %(score).6f, box %(box)s;", cls=int(classes[g]), score=float(scores[g]),
                 box=_fmt_box(boxes[g]))
            for g in extra[:SHOWN]
        ]
    pieces.append(
        Text("(Matching: same class, IoU ≥ %(iou)s, score within %(tolerance)g; order does not matter.)",
             iou=MATCH_IOU, tolerance=SCORE_TOL)
    )
    return Check.fail(Joined(pieces), detail)


# --------------------------------------------------------------------------- inputs


def hand_grid() -> np.ndarray:
    """The statement's worked example: a 2 × 2 grid, B = 2, C = 2, for a 100 × 200 image.

    Cell (1, 0): box 0 (x = y = 0.5, √w = √h = 0.5, conf 0.9) is [25, 62.5, 75, 87.5]; box 1
    is the same shifted 5 px right (conf 0.8, IoU 0.818 with box 0); class probs (0.7, 0.3).
    Cell (0, 0), box 1: x = 0.25, y = 0.75, √w = 0.6, √h = 0.3, conf 0.7, probs (0.2, 0.8) →
    [−11, 33, 61, 42] (it sticks out of the image: no clipping). Cell (0, 1), box 0: a small box
    with conf 0.5 and probs (0.5, 0.5): score exactly 0.25 for both classes.
    """
    raw = np.zeros((2, 2, 12))
    raw[1, 0, 0:5] = [0.5, 0.5, 0.5, 0.5, 0.9]
    raw[1, 0, 5:10] = [0.55, 0.5, 0.5, 0.5, 0.8]
    raw[1, 0, 10:] = [0.7, 0.3]
    raw[0, 0, 5:10] = [0.25, 0.75, 0.6, 0.3, 0.7]
    raw[0, 0, 10:] = [0.2, 0.8]
    raw[0, 1, 0:5] = [0.0, 1.0, 0.2, 0.4, 0.5]
    raw[0, 1, 10:] = [0.5, 0.5]
    return raw


@cache
def _detector(seed: int, grid: int, num_boxes: int, num_classes: int) -> torch.nn.Module:
    return make_tiny_yolo(seed, grid=grid, num_boxes=num_boxes, num_classes=num_classes)


def _detector_output(
    image_seed: int, model_seed: int = 0, grid: int = 7, num_boxes: int = 2, num_classes: int = 3
) -> np.ndarray:
    model = _detector(model_seed, grid, num_boxes, num_classes)
    image = synthetic_images(np.random.default_rng(image_seed), 1)
    return detector_raw_outputs(model, image)[0]


def _score_threshold(scores: np.ndarray, quantile: float) -> float:
    """A threshold near ``quantile`` of ``scores`` in the middle of a gap ≥ SCORE_GAP."""
    s = np.unique(scores)  # ascending
    start = int(np.clip(np.searchsorted(s, np.quantile(scores, quantile)), 1, len(s) - 1))
    for offset in range(len(s)):
        for k in (start + offset, start - offset):  # nearest gap, either side
            if 1 <= k < len(s) and s[k] - s[k - 1] >= SCORE_GAP:
                return float(np.round((s[k] + s[k - 1]) / 2, 4))
    raise ValueError("no gap between the scores")  # impossible for a real detector output


def _iou_threshold(
    raw: np.ndarray, num_boxes: int, image_size: tuple[int, int], score_thr: float, rng: Rng
) -> float:
    """An NMS threshold from {0.3, …, 0.6} that no same-class candidate pair is close to."""
    grid = yolo_grid(raw, num_boxes, image_size)
    scores = yolo_class_scores(grid)
    cand = np.argwhere(scores > score_thr)
    boxes = grid.boxes[cand[:, 0], cand[:, 1], cand[:, 2]]
    iou = box_iou(boxes, boxes)
    same_class = cand[:, 3][:, None] == cand[:, 3][None, :]
    pair_ious = iou[same_class & ~np.eye(len(cand), dtype=bool)]
    options = rng.permutation([0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6])
    for thr in options:
        if not np.any(np.abs(pair_ious - thr) < IOU_MARGIN):
            return float(thr)
    return float(options[0]) + 0.01  # unreachable in practice; a shifted value is clear


def _case(
    name: str,
    title: str,
    points: float,
    raw: np.ndarray,
    num_boxes: int,
    image_size: tuple[int, int],
    score_thr: float,
    iou_thr: float,
    public: bool = False,
) -> TestCase:
    expected = decode_yolo(raw, num_boxes, image_size, score_thr, iou_thr)
    assert isinstance(expected, Detections)
    return TestCase(
        name=name,
        title=title,
        points=points,
        function="decode",
        args=(
            raw,
            int(num_boxes),
            (int(image_size[0]), int(image_size[1])),
            float(score_thr),
            float(iou_thr),
        ),
        check=lambda got: check_detections(got, expected),
        public=public,
    )


def _detector_case(
    name: str,
    points: float,
    rng: Rng,
    *,
    model_seed: int = 0,
    grid: int = 7,
    num_boxes: int = 2,
    num_classes: int = 3,
    public: bool = False,
) -> TestCase:
    """A detector output on a fresh synthetic image, with thresholds drawn from ``rng``.

    Images are redrawn (a handful of tries at most) until the answer is worth grading: at least
    5 detections of at least 2 classes, and NMS removing at least one candidate.
    """
    for _ in range(50):
        raw = _detector_output(int(rng.integers(0, 2**31)), model_seed, grid, num_boxes, num_classes)
        height, width = (int(v) for v in rng.integers(48, 500, size=2))
        scores = yolo_class_scores(yolo_grid(raw, num_boxes, (height, width)))
        score_thr = _score_threshold(scores.ravel(), float(rng.uniform(0.88, 0.95)))
        iou_thr = _iou_threshold(raw, num_boxes, (height, width), score_thr, rng)
        det = decode_yolo(raw, num_boxes, (height, width), score_thr, iou_thr)
        assert isinstance(det, Detections)
        if len(det) >= 5 and len(np.unique(det.classes)) >= 2 and int((scores > score_thr).sum()) > len(det):
            break
    title = (
        f"detector output: {grid} × {grid} grid, B = {num_boxes}, C = {num_classes}, image {height} × {width}, "
        f"score > {score_thr:g}, NMS IoU > {iou_thr:g}"
    )
    return _case(name, title, points, raw, num_boxes, (height, width), score_thr, iou_thr, public)


# --------------------------------------------------------------------------- the lab


class YoloDecodeLab(CodeLab):
    slug: ClassVar[str] = "yolo-decode"
    title: ClassVar[str] = N_("Decoding YOLO's output grid")
    functions: ClassVar[tuple[str, ...]] = ("decode",)

    def public_cases(self) -> list[TestCase]:
        rng = np.random.default_rng(20240607)  # fixed: public cases are shipped to students
        return [
            _case(
                "public-hand-grid",
                "the worked example: 2 × 2 grid, B = 2, C = 2, image 100 × 200",
                1,
                hand_grid(),
                2,
                (100, 200),
                0.25,
                0.5,
                public=True,
            ),
            _detector_case("public-detector", 1, rng, public=True),
        ]

    def hidden_cases(self, seed: int) -> list[TestCase]:
        rng = np.random.default_rng(seed)
        cases = [_detector_case(f"detector-{k + 1}", 2, rng) for k in range(3)]
        other_model = int(rng.integers(1, 1000))
        cases.append(
            _detector_case(
                "detector-other-shape", 1.5, rng, model_seed=other_model, grid=5, num_boxes=3, num_classes=4
            )
        )
        raw = _detector_output(int(rng.integers(0, 2**31)))
        top = float(yolo_class_scores(yolo_grid(raw, 2, 64)).max())
        cases.append(
            _case(
                "no-detections",
                "threshold above every score: nothing to report",
                0.5,
                raw,
                2,
                (64, 64),
                round(top + 0.01, 4),
                0.5,
            )
        )
        return cases


LAB = YoloDecodeLab()
