"""Student lab pages: a course's labs, one lab (the student's own variant), a submission graded live,
its precision/recall picture, and a coding lab's downloads.

Views validate, get their objects from ``labs.access``, read through ``labs.selectors`` and lay out
through ``labs.presenters``. Both kinds of lab submit through the JSON API
(``POST /api/labs/{slug}/submissions/``: ``static/js/labs.js`` and ``codelab.js``, like
``dlcv_submit.py``); these pages only show. The model solution of a coding lab
(``CodeLab.solution()``) is never served.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from accounts.access import course_get_for_member
from accounts.models import STAFF_ROLES, User
from accounts.selectors import user_sees_instructor_link
from dlcv_site.http import json_error, json_login_required
from dlcv_site.i18n import grader_lang, localized
from grader.codelabs import CodeLab, get_codelab
from grader.codelabs.public import public_tests_script
from labs import presenters
from labs.access import answers_visible, lab_get_for_member, submission_get_for_user
from labs.client import client_script
from labs.models import Lab, LabKind, Submission
from labs.selectors import lab_row_for_student, lab_submissions_for_student, labs_for_student
from labs.services import MAX_SOURCE_BYTES, lab_variant_seed
from quizzes.presenters import markdown_html

PR_CURVE_CACHE_SECONDS = 24 * 3600
PYTHON_CONTENT_TYPE = "text/x-python; charset=utf-8"


def _base_context(request: HttpRequest) -> dict[str, Any]:
    # content_lang: the language of the labs' own titles, descriptions and part titles.
    return {"is_course_staff": user_sees_instructor_link(user=request.user), "content_lang": presenters.LAB_CONTENT_LANG}


def _submit_url(lab: Lab) -> str:
    return reverse("api-submission-create", kwargs={"lab_slug": lab.slug})


# --------------------------------------------------------------------------- the lab list and a lab


@login_required
@require_GET
def lab_list(request: HttpRequest, course_slug: str) -> HttpResponse:
    course, role = course_get_for_member(user=request.user, course_slug=course_slug)
    rows = labs_for_student(user=request.user, course=course, include_unpublished=role in STAFF_ROLES)
    now = timezone.now()
    entries = [{"row": row, **presenters.lab_window(row.lab, now)} for row in rows]
    return render(request, "labs/lab_list.html", {"course": course, "role": role, "entries": entries,
                                                  **_base_context(request)})


@login_required
@require_GET
@ensure_csrf_cookie
def lab_page(request: HttpRequest, lab_slug: str) -> HttpResponse:
    lab, role = lab_get_for_member(user=request.user, lab_slug=lab_slug)
    if lab.kind == LabKind.CODE:
        return _code_lab_page(request, lab, role)
    user: User = request.user  # type: ignore[assignment]
    submissions = list(lab_submissions_for_student(user=user, lab=lab))
    answers = submissions[0].answers if submissions else None  # start from the latest: fix it, submit again
    parts = presenters.part_entries(list(lab.parts.order_by("position")),
                                    lab_variant_seed(lab_id=lab.pk, user_id=user.pk), grader_lang(), answers, {})
    row, now = lab_row_for_student(user=user, lab=lab), timezone.now()
    context = {
        "lab": lab, "course": lab.course, "role": role, "row": row,
        "parts": parts, "submissions": submissions, "submit_url": _submit_url(lab),
        **_lab_description(lab),
        "config": {"strings": presenters.lab_strings()},
        **presenters.lab_window(lab, now),
        **presenters.lab_submitting(lab, attempts_used=row.attempts_used, now=now),
        **_base_context(request),
    }
    return render(request, "labs/lab_page.html", context)


# --------------------------------------------------------------------------- coding labs


def _codelab(lab: Lab) -> CodeLab:
    """The grader spec a coding lab runs; 404 for a numeric lab (it has no code downloads)."""
    if lab.kind != LabKind.CODE or not lab.codelab:
        raise Http404("Not a coding lab.")
    try:
        return get_codelab(lab.codelab)
    except KeyError:
        raise Http404("No such coding lab.") from None


def _url_template(name: str) -> str:
    """A URL with ``{id}`` where a submission's id goes, for the page's script."""
    return reverse(name, args=[987654321]).replace("987654321", "{id}")


def _server_url(request: HttpRequest) -> str:
    """The site's address as the terminal client should use it (scheme, host and any prefix)."""
    return request.build_absolute_uri(get_script_prefix()).rstrip("/")


def _submission_panels(request: HttpRequest, submission: Submission) -> dict[str, Any]:
    """A submission's state line and (once graded) result, rendered for the page or its polling."""
    context = presenters.submission_context(
        submission, now=timezone.now(), flang=grader_lang(), owner=submission.user_id == request.user.id,
        reveal=answers_visible(user=request.user, lab=submission.lab),  # type: ignore[arg-type]
    )
    return {
        "context": context,
        "status_html": render_to_string("labs/_submission_status.html", context, request=request),
        "result_html": render_to_string("labs/_submission_result.html", context, request=request)
        if context["state"]["done"] else "",
    }


def _lab_description(lab: Lab) -> dict[str, Any]:
    """The lab's description in the request's language (else as written), and that language."""
    description = localized(lab.description, lab.translations, "description")
    return {"description_html": markdown_html(description.text) if description.text else "",
            "description_lang": description.lang}


