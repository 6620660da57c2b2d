"""The JSON API through HTTP, as a client script uses it: token auth, JSON in, JSON out, never a 500."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from drf_spectacular.validation import validate_schema
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Course, Role, User
from accounts.services import token_get_or_create
from accounts.tests.factories import PASSWORD, make_course, make_member, make_user
from dlcv_site.api import api_exception_handler
from labs import services
from labs.models import Lab, Submission, SubmissionStatus
from labs.services import queue, submission_grade
from labs.tests.factories import first_misconception, lab_answers, make_lab

DECLINING = {"mode": "declining", "points": [1.0, 0.5]}


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[None]:
    """No broker (enqueues dropped), a fast password hasher, fresh throttle history (in the cache)."""
    monkeypatch.setattr(queue, "enqueue_gradings", lambda ids, declare=False: None)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def lab(course: Course) -> Lab:
    return make_lab(course, "lab1")


def api_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_get_or_create(user=user).key}")
    return client


def submit(client: APIClient, lab_slug: str, body: Any, **headers: str) -> Any:
    return client.post(f"/api/labs/{lab_slug}/submissions/", body, format="json", headers=headers)


def post_raw(client: APIClient, path: str, raw: bytes | str, content_type: str = "application/json") -> Any:
    return client.generic("POST", path, raw, content_type=content_type)


# --------------------------------------------------------------------------- tokens


@pytest.mark.django_db
def test_token_obtain_with_the_right_password_gives_a_working_token(student: User, lab: Lab) -> None:
    response = APIClient().post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    assert token == Token.objects.get(user=student).key
    # The same token again (one per user), and it opens the API.
    form = urlencode({"username": "alice", "password": PASSWORD})
    again = post_raw(APIClient(), "/api/auth/token/", form, "application/x-www-form-urlencoded")
    assert again.status_code == 200 and again.json()["token"] == token
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/labs/").status_code == 200


@pytest.mark.django_db
def test_token_obtain_with_a_wrong_password_is_400_and_repeated_failures_are_throttled(
    student: User, settings: Any
) -> None:
    settings.LOGIN_FAILURE_LIMITS = {"username": 3, "ip_address": 150}  # see accounts/tests/test_login_lockout.py
    client = APIClient()
    for _ in range(2):
        response = client.post("/api/auth/token/", {"username": "alice", "password": "nope"}, format="json")
        assert response.status_code == 400
        assert response.json()["errors"]["non_field_errors"]
    third = client.post("/api/auth/token/", {"username": "alice", "password": "nope"}, format="json")
    assert third.status_code == 429  # the failure that reaches the limit locks
    assert not Token.objects.filter(user=student).exists()
    blocked = client.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0
    # Per username too: another address guessing alice's password is throttled as well.
    other = APIClient(REMOTE_ADDR="10.9.8.7")
    assert other.post("/api/auth/token/", {"username": "Alice", "password": "x"}, format="json").status_code == 429


@pytest.mark.django_db
def test_the_throttles_let_requests_through_while_the_cache_is_down(student: User, lab: Lab, cache_down: None) -> None:
    """Redis unreachable: logins and submissions go on, unthrottled."""
    wrong = APIClient().post("/api/auth/token/", {"username": "alice", "password": "nope"}, format="json")
    assert wrong.status_code == 400
    right = APIClient().post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert right.status_code == 200
    response = submit(api_for(student), lab.slug, {"answers": lab_answers(lab, student)})
    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_successful_logins_are_not_throttled(student: User, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMITS = {"username": 2, "ip_address": 2}
    client = APIClient()
    for _ in range(5):
        assert client.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [{}, {"username": "alice"}, {"username": ["alice"], "password": PASSWORD}, {"username": "a\x00", "password": "p"}],
)
def test_token_obtain_rejects_malformed_credentials(student: User, body: dict[str, Any]) -> None:
    response = APIClient().post("/api/auth/token/", body, format="json")
    assert response.status_code == 400 and "errors" in response.json()


@pytest.mark.django_db
def test_tokens_page_lists_creates_and_revokes(student: User) -> None:
    browser = Client()
    browser.force_login(student)
    page = browser.get("/accounts/tokens/")
    assert page.status_code == 200 and 'id="new-token"' not in page.content.decode()
    created = browser.post("/accounts/tokens/", {"action": "create"})
    assert created.status_code == 200
    key = Token.objects.get(user=student).key
    assert key in created.content.decode()  # shown once, on the answer to the POST
    listed = browser.get("/accounts/tokens/").content.decode()
    assert key[:6] in listed and key not in listed
    assert api_for(None).get("/api/labs/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    revoked = browser.post("/accounts/tokens/", {"action": "revoke"})
    assert revoked.status_code == 200 and not Token.objects.filter(user=student).exists()
    assert APIClient().get("/api/labs/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    assert browser.post("/accounts/tokens/", {"action": "explode"}).status_code == 400


@pytest.mark.django_db
def test_tokens_page_needs_a_login() -> None:
    response = Client().get("/accounts/tokens/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_session_auth_works_for_the_browser_with_csrf(student: User, lab: Lab) -> None:
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(student)
    assert browser.get("/api/labs/").status_code == 200
    refused = submit(browser, "lab1", {"answers": lab_answers(lab, student)})
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]


# --------------------------------------------------------------------------- authentication


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/labs/"),
        ("get", "/api/labs/lab1/"),
        ("post", "/api/labs/lab1/submissions/"),
        ("get", "/api/submissions/1/"),
        ("get", "/api/me/grades/"),
    ],
)
def test_unauthenticated_requests_get_401(lab: Lab, method: str, path: str) -> None:
    client = APIClient()
    response = client.post(path, {}, format="json") if method == "post" else client.get(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
    assert "detail" in response.json()


@pytest.mark.django_db
def test_a_bad_token_is_401(lab: Lab) -> None:
    assert APIClient().get("/api/labs/", HTTP_AUTHORIZATION="Token not-a-token").status_code == 401


# --------------------------------------------------------------------------- labs


@pytest.mark.django_db
def test_lab_list_shows_published_labs_of_my_courses_and_staff_see_unpublished(course: Course, student: User) -> None:
    make_lab(course, "lab1")
    make_lab(course, "draft", published=False)
    make_lab(make_course("other"), "elsewhere")
    mine = api_for(student).get("/api/labs/")
    assert mine.status_code == 200
    assert [lab["slug"] for lab in mine.json()] == ["lab1"]
    assert mine.json()[0]["url"] == "/api/labs/lab1/" and mine.json()[0]["course"] == "dlcv"
    ta = make_member(course, Role.TA)
    assert sorted(lab["slug"] for lab in api_for(ta).get("/api/labs/").json()) == ["draft", "lab1"]
    outsider = make_user()
    assert api_for(outsider).get("/api/labs/").json() == []


@pytest.mark.django_db
def test_lab_list_query_count_does_not_grow_with_labs(
    course: Course, student: User, django_assert_max_num_queries: Any
) -> None:
    for number in range(8):
        make_lab(course, f"lab-{number}")
    client = api_for(student)
    with django_assert_max_num_queries(4):
        assert len(client.get("/api/labs/").json()) == 8


@pytest.mark.django_db
def test_lab_detail_is_my_variant_in_the_requested_language(course: Course, student: User, lab: Lab) -> None:
    response = api_for(student).get("/api/labs/lab1/", {"lang": "en"})
    assert response.status_code == 200
    body = response.json()
    assert body["lang"] == "en" and body["submissions_url"] == "/api/labs/lab1/submissions/"
    assert [part["key"] for part in body["parts"]] == ["conv", "cost"]
    conv = body["parts"][0]
    assert conv["points"] == 3.0 and conv["title"] == "Conv" and "$" in conv["statement"]
    assert {box["name"] for box in conv["inputs"]} == {"shape", "output"}
    shape_box = next(box for box in conv["inputs"] if box["name"] == "shape")
    assert shape_box == {
        "name": "shape", "kind": "shape", "label": "Output size", "points": 1.0,
        "shape": None, "length": 2, "choices": [], "symbols": [],
    }
    # The request's language by default (Accept-Language, else the site's); another student gets
    # another variant.
    chinese = api_for(student).get("/api/labs/lab1/", HTTP_ACCEPT_LANGUAGE="zh-Hant").json()
    assert chinese["lang"] == "zh-Hant" and chinese["parts"][0]["statement"] != conv["statement"]
    assert chinese["parts"][0]["inputs"][0]["label"] != "Output size"
    assert api_for(student).get("/api/labs/lab1/", {"lang": "zh-Hant"}).json() == chinese
    assert api_for(student).get("/api/labs/lab1/").json()["lang"] == "en"  # the tests' site language
    other = make_member(course, Role.STUDENT)
    assert api_for(other).get("/api/labs/lab1/", {"lang": "en"}).json()["parts"][0]["statement"] != conv["statement"]
    # The solution never appears (the counts of the conv-cost part are long numbers the statement lacks).
    text = json.dumps(body)
    assert not [value for value in lab_answers(lab, student)["cost"].values() if value in text]


@pytest.mark.django_db
def test_lab_detail_rejects_an_unknown_language(student: User, lab: Lab) -> None:
    response = api_for(student).get("/api/labs/lab1/", {"lang": "fr"})
    assert response.status_code == 400 and "lang" in response.json()["errors"]


@pytest.mark.django_db
def test_labs_of_other_courses_and_unpublished_labs_are_404(course: Course, student: User) -> None:
    make_lab(make_course("other"), "elsewhere")
    make_lab(course, "draft", published=False)
    client = api_for(student)
    for slug in ["elsewhere", "draft", "no-such-lab"]:
        assert client.get(f"/api/labs/{slug}/").status_code == 404
        assert submit(client, slug, {"answers": {}}).status_code == 404
    # The same answer whether the lab exists elsewhere or not at all.
    assert client.get("/api/labs/elsewhere/").json() == client.get("/api/labs/no-such-lab/").json()
    instructor = make_member(course, Role.INSTRUCTOR)
    assert api_for(instructor).get("/api/labs/draft/").status_code == 200


# --------------------------------------------------------------------------- submissions


@pytest.mark.django_db
def test_submit_then_retry_with_the_same_idempotency_key(student: User, lab: Lab) -> None:
    client = api_for(student)
    body = {"answers": lab_answers(lab, student), "lang": "en"}
    first = submit(client, "lab1", body, **{"Idempotency-Key": "7d3c6a1e-retry"})
    assert first.status_code == 201, first.json()
    created = first.json()
    assert first["Location"] == f"/api/submissions/{created['id']}/" == created["url"]
    assert created["status"] == "queued" and created["number"] == 1 and created["lab"] == "lab1"
    assert created["score"] is None and created["parts"] == []
    retry = submit(client, "lab1", body, **{"Idempotency-Key": "7d3c6a1e-retry"})
    assert retry.status_code == 200 and retry.json()["id"] == created["id"]
    assert Submission.objects.filter(user=student).count() == 1
    # Without the key, a second submission is a new attempt.
    second = submit(client, "lab1", body)
    assert second.status_code == 201 and second.json()["number"] == 2


@pytest.mark.django_db
def test_format_errors_are_400_with_field_errors_and_write_nothing(student: User, lab: Lab) -> None:
    answers = lab_answers(lab, student)
    answers["conv"]["shape"] = "three by three"
    answers["cost"] = {"mult_normal": "lots"}
    response = submit(api_for(student), "lab1", {"answers": answers, "lang": "en"})
    assert response.status_code == 400
    body = response.json()
    assert body["detail"]
    assert set(body["errors"]) == {"conv", "cost"}
    assert set(body["errors"]["conv"]) == {"shape"} and isinstance(body["errors"]["conv"]["shape"], str)
    assert {"mult_normal", "mult_grouped"} <= set(body["errors"]["cost"])
    assert not Submission.objects.exists()


@pytest.mark.django_db
def test_an_unknown_part_is_400_with_a_reason(student: User, lab: Lab) -> None:
    answers = {**lab_answers(lab, student), "bonus": {"x": "1"}}
    response = submit(api_for(student), "lab1", {"answers": answers, "lang": "en"})
    assert response.status_code == 400
    assert "bonus" in response.json()["errors"]
    assert not Submission.objects.exists()


BIG_DIGITS = "9" * 5000
DEEP = "[" * 100_000 + "]" * 100_000


def _answers_json(value: str) -> str:
    return '{"answers": {"conv": {"shape": ' + value + ', "output": "1"}}}'


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (_answers_json("NaN"), "NaN"),
        (_answers_json("Infinity"), "Infinity"),
        (_answers_json("-Infinity"), "Infinity"),
        (_answers_json("1e999"), "out of range"),
        (_answers_json("-1e400"), "out of range"),
        (_answers_json(BIG_DIGITS), "JSON parse error"),
        (_answers_json(DEEP), "JSON parse error"),
        ('{"answers": ', "JSON parse error"),
        ("", None),
        ("[1, 2]", None),
        ("null", None),
        ('{"answers": [1, 2]}', "object of parts"),
        ('{"answers": "3x3"}', "object of parts"),
        ('{"answers": {"conv": "3x3"}}', "object of answer boxes"),
        ('{"answers": {"conv": [1, 2]}}', "object of answer boxes"),
        (_answers_json("true"), "boolean"),
        (_answers_json('{"rows": 3}'), "object"),
        (_answers_json("[[1, [2]], [3, 4]]"), "matrix entry"),
        (_answers_json('[1, {"a": 1}]'), "list entry"),
        (_answers_json('"\\u0000"'), "NUL"),
        (_answers_json('"\\ud800"'), "Unicode"),
        ('{"answers": {"\\ud800": {"a": "1"}}}', "Unicode"),
        (_answers_json('"' + "1" * 20_000 + '"'), "longer than"),
        ('{"answers": {}, "lang": "fr"}', None),
    ],
)
def test_malformed_payloads_are_400_never_500(student: User, lab: Lab, raw: str, reason: str | None) -> None:
    response = post_raw(api_for(student), "/api/labs/lab1/submissions/", raw)
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/json"
    if reason is not None:
        assert reason in response.content.decode()
    assert not Submission.objects.exists()


@pytest.mark.django_db
def test_invalid_utf8_and_wrong_content_types_are_rejected(student: User, lab: Lab) -> None:
    client = api_for(student)
    assert post_raw(client, "/api/labs/lab1/submissions/", b'{"answers": "\xff\xfe"}').status_code == 400
    form = post_raw(client, "/api/labs/lab1/submissions/", "answers=1", "application/x-www-form-urlencoded")
    assert form.status_code == 415 and "detail" in form.json()
    assert post_raw(client, "/api/labs/lab1/submissions/", "answers", "text/plain").status_code == 415


@pytest.mark.django_db
def test_a_body_over_256_kb_is_413_json(student: User, lab: Lab) -> None:
    client = api_for(student)
    padding = "1" * (260 * 1024)
    response = post_raw(client, "/api/labs/lab1/submissions/", json.dumps({"answers": {}, "pad": padding}))
    assert response.status_code == 413 and response.json()["detail"]
    # Over Django's DATA_UPLOAD_MAX_MEMORY_SIZE too, as a form the CSRF check would read: still 413 JSON.
    huge_form = "password=" + "x" * (3 * 1024 * 1024)
    token = post_raw(APIClient(), "/api/auth/token/", huge_form, "application/x-www-form-urlencoded")
    assert token.status_code == 413 and token["Content-Type"] == "application/json"
    assert not Submission.objects.exists()


@pytest.mark.django_db
def test_djangos_request_guards_answer_json(student: User, lab: Lab, settings: Any) -> None:
    # DRF reads bodies itself, so Django's own guards only fire on a few paths; there they are JSON.
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    fields = "&".join(f"f{n}=1" for n in range(10))
    token = post_raw(APIClient(), "/api/auth/token/", fields, "application/x-www-form-urlencoded")
    assert token.status_code == 400 and token.json()["detail"]
    # A form posted with session auth: the CSRF check asks for the form, our parsers refuse it.
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(student)
    browser.cookies["csrftoken"] = "a" * 32
    form = post_raw(browser, "/api/labs/lab1/submissions/", "answers=1", "application/x-www-form-urlencoded")
    assert form.status_code == 415 and form.json()["detail"]
    # Django's DATA_UPLOAD_MAX_MEMORY_SIZE error, wherever it comes from, is a 413 (not a 400 page).
    response = api_exception_handler(RequestDataTooBig("too big"), {})
    assert response is not None and response.status_code == 413


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/", "/api/nothing/", "/api/labs//", "/api/labs/a%2Fb/", "/api/submissions/-1/",
                                  "/api/submissions/abc/", "/api/labs/%00/submissions/", "/api/nothing",
                                  "/api/labs/x%0A/submissions/", "/api/labs/%F2%9E%81%9F%C2%81/submissions/"])
def test_unknown_api_urls_are_json_404(student: User, path: str) -> None:
    client = api_for(student)
    not_found = client.get("/api/labs/no-such-lab/").json()  # the API's own 404 body (translated)
    for response in (client.get(path), client.post(path, {}, format="json"), APIClient().get(path)):
        assert response.status_code == 404 and response.json() == not_found, path
    # Still: a path that becomes a route with a slash is redirected there.
    assert APIClient().get("/api/docs")["Location"] == "/api/docs/"


@pytest.mark.django_db
def test_answers_between_the_service_limit_and_the_body_limit_are_a_format_error(student: User, lab: Lab) -> None:
    answers = {"conv": {"shape": "3x3", "output": " ".join(["1"] * 4000)}, "cost": {"mult_normal": "1" * 9000}}
    answers.update({f"p{n}": {"a": "1" * 9000} for n in range(8)})
    response = submit(api_for(student), "lab1", {"answers": answers})
    assert response.status_code == 400
    assert not Submission.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["x" * 201, "", "  ", "ключ"])
def test_a_bad_idempotency_key_is_400(student: User, lab: Lab, key: str) -> None:
    response = submit(api_for(student), "lab1", {"answers": lab_answers(lab, student)}, **{"Idempotency-Key": key})
    assert response.status_code == 400 and "idempotency_key" in response.json()["errors"]
    assert not Submission.objects.exists()


@pytest.mark.django_db
def test_refusals_are_409_with_a_code(course: Course, student: User) -> None:
    limited = make_lab(course, "limited", attempts_policy=DECLINING)
    client = api_for(student)
    for _ in range(2):
        assert submit(client, "limited", {"answers": lab_answers(limited, student)}).status_code == 201
    refused = submit(client, "limited", {"answers": lab_answers(limited, student)})
    assert refused.status_code == 409 and refused.json()["code"] == "attempts_exhausted"
    closed = make_lab(course, "closed", due_at=timezone.now() - timedelta(days=1))
    response = submit(client, "closed", {"answers": lab_answers(closed, student)})
    assert response.status_code == 409 and response.json()["code"] == "closed" and response.json()["detail"]


@pytest.mark.django_db
def test_submissions_are_rate_limited_per_student(course: Course, student: User, lab: Lab, settings: Any) -> None:
    settings.SUBMISSION_RATE = "3/min"
    client = api_for(student)
    for _ in range(3):
        assert submit(client, "lab1", {"answers": lab_answers(lab, student)}).status_code == 201
    limited = submit(client, "lab1", {"answers": lab_answers(lab, student)})
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0 and limited.json()["detail"]
    # Another student has a budget of their own.
    other = make_member(course, Role.STUDENT)
    assert submit(api_for(other), "lab1", {"answers": lab_answers(lab, other)}).status_code == 201


def _graded_submission(lab: Lab, user: User, **wrong: str) -> Submission:
    submission = services.submission_create(user=user, lab=lab, answers=lab_answers(lab, user, wrong=wrong), lang="en").submission
    submission_grade(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.GRADED
    return submission


@pytest.mark.django_db
def test_submission_detail_shows_scores_feedback_and_tags_but_never_expected_answers(student: User, lab: Lab) -> None:
    conv = lab.parts.get(key="conv")
    tag = first_misconception(conv, student)
    submission = _graded_submission(lab, student, conv=tag)
    response = api_for(student).get(f"/api/submissions/{submission.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "graded" and body["finished_at"] and body["created_at"]
    assert 0 < body["score"] < body["max_points"] == 5.0
    assert tag in body["misconceptions"]
    parts = {part["key"]: part for part in body["parts"]}
    assert parts["cost"]["correct"] is True and parts["cost"]["points"] == 2.0
    assert parts["conv"]["correct"] is False and tag in parts["conv"]["misconceptions"]
    assert parts["conv"]["feedback"] and {item["name"] for item in parts["conv"]["items"]} == {"shape", "output"}
    # The stored result may grow; what the API shows is a whitelist, with no expected answers.
    Submission.objects.filter(pk=submission.pk).update(
        result={**submission.result, "parts": [{**p, "expected": "SECRET", "parts": [{**i, "expected": "SECRET"} for i in p["parts"]]}
                                               for p in submission.result["parts"]]}
    )
    text = api_for(student).get(f"/api/submissions/{submission.pk}/").content.decode()
    assert "expected" not in text and "SECRET" not in text


@pytest.mark.django_db
def test_submissions_of_others_are_404_and_staff_see_their_courses(course: Course, student: User, lab: Lab) -> None:
    submission = _graded_submission(lab, student)
    path = f"/api/submissions/{submission.pk}/"
    classmate = make_member(course, Role.STUDENT)
    assert api_for(classmate).get(path).status_code == 404
    assert api_for(make_member(make_course("other"), Role.INSTRUCTOR)).get(path).status_code == 404
    for role in (Role.TA, Role.INSTRUCTOR):
        staff = api_for(make_member(course, role)).get(path)
        assert staff.status_code == 200 and staff.json()["user"] == "alice"
    client = api_for(student)
    assert client.get("/api/submissions/999999/").status_code == 404
    assert client.get(f"/api/submissions/{10**30}/").status_code == 404  # past bigint: still a 404


@pytest.mark.django_db
def test_my_grades_shows_best_latest_and_attempts_used(course: Course, student: User) -> None:
    limited = make_lab(course, "limited", attempts_policy=DECLINING)
    make_lab(course, "untouched")
    cost_tag = first_misconception(limited.parts.get(key="cost"), student)
    first = _graded_submission(limited, student)
    latest = _graded_submission(limited, student, cost=cost_tag)
    response = api_for(student).get("/api/me/grades/")
    assert response.status_code == 200
    grades = {row["lab"]: row for row in response.json()}
    assert set(grades) == {"limited", "untouched"}
    row = grades["limited"]
    assert row["attempts_used"] == 2 and row["attempts_allowed"] == 2 and row["max_points"] == 5.0
    # The API's names: best_score and latest_score are points after the policies (Submission.points).
    assert row["best_score"] == pytest.approx(float(first.points)) == 5.0
    assert row["latest_score"] == pytest.approx(float(latest.points)) and row["latest_score"] < row["best_score"]
    assert row["latest_submission"] == latest.pk and row["latest_status"] == "graded"
    untouched = grades["untouched"]
    assert untouched["attempts_used"] == 0 and untouched["best_score"] is None and untouched["latest_submission"] is None


# --------------------------------------------------------------------------- schema and docs


@pytest.mark.django_db
def test_schema_endpoint_serves_a_valid_openapi_3_document() -> None:
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for path in ["/api/auth/token/", "/api/labs/", "/api/labs/{lab_slug}/", "/api/labs/{lab_slug}/submissions/",
                 "/api/submissions/{submission_id}/", "/api/me/grades/"]:
        assert path in paths
    create = paths["/api/labs/{lab_slug}/submissions/"]["post"]
    assert {"200", "201", "400", "401", "404", "409", "413", "429"} <= set(create["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in create["parameters"])


def test_spectacular_validates_without_warnings(tmp_path: Path) -> None:
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert yaml.safe_load(out.read_text())["info"]["title"] == "DLCV Exam Prep API"


@pytest.mark.django_db
def test_docs_page_is_served_offline() -> None:
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"https?://", html), re.findall(r"https?://[^\s\"']+", html)
    assert "swagger-ui" in html
    # The assets it references are ours (the sidecar package's static files).
    from django.contrib.staticfiles import finders

    for asset in re.findall(r"""(?:src|href)=["']/static/([^"']+)["']""", html):
        assert finders.find(asset), asset


@pytest.mark.django_db
def test_docs_page_turns_off_the_online_validator_badge() -> None:
    page = Client().get("/api/docs/").content.decode()
    # Its script is a file of its own (the Content-Security-Policy allows no inline scripts).
    script_url = re.search(r'<script src="(/api/docs/\?[^"]*)"', page)
    assert script_url and "<script>" not in page
    script = Client().get(html.unescape(script_url.group(1)))
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert re.search(r'"validatorUrl":\s*null', script.content.decode())
