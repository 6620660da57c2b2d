"""The course's reference CNN: a torch model, its weights as plain arrays, and a numpy forward pass.

Architecture (sized for scikit-learn's 8 × 8 digits by default)::

    conv1: Conv2d(1 → c1, 3 × 3, padding 1) → ReLU → MaxPool 2 × 2
    conv2: Conv2d(c1 → c2, 3 × 3, padding 1) → ReLU → MaxPool 2 × 2
    flatten (channels-first: index c · h · w order, as torch.flatten on (N, C, H, W))
    fc:    Linear(c2 · ⌊⌊H/2⌋/2⌋ · ⌊⌊W/2⌋/2⌋ → classes)

With the defaults (8 × 8 input, c1 = 8, c2 = 16, 10 classes) the shapes go
``(N, 1, 8, 8) → (N, 8, 4, 4) → (N, 16, 2, 2) → (N, 64) → (N, 10)``.

Weights cross the sandbox boundary as a dict of numpy arrays named like the torch state dict
(``"conv1.weight"``, ``"conv1.bias"``, ``"conv2.weight"``, ``"conv2.bias"``, ``"fc.weight"``,
``"fc.bias"``). :func:`load_state_dict_arrays` is the gate for arrays that came from a student:
it refuses wrong names, shapes, dtypes and non-finite values with a :class:`ValueError` that says
which entry is wrong. :func:`forward_numpy` is the trusted pure-numpy forward pass, built on
:mod:`grader.reference.conv`; it equals the torch model's ``forward`` (tested).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from .conv import conv2d, max_pool2d

__all__ = [
    "PARAMETER_NAMES",
    "ReferenceCNN",
    "forward_numpy",
    "load_reference_weights",
    "load_state_dict_arrays",
    "make_reference_cnn",
    "save_reference_weights",
    "state_dict_arrays",
]

Array = npt.NDArray[Any]

# The state-dict keys, in torch's order. Fixed: labs name them in their statements.
PARAMETER_NAMES: tuple[str, ...] = (
    "conv1.weight",
    "conv1.bias",
    "conv2.weight",
    "conv2.bias",
    "fc.weight",
    "fc.bias",
)
KERNEL_SIZE = 3
PADDING = 1  # "same" size for a 3 × 3 kernel: only the two poolings shrink the image
POOL = 2


def _pair(size: int | tuple[int, int]) -> tuple[int, int]:
    h, w = (size, size) if isinstance(size, int) else size
    return int(h), int(w)


def pooled_size(image_size: int | tuple[int, int]) -> tuple[int, int]:
    """Spatial size after both poolings (floor mode, as torch's default)."""
    h, w = _pair(image_size)
    return (h // POOL) // POOL, (w // POOL) // POOL


class ReferenceCNN(nn.Module):
    """conv → ReLU → max-pool, twice, then one fully connected layer (see the module docstring)."""

    def __init__(
        self,
        image_size: int | tuple[int, int] = 8,
        channels: tuple[int, int] = (8, 16),
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        ph, pw = pooled_size(image_size)
        if ph < 1 or pw < 1:
            raise ValueError(f"image_size {image_size} is too small for two 2 × 2 poolings (need ≥ 4)")
        c1, c2 = channels
        self.image_size = _pair(image_size)
        self.conv1 = nn.Conv2d(1, c1, KERNEL_SIZE, padding=PADDING)
        self.conv2 = nn.Conv2d(c1, c2, KERNEL_SIZE, padding=PADDING)
        self.fc = nn.Linear(c2 * ph * pw, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), POOL)
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), POOL)
        return self.fc(torch.flatten(x, 1))


