"""The problem-family framework: generate → render → parse → grade, all on JSON-serializable dicts.

A *family* (one module in ``grader/problems/``) turns a seed into a variant (``params``), states
it (Markdown + LaTeX, English and Traditional Chinese), solves it, and grades answers. The
framework supplies parsing by part kind, per-part comparison with tolerances, per-cell partial
credit for matrices, misconception diagnosis, error carried forward, and feedback worded in every
language (:mod:`grader.i18n`: grading is done once, its texts are worded when they are read).
Grades are :class:`grader.results.GradingResult` s.

Modelled on PrairieLearn's question server (a response with format errors is *invalid* and costs
no attempt; results look like its external-grader results) and on STACK's potential-response
trees (feedback is keyed to a specific mistake). Here each mistake is data: a
:class:`Misconception` is an alternative solver plus a tag and a message. When
a part is wrong and equals what that solver produces, the answer is tagged and the message says
which step went wrong.

See ``grader/README.md`` ("How to add a family") before writing a new family.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from grader import answers
from grader.answers import DEFAULT_TOLERANCES, EXACT, AnswerFormatError, Tolerance
from grader.i18n import LANGS, Joined, Text, Wording, check_lang, gettext_for, join_sentences
from grader.results import GradingResult, PartResult

__all__ = [
    "LANGS",
    "Misconception",
    "ParseResult",
    "Part",
    "PartKind",
    "PartScore",
    "ProblemFamily",
    "Params",
    "Response",
    "cells_right",
    "check_lang",
    "compare_cells",
    "fmt_decimal",
    "jsonable",
    "first_sentence",
    "latex_matrix",
    "pick",
    "wrong_size",
]

PartKind = Literal["integer", "number", "vector", "shape", "matrix", "choice", "indices", "expression"]
PART_KINDS: tuple[str, ...] = PartKind.__args__  # type: ignore[attr-defined]
Params = dict[str, Any]
Response = dict[str, Any]


# Phrases of the framework's feedback that families use too.


def cells_right(ok: int, n: int) -> Text:
    """"3 of your 4 entries are correct." """
    return Text("%(ok)d of your %(n)d entries are correct.", ok=ok, n=n)


def wrong_size(rows: int, cols: int) -> Text:
    return Text("Your matrix (%(rows)d×%(cols)d) does not have the correct size.", rows=rows, cols=cols)


def jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays and tuples to plain JSON types (ints stay ints)."""
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.integer | np.bool_):
        return obj.item()
    if isinstance(obj, np.floating):
        value = float(obj)
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    return obj


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z*$])|(?<=[。！？])|[:：;；](?=\s|$)|(?<=[:：；])")


def first_sentence(text: str) -> str:
    """The first sentence (or clause before a colon) of a message, without its final stop."""
    head = _SENTENCE_END.split(text.strip(), maxsplit=1)[0].strip()
    return head.rstrip(".。:：;；") or text.strip()


def pick(rng: np.random.Generator, options: Sequence[Any]) -> Any:
    """One of ``options``, drawn with ``rng`` (a variant's choices)."""
    return options[int(rng.integers(len(options)))]


