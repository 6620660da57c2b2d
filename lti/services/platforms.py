"""Talking to platforms: django-lti's tool configuration made strict (an unknown deployment is refused,
never created) and lean (a launch's registration, deployment and course in one query; our own key read
only when something is signed), pylti1p3's launch with the platform's JWKS cached and its keys parsed
once, and an HTTP session with time limits."""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core.cache import cache
from django.db.models import FilteredRelation, Q
from jwcrypto.jwk import JWK
from lti_tool.models import Key, LtiDeployment, LtiRegistration
from lti_tool.utils import DjangoToolConfig
from pylti1p3.contrib.django import DjangoCacheDataStorage, DjangoMessageLaunch
from pylti1p3.deployment import Deployment
from pylti1p3.exception import LtiException
from pylti1p3.launch_data_storage.base import DisableSessionId
from pylti1p3.registration import Registration

from lti.models import ToolRegistration

#: Seconds a call to a platform may take (connect, read).
HTTP_TIMEOUT = (5, 20)
DEPLOYMENT_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"


class _TimedSession(requests.Session):
    """pylti1p3 calls ``requests`` without a timeout: every call here has one."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return super().request(*args, **kwargs)


def http_session() -> requests.Session:
    session = _TimedSession()
    session.headers["User-Agent"] = "dlcv-exam-prep-lti"
    return session


class _Registration(Registration):
    """pylti1p3's registration of a platform whose tool keys (ours) are read when first used: signing a
    service token or a deep linking answer needs them, verifying a launch does not (django-lti's
    ``to_registration`` reads our key on every login and launch)."""

    def __init__(self, registration: LtiRegistration) -> None:
        super().__init__()
        self.set_auth_login_url(registration.auth_url).set_auth_token_url(registration.token_url)
        self.set_client_id(registration.client_id).set_key_set_url(registration.keyset_url)
        self.set_issuer(registration.issuer)
        if registration.audience:
            self.set_auth_audience(registration.audience)
        if registration.has_key:  # a key of the registration's own (as django-lti)
            self.set_tool_public_key(registration.public_key).set_tool_private_key(registration.private_key)

    def get_tool_private_key(self) -> str | None:
        if self._tool_private_key is None:
            self._tool_keys()
        return self._tool_private_key

    def get_tool_public_key(self) -> str | None:
        if self._tool_public_key is None:
            self._tool_keys()
        return self._tool_public_key

    def _tool_keys(self) -> None:
        key = tool_key()
        self.set_tool_private_key(key.private_key).set_tool_public_key(key.public_key)


class StrictToolConfig(DjangoToolConfig):
    """django-lti's tool configuration, except that a deployment must be one an instructor registered
    (django-lti would create an inactive one for any id a platform sends) and an OIDC login without a
    client id is found by the registration's own URL (its uuid).

    A launch's registration, its course (``tool_registration``) and the deployment the id_token names are
    read in one query when the registration is looked up; ``find_deployment_by_params`` still decides,
    after the signature, whether that deployment is registered and active."""

    tool_registration: ToolRegistration | None = None
    _launch_deployment: tuple[str, LtiDeployment | None] | None = None  # (deployment id, the row or None)

    def find_registration_by_params(self, iss: str, client_id: str | None, *args: Any, **kwargs: Any) -> Any:
        registrations = LtiRegistration.objects.active().filter(issuer=iss)
        if client_id is None and self.registration_uuid is None:
            return None
        if client_id is not None:
            registrations = registrations.filter(client_id=client_id)
        if self.registration_uuid is not None:
            registrations = registrations.filter(uuid=self.registration_uuid)
        body = kwargs.get("jwt_body") or {}
        deployment_id = body.get(DEPLOYMENT_CLAIM) if isinstance(body, dict) else None
        if isinstance(deployment_id, str) and deployment_id:  # a launch: its deployment and course too
            registrations = registrations.annotate(launch_deployment=FilteredRelation(
                "deployments", condition=Q(deployments__deployment_id=deployment_id, deployments__is_active=True),
            )).select_related("launch_deployment", "dlcv__course")
        registration = registrations.first()
        if registration is None:
            return None
        self.registration = registration
        if isinstance(deployment_id, str) and deployment_id:
            deployment = getattr(registration, "launch_deployment", None)  # unset when the join found none
            if deployment is not None:
                deployment.registration = registration
            self._launch_deployment = (deployment_id, deployment)
            self.tool_registration = getattr(registration, "dlcv", None)
        return _Registration(registration)

    def find_deployment(self, iss: str, deployment_id: str) -> Deployment | None:
        return self.find_deployment_by_params(iss, deployment_id, None)

    def find_deployment_by_params(self, iss: str, deployment_id: str, client_id: str | None,
                                  *args: Any, **kwargs: Any) -> Deployment | None:
        if self.registration is None:
            return None
        if self._launch_deployment is not None and self._launch_deployment[0] == deployment_id:
            self.deployment = self._launch_deployment[1]  # read with the registration
        else:
            self.deployment = LtiDeployment.objects.active().filter(registration=self.registration,
                                                                     deployment_id=deployment_id).first()
        if self.deployment is None:
            return None
        return Deployment().set_deployment_id(deployment_id)


def _jwks_cache_key(url: str) -> str:
    return "key-set-url-" + hashlib.md5(url.encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=64)
def _parsed_key(jwk_json: str) -> Any:
    """A platform's public key (one JWK, as JSON) parsed once per process, as pylti1p3 converts it (to PEM,
    which PyJWT then parsed on every launch). Keyed by the key itself: a rotated key is another entry."""
    return serialization.load_pem_public_key(JWK.from_json(jwk_json).export_to_pem())


class CachedKeysLaunch(DjangoMessageLaunch):
    """A launch whose platform keys come from the cache (``LTI_JWKS_CACHE_SECONDS``); a key id the
    cached set does not hold (the platform rotated its key) is fetched again, once per key id and period."""

    def get_public_key(self) -> tuple[Any, str]:  # type: ignore[override]
        try:
            return self._signing_key()
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
            return self._signing_key()

    def _signing_key(self) -> tuple[Any, str]:
        """pylti1p3's ``get_public_key`` (the key of the id_token's kid and alg in the platform's JWKS, the
        JWKS from the cache or fetched), but the key parsed (for ``jwt.decode``) once per process."""
        registration = self._registration
        key_set = registration.get_key_set()
        if not key_set:
            url = registration.get_key_set_url() or ""
            if not url.startswith(("http://", "https://")):
                raise LtiException("Invalid URL: " + url)
            key_set = self.fetch_public_key(url)
            registration.set_key_set(key_set)
        header = self._jwt.get("header", {})
        kid, alg = header.get("kid"), header.get("alg")
        if not kid:
            raise LtiException("JWT KID not found")
        if not alg:
            raise LtiException("JWT ALG not found")
        for key in key_set["keys"]:
            key_alg = key.get("alg", "RS256")
            if key.get("kid") and key.get("kid") == kid and key_alg == alg:
                try:
                    return _parsed_key(json.dumps(key, sort_keys=True)), key_alg
                except (ValueError, TypeError) as exc:
                    raise LtiException("Can't convert JWT key to PEM format") from exc
        raise LtiException("Unable to find public key")


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


#: Claims of a verified id_token that name where the platform's pages are: a hosted LMS (Canvas) shows
#: the tool from the school's own host, which is neither its issuer nor its authentication URL.
_PLATFORM_URL_CLAIMS = (("https://purl.imsglobal.org/spec/lti/claim/tool_platform", "url"),
                        ("https://purl.imsglobal.org/spec/lti/claim/launch_presentation", "return_url"))


def platform_origins(registration: LtiRegistration, launch_data: dict[str, Any] | None = None) -> list[str]:
    """The origins a platform shows our launches from (CSP ``frame-ancestors`` of a framed launch's page):
    those of its OIDC authentication URL and its issuer, as an instructor registered them, and of the
    platform's URL and return URL in ``launch_data`` (the claims of an id_token already verified: signed by
    the platform, so they widen nothing an attacker controls)."""
    claimed = []
    for claim, key in _PLATFORM_URL_CLAIMS:
        value = (launch_data or {}).get(claim)
        if isinstance(value, dict) and isinstance(value.get(key), str):
            claimed.append(value[key])
    origins: list[str] = []
    for url in (registration.auth_url, registration.issuer, *claimed):
        parts = urlsplit(url or "")
        host = parts.netloc.rsplit("@", 1)[-1].lower()  # never a user:password@ into a header
        origin = f"{parts.scheme.lower()}://{host}"
        # Only what a CSP source may be: a character that ends a source or directive would widen the policy.
        if (parts.scheme.lower() in ("http", "https") and host and not set(host) & set(" \t;,'\"")
                and origin not in origins):
            origins.append(origin)
    return origins
