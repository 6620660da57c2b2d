"""Course content in the request's language, for templates: ``{% load course_content %}``.

A model with ``translations`` (``{lang: {field: text}}``: an assessment, a lab, a lab part, a
question version) shows a field in the request's language if it has it, else as written; the
element holding it gets that language in ``lang`` (WCAG 3.1.2)::

    <h1 lang="{{ assessment|content_lang:"title" }}">{{ assessment|content:"title" }}</h1>

Here (accounts, the lowest app) so that the quiz and the lab templates share it; the rule itself is
``dlcv_site.i18n.localized``.
"""

from __future__ import annotations

from typing import Any

from django import template

from dlcv_site.i18n import COURSE_LANG, Localized, localized

register = template.Library()


def _shown(obj: Any, field: str) -> Localized:
    deferred = obj.get_deferred_fields() if hasattr(obj, "get_deferred_fields") else set()
    # A question version says its language; the other course content is in the course's.
    source_lang = COURSE_LANG if "lang" in deferred else getattr(obj, "lang", None) or COURSE_LANG
    translations = None if "translations" in deferred else getattr(obj, "translations", None)
    return localized(getattr(obj, field, "") or "", translations, field, source_lang=source_lang)


@register.filter
def content(obj: Any, field: str) -> str:
    """``obj.<field>`` in the request's language when ``obj`` has it, else as written."""
    return _shown(obj, field).text


@register.filter
def content_lang(obj: Any, field: str) -> str:
    """The language ``{{ obj|content:field }}`` is in (for the element's ``lang``)."""
    return _shown(obj, field).lang
