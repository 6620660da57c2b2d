"""Who may open or act on every protected quizzes view, over HTTP: the whole rule as one table.

The rules (``quizzes.access``, ``accounts.access``, ``quizzes.instructor_selectors``):

* Student pages: members of the course (superusers count as its instructors); anyone else gets 404.
  An unpublished assessment exists only for the course's staff.
* Attempts: a student sees only their own (another's id is a 404, like an id that does not exist);
  the course's staff may READ a student's attempt, but never ACT on it (submit, save, check, variant,
  self-assessment are 404 for them too).
* Instructor pages: the course's TAs and instructors (and superusers); its students get 403, everyone
  else 404; an object of another course is a 404 even through the user's own course.
* Regrades: a student asks for a regrade of an item of their own attempt only (staff included in the
  404s); the request queue, its answer and the score log are the staff's (a TA limited to sections
  sees only their students' requests: another section's request is a 404); the class-wide regrade
  (preview, apply, its job's progress) and the course's regrade window are the instructors' (TAs 403).
* Anonymous users are sent to the login page, except by the endpoints only scripts ask (the quiz
  page's, the editor's preview, the class regrade's progress poll): 401 JSON.

Each cell is one request from a fresh client. Every cell also checks the database: a refused request
and every GET change nothing; an allowed write changes what it should (and goes where it should).
The world (courses, users, assessments, attempts) is built once for the module inside a transaction
that is rolled back at the end; each cell runs in a savepoint of its own (pytest-django's).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import Course, Enrollment, Role, TeachingSection, User
from accounts.tests.factories import make_course, make_member, make_user
from quizzes.instructor_selectors import question_template
from quizzes.models import (
    Assessment,
    AssessmentItem,
    AssessmentMode,
    Attempt,
    AttemptItem,
    AttemptStatus,
    BankFileConflict,
    Extension,
    PracticeRecord,
    Question,
    QuestionVersion,
    RegradeJob,
    RegradeJobItem,
    RegradeJobStatus,
    RegradeRequest,
    RegradeRequestEvent,
    RegradeRequestStatus,
    ScoreChange,
)
from quizzes.services.attempts import attempt_start, attempt_submit
from quizzes.services.bank import BankContents, bank_read, bank_sync, mock_exam_ensure
from quizzes.services.regrades import class_regrade_run, class_regrade_start, regrade_request_create
from quizzes.tests.factories import FIXTURES, make_assessment, save_answer
from quizzes.tests.regrade_world import correct_key

SINGLE = "act-dead-relu-05"
MULTIPLE = "cnn-weight-sharing-03"
NUMERIC = "bp-chain-rule-01"  # the right answer is -0.5
ESSAY = "exam-109-q1"
NEW_BANK_ID = "access-table-new-01"
CONFLICTED = "act-leaky-relu-06"  # load_bank found its file changed after a browser edit
IMPORTED_BANK_ID = "access-table-imported-01"
MOODLE_FILE = f"""<?xml version="1.0" encoding="UTF-8"?><quiz><question type="truefalse">
<name><text>Imported</text></name><idnumber>{IMPORTED_BANK_ID}</idnumber>
<questiontext format="html"><text>ReLU is linear for x &gt; 0.</text></questiontext>
<generalfeedback format="html"><text>Its slope is 1 there.</text></generalfeedback>
<answer fraction="100"><text>true</text></answer><answer fraction="0"><text>false</text></answer>
</question></quiz>"""

#: An anonymous page request: a 302 to the login page that comes back to the page.
LOGIN = "login"
WHO = ("anonymous", "owner", "classmate", "ta", "instructor", "other-instructor", "superuser")


# --------------------------------------------------------------------------- the world


@dataclass
class World:
    course: Course
    other_course: Course
    users: dict[str, User | None]
    classmate: User
    practice: Assessment  # published practice; the owner's attempt is open
    drill: Assessment  # published practice nobody has started (for "start")
    draft: Assessment  # unpublished practice (the builder pages work on it)
    exam: Assessment  # published exam; the owner's attempt is submitted, its essay waits for a grade
    other_exam: Assessment  # an exam of the other course, with a submitted essay
    practice_attempt: Attempt
    exam_attempt: Attempt
    classmate_attempt: Attempt
    numeric: AttemptItem  # the owner's practice items
    essay: AttemptItem
    exam_essay: AttemptItem
    exam_single: AttemptItem
    classmate_numeric: AttemptItem
    other_essay: AttemptItem
    other_student: User
    draft_first: AssessmentItem
    practice_item: AssessmentItem  # an item of another assessment than the draft
    past_exam: Assessment  # the 109 mock exam (a past exam: it has a study view)
    released: Assessment  # a released exam: the owner's attempt is submitted, SINGLE's key corrected since
    released_attempt: Attempt
    released_single: AttemptItem  # no regrade request yet (the owner asks for one)
    released_numeric: AttemptItem  # the owner's open regrade request is on it
    regrade_request: RegradeRequest  # open, the owner's (section A)
    other_regrade_request: RegradeRequest  # open, on the other course's essay
    regrade_job: RegradeJob  # done: the released exam's SINGLE, from its first version
    old_single: QuestionVersion  # SINGLE's version before the key was corrected

    @property
    def owner(self) -> User:
        user = self.users["owner"]
        assert user is not None
        return user


@cache
def _bank() -> BankContents:
    contents, errors = bank_read(fixtures_dir=FIXTURES)
    assert errors == []
    return contents


def _item(attempt: Attempt, bank_id: str) -> AttemptItem:
    return attempt.items.get(question_version__question__bank_id=bank_id)


def _build_world() -> World:
    bank_sync(contents=_bank(), source_root=FIXTURES.parent)  # source paths as load_bank writes them
    course, other_course = make_course("dlcv"), make_course("other")
    owner = make_member(course, Role.STUDENT, username="owner")
    classmate = make_member(course, Role.STUDENT, username="classmate")
    users: dict[str, User | None] = {
        "anonymous": None,
        "owner": owner,
        "classmate": classmate,
        "ta": make_member(course, Role.TA, username="ta"),
        "instructor": make_member(course, Role.INSTRUCTOR, username="instructor"),
        "other-instructor": make_member(other_course, Role.INSTRUCTOR, username="other-instructor"),
        "superuser": make_user("root", is_superuser=True, is_staff=True),
    }
    practice = make_assessment(course, [NUMERIC, ESSAY, SINGLE], mode=AssessmentMode.PRACTICE, minutes=None,
                               slug="practice")
    drill = make_assessment(course, [SINGLE], mode=AssessmentMode.PRACTICE, minutes=None, slug="drill")
    draft = make_assessment(course, [SINGLE, NUMERIC], mode=AssessmentMode.PRACTICE, minutes=None, slug="draft",
                            published=False)
    exam = make_assessment(course, [ESSAY, SINGLE], slug="final")
    other_exam = make_assessment(other_course, [ESSAY], slug="final")

    practice_attempt = attempt_start(user=owner, assessment=practice)
    classmate_attempt = attempt_start(user=classmate, assessment=practice)
    exam_attempt = attempt_start(user=owner, assessment=exam)
    save_answer(_item(exam_attempt, ESSAY), response={"text": "Features are learned, not designed."})
    exam_attempt = attempt_submit(attempt=exam_attempt)
    other_student = make_member(other_course, Role.STUDENT, username="other-student")
    other_attempt = attempt_start(user=other_student, assessment=other_exam)
    save_answer(_item(other_attempt, ESSAY), response={"text": "An answer in the other course."})
    attempt_submit(attempt=other_attempt)
    BankFileConflict.objects.create(question=Question.objects.get(bank_id=CONFLICTED), file_hash="f" * 64,
                                    file_text=_source(CONFLICTED).replace("title: ", "title: (file) ", 1))

    # Regrades: the owner (section A) answered a released exam; a TA limited to section B; the other
    # course's exam released with a request; SINGLE's key corrected and the exam regraded once (done).
    Enrollment.objects.filter(user=owner, course=course).update(section="A")
    section_ta = users["section-ta"] = make_member(course, Role.TA, username="section-ta")
    TeachingSection.objects.create(course=course, user=section_ta, section="B")
    released = make_assessment(course, [SINGLE, NUMERIC], slug="released")
    released_attempt = attempt_start(user=owner, assessment=released)
    save_answer(_item(released_attempt, SINGLE), response={"choice": 0})
    save_answer(_item(released_attempt, NUMERIC), response={"value": "0.5"})
    released_attempt = attempt_submit(attempt=released_attempt)
    now = timezone.now()
    Assessment.objects.filter(pk__in=[released.pk, other_exam.pk]).update(
        results_released_at=now - timedelta(days=1), opens_at=now - timedelta(days=3), closes_at=now - timedelta(days=2))
    released.refresh_from_db()
    regrade_request = regrade_request_create(item_id=_item(released_attempt, NUMERIC).pk, student=owner,
                                             reason="The sign is a convention.")
    other_regrade_request = regrade_request_create(item_id=_item(other_attempt, ESSAY).pk, student=other_student,
                                                   reason="Another course's request.")
    single = Question.objects.get(bank_id=SINGLE)
    old_single = single.current_version
    instructor = users["instructor"]
    assert instructor is not None
    correct_key(single, instructor)
    job = class_regrade_start(assessment=released, question=single, from_version_ids=[old_single.pk],
                              allow_lower=False, by=instructor)
    assert not class_regrade_run(job_id=job.pk)
    return World(
        course=course, other_course=other_course, users=users, classmate=classmate,
        practice=practice, drill=drill, draft=draft, exam=exam, other_exam=other_exam,
        practice_attempt=practice_attempt, exam_attempt=exam_attempt, classmate_attempt=classmate_attempt,
        numeric=_item(practice_attempt, NUMERIC), essay=_item(practice_attempt, ESSAY),
        exam_essay=_item(exam_attempt, ESSAY), exam_single=_item(exam_attempt, SINGLE),
        classmate_numeric=_item(classmate_attempt, NUMERIC), other_essay=_item(other_attempt, ESSAY),
        other_student=other_student,
        draft_first=draft.items.get(position=1), practice_item=practice.items.get(position=1),
        past_exam=mock_exam_ensure(course=course, year=109),
        released=released, released_attempt=released_attempt, released_single=_item(released_attempt, SINGLE),
        released_numeric=_item(released_attempt, NUMERIC), regrade_request=regrade_request,
        other_regrade_request=other_regrade_request, regrade_job=_refreshed(job), old_single=old_single,
    )


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """Built once; every test's own transaction is a savepoint inside this one, rolled back at the end."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
                built = _build_world()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield built
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


