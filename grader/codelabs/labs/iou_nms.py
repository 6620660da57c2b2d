"""Lab ``iou-nms``: pairwise box IoU and greedy non-maximum suppression in numpy.

Expected values come from :mod:`grader.reference.detection` (``box_iou``, ``nms``; conventions in
``grader/CONVENTIONS.md``: no ``+1``, empty boxes have IoU 0, NMS suppresses IoU strictly above
the threshold, equal scores keep input order). Hidden cases: random boxes, degenerate and
inverted boxes, identical boxes, empty inputs, IoU exactly at the threshold built from integer
boxes (so the ``>`` rule decides), and scores with many ties (so the stable order decides).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from grader.codelabs.base import Check, CodeLab, TestCase
from grader.codelabs.checks import expect_array
from grader.i18n import N_, Text
from grader.reference.detection import box_iou, nms

__all__ = ["LAB", "IouNmsLab", "check_keep"]

Rng = np.random.Generator
#: Exact IoU ties from integer boxes: (threshold, w1, w2, overlap) with overlap / (w1 + w2 − overlap)
#: equal to the threshold as a float (integer areas make the division correctly rounded), and the
#: shift s of a chain of 10-wide boxes: IoU (10 − s) / (10 + s) of neighbours is above the
#: threshold, (10 − 2s) / (10 + 2s) of the two ends is not.
EXACT_TIES: tuple[tuple[float, int, int, int, int], ...] = (
    (1 / 3, 4, 4, 2, 4),
    (0.5, 6, 6, 4, 3),
    (0.6, 8, 8, 6, 2),
)
#: Random cases redraw until no IoU is this close to the threshold (only the edge case has ties).
MARGIN = 1e-6
SHOWN = 12  # indices listed in feedback before "…"


def _fmt_indices(indices: list[int]) -> str:
    shown = ", ".join(map(str, indices[:SHOWN]))
    return f"[{shown}{', …' if len(indices) > SHOWN else ''}]"


def check_keep(got: Any, expected: np.ndarray) -> Check:
    """Kept indices: same indices in the same order; feedback names missing and extra ones."""
    if got is None:
        return Check.fail(Text("`nms`: your function returned None."))
    try:
        arr = np.asarray(got)
    except Exception:
        arr = np.asarray([], dtype=object)
    numeric = arr.dtype != object and (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_)
    if not numeric or arr.ndim != 1:
        # Not a flat list of numbers: expect_array explains dtype/shape problems.
        return expect_array(got, expected, name="keep", integer=True)
    if arr.size and (not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr))):
        return expect_array(got, expected, name="keep", integer=True)
    kept = [int(v) for v in arr]
    want = [int(v) for v in expected]
    if kept == want:
        return Check.ok({"kept": kept})
    detail = {"got": kept, "expected": want}
    missing = [i for i in want if i not in kept]
    extra = [i for i in kept if i not in want]
    if not missing and not extra and len(kept) == len(want):
        return Check.fail(
            Text("`nms`: the right boxes are kept but in the wrong order: got %(got)s, expected %(expected)s. "
                 "Return them by descending score; equal scores in input order (lower index first).",
                 got=_fmt_indices(kept), expected=_fmt_indices(want)),
            detail,
        )
    counts = {"kept": len(kept), "expected": len(want)}
    if missing and extra:
        message = Text("`nms`: kept %(kept)d boxes, expected %(expected)d; boxes that should be kept but were "
                       "not: %(missing)s; boxes kept that should be suppressed: %(extra)s.",
                       **counts, missing=_fmt_indices(missing), extra=_fmt_indices(extra))
    elif missing:
        message = Text("`nms`: kept %(kept)d boxes, expected %(expected)d; boxes that should be kept but were "
                       "not: %(missing)s.", **counts, missing=_fmt_indices(missing))
    elif extra:
        message = Text("`nms`: kept %(kept)d boxes, expected %(expected)d; boxes kept that should be "
                       "suppressed: %(extra)s.", **counts, extra=_fmt_indices(extra))
    else:
        message = Text("`nms`: kept %(kept)d boxes, expected %(expected)d; some indices are repeated.", **counts)
    return Check.fail(message, detail)


def _iou_case(
    name: str, title: str, points: float, a: np.ndarray, b: np.ndarray, public: bool = False
) -> TestCase:
    expected = box_iou(a, b)
    return TestCase(
        name=name,
        title=title,
        points=points,
        function="box_iou",
        args=(a, b),
        check=lambda got: expect_array(got, expected, name="iou", rtol=1e-6, atol=1e-9),
        public=public,
    )


def _nms_case(
    name: str,
    title: str,
    points: float,
    boxes: np.ndarray,
    scores: np.ndarray,
    thr: float,
    public: bool = False,
) -> TestCase:
    expected = nms(boxes, scores, thr)
    return TestCase(
        name=name,
        title=title,
        points=points,
        function="nms",
        args=(boxes, scores, float(thr)),
        check=lambda got: check_keep(got, expected),
        public=public,
    )


# --------------------------------------------------------------------------- random scenes


def _random_boxes(rng: Rng, n: int, extent: float = 100.0) -> np.ndarray:
    xy = rng.uniform(0, extent * 0.8, size=(n, 2))
    wh = rng.uniform(2, extent * 0.4, size=(n, 2))
    return np.round(np.concatenate([xy, xy + wh], axis=1), 2)


def _clustered_boxes(rng: Rng, clusters: int, per_cluster: tuple[int, int]) -> np.ndarray:
    """Groups of jittered copies of a few boxes: what a detector emits around each object."""
    groups = []
    for centre in _random_boxes(rng, clusters, extent=200.0):
        k = int(rng.integers(per_cluster[0], per_cluster[1] + 1))
        size = np.tile(centre[2:] - centre[:2], 2)
        jitter = rng.normal(0, 0.12, size=(k, 4)) * size
        groups.append(centre + jitter)
    boxes = np.concatenate(groups)
    boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1.0)  # keep them non-empty
    return np.round(boxes[rng.permutation(len(boxes))], 2)


def _clear_of_threshold(boxes: np.ndarray, thr: float) -> bool:
    iou = box_iou(boxes, boxes)
    off_diagonal = ~np.eye(len(boxes), dtype=bool)
    return not np.any(np.abs(iou[off_diagonal] - thr) < MARGIN)


def _degenerate_boxes(rng: Rng) -> tuple[np.ndarray, np.ndarray]:
    """Zero-width, zero-height, inverted and point boxes, identical copies, edge-touching pairs."""
    base = rng.integers(0, 20, size=(4, 2)).astype(np.float64)
    size = rng.integers(1, 10, size=(4, 2)).astype(np.float64)
    normal = np.concatenate([base, base + size], axis=1)
    x, y = base[0]
    w, h = size[0]
    odd = np.array(
        [
            [x, y, x, y + h],  # zero width
            [x, y, x + w, y],  # zero height
            [x + w, y + h, x, y],  # inverted both ways
            [x + w, y, x, y + h],  # inverted in x only: a naive area is negative
            [x, y, x, y],  # a point
            [x + w, y, x + 2 * w, y + h],  # touches normal[0] along its right edge
        ]
    )
    a = np.concatenate([normal, odd[:3]])
    b = np.concatenate([normal[rng.permutation(4)], odd[3:], normal[:1], odd[:1]])  # copies too
    return a[rng.permutation(len(a))], b[rng.permutation(len(b))]


def _threshold_edge_scene(rng: Rng) -> tuple[np.ndarray, np.ndarray, float]:
    """Pairs at exactly the threshold (survive), one unit more overlap (suppressed), a chain in
    which a suppressed box must not suppress its neighbour, duplicates and empty boxes."""
    thr, w1, w2, overlap, shift = EXACT_TIES[int(rng.integers(len(EXACT_TIES)))]
    boxes: list[list[float]] = []
    scores: list[float] = []
    x = 0.0
    height = float(rng.integers(2, 6))
    for extra, pair_scores in ((0, [0.9, 0.8]), (1, [0.7, 0.5])):  # IoU == thr, then IoU > thr
        start = x + w1 - overlap - extra
        boxes += [[x, 0, x + w1, height], [start, 0, start + w2, height]]
        scores += pair_scores
        x += 100
    # Chain A (best) – B – C along x: IoU(A, B), IoU(B, C) > thr >= IoU(A, C), so C survives.
    boxes += [[x + k * shift, 0, x + k * shift + 10, 10] for k in range(3)]
    scores += [0.95, 0.85, 0.75]
    x += 100
    boxes += [[x, 0, x + 10, 10]] * 2  # identical: the second (lower score) goes
    scores += [0.65, 0.6]
    boxes += [[x, 0, x, 10], [x + 5, 5, x + 2, 8]]  # empty boxes: kept, suppress nothing
    scores += [0.99, 0.55]
    order = rng.permutation(len(boxes))
    return np.asarray(boxes, dtype=np.float64)[order], np.asarray(scores)[order], thr


# --------------------------------------------------------------------------- the lab


class IouNmsLab(CodeLab):
    slug: ClassVar[str] = "iou-nms"
    title: ClassVar[str] = N_("Box IoU and non-maximum suppression")
    functions: ClassVar[tuple[str, ...]] = ("box_iou", "nms")

    def public_cases(self) -> list[TestCase]:
        a = np.array([[0, 0, 2, 2], [1, 1, 3, 3], [0, 0, 4, 4]], dtype=np.float64)
        b = np.array([[0, 0, 2, 2], [2, 0, 4, 2], [1, 0, 2, 4]], dtype=np.float64)
        # The chain and tie of the by-hand family: keep [3, 1, 2, 4] (IoU 0.5 == threshold survives).
        boxes = np.array(
            [[3, 0, 13, 10], [0, 0, 10, 10], [6, 0, 16, 10], [20, 0, 26, 2], [22, 0, 28, 2]], dtype=np.float64
        )
        scores = np.array([0.8, 0.9, 0.7, 0.95, 0.6])
        return [
            _iou_case(
                "public-iou", "3 × 3 boxes by hand (identical, touching, nested)", 1, a, b, public=True
            ),
            _nms_case(
                "public-nms",
                "5 boxes, threshold 0.5 (one pair exactly at 0.5)",
                1,
                boxes,
                scores,
                0.5,
                public=True,
            ),
        ]

    def hidden_cases(self, seed: int) -> list[TestCase]:
        rng = np.random.default_rng(seed)
        n, m = int(rng.integers(4, 9)), int(rng.integers(3, 8))
        a_deg, b_deg = _degenerate_boxes(rng)
        empty_m = int(rng.integers(1, 5))

        thr = float(np.round(rng.uniform(0.3, 0.7), 2))
        while True:
            clustered = _clustered_boxes(rng, int(rng.integers(3, 6)), (2, 8))
            if _clear_of_threshold(clustered, thr):
                break
        scores = np.round(rng.uniform(0.05, 1.0, size=len(clustered)), 4)

        tie_thr = float(rng.choice([0.3, 0.4, 0.5]))
        while True:
            tie_boxes = _clustered_boxes(rng, int(rng.integers(4, 7)), (4, 8))
            if _clear_of_threshold(tie_boxes, tie_thr):
                break
        tie_scores = rng.choice([0.9, 0.75, 0.6], size=len(tie_boxes))

        edge_boxes, edge_scores, edge_thr = _threshold_edge_scene(rng)
        return [
            _iou_case(
                "iou-random", f"random boxes, {n} × {m}", 1.5, _random_boxes(rng, n), _random_boxes(rng, m)
            ),
            _iou_case(
                "iou-degenerate", "empty, inverted and identical boxes; touching edges", 1.5, a_deg, b_deg
            ),
            _iou_case(
                "iou-no-boxes",
                f"no boxes on one side: (0, 4) × ({empty_m}, 4)",
                0.5,
                np.zeros((0, 4)),
                _random_boxes(rng, empty_m),
            ),
            _nms_case(
                "nms-clusters",
                f"{len(clustered)} boxes in clusters, threshold {thr:g}",
                1.5,
                clustered,
                scores,
                thr,
            ),
            _nms_case(
                "nms-ties",
                f"{len(tie_boxes)} boxes, many equal scores, threshold {tie_thr:g}",
                1.5,
                tie_boxes,
                tie_scores,
                tie_thr,
            ),
            _nms_case(
                "nms-edges",
                "IoU exactly at the threshold, chains, duplicates, empty boxes",
                1,
                edge_boxes,
                edge_scores,
                edge_thr,
            ),
            _nms_case("nms-no-boxes", "no boxes at all", 0.5, np.zeros((0, 4)), np.zeros(0), 0.5),
        ]


LAB = IouNmsLab()