def _code_lab_page(request: HttpRequest, lab: Lab, role: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    spec = _codelab(lab)
    flang = grader_lang()
    # The history needs no sources or results (each may be large); the latest one is loaded whole.
    history = list(lab_submissions_for_student(user=user, lab=lab).defer("source_code", "result", "answers", "variant"))
    latest = Submission.objects.select_related("lab__course").get(pk=history[0].pk) if history else None
    latest_panel: dict[str, Any] = {}
    if latest is not None:
        panels = _submission_panels(request, latest)
        latest_panel = {"submission": latest, "state": panels["context"]["state"],
                        "status_html": panels["status_html"], "result_html": panels["result_html"]}
    source = latest.source_code if latest is not None and latest.source_code else spec.starter()
    row, now = lab_row_for_student(user=user, lab=lab), timezone.now()
    context = {
        "lab": lab, "course": lab.course, "role": role, "row": row,
        "spec_title": spec.title_in(flang),
        **_lab_description(lab),
        "statement_html": presenters.codelab_statement_html(spec.statement(flang)),
        "functions": spec.functions, "limits": spec.limits, "student_files": spec.student_files,
        "source": source, "submissions": history, "latest": latest_panel,
        "max_kb": MAX_SOURCE_BYTES // 1024, "server_url": _server_url(request),
        "labs_config": {"strings": presenters.lab_strings()},
        "config": {
            "strings": presenters.code_lab_strings(),
            "submit_url": _submit_url(lab),
            "state_url": _url_template("submission-state"),
            "page_url": _url_template("submission-page"),
            "draft_key": f"dlcv:code-draft:{user.pk}:{lab.slug}",
            "lang": flang,
            "max_bytes": MAX_SOURCE_BYTES,
        },
        **presenters.lab_window(lab, now),
        **presenters.lab_submitting(lab, attempts_used=row.attempts_used, now=now),
        **_base_context(request),
    }
    return render(request, "labs/code_lab_page.html", context)


def _download(content: str | bytes, filename: str, content_type: str = PYTHON_CONTENT_TYPE) -> HttpResponse:
    response = HttpResponse(content.encode("utf-8") if isinstance(content, str) else content,
                            content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-cache"
    return response


@login_required
@require_GET
def lab_starter_download(request: HttpRequest, lab_slug: str) -> HttpResponse:
    lab, _role = lab_get_for_member(user=request.user, lab_slug=lab_slug)
    return _download(_codelab(lab).starter(), "starter.py")


@login_required
@require_GET
def lab_public_tests_download(request: HttpRequest, lab_slug: str) -> HttpResponse:
    """The public cases with the model solution's outputs (never its code): ``public_tests.py``."""
    lab, _role = lab_get_for_member(user=request.user, lab_slug=lab_slug)
    return _download(public_tests_script(_codelab(lab)), "public_tests.py")


@login_required
@require_GET
def lab_client_download(request: HttpRequest, lab_slug: str) -> HttpResponse:
    """``dlcv_submit.py`` with this site and this lab as its defaults."""
    lab, _role = lab_get_for_member(user=request.user, lab_slug=lab_slug)
    _codelab(lab)
    return _download(client_script(server=_server_url(request), lab_slug=lab.slug), "dlcv_submit.py")


@login_required
@require_GET
def lab_student_file_download(request: HttpRequest, lab_slug: str, filename: str) -> HttpResponse:
    """One of the lab spec's ``student_files`` (e.g. saved weights); nothing else of its folder."""
    lab, _role = lab_get_for_member(user=request.user, lab_slug=lab_slug)
    try:
        content = _codelab(lab).student_file(filename)
    except KeyError:
        raise Http404("No such file.") from None
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return _download(content, filename, PYTHON_CONTENT_TYPE if filename.endswith(".py") else content_type)


# --------------------------------------------------------------------------- a submission


@login_required
@require_GET
@never_cache
def submission_page(request: HttpRequest, submission_id: int) -> HttpResponse:
    submission = submission_get_for_user(user=request.user, submission_id=submission_id)
    context = {**_submission_panels(request, submission)["context"], **_base_context(request),
               "config": {"strings": presenters.lab_strings()}}
    return render(request, "labs/submission.html", context)


@json_login_required
@require_GET
@never_cache
def submission_state(request: HttpRequest, submission_id: int) -> HttpResponse:
    """The grading state for the page's polling: status, "delayed", and the rendered HTML to show."""
    try:
        submission = submission_get_for_user(user=request.user, submission_id=submission_id)
    except Http404:
        return json_error(404, "not_found", _("No such submission."))
    panels = _submission_panels(request, submission)
    result = panels["context"]["result"]
    return JsonResponse({
        "id": submission.pk,
        **panels["context"]["state"],
        # Points after the lab's attempts and late policies, out of the result's max_points.
        "points": float(submission.points) if submission.points is not None else None,
        "max_points": result["max_points"],
        "status_html": panels["status_html"],
        "result_html": panels["result_html"],
    })


@login_required
@require_GET
@csp_update({"style-src": [UNSAFE_INLINE]})  # matplotlib's SVG styles its own elements inline (no scripts)
def submission_pr_curve(request: HttpRequest, submission_id: int, part_key: str) -> HttpResponse:
    """The precision/recall picture of a graded detection part (cached per submission and grading)."""
    submission = submission_get_for_user(user=request.user, submission_id=submission_id)
    graded = presenters.submission_pr_graded_part(submission, part_key)
    if graded is None:
        raise Http404("No precision/recall curve here.")
    reveal = answers_visible(user=request.user, lab=submission.lab)  # type: ignore[arg-type]
    finished = submission.finished_at.isoformat() if submission.finished_at else ""
    cache_key = f"labs:pr-svg:v1:{submission.pk}:{part_key}:{submission.result_writes}:{finished}:{int(reveal)}"
    svg = cache.get(cache_key)
    if svg is None:
        svg = presenters.submission_pr_svg(submission, graded, reveal)
        cache.set(cache_key, svg, PR_CURVE_CACHE_SECONDS)
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    response["Cache-Control"] = "private, no-cache"  # the correct curve appears when the lab closes
    response["X-Content-Type-Options"] = "nosniff"
    return response
