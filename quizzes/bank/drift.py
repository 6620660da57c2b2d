"""Which side of a bank question is current: its file or its browser edit (pure; no Django).

The rule (README, "The question bank: files and browser edits"): the file is the source of a question
until it is edited in the browser; from then on the browser's version is current and the file is
*behind*, until the file catches up (it then equals the browser's version) or an instructor settles a
conflict. Three hashes decide, each the SHA-256 of the normalized text (``QuestionSource.content_hash``):

* ``file``: the file's content now (``None``: there is no file);
* ``base``: the file's content when ``load_bank`` last read it (``Question.file_hash``; "" = never read);
* ``current``: the question's current version in the database (``None``: no such question).
"""

from __future__ import annotations

from enum import StrEnum


class Drift(StrEnum):
    NEW = "new"  # a file with no question yet: load_bank creates it
    IN_SYNC = "in-sync"  # the file and the current version are the same text
    FILE_CHANGED = "file-changed"  # only the file changed: load_bank applies it
    BROWSER_EDITED = "browser-edited"  # only the browser changed it: kept; the file is behind (download it)
    CONFLICT = "conflict"  # both changed (or the file was removed after a browser edit): nothing changes
    FILE_REMOVED = "file-removed"  # the file is gone and nobody edited it: load_bank retires it
    BROWSER_ONLY = "browser-only"  # created in the browser, never in a file: kept (download it)


# What load_bank leaves as it is; the others it applies.
UNTOUCHED: frozenset[Drift] = frozenset({Drift.IN_SYNC, Drift.BROWSER_EDITED, Drift.CONFLICT, Drift.BROWSER_ONLY})


def classify(*, file: str | None, base: str, current: str | None) -> Drift:
    if current is None:
        if file is None:
            raise ValueError("neither a file nor a question")
        return Drift.NEW
    edited_in_browser = current != base
    if file is None:
        if not base:
            return Drift.BROWSER_ONLY
        return Drift.CONFLICT if edited_in_browser else Drift.FILE_REMOVED
    if file == current:
        return Drift.IN_SYNC
    if not edited_in_browser:
        return Drift.FILE_CHANGED
    if file == base:
        return Drift.BROWSER_EDITED
    return Drift.CONFLICT
