"""Property-based run of the whole API against its own OpenAPI schema (schemathesis).

Schemathesis reads ``/api/schema/`` from the WSGI app and sends generated requests — valid ones and
deliberately invalid ones — to every operation, with a student's token. No response may be a 5xx,
and every response must match the schema (status code, content type, body). Hooks mix real slugs,
submission ids and correct answers into the generated values, so the runs reach past the 404s.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import Role
from accounts.services import token_get_or_create
from accounts.tests.factories import PASSWORD, make_course, make_member
from labs.services import queue, submission_create, submission_grade
from labs.tests.factories import lab_answers, make_lab

#: Per operation and mode. Deterministic in CI; API_FUZZ_EXAMPLES=500 API_FUZZ_RANDOM=1 for a deeper local run.
MAX_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "25"))
DERANDOMIZE = os.environ.get("API_FUZZ_RANDOM", "") != "1"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SUBMISSIONS_PATH = "/api/labs/{lab_slug}/submissions/"
TOKEN_PATH = "/api/auth/token/"


@pytest.fixture
def api_data(db: None, monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[dict[str, Any]]:
    """A course with a student, a TA, two labs and graded submissions; no broker, no rate limit."""
    monkeypatch.setattr(queue, "enqueue_gradings", lambda ids, declare=False: None)
    settings.SUBMISSION_RATE = "100000/min"  # the throttle has its own test; here it would hide the service
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # logins are fuzzed too
    cache.clear()
    # The app runs in this thread on the test's connection: Django's request signals must not close it
    # (django.test.Client does the same).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    course = make_course("dlcv")
    student = make_member(course, Role.STUDENT, username="student")
    make_member(course, Role.TA, username="ta")
    lab = make_lab(course, "lab1")
    make_lab(course, "lab2", attempts_policy={"mode": "declining", "points": [1.0, 0.5]})
    make_lab(course, "draft", published=False)
    make_lab(make_course("other"), "elsewhere")
    answers = lab_answers(lab, student)
    submission = submission_create(user=student, lab=lab, answers=answers, lang="en").submission
    submission_grade(submission_id=submission.pk)
    queued = submission_create(user=student, lab=lab, answers=answers).submission
    yield {
        "token": token_get_or_create(user=student).key,
        "slugs": ["lab1", "lab2", "draft", "elsewhere"],
        "submission_ids": [submission.pk, queued.pk],
        "answers": answers,
    }
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
    cache.clear()


def load_schema(api_data: dict[str, Any]) -> Any:
    """The API's own schema, read from the app, with hooks that mix real values into generated ones."""
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler())

    # Hypothesis favours the first options of ``sampled_from``: real values first, generated last.
    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
        if not path_parameters:
            return st.just(path_parameters)
        options: list[dict[str, Any]] = []
        if "lab_slug" in path_parameters:
            options += [{**path_parameters, "lab_slug": slug} for slug in api_data["slugs"]]
        if "submission_id" in path_parameters:
            options += [{**path_parameters, "submission_id": pk} for pk in api_data["submission_ids"]]
        return st.sampled_from([*options, path_parameters])

    @schema.hook
    def flatmap_body(context: Any, body: Any) -> Any:
        path = context.operation.path if context.operation is not None else None
        if path == TOKEN_PATH:
            return st.sampled_from([{"username": "student", "password": PASSWORD}, body])
        if path != SUBMISSIONS_PATH:
            return st.just(body)
        options = [{"answers": api_data["answers"]}]
        if isinstance(body, dict) and isinstance(body.get("answers"), dict):
            # Generated parts next to correct ones: unknown parts and wrong types in a real lab.
            options.append({**body, "answers": {**api_data["answers"], **body["answers"]}})
        return st.sampled_from([*options, body])

    return schema


def fuzz(operation: Any, mode: GenerationMode, headers: dict[str, str], seen: Counter[int]) -> None:
    """``MAX_EXAMPLES`` generated requests to one operation; every response checked; statuses counted."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
              derandomize=DERANDOMIZE, database=None)
    def run(case: Any) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        seen[response.status_code] += 1

    run()


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_api_conforms_to_its_schema_and_never_fails(api_data: dict[str, Any], mode: GenerationMode) -> None:
    schema = load_schema(api_data)
    headers = {"Authorization": f"Token {api_data['token']}"}
    statuses: dict[str, Counter[int]] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6

    for operation in operations:
        inputs = sum(len(getattr(operation, where)) for where in ("path_parameters", "query", "body"))
        if mode is GenerationMode.NEGATIVE and not inputs:
            continue  # nothing to make invalid but the credentials (e.g. GET /api/labs/)
        statuses[operation.label] = Counter()
        fuzz(operation, mode, headers, statuses[operation.label])

    summary = {label: dict(sorted(counter.items())) for label, counter in statuses.items()}
    print(f"schemathesis {mode.value}: {sum(map(sum, (c.values() for c in statuses.values())))} requests", summary)
    assert not any(code >= 500 for counter in statuses.values() for code in counter)
