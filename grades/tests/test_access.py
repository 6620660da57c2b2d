"""Who may open every grade page and CSV: the course's students their own My grades (staff are sent to
the gradebook), its staff the gradebook, its CSVs and the policy page (instructors alone change it);
the course's students get 403 at staff pages, outsiders 404, anonymous users the login page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role, User
from accounts.tests.factories import make_course, make_member, make_user
from grades.models import Excusal, GradeCategory

pytestmark = pytest.mark.django_db

STAFF_GETS = ("instructor-gradebook", "instructor-gradebook-csv", "instructor-gradebook-canvas-csv",
              "instructor-gradebook-moodle-csv", "instructor-grade-policy")


@pytest.fixture(autouse=True)
def _fast_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people() -> dict[str, User | None]:
    course = make_course("dlcv")
    make_course("other")
    return {"anonymous": None, "outsider": make_user("olga"), "student": make_member(course, Role.STUDENT, "sam"),
            "ta": make_member(course, Role.TA, "tina"), "instructor": make_member(course, Role.INSTRUCTOR, "ines")}


def _get(user: User | None, url: str, method: str = "get", data: dict[str, Any] | None = None) -> Any:
    client = Client()
    if user is not None:
        client.force_login(user)
    return getattr(client, method)(url, data or {})


@pytest.mark.parametrize("name", STAFF_GETS)
@pytest.mark.parametrize(("who", "status"), [("anonymous", 302), ("outsider", 404), ("student", 403),
                                             ("ta", 200), ("instructor", 200)])
def test_staff_pages(people: dict[str, User | None], name: str, who: str, status: int) -> None:
    response = _get(people[who], reverse(name, args=["dlcv"]))
    assert response.status_code == status
    if who == "anonymous":
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(("who", "status"), [("anonymous", 302), ("outsider", 404), ("student", 200),
                                             ("ta", 302), ("instructor", 302)])
def test_my_grades(people: dict[str, User | None], who: str, status: int) -> None:
    assert _get(people[who], reverse("my-grades", args=["dlcv"])).status_code == status
    assert _get(people[who], reverse("my-grades", args=["other"])).status_code in (302, 404)


@pytest.mark.parametrize(("who", "status"), [("anonymous", 302), ("outsider", 404), ("student", 403),
                                             ("ta", 403), ("instructor", 302)])
def test_only_instructors_change_the_policy_and_excusals(people: dict[str, User | None], who: str, status: int) -> None:
    policy = {"rows": "1", "c0-name": "全部", "c0-weight": "100", "c0-kinds": ["lab"]}
    assert _get(people[who], reverse("instructor-grade-policy", args=["dlcv"]), "post", policy).status_code == status
    assert GradeCategory.objects.exists() is (who == "instructor")
    excuse = {"student": people["student"].pk, "item": "lab:none", "excused": "1"}
    assert _get(people[who], reverse("instructor-grade-excusal", args=["dlcv"]), "post", excuse).status_code == status
    assert not Excusal.objects.exists()  # no such item: refused even for the instructor
