"""The request's language, for the parts of the house that are not Django: the grader core.

Django names languages ``zh-hant``/``en`` (``settings.LANGUAGES``); the grader core names them
``zh-Hant``/``en`` (``grader.i18n.LANGS``). This is the one place that maps one to the other.
A request may also name its language with ``?lang=`` (:class:`QueryLanguageMiddleware`), as API
clients and links to a page in a given language do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _

from grader.i18n import LANGS

#: ``?lang=`` values and the Django language each selects (the grader's names and Django's).
_QUERY_LANGUAGES = {"en": "en", "zh-hant": "zh-hant", "zh-Hant": "zh-hant", "zh-tw": "zh-hant"}
#: The language the course's content is written in (the bank, the labs, the assessments' titles):
#: their ``translations`` (``{lang: {field: text}}``) give it in others.
COURSE_LANG = "zh-Hant"


def grader_lang(language_code: str | None = None) -> str:
    """The grader's name for ``language_code`` (default: the active language): "zh-Hant" or "en"."""
    code = (language_code or translation.get_language() or "").lower()
    return "zh-Hant" if code.startswith("zh") else "en"


@dataclass(frozen=True)
class Localized:
    """A piece of course content in the language a page shows it in: ``text`` is in ``lang``."""

    text: str
    lang: str

    def __str__(self) -> str:
        return self.text


def localized(text: str, translations: Mapping[str, Any] | None, key: str, lang: str | None = None,
              source_lang: str = COURSE_LANG) -> Localized:
    """Course content (a title, a description) in the request's language (``lang``: Django's or the
    grader's code; default: the active one) if ``translations`` (``{lang: {key: text}}``) has it, else
    as written, in ``source_lang``."""
    wanted = grader_lang(lang)
    translated = ((translations or {}).get(wanted) or {}).get(key) if wanted != source_lang else None
    return Localized(translated, wanted) if translated else Localized(text, source_lang)


def django_language(grader_language: str) -> str:
    """Django's name for one of the grader's languages."""
    if grader_language not in LANGS:
        raise ValueError(f"unsupported language {grader_language!r}")
    return "zh-hant" if grader_language == "zh-Hant" else "en"


def query_language(request: HttpRequest) -> str | None:
    """The Django language a ``?lang=`` names, or None (absent or not one we speak)."""
    return _QUERY_LANGUAGES.get(request.GET.get("lang", ""))


def _api_lang_refusal(request: HttpRequest) -> JsonResponse | None:
    """The API's schema allows ``lang`` = ``en`` or ``zh-Hant`` only: anything else given (empty,
    unknown, repeated) is a 400 there, in the language the request chose otherwise."""
    values = request.GET.getlist("lang")
    if not values or (len(values) == 1 and values[0] in LANGS):
        return None
    message = _("lang must be one of: %(choices)s.") % {"choices": ", ".join(LANGS)}
    return JsonResponse({"detail": message, "errors": {"lang": [message]}}, status=400)


class QueryLanguageMiddleware:
    """``?lang=en`` or ``?lang=zh-Hant`` on any URL: that language for this request only (the
    language switch and ``Accept-Language`` choose it otherwise, via Django's LocaleMiddleware,
    which must come before this one). Pages ignore a ``lang`` they do not know; the API refuses it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            refusal = _api_lang_refusal(request)
            if refusal is not None:
                return refusal
        language = query_language(request)
        if language is None:
            return self.get_response(request)
        with translation.override(language):
            request.LANGUAGE_CODE = language
            response = self.get_response(request)
            response.headers.setdefault("Content-Language", language)
            return response
