"""Instructor grade pages: the gradebook (categories, totals, a section filter), its CSVs (today's,
Canvas's, Moodle's) and the grading policy (categories, excused items).

Every view starts with the staff access check (``accounts.access.course_get_for_staff``; the policy
page's writes ``course_get_for_instructor``); a TA limited to sections sees only theirs
(``accounts.access.sections_visible_to``). Every number comes from ``grades.selectors.course_grades``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import course_get_for_instructor, course_get_for_staff, sections_visible_to
from accounts.models import Course, Enrollment, Role, User
from grades import csv_export
from grades.models import Excusal, GradeCategory
from grades.presenters import gradebook_view, kind_choices
from grades.selectors import course_grades, course_sections
from grades.services import CategorySpec, GradesInvalid, excusal_set, grade_categories_set
from labs.presenters import LAB_CONTENT_LANG
from labs.selectors import course_gradebook

#: Blank rows the policy page offers below the course's categories.
NEW_ROWS = 2


def _context(**extra: Any) -> dict[str, Any]:
    return {"is_course_staff": True, "content_lang": LAB_CONTENT_LANG, **extra}


def _sections(request: HttpRequest, course: Course) -> tuple[frozenset[str] | None, list[str], str]:
    """(the sections to show, the filter's choices, the chosen one): a TA limited to sections chooses
    among theirs; an unknown choice shows every section allowed."""
    allowed = sections_visible_to(user=request.user, course=course)
    choices = sorted(allowed) if allowed is not None else course_sections(course=course)
    chosen = request.GET.get("section", "")
    if chosen and chosen in choices:
        return frozenset({chosen}), choices, chosen
    return allowed, choices, ""


@login_required
@require_GET
def gradebook(request: HttpRequest, course_slug: str) -> HttpResponse:
    course = course_get_for_staff(user=request.user, course_slug=course_slug)
    sections, choices, chosen = _sections(request, course)
    grades = course_grades(course=course, sections=sections)
    query = f"?section={chosen}" if chosen else ""
    return render(request, "grades/gradebook.html", _context(
        course=course, book=gradebook_view(grades), labs=grades.labs, sections=choices, section=chosen, query=query))


def _csv(request: HttpRequest, course_slug: str, shape: str) -> HttpResponse:
    course = course_get_for_staff(user=request.user, course_slug=course_slug)
    sections, _choices, chosen = _sections(request, course)
    grades = course_grades(course=course, sections=sections)
    text = {"plain": csv_export.plain_csv, "canvas": csv_export.canvas_csv, "moodle": csv_export.moodle_csv}[shape](grades)
    name = {"plain": "grades", "canvas": "grades-canvas", "moodle": "grades-moodle"}[shape]
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    suffix = f"-{chosen}" if chosen and chosen.isalnum() else ""
    response["Content-Disposition"] = f'attachment; filename="{course.slug}-{name}{suffix}.csv"'
    return response


@login_required
@require_GET
def gradebook_csv(request: HttpRequest, course_slug: str) -> HttpResponse:
    """One row per student: username, name, each item's points, each category's percent, the total."""
    return _csv(request, course_slug, "plain")


@login_required
@require_GET
def gradebook_canvas_csv(request: HttpRequest, course_slug: str) -> HttpResponse:
    return _csv(request, course_slug, "canvas")


@login_required
@require_GET
def gradebook_moodle_csv(request: HttpRequest, course_slug: str) -> HttpResponse:
    return _csv(request, course_slug, "moodle")


# --------------------------------------------------------------------------- the grading policy


def _item_choices(course: Course, user: User) -> list[tuple[str, str, str]]:
    """(key, title, title's language) of every lab and assessment, in the gradebook's order (its columns;
    ``user``, a member of the staff, has no row)."""
    book = course_gradebook(course=course, user=user)
    return [(f"{c.kind}:{c.slug}", c.title, c.title_lang) for c in book.columns]


def _int(value: str, default: int = 0) -> int:
    try:
        return int(value)
    except ValueError:
        return default


def _specs(request: HttpRequest, rows: int) -> tuple[list[CategorySpec], list[dict[str, Any]]]:
    """The categories the form posts (blank rows and rows marked for removal left out), and the rows
    as typed (to show them again when refused)."""
    specs, typed = [], []
    for n in range(rows):
        post = request.POST
        name, name_en = post.get(f"c{n}-name", "").strip(), post.get(f"c{n}-name_en", "").strip()
        weight_text = post.get(f"c{n}-weight", "").strip()
        row = {"n": n, "name": name, "name_en": name_en, "weight": weight_text,
               "drop_lowest": post.get(f"c{n}-drop_lowest", "0").strip() or "0",
               "kinds": post.getlist(f"c{n}-kinds"), "items": post.getlist(f"c{n}-items"),
               "remove": bool(post.get(f"c{n}-remove"))}
        typed.append(row)
        if row["remove"] or (not name and not name_en and not weight_text and not row["kinds"] and not row["items"]):
            continue
        try:
            weight = Decimal(weight_text or "0")
            if not weight.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            weight = Decimal(-1)  # refused by the service, with its message
        specs.append(CategorySpec(name, name_en, weight, _int(row["drop_lowest"], -1), tuple(row["kinds"]),
                                  tuple(row["items"])))
    return specs, typed


@login_required
@require_http_methods(["GET", "POST"])
def grade_policy(request: HttpRequest, course_slug: str) -> HttpResponse:
    """The course's categories (name, English name, weight, drop lowest, kinds, items by name) and who
    is excused from what. Instructors edit; TAs read."""
    course = course_get_for_staff(user=request.user, course_slug=course_slug)
    items = _item_choices(course, request.user)
    keys = {key for key, _t, _l in items}
    categories = list(GradeCategory.objects.filter(course=course).order_by("position"))
    typed = [{"n": n, "name": c.name, "name_en": (c.translations.get("en") or {}).get("name", ""),
              "weight": format(c.weight.normalize(), "f"), "drop_lowest": str(c.drop_lowest), "kinds": c.kinds,
              "items": c.items, "remove": False} for n, c in enumerate(categories)]
    errors = ""
    if request.method == "POST":
        course_get_for_instructor(user=request.user, course_slug=course_slug)
        specs, typed = _specs(request, _int(request.POST.get("rows", "0")))
        try:
            grade_categories_set(course=course, categories=specs, item_keys=keys)
        except GradesInvalid as refusal:
            errors = refusal.message
        else:
            messages.success(request, _("The grading policy is saved."))
            return redirect("instructor-grade-policy", course_slug=course.slug)
    if not typed and request.method == "GET":  # the default, written out, to start from
        typed = [{"n": 0, "name": _("Labs"), "name_en": "Labs", "weight": "40", "drop_lowest": "0", "kinds": ["lab"],
                  "items": [], "remove": False},
                 {"n": 1, "name": _("Exams"), "name_en": "Exams", "weight": "60", "drop_lowest": "0",
                  "kinds": ["exam"], "items": [], "remove": False}]
    rows = typed + [{"n": len(typed) + k, "name": "", "name_en": "", "weight": "", "drop_lowest": "0", "kinds": [],
                     "items": [], "remove": False, "new": True} for k in range(NEW_ROWS)]
    students = list(Enrollment.objects.filter(course=course, role=Role.STUDENT).select_related("user")
                    .order_by("user__username"))
    titles = {key: (title, lang) for key, title, lang in items}
    excusals = [{"id": e.pk, "user": e.user, "item": e.item, "title": titles.get(e.item, (e.item, ""))[0],
                 "title_lang": titles.get(e.item, ("", ""))[1]}
                for e in Excusal.objects.filter(course=course).select_related("user").order_by("user__username", "item")]
    role = Enrollment.objects.filter(user=request.user, course=course).values_list("role", flat=True).first()
    return render(request, "grades/policy.html", _context(
        course=course, rows=rows, row_count=len(rows), kinds=kind_choices(), items=items, errors=errors,
        is_default=not categories, students=students, excusals=excusals,
        may_edit=request.user.is_superuser or role == Role.INSTRUCTOR), status=400 if errors else 200)


@login_required
@require_POST
def excusal_edit(request: HttpRequest, course_slug: str) -> HttpResponse:
    course = course_get_for_instructor(user=request.user, course_slug=course_slug)
    keys = {key for key, _t, _l in _item_choices(course, request.user)}
    try:
        excusal_set(course=course, student_id=_int(request.POST.get("student", "0")), item=request.POST.get("item", ""),
                    excused=request.POST.get("excused", "1") == "1", by=request.user, item_keys=keys)
    except GradesInvalid as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, _("Saved."))
    return redirect(reverse("instructor-grade-policy", args=[course.slug]) + "#excused")
