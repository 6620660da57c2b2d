"""Moodle XML and QTI 1.2 / IMS Common Cartridge (issue 17 item 6): every export is parsed by XML Schemas
written from the formats' specifications (``lms_schemas.py``, validated by the xmlschema package), the
Moodle XML import reports file:line errors and writes nothing on error, and Moodle XML → bank →
Moodle XML keeps every question."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from lxml import etree

from accounts.models import Role
from accounts.tests.factories import PASSWORD, make_course, make_member, make_user
from quizzes.bank.format import BankValidationError
from quizzes.bank.lms import (
    QTI_NS,
    Choice,
    LmsQuestion,
    absolute_tolerance,
    bank_text,
    common_cartridge,
    html_to_markdown,
    moodle_read,
    moodle_xml,
)
from quizzes.models import Question, QuestionVersion, Topic
from quizzes.services.bank import bank_read, bank_sync
from quizzes.services.exchange import bank_export, bank_import_moodle, lms_export_set
from quizzes.tests.lms_schemas import cc_manifest_schema, moodle_schema, qti_schema

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
QTI = {"q": QTI_NS}
XML_NS = "http://www.w3.org/XML/1998/namespace"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def bank(db: None) -> None:
    contents, errors = bank_read(fixtures_dir=FIXTURES)
    assert errors == []
    bank_sync(contents=contents, source_root=FIXTURES.parent)


def live_questions() -> Any:
    return Question.objects.filter(retired=False).select_related("current_version", "topic")


def assert_valid(schema: Any, data: bytes) -> None:
    errors = [str(e).split("\n")[0] + " at " + str(e.path) for e in schema.iter_errors(data.decode("utf-8"))]
    assert errors == []


def cartridge_files(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


# --------------------------------------------------------------------------- the schemas can fail


def test_the_schemas_reject_what_the_formats_forbid() -> None:
    good = b"""<quiz><question type="multichoice"><name><text>n</text></name>
      <questiontext format="html"><text>q</text></questiontext><single>true</single>
      <answer fraction="100"><text>a</text></answer><answer fraction="0"><text>b</text></answer></question></quiz>"""
    assert moodle_schema().is_valid(good.decode())
    assert not moodle_schema().is_valid(good.decode().replace('fraction="0"', 'fraction="100"'))  # two right
    assert not moodle_schema().is_valid(good.decode().replace('<single>true</single>', '<single>false</single>')
                                        .replace('fraction="100"', 'fraction="50"'))  # fractions sum to 50 %
    assert not moodle_schema().is_valid(good.decode().replace("multichoice", "matching"))
    numerical = (b'<quiz><question type="numerical"><name><text>n</text></name><questiontext format="html">'
                 b'<text>q</text></questiontext><answer fraction="100"><text>four</text><tolerance>0</tolerance>'
                 b'</answer></question></quiz>')
    assert not moodle_schema().is_valid(numerical.decode())
    qti = (f'<questestinterop xmlns="{QTI_NS}"><item ident="i"><resprocessing><outcomes><decvar/></outcomes>'
           '</resprocessing></item></questestinterop>')
    assert not qti_schema().is_valid(qti)  # a resprocessing needs a condition
    assert qti_schema().is_valid(qti.replace("</outcomes>", "</outcomes><respcondition><conditionvar><other/>"
                                             "</conditionvar></respcondition>"))


# --------------------------------------------------------------------------- exports


@pytest.mark.django_db
def test_moodle_export_of_the_whole_bank_is_valid_and_keeps_answers(bank: None) -> None:
    export = bank_export(questions=live_questions(), variants=3, fmt="moodle")
    assert_valid(moodle_schema(), export.content)
    root = etree.fromstring(export.content)
    questions = {q.findtext("idnumber"): q for q in root.iter("question") if q.get("type") != "category"}
    skipped = {s.bank_id for s in export.skipped}
    # Every question of an exported type is there; parameterized ones as 3 variants each.
    for question in live_questions():
        if question.bank_id in skipped:
            assert question.type in ("matrix", "symbolic", "param", "text"), question.bank_id
        elif question.type == "param":
            assert {f"{question.bank_id}-v{n}" for n in (1, 2, 3)} <= questions.keys()
        else:
            assert question.bank_id in questions, question.bank_id
    counts = {t: sum(1 for q in questions.values() if q.get("type") == t)
              for t in ("multichoice", "truefalse", "numerical", "shortanswer", "essay", "cloze")}
    assert all(counts.values()), counts
    # A numeric answer and its tolerance: the bank's widest accepted distance.
    version = Question.objects.filter(type="numeric").order_by("bank_id").first().current_version
    answer = questions[version.question.bank_id].find("answer")
    assert float(answer.findtext("text")) == version.spec["answer"]
    assert float(answer.findtext("tolerance")) == pytest.approx(
        absolute_tolerance(version.spec["answer"], version.spec["tolerance"]))
    # Formulas leave as LaTeX for the TeX filter, never as the site's MathML.
    assert b"<math" not in export.content and "\\(" in export.content.decode()


@pytest.mark.django_db
def test_parameterized_variants_are_generated_by_their_family_and_agree_with_it(bank: None) -> None:
    from grader.problems import get_family

    question = Question.objects.get(bank_id="param-conv-by-hand-01")
    export = lms_export_set(questions=[question], variants=4)
    assert [q.id for q in export.questions] == [f"param-conv-by-hand-01-v{n}" for n in range(1, 5)]
    family = get_family(question.current_version.spec["family"])
    params = family.generate(2, question.current_version.spec.get("constraints") or None)
    answers = family.solve(params)
    second = export.questions[1]
    expected = [*answers["shape"], *(v for row in answers["output"] for v in row)]
    assert [b.answer for b in second.blanks] == [float(v) for v in expected]
    assert family.render(params, second.lang).strip()[:40] in second.prompt
    assert len({q.prompt for q in export.questions}) > 1  # variants differ
    # With English text (the bank's ::: en block), each variant is also stated and explained in English.
    question.current_version.translations = {"en": {"title": "Convolution by hand", "prompt": "",
                                                    "explanation": "Slide the kernel."}}
    english = lms_export_set(questions=[question], variants=2).questions[1].translations["en"]
    assert english["title"] == "Convolution by hand (2)"
    assert family.render(params, "en").strip() in english["prompt"]
    assert english["explanation"].startswith("Slide the kernel.") and family.explain(params, "en").strip()[:30] in (
        english["explanation"])


@pytest.mark.django_db
def test_common_cartridge_export_is_a_valid_package_of_valid_qti(bank: None) -> None:
    export = bank_export(questions=live_questions(), variants=2, fmt="qti")
    files = cartridge_files(export.content)
    assert_valid(cc_manifest_schema(), files["imsmanifest.xml"])
    manifest = etree.fromstring(files["imsmanifest.xml"])
    hrefs = [f.get("href") for f in manifest.iter("{*}file")]
    assert hrefs and all(href in files for href in hrefs)
    qti = files[hrefs[0]]
    assert_valid(qti_schema(), qti)
    root = etree.fromstring(qti)
    items = root.findall(".//q:item", QTI)
    assert len(items) == export.exported
    types = {field.findtext("q:fieldentry", namespaces=QTI) for field in root.iterfind(".//q:qtimetadatafield", QTI)
             if field.findtext("q:fieldlabel", namespaces=QTI) == "question_type"}
    assert {"multiple_choice_question", "multiple_answers_question", "true_false_question", "numerical_question",
            "short_answer_question", "essay_question"} <= types
    # A numeric item accepts exactly its tolerance's range.
    version = Question.objects.filter(type="numeric").order_by("bank_id").first().current_version
    item = root.find(f".//q:item[@ident='{version.question.bank_id}']", QTI)
    low = float(item.findtext(".//q:vargte", namespaces=QTI))
    high = float(item.findtext(".//q:varlte", namespaces=QTI))
    width = absolute_tolerance(version.spec["answer"], version.spec["tolerance"])
    assert (low, high) == pytest.approx((version.spec["answer"] - width, version.spec["answer"] + width))


@pytest.mark.django_db
def test_a_filtered_export_from_the_instructor_page(bank: None) -> None:
    course = make_course("dlcv")
    client = Client()
    assert client.login(username=make_member(course, Role.INSTRUCTOR).username, password=PASSWORD)
    page = reverse("instructor-bank-exchange", args=[course.slug])
    html = client.get(page).content.decode()
    matrix = Question.objects.filter(type="matrix", retired=False).order_by("bank_id").first()
    assert "param-symbolic-01</code></a>: its family asks for a formula" in html and matrix.bank_id in html
    response = client.get(page, {"export": "moodle", "topic": "activations", "variants": 2})
    assert response["Content-Disposition"] == 'attachment; filename="dlcv-bank-moodle.xml"'
    assert_valid(moodle_schema(), response.content)
    ids = {q.findtext("idnumber") for q in etree.fromstring(response.content).iter("question")} - {None}
    activations = Question.objects.filter(topic__slug="activations", retired=False).select_related("current_version")
    expected = {q.id for q in lms_export_set(questions=activations.exclude(type="param"), variants=1).questions}
    assert len(expected) >= 5
    assert ids == expected
    response = client.get(page, {"export": "qti", "type": "truefalse"})
    files = cartridge_files(response.content)
    qti = next(data for name, data in files.items() if name.endswith(".xml") and name != "imsmanifest.xml")
    assert_valid(qti_schema(), qti)
    assert len(etree.fromstring(qti).findall(".//q:item", QTI)) == Question.objects.filter(
        type="truefalse", retired=False).count()
    assert client.get(page, {"export": "moodle", "variants": 0}).status_code == 400
    student = Client()
    assert student.login(username=make_member(course).username, password=PASSWORD)
    assert student.get(page, {"export": "moodle"}).status_code == 403


# --------------------------------------------------------------------------- import


MOODLE_SAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="category"><category><text>$course$/top/Imported/activations</text></category></question>
  <question type="multichoice">
    <name><text>ReLU derivative</text></name>
    <questiontext format="html"><text><![CDATA[<p>What is \\(\\frac{d}{dx}\\mathrm{ReLU}(x)\\) for <strong>x &gt; 0</strong>?</p>]]></text></questiontext>
    <generalfeedback format="html"><text><![CDATA[<p>The slope is 1 when \\(x > 0\\).</p>]]></text></generalfeedback>
    <defaultgrade>2</defaultgrade>
    <idnumber>mdl-relu-derivative</idnumber>
    <single>true</single>
    <shuffleanswers>true</shuffleanswers>
    <answer fraction="100" format="html"><text><![CDATA[<p>1</p>]]></text><feedback format="html"><text>Right.</text></feedback></answer>
    <answer fraction="0" format="html"><text><![CDATA[<p>0</p>]]></text><feedback format="html"><text>That is for x &lt; 0.</text></feedback></answer>
    <hint format="html"><text>Draw it.</text></hint>
    <tags><tag><text>relu</text></tag></tags>
  </question>
  <question type="multichoice">
    <name><text>Saturating activations</text></name>
    <questiontext format="html"><text>Which saturate?</text></questiontext>
    <generalfeedback format="html"><text>Sigmoid and tanh flatten out.</text></generalfeedback>
    <single>false</single>
    <answer fraction="50"><text>sigmoid</text></answer>
    <answer fraction="50"><text>tanh</text></answer>
    <answer fraction="-100"><text>ReLU</text></answer>
  </question>
  <question type="truefalse">
    <name><text>Sigmoid is zero-centred</text></name>
    <questiontext format="html"><text>The sigmoid's output is zero-centred.</text></questiontext>
    <generalfeedback format="html"><text>It lies in (0, 1).</text></generalfeedback>
    <answer fraction="0"><text>true</text><feedback><text>No: its mean is positive.</text></feedback></answer>
    <answer fraction="100"><text>false</text><feedback><text>Right.</text></feedback></answer>
  </question>
  <question type="numerical">
    <name><text>Max sigmoid slope</text></name>
    <questiontext format="html"><text>What is the largest value of \\(\\sigma'(x)\\)?</text></questiontext>
    <generalfeedback format="html"><text>\\(\\sigma'(0) = 0.25\\).</text></generalfeedback>
    <answer fraction="100"><text>0.25</text><tolerance>0.001</tolerance></answer>
    <answer fraction="0"><text>0.5</text><tolerance>0</tolerance><feedback><text>That is \\(\\sigma(0)\\).</text></feedback></answer>
  </question>
  <question type="shortanswer">
    <name><text>Dead units</text></name>
    <questiontext format="html"><text>Name the activation whose units can die.</text></questiontext>
    <generalfeedback format="html"><text>ReLU.</text></generalfeedback>
    <usecase>0</usecase>
    <answer fraction="100"><text>ReLU</text></answer>
    <answer fraction="100"><text>rectified linear unit</text></answer>
  </question>
  <question type="essay">
    <name><text>Why ReLU</text></name>
    <questiontext format="html"><text>Why did ReLU replace sigmoid in deep CNNs?</text></questiontext>
    <generalfeedback format="html"><text>Gradients.</text></generalfeedback>
    <responseformat>editor</responseformat>
    <graderinfo format="html"><text><![CDATA[<ul><li>no saturation for x &gt; 0</li><li>cheap to compute</li></ul>]]></text></graderinfo>
  </question>
</quiz>
"""


