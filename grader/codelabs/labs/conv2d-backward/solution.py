"""Model solution for lab conv2d-backward (numpy only).

The forward pass adds, for every kernel tap (a, k), ``w[:, :, a, k]`` times the strided slice of
the padded input that the tap reads. So the backward pass loops over the same taps:

* dw[:, :, a, k] pairs dout with that slice (summed over the batch and output positions);
* the slice's gradient, ``w[:, :, a, k]`` applied to dout, is added back into the same slice of
  a padded gradient image, and the padding is cut off at the end;
* db sums dout over everything except the output channel.
"""

import numpy as np


def _pair(value):
    """An int or an (h, w) pair, as a pair of ints."""
    if isinstance(value, (tuple, list, np.ndarray)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


def conv2d_backward(dout, x, w, stride=1, padding=0, dilation=1, groups=1):
    dout = np.asarray(dout, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    (sh, sw), (ph, pw), (dh, dw_) = _pair(stride), _pair(padding), _pair(dilation)
    n, c_in, h, wd = x.shape
    c_out, c_in_per_group, kh, kw = w.shape
    g = int(groups)
    c_out_per_group = c_out // g
    out_h, out_w = dout.shape[2], dout.shape[3]
    padded_h, padded_w = h + 2 * ph, wd + 2 * pw

    x_groups = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))).reshape(
        n, g, c_in_per_group, padded_h, padded_w
    )
    w_groups = w.reshape(g, c_out_per_group, c_in_per_group, kh, kw)
    dout_groups = dout.reshape(n, g, c_out_per_group, out_h, out_w)

    dx_groups = np.zeros_like(x_groups)
    dw_groups = np.zeros_like(w_groups)
    for a in range(kh):
        rows = slice(a * dh, a * dh + (out_h - 1) * sh + 1, sh)
        for k in range(kw):
            cols = slice(k * dw_, k * dw_ + (out_w - 1) * sw + 1, sw)
            seen = x_groups[:, :, :, rows, cols]  # what tap (a, k) read: (N, G, C_in/G, H_out, W_out)
            dw_groups[:, :, :, a, k] = np.einsum("ngchw,ngohw->goc", seen, dout_groups)
            # += on a slice: windows overlap, so one input pixel collects from several taps.
            dx_groups[:, :, :, rows, cols] += np.einsum(
                "ngohw,goc->ngchw", dout_groups, w_groups[:, :, :, a, k]
            )

    dx = dx_groups.reshape(n, c_in, padded_h, padded_w)[:, :, ph : ph + h, pw : pw + wd]
    dw = dw_groups.reshape(c_out, c_in_per_group, kh, kw)
    db = dout.sum(axis=(0, 2, 3))
    return dx, dw, db
