"""Assignment and Grade Services against the loopback platform, with the real Celery worker: one line
item per linked lab or assessment across re-launches, scores posted when a lab is graded and when an
exam's results are released (never before), 429/5xx retried with no duplicate and every try logged."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Course, User
from accounts.tests.factories import make_course
from labs.models import Submission, SubmissionStatus
from labs.services import submission_create
from labs.tests.factories import lab_answers, make_lab
from labs.tests.workers import wait_for
from lti.models import LineItem, OutboxState, ScoreOutbox, ScoreSendLog, SendOutcome
from lti.services.ags import assessment_scores_stage, course_scores_sync, line_item_create
from lti.services.launch import lti_username
from lti.services.registrations import registration_create
from lti.tests.conftest import launch
from lti.tests.platform import LEARNER, LaunchSpec, Platform
from quizzes.models import Attempt, AttemptStatus
from quizzes.services.authoring import assessment_release_results
from quizzes.tests.factories import make_assessment

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

WITHIN = 60.0


@pytest.fixture
def lms(live_server: Any, celery_worker_process: Any, redis_required: None) -> Iterator[tuple[Platform, Course]]:
    platform = Platform(host="127.0.0.1").start()
    platform.tool_launch_url = "http://testserver" + reverse("lti-launch")
    platform.tool_jwks_url = live_server.url + reverse("lti-jwks")  # the token endpoint checks our signature
    course = make_course("dlcv")
    tool_registration = registration_create(course=course, by=None, **platform.registration_fields())
    platform.tool_login_url = "http://testserver" + reverse("lti-login", args=[tool_registration.registration.uuid])
    yield platform, course
    platform.stop()


def _launch(platform: Platform, sub: str, **custom: str) -> User:
    response = launch(Client(), platform, platform.prepare(LaunchSpec(sub=sub, roles=LEARNER, custom=custom)))
    assert response.status_code == 302, response.content[:300]
    return User.objects.get(username=lti_username(issuer=platform.issuer, sub=sub))


def _line_item_posts(platform: Platform) -> int:
    return sum(1 for method, path, status in platform.ags_calls
               if method == "POST" and path.endswith("/lineitems") and status == 201)


def _duplicates(platform: Platform) -> list[Any]:
    counts = Counter((s["lineitem"], s["userId"], s["timestamp"]) for s in platform.scores)
    return [key for key, count in counts.items() if count > 1]


def test_one_line_item_per_linked_lab_across_relaunches_and_a_lost_answer(lms: Any) -> None:
    platform, course = lms
    make_lab(course, "lab1")
    _launch(platform, "s1", lab="lab1")
    line_item = wait_for(lambda: LineItem.objects.exclude(url="").first(), timeout=WITHIN,
                         what="the worker to make the line item")
    for sub in ("s1", "s2", "s1"):
        _launch(platform, sub, lab="lab1")
    assert LineItem.objects.count() == 1
    assert _line_item_posts(platform) == 1
    # The platform made it but our worker died before storing its URL: the retry finds it, posts none.
    LineItem.objects.filter(pk=line_item.pk).update(url="")
    assert line_item_create(line_item_id=line_item.pk) == line_item.url
    assert _line_item_posts(platform) == 1
    assert platform.lineitems[line_item.url]["scoreMaximum"] == 5.0  # the lab's parts: 3 + 2 points


def test_a_graded_lab_posts_its_score_through_429_and_500_once(lms: Any) -> None:
    platform, course = lms
    lab = make_lab(course, "lab1")
    student = _launch(platform, "learner-1", lab="lab1")
    wait_for(lambda: LineItem.objects.exclude(url="").exists(), timeout=WITHIN, what="the line item")
    platform.inject = [429, 500, 503]
    submission = submission_create(user=student, lab=lab, answers=lab_answers(lab, student)).submission
    wait_for(lambda: platform.scores, timeout=WITHIN, what="the score on the platform")
    graded = Submission.objects.get(pk=submission.pk)
    assert graded.status == SubmissionStatus.GRADED
    (score,) = platform.scores
    assert (score["userId"], score["scoreGiven"], score["scoreMaximum"]) == ("learner-1", float(graded.points), 5.0)
    row = wait_for(lambda: ScoreOutbox.objects.filter(state=OutboxState.SENT).first(), timeout=WITHIN, what="sent")
    outcomes = list(ScoreSendLog.objects.filter(outbox=row).order_by("at").values_list("outcome", "status_code"))
    assert outcomes == [(SendOutcome.RETRY, 429), (SendOutcome.RETRY, 500), (SendOutcome.RETRY, 503),
                        (SendOutcome.SENT, 200)]
    # "Sync now" finds nothing to send again: the same score is not a new version.
    assert course_scores_sync(course=course).staged == 0
    assert len(platform.scores) == 1 and not _duplicates(platform)


def test_an_exam_score_is_posted_when_results_are_released_and_never_before(lms: Any) -> None:
    platform, course = lms
    exam = make_assessment(course, [], slug="midterm")
    student = _launch(platform, "learner-2", assessment="midterm")
    wait_for(lambda: LineItem.objects.exclude(url="").exists(), timeout=WITHIN, what="the line item")
    now = timezone.now()
    Attempt.objects.create(assessment=exam, user=student, number=1, status=AttemptStatus.SUBMITTED, started_at=now,
                           submitted_at=now, points=Decimal("7.5"), max_points=Decimal("10"))
    assert assessment_scores_stage(assessment_id=exam.pk).staged == 0
    assert course_scores_sync(course=course).staged == 0
    assert not ScoreOutbox.objects.exists() and not platform.scores

    assessment_release_results(assessment=exam, now=timezone.now())
    wait_for(lambda: platform.scores, timeout=WITHIN, what="the exam score on the platform")
    (score,) = platform.scores
    assert (score["userId"], score["scoreGiven"], score["scoreMaximum"]) == ("learner-2", 7.5, 10.0)
    assert not _duplicates(platform)


def _class_line_item(platform: Platform, course: Course, n: int) -> tuple[LineItem, list[User], dict[int, Any]]:
    """A lab's line item (made on the platform) in a context of ``n`` members, and a score for each."""
    from lti_tool.models import LtiContext, LtiDeployment, LtiUser

    deployment = LtiDeployment.objects.get()
    context = LtiContext.objects.create(deployment=deployment, id_on_platform="big",
                                        lineitems_url=f"{platform.url}/contexts/big/lineitems",
                                        can_manage_lineitems=True, can_publish_scores=True)
    line_item = LineItem.objects.create(context=context, lab=make_lab(course, "lab1"), label="Lab 1",
                                        maximum=Decimal(5))
    line_item_create(line_item_id=line_item.pk)
    line_item.refresh_from_db()
    users = User.objects.bulk_create([User(username=f"big-{i}", password="!") for i in range(n)])
    LtiUser.objects.bulk_create([LtiUser(registration=deployment.registration, sub=f"big-sub-{u.pk}", auth_user=u)
                                 for u in users])
    scores = {u.pk: (Decimal(i % 6) * Decimal("0.75"), Decimal(5)) for i, u in enumerate(users)}
    return line_item, users, scores


