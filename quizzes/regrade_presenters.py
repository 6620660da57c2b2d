"""What the regrade pages show: plain dicts, worded in the request's language. Scores are stored as
fractions (``ScoreChange.old_score``/``new_score``); pages show points (× the item's ``max_points``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from quizzes.models import (
    AttemptItem,
    RegradeJob,
    RegradeJobStatus,
    RegradeRequest,
    RegradeRequestEvent,
    RegradeRequestStatus,
    ScoreChange,
    ScoreChangeKind,
)
from quizzes.regrade_selectors import ItemRegrades
from quizzes.services.regrades import REASON_MAX_CHARS, RegradePreview, RegradeWindow

TAIPEI = ZoneInfo("Asia/Taipei")


def _points(score: Decimal | None, max_points: Decimal) -> Decimal | None:
    return None if score is None else (score * max_points).quantize(Decimal("0.01"))


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment, TAIPEI).strftime("%Y-%m-%d %H:%M") if moment else ""


# --------------------------------------------------------------------------- the student's results page


def window_note(window: RegradeWindow, now: datetime) -> str:
    """What the results page says about asking for regrades ("" before the release)."""
    if not window.released or window.closes_at is None:
        return ""
    if window.open_at(now):
        return _("You may ask for a regrade of a question until %(time)s (Taipei time): say why under the question.") \
            % {"time": _when(window.closes_at)}
    return _("The time to ask for regrades ended on %(time)s (Taipei time).") % {"time": _when(window.closes_at)}


def item_regrade(item: AttemptItem, notes: ItemRegrades | None, *, can_ask: bool) -> dict[str, Any]:
    """An item's regrade notes for its student: requests with their answers, regrade score changes,
    and whether (and where) to ask."""
    notes = notes or ItemRegrades()
    requests = [{
        "open": r.status == RegradeRequestStatus.OPEN,
        "reason": r.reason, "asked_at": _when(r.created_at), "answer": r.answer, "answered_at": _when(r.answered_at),
    } for r in notes.requests]
    changes = [{
        "class": change.kind == ScoreChangeKind.CLASS_REGRADE,
        "old": _points(change.old_score, item.max_points), "new": _points(change.new_score, item.max_points),
        "at": _when(change.created_at),
    } for change in notes.changes]
    return {"requests": requests, "changes": changes,
            "can_ask": can_ask and notes.open_request is None,
            "url": reverse("item-regrade-request", args=[item.attempt_id, item.pk]),
            "reason_max": REASON_MAX_CHARS}


# --------------------------------------------------------------------------- staff


def queue_filters() -> list[dict[str, str]]:
    return [{"value": RegradeRequestStatus.OPEN, "label": _("Open")},
            {"value": RegradeRequestStatus.ANSWERED, "label": _("Answered")},
            {"value": "all", "label": _("All")}]


def queue_row(request: RegradeRequest) -> dict[str, Any]:
    item = request.item
    return {"id": request.pk, "student": request.student.get_username(), "assessment": item.attempt.assessment,
            "version": item.question_version, "position": item.position, "asked_at": _when(request.created_at),
            "open": request.status == RegradeRequestStatus.OPEN, "status": request.get_status_display(),
            "points": _points(item.score, item.max_points), "max_points": item.max_points,
            "reason": request.reason}


def request_detail(request: RegradeRequest, events: list[RegradeRequestEvent], entry: dict[str, Any]
                   ) -> dict[str, Any]:
    """``entry``: the item as the results page shows it (``quizzes.views._item_entry``)."""
    item = request.item
    return {**queue_row(request), "request": request, "item": item, "entry": entry,
            "history": [{"kind": e.get_kind_display(), "who": str(e.actor) if e.actor else "",
                         "at": _when(e.created_at), "message": e.message,
                         "old": _points(e.old_score, item.max_points), "new": _points(e.new_score, item.max_points)}
                        for e in events]}


LOG_CSV_HEADER = ["time", "student", "position", "question", "kind", "old_points", "new_points", "max_points",
                  "changed_by", "reason"]


def log_row(change: ScoreChange) -> dict[str, Any]:
    item = change.item
    return {"at": _when(change.created_at), "student": item.attempt.user.get_username(), "position": item.position,
            "version": item.question_version, "kind": change.get_kind_display(),
            "old": _points(change.old_score, item.max_points), "new": _points(change.new_score, item.max_points),
            "max_points": item.max_points, "by": str(change.changed_by) if change.changed_by else "",
            "reason": change.reason}


def log_csv_row(change: ScoreChange) -> list[str]:
    item = change.item
    old = _points(change.old_score, item.max_points)
    return [change.created_at.isoformat(), item.attempt.user.get_username(), str(item.position),
            item.question_version.question.bank_id, change.kind, "" if old is None else str(old),
            str(_points(change.new_score, item.max_points)), str(item.max_points),
            change.changed_by.get_username() if change.changed_by else "", change.reason]


def regradable_view(question: Any) -> dict[str, Any]:
    return {"bank_id": question.bank_id, "current": question.current,
            "old_versions": [{"id": v.pk, "number": v.number, "items": n} for v, n in question.old_versions]}


def preview_view(preview: RegradePreview) -> dict[str, Any]:
    labels = {"up": _("Up"), "down": _("Down"), "same": _("Unchanged")}
    return {"up": preview.up, "down": preview.down, "unchanged": preview.unchanged, "kept": preview.kept,
            "rows": [{"student": r.student, "old": r.old_points, "graded": r.graded_points, "new": r.new_points,
                      "max_points": r.max_points, "change": r.change, "change_label": labels[r.change],
                      "kept": r.new_points != r.graded_points} for r in preview.rows]}


def job_state(job: RegradeJob) -> dict[str, Any]:
    return {"status": job.status, "status_label": job.get_status_display(), "total": job.total,
            "processed": job.processed, "raised": job.raised, "lowered": job.lowered, "unchanged": job.unchanged,
            "finished": job.status == RegradeJobStatus.DONE}


def job_view(job: RegradeJob) -> dict[str, Any]:
    return {**job_state(job), "id": job.pk, "bank_id": job.question.bank_id, "to_number": job.to_version.number,
            "allow_lower": job.allow_lower, "created_at": _when(job.created_at),
            "url": reverse("instructor-regrade-job", args=[job.assessment.course.slug, job.assessment_id, job.pk])}


def job_strings() -> dict[str, str]:
    """The progress script's words (regrade.js holds no text of its own)."""
    return {"progress": _("%(done)s of %(total)s answers graded again"),
            "done": _("Finished: %(raised)s raised, %(lowered)s lowered, %(unchanged)s unchanged."),
            "lost": _("No answer from the server; trying again…")}
