"""Instructor pages: bank browser, question editor + preview, assessment builder (through HTTP)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

import conftest
from accounts.models import Course, Role, User
from accounts.tests.factories import PASSWORD, make_course, make_member
from quizzes.bank.format import QUESTION_TYPES, parse_question
from quizzes.instructor_selectors import default_template_topic, question_template
from quizzes.models import (
    Assessment,
    AssessmentItem,
    AssessmentMode,
    Attempt,
    AttemptItem,
    Extension,
    Question,
    QuestionVersion,
    Topic,
)
from quizzes.services.authoring import (
    assessment_create,
    assessment_item_add,
    assessment_item_move,
    assessment_item_remove,
    question_save_source,
)
from quizzes.services.bank import BankContents, bank_read, bank_sync

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
TAIPEI = ZoneInfo("Asia/Taipei")
MATHML = '<math xmlns="http://www.w3.org/1998/Math/MathML"'
SINGLE_ID = "act-dead-relu-05"
PARAM_ID = "param-conv-by-hand-01"
_contents: BankContents | None = None


def shipped_bank() -> BankContents:
    """The real bank, parsed once per test process (syncing it takes ~0.2 s per test)."""
    global _contents
    if _contents is None:
        _contents, errors = bank_read(fixtures_dir=FIXTURES)
        assert errors == []
    return _contents


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # Every test makes and logs in several users; the production hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def bank(db: None) -> None:
    bank_sync(contents=shipped_bank(), source_root=FIXTURES.parent)


@pytest.fixture
def course(db: None) -> Course:
    return make_course("dlcv")


@pytest.fixture
def instructor(course: Course) -> User:
    return make_member(course, Role.INSTRUCTOR)


@pytest.fixture
def staff_client(instructor: User) -> Client:
    client = Client()
    assert client.login(username=instructor.username, password=PASSWORD)
    return client


def login(user: User) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def url(name: str, course: Course, *args: Any) -> str:
    return reverse(name, args=[course.slug, *args])


def answer(version: QuestionVersion, course: Course) -> AttemptItem:
    assessment, _ = Assessment.objects.get_or_create(course=course, slug="answered", defaults={"title": "answered"})
    attempt = Attempt.objects.create(assessment=assessment, user=make_member(course), started_at=timezone.now())
    return AttemptItem.objects.create(attempt=attempt, position=1, question_version=version, response={"choice": 0})


def source_of(bank_id: str) -> str:
    return Question.objects.get(bank_id=bank_id).current_version.source_text


# --------------------------------------------------------------------------- access


def all_pages(course: Course, assessment: Assessment, item: AssessmentItem) -> list[tuple[str, str, dict[str, Any]]]:
    a, i = assessment.pk, item.pk
    return [
        ("get", url("instructor-bank", course), {}),
        ("get", url("instructor-question-new", course), {}),
        ("post", url("instructor-question-new", course), {"text": "x", "action": "save"}),
        ("post", url("instructor-question-preview", course), {"text": "x", "seed": 1}),
        ("get", url("instructor-question", course, SINGLE_ID), {}),
        ("get", url("instructor-question-edit", course, SINGLE_ID), {}),
        ("post", url("instructor-question-edit", course, SINGLE_ID), {"text": "x", "action": "save"}),
        ("get", url("instructor-question-download", course, SINGLE_ID), {}),
        ("get", url("instructor-bank-download", course), {}),
        ("get", url("instructor-bank-sync", course), {}),
        ("post", url("instructor-bank-conflict-resolve", course, SINGLE_ID), {"keep": "file"}),
        ("get", url("instructor-assessments", course), {}),
        ("get", url("instructor-assessment-new", course), {}),
        ("post", url("instructor-assessment-new", course), {"title": "t", "slug": "t", "mode": "practice"}),
        ("get", url("instructor-assessment", course, a), {}),
        ("post", url("instructor-assessment", course, a), {"title": "t", "slug": "t", "mode": "practice"}),
        ("post", url("instructor-assessment-item-add", course, a), {"kind": "question", "bank_id": SINGLE_ID}),
        ("post", url("instructor-assessment-item-move", course, a, i), {"direction": "down"}),
        ("post", url("instructor-assessment-item-remove", course, a, i), {}),
        ("post", url("instructor-assessment-extension", course, a), {"user": 1, "extra_minutes": 5}),
        ("post", url("instructor-assessment-release", course, a), {}),
    ]


@pytest.fixture
def built(course: Course, instructor: User, bank: None) -> tuple[Assessment, AssessmentItem]:
    assessment = assessment_create(course=course, user=instructor, title="Quiz", slug="quiz")
    item = assessment_item_add(assessment=assessment, question=Question.objects.get(bank_id=SINGLE_ID))
    assessment_item_add(assessment=assessment, question=Question.objects.get(bank_id=PARAM_ID))
    return assessment, item


@pytest.mark.django_db
def test_students_get_403_on_every_instructor_page_and_change_nothing(course: Course, built: Any) -> None:
    assessment, item = built
    before = (Question.objects.count(), QuestionVersion.objects.count(), AssessmentItem.objects.count(),
              Assessment.objects.count(), Extension.objects.count())
    client = login(make_member(course, Role.STUDENT))
    for method, address, data in all_pages(course, assessment, item):
        response = getattr(client, method)(address, data)
        assert response.status_code == 403, (method, address, response.status_code)
    assert (Question.objects.count(), QuestionVersion.objects.count(), AssessmentItem.objects.count(),
            Assessment.objects.count(), Extension.objects.count()) == before
    assert Assessment.objects.get(pk=assessment.pk).results_released_at is None


@pytest.mark.django_db
def test_instructor_of_another_course_gets_404(course: Course, built: Any) -> None:
    assessment, item = built
    other_course = make_course("other")
    client = login(make_member(other_course, Role.INSTRUCTOR))
    for method, address, data in all_pages(course, assessment, item):
        response = getattr(client, method)(address, data)
        assert response.status_code == 404, (method, address, response.status_code)
    # Through their own course, this course's assessment does not exist either.
    for method, address, data in all_pages(other_course, assessment, item):
        if "/assessments/" in address and not address.endswith(("/assessments/", "/new/")):
            assert getattr(client, method)(address, data).status_code == 404, address


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_log_in(course: Course, built: Any) -> None:
    assessment, item = built
    scripts_only = {url("instructor-question-preview", course)}  # the editor's script: 401 JSON, no page
    for method, address, data in all_pages(course, assessment, item):
        response = getattr(Client(), method)(address, data)
        if address in scripts_only:
            assert response.status_code == 401 and response.json()["code"] == "login_required", address
            continue
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], address


@pytest.mark.django_db
def test_teaching_assistants_may_use_the_pages(course: Course, bank: None) -> None:
    client = login(make_member(course, Role.TA))
    assert client.get(url("instructor-bank", course)).status_code == 200
    assert client.get(url("instructor-assessments", course)).status_code == 200


@pytest.mark.django_db
def test_course_page_links_the_instructor_pages(course: Course, staff_client: Client) -> None:
    html = staff_client.get(reverse("instructor-course", args=[course.slug])).content.decode()
    assert url("instructor-bank", course) in html and url("instructor-assessments", course) in html


# --------------------------------------------------------------------------- bank browser


def rows(html: str) -> list[str]:
    return re.findall(r"<tr(?: class=\"retired\")?>\s*<td><code>([a-z0-9-]+)</code>", html)


@pytest.mark.django_db
def test_bank_list_pages_by_50_in_a_bounded_number_of_queries(
    course: Course, staff_client: Client, bank: None, django_assert_max_num_queries: Any
) -> None:
    total = Question.objects.filter(retired=False).count()
    assert total > 100
    with django_assert_max_num_queries(12):
        response = staff_client.get(url("instructor-bank", course))
    html = response.content.decode()
    assert len(rows(html)) == 50
    assert f"{total} questions" in html or str(total) in html
    with django_assert_max_num_queries(12):
        page2 = staff_client.get(url("instructor-bank", course), {"page": 2, "type": "single"})
    singles = Question.objects.filter(type="single", retired=False).count()
    assert len(rows(page2.content.decode())) == singles - 50 > 0
    first_row = re.search(r"<tr>\s*<td><code>[a-z0-9-]+</code>.*?</tr>", html, re.S)
    assert first_row is not None
    assert re.search(r"<td>v\d+</td>", first_row.group(0))
    assert "/edit/" in first_row.group(0)


@pytest.mark.django_db
def test_bank_search_and_filters(course: Course, staff_client: Client, bank: None) -> None:
    def ids(**params: Any) -> set[str]:
        return set(rows(staff_client.get(url("instructor-bank", course), params).content.decode()))

    assert ids(q="dead-relu") == {SINGLE_ID}
    assert SINGLE_ID in ids(q="Dead ReLU")  # title
    assert SINGLE_ID in ids(q="神經元死亡")  # prompt text
    assert ids(topic="convolution", type="param") == {PARAM_ID}
    assert ids(type="matrix") == set(Question.objects.filter(type="matrix").values_list("bank_id", flat=True)[:50])
    by_tag = ids(tag="dead-relu")
    assert SINGLE_ID in by_tag and all("relu" in bank_id or "act" in bank_id for bank_id in by_tag)
    difficulty_3 = ids(difficulty=3, topic="activations")
    expected = {q.bank_id for q in Question.objects.filter(topic__slug="activations").select_related("current_version")
                if q.current_version.difficulty == 3}
    assert difficulty_3 == expected
    Question.objects.filter(bank_id=SINGLE_ID).update(retired=True)
    assert SINGLE_ID not in ids(q="dead-relu")
    assert ids(q="dead-relu", retired="retired") == {SINGLE_ID}
    assert ids(q="dead-relu", retired="all") == {SINGLE_ID}
    # A bad filter value is reported, not a crash.
    assert staff_client.get(url("instructor-bank", course), {"topic": "nope"}).status_code == 200


# --------------------------------------------------------------------------- preview


BROKEN = """---
id: act-dead-relu-05
type: single
topic: activations
title: 'x'
difficulty: 7
choices:
  - text: 'a'
    correct: true
  - text: 'b'
    corect: true
