"""``dlcv_site.sql``: each statement returns what its ORM rule returns on the same rows; and no module
runs hand-written SQL outside an app's ``sql.py`` (the house rule: SQL kept apart and proven).

The statements here run on every database, so these tests run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore as DatabaseStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from dlcv_site import sql
from dlcv_site.sessions import SessionStore
from dlcv_site.tests.db_support import model_fields

PROJECT_DIR = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- the health check


@pytest.mark.django_db
def test_database_round_trip_is_one_query_that_answers_one(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(1) as captured:
        assert sql.database_round_trip() == 1
    assert captured.captured_queries[0]["sql"] == "SELECT 1"


# --------------------------------------------------------------------------- sessions

#: key → expiry relative to the lookup's ``now`` (None: no such row)
SESSIONS = {
    "fresh": timedelta(days=1),
    "expires in a microsecond": timedelta(microseconds=1),
    "expires exactly now": timedelta(0),
    "expired a second ago": timedelta(seconds=-1),
    "expired long ago": timedelta(days=-30),
    "no such session": None,
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(SESSIONS))
def test_session_unexpired_equals_its_orm_rule(case: str, django_assert_num_queries: Any) -> None:
    now = timezone.now().replace(microsecond=123456)  # the adapted text of both sides keeps the fraction
    store = DatabaseStore()
    for name, expiry in SESSIONS.items():
        if expiry is not None:
            Session.objects.create(session_key=name.replace(" ", "-"), expire_date=now + expiry,
                                   session_data=store.encode({"who": name, "名": "測試"}))
    key = case.replace(" ", "-")
    with django_assert_num_queries(1):
        ours = sql.session_unexpired(session_key=key, now=now)
    orm = Session.objects.filter(session_key=key, expire_date__gt=now).first()
    assert model_fields(ours) == model_fields(orm)
    assert (ours is not None) == (case in ("fresh", "expires in a microsecond"))


@pytest.mark.django_db
def test_session_unexpired_of_no_key_is_none() -> None:
    now = timezone.now()
    assert sql.session_unexpired(session_key=None, now=now) is None
    assert Session.objects.filter(session_key=None, expire_date__gt=now).first() is None


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["fresh", "expired long ago", "no such session"])
def test_the_session_store_reads_what_djangos_database_store_reads(case: str) -> None:
    now = timezone.now()
    if SESSIONS[case] is not None:
        Session.objects.create(session_key="k" * 32, expire_date=now + SESSIONS[case],
                               session_data=DatabaseStore().encode({"case": case}))
    ours, django_store = SessionStore("k" * 32), DatabaseStore("k" * 32)
    assert model_fields(ours._get_session_from_db()) == model_fields(django_store._get_session_from_db())
    assert ours.session_key == django_store.session_key  # both forget a key with no live row


# --------------------------------------------------------------------------- SQL kept apart

#: Where hand-written SQL may run: each app's sql.py (test_every_sql_module_has_its_test), the platform's
#: row builder (tested against the ORM in test_rows.py) and the benches' tooling (VACUUM, ANALYZE).
#: Tests are not scanned.
ALLOWED = {path.relative_to(PROJECT_DIR).as_posix() for path in PROJECT_DIR.glob("*/sql.py")} | {"dlcv_site/rows.py"}
ALLOWED_DIRS = ("quizzes/bench/",)
ALLOWED_BENCHES = "bench.py"
#: Calls that run SQL written by hand: a DB-API cursor, a raw queryset, RawSQL, ``extra``.
RAW_METHODS = {"cursor", "execute", "executemany", "executescript", "raw", "extra"}
RAW_NAMES = {"RawSQL"}


def _project_sources() -> list[Path]:
    skipped = {".venv", "var", "node_modules", "tests", "migrations", "__pycache__"}
    return sorted(path for path in PROJECT_DIR.rglob("*.py")
                  if not skipped & set(path.relative_to(PROJECT_DIR).parts[:-1]))


def _raw_sql_calls(path: Path) -> list[str]:
    """``file:line call`` for each call in the module that runs hand-written SQL."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if (isinstance(func, ast.Attribute) and name in RAW_METHODS) or name in RAW_NAMES:
            found.append(f"{path.relative_to(PROJECT_DIR)}:{node.lineno} {name}()")
    return found


def test_no_module_outside_sql_py_runs_hand_written_sql() -> None:
    sources = _project_sources()
    relative = {path.relative_to(PROJECT_DIR).as_posix(): path for path in sources}
    assert {"quizzes/access.py", "quizzes/services/attempts.py", "accounts/backends.py"} <= relative.keys()
    offenders = [call for name, path in relative.items()
                 if name not in ALLOWED and not name.startswith(ALLOWED_DIRS) and not name.endswith("/" + ALLOWED_BENCHES)
                 for call in _raw_sql_calls(path)]
    assert offenders == [], "hand-written SQL belongs in <app>/sql.py, with a test in <app>/tests/test_sql.py"
    # The scan sees what it looks for: every allowed module does run SQL.
    for name in ALLOWED:
        assert any(call.endswith(("execute()", "cursor()")) for call in _raw_sql_calls(relative[name])), name


def test_every_sql_module_has_its_test() -> None:
    apps = sorted(path.parent.name for path in PROJECT_DIR.glob("*/sql.py"))
    assert {"accounts", "dlcv_site", "labs", "quizzes"} <= set(apps)
    assert [app for app in apps if not (PROJECT_DIR / app / "tests" / "test_sql.py").is_file()] == []
