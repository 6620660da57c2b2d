"""What the lab pages show: a lab's window, a student's variant, a graded submission, its pictures.

Everything here turns models and typed results into plain dicts for templates (and the JavaScript
the pages load), worded in the request's language. What a student may see of a result is
``grader.results.GradingResult.for_student``; this module only lays it out. The correct values of
a variant (answer grids, the correct precision/recall curve and TP/FP table) are computed here
only when the caller says they may be revealed (``labs.access.answers_visible``).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dlcv_site.i18n import localized
from grader.answers import AnswerFormatError, display_number
from grader.i18n import word
from grader.problems import get_family
from grader.problems.base import Part, ProblemFamily
from grader.results import GradingResult, PartResult
from labs.models import Lab, LabKind, LabPart, Submission, SubmissionStatus
from labs.policy import LabPolicy, Refusal, Window
from labs.services import MAX_SOURCE_BYTES, lab_part_params
from quizzes import presenters as quiz_presenters

#: A submission queued or being graded for longer than this shows "grading delayed" (not an error).
DELAYED_AFTER = timedelta(seconds=10)
#: Coding labs take longer: one sandboxed job at a time per worker, each up to its wall-clock limit.
CODE_DELAYED_AFTER = timedelta(seconds=60)
#: The language of a lab's own texts (title, description, part titles): labs have no language field
#: of their own; the statements of their parts come from the grader, in the reader's language.
LAB_CONTENT_LANG = quiz_presenters.COURSE_CONTENT_LANG
#: Families whose matrix answers are the output grid of an operation: shown as the grid, wrong cells marked.
GRID_FAMILIES = frozenset({"conv-by-hand", "image-filter", "pool-unpool"})
#: Families whose parts are a detection's TP/FP, precision and recall table: shown as a PR curve.
PR_CURVE_FAMILIES = frozenset({"detection-map"})
#: What one test's status is called on the pages (the stored result says passed/failed/error/not_run).
TEST_STATUS_LABELS = {
    "passed": gettext_lazy("Passed"),
    "failed": gettext_lazy("Failed"),
    "error": gettext_lazy("Error"),
    "not_run": gettext_lazy("Not run"),
}
#: Why the lab page's form is disabled, as the student reads it (``LabPolicy.submission_refusal``).
REFUSAL_REASONS = {
    Refusal.CLOSED: gettext_lazy("This lab is closed for submissions."),
    Refusal.TOO_LATE: gettext_lazy("The late-submission period of this lab is over."),
    Refusal.NO_ATTEMPTS_LEFT: gettext_lazy("You have used all your attempts of this lab."),
}
_HEADING_TAG = re.compile(r"<(/?)h([1-5])>")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.4g}"
    return str(value)


def _misconception_names(family: ProblemFamily | None, tags: tuple[str, ...], flang: str) -> list[dict[str, str]]:
    """A part's misconceptions as a student reads them: named (the tag stays an attribute)."""
    known = {m.tag: m for m in family.misconceptions} if family is not None else {}
    return [{"tag": tag, "name": known[tag].name(flang)} for tag in tags if tag in known]


def _points(value: Any) -> str:
    """1.5 → "1.5", 2.0 → "2" (points are quarters and halves; never "1.50")."""
    try:
        return f"{round(float(value), 2):g}"
    except (TypeError, ValueError):
        return "—"


# --------------------------------------------------------------------------- a lab


def lab_window(lab: Lab, now: datetime) -> dict[str, Any]:
    """Whether the lab is open, late or closed at ``now`` (``submission_create`` decides; this
    describes) and its policy, for the pages."""
    policy = LabPolicy.of(lab)
    window = policy.window(now)
    return {"policy": policy, "closes_at": policy.closes_at, "late": window is Window.LATE,
            "closed": window is Window.CLOSED}


def lab_submitting(lab: Lab, *, attempts_used: int, now: datetime) -> dict[str, Any]:
    """Whether the student may submit now (``LabPolicy.submission_refusal`` decides) and, if not,
    why, worded for the lab page: its form is disabled with the reason beside it."""
    refusal = LabPolicy.of(lab).submission_refusal(now, attempts_used)
    return {"submit_refusal": refusal.value if refusal else "",
            "submit_refusal_reason": str(REFUSAL_REASONS[refusal]) if refusal else ""}


