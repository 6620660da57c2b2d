"""Writes for the instructor pages: editing bank questions in the browser and building assessments.

Question edits follow the bank's versioning rule (``quizzes.services.bank.bank_sync``): a version
that has answers is never changed; an unanswered one is updated in place. Every check that a user
can fail raises ``BankValidationError`` (question text, with line numbers) or Django's
``ValidationError`` (assessment fields, keyed by field name) before anything is written.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from accounts.models import Course, Enrollment, Role, User
from dlcv_site.events import ASSESSMENT_RESULTS_RELEASED, announce
from quizzes.bank.exams import EXAM_TOPIC
from quizzes.bank.format import (
    BankError,
    BankValidationError,
    QuestionSource,
    _key_line,
    normalize_text,
    parse_question,
)
from quizzes.models import (
    Assessment,
    AssessmentItem,
    AssessmentMode,
    AttemptItem,
    Extension,
    Question,
    QuestionVersion,
    Topic,
)
from quizzes.services.bank import _version_fields
from quizzes.services.graded_out import ASSESSMENT_TASK, graded_on_commit

logger = logging.getLogger(__name__)

MAX_SOURCE_LENGTH = 100_000  # characters; the longest bank file is a few thousand
MAX_POOL_COUNT = 200
MAX_EXTRA_MINUTES = 7 * 24 * 60


# --------------------------------------------------------------------------- questions


def question_is_editable(*, question: Question) -> bool:
    """Bank files are edited here; past-exam questions are generated from fixtures/exams (no source)."""
    version = question.current_version
    if version is None or not version.source_text.strip():
        return False
    return question.topic.slug != EXAM_TOPIC and not question.source_path.startswith("fixtures/exams")


def question_source_check(
    *, text: str, path: str, bank_id: str | None = None, creating: bool = False
) -> QuestionSource:
    """Parse and validate a question's text as ``load_bank`` would, plus what the editor adds.

    ``bank_id``: the question being edited (its id may not change). ``creating``: the id must be
    new. Raises ``BankValidationError`` listing every problem, with lines relative to ``text``.
    """
    from grader.problems import all_families, get_family

    if len(text) > MAX_SOURCE_LENGTH:
        raise BankValidationError([BankError(path, 1, _("the text is longer than %(max)d characters")
                                             % {"max": MAX_SOURCE_LENGTH})])
    topics = set(Topic.objects.values_list("slug", flat=True))
    families = {family.name for family in all_families()}
    try:
        source = parse_question(text, path, topics=topics, known_families=families)
    except BankValidationError as exc:
        written_id = _front_matter_value(text, "id")
        if bank_id is not None and written_id is not None and written_id != bank_id:
            raise BankValidationError([*exc.errors, _id_changed(path, text, bank_id)]) from None
        raise
    errors: list[BankError] = []
    if bank_id is not None and source.id != bank_id:
        errors.append(_id_changed(path, text, bank_id))
    if creating and Question.objects.filter(bank_id=source.id).exists():
        errors.append(BankError(path, _key_line(text, "id"), _("id %(id)s is already in the bank") % {"id": repr(source.id)}))
    if source.type == "param":
        # The parser checks the family's name; generate() is what rejects unknown constraints.
        try:
            get_family(source.spec["family"]).generate(0, source.spec.get("constraints") or None)
        except (ValueError, TypeError, KeyError) as exc:
            # The family's own words (the grader core's, in English) follow the key.
            errors.append(BankError(path, _key_line(text, "constraints"), _("constraints: %(error)s") % {"error": exc}))
    if errors:
        raise BankValidationError(errors)
    return source


def _front_matter_value(text: str, key: str) -> str | None:
    """A top-level front-matter value as written (quotes removed), for checks on text that does not parse."""
    line = _key_line(text, key)
    lines = normalize_text(text).split("\n")
    if line < 2 or line > len(lines):
        return None
    value = lines[line - 1].split(":", 1)[1].strip().strip("'\"")
    return value or None


def _id_changed(path: str, text: str, bank_id: str) -> BankError:
    return BankError(path, _key_line(text, "id"),
                     _("the id must stay %(id)s: ids are stable (past attempts and assessments refer to them); to "
                       "make a different question, use “New question”") % {"id": repr(bank_id)})


def _source_display_path(question: Question) -> str:
    # Only the file name: it labels error messages, and is never read from disk.
    return Path(question.source_path).name or f"{question.bank_id}.md"


@transaction.atomic
def question_save_source(*, user: User, question: Question, text: str) -> QuestionVersion:
    """Validate ``text`` and make it the question's current version; return that version.

    The bank's versioning rule: unchanged text changes nothing; if the current version has been
    answered (any AttemptItem) the text becomes a new version (or the earlier version it equals),
    otherwise the current version is updated in place. ``source_path`` is left as it is, so the
    downloaded file goes back where it came from.
    """
    question = (
        Question.objects.select_for_update(of=("self",))
        .select_related("current_version", "topic")
        .get(pk=question.pk)
    )
    path = _source_display_path(question)
    if not question_is_editable(question=question):
        raise BankValidationError([BankError(path, 1, _("past-exam questions are generated from fixtures/exams "
                                                        "and cannot be edited here"))])
    source = question_source_check(text=text, path=path, bank_id=question.bank_id)
    has_answers = AttemptItem.objects.filter(question_version__question=question).exists()
    if source.type != question.type and has_answers:
        # Graders read the type from the question, so old versions must keep theirs.
        raise BankValidationError([BankError(path, _key_line(text, "type"),
                                             _("the type cannot change from %(type)s once the question has "
                                               "answers: make a new question instead") % {"type": repr(question.type)})])
    fields = {**_version_fields(source), "source_text": normalize_text(text)}
    current = question.current_version
    if current is not None and current.content_hash == source.content_hash:
        version = current
    else:
        same = QuestionVersion.objects.filter(question=question, content_hash=source.content_hash).first()
        current_answered = current is not None and AttemptItem.objects.filter(question_version=current).exists()
        if current is not None and same is None and not current_answered:
            for name, value in fields.items():
                setattr(current, name, value)
            current.save()
            version = current
        else:
            version = same or QuestionVersion.objects.create(
                question=question,
                number=(question.versions.aggregate(top=Max("number"))["top"] or 0) + 1,
                **fields,
            )
    question.current_version = version
    question.topic = Topic.objects.get(slug=source.topic)
    question.type = source.type
    question.save(update_fields=["current_version", "topic", "type", "updated_at"])
    logger.info("question %s saved as version %s by user %s", question.bank_id, version.number, user.pk)
    return version


@transaction.atomic
def question_create_from_source(*, user: User, text: str) -> QuestionVersion:
    """A new bank question from the editor; its ``source_path`` is where ``load_bank`` expects the file."""
    source = question_source_check(text=text, path="new-question.md", creating=True)
    try:
        with transaction.atomic():
            question = Question.objects.create(
                bank_id=source.id, topic=Topic.objects.get(slug=source.topic), type=source.type,
                source_path=f"fixtures/bank/{source.topic}/{source.id}.md",
            )
    except IntegrityError:  # created by someone else since the check
        raise BankValidationError([BankError("new-question.md", _key_line(text, "id"),
                                             _("id %(id)s is already in the bank") % {"id": repr(source.id)})]) from None
    version = QuestionVersion.objects.create(
        question=question, number=1, **{**_version_fields(source), "source_text": normalize_text(text)}
    )
    question.current_version = version
    question.save(update_fields=["current_version"])
    logger.info("question %s created by user %s", question.bank_id, user.pk)
    return version


# --------------------------------------------------------------------------- assessments


def _assessment_check(*, course: Course, slug: str, opens_at: datetime | None, closes_at: datetime | None,
                      time_limit_minutes: int | None, exclude_id: int | None = None) -> None:
    errors: dict[str, list[str]] = {}
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        errors.setdefault("closes_at", []).append(_("The closing time must be after the opening time."))
    if time_limit_minutes is not None and time_limit_minutes < 1:
        errors.setdefault("time_limit_minutes", []).append(_("The time limit must be at least one minute."))
    taken = Assessment.objects.filter(course=course, slug=slug)
    if exclude_id is not None:
        taken = taken.exclude(pk=exclude_id)
    if taken.exists():
        errors.setdefault("slug", []).append(_("This course already has an assessment with this slug."))
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def assessment_create(
    *,
    course: Course,
    user: User,
    title: str,
    slug: str,
    description: str = "",
    mode: str = AssessmentMode.PRACTICE,
    published: bool = False,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    time_limit_minutes: int | None = None,
    shuffle_questions: bool = False,
    english: dict[str, str] | None = None,
    practice_reveal_after: int = 3,
) -> Assessment:
    """``english``: the title and description in English (``{"title", "description"}``, empty ones left out)."""
    _assessment_check(course=course, slug=slug, opens_at=opens_at, closes_at=closes_at,
                      time_limit_minutes=time_limit_minutes)
    return Assessment.objects.create(
        course=course, created_by=user, title=title, slug=slug, description=description, mode=mode,
        published=published, opens_at=opens_at, closes_at=closes_at, time_limit_minutes=time_limit_minutes,
        shuffle_questions=shuffle_questions, translations=_english_translations(english),
        practice_reveal_after=practice_reveal_after,
    )


def _english_translations(english: dict[str, str] | None) -> dict[str, dict[str, str]]:
    texts = {key: value for key, value in (english or {}).items() if key in ("title", "description") and value}
    return {"en": texts} if texts else {}


@transaction.atomic
def assessment_update(
    *,
    assessment: Assessment,
    title: str,
    slug: str,
    description: str,
    mode: str,
    published: bool,
    opens_at: datetime | None,
    closes_at: datetime | None,
    time_limit_minutes: int | None,
    shuffle_questions: bool,
    english: dict[str, str] | None = None,
    practice_reveal_after: int = 3,
) -> Assessment:
    """``english``: the title and description in English; None leaves them as they are."""
    _assessment_check(course=assessment.course, slug=slug, opens_at=opens_at, closes_at=closes_at,
                      time_limit_minutes=time_limit_minutes, exclude_id=assessment.pk)
    if english is not None:
        assessment.translations = _english_translations(english)
    assessment.title, assessment.slug, assessment.description = title, slug, description
    assessment.mode, assessment.published = mode, published
    assessment.opens_at, assessment.closes_at = opens_at, closes_at
    assessment.time_limit_minutes, assessment.shuffle_questions = time_limit_minutes, shuffle_questions
    assessment.practice_reveal_after = practice_reveal_after
    assessment.save()
    return assessment


def pool_questions_available(*, topic: Topic, tag: str = "", exclude_ids: set[int] | None = None) -> int:
    """How many live questions a pool on ``topic`` (and ``tag``) can draw from."""
    rows = Question.objects.filter(topic=topic, retired=False).values_list("id", "current_version__tags")
    excluded = exclude_ids or set()
    return sum(1 for qid, tags in rows if qid not in excluded and (not tag or tag in (tags or [])))


@transaction.atomic
def assessment_item_add(
    *,
    assessment: Assessment,
    question: Question | None = None,
    pool_topic: Topic | None = None,
    pool_tag: str = "",
    pool_count: int = 1,
    points: Decimal | None = None,
) -> AssessmentItem:
    """Append a fixed question or a pool (``pool_count`` questions drawn from a topic [+ tag])."""
    # Lock the assessment so two concurrent adds cannot take the same position.
    Assessment.objects.select_for_update().filter(pk=assessment.pk).first()
    items = AssessmentItem.objects.filter(assessment=assessment)
    if (question is None) == (pool_topic is None):
        raise ValidationError(_("Choose either one question or a pool, not both."))
    if points is not None and points <= 0:
        raise ValidationError({"points": [_("Points must be positive.")]})
    if question is not None:
        if question.retired:
            raise ValidationError({"bank_id": [_("This question is retired: it is no longer in the bank.")]})
        if items.filter(question=question).exists():
            raise ValidationError({"bank_id": [_("This question is already in the assessment.")]})
    else:
        assert pool_topic is not None
        if not 1 <= pool_count <= MAX_POOL_COUNT:
            raise ValidationError({"pool_count": [_("Draw between 1 and %(max)d questions.") % {"max": MAX_POOL_COUNT}]})
        fixed = set(items.filter(question__isnull=False).values_list("question_id", flat=True))
        available = pool_questions_available(topic=pool_topic, tag=pool_tag, exclude_ids=fixed)
        if pool_count > available:
            raise ValidationError({"pool_count": [
                _("The pool asks for %(count)d questions but only %(available)d are available in this topic%(tag)s "
                  "(not counting questions already fixed in this assessment).")
                % {"count": pool_count, "available": available, "tag": f" [{pool_tag}]" if pool_tag else ""}
            ]})
    position = (items.aggregate(top=Max("position"))["top"] or 0) + 1
    return AssessmentItem.objects.create(
        assessment=assessment, position=position, question=question, pool_topic=pool_topic,
        pool_tag=pool_tag if pool_topic is not None else "", pool_count=pool_count if pool_topic is not None else 1,
        points=points,
    )


@transaction.atomic
def assessment_item_move(*, item: AssessmentItem, direction: Literal["up", "down"]) -> AssessmentItem:
    """Swap the item with its neighbour above or below (no-op at either end)."""
    Assessment.objects.select_for_update().filter(pk=item.assessment_id).first()
    item = AssessmentItem.objects.get(pk=item.pk)
    siblings = AssessmentItem.objects.filter(assessment_id=item.assessment_id)
    neighbour = (
        siblings.filter(position__lt=item.position).order_by("-position").first()
        if direction == "up"
        else siblings.filter(position__gt=item.position).order_by("position").first()
    )
    if neighbour is None:
        return item
    mine, theirs = item.position, neighbour.position
    # (assessment, position) is unique, so park one row on a free position during the swap.
    item.position = (siblings.aggregate(top=Max("position"))["top"] or 0) + 1
    item.save(update_fields=["position"])
    neighbour.position = mine
    neighbour.save(update_fields=["position"])
    item.position = theirs
    item.save(update_fields=["position"])
    return item


@transaction.atomic
def assessment_item_remove(*, item: AssessmentItem) -> None:
    """Delete the item and close the gap, so positions stay 1…n."""
    Assessment.objects.select_for_update().filter(pk=item.assessment_id).first()
    assessment_id, removed_at = item.assessment_id, item.position
    item.delete()
    for later in AssessmentItem.objects.filter(assessment_id=assessment_id, position__gt=removed_at).order_by("position"):
        later.position -= 1
        later.save(update_fields=["position"])


@transaction.atomic
def assessment_release_results(*, assessment: Assessment, now: datetime) -> Assessment:
    """Let students see scores and explanations of their exam attempts from ``now`` (idempotent)."""
    assessment = Assessment.objects.select_for_update().get(pk=assessment.pk)
    if assessment.results_released_at is None or assessment.results_released_at > now:
        assessment.results_released_at = now
        assessment.save(update_fields=["results_released_at"])
        announce(ASSESSMENT_RESULTS_RELEASED, assessment.pk)  # the LMS's grade passback (lti), by task name
        graded_on_commit(ASSESSMENT_TASK, assessment.pk)  # the released answers reach the study plans
    return assessment


@transaction.atomic
def extension_set(*, assessment: Assessment, user: User, extra_minutes: int) -> Extension | None:
    """Give one enrolled student extra minutes (time limit and window); 0 removes the extension."""
    if not Enrollment.objects.filter(course_id=assessment.course_id, user=user, role=Role.STUDENT).exists():
        raise ValidationError({"user": [_("Extensions are for students enrolled in this course.")]})
    if not 0 <= extra_minutes <= MAX_EXTRA_MINUTES:
        raise ValidationError({"extra_minutes": [
            _("Extra minutes must be between 0 and %(max)d.") % {"max": MAX_EXTRA_MINUTES}]})
    if extra_minutes == 0:
        Extension.objects.filter(assessment=assessment, user=user).delete()
        return None
    extension, _created = Extension.objects.update_or_create(
        assessment=assessment, user=user, defaults={"extra_minutes": extra_minutes}
    )
    return extension
