"""Model instances from raw SQL rows, converted the way the ORM converts a SELECT's.

For the few hottest fixed-shape queries (every exam start, every grading), written as SQL once
so Django does not compile the same query on every request. Pure helpers: no query of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

_M = TypeVar("_M", bound=Model)


def select_columns(model: type[Model], alias: str) -> str:
    """``alias.col, …`` for ``model``'s concrete fields, in the order ``model_from_row`` reads them."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(field.column)}" for field in model._meta.concrete_fields)


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


def model_from_row(model: type[_M], values: Sequence[Any]) -> _M:
    """An instance from raw column values in ``model``'s concrete-field order."""
    values = list(values)
    for index, col, converters in _row_converters(model, connection.vendor):
        for convert in converters:
            values[index] = convert(values[index], col, connection)
    return model.from_db(connection.alias, [f.attname for f in model._meta.concrete_fields], values)
