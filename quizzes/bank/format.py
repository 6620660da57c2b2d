"""Parser and validator of the question-bank text format (``fixtures/bank/FORMAT.md``).

Pure Python (Django only for gettext, see ``quizzes.bank.i18n``): a question file is YAML front
matter between ``---`` lines, a Markdown + LaTeX prompt, then ``::: explanation`` (required) and
``::: hint`` (optional) blocks.

Usage::

    q = parse_question(text, "fixtures/bank/pooling/max-pool-01.md", topics={"pooling"})
    questions, errors = load_bank_dir(Path("fixtures/bank"), known_families={"conv-by-hand"})
    for error in errors:
        print(error)  # fixtures/bank/pooling/x.md:7: unknown key 'tolerence' (did you mean 'tolerance'?)

Every problem in a file is collected (not just the first) and reported as a :class:`BankError`
whose line points at the offending line of the file. Messages are in the active language (the
request's in the question editor); YAML keys, values and paths in them are quoted as written.
"""

from __future__ import annotations

import difflib
import hashlib
import keyword
import math
import re
import signal
import threading
import time
import unicodedata
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from quizzes.bank.i18n import gettext as _
from quizzes.bank.i18n import pgettext

__all__ = [
    "ADMONITION_KINDS",
    "LANGS",
    "PEER_ANSWER_STYLES",
    "QUESTION_TYPES",
    "SYMBOLIC_FUNCTIONS",
    "BankError",
    "BankValidationError",
    "QuestionSource",
    "load_bank_dir",
    "load_topics",
    "check_symbolic",
    "normalize_text",
    "parse_question",
]

QUESTION_TYPES: tuple[str, ...] = (
    "single", "multiple", "truefalse", "numeric", "matrix", "symbolic", "text", "essay", "param",
)
LANGS: tuple[str, ...] = ("zh-Hant", "en")
ADMONITION_KINDS: frozenset[str] = frozenset({"info", "warning", "success", "danger"})
# Styles of essay ``peer_answers`` (as quizzes.bank.hackmd.ANSWER_STYLES): "plain" or a HackMD container.
PEER_ANSWER_STYLES: tuple[str, ...] = ("plain", "warning", "info", "success", "danger")
#: The blocks after the prompt: ``explanation`` and ``hint`` in the question's language, and one block
#: per other language (``::: en``: the question's text in English, see FORMAT.md).
TRANSLATION_BLOCKS: dict[str, str] = {"en": "en"}  # block name -> language
SECTION_NAMES: tuple[str, ...] = ("explanation", "hint", *TRANSLATION_BLOCKS)
DEFAULT_TOLERANCE: dict[str, float] = {"rel": 1e-6}
SKIPPED_FILE_NAMES = frozenset({"readme.md", "format.md"})

SLUG_RE = re.compile(r"^[a-z0-9-]+$")
_VARIABLE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_NUMBER_RE = re.compile(r"^[-+]?(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d+)?$")

COMMON_KEYS: tuple[str, ...] = ("id", "type", "topic", "title", "difficulty", "points", "tags", "lang")
COMMON_REQUIRED: tuple[str, ...] = ("id", "type", "topic", "title")
TYPE_KEYS: dict[str, tuple[str, ...]] = {
    "single": ("choices", "shuffle"),
    "multiple": ("choices", "shuffle"),
    "truefalse": ("answer", "feedback_true", "feedback_false"),
    "numeric": ("answer", "tolerance", "unit", "misconceptions"),
    "matrix": ("answer", "tolerance", "shape_given"),
    "symbolic": ("answer", "variables"),
    "text": ("accept", "case_sensitive", "regex"),
    "essay": ("key_points", "peer_answers", "max_words"),
    "param": ("family", "constraints"),
}
TYPE_REQUIRED: dict[str, tuple[str, ...]] = {
    "single": ("choices",),
    "multiple": ("choices",),
    "truefalse": ("answer",),
    "numeric": ("answer",),
    "matrix": ("answer",),
    "symbolic": ("answer", "variables"),
    "text": ("accept",),
    "essay": ("key_points",),
    "param": ("family",),
}
ALL_KEYS: frozenset[str] = frozenset(COMMON_KEYS).union(*TYPE_KEYS.values())

# Names a symbolic answer may use besides its declared variables: exactly what students can type
# (grader.answers.parse_expression; a test keeps the two in sync). Value: how sympy spells it.
SYMBOLIC_FUNCTIONS: dict[str, str] = {
    "exp": "exp", "log": "log", "ln": "log", "sqrt": "sqrt", "sin": "sin", "cos": "cos", "tan": "tan",
    "tanh": "tanh", "sigmoid": "sigmoid", "Abs": "Abs", "abs": "Abs", "max": "Max", "min": "Min",
    "pi": "pi", "E": "E",
}
SYMBOLIC_TIME_LIMIT = 2.0  # seconds for parsing one symbolic answer
SYMBOLIC_MAX_LENGTH = 500
_SYMBOLIC_OPS = frozenset({"+", "-", "*", "/", "**", "^", "(", ")", ","})


# --------------------------------------------------------------------------- public types


@dataclass(frozen=True, order=True)
class BankError:
    """One problem in a bank file, printed as ``path:line: message``."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class BankValidationError(ValueError):
    """A question file with one or more problems; ``errors`` lists all of them."""

    def __init__(self, errors: list[BankError]) -> None:
        self.errors = sorted(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


@dataclass(frozen=True)
class QuestionSource:
    """One parsed, validated question file.

    ``spec`` holds the per-type data with defaults filled in, e.g. for ``numeric``
    ``{"answer": 4.0, "tolerance": {"rel": 1e-06}, "unit": None, "misconceptions": []}``.
    ``content_hash`` is the SHA-256 of :func:`normalize_text` of the file: it changes exactly
    when the file's content does, and is used to version questions.
    """

    id: str
    type: str
    topic: str
    title: str
    difficulty: int
    points: int | float
    tags: tuple[str, ...]
    lang: str
    prompt: str
    explanation: str
    hint: str | None
    spec: dict[str, Any] = field(hash=False)
    path: str
    content_hash: str
    #: The question's text in other languages: ``{"en": {"title", "prompt", "explanation", "hint",
    #: "choices": [{"text", "feedback"}], "feedback_true", "feedback_false", "unit",
    #: "misconceptions": [message, …], "key_points": [...]}}`` (only the keys the question has).
    translations: dict[str, dict[str, Any]] = field(default_factory=dict, hash=False, compare=False)


# --------------------------------------------------------------------------- error collection


class _Errors:
    """Collects errors for one file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.items: list[BankError] = []

    def add(self, line: int, message: str) -> None:
        self.items.append(BankError(self.path, max(int(line), 1), message))


