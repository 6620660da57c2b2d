"""The essay grading pages: the queue (progress per question, anonymous mode), one answer graded by its
question's rubric (number keys, next/previous), and a question's rubric (items, points, changes that
re-score). Validate → access → service or selector → presenter → template."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import course_get_for_staff, sections_visible_to
from quizzes.access import (
    grading_item_get_for_staff,
    grading_question_get_for_staff,
    rubric_item_get_for_editor,
    rubric_question_get_for_editor,
)
from quizzes.grading_presenters import grading_item_page, question_title, rubric_rows
from quizzes.grading_selectors import (
    applied_rubric_ids,
    grading_questions,
    question_answers,
    rubric_for_question,
)
from quizzes.instructor_forms import AnonymousGradingForm, RubricGradeForm, RubricItemForm
from quizzes.models import GradingPreference
from quizzes.presenters import COURSE_CONTENT_LANG
from quizzes.services.attempts import AttemptError
from quizzes.services.rubric import (
    RubricError,
    essay_grade_with_rubric,
    grading_anonymous_set,
    rubric_item_create,
    rubric_item_delete,
    rubric_item_move,
    rubric_item_update,
    rubric_seed_from_key_points,
)


def _context(course: object, **extra: object) -> dict[str, object]:
    return {"course": course, "is_course_staff": True, "content_lang": COURSE_CONTENT_LANG, **extra}


def _anonymous(user: object) -> bool:
    return GradingPreference.objects.filter(user=user, anonymous=True).exists()


@login_required
@require_GET
def grading_queue_view(request: HttpRequest, course_slug: str) -> HttpResponse:
    """Exam essays by question: graded / total of the answers this grader sees, and where to start."""
    course = course_get_for_staff(user=request.user, course_slug=course_slug)
    questions = grading_questions(course=course, sections=sections_visible_to(user=request.user, course=course))
    rows = [{"question_id": q.question_id, **question_title(q.title, q.translations), "graded": q.graded,
             "total": q.total, "done": q.done} for q in questions]
    form = AnonymousGradingForm(initial={"anonymous": _anonymous(request.user)})
    return render(request, "quizzes/instructor/grading_queue.html", _context(course, questions=rows, form=form))


@login_required
@require_POST
def grading_anonymous_view(request: HttpRequest, course_slug: str) -> HttpResponse:
    """The grader's anonymous mode, on or off; back to the answer being graded, else to the queue."""
    course = course_get_for_staff(user=request.user, course_slug=course_slug)
    form = AnonymousGradingForm(request.POST)
    form.is_valid()
    grading_anonymous_set(user=request.user, anonymous=bool(form.cleaned_data.get("anonymous")))
    item_id = request.POST.get("item", "")
    if item_id.isdigit():
        return redirect("instructor-grading-item", course_slug=course.slug, item_id=int(item_id))
    return redirect("instructor-grading-queue", course_slug=course.slug)


@login_required
@require_GET
def grading_question_view(request: HttpRequest, course_slug: str, question_id: int) -> HttpResponse:
    """Grade one question across students: its first answer waiting, else its first answer."""
    course, question, sections = grading_question_get_for_staff(user=request.user, course_slug=course_slug,
                                                                question_id=question_id)
    answers = question_answers(course=course, question_id=question.pk, sections=sections)
    start = answers.next_ungraded() or (answers.answers[0] if answers.answers else None)
    if start is None:
        messages.info(request, _("No answers of yours to grade for this question."))
        return redirect("instructor-grading-queue", course_slug=course.slug)
    return redirect("instructor-grading-item", course_slug=course.slug, item_id=start.item_id)


