"""``labs.sql``: the worker's claim and result write do what the ORM path of ``labs.services.grading``
does, on the same rows; and durability is relaxed for their own transaction only.

Each cell runs the SQL and the ORM path in turn, each in a savepoint rolled back after, on the same
rows, and compares what they return and the submissions table after them. The claim and the write
are PostgreSQL statements (the ORM path runs elsewhere), so their tests require PostgreSQL.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Course, User
from accounts.tests.factories import make_course
from dlcv_site.tests.db_support import model_fields
from labs import sql
from labs.models import Lab, Submission, SubmissionStatus
from labs.services import grading
from labs.tests.factories import make_lab

T = TypeVar("T")
_names = itertools.count(1)
STALE_AFTER = grading.STALE_RUNNING_AFTER


def make_user() -> User:
    """A user without a password: hashing one costs a quarter of a second, and no cell logs in."""
    return User.objects.create(username=f"labs-sql-{next(_names)}")


def _table() -> list[dict[str, Any]]:
    return list(Submission.objects.order_by("pk").values())


def _rolled_back(write: Callable[[], T]) -> tuple[T, list[dict[str, Any]]]:
    """``write``'s result and the submissions table after it, in a savepoint rolled back after."""
    with transaction.atomic():
        result = write()
        after = _table()
        transaction.set_rollback(True)
    return result, after


def _submission(lab: Lab, user: User, number: int, status: str, now: datetime, *,
                started_ago: timedelta | None = None, token: uuid.UUID | None = None, task_id: str = "") -> Submission:
    graded = status == SubmissionStatus.GRADED
    return Submission.objects.create(
        lab=lab, user=user, number=number, status=status, answers={"conv": {"output": "1 2"}},
        variant={"seed": number}, lang="en", enqueued_at=now - timedelta(minutes=10),
        started_at=None if started_ago is None else now - started_ago, grading_runs=0 if started_ago is None else 1,
        claim_token=token, claim_task_id=task_id, finished_at=now - timedelta(minutes=1) if graded or status == SubmissionStatus.FAILED else None,
        points=Decimal("4.0000") if graded else None, score=Decimal("0.8000") if graded else None,
        result={"score": 0.8} if graded else None, error="boom" if status == SubmissionStatus.FAILED else "",
    )


# --------------------------------------------------------------------------- the claim

#: the row to claim → (status, started how long before now)
CLAIM_STATES: dict[str, tuple[str, timedelta | None]] = {
    "queued": (SubmissionStatus.QUEUED, None),
    "running, fresh": (SubmissionStatus.RUNNING, timedelta(seconds=10)),
    # A delivery again of the message that claimed it: its earlier run died with its worker.
    "running, fresh, claimed by this same message": (SubmissionStatus.RUNNING, timedelta(seconds=10)),
    "running, exactly at the stale line": (SubmissionStatus.RUNNING, STALE_AFTER),
    "running, stale": (SubmissionStatus.RUNNING, STALE_AFTER + timedelta(microseconds=1)),
    "graded": (SubmissionStatus.GRADED, timedelta(minutes=2)),
    "failed": (SubmissionStatus.FAILED, timedelta(minutes=2)),
}
#: the task id of the message claiming in every cell (another message made every other running claim)
MESSAGE = "6f1c2a9e-message-claiming"
CLAIMABLE = ("queued", "running, stale", "running, fresh, claimed by this same message")
#: what came before: earlier submissions of the student for the lab (number, status), and the parts
HISTORIES = {
    "first submission": [],
    "after failed and non-failed ones": [(1, SubmissionStatus.FAILED), (2, SubmissionStatus.GRADED),
                                         (3, SubmissionStatus.FAILED), (4, SubmissionStatus.QUEUED),
                                         (5, SubmissionStatus.RUNNING)],
    "a lab without parts": [(1, SubmissionStatus.GRADED)],
}