def _snapshot() -> tuple[list[tuple[Any, ...]], ...]:
    """What any quizzes view could write (sessions and last_login aside)."""
    return (
        list(Attempt.objects.order_by("pk").values_list("pk", "user_id", "assessment_id", "status", "points",
                                                        "submitted_at")),
        list(AttemptItem.objects.order_by("pk").values_list("pk", "attempt_id", "response", "save_count", "checks",
                                                            "score", "needs_manual_grading", "self_assessment",
                                                            "feedback", "solution_requested_at")),
        list(Assessment.objects.order_by("pk").values_list("pk", "course_id", "title", "slug", "mode", "published",
                                                           "opens_at", "closes_at", "time_limit_minutes",
                                                           "results_released_at")),
        list(AssessmentItem.objects.order_by("pk").values_list("pk", "assessment_id", "position", "question_id",
                                                               "pool_topic_id", "points")),
        list(Extension.objects.order_by("pk").values_list("pk", "assessment_id", "user_id", "extra_minutes")),
        list(Question.objects.order_by("pk").values_list("pk", "bank_id", "current_version_id", "type", "retired",
                                                         "file_hash")),
        list(BankFileConflict.objects.order_by("pk").values_list("pk", "question_id", "file_hash")),
        list(QuestionVersion.objects.order_by("pk").values_list("pk", "content_hash", "title")),
        list(PracticeRecord.objects.order_by("pk").values_list("pk", "user_id", "question_id", "tries")),
        list(Course.objects.order_by("pk").values_list("pk", "regrade_window_days")),
        list(ScoreChange.objects.order_by("pk").values_list("pk", "item_id", "kind", "old_score", "new_score",
                                                            "changed_by_id")),
        list(RegradeRequest.objects.order_by("pk").values_list("pk", "item_id", "student_id", "status", "answer",
                                                               "answered_by_id", "score_change_id")),
        list(RegradeRequestEvent.objects.order_by("pk").values_list("pk", "request_id", "kind", "actor_id")),
        list(RegradeJob.objects.order_by("pk").values_list("pk", "assessment_id", "question_id", "status", "total",
                                                           "processed", "created_by_id")),
        list(RegradeJobItem.objects.order_by("pk").values_list("pk", "job_id", "item_id", "applied_at")),
    )


# --------------------------------------------------------------------------- the endpoints


@dataclass(frozen=True)
class Endpoint:
    url: Callable[[World], str]
    data: Callable[[World], dict[str, Any]] | None = None  # the POST's form data, or JSON body when json=True
    json: bool = False  # a quiz-page JSON endpoint: JSON body, Accept: application/json
    effect: Callable[[World, User], None] | None = None  # a write: asserts it happened (allowed cells)
    goes_to: Callable[[World, User], str] | None = None  # where an allowed 302 goes
    check: Callable[[World, User, HttpResponse], None] | None = None  # more about an allowed response


def _i(name: str, w: World, *args: Any, slug: str | None = None) -> str:
    """An instructor page's address, in the course (or the course with ``slug``)."""
    return reverse(name, args=[slug or w.course.slug, *args])


def _refreshed(obj: Any) -> Any:
    return type(obj).objects.get(pk=obj.pk)


def _source(bank_id: str) -> str:
    return Question.objects.get(bank_id=bank_id).current_version.source_text


def _started(assessment: Callable[[World], Assessment]) -> Callable[[World, User], None]:
    def effect(w: World, user: User) -> None:
        assert Attempt.objects.filter(assessment=assessment(w), user=user, status=AttemptStatus.IN_PROGRESS).exists()

    return effect


def _started_at(assessment: Callable[[World], Assessment]) -> Callable[[World, User], str]:
    def goes_to(w: World, user: User) -> str:
        attempt = Attempt.objects.get(assessment=assessment(w), user=user, status=AttemptStatus.IN_PROGRESS)
        return reverse("attempt", args=[attempt.pk])

    return goes_to


def _saved(w: World, _user: User) -> None:
    item = _refreshed(w.numeric)
    assert item.response == {"value": "-0.5"} and item.save_count == 1


def _checked(w: World, _user: User) -> None:
    item = _refreshed(w.numeric)
    assert item.checks == 1 and item.score == 1 and item.response == {"value": "-0.5"}


def _variant_added(w: World, _user: User) -> None:
    assert w.practice_attempt.items.count() == 4


def _solution_requested(w: World, _user: User) -> None:
    assert _refreshed(w.numeric).solution_requested_at is not None


def _self_assessed(w: World, _user: User) -> None:
    assert _refreshed(w.essay).self_assessment["points_met"] == [0]


def _submitted(w: World, _user: User) -> None:
    assert _refreshed(w.practice_attempt).status == AttemptStatus.SUBMITTED


def _new_question_text(_w: World) -> dict[str, Any]:
    text = question_template(qtype="numeric", topic="activations").replace("new-numeric-question", NEW_BANK_ID)
    return {"text": text, "seed": 1, "action": "save"}


def _edited_text(_w: World) -> dict[str, Any]:
    return {"text": _source(SINGLE).replace("Dead ReLU 問題", "Dead ReLU (table)"), "seed": 1, "action": "save"}


def _question_created(_w: World, _user: User) -> None:
    assert Question.objects.get(bank_id=NEW_BANK_ID).current_version.number == 1


