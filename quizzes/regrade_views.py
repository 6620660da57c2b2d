"""Regrade pages: a student's request (from the results page), the staff's queue and answer, an
assessment's score log (HTML and CSV), and the class-wide regrade (preview, apply, progress).

Objects come from ``quizzes.access``; writes from ``quizzes.services.regrades``; reads from
``quizzes.regrade_selectors``; what the pages show from ``quizzes.regrade_presenters``.
"""

from __future__ import annotations

import csv
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import (
    course_get_for_instructor,
    course_get_for_member,
    course_get_for_staff,
    sections_visible_to,
)
from accounts.models import Role
from dlcv_site.http import json_login_required
from quizzes import regrade_presenters as presenters
from quizzes.access import (
    assessment_get_for_instructor,
    assessment_get_for_staff,
    attempt_item_get_for_owner,
    regrade_job_get_for_instructor,
    regrade_request_get_for_staff,
)
from quizzes.models import Question, RegradeRequestStatus
from quizzes.presenters import COURSE_CONTENT_LANG
from quizzes.regrade_selectors import (
    regradable_questions,
    regrade_counts,
    regrade_jobs,
    regrade_queue,
    request_events,
    score_log,
)
from quizzes.services.regrades import (
    ANSWER_MAX_CHARS,
    RegradeError,
    class_regrade_preview,
    class_regrade_preview_all,
    class_regrade_start,
    class_regrade_start_all,
    course_regrade_window_set,
    regrade_request_answer,
    regrade_request_create,
)
from quizzes.views import item_entry_with_solution

QUEUE_LIMIT = 200
#: The class regrade's choice "every fixed question of this assessment" (not a bank id: those have no "_").
ALL_QUESTIONS = "__all__"


def _staff_context(course: object, **extra: object) -> dict[str, object]:
    return {"course": course, "is_course_staff": True, "content_lang": COURSE_CONTENT_LANG, **extra}


# --------------------------------------------------------------------------- student


@login_required
@require_POST
def item_regrade_request(request: HttpRequest, attempt_id: int, item_id: int) -> HttpResponse:
    """A student asks for a regrade of one item of their own released attempt."""
    item = attempt_item_get_for_owner(user=request.user, attempt_id=attempt_id, item_id=item_id)
    try:
        regrade_request_create(item_id=item.pk, student=request.user, reason=request.POST.get("reason", ""))
    except RegradeError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your regrade request is sent. The answer will be shown here."))
    return redirect(reverse("attempt-results", args=[attempt_id]) + f"#item-{item.pk}")


# --------------------------------------------------------------------------- staff: requests


@login_required
@require_GET
def regrade_queue_view(request: HttpRequest, course_slug: str) -> HttpResponse:
    course = course_get_for_staff(user=request.user, course_slug=course_slug)
    _course, role = course_get_for_member(user=request.user, course_slug=course_slug)
    sections = sections_visible_to(user=request.user, course=course)
    status = request.GET.get("status", RegradeRequestStatus.OPEN)
    if status not in (*RegradeRequestStatus.values, "all"):
        status = RegradeRequestStatus.OPEN
    rows = list(regrade_queue(course=course, sections=sections, status=None if status == "all" else status)[:QUEUE_LIMIT])
    return render(request, "quizzes/instructor/regrade_queue.html", _staff_context(
        course, rows=[presenters.queue_row(r) for r in rows], status=status,
        counts=regrade_counts(course=course, sections=sections), filters=presenters.queue_filters(),
        may_set_window=role == Role.INSTRUCTOR, window_days=course.regrade_window_days))


@login_required
@require_POST
def regrade_window_view(request: HttpRequest, course_slug: str) -> HttpResponse:
    course = course_get_for_instructor(user=request.user, course_slug=course_slug)
    try:
        days = int(request.POST.get("days", ""))
        course_regrade_window_set(course=course, days=days)
    except ValueError:
        messages.error(request, _("Enter a whole number of days."))
    except RegradeError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Saved: regrades can be asked for until %(n)s days after the results are released.")
                         % {"n": days})
    return redirect("instructor-regrade-queue", course_slug=course.slug)


def _points(raw: str) -> Decimal | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise RegradeError(_("Enter the points as a number, or leave them empty to keep the score."),
                           code="points") from None
    if not value.is_finite():
        raise RegradeError(_("Enter the points as a number, or leave them empty to keep the score."), code="points")
    return value


@login_required
@require_http_methods(["GET", "POST"])
def regrade_answer_view(request: HttpRequest, course_slug: str, request_id: int) -> HttpResponse:
    course, regrade = regrade_request_get_for_staff(user=request.user, course_slug=course_slug, request_id=request_id)
    error = ""
    if request.method == "POST":
        try:
            regrade_request_answer(request_id=regrade.pk, staff=request.user, message=request.POST.get("message", ""),
                                   points=_points(request.POST.get("points", "")))
        except RegradeError as exc:
            error = exc.message
        else:
            messages.success(request, _("Answered; the student sees it on their results page."))
            return redirect("instructor-regrade-queue", course_slug=course.slug)
    return render(request, "quizzes/instructor/regrade_answer.html", _staff_context(
        course, detail=presenters.request_detail(regrade, request_events(request=regrade),
                                                 item_entry_with_solution(regrade.item, get_language() or "zh-hant")),
        exam=True, error=error,
        message=request.POST.get("message", ""), points=request.POST.get("points", ""),
        answer_max=ANSWER_MAX_CHARS), status=400 if error else 200)


# --------------------------------------------------------------------------- the score log


