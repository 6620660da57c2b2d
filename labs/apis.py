"""The JSON API: tokens, labs, submissions and grades (``/api/…``, OpenAPI at ``/api/schema/``).

One class per operation, each with a nested ``InputSerializer``/``OutputSerializer``: validate,
call one access check or service, serialize. Every error is JSON — ``{"detail": …}`` plus
``"errors"`` with field-level messages for a 400 — and no input, however malformed, may turn into
a 500: bodies are JSON only, at most 256 KB (413 otherwise), with finite numbers only (Python's
``json`` reads ``NaN``, ``Infinity`` and ``1e999`` happily; we do not).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import BaseParser, FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle
from rest_framework.views import APIView, exception_handler

from accounts.models import STAFF_ROLES, User
from accounts.selectors import enrollments_for_user
from accounts.token_views import token_get_or_create
from grader.answers import MAX_TEXT_CHARS
from grader.problems import get_family
from grader.problems.base import LANGS, PART_KINDS, Part, tr
from labs.access import lab_get_for_member, submission_get_for_user
from labs.models import LabKind, LabPart, Submission, SubmissionStatus
from labs.selectors import LabRow, lab_submissions_for_student, labs_for_student
from labs.services import (
    MAX_SOURCE_BYTES,
    SubmissionInvalid,
    SubmissionRefused,
    lab_part_params,
    lab_variant_seed,
    submission_create,
)

#: Largest request body any API accepts (answers to a whole lab fit in a few KB).
MAX_BODY_BYTES = 256 * 1024
#: Bounds on the shape of ``answers`` (well above any real lab, well below anything costly).
MAX_PARTS = 100
MAX_BOXES_PER_PART = 100
MAX_KEY_CHARS = 100
MAX_LIST_ITEMS = 10_000
IDEMPOTENCY_KEY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")  # visible ASCII, as HTTP headers carry it
DEFAULT_LANG = "zh-Hant"

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- plumbing


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
            raise exceptions.ParseError(f"JSON parse error: {str(exc)[:200]}") from None


def _body_too_large(request: HttpRequest | Request) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False  # the server refuses a malformed length before we see it; the parser still caps it
    return length > MAX_BODY_BYTES


def api_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF's handler, plus: one 404 message, Django's body-size guard as 413 JSON, 400s as ``{detail, errors}``."""
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


@csrf_exempt  # it changes nothing, and must answer JSON for every method
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Every unknown ``/api/…`` URL (e.g. ``/api/submissions/-1/``): JSON like the rest of the API."""
    return JsonResponse({"detail": str(exceptions.NotFound.default_detail)}, status=status.HTTP_404_NOT_FOUND)


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


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    # The API's schema is written once, in English, at import time: not through the UI's translations.
    described = {
        400: "Invalid input: see `errors`.",
        401: "Not authenticated.",
        404: "No such object, or not yours.",
        409: "Refused: the lab is closed or the attempts are used up.",
        413: "Body larger than 256 KB.",
        429: "Too many requests; see Retry-After.",
    }
    return {code: OpenApiResponse(ErrorSerializer, description=described[code]) for code in codes}


# --------------------------------------------------------------------------- throttles


def _setting(name: str, default: str) -> str:
    return str(getattr(settings, name, None) or os.environ.get(name) or default)


class _SurvivesCacheOutage:
    """Throttles count in the cache; while it is unreachable they let requests through (and log):
    a Redis outage must not stop students submitting (the attempts policy still holds) or logging in."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except Exception:
            logger.warning("throttle cache unavailable; not throttling %s", type(self).__name__, exc_info=True)
            return True


class SubmissionRateThrottle(_SurvivesCacheOutage, UserRateThrottle):
    """Per-student submissions (``SUBMISSION_RATE``, default 30/min) → 429 with Retry-After."""

    scope = "lab_submissions"

    def get_rate(self) -> str:
        return _setting("SUBMISSION_RATE", "30/min")


