"""Reads for the LTI pages (a fixed number of queries)."""

from __future__ import annotations

from django.db.models import Count, Q
from lti_tool.models import LtiDeployment

from accounts.models import Course
from lti.models import ScoreOutbox, ScoreSendLog, ToolRegistration


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


def course_score_log(*, course: Course, limit: int = 200) -> tuple[dict[str, int], list[ScoreSendLog]]:
    """The course's outbox counts per state and its latest tries, newest first (two queries)."""
    counts = dict(ScoreOutbox.objects.filter(Q(line_item__lab__course=course) | Q(line_item__assessment__course=course))
                  .order_by().values_list("state").annotate(n=Count("pk")).values_list("state", "n"))
    log = list(ScoreSendLog.objects.filter(Q(outbox__line_item__lab__course=course)
                                           | Q(outbox__line_item__assessment__course=course))
               .select_related("outbox__user", "outbox__line_item").order_by("-at", "-pk")[:limit])
    return counts, log
