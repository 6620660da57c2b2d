"""Practice: a wrong check of a fixed question says it is wrong and lets the student try again; the
solution (correct answer, explanation) reaches the browser only when asked for, once right, or after
the assessment's number of tries (default 3). Parameterized questions show it at once and keep
"Another variant"."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from quizzes import presenters
from quizzes.models import Assessment, AttemptItem
from quizzes.services.attempts import PRACTICE_REVEAL_AFTER, attempt_start, practice_solution_visible
from quizzes.tests import test_student_pages as pages
from quizzes.tests.test_student_pages import MATRIX, NUMERIC, PARAM, _check_url, _item, _post_json, _practice

# The fixtures of the student page tests (a course with the bank's questions, a signed-in student).
bank, course, student, student_client = pages.bank, pages.course, pages.student, pages.student_client


def _secrets(item: AttemptItem) -> list[str]:
    """What must not reach the browser before the solution is shown: the correct answer as the
    solution shows it, and the explanation."""
    solution = presenters.item_solution(presenters.version_content(item.question_version), item.seed, "en")
    correct = solution["correct"]
    # The explanation (the page's language: English) up to its first formula (maths has attributes of its own).
    english = (item.question_version.translations.get("en") or {}).get("explanation")
    words = [part.strip() for part in (english or item.question_version.explanation).split("$")[::2]]
    shown = [next(part for part in words if len(part) >= 6)]
    if correct.get("text"):
        shown.append(f"<code>{correct['text']}</code>")
    if correct.get("grid"):
        shown.append("".join(f"<td>{v}</td>" for v in correct["grid"][0]))
    return shown


def _reveal_url(item: AttemptItem) -> str:
    return reverse("item-reveal", args=[item.attempt_id, item.id])


def test_the_rule() -> None:
    fixed = {"question_type": "numeric", "requested": False, "reveal_after": 3}
    assert not practice_solution_visible(checks=1, correct=False, **fixed)
    assert not practice_solution_visible(checks=2, correct=False, **fixed)
    assert practice_solution_visible(checks=3, correct=False, **fixed)
    assert practice_solution_visible(checks=1, correct=True, **fixed)
    assert practice_solution_visible(checks=1, correct=False, **{**fixed, "requested": True})
    assert practice_solution_visible(checks=1, correct=False, **{**fixed, "question_type": "param"})
    assert practice_solution_visible(checks=1, correct=False, **{**fixed, "question_type": "essay"})
    assert PRACTICE_REVEAL_AFTER == 3 and Assessment().practice_reveal_after == 3


@pytest.mark.django_db
def test_a_wrong_check_keeps_the_answer_back_until_the_third_try(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    attempt = attempt_start(user=student, assessment=_practice(course, [NUMERIC, MATRIX]))
    numeric = _item(attempt, NUMERIC)
    secrets = _secrets(numeric)
    for tries_left in (2, 1):
        body = _post_json(student_client, _check_url(numeric), {"response": {"value": "0.5"}}).json()
        raw = json.dumps(body, ensure_ascii=False)
        assert body["score"] == 0 and body["solution_shown"] is False
        assert "Not yet right" in body["html"] and "Show the solution" in body["html"]
        assert f"after {tries_left} more wrong check" in body["html"]
        assert "Wrong sign" in body["html"]  # the mistake is still named, in the page's language
        for secret in secrets:
            assert secret not in raw and secret.replace("<", "\\u003c") not in raw, secret
        # A reload shows the last check, still without the solution.
        page = student_client.get(reverse("attempt", args=[attempt.id])).content.decode()
        assert "Not yet right" in page and all(secret not in page for secret in secrets)
    third = _post_json(student_client, _check_url(numeric), {"response": {"value": "0.5"}}).json()
    assert third["solution_shown"] is True and "Not yet right" not in third["html"]
    assert all(secret in third["html"] for secret in secrets), (secrets, third["html"])

    # A matrix: the wrong cells are marked, the answer kept back.
    matrix = _item(attempt, MATRIX)
    body = _post_json(student_client, _check_url(matrix), {"response": {"value": [["6", "2"], ["3", "4"]]}}).json()
    assert body["parts"][0]["cells"] == [[True, True], [True, False]] and body["solution_shown"] is False
    assert "expected" not in json.dumps(body["parts"])
    raw = json.dumps(body, ensure_ascii=False)
    assert all(secret not in raw for secret in _secrets(matrix))


@pytest.mark.django_db
def test_the_solution_on_request_and_at_once_when_right(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    attempt = attempt_start(user=student, assessment=_practice(course, [NUMERIC, MATRIX]))
    numeric, matrix = _item(attempt, NUMERIC), _item(attempt, MATRIX)
    _post_json(student_client, _check_url(numeric), {"response": {"value": "0.5"}})
    revealed = _post_json(student_client, _reveal_url(numeric), {})
    assert revealed.status_code == 200
    assert all(secret in revealed.json()["html"] for secret in _secrets(numeric))
    page = student_client.get(reverse("attempt", args=[attempt.id])).content.decode()
    assert all(secret in page for secret in _secrets(numeric))  # it stays shown

    right = [[str(v) for v in row] for row in matrix.question_version.spec["answer"]]
    body = _post_json(student_client, _check_url(matrix), {"response": {"value": right}}).json()
    assert body["score"] == 1 and body["solution_shown"] is True


@pytest.mark.django_db
def test_the_number_of_tries_is_the_assessments(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    attempt = attempt_start(user=student, assessment=_practice(course, [NUMERIC], practice_reveal_after=1))
    numeric = _item(attempt, NUMERIC)
    body = _post_json(student_client, _check_url(numeric), {"response": {"value": "0.5"}}).json()
    assert body["solution_shown"] is True and all(secret in body["html"] for secret in _secrets(numeric))


@pytest.mark.django_db
def test_parameterized_questions_show_the_solution_and_keep_another_variant(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    attempt = attempt_start(user=student, assessment=_practice(course, [PARAM]))
    param = _item(attempt, PARAM)
    body = _post_json(student_client, _check_url(param),
                      {"response": {"parts": {"shape": "1x1", "output": [["0"]]}}}).json()
    assert body["gradable"] and body["solution_shown"] is True and "Not yet right" not in body["html"]
    page = student_client.get(reverse("attempt", args=[attempt.id])).content.decode()
    assert 'data-action="variant"' in page


@pytest.mark.django_db
def test_only_the_owner_of_an_open_practice_item_may_ask(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    from accounts.tests.factories import make_member

    attempt = attempt_start(user=student, assessment=_practice(course, [NUMERIC]))
    numeric = _item(attempt, NUMERIC)
    other = Client()
    other.force_login(make_member(course, username="mallory"))
    assert _post_json(other, _reveal_url(numeric), {}).status_code == 404
    attempt.status = "submitted"
    attempt.save(update_fields=["status"])
    assert _post_json(student_client, _reveal_url(numeric), {}).status_code == 409