def _stage_all(line_item: LineItem, scores: dict[int, Any]) -> int:
    from django.db import transaction

    from lti.services.ags import _stage

    with transaction.atomic():
        return _stage([LineItem.objects.select_related("context__deployment").get(pk=line_item.pk)], scores).staged


def test_a_large_staging_goes_out_in_batches_each_score_once_and_every_retry_logged(lms: Any) -> None:
    from lti.services.ags import SCORE_BATCH_SIZE, scores_send

    platform, course = lms
    n = 2 * SCORE_BATCH_SIZE + 7  # three batches, the last one short
    line_item, users, scores = _class_line_item(platform, course, n)
    platform.inject = [503, 500]  # the first two posts refused (come back at once), then 10 % refused at random
    platform.fail_rate = 0.1
    assert _stage_all(line_item, scores) == n
    wait_for(lambda: ScoreOutbox.objects.filter(state=OutboxState.SENT).count() == n, timeout=WITHIN,
             what="every staged score sent")
    posted = [s for s in platform.scores if s["lineitem"] == line_item.url]
    assert sorted(s["userId"] for s in posted) == sorted(f"big-sub-{u.pk}" for u in users)  # each once
    assert all(Decimal(str(s["scoreGiven"])) == scores[int(s["userId"].rsplit("-", 1)[1])][0] for s in posted)
    refused = sum(1 for _method, path, status in platform.ags_calls if path.endswith("/scores") and status >= 500)
    assert refused >= 2
    assert ScoreSendLog.objects.filter(outbox__line_item=line_item, outcome=SendOutcome.RETRY).count() == refused
    assert ScoreSendLog.objects.filter(outbox__line_item=line_item, outcome=SendOutcome.SENT).count() == n
    # An old version, or one already sent, is never posted again.
    row = ScoreOutbox.objects.filter(line_item=line_item).first()
    assert row is not None
    assert scores_send(items=[(row.pk, row.version), (row.pk, row.version - 1)]) == {"skipped": 2}
    assert len([s for s in platform.scores if s["lineitem"] == line_item.url]) == n


