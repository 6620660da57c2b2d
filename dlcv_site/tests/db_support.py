"""Helpers for the tests that compare the database's state: model instances field by field, and
migrating the test database back and forth (with the ``migration_executor`` fixture of conftest.py)."""

from __future__ import annotations

from typing import Any

from django.apps.registry import Apps
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Model


def model_fields(instance: Model | None) -> Any:
    """Every loaded concrete field as (type, value), the instance's state and its deferred fields:
    two instances read by different paths (SQL and the ORM) compare equal only if all of it is."""
    if instance is None:
        return None
    deferred = instance.get_deferred_fields()
    values = {f.attname: (type(getattr(instance, f.attname)), getattr(instance, f.attname))
              for f in type(instance)._meta.concrete_fields if f.attname not in deferred}
    return type(instance), values, instance._state.adding, instance._state.db, deferred


def migrate_to(executor: MigrationExecutor, targets: list[tuple[str, str]]) -> Apps:
    """Migrate the test database to ``targets``; the models as the database then has them (every
    applied migration of every app: the targets' own dependencies alone would leave out, say, a
    column another app added since, which the table has)."""
    executor.loader.build_graph()  # the applied set changed since the last plan
    executor.migrate(targets)
    executor.loader.build_graph()
    applied = [node for node in executor.loader.applied_migrations if node in executor.loader.graph.nodes]
    return executor.loader.project_state(applied, at_end=True).apps
