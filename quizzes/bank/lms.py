"""Questions to and from other systems: Moodle XML, and QTI 1.2 in an IMS Common Cartridge (the
Canvas quiz export). Pure: no Django but gettext (``quizzes.bank.i18n``); the services
(``quizzes/services/exchange.py``) build :class:`LmsQuestion` records from the bank and store
what an import reads.

What each side can hold differs; the mapping (also in ``fixtures/bank/FORMAT.md``):

========================  =====================================  ======================================
bank                      Moodle XML                             QTI 1.2 (Canvas ``question_type``)
========================  =====================================  ======================================
single                    multichoice, single=true               multiple_choice_question
multiple                  multichoice, single=false              multiple_answers_question
truefalse                 truefalse                              true_false_question
numeric                   numerical (absolute tolerance)         numerical_question (a range)
text                      shortanswer (``*`` wildcards)          short_answer_question
essay (key points)        essay (grader information)             essay_question
param, one variant        numerical / cloze (several boxes)      numerical_question / several boxes
========================  =====================================  ======================================

Tolerances become one absolute tolerance (:func:`absolute_tolerance`: the widest of the bank's
rel/abs/significant-figure rules at the answer). Formulas leave as LaTeX in ``\\(…\\)`` and
``\\[…\\]`` (Moodle's TeX filter and MathJax typeset them) and come back as ``$…$``.
"""

from __future__ import annotations

import hashlib
import html
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any, Literal

import yaml
from lxml import etree

from quizzes.bank.format import ADMONITION_KINDS, SLUG_RE, BankError
from quizzes.bank.i18n import gettext as _
from quizzes.bank.render import render_markdown_tex

Kind = Literal["single", "multiple", "truefalse", "numeric", "text", "essay", "blanks"]
EXPORTED_TYPES: tuple[str, ...] = ("single", "multiple", "truefalse", "numeric", "text", "essay", "param")
MOODLE_IMPORTED: tuple[str, ...] = ("multichoice", "truefalse", "numerical", "shortanswer", "essay")
QTI_NS = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
CP_NS = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
LOM_NS = "http://ltsc.ieee.org/xsd/imsccv1p1/LOM/manifest"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@dataclass(frozen=True)
class Choice:
    text: str  # Markdown
    correct: bool
    feedback: str | None = None


@dataclass(frozen=True)
class Blank:
    """One answer box of a multi-part variant: a number with its absolute tolerance, or an exact text."""

    label: str
    answer: float | str
    tolerance: float = 0.0


@dataclass(frozen=True)
class LmsQuestion:
    """One question as other systems hold it; texts are the bank's Markdown with ``$…$`` LaTeX."""

    id: str
    kind: Kind
    title: str
    prompt: str
    explanation: str
    topic: str
    hint: str | None = None
    points: float = 1.0
    tags: tuple[str, ...] = ()
    lang: str = "zh-Hant"
    choices: tuple[Choice, ...] = ()
    shuffle: bool = True
    answer: bool | float | None = None  # truefalse, numeric
    tolerance: float = 0.0  # numeric: absolute
    unit: str | None = None
    misconceptions: tuple[tuple[float, str], ...] = ()  # numeric: (wrong answer, message)
    feedback_true: str | None = None
    feedback_false: str | None = None
    accept: tuple[str, ...] = ()  # text: accepted answers; "*" in one is Moodle's wildcard
    case_sensitive: bool = False
    key_points: tuple[str, ...] = ()
    max_words: int | None = None
    blanks: tuple[Blank, ...] = ()
    line: int = 0  # where an import read it
    #: The question's text in its other languages, as ``QuestionVersion.translations`` holds it (the bank's
    #: ``::: en`` block): ``{"en": {"title", "prompt", "explanation", "hint", "choices": [{"text",
    #: "feedback"}], "feedback_true", "feedback_false", "misconceptions": [message], "key_points": […]}}``.
    translations: dict[str, dict[str, Any]] = field(default_factory=dict, hash=False, compare=False)


def absolute_tolerance(answer: float, tolerance: dict[str, Any] | None) -> float:
    """The widest absolute distance from ``answer`` that the bank's tolerance accepts (any of rel, abs,
    significant figures, as ``grader.answers.numbers_match``); 0 for an exact answer."""
    tolerance = tolerance or {}
    widest = 0.0
    if tolerance.get("abs") is not None:
        widest = max(widest, float(tolerance["abs"]))
    if tolerance.get("rel") is not None:
        widest = max(widest, float(tolerance["rel"]) * abs(answer))
    if tolerance.get("sigfigs") is not None and answer != 0:
        widest = max(widest, 0.5 * 10.0 ** (math.floor(math.log10(abs(answer))) - int(tolerance["sigfigs"]) + 1))
    return widest


