"""The spaced-review core: the rating table, the skills an answer touches, the exam cap, readiness and
the simulated cohort's calibration (a small cohort here; the benchmark runs 500 students)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from grader import spaced
from grader.spaced import Rating

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


@pytest.mark.parametrize(("answer", "rating"), [
    ({"score": 0.0}, Rating.AGAIN),
    ({"score": 0.49}, Rating.AGAIN),
    ({"score": 1.0, "solution_seen": True}, Rating.AGAIN),
    ({"score": 0.8, "misconception_named": True}, Rating.AGAIN),
    ({"score": 0.6}, Rating.HARD),
    ({"score": 1.0, "hint_used": True}, Rating.HARD),
    ({"score": 1.0, "time_ratio": 2.5}, Rating.HARD),
    ({"score": 1.0, "time_ratio": 0.4}, Rating.EASY),
    ({"score": 1.0, "time_ratio": 0.4, "hint_used": True}, Rating.HARD),
    ({"score": 1.0, "time_ratio": 1.0}, Rating.GOOD),
    ({"score": 1.0}, Rating.GOOD),
    ({"score": 1.0, "misconception_named": True}, Rating.GOOD),  # a right answer names nothing wrong
])
def test_the_rating_table(answer: dict, rating: Rating) -> None:
    assert spaced.rating_for(**answer) == rating


def test_skill_keys_round_trip() -> None:
    assert spaced.parse_skill(spaced.concept_skill("iou-01")) == spaced.Skill("q:iou-01", "q", "iou-01")
    assert spaced.parse_skill(spaced.family_skill("conv-by-hand", "flip")).tag == "flip"
    assert spaced.parse_skill(spaced.family_skill("conv-by-hand")).tag == ""
    with pytest.raises(ValueError):
        spaced.parse_skill("nonsense")


def test_a_named_mistake_gets_its_own_failed_card_and_a_right_answer_passes_known_ones() -> None:
    wrong = spaced.skills_touched(bank_id="p", family="fam", score=0.0, misconceptions=["m1"])
    assert wrong == [spaced.Touched("f:fam", True), spaced.Touched("f:fam:m1", True)]
    right = spaced.skills_touched(bank_id="p", family="fam", score=1.0, misconceptions=[], known_tags=["m1", "m2"])
    assert right == [spaced.Touched("f:fam", False), spaced.Touched("f:fam:m1", False), spaced.Touched("f:fam:m2", False)]
    assert spaced.skills_touched(bank_id="q1", family="", score=1.0, misconceptions=[]) == [spaced.Touched("q:q1", False)]


def test_intervals_grow_with_good_answers_and_shrink_after_again() -> None:
    sched = spaced.scheduler()
    card = spaced.review(spaced.CardState(), Rating.GOOD, NOW, sched=sched)
    gaps = []
    moment = NOW
    for _ in range(3):
        gaps.append(card.due - moment)
        moment = card.due
        card = spaced.review(card, Rating.GOOD, moment, sched=sched)
    assert gaps[0] < gaps[1] < gaps[2]
    lapsed = spaced.review(card, Rating.AGAIN, card.due, sched=sched)
    assert lapsed.due - card.due < gaps[2]


def test_the_exam_cap_brings_every_card_back_in_the_final_window() -> None:
    sched = spaced.scheduler()
    exam = NOW + timedelta(days=20)
    card = spaced.CardState()
    moment = NOW
    for _ in range(4):
        card = spaced.review(card, Rating.EASY, moment, sched=sched)
        moment = card.due
    uncapped = spaced.review(spaced.CardState(), Rating.EASY, NOW, sched=sched)
    capped = spaced.review(spaced.CardState(), Rating.EASY, NOW, sched=sched, exam_at=NOW + timedelta(days=5))
    assert uncapped.due > NOW + timedelta(days=5) - spaced.FINAL_WINDOW  # the cap matters here
    assert capped.due <= NOW + timedelta(days=5) - spaced.FINAL_WINDOW
    inside = spaced.review(card, Rating.EASY, exam - timedelta(days=2), sched=sched, exam_at=exam)
    assert exam - timedelta(days=2) < inside.due <= exam - timedelta(hours=12)
    after = spaced.review(card, Rating.EASY, exam + timedelta(days=1), sched=sched, exam_at=exam)
    assert after.due > exam + timedelta(days=2)


def test_readiness_with_the_plan_beats_stopping_and_a_new_card_is_zero_if_stopped() -> None:
    sched = spaced.scheduler()
    exam = NOW + timedelta(days=21)
    card = spaced.review(spaced.CardState(), Rating.GOOD, NOW, sched=sched)
    r = spaced.readiness(card, now=NOW + timedelta(hours=1), exam_at=exam, sched=sched)
    assert 0 < r.if_stop < r.if_plan <= 1
    fresh = spaced.readiness(spaced.CardState(), now=NOW, exam_at=exam, sched=sched)
    assert fresh.if_stop == 0 and fresh.if_plan > 0.5


def _studied_cards(count: int, seed: int) -> list[spaced.CardState]:
    """Cards after 1–6 reviews of random ratings at random moments (some the same day, some capped)."""
    rng = random.Random(seed)
    sched = spaced.scheduler()
    cards = []
    for _ in range(count):
        card, at = spaced.CardState(), NOW - timedelta(days=rng.uniform(1, 40))
        for _ in range(rng.randint(1, 6)):
            if at >= NOW:
                break
            card = spaced.review(card, Rating(rng.randint(1, 4)), at, sched=sched,
                                 exam_at=NOW + timedelta(days=rng.choice([2, 9, 30])))
            at += timedelta(hours=rng.uniform(1, 24 * 8))
        cards.append(card)
    return cards


@pytest.mark.parametrize(("exam_days", "depth", "retention"), [
    (10, 4, 0.9), (2.5, 6, 0.9), (1, 4, 0.85), (40, 4, 0.95), (0.3, 3, 0.9)])
def test_readiness_of_many_cards_at_once_equals_the_tree_card_by_card(exam_days: float, depth: int,
                                                                      retention: float) -> None:
    sched = spaced.scheduler(desired_retention=retention)
    cards = _studied_cards(120, seed=depth)
    now = NOW + timedelta(microseconds=123_457)  # not on a whole second: the integer time axis is exact
    exam_at = now + timedelta(days=exam_days)
    plan, stop = spaced.readiness_many(
        np.array([c.stability for c in cards]), np.array([c.difficulty for c in cards]),
        spaced.to_micros([c.due for c in cards], now), spaced.to_micros([c.last_review for c in cards], now),
        now=now, exam_at=exam_at, sched=sched, depth=depth)
    expected = [spaced.readiness(c, now=now, exam_at=exam_at, sched=sched, depth=depth) for c in cards]
    assert plan == pytest.approx([r.if_plan for r in expected], abs=1e-12)
    assert stop == pytest.approx([r.if_stop for r in expected], abs=1e-12)
    assert len({round(v, 6) for v in plan}) > 50  # the cards differ: the comparison is not of constants


def test_on_track_for_the_exam_is_the_predicted_recall_against_the_target() -> None:
    assert spaced.exam_verdict(predicted=0.91, studied=3, target=0.9).state == "on_track"
    assert spaced.exam_verdict(predicted=0.9, studied=3, target=0.9).on_track  # at the target counts
    assert spaced.exam_verdict(predicted=0.89, studied=3, target=0.9).state == "behind"
    assert spaced.exam_verdict(predicted=0.0, studied=0, target=0.9).state == "not_started"
    assert not spaced.exam_verdict(predicted=0.95, studied=0, target=0.9).on_track


def test_a_small_cohort_is_calibrated_and_fsrs_needs_fewer_reviews_than_every_two_days() -> None:
    spec = spaced.CohortSpec(students=40, skills=12, topics=3, days=30, seed=7)
    fsrs = spaced.simulate_cohort(spec, policy="fsrs")
    fixed = spaced.simulate_cohort(spec, policy="fixed")
    assert sum(n for _p, _o, n in fsrs.calibration) > 1000
    assert fsrs.calibration_rmse <= 0.06
    assert fsrs.exam_recall >= 0.9
    assert fsrs.reviews <= 0.7 * fixed.reviews
    weakest = spaced.simulate_cohort(spec, policy="weakest", budget=fsrs.daily)  # type: ignore[attr-defined]
    assert abs(weakest.reviews - fsrs.reviews) <= 0.05 * fsrs.reviews
    assert fsrs.exam_recall > weakest.exam_recall


def test_a_misconceptions_card_is_served_a_variant_that_exposes_it() -> None:
    from grader.problems import get_family

    family = get_family("conv-by-hand")
    tag = next(m.tag for m in family.misconceptions if not m.main) if any(
        not m.main for m in family.misconceptions) else family.misconceptions[0].tag
    import random

    seed = spaced.exposing_seed("conv-by-hand", tag, rng=random.Random(3))
    params = family.generate(seed)
    assert tag in family.alternatives(params)
