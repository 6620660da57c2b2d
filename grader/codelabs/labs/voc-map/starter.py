"""Lab: PASCAL VOC mean average precision (all-point interpolation), numpy only.

Boxes are rows [x1, y1, x2, y2] in continuous coordinates: width x2 - x1 (no +1).
"""

import numpy as np  # noqa: F401 (you will need it)


def voc_map(detections, ground_truths, num_classes, iou_threshold=0.5):
    """VOC mAP of a detector's output over a set of images.

    detections: dict of arrays, one entry per detection (D of them):
        "image_id" int (D,), "class_id" int (D,), "score" float (D,), "box" float (D, 4).
    ground_truths: dict of arrays, one entry per annotated object (G of them):
        "image_id" int (G,), "class_id" int (G,), "box" float (G, 4),
        "difficult" bool (G,): difficult objects count neither as found nor as missed.
    num_classes: classes are 0 .. num_classes - 1.
    iou_threshold: a detection can only match a ground truth with IoU >= iou_threshold.

    Returns {"map": float, "ap": float array (num_classes,)}: AP per class (NaN for a class with
    no non-difficult ground truth) and their mean over the classes that have one.
    """
    raise NotImplementedError
