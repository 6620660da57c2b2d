"""Assignment and Grade Services: one grade column per linked assessment or lab in each LMS context,
and the scores, through an outbox.

* A launch of a link to an assessment or lab makes its :class:`LineItem` row (unique per context and
  target: re-launches and re-links find it) and, on commit, sends ``lti.line_item_create``, which makes
  the column on the platform once: it looks for one it made before (its ``resourceId``) before posting.
* A score to send is a :class:`ScoreOutbox` row per (line item, user): staging a different score bumps
  ``version`` and ``timestamp``; the same score changes nothing. What is staged goes out in batches:
  ``lti.score_send_batch`` ((outbox id, version) pairs, up to ``SCORE_BATCH_SIZE``) posts each row's
  version over one kept-alive HTTP session with one cached access token. A row the platform refuses
  for now (429, 5xx, no answer) goes on alone: ``lti.score_send`` (outbox id, version) posts exactly that
  version (a retry can never post another score; a newer version has its own task) with backoff; every
  try is in :class:`ScoreSendLog`.
* Lab scores are staged when a submission is graded; exam scores only once results are released.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import KombuError
from lti_tool.models import LtiContext, LtiRegistration, LtiUser
from pylti1p3.exception import LtiServiceException
from pylti1p3.service_connector import ServiceConnector

from accounts.models import Course
from labs.models import Lab, LabPart, Submission
from labs.selectors import lab_points_by_student
from lti.models import LineItem, OutboxState, ScoreOutbox, ScoreSendLog, SendOutcome
from lti.services.platforms import http_session
from quizzes.models import Assessment, AssessmentMode, Attempt, AttemptStatus

logger = logging.getLogger(__name__)

LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINE_ITEM_TASK = "lti.line_item_create"
SCORE_TASK = "lti.score_send"
SCORE_BATCH_TASK = "lti.score_send_batch"
#: Rows per batch task: enough to spare a task and a connection per score, few enough that the worker
#: processes share a large staging.
SCORE_BATCH_SIZE = 50
#: Seconds a batch posts before it hands the rest to a new batch task (well within the task's time limit).
SCORE_BATCH_BUDGET_S = 30.0


def _send(task: str, *args: Any, countdown: float | None = None) -> None:
    try:
        current_app.send_task(task, args=list(args), queue=settings.LTI_QUEUE, countdown=countdown)
    except (KombuError, OSError):
        logger.exception("could not send %s %s; the course's sync sends it again", task, args)


class CachedTokenConnector(ServiceConnector):
    """pylti1p3's service calls, with the platform's access token kept in the cache until it expires
    (one token request per registration and scopes, not one per score)."""

    def __init__(self, registration: LtiRegistration) -> None:
        super().__init__(registration.to_registration(), http_session())
        self._cache_prefix = f"lti:token:{registration.pk}:"
        self._held: dict[str, str] = {}  # this connector's tokens (a batch asks the cache once)

    def _key(self, scopes: Any) -> str:
        return self._cache_prefix + hashlib.md5("|".join(sorted(scopes)).encode()).hexdigest()

    def get_access_token(self, scopes: Any) -> str:
        key = self._key(scopes)
        token = self._held.get(key) or cache.get(key)
        if token:
            self._held[key] = str(token)
            return str(token)
        token = super().get_access_token(scopes)
        cache.set(key, token, 3000)
        self._held[key] = token
        return token

    def forget_token(self, scopes: Any) -> None:
        cache.delete(self._key(scopes))
        self._held.pop(self._key(scopes), None)
        self._access_tokens.clear()


# --------------------------------------------------------------------------- line items


def lab_maximum(lab: Lab) -> Decimal:
    total = sum((part.points for part in LabPart.objects.filter(lab=lab)), Decimal(0))
    return total or Decimal(lab.code_points or 0)


def line_item_for_launch(*, context: LtiContext, assessment: Assessment | None, lab: Lab | None) -> LineItem | None:
    """The context's line item for the launched assessment or lab, made (once) if the platform lets us
    manage line items; its creation on the platform is sent on commit. Inside the launch's transaction."""
    if not (context.lineitems_url and context.can_manage_lineitems) or (assessment is None and lab is None):
        return None
    if assessment is not None:
        # An assessment's maximum differs between students (drawn questions): the column is out of 100 and
        # each score carries its own maximum (AGS scales it).
        label, maximum, lookup = assessment.title, Decimal(100), {"assessment": assessment}
    else:
        assert lab is not None
        label, maximum, lookup = lab.title, lab_maximum(lab), {"lab": lab}
    line_item, created = LineItem.objects.get_or_create(context=context, **lookup,
                                                        defaults={"label": label[:255], "maximum": maximum})
    if created or not line_item.url:
        transaction.on_commit(lambda: _send(LINE_ITEM_TASK, line_item.pk))
    return line_item