def _did_you_mean(word: str, choices: Collection[str]) -> str:
    """`` (did you mean 'x'?)`` (with its leading space), or "" when nothing is close."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    # Translators: appended to a message right after the unknown word, e.g. "unknown key 'tolerence'".
    return _(" (did you mean %(suggestion)s?)") % {"suggestion": repr(close[0])} if close else ""


# --------------------------------------------------------------------------- YAML with line numbers


@dataclass(slots=True)
class _Y:
    """A YAML node with its constructed value and absolute (1-based) file line."""

    node: yaml.Node
    value: Any
    line: int
    entries: dict[str, tuple[int, _Y]] | None = None  # mapping: key -> (key line, value)
    items: list[_Y] | None = None  # sequence

    @property
    def raw(self) -> str | None:
        """The scalar's text as written (quotes removed), or None for collections."""
        return self.node.value if isinstance(self.node, yaml.ScalarNode) else None

    @property
    def is_plain(self) -> bool:
        return isinstance(self.node, yaml.ScalarNode) and not self.node.style  # C loader: "", Python: None

    @property
    def is_null(self) -> bool:
        return self.value is None


_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _YamlBuilder:
    """Builds the :class:`_Y` tree of a front matter (reporting duplicate keys etc.)."""

    def __init__(self, source: str, line_offset: int, errors: _Errors) -> None:
        self.source = source
        self.offset = line_offset
        self.errors = errors

    def line(self, node: yaml.Node) -> int:
        return node.start_mark.line + self.offset

    def build(self, loader: Any, node: yaml.Node, active: frozenset[int] = frozenset()) -> _Y:
        if id(node) in active:
            self.errors.add(self.line(node), _("recursive YAML alias"))
            return _Y(node, None, self.line(node))
        active = active | {id(node)}
        if isinstance(node, yaml.ScalarNode):
            if node.style == '"' and "\\" in self.source[node.start_mark.index : node.end_mark.index]:
                self.errors.add(
                    self.line(node),
                    _("backslash in a double-quoted string (YAML turns \\f, \\t, \\a … into control "
                      "characters): write LaTeX in single quotes or a block scalar"),
                )
            return _Y(node, loader.construct_object(node, deep=True), self.line(node))
        if isinstance(node, yaml.SequenceNode):
            items = [self.build(loader, child, active) for child in node.value]
            return _Y(node, [i.value for i in items], self.line(node), items=items)
        entries: dict[str, tuple[int, _Y]] = {}
        for key_node, value_node in node.value:
            key_line = self.line(key_node)
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.errors.add(key_line, _("YAML merge keys ('<<') are not supported"))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.errors.add(key_line, _("keys must be plain strings"))
                continue
            key = key_node.value
            if key in entries:
                self.errors.add(key_line, _("duplicate key %(key)s (first at line %(line)d)")
                                % {"key": repr(key), "line": entries[key][0]})
                continue
            entries[key] = (key_line, self.build(loader, value_node, active))
        return _Y(node, {k: v.value for k, (_line, v) in entries.items()}, self.line(node), entries=entries)


