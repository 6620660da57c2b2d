"""The web process's warm-up (before gunicorn forks its workers) renders the bank's questions once."""

from __future__ import annotations

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
    assert presenters._version_html.cache_info().currsize == warmed
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


def test_freezing_the_heap_hides_what_is_alive_from_the_collector() -> None:
    import gc

    from dlcv_site.warmup import COLLECTOR_THRESHOLDS, freeze_heap

    tracked_before, thresholds = len(gc.get_objects()), gc.get_threshold()
    alive = [{"a": [1, 2]} for _ in range(1000)]  # alive at the freeze: frozen with the rest
    try:
        frozen = freeze_heap()
        assert frozen == gc.get_freeze_count() > 1000
        assert gc.get_threshold() == COLLECTOR_THRESHOLDS
        # A full collection now walks only objects made after the freeze.
        tracked = {id(obj) for obj in gc.get_objects()}
        assert not any(id(obj) in tracked for obj in alive)
        assert len(tracked) < tracked_before / 10
        made_after = [{"b": []}]
        assert any(obj is made_after[0] for obj in gc.get_objects())
    finally:
        gc.unfreeze()  # the test process goes on collecting as before
        gc.set_threshold(*thresholds)
