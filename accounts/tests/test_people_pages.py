"""The people pages over HTTP: who may open or act on each (students and outsiders refused, nothing
written), and what an allowed request does: a course, staff, join codes, TAs' sections, the import."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import Course, DroppedEnrollment, Enrollment, Role, TeachingSection, User
from accounts.tests.factories import make_course, make_member, make_user

ROSTER = b"Student number,Name,Email,Section\ns1,Ann,ann@example.edu,A\ns2,Bo,bo@example.edu,B\n"
WHO = ("anonymous", "student", "ta", "instructor", "other-instructor", "creator", "superuser")


@pytest.fixture
def world(db, settings) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # seven accounts a cell
    course, other = make_course("dlcv"), make_course("other")
    creator = make_user("creator")
    creator.user_permissions.add(Permission.objects.get(codename="create_course"))
    users = {"anonymous": None, "student": make_member(course, Role.STUDENT, "student"),
             "ta": make_member(course, Role.TA, "ta"), "instructor": make_member(course, Role.INSTRUCTOR, "instructor"),
             "other-instructor": make_member(other, Role.INSTRUCTOR, "other-instructor"), "creator": creator,
             "superuser": make_user("root", is_superuser=True)}
    return {"course": course, "users": users}


def snapshot() -> tuple[list[Any], ...]:
    return (list(Course.objects.order_by("pk").values_list("slug", "join_code")),
            list(Enrollment.objects.order_by("pk").values_list("user_id", "course_id", "role", "section")),
            list(User.objects.order_by("pk").values_list("username", "email")),
            list(TeachingSection.objects.values_list("user_id", "section")),
            list(DroppedEnrollment.objects.values_list("user_id")))


def request(world: dict[str, Any], who: str, method: str, url: str, data: Any = None) -> Any:
    client = Client()
    if world["users"][who] is not None:
        client.force_login(world["users"][who])
    return client.post(url, data) if method == "POST" else client.get(url)


def _ta_pk(w: dict[str, Any]) -> int:
    return w["users"]["ta"].pk


PAGES: dict[str, tuple[str, Any, Any]] = {
    # name: (method, url(world), data(world))
    "course-new GET": ("GET", lambda w: reverse("instructor-course-new"), None),
    "course-new POST": ("POST", lambda w: reverse("instructor-course-new"),
                        lambda w: {"slug": "made", "title": "Made", "term": "2026", "time_zone": "Asia/Taipei",
                                   "language": "en"}),
    "roster GET": ("GET", lambda w: reverse("instructor-roster-import", args=["dlcv"]), None),
    "roster preview": ("POST", lambda w: reverse("instructor-roster-import", args=["dlcv"]),
                       lambda w: {"file": SimpleUploadedFile("r.csv", ROSTER)}),
    "roster apply": ("POST", lambda w: reverse("instructor-roster-import", args=["dlcv"]),
                     lambda w: {"apply": "1", "filename": "r.csv", "content": ROSTER.decode()}),
    "people GET": ("GET", lambda w: reverse("instructor-course-people", args=["dlcv"]), None),
    "people add": ("POST", lambda w: reverse("instructor-course-people", args=["dlcv"]),
                   lambda w: {"username": "newta", "email": "newta@example.edu", "name": "New TA", "role": "ta"}),
    "staff remove": ("POST", lambda w: reverse("instructor-staff-remove", args=["dlcv", _ta_pk(w)]), lambda w: {}),
    "staff sections": ("POST", lambda w: reverse("instructor-staff-sections", args=["dlcv", _ta_pk(w)]),
                       lambda w: {"sections": "A, B"}),
    "join-code": ("POST", lambda w: reverse("instructor-join-code", args=["dlcv"]), lambda w: {"action": "rotate"}),
}

L = "login"
#                       anonymous student  ta   instructor other-instr creator superuser
MATRIX: dict[str, tuple[Any, ...]] = {
    "course-new GET":    (L,        403,    403,  403,       403,        200,    200),
    "course-new POST":   (L,        403,    403,  403,       403,        302,    302),
    "roster GET":        (L,        403,    403,  200,       404,        404,    200),
    "roster preview":    (L,        403,    403,  200,       404,        404,    200),
    "roster apply":      (L,        403,    403,  302,       404,        404,    302),
    "people GET":        (L,        403,    403,  200,       404,        404,    200),
    "people add":        (L,        403,    403,  302,       404,        404,    302),
    "staff remove":      (L,        403,    403,  302,       404,        404,    302),
    "staff sections":    (L,        403,    403,  302,       404,        404,    302),
    "join-code":         (L,        403,    403,  302,       404,        404,    302),
}  # fmt: skip

CELLS = [(page, who, expected) for page, row in MATRIX.items() for who, expected in zip(WHO, row, strict=True)]


@pytest.mark.parametrize(("page", "who", "expected"), CELLS, ids=[f"{p}-{w}" for p, w, _e in CELLS])
def test_access_table(world: dict[str, Any], page: str, who: str, expected: Any) -> None:
    method, url, data = PAGES[page]
    before = snapshot()
    response = request(world, who, method, url(world), data(world) if data else None)
    if expected == L:
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    else:
        assert response.status_code == expected
    if expected != 302 or method == "GET" or page == "roster preview":
        assert snapshot() == before  # refused requests, GETs and previews write nothing
    else:
        assert snapshot() != before


@pytest.mark.django_db
def test_a_creator_becomes_the_new_course_instructor(world: dict[str, Any]) -> None:
    response = request(world, "creator", "POST", reverse("instructor-course-new"),
                       {"slug": "dlcv-2027", "title": "DLCV", "term": "2027", "time_zone": "Europe/Paris",
                        "language": "en"})
    assert response["Location"] == reverse("instructor-course", args=["dlcv-2027"])
    course = Course.objects.get(slug="dlcv-2027")
    assert (course.time_zone, course.language) == ("Europe/Paris", "en")
    assert Enrollment.objects.get(course=course).role == Role.INSTRUCTOR
    taken = request(world, "creator", "POST", reverse("instructor-course-new"),
                    {"slug": "dlcv", "title": "x", "term": "", "time_zone": "Asia/Taipei", "language": "en"})
    assert taken.status_code == 200 and "A course with this short name exists." in taken.content.decode()


@pytest.mark.django_db
def test_join_code_rotate_turn_off_and_join(world: dict[str, Any]) -> None:
    course: Course = world["course"]
    request(world, "instructor", "POST", reverse("instructor-join-code", args=["dlcv"]), {"action": "rotate"})
    first = Course.objects.get(pk=course.pk).join_code
    request(world, "instructor", "POST", reverse("instructor-join-code", args=["dlcv"]), {"action": "rotate"})
    second = Course.objects.get(pk=course.pk).join_code
    assert first and second and first != second and len(second) == 8
    newcomer = make_user("newcomer")
    world["users"]["newcomer"] = newcomer
    refused = request(world, "newcomer", "POST", reverse("course-join"), {"code": first})
    assert refused.status_code == 400 and not Enrollment.objects.filter(user=newcomer).exists()
    joined = request(world, "newcomer", "POST", reverse("course-join"), {"code": second.lower()})
    assert joined["Location"] == reverse("course-dashboard", args=["dlcv"])
    assert Enrollment.objects.get(user=newcomer, course=course).role == Role.STUDENT
    request(world, "instructor", "POST", reverse("instructor-join-code", args=["dlcv"]), {"action": "disable"})
    assert Course.objects.get(pk=course.pk).join_code is None
    late = make_user("late")
    world["users"]["late"] = late
    assert request(world, "late", "POST", reverse("course-join"), {"code": second}).status_code == 400


@pytest.mark.django_db
def test_a_ta_limited_to_a_section_sees_only_its_students_in_the_gradebook(world: dict[str, Any]) -> None:
    request(world, "instructor", "POST", reverse("instructor-roster-import", args=["dlcv"]),
            {"apply": "1", "filename": "r.csv", "content": ROSTER.decode()})
    book_url = reverse("instructor-gradebook", args=["dlcv"])

    def names(who: str) -> set[str]:
        book = request(world, who, "GET", book_url).context["book"]
        return {row["student"].username for row in book["rows"]}  # grades.presenters.gradebook_view

    assert names("ta") == {"student", "s1", "s2"}
    request(world, "instructor", "POST", reverse("instructor-staff-sections", args=["dlcv", _ta_pk(world)]),
            {"sections": "A"})
    assert names("ta") == {"s1"}
    assert names("instructor") == {"student", "s1", "s2"}