def _compose(source: str, line_offset: int, errors: _Errors) -> _Y | None:
    """Parse YAML ``source`` (whose first line is file line ``line_offset``) into a :class:`_Y`."""
    loader = _Loader(source)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        return _YamlBuilder(source, line_offset, errors).build(loader, node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        # PyYAML's own words (problem, context) stay as PyYAML writes them.
        values = {"problem": exc.problem or exc.context}
        escape = "escape" in (exc.problem or "")
        if exc.context and exc.problem and exc.context_mark is not None:
            values |= {"context": exc.context, "line": exc.context_mark.line + line_offset}
            message = (
                _("YAML syntax error: %(problem)s (%(context)s at line %(line)d); write LaTeX in single quotes "
                  "or a block scalar, never in double quotes")
                if escape else _("YAML syntax error: %(problem)s (%(context)s at line %(line)d)")
            ) % values
        else:
            message = (
                _("YAML syntax error: %(problem)s; write LaTeX in single quotes or a block scalar, never in "
                  "double quotes")
                if escape else _("YAML syntax error: %(problem)s")
            ) % values
        errors.add((mark.line if mark else 0) + line_offset, message)
    except yaml.YAMLError as exc:  # e.g. ReaderError (control characters)
        errors.add(line_offset, _("YAML error: %(error)s") % {"error": exc})
    finally:
        loader.dispose()
    return None


# --------------------------------------------------------------------------- typed accessors


def _as_number(y: _Y) -> int | float | None:
    """The number in ``y`` (``1e-3`` written plainly counts, though YAML 1.1 reads it as text)."""
    value = y.value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and y.is_plain and _NUMBER_RE.match(value.strip()):
        return float(value.replace("_", ""))
    return None


def _type_name(y: _Y) -> str:
    value = y.value
    if value is None:
        return pgettext("what a YAML value is", "nothing")
    if isinstance(y.node, yaml.MappingNode):
        return pgettext("what a YAML value is", "a mapping")
    if isinstance(y.node, yaml.SequenceNode):
        return pgettext("what a YAML value is", "a list")
    return f"{type(value).__name__} {y.raw!r}"


class _Map:
    """Typed access to one YAML mapping, reporting problems with line numbers."""

    def __init__(self, y: _Y, errors: _Errors, where: str = "") -> None:
        self.y = y
        self.errors = errors
        self.where = where  # e.g. "choice 2" (translated), put before each message
        self.entries = y.entries or {}

    def get(self, key: str) -> _Y | None:
        entry = self.entries.get(key)
        return entry[1] if entry else None

    def key_line(self, key: str) -> int:
        entry = self.entries.get(key)
        return entry[0] if entry else self.y.line

    def error(self, line: int, message: str) -> None:
        if self.where:
            # Translators: e.g. "choice 2: unknown key 'corect'".
            message = _("%(where)s: %(message)s") % {"where": self.where, "message": message}
        self.errors.add(line, message)

    def check_keys(self, allowed: Collection[str], required: Collection[str], *, missing_line: int | None = None) -> None:
        """Report unknown keys (with a suggestion) and missing required ones."""
        for key, (line, _value) in self.entries.items():
            if key not in allowed:
                self.error(line, _("unknown key %(key)s%(suggestion)s")
                           % {"key": repr(key), "suggestion": _did_you_mean(key, allowed)})
        for key in required:
            if key not in self.entries:
                self.error(missing_line or self.y.line, _("missing required key %(key)s") % {"key": repr(key)})

    def string(self, key: str, *, nullable: bool = True) -> str | None:
        """A scalar as text, exactly as written (so ``text: 0.5`` gives ``'0.5'``); None if absent.

        ``nullable=False``: an explicit null (``key:`` with nothing after it) is an error too.
        """
        y = self.get(key)
        if y is None or (y.is_null and nullable):
            return None
        if y.raw is None or y.is_null:
            self.error(y.line, _("%(key)s must be a string, not %(value)s") % {"key": repr(key), "value": _type_name(y)})
            return None
        text = y.raw.strip()
        if not text:
            self.error(y.line, _("%(key)s must not be empty") % {"key": repr(key)})
            return None
        return text

    def boolean(self, key: str, default: bool) -> bool:
        y = self.get(key)
        if y is None:
            return default
        if not isinstance(y.value, bool):
            self.error(y.line, _("%(key)s must be true or false, not %(value)s")
                       % {"key": repr(key), "value": _type_name(y)})
            return default
        return y.value

    def number(self, key: str) -> int | float | None:
        y = self.get(key)
        if y is None:
            return None
        number = _as_number(y)
        if number is None:
            self.error(y.line, _("%(key)s must be a number, not %(value)s") % {"key": repr(key), "value": _type_name(y)})
        elif not math.isfinite(number):
            self.error(y.line, _("%(key)s must be a finite number, not %(value)s") % {"key": repr(key), "value": y.raw})
            return None
        return number

    def integer(self, key: str, *, minimum: int, maximum: int | None = None) -> int | None:
        y = self.get(key)
        if y is None:
            return None
        value = y.value
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(y.line, _("%(key)s must be an integer, not %(value)s") % {"key": repr(key), "value": _type_name(y)})
            return None
        if value < minimum or (maximum is not None and value > maximum):
            values = {"key": repr(key), "minimum": minimum, "maximum": maximum, "value": value}
            if maximum is not None:
                self.error(y.line, _("%(key)s must be between %(minimum)d and %(maximum)d, not %(value)d") % values)
            else:
                self.error(y.line, _("%(key)s must be at least %(minimum)d, not %(value)d") % values)
            return None
        return value

    def sequence(self, key: str) -> list[_Y] | None:
        y = self.get(key)
        if y is None or y.is_null:
            return None
        if y.items is None:
            self.error(y.line, _("%(key)s must be a list, not %(value)s") % {"key": repr(key), "value": _type_name(y)})
            return None
        return y.items

    def mapping(self, key: str) -> _Map | None:
        y = self.get(key)
        if y is None or y.is_null:
            return None
        if y.entries is None:
            self.error(y.line, _("%(key)s must be a mapping, not %(value)s") % {"key": repr(key), "value": _type_name(y)})
            return None
        return _Map(y, self.errors, self.where)


def _string_list(m: _Map, key: str, *, non_empty: bool) -> list[tuple[str, int]]:
    """A list of non-empty strings (as written) with their lines."""
    items = m.sequence(key)
    if items is None:
        return []
    out: list[tuple[str, int]] = []
    for index, item in enumerate(items, 1):
        if item.raw is None or item.is_null or not item.raw.strip():
            m.error(item.line, _("%(key)s item %(number)d must be a non-empty string, not %(value)s")
                    % {"key": repr(key), "number": index, "value": _type_name(item)})
            continue
        out.append((item.raw.strip(), item.line))
    if non_empty and not items:
        m.error(m.key_line(key), _("%(key)s must list at least one item") % {"key": repr(key)})
    return out


# --------------------------------------------------------------------------- per-type validation


@dataclass
class _Context:
    """What the validators of one file share."""

    errors: _Errors
    root: _Map
    known_families: Collection[str] | None
    texts: list[tuple[str, int]] = field(default_factory=list)  # Markdown strings to math-check

    def markdown(self, text: str | None, y: _Y | None) -> None:
        if text and y is not None:
            offset = 1 if getattr(y.node, "style", None) in ("|", ">") else 0
            self.texts.append((text, y.line + offset))


def _tolerance(ctx: _Context) -> dict[str, float | int]:
    y = ctx.root.get("tolerance")
    if y is None or y.is_null:
        return dict(DEFAULT_TOLERANCE)
    m = ctx.root.mapping("tolerance")
    if m is None:
        return {}
    m.check_keys(("rel", "abs", "sigfigs"), ())
    out: dict[str, float | int] = {}
    for key in ("rel", "abs"):
        value = m.number(key)
        if value is not None:
            if value < 0:
                m.error(m.get(key).line, _("tolerance %(key)s must not be negative") % {"key": repr(key)})  # type: ignore[union-attr]
            else:
                out[key] = value
    sigfigs = m.integer("sigfigs", minimum=1, maximum=17)
    if sigfigs is not None:
        out["sigfigs"] = sigfigs
    if not m.entries:
        m.error(m.y.line, _("tolerance must give rel, abs or sigfigs"))
    return out


def _choices(ctx: _Context, qtype: str) -> dict[str, Any]:
    m = ctx.root
    items = m.sequence("choices")
    choices: list[dict[str, Any]] = []
    correct_lines: list[int] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items or [], 1):
        if item.entries is None:
            m.error(item.line, _("choice %(number)d must be a mapping {text, correct?, feedback?}, not %(value)s")
                    % {"number": index, "value": _type_name(item)})
            continue
        c = _Map(item, ctx.errors, _("choice %(number)d") % {"number": index})
        c.check_keys(("text", "correct", "feedback"), ("text",))
        text = c.string("text", nullable=False)
        correct = c.boolean("correct", False)
        feedback = c.string("feedback")
        ctx.markdown(text, c.get("text"))
        ctx.markdown(feedback, c.get("feedback"))
        if text is not None:
            if text in seen:
                c.error(c.get("text").line, _("same text as choice at line %(line)d") % {"line": seen[text]})  # type: ignore[union-attr]
            seen[text] = c.get("text").line  # type: ignore[union-attr]
        if correct:
            correct_lines.append(item.line)
        choices.append({"text": text or "", "correct": correct, "feedback": feedback})
    if items is not None:
        line = m.key_line("choices")
        if not 2 <= len(items) <= 8:
            m.error(line, _("'choices' must have 2 to 8 items, found %(count)d") % {"count": len(items)})
        if qtype == "single" and len(correct_lines) != 1:
            values = {"count": len(correct_lines), "lines": ", ".join(map(str, correct_lines))}
            m.error(line, (_("type 'single' needs exactly one correct choice, found %(count)d (lines %(lines)s)")
                           if correct_lines else _("type 'single' needs exactly one correct choice, found %(count)d"))
                    % values)
        if qtype == "multiple" and not correct_lines:
            m.error(line, _("type 'multiple' needs at least one correct choice"))
    return {"choices": choices, "shuffle": m.boolean("shuffle", True)}


def _truefalse(ctx: _Context) -> dict[str, Any]:
    m = ctx.root
    y = m.get("answer")
    answer = None
    if y is not None:
        if isinstance(y.value, bool):
            answer = y.value
        else:
            m.error(y.line, _("'answer' must be true or false, not %(value)s") % {"value": _type_name(y)})
    spec = {"answer": answer, "feedback_true": m.string("feedback_true"), "feedback_false": m.string("feedback_false")}
    ctx.markdown(spec["feedback_true"], m.get("feedback_true"))
    ctx.markdown(spec["feedback_false"], m.get("feedback_false"))
    return spec


