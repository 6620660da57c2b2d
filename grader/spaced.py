"""Spaced review, the pure core: skill keys, ratings from a grade, FSRS scheduling with an exam-date cap,
readiness prediction (one card's tree, or a class's cards at once on arrays) and the rule of "on track
for the exam" (``exam_verdict``), and a simulated cohort for the benchmarks.

A *skill* is what a card (one per student and skill) schedules:

* a concept question of the bank: ``q:<bank_id>``;
* a parameterized family as a whole: ``f:<family>``, and the family × one misconception it tells
  apart: ``f:<family>:<tag>`` — a diagnosed mistake gets a card of its own, served as fresh variants
  in which that mistake gives a wrong answer.

The scheduler is the maintained ``fsrs`` package (FSRS-6). Reviews here are daily (no same-day
learning steps): a card goes straight to day intervals, and every interval is capped so that each
card comes back at least once in the last ``FINAL_WINDOW`` before the exam.

No Django, no apps: the study app stores what these functions return.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import IntEnum

import numpy as np
from fsrs import Card as FsrsCard
from fsrs import Rating as FsrsRating
from fsrs import Scheduler, State
from fsrs.scheduler import DEFAULT_PARAMETERS

#: Every card is seen at least once in this span before the exam.
FINAL_WINDOW = timedelta(days=3)
#: An answer this much faster than the item's median (and right, unaided) is Easy; this much slower is Hard.
FAST_RATIO = 0.5
SLOW_RATIO = 2.0
#: A score at or above this counts as recalled (partial credit above it is Hard, below it Again).
PASS_SCORE = 0.5
DEFAULT_RETENTION = 0.9


class Rating(IntEnum):
    """FSRS's four grades (the same numbers as ``fsrs.Rating``)."""

    AGAIN = 1
    HARD = 2
    GOOD = 3
    EASY = 4


# --------------------------------------------------------------------------- skills


def concept_skill(bank_id: str) -> str:
    return f"q:{bank_id}"


def family_skill(family: str, tag: str = "") -> str:
    return f"f:{family}:{tag}" if tag else f"f:{family}"


@dataclass(frozen=True)
class Skill:
    key: str
    kind: str  # "q" (concept question) or "f" (family)
    name: str  # the bank id or the family
    tag: str = ""  # a family's misconception, else ""


def parse_skill(key: str) -> Skill:
    kind, _, rest = key.partition(":")
    if kind not in ("q", "f") or not rest:
        raise ValueError(f"not a skill key: {key!r}")
    if kind == "q":
        return Skill(key, "q", rest)
    name, _, tag = rest.partition(":")
    return Skill(key, "f", name, tag)


@dataclass(frozen=True)
class Touched:
    """One card an answer updates, and whether this answer failed it."""

    skill: str
    failed: bool


def skills_touched(*, bank_id: str, family: str, score: float, misconceptions: Sequence[str],
                   known_tags: Sequence[str] = ()) -> list[Touched]:
    """The cards one graded answer updates. A concept question: its own card. A parameterized
    question: the family's card, the card of each misconception the answer showed (failed), and the
    cards of misconceptions diagnosed before (``known_tags``) that this answer avoided (passed when
    the answer earned ``PASS_SCORE``: the variant tells every main mistake apart)."""
    if not family:
        return [Touched(concept_skill(bank_id), score < PASS_SCORE)]
    shown = list(dict.fromkeys(misconceptions))
    touched = [Touched(family_skill(family), score < PASS_SCORE)]
    touched += [Touched(family_skill(family, tag), True) for tag in shown]
    if score >= PASS_SCORE:
        touched += [Touched(family_skill(family, tag), False) for tag in known_tags if tag not in shown]
    return touched


# --------------------------------------------------------------------------- ratings


