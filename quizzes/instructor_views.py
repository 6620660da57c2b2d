"""Instructor pages under /instructor/courses/<course_slug>/: the bank browser and editor, and the
assessment builder. Views validate input, call one service (or selectors) and render."""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import course_get_for_staff
from accounts.models import Course
from dlcv_site.http import json_login_required
from quizzes.access import (
    assessment_get_for_staff,
    assessment_item_get_for_staff,
    question_get_for_staff,
)
from quizzes.bank.format import BankError, BankValidationError
from quizzes.instructor_forms import (
    MAX_SEED,
    AssessmentForm,
    BankDownloadForm,
    BankExportForm,
    BankFilterForm,
    ConflictResolveForm,
    ExtensionForm,
    ItemMoveForm,
    ItemPoolForm,
    ItemQuestionForm,
    MoodleImportForm,
    PreviewForm,
    QuestionSourceForm,
    QuestionTypeForm,
)
from quizzes.instructor_selectors import (
    BANK_PAGE_SIZE,
    BankFilters,
    QuestionPreview,
    assessment_extensions,
    assessment_item_rows,
    assessment_warnings,
    assessments_for_course,
    bank_browser_edited,
    bank_conflicts,
    bank_questions,
    bank_tags,
    course_students,
    default_template_topic,
    question_answer_count,
    question_preview,
    question_template,
    question_versions,
    questions_search,
    topics_all,
)
from quizzes.models import Assessment, Question, QuestionType, Topic
from quizzes.presenters import COURSE_CONTENT_LANG
from quizzes.services.attempts import PRACTICE_REVEAL_AFTER
from quizzes.services.authoring import (
    assessment_create,
    assessment_item_add,
    assessment_item_move,
    assessment_item_remove,
    assessment_release_results,
    assessment_update,
    extension_set,
    question_create_from_source,
    question_is_editable,
    question_save_source,
    question_source_check,
)
from quizzes.services.bank import BankConflictMissing, bank_conflict_resolve
from quizzes.services.bank_files import bank_zip
from quizzes.services.exchange import bank_export, bank_import_moodle, lms_skipped

# Course times are entered and shown in the course's time zone, whatever the server's is.
COURSE_TIME_ZONE = ZoneInfo("Asia/Taipei")
PREVIEW_TEMPLATE = "quizzes/instructor/_question_preview.html"

View = Callable[..., HttpResponse]


def in_course_time_zone(view: View) -> View:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> HttpResponse:
        with timezone.override(COURSE_TIME_ZONE):
            return view(*args, **kwargs)

    return wrapper


def _topic_label(topic: Topic) -> str:
    name = topic.name_en if (get_language() or "").startswith("en") else topic.name_zh
    return f"{name} ({topic.slug})"


def _base_context(course: Course, **extra: Any) -> dict[str, Any]:
    # content_lang: the language of the assessments' titles and descriptions (course content).
    return {"course": course, "is_course_staff": True, "content_lang": COURSE_CONTENT_LANG, **extra}


def _seed(raw: str | None, default: int = 1) -> int:
    try:
        seed = int(raw or default)
    except ValueError:
        return default
    return seed if 0 <= seed <= MAX_SEED else default


# --------------------------------------------------------------------------- bank browser


@login_required
@require_GET
def bank_list(request: HttpRequest, course_slug: str) -> HttpResponse:
    course = course_get_for_staff(user=request.user, course_slug=course_slug)
    topics = topics_all()
    form = BankFilterForm(request.GET, topics=[(t.slug, _topic_label(t)) for t in topics], tags=bank_tags())
    form.is_valid()  # invalid fields are shown with their error and ignored
    data = form.cleaned_data
    page = Paginator(bank_questions(filters=_filters(data)), BANK_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "quizzes/instructor/bank_list.html", _base_context(
        course, form=form, page=page, querystring=query.urlencode(), type_form=QuestionTypeForm()))


# --------------------------------------------------------------------------- question view, editor, preview


