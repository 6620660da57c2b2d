"""The error pages (400, 403, 404, 500): the site's look in the request's language with the ways
back; JSON under /api/ and for the pages' own scripts. The browser and database-down checks are in
test_error_pages_browser.py."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import OperationalError
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from accounts.models import Role
from accounts.tests.factories import make_course, make_member
from dlcv_site import views

HEADINGS = {
    400: "This request could not be understood",
    403: "You may not open this page",
    404: "This page does not exist",
    500: "Something went wrong on our side",
}
#: More fields than Django reads from one query string (DATA_UPLOAD_MAX_NUMBER_FIELDS): a 400.
TOO_MANY_FIELDS = "?" + "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))


def _client(lang: str, user: Any = None, **kwargs: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=lang, **kwargs)
    if user is not None:
        client.force_login(user)
    return client


def _heading(status: int, lang: str) -> str:
    with translation.override(lang):
        return translation.gettext(HEADINGS[status])


def assert_error_page(response: Any, status: int, lang: str, *, logged_in: bool) -> None:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert f'<html lang="{lang}">' in html
    assert f"<h1>{_heading(status, lang)}</h1>" in html
    assert "css/site.css" in html and "css/errors.css" in html  # the site's look
    assert f'href="{reverse("home")}"' in html  # the way back to the courses
    assert (f'href="{reverse("login")}"' in html) is not logged_in
    assert "Traceback" not in html and "settings.py" not in html


def test_the_zh_hant_headings_are_translated() -> None:
    assert all(_heading(status, "zh-hant") != english for status, english in HEADINGS.items())


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "zh-hant"])
def test_404_is_the_sites_page_in_the_requests_language(lang: str) -> None:
    assert_error_page(_client(lang).get("/no/such/page/"), 404, lang, logged_in=False)
    student = make_member(make_course("dlcv"), Role.STUDENT)
    assert_error_page(_client(lang, student).get("/courses/dlcv/labs/no-such-lab/"), 404, lang, logged_in=True)


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "zh-hant"])
def test_403_for_a_student_at_an_instructor_page(lang: str) -> None:
    student = make_member(make_course("dlcv"), Role.STUDENT)
    assert_error_page(_client(lang, student).get("/instructor/"), 403, lang, logged_in=True)


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "zh-hant"])
def test_400_for_a_request_django_refuses(lang: str) -> None:
    assert_error_page(_client(lang).get("/accounts/login/" + TOO_MANY_FIELDS), 400, lang, logged_in=False)


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "zh-hant"])
def test_500_when_a_page_fails(lang: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def database_down(**kwargs: Any) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr("accounts.views.enrollments_for_user", database_down)
    student = make_member(make_course("dlcv"), Role.STUDENT)
    client = _client(lang, student, raise_request_exception=False)
    # Static: it does not ask who is logged in, so it offers the login as well.
    assert_error_page(client.get(reverse("home")), 500, lang, logged_in=False)


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "zh-hant"])
def test_a_form_posted_without_its_csrf_token_gets_the_sites_403(lang: str) -> None:
    response = _client(lang, enforce_csrf_checks=True).post(reverse("login"), {"username": "a", "password": "b"})
    assert response.status_code == 403
    html = response.content.decode()
    with translation.override(lang):
        assert translation.gettext("This form has expired") in html
    assert f'<html lang="{lang}">' in html and f'href="{reverse("home")}"' in html


# --------------------------------------------------------------------------- JSON where JSON is read


@pytest.mark.django_db
def test_api_errors_stay_json() -> None:
    response = Client().get("/api/no/such/thing/")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}
    response = Client().get("/api/labs/" + TOO_MANY_FIELDS)
    assert response.status_code == 400 and set(response.json()) == {"detail"}
    factory = RequestFactory()
    for handler, status in ((views.permission_denied, 403), (views.bad_request, 400)):
        response = handler(factory.get("/api/labs/"), PermissionDenied() if status == 403 else SuspiciousOperation())
        assert response.status_code == status and response["Content-Type"] == "application/json"
    response = views.server_error(factory.get("/api/labs/"))
    assert response.status_code == 500 and response["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_the_pages_scripts_get_json_404s_and_500s(monkeypatch: pytest.MonkeyPatch) -> None:
    """A page's script (fetch with Accept: application/json) reads ``{code, message}``, never a page."""
    client = Client(HTTP_ACCEPT="application/json")
    response = client.get("/no/such/page/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    response = views.server_error(RequestFactory().get("/courses/dlcv/", HTTP_ACCEPT="application/json"))
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