def test_a_released_exam_score_changed_by_a_grader_reaches_the_lms_as_a_new_version(lms: Any) -> None:
    from accounts.models import Role
    from accounts.tests.factories import make_member
    from quizzes.services.attempts import attempt_start, attempt_submit
    from quizzes.services.rubric import essay_grade_with_rubric
    from quizzes.tests.factories import load_shipped_bank, save_answer

    platform, course = lms
    load_shipped_bank()
    exam = make_assessment(course, ["exam-109-q1"], slug="midterm", minutes=10)
    student = _launch(platform, "learner-3", assessment="midterm")
    wait_for(lambda: LineItem.objects.exclude(url="").exists(), timeout=WITHIN, what="the line item")
    attempt = attempt_start(user=student, assessment=exam)
    item = attempt.items.get()
    save_answer(item, response={"text": "Learned filters respond to edges first."})
    attempt_submit(attempt=attempt)
    grader = make_member(course, Role.INSTRUCTOR)
    essay_grade_with_rubric(item_id=item.pk, applied_ids=[], adjustment=item.max_points * Decimal("0.4"),
                            comment="partly", grader=grader)  # before release: not sent
    assessment_release_results(assessment=exam, now=timezone.now())
    wait_for(lambda: platform.scores, timeout=WITHIN, what="the released score on the platform")
    attempt.refresh_from_db()
    assert [s["scoreGiven"] for s in platform.scores] == [float(attempt.points)]

    essay_grade_with_rubric(item_id=item.pk, applied_ids=[], adjustment=item.max_points * Decimal("0.8"),
                            comment="a regrade: key point 2 was there", grader=grader)
    wait_for(lambda: len(platform.scores) == 2, timeout=WITHIN, what="the changed score on the platform")
    attempt.refresh_from_db()
    first, second = platform.scores
    assert second["scoreGiven"] == float(attempt.points) != first["scoreGiven"]
    assert second["timestamp"] > first["timestamp"] and second["userId"] == "learner-3"
    row = wait_for(lambda: ScoreOutbox.objects.filter(sent_version=2).first(), timeout=WITHIN, what="marked sent")
    assert (row.version, row.state) == (2, OutboxState.SENT)
    assert not _duplicates(platform)


def test_retry_waits_start_short_double_and_a_retry_after_wins(settings: Any) -> None:
    from lti.services.ags import retry_countdown

    settings.LTI_RETRY_BASE_SECONDS = 0.5
    for retries, (low, high) in enumerate([(0.25, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, 4.0)]):
        waits = [retry_countdown(retries=retries, retry_after=None) for _ in range(50)]
        assert all(low <= wait <= high for wait in waits)
        assert len(set(waits)) > 1  # jitter: the refused rows of a batch do not come back together
    assert 300 <= retry_countdown(retries=20, retry_after=None) <= 600
    assert retry_countdown(retries=0, retry_after=7) == 7.0
    assert retry_countdown(retries=0, retry_after=10_000) == 600.0