def _question_saved(_w: World, _user: User) -> None:
    assert Question.objects.get(bank_id=SINGLE).current_version.title == "Dead ReLU (table)"


def _conflict_settled(_w: World, _user: User) -> None:
    question = Question.objects.get(bank_id=CONFLICTED)
    assert question.file_hash == "f" * 64 and not BankFileConflict.objects.filter(question=question).exists()


def _moodle_upload(_w: World) -> dict[str, Any]:
    return {"file": SimpleUploadedFile("quiz.xml", MOODLE_FILE.encode(), "application/xml"), "topic": "activations"}


def _imported(_w: World, _user: User) -> None:
    assert Question.objects.get(bank_id=IMPORTED_BANK_ID).current_version.spec["answer"] is True


def _zip(_w: World, _user: User, response: HttpResponse) -> None:
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert f"bank/activations/{SINGLE}.md" in archive.namelist()


def _assessment_created(w: World, _user: User) -> None:
    assert Assessment.objects.get(course=w.course, slug="midterm").mode == AssessmentMode.EXAM


def _settings_saved(w: World, _user: User) -> None:
    assert _refreshed(w.draft).title == "Draft (renamed)"


def _item_added(w: World, _user: User) -> None:
    assert w.draft.items.filter(question__bank_id=MULTIPLE, position=3).exists()


def _item_moved(w: World, _user: User) -> None:
    assert _refreshed(w.draft_first).position == 2


def _item_removed(w: World, _user: User) -> None:
    assert not AssessmentItem.objects.filter(pk=w.draft_first.pk).exists() and w.draft.items.count() == 1


def _extension_set(w: World, _user: User) -> None:
    assert Extension.objects.get(assessment=w.draft, user=w.owner).extra_minutes == 30


def _released(w: World, _user: User) -> None:
    assert _refreshed(w.draft).results_released_at is not None


def _graded(w: World, user: User) -> None:
    item = _refreshed(w.exam_essay)
    assert not item.needs_manual_grading and item.score is not None
    assert item.feedback["graded_by"] == user.get_username()


def _preview_is_valid(_w: World, _user: User, response: HttpResponse) -> None:
    assert response.json()["valid"] is True and response.json()["html"]


def _downloaded(_w: World, _user: User, response: HttpResponse) -> None:
    assert response.content.decode() == _source(SINGLE)


def _read_only_unless_owner(w: World, user: User, response: HttpResponse) -> None:
    # The owner's page can save answers; staff get the read-only rendering.
    assert ("data-save-url" in response.content.decode()) == (user == w.owner)


DRAFT_SETTINGS = {"title": "Draft (renamed)", "slug": "draft", "description": "", "mode": "practice",
                  "opens_at": "", "closes_at": "", "time_limit_minutes": ""}
NEW_SETTINGS = {"title": "Midterm", "slug": "midterm", "description": "", "mode": "exam",
                "opens_at": "2025-05-01T09:00", "closes_at": "2025-05-01T12:00", "time_limit_minutes": "90"}


def _regrade_asked(w: World, user: User) -> None:
    request = RegradeRequest.objects.get(item=w.released_single, status=RegradeRequestStatus.OPEN)
    assert request.student == user == w.owner and request.reason == "Option B is right too."


def _regrade_answered(w: World, user: User) -> None:
    request = _refreshed(w.regrade_request)
    assert request.status == RegradeRequestStatus.ANSWERED and request.answered_by == user
    assert request.score_change is not None and request.score_change.new_score == 1
    assert _refreshed(w.released_numeric).score == 1


def _window_set(w: World, _user: User) -> None:
    assert _refreshed(w.course).regrade_window_days == 14


def _new_job(w: World) -> RegradeJob:
    return RegradeJob.objects.exclude(pk=w.regrade_job.pk).get(assessment=w.released)


def _class_regrade_started(w: World, user: User) -> None:
    job = _new_job(w)
    assert job.status == RegradeJobStatus.QUEUED and job.created_by == user and job.total == 1
    assert job.from_versions == [w.old_single.pk]


def _csv(_w: World, _user: User, response: HttpResponse) -> None:
    assert response["Content-Type"].startswith("text/csv")


def _job_state(w: World, _user: User, response: HttpResponse) -> None:
    assert response.json()["finished"] is True


def _builder(anchor: str) -> Callable[[World, User], str]:
    return lambda w, _user: _i("instructor-assessment", w, w.draft.pk) + anchor