@lru_cache(maxsize=2048)
def _statement_html(family: str, params_json: str, flang: str) -> SafeString:
    # Rendering Markdown + MathML is the expensive part of the page; a variant's statement never changes.
    return quiz_presenters.markdown_html(get_family(family).render(json.loads(params_json), flang))


def _widget_view(family: ProblemFamily, params: Mapping[str, Any], flang: str) -> dict[str, Any]:
    """The quiz pages' widget view of a family variant (``qtype`` "param": one widget per answer box)."""
    return {"type": "param", "widgets": [quiz_presenters.part_widget(box, flang) for box in family.parts(dict(params))]}


def part_entries(
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
            "title_html": _part_title_html(part, flang),
            "ns": {"item": {"id": part.key}},  # the widget template's id prefix: w-<part key>-<box>
            "statement_html": _statement_html(part.family, json.dumps(params, sort_keys=True), flang),
            "widgets": quiz_presenters.fill_widgets(view, {"parts": raw if isinstance(raw, Mapping) else {}}),
            "errors": [{"label": labels.get(name, ""), "message": message}
                       for name, message in (errors.get(part.key) or {}).items()],
        })
    return entries


def _part_title_html(part: LabPart, lang: str) -> SafeString:
    """A lab part's title in ``lang`` if the lab has it, else as written, marked with its language."""
    title = localized(part.title, part.translations, "title", lang)
    return quiz_presenters.in_lang(title.text, title.lang)


def part_view(part: LabPart, seed: int, lang: str) -> dict[str, Any]:
    """A part of a student's own variant for the API, stated in ``lang`` (never its solution)."""
    params = lab_part_params(part=part, seed=seed)
    family = get_family(part.family)
    return {
        "key": part.key, "title": localized(part.title, part.translations, "title", lang).text,
        "family": part.family, "points": part.points, "statement": family.render(params, lang),
        "inputs": [_input_spec(box, lang) for box in family.parts(params)],
    }


def _input_spec(box: Part, lang: str) -> dict[str, Any]:
    return {
        "name": box.name, "kind": box.kind, "label": box.label_in(lang), "points": box.points,
        "shape": list(box.shape) if box.shape is not None else None, "length": box.length,
        "choices": list(box.choices), "symbols": list(box.symbols),
    }


@lru_cache(maxsize=64)
def codelab_statement_html(markdown: str) -> SafeString:
    """A coding lab's statement as HTML, its headings one level down (the page's title is the only <h1>)."""
    html = str(quiz_presenters.markdown_html(markdown))  # raw HTML in the source is escaped: tags here are ours
    return mark_safe(_HEADING_TAG.sub(lambda m: f"<{m.group(1)}h{int(m.group(2)) + 1}>", html))


