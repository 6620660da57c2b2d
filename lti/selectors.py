"""Reads for the LTI pages (a fixed number of queries)."""

from __future__ import annotations

from lti_tool.models import LtiDeployment

from accounts.models import Course
from lti.models import ToolRegistration


def course_registrations(*, course: Course) -> list[tuple[ToolRegistration, list[str]]]:
    """The course's platforms with their active deployment ids (two queries)."""
    registrations = list(ToolRegistration.objects.filter(course=course).select_related("registration")
                         .order_by("created_at"))
    deployments: dict[int, list[str]] = {}
    for registration_id, deployment_id in (LtiDeployment.objects.filter(
            registration__in=[r.registration_id for r in registrations], is_active=True)
            .order_by("deployment_id").values_list("registration_id", "deployment_id")):
        deployments.setdefault(registration_id, []).append(deployment_id)
    return [(r, deployments.get(r.registration_id, [])) for r in registrations]
