"""Markdown + LaTeX → HTML with server-side MathML (no Django but gettext, no JavaScript, no CDN).

* Markdown: markdown-it-py, the ``commonmark`` preset plus tables; raw HTML in the source is
  escaped (``html`` stays off), so student-visible content cannot inject markup or script.
* Math: ``$…$`` inline, ``$$…$$`` display (as its own block or inside a paragraph), converted with
  latex2mathml. Math is tokenized before any other inline rule sees it, so ``_``, ``*`` and
  backslashes inside math survive; ``\\$`` is a literal dollar. LaTeX that cannot be converted
  is shown as ``<code class="math-error">`` instead of raising.
* HackMD containers: ``:::info`` / ``:::warning`` / ``:::success`` / ``:::danger`` … ``:::``
  become ``<div class="admonition info">…</div>`` (an optional title after the name becomes
  ``<p class="admonition-title">``).

>>> render_markdown("$x_1$")  # doctest: +ELLIPSIS
'<p><math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">...<msub>...</math></p>\\n'
"""

from __future__ import annotations

import html
import re
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any
from xml.etree.ElementTree import Element, tostring

from latex2mathml.converter import convert_to_element
from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from quizzes.bank.i18n import gettext as _
from quizzes.bank.i18n import gettext_noop

__all__ = ["ADMONITION_KINDS", "MathError", "latex_to_mathml", "math_errors", "render_hackmd", "render_markdown"]

ADMONITION_KINDS: frozenset[str] = frozenset({"info", "warning", "success", "danger"})

# Longest LaTeX source we hand to latex2mathml (a guard against pathological input).
MAX_MATH_LENGTH = 5000


class MathError(ValueError):
    """LaTeX that latex2mathml cannot convert (or that converts to something broken).

    ``str()`` is English: it goes into rendered (and cached) HTML shared by every language.
    :meth:`translated` words it in the active language, for the bank's error messages.
    """

    def __init__(self, message: str, params: Mapping[str, object] | None = None, *, translatable: bool = True) -> None:
        self.msgid = message  # marked with gettext_noop where raised
        self.params = dict(params or {})
        self.translatable = translatable  # False: latex2mathml's own words
        super().__init__(message % self.params if self.params else message)

    def translated(self) -> str:
        if not self.translatable:
            return str(self)
        text = _(self.msgid)
        return text % self.params if self.params else text


# --------------------------------------------------------------------------- LaTeX → MathML

# Attributes latex2mathml may copy from user input that must not reach the browser
# (``\href{javascript:…}``, ``\style{…}``, ``\class{…}``).
_UNSAFE_ATTRIBUTES = frozenset({"href", "style", "class", "id", "src", "actiontype"})
_CHAR_REF_RE = re.compile(r"&amp;(#x[0-9A-Fa-f]+|#[0-9]+);")
_UNKNOWN_COMMAND_RE = re.compile(r"^\\[A-Za-z]+")
# Common commands latex2mathml lacks, rewritten before conversion.
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\\arg(?![A-Za-z])"), r"\\operatorname{arg}"),
    (re.compile(r"\\(?:nonumber|notag)(?![A-Za-z])|\\label\{[^{}]*\}"), ""),
)


def _brace_depths(latex: str) -> Iterator[int]:
    """The nesting depth after each ``{`` or ``}`` of ``latex`` (``\\{``, ``\\}`` are not braces)."""
    depth = 0
    i = 0
    n = len(latex)
    while i < n:
        ch = latex[i]
        if ch == "\\":
            i += 2
            continue
        if ch in "{}":
            depth += 1 if ch == "{" else -1
            yield depth
        i += 1


def _brace_depth(latex: str) -> int:
    """The nesting depth at the end of ``latex``."""
    last = deque(_brace_depths(latex), maxlen=1)
    return last[0] if last else 0


