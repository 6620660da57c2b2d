"""Detector building blocks in numpy: box formats, box deltas, YOLO-v1 grid decoding, RoI pooling.

Plus a tiny seeded torch detector whose raw outputs feed the ``yolo-decode`` lab. numpy is the
only import at module level; torch is imported when the detector is built.

Conventions (boxes as in ``grader/CONVENTIONS.md``):

* **Corners** ``[x1, y1, x2, y2]`` in continuous coordinates, width ``x2 − x1`` (no ``+ 1``);
  **centre form** ``[cx, cy, w, h]`` with ``cx = (x1 + x2) / 2`` and ``w = x2 − x1``. Both
  conversions act on the last axis of any ``(..., 4)`` array and are exact inverses up to
  rounding.
* **Box deltas** (R-CNN / Fast / Faster R-CNN): for a proposal ``P`` and a target ``G``, both in
  centre form, and weights ``(wx, wy, ww, wh)`` (default all 1; Faster R-CNN uses
  ``(10, 10, 5, 5)``)::

      dx = wx (gx − px) / pw      dy = wy (gy − py) / ph
      dw = ww log(gw / pw)        dh = wh log(gh / ph)

  :func:`decode_box_deltas` inverts :func:`encode_box_deltas` exactly (``gw = pw exp(dw / ww)``).
  Encoding needs boxes of positive width and height (the logarithm).
* **YOLO-v1 grid.** One image's raw output has shape ``(S, S, 5B + C)`` (a batch
  ``(N, S, S, 5B + C)``); ``raw[i, j]`` is the grid cell in row ``i`` (y, downwards) and column
  ``j`` (x, rightwards). Channels ``5b … 5b + 4`` are box ``b``'s ``(x, y, √w, √h, confidence)``
  and the last ``C`` channels are the cell's class probabilities ``P(class | object)``, shared by
  its ``B`` boxes. As in the YOLO v1 paper:

  - ``(x, y)`` is the box centre's offset inside its cell, in cell units (0 … 1 within the cell):
    ``cx = (j + x) / S · W`` and ``cy = (i + y) / S · H`` for an image of ``H × W`` pixels;
  - the network predicts the **square root** of the box size relative to the image (the paper
    regresses ``√w``, ``√h`` so that errors on small boxes weigh more), so ``w = (√w)² · W`` and
    ``h = (√h)² · H``; a negative raw value is squared too (no clamping);
  - the class-specific score of box ``b`` for class ``c`` is ``confidence_b × P(c | object)``.
    Every (box, class) pair is a candidate: a box can be reported for two classes.

  :func:`decode_yolo` keeps candidates whose score is **strictly greater** than
  ``score_threshold`` (darknet's and torchvision's ``>``), runs NMS per class
  (:func:`grader.reference.detection.nms`: suppress IoU ``>`` threshold, stable ties) and returns
  the survivors by descending score, ties in candidate order ``(i, j, b, c)`` row-major. Boxes
  are not clipped to the image. Rectangular grids ``(S_rows, S_cols, …)`` work the same way.
* **RoI max pooling** (Fast R-CNN, same rule as ``torchvision.ops.roi_pool``): RoI corners are
  multiplied by ``spatial_scale`` and rounded to the nearest integer (halves away from zero);
  unlike boxes, the rounded corners are *inclusive* cell indices, so the RoI spans
  ``n = max(x2 − x1 + 1, 1)`` columns (and likewise rows). Output bin ``k`` of ``m`` along an
  axis covers ``[x1 + ⌊k n / m⌋, x1 + ⌈(k + 1) n / m⌉)`` — bins overlap when ``n`` is not a
  multiple of ``m`` and repeat cells when ``n < m`` (exactly ``adaptive_max_pool2d``'s rule,
  computed in integers). Bins are clipped to the feature map; an empty bin gives 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .detection import nms

if TYPE_CHECKING:
    import torch

__all__ = [
    "BBOX_DELTA_WEIGHTS_FASTER_RCNN",
    "Detections",
    "YoloGrid",
    "batched_nms",
    "corners_to_centre",
    "centre_to_corners",
    "decode_box_deltas",
    "decode_yolo",
    "detector_raw_outputs",
    "encode_box_deltas",
    "make_tiny_yolo",
    "roi_pool",
    "synthetic_images",
    "yolo_class_scores",
    "yolo_grid",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: The ``(wx, wy, ww, wh)`` that Faster R-CNN (and torchvision's detection heads) divide by.
BBOX_DELTA_WEIGHTS_FASTER_RCNN: tuple[float, float, float, float] = (10.0, 10.0, 5.0, 5.0)


# --------------------------------------------------------------------------- box formats


def _as_box_array(boxes: ArrayLike, name: str) -> FloatArray:
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim == 0 or arr.shape[-1] != 4:
        raise ValueError(f"{name} must have shape (..., 4), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite coordinates")
    return arr


def corners_to_centre(boxes: ArrayLike) -> FloatArray:
    """``[x1, y1, x2, y2]`` → ``[cx, cy, w, h]`` on the last axis (any leading shape)."""
    b = _as_box_array(boxes, "boxes")
    x1, y1, x2, y2 = np.moveaxis(b, -1, 0)
    return np.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], axis=-1)


def centre_to_corners(boxes: ArrayLike) -> FloatArray:
    """``[cx, cy, w, h]`` → ``[x1, y1, x2, y2]`` on the last axis (any leading shape)."""
    b = _as_box_array(boxes, "boxes")
    cx, cy, w, h = np.moveaxis(b, -1, 0)
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)


# --------------------------------------------------------------------------- box deltas


def _delta_weights(weights: Sequence[float]) -> FloatArray:
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (4,) or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError(f"weights must be 4 positive numbers (wx, wy, ww, wh), got {weights!r}")
    return w


def _positive_sizes(centre: FloatArray, name: str) -> None:
    if np.any(centre[..., 2:] <= 0):
        raise ValueError(f"{name} must have positive width and height (x2 > x1, y2 > y1)")


def encode_box_deltas(
    proposals: ArrayLike, targets: ArrayLike, weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0)
) -> FloatArray:
    """Regression targets ``(dx, dy, dw, dh)`` that move each proposal onto its target box.

    ``proposals`` and ``targets`` are corner boxes of the same shape ``(..., 4)``; see the module
    docstring for the formula. Both need positive width and height.
    """
    p = corners_to_centre(proposals)
    g = corners_to_centre(targets)
    if p.shape != g.shape:
        raise ValueError(f"proposals {p.shape} and targets {g.shape} must have the same shape")
    _positive_sizes(p, "proposals")
    _positive_sizes(g, "targets")
    wx, wy, ww, wh = _delta_weights(weights)
    return np.stack(
        [
            wx * (g[..., 0] - p[..., 0]) / p[..., 2],
            wy * (g[..., 1] - p[..., 1]) / p[..., 3],
            ww * np.log(g[..., 2] / p[..., 2]),
            wh * np.log(g[..., 3] / p[..., 3]),
        ],
        axis=-1,
    )


def decode_box_deltas(
    proposals: ArrayLike,
    deltas: ArrayLike,
    weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0),
    max_log_scale: float | None = None,
) -> FloatArray:
    """Apply regression deltas ``(..., 4)`` to corner-box proposals ``(..., 4)`` → corner boxes.

    The exact inverse of :func:`encode_box_deltas`. ``max_log_scale`` optionally caps
    ``dw / ww`` and ``dh / wh`` before the exponential, as torchvision does with
    ``log(1000 / 16)`` to keep an untrained head from producing huge boxes; the default (None)
    does not clamp, so decoding stays the inverse of encoding.
    """
    p = corners_to_centre(proposals)
    d = np.asarray(deltas, dtype=np.float64)
    if d.shape != p.shape:
        raise ValueError(f"deltas {d.shape} must have the proposals' shape {p.shape}")
    if not np.all(np.isfinite(d)):
        raise ValueError("deltas contain NaN or infinite values")
    _positive_sizes(p, "proposals")
    wx, wy, ww, wh = _delta_weights(weights)
    log_w, log_h = d[..., 2] / ww, d[..., 3] / wh
    if max_log_scale is not None:
        log_w, log_h = np.minimum(log_w, max_log_scale), np.minimum(log_h, max_log_scale)
    centre = np.stack(
        [
            p[..., 0] + d[..., 0] / wx * p[..., 2],
            p[..., 1] + d[..., 1] / wy * p[..., 3],
            p[..., 2] * np.exp(log_w),
            p[..., 3] * np.exp(log_h),
        ],
        axis=-1,
    )
    return centre_to_corners(centre)


# --------------------------------------------------------------------------- YOLO v1 decoding


@dataclass(frozen=True)
class YoloGrid:
    """One image's raw YOLO output split into pixel boxes, confidences and class probabilities."""

    boxes: FloatArray  # (S_rows, S_cols, B, 4) corners in pixels
    confidence: FloatArray  # (S_rows, S_cols, B)
    class_probs: FloatArray  # (S_rows, S_cols, C), shared by the cell's B boxes


