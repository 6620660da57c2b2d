"""Instructor lab pages: per-part statistics of a lab, regrades (the gradebook is ``grades.instructor_views``).

Every view starts with the staff access check (``accounts.access.course_get_for_staff`` or
``labs.access.lab_get_for_staff``): students get 403, everyone else 404. Reads come from ``labs.selectors``; the
regrade is ``labs.services.lab_regrade`` and its progress ``labs.services.lab_regrade_progress``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from dlcv_site.http import json_login_required
from dlcv_site.i18n import grader_lang
from labs.access import lab_get_for_staff
from labs.presenters import LAB_CONTENT_LANG, lab_strings
from labs.selectors import lab_part_stats
from labs.services import lab_regrade, lab_regrade_progress
from quizzes.presenters import in_lang, markdown_html


def _context(**extra: Any) -> dict[str, Any]:
    # Only course staff get past the access check, so the header's instructor link is always shown.
    # content_lang: the language of the labs' and assessments' own titles (course content).
    return {"is_course_staff": True, "content_lang": LAB_CONTENT_LANG, **extra}


@login_required
@require_GET
def lab_stats(request: HttpRequest, course_slug: str, lab_slug: str) -> HttpResponse:
    lab = lab_get_for_staff(user=request.user, course_slug=course_slug, lab_slug=lab_slug)
    stats = lab_part_stats(lab=lab, lang=grader_lang())
    parts = []
    for position, part in enumerate(stats.parts, start=1):
        peak = max((n for _label, n in part.bins), default=0)
        parts.append({
            "position": position, "stats": part, "title_html": in_lang(part.title, part.title_lang),
            "bins": [{"label": label, "count": n, "width": round(100 * n / peak) if peak else 0,
                      "share": round(100 * n / part.answers) if part.answers else 0} for label, n in part.bins],
            "misconceptions": [{"share": share, "percent": round(100 * share.share),
                                "message_html": markdown_html(share.message)}
                               for share in part.misconceptions],
            "unexplained_percent": round(100 * part.unexplained / part.wrong) if part.wrong else 0,
        })
    progress = lab_regrade_progress(lab=lab)
    context = _context(course=lab.course, lab=lab, stats=stats, parts=parts, progress=progress,
                       pending=progress["pending"],
                       config={"strings": lab_strings()})
    return render(request, "labs/instructor/lab_stats.html", context)


@login_required
@require_POST
def lab_regrade_view(request: HttpRequest, course_slug: str, lab_slug: str) -> HttpResponse:
    lab = lab_get_for_staff(user=request.user, course_slug=course_slug, lab_slug=lab_slug)
    group_id = lab_regrade(lab=lab)
    progress = lab_regrade_progress(lab=lab)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"group_id": group_id, **progress}, status=202)
    messages.success(request, _("Regrading %(n)s submissions.") % {"n": progress["pending"]})
    return redirect("instructor-lab-stats", course_slug=lab.course.slug, lab_slug=lab.slug)


@json_login_required  # polled by labs.js: a logged-out poll gets 401 JSON, not the login page
@require_GET
@never_cache
def lab_regrade_progress_view(request: HttpRequest, course_slug: str, lab_slug: str) -> JsonResponse:
    """Counts from the table: ``done`` (graded + failed) of ``total``, and each status."""
    lab = lab_get_for_staff(user=request.user, course_slug=course_slug, lab_slug=lab_slug)
    progress = lab_regrade_progress(lab=lab)
    return JsonResponse({**progress, "finished": progress["pending"] == 0})
