"""Model solution for lab conv2d-forward (numpy only).

Loops over the kernel taps (kH * kW of them), never over pixels: for each tap, the strided slice
of the padded input that the tap reads at every output position is one array, and a small
einsum mixes its channels with that tap's weights.
"""

import numpy as np


def _pair(value):
    """An int or an (h, w) pair, as a pair of ints."""
    if isinstance(value, (tuple, list, np.ndarray)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


def conv2d_forward(x, w, b, stride=1, padding=0, dilation=1, groups=1):
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    n, c_in, h, wd = x.shape
    c_out, c_in_per_group, kh, kw = w.shape
    g = int(groups)
    c_out_per_group = c_out // g

    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1

    # Zeros on each side of the two spatial axes only.
    x_padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    # Split channels into groups: (N, G, C_in/G, Hp, Wp) and (G, C_out/G, C_in/G, kH, kW).
    x_groups = x_padded.reshape(n, g, c_in_per_group, h + 2 * ph, wd + 2 * pw)
    w_groups = w.reshape(g, c_out_per_group, c_in_per_group, kh, kw)

    y = np.zeros((n, g, c_out_per_group, out_h, out_w))
    for a in range(kh):
        rows = slice(a * dh, a * dh + (out_h - 1) * sh + 1, sh)
        for k in range(kw):
            cols = slice(k * dw, k * dw + (out_w - 1) * sw + 1, sw)
            # What tap (a, k) sees at every output position: (N, G, C_in/G, H_out, W_out).
            seen = x_groups[:, :, :, rows, cols]
            y += np.einsum("ngchw,goc->ngohw", seen, w_groups[:, :, :, a, k])

    y = y.reshape(n, c_out, out_h, out_w)
    if b is not None:
        y = y + np.asarray(b, dtype=np.float64)[None, :, None, None]
    return y
