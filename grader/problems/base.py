"""The problem-family framework: generate → render → parse → grade, all on JSON-serializable dicts.

A *family* (one module in ``grader/problems/``) turns a seed into a variant (``params``), states
it (Markdown + LaTeX, English and Traditional Chinese), solves it, and grades answers. The
framework supplies parsing by part kind, per-part comparison with tolerances, per-cell partial
credit for matrices, misconception diagnosis, error carried forward, and bilingual feedback.

Modelled on PrairieLearn's question server (a response with format errors is *invalid* and costs
no attempt; results look like its external-grader results) and on STACK's potential-response
trees (feedback is keyed to a specific mistake). Here each mistake is data: a
:class:`Misconception` is an alternative solver plus a tag and a message in two languages. When
a part is wrong and equals what that solver produces, the answer is tagged and the message says
which step went wrong.

See ``grader/README.md`` ("How to add a family") before writing a new family.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from grader import answers
from grader.answers import DEFAULT_TOLERANCES, EXACT, AnswerFormatError, Tolerance

__all__ = [
    "LANGS",
    "Grade",
    "Misconception",
    "ParseResult",
    "Part",
    "PartGrade",
    "PartKind",
    "PartScore",
    "ProblemFamily",
    "Params",
    "Response",
    "check_lang",
    "compare_cells",
    "join_sentences",
    "jsonable",
    "latex_matrix",
    "msg",
    "tr",
]

LANGS = ("en", "zh-Hant")
PartKind = Literal["integer", "number", "vector", "shape", "matrix", "choice", "indices", "expression"]
PART_KINDS: tuple[str, ...] = PartKind.__args__  # type: ignore[attr-defined]
Params = dict[str, Any]
Response = dict[str, Any]


def check_lang(lang: str) -> str:
    """Return ``lang`` if supported, else raise ``ValueError``."""
    if lang not in LANGS:
        raise ValueError(f"unsupported language {lang!r}; use one of {', '.join(LANGS)}")
    return lang


def tr(text: Mapping[str, str], lang: str) -> str:
    """Pick ``text[lang]`` from a ``{"en": ..., "zh-Hant": ...}`` mapping (falls back to English)."""
    return text.get(lang) or text["en"]


# Fixed phrases of the framework's feedback.
_MSG: dict[str, dict[str, str]] = {
    "correct": {"en": "Correct.", "zh-Hant": "正確。"},
    "incorrect": {"en": "Incorrect.", "zh-Hant": "不正確。"},
    "missing": {"en": "No answer given.", "zh-Hant": "未作答。"},
    "cells": {"en": "{ok} of your {n} entries are correct.", "zh-Hant": "你的 {n} 個值中有 {ok} 個正確。"},
    "bad_shape": {
        "en": "Your matrix ({gh}×{gw}) does not have the correct size.",
        "zh-Hant": "你的矩陣（{gh}×{gw}）大小不對。",
    },
    "ecf": {
        "en": "Consistent with your earlier answer, so no further points are deducted here.",
        "zh-Hant": "與你前面的答案一致，此處不再扣分。",
    },
    "unknown_part": {
        "en": "Unknown part '{name}' (parts: {known}).",
        "zh-Hant": "沒有「{name}」這一小題（小題：{known}）。",
    },
    "missing_part": {"en": "Missing answer.", "zh-Hant": "缺少答案。"},
    "not_object": {
        "en": "The answer must be an object mapping part names to answers.",
        "zh-Hant": "答案必須是「小題名稱 → 答案」的物件。",
    },
    "same_mistake": {"en": "Same mistake as in *{label}*.", "zh-Hant": "與「{label}」相同的錯誤。"},
    "all_correct": {"en": "All parts correct.", "zh-Hant": "全部正確。"},
    "invalid": {
        "en": "The answer could not be read; fix the format (this does not count as an attempt).",
        "zh-Hant": "無法讀取答案，請修正格式（不計入作答次數）。",
    },
}


def msg(key: str, lang: str, **fmt: Any) -> str:
    """A framework phrase in ``lang``, formatted with ``fmt``."""
    text = tr(_MSG[key], lang)
    return text.format(**fmt) if fmt else text


def join_sentences(sentences: Sequence[str], lang: str) -> str:
    # Chinese sentences end in "。" and are not separated by spaces.
    return ("" if lang == "zh-Hant" else " ").join(s for s in sentences if s)


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


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return str(int(x)) if x.is_integer() else f"{x:g}"
    return str(x)


def latex_matrix(rows: Sequence[Sequence[Any]], env: str = "bmatrix") -> str:
    """``\\begin{bmatrix} 1 & 0 \\\\ -1 & 2 \\end{bmatrix}`` from nested lists."""
    body = r" \\ ".join(" & ".join(_fmt(v) for v in row) for row in rows)
    return rf"\begin{{{env}}} {body} \end{{{env}}}"


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class Part:
    """One answer box of a problem.

    ``tolerance`` None means the default for the kind (``answers.DEFAULT_TOLERANCES``: counts
    exact, reals 3 significant figures or 0.1 %). ``shape`` fixes a matrix's size and ``length``
    a vector's/shape's/index list's length; a mismatch is then a *format* error (the statement
    told the size). ``partial`` gives per-entry credit (default: matrices yes, others no).
    """

    name: str
    kind: PartKind
    label: Mapping[str, str] = field(hash=False)
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

    def __post_init__(self) -> None:
        if self.kind not in PART_KINDS:
            raise ValueError(f"part {self.name!r}: unknown kind {self.kind!r}")

    @property
    def tol(self) -> Tolerance:
        return self.tolerance or DEFAULT_TOLERANCES.get(self.kind, EXACT)

    @property
    def partial_credit(self) -> bool:
        return self.kind == "matrix" if self.partial is None else self.partial

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "label": tr(self.label, lang),
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
    or None when it does not apply to this variant. ``main`` misconceptions must be told apart by
    every generated variant (see :meth:`ProblemFamily.generate`).
    """

    tag: str
    message_en: str
    message_zh: str
    solve: Callable[[Params], Response | None] = field(repr=False, compare=False)
    main: bool = True

    def message(self, lang: str = "en") -> str:
        return self.message_zh if lang == "zh-Hant" else self.message_en

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "message": {"en": self.message_en, "zh-Hant": self.message_zh},
            "main": self.main,
        }


