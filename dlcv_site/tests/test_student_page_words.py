"""No internal words on a student's page: every student page kind (and the JSON feedback it loads),
in both languages, is scanned for file paths and ``.py``/``.yaml`` names, raw misconception tags,
developer notes and unfilled placeholders, and for one message said twice in two languages.

The course is the one ``test_english_pages`` builds (the whole bank, the demo course, mock exams,
labs, graded submissions), plus the study view of each past exam.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.urls import reverse

from dlcv_site.tests.test_english_pages import World, _client_for, _post_json, _strings, world  # noqa: F401
from grader.problems import all_families
from quizzes.models import Assessment, AttemptItem

#: Files a student is handed on purpose (a coding lab's downloads, the submit client and its usage,
#: the file a traceback names): their names are part of the lab, not internal words.
STUDENT_FILES = {"dlcv_submit.py", "starter.py", "public_tests.py", "submission.py", "mine.py", "my_lab.py"}
PATH = re.compile(r"(?<![\w/.-])(?:[\w.-]+/)+[\w.-]+\.(?:py|ya?ml|md|json|txt|po)\b")
FILE_NAME = re.compile(r"(?<![\w/.-])[\w-]+\.(?:py|ya?ml)\b")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
DEVELOPER = re.compile(r"\b(?:TODO|FIXME|XXX|HACK)\b|%\(\w+\)[sd]|\{\{|\{%|\bmsgid\b|\bN_\(|\bgettext\(")
#: The same "nothing was answered" said in both languages at once (as "未作答。No answer." was).
BOTH_LANGUAGES = re.compile(r"未作答[。.]?\s*No answer|No answer[^<]{0,20}未作答")


class PageText(HTMLParser):
    """Everything a person reads on a page: text (in any language), read attributes, and apart
    (``data``) the strings of JSON data blocks: the scripts' messages, whose ``%(name)s``
    placeholders the script fills. Not: scripts, styles, URLs, classes and data attributes."""

    READ = {"alt", "title", "aria-label", "placeholder", "value", "label", "summary"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.data: list[str] = []
        self._skip = 0
        self._json: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and attributes.get("type") == "application/json":
            self._json = []
        elif tag in ("script", "style"):
            self._skip += 1
        if tag == "input" and attributes.get("type") in ("hidden", "checkbox", "radio", "number"):
            return
        self.texts += [value for name, value in attrs if name in self.READ and value]

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._json is not None:
            self.data += [value for _path, value in _strings(json.loads("".join(self._json)))]
            self._json = None
        elif tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data: str) -> None:
        if self._json is not None:
            self._json.append(data)
        elif not self._skip:
            self.texts.append(data)


def page_text(html: str, *, with_data: bool = False) -> str:
    """The page's readable text (and, with ``with_data``, its scripts' messages, placeholders removed)."""
    parser = PageText()
    parser.feed(html)
    parser.close()
    texts = parser.texts + ([PLACEHOLDER.sub("", text) for text in parser.data] if with_data else [])
    return "\n".join(" ".join(text.split()) for text in texts if text.strip())


def _tags() -> set[str]:
    tags = {m.tag for family in all_families() for m in family.misconceptions}
    return {tag for tag in tags if "-" in tag}  # a one-word tag ("flops") would be an ordinary word


def internal_words(text: str, tags: set[str]) -> list[str]:
    found = [m.group(0) for m in PATH.finditer(text)]
    found += [m.group(0) for m in FILE_NAME.finditer(text) if m.group(0) not in STUDENT_FILES]
    found += [m.group(0) for m in DEVELOPER.finditer(text)]
    found += [m.group(0) for m in BOTH_LANGUAGES.finditer(text)]
    words = set(re.findall(r"(?<![\w-])[a-z0-9]+(?:-[a-z0-9]+)+(?![\w-])", text))
    found += sorted(words & tags)
    return found


def _shown_json(data: Any) -> str:
    """What the page scripts put on the page from a JSON answer: its HTML fragments and messages
    (the other fields — tags, part keys, ids — are data the scripts read, not text)."""
    shown = []
    for path, value in _strings(data):
        key = re.sub(r"\[\d+\]$", "", path).rsplit(".", 1)[-1]
        if key == "html" or key.endswith("_html"):
            shown.append(page_text(value))
        elif key in ("message", "error", "detail", "saved_at_display") or ".format_errors." in path:
            shown.append(value)
    return "\n".join(shown)


def _context(text: str, word: str) -> str:
    at = text.find(word)
    return " ".join(text[max(0, at - 50): at + len(word) + 50].split())


def _student_pages(built: World) -> dict[str, str]:
    pages = {name: url for name, url in built.pages.items() if name not in built.staff_pages}
    for year in (108, 109):
        mock = Assessment.objects.get(course=built.course, slug=f"mock-{year}")
        pages[f"study view of the {year} exam"] = reverse("past-exam-study", args=[built.course.slug, mock.slug])
    return pages


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "zh-hant"])
def test_no_internal_words_on_any_student_page(world: World, lang: str) -> None:  # noqa: F811
    tags = _tags()
    assert {"kernel-flipped", "forgot-c-in", "flops-not-multiplies"} <= tags
    failures: list[str] = []
    pages = _student_pages(world)
    assert len(pages) >= 20, sorted(pages)
    texts: dict[str, str] = {}
    for name, url in pages.items():
        response = _client_for(world, name, lang).get(url)
        assert response.status_code == 200, f"{name}: {url} answered {response.status_code}"
        texts[name] = page_text(response.content.decode(), with_data=True)
    # The feedback the practice page loads (every question type's check, answered wrongly).
    client = _client_for(world, "practice attempt, after checks", lang)
    attempt = world.ids["practice_attempt"]
    for item in AttemptItem.objects.filter(attempt_id=attempt).select_related("question_version__question"):
        body = _post_json(client, reverse("item-check", args=[attempt, item.id]), {"response": item.response or {}})
        if body.status_code == 200:
            data = body.json()
            texts[f"check feedback ({item.question_version.question.bank_id})"] = _shown_json(data)
    for name in ("numeric_submission", "code_submission", "failed_submission"):
        state = client.get(reverse("submission-state", args=[world.ids[name]]))
        texts[f"submission state ({name})"] = _shown_json(state.json())
    for name, text in texts.items():
        for word in internal_words(text, tags):
            failures.append(f"{name}: {word!r} in …{_context(text, word)}…")
    assert not failures, f"internal words on student pages ({lang}):\n  " + "\n  ".join(failures)
    assert "Adrien" in texts["study view of the 109 exam"]


def test_the_scan_finds_each_kind_of_internal_word() -> None:
    tags = {"kernel-flipped", "forgot-c-in"}
    assert internal_words("（與 grader/reference/cost.py 相同）", tags) == ["grader/reference/cost.py"]
    assert internal_words("rubric: see reconstructed.yaml", tags) == ["reconstructed.yaml"]
    assert internal_words("misconception: kernel-flipped", tags) == ["kernel-flipped"]
    assert internal_words("未作答。No answer.", tags) == ["未作答。No answer"]
    assert internal_words("TODO check this %(points)s", tags) == ["TODO", "%(points)s"]
    assert internal_words("python dlcv_submit.py --user alice mine.py; a flipped kernel", tags) == []