def _numeric(ctx: _Context) -> dict[str, Any]:
    m = ctx.root
    answer = m.number("answer")
    misconceptions: list[dict[str, Any]] = []
    for index, item in enumerate(m.sequence("misconceptions") or [], 1):
        if item.entries is None:
            m.error(item.line, _("misconception %(number)d must be a mapping {answer, message}, not %(value)s")
                    % {"number": index, "value": _type_name(item)})
            continue
        c = _Map(item, ctx.errors, _("misconception %(number)d") % {"number": index})
        c.check_keys(("answer", "message"), ("answer", "message"))
        wrong = c.number("answer")
        message = c.string("message", nullable=False)
        ctx.markdown(message, c.get("message"))
        if wrong is not None and answer is not None and wrong == answer:
            c.error(c.get("answer").line, _("misconception answer equals the correct answer"))  # type: ignore[union-attr]
        misconceptions.append({"answer": wrong, "message": message or ""})
    return {"answer": answer, "tolerance": _tolerance(ctx), "unit": m.string("unit"), "misconceptions": misconceptions}


def _matrix(ctx: _Context) -> dict[str, Any]:
    m = ctx.root
    y = m.get("answer")
    rows: list[list[int | float]] = []
    if y is not None:
        if y.items is None or not y.items:
            m.error(y.line, _("'answer' must be a non-empty list of rows, not %(value)s") % {"value": _type_name(y)})
        else:
            width: int | None = None
            for r, row in enumerate(y.items, 1):
                if row.items is None or not row.items:
                    m.error(row.line, _("matrix row %(row)d must be a non-empty list of numbers, not %(value)s")
                            % {"row": r, "value": _type_name(row)})
                    continue
                if width is None:
                    width = len(row.items)
                elif len(row.items) != width:
                    m.error(row.line, _("matrix is not rectangular: row %(row)d has %(cells)d cells, row 1 has %(width)d")
                            % {"row": r, "cells": len(row.items), "width": width})
                values: list[int | float] = []
                for c, cell in enumerate(row.items, 1):
                    number = _as_number(cell)
                    if number is None or not math.isfinite(number):
                        m.error(cell.line, _("matrix cell (%(row)d, %(column)d) must be a finite number, not %(value)s")
                                % {"row": r, "column": c, "value": _type_name(cell)})
                        number = math.nan
                    values.append(number)
                rows.append(values)
    return {"answer": rows, "tolerance": _tolerance(ctx), "shape_given": m.boolean("shape_given", True)}


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeoutError after ``seconds`` (POSIX main thread only; elsewhere no limit).

    An alarm already armed by someone else (e.g. pytest-timeout) is restored afterwards.
    """
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return
    outer_delay, outer_interval = signal.getitimer(signal.ITIMER_REAL)
    if outer_delay and outer_delay <= seconds:  # the outer alarm fires first anyway
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise TimeoutError(f"took longer than {seconds:g} s")

    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay:
            remaining = max(outer_delay - (time.monotonic() - started), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, remaining, outer_interval)


def check_symbolic(expression: str, variables: Collection[str]) -> str | None:
    """Parse ``expression`` safely with sympy; return an error message (translated), or None if it is fine.

    Only numbers, ``+ - * / ** ^ ( ) ,``, the declared ``variables`` and
    :data:`SYMBOLIC_FUNCTIONS` are allowed (checked on Python tokens first), so nothing arbitrary
    reaches ``parse_expr``'s ``eval``; the expression is built unevaluated (``9**9**9`` is not computed).
    """
    import io
    import tokenize

    if len(expression) > SYMBOLIC_MAX_LENGTH:
        return _("symbolic answer longer than %(max)d characters") % {"max": SYMBOLIC_MAX_LENGTH}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(expression).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError) as exc:
        return _("symbolic answer does not parse: %(error)s") % {"error": exc}
    undeclared: list[str] = []
    for index, tok in enumerate(tokens):
        if tok.type in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT):
            continue
        if tok.type == tokenize.NUMBER:
            if tok.string[-1] in "jJ" or len(tok.string) > 40:
                return _("symbolic answer: unsupported number %(number)s") % {"number": repr(tok.string)}
        elif tok.type == tokenize.NAME:
            if tok.string in variables or tok.string in SYMBOLIC_FUNCTIONS:
                continue
            following = tokens[index + 1].string if index + 1 < len(tokens) else ""
            if following == "(":
                allowed = ", ".join(sorted(SYMBOLIC_FUNCTIONS))
                return (_("symbolic answer uses unknown function %(name)s (allowed: %(allowed)s)")
                        % {"name": repr(tok.string), "allowed": allowed})
            undeclared.append(tok.string)
        elif tok.type == tokenize.OP and tok.string in _SYMBOLIC_OPS:
            continue
        else:
            return _("symbolic answer: %(token)s is not allowed") % {"token": repr(tok.string)}
    if undeclared:
        names = ", ".join(dict.fromkeys(undeclared))
        return _("symbolic answer uses undeclared variable(s) %(names)s: add them to 'variables'") % {"names": names}

    import sympy
    from sympy.parsing.sympy_parser import (
        convert_xor,
        implicit_multiplication,
        parse_expr,
        standard_transformations,
    )

    t = sympy.Symbol("_t")
    sigmoid = sympy.Lambda(t, 1 / (1 + sympy.exp(-t)))
    local_dict: dict[str, Any] = {
        name: sigmoid if target == "sigmoid" else getattr(sympy, target) for name, target in SYMBOLIC_FUNCTIONS.items()
    }
    local_dict.update({name: sympy.Symbol(name) for name in variables})
    global_dict: dict[str, Any] = {"__builtins__": {}}
    for name in ("Symbol", "Integer", "Float", "Rational", "Add", "Mul", "Pow"):
        global_dict[name] = getattr(sympy, name)
    try:
        with _time_limit(SYMBOLIC_TIME_LIMIT):
            result = parse_expr(
                expression,
                local_dict=local_dict,
                global_dict=global_dict,
                transformations=(*standard_transformations, convert_xor, implicit_multiplication),
                evaluate=False,
            )
    except TimeoutError:
        return _("symbolic answer: parsing took longer than %(seconds)s s") % {"seconds": f"{SYMBOLIC_TIME_LIMIT:g}"}
    except Exception as exc:  # sympy raises many types (SyntaxError, TypeError, TokenError …)
        return _("symbolic answer does not parse: %(error)s") % {"error": f"{type(exc).__name__}: {exc}"}
    if not isinstance(result, sympy.Expr):
        return _("symbolic answer is not an expression (got %(type)s)") % {"type": type(result).__name__}
    return None


def _symbolic(ctx: _Context) -> dict[str, Any]:
    m = ctx.root
    variables: list[str] = []
    items = m.sequence("variables")
    for item in items or []:
        name = (item.raw or "").strip()
        if item.raw is None or not _VARIABLE_RE.match(name):
            m.error(item.line, _("variable %(name)s must be a name like n, k, x_1")
                    % {"name": repr(name or _type_name(item))})
        elif keyword.iskeyword(name):
            m.error(item.line, _("variable %(name)s is a Python keyword; use another name (e.g. 'lam')")
                    % {"name": repr(name)})
        elif name in variables:
            m.error(item.line, _("variable %(name)s is declared twice") % {"name": repr(name)})
        else:
            variables.append(name)
    y = m.get("answer")
    answer: str | None = None
    if y is not None:
        if y.raw is None or y.is_null or isinstance(y.value, bool) or not y.raw.strip():
            m.error(y.line, _("'answer' must be a sympy expression in quotes, not %(value)s") % {"value": _type_name(y)})
        else:
            answer = y.raw.strip()
            if items is not None:  # with broken variables, "undeclared" would only add noise
                problem = check_symbolic(answer, variables)
                if problem:
                    m.error(y.line, problem)
    return {"answer": answer, "variables": variables}


def _text(ctx: _Context) -> dict[str, Any]:
    m = ctx.root
    accept = _string_list(m, "accept", non_empty=True)
    regex = m.boolean("regex", False)
    if regex:
        for pattern, line in accept:
            try:
                re.compile(pattern)
            except re.error as exc:
                m.error(line, _("accepted answer %(pattern)s is not a valid regex: %(error)s")
                        % {"pattern": repr(pattern), "error": exc})
    return {"accept": [a for a, _line in accept], "case_sensitive": m.boolean("case_sensitive", False), "regex": regex}


def _essay(ctx: _Context) -> dict[str, Any]:
    m = ctx.root
    key_points = _string_list(m, "key_points", non_empty=True)
    for text, line in key_points:
        ctx.texts.append((text, line))
    peers: list[dict[str, str]] = []
    for index, item in enumerate(m.sequence("peer_answers") or [], 1):
        if item.entries is None:
            m.error(item.line, _("peer answer %(number)d must be a mapping {name, body, style}, not %(value)s")
                    % {"number": index, "value": _type_name(item)})
            continue
        p = _Map(item, ctx.errors, _("peer answer %(number)d") % {"number": index})
        p.check_keys(("name", "body", "style"), ("body",))
        name_y = p.get("name")
        name = (name_y.raw or "").strip() if name_y is not None and name_y.raw is not None else ""
        if name_y is not None and name_y.raw is None:
            p.error(name_y.line, _("'name' must be a string, not %(value)s") % {"value": _type_name(name_y)})
        body = p.string("body", nullable=False)
        ctx.markdown(body, p.get("body"))
        style = p.string("style") or "plain"
        if style not in PEER_ANSWER_STYLES:
            p.error(p.key_line("style"), _("'style' must be one of %(styles)s, not %(value)s")
                    % {"styles": ", ".join(PEER_ANSWER_STYLES), "value": repr(style)})
        peers.append({"name": name or "", "body": body or "", "style": style})
    max_words = m.integer("max_words", minimum=1)
    return {"key_points": [k for k, _line in key_points], "peer_answers": peers, "max_words": max_words}


def _param(ctx: _Context) -> dict[str, Any]:
    m = ctx.root
    family = m.string("family", nullable=False)
    if family is not None:
        if not SLUG_RE.match(family):
            m.error(m.key_line("family"), _("'family' must be a slug like 'conv-by-hand', not %(value)s")
                    % {"value": repr(family)})
        elif ctx.known_families is not None and family not in ctx.known_families:
            m.error(
                m.key_line("family"),
                _("unknown problem family %(family)s%(suggestion)s")
                % {"family": repr(family), "suggestion": _did_you_mean(family, ctx.known_families)},
            )
    constraints = m.mapping("constraints")
    return {"family": family, "constraints": dict(constraints.y.value) if constraints else {}}


_TYPE_VALIDATORS: dict[str, Callable[[_Context], dict[str, Any]]] = {
    "single": lambda ctx: _choices(ctx, "single"),
    "multiple": lambda ctx: _choices(ctx, "multiple"),
    "truefalse": _truefalse,
    "numeric": _numeric,
    "matrix": _matrix,
    "symbolic": _symbolic,
    "text": _text,
    "essay": _essay,
    "param": _param,
}


# --------------------------------------------------------------------------- the body

_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_BLOCK_OPEN_RE = re.compile(r"^ {0,3}:{3,}\s*([A-Za-z][\w-]*)\s*(.*?)\s*$")
_BLOCK_CLOSE_RE = re.compile(r"^ {0,3}:{3,}\s*$")


@dataclass
class _Section:
    name: str
    line: int  # line of the ``::: name`` opener
    lines: list[str] = field(default_factory=list)
    closed: bool = False


@dataclass
class _Body:
    prompt: str
    prompt_line: int  # file line of the body's first line
    sections: dict[str, _Section]


def _parse_body(lines: list[str], first: int, errors: _Errors) -> _Body:
    """Split the body (file line ``first`` onwards) into the prompt and the ``:::`` sections."""
    prompt: list[str] = []
    sections: dict[str, _Section] = {}
    current: _Section | None = None
    after_blocks = False  # a section has been closed: only blank lines may follow outside blocks
    stray_reported = False
    containers: list[tuple[str, int]] = []  # open :::info etc. (name, line)
    fence: tuple[str, int, int] | None = None  # (char, length, line)

    def add(text: str) -> None:
        nonlocal stray_reported
        if current is not None:
            current.lines.append(text)
        elif not after_blocks:
            prompt.append(text)
        elif text.strip() and not stray_reported:
            errors.add(lineno, _("text after the blocks, outside any block: move it into the prompt (before the "
                                 "first ':::' block) or into a block"))
            stray_reported = True

    for index, text in enumerate(lines):
        lineno = first + index
        if fence is not None:
            match = _FENCE_RE.match(text)
            marker = match.group(1) if match else ""
            if marker[:1] == fence[0] and len(marker) >= fence[1] and not text.strip()[len(marker) :]:
                fence = None
            add(text)
            continue
        match = _FENCE_RE.match(text)
        if match:
            fence = (match.group(1)[0], len(match.group(1)), lineno)
            add(text)
            continue
        opener = _BLOCK_OPEN_RE.match(text)
        if opener:
            name, rest = opener.group(1).lower(), opener.group(2)
            if name in SECTION_NAMES and not containers:
                if current is not None:
                    errors.add(current.line, _("'::: %(name)s' is not closed before '::: %(next)s' at line %(line)d")
                               % {"name": current.name, "next": name, "line": lineno})
                    current.closed = True
                if rest:
                    errors.add(lineno, _("unexpected text after '::: %(name)s': %(text)s")
                               % {"name": name, "text": repr(rest)})
                if name in sections:
                    errors.add(lineno, _("duplicate '::: %(name)s' block (first at line %(line)d)")
                               % {"name": name, "line": sections[name].line})
                current = _Section(name, lineno)
                sections.setdefault(name, current)
                continue
            if name in SECTION_NAMES:
                errors.add(lineno, _("'::: %(name)s' inside an open ':::%(open)s' block (line %(line)d)")
                           % {"name": name, "open": containers[-1][0], "line": containers[-1][1]})
            elif name not in ADMONITION_KINDS:
                known = (*SECTION_NAMES, *sorted(ADMONITION_KINDS))
                errors.add(lineno, _("unknown block '::: %(name)s'%(suggestion)s; known blocks: %(known)s")
                           % {"name": name, "suggestion": _did_you_mean(name, known), "known": ", ".join(known)})
            containers.append((name, lineno))
            add(text)
            continue
        if _BLOCK_CLOSE_RE.match(text):
            if containers:
                containers.pop()
                add(text)
            elif current is not None:
                current.closed = True
                current = None
                after_blocks = True
            else:
                errors.add(lineno, _("':::' closes nothing: no block is open"))
            continue
        add(text)

    if fence is not None:
        errors.add(fence[2], _("code fence opened here is never closed"))
    for name, line in containers:
        errors.add(line, _("':::%(name)s' opened here is never closed") % {"name": name})
    if current is not None and not current.closed:
        errors.add(current.line, _("'::: %(name)s' opened here is never closed (add a line ':::')")
                   % {"name": current.name})
    return _Body("\n".join(prompt), first, sections)


# --------------------------------------------------------------------------- parse_question


def normalize_text(text: str) -> str:
    """The canonical form hashed into ``content_hash``: no BOM, ``\\n`` line ends, NFC, one final newline."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text).rstrip() + "\n"


