"""Reads for the instructor pages: the bank browser, question previews, assessments, the grading queue.

Views get the protected objects from ``quizzes.access`` first (course staff only: students 403,
everyone else 404; objects of another course 404); these reads then work on what they were given.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol

import yaml
from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, TextField
from django.db.models.functions import Cast
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from accounts.models import Course, Enrollment, Role, User
from dlcv_site.i18n import grader_lang
from grader.questions import choice_order
from quizzes.bank.drift import Drift, classify
from quizzes.bank.exams import EXAM_TOPIC
from quizzes.bank.format import QuestionSource, normalize_text
from quizzes.bank.languages import translated_spec
from quizzes.bank.render import render_hackmd, render_markdown
from quizzes.models import (
    Assessment,
    AssessmentItem,
    AssessmentMode,
    Attempt,
    AttemptItem,
    BankFileConflict,
    Extension,
    Question,
    QuestionType,
    QuestionVersion,
    Topic,
)
from quizzes.selectors import in_syllabus_order

BANK_PAGE_SIZE = 50

# --------------------------------------------------------------------------- bank browser


@dataclass(frozen=True)
class BankFilters:
    text: str = ""
    topic: str = ""
    qtype: str = ""
    difficulty: int | None = None
    tag: str = ""
    retired: str = ""  # "": live questions, "retired": retired only, "all": both


def bank_questions(*, filters: BankFilters) -> QuerySet[Question]:
    """The bank's questions matching ``filters``, with what a list row shows, in two queries per page."""
    questions = Question.objects.select_related("topic", "current_version")
    if filters.retired == "retired":
        questions = questions.filter(retired=True)
    elif filters.retired != "all":
        questions = questions.filter(retired=False)
    if filters.text:
        questions = questions.filter(
            Q(bank_id__icontains=filters.text)
            | Q(current_version__title__icontains=filters.text)
            | Q(current_version__prompt__icontains=filters.text)
        )
    if filters.topic:
        questions = questions.filter(topic__slug=filters.topic)
    if filters.qtype:
        questions = questions.filter(type=filters.qtype)
    if filters.difficulty is not None:
        questions = questions.filter(current_version__difficulty=filters.difficulty)
    if filters.tag:
        # Tags are a JSON list of slugs; matching '"tag"' in its text works on SQLite and PostgreSQL alike.
        questions = questions.annotate(tags_text=Cast("current_version__tags", TextField())).filter(
            tags_text__contains=f'"{filters.tag}"'
        )
    # A row needs the title and version number only, not the (long) texts.
    return questions.defer(
        "current_version__source_text", "current_version__prompt", "current_version__explanation",
        "current_version__hint", "current_version__spec",
    ).order_by("topic__position", "bank_id")


def bank_tags() -> list[str]:
    """Every tag used by a current version, sorted."""
    tags: set[str] = set()
    for tag_list in Question.objects.values_list("current_version__tags", flat=True):
        tags.update(tag_list or [])
    return sorted(tags)


def topics_all() -> list[Topic]:
    return list(Topic.objects.order_by("position", "slug"))


@dataclass(frozen=True)
class VersionRow:
    version: QuestionVersion
    answers: int


def question_versions(*, question: Question) -> list[VersionRow]:
    answers = (
        AttemptItem.objects.filter(question_version=OuterRef("pk"))
        .values("question_version").annotate(n=Count("pk")).values("n")
    )
    versions = (
        QuestionVersion.objects.filter(question=question)
        .annotate(answers=Subquery(answers, output_field=IntegerField()))
        .order_by("-number")
        .only("id", "number", "created_at", "content_hash", "question_id")
    )
    return [VersionRow(version, getattr(version, "answers", None) or 0) for version in versions]


def question_answer_count(*, question: Question) -> int:
    return AttemptItem.objects.filter(question_version__question=question).count()


# --------------------------------------------------------------------------- previews


class QuestionContent(Protocol):
    """What a preview needs: a parsed ``QuestionSource`` and a stored ``QuestionVersion`` both have it."""

    title: str
    prompt: str
    explanation: str
    hint: str | None
    spec: dict[str, Any]
    difficulty: int
    tags: Any
    lang: str

    @property
    def points(self) -> Any: ...