@dataclass(frozen=True)
class Detections:
    """What a detector reports for one image, by descending score."""

    boxes: FloatArray  # (K, 4) corners in pixels
    scores: FloatArray  # (K,) class-specific scores
    classes: IntArray  # (K,) class ids 0 … C − 1
    cells: IntArray  # (K, 3) where each came from: (row i, column j, box slot b)

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def as_dict(self) -> dict[str, np.ndarray]:
        """The ``{"boxes", "scores", "classes"}`` dict the ``yolo-decode`` lab asks for."""
        return {"boxes": self.boxes, "scores": self.scores, "classes": self.classes}


def _image_size(image_size: int | float | Sequence[float]) -> tuple[float, float]:
    if isinstance(image_size, (int, float, np.integer, np.floating)):
        height = width = float(image_size)
    else:
        if len(image_size) != 2:
            raise ValueError(f"image_size must be (height, width), got {image_size!r}")
        height, width = (float(v) for v in image_size)
    if not (np.isfinite(height) and np.isfinite(width) and height > 0 and width > 0):
        raise ValueError(f"image_size must be positive, got {image_size!r}")
    return height, width


def _yolo_raw(raw: ArrayLike, num_boxes: int) -> FloatArray:
    arr = np.asarray(raw, dtype=np.float64)
    b = int(num_boxes)
    if b < 1:
        raise ValueError(f"num_boxes must be >= 1, got {num_boxes!r}")
    if arr.ndim not in (3, 4) or arr.shape[-1] <= 5 * b:
        raise ValueError(
            f"raw must have shape (S, S, 5B + C) or (N, S, S, 5B + C) with B = {b} and C >= 1, got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError("raw contains NaN or infinite values")
    return arr


def yolo_grid(raw: ArrayLike, num_boxes: int, image_size: int | float | Sequence[float]) -> YoloGrid:
    """Split one image's raw ``(S_rows, S_cols, 5B + C)`` output into pixel boxes and scores.

    ``image_size`` is ``(height, width)`` in pixels (one number for a square image). See the
    module docstring for the layout and the √w, √h convention.
    """
    arr = _yolo_raw(raw, num_boxes)
    if arr.ndim != 3:
        raise ValueError(f"yolo_grid decodes one image (S, S, 5B + C), got {arr.shape}")
    height, width = _image_size(image_size)
    rows, cols, _ = arr.shape
    b = int(num_boxes)
    per_box = arr[..., : 5 * b].reshape(rows, cols, b, 5)
    # Cell indices broadcast over the B boxes: column j moves x, row i moves y.
    col = np.arange(cols, dtype=np.float64)[None, :, None]
    row = np.arange(rows, dtype=np.float64)[:, None, None]
    cx = (col + per_box[..., 0]) / cols * width
    cy = (row + per_box[..., 1]) / rows * height
    w = per_box[..., 2] ** 2 * width  # the network predicts sqrt(w / W)
    h = per_box[..., 3] ** 2 * height
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)
    return YoloGrid(boxes=boxes, confidence=per_box[..., 4].copy(), class_probs=arr[..., 5 * b :].copy())


