"""The student pages through the HTTP interface: access, secrecy before release, deadlines, practice."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from functools import cache

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import make_course, make_member
from grader.problems import get_family
from grader.problems.base import first_sentence
from quizzes import presenters
from quizzes.bank.render import render_markdown
from quizzes.models import Assessment, AssessmentMode, Attempt, AttemptItem, AttemptStatus, Question
from quizzes.services.attempts import attempt_start, attempt_submit
from quizzes.services.bank import BankContents, bank_read, bank_sync
from quizzes.services.rubric import essay_grade_with_rubric
from quizzes.tests.factories import FIXTURES, make_assessment

SINGLE = "act-dead-relu-05"
MULTIPLE = "cnn-weight-sharing-03"
TRUEFALSE = "act-nonlinearity-07"
NUMERIC = "bp-chain-rule-01"
MATRIX = "pool-max-matrix-01"
SYMBOLIC = "act-sigmoid-derivative-01"
TEXT = "bp-text-08"
ESSAY = "exam-109-q1"
PARAM = "param-conv-by-hand-01"
ONE_OF_EACH = [SINGLE, MULTIPLE, TRUEFALSE, NUMERIC, MATRIX, SYMBOLIC, TEXT, ESSAY, PARAM]
TWENTY = ONE_OF_EACH + [
    "iou-01", "act-leaky-relu-06", "act-sigmoid-max-derivative-02", "act-tanh-derivative-04", "bp-branch-sum-07",
    "pool-avg-matrix-02", "act-properties-08", "cnn-subsampling-04", "param-pool-unpool-01", "param-iou-nms-01",
    "exam-109-q2",
]


@cache
def _bank() -> BankContents:
    contents, errors = bank_read(fixtures_dir=FIXTURES)
    assert errors == []
    return contents


@pytest.fixture
def bank(db) -> None:  # type: ignore[no-untyped-def]
    """Only the questions these tests use (syncing the whole bank for every test is slow)."""
    contents = _bank()
    wanted = set(TWENTY)
    bank_sync(contents=BankContents(topics=contents.topics, mock_exams={},
                                    questions=[q for q in contents.questions if q.id in wanted]))


@pytest.fixture
def course(bank):  # type: ignore[no-untyped-def]
    return make_course("dlcv")


@pytest.fixture
def student(course):  # type: ignore[no-untyped-def]
    return make_member(course, username="alice")


@pytest.fixture
def student_client(student) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(student)
    client.cookies["django_language"] = "en"  # assertions below use the English strings
    return client


def _exam(course, bank_ids=ONE_OF_EACH, **fields) -> Assessment:  # type: ignore[no-untyped-def]
    return make_assessment(course, list(bank_ids), mode=AssessmentMode.EXAM, slug=fields.pop("slug", "final"), **fields)


def _practice(course, bank_ids=ONE_OF_EACH, **fields) -> Assessment:  # type: ignore[no-untyped-def]
    return make_assessment(course, list(bank_ids), mode=AssessmentMode.PRACTICE, minutes=None,
                           slug=fields.pop("slug", "practice"), **fields)


def _item(attempt: Attempt, bank_id: str) -> AttemptItem:
    return attempt.items.select_related("question_version").get(question_version__question__bank_id=bank_id)


def _post_json(client: Client, url: str, body: object):  # type: ignore[no-untyped-def]
    return client.post(url, json.dumps(body), content_type="application/json", HTTP_ACCEPT="application/json")


def _save_url(item: AttemptItem) -> str:
    return reverse("item-save", args=[item.attempt_id, item.id])


def _check_url(item: AttemptItem) -> str:
    return reverse("item-check", args=[item.attempt_id, item.id])


def _secrets(attempt: Attempt) -> list[str]:
    """Text that must never reach an exam page before results are visible."""
    secrets: list[str] = []
    items = list(attempt.items.select_related("question_version__question"))
    # What the page may show: each version's prompt and choices, in every language it carries.
    texts = [(i.question_version.prompt, i.question_version.spec.get("choices", [])) for i in items]
    texts += [(english.get("prompt", ""), english.get("choices", [])) for i in items
              if (english := (i.question_version.translations or {}).get("en"))]
    public = "".join(prompt + "".join(c["text"] for c in choices) for prompt, choices in texts)
    for item in items:
        version = item.question_version
        spec = version.spec
        mine: list[str] = []
        mine.append(render_markdown(version.explanation).strip())
        first_line = next(line for line in version.explanation.splitlines() if len(line.strip()) > 12)
        mine.append(first_line.strip()[:30])
        mine += [c["feedback"][:25] for c in spec.get("choices", []) if c.get("feedback")]
        mine += [point[:30] for point in spec.get("key_points", [])]
        mine += [peer["body"].strip()[:30] for peer in spec.get("peer_answers", []) if len(peer["body"].strip()) > 8]
        mine += [m["message"][:10] for m in spec.get("misconceptions") or []]
        english = (version.translations or {}).get("en") or {}
        if english:  # the English of what is secret is secret too
            mine.append(render_markdown(english["explanation"]).strip())
            mine += [c["feedback"][:25] for c in english.get("choices", []) if c.get("feedback")]
            mine += [message[:25] for message in english.get("misconceptions", [])]
            mine += [str(english[key])[:25] for key in ("feedback_true", "feedback_false") if english.get(key)]
        mine += [a for a in spec.get("accept", []) if len(a) > 3]
        if version.question.type == "param":
            family = get_family(spec["family"])
            params = family.generate(item.seed, spec.get("constraints") or None)
            mine.append(render_markdown(family.explain(params, "zh-Hant")).strip()[:60])
            mine.append(render_markdown(family.explain(params, "en")).strip()[:60])
        secrets += [s for s in mine if s and s not in public]
    return [s for s in secrets if s]


# --------------------------------------------------------------------------- access


@pytest.mark.django_db
def test_another_students_attempt_is_404_everywhere(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    practice = _practice(course)
    exam = _exam(course)
    bob = make_member(course, username="bob")
    bob_practice = attempt_start(user=bob, assessment=practice)
    bob_exam = attempt_start(user=bob, assessment=exam)
    for attempt in (bob_practice, bob_exam):
        item = attempt.items.first()
        assert student_client.get(reverse("attempt", args=[attempt.id])).status_code == 404
        assert student_client.get(reverse("attempt-state", args=[attempt.id])).status_code == 404
        assert student_client.post(reverse("attempt-submit", args=[attempt.id])).status_code == 404
        assert _post_json(student_client, _save_url(item), {"response": {"choice": 0}}).status_code == 404
        assert _post_json(student_client, _check_url(item), {"response": {"choice": 0}}).status_code == 404
        assert _post_json(student_client, reverse("item-variant", args=[attempt.id, item.id]), {}).status_code == 404
        assert _post_json(student_client, reverse("item-self-assess", args=[attempt.id, item.id]),
                          {"points_met": []}).status_code == 404
    # An item id of Bob's under Alice's own attempt id is not hers either.
    mine = attempt_start(user=student, assessment=practice)
    bobs_item = bob_practice.items.first()
    assert _post_json(student_client, reverse("item-save", args=[mine.id, bobs_item.id]),
                      {"response": {"value": "1"}}).status_code == 404
    attempt_submit(attempt=bob_exam)
    assert student_client.get(reverse("attempt-results", args=[bob_exam.id])).status_code == 404
    assert Attempt.objects.get(pk=bob_exam.pk).status == AttemptStatus.SUBMITTED
    bob_practice.refresh_from_db()
    assert bob_practice.status == AttemptStatus.IN_PROGRESS


@pytest.mark.django_db
def test_staff_read_a_students_attempt_but_cannot_answer_or_submit(course, student) -> None:  # type: ignore[no-untyped-def]
    exam = _exam(course)
    attempt = attempt_start(user=student, assessment=exam)
    ta = make_member(course, role=Role.TA, username="ta")
    client = Client()
    client.force_login(ta)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("attempt", args=[attempt.id]))
    assert page.status_code == 200 and "read only" in page.content.decode()
    assert 'data-save-url' not in page.content.decode()
    assert _post_json(client, _save_url(attempt.items.first()), {"response": {"value": "1"}}).status_code == 404
    assert client.post(reverse("attempt-submit", args=[attempt.id])).status_code == 404


@pytest.mark.django_db
def test_json_endpoints_answer_401_when_logged_out(course, student) -> None:  # type: ignore[no-untyped-def]
    attempt = attempt_start(user=student, assessment=_practice(course))
    item = attempt.items.first()
    response = _post_json(Client(), _save_url(item), {"response": {"value": "1"}})
    assert response.status_code == 401 and response.json()["code"] == "login_required"
    assert Client().get(reverse("attempt", args=[attempt.id])).status_code == 302


@pytest.mark.django_db
def test_unpublished_assessment_is_404_for_students(course, student_client) -> None:  # type: ignore[no-untyped-def]
    exam = _exam(course, published=False)
    assert student_client.get(reverse("assessment-landing", args=[course.slug, exam.slug])).status_code == 404
    assert student_client.post(reverse("assessment-start", args=[course.slug, exam.slug])).status_code == 404
    other = make_course("other")
    assert student_client.get(reverse("course-dashboard", args=[other.slug])).status_code == 404


# --------------------------------------------------------------------------- dashboard, landing, start


@pytest.mark.django_db
def test_home_links_each_course_to_its_dashboard(course, student_client) -> None:  # type: ignore[no-untyped-def]
    html = student_client.get(reverse("home")).content.decode()
    assert reverse("course-dashboard", args=[course.slug]) in html


@pytest.mark.django_db
def test_dashboard_shows_states_and_each_topics_mastery(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    exam = _exam(course, [SINGLE, NUMERIC], slug="final")
    _exam(course, [SINGLE], slug="midterm")
    practice = _practice(course, [NUMERIC, MATRIX])
    attempt_start(user=student, assessment=exam)
    session = attempt_start(user=student, assessment=practice)
    _post_json(student_client, _check_url(_item(session, NUMERIC)), {"response": {"value": "0.5"}})  # wrong
    _post_json(student_client, _check_url(_item(session, MATRIX)), {"response": {"value": [[6, 2], [3, 7]]}})
    html = student_client.get(reverse("course-dashboard", args=[course.slug])).content.decode()
    assert "In progress" in html and "minutes left" in html and "Not started" in html
    assert reverse("attempt", args=[session.id]) in html
    backprop, pooling = (Question.objects.get(bank_id=b).topic for b in (NUMERIC, MATRIX))
    # The mastery table (progress/): topic names in the page's language, in syllabus order, each with
    # its mastery from the graded checks (one answer each: 0 % and 100 %, tentative).
    table = html[html.index('class="mastery-table"'):]
    first, second = sorted((backprop, pooling), key=lambda t: t.position)
    rows = {t: table[table.index(f'data-topic="{t.slug}"'):][:600] for t in (backprop, pooling)}
    assert table.index(f'data-topic="{first.slug}"') < table.index(f'data-topic="{second.slug}"')
    assert backprop.name_en in rows[backprop] and ">0\u00a0%<" in rows[backprop] and ">100\u00a0%<" in rows[pooling]


@pytest.mark.django_db
def test_landing_shows_rules_and_start_redirects_to_the_attempt(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    exam = _exam(course, [SINGLE], description="Bring a calculator.")
    html = student_client.get(reverse("assessment-landing", args=[course.slug, exam.slug])).content.decode()
    assert "Bring a calculator." in html and "One attempt only" in html and "60 minutes" in html
    assert "Taipei" in html
    closes = timezone.localtime(exam.closes_at, timezone.get_fixed_timezone(8 * 60)).strftime("%Y-%m-%d %H:%M")
    assert closes in html
    response = student_client.post(reverse("assessment-start", args=[course.slug, exam.slug]))
    attempt = Attempt.objects.get(assessment=exam, user=student)
    assert response.status_code == 302 and response.url == reverse("attempt", args=[attempt.id])
    # "Continue" returns the same attempt.
    again = student_client.post(reverse("assessment-start", args=[course.slug, exam.slug]))
    assert again.url == reverse("attempt", args=[attempt.id])


@pytest.mark.django_db
@pytest.mark.parametrize(("lang", "opens", "only_closes"), [
    ("en", "Window (Taipei time): opens <time", "Window (Taipei time): closes <time"),
    ("zh-hant", "作答時段（台北時間）：開放 <time", "作答時段（台北時間）：截止 <time"),
])
def test_the_window_line_has_no_space_after_a_full_width_colon(  # type: ignore[no-untyped-def]
        course, student_client, lang, opens, only_closes) -> None:
    student_client.cookies["django_language"] = lang
    for exam, line in ((_exam(course, [SINGLE]), opens),
                       (_exam(course, [SINGLE], slug="only-closes", opens_at=None), only_closes)):
        html = student_client.get(reverse("assessment-landing", args=[course.slug, exam.slug])).content.decode()
        assert line in html


@pytest.mark.django_db
def test_start_errors_are_shown_as_messages(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    exam = _exam(course, [SINGLE])
    attempt_submit(attempt=attempt_start(user=student, assessment=exam))
    response = student_client.post(reverse("assessment-start", args=[course.slug, exam.slug]), follow=True)
    assert "An exam allows one attempt" in response.content.decode()
    now = timezone.now()
    closed = _exam(course, [SINGLE], slug="closed", opens_at=now - timedelta(days=2), closes_at=now - timedelta(days=1))
    response = student_client.post(reverse("assessment-start", args=[course.slug, closed.slug]), follow=True)
    assert "This assessment has closed." in response.content.decode()
    assert not Attempt.objects.filter(assessment=closed).exists()


# --------------------------------------------------------------------------- the exam page


@pytest.mark.django_db
def test_exam_page_has_a_widget_per_type_and_no_answers(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    exam = _exam(course)
    attempt = attempt_start(user=student, assessment=exam)
    html = student_client.get(reverse("attempt", args=[attempt.id])).content.decode()
    for secret in _secrets(attempt):
        assert secret not in html, secret
    for word in ("explanation", "key_points", "peer", "correct", "feedback_true", "misconception"):
        assert word not in html.lower().replace("data-feedback", ""), word
    for kind in ("radio", "checkbox", "truefalse", "number", "matrix", "formula", "text", "essay"):
        assert f'data-widget="{kind}"' in html, kind
    # The matrix grid has the expected 2×2 shape; the conv-by-hand output grid is resizable.
    assert html.count('class="cell"') >= 4 and 'data-grid="rows"' in html
    assert '<label for="w-' in html and "<legend>" in html
    assert "quiz.js" in html and 'id="quiz-config"' in html
    # Choices are shown in the student's order, with the ORIGINAL indices as values.
    item = _item(attempt, SINGLE)
    from grader.questions import choice_order

    order = choice_order(item.question_version.spec, item.seed)
    values = re.findall(rf'name="w-{item.id}-value" value="(\d+)"', html)
    assert [int(v) for v in values] == order


@pytest.mark.django_db
def test_mock_exam_page_hides_key_points_and_peer_answers(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    mock = make_assessment(course, [ESSAY, NUMERIC], mode=AssessmentMode.MOCK, slug="mock-109")
    attempt = attempt_start(user=student, assessment=mock)
    html = student_client.get(reverse("attempt", args=[attempt.id])).content.decode()
    for secret in _secrets(attempt):
        assert secret not in html, secret


@pytest.mark.django_db
def test_exam_page_of_twenty_questions_is_query_bounded(course, student, student_client,
                                                        django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    exam = _exam(course, TWENTY)
    attempt = attempt_start(user=student, assessment=exam)
    assert attempt.items.count() == 20
    for item in attempt.items.all()[:10]:
        _post_json(student_client, _save_url(item), {"response": {"value": "1"}})
    # The session, the user, the attempt with its access rule, the items, the navigation's staff flag.
    with django_assert_max_num_queries(5):
        response = student_client.get(reverse("attempt", args=[attempt.id]))
    assert response.status_code == 200 and response.content.decode().count('class="q"') == 20


@pytest.mark.django_db
def test_a_save_is_one_update(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    attempt = attempt_start(user=student, assessment=_exam(course))
    item = _item(attempt, MATRIX)
    with CaptureQueriesContext(connection) as queries:
        response = _post_json(student_client, _save_url(item), {"response": {"value": [["6", "2"], ["3", ""]]}})
    assert response.status_code == 200
    updates = [q["sql"] for q in queries.captured_queries
               if q["sql"].lstrip().upper().startswith("UPDATE") and "quizzes_attemptitem" in q["sql"]]
    assert len(updates) == 1
    assert len(queries.captured_queries) <= 5  # session, user, item (ownership), the UPDATE, + slack
    body = response.json()
    assert body["save_count"] == 1 and re.fullmatch(r"\d\d:\d\d:\d\d", body["saved_at_display"])
    item.refresh_from_db()
    assert item.response == {"value": [["6", "2"], ["3", ""]]} and item.save_count == 1
    # The page shows the saved grid and the saved state.
    html = student_client.get(reverse("attempt", args=[attempt.id])).content.decode()
    assert f'Saved {body["saved_at_display"]}' in html
    assert re.search(r'data-r="1" data-c="1" value="6"', html)


@pytest.mark.django_db
def test_save_after_the_deadline_is_409_with_the_services_message(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    attempt = attempt_start(user=student, assessment=_exam(course))
    Attempt.objects.filter(pk=attempt.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    item = _item(attempt, NUMERIC)
    response = _post_json(student_client, _save_url(item), {"response": {"value": "-0.5"}})
    assert response.status_code == 409
    assert response.json() == {"code": "deadline_passed", "message": "Time is up: this answer was not saved."}
    # In the student's language (the language cookie, as the switch sets it).
    student_client.cookies["django_language"] = "zh-hant"
    response = _post_json(student_client, _save_url(item), {"response": {"value": "-0.5"}})
    assert response.json() == {"code": "deadline_passed", "message": "時間已到，這個答案沒有存下來。"}
    item.refresh_from_db()
    assert item.response is None


@pytest.mark.django_db
def test_save_after_submit_is_409(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    attempt = attempt_start(user=student, assessment=_exam(course))
    response = student_client.post(reverse("attempt-submit", args=[attempt.id]))
    assert response.status_code == 302 and response.url == reverse("attempt-results", args=[attempt.id])
    item = _item(attempt, NUMERIC)
    response = _post_json(student_client, _save_url(item), {"response": {"value": "-0.5"}})
    assert response.status_code == 409 and response.json()["code"] == "not_open"
    assert "This attempt is submitted" in response.json()["message"]
    # The quiz page of a submitted attempt goes to its results.
    assert student_client.get(reverse("attempt", args=[attempt.id])).url == reverse("attempt-results", args=[attempt.id])


@pytest.mark.django_db
def test_unreadable_or_too_large_saves_are_explained(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    attempt = attempt_start(user=student, assessment=_exam(course))
    url = _save_url(_item(attempt, ESSAY))
    bad = student_client.post(url, "{not json", content_type="application/json")
    assert bad.status_code == 400 and bad.json()["message"]
    assert _post_json(student_client, url, {"answer": 1}).status_code == 400
    huge = _post_json(student_client, url, {"response": {"text": "字" * 30_000}})
    assert huge.status_code == 413 and huge.json()["code"] == "too_large"
    assert student_client.get(url).status_code == 405


@pytest.mark.django_db
def test_state_reports_remaining_seconds(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    attempt = attempt_start(user=student, assessment=_exam(course))
    state = student_client.get(reverse("attempt-state", args=[attempt.id])).json()
    assert state["status"] == "in_progress" and 3590 <= state["remaining_seconds"] <= 3600
    assert state["server_time"] and state["results_url"] == reverse("attempt-results", args=[attempt.id])


@pytest.mark.django_db
def test_the_pages_timeout_submit_is_auto_only_after_the_server_deadline(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    attempt = attempt_start(user=student, assessment=_exam(course))
    url = reverse("attempt-submit", args=[attempt.id])
    early = student_client.post(url, {"reason": "timeout"}, HTTP_ACCEPT="application/json")
    assert early.status_code == 409 and early.json()["code"] == "not_yet"
    Attempt.objects.filter(pk=attempt.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    late = student_client.post(url, {"reason": "timeout"}, HTTP_ACCEPT="application/json")
    assert late.status_code == 200 and late.json()["status"] == AttemptStatus.AUTO_SUBMITTED
    html = student_client.get(reverse("attempt-results", args=[attempt.id])).content.decode()
    assert "Submitted at the deadline" in html


# --------------------------------------------------------------------------- results


@pytest.mark.django_db
def test_exam_results_are_hidden_until_released(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    exam = _exam(course)
    attempt = attempt_start(user=student, assessment=exam)
    _post_json(student_client, _save_url(_item(attempt, NUMERIC)), {"response": {"value": "0.5"}})
    _post_json(student_client, _save_url(_item(attempt, ESSAY)), {"response": {"text": "特徵是學出來的。"}})
    student_client.post(reverse("attempt-submit", args=[attempt.id]))
    url = reverse("attempt-results", args=[attempt.id])
    html = student_client.get(url).content.decode()
    assert "Results are released by the instructor." in html
    for secret in _secrets(attempt):
        assert secret not in html, secret
    assert "特徵是學出來的" not in html and "Score" not in html

    Assessment.objects.filter(pk=exam.pk).update(results_released_at=timezone.now() - timedelta(minutes=1))
    html = student_client.get(url).content.decode()
    assert "Results are released by the instructor." not in html
    numeric = _item(attempt, NUMERIC).question_version
    assert render_markdown(numeric.translations["en"]["explanation"]).strip() in html  # the page is in English
    assert first_sentence(numeric.translations["en"]["misconceptions"][0]) in html  # the misconception named for 0.5, in English
    assert "<code>-0.5</code>" in html  # the correct answer
    assert "Graded by hand: not graded yet." in html  # the essay
    assert "特徵是學出來的" in html  # the student's own answer
    essay = _item(attempt, ESSAY)
    # As the grading page grades it: no rubric item applied, half the points as the adjustment.
    essay_grade_with_rubric(item_id=essay.pk, applied_ids=[], adjustment=essay.max_points / 2,
                            comment="Mention hierarchy.", grader=make_member(course, Role.INSTRUCTOR))
    html = student_client.get(url).content.decode()
    assert "Graded by hand: not graded yet." not in html and "Mention hierarchy." in html


@pytest.mark.django_db
def test_mock_exam_results_show_after_submit_with_self_assessment(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    mock = make_assessment(course, [ESSAY], mode=AssessmentMode.MOCK, slug="mock-109")
    attempt = attempt_start(user=student, assessment=mock)
    item = _item(attempt, ESSAY)
    _post_json(student_client, _save_url(item), {"response": {"text": "hierarchical features"}})
    student_client.post(reverse("attempt-submit", args=[attempt.id]))
    html = student_client.get(reverse("attempt-results", args=[attempt.id])).content.decode()
    spec = item.question_version.spec
    # Our key points in the page's language (English); the classmates' answers as they were written.
    key_points = item.question_version.translations["en"]["key_points"]
    assert key_points[0][:15] in html and spec["peer_answers"][0]["body"].strip()[:15] in html
    assert "data-self-assess" in html
    response = _post_json(student_client, reverse("item-self-assess", args=[attempt.id, item.id]), {"points_met": [0, 2]})
    assert response.status_code == 200 and response.json()["self_assessment"]["points_met"] == [0, 2]
    bad = _post_json(student_client, reverse("item-self-assess", args=[attempt.id, item.id]), {"points_met": [99]})
    assert bad.status_code == 409 and "Unknown key point" in bad.json()["message"]


# --------------------------------------------------------------------------- practice


@pytest.mark.django_db
def test_practice_check_gives_feedback_and_format_errors_cost_nothing(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    attempt = attempt_start(user=student, assessment=_practice(course))
    numeric = _item(attempt, NUMERIC)
    invalid = _post_json(student_client, _check_url(numeric), {"response": {"value": "abc"}})
    assert invalid.status_code == 200 and invalid.json()["gradable"] is False and invalid.json()["format_errors"]["value"]
    numeric.refresh_from_db()
    assert numeric.checks == 0 and numeric.response is None

    wrong = _post_json(student_client, _check_url(numeric), {"response": {"value": "0.5"}}).json()
    assert wrong["gradable"] and wrong["score"] == 0 and wrong["misconceptions"]
    # The mistake is named in the page's language (English here); the solution waits (test_practice_retry).
    english = numeric.question_version.translations["en"]
    named = first_sentence(english["misconceptions"][0])
    assert named in wrong["html"] and "正負號錯了" not in re.sub(r'data-misconception="[^"]*"', "", wrong["html"])
    assert render_markdown(english["explanation"]).strip() not in wrong["html"]
    numeric.refresh_from_db()
    assert numeric.checks == 1

    param = _item(attempt, PARAM)
    spec = param.question_version.spec
    family = get_family(spec["family"])
    params = family.generate(param.seed, spec.get("constraints") or None)
    answer = family.format_answer(params, family.solve(params))
    grid = [row.split() for row in answer["output"].splitlines()]
    bad_format = _post_json(student_client, _check_url(param), {"response": {"parts": {"shape": "two", "output": grid}}})
    assert bad_format.json()["gradable"] is False and "shape" in bad_format.json()["format_errors"]
    param.refresh_from_db()
    assert param.checks == 0
    right = _post_json(student_client, _check_url(param), {"response": {"parts": {"shape": answer["shape"], "output": grid}}})
    assert right.json()["score"] == 1
    assert render_markdown(family.explain(params, "en")).strip()[:60] in right.json()["html"]  # the page is in English
    # After a reload the last check is still shown.
    html = student_client.get(reverse("attempt", args=[attempt.id])).content.decode()
    assert named in html


@pytest.mark.django_db
def test_practice_matrix_check_marks_cells(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    attempt = attempt_start(user=student, assessment=_practice(course, [MATRIX]))
    item = _item(attempt, MATRIX)
    result = _post_json(student_client, _check_url(item), {"response": {"value": [["6", "2"], ["3", "4"]]}}).json()
    assert result["score"] == 0.75 and result["parts"][0]["cells"] == [[True, True], [True, False]]
    html = student_client.get(reverse("attempt", args=[attempt.id])).content.decode()
    assert "cell-bad" in html and "cell-ok" in html


@pytest.mark.django_db
def test_check_is_refused_in_an_exam(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    attempt = attempt_start(user=student, assessment=_exam(course))
    response = _post_json(student_client, _check_url(_item(attempt, NUMERIC)), {"response": {"value": "1"}})
    assert response.status_code == 409 and "practice only" in response.json()["message"]


@pytest.mark.django_db
def test_another_variant_appends_an_item(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    attempt = attempt_start(user=student, assessment=_practice(course, [PARAM, NUMERIC]))
    item = _item(attempt, PARAM)
    url = reverse("item-variant", args=[attempt.id, item.id])
    response = _post_json(student_client, url, {})
    assert response.status_code == 201
    body = response.json()
    new_item = AttemptItem.objects.get(pk=body["item_id"])
    assert new_item.attempt_id == attempt.id and new_item.position == 3 and new_item.seed != item.seed
    assert f'id="item-{new_item.id}"' in body["html"] and 'data-action="check"' in body["html"]
    # Without the script: a redirect to the new item.
    plain = student_client.post(url)
    assert plain.status_code == 302 and plain.url.startswith(reverse("attempt", args=[attempt.id]) + "#item-")
    assert attempt.items.count() == 4


@pytest.mark.django_db
def test_practice_essay_reveals_key_points_and_peers_after_writing(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    attempt = attempt_start(user=student, assessment=_practice(course, [ESSAY]))
    item = _item(attempt, ESSAY)
    spec = item.question_version.spec
    key_points = item.question_version.translations["en"]["key_points"]  # the page is in English
    html = student_client.get(reverse("attempt", args=[attempt.id])).content.decode()
    assert key_points[0][:15] not in html and spec["key_points"][0][:15] not in html and "Show key points" in html
    empty = _post_json(student_client, _check_url(item), {"response": {"text": "  "}}).json()
    assert empty["gradable"] is False and empty["format_errors"]["text"]
    shown = _post_json(student_client, _check_url(item), {"response": {"text": "Features are learned."}}).json()
    assert key_points[0][:15] in shown["html"]
    peer = spec["peer_answers"][0]
    assert peer["body"].strip()[:15] in shown["html"] and f'admonition peer {peer["style"]}' in shown["html"]
    saved = _post_json(student_client, reverse("item-self-assess", args=[attempt.id, item.id]), {"points_met": [1]})
    assert saved.status_code == 200
    assert _post_json(student_client, reverse("item-self-assess", args=[attempt.id, item.id]),
                      {"points_met": ["x"]}).status_code == 400


@pytest.mark.django_db
def test_practice_results_show_scores(course, student, student_client) -> None:  # type: ignore[no-untyped-def]
    attempt = attempt_start(user=student, assessment=_practice(course, [NUMERIC, SINGLE]))
    _post_json(student_client, _save_url(_item(attempt, NUMERIC)), {"response": {"value": "-0.5"}})
    student_client.post(reverse("attempt-submit", args=[attempt.id]))
    attempt.refresh_from_db()
    assert attempt.points == Decimal("1")
    html = student_client.get(reverse("attempt-results", args=[attempt.id])).content.decode()
    assert "Score: 1 / 2" in html and "Correct" in html


# --------------------------------------------------------------------------- items shared between students (item_html)


@pytest.fixture
def cache_writes(monkeypatch) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """An empty cache, and every item HTML written to it."""
    from django.core.cache import cache as django_cache

    from quizzes import item_html

    django_cache.clear()
    written: dict[str, str] = {}

    class Recording:
        def get_many(self, keys):  # type: ignore[no-untyped-def]
            return django_cache.get_many(keys)

        def set_many(self, data, timeout):  # type: ignore[no-untyped-def]
            written.update(data)
            django_cache.set_many(data, timeout)

    monkeypatch.setattr(item_html, "django_cache", Recording())
    yield written
    django_cache.clear()


def _client(user, lang: str = "en") -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = lang
    return client


def _page(client: Client, attempt: Attempt) -> str:
    response = client.get(reverse("attempt", args=[attempt.id]))
    assert response.status_code == 200
    return response.content.decode()


def _items_part(html: str) -> str:
    """The page's items (the rest of a page has its own CSRF token and clock)."""
    return html.split("data-items>", 1)[1].split("data-submit-form", 1)[0]


