"""The Redis cache keeps one client per connection pool instead of building one per call."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.test import override_settings


@pytest.fixture
def redis_cache(settings, redis_required):  # type: ignore[no-untyped-def]
    location = settings.REDIS_URL.rsplit("/", 1)[0] + "/9"
    with override_settings(CACHES={"default": {"BACKEND": "dlcv_site.cache.RedisCache", "LOCATION": location,
                                               "KEY_PREFIX": "test-cache"}}):
        yield caches["default"]
        caches["default"].clear()


def test_one_client_serves_every_call(redis_cache) -> None:  # type: ignore[no-untyped-def]
    redis_cache.set("k", {"a": [1, 2]}, 30)
    assert redis_cache.get("k") == {"a": [1, 2]}
    assert redis_cache.get_many(["k", "missing"]) == {"k": {"a": [1, 2]}}
    assert redis_cache.add("n", 0, 30) and redis_cache.incr("n") == 1
    client = redis_cache._cache.get_client("k")
    assert redis_cache._cache.get_client("other", write=True) is client
    redis_cache.delete("k")
    assert redis_cache.get("k") is None
