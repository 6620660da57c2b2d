"""Run a lab's cases on trusted code *in this process* — for model solutions and tests only.

Student code never goes through here: it runs in :mod:`grader.sandbox`. This is how a lab's own
tests check that its solution passes and its starter fails without starting a sandbox.
"""

from __future__ import annotations

import types
from dataclasses import dataclass

from grader.i18n import Text

from .base import Check, CodeLab, TestCase

__all__ = ["CaseOutcome", "load_source", "run_in_process"]


@dataclass(frozen=True)
class CaseOutcome:
    case: TestCase
    check: Check


def load_source(source: str, name: str = "submission") -> types.ModuleType:
    """Execute trusted ``source`` as a fresh module."""
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    exec(compile(source, f"{name}.py", "exec"), module.__dict__)  # trusted code only
    return module


def run_in_process(lab: CodeLab, source: str, seed: int = 0) -> list[CaseOutcome]:
    """Every case of ``lab`` for ``seed`` against ``source``; an exception fails that case."""
    module = load_source(source, lab.module_name)
    outcomes = []
    for case in lab.cases(seed):
        try:
            value = getattr(module, case.function)(*case.args, **dict(case.kwargs))
        except Exception as exc:  # the starter raises NotImplementedError
            check = Check.fail(Text("%(exception)s: %(error)s", exception=type(exc).__name__, error=str(exc)))
        else:
            check = case.check(value)
        outcomes.append(CaseOutcome(case, check))
    return outcomes
