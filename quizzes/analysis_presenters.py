"""What the item-analysis pages show: figures worded and rounded in the request's language, the
flags in words, the two charts' geometry (drawn as SVG by the templates, no script) and the CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from grader.item_analysis import (
    FLAG_DISTRACTOR_TOP,
    FLAG_NEGATIVE_DISCRIMINATION,
    FLAG_TOO_EASY,
    FLAG_TOO_HARD,
    FLAG_UNFAIR_VARIANTS,
    AssessmentStats,
    ItemStats,
)
from quizzes.analysis_selectors import AssessmentAnalysis, ItemInfo, QuestionInAssessment
from quizzes.bank.render import render_markdown
from quizzes.models import QuestionType

FLAG_WORDS = {
    FLAG_TOO_EASY: gettext_lazy("Too easy"),
    FLAG_TOO_HARD: gettext_lazy("Too hard"),
    FLAG_NEGATIVE_DISCRIMINATION: gettext_lazy("Negative discrimination"),
    FLAG_DISTRACTOR_TOP: gettext_lazy("A distractor chosen by the top group"),
    FLAG_UNFAIR_VARIANTS: gettext_lazy("Unfair variants: facility differs by more than 10 points"),
}

# The charts' drawing areas (SVG user units; the SVG scales to the page's width).
SCATTER = {"width": 360, "height": 260, "left": 48, "right": 344, "top": 16, "bottom": 216}
HISTOGRAM = {"width": 360, "height": 240, "left": 40, "right": 344, "top": 16, "bottom": 196}


def percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f} %"


def decimal(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _inline_markdown(text: str) -> SafeString:
    """An option's Markdown (maths included) as HTML, without its wrapping paragraph."""
    html = render_markdown(text or "").strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return mark_safe(html)  # render_markdown escapes raw HTML


def _option_label(info: ItemInfo, index: int) -> str:
    if info.qtype == QuestionType.TRUEFALSE:
        return _("True") if index == 0 else _("False")
    return chr(ord("A") + index) if index < 26 else str(index + 1)


def _item_row(number: int, info: ItemInfo, item: ItemStats) -> dict[str, Any]:
    return {
        "number": number, "bank_id": info.bank_id, "title": info.title, "lang": info.lang,
        "type": QuestionType(info.qtype).label if info.qtype in QuestionType.values else info.qtype,
        "n": item.n, "facility": percent(item.facility), "sd": percent(item.sd),
        "discrimination": decimal(item.discrimination), "item_rest_r": decimal(item.item_rest_r),
        "flags": [str(FLAG_WORDS[flag]) for flag in item.flags],
        "flag_codes": list(item.flags),
        "unanswered": item.unanswered,
        "options": [{
            "label": _option_label(info, option.index),
            "text": _inline_markdown(info.option_texts[option.index]) if option.index < len(info.option_texts)
            and info.qtype != QuestionType.TRUEFALSE else "",
            "correct": option.correct, "count": option.count, "frequency": percent(option.frequency),
            "mean_total": percent(option.mean_total), "upper": percent(option.upper_share, 0),
            "lower": percent(option.lower_share, 0),
            "top_group_distractor": option.drew_top_group,
        } for option in item.options],
        # A bank question's misconceptions without a tag are named by their message (course content).
        "misconceptions": [{"tag": m.tag, "count": m.count, "frequency": percent(m.frequency),
                            "lang": "" if info.qtype == QuestionType.PARAM else (info.source_lang or info.lang)}
                           for m in item.misconceptions],
        "variant_groups": [{"group": g.group or _("(one kind only)"), "n": g.n, "facility": percent(g.facility)}
                           for g in item.variant_groups],
        "variant_spread": None if item.variant_spread is None else f"{item.variant_spread * 100:.1f}",
    }


def _scatter(rows: Sequence[dict[str, Any]], items: Sequence[ItemStats]) -> dict[str, Any]:
    box = SCATTER
    width, height = box["right"] - box["left"], box["bottom"] - box["top"]

    def y_of(d: float) -> float:
        return round(box["top"] + (1 - (d + 1) / 2) * height, 1)

    points = []
    for row, item in zip(rows, items, strict=True):
        if item.facility is None or item.discrimination is None:
            continue
        x = round(box["left"] + item.facility * width, 1)
        points.append({"x": x, "y": y_of(item.discrimination), "label": row["number"],
                       "label_x": round(x + 5, 1), "label_y": round(y_of(item.discrimination) - 4, 1),
                       "flagged": bool(item.flags),
                       "title": _("Item %(number)s: facility %(facility)s, discrimination %(d)s") % {
                           "number": row["number"], "facility": row["facility"], "d": row["discrimination"]}})
    return {
        **box, "points": points,
        "x_ticks": [{"x": round(box["left"] + f * width, 1), "label": f"{int(f * 100)}"} for f in (0, .25, .5, .75, 1)],
        "y_ticks": [{"y": y_of(d), "label": f"{d:g}"} for d in (-1, -.5, 0, .5, 1)],
        "zero_y": y_of(0.0), "x_label_x": box["left"] + width / 2, "x_label_y": box["height"] - 8,
        "y_label_y": box["top"] + height / 2,
    }