def _check_braces(latex: str) -> None:
    """Raise MathError when ``{``/``}`` (ignoring ``\\{``, ``\\}``) do not balance."""
    depth = 0
    for depth in _brace_depths(latex):
        if depth < 0:
            raise MathError(gettext_noop("unbalanced braces: '}' without '{'"))
    if depth:
        raise MathError(gettext_noop("unbalanced braces: %(count)d '{' not closed"), {"count": depth})


def _sanitize(element: Element) -> None:
    """Drop unsafe attributes; raise MathError on commands latex2mathml passed through verbatim."""
    for node in element.iter():
        for name in list(node.attrib):
            lowered = name.lower()
            if lowered in _UNSAFE_ATTRIBUTES or lowered.startswith("on") or ":" in lowered:
                del node.attrib[name]
        text = node.text or ""
        if node.tag != "mtext" and _UNKNOWN_COMMAND_RE.match(text):
            raise MathError(gettext_noop("unsupported LaTeX command %(command)s"),
                            {"command": _UNKNOWN_COMMAND_RE.match(text).group(0)})  # type: ignore[union-attr]


# A parameterized question's data (numeric matrices) took most of its rendering time in latex2mathml,
# and every student's numbers differ. Such a matrix at the formula's top level is swapped for a
# stand-in symbol before conversion and written here afterwards, in exactly latex2mathml's markup
# (test_render checks the two agree).
_NUMBER = r"-?\d+(?:\.\d+)?"
_NUMERIC_MATRIX_RE = re.compile(
    rf"\\begin\{{(bmatrix|pmatrix)\}}((?:\s*{_NUMBER}\s*(?:&|\\\\))*\s*{_NUMBER}\s*)\\end\{{\1\}}(?!\s*[_^'])"
)
_MATRIX_FENCES = {"bmatrix": ("&#x0005B;", "&#x0005D;"), "pmatrix": ("&#x00028;", "&#x00029;")}
_MATRIX_STAND_IN = r"\aleph"
_MATRIX_STAND_IN_MATHML = "<mi>&#x02135;</mi>"


def _numeric_matrix_mathml(kind: str, body: str) -> str:
    def cell(text: str) -> str:
        text = text.strip()
        return f"<mtd><mo>&#x02212;</mo><mn>{text[1:]}</mn></mtd>" if text.startswith("-") else f"<mtd><mn>{text}</mn></mtd>"

    rows = "".join("<mtr>" + "".join(cell(c) for c in row.split("&")) + "</mtr>" for row in body.split("\\\\"))
    opening, closing = _MATRIX_FENCES[kind]
    return f"<mo>{opening}</mo><mtable>{rows}</mtable><mo>{closing}</mo>"


def _without_numeric_matrices(source: str) -> tuple[str, list[str]]:
    """``source`` with its top-level numeric matrices replaced by the stand-in, and their MathML."""
    if "matrix" not in source or "aleph" in source or "\u2135" in source:
        return source, []
    matrices: list[str] = []

    def swap(match: re.Match[str]) -> str:
        if _brace_depth(source[: match.start()]):
            return match.group(0)
        matrices.append(_numeric_matrix_mathml(match.group(1), match.group(2)))
        return f" {_MATRIX_STAND_IN} "

    return _NUMERIC_MATRIX_RE.sub(swap, source), matrices


@lru_cache(maxsize=8192)
def latex_to_mathml(latex: str, *, display: bool = False) -> str:
    """Convert one LaTeX formula to a ``<math>`` element string; raise MathError if it cannot.

    The output is re-serialized safely: text is escaped (latex2mathml itself does not escape
    ``\\text{<script>}``), only numeric character references are kept, unsafe attributes dropped.
    """
    source = latex.strip()
    if not source:
        raise MathError(gettext_noop("empty formula"))
    if len(source) > MAX_MATH_LENGTH:
        raise MathError(gettext_noop("formula longer than %(max)d characters"), {"max": MAX_MATH_LENGTH})
    _check_braces(source)
    reading = " ".join(source.split())
    for pattern, replacement in _REWRITES:
        source = pattern.sub(replacement, source)
    return _convert(source, display=display, fast_matrices=True, reading=reading)


