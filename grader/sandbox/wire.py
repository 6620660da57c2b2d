"""The sandbox wire format: values as length-prefixed frames of JSON plus raw ``.npy`` arrays.

Self-contained (stdlib + numpy) because the same source runs inside the sandbox, which cannot see
the project. A frame is ``u32 json_len · json · u32 n_arrays · (u64 len · npy bytes)*``. Arrays
are written with ``allow_pickle=False`` and read the same way, so nothing executable can cross in
either direction: a pickle or an object array in a frame is a decoding error, never a load.
Tuples survive the trip (``{"$tuple": [...]}``); dicts need string keys.
"""

from __future__ import annotations

import io
import json
import math
import struct
from typing import Any, BinaryIO

import numpy as np

MAX_DEPTH = 32


class WireError(ValueError):
    """A value cannot be encoded, or a frame is malformed or over its limit."""


def _to_plain(value: Any, arrays: list[bytes], depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else {"$float": repr(f)}
    if isinstance(value, np.bool_):
        return bool(value)
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject or value.dtype.kind not in "biufc":
            raise WireError(f"arrays must be numeric, not dtype {value.dtype}")
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(value), allow_pickle=False)
        arrays.append(buffer.getvalue())
        return {"$nd": len(arrays) - 1}
    if isinstance(value, tuple):
        return {"$tuple": [_to_plain(v, arrays, depth + 1) for v in value]}
    if isinstance(value, list):
        return [_to_plain(v, arrays, depth + 1) for v in value]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or key.startswith("$"):
                raise WireError(f"dict keys must be strings not starting with '$', got {key!r}")
            out[key] = _to_plain(item, arrays, depth + 1)
        return out
    raise WireError(f"cannot send a value of type {type(value).__name__}")


def encode(value: Any) -> bytes:
    """One frame holding ``value``."""
    arrays: list[bytes] = []
    header = json.dumps(_to_plain(value, arrays), separators=(",", ":")).encode()
    parts = [struct.pack("<I", len(header)), header, struct.pack("<I", len(arrays))]
    for blob in arrays:
        parts += [struct.pack("<Q", len(blob)), blob]
    return b"".join(parts)


def _from_plain(value: Any, arrays: list[np.ndarray], depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if isinstance(value, list):
        return [_from_plain(v, arrays, depth + 1) for v in value]
    if isinstance(value, dict):
        if set(value) == {"$nd"}:
            index = value["$nd"]
            if not isinstance(index, int) or not 0 <= index < len(arrays):
                raise WireError("bad array reference")
            return arrays[index]
        if set(value) == {"$tuple"} and isinstance(value["$tuple"], list):
            return tuple(_from_plain(v, arrays, depth + 1) for v in value["$tuple"])
        if set(value) == {"$float"} and value["$float"] in ("nan", "inf", "-inf"):
            return float(value["$float"])
        if any(k.startswith("$") for k in value):
            raise WireError("unknown tagged value")
        return {k: _from_plain(v, arrays, depth + 1) for k, v in value.items()}
    return value


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            raise EOFError("stream ended inside a frame")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: BinaryIO, max_bytes: int) -> Any:
    """Read and decode one frame; ``EOFError`` at a clean end, ``WireError`` on anything bad."""
    head = stream.read(4)
    if not head:
        raise EOFError("no more frames")
    if len(head) < 4:
        head += _read_exact(stream, 4 - len(head))
    (json_len,) = struct.unpack("<I", head)
    budget = max_bytes - 4
    if json_len > budget:
        raise WireError(f"frame larger than the limit of {max_bytes} bytes")
    budget -= json_len
    try:
        plain = json.loads(_read_exact(stream, json_len))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"malformed frame header: {exc}") from None
    (count,) = struct.unpack("<I", _read_exact(stream, 4))
    if count > 100_000:
        raise WireError("too many arrays in one frame")
    arrays = []
    for _ in range(count):
        (size,) = struct.unpack("<Q", _read_exact(stream, 8))
        budget -= 8 + size
        if budget < 0:
            raise WireError(f"frame larger than the limit of {max_bytes} bytes")
        try:
            arrays.append(np.load(io.BytesIO(_read_exact(stream, size)), allow_pickle=False))
        except (ValueError, OSError, EOFError) as exc:
            raise WireError(f"not a plain numeric .npy array: {exc}") from None
        if arrays[-1].dtype.hasobject or arrays[-1].dtype.kind not in "biufc":
            raise WireError(f"array of dtype {arrays[-1].dtype} refused")
    return _from_plain(plain, arrays)


def decode(frame: bytes, max_bytes: int | None = None) -> Any:
    """Decode one whole frame (trailing bytes are an error)."""
    stream = io.BytesIO(frame)
    value = read_frame(stream, max_bytes or len(frame) + 1)
    if stream.read(1):
        raise WireError("trailing bytes after the frame")
    return value
