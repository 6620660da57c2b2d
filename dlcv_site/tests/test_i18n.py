"""The zh-hant translation catalog: complete, compiled, used by the pages, and covering the sources.

The catalog is ``locale/zh_Hant/LC_MESSAGES/django.po`` with its compiled ``django.mo`` committed next
to it, so a machine without GNU gettext serves Chinese. Maintainers refresh both with ``make messages``
(Django's makemessages + compilemessages, which need gettext); ``test_catalog_covers_the_sources`` is
the only test here that needs gettext and is skipped without it.
"""

from __future__ import annotations

import fnmatch
import gettext
import os
import re
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

PROJECT_DIR = Path(__file__).resolve().parents[2]
LOCALE_DIR = PROJECT_DIR / "locale"
PO_PATH = LOCALE_DIR / "zh_Hant" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")
# The same directories `make messages` ignores, plus the catalog itself. The grader core keeps its own
# catalog (grader/locale, checked by grader/tests/test_catalogs.py).
IGNORED_DIRS = {".venv", "var", "node_modules", "locale", "__pycache__", "grader"}
SOURCE_EXTENSIONS = {".py", ".html", ".txt"}  # makemessages' defaults for the django domain
FIX = "Run `make messages` (needs GNU gettext), translate the new entries in the .po, then run it again."


# --------------------------------------------------------------------------- a small .po reader


@dataclass
class PoEntry:
    msgid: str
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)  # index 0 only, unless plural
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)
    obsolete: bool = False

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        return (self.msgctxt, self.msgid, self.msgid_plural)

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr.values())

    def label(self) -> str:
        where = f"  ({', '.join(self.references[:3])})" if self.references else ""
        context = f"[{self.msgctxt}] " if self.msgctxt else ""
        return f"{context}{self.msgid!r}{where}"


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')


def _unquote(token: str) -> str:
    token = token.strip()
    if len(token) < 2 or token[0] != '"' or token[-1] != '"':
        raise ValueError(f"not a quoted PO string: {token!r}")
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), token[1:-1])


def read_po(path: Path) -> list[PoEntry]:
    """Every entry of a .po file, the header (msgid "") first; obsolete (#~) entries are flagged."""
    entries: list[PoEntry] = []
    for block in re.split(r"\n[ \t]*\n", path.read_text(encoding="utf-8")):
        lines = [line.rstrip() for line in block.splitlines() if line.strip()]
        entry = PoEntry(msgid="", obsolete=any(line.startswith("#~ ") for line in lines))
        current: str | None = None  # "msgid", "msgid_plural", "msgctxt" or "msgstr[<n>]"
        for raw in lines:
            if raw.startswith(("#|", "#~|")):  # the previous msgid of a fuzzy entry
                continue
            if raw.startswith("#~"):
                line = raw[2:].lstrip()
            elif raw.startswith("#,"):
                entry.flags |= {flag.strip() for flag in raw[2:].split(",") if flag.strip()}
                continue
            elif raw.startswith("#:"):
                entry.references += raw[2:].split()
                continue
            elif raw.startswith("#"):
                continue
            else:
                line = raw
            match = _KEYWORD.match(line)
            if match:
                keyword, index, token = match.groups()
                current = f"msgstr[{index or 0}]" if keyword.startswith("msgstr") else keyword
                value, append = _unquote(token), False
            elif line.startswith('"') and current is not None:
                value, append = _unquote(line), True
            else:
                raise ValueError(f"{path}: cannot read line {raw!r}")
            if current.startswith("msgstr["):
                index_ = int(current[7:-1])
                entry.msgstr[index_] = (entry.msgstr.get(index_, "") if append else "") + value
            else:
                setattr(entry, current, ((getattr(entry, current) or "") if append else "") + value)
        if current is not None:
            entries.append(entry)
    return entries


def _shown(path: Path) -> str:
    return str(path.relative_to(PROJECT_DIR) if path.is_relative_to(PROJECT_DIR) else path)


