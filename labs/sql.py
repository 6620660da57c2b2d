"""The labs app's hand-written SQL: the grading worker's claim and result write on PostgreSQL.

Each is one statement — one round trip — doing what the portable ORM path of
``labs.services.grading`` does in several (BEGIN, SET LOCAL, UPDATE, SELECTs, COMMIT). The ORM path
is the rule; ``labs/tests/test_sql.py`` runs both on the same rows and asserts the same outcome.

Both relax durability for their own transaction (``synchronous_commit = off``: the commit does not
wait for the WAL flush, one fsync being most of a write's cost). A database crash may then lose
the last few claims or results, which the sweeper repairs (the row is queued or running again and
is graded again, with the same result); nothing else can tell the difference.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.db import connection, transaction

from dlcv_site.rows import model_from_row, postgres_available, select_columns, table_name
from labs.models import Lab, LabPart, Submission, SubmissionStatus

# ``set_config(..., true)`` in the FROM list turns synchronous_commit off until the end of the
# statement's own transaction.
_RELAXED_FROM = "(SELECT set_config('synchronous_commit', 'off', true)) AS relaxed"


#: Whether this database runs these statements (PostgreSQL); others take the ORM path.
available = postgres_available


@contextmanager
def relaxed_durability() -> Iterator[None]:
    """A transaction whose commit does not wait for the WAL flush on PostgreSQL (a plain
    transaction elsewhere): for the worker's claim and result writes only."""
    with transaction.atomic():
        if available():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


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
    qn = connection.ops.quote_name
    part_json = ", ".join(
        f"'{f.attname}', p.{qn(f.column)}" + ("::text" if f.get_internal_type() == "DecimalField" else "")
        for f in LabPart._meta.concrete_fields
    )
    submissions, labs, parts = table_name(Submission), table_name(Lab), table_name(LabPart)
    return (
        f"UPDATE {submissions} AS s SET status = %(running)s, claim_token = %(token)s, claim_task_id = %(task_id)s, "
        "grading_runs = s.grading_runs + 1, started_at = %(now)s, finished_at = NULL, error = '' "
        f"FROM {labs} AS l, {_RELAXED_FROM} "
        "WHERE s.id = %(id)s AND l.id = s.lab_id "
        "AND (s.status = %(queued)s OR (s.status = %(running)s AND (s.started_at < %(stale_before)s "
        "OR (%(task_id)s <> '' AND s.claim_task_id = %(task_id)s)))) "
        f"RETURNING {select_columns(Submission, 's')}, {select_columns(Lab, 'l')}, "
        f"(SELECT json_agg(json_build_object({part_json}) ORDER BY p.position)::text "
        f"FROM {parts} AS p WHERE p.lab_id = s.lab_id), "
        f"(SELECT count(*) FROM {submissions} AS e WHERE e.lab_id = s.lab_id AND e.user_id = s.user_id "
        "AND e.number < s.number AND e.status <> %(failed)s)"
    )


def submission_claim(
    *, submission_id: int, token: uuid.UUID, now: datetime, stale_before: datetime, task_id: str = ""
) -> tuple[Submission, list[LabPart], int] | None:
    """Claim a submission that is queued (or running since before ``stale_before``, or running under
    a claim made by the same message ``task_id``: a delivery again of it) and return,
    from the same statement, the row with its lab selected, the lab's parts (numeric columns read
    as text, exact) and how many earlier submissions of the student for the lab did not fail;
    None when there is nothing to claim."""
    with connection.cursor() as cursor:
        cursor.execute(
            _claim_sql(),
            {
                "id": submission_id,
                "token": token,
                "now": now,
                "stale_before": stale_before,
                "task_id": task_id,
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
    return submission, list(_parts_from_json(connection.alias, parts_json or "[]")), int(earlier)


def submission_result_write(*, submission_id: int, token: uuid.UUID, values: Mapping[str, Any]) -> int:
    """Store ``values`` (field name → value) on the submission while it is running under ``token``,
    counting the write; the number of rows written (0: the claim was taken over)."""
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
