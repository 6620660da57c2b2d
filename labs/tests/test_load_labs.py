"""`load_labs`: the shipped labs load, reload idempotently, and bad definitions are refused whole."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from accounts.models import Role
from accounts.tests.factories import make_course, make_member
from labs.models import Lab, LabPart, SubmissionStatus
from labs.services import submission_create, submission_grade
from labs.tests.factories import lab_answers

SHIPPED = Path(__file__).resolve().parents[2] / "fixtures" / "labs"
NUMERIC_SLUGS = {"lab1-convolution", "lab2-multiplications", "lab3-entropy-kl", "lab4-map"}
CODE_SLUGS = {
    "code1-conv2d-forward", "code2-conv2d-backward", "code3-maxpool", "code4-softmax-ce", "code5-iou-nms",
    "code6-voc-map", "code7-yolo-decode", "code8-cnn-forward-numpy", "code9-train-cnn",
}
SLUGS = NUMERIC_SLUGS | CODE_SLUGS


def load(course_slug: str, directory: Path | None = None) -> str:
    out = StringIO()
    args = ["--course", course_slug] + (["--dir", str(directory)] if directory else [])
    call_command("load_labs", *args, stdout=out)
    return out.getvalue()


def write_lab(directory: Path, name: str, **changes: object) -> None:
    spec = {
        "slug": "lab-x", "title": "X", "description": "", "due_days": None,
        "attempts_policy": {"mode": "unlimited"}, "late_policy": {},
        "parts": [{"key": "cost", "title": "Cost", "family": "conv-cost", "constraints": {"kind": "grouped"},
                   "points": 2}],
        **changes,
    }
    (directory / f"{name}.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")


@pytest.mark.django_db
def test_shipped_labs_load_and_reload_idempotently() -> None:
    course = make_course("dlcv-demo")
    output = load("dlcv-demo")
    assert output.count("(created)") == len(SLUGS)
    labs = {lab.slug: lab for lab in Lab.objects.filter(course=course)}
    assert set(labs) == SLUGS
    for slug in CODE_SLUGS:  # every coding lab names an existing grader spec and carries its points
        assert labs[slug].kind == "code" and labs[slug].codelab and labs[slug].code_points == 10
    before = {
        (p.lab.slug, p.key): (p.pk, p.position, p.family, p.constraints, p.points)
        for p in LabPart.objects.select_related("lab")
    }
    due = {slug: lab.due_at for slug, lab in labs.items()}
    assert load("dlcv-demo").count("(updated)") == len(SLUGS)
    after = {
        (p.lab.slug, p.key): (p.pk, p.position, p.family, p.constraints, p.points)
        for p in LabPart.objects.select_related("lab")
    }
    assert after == before
    assert {lab.slug: lab.due_at for lab in Lab.objects.all()} == due
    assert due["lab4-map"] is None and due["lab1-convolution"] is not None
    assert "COCO" in labs["lab4-map"].description
    assert labs["lab2-multiplications"].parts.get(key="alexnet-conv1").constraints == {"kind": "plain", "alexnet": True}


@pytest.mark.django_db
@pytest.mark.parametrize("slug", sorted(NUMERIC_SLUGS))  # coding labs: grader/tests/test_codelabs_sandbox.py
def test_each_shipped_lab_grades_a_right_answer_full_marks(slug: str) -> None:
    course = make_course("dlcv-demo")
    load("dlcv-demo")
    lab = Lab.objects.get(slug=slug)
    student = make_member(course, Role.STUDENT)
    submission = submission_create(user=student, lab=lab, answers=lab_answers(lab, student)).submission
    submission_grade(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.GRADED and submission.score == 1
    assert submission.points == sum(part.points for part in lab.parts.all())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"parts": [{"key": "p", "title": "P", "family": "no-such-family", "points": 1}]}, "unknown problem family"),
        ({"parts": [{"key": "p", "title": "P", "family": "conv-cost", "constraints": {"colour": "red"}}]},
         "unknown constraint"),
        ({"parts": [{"key": "p", "title": "P", "family": "pool-unpool", "constraints": {"kind": "median-pool"}}]},
         "kind must be one of"),
        ({"attempts_policy": {"mode": "sometimes"}}, "attempts_policy"),
        ({"late_policy": {"penalty_per_day": 0.1}}, "late_policy"),
        ({"parts": []}, "non-empty"),
        ({"slug": "Lab X"}, "slug"),
    ],
)
def test_invalid_definitions_are_refused_and_nothing_is_written(tmp_path: Path, changes: dict[str, object],
                                                                message: str) -> None:
    make_course("c")
    write_lab(tmp_path, "a-good", slug="lab-good")
    write_lab(tmp_path, "b-bad", **changes)
    with pytest.raises(CommandError) as caught:
        load("c", tmp_path)
    assert "b-bad.yaml" in str(caught.value) and message in str(caught.value)
    assert not Lab.objects.exists()


@pytest.mark.django_db
def test_a_slug_of_another_course_is_refused(tmp_path: Path) -> None:
    make_course("one")
    make_course("two")
    write_lab(tmp_path, "x")
    load("one", tmp_path)
    with pytest.raises(CommandError, match="already belongs to course 'one'"):
        load("two", tmp_path)


@pytest.mark.django_db
def test_reload_applies_edits_and_removes_parts_no_longer_listed(tmp_path: Path) -> None:
    make_course("c")
    two_parts = [
        {"key": "a", "title": "A", "family": "conv-cost", "constraints": {"kind": "grouped"}, "points": 1},
        {"key": "b", "title": "B", "family": "iou-nms", "points": 2},
    ]
    write_lab(tmp_path, "x", parts=two_parts)
    load("c", tmp_path)
    write_lab(tmp_path, "x", title="Renamed", parts=[{**two_parts[1], "points": 3}])
    load("c", tmp_path)
    lab = Lab.objects.get(slug="lab-x")
    assert lab.title == "Renamed"
    assert [(p.key, p.position, p.points) for p in lab.parts.all()] == [("b", 1, 3)]


def test_unknown_course_is_an_error(db) -> None:
    with pytest.raises(CommandError, match="no course"):
        load("nope")
