"""Numeric labs: variants, submissions, grading by the Celery worker, the sweeper and regrades.

The row is the truth. ``submission_create`` validates every part with the family's ``parse``
(an invalid submission writes nothing and costs no attempt), applies the due date and the attempts
policy, stores the row and sends only its id to the broker once the transaction commits.
``submission_grade`` (called by ``grader.tasks.grade_numeric_submission``) claims the row with a
conditional UPDATE that stamps a fresh ``claim_token``, grades, and stores the result with a second
conditional UPDATE that only applies while that claim still holds. So a duplicated or redelivered
message grades nothing twice, and a worker that lost its claim (it was presumed dead and the sweeper
handed the row to another) never overwrites the newer result. Messages a broker loses, or that a
killed worker held, are sent again by ``submissions_requeue_stuck`` from the table.

Attempts: ``number`` is assigned at creation (1, 2, …) and never reused. A submission whose grading
*failed* (our fault: a grader bug or a time-out) does not count: it is skipped when the attempts
limit is checked and when the declining-points position of a later submission is computed
(position = 1 + earlier non-failed submissions of the student for the lab, at grading time).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import secrets
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache, partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone
from kombu.exceptions import KombuError

from accounts.models import Course, User
from dlcv_site.rows import model_from_row, select_columns, table_name
from grader.codelabs import get_codelab
from grader.codelabs.grade import Runner, grade_code
from grader.problems import get_family
from grader.problems.base import LANGS, Grade, Params
from grader.sandbox.runner import make_runner
from labs.models import Lab, LabKind, LabPart, Submission, SubmissionStatus
from quizzes.services.attempts import variant_seed

logger = logging.getLogger(__name__)

#: The broker queue numeric gradings go to (tests and the bench point it at a private queue).
GRADING_QUEUE = "numeric"
#: Coding labs run on their own queue (own workers, prefetch 1): numeric grading never waits on them.
CODE_GRADING_QUEUE = "code"
#: Coding-lab runs last up to their lab's wall limit (the training lab: 90 s) plus sandbox start.
CODE_STALE_RUNNING_AFTER = timedelta(seconds=600)
#: Upload limit for one source file (the API answers 413 above it).
MAX_SOURCE_BYTES = 128 * 1024
#: A row ``running`` for longer than this is presumed abandoned: it is well past the task's hard
#: time limit (30 s), so its worker is dead or the result write was lost.
STALE_RUNNING_AFTER = timedelta(seconds=120)
#: The periodic sweeper's limit for rows that sat queued or running without progress.
REQUEUE_STUCK_AFTER = timedelta(seconds=120)
#: Claims that never wrote a result (worker killed, result write lost) before the sweeper gives up.
MAX_LOST_RUNS = 3
MAX_ANSWERS_BYTES = 64 * 1024
IDEMPOTENCY_KEY_MAX_LENGTH = 200  # Submission.idempotency_key
SWEEP_BATCH = 1000

_Q4 = Decimal("0.0001")

_MSG: dict[str, dict[str, str]] = {
    "unknown_part": {"en": "This lab has no part '{part}'.", "zh-Hant": "這個實驗沒有「{part}」這一部分。"},
    "not_object": {
        "en": "Answers must be an object mapping part keys to answers.",
        "zh-Hant": "答案必須是「部分代號 → 答案」的物件。",
    },
    "too_large": {"en": "The answers are too large.", "zh-Hant": "答案太長。"},
    "closed": {"en": "This lab is closed for submissions.", "zh-Hant": "這個實驗已截止，不再接受繳交。"},
    "too_late": {
        "en": "The late-submission period of this lab is over.",
        "zh-Hant": "這個實驗的遲交期限已過。",
    },
    "attempts": {
        "en": "You have used all {n} submissions of this lab.",
        "zh-Hant": "這個實驗的 {n} 次繳交機會都已用完。",
    },
    "unsupported": {
        "en": "This lab is not graded from numeric answers.",
        "zh-Hant": "這個實驗不是以數值答案評分。",
    },
    "unpublished": {"en": "This lab is not open yet.", "zh-Hant": "這個實驗尚未開放。"},
    "missing": {"en": "No answer given.", "zh-Hant": "未作答。"},
    "no_source": {"en": "Submit a Python file.", "zh-Hant": "請繳交一個 Python 檔案。"},
    "source_too_large": {
        "en": "The file is larger than {kb} KB.",
        "zh-Hant": "檔案超過 {kb} KB。",
    },
    "source_not_text": {
        "en": "The file must be UTF-8 Python source (no NUL bytes).",
        "zh-Hant": "檔案必須是 UTF-8 編碼的 Python 原始碼（不可含 NUL 位元組）。",
    },
    "syntax": {
        "en": "Syntax error on line {line}: {error}. Nothing was submitted.",
        "zh-Hant": "第 {line} 行語法錯誤：{error}。這次沒有繳交。",
    },
    "source_for_numeric": {
        "en": "This lab is graded from numeric answers, not from code.",
        "zh-Hant": "這個實驗以數值答案評分，不收程式碼。",
    },
}


def _msg(name: str, lang: str, **fmt: Any) -> str:
    text = _MSG[name].get(lang) or _MSG[name]["en"]
    return text.format(**fmt) if fmt else text


class SubmissionError(Exception):
    """A rule refused the submission; ``code`` is stable for clients, the message is for people."""

    code = "refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SubmissionInvalid(SubmissionError):
    """Format errors: ``errors`` is ``{part_key: {part_name: message}}``. Nothing was written."""

    code = "invalid"

    def __init__(self, errors: dict[str, dict[str, str]], message: str = "The answers could not be read.") -> None:
        super().__init__(message)
        self.errors = errors


class SubmissionRefused(SubmissionError):
    """A policy refused it: ``closed``, ``attempts_exhausted``, ``unsupported``, ``unpublished``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class SubmissionCreateResult:
    submission: Submission
    created: bool


