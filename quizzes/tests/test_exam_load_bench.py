"""The exam-load bench's students are logged in: its ready-made sessions name a backend that reads a
user back (a bench whose every start is refused measures nothing — it happened once a refusing-only
login backend came first in AUTHENTICATION_BACKENDS)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from quizzes.bench import exam_load


@pytest.mark.django_db(transaction=True)
def test_the_bench_sessions_are_logged_in_students(postgres_required: None) -> None:
    setup = exam_load.setup_database(2, 2)
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = str(setup["sessions"][0])
    response = client.get(exam_load.landing_path(setup))
    assert response.status_code == 200
    assert response.wsgi_request.user.is_authenticated
    assert response.wsgi_request.user.username == "bench-00000"