def _check_and_preview(*, text: str, seed: int, bank_id: str | None = None,
                       creating: bool = False) -> tuple[QuestionPreview | None, list[BankError]]:
    """Validate the text as a save would; preview it when valid."""
    try:
        source = question_source_check(text=text, path=f"{bank_id or 'new-question'}.md", bank_id=bank_id,
                                       creating=creating)
    except BankValidationError as exc:
        return None, exc.errors
    return question_preview(qtype=source.type, content=source, seed=seed), []


@login_required
@require_GET
def question_detail(request: HttpRequest, course_slug: str, bank_id: str) -> HttpResponse:
    course, question = question_get_for_staff(user=request.user, course_slug=course_slug, bank_id=bank_id)
    version = question.current_version
    if version is None:
        raise Http404("This question has no content.")
    seed = _seed(request.GET.get("seed"))
    return render(request, "quizzes/instructor/question_detail.html", _base_context(
        course, question=question, version=version, seed=seed, editable=question_is_editable(question=question),
        preview=question_preview(qtype=question.type, content=version, seed=seed),
        versions=question_versions(question=question), answers=question_answer_count(question=question)))


def _editor_response(request: HttpRequest, course: Course, *, form: Form, question: Question | None,
                     preview: QuestionPreview | None, errors: list[BankError], status: int = 200) -> HttpResponse:
    seed = form["seed"].value() or 1
    # The language the source in the editor is written in: what it says (once it parses), else its question's.
    source_lang = preview.lang if preview else question.current_version.lang if question and question.current_version else ""
    return render(request, "quizzes/instructor/question_edit.html", _base_context(
        course, form=form, question=question, preview=preview, errors=errors, seed=seed, source_lang=source_lang,
        file_name=f"{question.bank_id}.md" if question else "new-question.md",
        preview_url=reverse("instructor-question-preview", args=[course.slug]),
        answers=question_answer_count(question=question) if question else 0,
        type_form=QuestionTypeForm(initial={"type": request.GET.get("type") or QuestionType.SINGLE})), status=status)


def _editor_post(request: HttpRequest) -> tuple[QuestionSourceForm, str]:
    """The bound form and the button pressed: preview, random-seed or save."""
    action = request.POST.get("action", "preview")
    data = request.POST.copy()
    if action == "random-seed":
        data["seed"] = str(random.randint(0, MAX_SEED))
    return QuestionSourceForm(data), action


@login_required
@require_http_methods(["GET", "POST"])
def question_edit(request: HttpRequest, course_slug: str, bank_id: str) -> HttpResponse:
    course, question = question_get_for_staff(user=request.user, course_slug=course_slug, bank_id=bank_id)
    version = question.current_version
    if version is None:
        raise Http404("This question has no content.")
    if not question_is_editable(question=question):
        seed = _seed(request.GET.get("seed"))
        return render(request, "quizzes/instructor/question_readonly.html", _base_context(
            course, question=question, version=version, seed=seed,
            preview=question_preview(qtype=question.type, content=version, seed=seed)),
            status=200 if request.method == "GET" else 400)
    if request.method == "GET":
        form = QuestionSourceForm(initial={"text": version.source_text, "seed": _seed(request.GET.get("seed"))})
        seed = _seed(request.GET.get("seed"))
        preview, errors = _check_and_preview(text=version.source_text, seed=seed, bank_id=question.bank_id)
        return _editor_response(request, course, form=form, question=question, preview=preview, errors=errors)
    form, action = _editor_post(request)
    if not form.is_valid():
        return _editor_response(request, course, form=form, question=question, preview=None, errors=[], status=400)
    text, seed = form.cleaned_data["text"], form.cleaned_data["seed"] or 0
    if action == "save":
        try:
            saved = question_save_source(user=request.user, question=question, text=text)
        except BankValidationError as exc:
            return _editor_response(request, course, form=form, question=question, preview=None,
                                    errors=exc.errors, status=400)
        messages.success(request, _("Saved as version %(number)d. It stays current when load_bank runs; download the "
                                    ".md file and commit it so that the repository has it too.")
                         % {"number": saved.number})
        return redirect(f"{reverse('instructor-question-edit', args=[course.slug, question.bank_id])}?seed={seed}")
    preview, errors = _check_and_preview(text=text, seed=seed, bank_id=question.bank_id)
    return _editor_response(request, course, form=form, question=question, preview=preview, errors=errors)