---
Prompt $x^2$.

::: explanation
Because.
:::
"""


def preview(client: Client, course: Course, text: str, seed: int = 1, **extra: Any) -> dict[str, Any]:
    response = client.post(url("instructor-question-preview", course), {"text": text, "seed": seed, **extra})
    assert response["Content-Type"] == "application/json"
    return response.json()


@pytest.mark.django_db
def test_preview_reports_errors_with_their_lines(course: Course, staff_client: Client, bank: None) -> None:
    data = preview(staff_client, course, BROKEN)
    assert data["valid"] is False and data["html"] == ""
    lines = {(error["line"], error["message"].split(" ")[0]) for error in data["errors"]}
    messages = {error["line"]: error["message"] for error in data["errors"]}
    assert 6 in messages and "difficulty" in messages[6]
    assert 11 in messages and "corect" in messages[11]
    assert lines
    # The id check of the editor shows up in the same list.
    renamed = preview(staff_client, course, BROKEN.replace("act-dead-relu-05", "renamed"), bank_id=SINGLE_ID)
    assert any(e["line"] == 2 and "must stay" in e["message"] for e in renamed["errors"])


@pytest.mark.django_db
def test_bank_errors_are_worded_in_the_request_language(course: Course, staff_client: Client, bank: None) -> None:
    """The validator's messages (format.py, render.py, authoring.py) follow the request's language;
    YAML keys and values stay as written."""
    broken = BROKEN.replace("Prompt $x^2$.", "Prompt $\\frac{1$.")

    def errors(text: str, language: str) -> dict[int, str]:
        response = staff_client.post(url("instructor-question-preview", course),
                                     {"text": text, "seed": 1, "bank_id": SINGLE_ID}, HTTP_ACCEPT_LANGUAGE=language)
        return {error["line"]: error["message"] for error in response.json()["errors"]}

    zh = errors(broken, "zh-hant")
    assert zh[6] == "'difficulty' 必須介於 1 到 3 之間，不能是 7"
    assert zh[11] == "第 2 個選項：未知的鍵 'corect'（是不是要寫 'correct'？）"
    assert zh[13] == "LaTeX 無法呈現（大括號不成對：有 1 個 '{' 沒有關閉）：'\\\\frac{1'"
    renamed = errors(broken.replace("id: act-dead-relu-05", "id: renamed"), "zh-TW,zh;q=0.9,en;q=0.8")
    assert renamed[2].startswith("id 必須維持 'act-dead-relu-05'：") and "「新增題目」" in renamed[2]

    en = errors(broken, "en")
    assert en[6] == "'difficulty' must be between 1 and 3, not 7"
    assert en[11] == "choice 2: unknown key 'corect' (did you mean 'correct'?)"
    assert en[13] == "LaTeX cannot be rendered (unbalanced braces: 1 '{' not closed): '\\\\frac{1'"
    assert en.keys() == zh.keys()

    # The editor page (the preview button without JavaScript) words them the same way.
    page = staff_client.post(url("instructor-question-edit", course, SINGLE_ID),
                             {"text": broken, "seed": 5, "action": "preview"}, HTTP_ACCEPT_LANGUAGE="zh-hant")
    html = page.content.decode()
    assert "act-dead-relu-05.md:6" in html and "必須介於 1 到 3 之間，不能是 7" in html and "未知的鍵" in html
    assert "must be between" not in html and "unknown key" not in html


@pytest.mark.django_db
def test_preview_of_a_good_question_has_mathml_choices_in_seed_order_and_the_explanation(
    course: Course, staff_client: Client, bank: None
) -> None:
    data = preview(staff_client, course, source_of(SINGLE_ID), seed=3)
    assert data["valid"] is True and data["errors"] == []
    html = data["html"]
    assert MATHML in html
    assert "correct" in html and "dead ReLU" in html
    assert "Leaky ReLU" in html  # the explanation
    from grader.questions import choice_order

    version = Question.objects.get(bank_id=SINGLE_ID).current_version
    order = [int(n) - 1 for n in re.findall(r"option (\d+) in the file", html)]
    assert order == choice_order(version.spec, 3) * 2  # as written, then in English, in the same order
    # The question's English (its ::: en block) is laid out below it, marked as English.
    english = version.translations["en"]
    assert "The question in English" in html
    assert f'<h3 class="q-title" lang="en">{english["title"]}</h3>' in html


@pytest.mark.django_db
def test_preview_of_a_param_question_differs_by_seed_and_shows_answers(
    course: Course, staff_client: Client, bank: None
) -> None:
    text = source_of(PARAM_ID)
    first, second = preview(staff_client, course, text, seed=1), preview(staff_client, course, text, seed=2)
    assert first["valid"] and second["valid"]

    def variant(html: str) -> str:
        match = re.search(r'<div class="variant-statement">(.*?)</div>', html, re.S)
        assert match is not None
        return match.group(1)

    assert MATHML in variant(first["html"])
    assert variant(first["html"]) != variant(second["html"])
    assert "Worked solution" in first["html"] or "worked" in first["html"].lower()
    assert 'class="answer"' in first["html"]


@pytest.mark.django_db
def test_preview_rejects_unknown_family_constraints(course: Course, staff_client: Client, bank: None) -> None:
    text = source_of(PARAM_ID).replace("family: conv-by-hand\n", "family: conv-by-hand\nconstraints: {sizes: 3}\n")
    data = preview(staff_client, course, text)
    assert not data["valid"]
    assert any(e["line"] == 10 and "constraints" in e["message"] for e in data["errors"]), data["errors"]


@pytest.mark.django_db
def test_preview_without_text_is_a_400_with_an_error(course: Course, staff_client: Client) -> None:
    response = staff_client.post(url("instructor-question-preview", course), {"seed": 1})
    assert response.status_code == 400 and response.json()["valid"] is False


# --------------------------------------------------------------------------- editor and saving


@pytest.mark.django_db
def test_editor_shows_the_source_in_a_textarea_with_a_preview(course: Course, staff_client: Client, bank: None) -> None:
    response = staff_client.get(url("instructor-question-edit", course, SINGLE_ID))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<textarea name="text"' in html and "id: act-dead-relu-05" in html
    assert "js/question_editor.js" in html and "css/instructor.css" in html
    assert MATHML in html
    assert url("instructor-question-download", course, SINGLE_ID) in html


@pytest.mark.django_db
def test_exam_questions_are_read_only(course: Course, staff_client: Client, bank: None) -> None:
    exam = Question.objects.filter(topic__slug="past-exams").first()
    assert exam is not None
    response = staff_client.get(url("instructor-question-edit", course, exam.bank_id))
    html = response.content.decode()
    assert response.status_code == 200 and "<textarea" not in html and "fixtures/exams" in html
    assert "Key points" in html
    refused = staff_client.post(url("instructor-question-edit", course, exam.bank_id),
                                {"text": source_of(SINGLE_ID), "action": "save"})
    assert refused.status_code == 400
    assert staff_client.get(url("instructor-question-download", course, exam.bank_id)).status_code == 404


@pytest.mark.django_db
def test_preview_button_without_javascript_rerenders_the_page(course: Course, staff_client: Client, bank: None) -> None:
    text = source_of(SINGLE_ID).replace("Dead ReLU 問題", "Dead ReLU edited")
    response = staff_client.post(url("instructor-question-edit", course, SINGLE_ID),
                                 {"text": text, "seed": 5, "action": "preview"})
    html = response.content.decode()
    assert response.status_code == 200 and "Dead ReLU edited" in html and MATHML in html
    assert Question.objects.get(bank_id=SINGLE_ID).current_version.title == "Dead ReLU 問題"  # not saved
    broken = staff_client.post(url("instructor-question-edit", course, SINGLE_ID),
                               {"text": BROKEN, "seed": 5, "action": "preview"}).content.decode()
    assert "act-dead-relu-05.md:6" in broken and "act-dead-relu-05.md:11" in broken
    random_seed = staff_client.post(url("instructor-question-edit", course, SINGLE_ID),
                                    {"text": text, "seed": 5, "action": "random-seed"})
    assert random_seed.status_code == 200


@pytest.mark.django_db
def test_saving_an_unanswered_question_updates_its_version_in_place(
    course: Course, staff_client: Client, bank: None
) -> None:
    question = Question.objects.get(bank_id=SINGLE_ID)
    version = question.current_version
    text = version.source_text.replace("Dead ReLU 問題", "Dead ReLU（改）")
    response = staff_client.post(url("instructor-question-edit", course, SINGLE_ID),
                                 {"text": text, "seed": 1, "action": "save"}, follow=True)
    assert "Saved as version 1" in response.content.decode()
    question.refresh_from_db()
    assert question.current_version_id == version.pk and question.versions.count() == 1
    assert question.current_version.title == "Dead ReLU（改）"
    assert question.source_path == f"fixtures/bank/activations/{SINGLE_ID}.md"  # unchanged


@pytest.mark.django_db
def test_saving_an_answered_question_makes_version_2_and_the_attempt_keeps_version_1(
    course: Course, staff_client: Client, bank: None
) -> None:
    question = Question.objects.get(bank_id=SINGLE_ID)
    old = question.current_version
    attempt_item = answer(old, course)
    text = old.source_text.replace("Dead ReLU 問題", "Dead ReLU v2")
    response = staff_client.post(url("instructor-question-edit", course, SINGLE_ID),
                                 {"text": text, "seed": 1, "action": "save"}, follow=True)
    assert "Saved as version 2" in response.content.decode()
    question.refresh_from_db()
    assert question.current_version.number == 2 and question.current_version.title == "Dead ReLU v2"
    attempt_item.refresh_from_db()
    assert attempt_item.question_version_id == old.pk
    old.refresh_from_db()
    assert old.number == 1 and old.title == "Dead ReLU 問題"
    # Saving the same text again changes nothing; the download is the saved text.
    again = question_save_source(user=User.objects.first(), question=question, text=text)
    assert again.number == 2 and question.versions.count() == 2
    download = staff_client.get(url("instructor-question-download", course, SINGLE_ID))
    assert download["Content-Disposition"] == f'attachment; filename="{SINGLE_ID}.md"'
    assert download.content.decode() == text


@pytest.mark.django_db
def test_saving_with_a_changed_id_is_refused_with_a_message(course: Course, staff_client: Client, bank: None) -> None:
    before = source_of(SINGLE_ID)
    text = before.replace(f"id: {SINGLE_ID}", "id: something-else")
    response = staff_client.post(url("instructor-question-edit", course, SINGLE_ID),
                                 {"text": text, "seed": 1, "action": "save"})
    html = response.content.decode()
    assert response.status_code == 400
    assert f"{SINGLE_ID}.md:2" in html and "must stay" in html
    assert source_of(SINGLE_ID) == before and not Question.objects.filter(bank_id="something-else").exists()


@pytest.mark.django_db
def test_the_type_of_an_answered_question_cannot_change(course: Course, staff_client: Client, bank: None) -> None:
    question = Question.objects.get(bank_id=SINGLE_ID)
    answer(question.current_version, course)
    text = question.current_version.source_text.replace("type: single", "type: multiple")
    response = staff_client.post(url("instructor-question-edit", course, SINGLE_ID),
                                 {"text": text, "seed": 1, "action": "save"})
    assert response.status_code == 400 and "cannot change" in response.content.decode()


@pytest.mark.parametrize("qtype", QUESTION_TYPES)
@pytest.mark.django_db
def test_every_new_question_template_is_valid(qtype: str, bank: None) -> None:
    from grader.problems import all_families

    text = question_template(qtype=qtype, topic=default_template_topic())
    source = parse_question(text, "new.md", topics=set(Topic.objects.values_list("slug", flat=True)),
                            known_families={family.name for family in all_families()})
    assert source.type == qtype


@pytest.mark.django_db
def test_new_question_from_a_template(course: Course, staff_client: Client, bank: None) -> None:
    page = staff_client.get(url("instructor-question-new", course), {"type": "numeric"}).content.decode()
    assert "type: numeric" in page and "id: new-numeric-question" in page
    text = question_template(qtype="numeric", topic="activations").replace("new-numeric-question", "relu-new-01")
    response = staff_client.post(url("instructor-question-new", course), {"text": text, "seed": 1, "action": "save"})
    assert response.status_code == 302
    question = Question.objects.get(bank_id="relu-new-01")
    assert question.current_version.number == 1 and question.type == "numeric"
    assert question.source_path == "fixtures/bank/activations/relu-new-01.md"
    duplicate = staff_client.post(url("instructor-question-new", course), {"text": text, "action": "save"})
    assert duplicate.status_code == 400 and "already in the bank" in duplicate.content.decode()


@pytest.mark.django_db
def test_question_view_page(course: Course, staff_client: Client, bank: None) -> None:
    response = staff_client.get(url("instructor-question", course, PARAM_ID), {"seed": 7})
    html = response.content.decode()
    assert response.status_code == 200 and "Generated variant for seed 7" in html and MATHML in html
    assert "v1" in html


# --------------------------------------------------------------------------- assessment builder


def taipei(*args: int) -> datetime:
    return datetime(*args, tzinfo=TAIPEI)


SETTINGS = {"title": "Midterm", "slug": "midterm", "description": "", "mode": "exam",
            "opens_at": "2025-05-01T09:00", "closes_at": "2025-05-01T12:00", "time_limit_minutes": "90"}


@pytest.mark.django_db
def test_assessment_create_in_the_course_time_zone(course: Course, staff_client: Client) -> None:
    response = staff_client.post(url("instructor-assessment-new", course), SETTINGS)
    assessment = Assessment.objects.get(course=course, slug="midterm")
    assert response.status_code == 302 and response["Location"] == url("instructor-assessment", course, assessment.pk)
    assert assessment.opens_at == taipei(2025, 5, 1, 9, 0) and assessment.closes_at == taipei(2025, 5, 1, 12, 0)
    assert assessment.mode == AssessmentMode.EXAM and assessment.time_limit_minutes == 90
    page = staff_client.get(url("instructor-assessment", course, assessment.pk)).content.decode()
    assert 'value="2025-05-01T09:00"' in page  # shown back in Taipei time
    listing = staff_client.get(url("instructor-assessments", course)).content.decode()
    assert "Midterm" in listing and "2025-05-01 09:00" in listing


@pytest.mark.django_db
def test_assessment_validation_messages(course: Course, staff_client: Client) -> None:
    closes_first = staff_client.post(url("instructor-assessment-new", course),
                                     {**SETTINGS, "closes_at": "2025-05-01T08:00"})
    assert closes_first.status_code == 400 and "must be after the opening time" in closes_first.content.decode()
    bad = staff_client.post(url("instructor-assessment-new", course),
                            {**SETTINGS, "slug": "not a slug", "title": "", "opens_at": "tomorrow"})
    assert bad.status_code == 400
    assert bad.content.decode().count('class="error"') >= 3
    staff_client.post(url("instructor-assessment-new", course), SETTINGS)
    duplicate = staff_client.post(url("instructor-assessment-new", course), SETTINGS)
    assert duplicate.status_code == 400 and "already has an assessment with this slug" in duplicate.content.decode()
    # The same slug in another course is fine.
    other = make_course("other")
    assessment_create(course=other, user=make_member(other, Role.INSTRUCTOR), title="M", slug="midterm")
    assert Assessment.objects.filter(slug="midterm").count() == 2


@pytest.mark.django_db
def test_exam_without_time_limit_or_window_is_allowed_but_warned(course: Course, staff_client: Client) -> None:
    response = staff_client.post(url("instructor-assessment-new", course),
                                 {**SETTINGS, "opens_at": "", "closes_at": "", "time_limit_minutes": ""}, follow=True)
    html = response.content.decode()
    assert response.status_code == 200 and Assessment.objects.filter(slug="midterm").exists()
    assert "no time limit" in html and "no complete window" in html


@pytest.mark.django_db
def test_assessment_settings_update(course: Course, staff_client: Client, instructor: User) -> None:
    assessment = assessment_create(course=course, user=instructor, title="A", slug="a")
    assessment_create(course=course, user=instructor, title="B", slug="b")
    taken = staff_client.post(url("instructor-assessment", course, assessment.pk), {**SETTINGS, "slug": "b"})
    assert taken.status_code == 400 and "already has an assessment" in taken.content.decode()
    response = staff_client.post(url("instructor-assessment", course, assessment.pk),
                                 {**SETTINGS, "published": "on", "shuffle_questions": "on"})
    assert response.status_code == 302
    assessment.refresh_from_db()
    assert assessment.slug == "midterm" and assessment.published and assessment.shuffle_questions
    assert assessment.practice_reveal_after == 3  # left empty: the default
    page = staff_client.get(url("instructor-assessment", course, assessment.pk)).content.decode()
    assert "tries before the solution is shown" in page
    staff_client.post(url("instructor-assessment", course, assessment.pk), {**SETTINGS, "practice_reveal_after": "5"})
    assessment.refresh_from_db()
    assert assessment.practice_reveal_after == 5
    refused = staff_client.post(url("instructor-assessment", course, assessment.pk),
                                {**SETTINGS, "practice_reveal_after": "0"})
    assert refused.status_code == 400


@pytest.mark.django_db
def test_an_assessment_in_english_for_english_pages(course: Course, staff_client: Client) -> None:
    staff_client.post(url("instructor-assessment-new", course),
                      {**SETTINGS, "title": "期中考", "title_en": "Midterm exam", "description_en": "Closed book.",
                       "published": "on"})
    assessment = Assessment.objects.get(course=course, slug="midterm")
    assert assessment.translations == {"en": {"title": "Midterm exam", "description": "Closed book."}}
    page = staff_client.get(url("instructor-assessment", course, assessment.pk)).content.decode()
    assert 'value="Midterm exam"' in page  # shown back for editing
    reader = login(make_member(course, Role.STUDENT, username="sam"))
    for lang, title in (("en", '<h1 lang="en">Midterm exam</h1>'), ("zh-hant", '<h1 lang="zh-Hant">期中考</h1>')):
        reader.cookies["django_language"] = lang
        landing = reader.get(reverse("assessment-landing", args=[course.slug, "midterm"])).content.decode()
        assert title in landing, lang
    # Clearing the English shows the title as written, marked, on English pages.
    staff_client.post(url("instructor-assessment", course, assessment.pk), {**SETTINGS, "title": "期中考", "published": "on"})
    assessment.refresh_from_db()
    assert assessment.translations == {}
    reader.cookies["django_language"] = "en"
    landing = reader.get(reverse("assessment-landing", args=[course.slug, "midterm"])).content.decode()
    assert '<h1 lang="zh-Hant">期中考</h1>' in landing


@pytest.mark.django_db
def test_add_questions_and_pools_reorder_and_remove(
    course: Course, staff_client: Client, instructor: User, bank: None
) -> None:
    assessment = assessment_create(course=course, user=instructor, title="Quiz", slug="quiz")
    add = url("instructor-assessment-item-add", course, assessment.pk)
    assert staff_client.post(add, {"kind": "question", "bank_id": SINGLE_ID}).status_code == 302
    again = staff_client.post(add, {"kind": "question", "bank_id": SINGLE_ID})
    assert again.status_code == 400 and "already in the assessment" in again.content.decode()
    missing = staff_client.post(add, {"kind": "question", "bank_id": "no-such-question"})
    assert missing.status_code == 400 and "No question has this bank id" in missing.content.decode()

    activations = Question.objects.filter(topic__slug="activations", retired=False).count()
    too_many = staff_client.post(add, {"kind": "pool", "pool_topic": "activations", "pool_count": activations})
    # One activations question is already fixed in the assessment, so one fewer is available.
    assert too_many.status_code == 400
    assert f"only {activations - 1} are available" in too_many.content.decode()
    assert staff_client.post(add, {"kind": "pool", "pool_topic": "activations", "pool_count": 2}).status_code == 302
    tagged = staff_client.post(add, {"kind": "pool", "pool_topic": "activations", "pool_tag": "relu", "pool_count": 50})
    assert tagged.status_code == 400 and "[relu]" in tagged.content.decode()
    assert staff_client.post(add, {"kind": "question", "bank_id": PARAM_ID, "points": "4"}).status_code == 302

    def order() -> list[str]:
        return [item.question.bank_id if item.question else f"pool:{item.pool_topic.slug}"
                for item in assessment.items.select_related("question", "pool_topic").order_by("position")]

    assert order() == [SINGLE_ID, "pool:activations", PARAM_ID]
    last = assessment.items.get(position=3)
    move = url("instructor-assessment-item-move", course, assessment.pk, last.pk)
    assert staff_client.post(move, {"direction": "up"}).status_code == 302
    assert order() == [SINGLE_ID, PARAM_ID, "pool:activations"]
    staff_client.post(move, {"direction": "up"})
    staff_client.post(move, {"direction": "up"})  # already first: nothing happens
    assert order() == [PARAM_ID, SINGLE_ID, "pool:activations"]
    assert staff_client.post(move, {"direction": "sideways"}).status_code == 400

    pool = assessment.items.get(pool_topic__isnull=False)
    page = staff_client.get(url("instructor-assessment", course, assessment.pk), {"find": "conv-by-hand"}).content.decode()
    assert "Pool: 2 from activations" in page and f"({activations - 1} available)" in page
    assert PARAM_ID in page and "Move item 1 up" in page
    remove = url("instructor-assessment-item-remove", course, assessment.pk, assessment.items.get(position=1).pk)
    assert staff_client.post(remove).status_code == 302
    assert order() == [SINGLE_ID, "pool:activations"]
    assert list(assessment.items.order_by("position").values_list("position", flat=True)) == [1, 2]
    pool.refresh_from_db()
    assert pool.position == 2


@pytest.mark.django_db
def test_item_services_keep_positions_contiguous(course: Course, instructor: User, bank: None) -> None:
    assessment = assessment_create(course=course, user=instructor, title="Q", slug="q")
    ids = list(Question.objects.filter(topic__slug="pooling", retired=False).values_list("bank_id", flat=True)[:4])
    items = [assessment_item_add(assessment=assessment, question=Question.objects.get(bank_id=i)) for i in ids]
    assessment_item_move(item=items[0], direction="down")
    assessment_item_move(item=items[3], direction="down")  # last: no-op
    assessment_item_remove(item=AssessmentItem.objects.get(pk=items[2].pk))
    rows = list(assessment.items.order_by("position").values_list("position", "question__bank_id"))
    assert rows == [(1, ids[1]), (2, ids[0]), (3, ids[3])]


@pytest.mark.django_db
def test_extension_set_and_removed(course: Course, staff_client: Client, instructor: User) -> None:
    assessment = assessment_create(course=course, user=instructor, title="Exam", slug="exam",
                                   mode=AssessmentMode.EXAM, time_limit_minutes=60)
    student = make_member(course, Role.STUDENT, username="alice")
    address = url("instructor-assessment-extension", course, assessment.pk)
    page = staff_client.get(url("instructor-assessment", course, assessment.pk)).content.decode()
    assert f'<option value="{student.pk}">' in page
    assert staff_client.post(address, {"user": student.pk, "extra_minutes": 30}).status_code == 302
    assert Extension.objects.get(assessment=assessment, user=student).extra_minutes == 30
    assert staff_client.post(address, {"user": student.pk, "extra_minutes": 45}).status_code == 302
    assert Extension.objects.get(assessment=assessment, user=student).extra_minutes == 45
    assert staff_client.post(address, {"user": instructor.pk, "extra_minutes": 5}).status_code == 400
    assert staff_client.post(address, {"user": student.pk, "extra_minutes": -5}).status_code == 400
    assert staff_client.post(address, {"user": student.pk, "extra_minutes": 0}).status_code == 302
    assert not Extension.objects.filter(assessment=assessment).exists()


@pytest.mark.django_db
def test_release_results(course: Course, staff_client: Client, instructor: User) -> None:
    assessment = assessment_create(course=course, user=instructor, title="Exam", slug="exam", mode=AssessmentMode.EXAM)
    page = staff_client.get(url("instructor-assessment", course, assessment.pk)).content.decode()
    assert "Release results now" in page
    before = timezone.now()
    response = staff_client.post(url("instructor-assessment-release", course, assessment.pk), follow=True)
    assessment.refresh_from_db()
    assert assessment.results_released_at is not None and assessment.results_released_at >= before
    first = assessment.results_released_at
    assert "Results released at" in response.content.decode()
    staff_client.post(url("instructor-assessment-release", course, assessment.pk))
    assessment.refresh_from_db()
    assert assessment.results_released_at == first  # releasing again keeps the first time
    assert timezone.localtime(first, TAIPEI).utcoffset() == timedelta(hours=8)


# --------------------------------------------------------------------------- in a browser


def chromium_path() -> str | None:
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_live_preview_and_error_lines_in_chromium(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Typing updates the errors and the preview (debounced); a 375 px wide page does not scroll sideways."""
    from playwright import sync_api

    if chromium_path() is None:
        conftest.service_missing("Chromium (apt-get install chromium)")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    bank_sync(contents=shipped_bank(), source_root=FIXTURES.parent)
    course = make_course("dlcv")
    client = login(make_member(course, Role.INSTRUCTOR))
    session = client.cookies["sessionid"].value
    good = source_of(PARAM_ID)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path())
        try:
            context = browser.new_context(viewport={"width": 375, "height": 800})
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            page = context.new_page()
            page.goto(live_server.url + url("instructor-question-edit", course, PARAM_ID))
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            first_variant = page.inner_html(".variant-statement")
            page.fill("#id_text", good.replace("difficulty: 2", "difficulty: 9"))
            page.wait_for_selector(".error-list a[data-line='6']", timeout=5000)
            assert "stale" in (page.get_attribute("#preview", "class") or "")
            page.click(".error-list a[data-line='6']")
            assert page.evaluate("document.activeElement.id") == "id_text"
            page.fill("#id_text", good)
            page.wait_for_selector("#editor-errors .ok", timeout=5000)
            page.click("#random-seed")
            page.wait_for_function("(old) => document.querySelector('.variant-statement').innerHTML !== old",
                                   arg=first_variant, timeout=5000)
            assert MATHML in page.inner_html(".variant-statement")
            for name in ("instructor-bank", "instructor-assessments"):
                page.goto(live_server.url + url(name, course))
                assert page.evaluate("document.documentElement.scrollWidth") <= 375, name
        finally:
            browser.close()