def test_a_batch_posts_several_scores_at_once_on_one_token_and_its_queries_do_not_grow_with_its_rows(
        lms: Any, monkeypatch: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from lti.services import ags

    platform, course = lms
    line_item, users, scores = _class_line_item(platform, course, 90)
    staged: list[tuple[int, int]] = []
    monkeypatch.setattr(ags, "_send_in_batches", staged.extend)  # this test sends the batches itself
    assert _stage_all(line_item, scores) == 90
    platform.score_delay = 0.05  # posts overlap only if the batch sends them at once
    tokens_before = platform.token_requests

    queries = []
    for batch in (staged[:10], staged[10:50]):
        with CaptureQueriesContext(connection) as captured:
            assert ags.scores_send(items=batch) == {"sent": len(batch)}
        queries.append(len(captured))
    assert queries[0] == queries[1]  # a batch's database work is per batch, not per row
    assert 1 < platform.most_scores_in_flight <= ags.SCORE_POST_THREADS
    assert platform.token_requests == tokens_before + 1  # one score token, for both batches and all threads

    # A 401 mid-batch: that row is retried (logged), the token fetched again once, not once per thread.
    retries: list[tuple[Any, ...]] = []
    monkeypatch.setattr(ags, "_send", lambda task, *args, **options: retries.append((task, *args)))
    platform.inject = [401]
    assert ags.scores_send(items=staged[50:]) == {"sent": 39, "retry": 1}
    ((task, outbox_id, version),) = retries
    assert task == ags.SCORE_TASK
    assert ags.score_send(outbox_id=outbox_id, version=version) == "sent"  # what its task runs
    assert ScoreOutbox.objects.filter(state=OutboxState.SENT).count() == 90
    assert platform.token_requests == tokens_before + 2
    assert list(ScoreSendLog.objects.filter(outcome=SendOutcome.RETRY).values_list("status_code", flat=True)) == [401]
    assert ScoreSendLog.objects.filter(outcome=SendOutcome.SENT).count() == 90
    assert sorted(s["userId"] for s in platform.scores if s["lineitem"] == line_item.url) == sorted(
        f"big-sub-{u.pk}" for u in users)


@pytest.mark.slow
def test_a_worker_killed_mid_batch_loses_no_score_and_posts_none_different(lms: Any, settings: Any) -> None:
    import redis

    from labs.tests.workers import kill_worker, private_queue, start_worker, stop_worker
    from lti.services.ags import SCORE_BATCH_SIZE, SCORE_POST_THREADS

    platform, course = lms
    queue = private_queue("lti")
    settings.LTI_QUEUE = queue
    n = 2 * SCORE_BATCH_SIZE
    line_item, users, scores = _class_line_item(platform, course, n)
    platform.score_delay = 0.2  # a batch takes seconds: the kill lands in the middle of one
    # The workers share their cache in Redis, as in production (CACHE_URL): the killed run's claims outlive it.
    env = {"LTI_QUEUE": queue, "CACHE_URL": settings.REDIS_URL}
    worker = start_worker(queue, name="lti-kill", node="lti-kill@pytest", env=env)
    fresh = None
    try:
        assert _stage_all(line_item, scores) == n
        wait_for(lambda: len(platform.scores) >= 10, timeout=WITHIN, what="the first batch's posts")
        kill_worker(worker)  # SIGKILL, whole process group, posts made and none recorded
        posted_before_kill = len(platform.scores)
        assert ScoreOutbox.objects.filter(state=OutboxState.SENT).count() < n
        platform.score_delay = 0.0
        # The same worker started again puts back what it had reserved (dlcv_site.worker_recovery); the
        # batch delivered again takes back the claims its killed run left on the versions it was posting.
        fresh = start_worker(queue, name="lti-kill-again", node="lti-kill@pytest", env=env)
        wait_for(lambda: ScoreOutbox.objects.filter(state=OutboxState.SENT).count() == n, timeout=WITHIN,
                 what="every score sent after the kill")
    finally:
        kill_worker(worker)
        if fresh is not None:
            stop_worker(fresh)
        broker = redis.Redis.from_url(settings.REDIS_URL)
        broker.delete(queue, f"_kombu.binding.{queue}", *broker.keys("*lti:sending:*"), *broker.keys("*lti:token:*"))
    posted = [s for s in platform.scores if s["lineitem"] == line_item.url]
    by_user: dict[str, set[tuple[float, str]]] = {}
    for score in posted:
        by_user.setdefault(score["userId"], set()).add((score["scoreGiven"], score["timestamp"]))
    assert sorted(by_user) == sorted(f"big-sub-{u.pk}" for u in users)  # none lost
    # Posted again, at most: the very score and timestamp (the platform keeps one); never another one.
    assert all(len(versions) == 1 for versions in by_user.values())
    assert all(Decimal(str(s["scoreGiven"])) == scores[int(s["userId"].rsplit("-", 1)[1])][0] for s in posted)
    # Only what the killed run posted, unrecorded, goes twice: those before the kill and those in flight.
    assert len(posted) - n <= posted_before_kill + SCORE_POST_THREADS
    assert ScoreSendLog.objects.filter(outcome=SendOutcome.SENT).count() == n
    assert not ScoreOutbox.objects.filter(state=OutboxState.FAILED).exists()
