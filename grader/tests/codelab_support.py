"""Helpers shared by the code-lab tests (``test_codelab_<lab>.py``, ``test_codelabs_in_process.py``).

They run a source through a lab in this process, add up what it earned, and build plausibly wrong
sources from the model solution. This is not a test module, so pytest does not rewrite its
``assert`` statements: each one carries its own message.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import Any

import numpy as np

from grader.codelabs.base import Check, CodeLab, TestCase
from grader.codelabs.inprocess import CaseOutcome, run_in_process
from grader.i18n import word

__all__ = [
    "ARRAY_LAB_SEEDS",
    "assert_every_check_rejects",
    "earned",
    "failed",
    "imported_roots",
    "mutated",
    "outcomes_by_name",
    "wire_safe",
    "with_bug",
]

# The seeds the numpy array labs (conv2d forward/backward, maxpool, softmax-ce) are tested with.
ARRAY_LAB_SEEDS = [0, 1, 2, 3, 41, 2024]


def outcomes_by_name(lab: CodeLab, source: str, seed: int) -> dict[str, CaseOutcome]:
    """Every case of ``lab`` for ``seed`` run on ``source`` in this process, keyed by case name."""
    return {o.case.name: o for o in run_in_process(lab, source, seed)}


def earned(outcomes: Iterable[CaseOutcome]) -> float:
    """Points earned: each case's points times the fraction of them its check gave."""
    return sum(o.check.fraction * o.case.points for o in outcomes)


def failed(outcomes: Iterable[CaseOutcome]) -> dict[str, CaseOutcome]:
    """The outcomes that did not pass, keyed by case name."""
    return {o.case.name: o for o in outcomes if not o.check.passed}


def with_bug(lab: CodeLab, bug: str) -> str:
    """The model solution followed by ``bug``, source that redefines (or wraps) one of its functions."""
    return lab.solution() + "\n" + bug


def mutated(source: str, old: str, new: str) -> str:
    """``source`` with every ``old`` replaced by ``new``; ``old`` must occur, or the edit tests nothing."""
    assert old in source, f"not in the source (did the solution change?): {old!r}"
    return source.replace(old, new)


def imported_roots(source: str) -> set[str]:
    """Top-level packages ``source`` imports (the sandbox has only the stdlib, numpy and torch).

    A relative import counts as ``"."``, so it never passes for an allowed package.
    """
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots.add("." if node.level else (node.module or "").split(".")[0])
    return roots


def wire_safe(value: Any) -> bool:
    """What may cross the sandbox boundary: numeric arrays, plain scalars, lists, tuples, str-keyed dicts."""
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "biuf"
    if isinstance(value, list | tuple):
        return all(wire_safe(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and wire_safe(v) for k, v in value.items())
    return value is None or isinstance(value, bool | int | float | str)


def assert_every_check_rejects(cases: Iterable[TestCase], value: Any) -> None:
    """Every case's check fails ``value`` without raising, with a message in both languages."""
    for case in cases:
        check = case.check(value)
        assert isinstance(check, Check), (case.name, check)
        assert not check.passed, (case.name, check.message)
        en, zh = word(check.message, "en"), word(check.message, "zh-Hant")
        assert en and zh and zh != en, (case.name, en, zh)  # worded in both languages (translated)