ENDPOINTS: dict[tuple[str, str], Endpoint] = {
    # ------------------------------------------------------------------ student pages
    ("course-dashboard", "GET"): Endpoint(lambda w: reverse("course-dashboard", args=[w.course.slug])),
    ("assessment-landing", "GET"): Endpoint(
        lambda w: reverse("assessment-landing", args=[w.course.slug, w.practice.slug])),
    ("assessment-landing[unpublished]", "GET"): Endpoint(
        lambda w: reverse("assessment-landing", args=[w.course.slug, w.draft.slug])),
    ("past-exam-study", "GET"): Endpoint(
        lambda w: reverse("past-exam-study", args=[w.course.slug, w.past_exam.slug])),
    ("past-exam-study[not a past exam]", "GET"): Endpoint(
        lambda w: reverse("past-exam-study", args=[w.course.slug, w.practice.slug])),
    ("assessment-start", "POST"): Endpoint(
        lambda w: reverse("assessment-start", args=[w.course.slug, w.drill.slug]), data=lambda w: {},
        effect=_started(lambda w: w.drill), goes_to=_started_at(lambda w: w.drill)),
    ("assessment-start[unpublished]", "POST"): Endpoint(
        lambda w: reverse("assessment-start", args=[w.course.slug, w.draft.slug]), data=lambda w: {},
        effect=_started(lambda w: w.draft), goes_to=_started_at(lambda w: w.draft)),
    ("attempt", "GET"): Endpoint(lambda w: reverse("attempt", args=[w.practice_attempt.pk]),
                                 check=_read_only_unless_owner),
    ("attempt[submitted]", "GET"): Endpoint(
        lambda w: reverse("attempt", args=[w.exam_attempt.pk]),
        goes_to=lambda w, _u: reverse("attempt-results", args=[w.exam_attempt.pk])),
    ("attempt-state", "GET"): Endpoint(lambda w: reverse("attempt-state", args=[w.practice_attempt.pk]), json=True),
    ("attempt-results", "GET"): Endpoint(lambda w: reverse("attempt-results", args=[w.exam_attempt.pk])),
    ("attempt-results[in progress]", "GET"): Endpoint(
        lambda w: reverse("attempt-results", args=[w.practice_attempt.pk]),
        goes_to=lambda w, _u: reverse("attempt", args=[w.practice_attempt.pk])),
    ("attempt-submit", "POST"): Endpoint(
        lambda w: reverse("attempt-submit", args=[w.practice_attempt.pk]), data=lambda w: {}, effect=_submitted,
        goes_to=lambda w, _u: reverse("attempt-results", args=[w.practice_attempt.pk])),
    ("item-save", "POST"): Endpoint(
        lambda w: reverse("item-save", args=[w.practice_attempt.pk, w.numeric.pk]),
        data=lambda w: {"response": {"value": "-0.5"}}, json=True, effect=_saved),
    ("item-check", "POST"): Endpoint(
        lambda w: reverse("item-check", args=[w.practice_attempt.pk, w.numeric.pk]),
        data=lambda w: {"response": {"value": "-0.5"}}, json=True, effect=_checked),
    ("item-variant", "POST"): Endpoint(
        lambda w: reverse("item-variant", args=[w.practice_attempt.pk, w.numeric.pk]),
        data=lambda w: {}, json=True, effect=_variant_added),
    ("item-self-assess", "POST"): Endpoint(
        lambda w: reverse("item-self-assess", args=[w.practice_attempt.pk, w.essay.pk]),
        data=lambda w: {"points_met": [0]}, json=True, effect=_self_assessed),
    ("item-reveal", "POST"): Endpoint(
        lambda w: reverse("item-reveal", args=[w.practice_attempt.pk, w.numeric.pk]),
        data=lambda w: {}, json=True, effect=_solution_requested),
    ("item-regrade-request", "POST"): Endpoint(
        lambda w: reverse("item-regrade-request", args=[w.released_attempt.pk, w.released_single.pk]),
        data=lambda w: {"reason": "Option B is right too."}, effect=_regrade_asked,
        goes_to=lambda w, _u: reverse("attempt-results", args=[w.released_attempt.pk]) + f"#item-{w.released_single.pk}"),
    # ------------------------------------------------------------------ instructor pages
    ("instructor-bank", "GET"): Endpoint(lambda w: _i("instructor-bank", w)),
    ("instructor-question-new", "GET"): Endpoint(lambda w: _i("instructor-question-new", w)),
    ("instructor-question-new", "POST"): Endpoint(
        lambda w: _i("instructor-question-new", w), data=_new_question_text,
        effect=_question_created,
        goes_to=lambda w, _u: _i("instructor-question-edit", w, NEW_BANK_ID)),
    ("instructor-question-preview", "POST"): Endpoint(
        lambda w: _i("instructor-question-preview", w),
        data=lambda w: {"text": _source(SINGLE), "seed": 1, "bank_id": SINGLE}, check=_preview_is_valid),
    ("instructor-question", "GET"): Endpoint(lambda w: _i("instructor-question", w, SINGLE)),
    ("instructor-question-edit", "GET"): Endpoint(lambda w: _i("instructor-question-edit", w, SINGLE)),
    ("instructor-question-edit", "POST"): Endpoint(
        lambda w: _i("instructor-question-edit", w, SINGLE), data=_edited_text,
        effect=_question_saved,
        goes_to=lambda w, _u: _i("instructor-question-edit", w, SINGLE) + "?seed=1"),
    ("instructor-question-download", "GET"): Endpoint(lambda w: _i("instructor-question-download", w, SINGLE),
                                                      check=_downloaded),
    ("instructor-bank-download", "GET"): Endpoint(lambda w: _i("instructor-bank-download", w), check=_zip),
    ("instructor-bank-sync", "GET"): Endpoint(lambda w: _i("instructor-bank-sync", w)),
    ("instructor-bank-conflict-resolve", "POST"): Endpoint(
        lambda w: _i("instructor-bank-conflict-resolve", w, CONFLICTED), data=lambda w: {"keep": "browser"},
        effect=_conflict_settled, goes_to=lambda w, _u: _i("instructor-bank-sync", w)),
    ("instructor-bank-exchange", "GET"): Endpoint(lambda w: _i("instructor-bank-exchange", w)),
    ("instructor-bank-exchange", "POST"): Endpoint(
        lambda w: _i("instructor-bank-exchange", w), data=_moodle_upload, effect=_imported,
        goes_to=lambda w, _u: _i("instructor-bank-exchange", w)),
    ("instructor-assessments", "GET"): Endpoint(lambda w: _i("instructor-assessments", w)),
    ("instructor-assessment-new", "GET"): Endpoint(lambda w: _i("instructor-assessment-new", w)),
    ("instructor-assessment-new", "POST"): Endpoint(
        lambda w: _i("instructor-assessment-new", w), data=lambda w: dict(NEW_SETTINGS),
        effect=_assessment_created,
        goes_to=lambda w, _u: _i("instructor-assessment", w, Assessment.objects.get(course=w.course,
                                                                                    slug="midterm").pk)),
    ("instructor-assessment", "GET"): Endpoint(lambda w: _i("instructor-assessment", w, w.draft.pk)),
    ("instructor-assessment", "POST"): Endpoint(
        lambda w: _i("instructor-assessment", w, w.draft.pk), data=lambda w: dict(DRAFT_SETTINGS),
        effect=_settings_saved,
        goes_to=_builder("")),
    ("instructor-assessment-item-add", "POST"): Endpoint(
        lambda w: _i("instructor-assessment-item-add", w, w.draft.pk),
        data=lambda w: {"kind": "question", "bank_id": MULTIPLE},
        effect=_item_added,
        goes_to=_builder("#items")),
    ("instructor-assessment-item-move", "POST"): Endpoint(
        lambda w: _i("instructor-assessment-item-move", w, w.draft.pk, w.draft_first.pk),
        data=lambda w: {"direction": "down"},
        effect=_item_moved,
        goes_to=_builder("#items")),
    ("instructor-assessment-item-remove", "POST"): Endpoint(
        lambda w: _i("instructor-assessment-item-remove", w, w.draft.pk, w.draft_first.pk), data=lambda w: {},
        effect=_item_removed,
        goes_to=_builder("#items")),
    ("instructor-assessment-extension", "POST"): Endpoint(
        lambda w: _i("instructor-assessment-extension", w, w.draft.pk),
        data=lambda w: {"user": w.owner.pk, "extra_minutes": 30},
        effect=_extension_set,
        goes_to=_builder("#extensions")),
    ("instructor-assessment-release", "POST"): Endpoint(
        lambda w: _i("instructor-assessment-release", w, w.draft.pk), data=lambda w: {},
        effect=_released,
        goes_to=_builder("#results")),
    ("instructor-grading-queue", "GET"): Endpoint(lambda w: _i("instructor-grading-queue", w)),
    ("instructor-assessment-analysis", "GET"): Endpoint(lambda w: _i("instructor-assessment-analysis", w, w.draft.pk)),
    ("instructor-assessment-analysis-csv", "GET"): Endpoint(
        lambda w: _i("instructor-assessment-analysis-csv", w, w.draft.pk)),
    ("instructor-question-analysis", "GET"): Endpoint(lambda w: _i("instructor-question-analysis", w, SINGLE)),
    ("instructor-class-mastery", "GET"): Endpoint(lambda w: _i("instructor-class-mastery", w)),
    ("instructor-class-mastery-csv", "GET"): Endpoint(lambda w: _i("instructor-class-mastery-csv", w)),
    ("instructor-grading-item", "GET"): Endpoint(lambda w: _i("instructor-grading-item", w, w.exam_essay.pk)),
    ("instructor-grading-item", "POST"): Endpoint(
        lambda w: _i("instructor-grading-item", w, w.exam_essay.pk), data=lambda w: {"adjustment": 1, "comment": "Fair."},
        effect=_graded,
        goes_to=lambda w, _u: _i("instructor-grading-queue", w)),
    ("instructor-grading-anonymous", "POST"): Endpoint(
        lambda w: _i("instructor-grading-anonymous", w), data=lambda w: {"anonymous": "on"},
        goes_to=lambda w, _u: _i("instructor-grading-queue", w)),
    ("instructor-grading-question", "GET"): Endpoint(
        lambda w: _i("instructor-grading-question", w, w.exam_essay.question_version.question_id),
        goes_to=lambda w, _u: _i("instructor-grading-item", w, w.exam_essay.pk)),
    ("instructor-grading-rubric", "GET"): Endpoint(
        lambda w: _i("instructor-grading-rubric", w, w.exam_essay.question_version.question_id)),
    ("instructor-grading-rubric", "POST"): Endpoint(
        lambda w: _i("instructor-grading-rubric", w, w.exam_essay.question_version.question_id),
        data=lambda w: {"action": "add", "new-title": "Names the idea", "new-points": "2"},
        goes_to=lambda w, _u: _i("instructor-grading-rubric", w, w.exam_essay.question_version.question_id)),
    ("instructor-grading-rubric-seed", "POST"): Endpoint(
        lambda w: _i("instructor-grading-rubric-seed", w, w.exam_essay.question_version.question_id),
        data=lambda w: {"item": w.exam_essay.pk},
        goes_to=lambda w, _u: _i("instructor-grading-item", w, w.exam_essay.pk)),
    ("instructor-score-log", "GET"): Endpoint(lambda w: _i("instructor-score-log", w, w.released.pk)),
    ("instructor-score-log-csv", "GET"): Endpoint(lambda w: _i("instructor-score-log-csv", w, w.released.pk),
                                                  check=_csv),
    ("instructor-class-regrade", "GET"): Endpoint(lambda w: _i("instructor-class-regrade", w, w.released.pk)),
    ("instructor-class-regrade-apply", "POST"): Endpoint(
        lambda w: _i("instructor-class-regrade-apply", w, w.released.pk),
        data=lambda w: {"question": SINGLE, "versions": [w.old_single.pk]}, effect=_class_regrade_started,
        goes_to=lambda w, _u: _i("instructor-regrade-job", w, w.released.pk, _new_job(w).pk)),
    ("instructor-regrade-job", "GET"): Endpoint(
        lambda w: _i("instructor-regrade-job", w, w.released.pk, w.regrade_job.pk)),
    ("instructor-regrade-job-state", "GET"): Endpoint(
        lambda w: _i("instructor-regrade-job-state", w, w.released.pk, w.regrade_job.pk), json=True,
        check=_job_state),
    ("instructor-regrade-queue", "GET"): Endpoint(lambda w: _i("instructor-regrade-queue", w)),
    ("instructor-regrade-window", "POST"): Endpoint(
        lambda w: _i("instructor-regrade-window", w), data=lambda w: {"days": 14}, effect=_window_set,
        goes_to=lambda w, _u: _i("instructor-regrade-queue", w)),
    ("instructor-regrade-answer", "GET"): Endpoint(lambda w: _i("instructor-regrade-answer", w, w.regrade_request.pk)),
    ("instructor-regrade-answer", "POST"): Endpoint(
        lambda w: _i("instructor-regrade-answer", w, w.regrade_request.pk),
        data=lambda w: {"message": "Looked again: full credit.", "points": str(w.released_numeric.max_points)},
        effect=_regrade_answered, goes_to=lambda w, _u: _i("instructor-regrade-queue", w)),
}

