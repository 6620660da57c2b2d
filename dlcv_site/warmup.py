"""Work every web process would otherwise do on its first requests, done once at start-up.

With ``gunicorn --preload`` this runs in the master before it forks, so the workers share the
result: the first students of an exam do not each wait ~0.4 s for URL modules to import,
templates to compile and translation catalogs to load, nor for every question of the exam to be
rendered (Markdown + MathML) once per process. The one database connection used here, to read the
bank's current versions, is closed before returning (a connection made before the fork would be
shared by every worker); no cache connection is made.
"""

from __future__ import annotations

import gc
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
    warm_question_views()


# The collector's thresholds for the web processes (Python's defaults: 700, 10, 10). Measured over
# 2,800 requests in one process (quizzes.bench.start_profile): the defaults made 10 full passes of
# up to 18 ms; these made none, the longest pass 2.9 ms, and half the total time in the collector.
COLLECTOR_THRESHOLDS = (2000, 10, 100)


def freeze_heap() -> int:
    """Hide every object alive now (modules, compiled templates, the warmed renderings: ~170,000)
    from the cyclic garbage collector, for the rest of the process's life, and make its full passes
    rarer (``COLLECTOR_THRESHOLDS``). Returns how many objects were frozen.

    A pass holds the GIL: every thread of that worker stalls while it runs, so a request caught in
    one waits that long. Unfrozen, each full pass walked the start-up heap: ~65 ms. Frozen, a pass
    walks only what requests left alive since (the renderings of students' variants, sessions…),
    and with the thresholds such passes did not occur at all in the measured run (above). Call it
    last, before the fork: the workers
    inherit the frozen heap (and leave its pages unwritten, so they stay shared).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
    return gc.get_freeze_count()


def warm_question_views() -> int:
    """Render the current version of every question in use (its prompt, choices and input widgets,
    in each language) into the per-process caches of ``quizzes.presenters``. Returns how many
    versions; 0 if the database cannot be read yet (not migrated, down): pages then render them."""
    from django.db import DatabaseError, connections
    from django.db.models import F

    from quizzes import presenters
    from quizzes.models import QuestionVersion

    try:
        versions = list(QuestionVersion.objects.filter(question__retired=False, question__current_version=F("id"))
                        .select_related("question").order_by("id"))
        for version in versions:
            content = presenters.version_content(version)
            for language, _name in settings.LANGUAGES:
                presenters.item_view(content, 0, language)
        return len(versions)
    except DatabaseError:
        logger.warning("question views not warmed: the database cannot be read", exc_info=True)
        return 0
    finally:
        connections.close_all()
