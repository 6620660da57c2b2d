"""Student lab pages: a course's labs, one lab (the student's own variant), a submission graded live,
and its pictures (the answer grid with wrong cells marked, the precision/recall curve).

Coding labs (``lab.kind == "code"``) have a page of their own: the grader spec's statement, an
editor that submits through the JSON API (``static/js/codelab.js``), the latest result, and the
downloads (starter.py, public_tests.py, dlcv_submit.py with this site and lab filled in). The model
solution (``CodeLab.solution()``) is never served; results show a whitelist of the stored result.

Views validate, call one service and render. Labs and submissions come only from ``labs.access``;
reads from ``labs.selectors``; the answer widgets are the quiz pages' own
(``quizzes.presenters.part_widget``/``fill_widgets`` and ``templates/quizzes/_widget.html``).

What feedback reveals. Right after grading a student sees what the stored result holds and nothing
more: each part's score, the feedback, the named misconceptions, and for every matrix or vector
entry whether it is right (the result never holds an expected value). The correct values of the
variant (answer grids, the correct precision/recall curve, the correct TP/FP table) are computed
only once the lab is closed for submissions — the due date plus any late days
(``labs.selectors.lab_answers_revealed``); a lab without a due date never shows them. Course staff
see them at any time.

The submit endpoint takes a form POST (``answers`` as JSON text, ``idempotency_key``) or, from
``static/js/labs.js``, JSON with an ``Idempotency-Key`` header; JSON errors are
``{"code", "message"}`` with 400 (format errors, plus ``errors``: nothing stored, no attempt used),
401 (logged out), 404 (not yours) or 409 (refused: closed, attempts used up …).
"""

from __future__ import annotations

import io
import json
import mimetypes
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache, wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from accounts.access import course_get_for_member, user_is_staff_of_course
from accounts.models import STAFF_ROLES, User
from accounts.selectors import user_sees_instructor_link
from grader.answers import AnswerFormatError
from grader.codelabs import CodeLab, get_codelab
from grader.codelabs.public import public_tests_script
from grader.problems import get_family
from grader.problems.base import Part, ProblemFamily, tr
from labs.access import lab_get_for_member, submission_get_for_user
from labs.client import client_script
from labs.models import Lab, LabKind, LabPart, Submission, SubmissionStatus
from labs.selectors import (
    lab_answers_revealed,
    lab_closes_at,
    lab_row_for_student,
    lab_submissions_for_student,
    labs_for_student,
)
from labs.services import (
    MAX_SOURCE_BYTES,
    SubmissionInvalid,
    SubmissionRefused,
    lab_part_params,
    lab_variant_seed,
    submission_create,
)
from quizzes import presenters

#: A submission queued or being graded for longer than this shows "grading delayed" (not an error).
DELAYED_AFTER = timedelta(seconds=10)
#: Coding labs take longer: one sandboxed job at a time per worker, each up to its wall-clock limit.
CODE_DELAYED_AFTER = timedelta(seconds=60)
IDEMPOTENCY_KEY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")  # visible ASCII, as HTTP headers carry it
#: Families whose matrix answers are the output grid of an operation: shown as the grid, wrong cells marked.
GRID_FAMILIES = frozenset({"conv-by-hand", "image-filter", "pool-unpool"})
#: Families whose parts are a detection's TP/FP, precision and recall table: shown as a PR curve.
PR_CURVE_FAMILIES = frozenset({"detection-map"})
PR_CURVE_CACHE_SECONDS = 24 * 3600

# --------------------------------------------------------------------------- helpers


def _flang() -> str:
    """The grader's language for the active Django language."""
    return presenters.family_lang(get_language() or "zh-hant")


def _base_context(request: HttpRequest) -> dict[str, Any]:
    return {"is_course_staff": user_sees_instructor_link(user=request.user)}


def _error(status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, **extra}, status=status)


def _wants_json(request: HttpRequest) -> bool:
    return request.content_type == "application/json" or "application/json" in request.headers.get("Accept", "")


