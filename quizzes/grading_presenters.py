"""What the essay grading pages show, worded in the request's language: the questions with their
progress, one answer with its question, the rubric (number keys 1–9), and the grader's last grade."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from dlcv_site.i18n import COURSE_LANG, grader_lang, localized
from grader.i18n import word
from grader.results import GradingResult
from quizzes.bank.render import render_markdown
from quizzes.grading_selectors import Answer, QuestionAnswers
from quizzes.models import AttemptItem, RubricItem
from quizzes.presenters import content_in, markdown_html, version_content

RUBRIC_KEYS = 9  # number keys 1–9 toggle the first nine items


def _inline(text: str) -> SafeString:
    """Short Markdown (a rubric title) without its wrapping paragraph; raw HTML escaped."""
    html = render_markdown(text or "").strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return mark_safe(html)  # render_markdown escapes raw HTML


def student_label(answer: Answer | None, *, anonymous: bool) -> str:
    if answer is None:
        return ""
    return _("Student %(number)d") % {"number": answer.number} if anonymous else answer.name


def rubric_rows(rubric: list[RubricItem], applied: set[int] | None = None) -> list[dict[str, Any]]:
    rows = []
    for index, rubric_item in enumerate(rubric):
        title = localized(rubric_item.title, rubric_item.translations, "title", source_lang=COURSE_LANG)
        rows.append({
            "id": rubric_item.pk, "key": str(index + 1) if index < RUBRIC_KEYS else "",
            "title": rubric_item.title, "title_en": ((rubric_item.translations or {}).get("en") or {}).get("title", ""),
            "title_html": _inline(title.text), "title_lang": title.lang, "points": rubric_item.points,
            "deduction": rubric_item.points < 0, "applied": rubric_item.pk in (applied or set()),
            "uses": getattr(rubric_item, "uses", None),
        })
    return rows


def grading_item_page(*, item: AttemptItem, answers: QuestionAnswers, anonymous: bool, rubric: list[RubricItem],
                      applied: set[int]) -> dict[str, Any]:
    """One answer to grade: the question and the answer rendered (the answer is the student's input:
    Markdown with raw HTML escaped), the rubric, the last grade, the place in the question's answers."""
    lang = grader_lang()
    text = content_in(version_content(item.question_version), lang)
    at = answers.find(item.pk)
    current = answers.answers[at] if at is not None else None
    feedback = GradingResult.from_json(item.feedback)
    comment = word(feedback.message, lang) if feedback is not None and feedback.graded_by else ""
    answer_text = str((item.response or {}).get("text") or "") if isinstance(item.response, dict) else ""
    earned = (item.score or Decimal(0)) * item.max_points if not item.needs_manual_grading else None
    return {
        "student": student_label(current, anonymous=anonymous),
        "prompt_html": markdown_html(text.prompt), "prompt_lang": text.lang,
        "answer_html": markdown_html(answer_text) if answer_text.strip() else "",
        "rubric": rubric_rows(rubric, applied),
        "key_points": len(text.spec.get("key_points") or []),
        "adjustment": item.rubric_adjustment, "comment": comment,
        "max_points": item.max_points, "earned": earned, "graded": not item.needs_manual_grading,
        "position": (at or 0) + 1, "graded_count": answers.graded, "total": answers.total,
        "previous": answers.previous(item.pk), "following": answers.following(item.pk),
        "next_ungraded": answers.next_ungraded(item.pk),
    }


def question_title(title: str, translations: dict[str, Any]) -> dict[str, str]:
    shown = localized(title, translations, "title", source_lang=COURSE_LANG)
    return {"title": shown.text, "title_lang": shown.lang}
