"""Parse a HackMD "DLCV Exam - Share" note into past exam questions and classmates' answers.

Pure Python (Django only for gettext: error messages are in the active language). The format, as
the 109/108 share note writes it::

    # DLCV Exam - Share
    ## 109 年                      (a year section; "# 109 年", "## 110" also work)
    ### 1. (15%) question text      (number, weight; prompt continues on the next lines)
    **--- name ---**                (a plain answer, up to the next answer or heading)
    answer …
    :::warning --- name             (an answer in a HackMD container: warning/info/success/danger)
    answer …
    :::

Tolerated: other weights (``(10%)``), full-width ``（15％）``, ``--name`` / ``--- name ---`` /
no name at all after ``:::info``, ``--- name ---`` headers without bold, names with spaces or
Chinese, extra blank lines, CRLF, a tag glued to the weight (``(15%)2``, the 109 note's chapter
number), ``---`` separators, nested containers and code fences inside answers. Anything before
the first year section (title, web chrome) is ignored. Structure that cannot be recovered (an
unclosed ``:::`` block or code fence, a ``:::`` that closes nothing, a question before any year
section, a question heading without a weight, a duplicated question) raises
:class:`HackMDFormatError` naming the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from quizzes.bank.i18n import gettext as _

__all__ = [
    "ANSWER_STYLES",
    "ExamQuestion",
    "HackMDFormatError",
    "PeerAnswer",
    "exam_question_id",
    "parse_exam_share",
]

#: ``plain`` is a ``**--- name ---**`` answer; the others are HackMD container names.
ANSWER_STYLES: tuple[str, ...] = ("plain", "warning", "info", "success", "danger")
_BLOCK_STYLES = frozenset(ANSWER_STYLES[1:])


class HackMDFormatError(ValueError):
    """The note's structure cannot be recovered; ``line`` is 1-based, ``message`` translated."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(_("line %(line)d: %(message)s") % {"line": line, "message": message})


@dataclass(frozen=True)
class PeerAnswer:
    """One classmate's answer: ``name`` ("" when the block has none), ``style``, Markdown ``body``."""

    name: str
    style: str
    body: str

    def __post_init__(self) -> None:
        if self.style not in ANSWER_STYLES:
            raise ValueError(f"style must be one of {ANSWER_STYLES}, got {self.style!r}")


@dataclass(frozen=True)
class ExamQuestion:
    """A past exam question with its Markdown prompt, the answers shared under it and its figures.

    ``images`` are the image URLs in the prompt (the question's figures), in order. ``chapter``
    is the number some notes glue to the weight (``### 1. (15%)1 …`` in the 109 note; None when
    absent); it is not part of the prompt.
    """

    year: int
    number: int
    points: int
    prompt: str
    peer_answers: tuple[PeerAnswer, ...]
    images: tuple[str, ...]
    chapter: int | None = None

    @property
    def id(self) -> str:
        """Stable id, e.g. ``exam-109-q8``."""
        return exam_question_id(self.year, self.number)


def exam_question_id(year: int, number: int) -> str:
    """The stable id of question ``number`` of the ``year`` exam: ``exam-109-q8``."""
    for value, label in ((year, "year"), (number, "number")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{label} must be a positive int, got {value!r}")
    return f"exam-{year}-q{number}"


# ----------------------------------------------------------------------------- line patterns

_S = r"[ \t\u00a0\u3000]"  # horizontal white space, incl. NBSP and the ideographic space
_YEAR_RE = re.compile(rf"^#{{1,2}}{_S}*(\d{{2,4}})(?:{_S}*(?:學年度|學年|年)(?:{_S}.*)?)?{_S}*$")
_QUESTION_RE = re.compile(
    rf"^###{_S}*(\d+){_S}*[.．、]?{_S}*[(（]{_S}*(\d+){_S}*[%％]{_S}*[)）]"
    rf"(?:(\d+)(?={_S}|$))?{_S}*(.*)$"
)
_QUESTION_LIKE_RE = re.compile(rf"^###{_S}*\d+{_S}*[.．、]")
_BOLD_HEADER_RE = re.compile(rf"^\*\*{_S}*-{{2,}}{_S}*([^-*\s][^*]*?){_S}*-*{_S}*\*\*{_S}*$")
_DASH_HEADER_RE = re.compile(rf"^-{{2,}}{_S}*([^-\s].*?){_S}*-{{2,}}{_S}*$")
_BLOCK_OPEN_RE = re.compile(rf"^:::{_S}*([A-Za-z]+)(.*)$")
_BLOCK_CLOSE_RE = re.compile(rf"^:::{_S}*$")
_FENCE_RE = re.compile(rf"^{_S}{{0,3}}(`{{3,}}|~{{3,}})")
_RULE_RE = re.compile(rf"^{_S}{{0,3}}([-*_])(?:{_S}*\1){{2,}}{_S}*$")
_IMAGE_RE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
_HTML_IMAGE_RE = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)


