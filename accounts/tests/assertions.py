"""Assertions the accounts tests share."""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import reverse


def assert_sent_to_login(response: HttpResponse) -> None:
    """The response redirects to the login page: the visitor is anonymous, logged out or inactive."""
    location = response.get("Location", "")
    assert response.status_code == 302 and location.startswith(reverse("login")), (response.status_code, location)