def make_reference_cnn(
    seed: int,
    *,
    image_size: int | tuple[int, int] = 8,
    channels: tuple[int, int] = (8, 16),
    num_classes: int = 10,
) -> ReferenceCNN:
    """A :class:`ReferenceCNN` with torch's default initialisation drawn from ``seed``.

    The global torch RNG is forked, so building a reference model never disturbs the caller's
    random stream. Same seed, same torch version → the same weights.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return ReferenceCNN(image_size, channels, num_classes)


def state_dict_arrays(model: nn.Module) -> dict[str, Array]:
    """The model's weights as a plain ``{name: numpy array}`` dict (copies, the model's dtype)."""
    return {name: t.detach().cpu().numpy().copy() for name, t in model.state_dict().items()}


def _check_keys(arrays: Any, names: Collection[str]) -> Mapping[str, Any]:
    """``arrays`` must be a mapping with exactly the keys ``names``."""
    if not isinstance(arrays, Mapping):
        raise ValueError(f"expected a dict of arrays keyed by parameter name, got {type(arrays).__name__}")
    missing = [k for k in names if k not in arrays]
    unexpected = [str(k) for k in arrays if k not in names]
    if missing or unexpected:
        raise ValueError(
            f"state dict keys differ: missing {missing or 'none'}, unexpected {unexpected or 'none'} "
            f"(expected exactly {list(names)})"
        )
    return arrays


def _as_float_array(name: str, value: Any) -> Array:
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged nested lists and the like
        raise ValueError(f"{name!r} is not an array: {exc}") from None
    # Integer or bool "weights" almost always mean a bug (e.g. an argmax); refuse them.
    if arr.dtype.kind != "f":
        raise ValueError(f"{name!r} must be a floating-point array, got dtype {arr.dtype}")
    return arr


def _validated(arrays: Any, expected_shapes: Mapping[str, tuple[int, ...]]) -> dict[str, Array]:
    """Check names, dtypes, shapes and finiteness; return the arrays as ndarrays."""
    _check_keys(arrays, list(expected_shapes))
    out: dict[str, Array] = {}
    for name, shape in expected_shapes.items():
        arr = _as_float_array(name, arrays[name])
        if arr.shape != tuple(shape):
            raise ValueError(f"{name!r} has shape {arr.shape}, expected {tuple(shape)}")
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        if bad:
            raise ValueError(f"{name!r} has {bad} non-finite value(s) (NaN or ±inf)")
        out[name] = arr
    return out


def load_state_dict_arrays(model: nn.Module, arrays: Any) -> nn.Module:
    """Copy ``arrays`` (``{name: array}``) into ``model`` after validating every entry.

    Keys must be exactly the model's state-dict keys; each value a finite floating-point array of
    the parameter's shape (any float dtype; it is cast to the model's dtype). Raises
    :class:`ValueError` naming the first problem. Returns ``model``.
    """
    current = model.state_dict()
    checked = _validated(arrays, {name: tuple(t.shape) for name, t in current.items()})
    tensors = {name: torch.as_tensor(arr, dtype=current[name].dtype) for name, arr in checked.items()}
    model.load_state_dict(tensors, strict=True)
    return model


def _architecture_shapes(state: Any) -> tuple[dict[str, Array], int, int]:
    """Validate a state dict against the architecture; return it with ``(c2, num_classes)``."""
    _check_keys(state, PARAMETER_NAMES)
    w1 = _as_float_array("conv1.weight", state["conv1.weight"])
    w2 = _as_float_array("conv2.weight", state["conv2.weight"])
    fc_w = _as_float_array("fc.weight", state["fc.weight"])
    if w1.ndim != 4 or w2.ndim != 4 or fc_w.ndim != 2:
        raise ValueError(
            f"conv weights must be 4-D and fc.weight 2-D, got shapes {w1.shape}, {w2.shape}, {fc_w.shape}"
        )
    c1, c2, k = w1.shape[0], w2.shape[0], KERNEL_SIZE
    num_classes, fc_in = fc_w.shape
    shapes = {
        "conv1.weight": (c1, 1, k, k),
        "conv1.bias": (c1,),
        "conv2.weight": (c2, c1, k, k),
        "conv2.bias": (c2,),
        "fc.weight": (num_classes, fc_in),
        "fc.bias": (num_classes,),
    }
    return _validated(state, shapes), c2, num_classes


def forward_numpy(state: Mapping[str, npt.ArrayLike], x: npt.ArrayLike) -> Array:
    """Logits ``(N, classes)`` of the reference CNN for ``x`` of shape ``(N, 1, H, W)``, in float64.

    ``state`` is a dict named like the torch state dict; channel counts and the number of classes
    are read from its shapes. ``fc.weight`` must have ``c2 · ⌊⌊H/2⌋/2⌋ · ⌊⌊W/2⌋/2⌋`` columns.
    """
    params, c2, _ = _architecture_shapes(state)
    xa = np.asarray(x)
    if xa.ndim != 4 or xa.shape[1] != 1:
        raise ValueError(f"x must have shape (N, 1, H, W), got {xa.shape}")
    ph, pw = pooled_size((xa.shape[2], xa.shape[3]))
    if ph < 1 or pw < 1:
        raise ValueError(f"x is {xa.shape[2]} × {xa.shape[3]}; two 2 × 2 poolings need at least 4 × 4")
    if params["fc.weight"].shape[1] != c2 * ph * pw:
        raise ValueError(
            f"fc.weight has {params['fc.weight'].shape[1]} inputs but a {xa.shape[2]} × {xa.shape[3]} "
            f"image gives {c2} × {ph} × {pw} = {c2 * ph * pw} features"
        )
    p64 = {name: arr.astype(np.float64) for name, arr in params.items()}
    h = xa.astype(np.float64)
    for layer in ("conv1", "conv2"):
        h = conv2d(h, p64[f"{layer}.weight"], p64[f"{layer}.bias"], padding=PADDING)
        h, _ = max_pool2d(np.maximum(h, 0.0), POOL)
    # Row-major reshape of (N, C, H, W) = torch.flatten(x, 1): channel slowest, column fastest.
    features = h.reshape(h.shape[0], -1)
    return features @ p64["fc.weight"].T + p64["fc.bias"]


def save_reference_weights(path: str | Path, seed: int, **architecture: Any) -> None:
    """Write ``make_reference_cnn(seed, **architecture)``'s weights to ``path`` (``np.savez``)."""
    np.savez(Path(path), **state_dict_arrays(make_reference_cnn(seed, **architecture)))


def load_reference_weights(path: str | Path) -> dict[str, Array]:
    """Read weights written by :func:`save_reference_weights` (no pickle), in torch's key order."""
    with np.load(Path(path), allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    order = {name: i for i, name in enumerate(PARAMETER_NAMES)}
    return dict(sorted(arrays.items(), key=lambda item: order.get(item[0], len(order))))