def fmt_decimal(x: float, digits: int = 4) -> str:
    """A number for statements and worked solutions: rounded to ``digits`` decimals, no trailing
    zeros, never "-0"."""
    if float(x).is_integer():
        return str(int(x))
    text = f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def latex_matrix(rows: Sequence[Sequence[Any]], env: str = "bmatrix", tol: answers.Tolerance | None = None) -> str:
    """``\\begin{bmatrix} 1 & 0 \\\\ -1 & 2 \\end{bmatrix}`` from nested lists; numbers as
    :func:`grader.answers.display_number` shows them (an expected answer: pass its part's ``tol``)."""
    body = r" \\ ".join(" & ".join(answers.display_number(v, tol) for v in row) for row in rows)
    return rf"\begin{{{env}}} {body} \end{{{env}}}"


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class Part:
    """One answer box of a problem.

    ``label`` is an English catalog message (mark it with ``N_``), translated where it is shown;
    a label that holds values names them as placeholders and gives them in ``label_args``.
    ``tolerance`` None means the default for the kind (``answers.DEFAULT_TOLERANCES``: counts
    exact, reals 3 significant figures or 0.1 %). ``shape`` fixes a matrix's size and ``length``
    a vector's/shape's/index list's length; a mismatch is then a *format* error (the statement
    told the size). ``partial`` gives per-entry credit (default: matrices yes, others no).
    """

    name: str
    kind: PartKind
    label: str
    points: float = 1.0
    tolerance: Tolerance | None = None
    shape: tuple[int, int] | None = None
    length: int | None = None
    choices: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()
    ordered: bool = True
    partial: bool | None = None
    allow_percent: bool = False
    allow_inf: bool = False
    #: Arguments of a label that holds values, e.g. ``N_("IoU(B%(i)d, B%(j)d)")`` with ``(("i", 1), ("j", 2))``.
    label_args: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in PART_KINDS:
            raise ValueError(f"part {self.name!r}: unknown kind {self.kind!r}")

    @property
    def tol(self) -> Tolerance:
        return self.tolerance or DEFAULT_TOLERANCES.get(self.kind, EXACT)

    @property
    def partial_credit(self) -> bool:
        return self.kind == "matrix" if self.partial is None else self.partial

    @property
    def wording(self) -> Text:
        """The label, to be worded later."""
        return Text(self.label, **dict(self.label_args))

    def label_in(self, lang: str) -> str:
        return self.wording(lang)

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "label": self.label_in(lang),
            "points": self.points,
        }
        if self.shape is not None:
            out["shape"] = list(self.shape)
        if self.length is not None:
            out["length"] = self.length
        if self.choices:
            out["choices"] = list(self.choices)
        if self.symbols:
            out["symbols"] = list(self.symbols)
        return out


@dataclass(frozen=True)
class Misconception:
    """A known mistake: ``solve(params)`` returns the answers it leads to for the parts it affects,
    or None when it does not apply to this variant. ``text`` says which step went wrong (an English
    catalog message, marked with ``N_``). ``main`` misconceptions must be told apart by every
    generated variant (see :meth:`ProblemFamily.generate`).

    ``credit`` is what a part earns when its whole answer is this mistake's (a wrong method, e.g.
    cross-correlation for a convolution): 0 by default, because entries that agree with the right
    answer then agree by coincidence. None marks a slip that keeps the per-entry credit (e.g. an
    output one row short whose computed entries are all right). Answers carried forward from the
    student's own earlier part keep their carried-forward credit.
    """

    tag: str
    text: str
    solve: Callable[[Params], Response | None] = field(repr=False, compare=False)
    main: bool = True
    credit: float | None = 0.0

    def __post_init__(self) -> None:
        if self.credit is not None and not 0.0 <= self.credit <= 1.0:
            raise ValueError(f"misconception {self.tag!r}: credit {self.credit!r} is not in [0, 1]")

    @property
    def wording(self) -> Text:
        return Text(self.text)

    def message(self, lang: str = "en") -> str:
        return gettext_for(lang)(self.text)

    def name(self, lang: str = "en") -> str:
        """What a student reads as this mistake's name: the message's first sentence (the tag is
        an internal key, never shown)."""
        return first_sentence(self.message(lang))

    def to_dict(self) -> dict[str, Any]:
        return {"tag": self.tag, "message": {lang: self.message(lang) for lang in LANGS}, "main": self.main,
                "credit": self.credit}


# --------------------------------------------------------------------------- results


@dataclass
class PartScore:
    """What :meth:`ProblemFamily.score_part` returns: a score in [0, 1], optional per-cell results
    (rows of the *given* matrix; True = right) and a note for the feedback."""

    score: float
    cells: list[list[bool]] | None = None
    note: Wording | None = None
    #: The score came from error carried forward (a misconception's credit does not replace it).
    carried_forward: bool = False

    @property
    def correct(self) -> bool:
        return self.score >= 1.0


@dataclass
class ParseResult:
    """Parsed ``response`` (part name → value) or ``format_errors`` (part name → message)."""

    response: Response
    format_errors: dict[str, Text] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.format_errors


# --------------------------------------------------------------------------- matrices


def _matrix_dims(m: Any) -> tuple[int, int] | None:
    if not isinstance(m, list) or not m or not all(isinstance(r, list) for r in m):
        return None
    width = len(m[0])
    return (len(m), width) if all(len(r) == width for r in m) else None


