"""Coding-lab submissions: the service, the upload API and grading through the real sandbox and a
real Celery worker on the ``code`` queue."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import Course, User
from accounts.services import token_get_or_create
from grader.codelabs import get_codelab
from labs import services
from labs.models import Lab, LabKind, Submission, SubmissionStatus
from labs.services import (
    MAX_SOURCE_BYTES,
    SubmissionInvalid,
    SubmissionRefused,
    grading,
    lab_spec_errors,
    lab_upsert,
    queue,
    submission_create,
    submission_grade,
)
from labs.tests.factories import make_lab
from labs.tests.workers import wait_for

CODELAB = "iou-nms"  # numpy only and fast
INFINITE = "def box_iou(a, b):\n    while True:\n        pass\n\ndef nms(boxes, scores, iou_threshold):\n    return None\n"


@pytest.fixture
def code_lab(course: Course) -> Lab:
    lab, _ = lab_upsert(course=course, spec={
        "slug": "code-iou", "title": "IoU and NMS", "kind": "code", "codelab": CODELAB,
        "attempts_policy": {"mode": "declining", "points": [1.0, 0.5]},
    })
    return lab


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[int], str]]:
    calls: list[tuple[list[int], str]] = []
    monkeypatch.setattr(queue, "enqueue_gradings", lambda ids, kind="numeric": calls.append((list(ids), kind)))
    return calls


@pytest.mark.django_db
def test_a_code_lab_is_loaded_from_its_spec_with_the_grader_points(code_lab: Lab) -> None:
    assert code_lab.kind == LabKind.CODE and code_lab.codelab == CODELAB
    assert float(code_lab.code_points) == pytest.approx(get_codelab(CODELAB).total_points())
    assert code_lab.parts.count() == 0


@pytest.mark.django_db
def test_lab_specs_are_checked_for_code_labs(course: Course) -> None:
    with pytest.raises(ValueError, match="no code lab"):
        lab_upsert(course=course, spec={"slug": "x", "title": "X", "kind": "code", "codelab": "nope"})
    with pytest.raises(ValueError, match="kind must be"):
        lab_upsert(course=course, spec={"slug": "x", "title": "X", "kind": "essay", "parts": []})


@pytest.mark.django_db
def test_a_code_lab_declares_its_allowed_packages_by_default_its_code_labs(course: Course) -> None:
    lab, _ = lab_upsert(course=course, spec={"slug": "code-np", "title": "N", "kind": "code", "codelab": CODELAB})
    assert lab.allowed_packages == ["numpy"]
    lab, _ = lab_upsert(course=course, spec={"slug": "code-np", "title": "N", "kind": "code", "codelab": CODELAB,
                                             "allowed_packages": ["torch", "numpy"]})
    lab.refresh_from_db()
    assert lab.allowed_packages == ["numpy", "torch"]
    # A code lab whose solution needs torch allows it by default.
    lab, _ = lab_upsert(course=course, spec={"slug": "code-t", "title": "T", "kind": "code", "codelab": "train-cnn"})
    assert lab.allowed_packages == ["numpy", "torch"]


@pytest.mark.parametrize("spec, error", [
    ({"codelab": CODELAB, "allowed_packages": ["numpy", "scipy"]}, "is not a sandbox runtime"),
    ({"codelab": CODELAB, "allowed_packages": "numpy"}, "must be a list"),
    ({"codelab": "train-cnn", "allowed_packages": ["numpy"]}, "needs ['numpy', 'torch']"),
])
def test_allowed_packages_are_validated(spec: dict[str, Any], error: str) -> None:
    errors = lab_spec_errors({"slug": "code-x", "title": "X", "kind": "code", **spec})
    assert any(error in e for e in errors), errors


def test_a_numeric_lab_has_no_allowed_packages() -> None:
    spec = {"slug": "num-x", "title": "X", "allowed_packages": ["numpy"],
            "parts": [{"key": "a", "title": "A", "family": "conv-by-hand"}]}
    assert "allowed_packages is only for kind: code" in lab_spec_errors(spec)


@pytest.mark.django_db
def test_a_torch_file_for_a_numpy_lab_is_graded_zero_with_the_labs_rule(code_lab: Lab, student: User,
                                                                        sent: list[Any]) -> None:
    source = "import torch\n" + get_codelab(CODELAB).solution()
    sub = submission_create(user=student, lab=code_lab, source_code=source, lang="en").submission
    submission_grade(submission_id=sub.pk, stale_after=services.CODE_STALE_RUNNING_AFTER)
    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.GRADED and sub.score == 0
    assert sub.result["message"]["en"] == (
        "This lab allows only the Python standard library and numpy: torch is not available to your code.")
    assert sub.result["message"]["zh-Hant"].startswith("本作業只允許使用")


@pytest.mark.django_db
def test_submitting_code_stores_it_with_a_fresh_seed_and_enqueues_on_the_code_queue(
    code_lab: Lab, student: User, sent: list[tuple[list[int], str]], django_capture_on_commit_callbacks: Any
) -> None:
    source = get_codelab(CODELAB).solution()
    with django_capture_on_commit_callbacks(execute=True):
        first = submission_create(user=student, lab=code_lab, source_code=source, lang="en").submission
        second = submission_create(user=student, lab=code_lab, source_code=source, lang="en").submission
    assert first.source_code == source and first.answers == {}
    assert first.variant["codelab"] == CODELAB and first.variant["seed"] != second.variant["seed"]
    assert sent == [([first.pk], LabKind.CODE), ([second.pk], LabKind.CODE)]


@pytest.mark.django_db
@pytest.mark.parametrize(("source", "needle"), [
    ("", "Submit a Python file"),
    ("def f(:\n    pass\n", "Syntax error on line 1"),
    ("x = 1\x00\n", "UTF-8"),
    ("x = '\ud800'\n", "UTF-8"),
    ("#" * (MAX_SOURCE_BYTES + 1), "larger than"),
])
def test_unusable_source_is_refused_and_nothing_is_stored(
    code_lab: Lab, student: User, sent: list[Any], source: str, needle: str
) -> None:
    with pytest.raises(SubmissionInvalid) as caught:
        submission_create(user=student, lab=code_lab, source_code=source, lang="en")
    assert needle in caught.value.errors["source_code"]["_answer"]
    assert not Submission.objects.exists() and sent == []


@pytest.mark.django_db
def test_a_numeric_lab_refuses_source_code(course: Course, student: User, sent: list[Any]) -> None:
    with pytest.raises(SubmissionRefused):
        submission_create(user=student, lab=make_lab(course), source_code="x = 1\n")


@pytest.mark.django_db
def test_graded_in_the_sandbox_solution_full_marks_then_a_hostile_one_is_a_clean_zero(
    code_lab: Lab, student: User, sent: list[Any]
) -> None:
    good = submission_create(user=student, lab=code_lab, source_code=get_codelab(CODELAB).solution(), lang="en").submission
    submission_grade(submission_id=good.pk, stale_after=services.CODE_STALE_RUNNING_AFTER)
    good.refresh_from_db()
    assert good.status == SubmissionStatus.GRADED, good.error
    assert good.score == 1 and float(good.points) == pytest.approx(float(code_lab.code_points))
    tests = good.result["tests"]
    assert tests and all(t["status"] == "passed" for t in tests) and any(not t["public"] for t in tests)

    bad = submission_create(user=student, lab=code_lab, source_code=INFINITE, lang="en").submission
    services.code_runner()  # the same warm runner
    submission_grade(submission_id=bad.pk, stale_after=services.CODE_STALE_RUNNING_AFTER)
    bad.refresh_from_db()
    assert bad.status == SubmissionStatus.GRADED and bad.score == 0
    messages = " ".join(t["message"]["en"] for t in bad.result["tests"])
    assert "used up the per-test" in messages and "Skipped: box_iou() already ran out of time" in messages
    assert float(bad.points) == 0


@pytest.mark.django_db
def test_a_sandbox_failure_is_ours_and_costs_no_attempt(
    code_lab: Lab, student: User, sent: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from grader.sandbox.runner import SandboxError

    class Broken:
        sandboxed = True

        def run(self, job: Any) -> Any:
            raise SandboxError("the sandbox did not report the job's end in time")

    monkeypatch.setattr(grading, "code_runner", lambda: Broken())
    sub = submission_create(user=student, lab=code_lab, source_code="x = 1\n", lang="en").submission
    submission_grade(submission_id=sub.pk)
    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.FAILED and "SandboxError" in sub.error
    # Failed gradings never count: both declining-points attempts are still there.
    submission_create(user=student, lab=code_lab, source_code="x = 1\n", lang="en")
    submission_create(user=student, lab=code_lab, source_code="x = 1\n", lang="en")


# --------------------------------------------------------------------------- the upload API


@pytest.fixture
def api(student: User, monkeypatch: pytest.MonkeyPatch) -> Iterator[APIClient]:
    monkeypatch.setattr(queue, "enqueue_gradings", lambda ids, kind="numeric": None)
    cache.clear()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_get_or_create(user=student).key}")
    yield client
    cache.clear()


def upload(client: APIClient, slug: str, name: str, content: bytes, **extra: Any) -> Any:
    handle = io.BytesIO(content)
    handle.name = name
    return client.post(f"/api/labs/{slug}/submissions/", {"file": handle, "lang": "en", **extra}, format="multipart")


@pytest.mark.django_db
def test_api_takes_a_py_file_upload(code_lab: Lab, api: APIClient) -> None:
    response = upload(api, code_lab.slug, "mine.py", get_codelab(CODELAB).solution().encode())
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == "code" and body["status"] == "queued" and body["code"] is None
    assert Submission.objects.get(pk=body["id"]).source_code == get_codelab(CODELAB).solution()


@pytest.mark.django_db
def test_api_takes_source_as_json(code_lab: Lab, api: APIClient) -> None:
    response = api.post(f"/api/labs/{code_lab.slug}/submissions/", {"source_code": "x = 1\n"}, format="json")
    assert response.status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "content", "status", "field"), [
    ("mine.txt", b"x = 1\n", 400, "file"),
    ("mine.py", "x = '你好'\n".encode("big5"), 400, "file"),
    ("mine.py", b"#" * (MAX_SOURCE_BYTES + 1), 413, None),
    ("mine.py", b"def f(:\n", 400, "source_code"),
])
def test_api_upload_limits(code_lab: Lab, api: APIClient, name: str, content: bytes, status: int, field: str | None) -> None:
    response = upload(api, code_lab.slug, name, content)
    assert response.status_code == status, response.content
    body = response.json()
    assert body["detail"]
    if field:
        assert field in body["errors"]
    assert not Submission.objects.exists()


@pytest.mark.django_db
def test_api_code_result_shows_tests_but_no_internals(code_lab: Lab, api: APIClient, student: User) -> None:
    sub = submission_create(user=student, lab=code_lab, source_code=get_codelab(CODELAB).solution(), lang="en").submission
    submission_grade(submission_id=sub.pk, stale_after=services.CODE_STALE_RUNNING_AFTER)
    body = api.get(f"/api/submissions/{sub.pk}/").json()
    assert body["status"] == "graded" and body["code"]["passed"] == len(body["code"]["tests"])
    assert set(body["code"]["tests"][0]) == {
        "name", "title", "public", "function", "points", "earned", "passed", "status", "message", "seconds", "traceback",
    }
    assert "detail" not in body["code"]["tests"][0]  # expected values stay on the server


# --------------------------------------------------------------------------- a real worker


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_graded_end_to_end_by_a_celery_worker_on_the_code_queue(celery_worker_process, course: Course, student: User) -> None:
    lab, _ = lab_upsert(course=course, spec={"slug": "code-e2e", "title": "E2E", "kind": "code", "codelab": CODELAB})
    started = time.monotonic()
    sub = submission_create(user=student, lab=lab, source_code=get_codelab(CODELAB).solution(), lang="en").submission
    wait_for(lambda: Submission.objects.filter(pk=sub.pk, status=SubmissionStatus.GRADED).exists(), timeout=90,
             what="the code worker to grade the submission")
    sub.refresh_from_db()
    assert sub.score == 1 and sub.result["run"]["sandboxed"] is True
    assert sub.grading_runs == 1 and sub.result_writes == 1
    assert time.monotonic() - started < 90