def _login_required_json(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """``login_required`` that answers a script (JSON) with 401 rather than a redirect to a form."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            if _wants_json(request):
                return _error(401, "login_required", _("You are logged out. Log in again in another tab."))
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


def _reveal(user: User, lab: Lab, now: datetime | None = None) -> bool:
    """Correct values are shown once the lab is closed for submissions, or to the course's staff."""
    return lab_answers_revealed(lab=lab, now=now) or user_is_staff_of_course(user=user, course_id=lab.course_id)


@lru_cache(maxsize=2048)
def _statement_html(family: str, params_json: str, flang: str) -> SafeString:
    # Rendering Markdown + MathML is the expensive part of the page; a variant's statement never changes.
    return presenters.markdown_html(get_family(family).render(json.loads(params_json), flang))


def _widget_view(family: ProblemFamily, params: Mapping[str, Any], flang: str) -> dict[str, Any]:
    """The quiz pages' widget view of a family variant (``qtype`` "param": one widget per answer box)."""
    return {"type": "param", "widgets": [presenters.part_widget(box, flang) for box in family.parts(dict(params))]}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.4g}"
    return str(value)


# --------------------------------------------------------------------------- the lab list and a lab


@login_required
@require_GET
def lab_list(request: HttpRequest, course_slug: str) -> HttpResponse:
    course, role = course_get_for_member(user=request.user, course_slug=course_slug)
    rows = labs_for_student(user=request.user, course=course, include_unpublished=role in STAFF_ROLES)
    now = timezone.now()
    entries = [{"row": row, **_lab_window(row.lab, now)} for row in rows]
    return render(request, "labs/lab_list.html", {"course": course, "role": role, "entries": entries,
                                                  **_base_context(request)})


def _lab_window(lab: Lab, now: datetime) -> dict[str, Any]:
    """Informational only (``submission_create`` decides): is the lab open, late or closed?"""
    closes = lab_closes_at(lab=lab)
    late = lab.due_at is not None and now > lab.due_at and closes is not None and now <= closes and closes > lab.due_at
    return {"closes_at": closes, "late": late, "closed": closes is not None and now > closes}


def _part_entries(
    parts: Sequence[LabPart], seed: int, flang: str, answers: Any, errors: Mapping[str, Mapping[str, str]]
) -> list[dict[str, Any]]:
    """Each part of the student's variant: statement, widgets (holding ``answers``), format errors."""
    answers = answers if isinstance(answers, Mapping) else {}
    entries = []
    for part in parts:
        family = get_family(part.family)
        params = lab_part_params(part=part, seed=seed)
        view = _widget_view(family, params, flang)
        raw = answers.get(part.key)
        labels = {w["name"]: w["label"] for w in view["widgets"]}
        entries.append({
            "part": part,
            "ns": {"item": {"id": part.key}},  # the widget template's id prefix: w-<part key>-<box>
            "statement_html": _statement_html(part.family, json.dumps(params, sort_keys=True), flang),
            "widgets": presenters.fill_widgets(view, {"parts": raw if isinstance(raw, Mapping) else {}}),
            "errors": [{"label": labels.get(name, ""), "message": message}
                       for name, message in (errors.get(part.key) or {}).items()],
        })
    return entries


def lab_strings() -> dict[str, str]:
    """labs.js's messages, translated here so the script holds no text of its own."""
    return {
        "submitting": _("Submitting…"),
        "invalid": _("Some answers could not be read. Fix the marked boxes and submit again; this did not use an attempt."),
        "format_error": _("Format error (this costs no attempt):"),
        "network": _("Network error: your answers were not sent. Submit again (it will not count twice)."),
        "error": _("Something went wrong; please try again."),
        "row": _("Row %(r)s, column %(c)s"),
        "confirm_regrade": _("Regrade every graded submission of this lab? Scores may change."),
        "regrade_progress": _("%(done)s of %(total)s submissions graded"),
        "regrade_done": _("Regrade finished. Reload the page to see the new statistics."),
    }


