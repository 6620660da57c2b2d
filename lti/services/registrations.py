"""Platforms registered for a course by its instructor (or an admin)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from lti_tool.models import LtiDeployment, LtiRegistration

from accounts.models import Course, User
from dlcv_site.errors import InvalidInput
from lti.models import ToolRegistration
from lti.services.platforms import tool_key


def _deployment_ids(text: str) -> list[str]:
    seen: list[str] = []
    for part in text.replace(",", "\n").splitlines():
        value = part.strip()
        if value and value not in seen:
            seen.append(value)
    return seen


@transaction.atomic
def registration_create(*, course: Course, by: User | None, name: str, issuer: str, client_id: str,
                        auth_url: str, token_url: str, keyset_url: str, deployment_ids: str) -> ToolRegistration:
    """Register a platform for ``course``: its launches (of the listed deployments only) enrol there."""
    ids = _deployment_ids(deployment_ids)
    if not ids:
        raise InvalidInput(_("Give at least one deployment ID."),
                           {"deployment_ids": _("Give at least one deployment ID.")})
    if LtiRegistration.objects.filter(issuer=issuer, client_id=client_id).exists():
        message = _("This platform (issuer and client ID) is already registered.")
        raise InvalidInput(message, {"client_id": message})
    tool_key()  # our key exists before the platform asks for our JWKS
    try:
        registration = LtiRegistration.objects.create(
            name=name, issuer=issuer, client_id=client_id, auth_url=auth_url, token_url=token_url,
            keyset_url=keyset_url, is_active=True)
    except IntegrityError as exc:  # registered by someone else a moment ago
        message = _("This platform (issuer and client ID) is already registered.")
        raise InvalidInput(message, {"client_id": message}) from exc
    LtiDeployment.objects.bulk_create([LtiDeployment(registration=registration, deployment_id=value, is_active=True)
                                       for value in ids])
    return ToolRegistration.objects.create(registration=registration, course=course, created_by=by)