def compare_cells(given: list[list[Any]], expected: list[list[Any]], tol: Tolerance) -> list[list[bool]]:
    """Per-cell comparison in the *given* matrix's shape, anchored at the top-left corner;
    cells outside ``expected`` are False."""
    eh, ew = len(expected), len(expected[0]) if expected else 0
    match = answers.numbers_match
    return [
        [i < eh and j < ew and match(v, expected[i][j], tol) for j, v in enumerate(row)]
        for i, row in enumerate(given)
    ]


#: The parameters that name a variant's kind, in order of preference (:meth:`ProblemFamily.variant_group`).
VARIANT_KEYS = ("variant", "kind", "mode", "method", "optimizer", "filter", "topic")


# --------------------------------------------------------------------------- the family


class ProblemFamily(ABC):
    """Base class of a problem family. Subclasses set the class attributes and implement
    :meth:`sample`, :meth:`parts`, :meth:`solve`, :meth:`render` and :meth:`explain`; parsing,
    grading, diagnosis and variant selection come from here and can be overridden per part via
    :meth:`parse_part`, :meth:`score_part`, :meth:`carried_forward` and :meth:`hint`.

    Instances are stateless; the registry holds one per family.
    """

    #: URL-safe slug, e.g. "conv-by-hand".
    name: ClassVar[str]
    #: An English catalog message (``N_``), e.g. ``N_("Convolution by hand")``.
    title: ClassVar[str]
    #: Course topic, e.g. "convolution".
    topic: ClassVar[str]
    misconceptions: ClassVar[tuple[Misconception, ...]] = ()
    #: Constraint keys ``generate`` accepts (key → description); anything else is a ValueError.
    constraint_keys: ClassVar[dict[str, str]] = {}
    #: Constraint sets for modes that ``generate`` makes only on request (unconstrained seeds never
    #: reach them, e.g. detection-map's ``{"method": "coco"}``): the family-wide property tests
    #: cover seeds with each of them too.
    modes_on_request: ClassVar[tuple[dict[str, Any], ...]] = ()
    #: Bound on resampling in ``generate`` until a variant discriminates every main misconception.
    max_tries: ClassVar[int] = 200
    #: Credit for a wrong part that is consistent with the student's own earlier answers.
    ecf_credit: ClassVar[float] = 1.0

    # ---- to implement -------------------------------------------------------------------

    @abstractmethod
    def sample(self, rng: np.random.Generator, constraints: Mapping[str, Any]) -> Params:
        """One candidate variant drawn with ``rng`` (plain JSON types only: use :func:`jsonable`)."""

    @abstractmethod
    def parts(self, params: Params) -> list[Part]:
        """The answer boxes of this variant, in order."""

    @abstractmethod
    def solve(self, params: Params) -> Response:
        """The correct answer: part name → value, exactly what ``parse``/``grade`` accept."""

    @abstractmethod
    def render(self, params: Params, lang: str = "en") -> str:
        """The statement in Markdown with ``$...$``/``$$...$$`` LaTeX."""

    @abstractmethod
    def explain(self, params: Params, lang: str = "en") -> str:
        """A worked solution in Markdown + LaTeX."""

    # ---- hooks with defaults ---------------------------------------------------------------

    def carried_forward(self, params: Params, part: Part, response: Response) -> Any | None:
        """The value ``part`` should have *given the student's own earlier answers* (error carried
        forward), or None. Only families that opt in override this; a wrong part matching it gets
        ``ecf_credit``."""
        return None

    def clear_caches(self) -> None:
        """Drop memoized results (families that memoize their solver override this; the
        benchmark calls it to time cold gradings)."""
        return None

    def hint(self, params: Params, part: Part, given: Any) -> Wording | None:
        """Extra feedback for a wrong part that no misconception explains (default: none)."""
        return None

    def parse_part(self, part: Part, raw: Any) -> Any:
        """Parse one part's raw input (typed text or a JSON value) by kind; raises AnswerFormatError."""
        kind = part.kind
        if kind == "integer":
            return answers.parse_integer(raw)
        if kind == "number":
            return answers.parse_number(raw, allow_percent=part.allow_percent, allow_inf=part.allow_inf)
        if kind == "vector":
            return answers.parse_vector(
                raw, length=part.length, allow_percent=part.allow_percent, allow_inf=part.allow_inf
            )
        if kind == "shape":
            return answers.parse_shape(raw, length=part.length)
        if kind == "indices":
            return answers.parse_indices(raw, length=part.length)
        if kind == "matrix":
            return answers.parse_matrix(
                raw, shape=part.shape, allow_percent=part.allow_percent, allow_inf=part.allow_inf
            )
        if kind == "choice":
            return answers.parse_choice(raw, part.choices)
        return answers.parse_expression(raw, part.symbols)

    def values_match(self, part: Part, given: Any, expected: Any) -> bool:
        """Whether ``given`` equals ``expected`` for this part (within its tolerance)."""
        if given is None or expected is None:
            return given is expected
        kind, tol = part.kind, part.tol
        if kind in {"integer", "number"}:
            return answers.numbers_match(given, expected, tol)
        if kind in {"vector", "indices", "shape"}:
            if len(given) != len(expected):
                return False
            if not part.ordered:
                given, expected = sorted(given), sorted(expected)
            return all(answers.numbers_match(g, e, tol) for g, e in zip(given, expected, strict=True))
        if kind == "matrix":
            dims = _matrix_dims(given)
            if dims is None or dims != _matrix_dims(expected):
                return False
            return all(
                answers.numbers_match(g, e, tol)
                for gr, er in zip(given, expected, strict=True)
                for g, e in zip(gr, er, strict=True)
            )
        if kind == "expression":
            return answers.expressions_equal(given, expected, part.symbols)
        return bool(given == expected)

    def score_part(
        self, params: Params, part: Part, given: Any, expected: Any, response: Response
    ) -> PartScore:
        """Score one part in [0, 1]. Default: all-or-nothing; per entry for ``partial`` parts
        (matrices: per cell, top-left anchored, extra and missing cells count as wrong); then
        error carried forward via :meth:`carried_forward`."""
        if given is None:
            return PartScore(0.0, note=Text("No answer given."))
        result = self._score_plain(part, given, expected)
        if not result.correct:
            cf = self.carried_forward(params, part, response)
            if (
                cf is not None
                and not self.values_match(part, cf, expected)
                and self.values_match(part, given, cf)
            ):
                score = max(result.score, self.ecf_credit)
                return PartScore(score, result.cells, _CARRIED_FORWARD, carried_forward=True)
        return result

    def _score_plain(self, part: Part, given: Any, expected: Any) -> PartScore:
        if part.kind == "matrix" and part.partial_credit:
            if _matrix_dims(given) is None:
                return PartScore(0.0)
            cells = compare_cells(given, expected, part.tol)
            ok = sum(map(sum, cells))
            gh, gw = len(given), len(given[0])
            eh, ew = len(expected), len(expected[0])
            extra = gh * gw - sum(1 for i in range(gh) for j in range(gw) if i < eh and j < ew)
            total = eh * ew + extra
            note: Wording = cells_right(ok, gh * gw)
            if (gh, gw) != (eh, ew):
                note = join_sentences([wrong_size(gh, gw), note])
            return PartScore(ok / total, cells, None if ok == total else note)
        if part.kind == "vector" and part.partial_credit and len(given) == len(expected) and part.ordered:
            hits = [answers.numbers_match(g, e, part.tol) for g, e in zip(given, expected, strict=True)]
            score = sum(hits) / len(hits)
            return PartScore(score, [hits], None if score == 1 else cells_right(sum(hits), len(hits)))
        return PartScore(1.0 if self.values_match(part, given, expected) else 0.0)

    # ---- framework ---------------------------------------------------------------------------

    def generate(self, seed: int, constraints: Mapping[str, Any] | None = None) -> Params:
        """A deterministic variant for ``seed``: resample (at most ``max_tries`` times) until every
        applicable main misconception leads to an answer that differs from the right one and is
        diagnosed as exactly that misconception. If none qualifies (over-tight constraints), the
        candidate with the fewest indistinguishable misconceptions is returned."""
        constraints = dict(constraints or {})
        unknown = set(constraints) - set(self.constraint_keys)
        if unknown:
            known = ", ".join(sorted(self.constraint_keys)) or "none"
            raise ValueError(f"{self.name}: unknown constraint(s) {sorted(unknown)}; known: {known}")
        rng = np.random.default_rng(seed)
        best: Params | None = None
        best_bad = math.inf
        for _ in range(self.max_tries):
            params = self.sample(rng, constraints)
            bad = len(self.undiscriminated(params))
            if bad == 0:
                return params
            if bad < best_bad:
                best, best_bad = params, bad
        assert best is not None
        return best

    def variant_group(self, params: Params) -> str:
        """Which kind of variant ``params`` is, for comparing variants' difficulty (item analysis):
        the value of its first categorical parameter among :attr:`VARIANT_KEYS` (e.g. a
        convolution's ``mode``), empty when it has none. Families may override it."""
        for key in VARIANT_KEYS:
            value = params.get(key)
            if isinstance(value, str):
                return value
        return ""

    def alternatives(self, params: Params) -> dict[str, Response]:
        """Each applicable misconception's answers (tag → part → value)."""
        out = {}
        for m in self.misconceptions:
            alt = m.solve(params)
            if alt:
                out[m.tag] = alt
        return out

    def undiscriminated(self, params: Params) -> list[str]:
        """Tags of main misconceptions this variant cannot tell apart (from the right answer or
        from another misconception). Empty for a good variant."""
        parts = self.parts(params)
        expected = self.solve(params)
        alts = self.alternatives(params)
        bad = []
        for m in self.misconceptions:
            if m.main and m.tag in alts:
                response = {**expected, **alts[m.tag]}
                if list(self.diagnose(params, response, parts=parts, expected=expected, alts=alts)) != [
                    m.tag
                ]:
                    bad.append(m.tag)
        return bad

    def diagnose(
        self,
        params: Params,
        response: Response,
        *,
        parts: list[Part] | None = None,
        expected: Response | None = None,
        alts: dict[str, Response] | None = None,
    ) -> dict[str, list[str]]:
        """Misconceptions that explain the response: tag → the wrong parts it explains.

        A misconception explains a part if the answer is wrong there and equals the
        misconception's answer. When one misconception explains a strict superset of the parts
        another explains, only the larger explanation is kept (e.g. "padding ignored" explains
        both the shape and the matrix, "forgot +1" only the shape).
        """
        parts = self.parts(params) if parts is None else parts
        expected = self.solve(params) if expected is None else expected
        alts = self.alternatives(params) if alts is None else alts
        by_name = {p.name: p for p in parts}
        hits: dict[str, frozenset[str]] = {}
        for tag, alt in alts.items():
            explained = frozenset(
                name
                for name, value in alt.items()
                if name in by_name
                and response.get(name) is not None
                and not self.values_match(by_name[name], value, expected[name])
                and self.values_match(by_name[name], response[name], value)
            )
            if explained:
                hits[tag] = explained
        return {tag: sorted(h) for tag, h in hits.items() if not any(h < other for other in hits.values())}

    def parse(self, params: Params, raw: Any) -> ParseResult:
        """Parse a raw submission (part name → typed text or JSON value). Unknown, missing and
        unreadable parts are format errors; the submission is then invalid and costs no attempt."""
        if not isinstance(raw, Mapping):
            return ParseResult({}, {"_answer": Text("The answer must be an object mapping part names to answers.")})
        parts = self.parts(params)
        known = ", ".join(p.name for p in parts)
        errors: dict[str, Text] = {}
        response: Response = {}
        names = {p.name for p in parts}
        for name in raw:
            if name not in names:
                errors[str(name)] = Text("Unknown part '%(name)s' (parts: %(known)s).", name=str(name), known=known)
        for part in parts:
            value = raw.get(part.name)
            if value is None or (isinstance(value, str) and not value.strip()):
                errors[part.name] = Text("Missing answer.")
                continue
            try:
                response[part.name] = self.parse_part(part, value)
            except AnswerFormatError as exc:
                errors[part.name] = exc.text
        return ParseResult(response, errors)

    def grade(self, params: Params, response: Response) -> GradingResult:
        """Grade a parsed response: per-part scores, misconception tags and messages, feedback."""
        parts = self.parts(params)
        expected = self.solve(params)
        scores = {
            p.name: self.score_part(params, p, response.get(p.name), expected[p.name], response)
            for p in parts
        }
        wrong = any(not s.correct for s in scores.values())
        # Misconception solvers only run for wrong answers: the common correct case stays cheap.
        diagnosis = self.diagnose(params, response, parts=parts, expected=expected) if wrong else {}
        by_tag = {m.tag: m for m in self.misconceptions}
        graded: list[PartResult] = []
        first_part: dict[str, Part] = {}  # tag → the part whose feedback carries its message
        for p in parts:
            s = scores[p.name]
            tags = tuple(t for t in by_tag if p.name in diagnosis.get(t, ()))
            method_credit = self._method_credit(s, [by_tag[t] for t in tags])
            if method_credit is not None:
                s = PartScore(method_credit, s.cells, s.note)
            if s.correct:
                text: Wording = s.note or _CORRECT
            else:
                pieces: list[Wording | None] = [s.note]
                for t in tags:
                    # Say each mistake once; later parts it explains just point back.
                    if t in first_part:
                        pieces.append(Text("Same mistake as in *%(label)s*.", label=first_part[t].wording))
                    else:
                        first_part[t] = p
                        pieces.append(by_tag[t].wording)
                if method_credit is not None:
                    pieces.append(_method_credit_note(method_credit))
                if not tags:
                    pieces.append(self.hint(params, p, response.get(p.name)))
                joined = join_sentences(pieces)
                text = joined if joined else _INCORRECT
            graded.append(
                PartResult(
                    name=p.name, label=p.wording, score=s.score, points=s.score * p.points, max_points=p.points,
                    correct=s.correct, message=text, misconceptions=tags, cells=s.cells, expected=expected[p.name],
                )
            )
        total = sum(p.points for p in parts)
        points = sum(g.points for g in graded)
        if all(g.correct for g in graded):
            feedback: Wording = Text("All parts correct.")
        else:
            feedback = Joined((Text("- **%(label)s**: %(feedback)s", label=g.label, feedback=g.message)
                               for g in graded), separator="\n")
        tags = tuple(t for t in by_tag if t in diagnosis)
        return GradingResult(score=points / total if total else 0.0, points=points, max_points=total,
                             message=feedback, parts=tuple(graded), misconceptions=tags)

    @staticmethod
    def _method_credit(score: PartScore, mistakes: Sequence[Misconception]) -> float | None:
        """The credit of a wrong part whose whole answer is a named mistake's (the best credit
        the table states among those that explain it), or None: the part keeps its own score."""
        if score.correct or score.carried_forward:
            return None
        credits = [m.credit for m in mistakes if m.credit is not None]
        return max(credits) if credits else None

    def check(self, params: Params, raw: Any) -> GradingResult:
        """``parse`` then ``grade``; an invalid submission gives a result that is not gradable."""
        parsed = self.parse(params, raw)
        if not parsed.valid:
            lines = Joined((Text("- **%(part)s**: %(error)s", part=name, error=error)
                            for name, error in parsed.format_errors.items()), separator="\n")
            return GradingResult.invalid(parsed.format_errors, Joined([_INVALID, lines], separator="\n"))
        return self.grade(params, parsed.response)

    def format_answer(self, params: Params, answer: Response) -> dict[str, str]:
        """``answer`` written as a person would type it into the boxes (part name → text)."""
        parts = {p.name: p for p in self.parts(params)}
        return {name: answers.format_value(parts[name].kind, value) for name, value in answer.items()}

    def display_answer(self, params: Params, answer: Response) -> dict[str, str]:
        """``answer`` as a student is shown it: :meth:`format_answer` with real numbers rounded to the
        precision each part is graded at (:func:`grader.answers.display_number`)."""
        parts = {p.name: p for p in self.parts(params)}
        return {name: answers.format_value(parts[name].kind, value, parts[name].tol)
                for name, value in answer.items()}

    def title_in(self, lang: str) -> str:
        return gettext_for(lang)(self.title)

    def describe(self, lang: str = "en") -> dict[str, Any]:
        """Metadata for listings: name, title, topic, misconceptions, constraint keys."""
        return {
            "name": self.name,
            "title": self.title_in(lang),
            "topic": self.topic,
            "misconceptions": [m.to_dict() for m in self.misconceptions],
            "constraints": dict(self.constraint_keys),
        }


_CORRECT = Text("Correct.")
_INCORRECT = Text("Incorrect.")
_INVALID = Text("The answer could not be read; fix the format (this does not count as an attempt).")


def _method_credit_note(credit: float) -> Text:
    """Why a part that follows a wrong method earns the credit it does."""
    if credit <= 0:
        return Text("Your whole answer here follows that method, so it earns no points, "
                    "even for entries that happen to agree with the right answer.")
    return Text("Your whole answer here follows that method, so it earns %(percent)s %% of its points.",
                percent=fmt_decimal(credit * 100, 1))


_CARRIED_FORWARD = Text("Consistent with your earlier answer, so no further points are deducted here.")