@dataclass(frozen=True)
class ChoicePreview:
    index: int  # in the file
    html: SafeString
    correct: bool
    feedback_html: SafeString


@dataclass(frozen=True)
class PartPreview:
    name: str
    kind: str
    label: str
    size: str  # "2×3" for a matrix of given shape, "length 4" for a vector …
    answer_html: SafeString


@dataclass
class QuestionPreview:
    qtype: str
    title: str
    difficulty: int
    points: Any
    tags: list[str]
    lang: str
    seed: int
    prompt_html: SafeString
    explanation_html: SafeString
    hint_html: SafeString
    choices: list[ChoicePreview] = field(default_factory=list)
    answer_html: SafeString = mark_safe("")
    #: (label, value, lang) for instructors: lang is the question's for the bank's own text (a
    #: feedback, a unit, a misconception's message), "" for the rest (settings such as "yes").
    details: list[tuple[str, str, str]] = field(default_factory=list)
    key_points_html: list[SafeString] = field(default_factory=list)
    peer_answers: list[tuple[str, str, SafeString]] = field(default_factory=list)
    variant_html: SafeString = mark_safe("")
    parts: list[PartPreview] = field(default_factory=list)
    worked_html: SafeString = mark_safe("")
    family_error: str = ""
    #: The question's text in its other languages (its ``::: en`` block), laid out the same way.
    translations: list[QuestionPreview] = field(default_factory=list)


def _md(text: str | None) -> SafeString:
    return mark_safe(render_markdown(text)) if text else mark_safe("")  # render_markdown escapes raw HTML


def _value_html(value: Any) -> SafeString:
    """A correct answer for instructors: matrices as MathML, everything else as text."""
    from grader.problems.base import latex_matrix

    if isinstance(value, list) and value and all(isinstance(row, list) for row in value):
        return _md(f"$${latex_matrix(value)}$$")
    if isinstance(value, list | tuple):
        return mark_safe(f"<code>{escape(json.dumps(value, ensure_ascii=False))}</code>")
    return mark_safe(f"<code>{escape(str(value))}</code>")


def _tolerance_text(tolerance: dict[str, Any] | None) -> str:
    if not tolerance:
        return ""
    return ", ".join(f"{key} {value}" for key, value in tolerance.items())


def _param_preview(preview: QuestionPreview, spec: dict[str, Any], seed: int) -> None:
    from grader.problems import get_family

    lang = grader_lang()  # the family states the variant in the reader's language, as students get it
    try:
        family = get_family(spec["family"])
        params = family.generate(seed, spec.get("constraints") or None)
        answers = family.solve(params)
        preview.variant_html = _md(family.render(params, lang))
        for part in family.parts(params):
            if part.shape is not None:
                size = f"{part.shape[0]}×{part.shape[1]}"
            elif part.length is not None:
                size = f"× {part.length}"
            else:
                size = ""
            preview.parts.append(PartPreview(
                name=part.name, kind=part.kind, label=part.label_in(lang) or part.name,
                size=size, answer_html=_value_html(answers.get(part.name)),
            ))
        preview.worked_html = _md(family.explain(params, lang))
    except Exception as exc:  # a family bug must not break the editor; show it instead
        preview.family_error = f"{type(exc).__name__}: {exc}"