# --------------------------------------------------------------------------- THE TABLE
#
# LOGIN: 302 to the login page (and back); 401: JSON {"code": "login_required"}.
# Allowed 302s are checked against where they should go, allowed writes against what they wrote.

MATRIX: dict[tuple[str, str], tuple[int | str, ...]] = {
    #                                                 anonymous owner classmate  ta  instructor other-instr superuser
    # Course members see the course; unpublished assessments exist only for staff.
    ("course-dashboard", "GET"):                       (LOGIN,   200,  200,      200,  200,      404,        200),
    ("assessment-landing", "GET"):                     (LOGIN,   200,  200,      200,  200,      404,        200),
    ("assessment-landing[unpublished]", "GET"):        (LOGIN,   404,  404,      200,  200,      404,        200),
    # A past exam's study view: the course's members, no attempt; only past (mock) exams have one.
    ("past-exam-study", "GET"):                        (LOGIN,   200,  200,      200,  200,      404,        200),
    ("past-exam-study[not a past exam]", "GET"):       (LOGIN,   404,  404,      404,  404,      404,        404),
    ("assessment-start", "POST"):                      (LOGIN,   302,  302,      302,  302,      404,        302),
    ("assessment-start[unpublished]", "POST"):         (LOGIN,   404,  404,      302,  302,      404,        302),
    # The owner's attempt: staff read it, nobody else knows it exists.
    ("attempt", "GET"):                                (LOGIN,   200,  404,      200,  200,      404,        200),
    ("attempt[submitted]", "GET"):                     (LOGIN,   302,  404,      302,  302,      404,        302),
    ("attempt-state", "GET"):                          (401,     200,  404,      200,  200,      404,        200),
    ("attempt-results", "GET"):                        (LOGIN,   200,  404,      200,  200,      404,        200),
    ("attempt-results[in progress]", "GET"):           (LOGIN,   302,  404,      302,  302,      404,        302),
    # Acting on the attempt: its owner only, staff included in the 404s.
    ("attempt-submit", "POST"):                        (LOGIN,   302,  404,      404,  404,      404,        404),
    ("item-save", "POST"):                             (401,     200,  404,      404,  404,      404,        404),
    ("item-check", "POST"):                            (401,     200,  404,      404,  404,      404,        404),
    ("item-variant", "POST"):                          (401,     201,  404,      404,  404,      404,        404),
    ("item-self-assess", "POST"):                      (401,     200,  404,      404,  404,      404,        404),
    ("item-reveal", "POST"):                           (401,     200,  404,      404,  404,      404,        404),
    ("item-regrade-request", "POST"):                  (LOGIN,   302,  404,      404,  404,      404,        404),
    # Instructor pages: staff; the course's students 403; everyone else 404.
    ("instructor-bank", "GET"):                        (LOGIN,   403,  403,      200,  200,      404,        200),
    ("instructor-question-new", "GET"):                (LOGIN,   403,  403,      200,  200,      404,        200),
    ("instructor-question-new", "POST"):               (LOGIN,   403,  403,      302,  302,      404,        302),
    ("instructor-question-preview", "POST"):           (401,     403,  403,      200,  200,      404,        200),
    ("instructor-question", "GET"):                    (LOGIN,   403,  403,      200,  200,      404,        200),
    ("instructor-question-edit", "GET"):               (LOGIN,   403,  403,      200,  200,      404,        200),
    ("instructor-question-edit", "POST"):              (LOGIN,   403,  403,      302,  302,      404,        302),
    ("instructor-question-download", "GET"):           (LOGIN,   403,  403,      200,  200,      404,        200),
    ("instructor-bank-download", "GET"):               (LOGIN,   403,  403,      200,  200,      404,        200),
    ("instructor-bank-sync", "GET"):                   (LOGIN,   403,  403,      200,  200,      404,        200),
    ("instructor-bank-conflict-resolve", "POST"):      (LOGIN,   403,  403,      302,  302,      404,        302),
    ("instructor-bank-exchange", "GET"):               (LOGIN,   403,  403,      200,  200,      404,        200),
    ("instructor-bank-exchange", "POST"):              (LOGIN,   403,  403,      302,  302,      404,        302),
    ("instructor-assessments", "GET"):                 (LOGIN,   403,  403,      200,  200,      404,        200),
    ("instructor-assessment-new", "GET"):              (LOGIN,   403,  403,      200,  200,      404,        200),
    ("instructor-assessment-new", "POST"):             (LOGIN,   403,  403,      302,  302,      404,        302),
    ("instructor-assessment", "GET"):                  (LOGIN,   403,  403,      200,  200,      404,        200),
    ("instructor-assessment", "POST"):                 (LOGIN,   403,  403,      302,  302,      404,        302),
    ("instructor-assessment-item-add", "POST"):        (LOGIN,   403,  403,      302,  302,      404,        302),
    ("instructor-assessment-item-move", "POST"):       (LOGIN,   403,  403,      302,  302,      404,        302),
    ("instructor-assessment-item-remove", "POST"):     (LOGIN,   403,  403,      302,  302,      404,        302),
    ("instructor-assessment-extension", "POST"):       (LOGIN,   403,  403,      302,  302,      404,        302),
    ("instructor-assessment-release", "POST"):         (LOGIN,   403,  403,      302,  302,      404,        302),
    ("instructor-grading-queue", "GET"):               (LOGIN,   403,  403,      200,  200,      404,        200),
    ("instructor-assessment-analysis", "GET"):         (LOGIN,   403,  403,      200,  200,      404,        200),
    ("instructor-assessment-analysis-csv", "GET"):     (LOGIN,   403,  403,      200,  200,      404,        200),
    # The class view (progress/): course staff only.
    ("instructor-class-mastery", "GET"):               (LOGIN,   403,  403,      200,  200,      404,        200),
    ("instructor-class-mastery-csv", "GET"):           (LOGIN,   403,  403,      200,  200,      404,        200),
    ("instructor-question-analysis", "GET"):           (LOGIN,   403,  403,      200,  200,      404,        200),
    ("instructor-grading-item", "GET"):                (LOGIN,   403,  403,      200,  200,      404,        200),
    ("instructor-grading-item", "POST"):               (LOGIN,   403,  403,      302,  302,      404,        302),
    ("instructor-grading-anonymous", "POST"):          (LOGIN,   403,  403,      302,  302,      404,        302),
    ("instructor-grading-question", "GET"):            (LOGIN,   403,  403,      302,  302,      404,        302),
    ("instructor-grading-rubric", "GET"):              (LOGIN,   403,  403,      200,  200,      404,        200),
    ("instructor-grading-rubric", "POST"):             (LOGIN,   403,  403,      302,  302,      404,        302),
    ("instructor-grading-rubric-seed", "POST"):        (LOGIN,   403,  403,      302,  302,      404,        302),
    # Regrades: the queue, its answers and the score log are the staff's; the class-wide regrade and the
    # course's regrade window are the instructors' (TAs 403).
    ("instructor-score-log", "GET"):                   (LOGIN,   403,  403,      200,  200,      404,        200),
    ("instructor-score-log-csv", "GET"):               (LOGIN,   403,  403,      200,  200,      404,        200),
    ("instructor-class-regrade", "GET"):               (LOGIN,   403,  403,      403,  200,      404,        200),
    ("instructor-class-regrade-apply", "POST"):        (LOGIN,   403,  403,      403,  302,      404,        302),
    ("instructor-regrade-job", "GET"):                 (LOGIN,   403,  403,      403,  200,      404,        200),
    ("instructor-regrade-job-state", "GET"):           (401,     403,  403,      403,  200,      404,        200),
    ("instructor-regrade-queue", "GET"):               (LOGIN,   403,  403,      200,  200,      404,        200),
    ("instructor-regrade-window", "POST"):             (LOGIN,   403,  403,      403,  302,      404,        302),
    ("instructor-regrade-answer", "GET"):              (LOGIN,   403,  403,      200,  200,      404,        200),
    ("instructor-regrade-answer", "POST"):             (LOGIN,   403,  403,      302,  302,      404,        302),
}  # fmt: skip

