"""The web process's warm-up (before gunicorn forks its workers) renders the bank's questions once."""

from __future__ import annotations

import os

import pytest
from django.db import DatabaseError, connection

from dlcv_site.warmup import warm_question_views
from quizzes import presenters
from quizzes.models import Question
from quizzes.tests.factories import load_shipped_bank


@pytest.mark.django_db(transaction=True)
def test_every_current_version_is_rendered_and_the_connection_closed() -> None:
    load_shipped_bank()
    presenters._version_html.cache_clear()
    presenters._variant_view.cache_clear()
    warmed = warm_question_views()
    assert connection.connection is None  # never shared with the forked workers
    assert warmed == Question.objects.filter(retired=False).count() > 200
    # Its own text, and its English where it has one (a page in English shows that one).
    with_english = sum(1 for question in Question.objects.filter(retired=False).select_related("current_version")
                       if (question.current_version.translations or {}).get("en"))
    assert presenters._version_html.cache_info().currsize == warmed + with_english
    assert presenters._variant_view.cache_info().currsize == 2 * warmed  # zh-Hant and English
    # A page's first student now finds a question's prompt rendered.
    version = Question.objects.filter(retired=False, type="numeric").select_related("current_version__question").first()
    misses = presenters._version_html.cache_info().misses, presenters._variant_view.cache_info().misses
    presenters.item_view(presenters.version_content(version.current_version), 123, "en")
    assert (presenters._version_html.cache_info().misses, presenters._variant_view.cache_info().misses) == misses


@pytest.mark.django_db
def test_an_unreadable_database_warms_nothing_and_raises_nothing(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from quizzes.models import QuestionVersion

    def down(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise DatabaseError("no such table")

    monkeypatch.setattr(QuestionVersion.objects, "filter", down)
    assert warm_question_views() == 0


_FREEZE_PROBE = """
import gc, json
import django
django.setup()
from dlcv_site.warmup import COLLECTOR_THRESHOLDS, freeze_heap
tracked_before = len(gc.get_objects())
alive = [{"a": [1, 2]} for _ in range(1000)]  # alive at the freeze: frozen with the rest
frozen = freeze_heap()
tracked = {id(obj) for obj in gc.get_objects()}  # what a full collection now walks
made_after = [{"b": []}]
print(json.dumps({
    "frozen": frozen, "freeze_count": gc.get_freeze_count(), "tracked_before": tracked_before,
    "tracked_after": len(tracked), "alive_tracked": sum(id(obj) in tracked for obj in alive),
    "made_after_tracked": any(obj is made_after[0] for obj in gc.get_objects()),
    "thresholds": list(gc.get_threshold()), "expected_thresholds": list(COLLECTOR_THRESHOLDS),
}))
"""


def test_freezing_the_heap_hides_what_is_alive_from_the_collector() -> None:
    """In a process of its own, as a web process before the fork: the test process's heap (threads
    of earlier tests, a live server) is neither measured nor frozen."""
    import json
    import subprocess
    import sys

    from conftest import PROJECT_DIR

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dlcv_site.settings"}
    done = subprocess.run([sys.executable, "-c", _FREEZE_PROBE], cwd=PROJECT_DIR, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["frozen"] == seen["freeze_count"] > 1000
    assert seen["thresholds"] == seen["expected_thresholds"]
    assert seen["alive_tracked"] == 0  # a full collection now walks only objects made after the freeze
    assert seen["tracked_after"] < seen["tracked_before"] / 10
    assert seen["made_after_tracked"]


def test_the_warm_up_request_passes_the_whole_handler_without_the_database() -> None:
    """No ``django_db`` mark: a query here would fail the test."""
    from django.core.wsgi import get_wsgi_application

    from dlcv_site.warmup import warm_request_cycle

    assert warm_request_cycle(get_wsgi_application()) == {"zh-hant": 200, "en": 200}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("shared_cache", [False, True], ids=["per-process cache", "Redis cache"])
def test_after_the_warm_up_a_students_first_exam_requests_import_nothing(request, shared_cache) -> None:  # type: ignore[no-untyped-def]
    """A fresh web process (the warm-up done, as in gunicorn's master) serves two students' first
    landing page, start, attempt page and autosave, one in each language; none of those requests
    imports a module. Such first-use work (importing redis was 78 ms) falls on an exam's first
    students, in every worker. With the Redis cache, sessions are read through it, as in production."""
    import json
    import subprocess
    import sys

    from django.conf import settings
    from django.test import Client

    from accounts.tests.factories import make_course, make_member
    from conftest import PROJECT_DIR, _database_url_for_worker
    from quizzes.models import Attempt
    from quizzes.tests.factories import make_assessment

    load_shipped_bank()
    course = make_course("dlcv")
    exam = make_assessment(course, ["act-dead-relu-05", "pool-max-matrix-01", "param-conv-by-hand-01", "exam-109-q1"])
    students = []
    for username, language in (("first", "zh-hant"), ("second", "en")):
        client = Client()
        client.force_login(make_member(course, username=username))
        students.append(f"{client.cookies['sessionid'].value}:{language}")
    env = dict(os.environ, DATABASE_URL=_database_url_for_worker(), DEBUG="false")
    env.pop("CACHE_URL", None)
    if shared_cache:
        request.getfixturevalue("redis_required")
        env["CACHE_URL"] = settings.REDIS_URL.rsplit("/", 1)[0] + "/9"
    run = subprocess.run([sys.executable, "-m", "dlcv_site.tests.first_requests", course.slug, exam.slug, *students],
                         cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    requests = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert [(r["student"], r["request"], r["status"]) for r in requests] == [
        (student, what, status) for student in (0, 1)
        for what, status in (("landing page", 200), ("POST start", 302), ("attempt page", 200), ("autosave", 200))
    ]
    assert Attempt.objects.filter(assessment=exam).count() == 2
    first_imports = [(r["student"], r["request"], r["imported"]) for r in requests if r["imported"]]
    assert first_imports == [], "\n".join(map(str, first_imports))