def _live_entries(path: Path) -> list[PoEntry]:
    return [entry for entry in read_po(path) if not entry.obsolete and entry.msgid != ""]


def _header(path: Path) -> dict[str, str]:
    header = next(entry for entry in read_po(path) if entry.msgid == "" and not entry.obsolete)
    pairs = (line.split(":", 1) for line in header.msgstr.get(0, "").splitlines() if ":" in line)
    return {name.strip(): value.strip() for name, value in pairs}


# --------------------------------------------------------------------------- (a) the .mo is the .po compiled


def test_the_compiled_catalog_is_up_to_date_with_the_po() -> None:
    assert MO_PATH.exists(), f"{_shown(MO_PATH)} is missing. {FIX}"
    with MO_PATH.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    actual = {key: value for key, value in compiled._catalog.items() if key != ""}  # type: ignore[attr-defined]

    expected: dict[object, str] = {}
    for entry in _live_entries(PO_PATH):
        if not entry.translated or "fuzzy" in entry.flags:
            continue  # msgfmt leaves these out
        msgid = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural is None:
            expected[msgid] = entry.msgstr[0]
        else:
            for index, text in entry.msgstr.items():
                expected[(msgid, index)] = text

    missing = sorted(repr(k) for k in expected.keys() - actual.keys())
    extra = sorted(repr(k) for k in actual.keys() - expected.keys())
    changed = sorted(repr(k) for k in expected.keys() & actual.keys() if expected[k] != actual[k])
    assert not (missing or extra or changed), (
        f"{MO_PATH.name} is out of date with {PO_PATH.name}: run `make messages` (or `python manage.py "
        f"compilemessages -l zh_Hant --ignore=.venv --ignore=var`).\n"
        f"in the .po only: {missing[:20]}\nin the .mo only: {extra[:20]}\ntranslated differently: {changed[:20]}"
    )
    po_plural = _header(PO_PATH).get("Plural-Forms", "").strip()
    assert compiled.plural(5) == 0 and "nplurals=1" in po_plural, po_plural


def test_the_compiled_catalog_is_not_git_ignored() -> None:
    """A fresh machine has no gettext: the .mo must be committed, so no .gitignore line may match it."""
    relative = MO_PATH.relative_to(PROJECT_DIR).as_posix()
    gitignore = PROJECT_DIR / ".gitignore"
    lines = gitignore.read_text().splitlines() if gitignore.exists() else []
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith(("#", "!"))]
    matching = [
        pattern for pattern in patterns
        if fnmatch.fnmatch(relative, pattern.lstrip("/").rstrip("/"))
        or ("/" not in pattern.strip("/") and any(fnmatch.fnmatch(part, pattern.strip("/"))
                                                  for part in relative.split("/")))
    ]
    assert not matching, f".gitignore ignores {relative} with {matching}"


# --------------------------------------------------------------------------- (b) complete and sound


def test_every_entry_is_translated_and_none_is_fuzzy() -> None:
    entries = _live_entries(PO_PATH)
    assert len(entries) > 100, f"{PO_PATH} looks empty ({len(entries)} entries)"
    untranslated = [entry.label() for entry in entries if not entry.translated]
    fuzzy = [entry.label() for entry in entries if "fuzzy" in entry.flags]
    report = [f"{title} ({len(labels)}):\n  " + "\n  ".join(labels)
              for title, labels in (("untranslated", untranslated), ("fuzzy", fuzzy)) if labels]
    assert not report, (
        f"{_shown(PO_PATH)}: translate these (and delete their `#, fuzzy` line), then run `make messages`.\n"
        + "\n".join(report)
    )
    header = next(entry for entry in read_po(PO_PATH) if entry.msgid == "")
    assert "fuzzy" not in header.flags, "the .po header is still marked fuzzy"


_PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|\{\w*\}|%[sdif]")
_TAG = re.compile(r"</?\w+[^>]*>|&\w+;")


