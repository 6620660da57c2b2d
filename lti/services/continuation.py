"""A launch the LMS shows inside an iframe: verified and enrolled as any other, but it cannot log in
there (a cross-site frame gets no first-party session cookie in browsers that block third-party
cookies, and every other page refuses to be framed). It leaves a one-time continuation instead: a
random token, only its SHA-256 stored, bound to the user and the launch's landing, spent at most once
within ``CONTINUATION_SECONDS`` by the student's new top-level window, which it logs in."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from lti.models import LaunchContinuation
from lti.services.launch import launch_refusal

#: Long enough to read the framed page and press its button; short, as the token is a bearer pass.
CONTINUATION_SECONDS = 120


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def continuation_create(*, user: User, target: str) -> str:
    """A new continuation for ``user`` to land on ``target`` (a path on this site); the token, shown once."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):  # a landing is always one of ours
        raise ValueError(f"not a path on this site: {target!r}")
    now = timezone.now()
    LaunchContinuation.objects.filter(expires_at__lt=now).delete()  # unspent ones, kept no longer than needed
    token = secrets.token_urlsafe(32)
    LaunchContinuation.objects.create(token_hash=_digest(token), user=user, target=target,
                                      expires_at=now + timedelta(seconds=CONTINUATION_SECONDS))
    return token


@transaction.atomic
def continuation_consume(*, token: str, log_in: Callable[[User], None] | None = None) -> tuple[User, str]:
    """Spend a continuation: its user (``log_in(user)`` in the same transaction) and target.
    Unknown, forged, expired or already spent: :class:`LaunchRefused` ``launch_continuation``, nobody logged in.
    The row is locked and deleted: of two uses at once, the second finds nothing once the first commits."""
    if not token or len(token) > 100:
        raise launch_refusal("launch_continuation")
    row = (LaunchContinuation.objects.select_for_update().select_related("user")
           .filter(token_hash=_digest(token)).first())
    if row is None:
        raise launch_refusal("launch_continuation")
    if row.expires_at <= timezone.now() or not row.user.is_active:
        raise launch_refusal("launch_continuation")  # (an expired row goes with the next continuation made)
    row.delete()
    if log_in is not None:
        log_in(row.user)
    return row.user, row.target
