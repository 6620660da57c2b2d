"""Reads for item analysis: the finished attempts of an assessment (or of every assessment that used
a question) as a response matrix, handed to the pure statistics (``grader.item_analysis``).

A fixed number of queries whatever the class size: the attempts, their items, the question versions
they used. An item of the analysis is a question (pools draw different questions per student: a
student not given a question is a missing cell, not a zero). An essay not yet graded by hand is
missing too. A parameterized item's variant group is its family's ``variant_group`` of the variant
the student was given, kept in the cache (a variant never changes for its seed).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from django.core.cache import cache
from django.db.models import FloatField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from accounts.models import Course
from dlcv_site.i18n import localized
from grader.item_analysis import AssessmentStats, ItemColumn, ItemStats, analyse
from grader.problems import get_family
from quizzes.bank.languages import translated_spec
from quizzes.models import (
    Assessment,
    Attempt,
    AttemptItem,
    AttemptStatus,
    Question,
    QuestionType,
    QuestionVersion,
)

logger = logging.getLogger(__name__)

Population = Literal["all", "first"]
POPULATIONS: tuple[Population, ...] = ("all", "first")
FINISHED = (AttemptStatus.SUBMITTED, AttemptStatus.AUTO_SUBMITTED)
CHOICE_TYPES = (QuestionType.SINGLE, QuestionType.MULTIPLE, QuestionType.TRUEFALSE)
VARIANT_GROUP_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class ItemInfo:
    """What the page says about an item besides its figures: the question it is."""

    question_id: int
    bank_id: str
    title: str
    lang: str  # the language of title and options (the request's where the question has it)
    qtype: str
    option_texts: tuple[str, ...]  # choice items: options in bank order (Markdown source)
    source_lang: str = ""  # the question's own language: a bank misconception's key is written in it


@dataclass(frozen=True)
class AssessmentAnalysis:
    assessment: Assessment
    population: Population
    stats: AssessmentStats
    items: tuple[ItemInfo, ...]  # in the order of stats.items


@dataclass(frozen=True)
class QuestionInAssessment:
    assessment: Assessment
    assessment_n: int
    item: ItemStats


def _options(qtype: str, spec: dict[str, Any]) -> tuple[tuple[bool, ...], tuple[str, ...]]:
    if qtype == QuestionType.TRUEFALSE:
        answer = bool(spec.get("answer"))
        return (answer, not answer), ("True", "False")
    choices = spec.get("choices") or []
    return (tuple(bool(c.get("correct")) for c in choices),
            tuple(str(c.get("text", "")) for c in choices))


_TRUE_WORDS = {"true", "t", "1", "是"}
_FALSE_WORDS = {"false", "f", "0", "否"}


def _chosen(qtype: str, picked: str | int | None) -> tuple[int, ...] | None:
    """The options a saved response picked, in bank order (None: no readable pick), from the
    response's key as text (``choice``, ``choices`` or ``value``: read in the database, so no row's
    JSON is decoded here)."""
    if picked is None:
        return None
    text = str(picked).strip()
    if qtype == QuestionType.SINGLE:
        return (int(text),) if text.isdigit() else None
    if qtype == QuestionType.MULTIPLE:
        try:
            values = json.loads(text)
        except ValueError:
            return None
        if isinstance(values, list) and values and all(isinstance(i, int) and not isinstance(i, bool)
                                                       for i in values):
            return tuple(values)
        return None
    word = text.lower()  # true/false: option 0 is "true", 1 is "false"
    return (0,) if word in _TRUE_WORDS else (1,) if word in _FALSE_WORDS else None


def _tags(text: str | None) -> tuple[str, ...]:
    if not text or text == "[]":
        return ()
    try:
        values = json.loads(text)
    except ValueError:
        return ()
    return tuple(str(tag) for tag in values) if isinstance(values, list) else ()


def _variant_groups(wanted: dict[tuple[str, str], set[int]]) -> dict[tuple[str, str, int], str | None]:
    """(family, constraints as JSON) → the seeds asked for; answers (family, constraints, seed) →
    variant group. One cache entry per family and constraints holds every seed's group worked out so
    far (generating a variant takes milliseconds: a class's worth is seconds, done once)."""
    def key(family: str, constraints: str) -> str:
        return f"quizzes:variant-groups:{hashlib.sha256(f'{family}|{constraints}'.encode()).hexdigest()[:32]}"

    keys = {kind: key(*kind) for kind in wanted}
    try:
        cached = cache.get_many(list(keys.values())) if keys else {}
    except Exception:  # a cache that is down: work them out (slower, never an error page)
        logger.warning("variant groups' cache unavailable; working them out", exc_info=True)
        cached = {}
    out: dict[tuple[str, str, int], str | None] = {}
    changed: dict[str, dict[int, str]] = {}
    for (family_name, constraints), seeds in wanted.items():
        known: dict[int, str] = dict(cached.get(keys[(family_name, constraints)]) or {})
        missing = seeds - known.keys()
        if missing:
            try:
                family = get_family(family_name)
                for seed in missing:
                    known[seed] = family.variant_group(family.generate(seed, json.loads(constraints) or None))
            except (KeyError, ValueError):  # a family renamed, or constraints it no longer takes
                logger.warning("no variant groups for %s %s", family_name, constraints, exc_info=True)
                continue
            changed[keys[(family_name, constraints)]] = known
        out.update({(family_name, constraints, seed): known[seed] for seed in seeds})
    if changed:
        try:
            cache.set_many(changed, VARIANT_GROUP_SECONDS)
        except Exception:
            logger.warning("variant groups not cached", exc_info=True)
    return out


def _finished_attempts(assessment_ids: Sequence[int], population: Population) -> list[tuple[int, int]]:
    """(attempt id, assessment id) of the finished attempts; "first": each student's first finished one."""
    rows = (Attempt.objects.filter(assessment_id__in=assessment_ids, status__in=FINISHED)
            .order_by("assessment_id", "user_id", "number").values_list("id", "assessment_id", "user_id"))
    seen: set[tuple[int, int]] = set()
    out = []
    for attempt_id, assessment_id, user_id in rows:
        if population == "first":
            if (assessment_id, user_id) in seen:
                continue
            seen.add((assessment_id, user_id))
        out.append((attempt_id, assessment_id))
    return out


def _matrices(assessment_ids: Sequence[int], population: Population
              ) -> dict[int, tuple[AssessmentStats, tuple[ItemInfo, ...]]]:
    """Each assessment's statistics over its finished attempts: three queries in all."""
    attempts = _finished_attempts(assessment_ids, population)
    assessment_of = dict(attempts)
    # Floats and the few JSON keys needed, as text: a class's answers are read without decoding
    # each row's JSON or making Decimals.
    finished = (AttemptItem.objects.filter(attempt__assessment_id__in=assessment_ids, attempt__status__in=FINISHED)
                if population == "all" else AttemptItem.objects.filter(attempt_id__in=list(assessment_of)))
    items = list(
        finished
        .order_by("attempt_id", "position")
        .values_list("attempt_id", "position", "question_version_id", "seed",
                     Cast("score", FloatField()), Cast("max_points", FloatField()),
                     KeyTextTransform("choice", "response"), KeyTextTransform("choices", "response"),
                     KeyTextTransform("value", "response"), KeyTextTransform("misconceptions", "feedback"))
    )
    version_ids = {row[2] for row in items}
    versions = {
        v["id"]: v for v in QuestionVersion.objects.filter(id__in=version_ids).values(
            "id", "number", "question_id", "question__bank_id", "question__type", "title", "lang", "spec",
            "translations")
    }
    # Per assessment: rows (attempts) and columns (questions, in order of first position).
    rows_of: dict[int, dict[int, int]] = {aid: {} for aid in assessment_ids}
    for attempt_id, assessment_id in attempts:
        rows_of[assessment_id][attempt_id] = len(rows_of[assessment_id])
    position_of: dict[int, dict[int, int]] = {aid: {} for aid in assessment_ids}
    latest_version: dict[int, dict[str, Any]] = {}
    for attempt_id, position, version_id, *_rest in items:
        version = versions[version_id]
        question_id = version["question_id"]
        seen = position_of[assessment_of[attempt_id]]
        seen[question_id] = min(seen.get(question_id, position), position)
        if question_id not in latest_version or version["number"] > latest_version[question_id]["number"]:
            latest_version[question_id] = version

    group_kind = {vid: (v["spec"]["family"], json.dumps(v["spec"].get("constraints") or {}, sort_keys=True))
                  for vid, v in versions.items() if v["question__type"] == QuestionType.PARAM}
    wanted_groups: dict[tuple[str, str], set[int]] = {}
    for _attempt_id, _position, version_id, seed, *_rest in items:
        if version_id in group_kind:
            wanted_groups.setdefault(group_kind[version_id], set()).add(seed)
    groups = _variant_groups(wanted_groups)

    out: dict[int, tuple[AssessmentStats, tuple[ItemInfo, ...]]] = {}
    if len(assessment_ids) == 1:
        cells: dict[int, list[tuple[Any, ...]]] = {assessment_ids[0]: items}
    else:
        cells = {aid: [] for aid in assessment_ids}
        for row in items:
            cells[assessment_of[row[0]]].append(row)
    for assessment_id in assessment_ids:
        question_ids = sorted(position_of[assessment_id], key=lambda q: (position_of[assessment_id][q], q))
        column_of = {q: j for j, q in enumerate(question_ids)}
        n, m = len(rows_of[assessment_id]), len(question_ids)
        scores = np.full((n, m), np.nan)
        max_points = np.zeros(m)
        chosen: list[list[tuple[int, ...] | None]] = [[None] * n for _ in range(m)]
        tags: list[list[tuple[str, ...]]] = [[()] * n for _ in range(m)]
        variant: list[list[str | None]] = [[None] * n for _ in range(m)]
        kind_of = {vid: (v["question__type"], column_of.get(v["question_id"])) for vid, v in versions.items()}
        row_of = rows_of[assessment_id]
        for attempt_id, _position, version_id, seed, score, points, choice, choices, value, misconceptions \
                in cells[assessment_id]:
            qtype, j = kind_of[version_id]
            i = row_of[attempt_id]
            if points > max_points[j]:
                max_points[j] = points
            if score is None:
                continue  # not graded yet (an essay waiting for a person)
            scores[i, j] = min(max(score, 0.0), 1.0)
            if qtype in CHOICE_TYPES:
                chosen[j][i] = _chosen(qtype, choice if qtype == QuestionType.SINGLE
                                       else choices if qtype == QuestionType.MULTIPLE else value)
            if misconceptions:
                tags[j][i] = _tags(misconceptions)
            if qtype == QuestionType.PARAM:
                variant[j][i] = groups.get((*group_kind[version_id], seed))
        infos, columns = [], []
        for j, question_id in enumerate(question_ids):
            version = latest_version[question_id]
            qtype = version["question__type"]
            # Titles and options in the request's language where the question has it, else as written.
            title = localized(version["title"], version["translations"], "title", source_lang=version["lang"])
            translation = (version["translations"] or {}).get(title.lang) if title.lang != version["lang"] else None
            shown_spec = translated_spec(version["spec"], translation) if translation else version["spec"]
            options, texts = _options(qtype, shown_spec) if qtype in CHOICE_TYPES else ((), ())
            infos.append(ItemInfo(question_id=question_id, bank_id=version["question__bank_id"],
                                  title=title.text, lang=title.lang, qtype=qtype, option_texts=texts,
                                  source_lang=version["lang"]))
            columns.append(ItemColumn(
                key=version["question__bank_id"], max_points=float(max_points[j]) or 1.0, options=options,
                chosen=chosen[j] if options else (), misconceptions=tags[j],
                variant_groups=variant[j] if qtype == QuestionType.PARAM else (),
            ))
        out[assessment_id] = (analyse(scores, columns), tuple(infos))
    return out


def assessment_analysis(*, assessment: Assessment, population: Population = "all") -> AssessmentAnalysis:
    """The item analysis of one assessment over its finished attempts (three queries)."""
    stats, infos = _matrices([assessment.pk], population)[assessment.pk]
    return AssessmentAnalysis(assessment=assessment, population=population, stats=stats, items=infos)


def question_analysis(*, course: Course, question: Question, population: Population = "all"
                      ) -> list[QuestionInAssessment]:
    """One question's figures in every assessment of the course whose finished attempts used it
    (each within its own assessment: the totals are that assessment's). Four queries."""
    assessments = list(
        Assessment.objects.filter(
            course=course, attempts__status__in=FINISHED,
            attempts__items__question_version__question=question,
        ).distinct().order_by("opens_at", "slug")
    )
    matrices = _matrices([a.pk for a in assessments], population)
    out = []
    for assessment in assessments:
        stats, infos = matrices[assessment.pk]
        for info, item in zip(infos, stats.items, strict=True):
            if info.question_id == question.pk:
                out.append(QuestionInAssessment(assessment=assessment, assessment_n=stats.n, item=item))
    return out
