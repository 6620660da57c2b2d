"""Submitting to a lab: validate, apply the lab's policy, store a queued row, enqueue on commit.

An invalid submission (a format error in an answer, a syntax error in a file) writes nothing and
costs no attempt. Attempts: ``number`` is assigned at creation (1, 2, …) and never reused; a
submission whose grading *failed* (our fault: a grader bug or a time-out) does not count when the
attempts limit is checked, nor when a later submission's declining-points position is computed.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from dlcv_site.errors import InvalidInput, ServiceError
from dlcv_site.i18n import grader_lang
from grader.i18n import LANGS, word
from grader.problems import get_family
from grader.problems.base import Params
from labs.models import Lab, LabKind, LabPart, Submission, SubmissionStatus
from labs.policy import LabPolicy, Refusal
from labs.services import queue
from labs.services.variants import lab_part_params, lab_variant_seed

#: Upload limit for one source file (the API answers 413 above it).
MAX_SOURCE_BYTES = 128 * 1024
MAX_ANSWERS_BYTES = 64 * 1024
IDEMPOTENCY_KEY_MAX_LENGTH = 200  # Submission.idempotency_key


class SubmissionInvalid(InvalidInput):
    """Format errors: ``errors`` is ``{part_key: {answer box: message}}``. Nothing was written."""


class SubmissionRefused(ServiceError):
    """The lab's policy refused it: ``code`` is ``closed``, ``attempts_exhausted`` or ``unsupported``."""


class IdempotencyKeyReused(ServiceError):
    """The Idempotency-Key names an earlier submission whose work differs: a client bug (the key was
    reused for new work), answered 422 as the IETF Idempotency-Key draft says, never with the old one."""

    code = "idempotency_key_reused"
    http_status = 422


@dataclass(frozen=True)
class SubmissionCreateResult:
    submission: Submission
    created: bool


def _counted() -> Count:
    """Submissions that count as attempts: all but those whose grading failed (our fault)."""
    return Count("pk", filter=~Q(status=SubmissionStatus.FAILED))


def _check_window(policy: LabPolicy, now: datetime) -> int:
    """The submission's late days; refused past the due date without late days, or past the last."""
    refusal = policy.refusal(now)
    if refusal is Refusal.CLOSED:
        raise SubmissionRefused(_("This lab is closed for submissions."), code="closed")
    if refusal is Refusal.TOO_LATE:
        raise SubmissionRefused(_("The late-submission period of this lab is over."), code="closed")
    return policy.late_days(now)


def _check_attempts(policy: LabPolicy, counted: int) -> None:
    limit = policy.attempt_limit
    if limit is not None and policy.attempts_left(counted) == 0:
        message = ngettext("You have used your only submission of this lab.",
                           "You have used all %(n)d submissions of this lab.", limit) % {"n": limit}
        raise SubmissionRefused(message, code="attempts_exhausted")


def _answer_errors(parts: Sequence[LabPart], answers: Any, seed: int) -> tuple[dict[str, Params], dict[str, Any]]:
    """Parse every part for the student's variant: ``(variant, errors)``, errors worded in the
    request's language."""
    if not isinstance(answers, Mapping):
        return {}, {"_answers": {"_answer": _("Answers must be an object mapping part keys to answers.")}}
    if len(json.dumps(answers, ensure_ascii=False).encode()) > MAX_ANSWERS_BYTES:
        return {}, {"_answers": {"_answer": _("The answers are too large.")}}
    known = {part.key for part in parts}
    errors: dict[str, Any] = {
        str(key): {"_part": _("This lab has no part '%(part)s'.") % {"part": key}} for key in answers if key not in known
    }
    lang = grader_lang()
    variant: dict[str, Params] = {}
    for part in parts:
        params = lab_part_params(part=part, seed=seed)
        variant[part.key] = params
        parsed = get_family(part.family).parse(params, answers.get(part.key) or {})
        if not parsed.valid:
            errors[part.key] = {box: word(text, lang) for box, text in parsed.format_errors.items()}
    return variant, errors


