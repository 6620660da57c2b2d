"""What the grade pages show: plain dicts worded in the request's language (``grades.selectors`` reads)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from grades.policy import KINDS, ItemState
from grades.selectors import CategoryView, CourseGrades, GradeCell, GradeItem, StudentGrades


def kind_label(kind: str) -> str:
    return {"lab": _("Lab"), "practice": _("Practice"), "mock": _("Mock exam"), "exam": _("Exam")}.get(kind, kind)


def kind_choices() -> list[tuple[str, str]]:
    return [(kind, kind_label(kind)) for kind in KINDS]


def percent_text(value: float | None) -> str:
    """A 0–1 share as "87.5 %" (one decimal), or "—"."""
    if value is None:
        return "—"
    return f"{value * 100:.1f} %"


def points_text(value: Decimal | None) -> str:
    if value is None:
        return ""
    return format(value.quantize(Decimal("0.01")).normalize(), "f")


def state_label(state: ItemState) -> str:
    return {
        ItemState.SCORED: _("Graded"),
        ItemState.MISSING: _("Missing"),
        ItemState.EXCUSED: _("Excused"),
        ItemState.PENDING: _("Not yet due or not graded"),
        ItemState.UNRELEASED: _("Not released yet"),
    }[state]


def _category_names(grades: CourseGrades) -> dict[str, CategoryView]:
    return {c.key: c for c in grades.categories}


def cell_view(item: GradeItem, cell: GradeCell) -> dict[str, Any]:
    """One item of one student: what the cell says and its status word."""
    text = cell_view_text(cell)
    return {"text": text, "state": cell.state.value, "status": state_label(cell.state), "dropped": cell.dropped,
            "counted": item.counts and cell.state.counted and not cell.dropped}


def categories_view(grades: CourseGrades) -> dict[str, Any]:
    return {
        "categories": [{"key": c.key, "name": c.name, "name_lang": c.name_lang, "weight": points_text(c.weight),
                        "drop_lowest": c.drop_lowest,
                        "kinds": ", ".join(kind_label(k) for k in c.kinds)} for c in grades.categories],
        "is_default": grades.is_default,
        "weights_total": points_text(grades.weights_total),
        "weights_add_up": grades.weights_add_up,
    }


def student_total_view(grades: CourseGrades, row: StudentGrades) -> dict[str, Any]:
    names = _category_names(grades)
    return {
        "total": percent_text(row.percent),
        "normalized": row.total.normalized,
        "categories": [{"name": names[r.key].name, "name_lang": names[r.key].name_lang,
                        "weight": points_text(names[r.key].weight), "share": percent_text(r.share) if r.percent is not None else "—",
                        "percent": percent_text(r.percent), "dropped": len(r.dropped)}
                       for r in row.total.categories],
    }


def my_grades_view(grades: CourseGrades, row: StudentGrades, *, results: dict[int, int]) -> dict[str, Any]:
    """My grades: every published item with its points, status and feedback link; the categories and the
    total. ``results``: assessment id → the attempt whose results the student may read."""
    names = _category_names(grades)
    entries = []
    for item, cell in zip(grades.items, row.cells, strict=True):
        if not item.column.published:
            continue
        if item.column.kind == "lab":
            link = reverse("lab-page", args=[item.column.slug])
        else:
            attempt_id = results.get(item.column.id)
            link = reverse("attempt-results", args=[attempt_id]) if attempt_id and cell.state is not ItemState.UNRELEASED else ""
        category = names.get(item.category) if item.category else None
        kind = kind_label(item.kind)
        category_name = category.name if category else _("Not counted")
        entries.append({
            "title": item.column.title, "title_lang": item.column.title_lang, "kind": kind,
            # "考試 · 考試" says one thing twice: a category named as the item's kind is not repeated.
            "category": "" if str(category_name) == str(kind) else category_name,
            "category_lang": category.name_lang if category else "",
            "max": points_text(item.column.max_points), "link": link, **cell_view(item, cell),
        })
    return {**categories_view(grades), "entries": entries, **student_total_view(grades, row)}


def _cells_html(grades: CourseGrades, row: StudentGrades, labels: dict[ItemState, str], dropped_word: str,
                cache: dict[tuple[Any, ...], str]) -> SafeString:
    """A row's item cells as HTML: 200 students × 40 items are 8,000 cells, each a few strings here
    (the template engine would take seconds). The text is escaped (``format_html``)."""
    parts = []
    for cell in row.cells:
        signature = (cell.state, cell.points, cell.dropped)
        html = cache.get(signature)
        if html is None:
            view = cell_view_text(cell)
            css = f"num cell-{cell.state.value}" + (" cell-dropped" if cell.dropped else "")
            hidden = labels[cell.state] + (f", {dropped_word}" if cell.dropped else "")
            if not view:
                html = format_html('<td class="{}"><span class="muted" aria-hidden="true">—</span>'
                                   '<span class="visually-hidden">{}</span></td>', css, hidden)
            elif cell.state is ItemState.SCORED and not cell.dropped:
                html = format_html('<td class="{}">{}</td>', css, view)
            else:
                html = format_html('<td class="{}">{} <span class="visually-hidden">{}</span></td>', css, view, hidden)
            cache[signature] = html
        parts.append(html)
    return mark_safe("".join(parts))  # every part is format_html's


def cell_view_text(cell: GradeCell) -> str:
    if cell.state is ItemState.SCORED:
        return points_text(cell.points)
    if cell.state is ItemState.MISSING:
        return "0"
    if cell.state is ItemState.EXCUSED:
        return _("EX")
    return ""


def gradebook_view(grades: CourseGrades) -> dict[str, Any]:
    names = _category_names(grades)
    columns = [{"item": item, "title": item.column.title, "title_lang": item.column.title_lang,
                "kind": kind_label(item.kind), "max": points_text(item.column.max_points),
                "published": item.column.published,
                "category": names[item.category].name if item.category else _("Not counted"),
                "category_lang": names[item.category].name_lang if item.category else "",
                "counts": item.counts} for item in grades.items]
    labels = {state: state_label(state) for state in ItemState}
    dropped_word = _("dropped")
    cache: dict[tuple[Any, ...], str] = {}
    rows = [{"student": row.student, "section": row.section,
             "cells_html": _cells_html(grades, row, labels, dropped_word, cache),
             "categories": [percent_text(r.percent) for r in row.total.categories],
             "total": percent_text(row.percent)} for row in grades.rows]
    return {"columns": columns, "rows": rows, **categories_view(grades)}