class _LoginFailureThrottle(SimpleRateThrottle):
    """Counts failed logins only (a successful one costs nothing): ``allow_request`` looks, and
    ``record_failure`` counts. Rate: ``LOGIN_FAILURE_RATE`` (default 10/min)."""

    def get_rate(self) -> str:
        return _setting("LOGIN_FAILURE_RATE", "10/min")

    def ident(self, request: Request) -> str | None:
        raise NotImplementedError

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        ident = self.ident(request)
        return None if ident is None else self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: APIView) -> bool:
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        self.history = [t for t in self.cache.get(self.key, []) if t > self.now - self.duration]
        return len(self.history) < self.num_requests

    def record_failure(self, request: Request) -> None:
        key = self.get_cache_key(request, None)  # type: ignore[arg-type]
        if key is not None:
            now = self.timer()
            try:
                history = [t for t in self.cache.get(key, []) if t > now - self.duration]
                self.cache.set(key, [now, *history], self.duration)
            except Exception:
                logger.warning("throttle cache unavailable; a failed login not counted", exc_info=True)


class LoginFailureByAddressThrottle(_SurvivesCacheOutage, _LoginFailureThrottle):
    scope = "login_failures_address"

    def ident(self, request: Request) -> str | None:
        return self.get_ident(request)


class LoginFailureByUsernameThrottle(_SurvivesCacheOutage, _LoginFailureThrottle):
    """Also per username, so guessing one account's password from many addresses is slow too."""

    scope = "login_failures_username"

    def ident(self, request: Request) -> str | None:
        data = request.data
        username = data.get("username") if isinstance(data, Mapping) else None
        if not isinstance(username, str) or not username:
            return None
        return hashlib.sha256(username.strip().lower().encode("utf-8", "replace")).hexdigest()


# --------------------------------------------------------------------------- tokens


class TokenObtainApi(ApiView):
    """Exchange a username and password for the user's API token."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginFailureByAddressThrottle, LoginFailureByUsernameThrottle]
    parser_classes = [StrictJSONParser, FormParser]

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})

        class Meta:
            ref_name = "TokenObtainInput"

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")

        class Meta:
            ref_name = "TokenObtainOutput"

    @extend_schema(
        operation_id="auth_token_obtain",
        tags=["auth"],
        auth=[],
        request=InputSerializer,
        responses={200: OutputSerializer, **_errors(400, 413, 429)},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if user is None:
            for throttle in self.get_throttles():
                throttle.record_failure(request)  # type: ignore[attr-defined]
            message = _("Unable to log in with the provided credentials.")
            raise exceptions.ValidationError({"non_field_errors": [message]})
        token = token_get_or_create(user=user)
        return Response(self.OutputSerializer({"token": token.key}).data)


# --------------------------------------------------------------------------- labs


LANG_PARAMETER = OpenApiParameter(
    "lang", str, OpenApiParameter.QUERY, enum=list(LANGS), default=DEFAULT_LANG,
    description="Language of statements, labels and messages.",
)
SLUG_PARAMETER = OpenApiParameter(
    "lab_slug", str, OpenApiParameter.PATH, pattern=r"^[-a-zA-Z0-9_]+$", description="The lab's slug.",
)


@dataclass(frozen=True)
class CourseLabRow(LabRow):
    """A row of ``labs_for_student`` with its course's slug (so the list needs no query per lab)."""

    course: str = ""


def _lab_rows(user: User) -> list[CourseLabRow]:
    """The caller's labs over all their courses: one query per course (staff see unpublished)."""
    return [
        CourseLabRow(**{f.name: getattr(row, f.name) for f in fields(LabRow)}, course=enrollment.course.slug)
        for enrollment in enrollments_for_user(user=user)
        for row in labs_for_student(
            user=user, course=enrollment.course, include_unpublished=enrollment.role in STAFF_ROLES
        )
    ]


class LabListApi(ApiView):
    """Published labs of the caller's courses (course staff also see unpublished ones)."""

    class OutputSerializer(serializers.Serializer):
        slug = serializers.CharField(source="lab.slug")
        title = serializers.CharField(source="lab.title")
        course = serializers.CharField()
        kind = serializers.CharField(source="lab.kind")
        published = serializers.BooleanField(source="lab.published")
        due_at = serializers.DateTimeField(source="lab.due_at", allow_null=True)
        url = serializers.SerializerMethodField()

        class Meta:
            ref_name = "LabSummary"

        def get_url(self, entry: CourseLabRow) -> str:
            return reverse("api-lab-detail", kwargs={"lab_slug": entry.lab.slug})

    @extend_schema(operation_id="labs_list", tags=["labs"], responses={200: OutputSerializer(many=True), **_errors(401)})
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(_lab_rows(request.user), many=True).data)