# --------------------------------------------------------------------------- variants


def lab_variant_seed(*, lab: Lab, user: User) -> int:
    """The student's seed for this lab: stable across reloads, different for each student."""
    return _lab_seed(lab.pk, user.pk)


def _lab_seed(lab_id: int, user_id: int) -> int:
    return variant_seed("lab", lab_id, user_id)


@lru_cache(maxsize=4096)
def _params_json(family: str, seed: int, constraints_json: str) -> str:
    # Generation resamples until the variant tells its misconceptions apart (up to ~20 ms for
    # detection-map), and every page view and submission needs it: memoize the JSON.
    constraints = json.loads(constraints_json)
    return json.dumps(get_family(family).generate(seed, constraints or None))


def lab_part_params(*, part: LabPart, seed: int) -> Params:
    """The part's variant for a student's lab seed (each part draws its own, keyed by its key)."""
    constraints = json.dumps(part.constraints or {}, sort_keys=True)
    return json.loads(_params_json(part.family, variant_seed(seed, part.key), constraints))


# --------------------------------------------------------------------------- policies


def _late_days(lab: Lab, now: datetime, lang: str) -> int:
    """Whole days (started) past the due date; refuses when late submissions are not allowed."""
    if lab.due_at is None or now <= lab.due_at:
        return 0
    days = math.ceil((now - lab.due_at).total_seconds() / 86400)
    policy = lab.late_policy or {}
    if not policy:
        raise SubmissionRefused("closed", _msg("closed", lang))
    if days > int(policy.get("max_late_days", 0)):
        raise SubmissionRefused("closed", _msg("too_late", lang))
    return days


def _late_factor(lab: Lab, late_days: int) -> float:
    if late_days <= 0:
        return 1.0
    return max(0.0, 1.0 - float((lab.late_policy or {}).get("penalty_per_day", 0)) * late_days)


def _attempt_limit(lab: Lab) -> int | None:
    policy = lab.attempts_policy or {}
    if policy.get("mode", "unlimited") == "declining":
        return len(policy["points"])
    return None


def _attempt_factor(lab: Lab, position: int) -> float:
    policy = lab.attempts_policy or {}
    if policy.get("mode", "unlimited") != "declining":
        return 1.0
    points = policy["points"]
    # A position past the list only arises when a failed submission is regraded successfully after
    # later ones were made; those get the last factor rather than nothing.
    return float(points[min(position, len(points)) - 1])


def _counted() -> Count:
    """Submissions that count as attempts: all but those whose grading failed (our fault)."""
    return Count("pk", filter=~Q(status=SubmissionStatus.FAILED))


def _check_attempts(lab: Lab, counted: int, lang: str) -> None:
    limit = _attempt_limit(lab)
    if limit is not None and counted >= limit:
        raise SubmissionRefused("attempts_exhausted", _msg("attempts", lang, n=limit))


# --------------------------------------------------------------------------- create


def _validate(
    parts: Sequence[LabPart], answers: Any, seed: int, lang: str
) -> tuple[dict[str, Params], dict[str, dict[str, str]]]:
    """Parse every part for the student's variant: ``(variant, errors)``."""
    if not isinstance(answers, Mapping):
        return {}, {"_answers": {"_answer": _msg("not_object", lang)}}
    if len(json.dumps(answers, ensure_ascii=False).encode()) > MAX_ANSWERS_BYTES:
        return {}, {"_answers": {"_answer": _msg("too_large", lang)}}
    known = {part.key for part in parts}
    errors: dict[str, dict[str, str]] = {
        str(key): {"_part": _msg("unknown_part", lang, part=key)} for key in answers if key not in known
    }
    variant: dict[str, Params] = {}
    for part in parts:
        params = lab_part_params(part=part, seed=seed)
        variant[part.key] = params
        parsed = get_family(part.family).parse(params, answers.get(part.key) or {}, lang)
        if not parsed.valid:
            errors[part.key] = dict(parsed.format_errors)
    return variant, errors


def _existing(lab: Lab, user: User, idempotency_key: str) -> Submission | None:
    if not idempotency_key:
        return None
    return Submission.objects.filter(lab=lab, user=user, idempotency_key=idempotency_key).first()


