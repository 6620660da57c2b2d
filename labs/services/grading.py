"""Grading a submission in the worker: claim the row, grade it in the core, store the result.

The row is the truth. ``submission_grade`` (the Celery task ``grader.grade_*_submission`` calls it
with an id) claims the row with a conditional UPDATE that stamps a fresh ``claim_token``, grades,
and stores the result with a second conditional UPDATE that applies only while that claim still
holds. So a duplicated or redelivered message grades nothing twice, and a worker that lost its
claim (it was presumed dead and the sweeper handed the row to another) never overwrites the newer
result. On PostgreSQL each of the two is one statement (``labs.sql``); elsewhere the ORM does the
same in a transaction.

The stored result is a ``grader.results.GradingResult`` with every text in every language and the
lab's policy applied: ``Submission.score`` is its score (0–1, before the policy), ``Submission.points``
the points after the attempt and late factors.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.models import F, Q
from django.utils import timezone

from dlcv_site.events import LAB_SUBMISSION_GRADED, STUDY_LAB_SUBMISSION_GRADED, announce
from grader.codelabs import get_codelab
from grader.codelabs.grade import Runner, grade_code
from grader.i18n import Text, Translated, Wording
from grader.problems import get_family
from grader.problems.base import Params
from grader.results import GradingResult, PartResult, PolicyApplied
from grader.sandbox.runner import make_runner
from labs import sql
from labs.models import LabKind, LabPart, Submission, SubmissionStatus
from labs.policy import CODE_PART, LabPolicy
from labs.services.variants import lab_part_params, lab_variant_seed

logger = logging.getLogger(__name__)

#: A row ``running`` for longer than this is presumed abandoned: it is well past the numeric task's
#: hard time limit (30 s), so its worker is dead or the result write was lost.
STALE_RUNNING_AFTER = timedelta(seconds=120)
#: Coding-lab runs last up to their lab's wall limit (the training lab: 90 s) plus sandbox start.
CODE_STALE_RUNNING_AFTER = timedelta(seconds=600)

_Q4 = Decimal("0.0001")


# --------------------------------------------------------------------------- the grade itself


def _part_label(part: LabPart) -> Wording:
    """A lab part's title as a stored result words it: as written, and in English if the lab has it."""
    english = ((part.translations or {}).get("en") or {}).get("title")
    return Translated({"zh-Hant": part.title, "en": english}) if english else part.title


def grade_numeric_parts(
    parts: Sequence[LabPart], variant: Mapping[str, Params], answers: Mapping[str, Any], seed: int
) -> GradingResult:
    """A numeric lab's answers through the grader core, part by part (no database). A part without
    an answer earns nothing; a part that no longer parses is our bug (it parsed when submitted)."""
    graded = []
    for part in parts:
        max_points = float(part.points)
        raw = answers.get(part.key)
        if not raw:
            graded.append(PartResult(name=part.key, label=_part_label(part), score=0.0, points=0.0, max_points=max_points,
                                     correct=False, message=Text("No answer given."), family=part.family))
            continue
        params = variant.get(part.key) or lab_part_params(part=part, seed=seed)
        result = get_family(part.family).check(params, raw)
        if not result.gradable:
            raise RuntimeError(f"part {part.key!r} no longer parses: {result.format_errors}")
        graded.append(PartResult(
            name=part.key, label=_part_label(part), score=result.score, points=round(result.score * max_points, 6),
            max_points=max_points, correct=all(box.correct for box in result.parts), message=result.message,
            misconceptions=result.misconceptions, family=part.family, parts=result.parts,
        ))
    points = sum(part.points for part in graded)
    max_points = sum(part.max_points for part in graded)
    return GradingResult(
        score=points / max_points if max_points else 0.0, points=points, max_points=max_points, parts=tuple(graded),
        misconceptions=tuple(dict.fromkeys(tag for part in graded for tag in part.misconceptions)),
    )


@lru_cache(maxsize=1)
def code_runner() -> Runner:
    """This worker process's sandbox runner (its zygotes start on first use and stay warm)."""
    return make_runner(allow_unsandboxed=bool(getattr(settings, "GRADER_ALLOW_UNSANDBOXED", False)))


def _grade(submission: Submission, parts: Sequence[LabPart]) -> GradingResult:
    """The submission's result before its lab's policy (pure: no database)."""
    if submission.lab.kind == LabKind.CODE:
        spec = get_codelab(str(submission.variant.get("codelab") or submission.lab.codelab))
        return grade_code(lab=spec, source=submission.source_code, seed=int(submission.variant.get("seed", 0)),
                          runner=code_runner(), allowed_packages=submission.lab.allowed_packages or None)
    seed = lab_variant_seed(lab_id=submission.lab_id, user_id=submission.user_id)
    return grade_numeric_parts(parts, submission.variant or {}, submission.answers or {}, seed)


def _outcome(submission: Submission, result: GradingResult, position: int) -> dict[str, Any]:
    """The row's new values: the result with the lab's policy applied, its score (0–1, before the
    policy) and its points (after it)."""
    policy = LabPolicy.of(submission.lab)
    applied = PolicyApplied(attempt=position, attempt_factor=policy.attempt_factor(position),
                            late_days=submission.late_days, late_factor=policy.late_factor(submission.late_days))
    return {
        "score": Decimal(result.score).quantize(_Q4),
        "points": Decimal(result.max_points * result.score * applied.factor).quantize(_Q4),
        "part_points": policy.part_points(part_points_before_policy(submission.lab.kind, result),
                                          position=position, late_days=submission.late_days),
        "result": result.with_policy(applied).to_json(),
    }