def _seed_with_order(item: AttemptItem, *, other_than: list[int] | None = None) -> tuple[int, list[int]]:
    """A seed whose option order differs from ``other_than`` (or any seed), and that order."""
    from grader.questions import choice_order

    for seed in range(1, 200):
        order = choice_order(item.question_version.spec, seed)
        if order != other_than:
            return seed, order
    raise AssertionError("no such seed")


def _section(html: str, item: AttemptItem) -> str:
    return next(part for part in html.split('<section class="q"') if f'data-item-id="{item.id}"' in part)


def _widget_layout(html: str) -> list[tuple[str, ...]]:
    """(kind, name, rows, cols) of each answer box in ``html``."""
    return re.findall(r'data-widget="(\w+)" data-name="([^"]+)"(?: data-rows="(\d+)" data-cols="(\d+)")?', html)


def _ids_on_page(html: str) -> set[int]:
    """Every item id the page names: sections, widget ids and names, URLs."""
    found = re.findall(r'data-item-id="(\d+)"|id="item-(\d+)|"w-(\d+)-|/items/(\d+)/', html)
    return {int(number) for groups in found for number in groups if number}


@pytest.mark.django_db
def test_students_sharing_a_question_each_get_their_own_variant_and_ids(course, cache_writes) -> None:  # type: ignore[no-untyped-def]
    from grader.questions import choice_order
    from quizzes.item_html import OPTION_VALUE_STAND_IN, STAND_IN, STATEMENT_STAND_IN

    exam = _exam(course, TWENTY)
    users = [make_member(course, username=name) for name in ("ann", "ben", "cat")]
    attempts = [attempt_start(user=user, assessment=exam) for user in users]
    # ann and cat see the SINGLE question in one order, ben in another: one shared rendering, each
    # page with its own order of values and texts.
    single = [_item(attempt, SINGLE) for attempt in attempts]
    seed, order = _seed_with_order(single[0])
    other_seed, other_order = _seed_with_order(single[0], other_than=order)
    for item, item_seed in zip(single, (seed, other_seed, seed), strict=True):
        AttemptItem.objects.filter(pk=item.pk).update(seed=item_seed)
    # Likewise for a parameterized question whose answer boxes come in several layouts.
    params = [_item(attempt, "param-pool-unpool-01") for attempt in attempts]
    content = presenters.version_content(params[0].question_version)
    layouts: dict[str, int] = {}
    for candidate in range(1, 200):
        layouts.setdefault(repr(presenters.item_view(content, candidate, "en")["widgets"]), candidate)
    assert len(layouts) >= 2
    param_seeds = list(layouts.values())[:2]
    for item, item_seed in zip(params, (param_seeds[0], param_seeds[1], param_seeds[0]), strict=True):
        AttemptItem.objects.filter(pk=item.pk).update(seed=item_seed)
    pages = [_page(_client(user), attempt) for user, attempt in zip(users, attempts, strict=True)]
    for attempt, html in zip(attempts, pages, strict=True):
        item = _item(attempt, "param-pool-unpool-01")
        widgets = presenters.item_view(content, item.seed, "en")["widgets"]
        expected = [(w["kind"], w["name"], str(w.get("rows", "")) if w["kind"] == "matrix" else "",
                     str(w.get("cols", "")) if w["kind"] == "matrix" else "") for w in widgets]
        assert _widget_layout(_section(html, item)) == expected
    assert _widget_layout(_section(pages[0], _item(attempts[0], "param-pool-unpool-01"))) != _widget_layout(
        _section(pages[1], _item(attempts[1], "param-pool-unpool-01")))
    for user, attempt, html, expected in zip(users, attempts, pages, (order, other_order, order), strict=True):
        item = _item(attempt, SINGLE)
        values = re.findall(rf'name="w-{item.id}-value" value="(\d+)"', html)
        assert [int(v) for v in values] == expected == choice_order(item.question_version.spec, item.seed)
        labels = re.findall(rf'<label for="w-{item.id}-value-\d+">(.*?)</label>', html, re.S)
        choices = presenters.content_in(presenters.version_content(item.question_version), "en").spec["choices"]  # as the English page words them
        assert [re.sub(r"<[^>]+>", "", label).strip() for label in labels] == [
            re.sub(r"<[^>]+>", "", str(presenters._html_text(choices[v]["text"]))).strip() for v in expected]
        mine = set(attempt.items.values_list("id", flat=True))
        assert _ids_on_page(html) == mine, user.username
        assert html.count('class="q"') == 20
        assert f"/attempts/{attempt.id}/items/" in html
        for other in attempts:
            if other.id != attempt.id:
                assert f"/attempts/{other.id}/" not in html
        for stand_in in [*map(str, STAND_IN.values()), STATEMENT_STAND_IN, "<~option", str(OPTION_VALUE_STAND_IN)[:-2]]:
            assert stand_in not in html
        assert "Question 20" in html and "Question 1<" in html
    # Every student has their own parameterized numbers, in the same answer boxes.
    statements = [re.search(r'<div class="q-statement">(.*?)</div>', html, re.S).group(1) for html in pages]
    assert len(set(statements)) == 3
    # The cache holds the shared renderings only: stand-ins, never an id.
    assert cache_writes
    all_ids = {item_id for attempt in attempts for item_id in attempt.items.values_list("id", flat=True)}
    for html in cache_writes.values():
        assert str(STAND_IN["id"]) in html and not _ids_on_page(html) & all_ids
    # The SINGLE question was rendered once for the three orders.
    single_key = [key for key in cache_writes if f":{single[0].question_version_id}:" in key]
    assert len(single_key) == 1 and "<~option 0~>" in cache_writes[single_key[0]]