@login_required
@require_http_methods(["GET", "POST"])
def question_new(request: HttpRequest, course_slug: str) -> HttpResponse:
    course = course_get_for_staff(user=request.user, course_slug=course_slug)
    if request.method == "GET":
        type_form = QuestionTypeForm(request.GET or None)
        qtype = type_form.cleaned_data["type"] if type_form.is_valid() else QuestionType.SINGLE
        text = question_template(qtype=qtype, topic=default_template_topic())
        form = QuestionSourceForm(initial={"text": text, "seed": 1})
        preview, errors = _check_and_preview(text=text, seed=1, creating=True)
        return _editor_response(request, course, form=form, question=None, preview=preview, errors=errors)
    form, action = _editor_post(request)
    if not form.is_valid():
        return _editor_response(request, course, form=form, question=None, preview=None, errors=[], status=400)
    text, seed = form.cleaned_data["text"], form.cleaned_data["seed"] or 0
    if action == "save":
        try:
            created = question_create_from_source(user=request.user, text=text)
        except BankValidationError as exc:
            return _editor_response(request, course, form=form, question=None, preview=None,
                                    errors=exc.errors, status=400)
        messages.success(request, _("Created %(bank_id)s as version 1. Download the .md file and commit it to "
                                    "%(path)s.") % {"bank_id": created.question.bank_id,
                                                    "path": created.question.source_path})
        return redirect("instructor-question-edit", course.slug, created.question.bank_id)
    preview, errors = _check_and_preview(text=text, seed=seed, creating=True)
    return _editor_response(request, course, form=form, question=None, preview=preview, errors=errors)


@json_login_required  # asked by question_editor.js only: logged out, 401 JSON rather than the login page
@require_POST
def question_preview_api(request: HttpRequest, course_slug: str) -> JsonResponse:
    """POST text + seed → {valid, errors: [{line, message}], html}: the editor's live preview."""
    course_get_for_staff(user=request.user, course_slug=course_slug)
    form = PreviewForm(request.POST)
    if not form.is_valid():
        errors = [{"line": 1, "message": f"{name}: {' '.join(messages_)}"}
                  for name, messages_ in form.errors.items()]
        return JsonResponse({"valid": False, "errors": errors, "html": ""}, status=400)
    data = form.cleaned_data
    seed = data["seed"] if data["seed"] is not None else 1
    preview, errors = _check_and_preview(text=data["text"], seed=seed, bank_id=data["bank_id"] or None,
                                         creating=data["creating"])
    html = render_to_string(PREVIEW_TEMPLATE, {"preview": preview}, request=request) if preview else ""
    return JsonResponse({"valid": not errors, "errors": [{"line": e.line, "message": e.message} for e in errors],
                         "html": html})