# Ids that do not belong together: ids of another course (through the user's own course, or the
# course's staff reaching another course's objects), and a student's own attempt id with another's item.
ENDPOINTS.update({
    ("instructor-assessment[via own course]", "GET"): Endpoint(
        lambda w: _i("instructor-assessment", w, w.draft.pk, slug=w.other_course.slug)),
    ("instructor-assessment[via own course]", "POST"): Endpoint(
        lambda w: _i("instructor-assessment", w, w.draft.pk, slug=w.other_course.slug),
        data=lambda w: dict(DRAFT_SETTINGS)),
    ("instructor-assessment-item-add[via own course]", "POST"): Endpoint(
        lambda w: _i("instructor-assessment-item-add", w, w.draft.pk, slug=w.other_course.slug),
        data=lambda w: {"kind": "question", "bank_id": MULTIPLE}),
    ("instructor-assessment-item-move[via own course]", "POST"): Endpoint(
        lambda w: _i("instructor-assessment-item-move", w, w.draft.pk, w.draft_first.pk, slug=w.other_course.slug),
        data=lambda w: {"direction": "down"}),
    ("instructor-assessment-item-remove[via own course]", "POST"): Endpoint(
        lambda w: _i("instructor-assessment-item-remove", w, w.draft.pk, w.draft_first.pk, slug=w.other_course.slug),
        data=lambda w: {}),
    ("instructor-assessment-extension[via own course]", "POST"): Endpoint(
        lambda w: _i("instructor-assessment-extension", w, w.draft.pk, slug=w.other_course.slug),
        data=lambda w: {"user": w.owner.pk, "extra_minutes": 30}),
    ("instructor-assessment-release[via own course]", "POST"): Endpoint(
        lambda w: _i("instructor-assessment-release", w, w.draft.pk, slug=w.other_course.slug), data=lambda w: {}),
    ("instructor-grading-item[via own course]", "GET"): Endpoint(
        lambda w: _i("instructor-grading-item", w, w.exam_essay.pk, slug=w.other_course.slug)),
    ("instructor-grading-item[via own course]", "POST"): Endpoint(
        lambda w: _i("instructor-grading-item", w, w.exam_essay.pk, slug=w.other_course.slug),
        data=lambda w: {"points": 1, "comment": "Fair."}),
    ("instructor-assessment-analysis[via own course]", "GET"): Endpoint(
        lambda w: _i("instructor-assessment-analysis", w, w.draft.pk, slug=w.other_course.slug)),
    ("instructor-assessment-analysis-csv[via own course]", "GET"): Endpoint(
        lambda w: _i("instructor-assessment-analysis-csv", w, w.draft.pk, slug=w.other_course.slug)),
    ("instructor-assessment-analysis[other course's]", "GET"): Endpoint(
        lambda w: _i("instructor-assessment-analysis", w, w.other_exam.pk)),
    ("instructor-question[via own course]", "GET"): Endpoint(
        lambda w: _i("instructor-question", w, SINGLE, slug=w.other_course.slug)),
    ("instructor-assessment[other course's]", "GET"): Endpoint(
        lambda w: _i("instructor-assessment", w, w.other_exam.pk)),
    ("instructor-assessment-release[other course's]", "POST"): Endpoint(
        lambda w: _i("instructor-assessment-release", w, w.other_exam.pk), data=lambda w: {}),
    ("instructor-grading-item[other course's]", "GET"): Endpoint(
        lambda w: _i("instructor-grading-item", w, w.other_essay.pk)),
    ("instructor-grading-item[other course's]", "POST"): Endpoint(
        lambda w: _i("instructor-grading-item", w, w.other_essay.pk), data=lambda w: {"points": 1, "comment": "x"}),
    ("instructor-assessment-extension[other course's student]", "POST"): Endpoint(
        lambda w: _i("instructor-assessment-extension", w, w.draft.pk),
        data=lambda w: {"user": w.other_student.pk, "extra_minutes": 30}),
    ("instructor-assessment-item-move[another assessment's item]", "POST"): Endpoint(
        lambda w: _i("instructor-assessment-item-move", w, w.draft.pk, w.practice_item.pk),
        data=lambda w: {"direction": "down"}),
    ("instructor-assessment-item-remove[another assessment's item]", "POST"): Endpoint(
        lambda w: _i("instructor-assessment-item-remove", w, w.draft.pk, w.practice_item.pk), data=lambda w: {}),
    ("instructor-grading-item[in-progress essay]", "GET"): Endpoint(
        lambda w: _i("instructor-grading-item", w, w.essay.pk)),
    ("instructor-grading-item[not an essay]", "GET"): Endpoint(
        lambda w: _i("instructor-grading-item", w, w.exam_single.pk)),
    ("instructor-score-log[via own course]", "GET"): Endpoint(
        lambda w: _i("instructor-score-log", w, w.released.pk, slug=w.other_course.slug)),
    ("instructor-score-log-csv[via own course]", "GET"): Endpoint(
        lambda w: _i("instructor-score-log-csv", w, w.released.pk, slug=w.other_course.slug)),
    ("instructor-class-regrade[via own course]", "GET"): Endpoint(
        lambda w: _i("instructor-class-regrade", w, w.released.pk, slug=w.other_course.slug)),
    ("instructor-class-regrade-apply[via own course]", "POST"): Endpoint(
        lambda w: _i("instructor-class-regrade-apply", w, w.released.pk, slug=w.other_course.slug),
        data=lambda w: {"question": SINGLE, "versions": [w.old_single.pk]}),
    ("instructor-regrade-job[via own course]", "GET"): Endpoint(
        lambda w: _i("instructor-regrade-job", w, w.released.pk, w.regrade_job.pk, slug=w.other_course.slug)),
    ("instructor-regrade-job-state[via own course]", "GET"): Endpoint(
        lambda w: _i("instructor-regrade-job-state", w, w.released.pk, w.regrade_job.pk, slug=w.other_course.slug),
        json=True),
    ("instructor-regrade-answer[via own course]", "GET"): Endpoint(
        lambda w: _i("instructor-regrade-answer", w, w.regrade_request.pk, slug=w.other_course.slug)),
    ("instructor-regrade-answer[via own course]", "POST"): Endpoint(
        lambda w: _i("instructor-regrade-answer", w, w.regrade_request.pk, slug=w.other_course.slug),
        data=lambda w: {"message": "Not yours.", "points": "0"}),
    ("instructor-score-log[other course's]", "GET"): Endpoint(
        lambda w: _i("instructor-score-log", w, w.other_exam.pk)),
    ("instructor-class-regrade[other course's]", "GET"): Endpoint(
        lambda w: _i("instructor-class-regrade", w, w.other_exam.pk)),
    ("instructor-regrade-answer[other course's]", "GET"): Endpoint(
        lambda w: _i("instructor-regrade-answer", w, w.other_regrade_request.pk)),
    ("instructor-regrade-answer[other course's]", "POST"): Endpoint(
        lambda w: _i("instructor-regrade-answer", w, w.other_regrade_request.pk),
        data=lambda w: {"message": "Not yours.", "points": "0"}),
    ("instructor-regrade-job[another assessment's]", "GET"): Endpoint(
        lambda w: _i("instructor-regrade-job", w, w.exam.pk, w.regrade_job.pk)),
    ("instructor-regrade-job-state[another assessment's]", "GET"): Endpoint(
        lambda w: _i("instructor-regrade-job-state", w, w.exam.pk, w.regrade_job.pk), json=True),
    ("item-regrade-request[own attempt, classmate's item]", "POST"): Endpoint(
        lambda w: reverse("item-regrade-request", args=[w.released_attempt.pk, w.classmate_numeric.pk]),
        data=lambda w: {"reason": "Not mine."}),
    ("item-regrade-request[not released]", "POST"): Endpoint(
        lambda w: reverse("item-regrade-request", args=[w.exam_attempt.pk, w.exam_single.pk]),
        data=lambda w: {"reason": "Too early."},
        goes_to=lambda w, _u: reverse("attempt-results", args=[w.exam_attempt.pk]) + f"#item-{w.exam_single.pk}"),
    ("assessment-landing[other course's]", "GET"): Endpoint(
        lambda w: reverse("assessment-landing", args=[w.other_course.slug, w.other_exam.slug])),
    ("assessment-start[other course's]", "POST"): Endpoint(
        lambda w: reverse("assessment-start", args=[w.other_course.slug, w.other_exam.slug]), data=lambda w: {}),
    ("attempt[classmate's]", "GET"): Endpoint(lambda w: reverse("attempt", args=[w.classmate_attempt.pk])),
    **{
        (f"{name}[own attempt, classmate's item]", "POST"): Endpoint(
            (lambda n: lambda w: reverse(n, args=[w.practice_attempt.pk, w.classmate_numeric.pk]))(name),
            data=body, json=True)
        for name, body in (("item-save", lambda w: {"response": {"value": "-0.5"}}),
                           ("item-check", lambda w: {"response": {"value": "-0.5"}}),
                           ("item-variant", lambda w: {}),
                           ("item-self-assess", lambda w: {"points_met": []}),
                           ("item-reveal", lambda w: {}))
    },
    **{
        (f"{name}[classmate's attempt, own item]", "POST"): Endpoint(
            (lambda n: lambda w: reverse(n, args=[w.classmate_attempt.pk, w.numeric.pk]))(name),
            data=body, json=True)
        for name, body in (("item-save", lambda w: {"response": {"value": "-0.5"}}),
                           ("item-check", lambda w: {"response": {"value": "-0.5"}}),
                           ("item-variant", lambda w: {}),
                           ("item-self-assess", lambda w: {"points_met": []}),
                           ("item-reveal", lambda w: {}))
    },
})