def _render_lab_page(
    request: HttpRequest, lab: Lab, role: str, *, answers: Any = None,
    errors: Mapping[str, Mapping[str, str]] | None = None, status: int = 200,
) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    now = timezone.now()
    submissions = list(lab_submissions_for_student(user=user, lab=lab))
    if answers is None and submissions:
        answers = submissions[0].answers  # start from the latest submission: fix it, submit again
    row = lab_row_for_student(user=user, lab=lab)
    errors = errors or {}
    parts = _part_entries(list(lab.parts.order_by("position")), lab_variant_seed(lab=lab, user=user), _flang(),
                          answers, errors)
    unplaced = [message for key, box in errors.items() if key not in {p["part"].key for p in parts}
                for message in box.values()]
    context = {
        "lab": lab, "course": lab.course, "role": role, "row": row, "parts": parts, "submissions": submissions,
        "description_html": presenters.markdown_html(lab.description) if lab.description else "",
        "has_errors": bool(errors), "unplaced_errors": unplaced,
        "idempotency_key": uuid.uuid4().hex,  # a no-script double submit of this form counts once
        "config": {"strings": lab_strings()},
        **_lab_window(lab, now),
        **_base_context(request),
    }
    return render(request, "labs/lab_page.html", context, status=status)


@login_required
@require_GET
@ensure_csrf_cookie
def lab_page(request: HttpRequest, lab_slug: str) -> HttpResponse:
    lab, role = lab_get_for_member(user=request.user, lab_slug=lab_slug)
    if lab.kind == LabKind.CODE:
        return _render_code_lab_page(request, lab, role)
    return _render_lab_page(request, lab, role)


class _BadRequest(Exception):
    pass