def _validate_source(source_code: str | None, lang: str) -> str:
    """A coding-lab submission: UTF-8 Python text within the size limit that at least compiles.

    A syntax error is reported like a format error (nothing stored, no attempt used): the student
    fixes a typo without it costing them, as with a malformed number in a numeric lab.
    """
    if not source_code or not source_code.strip():
        raise SubmissionInvalid({"source_code": {"_answer": _msg("no_source", lang)}})
    if len(source_code.encode("utf-8", errors="surrogatepass")) > MAX_SOURCE_BYTES:
        raise SubmissionInvalid({"source_code": {"_answer": _msg("source_too_large", lang, kb=MAX_SOURCE_BYTES // 1024)}})
    if "\x00" in source_code:
        raise SubmissionInvalid({"source_code": {"_answer": _msg("source_not_text", lang)}})
    try:
        source_code.encode("utf-8")
        compile(source_code, "submission.py", "exec", dont_inherit=True)  # parses only; never runs here
    except UnicodeEncodeError:
        raise SubmissionInvalid({"source_code": {"_answer": _msg("source_not_text", lang)}}) from None
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None) or "?"
        error = getattr(exc, "msg", None) or str(exc)
        raise SubmissionInvalid({"source_code": {"_answer": _msg("syntax", lang, line=line, error=error)}}) from None
    return source_code


def submission_create(
    *,
    user: User,
    lab: Lab,
    answers: dict[str, dict[str, Any]] | None = None,
    source_code: str | None = None,
    idempotency_key: str = "",
    lang: str = "zh-Hant",
    now: datetime | None = None,
) -> SubmissionCreateResult:
    """Validate, apply the policies, store a queued submission and enqueue its grading on commit.

    Numeric labs take ``answers``; coding labs take ``source_code`` (a fresh hidden-test seed is
    drawn per submission). Raises ``SubmissionInvalid`` (format or syntax errors; nothing written,
    no attempt used) or ``SubmissionRefused`` (``closed``, ``attempts_exhausted``, …). The same
    non-empty ``idempotency_key`` again returns the first submission with ``created=False``, also
    when the retries race (a per-student row lock, and the unique constraint behind it).
    """
    if lang not in LANGS:
        raise ValueError(f"unsupported language {lang!r}")
    if len(idempotency_key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise ValueError(f"idempotency_key longer than {IDEMPOTENCY_KEY_MAX_LENGTH} characters")
    now = now or timezone.now()
    existing = _existing(lab, user, idempotency_key)
    if existing is not None:
        return SubmissionCreateResult(existing, created=False)
    if lab.kind not in (LabKind.NUMERIC, LabKind.CODE) or (lab.kind == LabKind.CODE and not lab.codelab):
        raise SubmissionRefused("unsupported", _msg("unsupported", lang))
    if lab.kind == LabKind.NUMERIC and source_code:
        raise SubmissionRefused("unsupported", _msg("source_for_numeric", lang))
    late_days = _late_days(lab, now, lang)
    try:
        if lab.kind == LabKind.CODE:
            source = _validate_source(source_code, lang)
            answers = {}
            # Hidden tests are drawn per submission: resubmitting cannot overfit a fixed set.
            variant: dict[str, Any] = {"codelab": lab.codelab, "seed": secrets.randbelow(2**31)}
        else:
            source = ""
            variant, errors = _validate(list(lab.parts.all()), answers, lab_variant_seed(lab=lab, user=user), lang)
            if errors:
                raise SubmissionInvalid(errors)
    except SubmissionInvalid:
        # No point fixing the format of an answer that would be refused: say that first. (A valid
        # answer is checked once, under the lock below.)
        if _attempt_limit(lab) is not None:
            _check_attempts(lab, Submission.objects.filter(lab=lab, user=user).aggregate(n=_counted())["n"], lang)
        raise
    try:
        with transaction.atomic():
            # One student's submissions to any lab are serialized here, so two concurrent requests
            # cannot both pass the attempts check, take the same number or reuse a key.
            User.objects.select_for_update().filter(pk=user.pk).values_list("pk").first()
            existing = _existing(lab, user, idempotency_key)
            if existing is not None:
                return SubmissionCreateResult(existing, created=False)
            mine = Submission.objects.filter(lab=lab, user=user).aggregate(last=Max("number"), counted=_counted())
            _check_attempts(lab, mine["counted"], lang)
            last = mine["last"] or 0
            submission = Submission.objects.create(
                lab=lab,
                user=user,
                number=last + 1,
                answers=dict(answers or {}),
                source_code=source,
                variant=variant,
                lang=lang,
                idempotency_key=idempotency_key,
                status=SubmissionStatus.QUEUED,
                enqueued_at=timezone.now(),
                late_days=late_days,
            )
            transaction.on_commit(partial(_enqueue, [submission.pk], lab.kind))
    except IntegrityError:
        # A writer that did not take the lock (or SQLite's looser locking) won the race for the key.
        existing = _existing(lab, user, idempotency_key)
        if existing is None:
            raise
        return SubmissionCreateResult(existing, created=False)
    return SubmissionCreateResult(submission, created=True)


def _grading_task(kind: str) -> tuple[Any, str]:
    """The Celery task and queue that grade a submission of a ``kind`` lab."""
    from grader.tasks import grade_code_submission, grade_numeric_submission  # late: they call this module

    if kind == LabKind.CODE:
        return grade_code_submission, CODE_GRADING_QUEUE
    return grade_numeric_submission, GRADING_QUEUE


def _enqueue(submission_ids: Sequence[int], kind: str = LabKind.NUMERIC) -> None:
    """Send one grading task per id. A broker failure leaves the rows queued for the sweeper."""
    task, queue = _grading_task(kind)
    try:
        for submission_id in submission_ids:
            task.apply_async(args=[submission_id], queue=queue)
    except (KombuError, OSError):
        # Broker down. The rows are committed and queued: the sweeper sends them again.
        logger.exception("could not enqueue gradings for submissions %s", list(submission_ids))


# --------------------------------------------------------------------------- grading


@contextmanager
def _relaxed_durability() -> Iterator[None]:
    """A transaction whose commit does not wait for the WAL flush (PostgreSQL ``synchronous_commit
    = off``; one fsync is most of a write's cost). Only for the worker's claim and result writes: a
    database crash may lose the last few, which the sweeper repairs (the row is queued or running
    again and is graded again, with the same result); nothing else can tell the difference."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def _claimable(now: datetime, stale_after: timedelta = STALE_RUNNING_AFTER) -> Q:
    return Q(status=SubmissionStatus.QUEUED) | Q(status=SubmissionStatus.RUNNING, started_at__lt=now - stale_after)


# The worker's PostgreSQL path: the claim and the result write are one statement each (one round
# trip), instead of BEGIN, SET LOCAL, UPDATE, SELECTs, COMMIT. ``set_config(..., true)`` in the FROM
# list turns synchronous_commit off until the end of the statement's own transaction: the same
# relaxed durability as _relaxed_durability, which stays the portable path (SQLite).
_RELAXED_FROM = "(SELECT set_config('synchronous_commit', 'off', true)) AS relaxed"

@lru_cache(maxsize=256)
def _parts_from_json(alias: str, parts_json: str) -> tuple[LabPart, ...]:
    """A lab's parts from the JSON the claim returns with the row. Memoized per worker process on
    the exact text (the version is the content): an unchanged lab is parsed once, an edited part
    is never served stale. The instances are shared: grading only reads them."""
    fields = LabPart._meta.concrete_fields
    return tuple(
        LabPart.from_db(alias, [f.attname for f in fields], [f.to_python(row[f.attname]) for f in fields])
        for row in json.loads(parts_json)
    )


@lru_cache(maxsize=1)
def _claim_sql() -> str:
    """PostgreSQL: claim the row and return, from the same statement, the submission's columns, its
    lab's, the lab's parts as JSON (numeric columns as text, exact) and how many earlier
    submissions of the student for the lab did not fail (the declining-points position)."""
    qn = connection.ops.quote_name
    part_json = ", ".join(
        f"'{f.attname}', p.{qn(f.column)}" + ("::text" if f.get_internal_type() == "DecimalField" else "")
        for f in LabPart._meta.concrete_fields
    )
    submissions, labs, parts = table_name(Submission), table_name(Lab), table_name(LabPart)
    return (
        f"UPDATE {submissions} AS s SET status = %(running)s, claim_token = %(token)s, "
        "grading_runs = s.grading_runs + 1, started_at = %(now)s, finished_at = NULL, error = '' "
        f"FROM {labs} AS l, {_RELAXED_FROM} "
        "WHERE s.id = %(id)s AND l.id = s.lab_id "
        "AND (s.status = %(queued)s OR (s.status = %(running)s AND s.started_at < %(stale_before)s)) "
        f"RETURNING {select_columns(Submission, 's')}, {select_columns(Lab, 'l')}, "
        f"(SELECT json_agg(json_build_object({part_json}) ORDER BY p.position)::text "
        f"FROM {parts} AS p WHERE p.lab_id = s.lab_id), "
        f"(SELECT count(*) FROM {submissions} AS e WHERE e.lab_id = s.lab_id AND e.user_id = s.user_id "
        "AND e.number < s.number AND e.status <> %(failed)s)"
    )


def _claim_postgresql(
    submission_id: int, token: uuid.UUID, now: datetime, stale_after: timedelta
) -> tuple[Submission, list[LabPart], int] | None:
    with connection.cursor() as cursor:
        cursor.execute(
            _claim_sql(),
            {
                "id": submission_id,
                "token": token,
                "now": now,
                "stale_before": now - stale_after,
                "queued": SubmissionStatus.QUEUED.value,
                "running": SubmissionStatus.RUNNING.value,
                "failed": SubmissionStatus.FAILED.value,
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    n_submission, n_lab = len(Submission._meta.concrete_fields), len(Lab._meta.concrete_fields)
    submission = model_from_row(Submission, row[:n_submission])
    submission.lab = model_from_row(Lab, row[n_submission : n_submission + n_lab])
    parts_json, earlier = row[n_submission + n_lab :]
    parts = list(_parts_from_json(connection.alias, parts_json or "[]"))
    # Only declining points depend on the position.
    position = 1 + int(earlier) if _attempt_limit(submission.lab) is not None else 1
    return submission, parts, position


def _write_postgresql(submission_id: int, token: uuid.UUID, values: Mapping[str, Any]) -> int:
    meta = Submission._meta
    qn = connection.ops.quote_name
    fields = [meta.get_field(name) for name in values]
    assignments = ", ".join(f"{qn(f.column)} = %s" for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn(meta.db_table)} SET {assignments}, result_writes = result_writes + 1 FROM {_RELAXED_FROM} "
            "WHERE id = %s AND status = %s AND claim_token = %s",
            [
                *(f.get_db_prep_save(values[f.name], connection) for f in fields),
                submission_id,
                SubmissionStatus.RUNNING.value,
                token,
            ],
        )
        return cursor.rowcount


def _test_slow_seconds() -> float:
    """Test-only pause after claiming (the kill -9 test): setting or environment variable."""
    value = getattr(settings, "GRADER_TEST_SLOW_SECONDS", None)
    if value is None:
        value = os.environ.get("GRADER_TEST_SLOW_SECONDS", "0")
    return float(value or 0)


def _grade_part(part: LabPart, params: Params, raw: Any, lang: str) -> dict[str, Any]:
    """One lab part through the grader core: its share of the points and the family's details."""
    max_points = float(part.points)
    base = {"key": part.key, "title": part.title, "family": part.family, "max_points": max_points}
    if not raw:
        return {**base, "score": 0.0, "points": 0.0, "correct": False, "feedback": _msg("missing", lang),
                "misconceptions": [], "items": []}
    grade: Grade = get_family(part.family).check(params, raw, lang)
    if not grade.gradable:
        # It parsed when it was submitted: failing now means the family changed under it (our bug).
        raise RuntimeError(f"part {part.key!r} no longer parses: {grade.format_errors}")
    details = grade.to_dict(reveal=False)
    return {
        **base,
        "score": details["score"],
        "points": round(grade.score * max_points, 6),
        "correct": all(item["correct"] for item in details["parts"]),
        "feedback": grade.feedback,
        "misconceptions": list(grade.misconceptions),
        "items": details["parts"],  # per answer box: score, feedback, tags, per-cell results
    }


def _grade(submission: Submission, parts: Sequence[LabPart], position: int) -> dict[str, Any]:
    """The whole result (pure: no database): per-part grades, raw and policy-adjusted scores."""
    lab, lang = submission.lab, submission.lang
    seed = _lab_seed(lab.pk, submission.user_id)
    graded = [
        _grade_part(
            part,
            submission.variant.get(part.key) or lab_part_params(part=part, seed=seed),
            submission.answers.get(part.key),
            lang,
        )
        for part in parts
    ]
    tags = list(dict.fromkeys(tag for p in graded for tag in p["misconceptions"]))
    return _scored(submission, position, points=sum(p["points"] for p in graded),
                   max_points=sum(p["max_points"] for p in graded), parts=graded, misconceptions=tags)


def _scored(submission: Submission, position: int, *, points: float, max_points: float,
            **result: Any) -> dict[str, Any]:
    """Points earned → the stored outcome: raw score, score after the attempt and late policies,
    and the result every kind of lab shows (``result`` adds the kind's own details)."""
    raw = points / max_points if max_points else 0.0
    attempt_factor = _attempt_factor(submission.lab, position)
    late_factor = _late_factor(submission.lab, submission.late_days)
    return {
        "raw_score": Decimal(raw).quantize(_Q4),
        "score": Decimal(max_points * raw * attempt_factor * late_factor).quantize(_Q4),
        "result": {
            **result,
            "points": round(points, 6),
            "max_points": round(max_points, 6),
            "attempt": position,
            "attempt_factor": attempt_factor,
            "late_days": submission.late_days,
            "late_factor": late_factor,
            "lang": submission.lang,
        },
    }


@lru_cache(maxsize=1)
def code_runner() -> Runner:
    """This worker process's sandbox runner (its zygotes start on first use and stay warm)."""
    return make_runner(allow_unsandboxed=bool(getattr(settings, "GRADER_ALLOW_UNSANDBOXED", False)))


def _grade_code(submission: Submission, position: int) -> dict[str, Any]:
    """A coding-lab result: the sandbox run scored test by test, then the lab's policies."""
    lab = submission.lab
    spec = get_codelab(str(submission.variant.get("codelab") or lab.codelab))
    graded = grade_code(lab=spec, source=submission.source_code, seed=int(submission.variant.get("seed", 0)),
                        runner=code_runner())
    return _scored(submission, position, points=float(graded["earned"]), max_points=float(graded["points"]),
                   code=graded, parts=[], misconceptions=[])


def _write(submission_id: int, token: uuid.UUID, **fields: Any) -> bool:
    """Store an outcome only while our claim holds; False when another worker took the row over."""
    values = {"finished_at": timezone.now(), "claim_token": None, **fields}
    if connection.vendor == "postgresql":
        written = _write_postgresql(submission_id, token, values)
    else:
        with _relaxed_durability():
            written = Submission.objects.filter(
                pk=submission_id, status=SubmissionStatus.RUNNING, claim_token=token
            ).update(result_writes=F("result_writes") + 1, **values)
    if not written:
        logger.warning("submission %s: claim %s was taken over; result discarded", submission_id, token)
    return bool(written)


def _claim(
    submission_id: int, token: uuid.UUID, stale_after: timedelta = STALE_RUNNING_AFTER
) -> tuple[Submission, list[LabPart], int] | None:
    """Claim the row (conditional UPDATE) and read what grading needs, in one transaction:
    ``(submission, parts, declining-points position)``, or None when there is nothing to grade.
    On PostgreSQL that is one ``UPDATE … RETURNING`` statement."""
    now = timezone.now()
    if connection.vendor == "postgresql":
        return _claim_postgresql(submission_id, token, now, stale_after)
    with _relaxed_durability():
        claimed = (
            Submission.objects.filter(pk=submission_id)
            .filter(_claimable(now, stale_after))
            .update(
                status=SubmissionStatus.RUNNING,
                claim_token=token,
                grading_runs=F("grading_runs") + 1,
                started_at=now,
                finished_at=None,
                error="",
            )
        )
        if not claimed:
            return None
        submission = Submission.objects.select_related("lab").get(pk=submission_id)  # locked by our UPDATE
        parts = list(submission.lab.parts.all())
        position = 1
        if _attempt_limit(submission.lab) is not None:  # only declining points depend on the position
            position += (
                Submission.objects.filter(lab_id=submission.lab_id, user_id=submission.user_id, number__lt=submission.number)
                .exclude(status=SubmissionStatus.FAILED)
                .count()
            )
    return submission, parts, position


def submission_grade(*, submission_id: int, stale_after: timedelta = STALE_RUNNING_AFTER) -> None:
    """Claim, grade and store one submission; a no-op unless it is queued (or stale running).

    A grader exception (our bug, or the task's soft time limit) stores ``failed`` with the error;
    failed submissions never count as an attempt. Database errors propagate (the task retries
    them) after handing the row back to the queue.
    """
    token = uuid.uuid4()
    claim = _claim(submission_id, token, stale_after)
    if claim is None:
        logger.info("submission %s: nothing to grade (not queued, or being graded)", submission_id)
        return
    submission, parts, position = claim
    try:
        try:
            slow = _test_slow_seconds()
            if slow > 0:
                time.sleep(slow)
            if submission.lab.kind == LabKind.CODE:
                outcome = _grade_code(submission, position)
            else:
                outcome = _grade(submission, parts, position)
        except (OperationalError, InterfaceError):
            raise
        except Exception as exc:  # a grader bug or the soft time limit: ours, not the student's
            logger.exception("submission %s: grading failed", submission_id)
            _write(submission_id, token, status=SubmissionStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
            return
        _write(submission_id, token, status=SubmissionStatus.GRADED, **outcome)
    except (OperationalError, InterfaceError):
        # Hand the row back so the task's retry can claim it; if even that fails, the sweeper will.
        try:
            Submission.objects.filter(pk=submission_id, claim_token=token).update(
                status=SubmissionStatus.QUEUED, claim_token=None, enqueued_at=timezone.now()
            )
        except (OperationalError, InterfaceError):
            logger.exception("submission %s: could not release the claim", submission_id)
        raise


# --------------------------------------------------------------------------- sweeper and regrades


def submissions_requeue_stuck(*, older_than: timedelta, now: datetime | None = None) -> int:
    """Send again what the broker lost or a dead worker held: rows queued (since ``enqueued_at``)
    or running (since ``started_at``) for longer than ``older_than`` go back to queued and are
    re-enqueued. Rows whose claims were lost ``MAX_LOST_RUNS`` times are marked failed instead
    (a submission that kills its worker must not loop forever). Returns how many were re-enqueued.
    """
    now = now or timezone.now()
    cutoff = now - older_than
    code_cutoff = now - max(older_than, CODE_STALE_RUNNING_AFTER)  # code runs may last minutes
    stuck = (
        Q(status=SubmissionStatus.QUEUED, enqueued_at__lt=cutoff)
        | Q(status=SubmissionStatus.QUEUED, enqueued_at__isnull=True, created_at__lt=cutoff)
        | Q(status=SubmissionStatus.RUNNING, started_at__lt=cutoff, lab__kind=LabKind.NUMERIC)
        | Q(status=SubmissionStatus.RUNNING, started_at__lt=code_cutoff, lab__kind=LabKind.CODE)
    )
    with transaction.atomic():
        rows = list(
            Submission.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(stuck)
            .order_by("pk")
            .values_list("pk", "grading_runs", "result_writes", "lab__kind")[:SWEEP_BATCH]
        )
        give_up = [pk for pk, runs, writes, _ in rows if runs - writes >= MAX_LOST_RUNS]
        again = [(pk, kind) for pk, runs, writes, kind in rows if runs - writes < MAX_LOST_RUNS]
        if give_up:
            logger.error("submissions %s: abandoned by %d workers; marked failed", give_up, MAX_LOST_RUNS)
            Submission.objects.filter(pk__in=give_up).update(
                status=SubmissionStatus.FAILED,
                claim_token=None,
                finished_at=now,
                error=f"Grading was abandoned {MAX_LOST_RUNS} times (worker lost or timed out).",
            )
        if again:
            Submission.objects.filter(pk__in=[pk for pk, _ in again]).update(
                status=SubmissionStatus.QUEUED, claim_token=None, enqueued_at=now
            )
            for kind in sorted({kind for _, kind in again}):
                transaction.on_commit(partial(_enqueue, [pk for pk, k in again if k == kind], kind))
    if again:
        logger.warning("re-enqueued %d stuck submissions", len(again))
    return len(again)


def _send_group(signature: Any) -> None:
    try:
        signature.apply_async()
    except (KombuError, OSError):
        logger.exception("could not enqueue the regrade group; the sweeper will send the rows")


def lab_regrade(*, lab: Lab) -> str:
    """Queue every graded or failed submission of ``lab`` again and send one Celery ``group`` of
    grading tasks on commit; returns the group id. Progress: :func:`lab_regrade_progress`."""
    from celery import group

    task, queue = _grading_task(lab.kind)
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Submission.objects.select_for_update()
            .filter(lab=lab, status__in=[SubmissionStatus.GRADED, SubmissionStatus.FAILED])
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        Submission.objects.filter(pk__in=ids).update(
            status=SubmissionStatus.QUEUED,
            enqueued_at=now,
            claim_token=None,
            started_at=None,
            finished_at=None,
            score=None,
            raw_score=None,
            result=None,
            error="",
        )
        group_id = str(uuid.uuid4())
        # The group's task_id becomes its group id when it is sent (no result objects made here).
        signature = group(task.si(pk).set(queue=queue) for pk in ids).set(task_id=group_id)
        if ids:
            transaction.on_commit(partial(_send_group, signature))
    logger.info("regrade %s of %s: %d submissions", group_id, lab, len(ids))
    return group_id


def lab_regrade_progress(*, lab: Lab) -> dict[str, int]:
    """Counts from the table (not from Celery): ``done`` = graded + failed out of ``total``."""
    counts = dict(
        Submission.objects.filter(lab=lab).order_by().values("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    by_status = {status: int(counts.get(status, 0)) for status in SubmissionStatus.values}
    return {
        "total": sum(by_status.values()),
        "done": by_status[SubmissionStatus.GRADED] + by_status[SubmissionStatus.FAILED],
        **by_status,
    }


# --------------------------------------------------------------------------- lab definitions

_SPEC_KEYS = {"slug", "title", "description", "due_days", "attempts_policy", "late_policy", "parts", "kind", "codelab"}
_PART_KEYS = {"key", "title", "family", "constraints", "points"}
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _policy_errors(spec: Mapping[str, Any]) -> list[str]:
    errors: list[str] = []
    attempts = spec.get("attempts_policy") or {"mode": "unlimited"}
    mode = attempts.get("mode") if isinstance(attempts, Mapping) else None
    if mode == "declining":
        points = attempts.get("points")
        if not isinstance(points, list) or not points or not all(
            isinstance(p, int | float) and 0 <= p <= 1 for p in points
        ):
            errors.append("attempts_policy.points must be a non-empty list of fractions in [0, 1]")
    elif mode != "unlimited":
        errors.append("attempts_policy must be {mode: unlimited} or {mode: declining, points: [...]}")
    late = spec.get("late_policy") or {}
    if not isinstance(late, Mapping):
        errors.append("late_policy must be a mapping")
    elif late:
        penalty, days = late.get("penalty_per_day"), late.get("max_late_days")
        if set(late) != {"penalty_per_day", "max_late_days"}:
            errors.append("late_policy needs exactly penalty_per_day and max_late_days (or {} for none)")
        elif not (isinstance(penalty, int | float) and 0 <= penalty <= 1) or not (
            isinstance(days, int) and days >= 0
        ):
            errors.append("late_policy: penalty_per_day in [0, 1], max_late_days a whole number ≥ 0")
    due = spec.get("due_days")
    if due is not None and not isinstance(due, int):
        errors.append("due_days must be a whole number of days or null")
    return errors


def _part_errors(index: int, part: Any) -> list[str]:
    where = f"parts[{index}]"
    if not isinstance(part, Mapping):
        return [f"{where} must be a mapping"]
    errors = [f"{where}: unknown field {k!r}" for k in part if k not in _PART_KEYS]
    for field in ("key", "title", "family"):
        if not isinstance(part.get(field), str) or not part[field].strip():
            errors.append(f"{where}.{field} is required")
    if errors:
        return errors
    if not _SLUG.match(part["key"]):
        errors.append(f"{where}.key {part['key']!r} must be a slug")
    points = part.get("points", 1)
    if not isinstance(points, int | float) or points <= 0:
        errors.append(f"{where}.points must be positive")
    constraints = part.get("constraints") or {}
    if not isinstance(constraints, Mapping):
        return [*errors, f"{where}.constraints must be a mapping"]
    try:
        family = get_family(part["family"])
    except KeyError as exc:
        return [*errors, f"{where}: {exc.args[0]}"]
    # Generate a few variants: bad constraints raise, and the family must accept its own answer.
    for seed in range(3):
        try:
            params = family.generate(seed, dict(constraints) or None)
            typed = family.format_answer(params, family.solve(params))
            score = family.check(params, typed).score
        except (ValueError, TypeError, KeyError) as exc:
            return [*errors, f"{where} ({part['family']}): {exc}"]
        if score != 1.0:
            return [*errors, f"{where} ({part['family']}): its own answer scored {score} for seed {seed}"]
    return errors


def lab_spec_errors(spec: Any) -> list[str]:
    """What is wrong with a lab definition (a ``fixtures/labs/*.yaml`` file); empty if it is fine."""
    if not isinstance(spec, Mapping):
        return ["a lab definition must be a mapping"]
    errors = [f"unknown field {k!r}" for k in spec if k not in _SPEC_KEYS]
    if not isinstance(spec.get("slug"), str) or not _SLUG.match(spec["slug"]):
        errors.append("slug is required and must be a slug like 'lab1-convolution'")
    if not isinstance(spec.get("title"), str) or not spec["title"].strip():
        errors.append("title is required")
    errors += _policy_errors(spec)
    kind = spec.get("kind", LabKind.NUMERIC)
    if kind not in LabKind.values:
        return [*errors, f"kind must be one of {', '.join(LabKind.values)}"]
    if kind == LabKind.CODE:
        if spec.get("parts"):
            errors.append("a coding lab has no parts: its tests come from the grader's code lab")
        try:
            get_codelab(str(spec.get("codelab") or ""))
        except KeyError as exc:
            errors.append(f"codelab: {exc.args[0]}")
        return errors
    if spec.get("codelab"):
        errors.append("codelab is only for kind: code")
    parts = spec.get("parts")
    if not isinstance(parts, list) or not parts:
        return [*errors, "parts must be a non-empty list"]
    for index, part in enumerate(parts):
        errors += _part_errors(index, part)
    keys = [p.get("key") for p in parts if isinstance(p, Mapping)]
    errors += [f"part key {k!r} appears twice" for k in sorted({k for k in keys if keys.count(k) > 1})]
    return errors


@transaction.atomic
def lab_upsert(*, course: Course, spec: Mapping[str, Any]) -> tuple[Lab, bool]:
    """Create or update a lab and its parts from a validated definition; ``(lab, created)``.

    Idempotent: parts are matched by key, parts no longer listed are removed, and a ``due_days``
    offset counts from when the lab was first created (so reloading never moves the due date).
    """
    errors = lab_spec_errors(spec)
    if errors:
        raise ValueError("; ".join(errors))
    lab = Lab.objects.select_for_update().filter(slug=spec["slug"]).first()
    if lab is not None and lab.course_id != course.pk:
        raise ValueError(f"lab slug {spec['slug']!r} already belongs to course {lab.course.slug!r}")
    created = lab is None
    if lab is None:
        lab = Lab(course=course, slug=spec["slug"])
    lab.title = spec["title"].strip()
    lab.description = (spec.get("description") or "").strip()
    lab.kind = spec.get("kind", LabKind.NUMERIC)
    lab.codelab = str(spec.get("codelab") or "") if lab.kind == LabKind.CODE else ""
    lab.code_points = (
        Decimal(str(get_codelab(lab.codelab).total_points())).quantize(Decimal("0.01")) if lab.codelab else Decimal(0)
    )
    lab.attempts_policy = dict(spec.get("attempts_policy") or {"mode": "unlimited"})
    lab.late_policy = dict(spec.get("late_policy") or {})
    lab.save()
    due_days = spec.get("due_days")
    due_at = lab.created_at + timedelta(days=due_days) if due_days is not None else None
    if lab.due_at != due_at:
        lab.due_at = due_at
        lab.save(update_fields=["due_at"])
    parts = spec.get("parts") or []
    keys = [part["key"] for part in parts]
    lab.parts.exclude(key__in=keys).delete()
    lab.parts.update(position=F("position") + 10_000)  # free the positions before renumbering
    for position, part in enumerate(parts, start=1):
        LabPart.objects.update_or_create(
            lab=lab,
            key=part["key"],
            defaults={
                "position": position,
                "title": part["title"].strip(),
                "family": part["family"],
                "constraints": dict(part.get("constraints") or {}),
                "points": Decimal(str(part.get("points", 1))),
            },
        )
    return lab, created