MISMATCHED_IDS: list[tuple[str, str, str, int]] = [
    # The other course's instructor, through their own course, with this course's ids.
    ("instructor-assessment[via own course]", "GET", "other-instructor", 404),
    ("instructor-assessment[via own course]", "POST", "other-instructor", 404),
    ("instructor-assessment-item-add[via own course]", "POST", "other-instructor", 404),
    ("instructor-assessment-item-move[via own course]", "POST", "other-instructor", 404),
    ("instructor-assessment-item-remove[via own course]", "POST", "other-instructor", 404),
    ("instructor-assessment-extension[via own course]", "POST", "other-instructor", 404),
    ("instructor-assessment-release[via own course]", "POST", "other-instructor", 404),
    ("instructor-grading-item[via own course]", "GET", "other-instructor", 404),
    ("instructor-grading-item[via own course]", "POST", "other-instructor", 404),
    ("instructor-assessment-analysis[via own course]", "GET", "other-instructor", 404),
    ("instructor-assessment-analysis-csv[via own course]", "GET", "other-instructor", 404),
    ("instructor-question[via own course]", "GET", "other-instructor", 200),  # the bank is shared by all courses
    # This course's staff, with the other course's objects or objects that are not what the page is for.
    ("instructor-assessment[other course's]", "GET", "instructor", 404),
    ("instructor-assessment[other course's]", "GET", "ta", 404),
    ("instructor-assessment-analysis[other course's]", "GET", "instructor", 404),
    ("instructor-assessment-release[other course's]", "POST", "instructor", 404),
    ("instructor-grading-item[other course's]", "GET", "instructor", 404),
    ("instructor-grading-item[other course's]", "POST", "instructor", 404),
    ("instructor-grading-item[other course's]", "POST", "ta", 404),
    ("instructor-assessment-extension[other course's student]", "POST", "instructor", 400),  # not a choice
    ("instructor-assessment-item-move[another assessment's item]", "POST", "instructor", 404),
    ("instructor-assessment-item-remove[another assessment's item]", "POST", "instructor", 404),
    ("instructor-grading-item[in-progress essay]", "GET", "instructor", 404),
    ("instructor-grading-item[not an essay]", "GET", "instructor", 404),
    # Regrades: ids of this course through another course, the other course's objects, a job through
    # another assessment of the course; a TA limited to section B and the owner's (section A) request.
    ("instructor-score-log[via own course]", "GET", "other-instructor", 404),
    ("instructor-score-log-csv[via own course]", "GET", "other-instructor", 404),
    ("instructor-class-regrade[via own course]", "GET", "other-instructor", 404),
    ("instructor-class-regrade-apply[via own course]", "POST", "other-instructor", 404),
    ("instructor-regrade-job[via own course]", "GET", "other-instructor", 404),
    ("instructor-regrade-job-state[via own course]", "GET", "other-instructor", 404),
    ("instructor-regrade-answer[via own course]", "GET", "other-instructor", 404),
    ("instructor-regrade-answer[via own course]", "POST", "other-instructor", 404),
    ("instructor-score-log[other course's]", "GET", "instructor", 404),
    ("instructor-class-regrade[other course's]", "GET", "instructor", 404),
    ("instructor-regrade-answer[other course's]", "GET", "instructor", 404),
    ("instructor-regrade-answer[other course's]", "POST", "instructor", 404),
    ("instructor-regrade-answer[other course's]", "POST", "ta", 404),
    ("instructor-regrade-job[another assessment's]", "GET", "instructor", 404),
    ("instructor-regrade-job-state[another assessment's]", "GET", "instructor", 404),
    ("instructor-regrade-answer", "GET", "section-ta", 404),
    ("instructor-regrade-answer", "POST", "section-ta", 404),
    ("instructor-regrade-queue", "GET", "section-ta", 200),
    ("instructor-score-log", "GET", "section-ta", 200),
    ("instructor-class-regrade", "GET", "section-ta", 403),
    ("instructor-regrade-window", "POST", "section-ta", 403),
    # Students: another course's assessment, a classmate's attempt, and ids mixed across two attempts.
    ("assessment-landing[other course's]", "GET", "owner", 404),
    ("assessment-start[other course's]", "POST", "owner", 404),
    ("attempt[classmate's]", "GET", "owner", 404),
    ("attempt[classmate's]", "GET", "ta", 200),
    ("item-regrade-request[own attempt, classmate's item]", "POST", "owner", 404),
    ("item-regrade-request[own attempt, classmate's item]", "POST", "classmate", 404),
    ("item-regrade-request[not released]", "POST", "owner", 302),  # refused with a message: nothing written
    *[(f"{name}[{mix}]", "POST", "owner", 404)
      for name in ("item-save", "item-check", "item-variant", "item-self-assess", "item-reveal")
      for mix in ("own attempt, classmate's item", "classmate's attempt, own item")],
]