def _strip_block(text: str) -> str:
    return text.strip("\n").rstrip()


def parse_question(
    text: str,
    path: str = "<string>",
    *,
    topics: Collection[str] | None = None,
    known_families: Collection[str] | None = None,
    check_math: bool = True,
) -> QuestionSource:
    """Parse and validate one question file; raise :class:`BankValidationError` listing every problem.

    ``topics``: the allowed topic slugs (``None``: any slug). ``known_families``: the registered
    problem families for ``type: param`` (``None``: not checked). ``check_math``: also report
    ``$…$`` LaTeX that would not render.
    """
    errors = _Errors(path)
    normalized = normalize_text(text)
    lines = normalized.split("\n")[:-1]
    if not lines or lines[0].rstrip() != "---":
        errors.add(1, _("a question file must start with a '---' line (YAML front matter, see FORMAT.md)"))
        raise BankValidationError(errors.items)
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() == "---"), None)
    if end is None:
        errors.add(1, _("front matter opened here is never closed (no second '---' line)"))
        raise BankValidationError(errors.items)

    before_yaml = len(errors.items)
    root_y = _compose("\n".join(lines[1:end]) + "\n", 2, errors)
    yaml_failed = len(errors.items) > before_yaml  # a None root with errors: the YAML did not parse
    body = _parse_body(lines[end + 1 :], end + 2, errors)
    body_line = end + 2 if end + 1 < len(lines) else end + 1
    explanation = body.sections.get("explanation")
    hint = body.sections.get("hint")

    if explanation is None:
        errors.add(len(lines), _("missing '::: explanation' block (required for every question)"))
    elif not _strip_block("\n".join(explanation.lines)).strip():
        errors.add(explanation.line, _("'::: explanation' block is empty"))
    if hint is not None and not _strip_block("\n".join(hint.lines)).strip():
        errors.add(hint.line, _("'::: hint' block is empty (remove it or write the hint)"))

    fields: dict[str, Any] = {}
    spec: dict[str, Any] = {}
    ctx: _Context | None = None
    if root_y is None:
        if not yaml_failed:
            errors.add(1, _("front matter is empty"))
    elif root_y.entries is None:
        errors.add(root_y.line, _("front matter must be a mapping of keys, not %(value)s") % {"value": _type_name(root_y)})
    else:
        root = _Map(root_y, errors)
        ctx = _Context(errors, root, known_families)
        fields = _common_fields(root, topics)
        qtype = fields.get("type")
        if qtype in TYPE_KEYS:
            _check_top_keys(root, qtype)
            spec = _TYPE_VALIDATORS[qtype](ctx)
        else:
            root.check_keys(ALL_KEYS, COMMON_REQUIRED, missing_line=1)

    qtype = fields.get("type")
    if qtype != "param" and root_y is not None and not body.prompt.strip():
        errors.add(body_line, _("the prompt (Markdown after the front matter) is empty"))

    translations: dict[str, dict[str, Any]] = {}
    translation_texts: list[tuple[str, int]] = []
    for block, block_lang in TRANSLATION_BLOCKS.items():
        section = body.sections.get(block)
        if section is None:
            continue
        if fields.get("lang") == block_lang:
            errors.add(section.line, _("'::: %(name)s' gives the question's text in the language it is already "
                                       "written in") % {"name": block})
            continue
        if ctx is not None and fields.get("type") in TYPE_KEYS:
            source = {"prompt": _strip_block(body.prompt), "hint": hint, "spec": spec, "type": fields["type"]}
            translated = _translation(section, source, errors, translation_texts)
            if translated is not None:
                translations[block_lang] = translated

    if check_math:
        from quizzes.bank.render import math_errors

        texts: list[tuple[str, int]] = [(body.prompt, body.prompt_line)]
        texts += [("\n".join(s.lines), s.line + 1) for name, s in body.sections.items()
                  if name not in TRANSLATION_BLOCKS]
        texts += ctx.texts if ctx else []
        texts += translation_texts
        for source, base in texts:
            for offset, message in math_errors(source):
                errors.add(base + offset, message)

    if errors.items:
        raise BankValidationError(errors.items)
    return QuestionSource(
        id=fields["id"],
        type=fields["type"],
        topic=fields["topic"],
        title=fields["title"],
        difficulty=fields["difficulty"],
        points=fields["points"],
        tags=fields["tags"],
        lang=fields["lang"],
        prompt=_strip_block(body.prompt),
        explanation=_strip_block("\n".join(explanation.lines)) if explanation else "",
        hint=_strip_block("\n".join(hint.lines)) if hint else None,
        spec=spec,
        path=path,
        content_hash=hashlib.sha256(normalized.encode("utf-8")).hexdigest(),
        translations=translations,
    )


