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

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model

_M = TypeVar("_M", bound=Model)


def postgres_available() -> bool:
    """Whether this database runs the apps' PostgreSQL-only statements; others take the ORM path. Each
    app's ``sql.available`` is this one rule."""
    return connection.vendor == "postgresql"


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
def _read_plan(model: type[Model], attnames: tuple[str, ...] | None, vendor: str) -> tuple[
        list[str], tuple[tuple[int, Any, tuple[Any, ...]], ...]]:
    """The attnames a row of ``model`` gives, in concrete-field order (all of them, or those of
    ``attnames``), and ``(index, column, converters)`` for each of them the ORM converts when it
    reads it (JSON text to objects; on SQLite also datetimes, decimals, booleans)."""
    fields = model._meta.concrete_fields
    if attnames is not None:
        known = {field.attname for field in fields}
        if not set(attnames) <= known or model._meta.pk.attname not in attnames:
            raise ValueError(f"{model.__name__}: {sorted(set(attnames) - known)} unknown, or no primary key in {attnames}")
        fields = [field for field in fields if field.attname in attnames]
    converters = []
    for index, field in enumerate(fields):
        col, found = _field_converters(model, field)
        if found:
            converters.append((index, col, found))
    return [field.attname for field in fields], tuple(converters)


def _field_converters(model: type[Model], field: Any) -> tuple[Any, tuple[Any, ...]]:
    """``field``'s column expression and the converters the ORM applies when it reads it."""
    col = field.get_col(model._meta.db_table)
    return col, tuple(connection.ops.get_db_converters(col) + col.get_db_converters(connection))


def model_from_row(model: type[_M], values: Sequence[Any], attnames: Sequence[str] | None = None) -> _M:
    """An instance from raw column values in ``model``'s concrete-field order; with ``attnames``,
    only those fields (selected by ``select_columns(model, alias, attnames)``), the rest deferred."""
    db = connections[DEFAULT_DB_ALIAS]  # the proxy ``connection`` costs a thread-local lookup per use
    names, converters = _read_plan(model, None if attnames is None else tuple(attnames), db.vendor)
    if len(values) != len(names):
        raise ValueError(f"{model.__name__}: {len(values)} values for {len(names)} columns")
    if converters:
        values = list(values)
        for index, col, convert_all in converters:
            for convert in convert_all:
                values[index] = convert(values[index], col, db)
    return model.from_db(db.alias, names, values)


@lru_cache(maxsize=128)
def _column_converters(model: type[Model], attname: str, vendor: str) -> tuple[Any, tuple[Any, ...]]:
    return _field_converters(model, next(f for f in model._meta.concrete_fields if f.attname == attname))


def convert_column(model: type[Model], attname: str, value: Any) -> Any:
    """One raw column value of ``model.attname`` as the ORM reads it (a Decimal on SQLite, …)."""
    db = connections[DEFAULT_DB_ALIAS]
    col, converters = _column_converters(model, attname, db.vendor)
    for convert in converters:
        value = convert(value, col, db)
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


def insert_statement(model: type[Model], rows: Sequence[Mapping[str, Any]], *, returning_pk: bool = False,
                     sql_values: Mapping[str, str] | None = None) -> tuple[str, list[Any]]:
    """The INSERT of ``insert_rows`` and its parameters, to run alone or inside a larger statement.
    ``sql_values`` gives columns an SQL expression, the same in every row, instead of a parameter
    (e.g. the id a ``WITH`` clause just inserted)."""
    if not rows:
        raise ValueError("no rows to insert")
    expressions = dict(sql_values or {})
    given = tuple(sorted({*rows[0], *expressions}))
    head, fields, defaults = _insert_plan(model, given, connection.vendor)
    placeholders = "(" + ", ".join(expressions.get(f.attname, "%s") for f in fields) + ")"
    columns = set(given) - set(expressions)
    params: list[Any] = []
    for row in rows:
        if row.keys() != columns:
            raise ValueError("every row must give the same columns")
        params.extend(field.get_db_prep_save(row[field.attname], connection) if field.attname in columns else default
                      for field, default in zip(fields, defaults, strict=True) if field.attname not in expressions)
    sql = head + ", ".join([placeholders] * len(rows))
    if returning_pk:
        sql += f" RETURNING {connection.ops.quote_name(model._meta.pk.column)}"
    return sql, params


def insert_rows(model: type[Model], rows: Sequence[Mapping[str, Any]], *, returning_pk: bool = False) -> list[Any]:
    """INSERT ``rows`` (each: attname → value, the same attnames in every row) in one statement;
    the other columns get the model's defaults, prepared once per process. What ``bulk_create``
    does for plain rows, without building model instances or compiling the statement each time.
    No signals, no ``save()``. Returns the new primary keys if ``returning_pk``, else ``[]``."""
    if not rows:
        return []
    sql, params = insert_statement(model, rows, returning_pk=returning_pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [pk for (pk,) in cursor.fetchall()] if returning_pk else []
