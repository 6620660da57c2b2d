"""Lab: the forward pass of a small CNN in numpy.

Write ``cnn_forward``. Use numpy only. The network (all layers channels-first, like torch):

    conv1 (3 × 3, padding 1) → ReLU → 2 × 2 max-pool
    conv2 (3 × 3, padding 1) → ReLU → 2 × 2 max-pool
    flatten → fc (fully connected)
"""

import numpy as np


def cnn_forward(state: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Logits of the CNN for a batch of one-channel images.

    Args:
        state: the weights, named like a torch state dict:
            "conv1.weight" (C1, 1, 3, 3), "conv1.bias" (C1,),
            "conv2.weight" (C2, C1, 3, 3), "conv2.bias" (C2,),
            "fc.weight" (K, C2 * H4 * W4), "fc.bias" (K,),
            where H4 = (H // 2) // 2 and W4 = (W // 2) // 2. Read C1, C2 and K from the shapes.
        x: images, shape (N, 1, H, W).

    Returns:
        The logits, shape (N, K) (float32 or float64).
    """
    raise NotImplementedError("cnn_forward")
