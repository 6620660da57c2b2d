"""Both configurations load: embedded defaults (no env) and the env-configured services."""

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
PROBE = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], 'broker': s.CELERY_BROKER_URL, "
    "'backend': s.CELERY_RESULT_BACKEND, 'mode': s.BROKER_MODE, 'tz': s.TIME_ZONE, 'debug': s.DEBUG, "
    "'hosts': s.ALLOWED_HOSTS, 'secret_len': len(s.SECRET_KEY), 'db_name': str(s.DATABASES['default']['NAME'])}))"
)
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "TIME_ZONE")


def load_settings(tmp_path: Path, **overrides: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(DJANGO_SETTINGS_MODULE="dlcv_site.settings", DLCV_VAR_DIR=str(tmp_path / "var"), **overrides)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_embedded_defaults_need_no_services(tmp_path: Path) -> None:
    loaded = load_settings(tmp_path)
    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert loaded["db_name"].startswith(str(tmp_path))
    assert loaded["broker"] == "filesystem://" and loaded["mode"] == "filesystem"
    assert str(loaded["backend"]).startswith("file://")
    assert loaded["tz"] == "Asia/Taipei"
    assert loaded["debug"] is False
    assert "localhost" in loaded["hosts"]
    # The generated local secret is kept, so a restart does not log everybody out.
    assert (tmp_path / "var" / "secret_key").exists()
    assert load_settings(tmp_path)["secret_len"] == loaded["secret_len"] >= 50


def test_environment_switches_to_postgres_and_redis(tmp_path: Path) -> None:
    loaded = load_settings(
        tmp_path,
        DATABASE_URL="postgres://dlcv@db.example:5432/dlcv",
        REDIS_URL="redis://cache.example:6379/2",
        SECRET_KEY="x" * 60,
        DEBUG="true",
        ALLOWED_HOSTS="exam.example.edu,localhost",
        TIME_ZONE="UTC",
    )
    assert loaded["engine"] == "django.db.backends.postgresql"
    assert loaded["db_name"] == "dlcv"
    assert loaded["broker"] == "redis://cache.example:6379/2" == loaded["backend"]
    assert loaded["mode"] == "redis"
    assert loaded["debug"] is True
    assert loaded["hosts"] == ["exam.example.edu", "localhost"]
    assert loaded["tz"] == "UTC"
    assert loaded["secret_len"] == 60


def test_gunicorn_takes_the_sites_settings_module() -> None:
    """`make run`, `make web` and the exam load start gunicorn with ``-c python:dlcv_site.gunicorn_conf``:
    the app is loaded (and warmed) before the fork, and the heartbeat file is in memory."""
    import subprocess
    import sys
    from pathlib import Path

    printed = subprocess.run(
        [sys.executable, "-m", "gunicorn", "dlcv_site.wsgi", "-c", "python:dlcv_site.gunicorn_conf", "--print-config"],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    config = {name.strip(): value.strip() for name, _, value in (line.partition("=") for line in printed.splitlines())}
    assert config["preload_app"] == "True"
    assert config["worker_tmp_dir"] == ("/dev/shm" if Path("/dev/shm").is_dir() else "None")
