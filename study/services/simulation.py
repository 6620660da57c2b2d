"""Simulated students answering through the real services (the management command
``simulate_study``): each recalls a skill with the FSRS forgetting curve at their own pace, slips and
guesses, and answers the variant served with the grader's right answer or a wrong one (a parameterized
question: one of its family's misconceptions, so the mistake gets its card)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from accounts.models import Course, Role, User
from accounts.services import user_enroll
from grader import spaced
from grader.problems import get_family
from quizzes.models import AttemptItem
from study import selectors
from study.models import Card, StudyPreferences
from study.services.cards import card_state
from study.services.review import review_answer, review_serve


def right_response(item: AttemptItem) -> dict[str, Any]:
    """The grader's right answer to a served variant."""
    spec = item.question_version.spec
    qtype = item.question_version.question.type
    if qtype == "param":
        family = get_family(spec["family"])
        return {"parts": family.solve(family.generate(item.seed, spec.get("constraints") or None))}
    if qtype == "single":
        return {"choice": next(i for i, c in enumerate(spec["choices"]) if c["correct"])}
    if qtype == "multiple":
        return {"choices": [i for i, c in enumerate(spec["choices"]) if c["correct"]]}
    if qtype == "text":
        return {"value": (spec.get("accept") or [""])[0]}
    return {"value": spec["answer"]}


def wrong_response(item: AttemptItem, rng: random.Random) -> dict[str, Any]:
    """A wrong answer: a misconception's for a parameterized question, else a wrong option or value."""
    spec = item.question_version.spec
    qtype = item.question_version.question.type
    if qtype == "param":
        family = get_family(spec["family"])
        params = family.generate(item.seed, spec.get("constraints") or None)
        alternatives = family.alternatives(params)
        if alternatives:
            tag = rng.choice(sorted(alternatives))
            return {"parts": {**family.solve(params), **alternatives[tag]}}
        return {"parts": {name: "0" for name in family.solve(params)}}
    if qtype == "single":
        return {"choice": next(i for i, c in enumerate(spec["choices"]) if not c["correct"])}
    if qtype == "multiple":
        return {"choices": [i for i, c in enumerate(spec["choices"]) if not c["correct"]][:1]}
    if qtype == "truefalse":
        return {"value": not spec["answer"]}
    if qtype == "numeric":
        return {"value": float(spec["answer"]) + 1}
    return {"value": "x"}


@dataclass(frozen=True)
class SimulationReport:
    students: int
    days: int
    reviews: int
    right: int


def simulate(*, course: Course, students: int, days: int, start: datetime, seed: int = 20, spread: float = 0.25,
             slip: float = 0.03, guess: float = 0.05, prefix: str = "sim") -> SimulationReport:
    """Create ``students`` simulated students (``<prefix>-0001``…) and run ``days`` days from ``start``:
    each day each reviews what the plan serves until nothing is left."""
    rng = random.Random(seed)
    sched = spaced.scheduler()
    reviews = right = 0
    learners = []
    for n in range(1, students + 1):
        user, _created = User.objects.get_or_create(username=f"{prefix}-{n:04d}")
        user_enroll(user=user, course=course, role=Role.STUDENT)
        StudyPreferences.objects.update_or_create(user=user, course=course,
                                                  defaults={"new_per_day": 5, "reviews_per_day": 100})
        learners.append((user, 2.718281828 ** rng.gauss(0, spread)))
    for day in range(days):
        now = start + timedelta(days=day, hours=rng.random())
        for user, pace in learners:
            for _ in range(200):
                snap = selectors.snapshot(user=user, course=course, now=now)
                served = review_serve(user=user, course=course, snap=snap)
                if served is None:
                    break
                card = Card.objects.get(pk=served.card_id)
                state = card_state(card)
                recall = 0.0
                if not state.new and state.last_review is not None:
                    shifted = spaced.CardState(state.state, state.step, state.stability, state.difficulty, state.due,
                                               now - (now - state.last_review) * pace)
                    recall = spaced.retrievability(shifted, now, sched=sched)
                item = AttemptItem.objects.select_related("question_version__question").get(pk=served.item_id)
                ok = rng.random() < spaced.answer_probability(recall, slip=slip, guess=guess) or state.new
                outcome = review_answer(user=user, item=item, now=now,
                                        response=right_response(item) if ok else wrong_response(item, rng))
                if not outcome.grade.gradable:  # an answer the grader cannot read: this student stops today
                    break
                reviews += 1
                right += ok
                now += timedelta(seconds=30)
    return SimulationReport(students, days, reviews, right)