def _claim_world(state: str, history: str, now: datetime) -> Submission:
    course: Course = make_course()
    student, classmate = make_user(), make_user()
    lab = make_lab(course, parts=() if history == "a lab without parts" else
                   (("conv", "conv-by-hand", {"height": 5, "width": 5, "kernel_size": 3}, 3.25),
                    ("cost", "conv-cost", {"kind": "grouped", "名": "成本"}, 2)),
                   due_at=now + timedelta(days=2), attempts_policy={"mode": "declining", "points": [1.0, 0.5]},
                   late_policy={"per_day": 0.1})
    other_lab = make_lab(course)
    earlier = HISTORIES[history]
    for number, status in earlier:
        _submission(lab, student, number, status, now, started_ago=timedelta(hours=1))
    number = len(earlier) + 1
    status, started_ago = CLAIM_STATES[state]
    running = status == SubmissionStatus.RUNNING
    target = _submission(lab, student, number, status, now, started_ago=started_ago,
                         token=uuid.uuid4() if running else None,
                         task_id=(MESSAGE if "this same message" in state else "another-message") if running else "")
    # Noise: a later submission of the student, the classmate's, the student's on another lab.
    _submission(lab, student, number + 1, SubmissionStatus.GRADED, now, started_ago=timedelta(minutes=1))
    _submission(lab, classmate, 1, SubmissionStatus.GRADED, now, started_ago=timedelta(minutes=1))
    _submission(other_lab, student, 1, SubmissionStatus.QUEUED, now)
    return target


@pytest.mark.django_db
@pytest.mark.parametrize(("state", "history"), list(itertools.product(CLAIM_STATES, HISTORIES)))
def test_submission_claim_equals_the_orm_claim(postgres_required: None, state: str, history: str,
                                               django_assert_num_queries: Any) -> None:
    now = timezone.now()
    target = _claim_world(state, history, now)
    token = uuid.uuid4()

    def by_sql() -> Any:
        with django_assert_num_queries(1):
            return sql.submission_claim(submission_id=target.pk, token=token, now=now, stale_before=now - STALE_AFTER,
                                        task_id=MESSAGE)

    ours, our_table = _rolled_back(by_sql)
    orm, orm_table = _rolled_back(lambda: grading._claim_with_orm(target.pk, token, now, STALE_AFTER, MESSAGE))
    assert our_table == orm_table
    claimable = state in CLAIMABLE
    assert (ours is not None) == (orm is not None) == claimable
    if ours is None:
        assert our_table == _table()  # nothing claimed, nothing written
        return
    (submission, parts, earlier), (orm_submission, orm_parts, orm_earlier) = ours, orm
    assert model_fields(submission) == model_fields(orm_submission)
    assert model_fields(submission.lab) == model_fields(orm_submission.lab)
    assert [model_fields(part) for part in parts] == [model_fields(part) for part in orm_parts]
    assert earlier == orm_earlier == {"first submission": 0, "after failed and non-failed ones": 3,
                                      "a lab without parts": 1}[history]
    assert (submission.status, submission.claim_token, submission.started_at) == (SubmissionStatus.RUNNING, token, now)
    assert submission.claim_task_id == MESSAGE


@pytest.mark.django_db
def test_a_claim_without_a_message_never_takes_over_a_fresh_one(postgres_required: None) -> None:
    """Grading outside Celery (no task id) matches no claim's empty task id."""
    now = timezone.now()
    lab = make_lab(make_course())
    target = _submission(lab, make_user(), 1, SubmissionStatus.RUNNING, now, started_ago=timedelta(seconds=10),
                         token=uuid.uuid4())
    token = uuid.uuid4()
    assert _rolled_back(lambda: sql.submission_claim(submission_id=target.pk, token=token, now=now,
                                                     stale_before=now - STALE_AFTER, task_id="")) == (None, _table())
    assert _rolled_back(lambda: grading._claim_with_orm(target.pk, token, now, STALE_AFTER, "")) == (None, _table())


@pytest.mark.django_db
def test_submission_claim_of_no_such_row_is_none(postgres_required: None) -> None:
    now = timezone.now()
    target = _claim_world("queued", "first submission", now)
    missing = Submission.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000
    token = uuid.uuid4()
    assert _rolled_back(lambda: sql.submission_claim(submission_id=missing, token=token, now=now,
                                                     stale_before=now - STALE_AFTER)) == (None, _table())
    assert _rolled_back(lambda: grading._claim_with_orm(missing, token, now, STALE_AFTER)) == (None, _table())
    assert target.pk != missing


# --------------------------------------------------------------------------- the result write

OURS = uuid.UUID("00000000-0000-4000-8000-000000000001")
#: the row when the result comes → (status, claim token)
WRITE_STATES: dict[str, tuple[str, uuid.UUID | None]] = {
    "running under our claim": (SubmissionStatus.RUNNING, OURS),
    "running under another claim": (SubmissionStatus.RUNNING, uuid.UUID("00000000-0000-4000-8000-000000000002")),
    "handed back to the queue": (SubmissionStatus.QUEUED, None),
    "graded, our token left on it": (SubmissionStatus.GRADED, OURS),
    "no such submission": ("", None),
}


