"""The people pages walked in headless Chromium, as a new instructor would: create a course, import
a 200-student CSV (preview, apply), and a student sets a password from the invitation read from the
mail folder (written by a real Celery worker, as ``make run``'s embedded default does), then logs in.
Screenshots at 375 px in English and Traditional Chinese (var/screenshots/);
no Content-Security-Policy violation on any step."""

from __future__ import annotations

import email
import email.policy
import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission

from accounts.models import Course, Enrollment, Role, User
from accounts.tests.factories import make_user
from dlcv_site.tests.test_security_headers import Violations
from quizzes.tests.test_browser import _page, browser  # noqa: F401  (browser: a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.VAR_DIR) / "screenshots"
STUDENTS = 200


def _csp(page: Any) -> list[str]:
    return list(page.evaluate("window.__csp"))


def _roster(path: Path) -> Path:
    rows = ["SIS User ID,Student,Email,Section"]  # a Canvas-style header
    rows += [f"r{n:08d},學生{n:03d},r{n:08d}@example.edu,{'AB'[n % 2]}" for n in range(STUDENTS)]
    path.write_text("\ufeff" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _mails_since(mail_dir: Path, began: float) -> list[Path]:
    return [p for p in mail_dir.glob("*@example.edu-*") if p.stat().st_mtime >= began] if mail_dir.exists() else []


def _link_in(mail_dir: Path, address: str, began: float) -> str:
    [path] = [p for p in _mails_since(mail_dir, began) if f"-{address}-" in p.name]
    message = email.message_from_bytes(path.read_bytes().rsplit(b"\n" + b"-" * 79, 1)[0], policy=email.policy.default)
    body = message.get_body(preferencelist=("plain",)).get_content()
    found = re.search(r"https?://\S+/accounts/invitation/\S+/", body)
    assert found is not None, body
    return found.group(0)


def test_a_new_instructor_imports_a_class_and_a_student_sets_a_password(
        browser: Any, live_server: Any, settings: Any, tmp_path: Path, celery_worker_process: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # The worker's mail folder: the embedded default (no EMAIL_URL), var/mail/.
    mail_dir = Path(settings.VAR_DIR) / "mail"
    began = time.time() - 1
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    creator = make_user("prof", display_name="Prof. Lin")
    creator.user_permissions.add(Permission.objects.get(codename="create_course"))

    # The instructor (English, a phone's width): a new course.
    page = _page(browser, live_server, creator, width=375)
    Violations(page)
    page.goto(f"{live_server.url}/instructor/")
    page.get_by_role("link", name="New course").click()
    page.fill("#id_slug", "dlcv-2027")
    page.fill("#id_title", "Deep Learning for Computer Vision")
    page.fill("#id_term", "2027 spring")
    page.select_option("#id_time_zone", "Asia/Taipei")
    page.select_option("#id_language", "zh-hant")
    page.screenshot(path=str(SCREENSHOTS / "people-course-new-en-375.png"), full_page=True)
    page.get_by_role("button", name="Create").click()
    expect(page.locator(".messages")).to_contain_text("Course created")
    assert _csp(page) == []

    # The roster: preview (nothing written yet), then apply.
    page.get_by_role("link", name="Import the roster").click()
    page.set_input_files("#id_file", str(_roster(tmp_path / "canvas-export.csv")))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".roster-summary")).to_contain_text(f"{STUDENTS} new members")
    expect(page.locator(".roster-summary")).to_contain_text(f"{STUDENTS} new accounts, invited by email")
    assert not User.objects.filter(student_number__isnull=False).exists()
    page.screenshot(path=str(SCREENSHOTS / "people-roster-preview-en-375.png"), full_page=False)
    page.get_by_role("button", name="Apply these changes").click()
    expect(page.locator(".messages")).to_contain_text(f"Roster applied: {STUDENTS} new")
    course = Course.objects.get(slug="dlcv-2027")
    assert Enrollment.objects.filter(course=course, role=Role.STUDENT).count() == STUDENTS
    page.screenshot(path=str(SCREENSHOTS / "people-course-roster-en-375.png"), full_page=False)
    assert _csp(page) == []
    deadline = time.monotonic() + 120
    while len(_mails_since(mail_dir, began)) < STUDENTS and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(_mails_since(mail_dir, began)) == STUDENTS

    # The same file again: the preview says nothing changes.
    page.get_by_role("link", name="Import the roster").click()
    page.set_input_files("#id_file", str(tmp_path / "canvas-export.csv"))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("main")).to_contain_text("The roster already matches the file.")

    # The people page in Traditional Chinese: a join code turned on.
    page.goto(f"{live_server.url}/instructor/courses/dlcv-2027/people/")
    page.select_option("#lang-select", "zh-hant")
    page.wait_for_selector('html[lang="zh-hant"]')
    page.get_by_role("button", name="開啟").click()
    expect(page.locator(".join-code")).to_have_text(re.compile(r"^[A-Z2-9]{8}$"))
    page.screenshot(path=str(SCREENSHOTS / "people-staff-join-code-zh-375.png"), full_page=True)
    assert _csp(page) == []
    page.context.close()

    # A student: the invitation from the mail folder (the course's language: zh-Hant).
    link = _link_in(mail_dir, "r00000007@example.edu", began)
    for lang in ("en", "zh-hant"):
        context = browser.new_context(viewport={"width": 375, "height": 800}, locale="en-US")
        context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": lang, "url": live_server.url}])
        student = context.new_page()
        Violations(student)
        student.goto(link)
        expect(student.locator("main")).to_contain_text("r00000007")
        student.screenshot(path=str(SCREENSHOTS / f"people-invitation-{lang}-375.png"), full_page=True)
        assert _csp(student) == []
        if lang == "en":
            context.close()  # only looked at: the link stays good until a password is set
    student.fill("#id_new_password1", "a-long-pass-phrase-42")
    student.fill("#id_new_password2", "a-long-pass-phrase-42")
    student.get_by_role("button", name="設定密碼並登入").click()
    expect(student.locator("main")).to_contain_text("Deep Learning for Computer Vision")
    student.screenshot(path=str(SCREENSHOTS / "people-student-welcome-zh-375.png"), full_page=True)

    # Logged out, the link is spent; the password logs in.
    student.get_by_role("button", name=re.compile("登出")).click()
    student.goto(link)
    expect(student.locator("main")).to_contain_text("這個連結已使用過或已過期。")
    student.goto(f"{live_server.url}/accounts/login/")
    student.fill("#id_username", "r00000007")
    student.fill("#id_password", "a-long-pass-phrase-42")
    student.get_by_role("button", name="登入").click()
    expect(student.locator("main")).to_contain_text("Deep Learning for Computer Vision")
    assert _csp(student) == []
    context.close()
