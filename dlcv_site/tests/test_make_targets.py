"""What the Makefile's targets do for an operator on a fresh clone: `make bench` collects the static
files its web processes serve; `make run` ends everything it started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import PROJECT_DIR

NO_STATIC_WARNING = "No directory at"
_LOAD_WEB_APP = "from django.core.wsgi import get_wsgi_application; get_wsgi_application()"


def _make_dry_run(target: str) -> list[str]:
    done = subprocess.run(["make", "-n", target], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def _web_app_warnings(var_dir: Path) -> str:
    """The warnings of loading the web application (WhiteNoise looks for the static root then)."""
    env = {**os.environ, "DLCV_VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "dlcv_site.settings"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-W", "always", "-c", _LOAD_WEB_APP], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_make_bench_collects_the_static_files_before_the_exam_load(tmp_path: Path) -> None:
    commands = _make_dry_run("bench")
    collect = next(i for i, line in enumerate(commands) if "collectstatic" in line)
    first_web = next(i for i, line in enumerate(commands) if "quizzes.bench.exam_load" in line)
    assert collect < first_web
    # What that command prevents: a fresh clone's web process without its static files.
    assert NO_STATIC_WARNING in _web_app_warnings(tmp_path)
    env = {**os.environ, "DLCV_VAR_DIR": str(tmp_path)}
    subprocess.run(commands[collect].split(), cwd=PROJECT_DIR, env=env, check=True, timeout=120)
    assert NO_STATIC_WARNING not in _web_app_warnings(tmp_path)
    assert (tmp_path / "static" / "css" / "site.css").exists()

