"""Lab conv2d-backward: the gradients of a 2-D convolution layer, in numpy.

Write `conv2d_backward` below. Only numpy is available to import. Keep the name and the
parameters exactly as given: the grader calls this function directly.
"""

import numpy as np  # noqa: F401 (yours to use)


def conv2d_backward(dout, x, w, stride=1, padding=0, dilation=1, groups=1):
    """Backward pass of ``y = conv2d(x, w, b, stride, padding, dilation, groups)`` (PyTorch's F.conv2d).

    Args:
        dout: upstream gradient dL/dy, shape (N, C_out, H_out, W_out).
        x: the layer's input, shape (N, C_in, H, W).
        w: the layer's weights, shape (C_out, C_in // groups, kH, kW).
        stride, padding, dilation: an int, or a pair (height axis, width axis); zero padding on
            *each* side, as in the forward pass.
        groups: channel groups, as in the forward pass.

    Returns:
        (dx, dw, db): dL/dx with the shape of x, dL/dw with the shape of w, and dL/db of shape
        (C_out,). The forward pass is cross-correlation:
        ``y[n, o, i, j] = b[o] + sum over c, a, k of w[o, c, a, k] * x_padded[n, c', i*s_h + a*d_h, j*s_w + k*d_w]``.
    """
    raise NotImplementedError("conv2d_backward")
