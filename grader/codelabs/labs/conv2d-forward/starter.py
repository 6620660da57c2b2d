"""Lab conv2d-forward: the forward pass of a 2-D convolution layer, in numpy.

Write `conv2d_forward` below. Only numpy is available to import. Keep the name and the
parameters exactly as given: the grader calls this function directly.
"""

import numpy as np  # noqa: F401 (yours to use)


def conv2d_forward(x, w, b, stride=1, padding=0, dilation=1, groups=1):
    """Forward pass of a 2-D convolution layer (PyTorch's ``F.conv2d``), in numpy.

    Args:
        x: input, float64 array of shape (N, C_in, H, W).
        w: weights, shape (C_out, C_in // groups, kH, kW).
        b: bias of shape (C_out,), or None for a layer without bias.
        stride, padding, dilation: an int, or a pair (for the height axis, for the width axis).
            ``padding`` adds that many rows/columns of zeros on *each* side.
        groups: the input channels and output channels are split into ``groups`` equal parts;
            output channel group g only sees input channel group g.

    Returns:
        y: array of shape (N, C_out, H_out, W_out), with
        ``H_out = (H + 2 * pad_h - dil_h * (kH - 1) - 1) // stride_h + 1`` (same for W), and
        ``y[n, o, i, j] = b[o] + sum over c, a, k of
        w[o, c, a, k] * x_padded[n, g * C_in/groups + c, i * stride_h + a * dil_h, j * stride_w + k * dil_w]``
        where g is the group of output channel o. This is cross-correlation: do not flip w.
    """
    raise NotImplementedError("conv2d_forward")
