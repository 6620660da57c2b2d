"""Rubric grading of exam essays: the services (apply/unapply, audit, concurrency, a rubric edit that
re-scores set-wise), the pages (queue with progress, one answer rendered safely, keys, next/previous,
anonymous mode), sections, and what the student sees once results are released."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Enrollment, Role, User
from accounts.services.courses import teaching_sections_set
from accounts.tests.factories import make_course, make_member
from quizzes.models import Attempt, AttemptItem, RubricApplication, RubricItem, ScoreChange
from quizzes.rubric import rubric_score
from quizzes.services.attempts import attempt_start, attempt_submit, attempt_totals
from quizzes.services.rubric import (
    essay_grade_with_rubric,
    grading_anonymous_set,
    rubric_item_create,
    rubric_item_update,
    rubric_seed_from_key_points,
)
from quizzes.tests.factories import load_shipped_bank, make_assessment, save_answer

ESSAY = "exam-109-q1"
NUMERIC = "act-dead-relu-05"
pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(settings: Any) -> dict[str, Any]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    load_shipped_bank()
    course = make_course("dlcv")
    exam = make_assessment(course, [ESSAY, NUMERIC])
    essays: dict[str, AttemptItem] = {}
    for name, section in (("ann", "A"), ("bo", "B"), ("cy", "A")):
        student = make_member(course, Role.STUDENT, username=name)
        Enrollment.objects.filter(user=student, course=course).update(section=section)
        attempt = attempt_start(user=student, assessment=exam)
        item = attempt.items.get(question_version__question__bank_id=ESSAY)
        save_answer(item, response={"text": f"{name}'s answer: **ReLU** <script>alert(1)</script> $x^2$"})
        attempt_submit(attempt=attempt)
        essays[name] = AttemptItem.objects.select_related("question_version__question").get(pk=item.pk)
    question = essays["ann"].question_version.question
    return {"course": course, "exam": exam, "essays": essays, "question": question,
            "instructor": make_member(course, Role.INSTRUCTOR, username="ian"),
            "ta": make_member(course, Role.TA, username="tara")}


def _expected_attempt_points(attempt_id: int) -> Decimal:
    attempt = Attempt.objects.select_related("assessment").get(pk=attempt_id)
    return attempt_totals(mode=attempt.assessment.mode,
                          items=attempt.items.select_related("question_version__question")).points.quantize(
        Decimal("0.001"))  # Attempt.points' precision


def test_the_rubric_is_seeded_from_the_key_points_once(world: dict[str, Any]) -> None:
    question = world["question"]
    version = question.current_version
    key_points = version.spec["key_points"]
    rubric = rubric_seed_from_key_points(question=question)
    assert [r.title for r in rubric] == [" ".join(p.split()) for p in key_points]
    assert all(r.points == (version.points / len(key_points)).quantize(Decimal("0.01")) for r in rubric)
    assert rubric[0].translations["en"]["title"]  # the English key point
    assert rubric_seed_from_key_points(question=question) == list(RubricItem.objects.filter(question=question))
    assert RubricItem.objects.filter(question=question).count() == len(key_points)


def test_apply_unapply_score_audit_and_double_submit(world: dict[str, Any]) -> None:
    item, teacher = world["essays"]["ann"], world["instructor"]
    plus = rubric_item_create(question=world["question"], title="Names the features", points="6")
    more = rubric_item_create(question=world["question"], title="Explains learning", points="5.5")
    minus = rubric_item_create(question=world["question"], title="Wrong claim", title_en="Wrong claim (en)", points="-2")
    change = essay_grade_with_rubric(item_id=item.pk, applied_ids=[plus.pk, minus.pk], adjustment="0.5",
                                     comment="Good start.", grader=teacher)
    item.refresh_from_db()
    expected = rubric_score(applied=[Decimal(6), Decimal(-2)], adjustment=Decimal("0.5"), max_points=item.max_points)
    assert item.score == expected and not item.needs_manual_grading
    assert change is not None and change.kind == "manual" and change.new_score == expected
    assert {p["name"]: p["points"] for p in item.feedback["parts"]} == {
        f"rubric-{plus.pk}": 6.0, f"rubric-{minus.pk}": -2.0, "adjustment": 0.5}
    assert item.feedback["message"]["en"] == "Good start." and item.feedback["graded_by"] == "ian"
    assert Attempt.objects.get(pk=item.attempt_id).points == _expected_attempt_points(item.attempt_id)
    # The same grade again (a double submit): nothing new in the audit.
    assert essay_grade_with_rubric(item_id=item.pk, applied_ids=[minus.pk, plus.pk], adjustment="0.50",
                                   comment="Good start.", grader=teacher) is None
    assert ScoreChange.objects.filter(item=item).count() == 1
    # Unapply the deduction, apply another: exactly those applied, a second audit entry.
    essay_grade_with_rubric(item_id=item.pk, applied_ids=[plus.pk, more.pk], adjustment="0", comment="",
                            grader=teacher)
    item.refresh_from_db()
    assert set(RubricApplication.objects.filter(item=item).values_list("rubric_item_id", flat=True)) == {plus.pk, more.pk}
    assert item.score == rubric_score(applied=[Decimal(6), Decimal("5.5")], adjustment=Decimal(0),
                                      max_points=item.max_points)
    assert ScoreChange.objects.filter(item=item).count() == 2
    # Clamped: a large adjustment never passes the maximum.
    essay_grade_with_rubric(item_id=item.pk, applied_ids=[plus.pk, more.pk], adjustment="100", comment="",
                            grader=teacher)
    item.refresh_from_db()
    assert item.score == Decimal(1)


def test_two_graders_on_one_answer_last_write_wins_both_audited(world: dict[str, Any]) -> None:
    item = world["essays"]["bo"]
    plus = rubric_item_create(question=world["question"], title="Point", points="4")
    essay_grade_with_rubric(item_id=item.pk, applied_ids=[plus.pk], adjustment=0, comment="one", grader=world["ta"])
    essay_grade_with_rubric(item_id=item.pk, applied_ids=[], adjustment=3, comment="two", grader=world["instructor"])
    item.refresh_from_db()
    assert item.feedback["graded_by"] == "ian" and item.feedback["message"]["en"] == "two"
    assert item.score == rubric_score(applied=[], adjustment=Decimal(3), max_points=item.max_points)
    assert list(ScoreChange.objects.filter(item=item).values_list("changed_by__username", flat=True)) == ["tara", "ian"]


def test_another_questions_rubric_item_is_refused(world: dict[str, Any]) -> None:
    from quizzes.models import Question
    from quizzes.services.rubric import RubricError

    other = Question.objects.exclude(pk=world["question"].pk).filter(type="essay").first()
    foreign = rubric_item_create(question=other, title="Elsewhere", points="3")
    with pytest.raises(RubricError):
        essay_grade_with_rubric(item_id=world["essays"]["ann"].pk, applied_ids=[foreign.pk], adjustment=0,
                                comment="", grader=world["instructor"])
    assert not RubricApplication.objects.exists()


def test_changing_an_items_points_rescores_everyone_it_was_applied_to(world: dict[str, Any]) -> None:
    essays, teacher, question = world["essays"], world["instructor"], world["question"]
    a = rubric_item_create(question=question, title="A", points="5")
    b = rubric_item_create(question=question, title="B", points="4")
    essay_grade_with_rubric(item_id=essays["ann"].pk, applied_ids=[a.pk, b.pk], adjustment=0, comment="", grader=teacher)
    essay_grade_with_rubric(item_id=essays["bo"].pk, applied_ids=[a.pk], adjustment="-1", comment="", grader=teacher)
    essay_grade_with_rubric(item_id=essays["cy"].pk, applied_ids=[b.pk], adjustment=0, comment="", grader=teacher)
    # cy at the maximum already: a's change re-scores ann and bo only.
    essay_grade_with_rubric(item_id=essays["cy"].pk, applied_ids=[b.pk], adjustment=20, comment="", grader=teacher)
    before = {name: AttemptItem.objects.get(pk=item.pk).score for name, item in essays.items()}
    changed = rubric_item_update(rubric_item_id=a.pk, title="A, stricter", points="2.5", changed_by=teacher)
    assert changed == 2
    after = {name: AttemptItem.objects.get(pk=item.pk) for name, item in essays.items()}
    max_points = after["ann"].max_points
    assert after["ann"].score == rubric_score(applied=[Decimal("2.5"), Decimal(4)], adjustment=Decimal(0),
                                              max_points=max_points)
    assert after["bo"].score == rubric_score(applied=[Decimal("2.5")], adjustment=Decimal(-1), max_points=max_points)
    assert after["cy"].score == before["cy"]
    audit = ScoreChange.objects.filter(kind="rubric").order_by("item_id")
    assert [(c.item_id, c.old_score, c.new_score) for c in audit] == sorted(
        (after[n].pk, before[n], after[n].score) for n in ("ann", "bo"))
    assert all(c.changed_by == teacher and "A, stricter" in c.reason for c in audit)
    for name in ("ann", "bo", "cy"):
        assert Attempt.objects.get(pk=after[name].attempt_id).points == _expected_attempt_points(after[name].attempt_id)
    part = next(p for p in after["ann"].feedback["parts"] if p["name"] == f"rubric-{a.pk}")
    assert part["points"] == 2.5 and part["label"]["zh-Hant"] == "A, stricter"
    assert after["ann"].feedback["score"] == pytest.approx(float(after["ann"].score))
    # Unchanged points: a title edit re-scores nobody and audits nothing.
    assert rubric_item_update(rubric_item_id=a.pk, title="A again", points="2.5", changed_by=teacher) == 0
    assert ScoreChange.objects.filter(kind="rubric").count() == 2


# --------------------------------------------------------------------------- pages


def test_queue_item_page_keys_next_and_progress(world: dict[str, Any]) -> None:
    course, essays, question = world["course"], world["essays"], world["question"]
    client = _client(world["instructor"])
    queue = client.get(reverse("instructor-grading-queue", args=[course.slug]))
    assert queue.status_code == 200
    [row] = queue.context["questions"]
    assert (row["question_id"], row["graded"], row["total"]) == (question.pk, 0, 3)
    start = client.get(reverse("instructor-grading-question", args=[course.slug, question.pk]))
    assert start.url == reverse("instructor-grading-item", args=[course.slug, essays["ann"].pk])
    page = client.get(start.url)
    html = page.content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<strong>ReLU</strong>" in html and "<math" in html  # Markdown and maths rendered
    assert not RubricItem.objects.exists()  # a GET writes nothing; the grader starts the rubric
    assert f'action="{reverse("instructor-grading-rubric-seed", args=[course.slug, question.pk])}"' in html
    seeded = client.post(reverse("instructor-grading-rubric-seed", args=[course.slug, question.pk]),
                         {"item": essays["ann"].pk})
    assert seeded.url == start.url
    page = client.get(start.url)
    html = page.content.decode()
    assert 'data-rubric-key="1"' in html and "ann" in html and 'aria-keyshortcuts="n"' in html
    rubric = list(RubricItem.objects.filter(question=question))
    assert rubric and page.context["page"]["following"].item_id == essays["bo"].pk
    saved = client.post(start.url, {"applied": [rubric[0].pk], "adjustment": "", "comment": "ok"})
    assert saved.status_code == 302
    assert saved.url == reverse("instructor-grading-item", args=[course.slug, essays["bo"].pk])
    assert not AttemptItem.objects.get(pk=essays["ann"].pk).needs_manual_grading
    [row] = client.get(reverse("instructor-grading-queue", args=[course.slug])).context["questions"]
    assert (row["graded"], row["total"]) == (1, 3)
    bo = client.get(saved.url)
    assert bo.context["page"]["previous"].item_id == essays["ann"].pk
    assert bo.context["page"]["next_ungraded"].item_id == essays["cy"].pk
    foreign = client.post(saved.url, {"applied": [999999], "comment": ""})
    assert foreign.status_code == 400


def test_anonymous_mode_hides_names_until_the_question_is_done(world: dict[str, Any]) -> None:
    course, essays = world["course"], world["essays"]
    teacher = world["instructor"]
    client = _client(teacher)
    client.post(reverse("instructor-grading-anonymous", args=[course.slug]), {"anonymous": "on"})
    url = reverse("instructor-grading-item", args=[course.slug, essays["bo"].pk])
    page = client.get(url)
    assert page.context["page"]["student"] == "Student 2" and "bo's" in page.content.decode()
    assert '<strong data-student>bo</strong>' not in page.content.decode()
    # Another grader, not anonymous, sees names; the labels are the same for every grader.
    assert _client(world["ta"]).get(url).context["page"]["student"] == "bo"
    for item in essays.values():
        essay_grade_with_rubric(item_id=item.pk, applied_ids=[], adjustment=1, comment="", grader=teacher)
    assert client.get(url).context["page"]["student"] == "bo"  # done: names shown
    grading_anonymous_set(user=teacher, anonymous=False)


def test_a_ta_of_section_a_cannot_open_or_grade_section_b_nor_change_the_rubric(world: dict[str, Any]) -> None:
    course, essays, ta, question = world["course"], world["essays"], world["ta"], world["question"]
    teaching_sections_set(course=course, user=ta, sections=["A"])
    client = _client(ta)
    url = lambda name: reverse("instructor-grading-item", args=[course.slug, essays[name].pk])  # noqa: E731
    assert client.get(url("ann")).status_code == 200
    assert client.get(url("bo")).status_code == 404
    assert client.post(url("bo"), {"adjustment": "3", "comment": "x"}).status_code == 404
    assert AttemptItem.objects.get(pk=essays["bo"].pk).needs_manual_grading
    [row] = client.get(reverse("instructor-grading-queue", args=[course.slug])).context["questions"]
    assert row["total"] == 2  # ann and cy
    page = client.get(url("ann"))
    assert page.context["page"]["following"].item_id == essays["cy"].pk
    rubric = reverse("instructor-grading-rubric", args=[course.slug, question.pk])
    assert client.get(rubric).status_code == 403
    first = rubric_item_create(question=question, title="One", points="1")
    assert client.post(rubric, {"rubric_item": first.pk, f"r{first.pk}-title": "x",
                                f"r{first.pk}-points": "0"}).status_code == 403
    assert _client(world["instructor"]).get(rubric).status_code == 200
    student = essays["ann"].attempt.user
    assert _client(student).get(url("ann")).status_code == 403


def test_rubric_page_adds_and_changes_items(world: dict[str, Any]) -> None:
    course, question, essays = world["course"], world["question"], world["essays"]
    client = _client(world["instructor"])
    url = reverse("instructor-grading-rubric", args=[course.slug, question.pk])
    assert client.get(url).status_code == 200
    added = client.post(url, {"action": "add", "new-title": "Deduction: off topic", "new-title_en": "",
                              "new-points": "-3"})
    assert added.status_code == 302
    item = RubricItem.objects.get(question=question, title="Deduction: off topic")
    assert item.points == Decimal(-3)
    essay_grade_with_rubric(item_id=essays["ann"].pk, applied_ids=[item.pk], adjustment=5, comment="",
                            grader=world["instructor"])
    changed = client.post(url, {"rubric_item": item.pk, f"r{item.pk}-title": "Off topic",
                                f"r{item.pk}-title_en": "Off topic (en)", f"r{item.pk}-points": "-1"})
    assert changed.status_code == 302
    assert ScoreChange.objects.filter(kind="rubric", item=essays["ann"]).count() == 1
    bad = client.post(url, {"action": "add", "new-title": "", "new-points": "x"})
    assert bad.status_code == 400


def test_the_student_sees_the_rubric_items_only_once_results_are_released(world: dict[str, Any]) -> None:
    essays, exam, question = world["essays"], world["exam"], world["question"]
    item = essays["ann"]
    point = rubric_item_create(question=question, title="說明特徵", title_en="Explains features", points="6")
    essay_grade_with_rubric(item_id=item.pk, applied_ids=[point.pk], adjustment="-1", comment="Cite the layer.",
                            grader=world["instructor"])
    student = _client(item.attempt.user)
    results = reverse("attempt-results", args=[item.attempt_id])
    hidden = student.get(results, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Explains features" not in hidden and "Cite the layer." not in hidden
    exam.results_released_at = timezone.now() - timedelta(minutes=1)
    exam.save(update_fields=["results_released_at"])
    shown = student.get(results + "?lang=en").content.decode()
    assert "Explains features: +6" in shown and "Adjustment: -1" in shown and "Cite the layer." in shown
    shown_zh = student.get(results + "?lang=zh-hant").content.decode()
    assert "說明特徵" in shown_zh


def test_a_rubric_edit_is_set_wise_its_queries_do_not_grow_with_the_answers(world: dict[str, Any]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    essays, teacher, question = world["essays"], world["instructor"], world["question"]
    one = rubric_item_create(question=question, title="One", points="2")
    three = rubric_item_create(question=question, title="Three", points="2")
    essay_grade_with_rubric(item_id=essays["ann"].pk, applied_ids=[one.pk, three.pk], adjustment=0, comment="",
                            grader=teacher)
    for name in ("bo", "cy"):
        essay_grade_with_rubric(item_id=essays[name].pk, applied_ids=[three.pk], adjustment=0, comment="",
                                grader=teacher)
    counts = []
    for rubric_item, answers in ((one, 1), (three, 3)):
        with CaptureQueriesContext(connection) as queries:
            assert rubric_item_update(rubric_item_id=rubric_item.pk, title=rubric_item.title, points="3",
                                      changed_by=teacher) == answers
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1]
    assert ScoreChange.objects.filter(kind="rubric").count() == 4


@pytest.mark.django_db(transaction=True)
def test_two_graders_at_the_same_moment_are_serialized_and_both_audited(world: dict[str, Any],
                                                                       postgres_required: None) -> None:
    import threading

    from django.db import connection

    item, question = world["essays"]["cy"], world["question"]
    plus = rubric_item_create(question=question, title="Point", points="4")
    graders = [(world["ta"], [plus.pk], "0"), (world["instructor"], [], "2")]
    start = threading.Barrier(len(graders))
    errors: list[BaseException] = []

    def grade(user: User, applied: list[int], adjustment: str) -> None:
        try:
            start.wait()
            essay_grade_with_rubric(item_id=item.pk, applied_ids=applied, adjustment=adjustment, comment=user.username,
                                    grader=user)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=grade, args=args) for args in graders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    final = AttemptItem.objects.get(pk=item.pk)
    audit = list(ScoreChange.objects.filter(item=item).order_by("id"))
    assert sorted(c.changed_by.username for c in audit) == ["ian", "tara"]
    last = audit[-1]
    # The last write wins, whole: its score, its comment, its items, and the audit chains old → new.
    assert final.score == last.new_score and final.feedback["message"]["en"] == last.changed_by.username
    assert audit[1].old_score == audit[0].new_score
    applied = set(RubricApplication.objects.filter(item=item).values_list("rubric_item_id", flat=True))
    assert applied == ({plus.pk} if last.changed_by.username == "tara" else set())
