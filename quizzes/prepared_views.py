"""Parameterized items' views, prepared before an exam opens and kept in the shared cache.

Every student of an exam has their own numbers in each parameterized question, so its view
(``presenters.variant_view``: generating the variant, its statement's Markdown and MathML) is
worked out once per student, and all of them ask for it within the same minute: it was a third of
the exam page's CPU. ``exam_variants_prepare`` (a periodic task, before the window opens) works out
every enrolled student's views ahead of time and stores them here; the exam page reads its
parameterized items' views with one round trip and works out only what it does not find.

Keyed by what the view is made of: the rendering code (``item_html.render_version``), the
version's id and content hash, the item's seed and the language — an edited question or a deploy
never serves an old view. The view never holds an answer (see ``presenters.item_view``).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache as django_cache
from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache

from quizzes import item_html, presenters
from quizzes.presenters import VersionContent

logger = logging.getLogger(__name__)


def cache_is_shared() -> bool:
    """Whether the cache is one the web processes share (Redis with ``CACHE_URL``), not each
    process's own memory."""
    return not isinstance(caches["default"], (LocMemCache, DummyCache))


def view_key_prefix() -> str:
    """The part of every key that names the rendering code: a deploy changes it."""
    return f"quizzes:view:{item_html.render_version()}"


def view_key(content: VersionContent, seed: int, lang: str) -> str:
    return f"{view_key_prefix()}:{content.id}:{content.content_hash}:{seed}:{lang}"


def is_parameterized(content: VersionContent) -> bool:
    """Only these items' views differ per student; the others are shared in process memory."""
    return content.qtype == "param"


def prepared_views(pairs: list[tuple[VersionContent, int]], lang: str) -> dict[tuple[int, int], dict[str, Any]]:
    """The prepared views of these (content, seed) pairs that the cache holds, by (version id, seed):
    parameterized ones only, one round trip. A cache that is down finds nothing (the page works
    them out)."""
    keys = {view_key(content, seed, lang): (content.id, seed) for content, seed in pairs if is_parameterized(content)}
    if not keys:
        return {}
    try:
        found = django_cache.get_many(list(keys))
    except Exception:
        logger.warning("prepared views unavailable; working them out", exc_info=True)
        return {}
    return {keys[key]: view for key, view in found.items()}


def views_missing(pairs: list[tuple[VersionContent, int]], langs: list[str]) -> list[tuple[VersionContent, int, str]]:
    """The (content, seed, lang) of these parameterized pairs whose view is not in the cache yet."""
    wanted = {view_key(content, seed, lang): (content, seed, lang)
              for content, seed in pairs if is_parameterized(content) for lang in langs}
    present = django_cache.get_many(list(wanted)) if wanted else {}
    return [triple for key, triple in wanted.items() if key not in present]


def views_store(triples: list[tuple[VersionContent, int, str]], *, timeout: int) -> int:
    """Work out and store the views of these (content, seed, lang); how many were stored."""
    views = {view_key(content, seed, lang): presenters.item_view_uncached(content, seed, lang) for content, seed, lang in triples}
    if views:
        django_cache.set_many(views, timeout)
    return len(views)