def yolo_class_scores(grid: YoloGrid) -> FloatArray:
    """Class-specific scores ``confidence × P(class | object)``, shape ``(S_rows, S_cols, B, C)``."""
    return grid.confidence[..., :, None] * grid.class_probs[..., None, :]


def batched_nms(boxes: ArrayLike, scores: ArrayLike, classes: ArrayLike, iou_threshold: float) -> IntArray:
    """NMS run separately per class; kept indices by descending score (ties: lower index first).

    Boxes of different classes never suppress each other. Within a class the rule is
    :func:`grader.reference.detection.nms` (IoU strictly greater than the threshold suppresses).
    """
    s = np.asarray(scores, dtype=np.float64)
    cls = np.asarray(classes)
    if cls.shape != s.shape:
        raise ValueError(f"classes {cls.shape} must have the scores' shape {s.shape}")
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    kept: list[int] = []
    for c in np.unique(cls):
        members = np.flatnonzero(cls == c)
        kept.extend(members[nms(b[members], s[members], iou_threshold)].tolist())
    keep = np.asarray(kept, dtype=np.int64)
    # lexsort's last key is the primary one: descending score, then ascending index.
    return keep[np.lexsort((keep, -s[keep]))]


def _decode_one(
    raw: FloatArray, num_boxes: int, image_size: Any, score_threshold: float, iou_threshold: float
) -> Detections:
    grid = yolo_grid(raw, num_boxes, image_size)
    scores = yolo_class_scores(grid)  # (S_rows, S_cols, B, C)
    cand = np.argwhere(scores > score_threshold)  # row-major (i, j, b, c), the tie order
    cand_scores = scores[tuple(cand.T)]
    cand_boxes = grid.boxes[cand[:, 0], cand[:, 1], cand[:, 2]]
    keep = batched_nms(cand_boxes, cand_scores, cand[:, 3], iou_threshold)
    return Detections(
        boxes=cand_boxes[keep].reshape(-1, 4),
        scores=cand_scores[keep],
        classes=cand[keep, 3].astype(np.int64),
        cells=cand[keep, :3].astype(np.int64).reshape(-1, 3),
    )


