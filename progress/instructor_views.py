"""The class view for course staff: class mastery per topic and per misconception week by week, the
share of students on track, what the class keeps forgetting; and its CSV. A TA limited to sections
sees only theirs (``accounts.access.sections_visible_to``); anyone may narrow it to one section."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from accounts.access import course_get_for_staff, sections_visible_to
from accounts.models import Course, User
from progress.presenters import (
    ClassMastery,
    ClassReadinessRows,
    class_mastery,
    class_mastery_context,
    class_mastery_csv,
    class_readiness_context,
    class_readiness_rows,
)
from progress.selectors import class_roster, class_students, graded_answers_of_class, topics_with_families
from quizzes.presenters import COURSE_CONTENT_LANG
from study.selectors import class_readiness


class SectionForm(forms.Form):
    section = forms.ChoiceField(label=_("Section"), required=False)

    def __init__(self, data: object, sections: list[str]) -> None:
        super().__init__(data)
        self.fields["section"].choices = [("", _("All my sections")), *((s, s) for s in sections)]


Shown = tuple[ClassMastery, ClassReadinessRows]


def _class(request: HttpRequest, course: Course) -> tuple[SectionForm, Shown | None, list[str]]:
    user: User = request.user  # type: ignore[assignment]
    visible = sections_visible_to(user=user, course=course)
    roster = class_roster(course=course)
    every_section = sorted({entry.section for entry in roster if entry.section})
    choices = [s for s in every_section if visible is None or s in visible]
    form = SectionForm(request.GET, choices)
    if not form.is_valid():
        return form, None, choices
    chosen = form.cleaned_data.get("section")
    sections = frozenset([chosen]) if chosen else visible
    now = timezone.now()
    shown = [entry for entry in roster if sections is None or entry.section in sections]
    topics, family_topic = topics_with_families()
    answers = graded_answers_of_class(course=course, sections=sections, now=now, family_topic=family_topic)
    # On track for the exam: each student's readiness (study's rule, as on their own readiness page).
    readiness = class_readiness(course=course, students=class_students(course=course, sections=sections), now=now)
    return form, (class_mastery(topics=topics, answers=answers, students=len(shown), now=now),
                  class_readiness_rows(readiness, shown)), choices


@login_required
@require_GET
def class_view(request: HttpRequest, course_slug: str) -> HttpResponse:
    course = course_get_for_staff(user=request.user, course_slug=course_slug)
    form, data, sections = _class(request, course)
    context = {"course": course, "is_course_staff": True, "content_lang": COURSE_CONTENT_LANG, "form": form,
               "sections": sections, "query": request.GET.urlencode()}
    if data is not None:
        context.update(class_mastery_context(data[0]), **class_readiness_context(data[1]))
    return render(request, "progress/class_mastery.html", context, status=200 if data is not None else 400)


@login_required
@require_GET
def class_csv(request: HttpRequest, course_slug: str) -> HttpResponse:
    course = course_get_for_staff(user=request.user, course_slug=course_slug)
    form, data, _sections = _class(request, course)
    if data is None:
        return HttpResponse("; ".join(str(e) for e in form.errors.get("section", [])), status=400,
                            content_type="text/plain; charset=utf-8")
    response = HttpResponse(class_mastery_csv(*data), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{course.slug}-class-mastery.csv"'
    return response
