"""The JSON API's plumbing, shared by every app's ``apis.py``: parsing, errors, throttles.

Every API view derives from :class:`ApiView`: JSON bodies only (at most 256 KB, 413 otherwise; finite
numbers only — Python's ``json`` reads ``NaN``, ``Infinity`` and ``1e999`` happily, we do not), and
every error is JSON: ``{"detail": …}``, plus ``"errors"`` with field-level messages for a 400 and a
stable ``"code"`` for a refusal. A :class:`dlcv_site.errors.ServiceError` raised by a service
becomes a 400 (:class:`~dlcv_site.errors.InvalidInput`) or a 409 here, so views need no
``try``. No input, however malformed, may turn into a 500. Messages follow the request's language
(``Accept-Language``, the language switch, ``?lang=``).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, ngettext_lazy
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView, exception_handler

from dlcv_site.client_address import client_address
from dlcv_site.errors import InvalidInput, ServiceError

#: Largest request body any API accepts (answers to a whole lab fit in a few KB).
MAX_BODY_BYTES = 256 * 1024

# REST framework's own messages that can reach our API's clients and that its zh_Hant catalog lacks:
# listed here so that our catalog (locale/, which Django reads first) translates them.
_FRAMEWORK_MESSAGES = (
    gettext_noop("Authentication credentials were not provided."),
    gettext_noop("Incorrect authentication credentials."),
    gettext_noop("Invalid token header. No credentials provided."),
    gettext_noop("Invalid token header. Token string should not contain spaces."),
    gettext_noop("Invalid token header. Token string should not contain invalid characters."),
    gettext_noop("A server error occurred."),
    gettext_noop('Unsupported media type "{media_type}" in request.'),
    gettext_noop("Could not satisfy the request Accept header."),
    gettext_noop("Request was throttled."),
    ngettext_lazy("Expected available in {wait} second.", "Expected available in {wait} seconds.", 1),
    gettext_noop("Not a valid string."),
    gettext_noop("Must be a valid boolean."),
    gettext_noop('Expected a dictionary of items but got type "{input_type}".'),
    gettext_noop("This dictionary may not be empty."),
    gettext_noop("This value does not match the required pattern."),
    gettext_noop("Ensure this field has no more than {max_length} elements."),
    gettext_noop("Ensure this field has at least {min_length} elements."),
    gettext_noop("No filename could be determined."),
    gettext_noop("Ensure this filename has at most {max_length} characters (it has {length})."),
    gettext_noop("Integer value too large to convert to float"),
)

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- bodies


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is larger than 256 KB.")
    default_code = "payload_too_large"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as inf
        raise ValueError(f"number out of range: {text[:40]}")
    return value


class StrictJSONParser(JSONParser):
    """JSON bodies of at most ``MAX_BODY_BYTES`` with finite numbers; anything else is a 400/413."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        raw = stream.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            raise PayloadTooLarge()
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        try:
            return json.loads(raw.decode(encoding), parse_constant=_reject_constant, parse_float=_finite_float)
        except (ValueError, LookupError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            raise exceptions.ParseError(_("JSON parse error: %(error)s") % {"error": str(exc)[:200]}) from None


def _body_too_large(request: HttpRequest | Request) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False  # the server refuses a malformed length before we see it; the parser still caps it
    return length > MAX_BODY_BYTES


# --------------------------------------------------------------------------- errors


def api_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF's handler, plus: a service's refusal as 400/409 with its code, one 404 message, Django's
    body-size guard as 413, and 400s as ``{detail, errors}``."""
    if isinstance(exc, InvalidInput):
        return Response({"detail": exc.message, "code": exc.code, "errors": exc.errors},
                        status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ServiceError):
        return Response({"detail": exc.message, "code": exc.code}, status=exc.http_status)
    if isinstance(exc, Http404):
        # One message for "no such object" and "not yours": the body must not tell them apart.
        exc = exceptions.NotFound()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, SuspiciousOperation):  # e.g. too many form fields
        exc = exceptions.ParseError(_("Malformed request."))
    response = exception_handler(exc, dict(context))
    if response is not None and isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"detail": _("Invalid input."), "errors": errors}
    return response


class ApiView(APIView):
    """Base of every API here: JSON bodies only, the size check first, JSON errors."""

    parser_classes: list[type[BaseParser]] = [StrictJSONParser]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Before authentication, which may read a form body for the CSRF check.
        if _body_too_large(request):
            raise PayloadTooLarge()
        super().initial(request, *args, **kwargs)

    def get_exception_handler(self) -> Any:
        return api_exception_handler


def api_not_found() -> JsonResponse:
    """The 404 of an ``/api/…`` URL that matches no route, whatever its method or characters: JSON
    like the rest of the API (``dlcv_site.views.not_found`` answers it)."""
    return JsonResponse({"detail": str(exceptions.NotFound.default_detail)}, status=status.HTTP_404_NOT_FOUND)


class StrictInputSerializer(serializers.Serializer):
    """An API body that names a field the operation does not take is refused (400, each unknown
    field named), not silently ignored: a client that misspells or misplaces a field learns it."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise exceptions.ValidationError({key[:100]: [_("Unknown field.")] for key in unknown[:20]})
        return super().to_internal_value(data)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(required=False, help_text="Stable reason for a 409 (e.g. attempts_exhausted).")
    errors = serializers.DictField(
        required=False,
        child=serializers.JSONField(),
        help_text="Field-level messages: {field: [message]}, or {part: {answer box: message}} for answers.",
    )

    class Meta:
        ref_name = "Error"


#: What each error status means, for the schema (written once, in English, at import time).
_ERROR_DESCRIPTIONS = {
    400: "Invalid input: see `errors`.",
    401: "Not authenticated.",
    404: "No such object, or not yours.",
    409: "Refused: see `code` (e.g. the lab is closed or the attempts are used up).",
    411: "A body without Content-Length (chunked transfer encoding) is not accepted.",
    413: "Body larger than 256 KB.",
    422: "The Idempotency-Key was used before with a different body (`code`: idempotency_key_reused).",
    429: "Too many requests; see Retry-After.",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """The schema's error responses for ``codes``."""
    return {code: OpenApiResponse(ErrorSerializer, description=_ERROR_DESCRIPTIONS[code]) for code in codes}


# --------------------------------------------------------------------------- throttles


def _rate(name: str, default: str) -> str:
    return str(getattr(settings, name, None) or default)


class _SurvivesCacheOutage:
    """Throttles count in the cache; while it is unreachable they let requests through (and log):
    a Redis outage must not stop students submitting (the attempts policy still holds). (Failed
    logins are counted in the database: ``accounts.lockout``.)"""

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except Exception:
            logger.warning("throttle cache unavailable; not throttling %s", type(self).__name__, exc_info=True)
            return True


class SubmissionRateThrottle(_SurvivesCacheOutage, UserRateThrottle):
    """Per-student submissions (``SUBMISSION_RATE``, default 30/min) → 429 with Retry-After."""

    scope = "lab_submissions"

    def get_ident(self, request: Request) -> str:
        # REST framework's own reads X-Forwarded-For from anyone; ours believes trusted proxies only.
        return client_address(request._request)

    def get_rate(self) -> str:
        return _rate("SUBMISSION_RATE", "30/min")
