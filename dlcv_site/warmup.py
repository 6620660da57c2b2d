"""Work every web process would otherwise do on its first requests, done once at start-up.

Under gunicorn (``preload_app`` in ``dlcv_site.gunicorn_conf``) this runs in the master before it
forks, so the workers share the result: the first students of an exam do not each wait for URL
modules to import, templates to compile, translation catalogs and the cache's client library to
load, nor for every question of the exam to be rendered (Markdown + MathML) once per process.
Before these were all here, a worker's first landing page took 95 ms of CPU against 3.5 ms for its
next (measured). The one database connection used here, to read the bank's current versions, is
closed before returning (a connection made before the fork would be shared by every worker); no
cache connection is made.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path
from wsgiref.util import setup_testing_defaults

from django.conf import settings
from django.contrib.auth import get_backends
from django.core.cache import caches
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import get_template
from django.urls import get_resolver, reverse
from django.utils import formats, translation
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def warm_up(application: WSGIHandler) -> None:
    """Everything below, then one anonymous request per language through ``application``."""
    resolver = get_resolver()
    resolver.url_patterns  # imports every view module (DRF, drf-spectacular, …)  # noqa: B018
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            translation.gettext("Saved %(time)s")  # loads the catalog
            # The table {% url %} and reverse() look names up in, built once per language on first
            # use: 36 ms of a worker's first page, measured.
            resolver.reverse_dict  # noqa: B018
            formats.get_format("DATETIME_INPUT_FORMATS", lang=language)  # imports the locale's formats module
    get_backends()  # the authentication backends, which load a session's user
    import_string(settings.SESSION_SERIALIZER)
    import_cache_clients()
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
    warm_request_cycle(application)


def import_cache_clients() -> None:
    """Build each configured cache's client object, which imports its client library: Django's
    RedisCache imports ``redis`` only there, and that import was 78 ms of every worker's first
    request (measured). No connection is opened: a redis-py pool connects on its first command."""
    for alias in settings.CACHES:
        getattr(caches[alias], "_cache", None)  # RedisCache's client is this cached property


def warm_request_cycle(application: WSGIHandler) -> dict[str, int]:
    """Send an anonymous GET of the login page, in each language, through the whole handler: every
    middleware, the context processors, the message and static-file storages and the page's
    template are imported and set up here, not on each worker's first requests. It needs no
    database nor cache (no session is read or written). Returns each language's status."""
    host = next((h for h in settings.ALLOWED_HOSTS if h not in ("*", "") and not h.startswith(".")), "localhost")
    statuses: dict[str, int] = {}
    for language, _name in settings.LANGUAGES:
        environ = {"PATH_INFO": reverse("login"), "SERVER_NAME": host, "HTTP_ACCEPT_LANGUAGE": language,
                   "wsgi.url_scheme": "https" if settings.SECURE_SSL_REDIRECT else "http"}
        setup_testing_defaults(environ)  # the rest of a GET's environ (a made-up request is what is wanted)

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None,
                           language: str = language) -> None:
            statuses[language] = int(status.split()[0])

        b"".join(application(environ, start_response))
        if statuses.get(language) != 200:
            logger.warning("warm-up request for %s answered %s", language, statuses.get(language))
    connections.close_all()  # none is expected; none may be shared with the workers
    return statuses


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