def lab_strings() -> dict[str, str]:
    """labs.js's messages, translated here so the script holds no text of its own."""
    return {
        "submitting": _("Submitting…"),
        "invalid": _("Some answers could not be read. Fix the marked boxes and submit again; this did not use an attempt."),
        "format_error": _("Format error (this costs no attempt):"),
        "network": _("Network error: your answers were not sent. Submit again (it will not count twice)."),
        "logged_out": _("You are logged out. Log in again in another tab, then submit again."),
        "too_many": _("Too many submissions in a short time. Wait a minute and submit again."),
        "error": _("Something went wrong; please try again."),
        "row": _("Row %(r)s, column %(c)s"),
        "confirm_regrade": _("Regrade every graded submission of this lab? Scores may change."),
        "regrade_progress": _("%(done)s of %(total)s submissions graded"),
        "regrade_done": _("Regrade finished. Reload the page to see the new statistics."),
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


# --------------------------------------------------------------------------- a submission


def submission_state(submission: Submission, now: datetime) -> dict[str, Any]:
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


def submission_context(submission: Submission, *, now: datetime, flang: str, reveal: bool, owner: bool) -> dict[str, Any]:
    """What the submission page, its live state and the coding lab's latest panel show."""
    lab = submission.lab
    state = submission_state(submission, now)
    reveal = reveal and state["done"]
    result = GradingResult.from_json(submission.result)
    policy = result.policy if result is not None else None
    context: dict[str, Any] = {
        "submission": submission, "lab": lab, "course": lab.course, "state": state, "reveal": reveal,
        "closes_at": LabPolicy.of(lab).closes_at, "owner": owner, "content_lang": LAB_CONTENT_LANG,
        "result": {"points": result.points if result else None, "max_points": result.max_points if result else None,
                   "attempt": policy.attempt if policy else 1, "late_days": policy.late_days if policy else 0},
        "attempt_factor": policy.attempt_factor if policy else 1,
        "late_factor": policy.late_factor if policy else 1,
    }
    if submission.status == SubmissionStatus.GRADED and result is not None:
        if lab.kind == LabKind.CODE:
            context["code"] = code_result_view(result, flang)
        else:
            context["parts"] = _result_entries(submission, result, flang, reveal)
    return context


def code_result_view(result: GradingResult, flang: str) -> dict[str, Any] | None:
    """What the pages show of a graded coding submission: the student's view of the result, with
    each test's status named and its points written as people write them."""
    if result.run is None and not result.tests:
        return None
    shown = result.for_student(lang=flang)
    tests = [
        {**test, "status_label": TEST_STATUS_LABELS[test["status"]], "earned": _points(test["points"]),
         "points": _points(test["max_points"])}
        for test in shown["tests"]
    ]
    run = shown.get("run") or {}
    return {"tests": tests, "passed": shown["passed"], "summary": run.get("summary") or "",
            "stdout": run.get("stdout", ""), "stderr": run.get("stderr", ""),
            "output_truncated": bool(run.get("output_truncated")), "resources": run.get("resources", {})}


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


def _box_entries(family: ProblemFamily, params: dict[str, Any], raw: Mapping[str, Any],
                 graded: PartResult, flang: str, reveal: bool) -> list[dict[str, Any]]:
    boxes = family.parts(params)
    items = {box.name: box for box in graded.parts}
    view = _widget_view(family, params, flang)
    widgets = quiz_presenters.fill_widgets(view, {"parts": dict(raw)}, GradingResult(parts=graded.parts))
    solutions = {s["name"]: s for s in quiz_presenters.param_solution_parts(family, params, flang)} if reveal else {}
    out = []
    for box, widget in zip(boxes, widgets, strict=True):
        item = items.get(box.name)
        entry: dict[str, Any] = {
            "name": box.name, "label": widget["label"], "correct": item.correct if item else None,
            "points": item.points if item else None, "max_points": item.max_points if item else None,
            "feedback_html": quiz_presenters.markdown_html(word(item.message, flang) if item else ""),
            "solution": solutions.get(box.name),
        }
        if widget["kind"] == "matrix":
            entry["widget"] = widget
            entry["wrong_cells"] = [(c["row"], c["col"]) for row in widget.get("grid", []) for c in row if c["ok"] is False]
        else:
            value = raw.get(box.name)
            entry["text"] = "" if value is None else value if isinstance(value, str) else json.dumps(value)
            values = _entries(family, box, value)
            cells = item.cells if item else None
            marks = cells[0] if isinstance(cells, list) and len(cells) == 1 else None
            if values is not None and marks is not None and len(marks) == len(values):
                entry["strip"] = [{"value": v, "ok": bool(ok)} for v, ok in zip(values, marks, strict=True)]
        out.append(entry)
    return out


def _box_marks(graded: PartResult, name: str) -> list[bool]:
    box = next((b for b in graded.parts if b.name == name), None)
    cells = box.cells if box is not None else None
    return [bool(c) for c in cells[0]] if cells else []


def _given_values(family: ProblemFamily, params: dict[str, Any], raw: Mapping[str, Any],
                  names: Sequence[str]) -> dict[str, list[Any]]:
    given: dict[str, list[Any]] = {}
    for box in family.parts(params):
        if box.name in names:
            try:
                given[box.name] = list(family.parse_part(box, raw.get(box.name)))
            except (AnswerFormatError, ValueError, TypeError):
                given[box.name] = []
    return given


def _pr_table(family: ProblemFamily, params: dict[str, Any], raw: Mapping[str, Any],
              graded: PartResult, reveal: bool) -> list[dict[str, Any]]:
    """The TP/FP table as the student wrote it, entry by entry right or wrong; correct values if revealed."""
    given = _given_values(family, params, raw, ("tp", "precision", "recall"))
    expected = family.solve(params) if reveal else {}
    tolerances = {part.name: part.tol for part in family.parts(params)}
    n = max((len(v) for v in given.values()), default=0)

    def at(values: Any, i: int) -> Any:
        return values[i] if isinstance(values, list) and i < len(values) else None

    def mark(name: str, i: int) -> bool | None:
        return at(_box_marks(graded, name), i)

    rows = []
    for i in range(n):
        tp, precision, recall = at(given.get("tp"), i), at(given.get("precision"), i), at(given.get("recall"), i)
        row: dict[str, Any] = {
            "rank": i + 1,
            "tp": "" if tp is None else ("TP" if tp else "FP"), "tp_ok": mark("tp", i),
            "precision": "" if precision is None else _fmt(float(precision)), "precision_ok": mark("precision", i),
            "recall": "" if recall is None else _fmt(float(recall)), "recall_ok": mark("recall", i),
        }
        if reveal:
            row["correct"] = {"tp": "TP" if at(expected.get("tp"), i) else "FP",
                              "precision": display_number(float(at(expected.get("precision"), i) or 0.0),
                                                          tolerances.get("precision")),
                              "recall": display_number(float(at(expected.get("recall"), i) or 0.0),
                                                       tolerances.get("recall"))}
        rows.append(row)
    return rows


def has_pr_curve(family: ProblemFamily, params: Mapping[str, Any]) -> bool:
    """Whether this variant asks for a precision/recall table (COCO-style variants do not)."""
    return {"precision", "recall"} <= {box.name for box in family.parts(dict(params))}


def _result_entries(submission: Submission, result: GradingResult, flang: str, reveal: bool) -> list[dict[str, Any]]:
    answers = submission.answers if isinstance(submission.answers, Mapping) else {}
    entries = []
    for position, graded in enumerate(result.parts, start=1):
        key, family_name = graded.name, graded.family
        params = (submission.variant or {}).get(key)
        try:
            family: ProblemFamily | None = get_family(family_name)
        except KeyError:
            family = None
        title = word(graded.label, flang) or key  # the lab part's title: the lab's own text
        # In the reader's language when the lab has it (the stored label differs by language), else as written.
        translated = word(graded.label, "en") != word(graded.label, "zh-Hant")
        entry: dict[str, Any] = {
            "position": position, "key": key, "title": title,
            "title_html": quiz_presenters.in_lang(title, flang if translated else LAB_CONTENT_LANG),
            "points": graded.points, "max_points": graded.max_points, "score": graded.score, "correct": graded.correct,
            "misconceptions": _misconception_names(family, graded.misconceptions, flang),
            "ns": {"item": {"id": f"s{submission.pk}-{key}"}},
            "grid_family": family_name in GRID_FAMILIES,
            "feedback_html": quiz_presenters.markdown_html(word(graded.message, flang)),
            "boxes": [],
        }
        raw = answers.get(key) if isinstance(answers.get(key), Mapping) else {}
        if family is not None and isinstance(params, dict) and graded.parts:
            entry["boxes"] = _box_entries(family, params, raw, graded, flang, reveal)
            if family_name in PR_CURVE_FAMILIES and has_pr_curve(family, params):
                entry["pr"] = {
                    "svg_url": reverse("submission-pr-curve", args=[submission.pk, key]),
                    "rows": _pr_table(family, params, raw, graded, reveal),
                }
        entries.append(entry)
    return entries


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


def submission_pr_graded_part(submission: Submission, part_key: str) -> PartResult | None:
    """The graded detection part whose precision/recall curve can be drawn, or None."""
    result = GradingResult.from_json(submission.result)
    if submission.status != SubmissionStatus.GRADED or result is None:
        return None
    graded = next((p for p in result.parts if p.name == part_key), None)
    params = (submission.variant or {}).get(part_key)
    if graded is None or graded.family not in PR_CURVE_FAMILIES or not isinstance(params, dict):
        return None
    return graded if has_pr_curve(get_family(graded.family), params) else None


def submission_pr_svg(submission: Submission, graded: PartResult, reveal: bool) -> str:
    """The precision/recall picture of a graded detection part (see :func:`pr_curve_svg`)."""
    family = get_family(graded.family)
    params = submission.variant[graded.name]
    raw = (submission.answers or {}).get(graded.name) or {}
    given = _given_values(family, params, raw, ("precision", "recall"))
    values = {name: [float(v) for v in given.get(name, [])] for name in ("precision", "recall")}
    marks = {name: _box_marks(graded, name) for name in ("precision", "recall")}
    n = min(len(values["recall"]), len(values["precision"]))
    right: list[bool | None] = []
    for i in range(n):
        ok = [m[i] for m in marks.values() if i < len(m)]
        right.append(all(ok) if ok else None)
    correct = None
    if reveal:
        expected = family.solve(params)
        correct = ([float(v) for v in expected["recall"]], [float(v) for v in expected["precision"]])
    return pr_curve_svg(recall=values["recall"][:n], precision=values["precision"][:n], right=right, correct=correct)


# --------------------------------------------------------------------------- the API's view


def _api_part(part: dict[str, Any]) -> dict[str, Any]:
    """A lab part of the student's view in the API's names (``key``, ``title``, ``feedback``, ``items``)."""
    return {
        "key": part["name"], "title": part["label"], "score": part["score"], "points": part["points"],
        "max_points": part["max_points"], "correct": part["correct"], "feedback": part["message"],
        "misconceptions": part["misconceptions"],
        "items": [{"name": box["name"], "label": box["label"], "score": box["score"], "points": box["points"],
                   "max_points": box["max_points"], "correct": box["correct"], "feedback": box["message"],
                   "misconceptions": box["misconceptions"], "cells": box["cells"]}
                  for box in part.get("parts", [])],
    }


def _api_code(shown: dict[str, Any]) -> dict[str, Any]:
    """A coding lab's part of the student's view in the API's names (``points`` is a test's maximum,
    ``earned`` what it earned)."""
    run = shown.get("run") or {}
    return {
        "tests": [{**{key: test[key] for key in ("name", "title", "public", "function", "passed", "status",
                                                 "message", "seconds", "traceback")},
                   "points": test["max_points"], "earned": test["points"]} for test in shown["tests"]],
        "passed": shown["passed"], "summary": run.get("summary"), "stdout": run.get("stdout", ""),
        "stderr": run.get("stderr", ""), "output_truncated": bool(run.get("output_truncated")),
        "resources": run.get("resources", {}),
    }


def submission_api_view(submission: Submission, *, lang: str) -> dict[str, Any]:
    """A submission for the API, its result as the student may see it, worded in ``lang``."""
    result = GradingResult.from_json(submission.result)
    shown = result.for_student(lang=lang) if result is not None else None
    return {
        "id": submission.pk,
        "url": reverse("api-submission-detail", kwargs={"submission_id": submission.pk}),
        "page_url": reverse("submission-page", args=[submission.pk]),
        "lab": submission.lab.slug, "user": submission.user.username, "number": submission.number,
        "status": submission.status, "lang": submission.lang, "created_at": submission.created_at,
        "enqueued_at": submission.enqueued_at, "started_at": submission.started_at,
        "finished_at": submission.finished_at, "late_days": submission.late_days,
        # The API's names, kept for the scripts that read them (dlcv_submit.py among them): its
        # "score" is the points after the lab's policies, its "raw_score" the 0–1 score before them.
        "score": submission.points, "raw_score": submission.score,
        "points": shown["points"] if shown else None, "max_points": shown["max_points"] if shown else None,
        "misconceptions": shown["misconceptions"] if shown else [],
        "parts": [_api_part(part) for part in shown["parts"]] if shown else [],
        "answers": submission.answers or {}, "kind": submission.lab.kind,
        "code": _api_code(shown) if shown and "tests" in shown else None,
        "source_code": submission.source_code,
    }