@pytest.mark.django_db
def test_shared_item_html_holds_no_answers_and_no_saved_work(course, cache_writes) -> None:  # type: ignore[no-untyped-def]
    exam = _exam(course, TWENTY)
    ann, ben = make_member(course, username="ann"), make_member(course, username="ben")
    ann_attempt, ben_attempt = attempt_start(user=ann, assessment=exam), attempt_start(user=ben, assessment=exam)
    ann_client = _client(ann)
    assert _post_json(ann_client, _save_url(_item(ann_attempt, TEXT)),
                      {"response": {"value": "ann-typed-this"}}).status_code == 200
    ann_page, ben_page = _page(ann_client, ann_attempt), _page(_client(ben), ben_attempt)
    ann_second = _page(ann_client, ann_attempt)  # from the cache this time
    assert 'value="ann-typed-this"' in ann_page and _items_part(ann_second) == _items_part(ann_page)
    assert "ann-typed-this" not in ben_page
    for attempt, html in ((ann_attempt, ann_page), (ben_attempt, ben_page)):
        for secret in _secrets(attempt):
            assert secret not in html, secret
    written = "".join(cache_writes.values())
    assert "ann-typed-this" not in written and "Saved " not in written
    for secret in _secrets(ann_attempt) + _secrets(ben_attempt):
        assert secret not in written, secret