@login_required
@require_GET
def score_log_view(request: HttpRequest, course_slug: str, assessment_id: int) -> HttpResponse:
    assessment = assessment_get_for_staff(user=request.user, course_slug=course_slug, assessment_id=assessment_id)
    sections = sections_visible_to(user=request.user, course=assessment.course)
    rows = [presenters.log_row(change) for change in score_log(assessment=assessment, sections=sections)]
    return render(request, "quizzes/instructor/score_log.html",
                  _staff_context(assessment.course, assessment=assessment, rows=rows))


@login_required
@require_GET
def score_log_csv_view(request: HttpRequest, course_slug: str, assessment_id: int) -> HttpResponse:
    assessment = assessment_get_for_staff(user=request.user, course_slug=course_slug, assessment_id=assessment_id)
    sections = sections_visible_to(user=request.user, course=assessment.course)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="score-log-{assessment.slug}.csv"'
    response.write("\ufeff")  # Excel reads UTF-8 with a BOM
    writer = csv.writer(response)
    writer.writerow(presenters.LOG_CSV_HEADER)
    for change in score_log(assessment=assessment, sections=sections):
        writer.writerow(presenters.log_csv_row(change))
    return response


# --------------------------------------------------------------------------- class-wide regrade


def _versions(raw: list[str]) -> list[int]:
    return sorted({int(v) for v in raw if v.isdigit()})


@login_required
@require_GET
def class_regrade_view(request: HttpRequest, course_slug: str, assessment_id: int) -> HttpResponse:
    """The questions with answers at earlier versions; with ``question`` and ``versions``, a preview."""
    assessment = assessment_get_for_instructor(user=request.user, course_slug=course_slug, assessment_id=assessment_id)
    questions = regradable_questions(assessment=assessment)
    error = None
    chosen = request.GET.get("question", "")
    versions = _versions(request.GET.getlist("versions"))
    allow_lower = request.GET.get("allow_lower") == "1"
    previews: list[dict[str, object]] = []
    if chosen == ALL_QUESTIONS:
        try:
            previews = [{"bank_id": question.bank_id, **presenters.preview_view(found)} for question, found
                        in class_regrade_preview_all(assessment=assessment, allow_lower=allow_lower)]
        except RegradeError as exc:
            error = exc.message
    elif chosen:
        question = Question.objects.filter(bank_id=chosen).first()
        try:
            if question is None:
                raise RegradeError(_("No question has this bank id."), code="not_found")
            preview = presenters.preview_view(class_regrade_preview(
                assessment=assessment, question=question, from_version_ids=versions, allow_lower=allow_lower))
            previews = [{"bank_id": question.bank_id, **preview}]
        except RegradeError as exc:
            error = exc.message
    return render(request, "quizzes/instructor/class_regrade.html", _staff_context(
        assessment.course, assessment=assessment, questions=[presenters.regradable_view(q) for q in questions],
        chosen=chosen, versions=versions, allow_lower=allow_lower, previews=previews, all_questions=ALL_QUESTIONS,
        any_rows=any(p["rows"] for p in previews), error=error,
        jobs=[presenters.job_view(job) for job in regrade_jobs(assessment=assessment)]),
        status=400 if error else 200)


@login_required
@require_POST
def class_regrade_apply_view(request: HttpRequest, course_slug: str, assessment_id: int) -> HttpResponse:
    assessment = assessment_get_for_instructor(user=request.user, course_slug=course_slug, assessment_id=assessment_id)
    allow_lower = request.POST.get("allow_lower") == "1"
    if request.POST.get("question") == ALL_QUESTIONS:
        try:
            jobs = class_regrade_start_all(assessment=assessment, allow_lower=allow_lower, by=request.user,
                                           now=timezone.now())
        except RegradeError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, ngettext("%(n)d re-grade started.", "%(n)d re-grades started.", len(jobs))
                             % {"n": len(jobs)})
        return redirect("instructor-class-regrade", course_slug=course_slug, assessment_id=assessment.pk)
    question = Question.objects.filter(bank_id=request.POST.get("question", "")).first()
    try:
        if question is None:
            raise RegradeError(_("No question has this bank id."), code="not_found")
        job = class_regrade_start(assessment=assessment, question=question,
                                  from_version_ids=_versions(request.POST.getlist("versions")),
                                  allow_lower=allow_lower, by=request.user,
                                  now=timezone.now())
    except RegradeError as exc:
        messages.error(request, exc.message)
        return redirect("instructor-class-regrade", course_slug=course_slug, assessment_id=assessment.pk)
    return redirect("instructor-regrade-job", course_slug=course_slug, assessment_id=assessment.pk, job_id=job.pk)


@login_required
@require_GET
def regrade_job_view(request: HttpRequest, course_slug: str, assessment_id: int, job_id: int) -> HttpResponse:
    job = regrade_job_get_for_instructor(user=request.user, course_slug=course_slug, assessment_id=assessment_id,
                                         job_id=job_id)
    return render(request, "quizzes/instructor/regrade_job.html", _staff_context(
        job.assessment.course, assessment=job.assessment, job=presenters.job_view(job),
        config={"stateUrl": reverse("instructor-regrade-job-state", args=[course_slug, assessment_id, job.pk]),
                "strings": presenters.job_strings()}))


@json_login_required  # polled by regrade.js: a logged-out poll gets 401 JSON, not the login page
@require_GET
@never_cache
def regrade_job_state(request: HttpRequest, course_slug: str, assessment_id: int, job_id: int) -> JsonResponse:
    job = regrade_job_get_for_instructor(user=request.user, course_slug=course_slug, assessment_id=assessment_id,
                                         job_id=job_id)
    return JsonResponse(presenters.job_state(job))