def _resource_id(line_item: LineItem) -> str:
    return f"dlcv-assessment-{line_item.assessment_id}" if line_item.assessment_id else f"dlcv-lab-{line_item.lab_id}"


def line_item_create(*, line_item_id: int) -> str:
    """Make the line item on the platform (or find the one made before); its URL. Idempotent."""
    with transaction.atomic():
        line_item = (LineItem.objects.select_for_update().select_related("context__deployment__registration")
                     .filter(pk=line_item_id).first())
        if line_item is None or line_item.url:
            return line_item.url if line_item else ""
        context = line_item.context
        connector = CachedTokenConnector(context.deployment.registration)
        resource_id = _resource_id(line_item)
        existing = connector.make_service_request(
            [LINEITEM_SCOPE], context.lineitems_url, accept="application/vnd.ims.lis.v2.lineitemcontainer+json")
        found = next((item for item in (existing["body"] or []) if isinstance(item, dict)
                      and item.get("resourceId") == resource_id), None)
        if found is None:
            maximum = line_item.maximum
            found = connector.make_service_request(
                [LINEITEM_SCOPE], context.lineitems_url, is_post=True,
                data=json.dumps({"label": line_item.label, "scoreMaximum": float(maximum or 1),
                                 "resourceId": resource_id, "tag": "dlcv"}),
                content_type="application/vnd.ims.lis.v2.lineitem+json",
                accept="application/vnd.ims.lis.v2.lineitem+json")["body"]
        line_item.url = str(found["id"])  # type: ignore[index]
        line_item.save(update_fields=["url"])
    return line_item.url


# --------------------------------------------------------------------------- staging scores


@dataclass(frozen=True)
class Staged:
    staged: int  # rows made or changed (each sent on commit)
    unchanged: int


def _subs(line_items: list[LineItem], user_ids: set[int]) -> dict[tuple[int, int], str]:
    """(registration id, user id) → the platform's sub."""
    registrations = {li.context.deployment.registration_id for li in line_items}
    return {(registration_id, user_id): sub for registration_id, user_id, sub in LtiUser.objects.filter(
        registration_id__in=registrations, auth_user_id__in=user_ids).values_list("registration_id", "auth_user_id", "sub")}


def _stage(line_items: list[LineItem], scores: dict[int, tuple[Decimal, Decimal]]) -> Staged:
    """Put ``scores`` (user id → (given, maximum)) in each line item's outbox; send what changed."""
    subs = _subs(line_items, set(scores))
    now = timezone.now()
    staged = unchanged = 0
    to_send: list[tuple[int, int]] = []
    for line_item in line_items:
        registration_id = line_item.context.deployment.registration_id
        rows = {row.user_id: row for row in ScoreOutbox.objects.select_for_update().filter(
            line_item=line_item, user_id__in=list(scores))}
        for user_id, (given, maximum) in scores.items():
            sub = subs.get((registration_id, user_id))
            if sub is None:
                continue  # not a member through this platform
            row = rows.get(user_id)
            if row is None:
                row = ScoreOutbox.objects.create(line_item=line_item, user_id=user_id, sub=sub, score_given=given,
                                                 score_maximum=maximum, timestamp=now)
            elif (row.score_given, row.score_maximum) == (given, maximum):
                unchanged += 1
                continue
            else:
                row.score_given, row.score_maximum, row.sub = given, maximum, sub
                row.version += 1
                row.timestamp = now
                row.state = OutboxState.PENDING
                row.save(update_fields=["score_given", "score_maximum", "sub", "version", "timestamp", "state",
                                        "updated_at"])
            staged += 1
            to_send.append((row.pk, row.version))
    transaction.on_commit(lambda: _send_in_batches(to_send))
    return Staged(staged=staged, unchanged=unchanged)


def _send_in_batches(to_send: list[tuple[int, int]]) -> None:
    for start in range(0, len(to_send), SCORE_BATCH_SIZE):
        _send(SCORE_BATCH_TASK, [[pk, version] for pk, version in to_send[start:start + SCORE_BATCH_SIZE]])