# --------------------------------------------------------------------------- translations

#: Keys of a translation block, by question type (besides title, prompt, explanation, hint).
TRANSLATION_TYPE_KEYS: dict[str, tuple[str, ...]] = {
    "single": ("choices",), "multiple": ("choices",), "truefalse": ("feedback_true", "feedback_false"),
    "numeric": ("unit", "misconceptions"), "matrix": (), "symbolic": (), "text": (), "essay": ("key_points",),
    "param": (),
}


def _translation(section: _Section, source: dict[str, Any], errors: _Errors,
                 texts: list[tuple[str, int]]) -> dict[str, Any] | None:
    """Validate a ``::: en`` block (YAML) against the question it translates; its text, or None.

    Every text the question has must be translated: title, prompt, explanation, the hint if there is
    one, each choice (and its feedback), each misconception's message, each key point. The block's
    Markdown strings are added to ``texts`` (to be math-checked) with their file lines.
    """
    content = "\n".join(section.lines)
    if not content.strip():
        errors.add(section.line, _("'::: %(name)s' block is empty") % {"name": section.name})
        return None
    before = len(errors.items)
    root_y = _compose(content + "\n", section.line + 1, errors)
    if root_y is None:
        if len(errors.items) == before:
            errors.add(section.line, _("'::: %(name)s' block is empty") % {"name": section.name})
        return None
    where = _("'::: %(name)s' block") % {"name": section.name}
    if root_y.entries is None:
        errors.add(root_y.line, _("%(where)s: must be a mapping of keys (title, prompt, explanation …), not "
                                  "%(value)s") % {"where": where, "value": _type_name(root_y)})
        return None
    m = _Map(root_y, errors, where)
    qtype, spec = source["type"], source["spec"]
    required = ["title", "explanation"]
    if source["prompt"].strip():
        required.append("prompt")
    if source["hint"] is not None:
        required.append("hint")
    type_keys = TRANSLATION_TYPE_KEYS[qtype]
    m.check_keys(("title", "prompt", "explanation", "hint", *type_keys), required, missing_line=section.line)
    out: dict[str, Any] = {}

    def text(key: str) -> None:
        value = m.string(key, nullable=False) if key in m.entries else None
        if value is not None:
            y = m.get(key)
            offset = 1 if getattr(y.node, "style", None) in ("|", ">") else 0  # type: ignore[union-attr]
            texts.append((value, y.line + offset))  # type: ignore[union-attr]
            out[key] = value

    for key in ("title", "prompt", "explanation", "hint"):
        text(key)
    if "hint" in out and source["hint"] is None:
        m.error(m.key_line("hint"), _("'hint' translates nothing: the question has no '::: hint' block"))
    if "choices" in type_keys and "choices" in m.entries:
        out["choices"] = _translated_items(m, "choices", spec.get("choices") or [], ("text", "feedback"), texts)
    elif "choices" in type_keys:
        m.error(section.line, _("missing required key %(key)s") % {"key": repr("choices")})
    for key in ("feedback_true", "feedback_false"):
        if key in type_keys:
            text(key)
            if (key in out) != bool(spec.get(key)):
                m.error(m.key_line(key) if key in out else section.line,
                        (_("%(key)s translates nothing: the question has no %(key)s") if key in out
                         else _("missing required key %(key)s")) % {"key": repr(key)})
    if "unit" in type_keys:
        text("unit")
    if "misconceptions" in type_keys and (spec.get("misconceptions") or "misconceptions" in m.entries):
        out["misconceptions"] = _translated_list(m, "misconceptions",
                                                 [c["message"] for c in spec.get("misconceptions") or []],
                                                 section.line, texts)
    if "key_points" in type_keys:
        out["key_points"] = _translated_list(m, "key_points", spec.get("key_points") or [], section.line, texts)
    return out


