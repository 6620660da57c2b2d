"""What the LTI pages show: plain dicts, worded in the request's language."""

from __future__ import annotations

from collections.abc import Callable

from django.urls import reverse
from django.utils.translation import gettext as _

from lti.models import OutboxState, ScoreSendLog, SendOutcome, ToolRegistration


def tool_urls(*, absolute: Callable[[str], str]) -> list[dict[str, str]]:
    """The addresses an LMS administrator enters for this tool (the same for every platform)."""
    return [
        {"id": "tool-launch", "label": _("Launch (redirect) URL, also the target link URL"),
         "value": absolute(reverse("lti-launch"))},
        {"id": "tool-jwks", "label": _("Tool's public keyset (JWKS) URL"), "value": absolute(reverse("lti-jwks"))},
    ]


def registration_rows(*, rows: list[tuple[ToolRegistration, list[str]]],
                      absolute: Callable[[str], str]) -> list[dict[str, object]]:
    return [{
        "id": tool_registration.pk,
        "name": tool_registration.registration.name,
        "issuer": tool_registration.registration.issuer,
        "client_id": tool_registration.registration.client_id,
        "deployments": ", ".join(deployments),
        "login_url": absolute(reverse("lti-login", args=[tool_registration.registration.uuid])),
        "auth_url": tool_registration.registration.auth_url,
        "token_url": tool_registration.registration.token_url,
        "keyset_url": tool_registration.registration.keyset_url,
    } for tool_registration, deployments in rows]


def score_log_view(*, counts: dict[str, int], log: list[ScoreSendLog]) -> dict[str, object]:
    return {
        "counts": [{"label": label, "count": counts.get(value, 0)} for value, label in OutboxState.choices],
        "rows": [{
            "at": row.at, "user": str(row.outbox.user), "item": row.outbox.line_item.label,
            "score": f"{row.score_given:g} / {row.outbox.score_maximum:g}", "version": row.version,
            "outcome": row.get_outcome_display(), "failed": row.outcome == SendOutcome.FAILED,
            "status": row.status_code if row.status_code is not None else _("no answer"),
        } for row in log],
    }
