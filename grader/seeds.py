"""Stable seeds: the same student, lab part or exam slot gets the same variant on every reload."""

from __future__ import annotations

import hashlib


def variant_seed(*parts: object) -> int:
    """A 31-bit seed from an identity (e.g. ``("lab", lab_id, user_id)``): stable, and different for
    different identities."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
