"""Security headers on every response, HTTPS hardening behind one switch, and a Content-Security-Policy
that every page kind passes (headless Chromium: no violation reported on any page)."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

import conftest
from accounts.models import Role
from accounts.tests.factories import PASSWORD, make_course, make_member, make_user
from labs.services import lab_upsert, submission_create, submission_grade
from labs.tests.factories import lab_answers, make_lab
from labs.tests.test_code_lab_pages import store_graded
from quizzes.models import AssessmentMode, AttemptItem
from quizzes.services.attempts import attempt_start, attempt_submit
from quizzes.services.bank import BankContents, bank_sync
from quizzes.tests.factories import make_assessment
from quizzes.tests.test_browser import _page
from quizzes.tests.test_browser import browser as browser  # the Chromium fixture, re-exported
from quizzes.tests.test_student_pages import ESSAY, ONE_OF_EACH, _bank

# --------------------------------------------------------------------------- headers


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/api/labs/", "/api/nothing/", "/static/css/site.css"])
def test_every_response_carries_the_security_headers(path: str) -> None:
    response = Client().get(path)
    csp = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response  # plain HTTP by default (make run on a laptop)


# --------------------------------------------------------------------------- HTTPS deployments

HTTPS_SETTINGS = ("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_PROXY_SSL_HEADER", "SESSION_COOKIE_SECURE",
                  "CSRF_COOKIE_SECURE", "LANGUAGE_COOKIE_SECURE")


def _settings_with(tmp_path: Path, **env: str) -> dict[str, Any]:
    probe = ("import django, json; django.setup(); from django.conf import settings as s; "
             f"print(json.dumps({{name: getattr(s, name) for name in {HTTPS_SETTINGS!r}}}))")
    # Not the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE either (a deployment never sets it; check --deploy warns).
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SECURE_") and not k.endswith("COOKIE_SECURE")
               and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environ.update(DJANGO_SETTINGS_MODULE="dlcv_site.settings", DLCV_VAR_DIR=str(tmp_path / "var"), **env)
    out = subprocess.run([sys.executable, "-c", probe], cwd=conftest.PROJECT_DIR, env=environ, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_one_setting_switches_https_hardening_on(tmp_path: Path) -> None:
    assert _settings_with(tmp_path) == {"SECURE_SSL_REDIRECT": False, "SECURE_HSTS_SECONDS": 0,
                                        "SECURE_PROXY_SSL_HEADER": None, "SESSION_COOKIE_SECURE": False,
                                        "CSRF_COOKIE_SECURE": False, "LANGUAGE_COOKIE_SECURE": False}
    assert _settings_with(tmp_path, SECURE_HTTPS="1") == {
        "SECURE_SSL_REDIRECT": True, "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"], "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True, "LANGUAGE_COOKIE_SECURE": True}
    # Each part can still be set on its own.
    assert _settings_with(tmp_path, SECURE_HTTPS="1", SECURE_HSTS_SECONDS="600")["SECURE_HSTS_SECONDS"] == 600


def test_djangos_deployment_check_passes_with_the_switch_on(tmp_path: Path) -> None:
    """Only HSTS for subdomains and the preload list are left to the deployment to decide."""
    # Not the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE either (a deployment never sets it; check --deploy warns).
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SECURE_") and not k.endswith("COOKIE_SECURE")
               and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environ.update(DLCV_VAR_DIR=str(tmp_path / "var"), SECURE_HTTPS="1", SECRET_KEY=secrets.token_urlsafe(50))
    out = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=conftest.PROJECT_DIR, env=environ,
                         capture_output=True, text=True)
    warnings = set(re.findall(r"\(security\.(W\d+)\)", out.stdout + out.stderr))
    assert out.returncode == 0 and warnings <= {"W005", "W021"}, out.stdout + out.stderr


@pytest.fixture
def https_deployment(settings: Any, tmp_path: Path) -> None:
    """The settings ``SECURE_HTTPS=1`` produces (read from a fresh settings load), in this process."""
    for name, value in _settings_with(tmp_path, SECURE_HTTPS="1").items():
        setattr(settings, name, tuple(value) if isinstance(value, list) else value)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.django_db
def test_an_https_deployment_redirects_sends_hsts_and_secure_cookies(https_deployment: None) -> None:
    make_user("alice")
    plain = Client().get("/accounts/login/")
    assert plain.status_code == 301 and plain["Location"] == "https://testserver/accounts/login/"
    assert Client().get("/healthz").status_code != 301  # health checks inside the network stay plain HTTP
    via_proxy = {"HTTP_X_FORWARDED_PROTO": "https"}  # TLS ended at nginx, which says so
    page = Client().get("/accounts/login/", **via_proxy)
    assert page.status_code == 200 and page["Strict-Transport-Security"] == "max-age=31536000"
    browser = Client()
    login = browser.post("/accounts/login/", {"username": "alice", "password": PASSWORD}, **via_proxy)
    assert login.status_code == 302
    assert browser.cookies["sessionid"]["secure"] and browser.cookies["csrftoken"]["secure"]
    assert APIClient().get("/api/labs/", **via_proxy)["Strict-Transport-Security"] == "max-age=31536000"


# --------------------------------------------------------------------------- every page kind in Chromium


@pytest.fixture
def site(transactional_db: None) -> dict[str, Any]:
    """One of each page's subjects: a course with an open and a submitted exam, a graded numeric and
    coding lab submission, an essay waiting for grading."""
    contents = _bank()
    bank_sync(contents=BankContents(topics=contents.topics, mock_exams={},
                                    questions=[q for q in contents.questions if q.id in set(ONE_OF_EACH)]))
    course = make_course("dlcv")
    student = make_member(course, username="alice")
    instructor = make_member(course, Role.INSTRUCTOR, username="prof")
    open_exam = make_assessment(course, list(ONE_OF_EACH), slug="exam")
    done_exam = make_assessment(course, list(ONE_OF_EACH), slug="quiz1")
    make_assessment(course, list(ONE_OF_EACH), slug="practice", mode=AssessmentMode.PRACTICE, minutes=None)
    in_progress = attempt_start(user=student, assessment=open_exam)
    submitted = attempt_submit(attempt=attempt_start(user=student, assessment=done_exam))
    essay = AttemptItem.objects.get(attempt=submitted, question_version__question__bank_id=ESSAY)
    lab = make_lab(course, "lab1")
    numeric = submission_create(user=student, lab=lab, answers=lab_answers(lab, student), lang="en").submission
    submission_grade(submission_id=numeric.pk)
    code_lab, _ = lab_upsert(course=course, spec={"slug": "code-iou", "title": "IoU", "kind": "code",
                                                  "codelab": "iou-nms"})
    code = store_graded(submission_create(user=student, lab=code_lab, source_code="x = 1\n", lang="en").submission)
    staff = "/instructor/courses/dlcv"
    return {
        "student": student, "instructor": instructor,
        "anonymous_pages": ["/accounts/login/", "/api/docs/", "/no-such-page/", "/admin/login/"],
        "student_pages": ["/", "/courses/dlcv/", "/courses/dlcv/a/practice/", f"/attempts/{in_progress.pk}/",
                          f"/attempts/{submitted.pk}/results", "/courses/dlcv/labs/", "/labs/lab1/",
                          "/labs/code-iou/", f"/submissions/{numeric.pk}/", f"/submissions/{code.pk}/",
                          "/accounts/tokens/"],
        "instructor_pages": ["/instructor/", f"{staff}/", f"{staff}/bank/", f"{staff}/bank/new/",
                             f"{staff}/questions/{ESSAY}/", f"{staff}/questions/{ESSAY}/edit/",
                             f"{staff}/assessments/", f"{staff}/assessments/new/",
                             f"{staff}/assessments/{open_exam.pk}/", f"{staff}/grading/",
                             f"{staff}/grading/{essay.pk}/", f"{staff}/grades/", f"{staff}/grades/labs/lab1/"],
    }


class Violations:
    """CSP violations a page reports: the DOM event (each blocked script, style or handler) and the
    console's "Refused to …" errors."""

    INIT = """window.__csp = []; document.addEventListener('securitypolicyviolation',
        e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sample || '')));"""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(self.INIT)
        page.on("console", lambda message: self.console.append(message.text)
                if "Content Security Policy" in message.text else None)

    def visit(self, url: str) -> list[str]:
        self.console.clear()
        response = self.page.goto(url, wait_until="load")
        assert response is not None and response.status in (200, 404), (url, response and response.status)
        self.page.wait_for_timeout(300)  # deferred scripts run, first polls and renders happen
        return [*self.page.evaluate("window.__csp"), *self.console]


@pytest.mark.browser
def test_every_page_kind_passes_the_content_security_policy(browser: Any, live_server: Any,
                                                            site: dict[str, Any]) -> None:
    seen: dict[str, list[str]] = {}
    anonymous = browser.new_context(locale="en-US")
    pages = [(Violations(anonymous.new_page()), site["anonymous_pages"]),
             (Violations(_page(browser, live_server, site["student"])), site["student_pages"]),
             (Violations(_page(browser, live_server, site["instructor"])), site["instructor_pages"])]
    for violations, paths in pages:
        for path in paths:
            seen[path] = violations.visit(live_server.url + path)
    assert {path: found for path, found in seen.items() if found} == {}
    # The language switch (a script file now, not an onchange attribute) still switches.
    student_page = pages[1][0].page
    student_page.goto(live_server.url + "/courses/dlcv/")
    student_page.select_option("#lang-select", "zh-hant")
    student_page.wait_for_selector('html[lang="zh-hant"]')
    for context in {anonymous, pages[1][0].page.context, pages[2][0].page.context}:
        context.close()


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from labs.services import queue

    monkeypatch.setattr(queue, "enqueue_gradings", lambda ids, kind="numeric": None)
    yield