def _line_items(**lookup: Any) -> list[LineItem]:
    return list(LineItem.objects.filter(**lookup).select_related("context__deployment"))


@transaction.atomic
def lab_scores_stage(*, lab_id: int, user_ids: list[int] | None = None) -> Staged:
    """The lab's points (best per part, the labs' one rule) of these users (all: None) into the outbox."""
    line_items = _line_items(lab_id=lab_id)
    if not line_items:
        return Staged(0, 0)
    lab = Lab.objects.get(pk=lab_id)
    submissions = Submission.objects.filter(lab_id=lab_id)
    if user_ids is not None:
        submissions = submissions.filter(user_id__in=user_ids)
    maximum = lab_maximum(lab)
    points = {user_id: (given, maximum) for (user_id, _lab), given in lab_points_by_student(submissions).items()
              if given is not None}
    return _stage(line_items, points)


@transaction.atomic
def assessment_scores_stage(*, assessment_id: int) -> Staged:
    """An exam's scores into the outbox, only once its results are released (a practice's or mock's at
    any time): each student's best submitted attempt."""
    assessment = Assessment.objects.get(pk=assessment_id)
    now = timezone.now()
    if assessment.mode == AssessmentMode.EXAM and (assessment.results_released_at is None
                                                   or assessment.results_released_at > now):
        return Staged(0, 0)
    line_items = _line_items(assessment_id=assessment_id)
    if not line_items:
        return Staged(0, 0)
    best: dict[int, tuple[Decimal, Decimal]] = {}
    for user_id, points, max_points in (Attempt.objects.filter(assessment_id=assessment_id, points__isnull=False)
                                        .exclude(status=AttemptStatus.IN_PROGRESS)
                                        .values_list("user_id", "points", "max_points")):
        if user_id not in best or points > best[user_id][0]:
            best[user_id] = (Decimal(points).quantize(Decimal("0.01")), Decimal(max_points).quantize(Decimal("0.01")))
    return _stage(line_items, best)


def lab_submission_graded(*, submission_id: int) -> Staged:
    submission = Submission.objects.filter(pk=submission_id).values("lab_id", "user_id").first()
    if submission is None:
        return Staged(0, 0)
    return lab_scores_stage(lab_id=submission["lab_id"], user_ids=[submission["user_id"]])


def course_scores_sync(*, course: Course) -> Staged:
    """"Sync now": every linked lab's and released assessment's scores staged again, line items still
    without a platform URL made, and rows not yet sent (pending or failed) sent again."""
    staged = unchanged = 0
    line_items = _line_items(lab__course=course) + _line_items(assessment__course=course)
    for line_item in line_items:
        if not line_item.url:
            _send(LINE_ITEM_TASK, line_item.pk)
    for lab_id in {li.lab_id for li in line_items if li.lab_id}:
        result = lab_scores_stage(lab_id=lab_id)
        staged, unchanged = staged + result.staged, unchanged + result.unchanged
    for assessment_id in {li.assessment_id for li in line_items if li.assessment_id}:
        result = assessment_scores_stage(assessment_id=assessment_id)
        staged, unchanged = staged + result.staged, unchanged + result.unchanged
    _send_in_batches(list(ScoreOutbox.objects.filter(line_item__in=line_items).exclude(
        state=OutboxState.SENT).values_list("pk", "version")))
    return Staged(staged=staged, unchanged=unchanged)


# --------------------------------------------------------------------------- sending