def rating_for(*, score: float, misconception_named: bool = False, hint_used: bool = False,
               solution_seen: bool = False, time_ratio: float | None = None) -> Rating:
    """Again/Hard/Good/Easy from what the grader knows of one answer.

    ============================================  ======
    the answer                                    rating
    ============================================  ======
    the solution was seen before answering        Again
    score below ``PASS_SCORE``                    Again
    a misconception named, score below 1          Again
    score below 1 (partial credit ≥ PASS_SCORE)   Hard
    right, with a hint                            Hard
    right, slower than ``SLOW_RATIO`` × median    Hard
    right, faster than ``FAST_RATIO`` × median    Easy
    right otherwise (or time unknown)             Good
    ============================================  ======

    ``time_ratio`` is the time taken over the item's median time (None: unknown). ``hint_used``: the
    student opened the question's hint before the answer was graded (``AttemptItem.hint_used``, set by
    the quiz page's script; never without it).
    """
    if solution_seen or score < PASS_SCORE or (misconception_named and score < 1):
        return Rating.AGAIN
    if score < 1 or hint_used:
        return Rating.HARD
    if time_ratio is not None and time_ratio > SLOW_RATIO:
        return Rating.HARD
    if time_ratio is not None and time_ratio < FAST_RATIO:
        return Rating.EASY
    return Rating.GOOD


# --------------------------------------------------------------------------- scheduling


@dataclass(frozen=True)
class CardState:
    """A card's memory state as stored: state 0 new, 1 learning, 2 review, 3 relearning (fsrs's
    numbers; 0 is ours: never reviewed)."""

    state: int = 0
    step: int | None = None
    stability: float | None = None
    difficulty: float | None = None
    due: datetime | None = None
    last_review: datetime | None = None

    @property
    def new(self) -> bool:
        return self.last_review is None


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def scheduler(parameters: Sequence[float] | None = None, desired_retention: float = DEFAULT_RETENTION) -> Scheduler:
    """The FSRS scheduler this project uses: daily reviews (no learning steps), no fuzz (the same
    answers give the same plan; tests and the simulator rely on it)."""
    return Scheduler(parameters=tuple(parameters) if parameters else DEFAULT_PARAMETERS,
                     desired_retention=desired_retention, learning_steps=(), relearning_steps=(),
                     enable_fuzzing=False)


def _fsrs_card(card: CardState, now: datetime) -> FsrsCard:
    if card.new:
        return FsrsCard(card_id=1, state=State.Learning, step=0, due=_utc(now))
    return FsrsCard(card_id=1, state=State(card.state), step=card.step, stability=card.stability,
                    difficulty=card.difficulty, due=_utc(card.due or now), last_review=_utc(card.last_review))


def exam_cap(*, now: datetime, due: datetime, exam_at: datetime | None) -> datetime:
    """``due`` moved earlier so the card comes back inside the final window before the exam: before
    the window, no later than its start; inside it, no later than half a day before the exam. After
    the exam, or when the cap would not be in the future, ``due`` is kept."""
    if exam_at is None or now >= exam_at:
        return due
    window_start = exam_at - FINAL_WINDOW
    cap = window_start if now < window_start else exam_at - timedelta(hours=12)
    return min(due, cap) if cap > now else due


def review(card: CardState, rating: Rating, now: datetime, *, sched: Scheduler,
           exam_at: datetime | None = None) -> CardState:
    """The card after one review at ``now`` with ``rating``, its next due date capped for the exam."""
    updated, _log = sched.review_card(_fsrs_card(card, now), FsrsRating(int(rating)), review_datetime=_utc(now))
    due = exam_cap(now=now, due=updated.due, exam_at=exam_at)
    return CardState(state=int(updated.state), step=updated.step, stability=updated.stability,
                     difficulty=updated.difficulty, due=due, last_review=updated.last_review)


def retrievability(card: CardState, at: datetime, *, sched: Scheduler) -> float:
    """The predicted probability of recalling the card at ``at`` (0 for a card never reviewed)."""
    if card.new or card.stability is None or card.last_review is None:
        return 0.0
    days = max(0.0, (at - card.last_review).total_seconds() / 86400)
    return float((1 + sched._FACTOR * days / card.stability) ** sched._DECAY)


# --------------------------------------------------------------------------- readiness


@dataclass(frozen=True)
class Readiness:
    if_plan: float  # predicted recall on the exam date if the student keeps to the plan
    if_stop: float  # … if they review nothing more