def topics(db: None = None) -> None:
    contents, errors = bank_read(fixtures_dir=FIXTURES)
    for position, topic in enumerate(contents.topics):
        Topic.objects.create(slug=topic["slug"], name_zh=topic["zh"], name_en=topic["en"], position=position)


@pytest.mark.django_db
def test_importing_moodle_xml_creates_bank_questions_of_every_type() -> None:
    topics()
    created = bank_import_moodle(user=make_user(), data=MOODLE_SAMPLE.encode(), file_name="relu.xml",
                                 default_topic=Topic.objects.get(slug="ml-basics"))
    assert [q.type for q in created] == ["single", "multiple", "truefalse", "numeric", "text", "essay"]
    assert all(q.topic.slug == "activations" and q.file_hash == "" for q in created)
    first = created[0].current_version
    assert created[0].bank_id == "mdl-relu-derivative" and first.points == 2 and first.tags == ["relu"]
    assert first.prompt == r"What is $\frac{d}{dx}\mathrm{ReLU}(x)$ for **x > 0**?"
    assert first.hint == "Draw it." and first.spec["choices"][1]["feedback"] == "That is for x < 0."
    assert [c["correct"] for c in created[1].current_version.spec["choices"]] == [True, True, False]
    assert created[2].current_version.spec["answer"] is False
    numeric = created[3].current_version.spec
    assert numeric["answer"] == 0.25 and numeric["tolerance"] == {"abs": 0.001}
    assert numeric["misconceptions"] == [{"answer": 0.5, "message": r"That is $\sigma(0)$."}]
    assert created[4].current_version.spec["accept"] == ["ReLU", "rectified linear unit"]
    assert created[5].current_version.spec["key_points"] == ["no saturation for x > 0", "cheap to compute"]
    # Each is a bank file in waiting: its source parses as the bank's format.
    assert created[0].current_version.source_text.startswith("---\nid: mdl-relu-derivative\ntype: single\n")


