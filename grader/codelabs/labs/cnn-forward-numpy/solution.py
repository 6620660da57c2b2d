"""Model solution for ``cnn-forward-numpy`` (numpy only)."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def conv3x3_same(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Cross-correlation with a 3 × 3 kernel and one ring of zero padding: (N, C, H, W) → (N, O, H, W)."""
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    # windows[n, c, i, j, a, b] = padded[n, c, i + a, j + b]
    windows = sliding_window_view(padded, (3, 3), axis=(2, 3))
    return np.einsum("ncijab,ocab->noij", windows, weight, optimize=True) + bias[None, :, None, None]


def max_pool_2x2(x: np.ndarray) -> np.ndarray:
    """2 × 2 max pooling, stride 2; an odd last row or column is dropped (floor)."""
    n, c, h, w = x.shape
    h2, w2 = h // 2, w // 2
    blocks = x[:, :, : 2 * h2, : 2 * w2].reshape(n, c, h2, 2, w2, 2)
    return blocks.max(axis=(3, 5))


def cnn_forward(state: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Logits (N, K): [conv 3 × 3 pad 1 → ReLU → max-pool 2] × 2 → flatten → fc."""
    h = np.asarray(x, dtype=np.float64)
    for layer in ("conv1", "conv2"):
        weight = np.asarray(state[f"{layer}.weight"], dtype=np.float64)
        bias = np.asarray(state[f"{layer}.bias"], dtype=np.float64)
        h = max_pool_2x2(np.maximum(conv3x3_same(h, weight, bias), 0.0))
    # Row-major flatten of (N, C, H, W): the order torch.flatten(x, 1) uses.
    features = h.reshape(h.shape[0], -1)
    fc_weight = np.asarray(state["fc.weight"], dtype=np.float64)
    fc_bias = np.asarray(state["fc.bias"], dtype=np.float64)
    return features @ fc_weight.T + fc_bias
