"""Every coding lab through the real sandbox: the model solution scores full marks, the starter
scores zero, and the catalog, statements and public tests are complete.

These run the student-side code exactly as the grader does (bubblewrap, the zygote, the wire),
so a solution that only works in-process (e.g. returns a torch tensor needing grad, or imports
something the sandbox lacks) fails here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.codelabs import all_codelabs, catalog, labs
from grader.codelabs.base import CodeLab
from grader.codelabs.grade import grade_code
from grader.codelabs.public import public_tests_script
from grader.i18n import word
from grader.sandbox.runner import SandboxRunner
from grader.tests.sandbox_support import open_sandbox

LABS = all_codelabs()
_CJK = re.compile(r"[\u4e00-\u9fff]")
IDS = [lab.slug for lab in LABS]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxRunner]:
    yield from open_sandbox(torch=any(lab.uses_torch for lab in LABS))


def test_the_catalog_has_the_nine_labs_of_the_issue() -> None:
    assert {
        "conv2d-forward", "conv2d-backward", "maxpool", "softmax-ce", "iou-nms", "voc-map", "yolo-decode",
        "cnn-forward-numpy", "train-cnn",
    } <= set(IDS)


# A lab module that the catalog must find, next to a helper module that must not even be imported.
_EXTRA_LAB_SOURCE = """
from grader.codelabs.base import CodeLab


class ExtraLab(CodeLab):
    slug = "test-catalog-extra"
    title = "Extra"
    functions = ("f",)

    def public_cases(self):
        return []

    def hidden_cases(self, seed):
        return []


LAB = ExtraLab()
"""
_HELPER_SOURCE = "raise AssertionError('the catalog imported a _ helper module')\n"


def test_the_catalog_skips_underscore_helper_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Modules named ``_...`` (like ``_array_lab_tools``) are helpers: never imported nor registered."""
    (tmp_path / "zz_catalog_extra_lab.py").write_text(_EXTRA_LAB_SOURCE, encoding="utf-8")
    (tmp_path / "_catalog_helper.py").write_text(_HELPER_SOURCE, encoding="utf-8")
    monkeypatch.setattr(labs, "__path__", [*labs.__path__, str(tmp_path)])
    catalog._registry.cache_clear()
    try:
        slugs = [lab.slug for lab in all_codelabs()]
    finally:
        # The next caller rebuilds the registry from the real package (monkeypatch restores it).
        catalog._registry.cache_clear()
        sys.modules.pop(f"{labs.__name__}.zz_catalog_extra_lab", None)
    assert slugs == [*IDS, "test-catalog-extra"]
    assert f"{labs.__name__}._catalog_helper" not in sys.modules


@pytest.mark.parametrize("lab", LABS, ids=IDS)
def test_model_solution_scores_full_marks_in_the_sandbox(lab: CodeLab, sandbox: SandboxRunner) -> None:
    result = grade_code(lab=lab, source=lab.solution(), seed=12345, runner=sandbox)
    assert result.run is not None
    failing = [(t.name, t.status, word(t.message, "en")) for t in result.tests if not t.passed]
    assert failing == [] and result.score == 1.0, (failing, result.run.stderr[-2000:])
    assert result.run.sandboxed is True
    assert result.max_points == pytest.approx(lab.total_points(12345))


@pytest.mark.parametrize("lab", LABS, ids=IDS)
def test_starter_scores_zero_in_the_sandbox(lab: CodeLab, sandbox: SandboxRunner) -> None:
    result = grade_code(lab=lab, source=lab.starter(), seed=7, runner=sandbox)
    assert result.points == 0 and result.score == 0
    assert all(t.status == "error" and "NotImplementedError" in word(t.message, "en") for t in result.tests)


@pytest.mark.parametrize("lab", LABS, ids=IDS)
def test_lab_files_are_complete(lab: CodeLab) -> None:
    for lang in ("en", "zh-Hant"):
        assert len(lab.statement(lang)) > 200
    assert lab.title_in("en") == lab.title
    assert _CJK.search(lab.title_in("zh-Hant")), "the title has no translation"
    starter = lab.starter()
    for name in lab.functions:
        assert f"def {name}(" in starter and f"def {name}(" in lab.solution()
    assert "import grader" not in lab.solution() and "from grader" not in lab.solution()
    cases = lab.public_cases()
    assert cases and all(c.public for c in cases)
    hidden_a, hidden_b = lab.hidden_cases(1), lab.hidden_cases(2)
    assert hidden_a and not any(c.public for c in hidden_a)
    assert len({c.name for c in lab.cases(1)}) == len(lab.cases(1))
    assert [c.title for c in hidden_a] == [c.title for c in lab.hidden_cases(1)]  # deterministic in the seed
    assert hidden_b  # (inputs differ between seeds: checked per lab in its own tests)


@pytest.mark.parametrize("lab", [lab for lab in LABS if not lab.uses_torch], ids=[lab.slug for lab in LABS if not lab.uses_torch])
def test_public_tests_script_passes_the_solution_and_fails_the_starter(lab: CodeLab, tmp_path: Path) -> None:
    script = tmp_path / "public_tests.py"
    script.write_text(public_tests_script(lab), encoding="utf-8")
    (tmp_path / "solution.py").write_text(lab.solution(), encoding="utf-8")
    (tmp_path / "starter.py").write_text(lab.starter(), encoding="utf-8")
    ok = subprocess.run([sys.executable, str(script), "solution.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "public tests passed" in ok.stdout
    bad = subprocess.run([sys.executable, str(script), "starter.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "not implemented yet" in bad.stdout