def test_translations_keep_placeholders_markup_and_plural_forms() -> None:
    """What msgfmt --check would catch, checked without gettext: a broken placeholder is a 500 error."""
    problems = []
    for entry in _live_entries(PO_PATH):
        sources = [entry.msgid] + ([entry.msgid_plural] if entry.msgid_plural else [])
        wanted = {p for text in sources for p in _PLACEHOLDER.findall(text)}
        tags = sorted(_TAG.findall(entry.msgid))
        if entry.msgid_plural is not None and set(entry.msgstr) != {0}:
            problems.append(f"{entry.label()}: zh has one plural form, use msgstr[0] only")
        for text in entry.msgstr.values():
            if not text:
                continue
            if set(_PLACEHOLDER.findall(text)) != wanted:
                problems.append(f"{entry.label()}: placeholders {sorted(wanted)} became {text!r}")
            if sorted(_TAG.findall(text)) != tags:
                problems.append(f"{entry.label()}: markup {tags} became {text!r}")
    assert not problems, "\n".join(problems)


#: Full-width punctuation: it holds its own space, so zh-Hant writes none after it.
_FULL_WIDTH_PUNCTUATION = "：，；、。！？）」』"
#: What ends a label that runs on into what it introduces, or a sentence that runs on into its link
#: ("你已交卷。查看你的作答": full-width, the full stop holds the space).
_LABEL_ENDS = "：，；、。"
_TRANSLATE_TAG = re.compile(r'\{%\s*translate\s+"((?:[^"\\]|\\.)*)"\s*%\}(\s+)(\S{1,10})')
#: What may follow a label across white space: a closing tag or a block that starts its own line.
_BLOCK_AFTER = re.compile(r"</|<(ul|ol|pre|div|p|table|select|input|textarea|button|details|figure|h\d)\b")


def test_no_space_after_full_width_punctuation_in_the_catalog() -> None:
    spaced = [f"{entry.label()}: {text!r}" for entry in _live_entries(PO_PATH) for text in entry.msgstr.values()
              if re.search(f"[{_FULL_WIDTH_PUNCTUATION}][ \t]", text)]
    assert not spaced, "zh-Hant writes no space after full-width punctuation:\n" + "\n".join(spaced)


def test_no_template_puts_a_space_after_a_label_ending_in_full_width_punctuation() -> None:
    """``{% translate "Course total:" %} <strong>…`` renders "課程總成績： 12"; such a label is written
    ``{% translate … as label %}{{ label|spaced }}`` (``accounts/templatetags/wording.py``)."""
    zh = {entry.msgid: entry.msgstr.get(0, "") for entry in _live_entries(PO_PATH) if entry.msgid_plural is None}
    found = []
    # The mails are plain text: a line ends there, not a label.
    for path in sorted(p for p in (PROJECT_DIR / "templates").rglob("*.html") if "email" not in p.name):
        for match in _TRANSLATE_TAG.finditer(path.read_text(encoding="utf-8")):
            msgid, after = match.group(1), match.group(3)
            if zh.get(msgid, "")[-1:] in set(_LABEL_ENDS) and not _BLOCK_AFTER.match(after):
                found.append(f"{_shown(path)}: {msgid!r} then {after!r}")
    assert not found, "a space follows a full-width label in zh-Hant:\n" + "\n".join(found)


def test_a_label_is_spaced_by_its_own_language() -> None:
    from accounts.templatetags.wording import spaced

    assert spaced("Course total:") == "Course total: "
    assert spaced("課程總成績：") == "課程總成績："
    assert spaced("作答時段（台北時間）") == "作答時段（台北時間）"


# --------------------------------------------------------------------------- (c) the pages use it


