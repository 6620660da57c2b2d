"""Assignment and Grade Services: one grade column per linked assessment or lab in each LMS context,
and the scores, through an outbox.

* A launch of a link to an assessment or lab makes its :class:`LineItem` row (unique per context and
  target: re-launches and re-links find it) and, on commit, sends ``lti.line_item_create``, which makes
  the column on the platform once: it looks for one it made before (its ``resourceId``) before posting.
* A score to send is a :class:`ScoreOutbox` row per (line item, user): staging a different score bumps
  ``version`` and ``timestamp``; the same score changes nothing. What is staged goes out in batches:
  ``lti.score_send_batch`` ((outbox id, version) pairs, up to ``SCORE_BATCH_SIZE``) posts each row's
  version, ``SCORE_POST_THREADS`` at a time (threads with kept-alive HTTP sessions of their own, one
  cached access token), then records every outcome in one transaction. A claim per version (in the
  cache) lets one post of it run at a time. A row the platform refuses for now (429, 5xx, no answer)
  goes on alone: ``lti.score_send`` (outbox id, version) posts exactly that version (a retry can never
  post another score; a newer version has its own task) with backoff; every try is in
  :class:`ScoreSendLog`. A worker killed mid-batch leaves its rows pending: its message delivered
  again posts them (the same score and timestamp, which the platform keeps once).
* Lab scores are staged when a submission is graded; exam scores only once results are released.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import socket
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeGuard

import requests
from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import KombuError
from lti_tool.models import LtiContext, LtiRegistration, LtiUser
from pylti1p3.exception import LtiServiceException
from pylti1p3.registration import Registration
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
#: Seconds a batch starts posts before it hands the rest to a new batch task: a post started at the end
#: may take HTTP_TIMEOUT (25 s) and must end within the task's soft time limit (50 s).
SCORE_BATCH_BUDGET_S = 20.0
#: Score posts in flight at once in a worker process (threads, each with its own HTTP session; a batch's
#: threads share one access token): the platform's latency overlaps, the database work is once a batch.
SCORE_POST_THREADS = 4


def _send(task: str, *args: Any, countdown: float | None = None, argsrepr: str | None = None) -> None:
    try:
        current_app.send_task(task, args=list(args), queue=settings.LTI_QUEUE, countdown=countdown, argsrepr=argsrepr)
    except (KombuError, OSError):
        logger.exception("could not send %s %s; the course's sync sends it again", task, args)


class TokenShare:
    """A platform's access tokens as one batch's posting threads share them (one fetch, not one per thread)."""

    def __init__(self, registration: Registration) -> None:
        self.registration = registration  # pylti1p3's, built once (it may read our key from the database)
        self.tokens: dict[str, str] = {}
        self.lock = threading.Lock()


class CachedTokenConnector(ServiceConnector):
    """pylti1p3's service calls, with the platform's access token kept in the cache until it expires
    (one token request per registration and scopes, not one per score). Connectors given one
    :class:`TokenShare` (a batch's threads, each with its own session) ask the cache once between them."""

    def __init__(self, registration: LtiRegistration, *, session: requests.Session | None = None,
                 share: TokenShare | None = None) -> None:
        self._share = share or TokenShare(registration.to_registration())
        super().__init__(self._share.registration, session or http_session())
        self._cache_prefix = f"lti:token:{registration.pk}:"

    def _key(self, scopes: Any) -> str:
        return self._cache_prefix + hashlib.md5("|".join(sorted(scopes)).encode()).hexdigest()

    def get_access_token(self, scopes: Any) -> str:
        key = self._key(scopes)
        token = self._share.tokens.get(key)
        if token:
            return token
        with self._share.lock:  # the other threads wait for this fetch rather than make their own
            token = self._share.tokens.get(key) or cache.get(key)
            if not token:
                self._access_tokens.clear()  # pylti1p3's own copy may be one forgotten since
                token = super().get_access_token(scopes)
                cache.set(key, token, 3000)
            self._share.tokens[key] = str(token)
        return str(token)

    def forget_token(self, scopes: Any) -> None:
        cache.delete(self._key(scopes))
        self._share.tokens.pop(self._key(scopes), None)
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
    unchanged = 0
    new: list[ScoreOutbox] = []
    changed: list[ScoreOutbox] = []
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
                new.append(ScoreOutbox(line_item=line_item, user_id=user_id, sub=sub, score_given=given,
                                       score_maximum=maximum, timestamp=now))
            elif (row.score_given, row.score_maximum) == (given, maximum):
                unchanged += 1
            else:
                row.score_given, row.score_maximum, row.sub = given, maximum, sub
                row.version += 1
                row.timestamp = row.updated_at = now
                row.state = OutboxState.PENDING
                changed.append(row)
    # A few queries, not one per row: staging a class's scores was a large part of a passback's time.
    ScoreOutbox.objects.bulk_create(new, batch_size=1000)
    ScoreOutbox.objects.bulk_update(changed, ["score_given", "score_maximum", "sub", "version", "timestamp", "state",
                                              "updated_at"], batch_size=500)
    to_send = [(row.pk, row.version) for row in new + changed]
    transaction.on_commit(lambda: _send_in_batches(to_send))
    return Staged(staged=len(to_send), unchanged=unchanged)


def _send_in_batches(to_send: list[tuple[int, int]]) -> None:
    for start in range(0, len(to_send), SCORE_BATCH_SIZE):
        batch = to_send[start:start + SCORE_BATCH_SIZE]
        # Celery would repr the 50 pairs for its logs: most of the cost of sending the task.
        _send(SCORE_BATCH_TASK, [[pk, version] for pk, version in batch],
              argsrepr=f"[{len(batch)} (outbox id, version) from {batch[0][0]}]")


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


#: Outcomes of a row that was not posted: another task holds its version, or the batch ran out of time.
LATER, HANDED_ON = "later", "handed_on"


@dataclass
class _Try:
    """One row's post (of exactly ``version``) and what came of it."""

    row: ScoreOutbox
    version: int
    outcome: str = ""  # a SendOutcome once posted; LATER or HANDED_ON when not
    status: int | None = None
    detail: str = ""  # the platform's answer (logged)
    error: str = ""  # the row's last_error when it failed
    retry_after: float | None = None
    claimed: bool = False

    @property
    def claim_key(self) -> str:
        return f"lti:sending:{self.row.pk}:{self.version}"  # one post of a version at a time (a sync and a retry)


_pool: tuple[int, ThreadPoolExecutor] | None = None
_local = threading.local()


def _post_pool() -> ThreadPoolExecutor:
    """This process's posting threads; made in the process that posts (a prefork child after its fork)."""
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        _pool = (os.getpid(), ThreadPoolExecutor(SCORE_POST_THREADS, thread_name_prefix="lti-score-post"))
    return _pool[1]


def _thread_session() -> requests.Session:
    """This thread's HTTP session (a requests.Session is not thread-safe), kept across tasks so its
    connection to the platform stays open."""
    if getattr(_local, "pid", None) != os.getpid():
        _local.pid, _local.session = os.getpid(), http_session()
    session: requests.Session = _local.session
    return session


def _rows(outbox_ids: list[int]) -> dict[int, ScoreOutbox]:
    """The rows with their line item, context, deployment and registration: fetched once per line item
    (a join repeated them on every row: most of a batch's own CPU time was building those models)."""
    rows = list(ScoreOutbox.objects.filter(pk__in=outbox_ids))
    line_items = LineItem.objects.select_related("context__deployment__registration").in_bulk(
        {row.line_item_id for row in rows})
    for row in rows:
        row.line_item = line_items[row.line_item_id]
    return {row.pk: row for row in rows}


def _sendable(row: ScoreOutbox | None, version: int) -> TypeGuard[ScoreOutbox]:
    return row is not None and row.version == version and row.sent_version < version


#: Seconds a version's claim lasts: past the hard time limit of the task that took it (it may die holding it).
CLAIM_SECONDS = 120


def score_send(*, outbox_id: int, version: int, last_try: bool = False, owner: str = "") -> str:
    """Post this version of the row's score (nothing if it was sent, or a newer version replaced it).
    Raises :class:`SendLater` for a retry (logged); ``last_try``: a refusal then marks the row failed.
    ``owner``: the task's id (see :func:`scores_send`)."""
    row = _rows([outbox_id]).get(outbox_id)
    if not _sendable(row, version):
        return "skipped"
    if not row.line_item.url:
        _send(LINE_ITEM_TASK, row.line_item_id)
        raise SendLater("the line item is not made on the platform yet")
    attempt = _Try(row, version)
    _tries_send([attempt], last_try=last_try, deadline=None, owner=owner)
    if attempt.outcome in (SendOutcome.RETRY, LATER):
        raise SendLater(attempt.error or attempt.detail, attempt.retry_after)
    return attempt.outcome


def scores_send(*, items: list[tuple[int, int]], owner: str = "") -> dict[str, int]:
    """Post each (outbox id, version) as :func:`score_send` does, ``SCORE_POST_THREADS`` at a time with one
    access token per platform, and record them all in one transaction; a row to retry goes on alone
    (``lti.score_send``, with backoff). Rows not started within ``SCORE_BATCH_BUDGET_S`` go on as a new
    batch. ``owner``: the task's id (the same when a dead worker's message is delivered again: see
    :func:`_claim`). Outcome → rows."""
    began = time.monotonic()
    rows = _rows([pk for pk, _version in items])
    outcomes: Counter[str] = Counter()
    tries: list[_Try] = []
    waiting_line_items: set[int] = set()
    seen: set[tuple[int, int]] = set()
    for pk, version in items:
        row = rows.get(pk)
        if not _sendable(row, version) or (pk, version) in seen:
            outcomes["skipped"] += 1
        elif not row.line_item.url:
            if row.line_item_id not in waiting_line_items:
                waiting_line_items.add(row.line_item_id)
                _send(LINE_ITEM_TASK, row.line_item_id)
            tries.append(_Try(row, version, outcome=LATER, detail="the line item is not made on the platform yet"))
        else:
            tries.append(_Try(row, version))
        seen.add((pk, version))
    try:
        _tries_send(tries, last_try=False, deadline=began + SCORE_BATCH_BUDGET_S, owner=owner)
    finally:  # even after an error in one post: the others' retries are logged, so they must happen
        for attempt in tries:
            if attempt.outcome in (SendOutcome.RETRY, LATER):
                _send(SCORE_TASK, attempt.row.pk, attempt.version,
                      countdown=retry_countdown(retries=0, retry_after=attempt.retry_after))
    handed_on = [(t.row.pk, t.version) for t in tries if t.outcome == HANDED_ON]
    _send_in_batches(handed_on)
    outcomes.update(HANDED_ON if t.outcome == HANDED_ON else "retry" if t.outcome == LATER else str(t.outcome)
                    for t in tries)
    logger.info("score batch of %d in %.2f s: %s", len(items), time.monotonic() - began, dict(outcomes))
    return dict(outcomes)


_HOST = socket.gethostname()


def _claim(attempt: _Try, owner: str) -> bool:
    """One post of a version at a time (a batch, a retry, a sync's batch). A claim names its task, host
    and process; the same task (its message delivered again after a worker's kill) takes back a claim
    whose process is gone, rather than wait for it to expire. A live process keeps its claim: its
    message may have been put back while it still runs (the broker's visibility timeout)."""
    mine = f"{owner}@{_HOST}:{os.getpid()}"
    if cache.add(attempt.claim_key, mine, CLAIM_SECONDS):
        return True
    task, _at, where = str(cache.get(attempt.claim_key) or "").rpartition("@")
    host, _colon, pid = where.partition(":")
    if not owner or task != owner or host != _HOST or not pid.isdigit() or _alive(int(pid)):
        return False
    cache.set(attempt.claim_key, mine, CLAIM_SECONDS)
    return True


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # this process's earlier run of the task (stopped by its time limit) may still be posting
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tries_send(tries: list[_Try], *, last_try: bool, deadline: float | None, owner: str) -> None:
    """Post the tries not yet decided (in the posting threads when more than one), then record them all;
    a version's claim is let go only once its outcome is committed."""
    to_post = [t for t in tries if not t.outcome]
    if not to_post:
        return
    # Built here, not in the threads: to_registration() may read our key from the database.
    registrations = {t.row.line_item.context.deployment.registration_id: t.row.line_item.context.deployment.registration
                     for t in to_post}
    shares = {pk: TokenShare(registration.to_registration()) for pk, registration in registrations.items()}

    def post(attempt: _Try) -> None:
        if deadline is not None and time.monotonic() > deadline:
            attempt.outcome = HANDED_ON
            return
        if not _claim(attempt, owner):
            attempt.outcome, attempt.detail = LATER, "this score is being sent by another task"  # backoff
            return
        attempt.claimed = True
        registration = registrations[attempt.row.line_item.context.deployment.registration_id]
        connector = CachedTokenConnector(registration, session=_thread_session(), share=shares[registration.pk])
        _post(attempt, last_try=last_try, connector=connector)

    try:
        if len(to_post) == 1:
            post(to_post[0])
        else:
            futures = [_post_pool().submit(post, attempt) for attempt in to_post]
            wait(futures)
            for future in futures:
                future.result()  # a bug in a thread: raised here, after the others are recorded (finally)
    finally:
        # A try still in flight (the task's time limit) keeps its claim until the claim expires.
        done = [t for t in to_post if t.claimed and t.outcome]
        try:
            _record(done)
        finally:
            cache.delete_many([t.claim_key for t in done])


def _record(tries: list[_Try]) -> None:
    """The posts' outcomes in one transaction (not three commits per row): tries counted, every answer
    in the send log, sent and failed versions marked."""
    posted = [t for t in tries if t.outcome in SendOutcome.values]
    if not posted:
        return
    marks: dict[tuple[str, int, str], list[int]] = defaultdict(list)
    for attempt in posted:
        if attempt.outcome != SendOutcome.RETRY:
            marks[(attempt.outcome, attempt.version, attempt.error)].append(attempt.row.pk)
    with transaction.atomic():
        ScoreOutbox.objects.filter(pk__in=[t.row.pk for t in posted]).update(tries=F("tries") + 1)
        ScoreSendLog.objects.bulk_create([
            ScoreSendLog(outbox=t.row, version=t.version, score_given=t.row.score_given, status_code=t.status,
                         outcome=t.outcome, detail=t.detail[:500]) for t in posted])
        for (outcome, version, error), pks in marks.items():
            rows = ScoreOutbox.objects.filter(pk__in=pks, version=version)  # a newer version is not marked
            if outcome == SendOutcome.SENT:
                rows.update(sent_version=version, state=OutboxState.SENT, last_error="")
            else:
                rows.update(state=OutboxState.FAILED, last_error=error)


def _post(attempt: _Try, *, last_try: bool, connector: CachedTokenConnector) -> None:
    """One POST of the try's version; its outcome on ``attempt``. In a posting thread: no database."""
    row = attempt.row
    payload = {"userId": row.sub, "scoreGiven": float(row.score_given), "scoreMaximum": float(row.score_maximum),
               "activityProgress": "Completed", "gradingProgress": "FullyGraded",
               "timestamp": row.timestamp.isoformat()}
    url = row.line_item.url.split("?", 1)[0].rstrip("/") + "/scores"
    try:
        connector.make_service_request([SCORE_SCOPE], url, is_post=True, data=json.dumps(payload),
                                       content_type="application/vnd.ims.lis.v1.score+json")
    except LtiServiceException as exc:
        status = exc.response.status_code
        if status == 401:
            connector.forget_token([SCORE_SCOPE])
        attempt.status, attempt.detail, attempt.error = status, exc.response.text, f"HTTP {status}"
        if (status in (401, 408, 429) or status >= 500) and not last_try:
            header = exc.response.headers.get("Retry-After", "")
            attempt.outcome = SendOutcome.RETRY
            attempt.retry_after = float(header) if header.replace(".", "", 1).isdigit() else None
        else:
            attempt.outcome = SendOutcome.FAILED
        return
    except OSError as exc:  # requests' connection errors and timeouts
        attempt.detail = attempt.error = repr(exc)
        attempt.outcome = SendOutcome.FAILED if last_try else SendOutcome.RETRY
        return
    attempt.outcome, attempt.status = SendOutcome.SENT, 200


def retry_countdown(*, retries: int, retry_after: float | None) -> float:
    """Seconds before retry ``retries + 1``: the platform's Retry-After, else ``LTI_RETRY_BASE_SECONDS``
    doubling (capped at 600 s), each 50–100 % of that at random (retries spread out). The first waits
    are short: a lone 5xx is mostly a blip, and waits of seconds were most of a large passback's wall
    time; a score's tries (``lti.score_send``'s retries) still wait out an outage of about half an hour."""
    if retry_after is not None:
        return max(0.0, min(retry_after, 600.0))
    return min(settings.LTI_RETRY_BASE_SECONDS * 2 ** retries, 600.0) * (0.5 + random.random() / 2)