def _histogram(stats: AssessmentStats) -> dict[str, Any]:
    box = HISTOGRAM
    width, height = box["right"] - box["left"], box["bottom"] - box["top"]
    top = max((b.count for b in stats.histogram), default=0) or 1
    slot = width / max(len(stats.histogram), 1)
    bars = []
    for i, b in enumerate(stats.histogram):
        bar_height = round(b.count / top * height, 1)
        bars.append({"x": round(box["left"] + i * slot + 1, 1), "width": round(slot - 2, 1),
                     "y": round(box["bottom"] - bar_height, 1), "height": bar_height, "count": b.count,
                     "count_y": round(box["bottom"] - bar_height - 3, 1), "mid": round(box["left"] + (i + .5) * slot, 1),
                     "range": f"{b.low * 100:.0f}–{b.high * 100:.0f} %"})
    return {**box, "bars": bars, "max_count": top,
            "x_ticks": [{"x": round(box["left"] + i * slot, 1), "label": f"{i * 100 // len(stats.histogram)}"}
                        for i in range(len(stats.histogram) + 1)],
            "x_label_x": box["left"] + width / 2, "x_label_y": box["height"] - 6}


def summary_rows(stats: AssessmentStats) -> list[dict[str, str]]:
    reliability = _("KR-20") if stats.dichotomous else _("Cronbach's alpha")
    return [
        {"label": _("Attempts analysed"), "value": str(stats.n)},
        {"label": _("Mean score"), "value": percent(stats.mean)},
        {"label": _("Median score"), "value": percent(stats.median)},
        {"label": _("Standard deviation"), "value": percent(stats.sd)},
        {"label": reliability, "value": decimal(stats.alpha, 3)},
        {"label": _("Standard error of measurement"), "value": percent(stats.sem)},
    ]


def assessment_analysis_context(analysis: AssessmentAnalysis) -> dict[str, Any]:
    stats = analysis.stats
    rows = [_item_row(number, info, item)
            for number, (info, item) in enumerate(zip(analysis.items, stats.items, strict=True), start=1)]
    return {
        "summary": summary_rows(stats),
        "alpha_note": (_("Reliability is computed over the %(n)s attempts that were given every question.")
                       % {"n": stats.alpha_n}) if stats.alpha_n != stats.n else "",
        "rows": rows,
        "flagged": [row for row in rows if row["flags"]],
        "scatter": _scatter(rows, stats.items),
        "histogram": _histogram(stats),
        "has_attempts": stats.n > 0,
    }


def question_analysis_context(found: Sequence[QuestionInAssessment]) -> dict[str, Any]:
    return {"rows": [{
        "assessment": entry.assessment, "assessment_n": entry.assessment_n, "n": entry.item.n,
        "facility": percent(entry.item.facility), "sd": percent(entry.item.sd),
        "discrimination": decimal(entry.item.discrimination), "item_rest_r": decimal(entry.item.item_rest_r),
        "flags": [str(FLAG_WORDS[flag]) for flag in entry.item.flags],
        "variant_groups": [{"group": g.group or _("(one kind only)"), "n": g.n, "facility": percent(g.facility)}
                           for g in entry.item.variant_groups],
    } for entry in found]}


def assessment_analysis_csv(analysis: AssessmentAnalysis) -> str:
    """One row per item, figures unrounded except to 4 decimals; the header in the request's language."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Number"), _("Bank id"), _("Title"), _("Type"), _("Attempts"), _("Facility"),
                     _("Standard deviation"), _("Discrimination index"), _("Item–rest correlation"),
                     _("Variant spread"), _("Flags")])

    def plain(value: float | None) -> str:
        return "" if value is None else f"{value:.4f}"

    for number, (info, item) in enumerate(zip(analysis.items, analysis.stats.items, strict=True), start=1):
        writer.writerow([number, info.bank_id, info.title, info.qtype, item.n, plain(item.facility), plain(item.sd),
                         plain(item.discrimination), plain(item.item_rest_r), plain(item.variant_spread),
                         "; ".join(str(FLAG_WORDS[flag]) for flag in item.flags)])
    return out.getvalue()