@login_required
@require_GET
def question_download(request: HttpRequest, course_slug: str, bank_id: str) -> HttpResponse:
    _course, question = question_get_for_staff(user=request.user, course_slug=course_slug, bank_id=bank_id)
    version = question.current_version
    if version is None or not question_is_editable(question=question):
        raise Http404("This question has no source file of its own.")
    response = HttpResponse(version.source_text, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{question.bank_id}.md"'
    return response


@login_required
@require_GET
def bank_download(request: HttpRequest, course_slug: str) -> HttpResponse:
    """The bank (or one topic) as a zip in the bank's format: ``bank/<topic>/<id>.md``."""
    course_get_for_staff(user=request.user, course_slug=course_slug)
    topics = topics_all()
    form = BankDownloadForm(request.GET, topics=[(t.slug, _topic_label(t)) for t in topics])
    if not form.is_valid():
        raise Http404("No such topic.")
    topic = next((t for t in topics if t.slug == form.cleaned_data["topic"]), None)
    response = HttpResponse(bank_zip(topic=topic), content_type="application/zip")
    name = f"bank-{topic.slug}.zip" if topic else "bank.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_GET
def bank_sync_page(request: HttpRequest, course_slug: str) -> HttpResponse:
    """The bank's files and the database: conflicts to settle, browser edits whose files are behind."""
    course = course_get_for_staff(user=request.user, course_slug=course_slug)
    topics = topics_all()
    return render(request, "quizzes/instructor/bank_sync.html", _base_context(
        course, conflicts=bank_conflicts(), edited=bank_browser_edited(),
        download_form=BankDownloadForm(topics=[(t.slug, _topic_label(t)) for t in topics])))


@login_required
@require_POST
def bank_conflict_resolve_view(request: HttpRequest, course_slug: str, bank_id: str) -> HttpResponse:
    course, question = question_get_for_staff(user=request.user, course_slug=course_slug, bank_id=bank_id)
    form = ConflictResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the file's version or the browser's."))
        return redirect("instructor-bank-sync", course.slug)
    keep = form.cleaned_data["keep"]
    try:
        bank_conflict_resolve(question=question, keep=keep)
    except BankConflictMissing:
        messages.error(request, _("%(bank_id)s has no conflict to settle (run load_bank to look again).")
                       % {"bank_id": bank_id})
    except BankValidationError as exc:
        messages.error(request, _("The file's version of %(bank_id)s does not load: %(errors)s")
                       % {"bank_id": bank_id, "errors": "; ".join(f"{e.line}: {e.message}" for e in exc.errors)})
    else:
        messages.success(request, (_("%(bank_id)s now uses the file's version.") if keep == "file" else
                                   _("%(bank_id)s keeps the browser's version; download it and commit it."))
                         % {"bank_id": bank_id})
    return redirect("instructor-bank-sync", course.slug)


def _filters(data: dict[str, Any]) -> BankFilters:
    return BankFilters(text=(data.get("q") or "").strip(), topic=data.get("topic") or "",
                       qtype=data.get("type") or "", difficulty=data.get("difficulty"),
                       tag=data.get("tag") or "", retired=data.get("retired") or "")


@login_required
@require_http_methods(["GET", "POST"])
def bank_exchange(request: HttpRequest, course_slug: str) -> HttpResponse:
    """Export the bank (its filters) as Moodle XML or a Common Cartridge (GET with ``export``); import a
    Moodle XML file (POST): every question or none, errors by line."""
    course = course_get_for_staff(user=request.user, course_slug=course_slug)
    topic_choices = [(t.slug, _topic_label(t)) for t in topics_all()]
    export_form = BankExportForm(request.GET if "export" in request.GET else None, topics=topic_choices,
                                 tags=bank_tags(), initial={"export": "moodle", "variants": 3})
    import_form = MoodleImportForm(request.POST or None, request.FILES or None, topics=topic_choices,
                                   initial={"topic": default_template_topic()})
    errors: list[BankError] = []
    status = 200
    if export_form.is_bound:
        if not export_form.is_valid():
            status = 400
        else:
            data = export_form.cleaned_data
            exported = bank_export(questions=bank_questions(filters=_filters(data)), variants=data["variants"] or 3,
                                   fmt=data["export"])
            response = HttpResponse(exported.content, content_type=exported.content_type)
            response["Content-Disposition"] = f'attachment; filename="{exported.file_name}"'
            return response
    if request.method == "POST":
        if not import_form.is_valid():
            status = 400
        else:
            upload = import_form.cleaned_data["file"]
            try:
                created = bank_import_moodle(user=request.user, data=upload.read(), file_name=upload.name,
                                             default_topic=Topic.objects.get(slug=import_form.cleaned_data["topic"]))
            except BankValidationError as exc:
                errors, status = exc.errors, 400
            else:
                messages.success(request, ngettext(
                    "Imported %(count)d question; download its file from the bank to commit it.",
                    "Imported %(count)d questions; download their files from the bank to commit them.",
                    len(created)) % {"count": len(created)})
                return redirect("instructor-bank-exchange", course.slug)
    unbound = BankExportForm(topics=topic_choices, tags=bank_tags(), initial={"export": "moodle", "variants": 3})
    return render(request, "quizzes/instructor/bank_exchange.html", _base_context(
        course, export_form=export_form if export_form.is_bound else unbound, import_form=import_form,
        errors=errors, skipped=lms_skipped(questions=bank_questions(filters=BankFilters()))), status=status)


# --------------------------------------------------------------------------- assessments


def _assessment_fields(form: AssessmentForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "title": data["title"], "slug": data["slug"], "description": data["description"], "mode": data["mode"],
        "published": data["published"], "opens_at": data["opens_at"], "closes_at": data["closes_at"],
        "time_limit_minutes": data["time_limit_minutes"], "shuffle_questions": data["shuffle_questions"],
        "english": {"title": data["title_en"].strip(), "description": data["description_en"].strip()},
        "practice_reveal_after": data["practice_reveal_after"] or PRACTICE_REVEAL_AFTER,
    }


def _add_service_errors(form: Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@login_required
@require_GET
@in_course_time_zone
def assessment_list(request: HttpRequest, course_slug: str) -> HttpResponse:
    course = course_get_for_staff(user=request.user, course_slug=course_slug)
    return render(request, "quizzes/instructor/assessment_list.html", _base_context(
        course, assessments=assessments_for_course(course=course)))


@login_required
@require_http_methods(["GET", "POST"])
@in_course_time_zone
def assessment_new(request: HttpRequest, course_slug: str) -> HttpResponse:
    course = course_get_for_staff(user=request.user, course_slug=course_slug)
    form = AssessmentForm(request.POST or None, initial={"mode": "practice"})
    if request.method == "POST" and form.is_valid():
        try:
            assessment = assessment_create(course=course, user=request.user, **_assessment_fields(form))
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, _("Assessment created."))
            return redirect("instructor-assessment", course.slug, assessment.pk)
    return render(request, "quizzes/instructor/assessment_new.html", _base_context(course, form=form),
                  status=400 if form.is_bound else 200)


def _topic_choices() -> list[tuple[str, str]]:
    return [(t.slug, _topic_label(t)) for t in topics_all()]


def _student_choices(course: Course) -> list[tuple[int, str]]:
    return [(student.pk, f"{student} ({student.get_username()})") for student in course_students(course=course)]


def _assessment_page(request: HttpRequest, assessment: Assessment, *, status: int = 200,
                     **forms: Form) -> HttpResponse:
    """The builder page; ``forms`` replaces a blank form with a bound one that has errors."""
    course = assessment.course
    rows = assessment_item_rows(assessment=assessment)
    search = (request.GET.get("find") or "").strip()[:100]
    settings_form = forms.get("settings_form") or AssessmentForm(initial={
        "title": assessment.title, "slug": assessment.slug, "description": assessment.description,
        "mode": assessment.mode, "published": assessment.published, "opens_at": assessment.opens_at,
        "closes_at": assessment.closes_at, "time_limit_minutes": assessment.time_limit_minutes,
        "shuffle_questions": assessment.shuffle_questions, "practice_reveal_after": assessment.practice_reveal_after,
        "title_en": (assessment.translations.get("en") or {}).get("title", ""),
        "description_en": (assessment.translations.get("en") or {}).get("description", ""),
    })
    for name in ("title", "description"):  # course content, edited in its own language
        settings_form.fields[name].widget.attrs["lang"] = COURSE_CONTENT_LANG
    return render(request, "quizzes/instructor/assessment_detail.html", _base_context(
        course, assessment=assessment, rows=rows, warnings=assessment_warnings(assessment=assessment, rows=rows),
        settings_form=settings_form,
        question_form=forms.get("question_form") or ItemQuestionForm(),
        pool_form=forms.get("pool_form") or ItemPoolForm(topics=_topic_choices()),
        extension_form=forms.get("extension_form") or ExtensionForm(students=_student_choices(course)),
        extensions=assessment_extensions(assessment=assessment), search=search,
        search_results=questions_search(text=search), now=timezone.now(),
    ), status=status)


@login_required
@require_http_methods(["GET", "POST"])
@in_course_time_zone
def assessment_detail(request: HttpRequest, course_slug: str, assessment_id: int) -> HttpResponse:
    """The builder; POST saves the settings."""
    assessment = assessment_get_for_staff(user=request.user, course_slug=course_slug, assessment_id=assessment_id)
    if request.method == "GET":
        return _assessment_page(request, assessment)
    form = AssessmentForm(request.POST)
    if form.is_valid():
        try:
            assessment_update(assessment=assessment, **_assessment_fields(form))
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("instructor-assessment", course_slug, assessment.pk)
    assessment.refresh_from_db()
    return _assessment_page(request, assessment, settings_form=form, status=400)


@login_required
@require_POST
@in_course_time_zone
def assessment_item_add_view(request: HttpRequest, course_slug: str, assessment_id: int) -> HttpResponse:
    assessment = assessment_get_for_staff(user=request.user, course_slug=course_slug, assessment_id=assessment_id)
    if request.POST.get("kind") == "pool":
        form: Form = ItemPoolForm(request.POST, topics=_topic_choices())
        form_name = "pool_form"
    else:
        form = ItemQuestionForm(request.POST)
        form_name = "question_form"
    if form.is_valid():
        data = form.cleaned_data
        try:
            if form_name == "pool_form":
                item = assessment_item_add(assessment=assessment, pool_topic=Topic.objects.get(slug=data["pool_topic"]),
                                           pool_tag=data["pool_tag"], pool_count=data["pool_count"],
                                           points=data["points"])
            else:
                question = Question.objects.filter(bank_id=data["bank_id"]).first()
                if question is None:
                    raise ValidationError({"bank_id": [_("No question has this bank id.")]})
                item = assessment_item_add(assessment=assessment, question=question, points=data["points"])
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, _("Added item %(position)d.") % {"position": item.position})
            return redirect(reverse("instructor-assessment", args=[course_slug, assessment.pk]) + "#items")
    return _assessment_page(request, assessment, status=400, **{form_name: form})


