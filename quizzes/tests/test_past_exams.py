"""Past exams offline: every figure served from the project (no hotlink, alt text on every image),
classmates' answers with their line breaks and empty ones labelled, and the study view (questions,
every classmate's answer, our key points) for enrolled students, without an attempt."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import Role
from accounts.tests.factories import make_course, make_member
from quizzes.bank.exams import load_exam_bank, load_figures
from quizzes.bank.render import render_hackmd, render_markdown
from quizzes.models import AssessmentMode, Attempt
from quizzes.presenters import peer_answers_view
from quizzes.services.bank import BankContents, bank_sync, mock_exam_ensure
from quizzes.tests.factories import make_assessment
from quizzes.tests.test_student_pages import _bank

ROOT = Path(__file__).resolve().parents[2]
EXAMS = ROOT / "fixtures" / "exams"
STATIC_EXAMS = ROOT / "static" / "exams"
NOTE_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?(https?://[^)\s>]+)")


class Images(HTMLParser):
    """Every ``<img>`` of a fragment (its attributes) and every external resource it would load."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("img", "image", "source", "iframe", "embed", "object", "video", "audio"):
            self.images.append({"tag": tag, **dict(attrs)})


def images_in(html: str) -> list[dict[str, str | None]]:
    parser = Images()
    parser.feed(html)
    return parser.images


def _exam_bank() -> Any:
    bank, errors = load_exam_bank(EXAMS)
    assert errors == []
    return bank


# --------------------------------------------------------------------------- figures (no database)


def test_every_image_of_the_note_has_a_figure_entry_and_every_svg_is_shipped() -> None:
    note_images = set(NOTE_IMAGE.findall(next(EXAMS.glob("*.md")).read_text("utf-8")))
    figures, errors = load_figures(EXAMS / "figures.yaml")
    assert errors == [] and len(note_images) == 8
    assert note_images == set(figures)
    kinds = {figure.kind for figure in figures.values()}
    assert kinds == {"svg", "formula", "unavailable"}
    for figure in figures.values():
        if figure.kind == "svg":
            svg = ET.parse(STATIC_EXAMS / figure.file).getroot()  # well-formed, and shipped
            assert svg.tag.endswith("svg") and svg.find("{http://www.w3.org/2000/svg}title") is not None
            assert len(figure.alt) > 40, "the alt text must say what the figure shows"


def test_no_served_page_text_loads_an_image_from_outside_and_every_image_has_alt_text() -> None:
    seen = 0
    for question in _exam_bank().questions:
        texts = [render_markdown(question.prompt), render_markdown(question.explanation)]
        texts += [render_hackmd(peer["body"]) for peer in question.spec.get("peer_answers", [])]
        for html in texts:
            assert "imgur" not in html, question.id
            for image in images_in(html):
                seen += 1
                assert image["tag"] == "img", (question.id, image)
                src = image.get("src") or ""
                assert src.startswith("/static/exams/"), (question.id, src)
                assert (STATIC_EXAMS / src.removeprefix("/static/exams/")).is_file(), src
                assert (image.get("alt") or "").strip(), (question.id, "an image without alt text")
    assert seen == 1  # the one redrawn figure (109 Q8); the others are formulas or labelled boxes


def test_figures_that_cannot_be_redrawn_are_labelled_boxes_saying_what_they_showed() -> None:
    questions = {q.id: q for q in _exam_bank().questions}
    q5 = questions["exam-108-q5"]
    assert "圖無法取得 (figure not available)" in q5.prompt and "兩個要比較的卷積模組" in q5.prompt
    assert "<blockquote>" in render_markdown(q5.prompt)
    only_answer = q5.spec["peer_answers"][0]["body"]
    assert only_answer.startswith("> **圖無法取得 (figure not available)**") and "一張圖片" in only_answer
    # 108 Q8: the three formulas, written out (MathML) from the answer's own description.
    body = render_hackmd(questions["exam-108-q8"].spec["peer_answers"][0]["body"])
    assert body.count('display="block"') == 3 and "PatchGAN" in body


def test_an_image_without_a_figure_entry_is_refused_by_the_loader(tmp_path: Path) -> None:
    for name in ("key_points.yaml", "figures.yaml"):
        (tmp_path / name).write_text((EXAMS / name).read_text("utf-8"), "utf-8")
    note = (EXAMS / "exam-share-109-108.md").read_text("utf-8")
    (tmp_path / "note.md").write_text(note.replace("](https://i.imgur.com/lonqmCN.png)",
                                                   "](https://example.com/new.png)"), "utf-8")
    _bank, errors = load_exam_bank(tmp_path)
    assert [e.message for e in errors] == [
        "image without an entry in figures.yaml (it would be a hotlink): 109-8: https://example.com/new.png"]
    broken = yaml.safe_load((EXAMS / "figures.yaml").read_text("utf-8"))
    broken["https://i.imgur.com/lonqmCN.png"] = {"kind": "svg", "file": "x.svg"}  # no alt text
    (tmp_path / "figures.yaml").write_text(yaml.safe_dump(broken, allow_unicode=True), "utf-8")
    _figures, figure_errors = load_figures(tmp_path / "figures.yaml")
    assert [e.message for e in figure_errors] == ["figure https://i.imgur.com/lonqmCN.png: alt missing"]


# --------------------------------------------------------------------------- classmates' answers