#: CJK ideographs and punctuation: an accepted answer written in Chinese.
_CJK = re.compile("[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def _translated_previews(qtype: str, content: QuestionContent, seed: int) -> list[QuestionPreview]:
    """The question in each language its ``translations`` give (a past exam's: its summary), for one seed;
    a parameterized question's generated variant is shown once, with the question as written."""
    previews = []
    for lang, text in (getattr(content, "translations", None) or {}).items():
        if not text or lang == content.lang:
            continue
        translated = SimpleNamespace(
            title=text.get("title") or content.title, difficulty=content.difficulty, points=content.points,
            tags=content.tags, lang=lang, prompt=text.get("summary") or text.get("prompt") or "",
            explanation=text.get("explanation") or "", hint=text.get("hint") or "",
            spec=translated_spec(content.spec or {}, text), translations={},
        )
        shown = question_preview(qtype=qtype, content=translated, seed=seed, variant=False)
        # What stays as written is shown once, above: classmates' answers; the accepted answers in other languages.
        shown.peer_answers = []
        if qtype == QuestionType.TEXT:
            accepted = [a for a in translated.spec.get("accept") or [] if not _CJK.search(str(a))]
            shown.answer_html = _value_html(accepted) if accepted else mark_safe("")
        previews.append(shown)
    return previews


def question_preview(*, qtype: str, content: QuestionContent, seed: int, variant: bool = True) -> QuestionPreview:
    """Everything an instructor sees of one question for one seed: the student's view plus the answers,
    and the same in each other language the question carries. ``variant=False``: no generated variant."""
    spec = content.spec or {}
    preview = QuestionPreview(
        qtype=qtype, title=content.title, difficulty=content.difficulty, points=content.points,
        tags=list(content.tags or []), lang=content.lang, seed=seed, prompt_html=_md(content.prompt),
        explanation_html=_md(content.explanation), hint_html=_md(content.hint),
    )
    if qtype in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        choices = spec.get("choices") or []
        for index in choice_order(spec, seed):
            choice = choices[index]
            preview.choices.append(ChoicePreview(index=index, html=_md(choice.get("text")),
                                                 correct=bool(choice.get("correct")),
                                                 feedback_html=_md(choice.get("feedback"))))
        preview.details.append(("shuffle", "yes" if spec.get("shuffle", True) else "no", ""))
    elif qtype == QuestionType.TRUEFALSE:
        preview.answer_html = _value_html("true" if spec.get("answer") else "false")
        for key in ("feedback_true", "feedback_false"):
            if spec.get(key):
                preview.details.append((key, spec[key], preview.lang))
    elif qtype == QuestionType.NUMERIC:
        preview.answer_html = _value_html(spec.get("answer"))
        preview.details.append(("tolerance", _tolerance_text(spec.get("tolerance")), ""))
        if spec.get("unit"):
            preview.details.append(("unit", spec["unit"], preview.lang))
        for misconception in spec.get("misconceptions") or []:
            preview.details.append((f"misconception {misconception.get('answer')}", misconception.get("message", ""),
                                    preview.lang))
    elif qtype == QuestionType.MATRIX:
        preview.answer_html = _value_html(spec.get("answer"))
        preview.details.append(("tolerance", _tolerance_text(spec.get("tolerance")), ""))
        preview.details.append(("shape_given", "yes" if spec.get("shape_given", True) else "no", ""))
    elif qtype == QuestionType.SYMBOLIC:
        preview.answer_html = _value_html(spec.get("answer"))
        preview.details.append(("variables", ", ".join(spec.get("variables") or []), ""))
    elif qtype == QuestionType.TEXT:
        preview.answer_html = _value_html(list(spec.get("accept") or []))
        preview.details.append(("case_sensitive", "yes" if spec.get("case_sensitive") else "no", ""))
        preview.details.append(("regex", "yes" if spec.get("regex") else "no", ""))
    elif qtype == QuestionType.ESSAY:
        preview.key_points_html = [_md(point) for point in spec.get("key_points") or []]
        # As students read them: HackMD's line breaks kept, an empty answer labelled.
        preview.peer_answers = [(p.get("name") or "", p.get("style") or "plain",
                                 mark_safe(render_hackmd(p["body"])) if (p.get("body") or "").strip()
                                 else format_html('<p class="muted">{}</p>', _("(no answer)")))
                                for p in spec.get("peer_answers") or []]
        if spec.get("max_words"):
            preview.details.append(("max_words", str(spec["max_words"]), ""))
    elif qtype == QuestionType.PARAM:
        preview.details.append(("family", str(spec.get("family")), ""))
        if spec.get("constraints"):
            preview.details.append(("constraints", json.dumps(spec["constraints"], ensure_ascii=False), ""))
        if variant:
            _param_preview(preview, spec, seed)
    if variant:
        preview.translations = _translated_previews(qtype, content, seed)
    return preview


def _yaml_text(text: str) -> str:
    """``text`` as a single-quoted YAML scalar (a translation may hold a quote or a colon)."""
    return "'" + text.replace("'", "''") + "'"


def _template_texts() -> dict[str, str]:
    """The new-question template's placeholder texts, in the request's language: the instructor
    replaces them, and the file says which language it is written in (``lang``)."""
    return {
        "lang": grader_lang(),
        "title": pgettext("the title a new question starts with", "New question"),
        "prompt": _("The prompt: Markdown, with math written as $x^2$ or $$\\frac{a}{b}$$."),
        "explanation": _("Why the answer is right."),
        "right_option": _("The right option"),
        "why_right": _("Why it is right"),
        "wrong_option": _("A wrong option"),
        "why_wrong": _("Why it is wrong"),
        "true_statement": _("A true statement"),
        "another_true_statement": _("Another true statement"),
        "false_statement": _("A false statement"),
        "why_false": _("Why it is false"),
        "why_true": _("Why it is true"),
        "wrong_answer_means": _("What this wrong answer means"),
        "first_key_point": _("First key point"),
        "second_key_point": _("Second key point"),
    }


_TEMPLATE_HEAD = """---
id: new-{qtype}-question
type: {qtype}
topic: {topic}
title: {title}
lang: {lang}
difficulty: 1
points: 1
tags: []
"""
_TEMPLATE_BODY = """---
{prompt}

::: explanation
{explanation}
:::
"""
_TEMPLATE_SPECS: dict[str, str] = {
    "single": """choices:
  - text: {right_option}
    correct: true
    feedback: {why_right}
  - text: {wrong_option}
    feedback: {why_wrong}
""",
    "multiple": """choices:
  - text: {true_statement}
    correct: true
  - text: {another_true_statement}
    correct: true
  - text: {false_statement}
    feedback: {why_false}
""",
    "truefalse": """answer: true
feedback_false: {why_true}
""",
    "numeric": """answer: 4
tolerance: {{rel: 0.01}}
misconceptions:
  - answer: 5
    message: {wrong_answer_means}
""",
    "matrix": """answer:
  - [1, 0]
  - [0, 1]
tolerance: {{abs: 0.01}}
""",
    "symbolic": """answer: '2*n + 1'
variables: [n]
""",
    "text": """accept: [ReLU, rectified linear unit]
""",
    "essay": """key_points:
  - {first_key_point}
  - {second_key_point}
""",
    "param": """family: {family}
""",
}


#: A new question written in another language than English carries its English too (the bank requires
#: it: fixtures/bank/languages.yaml); its placeholders are English whatever the page's language.
_ENGLISH_TEMPLATE_SPECS: dict[str, str] = {
    "single": """choices:
  - text: 'The right option, in English'
    feedback: 'Why it is right, in English'
  - text: 'A wrong option, in English'
    feedback: 'Why it is wrong, in English'
""",
    "multiple": """choices:
  - text: 'A true statement, in English'
  - text: 'Another true statement, in English'
  - text: 'A false statement, in English'
    feedback: 'Why it is false, in English'
""",
    "truefalse": """feedback_false: 'Why it is true, in English'
""",
    "numeric": """misconceptions:
  - 'What this wrong answer means, in English'
""",
    "essay": """key_points:
  - 'First key point, in English'
  - 'Second key point, in English'
""",
}
_ENGLISH_TEMPLATE = """
::: en
title: 'The title in English'
prompt: |
  The prompt in English.
{spec}explanation: |
  Why the answer is right, in English.
:::
"""


def question_template(*, qtype: str, topic: str, family: str = "conv-by-hand") -> str:
    """A blank question of ``qtype`` that passes validation, for the "new question" editor, its
    placeholder texts in the request's language (and a ``::: en`` block to fill in when that is
    not English)."""
    texts = _template_texts()
    quoted = {key: _yaml_text(value) for key, value in texts.items() if key not in ("lang", "prompt", "explanation")}
    head = _TEMPLATE_HEAD.format(qtype=qtype, topic=topic, title=quoted["title"], lang=texts["lang"])
    spec = _TEMPLATE_SPECS[qtype].format(family=family, **quoted)
    body = _TEMPLATE_BODY.format(prompt=texts["prompt"], explanation=texts["explanation"])
    if texts["lang"] != "en":
        body += _ENGLISH_TEMPLATE.format(spec=_ENGLISH_TEMPLATE_SPECS.get(qtype, ""))
    return head + spec + body


def default_template_topic() -> str:
    topic = Topic.objects.exclude(slug=EXAM_TOPIC).order_by("position", "slug").values_list("slug", flat=True).first()
    return topic or "convolution"


# --------------------------------------------------------------------------- the bank's files and the database


@dataclass(frozen=True)
class DriftRow:
    bank_id: str
    drift: Drift
    path: str


def bank_drift(*, questions: list[QuestionSource], source_root: Path | None = None) -> list[DriftRow]:
    """How each question's file and its database state differ (``quizzes.bank.drift``), in file order,
    then the questions with no file; in-sync questions are left out. Two queries."""
    existing = {q.bank_id: q for q in Question.objects.filter(retired=False).select_related("current_version")}
    rows: list[DriftRow] = []
    seen: set[str] = set()
    for source in questions:
        seen.add(source.id)
        question = existing.get(source.id)
        current = question.current_version if question is not None else None
        drift = classify(file=source.content_hash, base=question.file_hash if question else "",
                         current=None if question is None else current.content_hash if current else question.file_hash)
        if drift is not Drift.IN_SYNC:
            rows.append(DriftRow(source.id, drift, _relative_path(source.path, source_root)))
    for bank_id, question in sorted(existing.items()):
        if bank_id not in seen:
            current = question.current_version
            drift = classify(file=None, base=question.file_hash,
                             current=current.content_hash if current else question.file_hash)
            rows.append(DriftRow(bank_id, drift, question.source_path))
    return rows


def _relative_path(path: str, root: Path | None) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve())) if root else path
    except ValueError:
        return path