def part_points_before_policy(kind: str, result: GradingResult) -> dict[str, float]:
    """A result's points per lab part, before the policy: a numeric lab's parts by key, a coding
    lab as its one part (``CODE_PART``). The data migration that filled ``part_points`` for
    submissions graded before it existed uses the same rule."""
    if kind == LabKind.CODE or not result.parts:
        return {CODE_PART: result.max_points * result.score}
    return {part.name: part.points for part in result.parts}


# --------------------------------------------------------------------------- claim and write


def _claimable(now: datetime, stale_after: timedelta, task_id: str) -> Q:
    """Queued; or running under a claim presumed dead: stale, or made by this same message (a message
    is delivered again only once the worker that ran it was lost, or after the broker's visibility
    timeout, which is longer than the task's hard time limit — either way that run is over)."""
    running = Q(status=SubmissionStatus.RUNNING)
    dead_claim = Q(started_at__lt=now - stale_after)
    if task_id:
        dead_claim |= Q(claim_task_id=task_id)
    return Q(status=SubmissionStatus.QUEUED) | (running & dead_claim)


def _claim_with_orm(
    submission_id: int, token: uuid.UUID, now: datetime, stale_after: timedelta, task_id: str = ""
) -> tuple[Submission, list[LabPart], int] | None:
    """``labs.sql.submission_claim``'s rule, portable: the conditional UPDATE, then the reads."""
    with sql.relaxed_durability():
        claimed = (
            Submission.objects.filter(pk=submission_id)
            .filter(_claimable(now, stale_after, task_id))
            .update(status=SubmissionStatus.RUNNING, claim_token=token, claim_task_id=task_id,
                    grading_runs=F("grading_runs") + 1, started_at=now, finished_at=None, error="")
        )
        if not claimed:
            return None
        submission = Submission.objects.select_related("lab").get(pk=submission_id)  # locked by our UPDATE
        parts = list(submission.lab.parts.all())
        earlier = (
            Submission.objects.filter(lab_id=submission.lab_id, user_id=submission.user_id, number__lt=submission.number)
            .exclude(status=SubmissionStatus.FAILED)
            .count()
        )
    return submission, parts, earlier


def _claim(
    submission_id: int, token: uuid.UUID, stale_after: timedelta, task_id: str
) -> tuple[Submission, list[LabPart], int] | None:
    """Claim the row and read what grading needs: ``(submission, parts, earlier counted
    submissions)``, or None when there is nothing to grade."""
    now = timezone.now()
    if sql.available():
        return sql.submission_claim(submission_id=submission_id, token=token, now=now, stale_before=now - stale_after,
                                    task_id=task_id)
    return _claim_with_orm(submission_id, token, now, stale_after, task_id)


def _write_with_orm(submission_id: int, token: uuid.UUID, values: Mapping[str, Any]) -> int:
    """``labs.sql.submission_result_write``'s rule, portable."""
    with sql.relaxed_durability():
        return Submission.objects.filter(pk=submission_id, status=SubmissionStatus.RUNNING, claim_token=token).update(
            result_writes=F("result_writes") + 1, **values)


def _write(submission_id: int, token: uuid.UUID, **fields: Any) -> bool:
    """Store an outcome only while our claim holds; False when another worker took the row over."""
    values = {"finished_at": timezone.now(), "claim_token": None, **fields}
    if sql.available():
        written = sql.submission_result_write(submission_id=submission_id, token=token, values=values)
    else:
        written = _write_with_orm(submission_id, token, values)
    if not written:
        logger.warning("submission %s: claim %s was taken over; result discarded", submission_id, token)
    return bool(written)


def _test_slow_seconds() -> float:
    """Test-only pause after claiming (the kill -9 test): setting or environment variable."""
    value = getattr(settings, "GRADER_TEST_SLOW_SECONDS", None)
    if value is None:
        value = os.environ.get("GRADER_TEST_SLOW_SECONDS", "0")
    return float(value or 0)


def submission_grade(*, submission_id: int, stale_after: timedelta = STALE_RUNNING_AFTER, task_id: str = "") -> None:
    """Claim, grade and store one submission; a no-op unless it is queued (or stale running, or
    running under a claim the same broker message ``task_id`` made before its worker was lost).

    A grader exception (our bug, or the task's soft time limit) stores ``failed`` with the error;
    failed submissions never count as an attempt. Database errors propagate (the task retries
    them) after handing the row back to the queue.
    """
    token = uuid.uuid4()
    claim = _claim(submission_id, token, stale_after, task_id)
    if claim is None:
        logger.info("submission %s: nothing to grade (not queued, or being graded)", submission_id)
        return
    submission, parts, earlier = claim
    try:
        try:
            slow = _test_slow_seconds()
            if slow > 0:
                time.sleep(slow)
            outcome = _outcome(submission, _grade(submission, parts), position=1 + earlier)
        except (OperationalError, InterfaceError):
            raise
        except Exception as exc:  # a grader bug or the soft time limit: ours, not the student's
            logger.exception("submission %s: grading failed", submission_id)
            _write(submission_id, token, status=SubmissionStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
            return
        if _write(submission_id, token, status=SubmissionStatus.GRADED, **outcome):
            announce(LAB_SUBMISSION_GRADED, submission_id)  # the LMS's grade passback (lti), by task name
            announce(STUDY_LAB_SUBMISSION_GRADED, submission_id)  # the parts reach the study plan
    except (OperationalError, InterfaceError):
        # Hand the row back so the task's retry can claim it; if even that fails, the sweeper will.
        try:
            Submission.objects.filter(pk=submission_id, claim_token=token).update(
                status=SubmissionStatus.QUEUED, claim_token=None, claim_task_id="", enqueued_at=timezone.now()
            )
        except (OperationalError, InterfaceError):
            logger.exception("submission %s: could not release the claim", submission_id)
        raise
