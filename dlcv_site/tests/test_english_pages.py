"""Every page kind and every feedback kind, asked for in English, shows no Chinese of its own.

The course is built as ``make run`` builds it (the whole bank, the demo course, its mock exams and
practice sets, the labs), then used until every page kind has something to show: practice checks
of every question type, a submitted mock exam, a released exam with a hand-graded essay, graded
numeric and coding lab submissions (misconceptions, a wrong cell, passed/failed/error/not-run
tests, a run that stopped early), a grading that failed, an API token, instructor pages.

Course content — the question bank, the labs' own titles and descriptions, assessments' titles and
descriptions (the bank loader makes them from the bank's topic names) — is written in Chinese and
carries English (issue 17): an English page shows the English. What stays Chinese — the past exams'
questions (under an English summary), the classmates' answers and names, content without a
translation — is in elements that carry ``lang="zh-Hant"`` (WCAG 3.1.2, language of parts). The people of this course have plain user names, and a student's own
answers and the instructor's comment are written in English here, so they need no exception. So a
page in English is checked by parsing its
HTML, dropping each subtree whose nearest ``lang`` is not English, dropping the content titles in
``<title>``, and asserting that no CJK character is left: what is left is the interface, which
must be English. The JSON endpoints' messages are checked too, and the same pages in zh-Hant must
show the translated interface (so a language switch that did nothing would be noticed).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.test import APIClient

from accounts.models import Course, Role, User
from accounts.services import DEMO_COURSE_SLUG, token_get_or_create
from accounts.tests.factories import make_member
from grader.codelabs import get_codelab
from grader.codelabs.base import CodeLab
from grader.codelabs.inprocess import load_source
from grader.problems import get_family
from grader.sandbox.runner import JobOutcome, JobSpec
from labs.models import Lab, SubmissionStatus
from labs.services import (
    grading,
    lab_part_params,
    lab_variant_seed,
    queue,
    submission_create,
    submission_grade,
)
from labs.tests.factories import lab_answers
from quizzes.models import Assessment, AssessmentMode, Attempt, AttemptItem, Question
from quizzes.services.attempts import (
    attempt_item_save,
    attempt_start,
    attempt_submit,
    essay_self_assess,
)
from quizzes.services.authoring import assessment_release_results
from quizzes.services.rubric import essay_grade_with_rubric, rubric_seed_from_key_points
from quizzes.tests.factories import make_assessment

#: CJK punctuation, ideographs, full-width forms: none may be left on an English page.
CJK = re.compile("[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")

#: One question of every type; the numeric one has the bank's own misconception messages.
QUESTIONS = {
    "single": "act-dead-relu-05",
    "multiple": "cnn-weight-sharing-03",
    "truefalse": "act-nonlinearity-07",
    "numeric": "conv-multichannel-value-08",
    "matrix": "conv-cross-filter-03",  # with a hint
    "symbolic": "act-sigmoid-derivative-01",
    "text": "bp-text-08",
    "essay": "exam-109-q1",
    "param": "param-conv-by-hand-01",
}
NUMERIC_LAB = "lab1-convolution"
DETECTION_LAB = "lab4-map"
CODE_LAB = "code1-conv2d-forward"
ESSAY_TEXT = "Pooling makes the features invariant to small shifts, and a 1x1 convolution mixes channels."
COMMENT = "Good start; name the receptive field too."


# --------------------------------------------------------------------------- reading a page


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
#: Inputs whose value people do not read (a field's value is read: a button's text, a title being edited).
MACHINE_INPUTS = {"hidden", "checkbox", "radio", "number", "password", "file"}
#: Attributes people read (or hear): checked like text. Others (href, class, data-url …) are not text.
READ_ATTRIBUTES = {"alt", "title", "aria-label", "aria-description", "placeholder", "label", "summary"}


@dataclass
class Hit:
    where: str  # the element path
    text: str  # the text around the CJK character

    def __str__(self) -> str:
        return f"    {self.where}\n      …{self.text}…"


@dataclass
class _Element:
    tag: str
    lang: str | None
    label: str


def _label(tag: str, attrs: Mapping[str, str | None]) -> str:
    label = tag
    if attrs.get("id"):
        label += f"#{attrs['id']}"
    classes = (attrs.get("class") or "").split()
    if classes:
        label += "." + ".".join(classes[:2])
    for name in ("lang", "data-type", "data-part", "data-test", "data-box"):
        if attrs.get(name):
            label += f"[{name}={attrs[name]}]"
    return label


def _around(text: str, match: re.Match[str]) -> str:
    start, end = max(0, match.start() - 40), min(len(text), match.end() + 40)
    return " ".join(text[start:end].split())


class InterfaceText(HTMLParser):
    """The text of a page (or a fragment of one) outside the subtrees in another language than
    ``page_lang``: text nodes, the attributes people read, the strings of JSON data blocks
    (``json_script``: the scripts' messages), and ``<title>`` with the content titles removed."""

    def __init__(self, page_lang: str, content_titles: list[str], drop_marked: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.page_lang = page_lang.lower()
        self.drop_marked = drop_marked  # drop every subtree with a lang of its own, even the page's
        self.content_titles = sorted((t for t in content_titles if t), key=len, reverse=True)
        self.stack: list[_Element] = [_Element("#root", page_lang, "")]
        self.hits: list[Hit] = []
        self.kept: list[str] = []  # the interface text, for the zh-Hant check
        self._title: list[str] | None = None
        self._script_json: list[str] | None = None

    # -- where we are

    def _path(self) -> str:
        return " > ".join(e.label for e in self.stack[1:]) or "(top)"

    def _lang(self) -> str:
        return next(e.lang for e in reversed(self.stack) if e.lang is not None).lower()

    def _ours(self) -> bool:
        """Whether the current element is in the page's language (its nearest lang says so)."""
        if self.drop_marked and any(e.lang is not None for e in self.stack[1:]):
            return False
        lang = self._lang()
        return lang == self.page_lang or lang.split("-")[0] == self.page_lang.split("-")[0] == "en"

    def _check(self, text: str, where: str) -> None:
        if not text.strip():
            return
        self.kept.append(text)
        match = CJK.search(text)
        if match:
            self.hits.append(Hit(where, _around(text, match)))

    # -- the parser's callbacks

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = dict(attrs_list)
        if tag == "html" and attrs.get("lang"):
            self.stack[0].lang = attrs["lang"]
        element = _Element(tag, None if tag == "html" else attrs.get("lang"), _label(tag, attrs))
        self.stack.append(element)
        if self._ours():
            for name, value in attrs_list:
                if value and name in READ_ATTRIBUTES:
                    self._check(value, f"{self._path()} @{name}")
                if value and name == "value" and tag == "input" and attrs.get("type") not in MACHINE_INPUTS:
                    self._check(value, f"{self._path()} @value")  # a button's text, a field's content
                if value and name.startswith("data-") and tag == "template":  # the editor's messages
                    self._check(value, f"{self._path()} @{name}")
        if tag == "title":
            self._title = []
        elif tag == "script" and attrs.get("type") == "application/json":
            self._script_json = []
        if tag in VOID:
            self.stack.pop()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._title is not None:
            text = "".join(self._title)
            for title in self.content_titles:
                text = text.replace(title, "")
            self._check(text, "head > title")
            self._title = None
        elif tag == "script" and self._script_json is not None:
            data = json.loads("".join(self._script_json))
            for path, value in _strings(data):
                self._check(value, f"{self._path()} json{path}")
            self._script_json = None
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                break

    def handle_data(self, data: str) -> None:
        if self._title is not None:
            self._title.append(data)
        elif self._script_json is not None:
            self._script_json.append(data)
        elif self.stack[-1].tag in ("script", "style"):
            return
        elif self._ours():
            self._check(data, self._path())


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def read_html(html: str, *, page_lang: str, content_titles: list[str] = (),  # type: ignore[assignment]
              drop_marked: bool = False) -> InterfaceText:
    parser = InterfaceText(page_lang, list(content_titles), drop_marked)
    parser.feed(html)
    parser.close()
    return parser


def json_hits(data: Any, *, html_keys: tuple[str, ...] = ("html", "status_html", "result_html"),
              content_keys: tuple[str, ...] = ()) -> list[Hit]:
    """CJK in a JSON body's strings; the HTML fragments it carries are read as English pages' parts.
    ``content_keys``: top-level fields that hold course content (not shown as messages)."""
    hits: list[Hit] = []
    for path, value in _strings(data):
        top = re.match(r"\.([^.\[]+)", path)
        if top is not None and top.group(1) in content_keys:
            continue
        if path.rsplit(".", 1)[-1] in html_keys:
            hits += [Hit(f"json{path} > {hit.where}", hit.text) for hit in read_html(value, page_lang="en").hits]
        else:
            match = CJK.search(value)
            if match:
                hits.append(Hit(f"json{path}", _around(value, match)))
    return hits


# --------------------------------------------------------------------------- the course


class InProcessRunner:
    """A stand-in for the sandbox that runs trusted code here and plays out a run that ends badly:
    the first case passes (the model solution's value), the second returns a wrong value, the third
    raises, and then the program exits before the other cases have run."""

    sandboxed = False

    def __init__(self, lab: CodeLab) -> None:
        self.module = load_source(lab.solution(), lab.module_name)

    def run(self, job: JobSpec) -> JobOutcome:
        if "RAISE-IN-GRADER" in job.source:
            raise RuntimeError("the sandbox is down")
        frames: list[dict[str, Any]] = [{"kind": "imported", "seconds": 0.01}]
        for index, call in enumerate(job.calls[:3]):
            if index == 2:
                frames.append({"kind": "error", "id": call["id"], "exception": "ZeroDivisionError",
                               "error": "division by zero", "seconds": 0.001,
                               "traceback": 'Traceback (most recent call last):\n  File "submission.py", line 9\n'
                                            "ZeroDivisionError: division by zero"})
                continue
            value = getattr(self.module, call["function"])(*call["args"], **call["kwargs"])
            frames.append({"kind": "result", "id": call["id"], "value": value + 1 if index == 1 else value,
                           "seconds": 0.002})
        return JobOutcome(frames=frames, stdout="epoch 1 done\n", stderr="RuntimeWarning: overflow\n",
                          status={"exit_code": 1, "wall_seconds": 0.3, "cpu_seconds": 0.2, "max_rss_kb": 40960},
                          wall_seconds=0.3)


@dataclass
class World:
    course: Course
    student: User
    other: User
    instructor: User
    pages: dict[str, str] = field(default_factory=dict)  # name → URL
    staff_pages: set[str] = field(default_factory=set)  # the names of the pages read by the instructor
    titles: list[str] = field(default_factory=list)  # content titles (they may be in <title>)
    ids: dict[str, Any] = field(default_factory=dict)


def _answers(question: Question, seed: int, *, right: bool) -> dict[str, Any]:
    """A response to ``question`` (right, or wrong in a way the bank or the family explains)."""
    spec = question.current_version.spec
    qtype = question.type
    if qtype == "single":
        correct = next(i for i, c in enumerate(spec["choices"]) if c.get("correct"))
        wrongs = [i for i, c in enumerate(spec["choices"]) if not c.get("correct")]
        explained = [i for i in wrongs if spec["choices"][i].get("feedback")]
        return {"choice": correct if right else (explained or wrongs)[0]}
    if qtype == "multiple":
        return {"choices": [i for i, c in enumerate(spec["choices"]) if bool(c.get("correct")) == right]}
    if qtype == "truefalse":
        return {"value": bool(spec["answer"]) == right}
    if qtype == "numeric":
        misconceptions = spec.get("misconceptions") or [{"answer": float(spec["answer"]) * 2 + 1}]
        return {"value": str(spec["answer"] if right else misconceptions[0]["answer"])}
    if qtype == "matrix":
        rows = [[str(v) for v in row] for row in spec["answer"]]
        if not right:
            rows[0][0] = str(float(rows[0][0]) + 5)
        return {"value": rows}
    if qtype == "symbolic":
        return {"value": str(spec["answer"]) if right else f"{spec['variables'][0]} + 1"}
    if qtype == "text":
        return {"value": spec["accept"][0] if right else "softmax"}
    if qtype == "essay":
        return {"text": ESSAY_TEXT}
    family = get_family(spec["family"])
    params = family.generate(seed, spec.get("constraints") or None)
    expected = family.solve(params)
    if not right:
        alternatives = family.alternatives(params)
        expected = {**expected, **next(iter(alternatives.values()))} if alternatives else expected
    return {"parts": family.format_answer(params, expected)}


def _item(attempt: Attempt, bank_id: str) -> AttemptItem:
    return attempt.items.select_related("question_version__question").get(question_version__question__bank_id=bank_id)


def _post_json(client: Client, url: str, body: Any) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json", HTTP_ACCEPT="application/json")


def _english(user: User | None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _titled(assessment: Assessment, title: str, description: str, english: tuple[str, str]) -> Assessment:
    """An assessment titled as its instructor would title it: in Chinese, with an English translation."""
    assessment.title, assessment.description = title, description
    assessment.translations = {"en": {"title": english[0], "description": english[1]}}
    assessment.save(update_fields=["title", "description", "translations"])
    return assessment


def _build_quizzes(world: World) -> None:
    course, student, other, instructor = world.course, world.student, world.other, world.instructor
    client = _english(student)
    questions = {q.bank_id: q for q in Question.objects.filter(bank_id__in=QUESTIONS.values())
                 .select_related("current_version")}
    bank_ids = list(QUESTIONS.values())

    # Practice: one of each type, each checked once (wrong, so feedback shows), then the page again.
    practice = _titled(make_assessment(course, bank_ids, mode=AssessmentMode.PRACTICE, minutes=None,
                                       slug="every-type"), "每種題型練習", "每一種題型各一題。",
                       ("Practice: one question of each type", "One question of each type."))
    attempt = attempt_start(user=student, assessment=practice)
    world.pages["practice attempt, before any check"] = reverse("attempt", args=[attempt.id])
    before = client.get(world.pages["practice attempt, before any check"])
    assert before.status_code == 200
    world.ids["html:practice attempt, before any check"] = before.content.decode()
    for bank_id in bank_ids:
        item = _item(attempt, bank_id)
        response = _post_json(client, reverse("item-check", args=[attempt.id, item.id]),
                              {"response": _answers(questions[bank_id], item.seed, right=False)})
        assert response.status_code == 200 and response.json()["gradable"], (bank_id, response.content)
        if bank_id != QUESTIONS["numeric"]:  # the numeric question stays a retry; the others show their solution
            assert _post_json(client, reverse("item-reveal", args=[attempt.id, item.id]), {}).status_code == 200
    world.ids["practice_attempt"] = attempt.id
    world.ids["numeric_item"] = _item(attempt, QUESTIONS["numeric"]).id
    world.pages["practice attempt, after checks"] = reverse("attempt", args=[attempt.id])
    world.titles += [practice.title]

    # A practice set made by the bank loader (a pool of one topic), started and checked once.
    loader_set = Assessment.objects.get(course=course, slug="practice-activations")
    world.pages["landing of a practice set made from the bank"] = reverse(
        "assessment-landing", args=[course.slug, loader_set.slug])
    pool_attempt = attempt_start(user=student, assessment=loader_set)
    first = pool_attempt.items.select_related("question_version__question").first()
    _post_json(client, reverse("item-check", args=[pool_attempt.id, first.id]),
               {"response": _answers(first.question_version.question, first.seed, right=True)})
    world.pages["practice set made from the bank, checked once"] = reverse("attempt", args=[pool_attempt.id])

    # A mock exam (past exam), answered and submitted: its results show at once, essays self-assessed.
    mock = Assessment.objects.get(course=course, slug="mock-109")
    mock_attempt = attempt_start(user=student, assessment=mock)
    for item in mock_attempt.items.select_related("question_version__question"):
        attempt_item_save(user=student, attempt_id=mock_attempt.id, item_id=item.id,
                          response=_answers(item.question_version.question, item.seed, right=item.position % 2 == 0))
    attempt_submit(attempt=mock_attempt)
    essay = mock_attempt.items.filter(question_version__question__type="essay").first()
    essay_self_assess(item=essay, points_met=[0])
    world.pages["landing of a mock exam"] = reverse("assessment-landing", args=[course.slug, mock.slug])
    world.pages["results of a submitted mock exam"] = reverse("attempt-results", args=[mock_attempt.id])
    # Another past exam, in progress: the past-exam view while answering.
    mock_108 = Assessment.objects.get(course=course, slug="mock-108")
    past = attempt_start(user=student, assessment=mock_108)
    world.pages["a past exam being answered"] = reverse("attempt", args=[past.id])
    world.titles += [mock.title, mock_108.title, loader_set.title]

    # An exam: answered, submitted, its essay graded by hand, results released.
    exam = _titled(make_assessment(course, bank_ids, mode=AssessmentMode.EXAM, slug="final", minutes=90),
                   "期末考", "閉書考試。", ("Final exam", "Closed-book exam."))
    for user in (student, other):
        exam_attempt = attempt_start(user=user, assessment=exam)
        for item in exam_attempt.items.select_related("question_version__question"):
            attempt_item_save(user=user, attempt_id=exam_attempt.id, item_id=item.id,
                              response=_answers(item.question_version.question, item.seed, right=item.position % 2 == 1))
        attempt_submit(attempt=exam_attempt)
        world.ids[f"exam_attempt_{user.username}"] = exam_attempt.id
    mine = Attempt.objects.get(pk=world.ids[f"exam_attempt_{student.username}"])
    essay = mine.items.select_related("question_version__question").get(needs_manual_grading=True)
    rubric = rubric_seed_from_key_points(question=essay.question_version.question)  # graded by its rubric
    essay_grade_with_rubric(item_id=essay.pk, applied_ids=[rubric[0].pk], adjustment="-0.5", comment=COMMENT,
                            grader=instructor)
    world.ids["grading_question"] = essay.question_version.question_id
    world.pages["results of an exam before release"] = reverse("attempt-results", args=[mine.id])
    world.ids["html:results of an exam before release"] = client.get(
        world.pages["results of an exam before release"]).content.decode()
    assessment_release_results(assessment=exam, now=timezone.now() - timedelta(seconds=1))
    world.pages["landing of an exam"] = reverse("assessment-landing", args=[course.slug, exam.slug])
    world.pages["results of a released exam"] = reverse("attempt-results", args=[mine.id])
    world.ids["exam"] = exam.id
    world.ids["grading_item"] = AttemptItem.objects.get(attempt_id=world.ids[f"exam_attempt_{other.username}"],
                                                        needs_manual_grading=True).id
    world.titles += [exam.title]

    world.pages["home"] = reverse("home")
    world.pages["course dashboard"] = reverse("course-dashboard", args=[course.slug])
    world.pages["landing of a practice"] = reverse("assessment-landing", args=[course.slug, practice.slug])


def _build_labs(world: World) -> None:
    course, student = world.course, world.student
    numeric = Lab.objects.get(slug=NUMERIC_LAB)
    seed = lab_variant_seed(lab_id=numeric.pk, user_id=student.pk)
    answers = lab_answers(numeric, student)
    # One part wrong the way a misconception explains, and one cell of the convolution wrong.
    pool = numeric.parts.get(key="pool-unpool")
    family = get_family(pool.family)
    params = lab_part_params(part=pool, seed=seed)
    alternatives = family.alternatives(params)
    assert alternatives, "the pooling part has no misconception to show"
    answers["pool-unpool"] = family.format_answer(params, {**family.solve(params), **next(iter(alternatives.values()))})
    conv = numeric.parts.get(key="conv")
    conv_family = get_family(conv.family)
    conv_params = lab_part_params(part=conv, seed=seed)
    expected = conv_family.solve(conv_params)
    grid = [list(row) for row in expected["output"]]
    grid[0][0] += 7
    answers["conv"] = conv_family.format_answer(conv_params, {**expected, "output": grid})
    graded = submission_create(user=student, lab=numeric, answers=answers, lang="en").submission
    submission_grade(submission_id=graded.pk)
    graded.refresh_from_db()
    assert graded.status == SubmissionStatus.GRADED, graded.error
    assert graded.result["misconceptions"], "no misconception in the graded numeric submission"

    detection = Lab.objects.get(slug=DETECTION_LAB)
    det = submission_create(user=student, lab=detection, answers=lab_answers(detection, student), lang="en").submission
    submission_grade(submission_id=det.pk)
    # Closed now: its correct values are shown, and the API refuses submissions (409).
    Lab.objects.filter(pk=detection.pk).update(due_at=timezone.now() - timedelta(days=1), late_policy={})

    code = Lab.objects.get(slug=CODE_LAB)
    spec = get_codelab(code.codelab)
    failed = submission_create(user=student, lab=code, source_code=spec.solution() + "\n# RAISE-IN-GRADER\n",
                               lang="en").submission
    submission_grade(submission_id=failed.pk)
    failed.refresh_from_db()
    assert failed.status == SubmissionStatus.FAILED
    ran = submission_create(user=student, lab=code, source_code=spec.solution(), lang="en").submission
    submission_grade(submission_id=ran.pk)
    ran.refresh_from_db()
    assert ran.status == SubmissionStatus.GRADED, ran.error
    statuses = {test["status"] for test in ran.result["tests"]}
    assert statuses == {"passed", "failed", "error", "not_run"} and ran.result["run"]["summary"], statuses

    world.pages["lab list"] = reverse("lab-list", args=[course.slug])
    world.pages["numeric lab"] = reverse("lab-page", args=[numeric.slug])
    world.pages["coding lab"] = reverse("lab-page", args=[code.slug])
    world.pages["graded numeric submission"] = reverse("submission-page", args=[graded.pk])
    world.pages["graded detection submission, lab closed"] = reverse("submission-page", args=[det.pk])
    world.pages["graded coding submission"] = reverse("submission-page", args=[ran.pk])
    world.pages["failed grading"] = reverse("submission-page", args=[failed.pk])
    world.pages["my grades"] = reverse("my-grades", args=[course.slug])
    world.ids.update(numeric_submission=graded.pk, code_submission=ran.pk, failed_submission=failed.pk,
                     numeric_lab=numeric.slug, closed_lab=detection.slug)
    world.titles += [lab.title for lab in Lab.objects.filter(course=course)]
    world.titles += [part.title for lab in Lab.objects.filter(course=course) for part in lab.parts.all()]


def _build_instructor_pages(world: World) -> None:
    course = world.course
    slug = course.slug
    exam_id = world.ids["exam"]
    pages = {
        "instructor home": reverse("instructor-home"),
        "instructor course": reverse("instructor-course", args=[slug]),
        "bank list": reverse("instructor-bank", args=[slug]),
        "bank list, one topic": reverse("instructor-bank", args=[slug]) + "?topic=activations",
        "assessments": reverse("instructor-assessments", args=[slug]),
        "new assessment": reverse("instructor-assessment-new", args=[slug]),
        "assessment detail (exam)": reverse("instructor-assessment", args=[slug, exam_id]) + "?find=relu",
        "assessment detail (practice set made from the bank)": reverse(
            "instructor-assessment", args=[slug, Assessment.objects.get(course=course, slug="practice-activations").pk]),
        "gradebook": reverse("instructor-gradebook", args=[slug]),
        "grading policy": reverse("instructor-grade-policy", args=[slug]),
        "class mastery": reverse("instructor-class-mastery", args=[slug]),
        "lab statistics": reverse("instructor-lab-stats", args=[slug, NUMERIC_LAB]),
        "grading queue": reverse("instructor-grading-queue", args=[slug]),
        "grading item": reverse("instructor-grading-item", args=[slug, world.ids["grading_item"]]),
        "grading rubric": reverse("instructor-grading-rubric", args=[slug, world.ids["grading_question"]]),
        "item analysis (exam)": reverse("instructor-assessment-analysis", args=[slug, exam_id]),
        "item analysis (practice, first attempts)": reverse("instructor-assessment-analysis", args=[
            slug, Attempt.objects.get(pk=world.ids["practice_attempt"]).assessment_id]) + "?population=first",
        "a student's attempt, read by staff": reverse("attempt", args=[world.ids["practice_attempt"]]),
        "a student's graded lab submission, read by staff": reverse(
            "submission-page", args=[world.ids["numeric_submission"]]),
    }
    for qtype, bank_id in QUESTIONS.items():
        pages[f"question detail ({qtype})"] = reverse("instructor-question", args=[slug, bank_id])
        pages[f"question editor ({qtype})"] = reverse("instructor-question-edit", args=[slug, bank_id])
        pages[f"question across assessments ({qtype})"] = reverse("instructor-question-analysis", args=[slug, bank_id])
        pages[f"new question ({qtype})"] = reverse("instructor-question-new", args=[slug]) + f"?type={qtype}"
    world.pages.update(pages)
    world.staff_pages.update(pages)
    world.titles += [q.current_version.title for q in Question.objects.select_related("current_version")
                     .filter(bank_id__in=QUESTIONS.values())]


def build_world() -> World:
    """The course as ``make run`` builds it, then used until every page kind has something to show
    (also the accessibility test's pages: ``dlcv_site/tests/test_accessibility.py``). Grading runs
    here, in this process: the caller replaces ``queue.enqueue_gradings`` and ``grading.code_runner``
    (``world_grading_patched``)."""
    with translation.override("en"):
        out = io.StringIO()
        call_command("load_bank", stdout=out)
        call_command("seed_demo", stdout=out)
        call_command("seed_mock_exams", stdout=out)
        call_command("load_labs", "--course", DEMO_COURSE_SLUG, stdout=out)
    course = Course.objects.get(slug=DEMO_COURSE_SLUG)
    world = World(course=course, student=User.objects.get(username="demo-student"),
                  other=make_member(course, Role.STUDENT, username="bob"),
                  instructor=User.objects.get(username="demo-instructor"))
    make_member(course, Role.TA, username="tina")
    _build_quizzes(world)
    _build_labs(world)
    _build_instructor_pages(world)
    _build_study(world)
    token_get_or_create(user=world.student)
    world.pages["API tokens"] = reverse("account-tokens")
    return world


def _build_study(world: World) -> None:
    """The study pages: the student's practice checks on their cards (the task's work, done here), a
    variant served by the review session, and the instructors' FSRS page."""
    from study.services.cards import attempt_record

    for attempt_id in Attempt.objects.filter(user=world.student, assessment__course=world.course).values_list(
            "id", flat=True):
        attempt_record(attempt_id=attempt_id)
    slug = world.course.slug
    world.pages["study plan"] = reverse("study-plan", args=[slug])
    world.pages["study review session"] = reverse("study-review", args=[slug])
    world.pages["study readiness"] = reverse("study-readiness", args=[slug])
    world.pages["study settings (FSRS)"] = reverse("study-fit", args=[slug])
    world.staff_pages.add("study settings (FSRS)")


def world_grading_patched(patch: pytest.MonkeyPatch) -> None:
    """Gradings are done by the builder itself (no worker); coding labs run in this process."""
    patch.setattr(queue, "enqueue_gradings", lambda ids, *args, **kwargs: None)
    patch.setattr(grading, "code_runner", lambda: InProcessRunner(get_codelab("conv2d-forward")))


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """The course, built once for this module in a transaction that is rolled back at its end."""
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch, transaction.atomic():
        world_grading_patched(patch)
        yield build_world()
        transaction.set_rollback(True)


def _client_for(world: World, name: str, lang: str) -> Client:
    user = world.instructor if name in world.staff_pages else world.student
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    return client


def _report(failures: dict[str, list[Hit]]) -> str:
    lines = []
    for page, hits in failures.items():
        lines.append(f"  {page}: {len(hits)} CJK text(s) outside lang-marked content")
        lines += [str(hit) for hit in hits[:25]]
        if len(hits) > 25:
            lines.append(f"    … and {len(hits) - 25} more")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the tests


@pytest.mark.django_db
def test_every_page_in_english_has_no_chinese_outside_content(world: World, settings: Any) -> None:
    settings.LANGUAGE_CODE = "zh-hant"  # the site's default: English comes from the request only
    failures: dict[str, list[Hit]] = {}
    pages = dict(world.pages)
    # Two pages as they were before the course moved on (checked, released): kept when they were read.
    htmls = {name[5:]: html for name, html in world.ids.items() if name.startswith("html:")}
    for name, url in pages.items():
        if name in htmls:
            continue
        response = _client_for(world, name, "en").get(url)
        assert response.status_code == 200, f"{name}: {url} answered {response.status_code}"
        htmls[name] = response.content.decode()
    htmls["login page"] = _english(None).get(reverse("login")).content.decode()
    for name, html in htmls.items():
        assert '<html lang="en">' in html, f"{name} is not in English"
        hits = read_html(html, page_lang="en", content_titles=world.titles).hits
        if hits:
            failures[f"{name} ({pages.get(name, '')})"] = hits
    assert not failures, "Chinese on English pages:\n" + _report(failures)


#: What shows that a page kind is not empty (in its English HTML): the feedback kinds above all.
SHOWN = {
    "course dashboard": ['class="card assessment-card"', 'class="mastery-table"', "<meter", 'class="practice-section"'],
    "class mastery": ['class="on-track-line"', 'class="compact class-mastery"', 'class="spark"'],
    "practice attempt, before any check": ['data-type="param"', 'data-type="essay"', 'class="hint"'],
    "practice attempt, after checks": ['class="fb-text"', 'class="misconceptions"', 'class="opt-fb"',
                                       "Classmates", "Worked solution for your variant", 'class="key-points"',
                                       "cell-bad", "data-retry"],
    "results of a submitted mock exam": ['class="self-assess"', 'class="peers"', "Key points"],
    "results of a released exam": ["fb-manual", COMMENT, 'class="correct"', 'class="fb-rubric"'],
    "results of an exam before release": ["Results are released by the instructor."],
    "graded numeric submission": ["data-wrong-cells", "data-misconception=", "data-no-reveal"],
    "graded detection submission, lab closed": ["data-reveal", 'class="tpfp"', "data-correct"],
    "graded coding submission": ['data-test-status="passed"', 'data-test-status="failed"',
                                 'data-test-status="error"', 'data-test-status="not_run"', "data-code-summary",
                                 'class="traceback"', "data-stdout", "data-stderr"],
    "failed grading": ["does not count", "Nothing was graded"],
    "coding lab": ["data-code-result", "data-history-row"],
    "numeric lab": ['data-part="conv"', "data-history-row"],
    "lab statistics": ['class="misconception-shares"', 'class="histogram"'],
    "gradebook": ['class="gradebook"', "bob", "data-total"],
    "my grades": ['class="my-grades"', "data-total", "/results"],
    "grading policy": ['name="c0-weight"', 'id="excused"'],
    "grading queue": ["/grading/questions/", "<progress"],
    "grading item": [ESSAY_TEXT, 'data-rubric-key="1"', "<kbd>"],
    "grading rubric": ['class="card rubric-edit"', "Add a rubric item"],
    "question detail (param)": ["Generated variant for seed", 'class="parts"'],
    "question detail (essay)": ["peer answer"],
    "API tokens": ["Revoke"],
}


@pytest.mark.django_db
def test_the_pages_show_every_kind_of_content(world: World) -> None:
    """The English check above means something only if the pages hold what they are meant to show."""
    missing = []
    for name, markers in SHOWN.items():
        html = world.ids.get(f"html:{name}") or _client_for(world, name, "en").get(world.pages[name]).content.decode()
        missing += [f"{name}: {marker!r}" for marker in markers if marker not in html]
    assert not missing, "pages without what they should show:\n  " + "\n  ".join(missing)


# --------------------------------------------------------------------------- the JSON endpoints


def _api(user: User | None, lang: str = "en") -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE=lang)
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_get_or_create(user=user).key}")
    return client


@pytest.mark.django_db
def test_json_messages_in_english_have_no_chinese(world: World, settings: Any) -> None:
    settings.LANGUAGE_CODE = "zh-hant"
    student = _english(world.student)
    attempt_id, numeric_item = world.ids["practice_attempt"], world.ids["numeric_item"]
    responses: dict[str, tuple[int, Any]] = {}

    def record(name: str, response: Any, status: int) -> None:
        assert response.status_code == status, f"{name}: {response.status_code} {response.content[:300]!r}"
        responses[name] = (status, response.json())

    check = reverse("item-check", args=[attempt_id, numeric_item])
    record("practice check, format error", _post_json(student, check, {"response": {"value": "twelve"}}), 200)
    assert responses["practice check, format error"][1]["format_errors"]
    record("practice check, graded (its feedback HTML)", _post_json(student, check, {"response": {"value": "1"}}), 200)
    assert responses["practice check, graded (its feedback HTML)"][1]["misconceptions"]
    record("practice check, no answer in the request", _post_json(student, check, {}), 400)
    record("self-assessment, unreadable", _post_json(
        student, reverse("item-self-assess", args=[attempt_id, numeric_item]), {"points_met": "all"}), 400)
    exam_attempt = world.ids[f"exam_attempt_{world.student.username}"]
    exam_item = AttemptItem.objects.filter(attempt_id=exam_attempt).first()
    record("autosave refused (submitted)", _post_json(
        student, reverse("item-save", args=[exam_attempt, exam_item.id]), {"response": {"value": "1"}}), 409)
    record("autosave, logged out", _post_json(
        _english(None), reverse("item-save", args=[exam_attempt, exam_item.id]), {"response": {"value": "1"}}), 401)
    for name in ("numeric_submission", "code_submission", "failed_submission"):
        record(f"submission state ({name})", student.get(reverse("submission-state", args=[world.ids[name]])), 200)
    record("submission state, not found", student.get(reverse("submission-state", args=[987654])), 404)

    staff = _english(world.instructor)
    preview = reverse("instructor-question-preview", args=[world.course.slug])
    for qtype in ("essay", "param", "single"):
        source = Question.objects.get(bank_id=QUESTIONS[qtype]).current_version.source_text or ""
        if source:
            record(f"editor preview ({qtype})", staff.post(preview, {"text": source, "seed": 3, "bank_id": QUESTIONS[qtype]}),
                   200)
    record("editor preview, invalid", staff.post(preview, {"text": "---\nid: x\n---\n", "seed": 1, "creating": "1"}), 200)

    api = _api(world.student)
    lab = world.ids["numeric_lab"]
    record("API: invalid answers", api.post(f"/api/labs/{lab}/submissions/",
                                           {"answers": {"conv": {"output": "[[1, 2], [3"}}}, format="json"), 400)
    assert responses["API: invalid answers"][1]["errors"]
    record("API: lab closed", api.post(f"/api/labs/{world.ids['closed_lab']}/submissions/",
                                      {"answers": lab_answers(Lab.objects.get(slug=world.ids["closed_lab"]), world.student)},
                                      format="json"), 409)
    record("API: no such lab", api.get("/api/labs/no-such-lab/"), 404)
    record("API: no such endpoint", api.get("/api/no/such/thing/"), 404)
    record("API: not logged in", _api(None).get("/api/labs/"), 401)
    record("API: malformed JSON", api.generic("POST", f"/api/labs/{lab}/submissions/", b"{not json",
                                              content_type="application/json"), 400)

    # A graded check's message and misconception tags are the bank's own text (the page shows its HTML).
    content = {"practice check, graded (its feedback HTML)": ("message", "misconceptions")}
    failures = {f"{name} ({status})": hits for name, (status, body) in responses.items()
                if (hits := json_hits(body, content_keys=content.get(name, ())))}
    assert not failures, "Chinese in English JSON messages:\n" + _report(failures)


# --------------------------------------------------------------------------- the other way round


#: A word of the interface on each page, which the zh-Hant page must show translated.
UI_WORDS = {
    "home": "Assessments and practice",
    "course dashboard": "Mastery by topic",
    "class mastery": "What the class keeps forgetting",
    "landing of a practice": "Rules",
    "landing of an exam": "You have submitted this exam.",
    "practice attempt, after checks": "Worked solution for your variant",
    "results of a submitted mock exam": "Classmates' answers",
    "results of a released exam": "Instructor's comment",
    "a past exam being answered": "Submit answers",
    "lab list": "Each student gets their own numbers. A submission with format errors costs no attempt.",
    "numeric lab": "Submit for grading",
    "coding lab": "What to write",
    "graded numeric submission": "Wrong entries (row, column):",
    "graded coding submission": "What your program printed",
    "failed grading": "We could not grade this (our fault); it does not count.",
    "API tokens": "API tokens",
    "instructor course": "Roster",
    "bank list": "New question of type",
    "question detail (param)": "Answer boxes and correct answers",
    "new question (single)": "Start from the template for",
    "assessments": "New assessment",
    "assessment detail (exam)": "Add a pool",
    "gradebook": "Download CSV",
    "my grades": "Course total:",
    "grading policy": "Drop the lowest",
    "lab statistics": "Misconceptions among wrong answers",
    "grading queue": "Exam essays by question: grade one question across all students, by its rubric.",
    "grading item": "Student's answer",
    "grading rubric": "Add a rubric item",
}


@pytest.mark.django_db
def test_the_same_pages_in_chinese_show_the_translated_interface(world: World, settings: Any) -> None:
    """So that a language switch that changed nothing could not pass the English check."""
    settings.LANGUAGE_CODE = "en"
    problems = []
    for name, url in world.pages.items():
        response = _client_for(world, name, "zh-hant").get(url)
        assert response.status_code == 200, f"{name}: {url} answered {response.status_code}"
        html = response.content.decode()
        interface = " ".join(read_html(html, page_lang="zh-hant", content_titles=world.titles, drop_marked=True).kept)
        if '<html lang="zh-hant">' not in html or not CJK.search(interface):
            problems.append(f"{name}: no Chinese in its interface")
        if name in UI_WORDS:
            with translation.override("zh-hant"):
                chinese = translation.gettext(UI_WORDS[name])
            if chinese == UI_WORDS[name] or chinese not in interface.replace("&#x27;", "'"):
                problems.append(f"{name}: {UI_WORDS[name]!r} is not shown as {chinese!r}")
    assert not problems, "zh-Hant pages:\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------- the page titles

#: A parenthesised word said twice in a row: "… (demo) (demo)" — a word, so not the factors of a
#: worked product such as "(1)(1)".
DOUBLED = re.compile(r"(\([^()]*[^\W\d_][^()]*\))\s*\1")
TITLE = re.compile(r"<title>(.*?)</title>", re.S)


@pytest.mark.django_db
@pytest.mark.parametrize("stored_title", ["Deep Learning for Computer Vision",
                                          # the demo course as earlier set-ups stored it
                                          "Deep Learning for Computer Vision (demo)"])
def test_no_page_says_the_course_term_twice(world: World, stored_title: str) -> None:
    Course.objects.filter(pk=world.course.pk).update(title=stored_title)  # rolled back with the test
    pages = {**world.pages, "home": reverse("home")}
    doubled = []
    for lang in ("en", "zh-hant"):
        for name, url in pages.items():
            response = _client_for(world, name, lang).get(url)
            assert response.status_code == 200, f"{name}: {url} answered {response.status_code}"
            html = response.content.decode()
            title = " ".join(TITLE.search(html).group(1).split())
            texts = [" ".join(text.split()) for text in read_html(html, page_lang=lang).kept]
            for where, shown in [("<title>", title)] + [("page", text) for text in texts]:
                if match := DOUBLED.search(shown):
                    doubled.append(f"{name} ({lang}) {where}: …{_around(shown, match)}…")
    assert not doubled, "a term said twice:\n  " + "\n  ".join(doubled)


# --------------------------------------------------------------------------- course content in English


#: Elements (by class) whose content stays in the language it was written in on an English page: a
#: past exam's question (under its English summary) and the classmates' answers with their names;
#: and the language switch, which names each language in that language.
WRITTEN_AS_IT_WAS = {"q-original", "peer", "lang-switch"}
#: The pages that show course content, whose bank questions, assessments and labs all carry English.
CONTENT_PAGES = (
    "course dashboard", "landing of a practice", "practice attempt, before any check", "practice attempt, after checks",
    "landing of a practice set made from the bank", "practice set made from the bank, checked once",
    "landing of a mock exam", "results of a submitted mock exam", "a past exam being answered",
    "results of a released exam", "lab list", "numeric lab", "coding lab", "graded numeric submission",
    "graded detection submission, lab closed", "gradebook", "lab statistics", "my grades", "grading policy",
)


class MarkedChinese(HTMLParser):
    """The elements of a page marked ``lang="zh-…"``, with whether one of them (or an ancestor) is
    content that stays as it was written (``WRITTEN_AS_IT_WAS``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, set[str]]] = []
        self.marked: list[tuple[str, bool]] = []  # (element path, allowed)

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = dict(attrs_list)
        classes = set((attrs.get("class") or "").split())
        if tag not in VOID:
            self.stack.append((_label(tag, attrs), classes))
        if tag != "html" and (attrs.get("lang") or "").lower().startswith("zh"):
            allowed = bool(classes & WRITTEN_AS_IT_WAS) or any(c & WRITTEN_AS_IT_WAS for _l, c in self.stack)
            self.marked.append((" > ".join(label for label, _c in self.stack[1:]) or _label(tag, attrs), allowed))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0].split("#")[0].split(".")[0].split("[")[0] == tag:
                del self.stack[depth:]
                break


@pytest.mark.django_db
def test_english_pages_show_the_course_content_in_english(world: World, settings: Any) -> None:
    """No bank question, assessment or lab falls back to its Chinese on an English page: what is
    marked Chinese is only what stays as it was written (past exams' questions, classmates' answers)."""
    settings.LANGUAGE_CODE = "zh-hant"
    fallbacks: dict[str, list[str]] = {}
    kept: list[str] = []
    for name in CONTENT_PAGES:
        html = _client_for(world, name, "en").get(world.pages[name]).content.decode()
        parser = MarkedChinese()
        parser.feed(html)
        wrong = [path for path, allowed in parser.marked if not allowed]
        if wrong:
            fallbacks[name] = wrong[:10]
        kept += [path for path, allowed in parser.marked if allowed]
    assert not fallbacks, "course content shown in Chinese on English pages:\n" + "\n".join(
        f"  {name}:\n" + "\n".join(f"    {path}" for path in paths) for name, paths in fallbacks.items())
    # The check sees the content that does stay Chinese (so it would see a fallback too).
    assert any("q-original" in path for path in kept) and any("peer" in path for path in kept)


@pytest.mark.django_db
def test_english_pages_name_their_content_in_english(world: World) -> None:
    """The English itself reaches the pages: a bank question's prompt and choice, an assessment's and a
    lab's title, a topic's name, a past exam's summary."""
    practice = _client_for(world, "practice attempt, before any check", "en").get(
        world.pages["practice attempt, before any check"]).content.decode()
    single = Question.objects.get(bank_id=QUESTIONS["single"]).current_version.translations["en"]
    assert single["choices"][0]["text"].split(":")[0] in practice
    assert "Practice: one question of each type" in practice
    assert "Why is the data computed by a CNN" in practice  # exam-109-q1's English summary
    dashboard = _client_for(world, "course dashboard", "en").get(world.pages["course dashboard"]).content.decode()
    assert "Practice: Activation functions and derivatives" in dashboard and "Final exam 109 (mock)" in dashboard
    labs = _client_for(world, "lab list", "en").get(world.pages["lab list"]).content.decode()
    assert "Lab 1: convolution, pooling and transposed convolution" in labs