class SendLater(Exception):
    """The platform said "not now" (429, 5xx, no answer, or the line item not made yet): retry later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _log(row: ScoreOutbox, version: int, outcome: str, status: int | None, detail: str) -> None:
    ScoreSendLog.objects.create(outbox=row, version=version, score_given=row.score_given, status_code=status,
                                outcome=outcome, detail=detail[:500])


def _rows(outbox_ids: list[int]) -> dict[int, ScoreOutbox]:
    return {row.pk: row for row in ScoreOutbox.objects.select_related(
        "line_item__context__deployment__registration").filter(pk__in=outbox_ids)}


def score_send(*, outbox_id: int, version: int, last_try: bool = False) -> str:
    """Post this version of the row's score (nothing if it was sent, or a newer version replaced it).
    Raises :class:`SendLater` for a retry (logged); ``last_try``: a refusal then marks the row failed."""
    return _row_send(_rows([outbox_id]).get(outbox_id), version, last_try=last_try, connectors={})


def scores_send(*, items: list[tuple[int, int]]) -> dict[str, int]:
    """Post each (outbox id, version) as :func:`score_send` does, over one connection and access token per
    platform; a row to retry goes on alone (``lti.score_send``, with backoff). Past
    ``SCORE_BATCH_BUDGET_S`` the rest is sent on as a new batch. Outcome → rows."""
    import time

    rows = _rows([pk for pk, _version in items])
    connectors: dict[int, CachedTokenConnector] = {}
    outcomes: dict[str, int] = {}
    began = time.monotonic()
    for index, (pk, version) in enumerate(items):
        if time.monotonic() - began > SCORE_BATCH_BUDGET_S:
            _send_in_batches(items[index:])
            outcomes["handed_on"] = len(items) - index
            break
        try:
            outcome = _row_send(rows.get(pk), version, last_try=False, connectors=connectors)
        except SendLater as later:
            _send(SCORE_TASK, pk, version, countdown=retry_countdown(retries=0, retry_after=later.retry_after))
            outcome = "retry"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def _row_send(row: ScoreOutbox | None, version: int, *, last_try: bool,
              connectors: dict[int, CachedTokenConnector]) -> str:
    if row is None or row.version != version or row.sent_version >= version:
        return "skipped"
    line_item = row.line_item
    if not line_item.url:
        _send(LINE_ITEM_TASK, line_item.pk)
        raise SendLater("the line item is not made on the platform yet")
    sending = f"lti:sending:{row.pk}:{version}"  # one post of a version at a time (a sync and a retry)
    if not cache.add(sending, 1, 120):
        raise SendLater("this score is being sent by another task", retry_after=5)
    try:
        registration = line_item.context.deployment.registration
        if registration.pk not in connectors:
            connectors[registration.pk] = CachedTokenConnector(registration)
        return _post(row, version, last_try=last_try, connector=connectors[registration.pk])
    finally:
        cache.delete(sending)


def _post(row: ScoreOutbox, version: int, *, last_try: bool, connector: CachedTokenConnector) -> str:
    line_item = row.line_item
    payload = {"userId": row.sub, "scoreGiven": float(row.score_given), "scoreMaximum": float(row.score_maximum),
               "activityProgress": "Completed", "gradingProgress": "FullyGraded",
               "timestamp": row.timestamp.isoformat()}
    ScoreOutbox.objects.filter(pk=row.pk).update(tries=row.tries + 1)
    url = line_item.url.split("?", 1)[0].rstrip("/") + "/scores"
    try:
        connector.make_service_request([SCORE_SCOPE], url, is_post=True, data=json.dumps(payload),
                                       content_type="application/vnd.ims.lis.v1.score+json")
    except LtiServiceException as exc:
        status = exc.response.status_code
        if status == 401:
            connector.forget_token([SCORE_SCOPE])
        retryable = status in (401, 408, 429) or status >= 500
        if retryable and not last_try:
            _log(row, version, SendOutcome.RETRY, status, exc.response.text)
            header = exc.response.headers.get("Retry-After", "")
            raise SendLater(f"HTTP {status}", float(header) if header.replace(".", "", 1).isdigit() else None) from exc
        _log(row, version, SendOutcome.FAILED, status, exc.response.text)
        ScoreOutbox.objects.filter(pk=row.pk, version=version).update(state=OutboxState.FAILED,
                                                                      last_error=f"HTTP {status}")
        return "failed"
    except OSError as exc:  # requests' connection errors and timeouts
        if not last_try:
            _log(row, version, SendOutcome.RETRY, None, repr(exc))
            raise SendLater(repr(exc)) from exc
        _log(row, version, SendOutcome.FAILED, None, repr(exc))
        ScoreOutbox.objects.filter(pk=row.pk, version=version).update(state=OutboxState.FAILED, last_error=repr(exc))
        return "failed"
    _log(row, version, SendOutcome.SENT, 200, "")
    ScoreOutbox.objects.filter(pk=row.pk, version=version).update(sent_version=version, state=OutboxState.SENT,
                                                                  last_error="")
    return "sent"


def retry_countdown(*, retries: int, retry_after: float | None) -> float:
    """Seconds before the next try: the platform's Retry-After, else exponential (capped), with jitter."""
    import random

    if retry_after is not None:
        return max(0.0, min(retry_after, 600.0))
    base = settings.LTI_RETRY_BASE_SECONDS
    return min(base * (2 ** retries), 600.0) * (0.5 + random.random() / 2)
