"""The login backend reads the session's user with one SQL statement compiled once, and returns what
Django's ModelBackend returns."""

from __future__ import annotations

import pytest
from django.contrib.auth.backends import ModelBackend
from django.test import Client

from accounts.backends import UserBackend
from accounts.models import User
from accounts.tests.assertions import assert_sent_to_login
from accounts.tests.factories import PASSWORD, make_user


def _fields(user: User) -> dict[str, object]:
    return {field.attname: getattr(user, field.attname) for field in User._meta.concrete_fields}


@pytest.mark.django_db
def test_get_user_returns_what_model_backend_returns(django_assert_num_queries) -> None:
    user = make_user("ada")
    user.display_name, user.email, user.is_staff = "Ada L.", "ada@example.org", True
    user.save()
    with django_assert_num_queries(1):
        ours = UserBackend().get_user(str(user.pk))  # the session stores the id as text
    assert ours is not None and ours._state.adding is False
    assert _fields(ours) == _fields(ModelBackend().get_user(user.pk))
    assert ours.check_password(PASSWORD)  # the password hash came through unchanged


@pytest.mark.django_db
def test_get_user_refuses_missing_inactive_and_malformed_ids() -> None:
    user = make_user("grace")
    backend = UserBackend()
    assert backend.get_user(user.pk + 1000) is None
    assert backend.get_user("not-a-number") is None
    user.is_active = False
    user.save()
    assert backend.get_user(user.pk) is None
    assert ModelBackend().get_user(user.pk) is None


@pytest.mark.django_db
def test_a_deactivated_user_is_logged_out_on_the_next_request() -> None:
    user = make_user("barbara")
    browser = Client()
    browser.force_login(user)
    assert browser.get("/").status_code == 200
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = browser.get("/")
    assert_sent_to_login(response)
