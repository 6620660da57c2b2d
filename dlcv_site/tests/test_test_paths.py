"""`make test` runs every app's tests: each of the project's apps with a tests/ folder is in pytest's
testpaths (a new app left out would have its tests never run in CI)."""

from __future__ import annotations

import tomllib

from django.conf import settings

from conftest import PROJECT_DIR


def test_every_app_with_tests_is_in_the_testpaths() -> None:
    testpaths = set(tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
                    ["testpaths"])
    ours = {app for app in settings.INSTALLED_APPS if (PROJECT_DIR / app / "tests").is_dir()}
    assert ours, "no app of ours found"
    assert ours <= testpaths, f"apps whose tests never run: {sorted(ours - testpaths)}"
    assert (PROJECT_DIR / "grader" / "tests").is_dir() and "grader" in testpaths
