import pytest
from django.test import Client

from accounts.models import Role
from accounts.selectors import user_sees_instructor_link
from accounts.services import demo_course_create, user_enroll
from accounts.tests.assertions import assert_sent_to_login
from accounts.tests.factories import make_course, make_member, make_user


@pytest.fixture
def course():
    return make_course("dlcv-2026")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_student_cannot_open_admin(course) -> None:
    student = make_member(course, Role.STUDENT)
    response = client_for(student).get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/instructor/", "/instructor/courses/dlcv-2026/"])
def test_student_gets_403_on_instructor_pages(course, path: str) -> None:
    student = make_member(course, Role.STUDENT)
    assert client_for(student).get(path).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.INSTRUCTOR, Role.TA])
def test_course_staff_open_instructor_pages(course, role: str) -> None:
    teacher = make_member(course, role)
    client = client_for(teacher)
    assert client.get("/instructor/").status_code == 200
    page = client.get("/instructor/courses/dlcv-2026/")
    assert page.status_code == 200 and teacher.username in page.content.decode()


@pytest.mark.django_db
def test_instructor_of_another_course_gets_404(course) -> None:
    other_teacher = make_member(make_course("other"), Role.INSTRUCTOR)
    assert client_for(other_teacher).get("/instructor/courses/dlcv-2026/").status_code == 404


@pytest.mark.django_db
def test_anonymous_is_sent_to_login() -> None:
    for path in ["/", "/instructor/"]:
        response = Client().get(path)
        assert_sent_to_login(response)


@pytest.mark.django_db
def test_superuser_opens_admin() -> None:
    admin_user = make_user("root", is_staff=True, is_superuser=True)
    assert client_for(admin_user).get("/admin/").status_code == 200


@pytest.mark.django_db
def test_login_page_logs_in_and_out() -> None:
    make_user("alice")
    client = Client()
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": "alice", "password": "correct-horse-battery-staple"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    bad = Client().post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert bad.status_code == 200 and "didn" in bad.content.decode()
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_demo_course_prints_passwords_once() -> None:
    course, accounts = demo_course_create()
    assert {a.role for a in accounts} == {Role.INSTRUCTOR, Role.STUDENT}
    assert all(a.password for a in accounts)
    _, again = demo_course_create()
    assert all(a.password is None for a in again)
    instructor = next(a for a in accounts if a.role == Role.INSTRUCTOR)
    assert Client().login(username=instructor.username, password=instructor.password)


@pytest.mark.django_db(transaction=True)
def test_the_instructor_link_follows_a_role_change() -> None:
    course = make_course("nav")
    user = make_user("newta")
    user_enroll(user=user, course=course, role=Role.STUDENT)
    assert not user_sees_instructor_link(user=user)  # cached now
    user_enroll(user=user, course=course, role=Role.TA)
    assert user_sees_instructor_link(user=user)