@dataclass(frozen=True)
class ConflictRow:
    question: Question
    browser_text: str
    file_text: str  # "" when the file was removed


def bank_conflicts() -> list[ConflictRow]:
    """The conflicts load_bank recorded (file changed and browser edited), both texts; one query."""
    conflicts = BankFileConflict.objects.select_related("question__current_version", "question__topic").order_by(
        "question__bank_id")
    return [ConflictRow(c.question, c.question.current_version.source_text if c.question.current_version else "",
                        c.file_text) for c in conflicts]


def bank_browser_edited() -> QuerySet[Question]:
    """Live questions whose current version is not their file's (edited or created in the browser):
    the files to download and commit. Conflicts are listed on their own."""
    return (Question.objects.filter(retired=False, file_conflict__isnull=True)
            .exclude(current_version__content_hash=F("file_hash"))
            .exclude(current_version__isnull=True)
            .select_related("current_version", "topic").order_by("topic__position", "bank_id"))


def bank_source_files(*, topic: Topic | None = None) -> list[tuple[str, str]]:
    """(path under fixtures/bank, text) of every live question with a file of its own (past-exam questions
    come from fixtures/exams), as load_bank expects them: ``<topic>/<id>.md``; one query."""
    questions = (Question.objects.filter(retired=False).exclude(topic__slug=EXAM_TOPIC)
                 .exclude(source_path__startswith="fixtures/exams").select_related("current_version", "topic")
                 .order_by("topic__position", "bank_id"))
    if topic is not None:
        questions = questions.filter(topic=topic)
    return [(f"{q.topic.slug}/{q.bank_id}.md", normalize_text(q.current_version.source_text))
            for q in questions if q.current_version is not None and q.current_version.source_text.strip()]