def test_peer_answers_keep_their_line_breaks_and_empty_ones_are_labelled() -> None:
    peers = [{"name": "啟恩", "style": "plain", "body": "沒做分支的乘法數:\n(32x32) x 64x64 x (3x3)"},
             {"name": "Adrien", "style": "plain", "body": ""},
             {"name": "", "style": "danger", "body": "  \n"}]
    for lang, label in (("en", "(no answer)"), ("zh-hant", "（未作答）")):
        with translation.override(lang):
            shown = peer_answers_view(peers, "zh-Hant")
        assert "<br />\n(32x32)" in shown[0]["html"] and not shown[0]["empty"]
        assert [p["empty_label"] for p in shown] == ["", label, label]
        assert shown[2]["name"] == ("A classmate" if lang == "en" else "一位同學")
    # In the shipped note: 108 Q1 has Adrien's empty answer, 108 Q6 and Q7 蔡杰's empty blocks.
    empties = {q.id: [p["name"] for p in q.spec["peer_answers"] if not p["body"].strip()]
               for q in _exam_bank().questions if q.type == "essay"}
    assert empties["exam-108-q1"] == ["Adrien"] and empties["exam-108-q6"] == ["蔡杰"]


# --------------------------------------------------------------------------- the study view


@pytest.fixture
def past_exams(db: None) -> dict[str, Any]:
    contents = _bank()
    bank_sync(contents=BankContents(topics=contents.topics, mock_exams={},
                                    questions=[q for q in contents.questions if q.id.startswith("exam-")]))
    course = make_course("dlcv")
    mocks = {year: mock_exam_ensure(course=course, year=year) for year in (108, 109)}
    return {"course": course, "mocks": mocks, "student": make_member(course, username="alice"),
            "ta": make_member(course, Role.TA, username="tina")}


def _study_url(world: dict[str, Any], year: int) -> str:
    return reverse("past-exam-study", args=[world["course"].slug, world["mocks"][year].slug])


def _client(user: Any, lang: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_study_view_shows_questions_every_answer_and_the_key_points_without_an_attempt(past_exams: Any) -> None:
    response = _client(past_exams["student"]).get(_study_url(past_exams, 109))
    assert response.status_code == 200
    html = response.content.decode()
    for number in range(1, 9):
        assert f'id="exam-109-q{number}"' in html
    for name in ("啟恩", "仲瑜", "Adrien", "宇"):
        assert name in html
    shared = sum(len(q.spec.get("peer_answers", [])) for q in _exam_bank().questions if q.id.startswith("exam-109-"))
    assert shared > 20 and html.count('class="admonition peer') == shared  # every classmate's answer
    assert html.count('<div class="key-points">') == 8 and "<h3>Key points</h3>" in html
    assert "<h3>Classmates' answers</h3>" in html, re.findall(r"<h3>[^<]*</h3>", html)[:3]
    assert 'src="/static/exams/exam-109-q8-modules.svg"' in html and "imgur" not in html
    assert "37,748,736" in html  # Q8's numeric part, with its answer
    assert not Attempt.objects.exists(), "studying must not start an attempt"
    zh = _client(past_exams["student"], "zh-hant").get(_study_url(past_exams, 108)).content.decode()
    assert "（未作答）" in zh and "研讀" in zh and '<html lang="zh-hant">' in zh


@pytest.mark.django_db
def test_the_study_view_is_linked_from_the_dashboard_and_the_past_exam_page(past_exams: Any) -> None:
    client = _client(past_exams["student"])
    course = past_exams["course"]
    dashboard = client.get(reverse("course-dashboard", args=[course.slug])).content.decode()
    landing = client.get(reverse("assessment-landing", args=[course.slug, "mock-108"])).content.decode()
    for year in (108, 109):
        assert f'href="{_study_url(past_exams, year)}"' in dashboard
    assert f'href="{_study_url(past_exams, 108)}"' in landing


@pytest.mark.django_db
def test_the_study_view_is_for_the_course_members_only(past_exams: Any) -> None:
    url = _study_url(past_exams, 109)
    assert _client(past_exams["ta"]).get(url).status_code == 200
    outsider = make_member(make_course("other"), username="mallory")
    assert _client(outsider).get(url).status_code == 404
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    # Only past exams: a practice set or an exam of the course has no study view.
    course = past_exams["course"]
    for mode, slug in ((AssessmentMode.PRACTICE, "drill"), (AssessmentMode.EXAM, "final")):
        make_assessment(course, ["exam-109-q1"], mode=mode, slug=slug)
        assert _client(past_exams["student"]).get(
            reverse("past-exam-study", args=[course.slug, slug])).status_code == 404
    # An unpublished past exam is the staff's only.
    mock = past_exams["mocks"][108]
    mock.published = False
    mock.save(update_fields=["published"])
    assert _client(past_exams["student"]).get(_study_url(past_exams, 108)).status_code == 404
    assert _client(past_exams["ta"]).get(_study_url(past_exams, 108)).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(("lang", "said", "not_said"), [("en", "No answer", "未作答。"), ("zh-hant", "未作答。", "No answer")])
def test_an_unanswered_question_is_said_once_in_the_page_language(past_exams: Any, lang: str, said: str,
                                                                  not_said: str) -> None:
    from quizzes.services.attempts import attempt_start, attempt_submit

    attempt = attempt_start(user=past_exams["student"], assessment=past_exams["mocks"][108])
    attempt_submit(attempt=attempt)
    html = _client(past_exams["student"], lang).get(reverse("attempt-results", args=[attempt.id])).content.decode()
    questions = attempt.items.count()
    assert html.count(said) == questions, "one 'no answer' per unanswered question"
    assert not_said not in html


@pytest.mark.django_db
def test_staff_preview_shows_classmates_answers_as_students_read_them(past_exams: Any) -> None:
    url = reverse("instructor-question", args=[past_exams["course"].slug, "exam-108-q1"])
    html = _client(past_exams["ta"]).get(url).content.decode()
    assert "(no answer)" in html and "<br />" in html
