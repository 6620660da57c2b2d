"""The code-lab spec: what a lab asks for, the calls the sandbox makes, how each result is checked.

A :class:`TestCase` is data for the sandbox (``function``, ``args``, ``kwargs``: numbers, strings,
lists, dicts and numpy arrays only) plus a trusted ``check`` that turns what the student's
function returned into a :class:`Check`. Hidden cases are generated from a seed per submission,
so expected outputs are never stored anywhere the student's code could read.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from grader.i18n import Text, Wording, gettext_for
from grader.sandbox.limits import Limits
from grader.sandbox.runtime import DEFAULT_PACKAGES

__all__ = ["Check", "CodeLab", "Limits", "TestCase", "lab_file"]

LABS_DIR = Path(__file__).resolve().parent / "labs"


@dataclass(frozen=True)
class Check:
    """The verdict on one test: ``fraction`` of its points, and a message worded later in the
    reader's language (a :class:`~grader.i18n.Text`, or :class:`~grader.i18n.Verbatim` for what
    the student's own program said)."""

    fraction: float
    message: Wording
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.fraction >= 1.0

    @classmethod
    def ok(cls, detail: Mapping[str, Any] | None = None) -> Check:
        return cls(1.0, Text("Passed."), dict(detail or {}))

    @classmethod
    def fail(cls, message: Wording, detail: Mapping[str, Any] | None = None, fraction: float = 0.0) -> Check:
        return cls(fraction, message, dict(detail or {}))


@dataclass(frozen=True)
class TestCase:
    """One call into the student's module and its trusted check."""

    __test__ = False  # not a pytest class

    name: str  # stable id, unique in a lab run, e.g. "stride2-pad1"
    title: str  # what the student sees, e.g. "stride 2, padding 1, 3→4 channels"
    points: float
    function: str
    args: tuple[Any, ...]
    check: Callable[[Any], Check]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    public: bool = False


def lab_file(slug: str, name: str) -> str:
    """Read ``grader/codelabs/labs/<slug>/<name>`` (starter, solution, statement)."""
    return (LABS_DIR / slug / name).read_text(encoding="utf-8")


class CodeLab(ABC):
    """A coding lab. Subclasses set the class attributes and build the cases."""

    slug: ClassVar[str]  # also the folder name under grader/codelabs/labs/
    title: ClassVar[str]  # N_("English title"), translated by title_in
    functions: ClassVar[tuple[str, ...]]  # what the student's module must define
    # What the student's file may import besides the standard library (a runtime of
    # grader.sandbox.runtime.PACKAGE_SETS); a course's lab definition may allow more, never less.
    allowed_packages: ClassVar[tuple[str, ...]] = DEFAULT_PACKAGES
    limits: ClassVar[Limits] = Limits()
    module_name: ClassVar[str] = "submission"  # the student's file is imported under this name
    # What public_tests.py compares: "values" (with the model solution's outputs) or "shapes"
    # (when the real check needs data students never get, e.g. held-out accuracy).
    public_compare: ClassVar[str] = "values"
    # Extra files of the lab folder students may download (e.g. saved weights); never solution.py.
    student_files: ClassVar[tuple[str, ...]] = ()

    def public_expected(self, case: TestCase, solution_function: Any, args: tuple[Any, ...],
                        kwargs: dict[str, Any]) -> Any:
        """What public_tests.py expects for a public case: by default the model solution's output."""
        return solution_function(*args, **kwargs)

    @property
    def uses_torch(self) -> bool:
        return "torch" in self.allowed_packages

    def title_in(self, lang: str) -> str:
        """The lab's title in ``lang``."""
        return gettext_for(lang)(self.title)

    def statement(self, lang: str) -> str:
        """Markdown + LaTeX statement: ``statement.<lang>.md``, falling back to English."""
        folder = LABS_DIR / self.slug
        path = folder / f"statement.{lang}.md"
        if not path.exists():
            path = folder / "statement.en.md"
        return path.read_text(encoding="utf-8")

    def starter(self) -> str:
        return lab_file(self.slug, "starter.py")

    def student_file(self, name: str) -> bytes:
        """One of :attr:`student_files` (``KeyError`` for anything else)."""
        if name not in self.student_files or name == "solution.py":
            raise KeyError(name)
        return (LABS_DIR / self.slug / name).read_bytes()

    def solution(self) -> str:
        """The model solution: trusted side only, never served to students."""
        return lab_file(self.slug, "solution.py")

    @abstractmethod
    def public_cases(self) -> list[TestCase]:
        """Fixed cases (deterministic); students get them as ``public_tests.py``."""

    @abstractmethod
    def hidden_cases(self, seed: int) -> list[TestCase]:
        """Randomized cases for one submission, deterministic in ``seed``."""

    def cases(self, seed: int) -> list[TestCase]:
        """What the grader runs: the public cases, then the hidden ones."""
        cases = self.public_cases() + self.hidden_cases(seed)
        names = [c.name for c in cases]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.slug}: duplicate test names {names}")
        return cases

    def total_points(self, seed: int = 0) -> float:
        return float(sum(c.points for c in self.cases(seed)))

    def fingerprint(self) -> str:
        """Changes when the lab's files change (stored with results, for regrades)."""
        digest = hashlib.sha256()
        for path in sorted((LABS_DIR / self.slug).rglob("*")):
            if path.is_file():
                digest.update(path.name.encode() + path.read_bytes())
        return digest.hexdigest()[:16]
