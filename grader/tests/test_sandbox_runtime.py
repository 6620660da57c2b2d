"""The sandbox holds only the packages a lab allows (issue 16, item 1), proven with real bubblewrap.

A numpy-only lab's sandbox has no torch on any path; no sandbox has scipy, requests, the project's
own packages or the host's site directory — whatever trick the student's code tries: appending to
``sys.path``, ``importlib`` on a file path, ``ctypes.CDLL`` on a shared library, reading the files,
or walking the whole file system.
"""

from __future__ import annotations

import glob
import os
import site
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import scipy
import torch

import grader
from grader.codelabs import get_codelab
from grader.codelabs.grade import grade_code
from grader.i18n import word
from grader.sandbox import runtime
from grader.sandbox.limits import Limits
from grader.sandbox.runner import JobSpec, SandboxRunner
from grader.tests.sandbox_support import open_sandbox
from grader.tests.test_sandbox import job_processes

PROJECT = Path(grader.__file__).resolve().parent.parent
HOST_SITE = Path(np.__file__).resolve().parent.parent  # the virtualenv's site-packages
BASE_SITE = Path(sys.base_prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
TORCH_SO = str(Path(torch.__file__).resolve().parent / "lib" / "libtorch_cpu.so")
SCIPY_SO = sorted(glob.glob(str(Path(scipy.__file__).resolve().parent / "**" / "*.so"), recursive=True))[0]
LIMITS = Limits(cpu_seconds=20, wall_seconds=40, memory_mb=512, per_call_share=0)
FORBIDDEN = ["scipy", "requests", "sklearn", "boto3", "grader", "dlcv_site", "labs", "quizzes", "accounts"]

# Every trick at once; returns what it reached (empty: nothing).
PROBE = r'''
import ctypes, importlib, importlib.util, os, sys

def probe(names, dirs, libraries, allowed_trees):
    reached = []
    for directory in dirs:
        sys.path.append(directory)
        if os.path.exists(directory):
            reached.append(f"exists {directory}")
    importlib.invalidate_caches()
    for name in names:
        try:
            importlib.import_module(name)
            reached.append(f"import {name}")
        except ImportError:
            pass
        for directory in dirs:
            path = os.path.join(directory, name, "__init__.py")
            try:
                spec = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                reached.append(f"exec {path}")
            except (ImportError, OSError, AttributeError):
                pass
            try:
                with open(path, "rb") as handle:
                    handle.read(1)
                reached.append(f"read {path}")
            except OSError:
                pass
    for library in libraries:
        try:
            ctypes.CDLL(library)
            reached.append(f"CDLL {library}")
        except OSError:
            pass
        if os.path.exists(library):
            reached.append(f"exists {library}")
    # Anywhere on the file system (but inside an allowed package's own tree): a package directory
    # of one of those names.
    for root, subdirs, files in os.walk("/"):
        if root in ("/proc", "/sys", "/dev", *allowed_trees):
            subdirs[:] = []
            continue
        for sub in subdirs:
            if sub in names and os.path.exists(os.path.join(root, sub, "__init__.py")):
                reached.append(f"found {os.path.join(root, sub)}")
        if "site-packages" in subdirs and root != "/opt":
            reached.append(f"found {os.path.join(root, 'site-packages')}")
    return reached
'''


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxRunner]:
    yield from open_sandbox(torch=True)


def probe(sandbox: SandboxRunner, packages: tuple[str, ...], names: list[str]) -> list[str]:
    # torch ships a stub named scipy (torch/_inductor/.../cutlass_mock_imports): torch's own file.
    allowed_trees = ["/opt/site/torch"] if "torch" in packages else []
    dirs = [str(HOST_SITE), str(BASE_SITE), str(PROJECT), *site.getsitepackages(), "/usr/lib/python3/dist-packages"]
    job = JobSpec(source=PROBE, limits=LIMITS, packages=packages,
                  calls=[{"id": "p", "function": "probe", "args": (names, dirs, [TORCH_SO, SCIPY_SO], allowed_trees),
                         "kwargs": {}}])
    outcome = sandbox.run(job)
    assert job_processes() == []
    frame = outcome.results["p"]
    assert frame["kind"] == "result", frame
    return frame["value"]