def _translated_list(m: _Map, key: str, originals: list[str], missing_line: int,
                     texts: list[tuple[str, int]]) -> list[str]:
    """A list of strings translating ``originals`` one for one."""
    if key not in m.entries:
        m.error(missing_line, _("missing required key %(key)s") % {"key": repr(key)})
        return []
    items = _string_list(m, key, non_empty=False)
    if len(items) != len(originals):
        m.error(m.key_line(key), _("%(key)s has %(count)d items, the question has %(expected)d: translate each, "
                                   "in the same order") % {"key": repr(key), "count": len(items),
                                                           "expected": len(originals)})
    texts.extend(items)
    return [item for item, _line in items]


def _translated_items(m: _Map, key: str, originals: list[dict[str, Any]], names: tuple[str, ...],
                      texts: list[tuple[str, int]]) -> list[dict[str, str]]:
    """A list of mappings translating ``originals`` one for one: each has exactly the ``names``
    the original has (e.g. a choice's ``text``, and its ``feedback`` if it has one)."""
    items = m.sequence(key) or []
    if len(items) != len(originals):
        m.error(m.key_line(key), _("%(key)s has %(count)d items, the question has %(expected)d: translate each, "
                                   "in the same order") % {"key": repr(key), "count": len(items),
                                                           "expected": len(originals)})
    out: list[dict[str, str]] = []
    for index, (item, original) in enumerate(zip(items, originals, strict=False), 1):
        if item.entries is None:
            m.error(item.line, _("%(key)s item %(number)d must be a mapping, not %(value)s")
                    % {"key": repr(key), "number": index, "value": _type_name(item)})
            continue
        c = _Map(item, m.errors, f"{m.where}: {key} {index}")
        wanted = [name for name in names if original.get(name)]
        c.check_keys(names, wanted)
        entry: dict[str, str] = {}
        for name in names:
            value = c.string(name, nullable=False) if name in c.entries else None
            if value is None:
                continue
            if name not in wanted:
                c.error(c.key_line(name), _("%(key)s translates nothing: the question has no %(key)s")
                        % {"key": repr(name)})
            y = c.get(name)
            offset = 1 if getattr(y.node, "style", None) in ("|", ">") else 0  # type: ignore[union-attr]
            texts.append((value, y.line + offset))  # type: ignore[union-attr]
            entry[name] = value
        out.append(entry)
    return out


def _check_top_keys(root: _Map, qtype: str) -> None:
    """Unknown keys, keys of another type, missing required keys."""
    allowed = (*COMMON_KEYS, *TYPE_KEYS[qtype])
    for key, (line, _value) in root.entries.items():
        if key in allowed:
            continue
        owners = [t for t, keys in TYPE_KEYS.items() if key in keys]
        if owners:
            root.error(line, _("key %(key)s is not used by type %(type)s (it belongs to %(types)s)")
                       % {"key": repr(key), "type": repr(qtype), "types": ", ".join(owners)})
        else:
            root.error(line, _("unknown key %(key)s%(suggestion)s")
                       % {"key": repr(key), "suggestion": _did_you_mean(key, ALL_KEYS)})
    for key in (*COMMON_REQUIRED, *TYPE_REQUIRED[qtype]):
        if key not in root.entries:
            values = {"key": repr(key), "type": repr(qtype)}
            root.error(1, (_("missing required key %(key)s (type %(type)s)") if key in TYPE_REQUIRED[qtype]
                           else _("missing required key %(key)s")) % values)


