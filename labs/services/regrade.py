"""Grading again: the sweeper that re-sends lost work, and an instructor's regrade of a whole lab."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from labs.models import Lab, LabKind, Submission, SubmissionStatus
from labs.services import queue
from labs.services.grading import CODE_STALE_RUNNING_AFTER

logger = logging.getLogger(__name__)

#: The periodic sweeper's limit for rows that sat queued or running without progress.
REQUEUE_STUCK_AFTER = timedelta(seconds=120)
#: Claims that never wrote a result (worker killed, result write lost) before the sweeper gives up.
MAX_LOST_RUNS = 3
SWEEP_BATCH = 1000


def submissions_requeue_stuck(*, older_than: timedelta = REQUEUE_STUCK_AFTER, now: datetime | None = None) -> int:
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
    return _requeue(stuck, now)


def submissions_requeue_after_restart(*, kinds: Sequence[str], now: datetime | None = None) -> int:
    """Embedded mode only (one machine; a broker of files, which forgets what a killed worker had
    taken): when the worker for ``kinds`` starts, no other worker grades those kinds, so every such
    submission still queued or running was left by its killed predecessor. All go back to queued and
    are sent again; a message still waiting in the broker then finds its row claimed or graded and
    does nothing. Returns how many were re-enqueued."""
    pending = Q(status__in=[SubmissionStatus.QUEUED, SubmissionStatus.RUNNING], lab__kind__in=list(kinds))
    return _requeue(pending, now or timezone.now())


def _requeue(stuck: Q, now: datetime) -> int:
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
                transaction.on_commit(partial(queue.enqueue_gradings, [pk for pk, k in again if k == kind], kind))
    if again:
        logger.warning("re-enqueued %d stuck submissions", len(again))
    return len(again)


def lab_regrade(*, lab: Lab) -> str:
    """Queue every graded or failed submission of ``lab`` again and send one Celery ``group`` of
    grading tasks on commit; returns the group id. Progress: :func:`lab_regrade_progress`."""
    now = timezone.now()
    group_id = str(uuid.uuid4())
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
            points=None,
            score=None,
            part_points={},
            result=None,
            error="",
        )
        if ids:
            transaction.on_commit(partial(queue.enqueue_regrade_group, ids, lab.kind, group_id))
    logger.info("regrade %s of %s: %d submissions", group_id, lab, len(ids))
    return group_id


def lab_regrade_progress(*, lab: Lab) -> dict[str, int]:
    """Counts from the table (not from Celery): ``done`` = graded + failed out of ``total``, each
    status, and ``pending`` = queued + running."""
    counts = dict(
        Submission.objects.filter(lab=lab).order_by().values("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    by_status = {status: int(counts.get(status, 0)) for status in SubmissionStatus.values}
    return {
        "total": sum(by_status.values()),
        "done": by_status[SubmissionStatus.GRADED] + by_status[SubmissionStatus.FAILED],
        "pending": by_status[SubmissionStatus.QUEUED] + by_status[SubmissionStatus.RUNNING],
        **by_status,
    }
