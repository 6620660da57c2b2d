"""Per-item rendering for the student pages: pure functions, no database, no request.

A question as one student sees it depends only on its version's content, its variant (what of the
item's seed shows: the option order, a parameterized question's numbers — see :func:`item_variant`)
and the language, so the expensive parts (Markdown + MathML, generating and stating a parameterized
variant) are cached per (version id, content hash, variant, lang) with ``functools.lru_cache``: a
20-question exam renders from memory after the first students, although every student has their own
seeds. ``quizzes.item_html`` caches the rendered HTML on the same key.

Two layers, kept apart on purpose:

* :func:`item_view` — the prompt and the input widgets. It never holds a correct answer, an
  explanation, a key point or a peer answer, so it is safe on an exam page.
* :func:`item_solution` — the correct answer, explanation, the family's worked solution, key points
  and classmates' answers. Views call it only when ``results_visible`` (or in practice).

The widgets are plain dicts (``kind``, ``name``, ``label``, ``options``, ``rows``/``cols`` …);
:func:`fill_widgets` copies them with one student's saved answer for the templates.

Languages: the interface (labels, the grader's statements, feedback and worked solutions) is in the
request's language; so is the bank's own text (prompts, choices, units, explanations, hints, key
points, the feedback a bank question carries) when the version carries that language
(``QuestionVersion.translations``, the file's ``::: en`` block), else it is in the version's own
language (``QuestionVersion.lang``). Classmates' answers and past exams' questions stay in the
language they were written in (a past exam's English is a summary shown above the question). The
views and templates put the language of each piece of content on the element holding it as
``lang="…"`` (WCAG 3.1.2, language of parts: an English page reads Chinese text in a Chinese voice).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.utils import translation
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from dlcv_site.i18n import COURSE_LANG, Localized, grader_lang, localized
from grader.answers import display_number
from grader.i18n import LANGS, Wording, word
from grader.problems import get_family
from grader.problems.base import first_sentence
from grader.questions import choice_order, spec_tolerance
from grader.results import GradingResult
from quizzes.bank.languages import translated_spec
from quizzes.bank.render import render_hackmd, render_markdown
from quizzes.models import QuestionVersion

__all__ = ["Localized", "localized"]  # re-exported: course content in the request's language

#: The language of a version read without its ``lang`` column (the model's default: the bank's).
BANK_LANG: str = QuestionVersion._meta.get_field("lang").default
#: The language of a course's own texts that have no language field: lab titles, descriptions and
#: part titles, assessments' titles and descriptions (the bank loader makes its assessments from the
#: bank's topic names). Course content is written in Traditional Chinese for now; the templates mark
#: it with ``lang`` where it is shown, so an English page says which of its parts are Chinese.
COURSE_CONTENT_LANG = COURSE_LANG
#: CJK ideographs and punctuation: a text with one is written in Chinese (an accepted answer).
_CJK = re.compile("[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


DEFAULT_GRID = (2, 2)  # a grid whose shape is part of the answer starts this small
MAX_GRID = 12


@dataclass(frozen=True)
class VersionContent:
    """What rendering needs from a ``QuestionVersion``; equal (and hashed) by id and content hash."""

    id: int
    content_hash: str
    qtype: str = field(compare=False)
    prompt: str = field(compare=False)
    explanation: str = field(compare=False)
    hint: str = field(compare=False)
    spec: dict[str, Any] = field(compare=False)
    #: The language the version is written in (``QuestionVersion.lang``), for the ``lang`` of its text.
    lang: str = field(compare=False, default=BANK_LANG)
    #: Its text in other languages (``QuestionVersion.translations``): see :func:`content_in`.
    translations: dict[str, dict[str, Any]] = field(compare=False, default_factory=dict)


@dataclass(frozen=True)
class ContentText:
    """A version's text as one page shows it: in the request's language when the version has it."""

    prompt: str
    explanation: str
    hint: str
    spec: dict[str, Any]
    lang: str  # the language of the texts above (the spec's texts included)
    source_lang: str  # the version's own language: classmates' answers, past exams' questions
    #: A past exam's question as written (``prompt`` is then its summary in ``lang``), else "".
    original_prompt: str = ""


def content_in(content: VersionContent, lang: str) -> ContentText:
    """``content``'s text in ``lang`` (Django's or the grader's code) if it carries that language,
    else as written. A translation with a ``summary`` (past exams) summarises the question, which is
    shown as written too."""
    wanted = grader_lang(lang)
    translation = content.translations.get(wanted) if wanted != content.lang else None
    if not translation:
        return ContentText(content.prompt, content.explanation, content.hint, content.spec, content.lang, content.lang)
    summary = translation.get("summary")
    return ContentText(
        prompt=summary or translation.get("prompt") or "",
        explanation=translation.get("explanation") or content.explanation,
        hint=translation.get("hint") or "",
        spec=translated_spec(content.spec, translation), lang=wanted, source_lang=content.lang,
        original_prompt=content.prompt if summary else "",
    )


def version_lang(version: Any) -> str:
    """The language a ``QuestionVersion`` is written in. A version read without its ``lang`` column
    (a selector that reads only the shown fields) is taken to be in the bank's language rather than
    costing a query per item."""
    if "lang" in version.get_deferred_fields():
        return BANK_LANG
    return version.lang or BANK_LANG


def version_content(version: Any) -> VersionContent:
    """The cache key and payload for a ``QuestionVersion`` (its question must be selected)."""
    translations = {} if "translations" in version.get_deferred_fields() else version.translations or {}
    return VersionContent(
        id=version.id, content_hash=version.content_hash, qtype=version.question.type, prompt=version.prompt,
        explanation=version.explanation, hint=version.hint or "", spec=version.spec or {},
        lang=version_lang(version), translations=translations,
    )


def in_lang(text: str, lang: str) -> SafeString:
    """Text in another language than the page's, inline: ``<span lang="…">text</span>`` (escaped),
    e.g. a lab part's title put into a translated sentence ("Part 1: …")."""
    return format_html('<span lang="{}">{}</span>', lang, text)