def _block_name(rest: str) -> str:
    """``' --- 仲瑜'``, ``' --宇'``, ``' --- Wang Da-Ming ---'``, ``''`` → the bare name."""
    name = rest.strip(" \t\u00a0\u3000")
    name = re.sub(rf"^-+{_S}*", "", name)
    name = re.sub(rf"{_S}*-+$", "", name)
    return name.strip(" \t\u00a0\u3000")


def _plain_header(line: str) -> str | None:
    """The name in a ``**--- name ---**`` / ``**--name**`` / ``--- name ---`` line, else None."""
    match = _BOLD_HEADER_RE.match(line) or _DASH_HEADER_RE.match(line)
    return match.group(1).strip() if match else None


def _clean_body(lines: Iterable[str], *, drop_trailing_rules: bool = False) -> str:
    """Join lines, without leading/trailing blank lines (and, if asked, trailing ``---`` rules)."""
    items = [line.rstrip() for line in lines]
    while items and not items[0].strip():
        items.pop(0)
    while items and (not items[-1].strip() or (drop_trailing_rules and _RULE_RE.match(items[-1]))):
        items.pop()
    return "\n".join(items)


def _images(markdown: str) -> tuple[str, ...]:
    """Image URLs in Markdown (``![](url)``) or HTML (``<img src>``), in order of appearance."""
    found = [(m.start(), m.group(1)) for m in _IMAGE_RE.finditer(markdown)]
    found += [(m.start(), m.group(1)) for m in _HTML_IMAGE_RE.finditer(markdown)]
    return tuple(url for _position, url in sorted(found))


# ----------------------------------------------------------------------------- the parser


@dataclass
class _Answer:
    name: str
    style: str
    line: int
    lines: list[str] = field(default_factory=list)


@dataclass
class _Question:
    year: int
    number: int
    points: int
    chapter: int | None
    line: int
    prompt_lines: list[str]
    answers: list[_Answer] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)  # text after a closed block, before the next header