class PartInputSpecSerializer(serializers.Serializer):
    """One answer box of a part: what to type and in what shape."""

    name = serializers.CharField(help_text="Key inside the part's answers object.")
    kind = serializers.ChoiceField(choices=list(PART_KINDS))
    label = serializers.CharField()
    points = serializers.FloatField()
    shape = serializers.ListField(child=serializers.IntegerField(), allow_null=True, help_text="[rows, cols] of a matrix.")
    length = serializers.IntegerField(allow_null=True, help_text="Length of a vector, shape or index list.")
    choices = serializers.ListField(child=serializers.CharField())
    symbols = serializers.ListField(child=serializers.CharField())

    class Meta:
        ref_name = "PartInputSpec"


class LabPartSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Key of this part in the submission's answers object.")
    title = serializers.CharField()
    family = serializers.CharField()
    points = serializers.FloatField()
    statement = serializers.CharField(help_text="Markdown with $…$ / $$…$$ LaTeX.")
    inputs = PartInputSpecSerializer(many=True)

    class Meta:
        ref_name = "LabPart"


def _input_spec(box: Part, lang: str) -> dict[str, Any]:
    return {
        "name": box.name,
        "kind": box.kind,
        "label": tr(box.label, lang),
        "points": box.points,
        "shape": list(box.shape) if box.shape is not None else None,
        "length": box.length,
        "choices": list(box.choices),
        "symbols": list(box.symbols),
    }


def _part_view(part: LabPart, seed: int, lang: str) -> dict[str, Any]:
    """A part of the caller's own variant, stated in ``lang`` (never its solution)."""
    params = lab_part_params(part=part, seed=seed)
    family = get_family(part.family)
    return {
        "key": part.key,
        "title": part.title,
        "family": part.family,
        "points": part.points,
        "statement": family.render(params, lang),
        "inputs": [_input_spec(box, lang) for box in family.parts(params)],
    }


class LabDetailApi(ApiView):
    """The caller's own variant of a lab: each part's statement and answer boxes."""

    class QuerySerializer(serializers.Serializer):
        lang = serializers.ChoiceField(choices=list(LANGS), default=DEFAULT_LANG, required=False)

        class Meta:
            ref_name = "LabDetailQuery"

    class OutputSerializer(serializers.Serializer):
        slug = serializers.CharField()
        title = serializers.CharField()
        course = serializers.CharField()
        kind = serializers.CharField()
        description = serializers.CharField(allow_blank=True, help_text="Markdown + LaTeX.")
        published = serializers.BooleanField()
        due_at = serializers.DateTimeField(allow_null=True)
        attempts_policy = serializers.DictField(child=serializers.JSONField())
        late_policy = serializers.DictField(child=serializers.JSONField())
        lang = serializers.ChoiceField(choices=list(LANGS))
        parts = LabPartSerializer(many=True)
        submissions_url = serializers.CharField()

        class Meta:
            ref_name = "LabDetail"

    @extend_schema(
        operation_id="labs_retrieve",
        tags=["labs"],
        parameters=[SLUG_PARAMETER, LANG_PARAMETER],
        responses={200: OutputSerializer, **_errors(400, 401, 404)},
    )
    def get(self, request: Request, lab_slug: str) -> Response:
        lab, _role = lab_get_for_member(user=request.user, lab_slug=lab_slug)
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        lang = query.validated_data["lang"]
        seed = lab_variant_seed(lab=lab, user=request.user)
        data = {
            "slug": lab.slug,
            "title": lab.title,
            "course": lab.course.slug,
            "kind": lab.kind,
            "description": lab.description,
            "published": lab.published,
            "due_at": lab.due_at,
            "attempts_policy": lab.attempts_policy or {},
            "late_policy": lab.late_policy or {},
            "lang": lang,
            "parts": [_part_view(part, seed, lang) for part in lab.parts.all()],
            "submissions_url": reverse("api-submission-create", kwargs={"lab_slug": lab.slug}),
        }
        return Response(self.OutputSerializer(data).data)


