"""Issue 18 walked end to end in headless Chromium, as its users would: a new instructor creates a
course, imports a 200-student CSV (preview, apply); the invitations are mailed by a real Celery worker
into var/mail/; one student sets a password from the invitation's link and takes an exam; the
instructor registers the test LMS (lti/tests/platform.py, on loopback) for the course on the LTI page;
the LMS launches a learner we have never seen into the exam; the learner takes it; the instructor
releases the results; the LMS's AGS endpoint receives the learner's score, and both students see
theirs on My grades. A roster-imported student has no LMS `sub`, hence no AGS target: nothing is
posted for them. Screenshots of every step under /tmp/shots-walk18/ (1280 px for the instructor,
375 px for the students; zh-Hant and English)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import Course, Enrollment, Role, User
from accounts.tests.factories import make_user
from accounts.tests.test_people_browser import STUDENTS, _link_in, _mails_since, _roster
from dlcv_site.tests.test_security_headers import Violations
from labs.tests.workers import wait_for
from lti.models import LineItem
from lti.services.launch import lti_username
from lti.tests.platform import LEARNER, LaunchSpec, Platform
from quizzes.models import Assessment, AssessmentMode, Attempt, AttemptStatus
from quizzes.services.bank import BankContents, bank_sync
from quizzes.tests.factories import make_assessment
from quizzes.tests.test_browser import TIMEOUT_MS, browser  # noqa: F401  (browser: a fixture)
from quizzes.tests.test_student_pages import SINGLE, TRUEFALSE, _bank

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots-walk18")
WITHIN = 120.0
PASSWORD = "a-long-pass-phrase-42"


def _context(browser: Any, live_server: Any, *, lang: str, width: int) -> Any:  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
    context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": lang, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("dialog", lambda dialog: dialog.accept())  # the exam's submit confirm()
    return page


def _shot(page: Any, name: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name  # no sideways scroll
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _log_in(page: Any, live_server: Any, username: str, password: str, button: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name=button).click()


def _take_exam(page: Any, attempt_user: User, slug: str, *, start: str, submit: str, lang: str) -> Attempt:
    """On the exam's landing page: start, answer both questions, wait for the autosave, submit."""
    from playwright.sync_api import expect

    page.get_by_role("button", name=start).click()
    expect(page).to_have_url(re.compile(r"/attempts/\d+/$"))
    attempt = Attempt.objects.get(assessment__slug=slug, user=attempt_user)
    single = attempt.items.get(question_version__question__bank_id=SINGLE)
    truefalse = attempt.items.get(question_version__question__bank_id=TRUEFALSE)
    page.locator(f"#w-{single.id}-value-1").check()
    page.locator(f"#item-{truefalse.id} input[type=radio]").first.check()
    expect(page.locator("[data-save-state].is-saving, [data-save-state].is-error")).to_have_count(0)
    wait_for(lambda: all(i.response for i in attempt.items.all()), timeout=30, what="both answers saved")
    _shot(page, f"exam-{lang}-375")
    page.get_by_role("button", name=submit).click()
    expect(page).to_have_url(re.compile(rf"/attempts/{attempt.id}/results$"))
    _shot(page, f"exam-submitted-{lang}-375")
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SUBMITTED
    return attempt