def _convert(source: str, *, display: bool, fast_matrices: bool, reading: str | None = None) -> str:
    """latex2mathml's MathML for ``source``, sanitized; with ``fast_matrices``, numeric matrices
    are written by ``_numeric_matrix_mathml`` (the same markup, several times faster).

    The ``<math>`` element is named by ``reading`` (the TeX source; ``source`` by default): Chromium gives MathML no name
    of its own, so a label holding only maths would be read as nothing (WCAG 4.1.2; ``alttext`` is
    not used for the name). A display formula scrolls sideways when it is wider than the page
    (quiz.css), so it takes the keyboard focus, to be scrolled with the arrow keys (WCAG 2.1.1)."""
    converted, matrices = _without_numeric_matrices(source) if fast_matrices else (source, [])
    try:
        element = convert_to_element(converted, display="block" if display else "inline")
    except Exception as exc:  # latex2mathml raises assorted exception types
        raise MathError(f"{type(exc).__name__}: {exc}".rstrip(": "), translatable=False) from exc
    _sanitize(element)
    element.set("aria-label", " ".join(source.split()) if reading is None else reading)  # tostring escapes it
    if display:
        element.set("tabindex", "0")
    mathml = _CHAR_REF_RE.sub(r"&\1;", tostring(element, encoding="unicode"))
    if not matrices:
        return mathml
    pieces = mathml.split(_MATRIX_STAND_IN_MATHML)
    if len(pieces) != len(matrices) + 1:  # a stand-in did not come out as one symbol: the slow way
        return _convert(source, display=display, fast_matrices=False, reading=reading)
    return pieces[0] + "".join(matrix + rest for matrix, rest in zip(matrices, pieces[1:], strict=True))


def _math_html(latex: str, *, display: bool) -> str:
    """MathML for ``latex``, or the escaped source in ``<code class="math-error">``."""
    try:
        return latex_to_mathml(latex, display=display)
    except MathError as exc:
        delimiter = "$$" if display else "$"
        return (
            f'<code class="math-error" title="{html.escape(str(exc))}">'
            f"{html.escape(delimiter + latex + delimiter)}</code>"
        )


# --------------------------------------------------------------------------- markdown-it rules


def _is_escaped(src: str, pos: int) -> bool:
    """True when the character at ``pos`` is preceded by an odd number of backslashes."""
    count = 0
    pos -= 1
    while pos >= 0 and src[pos] == "\\":
        count += 1
        pos -= 1
    return count % 2 == 1


def _find_inline_close(src: str, start: int, end: int) -> int:
    """Index of the ``$`` closing inline math opened at ``start - 1``, or -1."""
    pos = start
    while True:
        pos = src.find("$", pos, end)
        if pos < 0:
            return -1
        if _is_escaped(src, pos):
            pos += 1
            continue
        # Pandoc's rule: no space before the closing $, no digit right after it.
        if src[pos - 1] not in " \t\n" and not (pos + 1 < end and src[pos + 1].isdigit()):
            return pos
        pos += 1


def _math_inline_rule(state: StateInline, silent: bool) -> bool:
    """``$…$`` (inline) and ``$$…$$`` (display inside a paragraph)."""
    src, start, end = state.src, state.pos, state.posMax
    if src[start] != "$":
        return False
    if start + 1 < end and src[start + 1] == "$":  # $$ … $$
        close = start + 2
        while True:
            close = src.find("$$", close, end)
            if close < 0 or not _is_escaped(src, close):
                break
            close += 1
        if close < 0 or not src[start + 2 : close].strip():
            return False
        if not silent:
            token = state.push("math_inline_display", "math", 0)
            token.content = src[start + 2 : close]
            token.markup = "$$"
            token.meta = {"pos": start}
        state.pos = close + 2
        return True
    if start + 1 >= end or src[start + 1] in " \t\n":
        return False
    close = _find_inline_close(src, start + 1, end)
    if close < 0:
        return False
    if not silent:
        token = state.push("math_inline", "math", 0)
        token.content = src[start + 1 : close]
        token.markup = "$"
        token.meta = {"pos": start}
    state.pos = close + 1
    return True