@pytest.mark.django_db
def test_an_edited_question_renders_anew(course, student, cache_writes) -> None:  # type: ignore[no-untyped-def]
    from quizzes.models import QuestionVersion

    exam = _exam(course, [TEXT, NUMERIC])
    attempt = attempt_start(user=student, assessment=exam)
    client = _client(student, "zh-hant")  # the version's own text (an edit below changes that text)
    version = _item(attempt, TEXT).question_version
    assert version.prompt.strip()[:20] in _page(client, attempt)
    # The same version with new content (what loading the bank does to a version nobody has
    # answered) is a new rendering: the content hash is in the key.
    QuestionVersion.objects.filter(pk=version.pk).update(prompt="An edited prompt.", content_hash="e" * 64)
    html = _page(client, attempt)
    assert "An edited prompt." in html and version.prompt.strip()[:20] not in html
    # An edit after students started is a new version: a new attempt shows it, the old one keeps its own.
    from quizzes.services.authoring import question_save_source

    question = version.question
    text = version.source_text or Question.objects.get(pk=question.pk).current_version.source_text
    new_version = question_save_source(user=student, question=question,
                                       text=text.replace(version.prompt.strip()[:20], "A newer prompt, "))
    assert new_version.pk != version.pk
    bob = make_member(course, username="bob")
    assert "A newer prompt, " in _page(_client(bob, "zh-hant"), attempt_start(user=bob, assessment=exam))
    assert "An edited prompt." in _page(client, attempt)


