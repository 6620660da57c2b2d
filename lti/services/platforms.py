"""Talking to platforms: django-lti's tool configuration made strict (an unknown deployment is refused,
never created), pylti1p3's launch with the platform's JWKS cached, and an HTTP session with time limits."""

from __future__ import annotations

import hashlib
from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache
from lti_tool.models import Key, LtiDeployment, LtiRegistration
from lti_tool.utils import DjangoToolConfig
from pylti1p3.contrib.django import DjangoCacheDataStorage, DjangoMessageLaunch
from pylti1p3.deployment import Deployment
from pylti1p3.exception import LtiException
from pylti1p3.launch_data_storage.base import DisableSessionId

#: Seconds a call to a platform may take (connect, read).
HTTP_TIMEOUT = (5, 20)


class _TimedSession(requests.Session):
    """pylti1p3 calls ``requests`` without a timeout: every call here has one."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return super().request(*args, **kwargs)


def http_session() -> requests.Session:
    session = _TimedSession()
    session.headers["User-Agent"] = "dlcv-exam-prep-lti"
    return session


class StrictToolConfig(DjangoToolConfig):
    """django-lti's tool configuration, except that a deployment must be one an instructor registered
    (django-lti would create an inactive one for any id a platform sends) and an OIDC login without a
    client id is found by the registration's own URL (its uuid)."""

    def find_registration_by_params(self, iss: str, client_id: str | None, *args: Any, **kwargs: Any) -> Any:
        if client_id is None and self.registration_uuid is not None:
            registration = LtiRegistration.objects.active().filter(uuid=self.registration_uuid, issuer=iss).first()
            if registration is None:
                return None
            self.registration = registration
            return registration.to_registration()
        return super().find_registration_by_params(iss, client_id, *args, **kwargs)

    def find_deployment(self, iss: str, deployment_id: str) -> Deployment | None:
        return self.find_deployment_by_params(iss, deployment_id, None)

    def find_deployment_by_params(self, iss: str, deployment_id: str, client_id: str | None,
                                  *args: Any, **kwargs: Any) -> Deployment | None:
        if self.registration is None:
            return None
        self.deployment = LtiDeployment.objects.active().filter(registration=self.registration,
                                                                 deployment_id=deployment_id).first()
        if self.deployment is None:
            return None
        return Deployment().set_deployment_id(deployment_id)


def _jwks_cache_key(url: str) -> str:
    return "key-set-url-" + hashlib.md5(url.encode("utf-8")).hexdigest()


class CachedKeysLaunch(DjangoMessageLaunch):
    """A launch whose platform keys come from the cache (``LTI_JWKS_CACHE_SECONDS``); a key id the
    cached set does not hold (the platform rotated its key) is fetched again, once per key id and period."""

    def get_public_key(self) -> tuple[str, str]:
        try:
            return super().get_public_key()
        except LtiException as exc:
            if "Unable to find public key" not in str(exc):
                raise
            url = self._registration.get_key_set_url()
            kid = str(self._jwt.get("header", {}).get("kid", ""))
            marker = f"lti:jwks-refetch:{hashlib.md5(f'{url}|{kid}'.encode()).hexdigest()}"
            if not url or not cache.add(marker, 1, settings.LTI_JWKS_CACHE_SECONDS):
                raise
            storage = self._public_key_cache_data_storage
            if storage is not None:
                with DisableSessionId(storage):
                    storage.set_value(_jwks_cache_key(url), None, 1)
            self._registration.set_key_set(None)
            return super().get_public_key()


def message_launch_for(request: Any) -> CachedKeysLaunch:
    """pylti1p3's launch of this request (not yet validated)."""
    launch = CachedKeysLaunch(request, StrictToolConfig(), launch_data_storage=DjangoCacheDataStorage(),
                              requests_session=http_session())
    launch.set_public_key_caching(DjangoCacheDataStorage(), cache_lifetime=settings.LTI_JWKS_CACHE_SECONDS)
    return launch


def tool_key() -> Key:
    """Our signing key (django-lti's ``Key``): the newest active one, made on first use."""
    key = Key.objects.active().order_by("-datetime_created").first()
    return key if key is not None else Key.objects.generate()
