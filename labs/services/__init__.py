"""The labs app's writes: one module per job; this package re-exports what the other rooms use.

* :mod:`.submissions` — submitting (validation, the lab's policy, the queued row);
* :mod:`.grading` — the worker's claim, the grade through the core, the result write;
* :mod:`.regrade` — the sweeper that re-sends lost work, and an instructor's regrade;
* :mod:`.definitions` — lab definitions from ``fixtures/labs/*.yaml``;
* :mod:`.variants` — each student's variant of a numeric lab;
* :mod:`.queue` — sending grading jobs to the broker (by task name).
"""

from labs.services.definitions import lab_spec_errors, lab_upsert
from labs.services.grading import CODE_STALE_RUNNING_AFTER, STALE_RUNNING_AFTER, code_runner, submission_grade
from labs.services.regrade import (
    REQUEUE_STUCK_AFTER,
    lab_regrade,
    lab_regrade_progress,
    submissions_requeue_after_restart,
    submissions_requeue_stuck,
)
from labs.services.submissions import (
    MAX_SOURCE_BYTES,
    SubmissionCreateResult,
    SubmissionInvalid,
    SubmissionRefused,
    submission_create,
)
from labs.services.variants import lab_part_params, lab_variant_seed

__all__ = [
    "CODE_STALE_RUNNING_AFTER",
    "MAX_SOURCE_BYTES",
    "REQUEUE_STUCK_AFTER",
    "STALE_RUNNING_AFTER",
    "SubmissionCreateResult",
    "SubmissionInvalid",
    "SubmissionRefused",
    "code_runner",
    "lab_part_params",
    "lab_regrade",
    "lab_regrade_progress",
    "lab_spec_errors",
    "lab_upsert",
    "lab_variant_seed",
    "submission_create",
    "submission_grade",
    "submissions_requeue_after_restart",
    "submissions_requeue_stuck",
]
