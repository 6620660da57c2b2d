"""What the people pages show: plain dicts, worded in the request's language."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.services.roster import RosterChange, RosterPlan

PREVIEW_ROWS = 200  # per list; the counts are always whole

FIELD_LABELS = {
    "student_number": lambda: _("student number"), "display_name": lambda: _("name"),
    "email": lambda: _("email"), "role": lambda: _("role"), "section": lambda: _("section"),
    "source": lambda: _("now on the roster"),
}


def _change_row(change: RosterChange) -> dict[str, Any]:
    entry = change.entry
    return {"key": entry.key, "name": entry.name, "email": entry.email, "role": Role(entry.role).label,
            "section": entry.section, "line": entry.line,
            "what": ", ".join(str(FIELD_LABELS[name]()) for name in change.fields),
            "new_account": change.user is None}


def roster_plan_view(plan: RosterPlan) -> dict[str, Any]:
    return {
        "summary": plan.summary(),
        "changes": plan.changes,
        "new": [_change_row(c) for c in plan.new[:PREVIEW_ROWS]],
        "restored": [_change_row(c) for c in plan.restored[:PREVIEW_ROWS]],
        "updated": [_change_row(c) for c in plan.updated[:PREVIEW_ROWS]],
        "dropped": [{"key": e.user.student_number or e.user.username, "name": str(e.user), "email": e.user.email,
                     "section": e.section} for e in plan.dropped[:PREVIEW_ROWS]],
        "new_accounts": sum(1 for c in plan.new if c.user is None),
        "truncated": PREVIEW_ROWS,
    }
