"""Model solution for lab maxpool (numpy only).

The forward pass loops over the kernel taps, not the pixels: for each tap it takes the strided
slice of the (−∞-padded) input that the tap reads in every window, and keeps it where it beats
the best value so far. A strict ``>`` keeps the earlier tap on ties, and taps are visited in
row-major order, so ties go to the first maximum. The flat index of what each tap reads is
known from the geometry alone.
"""

import numpy as np


def _pair(value):
    """An int or an (h, w) pair, as a pair of ints."""
    if isinstance(value, (tuple, list, np.ndarray)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


def maxpool_forward(x, kernel_size, stride=None, padding=0):
    x = np.asarray(x, dtype=np.float64)
    kh, kw = _pair(kernel_size)
    sh, sw = (kh, kw) if stride is None else _pair(stride)
    ph, pw = _pair(padding)
    n, c, h, w = x.shape
    out_h = (h + 2 * ph - kh) // sh + 1
    out_w = (w + 2 * pw - kw) // sw + 1

    x_padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    best = np.full((n, c, out_h, out_w), -np.inf)
    best_index = np.zeros((n, c, out_h, out_w), dtype=np.int64)
    for a in range(kh):
        rows = slice(a, a + (out_h - 1) * sh + 1, sh)
        input_rows = np.arange(out_h) * sh + a - ph  # unpadded row each window reads at this tap
        for k in range(kw):
            cols = slice(k, k + (out_w - 1) * sw + 1, sw)
            input_cols = np.arange(out_w) * sw + k - pw
            values = x_padded[:, :, rows, cols]
            flat_index = input_rows[:, None] * w + input_cols[None, :]
            better = values > best  # strict: on ties the earlier tap stays
            best = np.where(better, values, best)
            best_index = np.where(better, flat_index, best_index)
    return best, best_index


def maxpool_backward(dout, indices, input_shape):
    dout = np.asarray(dout, dtype=np.float64)
    indices = np.asarray(indices, dtype=np.int64)
    n, c, h, w = (int(s) for s in input_shape)
    dx = np.zeros((n, c, h * w))
    for i in range(n):
        for j in range(c):
            # np.add.at adds once per occurrence; dx[i, j][idx] += ... would add repeats only once.
            np.add.at(dx[i, j], indices[i, j].ravel(), dout[i, j].ravel())
    return dx.reshape(n, c, h, w)


def max_unpool(y, indices, output_size):
    y = np.asarray(y, dtype=np.float64)
    indices = np.asarray(indices, dtype=np.int64)
    n, c = y.shape[:2]
    h, w = _pair(output_size)
    out = np.zeros((n, c, h * w))
    for i in range(n):
        for j in range(c):
            out[i, j][indices[i, j].ravel()] = y[i, j].ravel()
    return out.reshape(n, c, h, w)
