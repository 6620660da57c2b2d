"""A bank question in each of its languages: pure functions over a version's spec and translations.

A question is written in one language (``QuestionVersion.lang``, the bank's: zh-Hant) and may carry
its text in others (``QuestionVersion.translations``, from the file's ``::: en`` block, see
``fixtures/bank/FORMAT.md``): ``{"en": {"title", "prompt", "explanation", "hint", "choices":
[{"text", "feedback"}], "feedback_true", "feedback_false", "unit", "misconceptions": [message, …],
"key_points": [...], "summary"}}``. ``summary`` (past exams): the question stays in the language it
was written in, and the translation is an English summary shown above it.

* :func:`translated_spec` — the spec with its texts in one language (for the pages).
* :func:`grading_spec` — the spec with each text the grader passes on (a choice's feedback, a
  misconception's message) as ``{lang: text}``, the source language first, so a stored result keeps
  the feedback in every language (``grader.questions``).
* :func:`english_coverage` — how many questions carry English.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ENGLISH", "REQUIRED_LANGUAGES_FILE", "english_coverage", "grading_spec", "has_translation",
           "required_languages", "translated_spec"]

ENGLISH = "en"
#: A bank's ``languages.yaml``: ``required: [en]``, the languages every question must carry besides its
#: own (checked by ``quizzes.services.bank.bank_read``); turned on once every question had them, so that a
#: new question cannot come without. A bank without the file requires none.
REQUIRED_LANGUAGES_FILE = "languages.yaml"


def has_translation(translations: Mapping[str, Any] | None, lang: str) -> bool:
    return bool((translations or {}).get(lang))


def translated_spec(spec: Mapping[str, Any], translation: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``spec`` with the texts ``translation`` gives put in place of the source's."""
    out = copy.deepcopy(dict(spec))
    for index, choice in enumerate(translation.get("choices") or []):
        if index < len(out.get("choices") or []):
            out["choices"][index].update({k: v for k, v in choice.items() if v})
    for key in ("feedback_true", "feedback_false", "unit"):
        if translation.get(key):
            out[key] = translation[key]
    for index, message in enumerate(translation.get("misconceptions") or []):
        if index < len(out.get("misconceptions") or []):
            out["misconceptions"][index]["message"] = message
    if translation.get("key_points"):
        out["key_points"] = list(translation["key_points"])
    return out


def _both(source: str | None, translated: Mapping[str, str | None]) -> str | dict[str, str] | None:
    if not source:
        return source
    texts = {lang: text for lang, text in translated.items() if text}
    return source if not texts else {"": source, **texts}


def grading_spec(spec: Mapping[str, Any], source_lang: str, translations: Mapping[str, Any] | None) -> dict[str, Any]:
    """``spec`` for ``grader.questions.grade_question``: each text the grader passes on to the student
    in every language the question has (``{source_lang: text, lang: translation, …}``), and each
    misconception tagged with its source message (the tag does not change with the language)."""
    translations = {lang: t for lang, t in (translations or {}).items() if t and lang != source_lang}
    if not translations:
        return dict(spec)
    out = copy.deepcopy(dict(spec))

    def both(source: str | None, pick: Any) -> Any:
        value = _both(source, {lang: pick(t) for lang, t in translations.items()})
        if isinstance(value, dict):
            value = {source_lang: value.pop("")} | value  # the source language first
        return value

    for index, choice in enumerate(out.get("choices") or []):
        choice["feedback"] = both(choice.get("feedback"), lambda t, i=index: _at(t.get("choices"), i, "feedback"))
    for key in ("feedback_true", "feedback_false"):
        if key in out:
            out[key] = both(out[key], lambda t, k=key: t.get(k))
    for index, misconception in enumerate(out.get("misconceptions") or []):
        message = misconception.get("message") or ""
        misconception.setdefault("tag", message[:60])
        misconception["message"] = both(message, lambda t, i=index: _at(t.get("misconceptions"), i))
    return out


def _at(items: Any, index: int, key: str | None = None) -> str | None:
    if not isinstance(items, list) or index >= len(items):
        return None
    item = items[index]
    return item.get(key) if key is not None and isinstance(item, Mapping) else item if key is None else None


def required_languages(bank_dir: Path) -> tuple[str, ...]:
    """The languages ``bank_dir/languages.yaml`` requires (none without the file)."""
    path = bank_dir / REQUIRED_LANGUAGES_FILE
    if not path.is_file():
        return ()
    data = yaml.safe_load(path.read_text("utf-8")) or {}
    required = data.get("required") or [] if isinstance(data, dict) else []
    return tuple(str(lang) for lang in required)


def english_coverage(translations: Iterable[Mapping[str, Any] | None]) -> tuple[int, int]:
    """(questions with English, questions) over each question's translations."""
    count = total = 0
    for item in translations:
        total += 1
        count += has_translation(item, ENGLISH)
    return count, total
