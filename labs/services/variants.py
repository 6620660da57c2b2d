"""Each student's variant of a numeric lab: a seed per (lab, student), a variant per part."""

from __future__ import annotations

import json
from functools import lru_cache

from grader.problems import get_family
from grader.problems.base import Params
from grader.seeds import variant_seed
from labs.models import LabPart


def lab_variant_seed(*, lab_id: int, user_id: int) -> int:
    """The student's seed for this lab: stable across reloads, different for each student."""
    return variant_seed("lab", lab_id, user_id)


@lru_cache(maxsize=4096)
def _params_json(family: str, seed: int, constraints_json: str) -> str:
    # Generation resamples until the variant tells its misconceptions apart (up to ~20 ms for
    # detection-map), and every page view and submission needs it: memoize the JSON.
    constraints = json.loads(constraints_json)
    return json.dumps(get_family(family).generate(seed, constraints or None))


def lab_part_params(*, part: LabPart, seed: int) -> Params:
    """The part's variant for a student's lab seed (each part draws its own, keyed by its key)."""
    constraints = json.dumps(part.constraints or {}, sort_keys=True)
    return json.loads(_params_json(part.family, variant_seed(seed, part.key), constraints))
