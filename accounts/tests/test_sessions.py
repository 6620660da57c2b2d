"""Sessions kept in a shared cache (CACHE_URL set): read from Redis, written through to the database."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.test import Client

from accounts.models import Role
from accounts.services import user_enroll
from accounts.tests.assertions import assert_sent_to_login
from accounts.tests.factories import make_course, make_user


@pytest.fixture
def redis_sessions(settings, redis_required):  # type: ignore[no-untyped-def]
    redis_url = settings.REDIS_URL.rsplit("/", 1)[0] + "/9"
    settings.CACHES = {"default": {"BACKEND": "dlcv_site.cache.RedisCache", "LOCATION": redis_url,
                                   "KEY_PREFIX": "test-sessions"}}
    settings.SESSION_ENGINE = "dlcv_site.sessions"
    yield
    caches["default"].clear()


@pytest.mark.django_db
def test_a_logout_ends_the_session_for_every_web_process(redis_sessions) -> None:
    user = make_user("ada")
    browser = Client()
    browser.force_login(user)
    cookie = browser.cookies["sessionid"].value
    assert Session.objects.filter(session_key=cookie).exists()  # written through to the database
    # Another web process (a fresh client, the same cookie) reads the session from the shared cache.
    other_process = Client()
    other_process.cookies["sessionid"] = cookie
    assert other_process.get("/").status_code == 200
    browser.post("/accounts/logout/")
    assert not Session.objects.filter(session_key=cookie).exists()
    response = other_process.get("/")
    assert_sent_to_login(response)


@pytest.mark.django_db
def test_a_session_missing_from_the_cache_is_read_from_the_database(redis_sessions) -> None:
    browser = Client()
    browser.force_login(make_user("grace"))
    caches["default"].clear()  # Redis restarted or evicted the key
    assert browser.get("/").status_code == 200


@pytest.mark.django_db
def test_sessions_work_with_the_cache_down(settings, cache_down) -> None:  # type: ignore[no-untyped-def]
    """Redis unreachable: log in, use pages, log out, all from the database."""
    settings.SESSION_ENGINE = "dlcv_site.sessions"
    user = make_user("linus")
    user.set_password("a long enough password")
    user.save()
    browser = Client()
    response = browser.post("/accounts/login/", {"username": "linus", "password": "a long enough password"})
    assert response.status_code == 302
    cookie = browser.cookies["sessionid"].value
    assert Session.objects.filter(session_key=cookie).exists()
    assert browser.get("/").status_code == 200
    user_enroll(user=user, course=make_course("down"), role=Role.TA)  # clears the navigation's cache entry
    assert 'href="/instructor/"' in browser.get("/courses/down/").content.decode()  # the cached navigation
    browser.post("/accounts/logout/")
    stale = Client()
    stale.cookies["sessionid"] = cookie
    response = stale.get("/")
    assert_sent_to_login(response)


@pytest.mark.django_db
def test_a_cached_session_copy_is_short_lived(redis_sessions) -> None:
    from dlcv_site.sessions import CACHED_SECONDS, SessionStore

    browser = Client()
    browser.force_login(make_user("barbara"))
    store = SessionStore(browser.cookies["sessionid"].value)
    assert store.load()
    import redis
    from django.conf import settings

    raw = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    assert 0 < raw.ttl(caches["default"].make_key(store.cache_key)) <= CACHED_SECONDS


@pytest.mark.django_db
def test_an_expired_session_is_not_read_from_the_database(redis_sessions) -> None:
    from datetime import timedelta

    from django.utils import timezone

    browser = Client()
    browser.force_login(make_user("ken"))
    key = browser.cookies["sessionid"].value
    caches["default"].clear()  # not cached: the database's row decides
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = browser.get("/")
    assert_sent_to_login(response)
