"""The grade pages: My grades (own row only, released exams only, dropped students out), the gradebook
(totals, sections, a fixed number of queries), the CSVs (today's, Canvas's, Moodle's) and the grading
policy page — and that every one of them shows the same totals (one function computes them)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Course, DroppedEnrollment, Enrollment, Role, User
from accounts.tests.factories import make_course, make_member
from grades.models import Excusal, GradeCategory
from grades.selectors import course_grades
from grades.tests.factories import Built, build_course

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def course() -> Course:
    return make_course("dlcv")


@pytest.fixture
def instructor(course: Course) -> User:
    return make_member(course, Role.INSTRUCTOR, username="ines")


@pytest.fixture
def ta(course: Course) -> User:
    return make_member(course, Role.TA, username="tina")


@pytest.fixture
def built(course: Course) -> Built:
    return build_course(course, now=timezone.now(), students=12, labs=4, exams=2, practice=1)


def client_for(user: User, lang: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_login(user)
    return client


def expected_default_percent(i: int, *, labs: int = 4, exams: int = 2) -> float:
    """Student ``i`` of ``build_course`` under the default policy, computed directly: labs 40 (the last
    lab is not due yet: counted only when scored), exams 60 (a missed released exam counts 0), the
    unreleased exam and practice not at all."""
    lab_fractions = [((3 * i + j) % 11) / 10 if (i + j) % 4 else 0.0 for j in range(labs)
                     if (i + j) % 4 or j < labs - 1]
    exam_fractions = [((i + 2 * k) % 21) / 20 if (i + k) % 5 else 0.0 for k in range(exams)]
    return 0.4 * sum(lab_fractions) / len(lab_fractions) + 0.6 * sum(exam_fractions) / len(exam_fractions)


def _percent(text: str) -> float:
    return float(text.replace("%", "").strip()) / 100


def _my_total(user: User) -> str:
    html = client_for(user).get(reverse("my-grades", args=["dlcv"])).content.decode()
    return re.search(r"<strong data-total>(.*?)</strong>", html).group(1)


def _book_totals(user: User, query: str = "") -> dict[str, str]:
    html = client_for(user).get(reverse("instructor-gradebook", args=["dlcv"]) + query).content.decode()
    rows = re.findall(r'<tr data-student="([^"]+)">.*?<td class="num total" data-total>(.*?)</td>', html, re.S)
    return dict(rows)


def _csv(user: User, name: str, query: str = "") -> list[list[str]]:
    response = client_for(user).get(reverse(name, args=["dlcv"]) + query)
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


# --------------------------------------------------------------------------- the same totals everywhere


def test_my_grades_the_gradebook_and_every_csv_show_the_same_totals(built: Built, instructor: User) -> None:
    book = _book_totals(instructor)
    plain = {row[0]: row[-1] for row in _csv(instructor, "instructor-gradebook-csv")[1:]}
    canvas = {row[3]: row[-1] for row in _csv(instructor, "instructor-gradebook-canvas-csv")[2:]}
    moodle = {row[1].split("@")[0]: row[-1] for row in _csv(instructor, "instructor-gradebook-moodle-csv")[1:]}
    assert len(book) == len(plain) == len(canvas) == len(moodle) == 12
    for i, student in enumerate(built.students):
        expected = expected_default_percent(i)
        name = student.username
        assert _percent(_my_total(student)) == pytest.approx(expected, abs=5e-4), name
        assert _percent(book[name]) == pytest.approx(expected, abs=5e-4), name
        for shape in (plain, canvas, moodle):
            assert float(shape[name]) / 100 == pytest.approx(expected, abs=5e-5), name


def test_a_category_policy_changes_every_page_alike(built: Built, instructor: User) -> None:
    """Practice included at 20 %, labs 30 % with the lowest dropped, exams 50 %."""
    url = reverse("instructor-grade-policy", args=["dlcv"])
    data = {"rows": "3",
            "c0-name": "實驗", "c0-name_en": "Labs", "c0-weight": "30", "c0-drop_lowest": "1", "c0-kinds": ["lab"],
            "c1-name": "考試", "c1-name_en": "Exams", "c1-weight": "50", "c1-drop_lowest": "0", "c1-kinds": ["exam"],
            "c2-name": "練習", "c2-name_en": "Practice", "c2-weight": "20", "c2-drop_lowest": "0",
            "c2-kinds": ["practice"]}
    assert client_for(instructor).post(url, data).status_code == 302
    assert list(GradeCategory.objects.filter(course__slug="dlcv").values_list("name", "weight", "drop_lowest")) == [
        ("實驗", Decimal(30), 1), ("考試", Decimal(50), 0), ("練習", Decimal(20), 0)]
    grades = course_grades(course=Course.objects.get(slug="dlcv"))
    by_name = {row.student.username: row.percent for row in grades.rows}
    book = _book_totals(instructor)
    for i, student in enumerate(built.students):
        labs = sorted(((3 * i + j) % 11) / 10 if (i + j) % 4 else 0.0 for j in range(4) if (i + j) % 4 or j < 3)[1:]
        exams = [((i + 2 * 0) % 21) / 20 if i % 5 else 0.0, ((i + 2) % 21) / 20 if (i + 1) % 5 else 0.0]
        practice = [(i % 6) / 5] if i % 2 == 0 else []
        parts = [(30, sum(labs) / len(labs)), (50, sum(exams) / 2)] + ([(20, practice[0])] if practice else [])
        expected = sum(w * p for w, p in parts) / sum(w for w, _p in parts)
        assert by_name[student.username] == pytest.approx(expected), student.username
        assert _percent(book[student.username]) == pytest.approx(expected, abs=5e-4)
        assert _percent(_my_total(student)) == pytest.approx(expected, abs=5e-4)
    odd = client_for(built.students[1]).get(reverse("my-grades", args=["dlcv"])).content.decode()
    assert "normalized" in odd  # no practice for odd students: the weights of the others are normalized


def test_excusing_an_item_leaves_it_out_everywhere(built: Built, instructor: User) -> None:
    student = built.students[0]  # lab 1 missing (i + j = 0): 0 in the labs before
    before = course_grades(course=Course.objects.get(slug="dlcv"), user=student).rows[0].percent
    response = client_for(instructor).post(reverse("instructor-grade-excusal", args=["dlcv"]),
                                           {"student": student.pk, "item": f"lab:{built.labs[0].slug}",
                                            "excused": "1"})
    assert response.status_code == 302 and Excusal.objects.count() == 1
    after = course_grades(course=Course.objects.get(slug="dlcv"), user=student).rows[0].percent
    assert after > before
    html = client_for(student).get(reverse("my-grades", args=["dlcv"])).content.decode()
    assert "Excused" in html
    assert _percent(_book_totals(instructor)[student.username]) == pytest.approx(after, abs=5e-4)
    canvas = _csv(instructor, "instructor-gradebook-canvas-csv")
    assert canvas[2][3] == student.username and canvas[2][5] == "EX"


# --------------------------------------------------------------------------- My grades


def test_my_grades_shows_only_released_exams_missing_items_and_feedback_links(built: Built) -> None:
    student = built.students[0]
    html = client_for(student).get(reverse("my-grades", args=["dlcv"])).content.decode()
    assert "Not released yet" in html and "Missing" in html and "Course total" in html
    row = re.search(r'<tr class="state-unreleased">(.*?)</tr>', html, re.S).group(1)
    assert "Exam Late" in row and "7" not in re.sub(r"<[^>]+>", "", row).split("Exam Late")[1]  # no score shown
    assert reverse("lab-page", args=[built.labs[1].slug]) in html
    assert "/attempts/" in html  # a released exam's results
    assert "s001" not in html and "學生001" not in html  # nobody else's row
    labs, exams = course_grades(course=Course.objects.get(slug="dlcv"), user=student).rows[0].total.categories
    for category in (labs, exams):  # each category's own percent, in its row of the categories table
        assert re.search(rf"<th scope=\"row\">{category.key.title()}</th>.*?{category.percent * 100:.1f} %", html, re.S)


def test_a_dropped_student_does_not_see_the_course_and_staff_go_to_the_gradebook(
        built: Built, instructor: User) -> None:
    student = built.students[3]
    enrollment = Enrollment.objects.get(user=student, course__slug="dlcv")
    DroppedEnrollment.objects.create(user=student, course=enrollment.course, role=enrollment.role,
                                     section=enrollment.section, source=enrollment.source, dropped_at=timezone.now())
    enrollment.delete()
    assert client_for(student).get(reverse("my-grades", args=["dlcv"])).status_code == 404
    assert student.username not in _book_totals(instructor)
    response = client_for(instructor).get(reverse("my-grades", args=["dlcv"]))
    assert response.status_code == 302 and response["Location"] == reverse("instructor-gradebook", args=["dlcv"])


def test_a_released_exam_counts_once_its_results_are_out(built: Built) -> None:
    student = built.students[2]
    before = course_grades(course=Course.objects.get(slug="dlcv"), user=student).rows[0].percent
    built.unreleased.results_released_at = timezone.now() - timedelta(minutes=1)
    built.unreleased.save()
    after = course_grades(course=Course.objects.get(slug="dlcv"), user=student).rows[0].percent
    i = 2
    exams = [((i + 2 * k) % 21) / 20 if (i + k) % 5 else 0.0 for k in range(2)] + [0.7]
    labs_part = (expected_default_percent(i) - 0.6 * sum(exams[:2]) / 2) / 0.4
    assert before == pytest.approx(expected_default_percent(i))
    assert after == pytest.approx(0.4 * labs_part + 0.6 * sum(exams) / 3)


# --------------------------------------------------------------------------- gradebook


def _book_queries(user: User) -> int:
    client = client_for(user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("instructor-gradebook", args=["dlcv"])).status_code == 200
    return len(queries.captured_queries)


def test_the_gradebook_takes_the_same_number_of_queries_for_5_and_60_students(instructor: User) -> None:
    course = Course.objects.get(slug="dlcv")
    now = timezone.now()
    build_course(course, now=now, students=5, labs=3, exams=2)
    small = _book_queries(instructor)
    build_course(course, now=now, students=55, labs=0, exams=0, practice=0, unreleased=False, prefix="t")
    GradeCategory.objects.create(course=course, position=1, name="全部", weight=Decimal(100), kinds=["lab", "exam"])
    Excusal.objects.create(course=course, user=User.objects.get(username="t001"), item="quiz:exam-1")
    assert Enrollment.objects.filter(course=course, role=Role.STUDENT).count() == 60
    assert _book_queries(instructor) == small <= 13


def test_a_ta_limited_to_a_section_filters_within_it_and_the_csvs_follow(built: Built, ta: User,
                                                                          instructor: User) -> None:
    from accounts.models import TeachingSection

    assert set(_book_totals(instructor, "?section=A")) == {u.username for u in built.students[::2]}
    TeachingSection.objects.create(course=Course.objects.get(slug="dlcv"), user=ta, section="B")
    assert set(_book_totals(ta)) == {u.username for u in built.students[1::2]}
    assert set(_book_totals(ta, "?section=A")) == {u.username for u in built.students[1::2]}  # not theirs: ignored
    canvas = _csv(ta, "instructor-gradebook-canvas-csv")
    assert {row[4] for row in canvas[2:]} == {"B"}


def test_the_canvas_csv_has_canvas_header_sis_ids_and_points_possible(built: Built, instructor: User) -> None:
    rows = _csv(instructor, "instructor-gradebook-canvas-csv")
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert rows[0][5] == "Lab 1 (lab:dlcv-lab1)" and rows[0][-1] == "Final Score"
    assert "Exam 1 (quiz:exam-1)" in rows[0] and not any("unpublished" in h for h in rows[0])
    assert rows[1][0] == "Points Possible" and rows[1][5] == "10" and rows[1][-1] == "(read only)"
    first = dict(zip(rows[0], rows[2], strict=True))
    assert first["SIS User ID"] == "sN00000" and first["SIS Login ID"] == "s000" and first["Section"] == "A"
    assert first["Lab 1 (lab:dlcv-lab1)"] == "0"  # missing after the due date
    assert first["Lab 4 (lab:dlcv-lab4)"] == "3"  # (3 × 0 + 3) % 11, scored though not due yet
    assert first["Exam Late (quiz:exam-late)"] == ""  # not released


def test_the_moodle_csv_maps_users_by_id_number_and_email(built: Built, instructor: User) -> None:
    rows = _csv(instructor, "instructor-gradebook-moodle-csv")
    assert rows[0][:4] == ["ID number", "Email address", "First name", "Last name"]
    assert rows[0][-1] == "Course total (%)" and "Lab 1" in rows[0]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["ID number"] == "sN00000" and first["Email address"] == "s000@example.edu"
    assert first["Lab 1"] == "0" and first["Exam Late"] == ""


# --------------------------------------------------------------------------- the grading policy page


def test_the_policy_page_refuses_bad_categories_and_only_instructors_save(built: Built, instructor: User,
                                                                          ta: User) -> None:
    url = reverse("instructor-grade-policy", args=["dlcv"])
    assert client_for(ta).get(url).status_code == 200
    assert client_for(ta).post(url, {"rows": "1", "c0-name": "x", "c0-weight": "10"}).status_code == 403
    assert client_for(built.students[0]).get(url).status_code == 403
    bad = client_for(instructor).post(url, {"rows": "2", "c0-name": "", "c0-weight": "10", "c0-kinds": ["lab"],
                                            "c1-name": "b", "c1-weight": "-3"})
    assert bad.status_code == 400 and "needs a name" in bad.content.decode()
    twice = client_for(instructor).post(url, {"rows": "2", "c0-name": "a", "c0-weight": "10", "c0-items": ["quiz:exam-1"],
                                              "c1-name": "b", "c1-weight": "10", "c1-items": ["quiz:exam-1"]})
    assert twice.status_code == 400 and not GradeCategory.objects.exists()
    page = client_for(instructor).get(url).content.decode()
    assert "the default below" in page and 'value="40"' in page


def test_weights_that_do_not_add_up_are_said_on_the_gradebook(built: Built, instructor: User) -> None:
    GradeCategory.objects.create(course=Course.objects.get(slug="dlcv"), position=1, name="實驗", weight=Decimal(30),
                                 kinds=["lab"], translations={"en": {"name": "Labs"}})
    html = client_for(instructor).get(reverse("instructor-gradebook", args=["dlcv"])).content.decode()
    assert "The weights add up to 30, not 100" in html
    zh = client_for(instructor, "zh-hant").get(reverse("instructor-gradebook", args=["dlcv"])).content.decode()
    assert "實驗" in zh


def test_an_unpublished_item_is_never_missing_and_counts_nowhere(built: Built) -> None:
    from grades.policy import ItemState

    student = built.students[0]  # nothing in lab 1, which is past its due date
    course = Course.objects.get(slug="dlcv")
    before = course_grades(course=course, user=student)
    assert before.rows[0].cells[0].state is ItemState.MISSING
    built.labs[0].published = False
    built.labs[0].save()
    after = course_grades(course=course, user=student)
    assert after.rows[0].cells[0].state is ItemState.PENDING and not after.items[0].counts
    assert after.rows[0].percent > before.rows[0].percent
    html = client_for(student).get(reverse("my-grades", args=["dlcv"])).content.decode()
    assert "Lab 1<" not in html and "Lab 2<" in html
