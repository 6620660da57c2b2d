"""What a service raises when a rule refuses a request: one base for every app.

Views and the API turn a :class:`ServiceError` into a page message or a JSON answer
(``dlcv_site.api``: 400 for :class:`InvalidInput`, ``http_status`` — 409 unless a subclass says
otherwise — for the rest, with ``code`` and ``detail``).
Messages are translated where they are raised, in the active language (the request's), so they
reach the student in the language they asked for; ``code`` never changes with the language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ServiceError(Exception):
    """A rule refused the action: ``code`` is stable for clients, ``message`` is for people."""

    code = "refused"
    #: The API's answer (``dlcv_site.api``): 409, or what a subclass says.
    http_status = 409

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = str(message)
        if code is not None:
            self.code = code


class InvalidInput(ServiceError):
    """The input could not be read (format errors): nothing was written, no attempt was used.
    ``errors`` says where: ``{field: message}`` or, for a lab's answers, ``{part: {box: message}}``."""

    code = "invalid"

    def __init__(self, message: str, errors: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.errors = dict(errors or {})