@pytest.mark.django_db
def test_a_bad_moodle_file_is_reported_by_line_and_writes_nothing() -> None:
    topics()
    broken = (MOODLE_SAMPLE
              .replace("<answer fraction=\"100\"><text>0.25</text>", "<answer fraction=\"100\"><text>a quarter</text>")
              .replace('<question type="essay">', '<question type="matching">'))
    user, topic = make_user(), Topic.objects.get(slug="ml-basics")
    with pytest.raises(BankValidationError) as caught:
        bank_import_moodle(user=user, data=broken.encode(), file_name="relu.xml", default_topic=topic)
    lines = {(e.path, e.line) for e in caught.value.errors}
    numerical_line = broken.splitlines().index('  <question type="numerical">') + 1
    matching_line = broken.splitlines().index('  <question type="matching">') + 1
    assert lines == {("relu.xml", numerical_line), ("relu.xml", matching_line)}
    assert str(caught.value).startswith(f"relu.xml:{numerical_line}:") or f"relu.xml:{matching_line}:" in str(
        caught.value)
    assert Question.objects.count() == 0 and QuestionVersion.objects.count() == 0
    # Not XML at all: the parser's line.
    with pytest.raises(BankValidationError, match=r"bad\.xml:3: not well-formed XML"):
        bank_import_moodle(user=user, data=b"<quiz>\n<question>\n</quiz>", file_name="bad.xml", default_topic=topic)
    # A question the bank's own checks refuse (no explanation), and an id already in the bank.
    no_feedback = re.sub(r"<generalfeedback.*?</generalfeedback>", "", MOODLE_SAMPLE, count=1, flags=re.DOTALL)
    with pytest.raises(BankValidationError, match="explanation"):
        bank_import_moodle(user=user, data=no_feedback.encode(), file_name="x.xml", default_topic=topic)
    bank_import_moodle(user=user, data=MOODLE_SAMPLE.encode(), file_name="relu.xml", default_topic=topic)
    with pytest.raises(BankValidationError, match="already in the bank"):
        bank_import_moodle(user=user, data=MOODLE_SAMPLE.encode(), file_name="relu.xml", default_topic=topic)
    assert Question.objects.count() == 6


