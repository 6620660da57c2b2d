"""The quiz page's items as HTML, rendered once per variant and shared by the students who see it.

Rendering ``quizzes/_item.html`` twenty times was most of the cost of an exam page, yet students see
a few variants of each question. An item nobody has answered yet renders the same for everyone with
the same question version (id, content hash, type), variant (``presenters.item_variant``: the option
order), worth (max_points), language, page mode (practice or not, read only or not) and rendering code, except
for its own id, its attempt's id (in its URLs) and its position — and a parameterized question's
statement, which holds each student's numbers (its answer boxes come in a few layouts, which are part
of the key). So it is rendered once with stand-ins in those places (``STAND_IN``,
``STATEMENT_STAND_IN``), kept in Django's cache under that key (per process by default, shared with
``CACHE_URL``; each process also keeps the copies it has used, ``_LOCAL``), and each page puts its items' numbers and statements in place of the stand-ins.

Nothing of one student is in the cache: stand-ins take the place of the ids and the statement, the
widgets are empty, and the item is made from ``presenters.item_view``, which never holds an answer
(``item_solution`` is never called here). Items with anything of the student in them (a saved answer,
a check, feedback) are rendered per page.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.core.cache import cache as django_cache
from django.template.loader import get_template, render_to_string
from django.utils.safestring import SafeString, mark_safe

from grader import i18n as grader_i18n
from grader import problems, questions
from quizzes import presenters
from quizzes.bank import render as bank_render

logger = logging.getLogger(__name__)

ITEM_TEMPLATE = "quizzes/_item.html"
# Stand-ins for the item's id, its attempt's id and its position: numbers no database row reaches
# (just under PostgreSQL's bigint limit) and no question shows (checked before caching).
STAND_IN = {"id": 9_223_372_036_854_775_101, "attempt_id": 9_223_372_036_854_775_202,
            "position": 9_223_372_036_854_775_303}
# A parameterized question's statement (its numbers) is put in per student. "<~" is never in the
# rest of an item: its text is escaped HTML, and no tag begins with "~".
STATEMENT_STAND_IN = mark_safe("<~statement~>")
# A choice question's options in the student's order: the option at position p is rendered with the
# value OPTION_VALUE_STAND_IN + p and the text "<~option p~>", and each page fills in its own order,
# so every order of the options shares one rendering (a six-option question has 720 orders).
OPTION_VALUE_STAND_IN = 9_223_372_036_854_775_400
MAX_STAND_IN_OPTIONS = 99


def _option_text_stand_in(position: int) -> SafeString:
    return mark_safe(f"<~option {position}~>")


CACHE_SECONDS = 24 * 3600
# The shared renderings this process has used, kept in front of the shared cache: a key names its
# content exactly (version, content hash, rendering code), so a copy never goes stale, and a page
# then reads only the items this process has not seen from Redis. Bounded: emptied when full.
_LOCAL: dict[str, str] = {}
LOCAL_ENTRIES = 4096


def local_cache_clear() -> None:
    """Forget this process's copies (tests: each starts with empty caches)."""
    _LOCAL.clear()


def _remember(renderings: dict[str, str]) -> None:
    if len(_LOCAL) + len(renderings) > LOCAL_ENTRIES:
        _LOCAL.clear()
    _LOCAL.update(renderings)


@cache
def render_version() -> str:
    """A digest of what renders an item: its templates, the presenters and Markdown code, the
    translations. A deploy that changes any of them never serves HTML cached by the old code."""
    names = (ITEM_TEMPLATE, "quizzes/_widget.html", "quizzes/_feedback.html")
    paths = [Path(get_template(name).origin.name) for name in names]
    paths += [Path(inspect.getfile(module)) for module in (presenters, bank_render, questions)]
    # Parameterized questions are stated by the grader's families, in the grader's words.
    paths += sorted(Path(inspect.getfile(problems)).parent.glob("*.py"))
    paths += sorted(grader_i18n.LOCALE_DIR.glob(f"*/LC_MESSAGES/{grader_i18n.DOMAIN}.mo"))
    for locale_dir in settings.LOCALE_PATHS:
        paths += sorted(Path(locale_dir).glob("*/LC_MESSAGES/django.mo"))
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def is_blank(entry: dict[str, Any]) -> bool:
    """Nothing of the student in the item yet: no saved answer, no check, no feedback."""
    item = entry["item"]
    return (item.response is None and item.response_saved_at is None and not item.checks
            and not getattr(item, "hint_used", False) and entry["feedback"] is None)


def _option_order(entry: dict[str, Any]) -> tuple[int, ...] | None:
    """A choice question's option order for this student (None for other types, or too many options)."""
    variant = entry["variant"]
    return variant if isinstance(variant, tuple) and len(variant) <= MAX_STAND_IN_OPTIONS else None