@pytest.mark.parametrize("accept_language", ["zh-hant", "zh-TW,zh;q=0.9,en-US;q=0.8,en;q=0.7"])
def test_login_page_is_chinese_for_a_taiwanese_browser(accept_language: str) -> None:
    response = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE=accept_language)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'lang="zh-hant"' in html
    for chinese in ("登入", "帳號", "密碼", "跳到主要內容"):
        assert chinese in html, f"{chinese!r} not on the zh-hant login page"
    assert "Log in" not in html and "Password" not in html


def test_login_page_is_english_when_asked() -> None:
    response = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    html = response.content.decode()
    assert 'lang="en"' in html
    assert "Log in" in html and "Password" in html and "登入" not in html


def test_language_cookie_beats_the_browser_language() -> None:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-TW,zh;q=0.9").content.decode()
    assert "Log in" in html and "登入" not in html


def test_python_strings_are_translated_too() -> None:
    from quizzes.models import AssessmentMode, QuestionType

    with translation.override("zh-hant"):
        assert str(QuestionType.ESSAY.label) == "申論題"
        assert str(AssessmentMode.MOCK.label) == "模擬考"
        assert translation.ngettext("%(n)s question", "%(n)s questions", 3) % {"n": 3} == "共 3 題"
    with translation.override("en"):
        assert str(AssessmentMode.MOCK.label) == "Mock exam"


# --------------------------------------------------------------------------- (d) nothing in the sources is missing


def _copy_sources(destination: Path) -> None:
    """The files makemessages reads, copied so it writes nothing (not even its temporary .html.py) here."""
    for dirpath, dirnames, filenames in os.walk(PROJECT_DIR):
        dirnames[:] = [d for d in dirnames if d not in IGNORED_DIRS and not d.startswith(".")]
        for filename in filenames:
            if Path(filename).suffix in SOURCE_EXTENSIONS:
                source = Path(dirpath) / filename
                target = destination / source.relative_to(PROJECT_DIR)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)


_MAKEMESSAGES = """
import sys
sys.path.insert(0, {project!r})
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
settings.LOCALE_PATHS = [{out!r}]
call_command("makemessages", locale=["zh_Hant"], ignore_patterns={ignore!r}, verbosity=0)
"""


@pytest.mark.slow
def test_catalog_covers_the_sources(tmp_path: Path) -> None:
    """Strings marked for translation in templates and Python that the committed .po does not have."""
    needed = [tool for tool in ("xgettext", "msguniq", "msgmerge") if shutil.which(tool) is None]
    if needed:
        pytest.skip(f"GNU gettext is not installed ({', '.join(needed)} missing): it is a maintainer tool, "
                    "needed only to check the catalog against the sources (apt-get install gettext)")
    sources, out = tmp_path / "src", tmp_path / "out" / "locale"
    _copy_sources(sources)
    script = _MAKEMESSAGES.format(project=str(PROJECT_DIR), out=str(out), ignore=sorted(IGNORED_DIRS))
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="dlcv_site.settings", PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run([sys.executable, "-c", script], cwd=sources, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, f"makemessages failed:\n{result.stdout}\n{result.stderr}"
    scanned_po = out / "zh_Hant" / "LC_MESSAGES" / "django.po"
    assert scanned_po.exists(), f"makemessages wrote no catalog:\n{result.stdout}\n{result.stderr}"

    in_sources = {entry.key: entry for entry in _live_entries(scanned_po)}
    committed = {entry.key: entry for entry in _live_entries(PO_PATH)}
    missing = [in_sources[key].label() for key in sorted(in_sources.keys() - committed.keys(), key=str)]
    stale = [committed[key].label() for key in sorted(committed.keys() - in_sources.keys(), key=str)]
    if stale:
        warnings.warn(f"{len(stale)} .po entries are no longer in the sources (harmless; `make messages` "
                      "turns them obsolete): " + "; ".join(stale[:10]), stacklevel=1)
    assert not missing, (
        f"{len(missing)} translatable strings are not in {_shown(PO_PATH)}. {FIX}\n  "
        + "\n  ".join(missing)
    )
