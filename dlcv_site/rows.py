"""Raw SQL for the few hottest fixed-shape statements, with the ORM's conversions.

For the statements every exam start, page, autosave or grading runs, written as SQL once so Django
does not compile the same query on every request: model instances and single columns from a
SELECT's rows, converted the way the ORM converts them, and a many-row INSERT with the model's
defaults. ``insert_rows`` runs its statement; the rest are pure helpers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

_M = TypeVar("_M", bound=Model)


def table_name(model: type[Model]) -> str:
    """``model``'s table, quoted for this database."""
    return connection.ops.quote_name(model._meta.db_table)


def select_columns(model: type[Model], alias: str, attnames: Sequence[str] | None = None) -> str:
    """``alias.col, …`` for ``model``'s concrete fields (or those of ``attnames``), in the order
    ``model_from_row`` reads them."""
    quote = connection.ops.quote_name
    wanted = None if attnames is None else set(attnames)
    return ", ".join(f"{alias}.{quote(field.column)}" for field in model._meta.concrete_fields
                     if wanted is None or field.attname in wanted)


@lru_cache(maxsize=64)
def _in_field_order(model: type[Model], attnames: tuple[str, ...]) -> tuple[str, ...]:
    known = {field.attname for field in model._meta.concrete_fields}
    if not set(attnames) <= known or model._meta.pk.attname not in attnames:
        raise ValueError(f"{model.__name__}: {sorted(set(attnames) - known)} unknown, or no primary key in {attnames}")
    return tuple(field.attname for field in model._meta.concrete_fields if field.attname in attnames)


@lru_cache(maxsize=32)
def _row_converters(model: type[Model], vendor: str) -> tuple[tuple[int, Any, tuple[Any, ...]], ...]:
    """``(index, column, converters)`` for the concrete fields of ``model`` that the ORM converts
    when it reads them (JSON text to objects; on SQLite also datetimes, decimals, booleans)."""
    out = []
    for index, field in enumerate(model._meta.concrete_fields):
        col = field.get_col(model._meta.db_table)
        converters = tuple(connection.ops.get_db_converters(col) + col.get_db_converters(connection))
        if converters:
            out.append((index, col, converters))
    return tuple(out)


def model_from_row(model: type[_M], values: Sequence[Any], attnames: Sequence[str] | None = None) -> _M:
    """An instance from raw column values in ``model``'s concrete-field order; with ``attnames``,
    only those fields (selected by ``select_columns(model, alias, attnames)``), the rest deferred."""
    if attnames is not None:
        ordered = _in_field_order(model, tuple(attnames))
        converted = [convert_column(model, name, value) for name, value in zip(ordered, values, strict=True)]
        return model.from_db(connection.alias, list(ordered), converted)
    values = list(values)
    for index, col, converters in _row_converters(model, connection.vendor):
        for convert in converters:
            values[index] = convert(values[index], col, connection)
    return model.from_db(connection.alias, [f.attname for f in model._meta.concrete_fields], values)


@lru_cache(maxsize=128)
def _column_converters(model: type[Model], attname: str, vendor: str) -> tuple[Any, tuple[Any, ...]]:
    field = next(f for f in model._meta.concrete_fields if f.attname == attname)
    col = field.get_col(model._meta.db_table)
    return col, tuple(connection.ops.get_db_converters(col) + col.get_db_converters(connection))


def convert_column(model: type[Model], attname: str, value: Any) -> Any:
    """One raw column value of ``model.attname`` as the ORM reads it (a Decimal on SQLite, …)."""
    col, converters = _column_converters(model, attname, connection.vendor)
    for convert in converters:
        value = convert(value, col, connection)
    return value


@lru_cache(maxsize=32)
def _insert_plan(model: type[Model], given: tuple[str, ...], vendor: str) -> tuple[str, tuple[Any, ...], tuple[Any, ...]]:
    """The INSERT's head, its fields, and each field's prepared default (``None`` where given).
    Small batches only (an exam's items): every value is one parameter."""
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    unknown = set(given) - {f.attname for f in fields}
    if unknown:
        raise ValueError(f"{model.__name__} has no column {sorted(unknown)}")
    defaults = []
    for field in fields:
        if field.attname in given:
            defaults.append(None)
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False) or not (
                field.has_default() or field.null):
            raise ValueError(f"{model.__name__}.{field.attname} needs a value (no default)")
        else:
            defaults.append(field.get_db_prep_save(field.get_default(), connection))
    quote = connection.ops.quote_name
    head = f"INSERT INTO {table_name(model)} ({', '.join(quote(f.column) for f in fields)}) VALUES "
    return head, fields, tuple(defaults)


def insert_rows(model: type[Model], rows: Sequence[Mapping[str, Any]], *, returning_pk: bool = False) -> list[Any]:
    """INSERT ``rows`` (each: attname → value, the same attnames in every row) in one statement;
    the other columns get the model's defaults, prepared once per process. What ``bulk_create``
    does for plain rows, without building model instances or compiling the statement each time.
    No signals, no ``save()``. Returns the new primary keys if ``returning_pk``, else ``[]``."""
    if not rows:
        return []
    given = tuple(sorted(rows[0]))
    head, fields, defaults = _insert_plan(model, given, connection.vendor)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    columns = set(given)
    params: list[Any] = []
    for row in rows:
        if row.keys() != columns:
            raise ValueError("every row must give the same columns")
        params.extend(field.get_db_prep_save(row[field.attname], connection) if field.attname in columns else default
                      for field, default in zip(fields, defaults, strict=True))
    sql = head + ", ".join([placeholders] * len(rows))
    if returning_pk:
        sql += f" RETURNING {connection.ops.quote_name(model._meta.pk.column)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [pk for (pk,) in cursor.fetchall()] if returning_pk else []