def decode_yolo(
    raw: ArrayLike,
    num_boxes: int,
    image_size: int | float | Sequence[float],
    score_threshold: float,
    iou_threshold: float,
) -> Detections | list[Detections]:
    """Raw YOLO-v1 output → detections: decode, threshold the class scores, NMS per class.

    ``raw`` is ``(S, S, 5B + C)`` for one image (→ one :class:`Detections`) or
    ``(N, S, S, 5B + C)`` for a batch (→ a list, one per image); ``image_size`` is
    ``(height, width)`` in pixels. A candidate survives the threshold when its score is strictly
    greater than ``score_threshold``; see the module docstring for every rule.
    """
    arr = _yolo_raw(raw, num_boxes)
    thr = float(score_threshold)
    if not np.isfinite(thr):
        raise ValueError(f"score_threshold must be finite, got {score_threshold!r}")
    if not 0.0 <= float(iou_threshold) <= 1.0:  # checked here too: nms never runs without candidates
        raise ValueError(f"iou_threshold must be in [0, 1], got {iou_threshold!r}")
    if arr.ndim == 3:
        return _decode_one(arr, num_boxes, image_size, thr, iou_threshold)
    return [_decode_one(a, num_boxes, image_size, thr, iou_threshold) for a in arr]


# --------------------------------------------------------------------------- RoI max pooling