@pytest.mark.django_db
def test_import_from_the_instructor_page() -> None:
    topics()
    course = make_course("dlcv")
    client = Client()
    assert client.login(username=make_member(course, Role.INSTRUCTOR).username, password=PASSWORD)
    page = reverse("instructor-bank-exchange", args=[course.slug])
    bad = io.BytesIO(MOODLE_SAMPLE.replace("<single>true</single>", "<single>true</single>"
                                           '<answer fraction="100"><text>2</text></answer>').encode())
    bad.name = "relu.xml"
    response = client.post(page, {"file": bad, "topic": "ml-basics"})
    assert response.status_code == 400 and "relu.xml:" in response.content.decode()
    assert Question.objects.count() == 0
    good = io.BytesIO(MOODLE_SAMPLE.encode())
    good.name = "relu.xml"
    response = client.post(page, {"file": good, "topic": "ml-basics"}, follow=True)
    assert "Imported 6 questions" in response.content.decode()
    assert Question.objects.count() == 6


# --------------------------------------------------------------------------- round trips


def normalized_moodle(data: bytes) -> list[tuple[Any, ...]]:
    """What a Moodle XML file says, read independently of our reader: each element's path, attributes and
    text (whitespace runs as one space)."""
    root = etree.fromstring(data)
    return [(root.getroottree().getpath(e), sorted(e.attrib.items()), " ".join((e.text or "").split()))
            for e in root.iter()]