CELLS: list[tuple[str, str, str, int | str]] = [
    (view, method, who, expected)
    for (view, method), row in MATRIX.items()
    for who, expected in zip(WHO, row, strict=True)
] + list(MISMATCHED_IDS)


# --------------------------------------------------------------------------- running a cell


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def send(client: Client, endpoint: Endpoint, method: str, url: str, w: World) -> HttpResponse:
    if method == "GET":
        return client.get(url, headers={"Accept": "application/json"} if endpoint.json else None)
    data = endpoint.data(w) if endpoint.data else {}
    if endpoint.json:
        return client.post(url, json.dumps(data), content_type="application/json",
                           headers={"Accept": "application/json"})
    return client.post(url, data)


def assert_sent_to_login(response: HttpResponse, url: str) -> None:
    location = urlsplit(response["Location"])
    assert location.path == resolve_url(settings.LOGIN_URL), response["Location"]
    assert parse_qs(location.query)["next"] == [url], response["Location"]


def test_the_table_covers_every_quizzes_view() -> None:
    from progress import instructor_urls as progress_instructor_urls
    from progress import urls as progress_urls
    from quizzes import instructor_urls, urls

    names = {pattern.name for pattern in [*urls.urlpatterns, *instructor_urls.urlpatterns,
                                          *progress_urls.urlpatterns, *progress_instructor_urls.urlpatterns]}
    assert {view for view, _method in MATRIX} >= names
    assert all(len(row) == len(WHO) for row in MATRIX.values())
    assert set(ENDPOINTS) >= {(view, method) for view, method, _who, _expected in CELLS}


@pytest.mark.django_db
@pytest.mark.parametrize(("view", "method", "who", "expected"), CELLS,
                         ids=[f"{view}-{method}-{who}" for view, method, who, _e in CELLS])
def test_access(world: World, view: str, method: str, who: str, expected: int | str) -> None:
    endpoint = ENDPOINTS[(view, method)]
    user = world.users[who]
    client = client_for(user)
    url = endpoint.url(world)
    before = _snapshot()
    response = send(client, endpoint, method, url, world)
    status = 302 if expected == LOGIN else expected
    assert response.status_code == status, f"{method} {url} as {who}: {response.status_code}, expected {status}"

    if expected == LOGIN:
        assert_sent_to_login(response, url)
    elif expected == 401:
        assert response.json()["code"] == "login_required"
    allowed = user is not None and response.status_code < 400
    if allowed and endpoint.json:
        assert response["Content-Type"].startswith("application/json")
    if allowed and endpoint.check is not None:
        endpoint.check(world, user, response)
    if allowed and response.status_code == 302:
        assert endpoint.goes_to is not None, "an allowed redirect with nowhere to check"
        assert response["Location"] == endpoint.goes_to(world, user)

    after = _snapshot()
    if allowed and endpoint.effect is not None:
        assert after != before, f"{method} {url} as {who}: allowed but wrote nothing"
        endpoint.effect(world, user)
    else:
        assert after == before, f"{method} {url} as {who}: changed the database"


# --------------------------------------------------------------------------- ids reveal nothing


@pytest.mark.django_db
def test_a_404_for_not_yours_is_the_404_for_no_such_id(world: World) -> None:
    classmate, stranger = client_for(world.classmate), client_for(world.users["other-instructor"])
    missing = 999_999
    assert not Attempt.objects.filter(pk=missing).exists() and not AttemptItem.objects.filter(pk=missing).exists()
    pairs = [
        # the quiz page
        (classmate.get(reverse("attempt", args=[world.practice_attempt.pk])),
         classmate.get(reverse("attempt", args=[missing]))),
        (stranger.get(reverse("attempt", args=[world.practice_attempt.pk])),
         stranger.get(reverse("attempt", args=[missing]))),
        # a JSON endpoint that reads, and one that writes (the owner's item, a mixed pair, no such ids)
        (classmate.get(reverse("attempt-state", args=[world.practice_attempt.pk])),
         classmate.get(reverse("attempt-state", args=[missing]))),
        (send(classmate, ENDPOINTS[("item-save", "POST")],
              "POST", reverse("item-save", args=[world.practice_attempt.pk, world.numeric.pk]), world),
         send(classmate, ENDPOINTS[("item-save", "POST")], "POST", reverse("item-save", args=[missing, missing]),
              world)),
        (send(classmate, ENDPOINTS[("item-check", "POST")],
              "POST", reverse("item-check", args=[world.practice_attempt.pk, world.numeric.pk]), world),
         send(classmate, ENDPOINTS[("item-check", "POST")], "POST",
              reverse("item-check", args=[world.classmate_attempt.pk, missing]), world)),
    ]
    for not_yours, no_such in pairs:
        assert not_yours.status_code == no_such.status_code == 404
        assert not_yours["Content-Type"] == no_such["Content-Type"]
        assert not_yours.content == no_such.content
    # The owner's answer is untouched by all of this.
    assert _refreshed(world.numeric).response is None


@pytest.mark.django_db
def test_the_owners_autosave_is_stored_and_shown_back(world: World) -> None:
    owner = client_for(world.owner)
    response = send(owner, ENDPOINTS[("item-save", "POST")], "POST",
                    reverse("item-save", args=[world.practice_attempt.pk, world.numeric.pk]), world)
    assert response.status_code == 200 and response.json()["save_count"] == 1
    assert _refreshed(world.numeric).response == {"value": "-0.5"}
    # Staff reading the attempt see the stored answer, read only.
    html = client_for(world.users["ta"]).get(reverse("attempt", args=[world.practice_attempt.pk])).content.decode()
    assert 'value="-0.5"' in html and "data-save-url" not in html


@pytest.mark.django_db
def test_the_scripts_get_json_for_404_and_for_a_logged_out_submit(world: World) -> None:
    """The page's script (fetch, Accept: application/json) never gets an HTML page to parse."""
    classmate = client_for(world.classmate)
    not_yours = classmate.get(reverse("attempt-state", args=[world.practice_attempt.pk]))
    assert not_yours.status_code == 404 and not_yours.json()["code"] == "not_found"
    json_headers = {"Accept": "application/json"}
    submit = reverse("attempt-submit", args=[world.practice_attempt.pk])
    logged_out = client_for(None).post(submit, headers=json_headers)
    assert logged_out.status_code == 401 and logged_out.json()["code"] == "login_required"
    assert classmate.post(submit, headers=json_headers).json()["code"] == "not_found"
    form = client_for(None).post(submit)  # a form (no script) is sent to the login page
    assert form.status_code == 302 and form["Location"].startswith("/accounts/login/")
    assert _refreshed(world.practice_attempt).status == AttemptStatus.IN_PROGRESS


@pytest.mark.django_db
def test_the_staff_scripts_endpoints_answer_json_whatever_the_accept_header(world: World) -> None:
    """The class regrade's poll and the editor's preview: JSON 401 logged out (never the login page,
    which ``fetch`` would follow and fail to parse), JSON 403 for a TA or a student."""
    poll = _i("instructor-regrade-job-state", world, world.released.pk, world.regrade_job.pk)
    preview = _i("instructor-question-preview", world)
    for ask in (lambda c: c.get(poll), lambda c: c.post(preview, {"text": "", "seed": "1"})):
        logged_out = ask(client_for(None))
        assert logged_out.status_code == 401 and logged_out.json()["code"] == "login_required"
    refused = client_for(world.users["ta"]).get(poll)
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    refused = client_for(world.owner).post(preview, {"text": "", "seed": "1"})
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
