"""Factories for labs (plain functions) and answers built from the grader core's own solutions."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from accounts.models import Course, User
from grader.problems import get_family
from labs.models import Lab, LabKind, LabPart
from labs.services import lab_part_params, lab_variant_seed

_counter = itertools.count(1)

#: (key, family, constraints, points): a small, fast lab with a matrix part and a counts part.
DEFAULT_PARTS: tuple[tuple[str, str, dict[str, Any], float], ...] = (
    ("conv", "conv-by-hand", {"height": 5, "width": 5, "kernel_size": 3, "mode": "correlation"}, 3),
    ("cost", "conv-cost", {"kind": "grouped"}, 2),
)


def make_lab(
    course: Course,
    slug: str | None = None,
    *,
    parts: Sequence[tuple[str, str, dict[str, Any], float]] = DEFAULT_PARTS,
    due_at: datetime | None = None,
    attempts_policy: dict[str, Any] | None = None,
    late_policy: dict[str, Any] | None = None,
    published: bool = True,
    kind: str = LabKind.NUMERIC,
) -> Lab:
    lab = Lab.objects.create(
        course=course,
        slug=slug or f"lab-{next(_counter)}",
        title="Test lab",
        kind=kind,
        published=published,
        due_at=due_at,
        attempts_policy=attempts_policy or {"mode": "unlimited"},
        late_policy=late_policy or {},
    )
    for position, (key, family, constraints, points) in enumerate(parts, start=1):
        LabPart.objects.create(
            lab=lab, position=position, key=key, title=key.title(), family=family,
            constraints=constraints, points=Decimal(str(points)),
        )
    return lab


def part_answer(part: LabPart, user: User, *, misconception: str | None = None) -> dict[str, str]:
    """The part's answer as typed: right, or the answer a given misconception leads to."""
    family = get_family(part.family)
    params = lab_part_params(part=part, seed=lab_variant_seed(lab_id=part.lab.pk, user_id=user.pk))
    answer = family.solve(params)
    if misconception is not None:
        answer = {**answer, **family.alternatives(params)[misconception]}
    return family.format_answer(params, answer)


def first_misconception(part: LabPart, user: User) -> str:
    """A misconception that applies to this student's variant of ``part``."""
    family = get_family(part.family)
    params = lab_part_params(part=part, seed=lab_variant_seed(lab_id=part.lab.pk, user_id=user.pk))
    return next(iter(family.alternatives(params)))


def lab_answers(lab: Lab, user: User, *, wrong: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    """Answers to every part: right, except ``wrong`` (part key → misconception tag)."""
    wrong = wrong or {}
    return {part.key: part_answer(part, user, misconception=wrong.get(part.key)) for part in lab.parts.all()}