@pytest.mark.django_db
def test_moodle_xml_to_bank_to_moodle_xml_keeps_every_question() -> None:
    topics()
    first = MOODLE_SAMPLE.encode()
    created = bank_import_moodle(user=make_user(), data=first, file_name="relu.xml",
                                 default_topic=Topic.objects.get(slug="ml-basics"))
    again = bank_export(questions=Question.objects.filter(pk__in=[q.pk for q in created])
                        .select_related("current_version", "topic").order_by("pk"), variants=1, fmt="moodle")
    assert_valid(moodle_schema(), again.content)
    back, errors = moodle_read(again.content, name="again.xml", topics=["activations"], default_topic="ml-basics")
    original, _ = moodle_read(first, name="relu.xml", topics=["activations"], default_topic="ml-basics")
    assert errors == []
    keep = ("id", "kind", "title", "prompt", "explanation", "topic", "hint", "points", "tags", "choices", "answer",
            "tolerance", "misconceptions", "feedback_true", "feedback_false", "accept", "key_points")
    assert [{k: getattr(q, k) for k in keep} for q in back] == [{k: getattr(q, k) for k in keep} for q in original]


@pytest.mark.django_db
def test_the_bank_through_moodle_xml_and_back_is_unchanged(bank: None) -> None:
    # The bank's own files (past-exam questions are generated from fixtures/exams and never come back as files).
    plain = [q for q in live_questions() if q.type != "param" and q.topic.slug != "past-exams"]
    export = bank_export(questions=plain, variants=1, fmt="moodle")
    ids = [q.id for q in lms_export_set(questions=plain, variants=1).questions]
    Question.objects.filter(bank_id__in=ids).delete()
    user = make_user()
    bank_import_moodle(user=user, data=export.content, file_name="bank.xml",
                       default_topic=Topic.objects.get(slug="ml-basics"))
    by_id = {q.bank_id: q for q in live_questions().filter(bank_id__in=ids)}
    again = bank_export(questions=[by_id[i] for i in ids], variants=1, fmt="moodle")
    before, after = normalized_moodle(export.content), normalized_moodle(again.content)
    assert [a for a, b in zip(after, before, strict=True) if a != b] == []