@login_required
@require_http_methods(["GET", "POST"])
def grading_item_view(request: HttpRequest, course_slug: str, item_id: int) -> HttpResponse:
    course, item = grading_item_get_for_staff(user=request.user, course_slug=course_slug, item_id=item_id)
    question = item.question_version.question
    sections = sections_visible_to(user=request.user, course=course)
    rubric = rubric_for_question(question=question)
    form = RubricGradeForm(request.POST or None, rubric_ids=[r.pk for r in rubric])
    if request.method == "POST" and form.is_valid():
        try:
            essay_grade_with_rubric(item_id=item.pk, applied_ids=form.cleaned_data["applied"],
                                    adjustment=form.cleaned_data["adjustment"] or 0,
                                    comment=form.cleaned_data["comment"], grader=request.user)
        except (RubricError, AttemptError) as exc:
            form.add_error(None, exc.message)
        else:
            answers = question_answers(course=course, question_id=question.pk, sections=sections)
            messages.success(request, _("Graded. %(graded)d of %(total)d answers to this question graded.") % {
                "graded": answers.graded, "total": answers.total})
            following = answers.next_ungraded(item.pk)
            if following is None:
                return redirect("instructor-grading-queue", course_slug=course.slug)
            return redirect("instructor-grading-item", course_slug=course.slug, item_id=following.item_id)
    answers = question_answers(course=course, question_id=question.pk, sections=sections)
    anonymous = _anonymous(request.user) and not answers.done
    page = grading_item_page(item=item, answers=answers, anonymous=anonymous, rubric=rubric,
                             applied=applied_rubric_ids(item_id=item.pk))
    context = _context(course, item=item, question=question, page=page, form=form, anonymous=anonymous,
                       rubric_editable=sections is None,
                       anonymous_form=AnonymousGradingForm(initial={"anonymous": _anonymous(request.user)}))
    return render(request, "quizzes/instructor/grading_item.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def rubric_view(request: HttpRequest, course_slug: str, question_id: int) -> HttpResponse:
    """A question's rubric: add an item; change one (its points re-score every answer it was applied to);
    delete one (the same re-score, without it); move one up or down (the number keys follow)."""
    course, question = rubric_question_get_for_editor(user=request.user, course_slug=course_slug,
                                                      question_id=question_id)
    new_form = RubricItemForm(request.POST if request.POST.get("action") == "add" else None, prefix="new")
    if request.method == "POST":
        try:
            if request.POST.get("action") == "add":
                if new_form.is_valid():
                    rubric_item_create(question=question, **new_form.cleaned_data)
                    messages.success(request, _("Rubric item added."))
                    return redirect("instructor-grading-rubric", course_slug=course.slug, question_id=question.pk)
            else:
                raw = request.POST.get("rubric_item", "")
                _course, rubric_item = rubric_item_get_for_editor(
                    user=request.user, course_slug=course_slug, question_id=question.pk,
                    rubric_item_id=int(raw) if raw.isdigit() else 0)
                action = request.POST.get("action")
                if action == "delete":
                    changed = rubric_item_delete(rubric_item_id=rubric_item.pk, changed_by=request.user)
                    messages.success(request, ngettext(
                        "Rubric item deleted; %(n)d answer re-scored.", "Rubric item deleted; %(n)d answers re-scored.",
                        changed) % {"n": changed})
                    return redirect("instructor-grading-rubric", course_slug=course.slug, question_id=question.pk)
                if action in ("up", "down"):
                    rubric_item_move(rubric_item_id=rubric_item.pk, up=action == "up")
                    return redirect("instructor-grading-rubric", course_slug=course.slug, question_id=question.pk)
                form = RubricItemForm(request.POST, prefix=f"r{rubric_item.pk}")
                if form.is_valid():
                    changed = rubric_item_update(rubric_item_id=rubric_item.pk, changed_by=request.user,
                                                 **form.cleaned_data)
                    messages.success(request, ngettext(
                        "Rubric item saved; %(n)d answer re-scored.", "Rubric item saved; %(n)d answers re-scored.",
                        changed) % {"n": changed})
                    return redirect("instructor-grading-rubric", course_slug=course.slug, question_id=question.pk)
                messages.error(request, _("The rubric item was not saved: check its title and points."))
        except RubricError as exc:
            messages.error(request, exc.message)
    rows = rubric_rows(rubric_for_question(question=question))
    for row in rows:
        row["form"] = RubricItemForm(prefix=f"r{row['id']}", initial={
            "title": row["title"], "title_en": row["title_en"], "points": row["points"]})
    version = question.current_version
    title = question_title(version.title if version else question.bank_id, version.translations if version else {})
    return render(request, "quizzes/instructor/grading_rubric.html",
                  _context(course, question=question, rows=rows, new_form=new_form, **title),
                  status=400 if new_form.errors else 200)


@login_required
@require_POST
def rubric_seed_view(request: HttpRequest, course_slug: str, question_id: int) -> HttpResponse:
    """Start a question's rubric from its key points (once; any grader of it may), then back to the answer."""
    course, question, _sections = grading_question_get_for_staff(user=request.user, course_slug=course_slug,
                                                                 question_id=question_id)
    rubric_seed_from_key_points(question=question)
    item_id = request.POST.get("item", "")
    if item_id.isdigit():
        return redirect("instructor-grading-item", course_slug=course.slug, item_id=int(item_id))
    return redirect("instructor-grading-question", course_slug=course.slug, question_id=question.pk)
