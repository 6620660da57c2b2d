"""The bank's vocabulary (``fixtures/bank/glossary.yaml``) and the scan that holds every text to it.

Pure Python. :func:`load_glossary` reads the file (one Chinese term per concept, with its English
name and the synonyms to avoid); :func:`glossary_hits` scans what students read in Chinese — the
bank's questions and topics, our past-exam key points and figures, and the problem families'
Chinese catalog — and returns each non-preferred synonym found, with its file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = ["GlossaryHit", "Term", "glossary_hits", "load_glossary", "scanned_lines"]


@dataclass(frozen=True)
class Term:
    en: str
    zh: str
    avoid: tuple[re.Pattern[str], ...]
    note: str = ""


@dataclass(frozen=True)
class GlossaryHit:
    path: str
    line: int
    found: str
    term: Term

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.found!r} — write {self.term.zh} ({self.term.en})"


def load_glossary(path: Path) -> list[Term]:
    """The glossary's terms; ``ValueError`` naming the entry when one is malformed."""
    entries = yaml.safe_load(path.read_text("utf-8")) or []
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a list of {{en, zh, avoid}}")
    terms = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not entry.get("en") or not entry.get("zh"):
            raise ValueError(f"{path}: entry {number} needs 'en' and 'zh'")
        avoid = entry.get("avoid") or []
        if not isinstance(avoid, list):
            raise ValueError(f"{path}: entry {number} ({entry['en']}): 'avoid' must be a list")
        try:
            patterns = tuple(re.compile(str(a)) for a in avoid)
        except re.error as exc:
            raise ValueError(f"{path}: entry {number} ({entry['en']}): bad expression: {exc}") from exc
        terms.append(Term(en=str(entry["en"]), zh=str(entry["zh"]), avoid=patterns, note=str(entry.get("note") or "")))
    return terms


_ACCEPT_KEY = re.compile(r"^accept\s*:")
_LIST_ITEM = re.compile(r"^\s*-\s")


def _markdown_lines(text: str) -> Iterator[tuple[int, str]]:
    """A question file's lines, without its ``accept:`` list (synonyms accepted as typed answers)."""
    in_accept = False
    for number, line in enumerate(text.split("\n"), start=1):
        if _ACCEPT_KEY.match(line):
            in_accept = not line.split(":", 1)[1].strip()  # a block list follows; a flow list is this line
            continue
        if in_accept and _LIST_ITEM.match(line):
            continue
        in_accept = False
        yield number, line


def _msgstr_lines(text: str) -> Iterator[tuple[int, str]]:
    """A ``.po`` file's translated lines (``msgstr`` and its continuation lines)."""
    in_msgstr = False
    for number, line in enumerate(text.split("\n"), start=1):
        if line.startswith("msgstr"):
            in_msgstr = True
        elif not line.startswith('"'):
            in_msgstr = False
        if in_msgstr:
            yield number, line


def scanned_lines(*, bank_dir: Path, exams_dir: Path, catalogs: Iterable[Path]) -> Iterator[tuple[Path, int, str]]:
    """Every line the glossary governs: question files, topics, key points, reconstructed figures
    and the Chinese catalogs' translations (``catalogs``)."""
    for path in sorted(bank_dir.rglob("*.md")):
        if path.name == "FORMAT.md":
            continue
        for number, line in _markdown_lines(path.read_text("utf-8")):
            yield path, number, line
    for path in [bank_dir / "topics.yaml", *sorted(exams_dir.glob("*.yaml"))]:
        for number, line in enumerate(path.read_text("utf-8").split("\n"), start=1):
            yield path, number, line
    for path in catalogs:
        for number, line in _msgstr_lines(path.read_text("utf-8")):
            yield path, number, line


def glossary_hits(terms: list[Term], lines: Iterable[tuple[Path, int, str]]) -> list[GlossaryHit]:
    """Each ruled-out synonym in ``lines``, once per place (a word two concepts avoid is one hit)."""
    hits = []
    for path, number, line in lines:
        seen: set[int] = set()
        for term in terms:
            for pattern in term.avoid:
                for match in pattern.finditer(line):
                    if match.start() not in seen:
                        seen.add(match.start())
                        hits.append(GlossaryHit(str(path), number, match.group(0), term))
    return hits
