"""The grader's translation catalogs: extract, update, compile and check them (maintainers and tests).

``python -m grader.catalogs update`` reads every message marked in ``grader/`` (``_``, ``N_``,
``Text``, ``Plural``; see :mod:`grader.i18n`), merges them into
``grader/locale/zh_Hant/LC_MESSAGES/grader.po`` — new ones untranslated, gone ones dropped,
translations kept — and compiles ``grader.mo``. Translate the entries it reports as missing in
the ``.po``, then run it again. ``python -m grader.catalogs check`` changes nothing and exits 1
when a message has no translation, a translation's placeholders differ from its source, or the
``.mo`` is not the ``.po`` compiled (``make test`` runs the same check).

Needs Babel (a development dependency); the grader itself reads the compiled ``.mo`` with the
standard library only.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.i18n import DOMAIN, LOCALE_DIR, LOCALE_NAMES

GRADER_DIR = Path(__file__).resolve().parent
#: What marks a message: the function's name and which of its arguments are msgids (``_err``:
#: ``grader.answers``' format errors).
KEYWORDS: dict[str, Any] = {
    "_": None, "N_": None, "gettext": None, "ngettext": (1, 2), "Text": None, "Plural": (1, 2), "_err": None,
}
#: A named placeholder (the only kind messages use): ``%(name)s``, ``%(n)d``, ``%(x).3g``.
_PLACEHOLDER = re.compile(r"%\((\w+)\)[#0\- +]*\d*(?:\.\d+)?([a-zA-Z])")


@dataclass(frozen=True)
class Problem:
    msgid: str
    what: str

    def __str__(self) -> str:
        return f"{self.what}: {self.msgid!r}"


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(locale: str) -> Path:
    return po_path(locale).with_suffix(".mo")


def _skip(dirname: str) -> bool:
    return Path(dirname).name not in {"tests", "locale", "__pycache__"}


def extract(source_dir: Path = GRADER_DIR) -> Any:
    """Every marked message of the grader's sources (its tests aside), as a Babel catalog."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    catalog = Catalog(project="DLCV Exam Prep grader", version="1", copyright_holder="DLCV Exam Prep",
                      msgid_bugs_address="", last_translator="DLCV Exam Prep", language_team="", charset="utf-8",
                      header_comment="# The grader's messages (python -m grader.catalogs update).")
    for filename, lineno, message, comments, context in extract_from_dir(
        source_dir, keywords=KEYWORDS, comment_tags=("Translators:",), strip_comment_tags=True,
        directory_filter=_skip,
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def _read_po(path: Path, locale: str) -> Any:
    from babel.messages.pofile import read_po

    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def _placeholders(text: str) -> list[tuple[str, str]]:
    return sorted(set(_PLACEHOLDER.findall(text)))


def _key(message: Any) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def _problems(source: Any, catalog: Any) -> list[Problem]:
    problems: list[Problem] = []
    wanted = {_key(message) for message in source if message.id}
    for message in source:
        if not message.id:
            continue
        found = catalog.get(message.id)
        strings = [] if found is None else (
            [found.string] if isinstance(found.string, str | None) else list(found.string))
        if found is None or not strings or not all(strings) or found.fuzzy:
            problems.append(Problem(_key(message), "no translation"))
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        for string in strings:
            if _placeholders(string) != _placeholders(ids[-1]) and _placeholders(string) != _placeholders(ids[0]):
                problems.append(Problem(_key(message), f"placeholders differ in {string!r}"))
    problems += [Problem(_key(message), "in the catalog but no longer in the source")
                 for message in catalog if message.id and _key(message) not in wanted]
    return problems


def _compiled(catalog: Any) -> bytes:
    from babel.messages.mofile import write_mo

    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def _translations(data: bytes) -> dict[Any, str]:
    """A compiled catalog's messages (its header aside), as the standard library reads them."""
    import gettext

    messages = dict(gettext.GNUTranslations(io.BytesIO(data))._catalog)  # type: ignore[attr-defined]
    return {key: value for key, value in messages.items() if key not in ("", ("", 0))}


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def update(locales: Iterable[str] = LOCALE_NAMES.values(), extra_po: Sequence[Path] = ()) -> list[Problem]:
    """Merge the sources' messages into each catalog (``extra_po``: newer translations to take
    first, e.g. a translator's file), write the ``.po`` and ``.mo``; the problems left."""
    from babel.messages.pofile import write_po

    problems: list[Problem] = []
    for locale in locales:
        path = po_path(locale)
        known = [_read_po(path, locale)] if path.exists() else []
        taken = [_read_po(extra, locale) for extra in extra_po]  # these win over the catalog's own
        catalog = extract()
        catalog.locale = locale
        catalog.fuzzy = False
        if known:  # the header's dates change only when the messages do (no churn from a rerun)
            catalog.creation_date = known[0].creation_date
            catalog.revision_date = known[0].revision_date
        for message in catalog:
            if not message.id:
                continue
            for translations in taken + known:
                found = translations.get(message.id)
                if found is not None and found.string and not found.fuzzy:
                    message.string = found.string
                    break
        buffer = io.BytesIO()
        write_po(buffer, catalog, width=100, sort_output=True, no_location=True)
        _write_atomically(path, buffer.getvalue())
        _write_atomically(mo_path(locale), _compiled(catalog))
        problems += _problems(catalog, catalog)
    return problems


def check(locales: Iterable[str] = LOCALE_NAMES.values()) -> list[Problem]:
    """What is wrong with the committed catalogs; nothing is written."""
    source = extract()
    problems: list[Problem] = []
    for locale in locales:
        path = po_path(locale)
        if not path.exists():
            return [Problem(str(path), "missing catalog")]
        catalog = _read_po(path, locale)
        problems += _problems(source, catalog)
        compiled = mo_path(locale).read_bytes() if mo_path(locale).exists() else b""
        if not compiled or _translations(compiled) != _translations(_compiled(catalog)):
            problems.append(Problem(str(mo_path(locale)), "is not the .po compiled (python -m grader.catalogs update)"))
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.catalogs", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["update", "check"])
    parser.add_argument("--take", type=Path, nargs="*", default=[],
                        help="update: more .po files whose translations to take")
    args = parser.parse_args(argv)
    problems = update(extra_po=args.take) if args.command == "update" else check()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in the grader's catalogs", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
