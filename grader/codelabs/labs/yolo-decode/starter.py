"""Lab: decode a YOLO-v1 output grid into detections (numpy only).

Boxes are rows [x1, y1, x2, y2] in pixels, continuous coordinates (width x2 - x1, no +1).
"""

import numpy as np


def decode(
    raw: np.ndarray,
    num_boxes: int,
    image_size: tuple[int, int],
    score_threshold: float,
    iou_threshold: float,
) -> dict:
    """Turn one image's raw YOLO output into final detections.

    raw: float array (S, S, 5B + C). raw[i, j] is the grid cell in row i (y) and column j (x).
        Channels 5b .. 5b + 4 are box b's (x, y, sqrt_w, sqrt_h, confidence):
        (x, y) = the box centre's offset inside its cell (0..1), sqrt_w, sqrt_h = square roots of
        the box width / height relative to the image. The last C channels are the cell's class
        probabilities, shared by its B boxes.
    num_boxes: B.
    image_size: (height, width) of the image in pixels.
    score_threshold: keep (box, class) pairs whose score = confidence * P(class) is > this.
    iou_threshold: per-class NMS suppresses IoU > this.

    Returns {"boxes": float (K, 4) pixel corners, "scores": float (K,), "classes": int (K,)}.
    """
    raise NotImplementedError
