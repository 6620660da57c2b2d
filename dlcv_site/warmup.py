"""Work every web process would otherwise do on its first requests, done once at start-up.

With ``gunicorn --preload`` this runs in the master before it forks, so the workers share the
result: the first students of an exam do not each wait ~0.4 s for URL modules to import,
templates to compile and translation catalogs to load. Nothing here opens a database or cache
connection (a connection made before the fork would be shared by every worker).
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import get_template
from django.urls import get_resolver
from django.utils import translation

logger = logging.getLogger(__name__)


def warm_up() -> None:
    get_resolver().url_patterns  # imports every view module (DRF, drf-spectacular, …)  # noqa: B018
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            translation.gettext("Saved %(time)s")  # loads the catalog
    for directory in (Path(d) for d in settings.TEMPLATES[0]["DIRS"]):
        for path in sorted(directory.rglob("*.html")):
            try:
                get_template(str(path.relative_to(directory)))  # compiled and kept by the cached loader
            except (TemplateDoesNotExist, TemplateSyntaxError):  # a broken template fails its own page
                logger.warning("could not compile template %s", path, exc_info=True)
    from grader.problems import all_families  # the problem families register on import

    all_families()
    from quizzes.item_html import render_version  # a digest of the rendering code's files

    render_version()