def number_text(value: float) -> str:
    """A number as the shortest text that reads back as the same float, in positional notation (no
    exponent, which not every importer reads; integers without ``.0``)."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(Decimal(repr(float(value))), "f")


def _html(markdown: str | None, lang: str) -> str:
    """Markdown as HTML for another system, in an element that says its language."""
    if not markdown:
        return ""
    return f'<div lang="{html.escape(lang)}">{render_markdown_tex(markdown).strip()}</div>'


#: Moodle's names of the bank's languages (its language packs: zh_tw is Traditional Chinese).
MOODLE_LANGS: dict[str, str] = {"zh-Hant": "zh_tw", "en": "en"}

Texts = list[tuple[str, str]]  # (language, Markdown), the question's own language first


def _in_langs(q: LmsQuestion, own: str | None, *path: str | int) -> Texts:
    """A text of the question in every language it has: its own, then each translation that gives it."""
    if not own:
        return []
    out: Texts = [(q.lang, own)]
    for lang, texts in q.translations.items():
        value: Any = texts
        for step in path:
            try:
                value = value[step]
            except (KeyError, IndexError, TypeError):
                value = None
                break
        if lang != q.lang and isinstance(value, str) and value.strip():
            out.append((lang, value))
    return out


def _moodle_html(texts: Texts, *, inline: bool = False) -> str:
    """One language: HTML in an element that says its language. Several: Moodle's multi-language
    content (the multilang filter shows the reader's language): one ``<span lang class="multilang">`` each."""
    def html_of(markdown: str) -> str:
        rendered = render_markdown_tex(markdown).strip()
        return rendered.removeprefix("<p>").removesuffix("</p>") if inline else rendered

    if len(texts) <= 1:
        if not texts:
            return ""
        lang, markdown = texts[0]
        return html_of(markdown) if inline else f'<div lang="{html.escape(lang)}">{html_of(markdown)}</div>'
    return "".join(f'<span lang="{MOODLE_LANGS.get(lang, lang)}" class="multilang">{html_of(markdown)}</span>'
                   for lang, markdown in texts)


def _moodle_plain(texts: Texts) -> str:
    if len(texts) <= 1:
        return texts[0][1] if texts else ""
    return "".join(f'<span lang="{MOODLE_LANGS.get(lang, lang)}" class="multilang">{html.escape(text)}</span>'
                   for lang, text in texts)


def _tag_text(tag: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", tag.lower()).strip("-")


# --------------------------------------------------------------------------- Moodle XML out


def _text(parent: etree._Element, tag: str, text: str, *, fmt: str | None = "html") -> etree._Element:
    element = etree.SubElement(parent, tag)
    if fmt:
        element.set("format", fmt)
    etree.SubElement(element, "text").text = text
    return element


def _fraction(value: float) -> str:
    return f"{value:.7g}"


def moodle_xml(questions: Sequence[LmsQuestion]) -> bytes:
    """A Moodle XML question file: one category per topic, each question's id as its ``idnumber``."""
    quiz = etree.Element("quiz")
    topic = None
    for q in questions:
        if q.topic != topic:
            topic = q.topic
            category = etree.SubElement(quiz, "question", type="category")
            _text(category, "category", f"$course$/top/{topic}", fmt=None)
        moodle_type = {"single": "multichoice", "multiple": "multichoice", "truefalse": "truefalse",
                       "numeric": "numerical", "text": "shortanswer", "essay": "essay", "blanks": "cloze"}[q.kind]
        element = etree.SubElement(quiz, "question", type=moodle_type)
        _text(element, "name", _moodle_plain(_in_langs(q, q.title, "title")), fmt=None)
        _text(element, "questiontext", _moodle_html(_in_langs(q, q.prompt, "prompt"))
              + (_cloze(q) if q.kind == "blanks" else ""))
        _text(element, "generalfeedback", _moodle_html(_in_langs(q, q.explanation, "explanation")))
        etree.SubElement(element, "defaultgrade").text = number_text(q.points)
        etree.SubElement(element, "penalty").text = "0"
        etree.SubElement(element, "hidden").text = "0"
        etree.SubElement(element, "idnumber").text = q.id
        _moodle_body(element, q)
        if q.hint:
            _text(element, "hint", _moodle_html(_in_langs(q, q.hint, "hint")))
        if q.tags:
            tags = etree.SubElement(element, "tags")
            for tag in q.tags:
                _text(tags, "tag", tag, fmt=None)
    return etree.tostring(quiz, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _moodle_answer(parent: etree._Element, fraction: float, text: Texts | str, feedback: Texts,
                   *, fmt: str = "html") -> etree._Element:
    """An answer: ``text`` in its languages (HTML), or as written (a number, true/false)."""
    answer = etree.SubElement(parent, "answer", fraction=_fraction(fraction), format=fmt)
    etree.SubElement(answer, "text").text = text if isinstance(text, str) else _moodle_html(text)
    _text(answer, "feedback", _moodle_html(feedback))
    return answer


def _moodle_body(element: etree._Element, q: LmsQuestion) -> None:
    if q.kind in ("single", "multiple"):
        etree.SubElement(element, "single").text = "true" if q.kind == "single" else "false"
        etree.SubElement(element, "shuffleanswers").text = "true" if q.shuffle else "false"
        etree.SubElement(element, "answernumbering").text = "abc"
        right = [c for c in q.choices if c.correct]
        wrong = len(q.choices) - len(right)
        for index, choice in enumerate(q.choices):
            if q.kind == "single":
                fraction = 100.0 if choice.correct else 0.0
            else:
                fraction = 100.0 / len(right) if choice.correct else -100.0 / max(wrong, 1)
            _moodle_answer(element, fraction, _in_langs(q, choice.text, "choices", index, "text"),
                           _in_langs(q, choice.feedback, "choices", index, "feedback"))
    elif q.kind == "truefalse":
        for value, feedback, key in ((True, q.feedback_true, "feedback_true"),
                                     (False, q.feedback_false, "feedback_false")):
            _moodle_answer(element, 100.0 if q.answer is value else 0.0, "true" if value else "false",
                           _in_langs(q, feedback, key), fmt="moodle_auto_format")
    elif q.kind == "numeric":
        assert isinstance(q.answer, int | float)
        answer = _moodle_answer(element, 100.0, number_text(q.answer), [], fmt="moodle_auto_format")
        etree.SubElement(answer, "tolerance").text = number_text(q.tolerance)
        for index, (wrong, message) in enumerate(q.misconceptions):
            answer = _moodle_answer(element, 0.0, number_text(wrong), _in_langs(q, message, "misconceptions", index),
                                    fmt="moodle_auto_format")
            etree.SubElement(answer, "tolerance").text = "0"
        if q.unit:
            units = etree.SubElement(element, "units")
            unit = etree.SubElement(units, "unit")
            etree.SubElement(unit, "multiplier").text = "1"
            etree.SubElement(unit, "unit_name").text = q.unit
            etree.SubElement(element, "unitgradingtype").text = "0"
            etree.SubElement(element, "showunits").text = "3"  # shown after the box, not asked for
            etree.SubElement(element, "unitsleft").text = "0"
    elif q.kind == "text":
        etree.SubElement(element, "usecase").text = "1" if q.case_sensitive else "0"
        for accepted in q.accept:
            _moodle_answer(element, 100.0, accepted, [], fmt="moodle_auto_format")
    elif q.kind == "essay":
        etree.SubElement(element, "responseformat").text = "editor"
        etree.SubElement(element, "responserequired").text = "1"
        etree.SubElement(element, "responsefieldlines").text = "15"
        etree.SubElement(element, "attachments").text = "0"
        if q.max_words:
            etree.SubElement(element, "maxwordlimit").text = str(q.max_words)
        points = "".join(f"<li>{_moodle_html(_in_langs(q, p, 'key_points', i), inline=True)}</li>"
                         for i, p in enumerate(q.key_points))
        _text(element, "graderinfo", f'<ul lang="{html.escape(q.lang)}">{points}</ul>')
        _text(element, "responsetemplate", "")


def _cloze_escape(text: str) -> str:
    # Moodle's embedded answers reserve these characters inside {…}.
    return re.sub(r"([}#~/\"\\])", r"\\\1", text)


def _cloze(q: LmsQuestion) -> str:
    items = []
    for blank in q.blanks:
        if isinstance(blank.answer, str):
            box = f"{{1:SHORTANSWER:={_cloze_escape(blank.answer)}}}"
        else:
            box = f"{{1:NUMERICAL:={number_text(blank.answer)}:{number_text(blank.tolerance)}}}"
        items.append(f"<li>{html.escape(blank.label)} {box}</li>")
    return f"<ul>{''.join(items)}</ul>"


# --------------------------------------------------------------------------- QTI 1.2 and the Common Cartridge out


def _q(tag: str) -> str:
    return f"{{{QTI_NS}}}{tag}"


def _mattext(parent: etree._Element, text: str, lang: str | None = None) -> None:
    material = etree.SubElement(parent, _q("material"))
    mattext = etree.SubElement(material, _q("mattext"), texttype="text/html")
    if lang:
        mattext.set(XML_LANG, lang)
    mattext.text = text


def _material(parent: etree._Element, texts: Texts) -> None:
    """Material in the question's language, with QTI's ``altmaterial`` (``xml:lang``) for each other one."""
    if not texts:
        return
    lang, markdown = texts[0]
    _mattext(parent, _html(markdown, lang), lang)
    material = parent[-1]
    for other, translated in texts[1:]:
        alternative = etree.SubElement(material, _q("altmaterial"))
        alternative.set(XML_LANG, other)
        mattext = etree.SubElement(alternative, _q("mattext"), texttype="text/html")
        mattext.set(XML_LANG, other)
        mattext.text = _html(translated, other)


def _meta(item: etree._Element, fields: Iterable[tuple[str, str]]) -> None:
    itemmetadata = etree.SubElement(item, _q("itemmetadata"))
    qtimetadata = etree.SubElement(itemmetadata, _q("qtimetadata"))
    for label, entry in fields:
        field_ = etree.SubElement(qtimetadata, _q("qtimetadatafield"))
        etree.SubElement(field_, _q("fieldlabel")).text = label
        etree.SubElement(field_, _q("fieldentry")).text = entry


_CANVAS_TYPES = {"single": "multiple_choice_question", "multiple": "multiple_answers_question",
                 "truefalse": "true_false_question", "numeric": "numerical_question",
                 "text": "short_answer_question", "essay": "essay_question"}
_CC_PROFILES = {"single": "cc.multiple_choice.v0p1", "multiple": "cc.multiple_response.v0p1",
                "truefalse": "cc.true_false.v0p1", "text": "cc.fib.v0p1", "essay": "cc.essay.v0p1"}


def _range_condition(parent: etree._Element, respident: str, answer: float, tolerance: float) -> None:
    either = etree.SubElement(parent, _q("or"))
    etree.SubElement(either, _q("varequal"), respident=respident).text = number_text(answer)
    both = etree.SubElement(either, _q("and"))
    etree.SubElement(both, _q("vargte"), respident=respident).text = number_text(answer - tolerance)
    etree.SubElement(both, _q("varlte"), respident=respident).text = number_text(answer + tolerance)


def _qti_item(section: etree._Element, q: LmsQuestion) -> None:
    item = etree.SubElement(section, _q("item"), ident=q.id, title=q.title)
    fields = [("points_possible", number_text(q.points))]
    if q.kind in _CANVAS_TYPES:
        fields.insert(0, ("question_type", _CANVAS_TYPES[q.kind]))
    if q.kind in _CC_PROFILES:
        fields.append(("cc_profile", _CC_PROFILES[q.kind]))
    _meta(item, fields)
    presentation = etree.SubElement(item, _q("presentation"))
    _material(presentation, _in_langs(q, q.prompt, "prompt"))
    resprocessing = etree.Element(_q("resprocessing"))
    outcomes = etree.SubElement(resprocessing, _q("outcomes"))
    etree.SubElement(outcomes, _q("decvar"), maxvalue="100", minvalue="0", varname="SCORE", vartype="Decimal")

    def condition(score: str, action: str = "Set") -> etree._Element:
        respcondition = etree.SubElement(resprocessing, _q("respcondition"), {"continue": "No"})
        conditionvar = etree.SubElement(respcondition, _q("conditionvar"))
        etree.SubElement(respcondition, _q("setvar"), action=action, varname="SCORE").text = score
        return conditionvar

    if q.kind in ("single", "multiple", "truefalse"):
        choices = (q.choices if q.kind != "truefalse" else
                   (Choice("True", q.answer is True), Choice("False", q.answer is False)))
        lid = etree.SubElement(presentation, _q("response_lid"), ident="response1",
                               rcardinality="Multiple" if q.kind == "multiple" else "Single")
        render = etree.SubElement(lid, _q("render_choice"), shuffle="Yes" if q.shuffle and q.kind != "truefalse"
                                  else "No")
        for index, choice in enumerate(choices, 1):
            label = etree.SubElement(render, _q("response_label"), ident=f"choice{index}")
            if q.kind == "truefalse":
                _mattext(label, choice.text)
            else:
                _material(label, _in_langs(q, choice.text, "choices", index - 1, "text"))
        conditionvar = condition("100")
        if q.kind == "multiple":
            both = etree.SubElement(conditionvar, _q("and"))
            for index, choice in enumerate(choices, 1):
                target = both if choice.correct else etree.SubElement(both, _q("not"))
                etree.SubElement(target, _q("varequal"), respident="response1").text = f"choice{index}"
        else:
            right = next(i for i, c in enumerate(choices, 1) if c.correct)
            etree.SubElement(conditionvar, _q("varequal"), respident="response1").text = f"choice{right}"
    elif q.kind in ("numeric", "text", "essay"):
        response = etree.SubElement(presentation, _q("response_str"), ident="response1", rcardinality="Single")
        fibtype = {"numeric": "Decimal", "text": "String", "essay": "String"}[q.kind]
        render = etree.SubElement(response, _q("render_fib"), fibtype=fibtype,
                                  **({"rows": "15", "columns": "80"} if q.kind == "essay" else {}))
        etree.SubElement(render, _q("response_label"), ident="answer1", rshuffle="No")
        if q.kind == "numeric":
            assert isinstance(q.answer, int | float)
            _range_condition(condition("100"), "response1", q.answer, q.tolerance)
        elif q.kind == "essay":
            # QTI 1.2 needs a condition in every resprocessing: an essay's is "any answer", scored by hand.
            etree.SubElement(condition("0"), _q("other"))
        elif q.kind == "text":
            conditionvar = condition("100")
            either = etree.SubElement(conditionvar, _q("or")) if len(q.accept) > 1 else conditionvar
            for accepted in q.accept:
                etree.SubElement(either, _q("varequal"), respident="response1",
                                 case="Yes" if q.case_sensitive else "No").text = accepted
    else:  # blanks: one box per part, each worth its share
        share = number_text(100 / len(q.blanks))
        for index, blank in enumerate(q.blanks, 1):
            _mattext(presentation, html.escape(blank.label))
            response = etree.SubElement(presentation, _q("response_str"), ident=f"response{index}",
                                        rcardinality="Single")
            render = etree.SubElement(response, _q("render_fib"),
                                      fibtype="String" if isinstance(blank.answer, str) else "Decimal")
            etree.SubElement(render, _q("response_label"), ident=f"answer{index}", rshuffle="No")
            conditionvar = condition(share, "Add")
            if isinstance(blank.answer, str):
                etree.SubElement(conditionvar, _q("varequal"), respident=f"response{index}").text = blank.answer
            else:
                _range_condition(conditionvar, f"response{index}", blank.answer, blank.tolerance)
    item.append(resprocessing)
    if q.explanation:
        feedback = etree.SubElement(item, _q("itemfeedback"), ident="general_fb")
        flow = etree.SubElement(feedback, _q("flow_mat"))
        _material(flow, _in_langs(q, q.explanation, "explanation"))


def qti_assessment(questions: Sequence[LmsQuestion], *, ident: str, title: str) -> bytes:
    """A QTI 1.2 ``questestinterop`` holding one assessment with one section of ``questions``."""
    root = etree.Element(_q("questestinterop"), nsmap={None: QTI_NS, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{QTI_NS} http://www.imsglobal.org/xsd/ims_qtiasiv1p2p1.xsd")
    assessment = etree.SubElement(root, _q("assessment"), ident=ident, title=title)
    metadata = etree.SubElement(assessment, _q("qtimetadata"))
    field_ = etree.SubElement(metadata, _q("qtimetadatafield"))
    etree.SubElement(field_, _q("fieldlabel")).text = "cc_maxattempts"
    etree.SubElement(field_, _q("fieldentry")).text = "1"
    section = etree.SubElement(assessment, _q("section"), ident="root_section")
    for q in questions:
        _qti_item(section, q)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def common_cartridge(questions: Sequence[LmsQuestion], *, title: str) -> bytes:
    """An IMS Common Cartridge 1.1 (zip) with the questions as one QTI 1.2 assessment, as Canvas exports
    a quiz: ``imsmanifest.xml`` and ``<ident>/assessment_qti.xml``."""
    ident = "i" + hashlib.sha1("\n".join(q.id for q in questions).encode()).hexdigest()[:16]
    manifest = etree.Element(f"{{{CP_NS}}}manifest", identifier=f"{ident}_manifest",
                             nsmap={None: CP_NS, "lomimscc": LOM_NS, "xsi": XSI_NS})
    metadata = etree.SubElement(manifest, f"{{{CP_NS}}}metadata")
    etree.SubElement(metadata, f"{{{CP_NS}}}schema").text = "IMS Common Cartridge"
    etree.SubElement(metadata, f"{{{CP_NS}}}schemaversion").text = "1.1.0"
    lom = etree.SubElement(metadata, f"{{{LOM_NS}}}lom")
    general = etree.SubElement(lom, f"{{{LOM_NS}}}general")
    title_element = etree.SubElement(general, f"{{{LOM_NS}}}title")
    etree.SubElement(title_element, f"{{{LOM_NS}}}string").text = title
    etree.SubElement(manifest, f"{{{CP_NS}}}organizations")
    resources = etree.SubElement(manifest, f"{{{CP_NS}}}resources")
    resource = etree.SubElement(resources, f"{{{CP_NS}}}resource", identifier=ident,
                                type="imsqti_xmlv1p2/imscc_xmlv1p1/assessment")
    etree.SubElement(resource, f"{{{CP_NS}}}file", href=f"{ident}/assessment_qti.xml")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("imsmanifest.xml", etree.tostring(manifest, xml_declaration=True, encoding="UTF-8",
                                                           pretty_print=True))
        archive.writestr(f"{ident}/assessment_qti.xml", qti_assessment(questions, ident=ident, title=title))
    return buffer.getvalue()


# --------------------------------------------------------------------------- Moodle XML in


_MATH_RE = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]|\$\$(.+?)\$\$", re.DOTALL)


@cache
def _converter() -> Any:
    from markdownify import MarkdownConverter

    class BankConverter(MarkdownConverter):  # type: ignore[misc]
        """markdownify, plus the bank's HackMD containers (``<div class="admonition info">`` → ``:::info``)."""

        def convert_div(self, el: Any, text: str, parent_tags: Any) -> str:
            classes = el.get("class") or []
            kind = next((c for c in classes if c in ADMONITION_KINDS), None)
            if "admonition" not in classes or kind is None:
                return f"\n\n{text.strip()}\n\n" if text.strip() else ""
            title = el.find("p", class_="admonition-title", recursive=False)
            heading = f" {title.get_text().strip()}" if title is not None else ""
            return f"\n\n:::{kind}{heading}\n{text.strip()}\n:::\n\n"

        def convert_p(self, el: Any, text: str, parent_tags: Any) -> str:
            if "admonition-title" in (el.get("class") or []):
                return ""
            return super().convert_p(el, text, parent_tags)

    return BankConverter(heading_style="ATX", bullets="-", strip=["span"])


def html_to_markdown(text: str) -> str:
    """Moodle's HTML as the bank's Markdown: formulas (``\\(…\\)``, ``\\[…\\]``, ``$$…$$``) become ``$…$`` /
    ``$$…$$``, a literal ``$`` is escaped, the rest is converted by markdownify."""
    formulas: list[str] = []

    def keep(match: re.Match[str]) -> str:
        inline, display, tex = match.group(1), match.group(2), match.group(3)
        latex = html.unescape(inline if inline is not None else display if display is not None else tex).strip()
        formulas.append(f"${latex}$" if inline is not None else f"$${latex}$$")
        return f"MATHFORMULA{len(formulas) - 1}END"

    protected = _MATH_RE.sub(keep, text)
    markdown = _converter().convert(protected).strip()
    markdown = re.sub(r"(?<!\\)\$", r"\\$", markdown)
    markdown = re.sub(r"\n{3,}", "\n\n", markdown)
    return re.sub(r"MATHFORMULA(\d+)END", lambda m: formulas[int(m.group(1))], markdown)


def _child_text(element: etree._Element, path: str) -> str:
    found = element.find(path)
    return (found.text or "") if found is not None else ""


_MULTILANG_RE = re.compile(r'<span[^>]*\blang="([A-Za-z_-]+)"[^>]*class="multilang"[^>]*>(.*?)</span>'
                           r'|<span[^>]*class="multilang"[^>]*\blang="([A-Za-z_-]+)"[^>]*>(.*?)</span>', re.DOTALL)


def _one_language(raw: str, lang: str) -> str:
    """Of Moodle multi-language content, the part in ``lang`` (else the first): the bank keeps one
    language per text here (the others would go into a translation block)."""
    parts = [(m.group(1) or m.group(3), m.group(2) if m.group(1) else m.group(4)) for m in _MULTILANG_RE.finditer(raw)]
    if not parts:
        return raw
    wanted = MOODLE_LANGS.get(lang, lang)
    return next((body for code, body in parts if code == wanted), parts[0][1])


_BANK_LANGS = {code: lang for lang, code in MOODLE_LANGS.items()}


def _other_languages(raw: str, lang: str) -> dict[str, str]:
    """Of Moodle multi-language content, the parts in the bank's languages other than ``lang`` (HTML)."""
    out: dict[str, str] = {}
    for m in _MULTILANG_RE.finditer(raw):
        code, body = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        other = _BANK_LANGS.get(code)
        if other is not None and other != lang:
            out.setdefault(other, body)
    return out


def _translations_of(element: etree._Element, lang: str) -> dict[str, dict[str, Any]]:
    """The question's texts in its other languages, as the bank's translation blocks hold them."""
    out: dict[str, dict[str, Any]] = {}

    def put(other: str, key: str, value: Any) -> None:
        out.setdefault(other, {})[key] = value

    def texts(found: etree._Element | None, *, plain: bool = False) -> dict[str, str]:
        if found is None:
            return {}
        raw = _child_text(found, "text")
        return {other: (html.unescape(re.sub(r"<[^>]+>", "", body)).strip() if plain else html_to_markdown(body))
                for other, body in _other_languages(raw, lang).items()}

    for other, value in texts(element.find("name"), plain=True).items():
        put(other, "title", value)
    for key, tag in (("prompt", "questiontext"), ("explanation", "generalfeedback"), ("hint", "hint")):
        for other, value in texts(element.find(tag)).items():
            put(other, key, value)
    answers = element.findall("answer")
    qtype = element.get("type")
    if qtype == "multichoice":
        for index, answer in enumerate(answers):
            for other, value in texts(answer).items():
                choices = out.setdefault(other, {}).setdefault("choices", [{} for _a in answers])
                choices[index]["text"] = value
            for other, value in texts(answer.find("feedback")).items():
                choices = out.setdefault(other, {}).setdefault("choices", [{} for _a in answers])
                choices[index]["feedback"] = value
    elif qtype == "truefalse":
        for answer in answers:
            key = f"feedback_{_child_text(answer, 'text').strip().lower()}"
            for other, value in texts(answer.find("feedback")).items():
                put(other, key, value)
    elif qtype == "numerical":
        for answer in answers:
            if (_number(answer.get("fraction", "0")) or 0.0) > 0:
                continue  # only wrong answers with feedback are the bank's misconceptions
            for other, value in texts(answer.find("feedback")).items():
                out.setdefault(other, {}).setdefault("misconceptions", []).append(value)
    elif qtype == "essay":
        graderinfo = element.find("graderinfo")
        raw = _child_text(graderinfo, "text") if graderinfo is not None else ""
        for item in re.findall(r"<li[^>]*>(.*?)</li>", raw, re.DOTALL):
            for other, body in _other_languages(item, lang).items():
                out.setdefault(other, {}).setdefault("key_points", []).append(html_to_markdown(body))
    return out


def _rich(element: etree._Element | None, lang: str = "zh-Hant") -> str:
    """A Moodle text field (``<x format=…><text>…</text></x>``) as Markdown."""
    if element is None:
        return ""
    raw = _one_language(_child_text(element, "text"), lang)
    fmt = element.get("format", "html")
    if fmt == "markdown":
        return raw.strip()
    if fmt in ("plain_text", "moodle_auto_format") and "<" not in raw:
        return re.sub(r"(?<!\\)\$", r"\\$", raw.strip()) if fmt == "plain_text" else raw.strip()
    return html_to_markdown(raw)


def _lang_of(element: etree._Element | None, default: str) -> str:
    match = re.search(r'<div lang="([A-Za-z-]+)">', _child_text(element, "text")) if element is not None else None
    return match.group(1) if match else default


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80]


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def moodle_read(data: bytes, *, name: str, topics: Iterable[str], default_topic: str,
                default_lang: str = "zh-Hant") -> tuple[list[LmsQuestion], list[BankError]]:
    """The questions of a Moodle XML file, and every problem as ``name:line: message`` (a question with
    a problem is left out; callers write nothing when there is any). A category whose last part is a
    topic slug puts the questions after it in that topic; the others go to ``default_topic``."""
    errors: list[BankError] = []
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or 1
        return [], [BankError(name, line, _("not well-formed XML: %(error)s") % {"error": exc.msg})]
    if root.tag != "quiz":
        return [], [BankError(name, root.sourceline or 1, _("a Moodle XML file starts with <quiz>, not <%(tag)s>")
                              % {"tag": root.tag})]
    known = set(topics)
    topic = default_topic
    questions: list[LmsQuestion] = []
    for element in root.iter("question"):
        line = element.sourceline or 1
        qtype = element.get("type", "")
        if qtype == "category":
            last = _child_text(element, "category/text").rstrip("/").rsplit("/", 1)[-1].strip()
            topic = last if last in known else default_topic
            continue
        problems: list[str] = []
        question = _moodle_question(element, qtype, topic, default_lang, problems)
        if problems:
            errors.extend(BankError(name, line, problem) for problem in problems)
        elif question is not None:
            questions.append(question)
    seen: dict[str, int] = {}
    for question in questions:
        if question.id in seen:
            errors.append(BankError(name, question.line, _("id %(id)s is used twice (first at line %(line)d)")
                                    % {"id": repr(question.id), "line": seen[question.id]}))
        seen.setdefault(question.id, question.line)
    return questions, errors


def _moodle_question(element: etree._Element, qtype: str, topic: str, default_lang: str,
                     problems: list[str]) -> LmsQuestion | None:
    if qtype not in MOODLE_IMPORTED:
        problems.append(_("question type %(type)s cannot be imported (the bank takes %(types)s)")
                        % {"type": repr(qtype), "types": ", ".join(MOODLE_IMPORTED)})
        return None
    def rich(field_element: etree._Element | None) -> str:
        return _rich(field_element, default_lang)

    title = html.unescape(re.sub(r"<[^>]+>", "", _one_language(_child_text(element, "name/text"), default_lang)))
    title = title.strip()
    idnumber = _child_text(element, "idnumber").strip()
    bank_id = idnumber if SLUG_RE.match(idnumber or "-") and idnumber else _slug(title)
    if not bank_id:
        bank_id = "moodle-" + hashlib.sha1(title.encode()).hexdigest()[:10]
    questiontext = element.find("questiontext")
    lang = _lang_of(questiontext, default_lang)
    explanation = rich(element.find("generalfeedback"))
    if not title:
        problems.append(_("the question has no <name>"))
    if not explanation:
        problems.append(_("%(id)s has no general feedback: the bank needs an explanation for every question")
                        % {"id": bank_id})
    grade = _number(_child_text(element, "defaultgrade") or "1")
    common: dict[str, Any] = {
        "id": bank_id, "title": title, "prompt": rich(questiontext), "explanation": explanation, "topic": topic,
        "hint": rich(element.find("hint")) or None, "points": grade if grade and grade > 0 else 1.0,
        "tags": tuple(t for t in (_tag_text(x.text or "") for x in element.findall("tags/tag/text")) if t),
        "lang": lang, "line": element.sourceline or 1, "translations": _translations_of(element, lang),
    }
    answers = [(a, _number(a.get("fraction", "0")) or 0.0) for a in element.findall("answer")]
    if qtype == "multichoice":
        single = _child_text(element, "single").strip().lower() in ("true", "1")
        choices = tuple(Choice(rich(a), fraction > 0, rich(a.find("feedback")) or None) for a, fraction in answers)
        return LmsQuestion(kind="single" if single else "multiple", choices=choices,
                           shuffle=_child_text(element, "shuffleanswers").strip().lower() not in ("false", "0"),
                           **common)
    if qtype == "truefalse":
        right = [a for a, fraction in answers if fraction >= 100]
        if len(right) != 1 or _child_text(right[0], "text").strip().lower() not in ("true", "false"):
            problems.append(_("a true/false question needs one right answer, true or false"))
            return None
        by_value = {_child_text(a, "text").strip().lower(): rich(a.find("feedback")) or None for a, _f in answers}
        return LmsQuestion(kind="truefalse", answer=_child_text(right[0], "text").strip().lower() == "true",
                           feedback_true=by_value.get("true"), feedback_false=by_value.get("false"), **common)
    if qtype == "numerical":
        right = [(a, _number(_child_text(a, "text"))) for a, fraction in answers if fraction >= 100]
        if len(right) != 1 or right[0][1] is None:
            problems.append(_("a numerical question needs exactly one right answer (a number) at 100%"))
            return None
        answer_element, answer = right[0]
        misconceptions = tuple((value, rich(a.find("feedback"))) for a, fraction in answers if fraction <= 0
                               for value in [_number(_child_text(a, "text"))]
                               if value is not None and value != answer and rich(a.find("feedback")))
        unit = next((u.text for u in element.findall("units/unit/unit_name") if u.text), None)
        return LmsQuestion(kind="numeric", answer=answer,
                           tolerance=abs(_number(_child_text(answer_element, "tolerance") or "0") or 0.0),
                           misconceptions=misconceptions, unit=unit, **common)
    if qtype == "shortanswer":
        if any(0 < fraction < 100 for _a, fraction in answers):
            problems.append(_("answers with partial credit cannot be imported: the bank accepts an answer or not"))
            return None
        accept = tuple(_child_text(a, "text").strip() for a, fraction in answers if fraction >= 100)
        if not accept:
            problems.append(_("a short-answer question needs at least one answer at 100%"))
            return None
        return LmsQuestion(kind="text", accept=accept, case_sensitive=_child_text(element, "usecase").strip() == "1",
                           **common)
    graderinfo = element.find("graderinfo")
    raw = _child_text(graderinfo, "text") if graderinfo is not None else ""
    items = re.findall(r"<li[^>]*>(.*?)</li>", raw, re.DOTALL) or re.findall(r"<p[^>]*>(.*?)</p>", raw, re.DOTALL)
    key_points = tuple(p for p in (html_to_markdown(_one_language(i, default_lang)) for i in items) if p) or (
        (html_to_markdown(raw),) if raw.strip() else ())
    if not key_points:
        problems.append(_("an essay needs grader information: it becomes the bank's key points"))
        return None
    words = _number(_child_text(element, "maxwordlimit") or "0")
    return LmsQuestion(kind="essay", key_points=key_points, max_words=int(words) if words else None, **common)


# --------------------------------------------------------------------------- bank files


class _BankDumper(yaml.SafeDumper):
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # Multi-line text as a block scalar; the rest plain or single-quoted, never double-quoted (the bank
    # rejects backslashes in double quotes, and LaTeX has many).
    style = "|" if "\n" in value else None
    node = dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)
    if node.style == '"':
        node.style = "'" if "\n" not in value else "|"
    return node


_BankDumper.add_representer(str, _represent_str)


def bank_text(q: LmsQuestion) -> str:
    """The question as a bank file (``fixtures/bank/FORMAT.md``)."""
    front: dict[str, Any] = {"id": q.id, "type": q.kind, "topic": q.topic, "title": q.title}
    if q.points != 1:
        front["points"] = int(q.points) if float(q.points).is_integer() else q.points
    if q.tags:
        front["tags"] = list(q.tags)
    if q.lang != "zh-Hant":
        front["lang"] = q.lang
    if q.kind in ("single", "multiple"):
        front["choices"] = [{"text": c.text, **({"correct": True} if c.correct else {}),
                             **({"feedback": c.feedback} if c.feedback else {})} for c in q.choices]
        if not q.shuffle:
            front["shuffle"] = False
    elif q.kind == "truefalse":
        front["answer"] = bool(q.answer)
        if q.feedback_true:
            front["feedback_true"] = q.feedback_true
        if q.feedback_false:
            front["feedback_false"] = q.feedback_false
    elif q.kind == "numeric":
        front["answer"] = q.answer
        front["tolerance"] = {"abs": q.tolerance} if q.tolerance else {"rel": 0}
        if q.unit:
            front["unit"] = q.unit
        if q.misconceptions:
            front["misconceptions"] = [{"answer": value, "message": message} for value, message in q.misconceptions]
    elif q.kind == "text":
        wildcard = any("*" in a for a in q.accept)
        front["accept"] = [("^" + ".*".join(re.escape(part) for part in a.split("*")) + "$") if wildcard else a
                           for a in q.accept]
        if q.case_sensitive:
            front["case_sensitive"] = True
        if wildcard:
            front["regex"] = True
    elif q.kind == "essay":
        front["key_points"] = list(q.key_points)
        if q.max_words:
            front["max_words"] = q.max_words
    body = [q.prompt.strip(), "", "::: explanation", q.explanation.strip(), ":::"]
    if q.hint:
        body += ["", "::: hint", q.hint.strip(), ":::"]
    for lang, block in translation_blocks(q).items():
        block_text = yaml.dump(block, Dumper=_BankDumper, allow_unicode=True, sort_keys=False, width=100)
        body += ["", f"::: {lang}", block_text.rstrip("\n"), ":::"]
    front_text = yaml.dump(front, Dumper=_BankDumper, allow_unicode=True, sort_keys=False, width=100)
    return "---\n" + front_text + "---\n" + "\n".join(body) + "\n"


def translation_blocks(q: LmsQuestion) -> dict[str, dict[str, Any]]:
    """The question's translations as the bank's per-language blocks (``::: en``: FORMAT.md, "Both
    languages"), for the languages the bank's format has a block for (``format.SECTION_NAMES``)."""
    from quizzes.bank.format import SECTION_NAMES

    blocks: dict[str, dict[str, Any]] = {}
    for lang, texts in q.translations.items():
        if lang == q.lang or lang not in SECTION_NAMES:
            continue
        block: dict[str, Any] = {key: texts[key] for key in ("title", "prompt") if texts.get(key)}
        if q.kind in ("single", "multiple") and texts.get("choices"):
            block["choices"] = [{key: c[key] for key in ("text", "feedback") if c.get(key)} for c in texts["choices"]]
        for key in ("feedback_true", "feedback_false", "unit", "misconceptions", "key_points"):
            if texts.get(key):
                block[key] = texts[key]
        for key in ("explanation", "hint"):
            if texts.get(key):
                block[key] = texts[key]
        if _complete(q, block):
            blocks[lang] = block
    return blocks


def _complete(q: LmsQuestion, block: dict[str, Any]) -> bool:
    """Whether a translation gives every text the question has (the bank's block must: a file that gives
    a language only in part, e.g. a past exam's English summary instead of its prompt, keeps its own)."""
    needed = {"title": q.title, "explanation": q.explanation, "prompt": q.prompt, "hint": q.hint,
              "feedback_true": q.feedback_true, "feedback_false": q.feedback_false}
    if any(text and not block.get(key) for key, text in needed.items()):
        return False
    if q.kind in ("single", "multiple"):
        choices = block.get("choices") or []
        if len(choices) != len(q.choices) or any(not c.get("text") or bool(c.get("feedback")) != bool(o.feedback)
                                                 for c, o in zip(choices, q.choices, strict=True)):
            return False
    if q.kind == "numeric" and len(block.get("misconceptions") or []) != len(q.misconceptions):
        return False
    return q.kind != "essay" or len(block.get("key_points") or []) == len(q.key_points)


def lms_question_from_source(source: Any, *, blanks: Sequence[Blank] = (), **overrides: Any) -> LmsQuestion:
    """An :class:`LmsQuestion` from a parsed question (``QuestionSource`` or a ``QuestionVersion`` with
    ``bank_id``/``topic`` overrides). Types outside :data:`EXPORTED_TYPES` raise ``ValueError``."""
    spec = source.spec or {}
    qtype = overrides.pop("kind", None) or source.type
    common: dict[str, Any] = {
        "id": overrides.pop("id", getattr(source, "id", "")), "title": source.title, "prompt": source.prompt,
        "explanation": source.explanation, "hint": source.hint or None, "points": float(source.points),
        "tags": tuple(source.tags or ()), "lang": source.lang, "topic": overrides.pop("topic", ""),
        # QuestionVersion.translations / QuestionSource.translations come with the English bank (issue 17 item 5).
        "translations": dict(getattr(source, "translations", None) or {})}
    common.update(overrides)
    if qtype in ("single", "multiple"):
        return LmsQuestion(kind=qtype, choices=tuple(Choice(c["text"], bool(c["correct"]), c.get("feedback"))
                                                     for c in spec["choices"]),
                           shuffle=bool(spec.get("shuffle", True)), **common)
    if qtype == "truefalse":
        return LmsQuestion(kind="truefalse", answer=bool(spec["answer"]), feedback_true=spec.get("feedback_true"),
                           feedback_false=spec.get("feedback_false"), **common)
    if qtype == "numeric":
        answer = float(spec["answer"])
        return LmsQuestion(kind="numeric", answer=answer, tolerance=absolute_tolerance(answer, spec.get("tolerance")),
                           unit=spec.get("unit"), misconceptions=tuple(
                               (float(m["answer"]), m["message"]) for m in spec.get("misconceptions") or ()), **common)
    if qtype == "text":
        if spec.get("regex"):
            raise ValueError("regex answers have no equivalent in Moodle or QTI")
        return LmsQuestion(kind="text", accept=tuple(spec["accept"]), case_sensitive=bool(spec.get("case_sensitive")),
                           **common)
    if qtype == "essay":
        return LmsQuestion(kind="essay", key_points=tuple(spec["key_points"]), max_words=spec.get("max_words"),
                           **common)
    if qtype == "blanks":
        return LmsQuestion(kind="blanks", blanks=tuple(blanks), **common)
    raise ValueError(f"type {qtype!r} is not exported")


@dataclass(frozen=True)
class Skipped:
    bank_id: str
    reason: str


@dataclass
class ExportSet:
    questions: list[LmsQuestion] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
