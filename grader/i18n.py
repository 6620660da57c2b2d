"""The grader's one way to translate: GNU gettext catalogs read with the standard library.

Every user-facing string of the core is written in English in the source and translated in
``grader/locale/<locale>/LC_MESSAGES/grader.po``, compiled to ``grader.mo`` (both committed, so a
machine needs neither GNU gettext nor Babel to run; ``make messages`` refreshes them, and
``grader/tests/test_i18n.py`` fails when a marked string has no translation).

The core keeps no language of its own: there is no request here. Text is worded in one of two ways:

* now, in a language the caller names — statements and worked solutions::

      _ = gettext_for(lang)
      _("Output size")

* later, in every language at once — feedback that is stored and shown to whoever reads it, in
  the reader's language. A :class:`Text` names a catalog message and its arguments; it is worded
  by calling it with a language, or into ``{lang: text}`` for storage by :func:`localize`::

      note = Text("%(ok)d of your %(n)d entries are correct.", ok=3, n=4)
      note("zh-Hant")     # the Chinese sentence, with 3 and 4 put in
      localize(note)      # {"en": "3 of your 4 entries are correct.", "zh-Hant": …}

Strings defined before a language is known (titles, labels, misconception messages) are marked
with :func:`N_` and translated where they are shown. The extractor knows ``_``, ``N_``, ``Text``
and ``Plural`` (``make messages``; ``grader/babel.cfg``). Placeholders are named, ``%(name)s`` style
(Python's ``%`` operator), so LaTeX braces need no escaping; a literal percent sign in a message
with arguments is written ``%%``.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_LANG",
    "LANGS",
    "Joined",
    "LocalText",
    "Plural",
    "Text",
    "Translated",
    "Verbatim",
    "Wording",
    "check_lang",
    "gettext_for",
    "join_list",
    "join_sentences",
    "localize",
    "N_",
    "ngettext_for",
    "word",
]

#: The languages the grader speaks, as its callers name them.
LANGS: tuple[str, ...] = ("en", "zh-Hant")
#: The language of the source strings (the catalogs' msgids).
DEFAULT_LANG = "en"
DOMAIN = "grader"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
#: gettext's directory name for each language (``zh_Hant``: Django's spelling of the same locale).
LOCALE_NAMES = {"zh-Hant": "zh_Hant"}
#: Sentences are separated by a space in English; Chinese sentences end in 。 and run on.
_SENTENCE_SEPARATORS = {"en": " ", "zh-Hant": ""}
#: Items of an inline list: "a, b, c" in English, 「a、b、c」 in Chinese.
_LIST_SEPARATORS = {"en": ", ", "zh-Hant": "、"}

#: A text in every language it was worded in: ``{"en": …, "zh-Hant": …}`` (how results store text).
LocalText = dict[str, str]


def check_lang(lang: str) -> str:
    """``lang`` if the grader speaks it, else ``ValueError``."""
    if lang not in LANGS:
        raise ValueError(f"unsupported language {lang!r}; use one of {', '.join(LANGS)}")
    return lang


@lru_cache(maxsize=len(LANGS))
def _translations(lang: str) -> _gettext.NullTranslations:
    check_lang(lang)
    if lang == DEFAULT_LANG:
        return _gettext.NullTranslations()
    # A missing catalog is an install error, not something to fall back from quietly.
    return _gettext.translation(DOMAIN, LOCALE_DIR, languages=[LOCALE_NAMES[lang]])


def gettext_for(lang: str) -> Callable[[str], str]:
    """The catalog lookup of ``lang``: ``_ = gettext_for(lang); _("Correct.")``."""
    return _translations(lang).gettext


def ngettext_for(lang: str) -> Callable[[str, str, int], str]:
    """The plural-aware lookup of ``lang``: ``ngettext(singular, plural, n)``."""
    return _translations(lang).ngettext


def N_(message: str) -> str:
    """Mark ``message`` for the catalog without translating it (it is translated where it is shown)."""
    return message


class Text:
    """A catalog message worded later: ``Text(msgid, **arguments)``. Called with a language it
    returns the translation with the arguments put in; arguments that are texts themselves are
    worded in the same language."""

    __slots__ = ("msgid", "args")

    def __init__(self, msgid: str, /, **args: Any) -> None:
        self.msgid = msgid
        self.args = args

    def _template(self, lang: str) -> str:
        return gettext_for(lang)(self.msgid)

    def __call__(self, lang: str) -> str:
        template = self._template(lang)
        if not self.args:
            return template
        return template % {name: word(value, lang) if _is_wording(value) else value
                           for name, value in self.args.items()}

    def _key(self) -> tuple[Any, ...]:
        return (type(self), self.msgid, tuple(sorted(self.args.items(), key=lambda item: item[0])))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Text) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.msgid, tuple(sorted(self.args))))

    def __repr__(self) -> str:
        args = "".join(f", {name}={value!r}" for name, value in self.args.items())
        return f"{type(self).__name__}({self.msgid!r}{args})"


class Plural(Text):
    """A message with a singular and a plural form, chosen by ``n`` in each language's own way
    (``n`` is also an argument): ``Plural("%(n)d test failed.", "%(n)d tests failed.", n)``."""

    __slots__ = ("plural", "n")

    def __init__(self, singular: str, plural: str, n: int, /, **args: Any) -> None:
        super().__init__(singular, n=n, **args)
        self.plural = plural
        self.n = n

    def _template(self, lang: str) -> str:
        return ngettext_for(lang)(self.msgid, self.plural, self.n)


class Verbatim:
    """Text that is the same in every language: what a student's code printed, a question bank's
    own feedback, a number. Worded as itself."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __call__(self, lang: str) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Verbatim) and self.text == other.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"Verbatim({self.text!r})"


