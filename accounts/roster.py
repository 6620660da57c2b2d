"""Roster files: a registrar's or an LMS's CSV export read into plain entries, or file:line errors.

No database here: ``accounts.services.roster`` plans and applies entries, whichever way they came
(this CSV reader now; the LMS's Names and Roles service later gives the same ``RosterEntry``).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from accounts.models import Role

# About 10,000 students (some 100 bytes a row); under DATA_UPLOAD_MAX_MEMORY_SIZE (2 MB), which the
# preview's "apply" form (the file's text, sent back as a multipart field) must pass.
MAX_ROSTER_BYTES = 1024 * 1024


@dataclass(frozen=True)
class RosterEntry:
    """One member as a roster names them. ``key`` is how the roster knows them (a student number)."""

    key: str
    name: str
    email: str
    role: str
    section: str
    line: int  # where it came from, for messages (0: not from a file)


class RosterFileError(Exception):
    """The file cannot be used; ``errors`` are "file:line: message" lines. Nothing is written."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def _normal(header: str) -> str:
    return re.sub(r"[\s_\-]+", " ", header.replace("\ufeff", "").strip().lower())


# The names registrars and LMS exports give each column, the most specific first. Canvas: "SIS User
# ID" is the student number ("ID" is Canvas's own and is not used); Moodle: "ID number".
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "key": ("student number", "student no", "student no.", "student id", "studentid", "sis user id", "sis id",
            "id number", "idnumber", "matriculation number", "學號", "學生編號"),
    "name": ("name", "full name", "display name", "student name", "student", "sortable name", "姓名", "名字"),
    "first_name": ("first name", "given name", "firstname", "名"),
    "last_name": ("last name", "surname", "family name", "lastname", "姓"),
    "email": ("email", "e mail", "email address", "e mail address", "mail", "電子郵件", "信箱", "電子信箱"),
    "role": ("role", "roles", "type", "enrollment type", "角色", "身分", "身份"),
    "section": ("section", "section name", "sections", "class", "group", "班別", "班級", "組別"),
}

ROLE_NAMES: dict[str, str] = {
    **dict.fromkeys(("student", "studentenrollment", "learner", "學生", "s", ""), Role.STUDENT),
    **dict.fromkeys(("ta", "taenrollment", "teaching assistant", "teachingassistant", "assistant", "助教"), Role.TA),
    **dict.fromkeys(("instructor", "teacher", "teacherenrollment", "professor", "lecturer", "教師", "老師", "教授"),
                    Role.INSTRUCTOR),
}


def _columns(header: list[str]) -> dict[str, int]:
    normal = [_normal(name) for name in header]
    found: dict[str, int] = {}
    for field, names in COLUMN_NAMES.items():
        for name in names:
            if name in normal:
                found[field] = normal.index(name)
                break
    return found


def roster_read_csv(*, data: bytes, filename: str) -> list[RosterEntry]:
    """The entries of a CSV roster (UTF-8, with or without a BOM; comma, semicolon or tab), or a
    :class:`RosterFileError` listing every problem as ``filename:line: message``."""
    if len(data) > MAX_ROSTER_BYTES:
        raise RosterFileError([_("%(file)s: the file is larger than %(mb)s MB.")
                               % {"file": filename, "mb": MAX_ROSTER_BYTES // (1024 * 1024)}])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RosterFileError([_("%(file)s:%(line)s: not UTF-8 text; save the file as \"CSV UTF-8\".")
                               % {"file": filename, "line": line}]) from None
    if not text.strip():
        raise RosterFileError([_("%(file)s: the file is empty.") % {"file": filename}])
    first_line = text.splitlines()[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader)
    columns = _columns(header)
    if "key" not in columns:
        raise RosterFileError([_("%(file)s:1: no student number column (for example \"Student number\" or "
                                 "\"SIS User ID\"); the columns are: %(columns)s.")
                               % {"file": filename, "columns": ", ".join(header)}])
    if "email" not in columns:
        raise RosterFileError([_("%(file)s:1: no email column (for example \"Email\"); the columns are: "
                                 "%(columns)s.") % {"file": filename, "columns": ", ".join(header)}])

    def cell(row: list[str], field: str) -> str:
        index = columns.get(field)
        return row[index].strip() if index is not None and index < len(row) else ""

    entries: list[RosterEntry] = []
    errors: list[str] = []
    first_line_of: dict[str, int] = {}
    line = reader.line_num
    for row in reader:
        start, line = line + 1, reader.line_num
        if not any(value.strip() for value in row):
            continue
        key, name = cell(row, "key"), cell(row, "name")
        if not key and name.lower() == "points possible":  # Canvas's gradebook export's second row
            continue
        if not name:
            name = " ".join(part for part in (cell(row, "first_name"), cell(row, "last_name")) if part)
        email, role_name, section = cell(row, "email"), cell(row, "role"), cell(row, "section")

        def error(message: str, start: int = start) -> None:
            errors.append(f"{filename}:{start}: {message}")

        if not key:
            error(_("the student number is empty."))
            continue
        if len(key) > 64 or not re.fullmatch(r"[\w.@+-]+", key):
            error(_("the student number %(key)s may hold only letters, digits and . @ + - _ (at most 64).")
                  % {"key": repr(key)})
            continue
        if key.lower() in first_line_of:
            error(_("the student number %(key)s is also on line %(line)s.")
                  % {"key": key, "line": first_line_of[key.lower()]})
            continue
        first_line_of[key.lower()] = start
        try:
            validate_email(email)
        except ValidationError:
            error(_("%(email)s is not an email address.") % {"email": repr(email)})
        role = ROLE_NAMES.get(_normal(role_name).replace(" enrollment", "enrollment"))
        if role is None:
            error(_("unknown role %(role)s; use student, TA or instructor.") % {"role": repr(role_name)})
        if len(name) > 150 or len(section) > 64:
            error(_("the name (150) or the section (64) is too long."))
        if role is not None:
            entries.append(RosterEntry(key=key, name=name, email=email.lower(), role=role, section=section,
                                       line=start))
    if errors:
        raise RosterFileError(errors)
    if not entries:
        raise RosterFileError([_("%(file)s: no members in the file.") % {"file": filename}])
    return entries
