"""Sessions read from the shared cache and kept in the database; the cache is only an accelerator.

Django's ``cached_db`` backend, except that an unreachable cache never fails a request: the session
is read from and written to the database as without a cache (an exam goes on through a Redis
outage), and a cached copy lives at most ``CACHED_SECONDS``, so a logout whose cache delete failed
during an outage cannot leave a usable copy behind for long. ``SESSION_ENGINE`` names this module
when ``CACHE_URL`` is set.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.db import SessionStore as DatabaseStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from dlcv_site import sql

logger = logging.getLogger(__name__)

CACHED_SECONDS = 300


class SessionStore(cached_db.SessionStore):
    def _get_session_from_db(self) -> Session | None:
        """The unexpired session row, by SQL written once (``dlcv_site.sql``): every student's first
        request of an exam reads it here when their cached copy has expired."""
        stored = sql.session_unexpired(session_key=self.session_key, now=timezone.now())
        if stored is None:
            self._session_key = None
        return stored

    def _cache_ttl(self, expiry: Any = None) -> int:
        return max(0, min(CACHED_SECONDS, self.get_expiry_age(expiry=expiry)))

    def load(self) -> dict[str, Any]:
        try:
            data = self._cache.get(self.cache_key)
        except Exception:
            logger.warning("session cache unavailable; reading the session from the database", exc_info=True)
            data = None
        if data is not None:
            return data
        stored = self._get_session_from_db()
        if stored is None:
            return {}
        data = self.decode(stored.session_data)
        try:
            self._cache.set(self.cache_key, data, self._cache_ttl(stored.expire_date))
        except Exception:
            logger.warning("session cache unavailable; not caching the session", exc_info=True)
        return data

    def exists(self, session_key: str | None) -> bool:
        try:
            if session_key and (self.cache_key_prefix + session_key) in self._cache:
                return True
        except Exception:
            logger.warning("session cache unavailable; asking the database", exc_info=True)
        return DatabaseStore.exists(self, session_key)

    def save(self, must_create: bool = False) -> None:
        DatabaseStore.save(self, must_create)
        try:
            self._cache.set(self.cache_key, self._session, self._cache_ttl())
        except Exception:
            logger.warning("session cache unavailable; the session is in the database only", exc_info=True)

    def delete(self, session_key: str | None = None) -> None:
        DatabaseStore.delete(self, session_key)
        session_key = session_key or self.session_key
        if session_key is None:
            return
        try:
            self._cache.delete(self.cache_key_prefix + session_key)
        except Exception:
            logger.warning("session cache unavailable; a cached copy expires within %s s", CACHED_SECONDS,
                           exc_info=True)