def topics_yaml() -> str:
    """fixtures/bank/topics.yaml as the database has it (load_bank writes the topics from it)."""
    rows = [{"slug": t.slug, "zh": t.name_zh, "en": t.name_en} for t in Topic.objects.all()]
    return yaml.safe_dump(rows, allow_unicode=True, sort_keys=False, width=1000)


# --------------------------------------------------------------------------- assessments


def assessments_for_course(*, course: Course) -> QuerySet[Assessment]:
    assessments = Assessment.objects.filter(course=course).annotate(
        item_count=Count("items", distinct=True), attempt_count=Count("attempts", distinct=True))
    return in_syllabus_order(assessments)


@dataclass(frozen=True)
class ItemRow:
    item: AssessmentItem
    available: int | None  # questions a pool can draw from; None for a fixed question


def assessment_item_rows(*, assessment: Assessment) -> list[ItemRow]:
    items = list(
        assessment.items.select_related("question__current_version", "question__topic", "pool_topic").order_by("position")
    )
    fixed = {item.question_id for item in items if item.question_id is not None}
    pool_topics = {item.pool_topic_id for item in items if item.pool_topic_id is not None}
    candidates = list(
        Question.objects.filter(topic_id__in=pool_topics, retired=False).values_list("id", "topic_id", "current_version__tags")
    ) if pool_topics else []
    rows = []
    for item in items:
        available = None
        if item.pool_topic_id is not None:
            available = sum(1 for qid, topic_id, tags in candidates
                            if topic_id == item.pool_topic_id and qid not in fixed
                            and (not item.pool_tag or item.pool_tag in (tags or [])))
        rows.append(ItemRow(item, available))
    return rows


