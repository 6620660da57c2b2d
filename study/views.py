"""The study pages: the plan (today's panel, daily limits), the review session (one item at a time,
answered through the quiz page's widgets and checked here), readiness, the past-exam buttons, and the
instructors' FSRS page. Views validate, access, one service or selector, a presenter, render."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dlcv_site.http import BadRequest, json_body, json_error, json_login_required
from dlcv_site.i18n import grader_lang
from quizzes import presenters as quiz_presenters
from quizzes.models import AttemptItem
from quizzes.services.attempts import AttemptError, ResponseTooLarge
from quizzes.views import _quiz_strings
from study import presenters, selectors
from study.access import (
    course_get_for_studier,
    course_get_for_study_staff,
    past_question_get_for_member,
    review_item_get_for_owner,
)
from study.services import cards as card_services
from study.services import review as review_services
from study.services.fit import MIN_REVIEWS
from study.services.queue import fit_on_commit


def study_now() -> datetime:
    """The study pages' clock: the server's, or ``settings.STUDY_TEST_CLOCK`` when a test sets it
    (a setting no environment variable reaches: production always reads the real time)."""
    fixed = getattr(settings, "STUDY_TEST_CLOCK", None)
    return fixed if isinstance(fixed, datetime) else timezone.now()


def _lang() -> str:
    return get_language() or "zh-hant"


def _review_url(course_slug: str, topic: str, skill: str) -> str:
    query = urlencode({key: value for key, value in (("topic", topic), ("skill", skill)) if value})
    return reverse("study-review", args=[course_slug]) + (f"?{query}" if query else "")


def _item_entry(item: AttemptItem, course_slug: str, heading: str, query: str) -> dict[str, Any]:
    content = quiz_presenters.version_content(item.question_version)
    variant = quiz_presenters.item_variant(content, item.seed)
    view = quiz_presenters.variant_view(content, variant, _lang())
    return {"item": item, "content": content, "variant": variant, "view": view,
            "widgets": quiz_presenters.fill_widgets(view, item.response, None), "answered": False,
            "saved_at_display": "", "solution": None, "feedback": None, "retry": None, "earned": None,
            "heading": heading, "check_url": reverse("study-review-check", args=[course_slug, item.id]) + query}


@login_required
@require_http_methods(["GET", "POST"])
def study_plan(request: HttpRequest, course_slug: str) -> HttpResponse:
    course = course_get_for_studier(user=request.user, course_slug=course_slug)
    now = study_now()
    if request.method == "POST":
        try:
            review_services.preferences_set(user=request.user, course=course,
                                            new_per_day=int(request.POST.get("new_per_day", "")),
                                            reviews_per_day=int(request.POST.get("reviews_per_day", "")))
        except ValueError:
            messages.error(request, _("Enter whole numbers."))
        except review_services.StudyError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Your daily limits are saved."))
        return redirect("study-plan", course_slug=course.slug)
    snap = selectors.snapshot(user=request.user, course=course, now=now)
    context = {"course": course, "panel": selectors.today_panel(user=request.user, course=course, now=now, snap=snap),
               "prefs": snap.prefs, "upcoming": selectors.upcoming(user=request.user, course=course, now=now)}
    return render(request, "study/plan.html", context)


@login_required
@require_GET
@ensure_csrf_cookie
def study_review(request: HttpRequest, course_slug: str) -> HttpResponse:
    course = course_get_for_studier(user=request.user, course_slug=course_slug)
    now = study_now()
    topic = request.GET.get("topic", "")[:64]
    skill = request.GET.get("skill", "")[:200]
    snap = selectors.snapshot(user=request.user, course=course, now=now)
    served = review_services.review_serve(user=request.user, course=course, snap=snap, topic=topic, skill=skill)
    context: dict[str, Any] = {"course": course, "topic": topic, "skill": skill, "card": served,
                               "left": selectors.left_today(snap)}
    if served is not None:
        item = AttemptItem.objects.select_related("question_version__question").get(pk=served.item_id)
        query = _review_url(course.slug, topic, skill).partition("?")[1:]
        entry = _item_entry(item, course.slug, pgettext("spaced review", "Review"), "".join(query))
        context.update(html=render_to_string("quizzes/_item.html", {
            "entry": entry, "practice": True, "readonly": False}, request),
            config={"attemptId": item.attempt_id, "mode": "practice", "readonly": False,
                    "stateUrl": reverse("attempt-state", args=[item.attempt_id]),
                    "submitUrl": "", "resultsUrl": "", "remainingSeconds": None,
                    "serverTime": now.isoformat(), "strings": _quiz_strings()},
            next_url=_review_url(course.slug, topic, skill))
    return render(request, "study/review.html", context)


@json_login_required
@require_POST
def review_check(request: HttpRequest, course_slug: str, item_id: int) -> JsonResponse:
    """Grade a review answer; the feedback (the practice check's) and when the skill comes back."""
    course = course_get_for_studier(user=request.user, course_slug=course_slug)
    data = json_body(request)
    if "response" not in data:
        raise BadRequest(_("The request has no answer in it."))
    item = review_item_get_for_owner(user=request.user, course=course, item_id=item_id)
    now, lang = study_now(), _lang()
    try:
        outcome = review_services.review_answer(user=request.user, item=item, response=data["response"], now=now,
                                                hint_used=data.get("hint_used") is True)
    except AttemptError as exc:
        return json_error(413 if isinstance(exc, ResponseTooLarge) else 409, exc.code, exc.message)
    grade = outcome.grade
    result = grade.for_student(lang=grader_lang(lang))
    if not grade.gradable:
        return JsonResponse(result)
    item.refresh_from_db(fields=["checks", "feedback", "solution_requested_at"])
    content = quiz_presenters.version_content(item.question_version)
    solution = quiz_presenters.item_solution(content, item.seed, lang)
    entry = {"item": item, "view": quiz_presenters.item_view(content, item.seed, lang), "solution": solution,
             "retry": None, "feedback": quiz_presenters.feedback_view(grade, solution, grader_lang(lang)),
             "earned": round(grade.score * float(item.max_points), 2)}
    result["saved_at_display"] = timezone.localtime(now).strftime("%H:%M:%S")
    result["solution_shown"] = True
    result["html"] = render_to_string("quizzes/_feedback.html", {"entry": entry, "practice": True, "exam": False,
                                                                  "self_assess": True}, request) + render_to_string(
        "study/_outcome.html", {"outcome": presenters.outcome_view(outcome.logs, now),
                                "next_url": _review_url(course.slug, request.GET.get("topic", "")[:64],
                                                        request.GET.get("skill", "")[:200])},
        request)
    return JsonResponse(result)


@login_required
@require_GET
def study_readiness(request: HttpRequest, course_slug: str) -> HttpResponse:
    course = course_get_for_studier(user=request.user, course_slug=course_slug)
    now = study_now()
    view = selectors.readiness(user=request.user, course=course, now=now)
    return render(request, "study/readiness.html", {
        "course": course, "view": view, "chart": presenters.readiness_chart(view),
        "rows": presenters.readiness_rows(view, course.slug),
        "overall_plan": presenters.percent(view.overall_plan), "overall_stop": presenters.percent(view.overall_stop),
        "target": presenters.percent(view.verdict.target), "exam_at": timezone.localtime(view.exam_at),
    })


@login_required
@require_POST
def self_rate(request: HttpRequest, course_slug: str, bank_id: str) -> HttpResponse:
    """A past-exam question rated by its student: "I can answer this" or "not yet"."""
    course = course_get_for_studier(user=request.user, course_slug=course_slug)
    question = past_question_get_for_member(course=course, bank_id=bank_id)
    can = request.POST.get("rating") == "can"
    logs = card_services.self_rating_record(user_id=request.user.pk, course_id=course.pk, question=question,
                                            can_answer=can, now=study_now())
    if logs:
        messages.success(request, _("Noted: %(when)s.") % {"when": presenters.due_words(logs[0].due_after, study_now())})
    else:
        messages.info(request, _("You rated this question today already."))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("study-plan", args=[course.slug])
    return redirect(back)


@login_required
@require_http_methods(["GET", "POST"])
def study_fit(request: HttpRequest, course_slug: str) -> HttpResponse:
    course = course_get_for_study_staff(user=request.user, course_slug=course_slug)
    if request.method == "POST":
        if request.POST.get("action") == "fit":
            fit_on_commit(course.pk)
            messages.success(request, _("The fit is running; reload this page in a minute."))
        else:
            try:
                review_services.retention_set(course=course, retention=float(request.POST.get("retention", "")))
            except ValueError:
                messages.error(request, _("Enter a number."))
            except review_services.StudyError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Saved."))
        return redirect("study-fit", course_slug=course.slug)
    view = selectors.fit_view(course=course)
    return render(request, "study/fit.html", {"course": course, **view, "min_reviews": MIN_REVIEWS})
