"""The grader core is pure: every module under ``grader/`` imports with the web framework, the task
queue and the apps made unimportable (as in a notebook where none of them is installed)."""

from __future__ import annotations

import subprocess
import sys

from conftest import PROJECT_DIR

FORBIDDEN = ("django", "rest_framework", "drf_spectacular", "celery", "kombu", "accounts", "quizzes", "labs",
             "dlcv_site")

PROBE = f"""
import importlib, importlib.abc, pkgutil, sys

FORBIDDEN = {FORBIDDEN!r}

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in FORBIDDEN:
            raise ImportError(f"the grader core imported {{name}}")
        return None

sys.meta_path.insert(0, Refuse())
import grader
modules = ["grader"]
for info in pkgutil.walk_packages(grader.__path__, "grader."):
    if info.name == "grader.__main__":
        continue  # runs the command line; grader.cli is imported instead
    importlib.import_module(info.name)
    modules.append(info.name)
leaked = sorted(name for name in sys.modules if name.split(".")[0] in FORBIDDEN)
assert not leaked, leaked
print(len(modules))
"""


def test_every_grader_module_imports_without_django_celery_or_the_apps() -> None:
    probe = subprocess.run([sys.executable, "-c", PROBE], cwd=PROJECT_DIR, capture_output=True, text=True,
                           timeout=300)
    assert probe.returncode == 0, probe.stderr[-4000:]
    assert int(probe.stdout.strip()) > 80  # every module was walked, tests included


def test_the_probe_catches_a_django_import() -> None:
    """The guard itself works: a module that imports Django fails the probe."""
    probe = subprocess.run(
        [sys.executable, "-c", PROBE.replace("import grader\n", "import grader\nimport django.db\n", 1)],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300,
    )
    assert probe.returncode != 0 and "the grader core imported django" in probe.stderr