def markdown_html(text: str) -> SafeString:
    """Bank Markdown + LaTeX as safe HTML (raw HTML in the source is escaped)."""
    return mark_safe(render_markdown(text or ""))  # render_markdown escapes raw HTML


def peer_answers_view(peers: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """Classmates' answers as every page shows them: HackMD's line breaks kept, an empty answer
    labelled "(no answer)" in the request's language, a nameless one "A classmate"."""
    out = []
    for peer in peers:
        body = (peer.get("body") or "").strip()
        out.append({
            "name": peer.get("name") or _("A classmate"), "name_lang": lang if peer.get("name") else "",
            "style": peer.get("style") or "plain", "empty": not body,
            "html": mark_safe(render_hackmd(body)) if body else "",
            "empty_label": "" if body else _("(no answer)"),
            "lang": lang,  # as written
        })
    return out


def _html_text(text: str) -> SafeString:
    """Short Markdown (a choice, a label) without the wrapping paragraph."""
    html = render_markdown(text or "").strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return mark_safe(html)


def part_widget(part: Any, lang: str) -> dict[str, Any]:
    """The input widget of one answer box of a grader family (``grader.problems.base.Part``), in the
    grader's ``lang`` ("en"/"zh-Hant"); hints use Django's active language. Also used by the lab pages."""
    label = part.label_in(lang) or part.name
    widget: dict[str, Any] = {"name": part.name, "label": label, "part_kind": part.kind}
    if part.kind == "matrix":
        rows, cols = part.shape if part.shape else DEFAULT_GRID
        widget.update(kind="matrix", rows=rows, cols=cols, resizable=part.shape is None)
    elif part.kind == "choice":
        widget.update(kind="radio", value_type="str",
                      options=[{"value": key, "html": _html_text(key)} for key in part.choices])
    elif part.kind == "expression":
        widget.update(kind="formula", hint=", ".join(part.symbols))
    elif part.kind in ("integer", "number"):
        widget.update(kind="number")
    else:  # vector, shape, indices: typed lists
        placeholder = {"shape": "3×3", "indices": "0, 2", "vector": "0.1, 0.2"}.get(part.kind, "")
        widget.update(kind="text", placeholder=placeholder,
                      hint=_("%(n)s values") % {"n": part.length} if part.length and part.kind != "shape" else "")
    return widget


Variant = tuple[int, ...] | int | None


def item_variant(content: VersionContent, seed: int) -> Variant:
    """What of an item's seed shows on its page: the option order of a choice question, the seed of a
    parameterized one (it generates the numbers); nothing for the other types, whose page is the
    same for everyone. Items with equal (version, variant, language) look the same."""
    if content.qtype in ("single", "multiple"):
        return tuple(choice_order(content.spec, seed))
    if content.qtype == "param":
        return seed
    return None


def item_view(content: VersionContent, seed: int, lang: str) -> dict[str, Any]:
    """The prompt and the input widgets of one item. Treat the result as read-only (it is shared)."""
    return variant_view(content, item_variant(content, seed), lang)


def variant_view(content: VersionContent, variant: Variant, lang: str) -> dict[str, Any]:
    """``item_view`` for a variant already known (``item_variant``), e.g. kept in a page's entry."""
    return _variant_view(content, variant, lang)


def item_view_uncached(content: VersionContent, seed: int, lang: str) -> dict[str, Any]:
    """``item_view`` worked out anew and not kept in this process (views prepared for a whole
    class would only crowd the cache of the process preparing them)."""
    with translation.override(lang):
        return _item_view(content, item_variant(content, seed), lang)


@lru_cache(maxsize=4096)
def _variant_view(content: VersionContent, variant: Variant, lang: str) -> dict[str, Any]:
    with translation.override(lang):
        return _item_view(content, variant, lang)


@lru_cache(maxsize=1024)
def _version_html(content: VersionContent, lang: str) -> tuple[SafeString, SafeString, tuple[SafeString, ...],
                                                                 SafeString]:
    """The Markdown of a version in ``lang``, rendered once for all its variants: prompt, hint, each
    choice, and a past exam's question as written (under its summary)."""
    text = content_in(content, lang)
    choices = tuple(_html_text(choice.get("text", "")) for choice in text.spec.get("choices") or [])
    return (markdown_html(text.prompt), markdown_html(text.hint) if text.hint else mark_safe(""), choices,
            markdown_html(text.original_prompt) if text.original_prompt else mark_safe(""))


def _item_view(content: VersionContent, variant: Variant, lang: str) -> dict[str, Any]:
    qtype = content.qtype
    text = content_in(content, lang)
    spec = text.spec
    prompt_html, hint_html, choices_html, original_html = _version_html(content, text.lang)
    # "lang": the language of the bank's text in the view (the prompt, the hint, the options' and
    # the unit's ``content_lang``); labels and a parameterized question's statement are the request's.
    # "original_html": a past exam's question as written, in "original_lang", under its summary.
    view: dict[str, Any] = {"type": qtype, "prompt_html": prompt_html, "widgets": [], "hint_html": hint_html,
                            "lang": text.lang, "original_html": original_html, "original_lang": text.source_lang}
    widgets: list[dict[str, Any]] = view["widgets"]
    if qtype in ("single", "multiple"):
        assert isinstance(variant, tuple)
        options = [{"value": index, "html": choices_html[index]} for index in variant]
        widgets.append({"kind": "radio" if qtype == "single" else "checkbox", "name": "value",
                        "label": _("Choose one") if qtype == "single" else _("Tick every option that applies"),
                        "options": options, "value_type": "int", "content_lang": text.lang})
    elif qtype == "truefalse":
        widgets.append({"kind": "truefalse", "name": "value", "label": _("True or false"),
                        "options": [{"value": "true", "html": _("True")}, {"value": "false", "html": _("False")}]})
    elif qtype == "numeric":
        widgets.append({"kind": "number", "name": "value", "label": _("Your answer"), "unit": spec.get("unit") or "",
                        "content_lang": text.lang})
    elif qtype == "matrix":
        shape_given = spec.get("shape_given", True)
        answer = spec.get("answer") or [[0]]
        rows, cols = (len(answer), len(answer[0])) if shape_given else DEFAULT_GRID
        widgets.append({"kind": "matrix", "name": "value", "label": _("Your matrix"), "rows": rows, "cols": cols,
                        "resizable": not shape_given})
    elif qtype == "symbolic":
        widgets.append({"kind": "formula", "name": "value", "label": _("Your formula"),
                        "hint": ", ".join(str(v) for v in spec.get("variables") or [])})
    elif qtype == "text":
        widgets.append({"kind": "text", "name": "value", "label": _("Your answer")})
    elif qtype == "essay":
        widgets.append({"kind": "essay", "name": "text", "label": _("Your answer"),
                        "max_words": spec.get("max_words")})
    elif qtype == "param":
        assert isinstance(variant, int)
        family = get_family(spec["family"])
        params = family.generate(variant, spec.get("constraints") or None)
        flang = grader_lang(lang)
        view["statement_html"] = markdown_html(family.render(params, flang))
        widgets.extend(part_widget(part, flang) for part in family.parts(params))
    return view


def _rows_from_value(value: Any) -> list[list[str]]:
    """A saved matrix (nested lists from the grid, or text someone typed) as rows of cell strings."""
    if isinstance(value, list) and value and all(isinstance(row, list) for row in value):
        return [["" if cell is None else str(cell) for cell in row] for row in value]
    if isinstance(value, list):
        return [["" if cell is None else str(cell) for cell in value]]
    if isinstance(value, str) and value.strip():
        text = value.strip().strip("[]")
        lines = [line for line in re.split(r"[\n;]|\]\s*,?\s*\[", text) if line.strip()]
        return [[c for c in re.split(r"\t|[\s,]+", line.strip().strip("[]")) if c] for line in lines]
    return []


def _grid(widget: dict[str, Any], value: Any, marks: Any) -> list[list[dict[str, Any]]]:
    given = _rows_from_value(value)
    if widget.get("resizable") and given:
        rows = min(len(given), MAX_GRID)
        cols = min(max(len(r) for r in given), MAX_GRID) or 1
    else:
        rows, cols = widget["rows"], widget["cols"]
    widget["rows"], widget["cols"] = rows, cols
    grid = []
    for i in range(rows):
        row = []
        for j in range(cols):
            cell = given[i][j] if i < len(given) and j < len(given[i]) else ""
            ok = None
            if isinstance(marks, list) and i < len(marks) and isinstance(marks[i], list) and j < len(marks[i]):
                ok = bool(marks[i][j])
            row.append({"value": cell, "ok": ok, "row": i + 1, "col": j + 1})
        grid.append(row)
    return grid


def _widget_value(qtype: str, widget: dict[str, Any], response: Any) -> Any:
    if not isinstance(response, dict):
        return None
    if qtype == "param":
        parts = response.get("parts")
        return parts.get(widget["name"]) if isinstance(parts, dict) else None
    if qtype == "single":
        return response.get("choice")
    if qtype == "multiple":
        return response.get("choices")
    if qtype == "essay":
        return response.get("text")
    return response.get("value")


def _cell_marks(qtype: str, widget: dict[str, Any], result: GradingResult | None) -> Any:
    """A graded matrix's per-cell marks: a matrix question's one answer ("value"), or the answer box
    of a parameterized question (or lab part) with the widget's name."""
    name = "value" if qtype == "matrix" else widget["name"]
    part = next((p for p in result.parts if p.name == name), None) if result is not None else None
    return part.cells if part is not None else None


#: Who looks at a student's saved answer: the student, or the course staff.
VIEWER_STUDENT = "student"
VIEWER_STAFF = "staff"


def pick_label(viewer: str) -> str:
    """How a shown (read-only) answer marks the option that was picked, worded for ``viewer``."""
    return _("the student's answer") if viewer == VIEWER_STAFF else _("your answer")


def fill_widgets(view: dict[str, Any], response: Any, result: GradingResult | None = None, *,
                 viewer: str = VIEWER_STUDENT) -> list[dict[str, Any]]:
    """Copies of the view's widgets holding one student's saved answer (and per-cell marks, if graded);
    a picked option is marked for ``viewer`` (the student's "your answer", staff's "the student's")."""
    qtype = view["type"]
    filled = []
    label = pick_label(viewer)
    for widget in view["widgets"]:
        w = copy.copy(widget)
        w["pick_label"] = label
        value = _widget_value(qtype, widget, response)
        if w["kind"] in ("radio", "checkbox", "truefalse"):
            if w["kind"] == "checkbox":
                chosen = {str(v) for v in value} if isinstance(value, list) else set()
            elif w["kind"] == "truefalse":
                chosen = {"true"} if value is True or value == "true" else {"false"} if value is False or value == "false" else set()
            else:
                chosen = {str(value)} if value is not None else set()
            w["options"] = [{**option, "checked": str(option["value"]) in chosen} for option in widget["options"]]
        elif w["kind"] == "matrix":
            w["grid"] = _grid(w, value, _cell_marks(qtype, widget, result))
        else:
            w["value"] = "" if value is None else value if isinstance(value, str) else str(value)
        filled.append(w)
    return filled


def is_answered(response: Any) -> bool:
    """Whether a saved response holds anything a student typed or picked."""
    def has(value: Any) -> bool:
        if isinstance(value, dict):
            return any(has(v) for v in value.values())
        if isinstance(value, list):
            return any(has(v) for v in value)
        if isinstance(value, str):
            return bool(value.strip())
        return value is not None
    return has(response)


# --------------------------------------------------------------------------- solutions


def param_solution_parts(family: Any, params: dict[str, Any], flang: str) -> list[dict[str, Any]]:
    """A family variant's correct answer per answer box: ``{"label", "grid"}`` for matrices, else
    ``{"label", "text"}`` as typed. Solutions only (also used by the lab pages after the due date)."""
    expected = family.solve(params)
    typed = family.display_answer(params, expected)
    parts = []
    for part in family.parts(params):
        entry: dict[str, Any] = {"name": part.name, "label": part.label_in(flang) or part.name}
        if part.kind == "matrix" and isinstance(expected.get(part.name), list):
            entry["grid"] = [[display_number(v, part.tol) for v in row] for row in expected[part.name]]
        else:
            entry["text"] = typed.get(part.name, "")
        parts.append(entry)
    return parts


@lru_cache(maxsize=4096)
def item_solution(content: VersionContent, seed: int, lang: str) -> dict[str, Any]:
    """Correct answer, explanation, worked solution, key points and peer answers. Results only."""
    with translation.override(lang):
        return _item_solution(content, seed, lang)


def _item_solution(content: VersionContent, seed: int, lang: str) -> dict[str, Any]:
    qtype = content.qtype
    text = content_in(content, lang)
    spec = text.spec
    # "lang": the language of the bank's text here (explanation, options, units, key points); classmates'
    # answers and a bank misconception's tag are in "source_lang" (the version's own); the worked
    # solution and a parameterized answer's labels are the request's.
    solution: dict[str, Any] = {"explanation_html": markdown_html(text.explanation), "correct": {"kind": qtype},
                                "lang": text.lang, "source_lang": text.source_lang}
    correct = solution["correct"]
    if qtype in ("single", "multiple"):
        correct["options"] = [
            {"html": _html_text(spec["choices"][i].get("text", "")), "correct": bool(spec["choices"][i].get("correct")),
             "value": i, "feedback_html": _html_text(spec["choices"][i].get("feedback", ""))}
            for i in choice_order(spec, seed)
        ]
    elif qtype == "truefalse":
        correct["text"] = _("True") if spec.get("answer") else _("False")
    elif qtype == "numeric":
        # The bank's known wrong answers, named by their own words in the text shown (their keys are
        # internal: the tag, or the message as written, the same in every language).
        solution["bank_misconception_names"] = {
            (source.get("tag") or source.get("message", "")[:60]): first_sentence(shown.get("message", ""))
            for source, shown in zip(content.spec.get("misconceptions") or [], spec.get("misconceptions") or [],
                                     strict=False)}
        correct["text"] = f"{display_number(spec.get('answer'), spec_tolerance(spec))} {spec.get('unit') or ''}".strip()
        correct["lang"] = text.lang if spec.get("unit") else ""  # the unit is the bank's word
    elif qtype == "matrix":
        correct["grid"] = [[display_number(v, spec_tolerance(spec)) for v in row] for row in spec.get("answer") or []]
    elif qtype == "symbolic":
        correct["text"] = str(spec.get("answer", ""))
    elif qtype == "text":
        # Answers as the bank accepts them, each in its own language; the page's language first.
        accepted = [{"text": str(a), "lang": _answer_lang(str(a), text.source_lang)} for a in spec.get("accept") or []]
        if text.lang != text.source_lang:  # a translated page lists the answers in its language
            accepted = [answer for answer in accepted if answer["lang"] == text.lang] or accepted
        first = accepted[0] if accepted else {"text": "", "lang": ""}
        correct["text"], correct["lang"] = first["text"], first["lang"]
        correct["others"] = [] if spec.get("regex") else accepted[1:]
    elif qtype == "essay":
        solution["key_points"] = [_html_text(point) for point in spec.get("key_points") or []]
        solution["peers"] = peer_answers_view(spec.get("peer_answers") or [], text.source_lang)
    elif qtype == "param":
        family = get_family(spec["family"])
        params = family.generate(seed, spec.get("constraints") or None)
        flang = grader_lang(lang)
        correct["parts"] = param_solution_parts(family, params, flang)
        solution["family_explanation_html"] = markdown_html(family.explain(params, flang))
        solution["misconception_names"] = {m.tag: m.name(flang) for m in family.misconceptions}
    return solution


def _answer_lang(answer: str, source_lang: str) -> str:
    """The language an accepted answer is written in: Chinese if it has a CJK character, else English
    (the bank's Chinese questions accept the English terms too)."""
    if _CJK.search(answer):
        return source_lang if source_lang.startswith("zh") else "zh-Hant"
    return "en"


def is_verbatim(text: Wording) -> bool:
    """Whether a result's text reads the same in every language: words passed through the grader as
    they were written (a bank question's own feedback or misconception message), not the grader's
    own, which it words in each language."""
    return len({word(text, lang) for lang in LANGS}) == 1


def feedback_view(result: GradingResult | None, solution: dict[str, Any] | None = None,
                  lang: str | None = None) -> dict[str, Any] | None:
    """A stored or fresh grade as the student sees it, worded in ``lang`` (the grader's name; default:
    the request's), its Markdown rendered, for templates. Text that the bank wrote (``feedback_lang``,
    a misconception's ``lang``) is in the question's language (``solution["lang"]``), not ``lang``."""
    if result is None:
        return None
    shown = result.for_student(lang=lang or grader_lang())
    solution = solution or {}
    names: Mapping[str, str] = solution.get("misconception_names") or {}
    bank_names: Mapping[str, str] = solution.get("bank_misconception_names") or {}
    # Text the bank wrote reads the same in every language when it has no translation: it is in the
    # version's own language; translated text is in the reader's (the page's).
    source_lang = solution.get("source_lang") or solution.get("lang") or BANK_LANG
    shown_lang = solution.get("lang") or source_lang
    graded_by_hand = bool(result.graded_by)

    return {
        "valid": shown["gradable"],
        "score": shown["score"],
        "feedback_html": [markdown_html(shown["message"])] if shown["message"] and not graded_by_hand else [],
        "feedback_lang": source_lang if shown["message"] and is_verbatim(result.message) else "",
        # Named, never by their tags: a family's in ``lang``, a bank question's in the text shown.
        "misconceptions": [{"tag": tag, "name": names[tag], "lang": ""} if tag in names
                           else {"tag": tag, "name": bank_names[tag], "lang": shown_lang}
                           for tag in shown["misconceptions"] if tag in names or tag in bank_names],
        "format_errors": shown["format_errors"],
        "needs_manual_grading": shown["needs_manual_grading"],
        "manual_comment": shown["message"] if graded_by_hand else "",
        # The course staff's note on a changed score (a regrade request's answer).
        "note": shown["note"],
        # A rubric grade (quizzes.services.rubric): the items applied, titles in ``lang``, and the adjustment.
        "rubric": [{"title": part["label"], "points": part["points"], "adjustment": part["name"] == "adjustment"}
                   for part in shown["parts"]] if graded_by_hand else [],
    }


# --------------------------------------------------------------------------- a past exam to study


def past_exam_study(versions: list[Any], lang: str) -> list[dict[str, Any]]:
    """A past exam laid out for study, question by question: the prompt (figures served from the
    project), our key points, every classmate's answer, and after an essay the numeric parts drawn
    from its figure (with their answers and explanations). No attempt, nothing graded."""
    questions: list[dict[str, Any]] = []
    for version in versions:
        content = version_content(version)
        solution = item_solution(content, 0, lang)
        if content.qtype == "essay" or not questions:
            spec = content.spec
            questions.append({
                "bank_id": version.question.bank_id, "number": spec.get("number"), "year": spec.get("year"),
                "points": version.points, "lang": content.lang,
                "prompt_html": markdown_html(content.prompt),
                "key_points": solution.get("key_points") or [],
                "peers": solution.get("peers") or [],
                "parts": [],
            })
            continue
        questions[-1]["parts"].append({
            "bank_id": version.question.bank_id, "lang": content.lang,
            "prompt_html": markdown_html(content.prompt),
            "answer": solution["correct"].get("text", ""), "answer_lang": solution["correct"].get("lang", ""),
            "explanation_html": solution["explanation_html"],
        })
    return questions