def _checked_source(source_code: str | None) -> str:
    """A coding-lab submission: UTF-8 Python text within the size limit that at least compiles.

    A syntax error is reported like a format error (nothing stored, no attempt used): the student
    fixes a typo without it costing them, as with a malformed number in a numeric lab.
    """
    def invalid(message: str) -> SubmissionInvalid:
        return SubmissionInvalid(message, {"source_code": {"_answer": message}})

    if not source_code or not source_code.strip():
        raise invalid(_("Submit a Python file."))
    if len(source_code.encode("utf-8", errors="surrogatepass")) > MAX_SOURCE_BYTES:
        raise invalid(_("The file is larger than %(kb)d KB.") % {"kb": MAX_SOURCE_BYTES // 1024})
    if "\x00" in source_code:
        raise invalid(_("The file must be UTF-8 Python source (no NUL bytes)."))
    try:
        source_code.encode("utf-8")
        compile(source_code, "submission.py", "exec", dont_inherit=True)  # parses only; never runs here
    except UnicodeEncodeError:
        raise invalid(_("The file must be UTF-8 Python source (no NUL bytes).")) from None
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None) or "?"
        error = getattr(exc, "msg", None) or str(exc)
        raise invalid(_("Syntax error on line %(line)s: %(error)s. Nothing was submitted.")
                      % {"line": line, "error": error}) from None
    return source_code


def _existing(lab: Lab, user: User, idempotency_key: str) -> Submission | None:
    if not idempotency_key:
        return None
    return Submission.objects.filter(lab=lab, user=user, idempotency_key=idempotency_key).first()


def _retried(existing: Submission, answers: Mapping[str, Any] | None, source_code: str | None) -> SubmissionCreateResult:
    """A retry with a key already used: the first submission, if the work sent is the same; the same
    key with other answers or another file raises ``IdempotencyKeyReused``."""
    if existing.answers != dict(answers or {}) or existing.source_code != (source_code or ""):
        raise IdempotencyKeyReused(_("This Idempotency-Key was used for a submission with different content. "
                                     "Use a new key for new work."))
    return SubmissionCreateResult(existing, created=False)


def submission_create(
    *,
    user: User,
    lab: Lab,
    answers: dict[str, dict[str, Any]] | None = None,
    source_code: str | None = None,
    idempotency_key: str = "",
    lang: str | None = None,
    now: datetime | None = None,
) -> SubmissionCreateResult:
    """Validate, apply the policies, store a queued submission and enqueue its grading on commit.

    Numeric labs take ``answers``; coding labs take ``source_code`` (a fresh hidden-test seed is
    drawn per submission). ``lang`` records the student's language (default: the request's); the
    result is worded in every language. Raises ``SubmissionInvalid`` (format or syntax errors;
    nothing written, no attempt used) or ``SubmissionRefused`` (``closed``, ``attempts_exhausted``,
    ``unsupported``). The same non-empty ``idempotency_key`` again returns the first submission
    with ``created=False``, also when the retries race (a per-student row lock, and the unique
    constraint behind it); with other answers or another file it raises ``IdempotencyKeyReused``.
    """
    lang = lang or grader_lang()
    if lang not in LANGS:
        raise ValueError(f"unsupported language {lang!r}")
    if len(idempotency_key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise ValueError(f"idempotency_key longer than {IDEMPOTENCY_KEY_MAX_LENGTH} characters")
    now = now or timezone.now()
    existing = _existing(lab, user, idempotency_key)
    if existing is not None:
        return _retried(existing, answers, source_code)
    if lab.kind not in (LabKind.NUMERIC, LabKind.CODE) or (lab.kind == LabKind.CODE and not lab.codelab):
        raise SubmissionRefused(_("This lab is not graded from numeric answers."), code="unsupported")
    if lab.kind == LabKind.NUMERIC and source_code:
        raise SubmissionRefused(_("This lab is graded from numeric answers, not from code."), code="unsupported")
    policy = LabPolicy.of(lab)
    late_days = _check_window(policy, now)
    try:
        if lab.kind == LabKind.CODE:
            source = _checked_source(source_code)
            answers = {}
            # Hidden tests are drawn per submission: resubmitting cannot overfit a fixed set.
            variant: dict[str, Any] = {"codelab": lab.codelab, "seed": secrets.randbelow(2**31)}
        else:
            source = ""
            variant, errors = _answer_errors(list(lab.parts.all()), answers,
                                             lab_variant_seed(lab_id=lab.pk, user_id=user.pk))
            if errors:
                raise SubmissionInvalid(_("The answers could not be read."), errors)
    except SubmissionInvalid:
        # No point fixing the format of an answer that would be refused: say that first. (A valid
        # answer is checked once, under the lock below.)
        if policy.attempt_limit is not None:
            _check_attempts(policy, Submission.objects.filter(lab=lab, user=user).aggregate(n=_counted())["n"])
        raise
    try:
        with transaction.atomic():
            # One student's submissions to any lab are serialized here, so two concurrent requests
            # cannot both pass the attempts check, take the same number or reuse a key.
            User.objects.select_for_update().filter(pk=user.pk).values_list("pk").first()
            existing = _existing(lab, user, idempotency_key)
            if existing is not None:
                return _retried(existing, answers, source_code)
            mine = Submission.objects.filter(lab=lab, user=user).aggregate(last=Max("number"), counted=_counted())
            _check_attempts(policy, mine["counted"])
            submission = Submission.objects.create(
                lab=lab,
                user=user,
                number=(mine["last"] or 0) + 1,
                answers=dict(answers or {}),
                source_code=source,
                variant=variant,
                lang=lang,
                idempotency_key=idempotency_key,
                status=SubmissionStatus.QUEUED,
                enqueued_at=timezone.now(),
                late_days=late_days,
            )
            transaction.on_commit(partial(queue.enqueue_gradings, [submission.pk], lab.kind))
    except IntegrityError:
        # A writer that did not take the lock (or SQLite's looser locking) won the race for the key.
        existing = _existing(lab, user, idempotency_key)
        if existing is None:
            raise
        return _retried(existing, answers, source_code)
    return SubmissionCreateResult(submission, created=True)