class _Parser:
    """A line-by-line state machine; see :func:`parse_exam_share`."""

    def __init__(self) -> None:
        self.year: int | None = None
        self.question: _Question | None = None
        self.answer: _Answer | None = None  # the open answer (plain, or a block until its ':::')
        self.block: _Answer | None = None  # the open ':::' answer block
        self.preamble_block: int | None = None  # line of an open ':::' before any question
        self.nested: list[int] = []  # lines of containers opened inside the open block
        self.fence: tuple[str, int] | None = None  # (marker, line) of an open code fence
        self.questions: list[_Question] = []
        self.seen: dict[tuple[int, int], int] = {}

    # -- helpers
    def _finish_answer(self) -> None:
        if self.answer is not None and self.question is not None and self.block is None:
            self.question.answers.append(self.answer)
        self.answer = None

    def _finish_stray(self) -> None:
        """Text between answers with no header of its own becomes an anonymous plain answer."""
        question = self.question
        if question is None or not question.stray:
            return
        if any(line.strip() and not _RULE_RE.match(line) for line in question.stray):
            question.answers.append(_Answer(name="", style="plain", line=0, lines=list(question.stray)))
        question.stray.clear()

    def _finish_question(self) -> None:
        self._finish_answer()
        self._finish_stray()
        self.question = None

    def _append(self, line: str) -> None:
        """Content line: to the open answer, the stray buffer or the prompt."""
        if self.answer is not None:
            self.answer.lines.append(line)
        elif self.question is None:
            return  # preamble (title, chrome) or text between a year heading and its first question
        elif self.question.answers:
            self.question.stray.append(line)
        else:
            self.question.prompt_lines.append(line)

    # -- one line
    def feed(self, number: int, line: str) -> None:
        if self.fence is not None:
            marker, _opened_at = self.fence
            if line.strip().startswith(marker) and not line.strip().strip(marker[0]).strip():
                self.fence = None
            self._append(line)
            return
        fence = _FENCE_RE.match(line)
        if fence:
            self.fence = (fence.group(1), number)
            self._append(line)
            return
        if self.block is not None or self.preamble_block is not None:
            self._feed_in_block(number, line)
            return
        self._feed_top(number, line)

    def _feed_in_block(self, number: int, line: str) -> None:
        opened_at = self.block.line if self.block is not None else self.preamble_block
        assert opened_at is not None
        if _QUESTION_RE.match(line):
            raise HackMDFormatError(
                opened_at,
                _("':::' block opened here is not closed before the heading on line %(line)d (%(heading)s); add "
                  "a ':::' line at the end of the answer") % {"line": number, "heading": repr(line.strip()[:40])},
            )
        if _BLOCK_CLOSE_RE.match(line):
            if self.nested:
                self.nested.pop()
                self._append(line)
                return
            if self.block is not None and self.question is not None:
                self.question.answers.append(self.block)
            self.block = None
            self.answer = None
            self.preamble_block = None
            return
        if _BLOCK_OPEN_RE.match(line):
            self.nested.append(number)
        self._append(line)

    def _feed_top(self, number: int, line: str) -> None:
        year = _YEAR_RE.match(line)
        if year and not _QUESTION_RE.match(line):
            self._finish_question()
            self.year = int(year.group(1))
            return
        question = _QUESTION_RE.match(line)
        if question:
            self._start_question(number, question)
            return
        if _QUESTION_LIKE_RE.match(line):
            raise HackMDFormatError(
                number,
                _("question heading without a weight: %(heading)s (expected '### N. (15%%) …')")
                % {"heading": repr(line.strip()[:60])},
            )
        opened = _BLOCK_OPEN_RE.match(line)
        if opened:
            self._open_block(number, opened.group(1), opened.group(2))
            return
        if _BLOCK_CLOSE_RE.match(line):
            raise HackMDFormatError(number, _("':::' closes no open block"))
        name = _plain_header(line)
        if name is not None:
            if self.question is None:
                if self.year is None:
                    return  # a header-like line in the preamble
                raise HackMDFormatError(number, _("answer by %(name)s before any question heading") % {"name": repr(name)})
            self._finish_answer()
            self._finish_stray()
            self.answer = _Answer(name=name, style="plain", line=number)
            return
        self._append(line)

    def _start_question(self, number: int, match: re.Match[str]) -> None:
        if self.year is None:
            raise HackMDFormatError(number, _("question heading before any year section (e.g. '## 109')"))
        self._finish_question()
        q_number, points = int(match.group(1)), int(match.group(2))
        key = (self.year, q_number)
        if key in self.seen:
            raise HackMDFormatError(
                number, _("question %(number)d of %(year)d appears twice (first on line %(line)d)")
                % {"number": q_number, "year": self.year, "line": self.seen[key]}
            )
        self.seen[key] = number
        chapter = int(match.group(3)) if match.group(3) else None
        first = match.group(4).strip()
        self.question = _Question(
            year=self.year,
            number=q_number,
            points=points,
            chapter=chapter,
            line=number,
            prompt_lines=[first] if first else [],
        )
        self.questions.append(self.question)

    def _open_block(self, number: int, kind: str, rest: str) -> None:
        style = kind.lower()
        if style not in _BLOCK_STYLES:
            raise HackMDFormatError(
                number,
                _("unknown block ':::%(kind)s' (answers use :::warning, :::info, :::success or :::danger)")
                % {"kind": kind},
            )
        if self.question is None:
            self.preamble_block = number  # e.g. an info box under the title or a year heading: skipped
            return
        self._finish_answer()
        self._finish_stray()
        self.block = _Answer(name=_block_name(rest), style=style, line=number)
        self.answer = self.block

    def finish(self, last_line: int) -> list[ExamQuestion]:
        if self.fence is not None:
            raise HackMDFormatError(self.fence[1], _("code fence %(fence)s is never closed") % {"fence": repr(self.fence[0])})
        if self.nested:
            raise HackMDFormatError(self.nested[-1], _("':::' container inside an answer is never closed"))
        if self.block is not None:
            raise HackMDFormatError(self.block.line, _("':::%(style)s' block is never closed") % {"style": self.block.style})
        if self.preamble_block is not None:
            raise HackMDFormatError(self.preamble_block, _("':::' block is never closed"))
        self._finish_question()
        if not self.questions:
            raise HackMDFormatError(last_line, _("no question headings found (expected '### N. (15%) …')"))
        return [_build(q) for q in self.questions]


def _build(question: _Question) -> ExamQuestion:
    prompt = _clean_body(question.prompt_lines, drop_trailing_rules=True)
    answers = tuple(
        PeerAnswer(
            name=a.name,
            style=a.style,
            body=_clean_body(a.lines, drop_trailing_rules=a.style == "plain"),
        )
        for a in question.answers
    )
    return ExamQuestion(
        year=question.year,
        number=question.number,
        points=question.points,
        prompt=prompt,
        peer_answers=answers,
        images=_images(prompt),
        chapter=question.chapter,
    )


def parse_exam_share(text: str) -> list[ExamQuestion]:
    """Parse a HackMD exam-share note (Markdown) into its questions, in note order.

    Raises :class:`HackMDFormatError` (with the 1-based line) when the structure is unrecoverable.
    """
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    parser = _Parser()
    for number, line in enumerate(lines, start=1):
        parser.feed(number, line)
    return parser.finish(max(1, len(lines) - (1 if text.endswith("\n") else 0)))
