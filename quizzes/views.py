"""Student pages: assessment landing, the quiz page, results, and the quiz's JSON API (the course
home is ``progress.views``).

Views validate, call one service and render. Objects come only from ``quizzes.access``; reads from
``quizzes.selectors``; per-item rendering from ``quizzes.presenters``. The JSON endpoints answer
errors with ``{"code", "message"}`` (``dlcv_site.http``; messages in the request's language) and these statuses:
400 unreadable request, 401 not logged in, 404 not yours, 409 refused by a rule (deadline passed,
submitted, not practice …), 413 answer too large.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from accounts.selectors import user_sees_instructor_link
from dlcv_site.http import (
    BadRequest,
    json_body,
    json_error,
    json_login_required,
    login_required_page_or_json,
    wants_json,
)
from dlcv_site.i18n import grader_lang
from grader.results import GradingResult
from quizzes import item_html, prepared_views, presenters, regrade_presenters
from quizzes.access import (
    assessment_get_for_member,
    attempt_get_for_owner,
    attempt_get_for_user,
    attempt_item_get_for_owner,
    past_exam_get_for_member,
)
from quizzes.models import AssessmentMode, Attempt, AttemptItem, AttemptStatus, QuestionType
from quizzes.regrade_selectors import attempt_regrades
from quizzes.selectors import (
    assessment_row_for_student,
    attempt_items,
    extension_minutes,
    past_exam_versions,
    results_visible,
)
from quizzes.services.attempts import (
    AttemptError,
    NotYourItem,
    ResponseTooLarge,
    attempt_item_save,
    attempt_start,
    attempt_submit,
    attempt_totals,
    essay_self_assess,
    exam_window,
    practice_another_variant,
    practice_check,
    practice_item_solution_visible,
    practice_solution_request,
)
from quizzes.services.regrades import regrade_window

# --------------------------------------------------------------------------- helpers


def _attempt_error(exc: AttemptError) -> JsonResponse:
    return json_error(413 if isinstance(exc, ResponseTooLarge) else 409, exc.code, exc.message)


def _response_from(data: dict[str, Any]) -> Any:
    if "response" not in data:
        raise BadRequest(_("The request has no answer in it."))
    return data["response"]


def _hint_used(data: dict[str, Any]) -> bool:
    """The answer came with the item's hint opened (quiz.js sends ``"hint_used": true``; anything else: no)."""
    return data.get("hint_used") is True


def _lang() -> str:
    return get_language() or "zh-hant"


def _remaining_seconds(attempt: Attempt, now: datetime) -> int | None:
    if attempt.deadline is None:
        return None
    # Rounded up: a countdown that ends early would ask to submit before the server's deadline.
    return max(0, math.ceil((attempt.deadline - now).total_seconds()))


def _clock(seconds: int) -> str:
    """The countdown as quiz.js writes it: h:mm:ss, or mm:ss under an hour."""
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


