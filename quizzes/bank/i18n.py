"""The bank's messages in the active language: Django's gettext, in the request's language.

The bank modules are plain Python: the site, the tests and ``load_bank`` run them with Django set up
(outside a request, gettext uses ``LANGUAGE_CODE``), and without configured Django settings these
functions return the English text unchanged. Mark messages as anywhere else in the project, with
named placeholders, so ``makemessages`` finds them::

    from quizzes.bank.i18n import gettext as _

    errors.add(line, _("duplicate tag %(tag)s") % {"tag": repr(tag)})
"""

from __future__ import annotations

__all__ = ["gettext", "gettext_noop", "pgettext"]


def _django_ready() -> bool:
    try:
        from django.conf import settings
    except ImportError:  # pragma: no cover - Django is a dependency of the project
        return False
    return settings.configured


def gettext(message: str) -> str:
    """``message`` translated into the active language (English without Django)."""
    if not _django_ready():
        return message
    from django.utils.translation import gettext as django_gettext

    return django_gettext(message)


def pgettext(context: str, message: str) -> str:
    """``message`` translated in ``context`` (a short English text may need one to be translatable)."""
    if not _django_ready():
        return message
    from django.utils.translation import pgettext as django_pgettext

    return django_pgettext(context, message)


def gettext_noop(message: str) -> str:
    """Mark ``message`` for the catalog without translating it now (it is translated where shown)."""
    return message
