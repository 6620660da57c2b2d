"""The labs API: the caller's labs, their variant of one, submitting, and their submissions and grades.

One class per operation, each with a nested ``InputSerializer``/``OutputSerializer``: validate,
call one access check or service, present. Parsing, errors and throttles are the API's shared
plumbing (``dlcv_site.api``); a service's refusal becomes a 400 or 409 there. Texts follow the
request's language (``?lang=``, ``Accept-Language``); a result is shown through
``GradingResult.for_student`` and nothing else of it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import STAFF_ROLES, User
from accounts.selectors import enrollments_for_user
from dlcv_site.api import (
    ApiView,
    PayloadTooLarge,
    StrictInputSerializer,
    StrictJSONParser,
    SubmissionRateThrottle,
    error_responses,
)
from dlcv_site.i18n import django_language, grader_lang, localized
from grader.answers import MAX_TEXT_CHARS
from grader.i18n import LANGS
from grader.problems.base import PART_KINDS
from labs import presenters
from labs.access import lab_get_for_member, submission_get_for_user
from labs.models import LabKind, SubmissionStatus
from labs.selectors import LabRow, lab_submissions_for_student, labs_for_student
from labs.services import MAX_SOURCE_BYTES, lab_variant_seed, submission_create

#: Bounds on the shape of ``answers`` (well above any real lab, well below anything costly).
MAX_PARTS = 100
MAX_BOXES_PER_PART = 100
MAX_KEY_CHARS = 100
MAX_LIST_ITEMS = 10_000
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,200}$"  # visible ASCII, as HTTP headers carry it


# --------------------------------------------------------------------------- labs


LANG_PARAMETER = OpenApiParameter(
    "lang", str, OpenApiParameter.QUERY, enum=list(LANGS),
    description="Language of statements, labels and messages (default: Accept-Language, else zh-Hant).",
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
        title = serializers.SerializerMethodField(help_text="In the request's language if the lab has it.")
        course = serializers.CharField()
        kind = serializers.CharField(source="lab.kind")
        published = serializers.BooleanField(source="lab.published")
        due_at = serializers.DateTimeField(source="lab.due_at", allow_null=True)
        url = serializers.SerializerMethodField()

        class Meta:
            ref_name = "LabSummary"

        def get_url(self, entry: CourseLabRow) -> str:
            return reverse("api-lab-detail", kwargs={"lab_slug": entry.lab.slug})

        def get_title(self, entry: CourseLabRow) -> str:
            return localized(entry.lab.title, entry.lab.translations, "title").text

    @extend_schema(operation_id="labs_list", tags=["labs"], responses={200: OutputSerializer(many=True), **error_responses(401)})
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


class LabDetailApi(ApiView):
    """The caller's own variant of a lab: each part's statement and answer boxes."""

    class QuerySerializer(serializers.Serializer):
        lang = serializers.ChoiceField(choices=list(LANGS), required=False)

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
        responses={200: OutputSerializer, **error_responses(400, 401, 404)},
    )
    def get(self, request: Request, lab_slug: str) -> Response:
        lab, _role = lab_get_for_member(user=request.user, lab_slug=lab_slug)
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        lang = query.validated_data.get("lang") or grader_lang()
        seed = lab_variant_seed(lab_id=lab.pk, user_id=request.user.pk)
        data = {
            "slug": lab.slug,
            # The lab's own texts in the requested language if it has them, else as written.
            "title": localized(lab.title, lab.translations, "title", lang).text,
            "course": lab.course.slug,
            "kind": lab.kind,
            "description": localized(lab.description, lab.translations, "description", lang).text,
            "published": lab.published,
            "due_at": lab.due_at,
            "attempts_policy": lab.attempts_policy or {},
            "late_policy": lab.late_policy or {},
            "lang": lang,
            "parts": [presenters.part_view(part, seed, lang) for part in lab.parts.all()],
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
    """``what``: the value's name in a sentence, already translated ("An answer")."""
    if len(text) > max_chars:
        raise serializers.ValidationError(
            gettext("%(what)s is longer than %(max)d characters.") % {"what": what, "max": max_chars})
    if "\x00" in text:
        raise serializers.ValidationError(gettext("%(what)s contains a NUL character.") % {"what": what})
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate such as "\ud800": not storable text
        raise serializers.ValidationError(gettext("%(what)s is not valid Unicode text.") % {"what": what}) from None