# --------------------------------------------------------------------------- results


def _r(x: float) -> float:
    return round(float(x), 6)


@dataclass
class PartScore:
    """What :meth:`ProblemFamily.score_part` returns: a score in [0, 1], optional per-cell results
    (rows of the *given* matrix; True = right) and a note for the feedback."""

    score: float
    cells: list[list[bool]] | None = None
    note: str = ""

    @property
    def correct(self) -> bool:
        return self.score >= 1.0


@dataclass
class PartGrade:
    """The grade of one part. ``expected`` is kept but only shown by ``to_dict(reveal=True)``."""

    name: str
    label: str
    score: float
    points: float
    max_points: float
    correct: bool
    expected: Any
    feedback: str
    misconceptions: list[str] = field(default_factory=list)
    cells: list[list[bool]] | None = None

    def to_dict(self, reveal: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "score": _r(self.score),
            "points": _r(self.points),
            "max_points": _r(self.max_points),
            "correct": self.correct,
            "feedback": self.feedback,
            "misconceptions": list(self.misconceptions),
        }
        if self.cells is not None:
            out["cells"] = self.cells
        if reveal:
            out["expected"] = self.expected
        return out


@dataclass
class Grade:
    """The grade of a whole response (shaped like a PrairieLearn external-grader result).

    ``gradable`` False means the response had format errors: no score, no attempt charged.
    """

    score: float
    parts: list[PartGrade]
    feedback: str
    misconceptions: list[str] = field(default_factory=list)
    gradable: bool = True
    format_errors: dict[str, str] = field(default_factory=dict)

    @property
    def points(self) -> float:
        return sum(p.points for p in self.parts)

    @property
    def max_points(self) -> float:
        return sum(p.max_points for p in self.parts)

    def to_dict(self, reveal: bool = False) -> dict[str, Any]:
        if not self.gradable:
            return {
                "valid": False,
                "gradable": False,
                "score": None,
                "format_errors": dict(self.format_errors),
                "feedback": self.feedback,
                "message": self.feedback,
                "misconceptions": [],
                "parts": [],
            }
        return {
            "valid": True,
            "gradable": True,
            "score": _r(self.score),
            "points": _r(self.points),
            "max_points": _r(self.max_points),
            "feedback": self.feedback,
            "message": self.feedback,  # PrairieLearn's name for the same text
            "misconceptions": list(self.misconceptions),
            "parts": [p.to_dict(reveal) for p in self.parts],
        }