def _submit_input(request: HttpRequest) -> tuple[Any, str]:
    """``(answers, idempotency key)`` from a JSON body (key in the header) or the page's form."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise _BadRequest(_("The request could not be read (not JSON).")) from None
        if not isinstance(data, dict) or "answers" not in data:
            raise _BadRequest(_("The request has no answers in it."))
        answers, key = data["answers"], request.headers.get("Idempotency-Key", "")
    else:
        text = request.POST.get("answers", "")
        try:
            answers = json.loads(text) if text.strip() else {}
        except ValueError:
            raise _BadRequest(_("The answers could not be read (not JSON).")) from None
        key = request.POST.get("idempotency_key", "")
    if key and not IDEMPOTENCY_KEY_RE.match(key):
        raise _BadRequest(_("The Idempotency-Key must be 1–200 visible ASCII characters."))
    return answers, key


@_login_required_json
@require_POST
def lab_submit(request: HttpRequest, lab_slug: str) -> HttpResponse:
    lab, role = lab_get_for_member(user=request.user, lab_slug=lab_slug)
    as_json = _wants_json(request)
    if lab.kind == LabKind.CODE:  # the code lab page and dlcv_submit.py post to the API
        message = _("Submit coding labs from the lab's page or with dlcv_submit.py.")
        if as_json:
            return _error(400, "bad_request", message)
        messages.error(request, message)
        return redirect("lab-page", lab_slug=lab.slug)
    try:
        answers, key = _submit_input(request)
    except _BadRequest as exc:
        if as_json:
            return _error(400, "bad_request", str(exc))
        messages.error(request, str(exc))
        return redirect("lab-page", lab_slug=lab.slug)
    try:
        outcome = submission_create(user=request.user, lab=lab, answers=answers, idempotency_key=key, lang=_flang())
    except SubmissionInvalid as exc:
        if as_json:
            return _error(400, "invalid", lab_strings()["invalid"], errors=exc.errors)
        return _render_lab_page(request, lab, role, answers=answers, errors=exc.errors, status=400)
    except SubmissionRefused as exc:
        if as_json:
            return _error(409, exc.code, exc.message)
        messages.error(request, exc.message)
        return redirect("lab-page", lab_slug=lab.slug)
    submission = outcome.submission
    url = reverse("submission-page", args=[submission.pk])
    if as_json:
        return JsonResponse(
            {"id": submission.pk, "url": url, "state_url": reverse("submission-state", args=[submission.pk]),
             "created": outcome.created, "status": submission.status},
            status=201 if outcome.created else 200,
        )
    return redirect(url)


# --------------------------------------------------------------------------- coding labs
#
# A coding lab's page states the grader's lab spec (``grader.codelabs``) and holds an editor that
# submits through the JSON API (``static/js/codelab.js``); its downloads are the starter file, the
# generated public tests and the terminal client. The model solution is never served.

PYTHON_CONTENT_TYPE = "text/x-python; charset=utf-8"
#: What one test's status is called on the pages (the stored result says passed/failed/error/not_run).
TEST_STATUS_LABELS = {
    "passed": gettext_lazy("Passed"),
    "failed": gettext_lazy("Failed"),
    "error": gettext_lazy("Error"),
    "not_run": gettext_lazy("Not run"),
}
_HEADING_TAG = re.compile(r"<(/?)h([1-5])>")


def _codelab(lab: Lab) -> CodeLab:
    """The grader spec a coding lab runs; 404 for a numeric lab (it has no code downloads)."""
    if lab.kind != LabKind.CODE or not lab.codelab:
        raise Http404("Not a coding lab.")
    try:
        return get_codelab(lab.codelab)
    except KeyError:
        raise Http404("No such coding lab.") from None


@lru_cache(maxsize=64)
def _codelab_statement_html(markdown: str) -> SafeString:
    """The statement as HTML, its headings one level down (the page's title is the only <h1>)."""
    html = str(presenters.markdown_html(markdown))  # raw HTML in the source is escaped: tags here are ours
    return mark_safe(_HEADING_TAG.sub(lambda m: f"<{m.group(1)}h{int(m.group(2)) + 1}>", html))


def _url_template(name: str) -> str:
    """A URL with ``{id}`` where a submission's id goes, for the page's script."""
    return reverse(name, args=[987654321]).replace("987654321", "{id}")


def _points(value: Any) -> str:
    """1.5 → "1.5", 2.0 → "2" (points are quarters and halves; never "1.50")."""
    try:
        return f"{round(float(value), 2):g}"
    except (TypeError, ValueError):
        return "—"


def code_result_view(result: Mapping[str, Any] | None, flang: str) -> dict[str, Any] | None:
    """What the pages show of a graded coding submission: a whitelist of the stored result (never
    the checks' ``detail``, which may hold expected values), messages in ``flang``."""
    code = (result or {}).get("code")
    if not isinstance(code, Mapping):
        return None

    def pick(message: Any) -> str:
        return tr(message, flang) if isinstance(message, Mapping) else str(message or "")

    tests = []
    for test in code.get("tests") or []:
        if not isinstance(test, Mapping):
            continue
        status = str(test.get("status") or "error")
        status = status if status in TEST_STATUS_LABELS else "error"
        tests.append({
            "name": str(test.get("name") or ""), "title": str(test.get("title") or test.get("name") or ""),
            "public": bool(test.get("public")), "function": str(test.get("function") or ""),
            "points": _points(test.get("points")), "earned": _points(test.get("earned")),
            "passed": bool(test.get("passed")),
            "status": status, "status_label": TEST_STATUS_LABELS[status], "message": pick(test.get("message")),
            "seconds": test.get("seconds"), "traceback": str(test.get("traceback") or ""),
        })
    resources = code.get("resources") if isinstance(code.get("resources"), Mapping) else {}
    exit_info = resources.get("exit") if isinstance(resources.get("exit"), Mapping) else {}
    return {
        "tests": tests,
        "passed": sum(t["passed"] for t in tests),
        "summary": pick(code.get("summary")) if code.get("summary") else "",
        "stdout": str(code.get("stdout") or ""),
        "stderr": str(code.get("stderr") or ""),
        "output_truncated": bool(code.get("output_truncated")),
        "resources": {
            "wall_seconds": resources.get("wall_seconds"), "cpu_seconds": resources.get("cpu_seconds"),
            "max_rss_mb": resources.get("max_rss_mb"), "exit_code": exit_info.get("exit_code"),
            "signal": exit_info.get("signal"), "timed_out": bool(exit_info.get("timed_out")),
        },
    }


def code_lab_strings() -> dict[str, str]:
    """codelab.js's messages (the script holds no text of its own)."""
    return {
        "submitting": _("Submitting…"),
        "submitted": _("Submitted: submission %(n)s is being graded."),
        "already": _("Already submitted: this is submission %(n)s."),
        "invalid": _("Your code was not accepted (this costs no attempt):"),
        "empty": _("The editor is empty: write or load your code first."),
        "network": _("Network error: your code was not sent. Submit again (it will not count twice)."),
        "logged_out": _("You are logged out. Log in again in another tab, then submit again."),
        "too_large": _("The file is larger than %(kb)d KB.") % {"kb": MAX_SOURCE_BYTES // 1024},
        "too_many": _("Too many submissions in a short time. Wait a minute and submit again."),
        "error": _("Something went wrong; please try again."),
        "not_py": _("Choose a Python file ending in .py."),
        "loaded": _("Loaded %(name)s into the editor. Submit it when you are ready."),
        "not_utf8": _("%(name)s is not UTF-8 text: some characters could not be read. Save it as UTF-8."),
        "read_error": _("The file could not be read."),
        "draft_restored": _("Restored the draft you had not submitted (saved in this browser)."),
        "submission": _("Submission %(n)s"),
        "queued": _("Queued"),
    }


def _server_url(request: HttpRequest) -> str:
    """The site's address as the terminal client should use it (scheme, host and any prefix)."""
    return request.build_absolute_uri(get_script_prefix()).rstrip("/")


def _render_code_lab_page(request: HttpRequest, lab: Lab, role: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    spec = _codelab(lab)
    flang = _flang()
    # The history needs no sources or results (each may be large); the latest one is loaded whole.
    history = list(lab_submissions_for_student(user=user, lab=lab).defer("source_code", "result", "answers", "variant"))
    latest = Submission.objects.select_related("lab__course").get(pk=history[0].pk) if history else None
    latest_panel: dict[str, Any] = {}
    if latest is not None:
        latest_context = _submission_context(request, latest)
        latest_panel = {
            "submission": latest, "state": latest_context["state"],
            "status_html": render_to_string("labs/_submission_status.html", latest_context, request=request),
            "result_html": render_to_string("labs/_submission_result.html", latest_context, request=request)
            if latest_context["state"]["done"] else "",
        }
    source = latest.source_code if latest is not None and latest.source_code else spec.starter()
    context = {
        "lab": lab, "course": lab.course, "role": role, "row": lab_row_for_student(user=user, lab=lab),
        "spec_title": tr(spec.title, flang),
        "statement_html": _codelab_statement_html(spec.statement(flang)),
        "functions": spec.functions, "limits": spec.limits, "student_files": spec.student_files,
        "source": source, "submissions": history, "latest": latest_panel,
        "max_kb": MAX_SOURCE_BYTES // 1024, "server_url": _server_url(request),
        "labs_config": {"strings": lab_strings()},
        "config": {
            "strings": code_lab_strings(),
            "submit_url": reverse("api-submission-create", kwargs={"lab_slug": lab.slug}),
            "state_url": _url_template("submission-state"),
            "page_url": _url_template("submission-page"),
            "draft_key": f"dlcv:code-draft:{user.pk}:{lab.slug}",
            "lang": flang,
            "max_bytes": MAX_SOURCE_BYTES,
        },
        **_lab_window(lab, timezone.now()),
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


def _state(submission: Submission, now: datetime) -> dict[str, Any]:
    pending = submission.status in (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING)
    since = submission.enqueued_at or submission.created_at
    delayed_after = CODE_DELAYED_AFTER if submission.lab.kind == LabKind.CODE else DELAYED_AFTER
    return {
        "status": submission.status,
        "label": submission.get_status_display(),
        "pending": pending,
        "done": not pending,
        # Past this the student is told the grading is late, never that something failed.
        "delayed": pending and since is not None and now - since > delayed_after,
    }


def _entries(family: ProblemFamily, box: Part, raw: Any) -> list[str] | None:
    """A vector-like answer's entries as the student typed them (parsed), or None."""
    if raw is None or box.kind == "matrix":
        return None
    try:
        value = family.parse_part(box, raw)
    except (AnswerFormatError, ValueError, TypeError):
        return None
    if not isinstance(value, list):
        return None
    if box.name == "tp":  # detection-map's TP/FP flags
        return ["TP" if v else "FP" for v in value]
    return [_fmt(v) for v in value]


def _box_entries(
    family: ProblemFamily, params: dict[str, Any], raw: Mapping[str, Any], items: Mapping[str, Mapping[str, Any]],
    flang: str, reveal: bool,
) -> list[dict[str, Any]]:
    boxes = family.parts(params)
    view = _widget_view(family, params, flang)
    widgets = presenters.fill_widgets(view, {"parts": dict(raw)}, {"parts": list(items.values())})
    solutions = {s["name"]: s for s in presenters.param_solution_parts(family, params, flang)} if reveal else {}
    out = []
    for box, widget in zip(boxes, widgets, strict=True):
        item = items.get(box.name) or {}
        cells = item.get("cells")
        entry: dict[str, Any] = {
            "name": box.name, "label": widget["label"], "correct": item.get("correct"),
            "points": item.get("points"), "max_points": item.get("max_points"),
            "feedback_html": presenters.markdown_html(str(item.get("feedback") or "")),
            "solution": solutions.get(box.name),
        }
        if widget["kind"] == "matrix":
            entry["widget"] = widget
            entry["wrong_cells"] = [(c["row"], c["col"]) for row in widget.get("grid", []) for c in row if c["ok"] is False]
        else:
            value = raw.get(box.name)
            entry["text"] = "" if value is None else value if isinstance(value, str) else json.dumps(value)
            values = _entries(family, box, value)
            marks = cells[0] if isinstance(cells, list) and len(cells) == 1 and isinstance(cells[0], list) else None
            if values is not None and marks is not None and len(marks) == len(values):
                entry["strip"] = [{"value": v, "ok": bool(ok)} for v, ok in zip(values, marks, strict=True)]
        out.append(entry)
    return out


def _pr_table(family: ProblemFamily, params: dict[str, Any], raw: Mapping[str, Any],
              items: Mapping[str, Mapping[str, Any]], reveal: bool) -> list[dict[str, Any]]:
    """The TP/FP table as the student wrote it, entry by entry right or wrong; correct values if revealed."""
    given: dict[str, Any] = {}
    for box in family.parts(params):
        if box.name in ("tp", "precision", "recall"):
            try:
                given[box.name] = family.parse_part(box, raw.get(box.name))
            except (AnswerFormatError, ValueError, TypeError):
                given[box.name] = []
    expected = family.solve(params) if reveal else {}
    n = max((len(v) for v in given.values()), default=0)

    def mark(name: str, i: int) -> bool | None:
        cells = (items.get(name) or {}).get("cells")
        row = cells[0] if isinstance(cells, list) and cells and isinstance(cells[0], list) else []
        return bool(row[i]) if i < len(row) else None

    rows = []
    for i in range(n):
        def at(values: Any, i: int = i) -> Any:
            return values[i] if isinstance(values, list) and i < len(values) else None
        tp, precision, recall = at(given.get("tp")), at(given.get("precision")), at(given.get("recall"))
        row: dict[str, Any] = {
            "rank": i + 1,
            "tp": "" if tp is None else ("TP" if tp else "FP"), "tp_ok": mark("tp", i),
            "precision": "" if precision is None else _fmt(float(precision)), "precision_ok": mark("precision", i),
            "recall": "" if recall is None else _fmt(float(recall)), "recall_ok": mark("recall", i),
        }
        if reveal:
            row["correct"] = {"tp": "TP" if at(expected.get("tp")) else "FP",
                              "precision": _fmt(float(at(expected.get("precision")) or 0.0)),
                              "recall": _fmt(float(at(expected.get("recall")) or 0.0))}
        rows.append(row)
    return rows


def _result_entries(submission: Submission, flang: str, reveal: bool) -> list[dict[str, Any]]:
    result = submission.result or {}
    answers = submission.answers if isinstance(submission.answers, Mapping) else {}
    entries = []
    for position, graded in enumerate(result.get("parts") or [], start=1):
        if not isinstance(graded, Mapping):
            continue
        key, family_name = str(graded.get("key")), str(graded.get("family"))
        params = (submission.variant or {}).get(key)
        try:
            family = get_family(family_name)
        except KeyError:
            family = None
        messages_by_tag = {m.tag: m.message(flang) for m in family.misconceptions} if family else {}
        entry: dict[str, Any] = {
            "position": position, "key": key, "title": graded.get("title") or key,
            "points": graded.get("points"), "max_points": graded.get("max_points"),
            "score": graded.get("score"), "correct": graded.get("correct"),
            "misconceptions": [{"tag": tag, "message_html": presenters.markdown_html(messages_by_tag.get(tag, ""))}
                               for tag in graded.get("misconceptions") or []],
            "ns": {"item": {"id": f"s{submission.pk}-{key}"}},
            "grid_family": family_name in GRID_FAMILIES,
            "feedback_html": presenters.markdown_html(str(graded.get("feedback") or "")),
            "boxes": [],
        }
        raw = answers.get(key) if isinstance(answers.get(key), Mapping) else {}
        items = {str(i.get("name")): i for i in graded.get("items") or [] if isinstance(i, Mapping)}
        if family is not None and isinstance(params, dict) and items:
            entry["boxes"] = _box_entries(family, params, raw, items, flang, reveal)
            if family_name in PR_CURVE_FAMILIES and _has_pr_boxes(family, params):
                entry["pr"] = {
                    "svg_url": reverse("submission-pr-curve", args=[submission.pk, key]),
                    "rows": _pr_table(family, params, raw, items, reveal),
                }
        entries.append(entry)
    return entries


def _submission_context(request: HttpRequest, submission: Submission) -> dict[str, Any]:
    now = timezone.now()
    lab = submission.lab
    state = _state(submission, now)
    reveal = state["done"] and _reveal(request.user, lab, now)  # type: ignore[arg-type]
    result = submission.result or {}
    context: dict[str, Any] = {
        "submission": submission, "lab": lab, "course": lab.course, "state": state, "reveal": reveal,
        "closes_at": lab_closes_at(lab=lab), "owner": submission.user_id == request.user.id,
        "result": result,
        "attempt_factor": result.get("attempt_factor", 1) if result else 1,
        "late_factor": result.get("late_factor", 1) if result else 1,
    }
    if submission.status == SubmissionStatus.GRADED:
        if lab.kind == LabKind.CODE:
            context["code"] = code_result_view(result, _flang())
        else:
            context["parts"] = _result_entries(submission, _flang(), reveal)
    return context


@login_required
@require_GET
@never_cache
def submission_page(request: HttpRequest, submission_id: int) -> HttpResponse:
    submission = submission_get_for_user(user=request.user, submission_id=submission_id)
    context = {**_submission_context(request, submission), **_base_context(request),
               "config": {"strings": lab_strings()}}
    return render(request, "labs/submission.html", context)


@_login_required_json
@require_GET
@never_cache
def submission_state(request: HttpRequest, submission_id: int) -> HttpResponse:
    """The grading state for the page's polling: status, "delayed", and the rendered HTML to show."""
    try:
        submission = submission_get_for_user(user=request.user, submission_id=submission_id)
    except Http404:
        return _error(404, "not_found", _("No such submission."))
    context = _submission_context(request, submission)
    state = context["state"]
    return JsonResponse({
        "id": submission.pk,
        **state,
        "score": float(submission.score) if submission.score is not None else None,
        "points": (submission.result or {}).get("points"),
        "max_points": (submission.result or {}).get("max_points"),
        "status_html": render_to_string("labs/_submission_status.html", context, request=request),
        "result_html": render_to_string("labs/_submission_result.html", context, request=request)
        if state["done"] else "",
    })


# --------------------------------------------------------------------------- the precision/recall curve


def _envelope(precision: Sequence[float]) -> list[float]:
    """Interpolated precision: the best precision at this row or any later (higher-recall) one."""
    out: list[float] = []
    best = 0.0
    for value in reversed(precision):
        best = max(best, value)
        out.append(best)
    return out[::-1]


def pr_curve_svg(
    *, recall: Sequence[float], precision: Sequence[float], right: Sequence[bool | None],
    correct: tuple[Sequence[float], Sequence[float]] | None = None,
) -> str:
    """The student's (recall, precision) points, wrong ones crossed out, and — only when ``correct``
    is given — the correct points and their interpolated-precision step curve, as an SVG document.

    Language-neutral on purpose (axis names are the terms the course uses in both languages; the
    legend is HTML beside the picture), so no CJK glyphs are needed by matplotlib. Element ids:
    ``your-points``, ``your-wrong-points``, ``correct-curve``, ``correct-points``."""
    import matplotlib

    matplotlib.use("Agg")  # no display; the Figure API below never touches pyplot's global state
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "dlcv-pr-curve", "font.size": 10}):
        figure = Figure(figsize=(4.8, 3.6), layout="constrained")
        axes = figure.add_subplot()
        if correct is not None:
            c_recall, c_precision = list(correct[0]), list(correct[1])
            envelope = _envelope(c_precision)
            (curve,) = axes.step([0.0, *c_recall], [envelope[0] if envelope else 0.0, *envelope], where="pre",
                                 color="#1b7f3b", linewidth=2)
            curve.set_gid("correct-curve")
            (dots,) = axes.plot(c_recall, c_precision, linestyle="none", marker="s", markersize=5, color="#1b7f3b")
            dots.set_gid("correct-points")
        n = min(len(recall), len(precision))
        (mine,) = axes.plot(recall[:n], precision[:n], linestyle=":", marker="o", markersize=6, color="#0b5cad")
        mine.set_gid("your-points")
        wrong = [i for i in range(n) if i < len(right) and right[i] is False]
        if wrong:
            (bad,) = axes.plot([recall[i] for i in wrong], [precision[i] for i in wrong], linestyle="none",
                               marker="x", markersize=11, markeredgewidth=2.2, color="#b00020")
            bad.set_gid("your-wrong-points")
        axes.set_xlim(-0.03, 1.05)
        axes.set_ylim(-0.03, 1.05)
        axes.set_xlabel("recall")
        axes.set_ylabel("precision")
        axes.grid(True, color="#dddddd", linewidth=0.6)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _has_pr_boxes(family: ProblemFamily, params: Mapping[str, Any]) -> bool:
    """Whether this variant asks for a precision/recall table (COCO-style variants do not)."""
    return {"precision", "recall"} <= {box.name for box in family.parts(params)}


def _submission_pr_svg(submission: Submission, key: str, reveal: bool) -> str:
    graded = next(p for p in (submission.result or {}).get("parts") or [] if p.get("key") == key)
    family = get_family(graded["family"])
    params = submission.variant[key]
    raw = (submission.answers or {}).get(key) or {}
    items = {i.get("name"): i for i in graded.get("items") or []}
    values: dict[str, list[float]] = {}
    marks: dict[str, list[bool]] = {}
    for box in family.parts(params):
        if box.name in ("precision", "recall"):
            try:
                values[box.name] = [float(v) for v in family.parse_part(box, raw.get(box.name))]
            except (AnswerFormatError, ValueError, TypeError):
                values[box.name] = []
            cells = (items.get(box.name) or {}).get("cells") or [[]]
            marks[box.name] = [bool(c) for c in cells[0]]
    n = min(len(values.get("recall", [])), len(values.get("precision", [])))
    right: list[bool | None] = []
    for i in range(n):
        ok = [m[i] for m in marks.values() if i < len(m)]
        right.append(all(ok) if ok else None)
    correct = None
    if reveal:
        expected = family.solve(params)
        correct = ([float(v) for v in expected["recall"]], [float(v) for v in expected["precision"]])
    return pr_curve_svg(recall=values.get("recall", [])[:n], precision=values.get("precision", [])[:n],
                        right=right, correct=correct)


@login_required
@require_GET
def submission_pr_curve(request: HttpRequest, submission_id: int, part_key: str) -> HttpResponse:
    """The precision/recall picture of a graded detection part (cached per submission and grading)."""
    submission = submission_get_for_user(user=request.user, submission_id=submission_id)
    parts = (submission.result or {}).get("parts") or []
    graded = next((p for p in parts if isinstance(p, Mapping) and p.get("key") == part_key), None)
    if (submission.status != SubmissionStatus.GRADED or graded is None
            or graded.get("family") not in PR_CURVE_FAMILIES or part_key not in (submission.variant or {})
            or not _has_pr_boxes(get_family(graded["family"]), submission.variant[part_key])):
        raise Http404("No precision/recall curve here.")
    reveal = _reveal(request.user, submission.lab)  # type: ignore[arg-type]
    finished = submission.finished_at.isoformat() if submission.finished_at else ""
    cache_key = f"labs:pr-svg:v1:{submission.pk}:{part_key}:{submission.result_writes}:{finished}:{int(reveal)}"
    svg = cache.get(cache_key)
    if svg is None:
        svg = _submission_pr_svg(submission, part_key, reveal)
        cache.set(cache_key, svg, PR_CURVE_CACHE_SECONDS)
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    response["Cache-Control"] = "private, no-cache"  # the correct curve appears when the lab closes
    response["X-Content-Type-Options"] = "nosniff"
    return response