@pytest.mark.django_db
def test_languages_and_modes_never_share_a_rendering(course, student, cache_writes) -> None:  # type: ignore[no-untyped-def]
    exam = _exam(course, [SINGLE, NUMERIC])
    attempt = attempt_start(user=student, assessment=exam)
    zh = _page(_client(student, "zh-hant"), attempt)
    en = _page(_client(student, "en"), attempt)
    assert "第 1 題" in zh and "請選擇一個答案" in zh and "Choose one" not in zh and "Question 1" not in zh
    assert "Question 1" in en and "Choose one" in en and "請選擇一個答案" not in en
    assert _items_part(_page(_client(student, "zh-hant"), attempt)) == _items_part(zh)
    # A practice page of the same questions has its hints and buttons; the exam page has none.
    practice = attempt_start(user=student, assessment=_practice(course, [SINGLE, NUMERIC]))
    practice_html = _page(_client(student), practice)
    assert practice_html.count('data-action="check"') == practice_html.count("data-check-url") == 2
    exam_html = _page(_client(student), attempt)
    assert _items_part(exam_html) == _items_part(en) and 'data-action="check"' not in exam_html and "data-check-url" not in exam_html
    # Staff reading the attempt get the read-only rendering, not the student's.
    ta = make_member(course, role=Role.TA, username="ta")
    staff_html = _page(_client(ta), attempt)
    assert "data-save-url" not in staff_html and " disabled" in staff_html
    assert "data-save-url" in _page(_client(student), attempt)