class Translated:
    """Text a person wrote in one language and translated into others: a question bank's feedback
    with its English. Worded in the language asked for, else in the language it was written in
    (``texts``' first entry)."""

    __slots__ = ("texts",)

    def __init__(self, texts: Mapping[str, str]) -> None:
        if not texts:
            raise ValueError("a translated text needs at least one language")
        self.texts = tuple(texts.items())

    def __call__(self, lang: str) -> str:
        return dict(self.texts).get(lang) or self.texts[0][1]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Translated) and self.texts == other.texts

    def __hash__(self) -> int:
        return hash(self.texts)

    def __repr__(self) -> str:
        return f"Translated({dict(self.texts)!r})"


class Joined:
    """Several texts worded in the same language and joined: as sentences (a space in English,
    nothing after a Chinese 。), or with a fixed separator such as a newline between list items."""

    __slots__ = ("pieces", "separator")

    def __init__(self, pieces: Iterable[Wording], separator: str | None = None) -> None:
        self.pieces = tuple(pieces)
        self.separator = separator  # None: the language's sentence separator

    def __call__(self, lang: str) -> str:
        separator = _SENTENCE_SEPARATORS[check_lang(lang)] if self.separator is None else self.separator
        return separator.join(text for text in (word(piece, lang) for piece in self.pieces) if text)

    def __bool__(self) -> bool:
        return bool(self.pieces)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Joined) and (self.pieces, self.separator) == (other.pieces, other.separator)

    def __hash__(self) -> int:
        return hash((self.pieces, self.separator))

    def __repr__(self) -> str:
        return f"Joined({list(self.pieces)!r}, {self.separator!r})"


#: Anything that can be worded in a language: a lazy text, or a stored one (``{lang: text}``, or a
#: plain string stored before results kept every language).
Wording = Text | Verbatim | Translated | Joined | Mapping[str, str] | str


def _is_wording(value: Any) -> bool:
    return isinstance(value, Text | Verbatim | Translated | Joined)


def join_list(items: Iterable[str], lang: str) -> str:
    """Items already worded in ``lang``, as an inline list ("a, b, c" / 「a、b、c」)."""
    return _LIST_SEPARATORS[check_lang(lang)].join(items)


def join_sentences(pieces: Iterable[Wording | None]) -> Joined:
    """The pieces that are not empty, as sentences of one paragraph."""
    return Joined(piece for piece in pieces if piece)


def word(value: Wording | None, lang: str) -> str:
    """``value`` in ``lang``. A stored ``{lang: text}`` without ``lang`` gives its English (else any)
    text; a plain string is returned as it is."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return value.get(lang) or value.get(DEFAULT_LANG) or next(iter(value.values()), "")
    return value(lang)


def localize(value: Wording | None) -> LocalText | str:
    """``value`` worded in every language, for storage: ``{"en": …, "zh-Hant": …}``. A stored value
    is returned as it is (a plain string from an old row stays a string)."""
    if value is None:
        return {lang: "" for lang in LANGS}
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return dict(value)
    return {lang: value(lang) for lang in LANGS}
