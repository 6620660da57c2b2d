"""Failed logins: counted per account and per client address (django-axes, ``accounts.lockout``).

Through the real login page and token API with the test client: an account is locked after a few
failures, an address only after many (a lecture hall shares one NAT address), a spoofed
X-Forwarded-For changes nothing unless a trusted proxy sent it.
"""

from __future__ import annotations

import itertools
import time
from datetime import timedelta
from functools import cache
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import make_password
from django.db.models import Sum
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import PASSWORD, make_user
from dlcv_site.client_address import client_address

LOGIN = "/accounts/login/"
TOKEN = "/api/auth/token/"
HALL = "203.0.113.7"  # one NAT address in front of a whole lecture hall
ELSEWHERE = "198.51.100.20"


@pytest.fixture(autouse=True)
def _fast_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@cache
def _browser() -> Client:
    return Client()  # one (its middleware loads once), with no cookies kept between logins


def page_login(username: str, password: str, address: str = HALL, **headers: str) -> Any:
    browser = _browser()
    browser.cookies.clear()
    return browser.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, headers=headers)


@cache
def _api_client() -> APIClient:
    return APIClient()


def api_login(username: str, password: str, address: str = HALL) -> Any:
    return _api_client().post(TOKEN, {"username": username, "password": password}, format="json",
                              REMOTE_ADDR=address)


def failures_from(address: str) -> int:
    return AccessAttempt.objects.filter(ip_address=address).aggregate(n=Sum("failures_since_start"))["n"] or 0


def account_limit(settings: Any) -> int:
    return int(settings.LOGIN_FAILURE_LIMITS["username"])


def address_limit(settings: Any) -> int:
    return int(settings.LOGIN_FAILURE_LIMITS["ip_address"])


# --------------------------------------------------------------------------- per account


