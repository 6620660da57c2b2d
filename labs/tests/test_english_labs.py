"""Labs in the request's language: their titles, descriptions and part titles in English when the lab
has them (``en:`` in ``fixtures/labs/*.yaml``), marked as Chinese otherwise."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from accounts.tests.factories import make_course, make_member
from grader.results import GradingResult
from labs.models import Lab
from labs.services import submission_create, submission_grade
from labs.services.definitions import lab_spec_errors
from labs.tests.factories import lab_answers

SHIPPED = Path(__file__).resolve().parents[2] / "fixtures" / "labs"


def _client(user, lang: str) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = lang
    return client


def test_every_shipped_lab_has_english() -> None:
    for path in sorted(SHIPPED.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text("utf-8"))
        assert lab_spec_errors(spec) == [], path.name
        assert spec["en"]["title"] and spec["en"]["description"], path.name
        assert all(part["en"]["title"] for part in spec.get("parts") or []), path.name


def test_an_english_block_is_checked() -> None:
    spec = yaml.safe_load((SHIPPED / "lab1-convolution.yaml").read_text("utf-8"))
    assert lab_spec_errors({**spec, "en": {"titel": "x"}}) == ["en: unknown field 'titel'", "en.title is required"]
    parts = [dict(spec["parts"][0], en={"title": ""}), *spec["parts"][1:]]
    assert lab_spec_errors({**spec, "parts": parts}) == ["parts[0].en.title must be a non-empty string"]


@pytest.mark.django_db
def test_a_numeric_lab_in_english_and_in_chinese() -> None:
    course = make_course("dlcv-demo")
    call_command("load_labs", "--course", "dlcv-demo", stdout=StringIO())
    student = make_member(course, Role.STUDENT, username="ann")
    lab = Lab.objects.get(slug="lab1-convolution")
    assert lab.translations["en"]["title"] == "Lab 1: convolution, pooling and transposed convolution"
    assert lab.parts.get(key="conv").translations == {"en": {"title": "Convolution by hand"}}

    english = _client(student, "en").get(reverse("lab-page", args=[lab.slug])).content.decode()
    assert '<span lang="en">Lab 1: convolution, pooling and transposed convolution</span>' in english
    assert '<div class="lab-description" lang="en">' in english and "works through convolutional layers" in english
    assert '<span lang="en">Convolution by hand</span>' in english and "手算卷積" not in english
    chinese = _client(student, "zh-hant").get(reverse("lab-page", args=[lab.slug])).content.decode()
    assert '<span lang="zh-Hant">Lab 1：卷積、池化與轉置卷積</span>' in chinese and "Convolution by hand" not in chinese

    # A graded submission keeps each part's title in both languages; its page shows the reader's.
    submission = submission_create(user=student, lab=lab, answers=lab_answers(lab, student), lang="en").submission
    submission_grade(submission_id=submission.pk)
    submission.refresh_from_db()
    result = GradingResult.from_json(submission.result)
    conv = next(part for part in result.parts if part.name == "conv")
    assert conv.to_json()["label"] == {"en": "Convolution by hand", "zh-Hant": "手算卷積 (convolution)"}
    page = _client(student, "en").get(reverse("submission-page", args=[submission.pk])).content.decode()
    assert '<span lang="en">Convolution by hand</span>' in page
    page = _client(student, "zh-hant").get(reverse("submission-page", args=[submission.pk])).content.decode()
    assert '<span lang="zh-Hant">手算卷積 (convolution)</span>' in page


@pytest.mark.django_db
def test_a_lab_without_english_is_shown_as_written_and_marked(tmp_path: Path) -> None:
    spec = yaml.safe_load((SHIPPED / "lab1-convolution.yaml").read_text("utf-8"))
    spec.pop("en")
    for part in spec["parts"]:
        part.pop("en")
    (tmp_path / "lab.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), "utf-8")
    course = make_course("dlcv-demo")
    call_command("load_labs", "--course", "dlcv-demo", "--dir", str(tmp_path), stdout=StringIO())
    student = make_member(course, Role.STUDENT, username="ann")
    english = _client(student, "en").get(reverse("lab-page", args=["lab1-convolution"])).content.decode()
    assert '<span lang="zh-Hant">Lab 1：卷積、池化與轉置卷積</span>' in english
    assert '<div class="lab-description" lang="zh-Hant">' in english
    assert '<span lang="zh-Hant">手算卷積 (convolution)</span>' in english