def _common_fields(root: _Map, topics: Collection[str] | None) -> dict[str, Any]:
    """Validate the keys every type has; return them with defaults."""
    out: dict[str, Any] = {}
    qid = root.string("id", nullable=False)
    if qid is not None and not SLUG_RE.match(qid):
        root.error(root.key_line("id"), _("'id' must be a slug of [a-z0-9-], not %(value)s") % {"value": repr(qid)})
    out["id"] = qid

    qtype = root.string("type", nullable=False)
    if qtype is not None and qtype not in QUESTION_TYPES:
        root.error(
            root.key_line("type"),
            _("unknown type %(type)s%(suggestion)s; types: %(types)s")
            % {"type": repr(qtype), "suggestion": _did_you_mean(qtype, QUESTION_TYPES), "types": ", ".join(QUESTION_TYPES)},
        )
        qtype = None
    out["type"] = qtype

    topic = root.string("topic", nullable=False)
    if topic is not None:
        if not SLUG_RE.match(topic):
            root.error(root.key_line("topic"), _("'topic' must be a slug of [a-z0-9-], not %(value)s") % {"value": repr(topic)})
        elif topics is not None and topic not in topics:
            root.error(
                root.key_line("topic"),
                _("unknown topic %(topic)s%(suggestion)s (topics are listed in topics.yaml)")
                % {"topic": repr(topic), "suggestion": _did_you_mean(topic, topics)},
            )
    out["topic"] = topic

    out["title"] = root.string("title", nullable=False)
    difficulty = root.integer("difficulty", minimum=1, maximum=3)
    out["difficulty"] = difficulty if difficulty is not None else 1
    points = root.number("points")
    if points is not None and points <= 0:
        root.error(root.key_line("points"), _("'points' must be positive, not %(value)s") % {"value": points})
    out["points"] = points if points is not None and points > 0 else 1

    tags: list[str] = []
    for tag, line in _string_list(root, "tags", non_empty=False):
        if not SLUG_RE.match(tag):
            root.error(line, _("tag %(tag)s must be a slug of [a-z0-9-]") % {"tag": repr(tag)})
        elif tag in tags:
            root.error(line, _("duplicate tag %(tag)s") % {"tag": repr(tag)})
        else:
            tags.append(tag)
    out["tags"] = tuple(tags)

    lang = root.string("lang")
    if lang is not None and lang not in LANGS:
        root.error(root.key_line("lang"), _("'lang' must be one of %(langs)s, not %(value)s%(suggestion)s")
                   % {"langs": ", ".join(LANGS), "value": repr(lang), "suggestion": _did_you_mean(lang, LANGS)})
        lang = None
    out["lang"] = lang or "zh-Hant"
    return out


# --------------------------------------------------------------------------- the bank directory


def load_topics(path: Path) -> list[dict[str, str]]:
    """Read ``topics.yaml`` (a list of ``{slug, zh, en}``); raise BankValidationError on problems."""
    errors = _Errors(str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        errors.add(1, _("cannot read topics: %(error)s") % {"error": exc})
        raise BankValidationError(errors.items) from exc
    root = _compose(text, 1, errors)
    topics: list[dict[str, str]] = []
    if root is not None and root.items is None:
        errors.add(root.line, _("topics.yaml must be a list of {slug, zh, en}"))
    seen: set[str] = set()
    for item in (root.items or []) if root is not None else []:
        if item.entries is None:
            errors.add(item.line, _("each topic must be a mapping {slug, zh, en}"))
            continue
        m = _Map(item, errors)
        m.check_keys(("slug", "zh", "en"), ("slug", "zh", "en"))
        slug, zh, en = m.string("slug", nullable=False), m.string("zh", nullable=False), m.string("en", nullable=False)
        if slug is not None:
            if not SLUG_RE.match(slug):
                m.error(m.key_line("slug"), _("topic slug %(slug)s must be a slug of [a-z0-9-]") % {"slug": repr(slug)})
            elif slug in seen:
                m.error(m.key_line("slug"), _("duplicate topic %(slug)s") % {"slug": repr(slug)})
            seen.add(slug)
            topics.append({"slug": slug, "zh": zh or "", "en": en or ""})
    if errors.items:
        raise BankValidationError(errors.items)
    return topics


def _is_question_file(relative: Path) -> bool:
    if any(part.startswith((".", "_")) for part in relative.parts):
        return False
    return relative.name.lower() not in SKIPPED_FILE_NAMES


def load_bank_dir(
    root: Path,
    *,
    known_families: Collection[str] | Callable[[], Collection[str]] | None = None,
    check_math: bool = True,
) -> tuple[list[QuestionSource], list[BankError]]:
    """Parse every ``root/<topic>/**/*.md`` (skipping README/FORMAT and ``.``/``_`` names).

    Also checks: file name == ``<id>.md``, first folder == topic, ids unique across files.
    Returns the valid questions and all errors; paths in both are ``root / relative path``.
    """
    root = Path(root)
    errors: list[BankError] = []
    try:
        topics: set[str] | None = {t["slug"] for t in load_topics(root / "topics.yaml")}
    except BankValidationError as exc:
        errors.extend(exc.errors)
        topics = None
    families = known_families() if callable(known_families) else known_families
    if families is not None:
        families = set(families)

    questions: list[QuestionSource] = []
    first_seen: dict[str, tuple[str, int]] = {}
    for file in sorted(root.rglob("*.md")):
        relative = file.relative_to(root)
        if not file.is_file() or not _is_question_file(relative):
            continue
        path = str(file)
        try:
            raw = file.read_bytes()
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.append(BankError(path, raw[: exc.start].count(b"\n") + 1,
                                    _("not valid UTF-8: %(reason)s") % {"reason": exc.reason}))
            continue
        except OSError as exc:
            errors.append(BankError(path, 1, _("cannot read: %(error)s") % {"error": exc}))
            continue
        try:
            question = parse_question(text, path, topics=topics, known_families=families, check_math=check_math)
        except BankValidationError as exc:
            errors.extend(exc.errors)
            continue
        id_line = _key_line(text, "id")
        problems: list[BankError] = []
        if file.name != f"{question.id}.md":
            problems.append(BankError(path, id_line, _("file name %(name)s does not match id %(id)s (rename the file "
                                                       "to %(file)s)")
                                      % {"name": repr(file.name), "id": repr(question.id), "file": f"{question.id}.md"}))
        if len(relative.parts) < 2:
            problems.append(BankError(path, 1, _("put question files in a topic folder: %(path)s")
                                      % {"path": f"{question.topic}/{file.name}"}))
        elif relative.parts[0] != question.topic:
            problems.append(BankError(path, _key_line(text, "topic"),
                                      _("file is in folder %(folder)s but its topic is %(topic)s")
                                      % {"folder": repr(relative.parts[0]), "topic": repr(question.topic)}))
        if question.id in first_seen:
            other, other_line = first_seen[question.id]
            problems.append(BankError(path, id_line, _("duplicate id %(id)s: also in %(path)s:%(line)d")
                                      % {"id": repr(question.id), "path": other, "line": other_line}))
        else:
            first_seen[question.id] = (path, id_line)
        if problems:
            errors.extend(problems)
        else:
            questions.append(question)
    return questions, errors


def _key_line(text: str, key: str) -> int:
    """Line of a top-level front matter key in a file that has already parsed."""
    pattern = re.compile(rf"^{re.escape(key)}\s*:")
    for number, line in enumerate(normalize_text(text).split("\n")[1:], 2):
        if line.rstrip() == "---":
            break
        if pattern.match(line):
            return number
    return 1
