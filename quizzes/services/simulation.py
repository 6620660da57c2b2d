"""A simulated exam for trying the item analysis: students with a latent ability answer real bank
questions, graded by the real core, with two planted faults the analysis must find:

* a *bad item* that the weaker students get right more often (negative discrimination);
* an *unfair variant*: the parameterized convolution's true-convolution variants are much harder
  than its cross-correlation ones (weaker students there answer with the kernel not flipped).

Deterministic for a seed. The students get unusable passwords (nobody logs in as them).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Course, Role, User
from accounts.services import user_enroll
from grader.questions import grade_question
from grader.seeds import variant_seed
from quizzes.models import (
    Assessment,
    AssessmentItem,
    AssessmentMode,
    Attempt,
    AttemptItem,
    AttemptStatus,
    Question,
    QuestionType,
)

#: The exam: (bank id, difficulty on the ability scale). The first is the planted bad item.
QUESTIONS: tuple[tuple[str, float], ...] = (
    ("act-dead-relu-05", 0.0),
    ("conv-feature-map-channels-01", -1.0),
    ("conv-flip-kernel-04", 0.3),
    ("conv-multichannel-kernel-shape-02", -0.3),
    ("pool-backprop-06", 0.5),
    ("pool-conv-pool-size-05", -0.6),
    ("act-leaky-relu-06", -0.2),
    ("act-sigmoid-max-derivative-02", 0.8),
    ("conv-symmetric-kernel-06", -0.5),
    ("conv-layer-statements-10", 0.2),
    ("conv-multichannel-value-08", 0.4),
    ("param-conv-by-hand-01", 0.0),
)
BAD_ITEM = "act-dead-relu-05"
UNFAIR_ITEM = "param-conv-by-hand-01"
HARD_GROUP = "convolution"  # the variants made harder (conv-by-hand's variant group)


@dataclass(frozen=True)
class SimulatedExam:
    assessment: Assessment
    students: int
    bad_item: str
    unfair_item: str
    hard_group: str


class SimulationError(ValueError):
    pass


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _response(question: Question, spec: dict[str, Any], seed: int, right: bool, rng: random.Random,
              ) -> tuple[dict[str, Any], float]:
    """A response that is right or wrong, and the p(right) offset of an unfair variant (param only)."""
    qtype = question.type
    if qtype == QuestionType.SINGLE:
        correct = [i for i, c in enumerate(spec["choices"]) if c.get("correct")]
        wrong = [i for i, c in enumerate(spec["choices"]) if not c.get("correct")]
        # The first distractor draws most of the wrong answers: a distractor analysis has a shape.
        return {"choice": correct[0] if right else (wrong[0] if rng.random() < 0.6 else rng.choice(wrong))}, 0.0
    if qtype == QuestionType.MULTIPLE:
        correct = [i for i, c in enumerate(spec["choices"]) if c.get("correct")]
        if right:
            return {"choices": correct}, 0.0
        picked = sorted({i for i in range(len(spec["choices"])) if rng.random() < 0.5} or {0})
        return {"choices": picked}, 0.0
    if qtype == QuestionType.TRUEFALSE:
        return {"value": bool(spec["answer"]) == right}, 0.0
    if qtype == QuestionType.NUMERIC:
        answer = float(spec["answer"])
        return {"value": str(answer if right else answer * 2 + 1)}, 0.0
    raise SimulationError(f"the simulation does not answer {qtype} questions")


def _param_response(spec: dict[str, Any], seed: int, right: bool, rng: random.Random) -> dict[str, Any]:
    from grader.problems import get_family

    family = get_family(spec["family"])
    params = family.generate(seed, spec.get("constraints") or None)
    answer = family.solve(params)
    if not right:
        alternatives = family.alternatives(params)
        tag = "kernel-not-flipped" if "kernel-not-flipped" in alternatives else rng.choice(sorted(alternatives))
        answer = {**answer, **alternatives[tag]}
    return {"parts": family.format_answer(params, answer)}


@transaction.atomic
def simulated_exam_create(*, course: Course, students: int = 100, seed: int = 1, slug: str = "simulated-exam",
                          ) -> SimulatedExam:
    """An exam of the course, closed, with ``students`` new students' submitted, graded attempts."""
    if students < 2:
        raise SimulationError("at least 2 students")
    if Assessment.objects.filter(course=course, slug=slug).exists():
        raise SimulationError(f"the course already has an assessment {slug!r}")
    questions = {q.bank_id: q for q in Question.objects.select_related("current_version")
                 .filter(bank_id__in=[bank_id for bank_id, _ in QUESTIONS])}
    absent = [bank_id for bank_id, _ in QUESTIONS if bank_id not in questions]
    if absent:
        raise SimulationError(f"the bank lacks {', '.join(absent)} (run load_bank first)")
    now = timezone.now()
    assessment = Assessment.objects.create(
        course=course, slug=slug, title="Simulated exam", mode=AssessmentMode.EXAM, published=True,
        opens_at=now - timedelta(days=2), closes_at=now - timedelta(days=1), time_limit_minutes=60,
        description="A simulated class for trying the item analysis.",
    )
    for position, (bank_id, _difficulty) in enumerate(QUESTIONS, start=1):
        AssessmentItem.objects.create(assessment=assessment, position=position, question=questions[bank_id])
    rng = random.Random(seed)
    from grader.problems import get_family

    items: list[AttemptItem] = []
    for number in range(1, students + 1):
        user = User.objects.create_user(username=f"{slug}-{number:03d}")
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user_enroll(user=user, course=course, role=Role.STUDENT)
        ability = rng.gauss(0.0, 1.0)
        started = assessment.opens_at + timedelta(minutes=rng.randint(0, 30))
        attempt = Attempt.objects.create(assessment=assessment, user=user, number=1, status=AttemptStatus.SUBMITTED,
                                         started_at=started, submitted_at=started + timedelta(minutes=50),
                                         deadline=started + timedelta(minutes=60))
        earned = possible = Decimal(0)
        for position, (bank_id, difficulty) in enumerate(QUESTIONS, start=1):
            question = questions[bank_id]
            version = question.current_version
            item_seed = variant_seed(assessment.id, user.id, 1, bank_id)
            if bank_id == BAD_ITEM:
                p_right = _sigmoid(-1.5 * ability)
            elif question.type == QuestionType.PARAM:
                family = get_family(version.spec["family"])
                group = family.variant_group(family.generate(item_seed, version.spec.get("constraints") or None))
                p_right = _sigmoid(1.5 * (ability - difficulty) + (-1.5 if group == HARD_GROUP else 1.0))
            else:
                p_right = _sigmoid(1.5 * (ability - difficulty))
            right = rng.random() < p_right
            if question.type == QuestionType.PARAM:
                response = _param_response(version.spec, item_seed, right, rng)
            else:
                response, _ = _response(question, version.spec, item_seed, right, rng)
            result = grade_question(question.type, version.spec, response, seed=item_seed)
            max_points = Decimal(version.points)
            score = Decimal(str(round(result.score, 4)))
            earned += score * max_points
            possible += max_points
            items.append(AttemptItem(
                attempt=attempt, position=position, question_version=version, seed=item_seed, max_points=max_points,
                response=response, response_saved_at=started + timedelta(minutes=position), save_count=1,
                graded_at=attempt.submitted_at, score=score, feedback=result.to_json(),
            ))
        attempt.points, attempt.max_points = earned, possible
        attempt.save(update_fields=["points", "max_points"])
    AttemptItem.objects.bulk_create(items)
    return SimulatedExam(assessment=assessment, students=students, bad_item=BAD_ITEM, unfair_item=UNFAIR_ITEM,
                         hard_group=HARD_GROUP)
