"""The request's language: the switch (cookie), Accept-Language, and ?lang= for one request; and the
one mapping between Django's language codes and the grader core's."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from dlcv_site.i18n import django_language, grader_lang


@pytest.mark.parametrize(("django_code", "grader_code"), [("zh-hant", "zh-Hant"), ("zh-Hant", "zh-Hant"),
                                                          ("zh-tw", "zh-Hant"), ("en", "en"), ("en-us", "en")])
def test_grader_lang_maps_djangos_codes(django_code: str, grader_code: str) -> None:
    assert grader_lang(django_code) == grader_code
    with translation.override(django_code):
        assert grader_lang() == grader_code


def test_django_language_is_the_inverse() -> None:
    assert django_language("zh-Hant") == "zh-hant" and django_language("en") == "en"
    with pytest.raises(ValueError):
        django_language("fr")


@pytest.mark.django_db
def test_query_lang_chooses_the_language_of_one_request() -> None:
    client = Client()
    client.cookies["django_language"] = "zh-hant"
    chinese = client.get("/accounts/login/")
    assert '<html lang="zh-hant">' in chinese.content.decode()
    english = client.get("/accounts/login/?lang=en")
    assert '<html lang="en">' in english.content.decode() and english["Content-Language"] == "en"
    assert client.cookies["django_language"].value == "zh-hant"  # for this request only
    assert '<html lang="zh-hant">' in Client(HTTP_ACCEPT_LANGUAGE="en").get(
        "/accounts/login/?lang=zh-Hant").content.decode()
    # Not a language we speak: the usual choice stands.
    assert '<html lang="zh-hant">' in client.get("/accounts/login/?lang=fr").content.decode()


@pytest.mark.django_db
def test_api_errors_follow_the_request_language() -> None:
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get("/api/labs/")
    chinese = Client(HTTP_ACCEPT_LANGUAGE="zh-Hant").get("/api/labs/")
    by_query = Client(HTTP_ACCEPT_LANGUAGE="en").get("/api/labs/?lang=zh-Hant")
    assert english.status_code == chinese.status_code == by_query.status_code == 401
    assert english.json()["detail"] != chinese.json()["detail"] == by_query.json()["detail"]
