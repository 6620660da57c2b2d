"""Raw-SQL helpers: rows converted and inserted exactly as the ORM would."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import Role
from accounts.tests.factories import make_course, make_member
from dlcv_site.rows import convert_column, insert_rows
from quizzes.models import AttemptItem, Extension, QuestionVersion
from quizzes.services.attempts import attempt_start
from quizzes.tests.factories import load_shipped_bank, make_assessment


def _row(item: AttemptItem) -> dict[str, object]:
    return {f.attname: getattr(item, f.attname) for f in AttemptItem._meta.concrete_fields if not f.primary_key}


@pytest.mark.django_db
def test_insert_rows_writes_what_bulk_create_writes() -> None:
    load_shipped_bank()
    course = make_course("dlcv")
    attempt = attempt_start(user=make_member(course, Role.STUDENT),
                            assessment=make_assessment(course, ["act-dead-relu-05"]))
    version_id = attempt.items.get().question_version_id
    given = {"attempt_id": attempt.id, "question_version_id": version_id, "seed": 2**40 + 7, "max_points": Decimal("2.50")}
    ours = insert_rows(AttemptItem, [{**given, "position": 10}, {**given, "position": 11}], returning_pk=True)
    orm = AttemptItem.objects.bulk_create([AttemptItem(**given, position=12)])[0]
    assert len(ours) == 2 and all(isinstance(pk, int) for pk in ours)
    first, second, reference = (AttemptItem.objects.get(pk=pk) for pk in (*ours, orm.pk))
    assert {**_row(first), "position": 12} == _row(reference)  # every default, every type
    assert second.position == 11 and first.max_points == Decimal("2.50") and first.seed == 2**40 + 7
    assert insert_rows(AttemptItem, []) == []


@pytest.mark.django_db
def test_insert_rows_refuses_what_it_cannot_write() -> None:
    with pytest.raises(ValueError, match="needs a value"):
        insert_rows(Extension, [{"assessment_id": 1, "user_id": 1}])  # extra_minutes has no default
    with pytest.raises(ValueError, match="no column"):
        insert_rows(Extension, [{"assessment_id": 1, "user_id": 1, "extra_minutes": 5, "minutes": 5}])
    with pytest.raises(ValueError, match="same columns"):
        insert_rows(Extension, [{"assessment_id": 1, "user_id": 1, "extra_minutes": 5},
                                {"assessment_id": 1, "user_id": 2, "minutes": 5}])


@pytest.mark.django_db
def test_convert_column_reads_a_decimal_as_the_orm_does() -> None:
    from django.db import connection

    load_shipped_bank()
    version = QuestionVersion.objects.exclude(points=None).first()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT points FROM {QuestionVersion._meta.db_table} WHERE id = %s", [version.pk])
        (raw,) = cursor.fetchone()
    converted = convert_column(QuestionVersion, "points", raw)
    assert isinstance(converted, Decimal) and converted == version.points
    assert str(converted) == str(version.points)  # the same places


@pytest.mark.django_db
def test_model_from_row_builds_what_the_orm_builds() -> None:
    from django.db import connection

    from dlcv_site.rows import model_from_row, select_columns, table_name

    load_shipped_bank()
    version = QuestionVersion.objects.exclude(points=None).first()
    orm = QuestionVersion.objects.get(pk=version.pk)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select_columns(QuestionVersion, 'v')} FROM {table_name(QuestionVersion)} v "
                       f"WHERE v.id = %s", [version.pk])
        row = cursor.fetchone()
    built = model_from_row(QuestionVersion, row)
    assert not built._state.adding and built._state.db == "default"
    for field in QuestionVersion._meta.concrete_fields:  # JSON decoded, decimals and dates as the ORM has them
        assert getattr(built, field.attname) == getattr(orm, field.attname), field.attname
        assert type(getattr(built, field.attname)) is type(getattr(orm, field.attname)), field.attname

    shown = ("id", "question_id", "points", "spec")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select_columns(QuestionVersion, 'v', shown)} FROM {table_name(QuestionVersion)} v "
                       f"WHERE v.id = %s", [version.pk])
        partial = model_from_row(QuestionVersion, cursor.fetchone(), shown)
    assert (partial.points, partial.spec) == (orm.points, orm.spec)
    assert partial.get_deferred_fields() == {f.attname for f in QuestionVersion._meta.concrete_fields} - set(shown)

    with pytest.raises(ValueError, match="values for"):
        model_from_row(QuestionVersion, row[:-1])
    with pytest.raises(ValueError, match="unknown"):
        model_from_row(QuestionVersion, row[:2], ("id", "no_such_field"))
    with pytest.raises(ValueError, match="no primary key"):
        model_from_row(QuestionVersion, row[:1], ("points",))


@pytest.mark.django_db
def test_insert_statement_takes_sql_for_a_column() -> None:
    from dlcv_site.rows import insert_statement

    sql, params = insert_statement(Extension, [{"user_id": 1, "extra_minutes": 5}, {"user_id": 2, "extra_minutes": 7}],
                                   sql_values={"assessment_id": "(SELECT 42)"})
    columns = [f.attname for f in Extension._meta.concrete_fields if not f.primary_key]
    assert sql.count("(SELECT 42)") == 2 and "%s" not in sql.split("VALUES")[0]
    values = {"user_id": [1, 2], "extra_minutes": [5, 7]}
    assert params == [values[c][row] for row in (0, 1) for c in columns if c != "assessment_id"]
    with pytest.raises(ValueError, match="no rows"):
        insert_statement(Extension, [])