@dataclass
class ParseResult:
    """Parsed ``response`` (part name → value) or ``format_errors`` (part name → message)."""

    response: Response
    format_errors: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.format_errors

    def to_dict(self) -> dict[str, Any]:
        if self.valid:
            return {"valid": True, "response": self.response}
        return {"valid": False, "format_errors": dict(self.format_errors)}


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
    #: {"en": ..., "zh-Hant": ...}
    title: ClassVar[dict[str, str]]
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

    def hint(self, params: Params, part: Part, given: Any, lang: str) -> str | None:
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
        self, params: Params, part: Part, given: Any, expected: Any, response: Response, lang: str
    ) -> PartScore:
        """Score one part in [0, 1]. Default: all-or-nothing; per entry for ``partial`` parts
        (matrices: per cell, top-left anchored, extra and missing cells count as wrong); then
        error carried forward via :meth:`carried_forward`."""
        if given is None:
            return PartScore(0.0, note=msg("missing", lang))
        result = self._score_plain(part, given, expected, lang)
        if not result.correct:
            cf = self.carried_forward(params, part, response)
            if (
                cf is not None
                and not self.values_match(part, cf, expected)
                and self.values_match(part, given, cf)
            ):
                score = max(result.score, self.ecf_credit)
                return PartScore(score, result.cells, msg("ecf", lang))
        return result

    def _score_plain(self, part: Part, given: Any, expected: Any, lang: str) -> PartScore:
        if part.kind == "matrix" and part.partial_credit:
            if _matrix_dims(given) is None:
                return PartScore(0.0)
            cells = compare_cells(given, expected, part.tol)
            ok = sum(map(sum, cells))
            gh, gw = len(given), len(given[0])
            eh, ew = len(expected), len(expected[0])
            extra = gh * gw - sum(1 for i in range(gh) for j in range(gw) if i < eh and j < ew)
            total = eh * ew + extra
            note = msg("cells", lang, ok=ok, n=gh * gw)
            if (gh, gw) != (eh, ew):
                note = msg("bad_shape", lang, gh=gh, gw=gw) + " " + note
            return PartScore(ok / total, cells, "" if ok == total else note)
        if part.kind == "vector" and part.partial_credit and len(given) == len(expected) and part.ordered:
            hits = [answers.numbers_match(g, e, part.tol) for g, e in zip(given, expected, strict=True)]
            score = sum(hits) / len(hits)
            return PartScore(
                score, [hits], "" if score == 1 else msg("cells", lang, ok=sum(hits), n=len(hits))
            )
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

    def parse(self, params: Params, raw: Any, lang: str = "en") -> ParseResult:
        """Parse a raw submission (part name → typed text or JSON value). Unknown, missing and
        unreadable parts are format errors; the submission is then invalid and costs no attempt."""
        check_lang(lang)
        if not isinstance(raw, Mapping):
            return ParseResult({}, {"_answer": msg("not_object", lang)})
        parts = self.parts(params)
        known = ", ".join(p.name for p in parts)
        errors: dict[str, str] = {}
        response: Response = {}
        names = {p.name for p in parts}
        for name in raw:
            if name not in names:
                errors[str(name)] = msg("unknown_part", lang, name=name, known=known)
        for part in parts:
            value = raw.get(part.name)
            if value is None or (isinstance(value, str) and not value.strip()):
                errors[part.name] = msg("missing_part", lang)
                continue
            try:
                response[part.name] = self.parse_part(part, value)
            except AnswerFormatError as exc:
                errors[part.name] = exc.message(lang)
        return ParseResult(response, errors)

    def grade(self, params: Params, response: Response, lang: str = "en") -> Grade:
        """Grade a parsed response: per-part scores, misconception tags and messages, feedback."""
        check_lang(lang)
        parts = self.parts(params)
        expected = self.solve(params)
        scores = {
            p.name: self.score_part(params, p, response.get(p.name), expected[p.name], response, lang)
            for p in parts
        }
        wrong = any(not s.correct for s in scores.values())
        # Misconception solvers only run for wrong answers: the common correct case stays cheap.
        diagnosis = self.diagnose(params, response, parts=parts, expected=expected) if wrong else {}
        messages = {m.tag: m.message(lang) for m in self.misconceptions}
        grades: list[PartGrade] = []
        first_part: dict[str, str] = {}  # tag → label of the part whose feedback carries its message
        for p in parts:
            s = scores[p.name]
            tags = [t for t in messages if p.name in diagnosis.get(t, ())]
            if s.correct:
                text = s.note or msg("correct", lang)
            else:
                pieces = [s.note] if s.note else []
                for t in tags:
                    # Say each mistake once; later parts it explains just point back.
                    if t in first_part:
                        pieces.append(msg("same_mistake", lang, label=first_part[t]))
                    else:
                        first_part[t] = tr(p.label, lang)
                        pieces.append(messages[t])
                if not tags:
                    extra = self.hint(params, p, response.get(p.name), lang)
                    pieces += [extra] if extra else []
                text = join_sentences(pieces, lang) or msg("incorrect", lang)
            grades.append(
                PartGrade(
                    name=p.name,
                    label=tr(p.label, lang),
                    score=s.score,
                    points=s.score * p.points,
                    max_points=p.points,
                    correct=s.correct,
                    expected=expected[p.name],
                    feedback=text,
                    misconceptions=tags,
                    cells=s.cells,
                )
            )
        total = sum(p.points for p in parts)
        score = sum(g.points for g in grades) / total if total else 0.0
        if all(g.correct for g in grades):
            feedback = msg("all_correct", lang)
        else:
            feedback = "\n".join(f"- **{g.label}**: {g.feedback}" for g in grades)
        tags = [t for t in messages if t in diagnosis]
        return Grade(score=score, parts=grades, feedback=feedback, misconceptions=tags)

    def check(self, params: Params, raw: Any, lang: str = "en") -> Grade:
        """``parse`` then ``grade``; an invalid submission gives ``Grade(gradable=False)``."""
        parsed = self.parse(params, raw, lang)
        if not parsed.valid:
            lines = "\n".join(f"- **{k}**: {v}" for k, v in parsed.format_errors.items())
            return Grade(
                0.0,
                [],
                msg("invalid", lang) + "\n" + lines,
                gradable=False,
                format_errors=parsed.format_errors,
            )
        return self.grade(params, parsed.response, lang)

    def format_answer(self, params: Params, answer: Response) -> dict[str, str]:
        """``answer`` written as a person would type it into the boxes (part name → text)."""
        kinds = {p.name: p.kind for p in self.parts(params)}
        return {name: answers.format_value(kinds[name], value) for name, value in answer.items()}

    def describe(self, lang: str = "en") -> dict[str, Any]:
        """Metadata for listings: name, title, topic, misconceptions, constraint keys."""
        return {
            "name": self.name,
            "title": tr(self.title, lang),
            "topic": self.topic,
            "misconceptions": [m.to_dict() for m in self.misconceptions],
            "constraints": dict(self.constraint_keys),
        }