def readiness(card: CardState, *, now: datetime, exam_at: datetime, sched: Scheduler, depth: int = 6) -> Readiness:
    """The card's predicted recall on ``exam_at``: if the student stops now, and if every review the
    plan asks for before the exam is done (each one recalled with its predicted probability, then
    Good, else Again; the tree is cut at ``depth`` reviews, beyond which the last state is kept)."""
    if_stop = retrievability(card, exam_at, sched=sched)

    def planned(state: CardState, at: datetime, level: int) -> float:
        due = state.due or at
        if state.new:
            due = at
        if level >= depth or due >= exam_at:
            return retrievability(state, exam_at, sched=sched)
        moment = max(due, at)
        p = retrievability(state, moment, sched=sched) if not state.new else 0.0
        good = review(state, Rating.GOOD, moment, sched=sched, exam_at=exam_at)
        again = review(state, Rating.AGAIN, moment, sched=sched, exam_at=exam_at)
        if state.new:  # a first study: learnt at once, recalled or not, with the new card's chance
            return planned(good, moment + timedelta(seconds=1), level + 1)
        return p * planned(good, moment + timedelta(seconds=1), level + 1) + (1 - p) * planned(
            again, moment + timedelta(seconds=1), level + 1)

    return Readiness(if_plan=planned(card, now, 0), if_stop=if_stop)


_DAY_US = 86_400_000_000  # a day in microseconds: the bulk path keeps times as exact integers