def _outcome(kind: str, now: datetime) -> dict[str, Any]:
    written = {"finished_at": now, "claim_token": None}
    if kind == "graded":
        return {**written, "status": SubmissionStatus.GRADED, "score": Decimal("0.7500"),
                "points": Decimal("3.3750"), "result": {"score": 0.75, "parts": [{"message": {"zh-Hant": "對", "en": "ok"}}]}}
    return {**written, "status": SubmissionStatus.FAILED, "error": "RuntimeError: part 'conv' no longer parses"}


@pytest.mark.django_db
@pytest.mark.parametrize(("state", "kind"), list(itertools.product(WRITE_STATES, ["graded", "failed"])))
def test_submission_result_write_equals_the_orm_write(postgres_required: None, state: str, kind: str,
                                                      django_assert_num_queries: Any) -> None:
    now = timezone.now()
    lab = make_lab(make_course())
    student = make_user()
    status, token = WRITE_STATES[state]
    others = [_submission(lab, student, 1, SubmissionStatus.RUNNING, now, started_ago=timedelta(seconds=5), token=OURS),
              _submission(lab, make_user(), 1, SubmissionStatus.QUEUED, now)]
    if status:
        target_id = _submission(lab, student, 2, status, now, started_ago=timedelta(seconds=30), token=token).pk
    else:
        target_id = others[-1].pk + 1000
    values = _outcome(kind, now)

    def by_sql() -> int:
        with django_assert_num_queries(1):
            return sql.submission_result_write(submission_id=target_id, token=OURS, values=values)

    ours = _rolled_back(by_sql)
    orm = _rolled_back(lambda: grading._write_with_orm(target_id, OURS, values))
    assert ours == orm
    assert ours[0] == (1 if state == "running under our claim" else 0)
    if ours[0]:
        row = next(row for row in ours[1] if row["id"] == target_id)
        assert row["result_writes"] == 1 and row["status"] == values["status"] and row["claim_token"] is None
    else:
        assert ours[1] == _table()


# --------------------------------------------------------------------------- relaxed durability


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_relaxed_durability_is_a_transaction_on_every_database() -> None:
    assert sql.available() == (connection.vendor == "postgresql")
    lab = make_lab(make_course())
    with pytest.raises(RuntimeError), sql.relaxed_durability():
        assert connection.in_atomic_block
        Lab.objects.filter(pk=lab.pk).update(title="changed")
        raise RuntimeError("rolled back")
    assert Lab.objects.get(pk=lab.pk).title == lab.title


@pytest.mark.django_db(transaction=True)
def test_durability_is_relaxed_for_the_own_transaction_only(postgres_required: None) -> None:
    """The ORM path's ``relaxed_durability`` and the SQL statements' ``set_config(…, true)`` both
    turn ``synchronous_commit`` off until their transaction ends, and no longer."""
    normal = _synchronous_commit()
    assert normal != "off"
    with sql.relaxed_durability():
        assert _synchronous_commit() == "off"
    assert _synchronous_commit() == normal

    now = timezone.now()
    lab = make_lab(make_course())
    student = make_user()
    first, second = (_submission(lab, student, number, SubmissionStatus.QUEUED, now) for number in (1, 2))
    token = uuid.uuid4()
    assert connection.get_autocommit()
    assert sql.submission_claim(submission_id=first.pk, token=token, now=now, stale_before=now - STALE_AFTER)
    assert _synchronous_commit() == normal  # its own transaction was the statement
    assert sql.submission_result_write(submission_id=first.pk, token=token, values=_outcome("failed", now)) == 1
    assert _synchronous_commit() == normal
    with transaction.atomic():  # inside a caller's transaction: off until it ends, as with the ORM path
        assert sql.submission_claim(submission_id=second.pk, token=token, now=now, stale_before=now - STALE_AFTER)
        assert _synchronous_commit() == "off"
    assert _synchronous_commit() == normal
    with transaction.atomic():
        assert grading._claim_with_orm(first.pk, token, now, STALE_AFTER) is None  # failed: nothing to claim
        assert _synchronous_commit() == "off"
    assert _synchronous_commit() == normal