def _time_display(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%H:%M:%S") if moment else ""


def _owned(request: HttpRequest, attempt: Attempt) -> bool:
    return attempt.user_id == request.user.id


def _base_context(request: HttpRequest) -> dict[str, Any]:
    # content_lang: the language of the assessments' titles and descriptions (course content).
    return {"is_course_staff": user_sees_instructor_link(user=request.user),
            "content_lang": presenters.COURSE_CONTENT_LANG}


def _description(text: str, translations: dict[str, Any]) -> dict[str, Any]:
    """An assessment's description in the request's language (else as written), and that language."""
    description = presenters.localized(text, translations, "description")
    return {"description_html": presenters.markdown_html(description.text) if description.text else "",
            "description_lang": description.lang}


def _item_entry(item: AttemptItem, lang: str, *, show_solution: bool, show_feedback: bool = False,
                prepared: dict[tuple[int, int], dict[str, Any]] | None = None,
                viewer: str = presenters.VIEWER_STUDENT) -> dict[str, Any]:
    """Everything a template needs for one item; solutions only when the caller says they are visible,
    its last grade also when ``show_feedback`` (a practice retry: the grade without the answer).
    ``prepared``: views read from ``quizzes.prepared_views``, by (version id, seed)."""
    content = presenters.version_content(item.question_version)
    variant = presenters.item_variant(content, item.seed)  # a seeded shuffle: computed once per item
    view = (prepared or {}).get((content.id, item.seed)) or presenters.variant_view(content, variant, lang)
    solution = presenters.item_solution(content, item.seed, lang) if show_solution or show_feedback else None
    feedback = GradingResult.from_json(item.feedback) if show_solution or show_feedback else None
    answered = presenters.is_answered(item.response)
    shown_feedback = presenters.feedback_view(feedback, solution)
    retry = None
    if not show_solution:
        solution, retry = None, _retry(item) if show_feedback else None
    if shown_feedback is not None and not answered:
        # "Your answer" already says there is none; the grade's "No answer given." would say it twice.
        shown_feedback["feedback_html"] = []
    return {
        "item": item,
        "content": content,
        "variant": variant,
        "view": view,
        "widgets": presenters.fill_widgets(view, item.response, feedback, viewer=viewer),
        "answered": answered,
        "saved_at_display": _time_display(item.response_saved_at),
        "solution": solution,
        "feedback": shown_feedback,
        "retry": retry,
        "earned": (item.score * item.max_points) if item.score is not None else None,
    }


def item_entry_with_solution(item: AttemptItem, lang: str) -> dict[str, Any]:
    """One item as the results page shows it (answer, grade, solution) to the course staff: the staff's
    regrade page."""
    return _item_entry(item, lang, show_solution=True, viewer=presenters.VIEWER_STAFF)


def _retry(item: AttemptItem) -> dict[str, Any]:
    """A practice item checked wrong whose solution is not shown yet: tries left, and where to ask."""
    checks_left = max(0, item.attempt.assessment.practice_reveal_after - item.checks)
    return {"checks_left": checks_left,
            "reveal_url": reverse("item-reveal", args=[item.attempt_id, item.id])}


def _add_html(entries: list[dict[str, Any]], lang: str, *, practice: bool, readonly: bool) -> None:
    """Each entry's ``quizzes/_item.html`` as ``html``, shared between students where it can be."""
    for entry, html in zip(entries, item_html.items_html(entries, lang=lang, practice=practice, readonly=readonly),
                           strict=True):
        entry["html"] = html


def _quiz_strings() -> dict[str, str]:
    """The quiz script's messages, translated here so quiz.js holds no text of its own."""
    return {
        "saved": _("Saved %(time)s"),
        "saving": _("Saving…"),
        "unsaved": _("Not saved, retrying"),
        "offline": _("Not saved (offline?), retrying in %(s)s s. Your answer is kept on this device."),
        "restored": _("Restored your unsaved answer from this device; saving…"),
        "time_up": _("Time is up. Your saved answers are being submitted…"),
        "minutes_left": _("%(m)s minutes left"),
        "confirm_submit": _("Submit your answers? You cannot change them afterwards."),
        "unanswered_one": ngettext("%(n)s question is unanswered.", "%(n)s questions are unanswered.", 1),
        "unanswered_other": ngettext("%(n)s question is unanswered.", "%(n)s questions are unanswered.", 2),
        "checking": _("Checking…"),
        "format_error": _("Format error (this costs no attempt):"),
        "error": _("Something went wrong; please try again."),
        "network_error": _("Network error; please try again."),
        "session": _("You are logged out or your session expired. Log in again in another tab; your answers are kept on this device."),
        "self_saved": _("Self-assessment saved: %(n)s of %(of)s key points."),
        "submitting": _("Submitting…"),
        "row": _("Row %(r)s, column %(c)s"),
        "leave": _("Some answers are not saved yet."),
    }


# --------------------------------------------------------------------------- pages


@login_required
@require_GET
def assessment_landing(request: HttpRequest, course_slug: str, assessment_slug: str) -> HttpResponse:
    assessment, role = assessment_get_for_member(user=request.user, course_slug=course_slug,
                                                 assessment_slug=assessment_slug)
    row = assessment_row_for_student(user=request.user, assessment=assessment)
    latest = row.attempt
    now = timezone.now()
    open_attempt = latest if latest is not None and latest.status == AttemptStatus.IN_PROGRESS else None
    # Only an exam past its closing time needs the student's extension (one more read, rarely).
    past_closing = assessment.closes_at is not None and now >= assessment.closes_at
    extra = extension_minutes(user=request.user, assessment=assessment) if past_closing else 0
    window = exam_window(assessment=assessment, extra_minutes=extra, now=now)
    context = {
        "assessment": assessment, "course": assessment.course, "role": role, "row": row,
        "latest": latest, "latest_visible": latest is not None and results_visible(attempt=latest, now=now),
        "open_attempt": open_attempt,
        "exam_done": assessment.mode == AssessmentMode.EXAM and latest is not None and open_attempt is None,
        # The rule attempt_start refuses by: no start button where the server would refuse it.
        "window": window,
        "question_count": row.question_count,
        **_description(assessment.description, assessment.translations),
        **_base_context(request),
    }
    return render(request, "quizzes/assessment_landing.html", context)


@login_required
@require_GET
def past_exam_study(request: HttpRequest, course_slug: str, assessment_slug: str) -> HttpResponse:
    """A past exam to read: its questions, every classmate's answer and our key points, untimed."""
    assessment = past_exam_get_for_member(user=request.user, course_slug=course_slug, assessment_slug=assessment_slug)
    questions = presenters.past_exam_study(past_exam_versions(assessment=assessment), _lang())
    context = {"assessment": assessment, "course": assessment.course, "questions": questions, **_base_context(request)}
    return render(request, "quizzes/past_exam_study.html", context)


@login_required
@require_POST
def assessment_start(request: HttpRequest, course_slug: str, assessment_slug: str) -> HttpResponse:
    assessment, _role = assessment_get_for_member(user=request.user, course_slug=course_slug,
                                                  assessment_slug=assessment_slug)
    try:
        attempt = attempt_start(user=request.user, assessment=assessment)
    except AttemptError as exc:
        messages.error(request, exc.message)
        return redirect("assessment-landing", course_slug=course_slug, assessment_slug=assessment_slug)
    return redirect("attempt", attempt_id=attempt.id)


@login_required
@require_GET
@ensure_csrf_cookie
def attempt_page(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = attempt_get_for_user(user=request.user, attempt_id=attempt_id)
    if attempt.status != AttemptStatus.IN_PROGRESS:
        return redirect("attempt-results", attempt_id=attempt.id)
    assessment = attempt.assessment
    practice = assessment.mode == AssessmentMode.PRACTICE
    lang = _lang()
    now = timezone.now()
    # Exams and mock exams never carry solutions before results are visible; a practice item shows
    # its last check (feedback, explanation) once it has been checked.
    items = attempt_items(attempt=attempt)
    # An exam's parameterized items were worked out before it opened (exam_variants_prepare).
    prepared = prepared_views.prepared_views(
        [(presenters.version_content(item.question_version), item.seed) for item in items], lang,
    ) if assessment.mode == AssessmentMode.EXAM else None
    entries = [_item_entry(item, lang, prepared=prepared, show_feedback=practice and item.feedback is not None,
                           show_solution=practice and item.feedback is not None and practice_item_solution_visible(item))
               for item in items]
    readonly = not _owned(request, attempt)
    _add_html(entries, lang, practice=practice, readonly=readonly)
    remaining = _remaining_seconds(attempt, now)
    config = {
        "attemptId": attempt.id, "mode": assessment.mode, "readonly": readonly,
        "stateUrl": reverse("attempt-state", args=[attempt.id]),
        "submitUrl": reverse("attempt-submit", args=[attempt.id]),
        "resultsUrl": reverse("attempt-results", args=[attempt.id]),
        "remainingSeconds": remaining, "serverTime": now.isoformat(),
        "strings": _quiz_strings(),
    }
    context = {
        "attempt": attempt, "assessment": assessment, "course": assessment.course, "entries": entries,
        "practice": practice, "readonly": readonly, "remaining": remaining, "config": config,
        "remaining_display": _clock(remaining) if remaining is not None else "",
        "exam": False, "self_assess": practice and not readonly,
        "unanswered": sum(1 for e in entries if not e["answered"]),
        **_base_context(request),
    }
    return render(request, "quizzes/attempt.html", context)


@login_required
@require_GET
def attempt_results(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = attempt_get_for_user(user=request.user, attempt_id=attempt_id)
    if attempt.status == AttemptStatus.IN_PROGRESS:
        messages.info(request, _("This attempt is still in progress."))
        return redirect("attempt", attempt_id=attempt.id)
    visible = results_visible(attempt=attempt)
    lang = _lang()
    items = attempt_items(attempt=attempt)
    viewer = presenters.VIEWER_STUDENT if _owned(request, attempt) else presenters.VIEWER_STAFF
    entries = [_item_entry(item, lang, show_solution=True, viewer=viewer) for item in items] if visible else []
    regrade_note = ""
    if visible:
        now = timezone.now()
        window = regrade_window(assessment=attempt.assessment, course=attempt.assessment.course,
                                status=attempt.status, now=now)
        notes = attempt_regrades(attempt=attempt)
        can_ask = _owned(request, attempt) and window.open_at(now)
        for entry in entries:
            entry["regrade"] = regrade_presenters.item_regrade(entry["item"], notes.get(entry["item"].id),
                                                               can_ask=can_ask)
        regrade_note = regrade_presenters.window_note(window, now) if _owned(request, attempt) else ""
    pending_manual = sum(1 for item in items if item.needs_manual_grading)
    mode = attempt.assessment.mode
    essays = sum(1 for item in items if item.question_version.question.type == QuestionType.ESSAY)
    context = {
        "attempt": attempt, "assessment": attempt.assessment, "course": attempt.assessment.course,
        "visible": visible, "entries": entries, "owner": _owned(request, attempt),
        "answered": sum(1 for item in items if presenters.is_answered(item.response)), "total": len(items),
        "pending_manual": pending_manual, "regrade_note": regrade_note,
        "exam": attempt.assessment.mode == AssessmentMode.EXAM,
        "exam_essays": essays if mode == AssessmentMode.EXAM else 0,
        "self_assessed": attempt_totals(mode=mode, items=items).self_assessed,
        "self_assess": attempt.assessment.mode != AssessmentMode.EXAM and _owned(request, attempt),
        "config": {"attemptId": attempt.id, "mode": attempt.assessment.mode, "readonly": False,
                   "results": True, "strings": _quiz_strings()},
        **_base_context(request),
    }
    return render(request, "quizzes/results.html", context)


@login_required_page_or_json
@require_POST
def attempt_submit_view(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """Submit by the student, or by the page when its countdown ends (``reason=timeout``)."""
    attempt = attempt_get_for_owner(user=request.user, attempt_id=attempt_id)
    now = timezone.now()
    overdue = attempt.deadline is not None and now >= attempt.deadline
    timeout = request.POST.get("reason") == "timeout" or request.GET.get("reason") == "timeout"
    if timeout and not overdue and attempt.status == AttemptStatus.IN_PROGRESS:
        # The browser's clock ran ahead of ours: nothing to do until the server's deadline.
        return json_error(409, "not_yet", _("Time is not up yet.")) if wants_json(request) else redirect(
            "attempt", attempt_id=attempt.id)
    attempt = attempt_submit(attempt=attempt, auto=overdue)
    results_url = reverse("attempt-results", args=[attempt.id])
    if wants_json(request):
        return JsonResponse({"status": attempt.status, "results_url": results_url})
    messages.success(request, _("Submitted at the deadline.") if overdue else _("Your answers are submitted."))
    return redirect(results_url)


# --------------------------------------------------------------------------- JSON


@json_login_required
@require_GET
def attempt_state(request: HttpRequest, attempt_id: int) -> JsonResponse:
    attempt = attempt_get_for_user(user=request.user, attempt_id=attempt_id)
    now = timezone.now()
    return JsonResponse({
        "status": attempt.status,
        "remaining_seconds": _remaining_seconds(attempt, now),
        "server_time": now.isoformat(),
        "deadline": attempt.deadline.isoformat() if attempt.deadline else None,
        "results_url": reverse("attempt-results", args=[attempt.id]),
    })


@json_login_required
@require_POST
def item_save(request: HttpRequest, attempt_id: int, item_id: int) -> JsonResponse:
    """Autosave one answer: one UPDATE, which also checks that the item is the student's own."""
    data = json_body(request)
    response = _response_from(data)
    try:
        result = attempt_item_save(user=request.user, attempt_id=attempt_id, item_id=item_id, response=response,
                                   hint_used=_hint_used(data))
    except NotYourItem:
        raise Http404("No such question in your attempt.") from None
    except AttemptError as exc:
        return _attempt_error(exc)
    return JsonResponse({"saved_at": result.saved_at.isoformat(), "saved_at_display": _time_display(result.saved_at),
                         "save_count": result.save_count})


@json_login_required
@require_POST
def item_check(request: HttpRequest, attempt_id: int, item_id: int) -> JsonResponse:
    """Practice: grade now. A format error comes back as ``valid: false`` and costs nothing."""
    data = json_body(request)
    response = _response_from(data)
    item = attempt_item_get_for_owner(user=request.user, attempt_id=attempt_id, item_id=item_id)
    lang, now = _lang(), timezone.now()
    try:
        grade = practice_check(item=item, response=response, now=now, hint_used=_hint_used(data))
    except AttemptError as exc:
        return _attempt_error(exc)
    result = grade.for_student(lang=grader_lang(lang))
    if not grade.gradable:
        return JsonResponse(result)
    item.refresh_from_db(fields=["checks", "feedback", "solution_requested_at"])
    visible = practice_item_solution_visible(item)
    content = presenters.version_content(item.question_version)
    solution = presenters.item_solution(content, item.seed, lang)
    entry = {"item": item, "view": presenters.item_view(content, item.seed, lang),
             "solution": solution if visible else None, "retry": None if visible else _retry(item),
             # The mistakes' names come with the solution; the answer only when it is visible.
             "feedback": presenters.feedback_view(grade, solution, grader_lang(lang)),
             "earned": round(grade.score * float(item.max_points), 2)}
    result["saved_at_display"] = _time_display(now)
    result["solution_shown"] = visible
    result["html"] = render_to_string("quizzes/_feedback.html", {"entry": entry, "practice": True, "exam": False,
                                                                  "self_assess": True}, request)
    return JsonResponse(result)


@json_login_required
@require_POST
def item_reveal(request: HttpRequest, attempt_id: int, item_id: int) -> JsonResponse:
    """Practice: the student asks for the solution of a question they are still trying."""
    item = attempt_item_get_for_owner(user=request.user, attempt_id=attempt_id, item_id=item_id)
    try:
        item = practice_solution_request(item=item)
    except AttemptError as exc:
        return _attempt_error(exc)
    entry = _item_entry(item, _lang(), show_solution=True)
    return JsonResponse({"html": render_to_string("quizzes/_feedback.html", {
        "entry": entry, "practice": True, "exam": False, "self_assess": True}, request)})


@json_login_required
@require_POST
def item_variant(request: HttpRequest, attempt_id: int, item_id: int) -> HttpResponse:
    """Practice: append a fresh variant of this question (JSON for the page's script, else a redirect)."""
    item = attempt_item_get_for_owner(user=request.user, attempt_id=attempt_id, item_id=item_id)
    try:
        new_item = practice_another_variant(item=item)
    except AttemptError as exc:
        if wants_json(request):
            return _attempt_error(exc)
        messages.error(request, exc.message)
        return redirect("attempt", attempt_id=attempt_id)
    if not wants_json(request):
        return redirect(reverse("attempt", args=[attempt_id]) + f"#item-{new_item.id}")
    new_item.question_version.question = item.question_version.question
    entry = _item_entry(new_item, _lang(), show_solution=False)
    html = item_html.items_html([entry], lang=_lang(), practice=True, readonly=False)[0]
    return JsonResponse({"item_id": new_item.id, "position": new_item.position, "html": html}, status=201)


@json_login_required
@require_POST
def item_self_assess(request: HttpRequest, attempt_id: int, item_id: int) -> JsonResponse:
    """Practice and mock exams: which key points the student's essay covered."""
    points = json_body(request).get("points_met")
    if not isinstance(points, list) or not all(isinstance(p, int) and not isinstance(p, bool) for p in points):
        raise BadRequest(_("Tick the key points your answer covered."))
    item = attempt_item_get_for_owner(user=request.user, attempt_id=attempt_id, item_id=item_id)
    try:
        item = essay_self_assess(item=item, points_met=points)
    except AttemptError as exc:
        return _attempt_error(exc)
    return JsonResponse({"self_assessment": item.self_assessment})