def readiness_many(stability: np.ndarray, difficulty: np.ndarray, due: np.ndarray, last_review: np.ndarray, *,
                   now: datetime, exam_at: datetime, sched: Scheduler, depth: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """:func:`readiness` of many studied cards at once: ``(if_plan, if_stop)`` arrays. ``due`` and
    ``last_review`` are microseconds since ``now`` (int64). The same tree as :func:`readiness`, walked a
    level at a time over every card (a class has tens of thousands: the scalar tree calls the
    scheduler 2^depth times per card); ``fsrs``'s review formulas for daily reviews without learning
    steps are written out here on arrays, and a test holds them equal to the scalar path."""
    w = np.asarray(sched.parameters, dtype=float)
    decay, factor = sched._DECAY, sched._FACTOR
    one = timedelta(microseconds=1)
    exam = (exam_at - now) // one
    window_start, late_cap = exam - FINAL_WINDOW // one, exam - _DAY_US // 2
    growth = sched.desired_retention ** (1 / decay) - 1
    easy_d0 = w[4] - math.exp(w[5] * (Rating.EASY - 1)) + 1

    def recall(s: np.ndarray, last: np.ndarray, at: np.ndarray | int) -> np.ndarray:
        days = np.maximum(0.0, (at - last) / _DAY_US)
        return (1 + factor * days / s) ** decay

    def reviewed(s: np.ndarray, d: np.ndarray, last: np.ndarray, at: np.ndarray,
                 rating: Rating) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        whole_days = (at - last) // _DAY_US  # fsrs reads elapsed whole days (timedelta.days)
        r = (1 + factor * np.maximum(whole_days, 0) / s) ** decay
        short = s * np.exp(w[17] * (rating - 3 + w[18])) * s ** -w[19]
        if rating == Rating.AGAIN:
            long = np.minimum(w[11] * d ** -w[12] * ((s + 1) ** w[13] - 1) * np.exp((1 - r) * w[14]),
                              s / math.exp(w[17] * w[18]))
        else:
            short = np.maximum(short, s)  # a same-day success never lowers stability
            long = s * (1 + math.exp(w[8]) * (11 - d) * s ** -w[9] * (np.exp((1 - r) * w[10]) - 1))
        s2 = np.maximum(np.where(whole_days < 1, short, long), 0.001)
        d2 = np.clip(w[7] * easy_d0 + (1 - w[7]) * (d + (10 - d) * -(w[6] * (rating - 3)) / 9), 1.0, 10.0)
        days = np.clip(np.round((s2 / factor) * growth), 1, sched.maximum_interval).astype(np.int64)
        nxt = at + days * _DAY_US
        cap = np.where(at < window_start, window_start, late_cap)  # exam_cap, on arrays
        nxt = np.where((at < exam) & (cap > at), np.minimum(nxt, cap), nxt)
        return s2, d2, nxt

    s = np.asarray(stability, dtype=float)
    d = np.asarray(difficulty, dtype=float)
    last = np.asarray(last_review, dtype=np.int64)
    if_stop = recall(s, last, exam) if len(s) else np.zeros(0)
    plan = np.zeros(len(s))
    index = np.arange(len(s))
    weight = np.ones(len(s))
    at = np.zeros(len(s), dtype=np.int64)
    due = np.asarray(due, dtype=np.int64)
    for level in range(depth + 1):
        done = (due >= exam) if level < depth else np.ones(len(s), dtype=bool)
        np.add.at(plan, index[done], weight[done] * recall(s[done], last[done], exam))
        go = ~done
        if not go.any():
            break
        s, d, last, due, at, weight, index = s[go], d[go], last[go], due[go], at[go], weight[go], index[go]
        moment = np.maximum(due, at)
        p = recall(s, last, moment)
        good, again = reviewed(s, d, last, moment, Rating.GOOD), reviewed(s, d, last, moment, Rating.AGAIN)
        s, d, due = (np.concatenate(pair) for pair in zip(good, again, strict=True))
        last = np.concatenate([moment, moment])
        at = last + 1_000_000  # the next review at least a second later, as in the scalar tree
        weight = np.concatenate([weight * p, weight * (1 - p)])
        index = np.concatenate([index, index])
    return plan, if_stop


def to_micros(moments: Sequence[datetime | None], now: datetime) -> np.ndarray:
    """Moments as int64 microseconds since ``now`` (None: ``now``), :func:`readiness_many`'s time axis."""
    one = timedelta(microseconds=1)
    return np.fromiter(((m - now) // one if m is not None else 0 for m in moments), dtype=np.int64, count=len(moments))


@dataclass(frozen=True)
class Verdict:
    """Whether a student is on track for the exam: their predicted recall on its date if they keep to
    the plan (``readiness``'s if_plan, averaged over the course's skills as the readiness page does)
    against the course's desired retention. A student with no studied card has not started."""

    predicted: float | None  # None: not started
    target: float

    @property
    def state(self) -> str:
        if self.predicted is None:
            return "not_started"
        return "on_track" if self.predicted >= self.target else "behind"

    @property
    def on_track(self) -> bool:
        return self.state == "on_track"


def exam_verdict(*, predicted: float, studied: int, target: float) -> Verdict:
    """THE rule of "on track for the exam date" (the class view, its CSV and the readiness page)."""
    return Verdict(predicted if studied else None, target)


# --------------------------------------------------------------------------- the simulated cohort


@dataclass(frozen=True)
class CohortSpec:
    """A simulated class: each student forgets at their own pace (a multiplier on elapsed time,
    log-normal around 1), answers with a slip rate and a guess rate."""

    students: int = 500
    skills: int = 20
    topics: int = 4
    days: int = 30
    spread: float = 0.25  # σ of the log of the forgetting-pace multiplier
    slip: float = 0.03
    guess: float = 0.05
    new_per_day: int = 10
    seed: int = 20


@dataclass
class _Student:
    pace: float
    cards: list[CardState]
    seen: list[int]
    correct: list[int]


@dataclass
class CohortResult:
    policy: str
    reviews: int
    exam_recall: float  # mean true recall over every skill and student on the exam date
    share_ready: float  # students whose mean recall on the exam date is at least 0.9
    calibration: list[tuple[float, float, int]] = field(default_factory=list)  # (predicted, observed, n) per bin

    @property
    def calibration_rmse(self) -> float:
        bins = [(p, o, n) for p, o, n in self.calibration if n]
        total = sum(n for _p, _o, n in bins)
        if not total:
            return float("nan")
        return math.sqrt(sum(n * (p - o) ** 2 for p, o, n in bins) / total)


def answer_probability(recall: float, *, slip: float, guess: float) -> float:
    """P(a right answer) for a memory with ``recall``: known and not slipped, or guessed."""
    return guess + (1 - slip - guess) * recall


Policy = Callable[[int, _Student, datetime, datetime, int], list[int]]


def simulate_cohort(spec: CohortSpec, *, policy: str = "fsrs", budget: list[int] | None = None,
                    desired_retention: float = DEFAULT_RETENTION) -> CohortResult:
    """Run ``spec.days`` days for every student under ``policy``:

    * ``fsrs``: the due cards each day (new cards ``new_per_day`` a day), capped for the exam;
    * ``fixed``: every skill every 2 days;
    * ``weakest``: each day ``budget[day]`` reviews (the same count as an FSRS run), given to the
      skills of the topic with the lowest share of right answers so far (unseen skills first).

    The scheduler predicts with the default parameters; each student's true recall follows the same
    curve with their own pace. Calibration (fsrs only): predicted P(right) against the answers, in 10 bins.
    """
    rng = random.Random(spec.seed)
    sched = scheduler(desired_retention=desired_retention)
    start = datetime(2026, 1, 1, 9, tzinfo=UTC)
    exam_at = start + timedelta(days=spec.days)
    topic_of = [skill % spec.topics for skill in range(spec.skills)]
    bins_p = [0.0] * 10
    bins_o = [0.0] * 10
    bins_n = [0] * 10
    reviews = 0
    daily: list[int] = [0] * spec.days
    recall_sum = 0.0
    ready = 0
    for _ in range(spec.students):
        student = _Student(pace=math.exp(rng.gauss(0, spec.spread)), cards=[CardState()] * spec.skills,
                           seen=[0] * spec.topics, correct=[0] * spec.topics)
        for day in range(spec.days):
            now = start + timedelta(days=day)
            chosen = _choose(policy, spec, student, now, day, topic_of, budget)
            daily[day] += len(chosen)
            for skill in chosen:
                card = student.cards[skill]
                true_recall = _true_recall(card, now, student.pace, sched)
                right = rng.random() < answer_probability(true_recall, slip=spec.slip, guess=spec.guess)
                if policy == "fsrs" and not card.new:
                    predicted = answer_probability(retrievability(card, now, sched=sched), slip=spec.slip,
                                                   guess=spec.guess)
                    b = min(9, int(predicted * 10))
                    bins_p[b] += predicted
                    bins_o[b] += right
                    bins_n[b] += 1
                rating = rating_for(score=1.0 if right else 0.0)
                student.cards[skill] = review(card, rating, now, sched=sched,
                                              exam_at=exam_at if policy == "fsrs" else None)
                student.seen[topic_of[skill]] += 1
                student.correct[topic_of[skill]] += right
                reviews += 1
        recalls = [_true_recall(card, exam_at, student.pace, sched) for card in student.cards]
        recall_sum += sum(recalls)
        ready += sum(recalls) / len(recalls) >= 0.9
    calibration = [(bins_p[b] / bins_n[b] if bins_n[b] else 0.0, bins_o[b] / bins_n[b] if bins_n[b] else 0.0,
                    bins_n[b]) for b in range(10)]
    result = CohortResult(policy=policy, reviews=reviews, exam_recall=recall_sum / (spec.students * spec.skills),
                          share_ready=ready / spec.students, calibration=calibration)
    result.daily = daily  # type: ignore[attr-defined]
    return result


def _true_recall(card: CardState, at: datetime, pace: float, sched: Scheduler) -> float:
    if card.new or card.last_review is None:
        return 0.0
    shifted = replace(card, last_review=at - (at - card.last_review) * pace)
    return retrievability(shifted, at, sched=sched)


def _choose(policy: str, spec: CohortSpec, student: _Student, now: datetime, day: int, topic_of: list[int],
            budget: list[int] | None) -> list[int]:
    cards = student.cards
    if policy == "fixed":
        return list(range(spec.skills)) if day % 2 == 0 else []
    if policy == "fsrs":
        due = [s for s, c in enumerate(cards) if not c.new and c.due is not None and c.due <= now]
        fresh = [s for s, c in enumerate(cards) if c.new][:spec.new_per_day]
        return due + fresh
    if policy == "weakest":
        count = round(budget[day] / spec.students) if budget else spec.skills
        unseen = [s for s, c in enumerate(cards) if c.new]
        chosen = unseen[:count]
        if len(chosen) < count:
            share = [(student.correct[t] / student.seen[t]) if student.seen[t] else 0.0 for t in range(spec.topics)]
            order = sorted(range(spec.topics), key=lambda t: share[t])
            pool = [s for t in order for s in range(spec.skills) if topic_of[s] == t and s not in chosen]
            chosen += pool[:count - len(chosen)]
        return chosen
    raise ValueError(f"unknown policy {policy!r}")


def exposing_seed(family_name: str, tag: str, *, constraints: dict | None = None, rng: random.Random | None = None,
                  tries: int = 40) -> int:
    """A fresh seed whose variant of ``family_name`` exposes misconception ``tag``: the mistake
    applies to it and the variant tells it apart. Any fresh seed when ``tag`` is empty or no seed
    found one in ``tries``."""
    from grader.problems import get_family

    rng = rng or random.SystemRandom()
    seed = rng.randrange(1, 2**31 - 1)
    if not tag:
        return seed
    family = get_family(family_name)
    for _ in range(tries):
        params = family.generate(seed, constraints or None)
        if tag in family.alternatives(params) and tag not in family.undiscriminated(params):
            return seed
        seed = rng.randrange(1, 2**31 - 1)
    return seed