# --------------------------------------------------------------------------- submissions

_ANSWER_SCALAR = [{"type": "string", "maxLength": MAX_TEXT_CHARS}, {"type": "number"}]
ANSWER_VALUE_SCHEMA: dict[str, Any] = {
    "description": "Typed text (\"7.29e7\", \"[[1, 2], [3, 4]]\") or a JSON number, list or list of rows.",
    "anyOf": [
        *_ANSWER_SCALAR,
        {
            "type": "array",
            "maxItems": MAX_LIST_ITEMS,
            "items": {"anyOf": [*_ANSWER_SCALAR, {"type": "array", "items": {"anyOf": _ANSWER_SCALAR}}]},
        },
    ],
}


def _check_text(text: str, what: str, max_chars: int) -> None:
    if len(text) > max_chars:
        raise serializers.ValidationError(f"{what} is longer than {max_chars} characters.")
    if "\x00" in text:
        raise serializers.ValidationError(f"{what} contains a NUL character.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate such as "\ud800": not storable text
        raise serializers.ValidationError(f"{what} is not valid Unicode text.") from None


def _check_scalar(value: Any, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise serializers.ValidationError(
            f"{what} must be text or a number, not {_json_type(value)}."
        )
    if isinstance(value, str):
        _check_text(value, what, MAX_TEXT_CHARS)
        return
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        finite = False
    if not finite:
        raise serializers.ValidationError(f"{what} must be a finite number.")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


@extend_schema_field(ANSWER_VALUE_SCHEMA)
class AnswerValueField(serializers.Field):
    """One answer box: text, a finite number, a list of those, or a list of rows (a matrix).
    ``null`` means "no answer" (the grader reports it as missing)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, list):
            if len(data) > MAX_LIST_ITEMS:
                raise serializers.ValidationError(f"A list may have at most {MAX_LIST_ITEMS} entries.")
            cells = 0
            for row in data:
                if isinstance(row, list):
                    cells += len(row)
                    for cell in row:
                        _check_scalar(cell, "A matrix entry")
                else:
                    cells += 1
                    _check_scalar(row, "A list entry")
            if cells > MAX_LIST_ITEMS:
                raise serializers.ValidationError(f"A matrix may have at most {MAX_LIST_ITEMS} entries.")
            return data
        _check_scalar(data, "An answer")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class AnswerKeyField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=MAX_KEY_CHARS, **kwargs)


def _check_keys(mapping: Mapping[str, Any], limit: int, what: str) -> None:
    if len(mapping) > limit:
        raise serializers.ValidationError(f"At most {limit} {what} are allowed.")
    for key in mapping:
        _check_text(str(key), f"The name {str(key)[:40]!r}", MAX_KEY_CHARS)


class PartAnswersField(serializers.DictField):
    """``{answer box name: value}`` of one part."""

    child = AnswerValueField()

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise serializers.ValidationError(
                f"Expected an object of answer boxes, not {_json_type(data)}."
            )
        _check_keys(data, MAX_BOXES_PER_PART, "answer boxes per part")
        return super().to_internal_value(data)


class AnswersField(serializers.DictField):
    """``{part key: {answer box name: value}}``."""

    child = PartAnswersField()

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise serializers.ValidationError(f"Expected an object of parts, not {_json_type(data)}.")
        _check_keys(data, MAX_PARTS, "parts")
        return super().to_internal_value(data)


class SubmissionPartItemSerializer(serializers.Serializer):
    """The grade of one answer box (never the expected answer)."""

    name = serializers.CharField()
    label = serializers.CharField()
    score = serializers.FloatField(help_text="0–1.")
    points = serializers.FloatField()
    max_points = serializers.FloatField()
    correct = serializers.BooleanField()
    feedback = serializers.CharField(allow_blank=True, help_text="Markdown.")
    misconceptions = serializers.ListField(child=serializers.CharField())
    cells = serializers.ListField(
        child=serializers.ListField(child=serializers.BooleanField()), allow_null=True,
        help_text="Per entry of a matrix or vector: right or not.",
    )

    class Meta:
        ref_name = "SubmissionPartItem"


class SubmissionPartSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    score = serializers.FloatField(help_text="0–1.")
    points = serializers.FloatField()
    max_points = serializers.FloatField()
    correct = serializers.BooleanField()
    feedback = serializers.CharField(allow_blank=True, help_text="Markdown.")
    misconceptions = serializers.ListField(child=serializers.CharField())
    items = SubmissionPartItemSerializer(many=True)

    class Meta:
        ref_name = "SubmissionPart"


_ITEM_FIELDS = ("name", "label", "score", "points", "max_points", "correct", "feedback", "misconceptions", "cells")
_PART_FIELDS = ("key", "title", "score", "points", "max_points", "correct", "feedback", "misconceptions")


def _public_parts(result: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The stored result's parts with only the fields students may see: whatever the grader adds
    to the stored result later (expected answers, internals), the API shows this whitelist."""
    parts = (result or {}).get("parts") or []
    out: list[dict[str, Any]] = []
    for part in parts:
        if not isinstance(part, Mapping):
            continue
        public = {name: part.get(name) for name in _PART_FIELDS}
        public["misconceptions"] = list(part.get("misconceptions") or [])
        public["items"] = [
            {**{name: item.get(name) for name in _ITEM_FIELDS}, "misconceptions": list(item.get("misconceptions") or [])}
            for item in part.get("items") or []
            if isinstance(item, Mapping)
        ]
        out.append(public)
    return out


class CodeTestSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    public = serializers.BooleanField(help_text="Public tests are in public_tests.py; the rest are hidden, drawn per submission.")
    function = serializers.CharField()
    points = serializers.FloatField()
    earned = serializers.FloatField()
    passed = serializers.BooleanField()
    status = serializers.ChoiceField(choices=["passed", "failed", "error", "not_run"])
    message = serializers.CharField(allow_blank=True, help_text="In the submission's language.")
    seconds = serializers.FloatField(allow_null=True)
    traceback = serializers.CharField(allow_blank=True, help_text="From your own code, when it raised.")

    class Meta:
        ref_name = "CodeTest"


class CodeResultSerializer(serializers.Serializer):
    tests = CodeTestSerializer(many=True)
    passed = serializers.IntegerField()
    summary = serializers.CharField(allow_null=True, help_text="Why the run stopped early, if it did.")
    stdout = serializers.CharField(allow_blank=True)
    stderr = serializers.CharField(allow_blank=True)
    output_truncated = serializers.BooleanField()
    resources = serializers.DictField(child=serializers.JSONField(), help_text="wall/cpu seconds, memory, exit.")

    class Meta:
        ref_name = "CodeResult"


_TEST_FIELDS = ("name", "title", "public", "function", "points", "earned", "passed", "status", "seconds")


def _public_code_result(result: Mapping[str, Any] | None, lang: str) -> dict[str, Any] | None:
    """A coding lab's stored result with only what students may see (a whitelist, like parts)."""
    code = (result or {}).get("code")
    if not isinstance(code, Mapping):
        return None

    def pick(message: Any) -> str | None:
        return tr(message, lang) if isinstance(message, Mapping) else None

    return {
        "tests": [
            {**{f: t.get(f) for f in _TEST_FIELDS}, "message": pick(t.get("message")) or "",
             "traceback": str(t.get("traceback") or "")}
            for t in code.get("tests") or [] if isinstance(t, Mapping)
        ],
        "passed": int(code.get("passed") or 0),
        "summary": pick(code.get("summary")),
        "stdout": str(code.get("stdout") or ""),
        "stderr": str(code.get("stderr") or ""),
        "output_truncated": bool(code.get("output_truncated")),
        "resources": dict(code.get("resources") or {}),
    }


class SubmissionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    lab = serializers.CharField(source="lab.slug")
    user = serializers.CharField(source="user.username")
    number = serializers.IntegerField(help_text="1 for the student's first submission of this lab.")
    status = serializers.ChoiceField(choices=SubmissionStatus.choices)
    lang = serializers.CharField()
    created_at = serializers.DateTimeField()
    enqueued_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    late_days = serializers.IntegerField()
    score = serializers.FloatField(allow_null=True, help_text="Points after the attempts and late policies.")
    raw_score = serializers.FloatField(allow_null=True, help_text="0–1, before policies.")
    points = serializers.SerializerMethodField()
    max_points = serializers.SerializerMethodField()
    misconceptions = serializers.SerializerMethodField()
    parts = serializers.SerializerMethodField()
    answers = serializers.DictField(child=serializers.DictField(child=serializers.JSONField()))
    kind = serializers.CharField(source="lab.kind", help_text="numeric or code.")
    code = serializers.SerializerMethodField(help_text="Coding labs: the per-test results (null otherwise or until graded).")
    source_code = serializers.CharField(help_text="Coding labs: the file as submitted.")

    class Meta:
        ref_name = "Submission"

    @extend_schema_field(CodeResultSerializer(allow_null=True))
    def get_code(self, submission: Submission) -> dict[str, Any] | None:
        return _public_code_result(submission.result, submission.lang)

    def get_url(self, submission: Submission) -> str:
        return reverse("api-submission-detail", kwargs={"submission_id": submission.pk})

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_points(self, submission: Submission) -> float | None:
        return (submission.result or {}).get("points")

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_max_points(self, submission: Submission) -> float | None:
        return (submission.result or {}).get("max_points")

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_misconceptions(self, submission: Submission) -> list[str]:
        return list((submission.result or {}).get("misconceptions") or [])

    @extend_schema_field(SubmissionPartSerializer(many=True))
    def get_parts(self, submission: Submission) -> list[dict[str, Any]]:
        return SubmissionPartSerializer(_public_parts(submission.result), many=True).data


class SourceTooLarge(PayloadTooLarge):
    default_detail = _("The file is larger than the upload limit.")
    default_code = "file_too_large"


def _uploaded_source(data: Mapping[str, Any]) -> str:
    """The source of a coding-lab submission from ``file`` or ``source_code``: UTF-8 ``.py`` only."""
    upload = data.get("file")
    if upload is not None:
        if not str(upload.name or "").endswith(".py"):
            raise exceptions.ValidationError({"file": [_("Upload a Python file ending in .py.")]})
        if upload.size > MAX_SOURCE_BYTES:
            raise SourceTooLarge(_("The file is larger than %(kb)d KB.") % {"kb": MAX_SOURCE_BYTES // 1024})
        raw = upload.read(MAX_SOURCE_BYTES + 1)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.ValidationError({"file": [_("The file is not UTF-8 text.")]}) from None
    source = data.get("source_code")
    if source is None:
        raise exceptions.ValidationError({"source_code": [_("Send the Python source as source_code or as a file.")]})
    if len(source.encode("utf-8", errors="surrogatepass")) > MAX_SOURCE_BYTES:
        raise SourceTooLarge(_("The file is larger than %(kb)d KB.") % {"kb": MAX_SOURCE_BYTES // 1024})
    return source


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, pattern=IDEMPOTENCY_KEY_RE.pattern,
    description="Any unique string (e.g. a UUID): a retry with the same key returns the first submission (200).",
)


class SubmissionCreateApi(ApiView):
    """Submit answers to a lab; grading runs in the background (poll the submission)."""

    throttle_classes = [SubmissionRateThrottle]

    parser_classes = [StrictJSONParser, MultiPartParser]

    class InputSerializer(serializers.Serializer):
        answers = AnswersField(required=False, help_text="Numeric labs: {part key: {answer box name: answer}}.")
        source_code = serializers.CharField(
            required=False, trim_whitespace=False, allow_blank=True,
            help_text=f"Coding labs: the Python source (UTF-8, at most {MAX_SOURCE_BYTES // 1024} KB). "
            "Or send it as the multipart file field `file`.",
        )
        file = serializers.FileField(required=False, help_text="Coding labs: a .py file (multipart/form-data).")
        lang = serializers.ChoiceField(
            choices=list(LANGS), default=DEFAULT_LANG, required=False, help_text="Language of the feedback."
        )

        class Meta:
            ref_name = "SubmissionCreateInput"

    class HeaderSerializer(serializers.Serializer):
        idempotency_key = serializers.RegexField(IDEMPOTENCY_KEY_RE, required=False)

        class Meta:
            ref_name = "SubmissionCreateHeaders"

    @extend_schema(
        operation_id="labs_submissions_create",
        tags=["submissions"],
        parameters=[SLUG_PARAMETER, IDEMPOTENCY_KEY_PARAMETER],
        request=InputSerializer,
        responses={
            201: OpenApiResponse(SubmissionOutputSerializer, description="Created and queued for grading."),
            200: OpenApiResponse(SubmissionOutputSerializer, description="Retry: the first submission with this Idempotency-Key."),
            **_errors(400, 401, 404, 409, 413, 429),
        },
    )
    def post(self, request: Request, lab_slug: str) -> Response:
        lab, _role = lab_get_for_member(user=request.user, lab_slug=lab_slug)
        headers = self.HeaderSerializer(data={
            name: value for name, value in {"idempotency_key": request.headers.get("Idempotency-Key")}.items()
            if value is not None
        })
        headers.is_valid(raise_exception=True)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        source_code = _uploaded_source(data) if lab.kind == LabKind.CODE else None
        if lab.kind == LabKind.NUMERIC and "answers" not in data:
            raise exceptions.ValidationError({"answers": [_("This field is required.")]})
        try:
            result = submission_create(
                user=request.user,
                lab=lab,
                answers=data.get("answers"),
                source_code=source_code,
                idempotency_key=headers.validated_data.get("idempotency_key", ""),
                lang=serializer.validated_data["lang"],
            )
        except SubmissionInvalid as exc:
            return Response({"detail": exc.message, "errors": exc.errors}, status=status.HTTP_400_BAD_REQUEST)
        except SubmissionRefused as exc:
            return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_409_CONFLICT)
        data = SubmissionOutputSerializer(result.submission).data
        if not result.created:
            return Response(data, status=status.HTTP_200_OK)
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": data["url"]})


class SubmissionDetailApi(ApiView):
    """One submission: state, timestamps, score, per-part grades and feedback (owner or course staff)."""

    @extend_schema(
        operation_id="submissions_retrieve",
        tags=["submissions"],
        parameters=[OpenApiParameter("submission_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={200: SubmissionOutputSerializer, **_errors(401, 404)},
    )
    def get(self, request: Request, submission_id: int) -> Response:
        submission = submission_get_for_user(user=request.user, submission_id=submission_id)
        return Response(SubmissionOutputSerializer(submission).data)


# --------------------------------------------------------------------------- grades


class MyGradesApi(ApiView):
    """The caller's standing in each lab they can see: attempts used, best and latest score."""

    class OutputSerializer(serializers.Serializer):
        lab = serializers.CharField()
        title = serializers.CharField()
        course = serializers.CharField()
        due_at = serializers.DateTimeField(allow_null=True)
        attempts_used = serializers.IntegerField(help_text="Submissions that count (failed gradings do not).")
        attempts_allowed = serializers.IntegerField(allow_null=True, help_text="null: unlimited.")
        max_points = serializers.FloatField()
        best_score = serializers.FloatField(allow_null=True)
        latest_score = serializers.FloatField(allow_null=True)
        latest_status = serializers.CharField(allow_null=True, help_text="queued, running, graded or failed.")
        latest_submission = serializers.IntegerField(allow_null=True, help_text="Id of the latest submission.")

        class Meta:
            ref_name = "LabGrade"

    @extend_schema(operation_id="me_grades_list", tags=["grades"], responses={200: OutputSerializer(many=True), **_errors(401)})
    def get(self, request: Request) -> Response:
        grades = []
        for row in _lab_rows(request.user):
            latest = lab_submissions_for_student(user=request.user, lab=row.lab).first()
            grades.append({
                "lab": row.lab.slug,
                "title": row.lab.title,
                "course": row.course,
                "due_at": row.lab.due_at,
                "attempts_used": row.attempts_used,
                "attempts_allowed": row.attempt_limit,
                "max_points": row.max_points,
                "best_score": row.best_score,
                "latest_score": latest.score if latest is not None else None,
                "latest_status": latest.status if latest is not None else None,
                "latest_submission": latest.pk if latest is not None else None,
            })
        return Response(self.OutputSerializer(grades, many=True).data)
