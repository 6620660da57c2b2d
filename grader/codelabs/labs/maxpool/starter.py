"""Lab maxpool: max pooling with indices, its backward pass, and max unpooling, in numpy.

Write the three functions below. Only numpy is available to import. Keep the names and the
parameters exactly as given: the grader calls these functions directly.

Arrays are channels-first, (N, C, H, W). ``kernel_size``, ``stride`` and ``padding`` are an int
or a pair (height axis, width axis).
"""

import numpy as np  # noqa: F401 (yours to use)


def maxpool_forward(x, kernel_size, stride=None, padding=0):
    """Max pooling that also reports where each maximum was (``F.max_pool2d(..., return_indices=True)``).

    Args:
        x: input of shape (N, C, H, W).
        kernel_size: window size.
        stride: step between windows; None means ``stride = kernel_size``.
        padding: rows/columns added on *each* side; the padding is -inf, so it never wins.
            (It is at most kernel_size // 2, so every window holds at least one real value.)

    Returns:
        (y, indices): y of shape (N, C, H_out, W_out) with
        ``H_out = (H + 2 * pad_h - k_h) // stride_h + 1`` (same for W); indices (integers, same
        shape) hold the flat position ``row * W + col`` of each window's maximum in the
        *unpadded* H x W plane of its own channel. On ties, take the first maximum in the
        window in row-major order.
    """
    raise NotImplementedError("maxpool_forward")


def maxpool_backward(dout, indices, input_shape):
    """Gradient of max pooling w.r.t. its input.

    Args:
        dout: upstream gradient dL/dy, shape (N, C, H_out, W_out).
        indices: the indices maxpool_forward returned for this input (same shape as dout).
        input_shape: the shape (N, C, H, W) of the pooled input.

    Returns:
        dx of shape input_shape: each dout value goes to the position its index names; where
        several (overlapping) windows chose the same position, their gradients add up. All other
        positions get 0.
    """
    raise NotImplementedError("maxpool_backward")


def max_unpool(y, indices, output_size):
    """Max unpooling (``F.max_unpool2d``): put every pooled value back where it came from.

    Args:
        y: pooled values, shape (N, C, H_out, W_out).
        indices: the matching indices from maxpool_forward (same shape as y).
        output_size: (H, W) of the plane to rebuild.

    Returns:
        An array of shape (N, C, H, W), zero everywhere except ``plane[index] = value`` for each
        pooled value (flat position row * W + col in its own channel's plane).
    """
    raise NotImplementedError("max_unpool")
