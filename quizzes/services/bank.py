"""Writes for the question bank, assessments and attempts."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from accounts.models import Course
from quizzes.bank.drift import Drift, classify
from quizzes.bank.exams import load_exam_bank
from quizzes.bank.format import (
    BankError,
    BankValidationError,
    QuestionSource,
    load_bank_dir,
    load_topics,
    normalize_text,
    parse_question,
)
from quizzes.bank.languages import ENGLISH, has_translation, required_languages
from quizzes.models import (
    Assessment,
    AssessmentItem,
    AssessmentMode,
    AttemptItem,
    BankFileConflict,
    Question,
    QuestionVersion,
    Topic,
)


@dataclass(frozen=True)
class BankConflict:
    """A question whose file changed while it was edited in the browser: both texts, nothing changed."""

    bank_id: str
    path: str
    browser_text: str
    file_text: str  # "" when the file was removed

    def diff(self) -> str:
        """A unified diff from the browser's version to the file's."""
        return "".join(difflib.unified_diff(
            self.browser_text.splitlines(keepends=True), self.file_text.splitlines(keepends=True),
            fromfile=f"{self.bank_id} (browser, current)", tofile=f"{self.path} (file)"))


@dataclass
class BankSyncReport:
    created: list[str] = field(default_factory=list)
    updated_in_place: list[str] = field(default_factory=list)
    new_versions: list[str] = field(default_factory=list)
    unchanged: int = 0
    retired: list[str] = field(default_factory=list)
    kept_browser_edits: list[str] = field(default_factory=list)  # edited in the browser, file unchanged: kept
    conflicts: list[BankConflict] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{len(self.created)} created, {len(self.new_versions)} new versions, "
                f"{len(self.updated_in_place)} updated (unanswered), {self.unchanged} unchanged, "
                f"{len(self.retired)} retired, {len(self.kept_browser_edits)} browser edits kept, "
                f"{len(self.conflicts)} conflicts")


@dataclass(frozen=True)
class BankContents:
    topics: list[dict[str, str]]
    questions: list[QuestionSource]
    mock_exams: dict[int, list[str]]


def bank_read(*, fixtures_dir: Path) -> tuple[BankContents, list[BankError]]:
    """Parse and validate the bank files and the past exams; nothing is written."""
    from grader.problems import all_families

    bank_dir, exams_dir = fixtures_dir / "bank", fixtures_dir / "exams"
    families = {family.name for family in all_families()}
    questions, errors = load_bank_dir(bank_dir, known_families=families)
    topics = load_topics(bank_dir / "topics.yaml")
    mock_exams: dict[int, list[str]] = {}
    if exams_dir.is_dir():
        exam_bank, exam_errors = load_exam_bank(exams_dir)
        errors.extend(exam_errors)
        known = {q.id for q in questions}
        for question in exam_bank.questions:
            if question.id in known:
                errors.append(BankError(question.path, 1, f"exam question id {question.id!r} is also a bank file id"))
        questions.extend(exam_bank.questions)
        mock_exams = exam_bank.mock_exams
    if ENGLISH in required_languages(bank_dir):
        errors.extend(BankError(q.path, 1, _("no English text: add a '::: en' block (see FORMAT.md)"))
                      for q in questions if q.lang != ENGLISH and not has_translation(q.translations, ENGLISH))
    return BankContents(topics=topics, questions=questions, mock_exams=mock_exams), errors


def bank_english_coverage(questions: list[QuestionSource]) -> dict[str, tuple[int, int]]:
    """Per topic (and ``""`` for the whole bank): (questions with English, questions)."""
    coverage: dict[str, tuple[int, int]] = {}
    for question in questions:
        english = question.lang == ENGLISH or has_translation(question.translations, ENGLISH)
        for key in (question.topic, ""):
            count, total = coverage.get(key, (0, 0))
            coverage[key] = (count + english, total + 1)
    return coverage


def _own_file_text(source: QuestionSource) -> str:
    path = Path(source.path)
    return path.read_text("utf-8") if path.name == f"{source.id}.md" and path.is_file() else ""


def _version_fields(source: QuestionSource) -> dict[str, object]:
    return {
        "content_hash": source.content_hash,
        # Only a question's own file is its source; past-exam questions come from a shared note.
        "source_text": _own_file_text(source),
        "title": source.title,
        "prompt": source.prompt,
        "explanation": source.explanation,
        "hint": source.hint or "",
        "spec": source.spec,
        "points": source.points,
        "difficulty": source.difficulty,
        "tags": list(source.tags),
        "lang": source.lang,
        "translations": source.translations,
    }


def _version_apply(*, question: Question, fields: dict[str, object], content_hash: str, answered: bool) -> str:
    """Make ``fields`` the question's current version by the bank's versioning rule; say how.

    An unanswered current version is updated in place (unless an earlier version already has this
    content: it becomes current again); an answered one is never changed: a new version is added.
    Returns "unchanged", "updated" or "new-version". The caller saves ``question``.
    """
    current = question.current_version
    if current is not None and current.content_hash == content_hash:
        return "unchanged"
    same = QuestionVersion.objects.filter(question=question, content_hash=content_hash).first()
    if current is not None and same is None and not answered:
        for name, value in fields.items():
            setattr(current, name, value)
        current.save()
        return "updated"
    if same is None:
        number = (question.versions.aggregate(top=Max("number"))["top"] or 0) + 1
        same = QuestionVersion.objects.create(question=question, number=number, **fields)
    question.current_version = same
    return "new-version"


def _normalized_or_empty(text: str) -> str:
    return normalize_text(text) if text.strip() else ""


def _conflict_record(*, question: Question, file_text: str, file_hash: str, path: str) -> BankConflict:
    BankFileConflict.objects.update_or_create(question=question,
                                              defaults={"file_text": file_text, "file_hash": file_hash})
    browser_text = question.current_version.source_text if question.current_version else ""
    return BankConflict(bank_id=question.bank_id, path=path, browser_text=browser_text, file_text=file_text)


@transaction.atomic
def bank_sync(*, contents: BankContents, source_root: Path | None = None) -> BankSyncReport:
    """Make the database match the bank files without ever undoing a browser edit.

    Each question is classified by ``quizzes.bank.drift.classify``: a file that changed is applied
    (an answered version is never changed: a new version is added, so past attempts keep the version
    they answered; an unanswered one is updated in place); a question edited in the browser whose
    file has not changed since is kept; a question changed on both sides is a conflict, recorded
    (``BankFileConflict``) and reported with both texts, and nothing of it changes until an
    instructor chooses (``bank_conflict_resolve``). Questions gone from the files are retired, never
    deleted, unless they were edited or created in the browser.
    """
    report = BankSyncReport()
    for position, topic in enumerate(contents.topics):
        Topic.objects.update_or_create(
            slug=topic["slug"], defaults={"name_zh": topic["zh"], "name_en": topic["en"], "position": position}
        )
    topics = {topic.slug: topic for topic in Topic.objects.all()}
    existing = {q.bank_id: q for q in Question.objects.select_related("current_version").select_for_update(of=("self",))}
    answered_versions = set(
        AttemptItem.objects.filter(question_version__question__in=existing.values())
        .values_list("question_version_id", flat=True)
        .distinct()
    )
    conflicted = set(BankFileConflict.objects.values_list("question__bank_id", flat=True))
    settled: list[int] = []  # questions whose recorded conflict no longer holds
    seen: set[str] = set()
    for source in contents.questions:
        seen.add(source.id)
        fields = _version_fields(source)
        relative_path = _relative(source.path, source_root)
        question = existing.get(source.id)
        if question is None:
            question = Question.objects.create(
                bank_id=source.id, topic=topics[source.topic], type=source.type, source_path=relative_path,
                file_hash=source.content_hash,
            )
            version = QuestionVersion.objects.create(question=question, number=1, **fields)
            question.current_version = version
            question.save(update_fields=["current_version"])
            report.created.append(source.id)
            continue
        current = question.current_version
        drift = classify(file=source.content_hash, base=question.file_hash,
                         current=current.content_hash if current is not None else question.file_hash)
        if drift is not Drift.CONFLICT and source.id in conflicted:
            settled.append(question.pk)
        if drift is Drift.CONFLICT:
            report.conflicts.append(_conflict_record(question=question, file_text=_normalized_or_empty(str(fields["source_text"])),
                                                     file_hash=source.content_hash, path=relative_path))
            continue
        if drift is Drift.BROWSER_EDITED:
            report.kept_browser_edits.append(source.id)
            continue
        # IN_SYNC or FILE_CHANGED: the file is current.
        how = _version_apply(question=question, fields=fields, content_hash=source.content_hash,
                             answered=current is not None and current.id in answered_versions)
        if how == "unchanged":
            report.unchanged += 1
        elif how == "updated":
            report.updated_in_place.append(source.id)
        else:
            report.new_versions.append(source.id)
        if (how == "new-version" or question.file_hash != source.content_hash or question.topic_id != topics[source.topic].id
                or question.type != source.type or question.retired or question.source_path != relative_path):
            question.topic = topics[source.topic]
            question.type = source.type
            question.retired = False
            question.source_path = relative_path
            question.file_hash = source.content_hash
            question.save()
    for bank_id, question in existing.items():
        if bank_id in seen or question.retired:
            continue
        current = question.current_version
        drift = classify(file=None, base=question.file_hash,
                         current=current.content_hash if current else question.file_hash)
        if drift is Drift.FILE_REMOVED:
            question.retired = True
            question.save(update_fields=["retired", "updated_at"])
            report.retired.append(bank_id)
            if bank_id in conflicted:
                settled.append(question.pk)
        elif drift is Drift.CONFLICT:
            report.conflicts.append(_conflict_record(question=question, file_text="", file_hash="",
                                                     path=question.source_path))
        else:  # created in the browser, no file yet
            report.kept_browser_edits.append(bank_id)
    BankFileConflict.objects.filter(question_id__in=settled).delete()
    return report


@transaction.atomic
def bank_conflict_resolve(*, question: Question, keep: Literal["file", "browser"]) -> Question:
    """Settle a recorded conflict: keep the file's text (as load_bank would apply it) or the browser's.

    Keeping the browser's version marks the file as read, so the next load_bank keeps the browser's
    version (the file is behind until it is replaced by the downloaded one); keeping the file's makes
    it current by the versioning rule (attempts keep their versions), or retires the question when the
    file was removed. Raises ``BankValidationError`` when the recorded file text no longer parses.
    """
    question = (Question.objects.select_for_update(of=("self",)).select_related("current_version", "topic")
                .get(pk=question.pk))
    conflict = BankFileConflict.objects.filter(question=question).first()
    if conflict is None:
        raise BankConflictMissing(question.bank_id)
    if keep == "browser":
        question.file_hash = conflict.file_hash  # "" when removed: as if created in the browser
        question.save(update_fields=["file_hash", "updated_at"])
    elif not conflict.file_text:
        question.retired = True
        question.save(update_fields=["retired", "updated_at"])
    else:
        from grader.problems import all_families

        source = parse_question(conflict.file_text, question.source_path,
                                topics=set(Topic.objects.values_list("slug", flat=True)),
                                known_families={family.name for family in all_families()})
        answered = question.current_version_id is not None and AttemptItem.objects.filter(
            question_version_id=question.current_version_id).exists()
        if source.type != question.type and AttemptItem.objects.filter(question_version__question=question).exists():
            raise BankValidationError([BankError(question.source_path, 1, _(
                "the type cannot change from %(type)s once the question has answers: make a new question instead")
                % {"type": repr(question.type)})])
        fields = {**_version_fields(source), "source_text": conflict.file_text}
        _version_apply(question=question, fields=fields, content_hash=source.content_hash, answered=answered)
        question.topic = Topic.objects.get(slug=source.topic)
        question.type = source.type
        question.file_hash = source.content_hash
        question.retired = False
        question.save()
    conflict.delete()
    return question


class BankConflictMissing(LookupError):
    """No recorded conflict for this question (load_bank records them)."""


def _relative(path: str, root: Path | None) -> str:
    if root is None:
        return path
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return path


@transaction.atomic
def mock_exam_ensure(*, course: Course, year: int, time_limit_minutes: int = 120) -> Assessment:
    """The mock exam of a past year for a course: its questions in exam order, numeric parts after
    their essay. Mock exams are timed and self-assessed, with unlimited attempts. Its title and
    description are course content, written like the bank in Traditional Chinese with an English
    translation (``translations``; the pages show the request's language, see
    ``quizzes.presenters.content_text``), not interface text."""
    questions = [q for q in Question.objects.filter(bank_id__startswith=f"exam-{year}-q", retired=False)]
    if not questions:
        raise ValueError(f"no past-exam questions for {year}: run load_bank first")
    questions.sort(key=_exam_order)
    assessment, _created = Assessment.objects.get_or_create(
        course=course, slug=f"mock-{year}",
        defaults={"title": f"{year} 年期末考（模擬）", "mode": AssessmentMode.MOCK, "published": True,
                  "time_limit_minutes": time_limit_minutes,
                  "description": f"{year} 年考古題：寫完後對照評分重點與同學的答案自評。"},
    )
    english = {"en": {"title": f"Final exam {year} (mock)",
                      "description": f"The {year} final exam: answer it, then assess yourself against our key "
                                     "points and your classmates' answers."}}
    if assessment.translations != english:
        assessment.translations = english
        assessment.save(update_fields=["translations"])
    wanted = [q.id for q in questions]
    current = list(assessment.items.order_by("position").values_list("question_id", flat=True))
    if current != wanted:
        assessment.items.all().delete()
        AssessmentItem.objects.bulk_create(
            AssessmentItem(assessment=assessment, position=i, question=q) for i, q in enumerate(questions, start=1)
        )
    return assessment


def _exam_order(question: Question) -> tuple[int, int, str]:
    match = re.match(r"exam-\d+-q(\d+)(.*)", question.bank_id)
    number, rest = (int(match.group(1)), match.group(2)) if match else (0, question.bank_id)
    return (number, 1 if rest else 0, rest)


PRACTICE_PER_TOPIC = 5


@transaction.atomic
def practice_sets_ensure(*, course: Course, per_topic: int = PRACTICE_PER_TOPIC) -> list[Assessment]:
    """A practice set per topic (a pool of ``per_topic`` questions) and a mixed one (one per topic).

    Practice is unlimited: every new session draws again, and parameterized questions get fresh variants.
    Titles and descriptions are made from the bank's topic names (both languages): course content,
    like the mock exams'.
    """
    topics = [t for t in Topic.objects.exclude(slug="past-exams") if t.questions.filter(retired=False).exists()]
    sets: list[Assessment] = []
    for topic in topics:
        assessment, _ = Assessment.objects.update_or_create(
            course=course, slug=f"practice-{topic.slug}",
            defaults={"title": f"練習：{topic.name_zh}", "mode": AssessmentMode.PRACTICE, "published": True,
                      "description": f"每次練習從「{topic.name_zh}」隨機抽 {per_topic} 題，可無限次練習。",
                      "translations": {"en": {
                          "title": f"Practice: {topic.name_en}",
                          "description": f"Each practice session draws {per_topic} random questions on this "
                                         "topic; practise as often as you like."}}},
        )
        assessment.items.all().delete()
        AssessmentItem.objects.create(assessment=assessment, position=1, pool_topic=topic, pool_count=per_topic)
        sets.append(assessment)
    mixed, _ = Assessment.objects.update_or_create(
        course=course, slug="practice-mixed",
        defaults={"title": "綜合練習 (mixed practice)", "mode": AssessmentMode.PRACTICE, "published": True,
                  "shuffle_questions": True, "description": "每個主題各抽一題，順序隨機。",
                  "translations": {"en": {"title": "Mixed practice",
                                          "description": "One question from each topic, in random order."}}},
    )
    mixed.items.all().delete()
    AssessmentItem.objects.bulk_create(
        AssessmentItem(assessment=mixed, position=i, pool_topic=topic, pool_count=1)
        for i, topic in enumerate(topics, start=1)
    )
    return [*sets, mixed]