@login_required
@require_POST
def assessment_item_move_view(request: HttpRequest, course_slug: str, assessment_id: int, item_id: int) -> HttpResponse:
    item = assessment_item_get_for_staff(user=request.user, course_slug=course_slug, assessment_id=assessment_id,
                                         item_id=item_id)
    form = ItemMoveForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("Move up or down."), status=400)
    moved = assessment_item_move(item=item, direction=form.cleaned_data["direction"])
    messages.success(request, _("Item moved to position %(position)d.") % {"position": moved.position})
    return redirect(reverse("instructor-assessment", args=[course_slug, assessment_id]) + "#items")


@login_required
@require_POST
def assessment_item_remove_view(request: HttpRequest, course_slug: str, assessment_id: int, item_id: int) -> HttpResponse:
    item = assessment_item_get_for_staff(user=request.user, course_slug=course_slug, assessment_id=assessment_id,
                                         item_id=item_id)
    assessment_item_remove(item=item)
    messages.success(request, _("Item removed."))
    return redirect(reverse("instructor-assessment", args=[course_slug, assessment_id]) + "#items")


@login_required
@require_POST
@in_course_time_zone
def extension_set_view(request: HttpRequest, course_slug: str, assessment_id: int) -> HttpResponse:
    assessment = assessment_get_for_staff(user=request.user, course_slug=course_slug, assessment_id=assessment_id)
    form = ExtensionForm(request.POST, students=_student_choices(assessment.course))
    if form.is_valid():
        student = next(s for s in course_students(course=assessment.course) if s.pk == form.cleaned_data["user"])
        try:
            extension = extension_set(assessment=assessment, user=student,
                                      extra_minutes=form.cleaned_data["extra_minutes"])
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            if extension is None:
                messages.success(request, _("Extension removed for %(student)s.") % {"student": student})
            else:
                messages.success(request, _("%(student)s gets %(minutes)d extra minutes.")
                                 % {"student": student, "minutes": extension.extra_minutes})
            return redirect(reverse("instructor-assessment", args=[course_slug, assessment.pk]) + "#extensions")
    return _assessment_page(request, assessment, extension_form=form, status=400)


@login_required
@require_POST
@in_course_time_zone
def assessment_release_view(request: HttpRequest, course_slug: str, assessment_id: int) -> HttpResponse:
    assessment = assessment_get_for_staff(user=request.user, course_slug=course_slug, assessment_id=assessment_id)
    released = assessment_release_results(assessment=assessment, now=timezone.now())
    messages.success(request, _("Results released at %(time)s.")
                     % {"time": timezone.localtime(released.results_released_at).strftime("%Y-%m-%d %H:%M")})
    return redirect(reverse("instructor-assessment", args=[course_slug, assessment.pk]) + "#results")