def _variant_part(entry: dict[str, Any]) -> str:
    """What tells this item's page apart from other variants of its version, the statement and the
    option order aside (both are filled in per page)."""
    view, variant = entry["view"], entry["variant"]
    if isinstance(variant, tuple):
        return f"{len(variant)}-options" if len(variant) <= MAX_STAND_IN_OPTIONS else "-".join(map(str, variant))
    if variant is None:
        return ""
    # A parameterized question's numbers are in its statement, put in per student; its answer
    # boxes (names, labels, grid sizes) come in a few layouts.
    return hashlib.sha256(repr(view["widgets"]).encode()).hexdigest()[:16]


def _cache_key(entry: dict[str, Any], *, lang: str, practice: bool, readonly: bool) -> str | None:
    if not is_blank(entry):
        return None
    view, content = entry["view"], entry["content"]
    shown = repr((view["prompt_html"], view["hint_html"], view["widgets"]))
    if any(str(number) in shown for number in STAND_IN.values()) or str(OPTION_VALUE_STAND_IN)[:-2] in shown:
        return None  # a question quoting a stand-in number would have it replaced
    return (f"quizzes:item:{render_version()}:{content.id}:{content.content_hash}:{content.qtype}:"
            f"{_variant_part(entry)}:{entry['item'].max_points}:{lang}:{'practice' if practice else 'timed'}:"
            f"{'ro' if readonly else 'rw'}")


def _render(entry: dict[str, Any], *, practice: bool, readonly: bool) -> str:
    context = {"entry": entry, "practice": practice, "readonly": readonly, "exam": False,
               "self_assess": practice and not readonly}
    return render_to_string(ITEM_TEMPLATE, context)


def _shared_entry(entry: dict[str, Any], order: tuple[int, ...] | None) -> dict[str, Any]:
    """The entry as anyone would have it: the item's numbers and statement replaced by stand-ins."""
    item, view = entry["item"], entry["view"]
    stand_in = SimpleNamespace(**STAND_IN, max_points=item.max_points, response_saved_at=None, checks=0,
                               needs_manual_grading=False, self_assessment=None, hint_used=False)
    if view.get("statement_html"):
        view = {**view, "statement_html": STATEMENT_STAND_IN}
    shared = {**entry, "item": stand_in, "view": view}
    if order is not None:  # the widgets the template shows: blank copies (fill_widgets)
        shared["widgets"] = [
            {**widget, "options": [{"value": OPTION_VALUE_STAND_IN + position, "html": _option_text_stand_in(position),
                                    "checked": False} for position in range(len(widget["options"]))]}
            if widget["kind"] in ("radio", "checkbox") else widget
            for widget in entry["widgets"]
        ]
    return shared


def _fill_options(shared: str, entry: dict[str, Any], order: tuple[int, ...] | None) -> str:
    """The student's option ``order`` into a shared rendering (see ``OPTION_VALUE_STAND_IN``)."""
    if order is None:
        return shared
    texts = {option["value"]: option["html"] for widget in entry["view"]["widgets"] if widget["kind"] in ("radio", "checkbox")
             for option in widget["options"]}
    for position, value in enumerate(order):
        shared = shared.replace(str(OPTION_VALUE_STAND_IN + position), str(value))
        shared = shared.replace(_option_text_stand_in(position), texts[value])
    return shared


def items_html(entries: list[dict[str, Any]], *, lang: str, practice: bool, readonly: bool) -> list[SafeString]:
    """Each entry (as built by ``views._item_entry``) rendered with ``quizzes/_item.html``, from the
    cache where it can be, with one cache round trip for the page. ``lang`` is the active language."""
    keys = [_cache_key(entry, lang=lang, practice=practice, readonly=readonly) for entry in entries]
    wanted = [key for key in keys if key and key not in _LOCAL]
    try:
        cached: dict[str, str] = django_cache.get_many(wanted) if wanted else {}
    except Exception:  # a cache that is down makes the page slower, never fail
        logger.warning("item HTML cache unavailable; rendering every item", exc_info=True)
        cached = {}
    fresh: dict[str, str] = {}
    html = []
    for entry, key in zip(entries, keys, strict=True):
        if key is None:
            html.append(mark_safe(_render(entry, practice=practice, readonly=readonly)))
            continue
        order = _option_order(entry)  # computed once: the rendering and the filling both need it
        shared = _LOCAL.get(key) or cached.get(key) or fresh.get(key)
        if shared is None:
            shared = fresh[key] = _render(_shared_entry(entry, order), practice=practice, readonly=readonly)
        item = entry["item"]
        for field, stand_in in STAND_IN.items():
            shared = shared.replace(str(stand_in), str(getattr(item, field)))
        shared = _fill_options(shared, entry, order)
        if entry["view"].get("statement_html"):  # last: the numbers in a statement are not stand-ins
            shared = shared.replace(STATEMENT_STAND_IN, entry["view"]["statement_html"])
        html.append(mark_safe(shared))
    if fresh:
        try:
            django_cache.set_many(fresh, CACHE_SECONDS)
        except Exception:
            logger.warning("item HTML cache unavailable; not stored", exc_info=True)
    if cached or fresh:
        _remember({**cached, **fresh})
    return html