def assessment_warnings(*, assessment: Assessment, rows: list[ItemRow]) -> list[str]:
    """Allowed but probably a mistake: each becomes a warning on the assessment's page."""
    warnings: list[str] = []
    if assessment.mode == AssessmentMode.EXAM and not assessment.time_limit_minutes:
        warnings.append(_("This exam has no time limit."))
    if assessment.mode == AssessmentMode.EXAM and (assessment.opens_at is None or assessment.closes_at is None):
        warnings.append(_("This exam has no complete window (opening and closing time): students can start it at any time."))
    if assessment.published and not rows:
        warnings.append(_("This assessment is published but has no questions."))
    demand: dict[tuple[int, str], int] = {}
    for row in rows:
        item = row.item
        if item.question is not None and item.question.retired:
            warnings.append(_("Item %(position)d: question %(bank_id)s is retired.")
                            % {"position": item.position, "bank_id": item.question.bank_id})
        if row.available is not None:
            if item.pool_count > row.available:
                warnings.append(_("Item %(position)d: the pool asks for %(count)d questions but only %(available)d are available.")
                                % {"position": item.position, "count": item.pool_count, "available": row.available})
            key = (item.pool_topic_id or 0, item.pool_tag)
            demand[key] = demand.get(key, 0) + item.pool_count
            if demand[key] > row.available >= item.pool_count:
                warnings.append(_("Item %(position)d: together with earlier pools on the same topic, more questions are "
                                  "asked for than there are (%(available)d); students get fewer.")
                                % {"position": item.position, "available": row.available})
    return warnings


def assessment_attempt_count(*, assessment: Assessment) -> int:
    return Attempt.objects.filter(assessment=assessment).count()


def course_students(*, course: Course) -> list[User]:
    enrollments = Enrollment.objects.filter(course=course, role=Role.STUDENT).select_related("user")
    return [enrollment.user for enrollment in enrollments.order_by("user__username")]


def assessment_extensions(*, assessment: Assessment) -> QuerySet[Extension]:
    return Extension.objects.filter(assessment=assessment).select_related("user").order_by("user__username")


def questions_search(*, text: str, limit: int = 20) -> list[Question]:
    """Live questions whose bank id (or title) contains ``text``, for adding to an assessment."""
    if not text:
        return []
    return list(
        Question.objects.filter(retired=False)
        .filter(Q(bank_id__icontains=text) | Q(current_version__title__icontains=text))
        .select_related("topic", "current_version")
        .order_by("bank_id")[:limit]
    )