@pytest.mark.django_db
def test_a_process_reads_the_shared_cache_only_for_items_it_has_not_seen(course, student, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from django.core.cache import cache as django_cache

    from quizzes import item_html

    exam = _exam(course, TWENTY)
    first = _page(_client(student), attempt_start(user=student, assessment=exam))
    asked: list[list[str]] = []

    class Recording:
        def get_many(self, keys):  # type: ignore[no-untyped-def]
            asked.append(list(keys))
            return django_cache.get_many(keys)

        def set_many(self, data, timeout):  # type: ignore[no-untyped-def]
            django_cache.set_many(data, timeout)

    monkeypatch.setattr(item_html, "django_cache", Recording())
    other = make_member(course, Role.STUDENT)
    attempt = attempt_start(user=other, assessment=exam)
    html = _page(_client(other), attempt)
    # Only a parameterized item whose answer boxes came in a layout not seen yet can be asked for.
    params = attempt.items.filter(question_version__question__type="param").count()
    assert params and sum(len(keys) for keys in asked) <= params < 20
    assert html.count('class="q"') == first.count('class="q"') == 20
    assert _ids_on_page(html) == set(attempt.items.values_list("id", flat=True))
    # A new process (empty copies) reads them from the shared cache, and renders nothing.
    item_html.local_cache_clear()
    asked.clear()
    monkeypatch.setattr(item_html, "_render", lambda *args, **kwargs: pytest.fail("rendered again"))
    assert _items_part(_page(_client(other), attempt)) == _items_part(html)
    assert len(asked) == 1 and len(asked[0]) == 20


@pytest.mark.django_db
def test_the_exam_page_works_with_the_cache_down(course, student, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from quizzes import item_html

    class Down:
        def get_many(self, keys):  # type: ignore[no-untyped-def]
            raise ConnectionError("cache is down")

        def set_many(self, data, timeout):  # type: ignore[no-untyped-def]
            raise ConnectionError("cache is down")

    monkeypatch.setattr(item_html, "django_cache", Down())
    attempt = attempt_start(user=student, assessment=_exam(course, TWENTY))
    html = _page(_client(student), attempt)
    assert html.count('class="q"') == 20 and _ids_on_page(html) == set(attempt.items.values_list("id", flat=True))
