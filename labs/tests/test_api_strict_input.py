"""The submissions API refuses what it would otherwise lose without a word: fields it does not take,
the other kind of lab's field, and an Idempotency-Key reused for different work."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Course, User
from grader.codelabs import get_codelab
from labs.models import Lab, Submission
from labs.services import lab_upsert, queue
from labs.tests.factories import lab_answers, make_lab

CODELAB = "iou-nms"


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queue, "enqueue_gradings", lambda ids, kind="numeric": None)


@pytest.fixture
def lab(course: Course) -> Lab:
    return make_lab(course, "lab1")


@pytest.fixture
def code_lab(course: Course) -> Lab:
    lab, _ = lab_upsert(course=course, spec={"slug": "code-iou", "title": "IoU", "kind": "code", "codelab": CODELAB})
    return lab


@pytest.fixture
def client(student: User) -> APIClient:
    api = APIClient()
    api.force_authenticate(student)
    return api


def submit(client: APIClient, slug: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(f"/api/labs/{slug}/submissions/", body, format="json", headers=headers)


# --------------------------------------------------------------------------- unknown fields


@pytest.mark.django_db
def test_source_code_sent_to_a_numeric_lab_is_refused_by_name(client: APIClient, student: User, lab: Lab) -> None:
    response = submit(client, "lab1", {"answers": lab_answers(lab, student), "source_code": "print(1)"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["source_code"]
    assert "numeric answers" in response.json()["errors"]["source_code"][0]
    assert not Submission.objects.exists()


@pytest.mark.django_db
def test_answers_sent_to_a_coding_lab_are_refused_by_name(client: APIClient, code_lab: Lab) -> None:
    response = submit(client, code_lab.slug, {"source_code": get_codelab(CODELAB).solution(), "answers": {}})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["answers"]
    assert not Submission.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("extra", [{"answer": {}}, {"Answers": {}}, {"score": 10}, {"lang": "en", "user": "bob"}])
def test_unknown_fields_are_refused_by_name(client: APIClient, student: User, lab: Lab, extra: dict[str, Any]) -> None:
    response = submit(client, "lab1", {"answers": lab_answers(lab, student), **extra})
    assert response.status_code == 400
    unknown = sorted(set(extra) - {"lang"})
    assert response.json()["errors"] == {name: ["Unknown field."] for name in unknown}
    assert not Submission.objects.exists()


@pytest.mark.django_db
def test_the_token_api_refuses_unknown_fields(student: User) -> None:
    response = APIClient().post("/api/auth/token/", {"username": "alice", "passwd": "x"}, format="json")
    assert response.status_code == 400 and response.json()["errors"]["passwd"] == ["Unknown field."]


@pytest.mark.django_db
def test_known_fields_still_submit(client: APIClient, student: User, lab: Lab, code_lab: Lab) -> None:
    assert submit(client, "lab1", {"answers": lab_answers(lab, student), "lang": "en"}).status_code == 201
    assert submit(client, code_lab.slug, {"source_code": get_codelab(CODELAB).solution(), "lang": "en"}).status_code == 201


# --------------------------------------------------------------------------- Idempotency-Key


@pytest.mark.django_db
def test_an_idempotency_key_reused_with_a_different_body_is_422(client: APIClient, student: User, lab: Lab) -> None:
    key = {"Idempotency-Key": "retry-42"}
    first = submit(client, "lab1", {"answers": lab_answers(lab, student)}, **key)
    assert first.status_code == 201
    other = lab_answers(lab, student)
    other["cost"] = {name: "1" for name in other["cost"]}
    reused = submit(client, "lab1", {"answers": other}, **key)
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused" and "Idempotency-Key" in reused.json()["detail"]
    assert Submission.objects.count() == 1 and Submission.objects.get().answers == lab_answers(lab, student)
    # The same body again is a retry: the first submission, 200.
    retry = submit(client, "lab1", {"answers": lab_answers(lab, student), "lang": "en"}, **key)
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]


@pytest.mark.django_db
def test_an_idempotency_key_reused_with_another_file_is_422(client: APIClient, code_lab: Lab) -> None:
    key = {"Idempotency-Key": "upload-1"}
    solution = get_codelab(CODELAB).solution()
    assert submit(client, code_lab.slug, {"source_code": solution}, **key).status_code == 201
    reused = submit(client, code_lab.slug, {"source_code": solution + "\n# edited\n"}, **key)
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    assert submit(client, code_lab.slug, {"source_code": solution}, **key).status_code == 200
    assert Submission.objects.count() == 1