@pytest.mark.django_db
def test_an_accounts_failures_lock_that_account_and_no_other(settings: Any) -> None:
    make_user("alice")
    make_user("bob")
    limit = account_limit(settings)
    for _ in range(limit - 1):
        wrong = page_login("alice", "guess")
        assert wrong.status_code == 200 and "Please try again" in wrong.content.decode()
    locked = page_login("alice", "guess")
    assert locked.status_code == 429 and int(locked["Retry-After"]) == settings.LOGIN_LOCKOUT_MINUTES * 60
    assert "Too many failed logins" in locked.content.decode()
    # Locked: the right password does not open it either, from anywhere.
    assert page_login("alice", PASSWORD).status_code == 429
    assert page_login("alice", PASSWORD, address=ELSEWHERE).status_code == 429
    assert page_login(" Alice", PASSWORD, address=ELSEWHERE).status_code == 429  # the same account
    # Hammering the locked account counts no further towards its address ...
    for _ in range(3 * address_limit(settings) // limit):
        assert page_login("alice", "guess").status_code == 429
    assert failures_from(HALL) == limit
    # ... so a neighbour behind the same address logs in.
    assert page_login("bob", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_the_lockout_ends_after_the_cool_off(settings: Any) -> None:
    make_user("alice")
    for _ in range(account_limit(settings)):
        page_login("alice", "guess")
    assert page_login("alice", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time
                                 - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES, seconds=1))
    assert page_login("alice", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_the_token_api_counts_with_the_login_page(settings: Any) -> None:
    make_user("alice")
    make_user("bob")
    limit = account_limit(settings)
    for _ in range(limit - 2):
        assert api_login("alice", "guess").status_code == 400
    assert page_login("alice", "guess").status_code == 200
    locked = api_login("alice", "guess")
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert "Too many failed logins" in locked.json()["detail"]
    assert api_login("alice", PASSWORD, address=ELSEWHERE).status_code == 429
    assert page_login("alice", PASSWORD, address=ELSEWHERE).status_code == 429
    assert api_login("bob", PASSWORD).status_code == 200


@pytest.mark.django_db
def test_the_admin_login_counts_with_the_login_page(settings: Any) -> None:
    make_user("root", is_staff=True, is_superuser=True)
    admin = Client()
    for _ in range(account_limit(settings) - 1):
        assert admin.post("/admin/login/", {"username": "root", "password": "guess"}, REMOTE_ADDR=HALL).status_code == 200
    assert admin.post("/admin/login/", {"username": "root", "password": "guess"}, REMOTE_ADDR=HALL).status_code == 429
    assert admin.post("/admin/login/", {"username": "root", "password": PASSWORD}).status_code == 429
    assert page_login("root", PASSWORD, address=ELSEWHERE).status_code == 429


# --------------------------------------------------------------------------- per address


def _spray(count: int, address: str, forwarded: bool) -> list[int]:
    """One wrong guess at each of ``count`` accounts; with ``forwarded``, each request claims another
    X-Forwarded-For (as a spoofing client would)."""
    fake = (f"10.{i // 250}.{i % 250}.1" for i in itertools.count())
    return [
        page_login(f"student{i:04d}", "Spring2026!", address,
                   **({"X-Forwarded-For": next(fake)} if forwarded else {})).status_code
        for i in range(count)
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("forwarded", [False, True], ids=["plain", "spoofed-x-forwarded-for"])
def test_a_password_spray_from_one_address_is_stopped(settings: Any, forwarded: bool) -> None:
    make_user("victim")
    limit = address_limit(settings)
    statuses = _spray(limit + 5, HALL, forwarded)
    assert statuses[: limit - 1] == [200] * (limit - 1)
    assert statuses[limit - 1 :] == [429] * 6
    # The address is stopped, a correct password included; the account itself is not locked.
    assert page_login("victim", PASSWORD).status_code == 429
    assert page_login("victim", PASSWORD, address=ELSEWHERE).status_code == 302


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_forwarded_client_address_counts(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    make_user("victim")
    limit = address_limit(settings)
    # The attacker behind the proxy writes its own X-Forwarded-For; the proxy appends the real address.
    fake = (f"192.0.2.{i % 250}" for i in itertools.count())
    for i in range(limit):
        page_login(f"student{i:04d}", "guess", "127.0.0.1", **{"X-Forwarded-For": f"{next(fake)}, {HALL}, 10.1.2.3"})
    assert failures_from(HALL) == limit
    via_proxy = {"X-Forwarded-For": f"{HALL}, 10.1.2.3"}
    assert page_login("victim", PASSWORD, "127.0.0.1", **via_proxy).status_code == 429
    # Another client of the same proxy is not the attacker.
    assert page_login("victim", PASSWORD, "127.0.0.1", **{"X-Forwarded-For": ELSEWHERE}).status_code == 302


@pytest.mark.django_db
def test_a_lecture_hall_behind_one_address_logs_in(settings: Any) -> None:
    """300 students log in from one NAT address within 2 minutes, a third of them mistyping once first."""
    students = 300
    hashed = make_password(PASSWORD)
    User.objects.bulk_create([User(username=f"s{i:03d}", password=hashed) for i in range(students)])
    started = time.perf_counter()
    typos = 0
    statuses = []
    for i in range(students):
        if i % 3 == 0:
            typos += 1
            assert page_login(f"s{i:03d}", PASSWORD[:-1]).status_code == 200
        statuses.append(page_login(f"s{i:03d}", PASSWORD).status_code)
    elapsed = time.perf_counter() - started
    assert statuses == [302] * students
    assert failures_from(HALL) == typos < address_limit(settings)
    print(f"\nlecture hall: goal all {students} students in at most 2 min from one address; "
          f"{statuses.count(302)} logged in, {typos} typos first, in {elapsed:.1f} s")


# --------------------------------------------------------------------------- the client's address


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "expected"),
    [
        ([], "203.0.113.7", "1.2.3.4", "203.0.113.7"),  # no trusted proxy: the header is ignored
        (["127.0.0.1"], "203.0.113.7", "1.2.3.4", "203.0.113.7"),  # not from the proxy: ignored
        (["127.0.0.1"], "127.0.0.1", "203.0.113.7", "203.0.113.7"),
        (["127.0.0.1"], "127.0.0.1", "1.2.3.4, 203.0.113.7", "203.0.113.7"),  # the client's own entry is left
        (["127.0.0.1", "10.0.0.0/8"], "127.0.0.1", "1.2.3.4, 203.0.113.7, 10.9.9.9", "203.0.113.7"),
        (["127.0.0.1"], "127.0.0.1", "garbage, 203.0.113.7", "203.0.113.7"),
        (["127.0.0.1", "10.0.0.0/8"], "127.0.0.1", "garbage, 10.9.9.9", "10.9.9.9"),
        (["127.0.0.1"], "127.0.0.1", "", "127.0.0.1"),
        (["127.0.0.1"], "127.0.0.1", "203.0.113.7:5123", "203.0.113.7"),
        (["::1"], "::1", "[2001:db8::5]:443", "2001:db8::5"),
        (["10.0.0.0/8"], "::ffff:10.1.1.1", "203.0.113.7", "203.0.113.7"),  # an IPv4 proxy on a dual-stack socket
    ],
)
def test_client_address(settings: Any, trusted: list[str], remote: str, forwarded: str, expected: str) -> None:
    settings.TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_the_api_throttles_use_the_same_client_address(settings: Any) -> None:
    """REST framework's own ``get_ident`` believes any X-Forwarded-For; the site's throttle does not."""
    from rest_framework.request import Request

    from dlcv_site.api import SubmissionRateThrottle

    settings.TRUSTED_PROXIES = []
    request = Request(RequestFactory().get("/", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="1.2.3.4"))
    assert SubmissionRateThrottle().get_ident(request) == "203.0.113.7"