def _line_text(state: StateBlock, line: int) -> str:
    return state.src[state.bMarks[line] + state.tShift[line] : state.eMarks[line]]


def _math_block_rule(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    """A block starting with ``$$`` on its own line and ending with a line that ends in ``$$``."""
    if state.is_code_block(start_line):
        return False
    first = _line_text(state, start_line).rstrip()
    if not first.startswith("$$"):
        return False
    rest = first[2:]
    if rest.rstrip().endswith("$$") and len(rest.rstrip()) >= 2:  # $$ … $$ on one line
        body = rest.rstrip()[:-2]
        if "$$" in body or not body.strip():
            return False
        last = start_line
    else:
        if "$$" in rest:
            return False  # "$$a$$ and more": leave it to the inline rule
        lines = [rest]
        last = start_line + 1
        while last < end_line:
            if state.sCount[last] < state.blkIndent and not state.isEmpty(last):
                return False
            text = _line_text(state, last).rstrip()
            if text.endswith("$$"):
                lines.append(text[:-2])
                break
            lines.append(text)
            last += 1
        else:
            return False
        body = "\n".join(lines)
    if silent:
        return True
    token = state.push("math_block", "math", 0)
    token.block = True
    token.content = body.strip("\n")
    token.markup = "$$"
    token.map = [start_line, last + 1]
    state.line = last + 1
    return True


_CONTAINER_OPEN_RE = re.compile(r"^:{3,}\s*([A-Za-z][\w-]*)(?:\s+(.*?))?\s*$")
_CONTAINER_CLOSE_RE = re.compile(r"^:{3,}\s*$")


def _container_rule(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    """HackMD ``:::info`` … ``:::`` (nesting counted by open/close lines)."""
    if state.is_code_block(start_line):
        return False
    match = _CONTAINER_OPEN_RE.match(_line_text(state, start_line))
    if not match or match.group(1).lower() not in ADMONITION_KINDS:
        return False
    if silent:
        return True
    kind, title = match.group(1).lower(), (match.group(2) or "").strip()
    depth = 0
    closed = False
    next_line = start_line
    while True:
        next_line += 1
        if next_line >= end_line:
            break
        if not state.isEmpty(next_line) and state.sCount[next_line] < state.blkIndent:
            break  # a less-indented line ends the enclosing list item
        if state.is_code_block(next_line):
            continue
        text = _line_text(state, next_line)
        if _CONTAINER_CLOSE_RE.match(text):
            if depth == 0:
                closed = True
                break
            depth -= 1
        elif _CONTAINER_OPEN_RE.match(text):
            depth += 1

    old_parent, old_line_max = state.parentType, state.lineMax
    state.parentType = "container"  # type: ignore[assignment]
    state.lineMax = next_line
    token = state.push("admonition_open", "div", 1)
    token.block = True
    token.info = kind
    token.markup = ":::"
    token.meta = {"title": title}
    token.map = [start_line, next_line]
    state.md.block.tokenize(state, start_line + 1, next_line)
    token = state.push("admonition_close", "div", -1)
    token.block = True
    token.markup = ":::"
    state.parentType, state.lineMax = old_parent, old_line_max
    state.line = next_line + (1 if closed else 0)
    return True


# --------------------------------------------------------------------------- render rules


def _render_math_inline(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    return _math_html(tokens[idx].content, display=False)


def _render_math_display(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    return _math_html(tokens[idx].content, display=True)


def _render_math_block(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    return _math_html(tokens[idx].content, display=True) + "\n"


def _render_admonition_open(
    self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    out = f'<div class="admonition {html.escape(token.info)}">\n'
    if token.meta.get("title"):
        out += f'<p class="admonition-title">{html.escape(token.meta["title"])}</p>\n'
    return out


def _render_admonition_close(
    self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return "</div>\n"


def _build(*, breaks: bool = False) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "typographer": False, "breaks": breaks}).enable("table")
    alt = ["paragraph", "reference", "blockquote", "list"]
    md.block.ruler.before("fence", "math_block", _math_block_rule, {"alt": alt})
    md.block.ruler.before("fence", "admonition", _container_rule, {"alt": alt})
    md.inline.ruler.after("escape", "math_inline", _math_inline_rule)
    md.add_render_rule("math_inline", _render_math_inline)
    md.add_render_rule("math_inline_display", _render_math_display)
    md.add_render_rule("math_block", _render_math_block)
    md.add_render_rule("admonition_open", _render_admonition_open)
    md.add_render_rule("admonition_close", _render_admonition_close)
    return md


_MD = _build()
#: HackMD's flavour: a single newline is a line break (classmates wrote their answers in HackMD).
_MD_HACKMD = _build(breaks=True)


# --------------------------------------------------------------------------- public API


@lru_cache(maxsize=4096)
def render_markdown(text: str) -> str:
    """Render question Markdown (with ``$…$`` / ``$$…$$`` LaTeX) to safe HTML with MathML."""
    return _MD.render(text)


@lru_cache(maxsize=4096)
def render_hackmd(text: str) -> str:
    """:func:`render_markdown` as HackMD shows a note: every single newline is a line break
    (``<br>``), so a classmate's answer keeps the lines it was written in."""
    return _MD_HACKMD.render(text)


def math_errors(text: str) -> list[tuple[int, str]]:
    """Every formula in ``text`` that would fall back to ``math-error``: (0-based line, message).

    The messages are in the active language (they become the bank's error messages).
    """
    errors: list[tuple[int, str]] = []

    def check(latex: str, display: bool, line: int) -> None:
        try:
            latex_to_mathml(latex, display=display)
        except MathError as exc:
            errors.append((line, _("LaTeX cannot be rendered (%(error)s): %(latex)s")
                           % {"error": exc.translated(), "latex": repr(latex.strip())}))

    for token in _MD.parse(text):
        if token.type == "math_block" and token.map:
            check(token.content, True, token.map[0])
        elif token.type == "inline" and token.children and token.map:
            for child in token.children:
                if child.type in ("math_inline", "math_inline_display"):
                    line = token.map[0] + token.content[: child.meta.get("pos", 0)].count("\n")
                    check(child.content, child.type == "math_inline_display", line)
    return errors


# --------------------------------------------------------------------------- HTML for other systems (LMS export)


def _tex(delimiters: tuple[str, str]) -> Any:
    def render(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return html.escape(f"{delimiters[0]}{tokens[idx].content.strip()}{delimiters[1]}", quote=False)

    return render


def _build_tex() -> MarkdownIt:
    """As :func:`_build`, but formulas stay LaTeX between ``\\(…\\)`` / ``\\[…\\]`` (MathJax's and
    Moodle's TeX filter's delimiters), for systems that typeset math themselves."""
    md = _build()
    md.add_render_rule("math_inline", _tex(("\\(", "\\)")))
    md.add_render_rule("math_inline_display", _tex(("\\[", "\\]")))
    md.add_render_rule("math_block", lambda self, tokens, idx, options, env: _tex(("\\[", "\\]"))(
        self, tokens, idx, options, env) + "\n")
    return md


_MD_TEX = _build_tex()


def render_markdown_tex(text: str) -> str:
    """Question Markdown to safe HTML whose formulas are LaTeX in ``\\(…\\)`` / ``\\[…\\]``."""
    return _MD_TEX.render(text)