def _round_half_away(x: FloatArray) -> IntArray:
    # C's round(): 2.5 -> 3, -2.5 -> -3 (numpy's np.round would give 2 and -2).
    return (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(np.int64)


def _bin_edges(start: int, length: int, bins: int, limit: int) -> tuple[IntArray, IntArray]:
    """Bin k of ``bins`` over ``length`` cells from ``start``, clipped to ``[0, limit)``."""
    k = np.arange(bins, dtype=np.int64)
    lo = start + (k * length) // bins  # floor(k n / m), exact in integers
    hi = start - ((-(k + 1) * length) // bins)  # ceil((k + 1) n / m)
    return np.clip(lo, 0, limit), np.clip(hi, 0, limit)


def roi_pool(
    features: ArrayLike,
    rois: ArrayLike,
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
) -> FloatArray:
    """Fast R-CNN RoI max pooling of ``features`` ``(C, H, W)`` → ``(R, C, out_h, out_w)``.

    ``rois`` is ``(R, 4)`` as ``[x1, y1, x2, y2]`` in image coordinates; ``spatial_scale`` maps
    them onto the feature map (1.0: already in feature cells, 1/16 for a VGG conv5 map). The
    bin rule is in the module docstring; it equals ``torchvision.ops.roi_pool`` and, for a RoI
    inside the map, ``adaptive_max_pool2d`` of the RoI's crop.
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"features must have shape (C, H, W), got {x.shape}")
    r = np.asarray(rois, dtype=np.float64)
    if r.ndim == 1 and r.size == 0:
        r = r.reshape(0, 4)
    if r.ndim != 2 or r.shape[1] != 4:
        raise ValueError(f"rois must have shape (R, 4) as [x1, y1, x2, y2], got {r.shape}")
    if not np.all(np.isfinite(r)):
        raise ValueError("rois contain NaN or infinite coordinates")
    out_h, out_w = (output_size, output_size) if isinstance(output_size, (int, np.integer)) else output_size
    out_h, out_w = int(out_h), int(out_w)
    if out_h < 1 or out_w < 1:
        raise ValueError(f"output_size must be >= 1, got {output_size!r}")
    scale = float(spatial_scale)
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"spatial_scale must be a positive number, got {spatial_scale!r}")
    channels, height, width = x.shape
    corners = _round_half_away(r * scale)
    out = np.zeros((r.shape[0], channels, out_h, out_w), dtype=np.float64)
    for n, (x1, y1, x2, y2) in enumerate(corners.tolist()):
        # Inclusive corners: a RoI from column 2 to column 5 covers 4 columns.
        y_lo, y_hi = _bin_edges(y1, max(y2 - y1 + 1, 1), out_h, height)
        x_lo, x_hi = _bin_edges(x1, max(x2 - x1 + 1, 1), out_w, width)
        for i in range(out_h):
            if y_hi[i] <= y_lo[i]:
                continue  # empty after clipping: stays 0, as torchvision
            for j in range(out_w):
                if x_hi[j] > x_lo[j]:
                    out[n, :, i, j] = x[:, y_lo[i] : y_hi[i], x_lo[j] : x_hi[j]].max(axis=(1, 2))
    return out


# --------------------------------------------------------------------------- a tiny detector


@cache
def _tiny_yolo_class() -> type[torch.nn.Module]:
    # Defined on first use so that importing this module never imports torch.
    import torch
    from torch import nn

    class TinyYolo(nn.Module):
        """Three stride-2 convs → adaptive average pool to the grid → 1 × 1 conv head.

        ``forward`` returns ``(N, S, S, 5B + C)``: sigmoid on every box channel (x, y, √w, √h,
        confidence, so the decoded width is at most the image width) and softmax over classes.
        """

        def __init__(
            self, grid: int, num_boxes: int, num_classes: int, channels: tuple[int, int, int]
        ) -> None:
            super().__init__()
            c1, c2, c3 = channels
            self.grid, self.num_boxes, self.num_classes = grid, num_boxes, num_classes
            self.features = nn.Sequential(
                nn.Conv2d(3, c1, 3, stride=2, padding=1),
                nn.LeakyReLU(0.1),
                nn.Conv2d(c1, c2, 3, stride=2, padding=1),
                nn.LeakyReLU(0.1),
                nn.Conv2d(c2, c3, 3, stride=2, padding=1),
                nn.LeakyReLU(0.1),
                nn.AdaptiveAvgPool2d(grid),
            )
            self.head = nn.Conv2d(c3, 5 * num_boxes + num_classes, 1)

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            t = self.head(self.features(images)).permute(0, 2, 3, 1)  # (N, S, S, 5B + C)
            n_box = 5 * self.num_boxes
            return torch.cat([torch.sigmoid(t[..., :n_box]), torch.softmax(t[..., n_box:], dim=-1)], dim=-1)

    return TinyYolo


#: Per channel kind, the (mean, std) that :func:`make_tiny_yolo` calibrates the head's
#: pre-activations to: centres anywhere in their cell, √w ≈ sigmoid(0.5) ≈ 0.62 (boxes about 0.4
#: of the image, 2–4 cells of a 7-grid, so neighbours overlap), varied confidences, peaked classes.
_HEAD_TARGETS: dict[str, tuple[float, float]] = {
    "xy": (0.0, 1.2),
    "size": (0.5, 0.6),
    "confidence": (0.0, 1.5),
    "classes": (0.0, 1.5),
}


def make_tiny_yolo(
    seed: int = 0,
    *,
    grid: int = 7,
    num_boxes: int = 2,
    num_classes: int = 3,
    channels: tuple[int, int, int] = (8, 16, 32),
    image_size: int = 64,
) -> torch.nn.Module:
    """A tiny YOLO-v1-shaped detector (64 × 64 inputs: a forward pass takes milliseconds).

    It is untrained: its "detections" are arbitrary but deterministic and realistic in shape.
    Weights depend on ``seed`` only (drawn from ``numpy.random.default_rng(seed)``, not torch's
    RNG): He-normal convs with zero bias and a random 1 × 1 head. The head is then calibrated
    on 16 :func:`synthetic_images` (from the same seed): each output channel's weights and bias
    are rescaled so that its pre-activation has the mean and spread of ``_HEAD_TARGETS`` over
    those images. Without this, the positive mean of the LeakyReLU features pushes every cell
    towards the same class and box size.
    """
    import torch

    with torch.random.fork_rng(devices=[]):  # the layers' default init would use torch's RNG
        model = _tiny_yolo_class()(grid, num_boxes, num_classes, channels)
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for conv in (m for m in model.features if isinstance(m, torch.nn.Conv2d)):
            fan_in = conv.weight[0].numel()
            conv.weight.copy_(torch.from_numpy(rng.normal(0.0, np.sqrt(2.0 / fan_in), conv.weight.shape)))
            conv.bias.zero_()
        head = model.head
        head.weight.copy_(torch.from_numpy(rng.normal(0.0, 1.0, head.weight.shape)))
        head.bias.zero_()
        calibration = torch.from_numpy(synthetic_images(rng, 16, image_size))
        pre = head(model.features(calibration)).double()  # (16, D, S, S)
        mean, std = pre.mean(dim=(0, 2, 3)).numpy(), pre.std(dim=(0, 2, 3)).numpy()
        kinds = ["xy", "xy", "size", "size", "confidence"] * num_boxes + ["classes"] * num_classes
        target_mean = np.array([_HEAD_TARGETS[k][0] for k in kinds])
        target_std = np.array([_HEAD_TARGETS[k][1] for k in kinds])
        scale = target_std / np.maximum(std, 1e-12)
        head.weight.mul_(torch.from_numpy(scale).float()[:, None, None, None])
        head.bias.copy_(torch.from_numpy(target_mean - mean * scale))
    return model.eval()


def synthetic_images(rng: np.random.Generator, count: int, size: int = 64) -> NDArray[np.float32]:
    """``count`` RGB images ``(count, 3, size, size)`` in [0, 1]: a noisy background with 2–5
    coloured rectangles, so the detector sees spatial structure rather than uniform noise."""
    images = np.empty((count, 3, size, size), dtype=np.float32)
    for n in range(count):
        img = rng.uniform(0.0, 0.3, size=(3, 1, 1)) + rng.normal(0.0, 0.05, size=(3, size, size))
        for _ in range(int(rng.integers(2, 6))):
            x1, y1 = rng.integers(0, size - 8, size=2)
            w, h = rng.integers(8, size // 2, size=2)
            img[:, y1 : y1 + h, x1 : x1 + w] = rng.uniform(0.0, 1.0, size=(3, 1, 1))
        images[n] = np.clip(img, 0.0, 1.0)
    return images


def detector_raw_outputs(model: torch.nn.Module, images: ArrayLike, decimals: int | None = 6) -> FloatArray:
    """Run ``model`` on ``images`` ``(N, 3, H, W)`` → raw outputs ``(N, S, S, 5B + C)`` in float64.

    Rounded to ``decimals`` (default 6) so that what a lab hands out prints compactly and is the
    exact input the expected answer was computed from.
    """
    import torch

    with torch.no_grad():
        out = model(torch.as_tensor(np.asarray(images, dtype=np.float32))).double().numpy()
    return np.round(out, decimals) if decimals is not None else out