def test_the_import_reads_no_external_entity(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", "utf-8")
    data = MOODLE_SAMPLE.replace('<?xml version="1.0" encoding="UTF-8"?>',
                                 f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE quiz [<!ENTITY x SYSTEM '
                                 f'"file://{secret}">]>').replace("Draw it.", "&x;")
    questions, _errors = moodle_read(data.encode(), name="x.xml", topics=["activations"], default_topic="activations")
    assert all("TOP-SECRET" not in (q.hint or "") + q.prompt for q in questions)


ENGLISH = {"en": {
    "title": "Saturating activations", "prompt": "Which activations saturate, $\\sigma$ among them?",
    "explanation": "Both flatten out.", "hint": "Look at the tails.",
    "choices": [{"text": "sigmoid", "feedback": "Yes."}, {"text": "tanh"}, {"text": "ReLU"}],
    "feedback_true": "Right.", "misconceptions": ["That is the value, not the slope."],
    "key_points": ["no saturation for x > 0", "cheap"]}}


def bilingual(kind: str, **fields: Any) -> LmsQuestion:
    return LmsQuestion(id=f"bi-{kind}", kind=kind, title="會飽和的激發函數", prompt="哪些激發函數會飽和？",  # type: ignore[arg-type]
                       explanation="兩者都會變平。", hint="看兩端。", topic="activations", translations=ENGLISH,
                       **fields)


BILINGUAL = [
    bilingual("multiple", choices=(Choice("sigmoid", True, "對。"), Choice("tanh", True), Choice("ReLU", False))),
    bilingual("truefalse", answer=True, feedback_true="對。"),
    bilingual("numeric", answer=0.25, tolerance=0.001, misconceptions=((0.5, "那是值，不是斜率。"),)),
    bilingual("essay", key_points=("x > 0 時不飽和", "計算便宜")),
]


def test_a_question_goes_out_in_every_language_it_has() -> None:
    """Moodle: the multilang filter's spans (zh_tw and en); QTI: altmaterial with xml:lang."""
    moodle = moodle_xml(BILINGUAL)
    assert_valid(moodle_schema(), moodle)
    text = moodle.decode()
    for english in ("Saturating activations", "Which activations saturate", "Both flatten out.", "Look at the tails.",
                    "Yes.", "Right.", "That is the value, not the slope.", "no saturation for x &amp;gt; 0"):
        assert english in text, english
    assert text.count('lang="zh_tw" class="multilang"') >= 10 and 'lang="en" class="multilang"' in text
    files = cartridge_files(common_cartridge(BILINGUAL, title="t"))
    qti = next(data for name, data in files.items() if name.endswith("assessment_qti.xml"))
    assert_valid(qti_schema(), qti)
    root = etree.fromstring(qti)
    english = root.findall(".//q:altmaterial[@xml:lang='en']/q:mattext", {**QTI, "xml": XML_NS})
    assert any("Which activations saturate" in (m.text or "") for m in english)
    assert any(">tanh<" in (m.text or "") for m in english)
    # Read back, a multi-language file gives the bank the text in its own language.
    back, errors = moodle_read(moodle, name="bi.xml", topics=["activations"], default_topic="activations")
    assert errors == [] and [q.title for q in back] == ["會飽和的激發函數"] * 4
    assert back[0].prompt == "哪些激發函數會飽和？" and back[0].choices[0].feedback == "對。"
    assert back[3].key_points == ("x > 0 時不飽和", "計算便宜")
    # … and keeps the other languages as the bank's translation blocks hold them.
    english = ENGLISH["en"]
    assert back[0].translations["en"] == {
        "title": english["title"], "prompt": english["prompt"], "explanation": english["explanation"],
        "hint": english["hint"], "choices": [{"text": "sigmoid", "feedback": "Yes."}, {"text": "tanh"},
                                             {"text": "ReLU"}]}
    assert back[1].translations["en"]["feedback_true"] == "Right."
    assert back[2].translations["en"]["misconceptions"] == english["misconceptions"]
    assert back[3].translations["en"]["key_points"] == english["key_points"]


def test_translations_become_the_banks_en_block_where_the_format_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    from quizzes.bank import format as bank_format

    question = moodle_read(moodle_xml(BILINGUAL[:1]), name="bi.xml", topics=["activations"],
                           default_topic="activations")[0][0]
    if "en" not in bank_format.SECTION_NAMES:  # before the English bank's block: the main language only
        assert "::: en" not in bank_text(question)
        monkeypatch.setattr(bank_format, "SECTION_NAMES", (*bank_format.SECTION_NAMES, "en"))
    text = bank_text(question)
    block = text.split("::: en\n", 1)[1].rsplit("\n:::", 1)[0]
    assert yaml.safe_load(block) == {
        "title": "Saturating activations", "prompt": "Which activations saturate, $\\sigma$ among them?",
        "choices": [{"text": "sigmoid", "feedback": "Yes."}, {"text": "tanh"}, {"text": "ReLU"}],
        "explanation": "Both flatten out.", "hint": "Look at the tails."}
    # A language given only in part (here: no English prompt) is not a block the bank would take.
    partial = replace(question, translations={"en": {k: v for k, v in question.translations["en"].items()
                                                      if k != "prompt"}})
    assert "::: en" not in bank_text(partial)


def test_html_to_markdown_keeps_formulas_and_escapes_dollars() -> None:
    assert html_to_markdown(r"<p>a_b \(x_1 &lt; y\) costs $5</p>") == r"a\_b $x_1 < y$ costs \$5"
    assert html_to_markdown(r"<p>\[\sum_i x_i\]</p>") == r"$$\sum_i x_i$$"