def _check_scalar(value: Any, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise serializers.ValidationError(gettext("%(what)s must be text or a number, not %(type)s.")
                                          % {"what": what, "type": _json_type(value)})
    if isinstance(value, str):
        _check_text(value, what, MAX_TEXT_CHARS)
        return
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        finite = False
    if not finite:
        raise serializers.ValidationError(gettext("%(what)s must be a finite number.") % {"what": what})


def _json_type(value: Any) -> str:
    """What a JSON value is, for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return gettext("a boolean")
    if isinstance(value, Mapping):
        return gettext("an object")
    if isinstance(value, list):
        return gettext("a list")
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
                raise serializers.ValidationError(
                    gettext("A list may have at most %(n)d entries.") % {"n": MAX_LIST_ITEMS})
            cells = 0
            for row in data:
                if isinstance(row, list):
                    cells += len(row)
                    for cell in row:
                        _check_scalar(cell, gettext("A matrix entry"))
                else:
                    cells += 1
                    _check_scalar(row, gettext("A list entry"))
            if cells > MAX_LIST_ITEMS:
                raise serializers.ValidationError(
                    gettext("A matrix may have at most %(n)d entries.") % {"n": MAX_LIST_ITEMS})
            return data
        _check_scalar(data, gettext("An answer"))
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class AnswerKeyField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=MAX_KEY_CHARS, **kwargs)


def _check_keys(mapping: Mapping[str, Any], limit: int, too_many: str) -> None:
    """``too_many``: the message for more than ``limit`` keys, translated, with ``%(limit)d``."""
    if len(mapping) > limit:
        raise serializers.ValidationError(too_many % {"limit": limit})
    for key in mapping:
        _check_text(str(key), gettext("The name %(name)s") % {"name": repr(str(key)[:40])}, MAX_KEY_CHARS)


class PartAnswersField(serializers.DictField):
    """``{answer box name: value}`` of one part."""

    child = AnswerValueField()

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise serializers.ValidationError(
                gettext("Expected an object of answer boxes, not %(type)s.") % {"type": _json_type(data)})
        _check_keys(data, MAX_BOXES_PER_PART, gettext("At most %(limit)d answer boxes per part are allowed."))
        return super().to_internal_value(data)


class AnswersField(serializers.DictField):
    """``{part key: {answer box name: value}}``."""

    child = PartAnswersField()

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise serializers.ValidationError(
                gettext("Expected an object of parts, not %(type)s.") % {"type": _json_type(data)})
        _check_keys(data, MAX_PARTS, gettext("At most %(limit)d parts are allowed."))
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


class SubmissionOutputSerializer(serializers.Serializer):
    """A submission as ``labs.presenters.submission_api_view`` lays it out for its owner."""

    id = serializers.IntegerField()
    url = serializers.CharField(help_text="This submission in the API.")
    page_url = serializers.CharField(help_text="This submission's page in the browser.")
    lab = serializers.CharField()
    user = serializers.CharField()
    number = serializers.IntegerField(help_text="1 for the student's first submission of this lab.")
    status = serializers.ChoiceField(choices=SubmissionStatus.choices)
    lang = serializers.CharField(help_text="The language the student submitted in.")
    created_at = serializers.DateTimeField()
    enqueued_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    late_days = serializers.IntegerField()
    score = serializers.FloatField(
        allow_null=True,
        help_text="Points after the attempts and late policies (the stored Submission.points; this name is kept for "
                  "compatibility: it is not a 0–1 score).",
    )
    raw_score = serializers.FloatField(
        allow_null=True,
        help_text="The 0–1 score before the policies (the stored Submission.score; this name is kept for compatibility).",
    )
    points = serializers.FloatField(allow_null=True, help_text="Points before policies.")
    max_points = serializers.FloatField(allow_null=True)
    misconceptions = serializers.ListField(child=serializers.CharField())
    parts = SubmissionPartSerializer(many=True)
    answers = serializers.DictField(child=serializers.DictField(child=serializers.JSONField()))
    kind = serializers.CharField(help_text="numeric or code.")
    code = CodeResultSerializer(allow_null=True, help_text="Coding labs: the per-test results (null otherwise or until graded).")
    source_code = serializers.CharField(allow_blank=True, help_text="Coding labs: the file as submitted.")

    class Meta:
        ref_name = "Submission"


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


def _refuse_fields_of_the_other_kind(kind: str, data: Mapping[str, Any]) -> None:
    """A numeric lab takes ``answers``, a coding lab ``source_code`` or ``file``: the other kind's
    field is refused by name, never ignored (the work sent would be lost without a word)."""
    if kind == LabKind.NUMERIC:
        wrong = {name: gettext("This lab is graded from numeric answers: send answers, not %(field)s.")
                 % {"field": name} for name in ("source_code", "file") if name in data}
    else:
        wrong = {"answers": gettext("This lab is graded from a Python file: send source_code or file, not answers.")} \
            if "answers" in data else {}
    if wrong:
        raise exceptions.ValidationError({name: [message] for name, message in wrong.items()})


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, pattern=IDEMPOTENCY_KEY_PATTERN,
    description="Any unique string (e.g. a UUID): a retry with the same key and body returns the first submission "
    "(200); the same key with a different body is refused (422).",
)


class SubmissionCreateApi(ApiView):
    """Submit answers to a lab; grading runs in the background (poll the submission)."""

    throttle_classes = [SubmissionRateThrottle]

    parser_classes = [StrictJSONParser, MultiPartParser]

    class InputSerializer(StrictInputSerializer):
        answers = AnswersField(required=False, help_text="Numeric labs: {part key: {answer box name: answer}}.")
        source_code = serializers.CharField(
            required=False, trim_whitespace=False, allow_blank=True,
            help_text=f"Coding labs: the Python source (UTF-8, at most {MAX_SOURCE_BYTES // 1024} KB). "
            "Or send it as the multipart file field `file`.",
        )
        file = serializers.FileField(required=False, help_text="Coding labs: a .py file (multipart/form-data).")
        lang = serializers.ChoiceField(
            choices=list(LANGS), required=False,
            help_text="The student's language: that of the error messages here (default: the request's). "
            "Results are kept in every language and shown in the reader's.",
        )

        class Meta:
            ref_name = "SubmissionCreateInput"

    class HeaderSerializer(serializers.Serializer):
        idempotency_key = serializers.RegexField(IDEMPOTENCY_KEY_PATTERN, required=False)

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
            **error_responses(400, 401, 404, 409, 411, 413, 422, 429),
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
        _refuse_fields_of_the_other_kind(lab.kind, data)
        source_code = _uploaded_source(data) if lab.kind == LabKind.CODE else None
        if lab.kind == LabKind.NUMERIC and "answers" not in data:
            raise exceptions.ValidationError({"answers": [_("This field is required.")]})
        lang = data.get("lang") or grader_lang()
        with translation.override(django_language(lang)):  # refusals say why in the student's language
            result = submission_create(
                user=request.user,
                lab=lab,
                answers=data.get("answers"),
                source_code=source_code,
                idempotency_key=headers.validated_data.get("idempotency_key", ""),
                lang=lang,
            )
            data = SubmissionOutputSerializer(presenters.submission_api_view(result.submission, lang=lang)).data
        if not result.created:
            return Response(data, status=status.HTTP_200_OK)
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": data["url"]})


class SubmissionDetailApi(ApiView):
    """One submission: state, timestamps, score, per-part grades and feedback (owner or course staff)."""

    @extend_schema(
        operation_id="submissions_retrieve",
        tags=["submissions"],
        parameters=[OpenApiParameter("submission_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={200: SubmissionOutputSerializer, **error_responses(401, 404)},
    )
    def get(self, request: Request, submission_id: int) -> Response:
        submission = submission_get_for_user(user=request.user, submission_id=submission_id)
        return Response(SubmissionOutputSerializer(presenters.submission_api_view(submission, lang=grader_lang())).data)


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
        max_points = serializers.FloatField(help_text="The lab's total points.")
        best_score = serializers.FloatField(
            allow_null=True,
            help_text="The caller's points in the lab: best per part over graded submissions, each part with the "
                      "attempt and late factors of the submission that earned it (not a 0–1 score; the name is kept "
                      "for compatibility).",
        )
        latest_score = serializers.FloatField(
            allow_null=True,
            help_text="The latest submission's points after the policies (null until graded; the name is kept for "
                      "compatibility).",
        )
        latest_status = serializers.CharField(allow_null=True, help_text="queued, running, graded or failed.")
        latest_submission = serializers.IntegerField(allow_null=True, help_text="Id of the latest submission.")

        class Meta:
            ref_name = "LabGrade"

    @extend_schema(operation_id="me_grades_list", tags=["grades"], responses={200: OutputSerializer(many=True), **error_responses(401)})
    def get(self, request: Request) -> Response:
        grades = []
        for row in _lab_rows(request.user):
            latest = lab_submissions_for_student(user=request.user, lab=row.lab).first()
            grades.append({
                "lab": row.lab.slug,
                "title": localized(row.lab.title, row.lab.translations, "title").text,
                "course": row.course,
                "due_at": row.lab.due_at,
                "attempts_used": row.attempts_used,
                "attempts_allowed": row.attempt_limit,
                "max_points": row.max_points,
                # The API's names: its "score"s are points after the policies (Submission.points).
                "best_score": row.best_points,
                "latest_score": latest.points if latest is not None else None,
                "latest_status": latest.status if latest is not None else None,
                "latest_submission": latest.pk if latest is not None else None,
            })
        return Response(self.OutputSerializer(grades, many=True).data)
