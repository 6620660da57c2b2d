"""labs 0003 renames Submission.score → points and raw_score → score: every stored grade keeps its
value (both ways), and the check constraint follows under its new name."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from dlcv_site.tests.db_support import migrate_to

BEFORE = [("labs", "0002_lab_codelab")]
AFTER = [("labs", "0003_submission_points_and_score")]


def _constraints() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, "labs_submission"))


@pytest.mark.django_db(transaction=True)
def test_the_rename_keeps_every_submission_grade_both_ways(migration_executor: MigrationExecutor) -> None:
    old = migrate_to(migration_executor, BEFORE)
    user = old.get_model("accounts", "User").objects.create(username="before-the-rename")
    course = old.get_model("accounts", "Course").objects.create(slug="c", title="C")
    lab = old.get_model("labs", "Lab").objects.create(course=course, slug="l", title="L")
    OldSubmission = old.get_model("labs", "Submission")
    now = timezone.now()
    graded = OldSubmission.objects.create(lab=lab, user=user, number=1, status="graded", finished_at=now,
                                          score=Decimal("4.5000"), raw_score=Decimal("0.9000"), result={"score": 0.9})
    queued = OldSubmission.objects.create(lab=lab, user=user, number=2, status="queued")
    assert "submission_graded_has_score" in _constraints()

    new = migrate_to(migration_executor, AFTER)
    Submission = new.get_model("labs", "Submission")
    rows = {row.pk: row for row in Submission.objects.all()}
    assert (rows[graded.pk].points, rows[graded.pk].score) == (Decimal("4.5000"), Decimal("0.9000"))
    assert (rows[queued.pk].points, rows[queued.pk].score) == (None, None)
    assert rows[graded.pk].result == {"score": 0.9} and rows[graded.pk].finished_at == now
    constraints = _constraints()
    assert "submission_graded_has_points_and_score" in constraints and "submission_graded_has_score" not in constraints
    for missing in ("points", "score"):  # a graded row still needs both
        with pytest.raises(IntegrityError), transaction.atomic():
            Submission.objects.filter(pk=graded.pk).update(**{missing: None})

    old = migrate_to(migration_executor, BEFORE)  # and back: the old names get their values again
    row = old.get_model("labs", "Submission").objects.get(pk=graded.pk)
    assert (row.score, row.raw_score) == (Decimal("4.5000"), Decimal("0.9000"))
