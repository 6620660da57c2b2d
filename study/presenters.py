"""What the study pages show, worded in the request's language: the next review after an answer, the
readiness chart's geometry (drawn as SVG by the template, no script) and the settings figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from grader import spaced
from study.models import ReviewLog
from study.selectors import ReadinessView

# The chart's drawing area (SVG user units; the SVG scales to the page's width).
CHART = {"width": 360, "left": 8, "right": 300, "row": 46, "top": 8}


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f} %"


def topic_name(topic: Any) -> str:
    return topic.name_en if (get_language() or "").startswith("en") else topic.name_zh


def due_words(due: datetime, now: datetime) -> str:
    """"Again in 3 days" for a due date (days counted in the site's time zone)."""
    days = (timezone.localdate(due) - timezone.localdate(now)).days
    if days <= 0:
        return _("Again later today")
    if days == 1:
        return _("Again tomorrow")
    return ngettext("Again in %(n)s day", "Again in %(n)s days", days) % {"n": days}


def outcome_view(logs: list[ReviewLog], now: datetime) -> dict[str, Any] | None:
    """After an answer: when the skill comes back, and a mistake scheduled on its own card."""
    if not logs:
        return None
    main = logs[0]
    mistakes = [log for log in logs if log.misconception]
    return {
        "next": due_words(main.due_after, now),
        "next_date": timezone.localtime(main.due_after),
        "mistake_scheduled": bool(mistakes),
        "mistake_next": due_words(mistakes[0].due_after, now) if mistakes else "",
    }


#: A row's name in the chart is cut to this many characters (the table below has it whole).
CHART_NAME_CHARS = 40


def _short(name: str) -> str:
    return name if len(name) <= CHART_NAME_CHARS else name[:CHART_NAME_CHARS - 1].rstrip() + "…"


def readiness_chart(view: ReadinessView) -> dict[str, Any]:
    """Two bars per topic and overall: the predicted recall on the exam date with the plan and if the
    student stops now; each row's name above its bars."""
    box = CHART
    span = box["right"] - box["left"]
    rows = [(_("Overall"), view.overall_plan, view.overall_stop, True)] + [
        (topic_name(t.topic), t.if_plan, t.if_stop, False) for t in view.topics]
    drawn = []
    for index, (name, plan, stop, overall) in enumerate(rows):
        y = box["top"] + index * box["row"]
        drawn.append({
            "name": _short(name), "full_name": name, "overall": overall, "label_y": y + 12,
            "plan_y": y + 17, "plan_w": round(max(plan, 0.0) * span, 1), "plan": percent(plan),
            "plan_text_x": round(box["left"] + max(plan, 0.0) * span + 4, 1),
            "stop_y": y + 30, "stop_w": round(max(stop, 0.0) * span, 1), "stop": percent(stop),
            "stop_text_x": round(box["left"] + max(stop, 0.0) * span + 4, 1),
        })
    height = box["top"] + len(rows) * box["row"] + 8
    target = view.verdict.target  # the course's desired retention, not a fixed 90 %
    return {**box, "height": height, "rows": drawn, "bottom": height - 6,
            "goal_x": round(box["left"] + target * span, 1), "target": percent(target)}


def readiness_rows(view: ReadinessView, course_slug: str) -> list[dict[str, Any]]:
    from django.urls import reverse

    review = reverse("study-review", args=[course_slug])
    return [{"name": topic_name(t.topic), "slug": t.topic.slug, "skills": t.skills, "studied": t.studied,
             "plan": percent(t.if_plan), "stop": percent(t.if_stop), "review_url": f"{review}?topic={t.topic.slug}"}
            for t in view.topics]


def skill_words(skill: str) -> str:
    """A skill key for the targeted review's heading: never the tag, only what it is about."""
    parsed = spaced.parse_skill(skill)
    return parsed.name