def test_a_numpy_lab_sandbox_reaches_no_torch_and_nothing_of_the_host(sandbox: SandboxRunner) -> None:
    assert probe(sandbox, ("numpy",), ["torch", "torchgen", "functorch", *FORBIDDEN]) == []


def test_a_torch_lab_sandbox_reaches_torch_but_nothing_else_of_the_host(sandbox: SandboxRunner) -> None:
    assert probe(sandbox, ("numpy", "torch"), FORBIDDEN) == []


def test_each_runtime_holds_its_packages_and_their_dependencies_only() -> None:
    built = runtime.build_all()
    assert all(built[name] == {"linked": 0, "copied": 0} for name in ("python", *runtime.PACKAGE_SETS)), built
    numpy_only = runtime.ensure_runtime(("numpy",))
    with_torch = runtime.ensure_runtime(("numpy", "torch"))
    numpy_names = {p.name for p in numpy_only.site_dir.iterdir()}
    torch_names = {p.name for p in with_torch.site_dir.iterdir()}
    assert {"numpy", "numpy.libs"} <= numpy_names and not any(n.startswith(("torch", "sympy")) for n in numpy_names)
    assert {"numpy", "torch", "sympy", "mpmath", "jinja2", "typing_extensions.py"} <= torch_names
    assert not {"scipy", "requests", "sklearn", "django", "celery"} & (numpy_names | torch_names)
    assert not (numpy_only.python_dir / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
                / "site-packages").exists()
    # Hard links (no copy of torch per clone) when the virtualenv is on the same file system.
    if os.stat(HOST_SITE).st_dev == os.stat(with_torch.site_dir).st_dev:
        assert os.path.samefile(with_torch.site_dir / "torch" / "__init__.py", HOST_SITE / "torch" / "__init__.py")


@pytest.mark.parametrize("packages, error", [
    (["numpy"], None), (["numpy", "torch"], None), (["torch", "numpy"], None),
    (["torch"], "not a sandbox runtime"), (["numpy", "scipy"], "not a sandbox runtime"),
    ("numpy", "must be a list"), ([], "not a sandbox runtime"),
])
def test_package_sets_are_validated(packages: object, error: str | None) -> None:
    errors = runtime.package_set_errors(packages)
    assert (errors == []) if error is None else (error in errors[0])


TORCH_CONV = (
    "import torch\n"
    "import torch.nn.functional as F\n\n"
    "def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):\n"
    "    out = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), None if b is None else torch.from_numpy(b),\n"
    "                   stride=stride, padding=padding, dilation=dilation, groups=groups)\n"
    "    return out.numpy()\n"
)


def test_a_torch_solution_to_a_numpy_lab_scores_zero_with_a_clear_message(sandbox: SandboxRunner) -> None:
    lab = get_codelab("conv2d-forward")
    assert lab.allowed_packages == ("numpy",)
    result = grade_code(lab=lab, source=TORCH_CONV, seed=3, runner=sandbox)
    assert result.score == 0 and result.points == 0
    assert all(t.status == "not_run" for t in result.tests)
    assert word(result.message, "en") == (
        "This lab allows only the Python standard library and numpy: torch is not available to your code.")
    assert "torch" in word(result.message, "zh-Hant") and word(result.message, "zh-Hant") != word(result.message, "en")
    # The same file where torch is allowed: full marks (the message is about the lab, not the code).
    allowed = grade_code(lab=lab, source=TORCH_CONV, seed=3, runner=sandbox, allowed_packages=("numpy", "torch"))
    assert allowed.score == 1


def test_an_import_inside_a_function_costs_only_the_tests_that_call_it(sandbox: SandboxRunner) -> None:
    lab = get_codelab("iou-nms")
    solution = lab.solution()
    source = solution + "\n\ndef nms(boxes, scores, iou_threshold):\n    import torch\n    return None\n"
    result = grade_code(lab=lab, source=source, seed=2, runner=sandbox)
    iou = [t for t in result.tests if t.function == "nms"]
    others = [t for t in result.tests if t.function != "nms"]
    assert iou and all(t.points == 0 for t in iou)
    assert all(word(t.message, "en").startswith("This lab allows only the Python standard library and numpy: torch")
               for t in iou)
    assert others and all(t.status == "passed" for t in others)
