"""grade_code end to end in the real sandbox: every hostile submission ends as a clean, graded result
with a clear message, and nothing the student's process does can raise its score."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np
import pytest

from grader.codelabs.base import Check, CodeLab, Limits, TestCase
from grader.codelabs.checks import expect_array
from grader.codelabs.grade import grade_code
from grader.i18n import Verbatim, word
from grader.results import GradingResult
from grader.sandbox.runner import SandboxRunner, UnsandboxedRunner
from grader.tests.sandbox_support import open_sandbox
from grader.tests.test_sandbox import job_processes

X = np.arange(6.0).reshape(2, 3)


class DoubleLab(CodeLab):
    """A toy lab: ``double(x)`` returns ``2 * x``; one public and two hidden cases."""

    slug = "test-double"
    title = "Double"
    functions = ("double",)
    limits = Limits(cpu_seconds=1, wall_seconds=4, memory_mb=256, output_bytes=2048)

    def public_cases(self) -> list[TestCase]:
        return [TestCase("public", "2×3", 1, "double", (X,), lambda v: expect_array(v, 2 * X), public=True)]

    def hidden_cases(self, seed: int) -> list[TestCase]:
        rng = np.random.default_rng(seed)
        a, b = rng.normal(size=(3, 4)), rng.normal(size=(5,))
        return [
            TestCase("hidden-1", "3×4", 2, "double", (a,), lambda v: expect_array(v, 2 * a)),
            TestCase("hidden-2", "5", 2, "double", (b,), lambda v: expect_array(v, 2 * b)),
        ]

    def fingerprint(self) -> str:
        return "test"


LAB = DoubleLab()
GOOD = "def double(x):\n    return 2 * x\n"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxRunner]:
    yield from open_sandbox(torch=False)


def grade(sandbox: SandboxRunner, source: str, seed: int = 1) -> GradingResult:
    result = grade_code(lab=LAB, source=source, seed=seed, runner=sandbox)
    assert job_processes() == []
    assert result.run is not None
    return result


def messages(result: GradingResult, lang: str = "en") -> str:
    assert result.run is not None
    return " ".join(word(t.message, lang) for t in result.tests) + " " + word(result.run.summary, lang)


def test_a_correct_file_scores_full_and_the_table_has_every_test(sandbox: SandboxRunner) -> None:
    result = grade(sandbox, GOOD)
    assert result.score == 1.0 and result.points == 5 and result.max_points == 5
    assert sum(t.passed for t in result.tests) == 3 and result.for_student(lang="en")["passed"] == 3
    assert [t.public for t in result.tests] == [True, False, False]
    assert word(result.message, "en") == "3 of 3 tests passed."
    assert result.run is not None and result.run.summary is None
    assert (result.run.lab, result.run.fingerprint, result.run.seed) == ("test-double", "test", 1)


def test_a_wrong_value_names_the_first_mismatch_and_the_errors(sandbox: SandboxRunner) -> None:
    result = grade(sandbox, "def double(x):\n    y = 2 * x\n    y.flat[1] += 1\n    return y\n")
    assert result.score == 0
    public = result.tests[0]
    assert public.status == "failed"
    message = word(public.message, "en")
    assert "first at [0, 1]: got 3, expected 2" in message and "Max abs error 1" in message
    assert "第一個在 [0, 1]：得到 3，應為 2" in word(public.message, "zh-Hant")
    assert public.detail["first_index"] == [0, 1]  # the check's detail, kept for staff


def test_a_wrong_shape_is_named(sandbox: SandboxRunner) -> None:
    result = grade(sandbox, "def double(x):\n    return (2 * x).ravel()\n")
    assert "shape (6,), expected (2, 3)" in word(result.tests[0].message, "en")


@pytest.mark.parametrize(("source", "needle", "status"), [
    ("def double(x):\n    while True:\n        pass\n", "used up the per-test", "error"),  # CPU budget (or wall-clock when busy)
    ("import time\ndef double(x):\n    time.sleep(30)\n", "per-test wall-clock time of 2 s", "error"),
    ("while True:\n    pass\n", "CPU time limit of 1 s", "error"),  # at import: the job's own limit
    ("import time\ntime.sleep(30)\n", "wall-clock limit of 4 s", "error"),
    # Swallowing the per-test timeout only delays the job's own limit.
    ("def double(x):\n    while True:\n        try:\n            while True:\n                pass\n"
     "        except BaseException:\n            pass\n", "CPU time limit of 1 s", "error"),
    ("import ctypes\ndef double(x):\n    ctypes.string_at(0)\n", "segmentation fault", "error"),
    ("import sklearn\n", "allows only the Python standard library and numpy: sklearn", "not_run"),
    ("import sys\nsys.exit(0)\n", "called sys.exit()", "not_run"),
    ("import os\nos._exit(0)\n", "exited (exit code 0)", "error"),
    ("import numpy as np\ndef double(x):\n    return np.ones(1 << 33)\n", "MemoryError", "error"),
    ("def triple(x):\n    return 3 * x\n", "does not define a function named 'double'", "error"),
    ("def double(x):\n    return {1, 2}\n", "cannot be graded", "error"),
    ("raise ValueError('boom')\n", "ValueError: boom", "not_run"),
])
def test_hostile_or_broken_files_get_a_clean_zero_with_a_clear_message(
    sandbox: SandboxRunner, source: str, needle: str, status: str
) -> None:
    result = grade(sandbox, source)
    assert result.score == 0 and result.points == 0
    assert needle in messages(result), messages(result)
    assert result.tests[0].status == status


def test_printing_a_fake_score_or_patching_numpy_cannot_raise_the_score(sandbox: SandboxRunner) -> None:
    source = (
        "import numpy as np\n"
        "np.allclose = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n"
        "print('All tests passed! 5/5')\n"
        "def double(x):\n    return x\n"
    )
    result = grade(sandbox, source)
    assert result.run is not None
    assert result.score == 0 and "5/5" in result.run.stdout


def test_forged_result_frames_for_other_tests_are_ignored(sandbox: SandboxRunner) -> None:
    source = (
        "import os, dlcv_wire\n"
        "def double(x):\n"
        "    for name in ('hidden-1', 'hidden-2'):\n"
        "        os.write(3, dlcv_wire.encode({'kind': 'result', 'id': name, 'seconds': 0, 'value': 0}))\n"
        "    return 2 * x\n"
    )
    result = grade(sandbox, source)
    assert [t.passed for t in result.tests] == [True, False, False]


def test_a_crash_in_a_later_test_keeps_the_earlier_results(sandbox: SandboxRunner) -> None:
    source = "import os\ndef double(x):\n    if x.shape == (3, 4):\n        os._exit(3)\n    return 2 * x\n"
    result = grade(sandbox, source)
    statuses = [t.status for t in result.tests]
    assert statuses == ["passed", "error", "not_run"]
    assert "(during this test)" in word(result.tests[1].message, "en")
    assert result.points == 1


def test_output_is_capped(sandbox: SandboxRunner) -> None:
    result = grade(sandbox, "print('x' * 100000)\ndef double(x):\n    return 2 * x\n")
    assert result.run is not None
    assert result.run.truncated and len(result.run.stdout) <= LAB.limits.output_bytes


def test_hidden_inputs_change_with_the_seed() -> None:
    a = LAB.hidden_cases(1)[0].args[0]
    b = LAB.hidden_cases(2)[0].args[0]
    assert not np.allclose(a, b)


def test_the_unsandboxed_runner_is_for_development_only_and_warns() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runner = UnsandboxedRunner()
    assert any("WITHOUT the sandbox" in str(w.message) for w in caught)
    result = grade_code(lab=LAB, source=GOOD, seed=1, runner=runner)
    assert result.run is not None
    assert result.score == 1.0 and result.run.sandboxed is False


def test_check_results_are_our_own_objects() -> None:
    assert Check.ok().passed and not Check.fail(Verbatim("a")).passed
    assert word(Check.ok().message, "zh-Hant") == "通過。"
