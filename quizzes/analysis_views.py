"""Item analysis pages for course staff: an assessment's statistics (and its CSV), one question's
figures across the assessments that used it. GET only; a population other than "all" or "first"
is a 400 with the reason."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from quizzes.access import assessment_get_for_staff, question_get_for_staff
from quizzes.analysis_presenters import (
    assessment_analysis_context,
    assessment_analysis_csv,
    question_analysis_context,
)
from quizzes.analysis_selectors import Population, assessment_analysis, question_analysis
from quizzes.presenters import COURSE_CONTENT_LANG


class PopulationForm(forms.Form):
    population = forms.ChoiceField(
        label=_("Attempts"), required=False,
        choices=[("all", _("All finished attempts")), ("first", _("Each student's first attempt"))],
    )


def _population(request: HttpRequest) -> tuple[PopulationForm, Population | None]:
    form = PopulationForm(request.GET)
    if not form.is_valid():
        return form, None
    return form, form.cleaned_data.get("population") or "all"


@login_required
@require_GET
def assessment_analysis_view(request: HttpRequest, course_slug: str, assessment_id: int) -> HttpResponse:
    assessment = assessment_get_for_staff(user=request.user, course_slug=course_slug, assessment_id=assessment_id)
    form, population = _population(request)
    analysis = assessment_analysis(assessment=assessment, population=population or "all")
    return render(request, "quizzes/instructor/analysis.html", {
        "course": assessment.course, "is_course_staff": True, "content_lang": COURSE_CONTENT_LANG,
        "assessment": assessment, "form": form, "population": analysis.population,
        **assessment_analysis_context(analysis),
    }, status=400 if population is None else 200)


@login_required
@require_GET
def assessment_analysis_csv_view(request: HttpRequest, course_slug: str, assessment_id: int) -> HttpResponse:
    assessment = assessment_get_for_staff(user=request.user, course_slug=course_slug, assessment_id=assessment_id)
    form, population = _population(request)
    if population is None:
        return HttpResponse("; ".join(str(e) for e in form.errors.get("population", [])), status=400,
                            content_type="text/plain; charset=utf-8")
    analysis = assessment_analysis(assessment=assessment, population=population)
    response = HttpResponse(assessment_analysis_csv(analysis), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{assessment.slug}-item-analysis-{population}.csv"'
    return response


@login_required
@require_GET
def question_analysis_view(request: HttpRequest, course_slug: str, bank_id: str) -> HttpResponse:
    course, question = question_get_for_staff(user=request.user, course_slug=course_slug, bank_id=bank_id)
    form, population = _population(request)
    found = question_analysis(course=course, question=question, population=population or "all")
    return render(request, "quizzes/instructor/question_analysis.html", {
        "course": course, "is_course_staff": True, "content_lang": COURSE_CONTENT_LANG, "question": question,
        "form": form, **question_analysis_context(found),
    }, status=400 if population is None else 200)
