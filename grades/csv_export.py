"""The gradebook as CSV files: today's (username, name, each item's points, the totals), Canvas's
gradebook import and Moodle's grade import. Every number comes from ``grades.selectors.course_grades``."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from accounts.models import User
from grades.policy import ItemState
from grades.presenters import points_text
from grades.selectors import CourseGrades, GradeCell

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str) -> str:
    """A name as a spreadsheet cell: text that looks like a formula is kept as text (CSV injection)."""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def display_name(user: User) -> str:
    return user.display_name or user.get_full_name() or user.username


def _number(value: Decimal | None) -> str:
    return "" if value is None else format(value.normalize(), "f")


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.2f}"


def _lms_cell(cell: GradeCell, *, excused: str) -> str:
    """What an LMS imports: the points; 0 for a missing item; ``excused``; nothing when not counted yet."""
    if cell.state is ItemState.SCORED:
        return points_text(cell.points)
    if cell.state is ItemState.MISSING:
        return "0"
    if cell.state is ItemState.EXCUSED:
        return excused
    return ""


def plain_csv(grades: CourseGrades) -> str:
    """Today's shape (a BOM for Excel): username, name, ``lab:<slug>``/``quiz:<slug>`` points, then each
    category's percent and the total percent."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["username", "name", *[item.key for item in grades.items],
                     *[f"category:{c.name}" for c in grades.categories], "total_percent"])
    for row in grades.rows:
        writer.writerow([csv_text(row.student.username), csv_text(row.student.display_name or row.student.get_full_name()),
                         *[_number(cell.points) for cell in row.cells],
                         *[_percent(r.percent) for r in row.total.categories], _percent(row.percent)])
    return out.getvalue()


def canvas_csv(grades: CourseGrades) -> str:
    """Canvas's gradebook CSV: "Student,ID,SIS User ID,SIS Login ID,Section", one column per published item
    named "<title> (<lab:slug>)" (not a Canvas id: Canvas matches it by name or makes a new assignment),
    the "Points Possible" row, and "Final Score" (a column Canvas reads as read-only). SIS User ID: the
    student number; SIS Login ID: the username. Missing: 0, excused: EX."""
    items = [(n, item) for n, item in enumerate(grades.items) if item.column.published]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                     *[f"{item.column.title} ({item.key})" for _n, item in items], "Final Score"])
    writer.writerow(["Points Possible", "", "", "", "", *[points_text(item.column.max_points) for _n, item in items],
                     "(read only)"])
    for row in grades.rows:
        writer.writerow([csv_text(display_name(row.student)), "", row.student.student_number or "",
                         row.student.username, row.section,
                         *[_lms_cell(row.cells[n], excused="EX") for n, _item in items], _percent(row.percent)])
    return out.getvalue()


def moodle_csv(grades: CourseGrades) -> str:
    """Moodle's grade import (Grades → Import → CSV file): map users by "ID number" (the student number)
    or "Email address"; one column per published item; "Course total (%)" to leave unmapped. Missing: 0;
    excused and not yet counted: empty (Moodle then leaves the grade as it is)."""
    items = [(n, item) for n, item in enumerate(grades.items) if item.column.published]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["ID number", "Email address", "First name", "Last name",
                     *[item.column.title for _n, item in items], "Course total (%)"])
    for row in grades.rows:
        student = row.student
        writer.writerow([student.student_number or "", student.email, csv_text(student.first_name or display_name(student)),
                         csv_text(student.last_name),
                         *[_lms_cell(row.cells[n], excused="") for n, _item in items], _percent(row.percent)])
    return out.getvalue()
