"""Moving questions to and from other systems: the bank (all or a filtered set) as Moodle XML or as an
IMS Common Cartridge with QTI 1.2 (the Canvas quiz export), and Moodle XML into the bank.

The formats themselves are ``quizzes/bank/lms.py`` (pure); here the bank's questions become its
records (a parameterized question becomes ``variants`` pre-generated variants, seeds 1…N, stated
by its family in the question's language) and an import becomes questions created as the browser
editor creates them (``question_create_from_source``: no file yet, so load_bank keeps them and the
instructor downloads their files), all of them or none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from quizzes.bank.format import BankError, BankValidationError
from quizzes.bank.lms import (
    Blank,
    ExportSet,
    LmsQuestion,
    Skipped,
    absolute_tolerance,
    bank_text,
    common_cartridge,
    lms_question_from_source,
    moodle_read,
    moodle_xml,
)
from quizzes.models import Question, QuestionType, Topic
from quizzes.services.authoring import question_create_from_source, question_source_check

MAX_VARIANTS = 50
PLAIN_TYPES = frozenset({QuestionType.SINGLE, QuestionType.MULTIPLE, QuestionType.TRUEFALSE, QuestionType.NUMERIC,
                         QuestionType.TEXT, QuestionType.ESSAY})


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    file_name: str
    content_type: str
    exported: int
    skipped: list[Skipped]


def _variant_blanks(part: object, answer: object, lang: str) -> list[Blank]:
    label = part.label_in(lang) or part.name  # type: ignore[attr-defined]
    kind = part.kind  # type: ignore[attr-defined]
    tolerance = part.tol.to_dict()  # type: ignore[attr-defined]
    if kind in ("number", "integer"):
        value = float(answer)  # type: ignore[arg-type]
        return [Blank(label, value, absolute_tolerance(value, tolerance))]
    if kind in ("vector", "shape"):
        return [Blank(f"{label} [{i}]", float(v), absolute_tolerance(float(v), tolerance))
                for i, v in enumerate(answer, 1)]  # type: ignore[call-overload]
    if kind == "matrix":
        return [Blank(f"{label} ({r}, {c})", float(v), absolute_tolerance(float(v), tolerance))
                for r, row in enumerate(answer, 1) for c, v in enumerate(row, 1)]  # type: ignore[call-overload]
    if kind == "indices":
        return [Blank(label, ", ".join(str(i) for i in answer))]  # type: ignore[attr-defined]
    if kind == "choice":
        return [Blank(label, str(answer))]
    raise ValueError(f"part kind {kind!r} is not exported")  # expressions: _skip_reason leaves them out


def _param_variants(question: Question, variants: int) -> list[LmsQuestion]:
    from grader.problems import get_family

    version = question.current_version
    assert version is not None
    spec = version.spec or {}
    family = get_family(spec["family"])
    lang = version.lang if version.lang in ("en", "zh-Hant") else "zh-Hant"
    out: list[LmsQuestion] = []
    for seed in range(1, variants + 1):
        params = family.generate(seed, spec.get("constraints") or None)
        answers = family.solve(params)
        blanks = [blank for part in family.parts(params) for blank in _variant_blanks(part, answers[part.name], lang)]
        # The family states, solves and explains the variant in each language the question has.
        texts = {lang: {"title": version.title, "prompt": version.prompt, "explanation": version.explanation}}
        for other, translated in (getattr(version, "translations", None) or {}).items():
            if other in ("en", "zh-Hant") and other != lang:
                texts[other] = {key: translated.get(key) or "" for key in ("title", "prompt", "explanation")}
        worded = {
            language: {"title": f"{given['title']} ({seed})",
                       "prompt": "\n\n".join(t for t in (given["prompt"].strip(), family.render(params, language)) if t),
                       "explanation": "\n\n".join(t for t in (given["explanation"].strip(),
                                                               family.explain(params, language)) if t)}
            for language, given in texts.items()}
        common = {"id": f"{question.bank_id}-v{seed}", "topic": question.topic.slug, **worded[lang],
                  "translations": {language: text for language, text in worded.items() if language != lang}}
        if len(blanks) == 1 and not isinstance(blanks[0].answer, str):
            out.append(LmsQuestion(kind="numeric", answer=blanks[0].answer, tolerance=blanks[0].tolerance,
                                   points=float(version.points), tags=tuple(version.tags or ()), lang=version.lang,
                                   hint=version.hint or None, **common))
        else:
            out.append(lms_question_from_source(version, kind="blanks", blanks=blanks, **common))
    return out


def _skip_reason(question: Question) -> str | None:
    """Why a question cannot go to Moodle or QTI (in the request's language), or None."""
    version = question.current_version
    if question.type == QuestionType.PARAM:
        from grader.problems import get_family

        spec = version.spec or {} if version else {}
        family = get_family(spec["family"])
        if any(part.kind == "expression" for part in family.parts(family.generate(1, spec.get("constraints") or None))):
            return _("its family asks for a formula, which Moodle and Canvas cannot grade")
        return None
    if question.type not in PLAIN_TYPES:
        return _("type %(type)s has no equivalent in Moodle or QTI") % {"type": question.get_type_display()}
    if question.type == QuestionType.TEXT and version is not None and (version.spec or {}).get("regex"):
        return _("its accepted answers are regular expressions")
    return None


def lms_skipped(*, questions: Iterable[Question]) -> list[Skipped]:
    """The questions an export leaves out, with why."""
    return [Skipped(q.bank_id, reason) for q in questions if q.current_version is not None
            for reason in [_skip_reason(q)] if reason]


def lms_export_set(*, questions: Iterable[Question], variants: int) -> ExportSet:
    """The questions as other systems hold them, and the ones left out with why (in the request's language)."""
    if not 1 <= variants <= MAX_VARIANTS:
        raise ValueError(f"variants must be 1…{MAX_VARIANTS}")
    export = ExportSet()
    for question in questions:
        version = question.current_version
        if version is None:
            continue
        reason = _skip_reason(question)
        if reason:
            export.skipped.append(Skipped(question.bank_id, reason))
        elif question.type == QuestionType.PARAM:
            export.questions.extend(_param_variants(question, variants))
        else:
            export.questions.append(lms_question_from_source(version, kind=question.type, id=question.bank_id,
                                                             topic=question.topic.slug))
    return export


def bank_export(*, questions: Iterable[Question], variants: int, fmt: str) -> ExportFile:
    """``fmt`` "moodle" (Moodle XML) or "qti" (an IMS Common Cartridge with QTI 1.2)."""
    export = lms_export_set(questions=questions, variants=variants)
    if fmt == "moodle":
        return ExportFile(moodle_xml(export.questions), "dlcv-bank-moodle.xml", "application/xml",
                          len(export.questions), export.skipped)
    if fmt == "qti":
        title = _("DLCV question bank")
        return ExportFile(common_cartridge(export.questions, title=title), "dlcv-bank-qti.imscc", "application/zip",
                          len(export.questions), export.skipped)
    raise ValueError(f"unknown format {fmt!r}")


@transaction.atomic
def bank_import_moodle(*, user: User, data: bytes, file_name: str, default_topic: Topic) -> list[Question]:
    """Every question of a Moodle XML file into the bank, or none: each problem is reported as
    ``file:line: message`` (``BankValidationError``) before anything is written."""
    topics = list(Topic.objects.values_list("slug", flat=True))
    questions, errors = moodle_read(data, name=file_name, topics=topics, default_topic=default_topic.slug)
    texts: list[tuple[LmsQuestion, str]] = []
    for question in questions:
        text = bank_text(question)
        try:
            question_source_check(text=text, path=file_name, creating=True)
        except BankValidationError as exc:
            # Lines of the generated bank text mean nothing to the file's author: the question's line does.
            errors.extend(BankError(file_name, question.line, f"{question.id}: {e.message}") for e in exc.errors)
            continue
        texts.append((question, text))
    if errors:
        raise BankValidationError(errors)
    return [question_create_from_source(user=user, text=text).question for _q, text in texts]