def test_a_course_in_use_from_the_roster_import_to_the_lms_gradebook(
        browser: Any, live_server: Any, settings: Any, tmp_path: Path,  # noqa: F811
        celery_worker_process: Any, redis_required: None) -> None:
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    mail_dir = Path(settings.VAR_DIR) / "mail"
    began = time.time() - 1
    contents = _bank()
    bank_sync(contents=BankContents(topics=contents.topics, mock_exams={},
                                    questions=[q for q in contents.questions if q.id in {SINGLE, TRUEFALSE}]))
    creator = make_user("prof", display_name="Prof. Lin")
    creator.set_password(PASSWORD)
    creator.save()
    creator.user_permissions.add(Permission.objects.get(codename="create_course"))

    # 1. The instructor logs in (English, 1280 px) and creates the course.
    prof = _context(browser, live_server, lang="en", width=1280)
    Violations(prof)
    _log_in(prof, live_server, "prof", PASSWORD, "Log in")
    prof.goto(f"{live_server.url}/instructor/")
    prof.get_by_role("link", name="New course").click()
    prof.fill("#id_slug", "dlcv-2027")
    prof.fill("#id_title", "Deep Learning for Computer Vision")
    prof.fill("#id_term", "2027 spring")
    prof.select_option("#id_time_zone", "Asia/Taipei")
    prof.select_option("#id_language", "zh-hant")
    _shot(prof, "01-course-new-en-1280")
    prof.get_by_role("button", name="Create").click()
    expect(prof.locator(".messages")).to_contain_text("Course created")
    _shot(prof, "02-course-created-en-1280")
    course = Course.objects.get(slug="dlcv-2027")

    # 2. The roster: a generated 200-row CSV, previewed, then applied; the worker mails the invitations.
    prof.get_by_role("link", name="Import the roster").click()
    prof.set_input_files("#id_file", str(_roster(tmp_path / "roster.csv")))
    prof.get_by_role("button", name="Preview").click()
    expect(prof.locator(".roster-summary")).to_contain_text(f"{STUDENTS} new members")
    prof.screenshot(path=str(SHOTS / "03-roster-preview-en-1280.png"))  # the top: 200 rows follow
    prof.get_by_role("button", name="Apply these changes").click()
    expect(prof.locator(".messages")).to_contain_text(f"Roster applied: {STUDENTS} new")
    _shot(prof, "04-roster-applied-en-1280")
    assert Enrollment.objects.filter(course=course, role=Role.STUDENT).count() == STUDENTS
    wait_for(lambda: len(_mails_since(mail_dir, began)) >= STUDENTS, timeout=WITHIN, what="200 invitations mailed")

    # 3. A student opens the newest invitation (zh-Hant, 375 px), sets a password, logs in.
    link = _link_in(mail_dir, "r00000042@example.edu", began)
    student = _context(browser, live_server, lang="zh-hant", width=375)
    Violations(student)
    student.goto(link)
    expect(student.locator("main")).to_contain_text("r00000042")
    _shot(student, "05-invitation-zh-375")
    student.fill("#id_new_password1", PASSWORD)
    student.fill("#id_new_password2", PASSWORD)
    student.get_by_role("button", name="設定密碼並登入").click()
    expect(student.locator("main")).to_contain_text("Deep Learning for Computer Vision")
    student.get_by_role("button", name=re.compile("登出")).click()
    _log_in(student, live_server, "r00000042", PASSWORD, "登入")
    expect(student.locator("main")).to_contain_text("Deep Learning for Computer Vision")
    _shot(student, "06-student-home-zh-375")

    # 4. A short exam, published (loaded through the factory: the authoring UI is tested elsewhere).
    exam = make_assessment(course, [SINGLE, TRUEFALSE], mode=AssessmentMode.EXAM, minutes=30, slug="quiz-1")
    Assessment.objects.filter(pk=exam.pk).update(title="Quiz 1")
    # The student finds it on the course home and takes it in the browser.
    student.get_by_role("link", name="Deep Learning for Computer Vision").first.click()
    _shot(student, "07-course-home-zh-375")
    term = student.locator("h1 .course-term").bounding_box()
    assert term is not None and term["height"] < 30  # "2027 spring" on one line at 375 px
    student.get_by_role("link", name="Quiz 1").first.click()
    # The rules in Chinese: the closing-time note is its own sentence, no half-width brackets.
    expect(student.locator("main li", has_text="截止時間結束。")).to_have_count(1)
    expect(student.locator("main")).not_to_contain_text("(")
    _shot(student, "07b-exam-landing-zh-375")
    roster_student = User.objects.get(username="r00000042")
    roster_attempt = _take_exam(student, roster_student, "quiz-1", start="開始", submit="交卷", lang="zh")

    # 5. The instructor registers the test LMS on the course's LTI page.
    platform = Platform(host="localhost").start()  # the live server's host: cookies ignore ports
    try:
        platform.tool_launch_url = live_server.url + reverse("lti-launch")
        platform.tool_jwks_url = live_server.url + reverse("lti-jwks")
        prof.goto(f"{live_server.url}/instructor/courses/dlcv-2027/")
        prof.get_by_role("link", name=re.compile("LTI")).first.click()
        for name, value in platform.registration_fields().items():
            prof.fill(f"#id_{name}", value)
        _shot(prof, "08-lti-register-en-1280")
        prof.get_by_role("button", name="Register").click()
        login_url = prof.locator("input[id^=login-url-]").first.input_value()
        assert login_url.startswith(live_server.url + "/lti/login/")
        _shot(prof, "09-lti-registered-en-1280")
        platform.tool_login_url = login_url

        # 6. The LMS launches a learner never seen before into the exam's resource link (English, 375 px).
        sub = "lms-learner-9001"
        assert not User.objects.filter(username=lti_username(issuer=platform.issuer, sub=sub)).exists()
        hint = platform.prepare(LaunchSpec(sub=sub, roles=LEARNER, name="Ana Chen", custom={"assessment": "quiz-1"}))
        learner = _context(browser, live_server, lang="en", width=375)
        Violations(learner)
        learner.goto(f"{platform.url}/start/{hint}")
        learner.get_by_role("button", name="Open the activity").click()
        expect(learner).to_have_url(re.compile(r"/courses/dlcv-2027/a/quiz-1/$"))
        _shot(learner, "10-lti-landed-en-375")
        lms_user = User.objects.get(username=lti_username(issuer=platform.issuer, sub=sub))
        expect(learner.locator("header")).to_contain_text("Log out (Ana Chen)")  # the LMS's name, not ours
        expect(learner.locator("body")).not_to_contain_text(lms_user.username)
        assert Enrollment.objects.get(course=course, user=lms_user).role == Role.STUDENT
        wait_for(lambda: LineItem.objects.filter(assessment=exam).exclude(url="").exists(), timeout=WITHIN,
                 what="the exam's line item on the LMS")
        lms_attempt = _take_exam(learner, lms_user, "quiz-1", start="Start", submit="Submit answers", lang="en")
        assert not platform.scores  # never before the results are released

        # 7. The instructor releases the results; the LMS's AGS endpoint receives the learner's score.
        prof.goto(f"{live_server.url}/instructor/courses/dlcv-2027/assessments/{exam.pk}/")
        prof.get_by_role("button", name="Release results now").click()
        expect(prof.locator("#results")).to_contain_text("Results released at")
        _shot(prof, "11-results-released-en-1280")
        wait_for(lambda: platform.scores, timeout=WITHIN, what="the exam score at the LMS")
        (score,) = platform.scores  # one: the roster-imported student has no LMS sub, no AGS target
        lms_attempt.refresh_from_db()
        assert (score["userId"], score["scoreGiven"], score["scoreMaximum"]) == (
            sub, float(lms_attempt.points), float(lms_attempt.max_points))
        prof.goto(f"{live_server.url}{reverse('lti-scores', args=['dlcv-2027'])}")
        _shot(prof, "12-lti-scores-en-1280")
    finally:
        platform.stop()

    # 8. Both students see their exam score on My grades.
    for page, attempt, lang, link_name in ((learner, lms_attempt, "en", "My grades"),
                                           (student, roster_attempt, "zh", "我的成績")):
        page.goto(f"{live_server.url}/courses/dlcv-2027/")
        page.get_by_role("link", name=link_name).first.click()
        expect(page).to_have_url(re.compile(r"/courses/dlcv-2027/grades/$"))
        row = page.locator("tr", has_text="Quiz 1")
        attempt.refresh_from_db()
        expect(row).to_contain_text(f"{attempt.points.normalize():f}")
        _shot(page, f"13-my-grades-{lang}-375")
    # In Chinese, the policy's two notes are two paragraphs: no stray space between sentences.
    expect(student.locator("tr", has_text="Quiz 1").locator("th .item-meta")).to_have_text("考試")  # not "考試 · 考試"
    expect(learner.locator("tr", has_text="Quiz 1").locator("th .item-meta")).to_have_text("Exam · Exams")
    notes = student.locator("main p.small").all_text_contents()
    assert any("總成績依" in note for note in notes) and not any("。 " in note for note in notes), notes
    for page in (prof, student, learner):
        page.context.close()
