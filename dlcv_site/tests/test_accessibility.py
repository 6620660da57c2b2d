"""Accessibility, WCAG 2.1 AA (issue 21), in headless Chromium: every page kind in both languages
through axe-core and at 320 px; keyboard-only use; the names a screen reader reads for the bank's
choice options.

The course is the one the English-pages check builds (``test_english_pages.build_world``: the whole
bank, the demo course, a practice with every question type checked, a released exam with a graded
essay, graded numeric and coding labs, instructor pages …), committed here so that the live server
sees it, plus the states that check kept only as HTML (an attempt before any check, results before
release) and an exam being taken. ``PAGES`` below is the one table of what is checked: a new page
kind is one line there (and, for its data, a few lines in ``build_world`` or ``_build_more``).

axe-core comes from a package (``axe-playwright-python`` carries ``axe.min.js``; never a CDN). It runs
in one Chromium page per person, reused from page to page. A failure names the page, the language,
the rule, its impact and each failing element's selector. Needs-review items (axe's "incomplete")
of serious or critical impact must be explained in ``EXPLAINED_REVIEWS`` or the test fails. Each page
is also laid out 320 px wide, where it must not scroll sideways (WCAG 1.4.10, reflow).

``A11Y_REPORT=1`` prints every finding; ``A11Y_PAGES=gradebook,lab`` checks only the pages whose names
hold one of those parts (while fixing them; CI sets neither).
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from dlcv_site.tests.test_english_pages import QUESTIONS, World, _answers, build_world, world_grading_patched
from lti.services.registrations import registration_create
from quizzes.models import Assessment, AssessmentMode
from quizzes.services.attempts import attempt_item_save, attempt_start, attempt_submit
from quizzes.tests.factories import make_assessment
from quizzes.tests.test_browser import TIMEOUT_MS, browser, session_cookie  # noqa: F401  (browser: a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: The WCAG 2.1 A and AA rules of axe-core (its tags); best practices are not asked for.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
LANGUAGES = ("en", "zh-hant")


@dataclass(frozen=True)
class PageKind:
    name: str  # a key of World.pages (its URL)
    who: str  # "anonymous", "student" (demo-student), "other" (bob, a second student) or "instructor"
    ready: str = ""  # a selector that is there once the page's scripts have filled it in
    status: int = 200


#: The one table of the pages checked: every page kind of the site, each with data in it.
PAGES: tuple[PageKind, ...] = (
    # Anonymous.
    PageKind("login page", "anonymous"),
    # The site's error pages (templates/errors/), logged out and in.
    PageKind("error page: not found, logged out", "anonymous", status=404),
    PageKind("error page: not found", "student", status=404),
    PageKind("error page: an instructor page a student may not open", "student", status=403),
    PageKind("error page: an LMS launch refused", "anonymous", status=403),
    # Student: quizzes.
    PageKind("home", "student"),
    PageKind("course dashboard", "student"),
    PageKind("landing of a practice", "student"),
    PageKind("landing of a practice set made from the bank", "student"),
    PageKind("landing of a mock exam", "student"),
    PageKind("landing of an exam", "student"),
    PageKind("practice attempt, before any check", "other"),
    PageKind("practice attempt, after checks", "student"),
    PageKind("practice set made from the bank, checked once", "student"),
    PageKind("an exam being taken", "other", ready="[data-timer]"),
    PageKind("a past exam being answered", "student"),
    PageKind("results of a submitted mock exam", "student"),
    PageKind("results of an exam before release", "other"),
    PageKind("results of a released exam", "student"),
    # Student: labs, submissions, tokens.
    PageKind("lab list", "student"),
    PageKind("numeric lab", "student"),
    PageKind("coding lab", "student"),
    PageKind("graded numeric submission", "student"),
    PageKind("graded detection submission, lab closed", "student"),
    PageKind("graded coding submission", "student"),
    PageKind("failed grading", "student"),
    PageKind("API tokens", "student"),
    PageKind("my grades", "student"),
    # Student: the study plan (study/).
    PageKind("study plan", "student"),
    PageKind("study review session", "student"),
    PageKind("study readiness", "student"),
    # Instructor.
    PageKind("item analysis (exam)", "instructor"),
    PageKind("item analysis (practice, first attempts)", "instructor"),
    PageKind("question across assessments (param)", "instructor"),
    PageKind("question across assessments (single)", "instructor"),
    PageKind("instructor home", "instructor"),
    PageKind("instructor course", "instructor"),
    PageKind("bank list", "instructor"),
    PageKind("bank list, one topic", "instructor"),
    *(PageKind(f"question detail ({qtype})", "instructor") for qtype in QUESTIONS),
    *(PageKind(f"question editor ({qtype})", "instructor") for qtype in ("single", "param", "essay")),
    PageKind("new question (matrix)", "instructor"),
    PageKind("assessments", "instructor"),
    PageKind("new assessment", "instructor"),
    PageKind("assessment detail (exam)", "instructor"),
    PageKind("assessment detail (practice set made from the bank)", "instructor"),
    PageKind("gradebook", "instructor"),
    PageKind("grading policy", "instructor"),
    PageKind("class mastery", "instructor"),
    PageKind("lab statistics", "instructor"),
    PageKind("grading queue", "instructor"),
    PageKind("grading item", "instructor"),
    PageKind("regrade requests", "instructor"),
    PageKind("regrade request", "instructor"),
    PageKind("score changes", "instructor"),
    PageKind("class regrade, preview", "instructor"),
    PageKind("class regrade, progress", "instructor"),
    PageKind("grading rubric", "instructor"),
    PageKind("a student's attempt, read by staff", "instructor"),
    PageKind("a student's graded lab submission, read by staff", "instructor"),
    PageKind("LMS platforms (LTI 1.3)", "instructor"),
    PageKind("scores sent to the LMS", "instructor"),
    PageKind("LMS deep linking: choose an activity", "instructor"),
    PageKind("study settings (FSRS)", "instructor"),
)

#: Needs-review items of serious or critical impact that are understood: (rule, axe's reason) → why they
#: are fine. Anything else axe cannot decide fails the test until it is looked at and explained here.
EXPLAINED_REVIEWS: dict[tuple[str, str], str] = {
    ("color-contrast", "Element content contains only non-text characters"):
        "maths operators and symbols (MathML <mo>, ✓, —): axe does not judge symbols; they have the "
        "colour of the text around them, which axe does check",
    ("color-contrast", "Element content is too short to determine if it is actual text content"):
        "one-character maths identifiers and numbers (MathML <mi>, <mn>): the colour of the text around them",
    ("color-contrast", "Element's background color could not be determined because it's partially obscured"):
        "text scrolled out of sight inside a scrolling box (the gradebook's wide table, under its sticky name "
        "column; the question editor's preview pane): the same colours on the same white background as the "
        "part in sight, which axe checks",
    ("color-contrast", "Element's background color could not be determined because element contains an image node"):
        "labels inside the item-analysis SVG charts (axis ticks, item numbers): svg.chart text is #333 on the "
        "page's white (12.6:1, static/css/instructor.css); axe does not compute colours inside an SVG",
}


OVERLAPPED = "background color could not be determined because it is overlapped by another element"


def explained(finding: Finding) -> bool:
    return any(finding.rule == rule and finding.detail.startswith(f"Fix any of the following: {reason}")
               for rule, reason in EXPLAINED_REVIEWS)


# --------------------------------------------------------------------------- the course


def _build_more(world: World) -> None:
    """The states the English-pages check read once and moved past, and an exam being taken (bob's)."""
    course, other = world.course, world.other
    practice = Assessment.objects.get(course=course, slug="every-type")
    world.pages["practice attempt, before any check"] = reverse(
        "attempt", args=[attempt_start(user=other, assessment=practice).id])

    bank_ids = list(QUESTIONS.values())
    midterm = make_assessment(course, bank_ids, mode=AssessmentMode.EXAM, slug="midterm", minutes=90)
    submitted = attempt_start(user=other, assessment=midterm)
    for item in submitted.items.select_related("question_version__question"):
        attempt_item_save(user=other, attempt_id=submitted.id, item_id=item.id,
                          response=_answers(item.question_version.question, item.seed, right=True))
    attempt_submit(attempt=submitted)
    world.pages["results of an exam before release"] = reverse("attempt-results", args=[submitted.id])

    quiz = make_assessment(course, bank_ids, mode=AssessmentMode.EXAM, slug="quiz-3", minutes=50,
                           closes_at=midterm.closes_at + timedelta(hours=1))
    taking = attempt_start(user=other, assessment=quiz)
    first = taking.items.select_related("question_version__question").first()
    attempt_item_save(user=other, attempt_id=taking.id, item_id=first.id,
                      response=_answers(first.question_version.question, first.seed, right=True))
    world.pages["an exam being taken"] = reverse("attempt", args=[taking.id])
    world.pages["login page"] = reverse("login")
    _build_regrades(world)
    _build_lms(world)


def _build_regrades(world: World) -> None:
    """Regrades on the released exam: the student's request answered with a new score (their results
    page shows it), bob's request open, and the single-choice question's key corrected and re-graded."""
    from quizzes.models import AttemptItem, Question
    from quizzes.services import regrades
    from quizzes.tests.regrade_world import FIXED, correct_key

    course, exam_id = world.course, world.ids["exam"]
    slug = course.slug
    mine = AttemptItem.objects.filter(attempt_id=world.ids[f"exam_attempt_{world.student.username}"],
                                      score__lt=1, needs_manual_grading=False).order_by("position").first()
    asked = regrades.regrade_request_create(item_id=mine.pk, student=world.student,
                                            reason="My answer follows the lecture's definition.")
    regrades.regrade_request_answer(request_id=asked.pk, staff=world.instructor, message="Agreed: full credit.",
                                    points=mine.max_points)
    theirs = AttemptItem.objects.filter(attempt_id=world.ids[f"exam_attempt_{world.other.username}"],
                                        needs_manual_grading=False).order_by("position").first()
    open_request = regrades.regrade_request_create(item_id=theirs.pk, student=world.other, reason="Please look again.")
    world.pages["regrade requests"] = reverse("instructor-regrade-queue", args=[slug])
    world.pages["regrade request"] = reverse("instructor-regrade-answer", args=[slug, open_request.pk])
    world.pages["score changes"] = reverse("instructor-score-log", args=[slug, exam_id])
    question = Question.objects.get(bank_id=FIXED)
    old = question.current_version_id
    correct_key(question, world.instructor)
    assessment = Assessment.objects.get(pk=exam_id)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(regrades, "_send", lambda job_id: None)  # applied here, not by a worker
        job = regrades.class_regrade_start(assessment=assessment, question=question, from_version_ids=[old],
                                           allow_lower=False, by=world.instructor)
    regrades.class_regrade_run(job_id=job.pk)
    base = reverse("instructor-class-regrade", args=[slug, exam_id])
    world.pages["class regrade, preview"] = f"{base}?question={FIXED}&versions={old}&allow_lower=1"
    world.pages["class regrade, progress"] = reverse("instructor-regrade-job", args=[slug, exam_id, job.pk])


def _build_lms(world: World) -> None:
    """A platform registered for the course, a score sent to it, a deep linking launch, a refused launch."""
    course = world.course
    registration_create(course=course, by=None, name="Moodle", issuer="https://lms.example.edu", client_id="abc123",
                        auth_url="https://lms.example.edu/mod/lti/auth.php",
                        token_url="https://lms.example.edu/mod/lti/token.php",
                        keyset_url="https://lms.example.edu/mod/lti/certs.php", deployment_ids="1\n2")
    world.pages["LMS platforms (LTI 1.3)"] = reverse("lti-registrations", args=[course.slug])
    world.pages["scores sent to the LMS"] = _lms_score_log(world)
    world.pages["LMS deep linking: choose an activity"] = _lms_deep_link_launch()
    world.pages["error page: an LMS launch refused"] = (
        reverse("lti-login", args=["00000000-0000-4000-8000-000000000000"]) + "?iss=https://unknown.example&login_hint=1")


def _lms_score_log(world: World) -> str:
    """A lab linked in an LMS context with a score sent after a 503 (the log page's rows)."""
    from lti_tool.models import LtiContext, LtiDeployment, LtiUser

    from labs.models import Lab
    from lti.models import LineItem, ScoreOutbox, ScoreSendLog, SendOutcome

    deployment = LtiDeployment.objects.get(registration__issuer="https://lms.example.edu", deployment_id="1")
    context = LtiContext.objects.create(deployment=deployment, id_on_platform="c1", title="DLCV")
    LtiUser.objects.create(registration=deployment.registration, sub="u1", auth_user=world.student)
    lab = Lab.objects.filter(course=world.course).first()
    line_item = LineItem.objects.create(context=context, lab=lab, label=lab.title, maximum=10,
                                        url="https://lms.example.edu/lineitems/1")
    row = ScoreOutbox.objects.create(line_item=line_item, user=world.student, sub="u1", score_given=8,
                                     score_maximum=10, timestamp=timezone.now(), sent_version=1, state="sent")
    ScoreSendLog.objects.create(outbox=row, version=1, score_given=8, status_code=503, outcome=SendOutcome.RETRY)
    ScoreSendLog.objects.create(outbox=row, version=1, score_given=8, status_code=200, outcome=SendOutcome.SENT)
    return reverse("lti-scores", args=[world.course.slug])


def _lms_deep_link_launch() -> str:
    """A deep linking launch as pylti1p3 keeps it after verifying it (in the cache): the picker's data."""
    from uuid import uuid4

    from pylti1p3.contrib.django import DjangoCacheDataStorage

    launch_id = f"lti1p3-launch-{uuid4()}"
    claim = "https://purl.imsglobal.org/spec/lti/claim/"
    DjangoCacheDataStorage().set_value(launch_id, {
        "iss": "https://lms.example.edu", "aud": "abc123", "sub": "prof",
        claim + "message_type": "LtiDeepLinkingRequest", claim + "deployment_id": "1",
        "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings": {
            "deep_link_return_url": "https://lms.example.edu/deep-link", "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["window"]}}, 3600)
    return reverse("lti-deep-link", args=[launch_id])


@pytest.fixture
def live_world(transactional_db: None, live_server: Any) -> Iterator[World]:
    """The course, committed (the live server reads it from its own connection); flushed afterwards."""
    with pytest.MonkeyPatch.context() as patch:
        world_grading_patched(patch)
        world = build_world()
        _build_more(world)
        yield world


# --------------------------------------------------------------------------- axe in the browser


def axe_script() -> str:
    """axe-core's ``axe.min.js``, as the ``axe-playwright-python`` package ships it."""
    try:
        from axe_playwright_python.base import AXE_SCRIPT
    except ImportError as exc:
        pytest.fail(f"axe-core: the axe-playwright-python package is not importable ({exc})", pytrace=False)
    return AXE_SCRIPT


AXE_RUN = """async (tags) => {
    const results = await axe.run(document, {runOnly: {type: "tag", values: tags},
                                              resultTypes: ["violations", "incomplete"]});
    const brief = (items) => items.filter((rule) => rule.nodes.length).map((rule) => ({
        id: rule.id, impact: rule.impact, help: rule.help, tags: rule.tags,
        nodes: rule.nodes.map((node) => ({target: node.target.join(" "), impact: node.impact,
                                          summary: (node.failureSummary || "").slice(0, 300),
                                          html: node.html.slice(0, 160)})),
    }));
    return {version: axe.version, violations: brief(results.violations), incomplete: brief(results.incomplete)};
}"""


@dataclass
class Finding:
    page: str
    lang: str
    rule: str
    impact: str
    help: str
    target: str
    detail: str

    def __str__(self) -> str:
        return (f"  [{self.lang}] {self.page}: {self.rule} ({self.impact}) {self.help}\n"
                f"      at {self.target}\n      {self.detail}")


def axe_check(page: Any, name: str, lang: str) -> tuple[str, list[Finding], list[Finding]]:
    """axe-core's version, the violations and the needs-review items on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_script())
    result = page.evaluate(AXE_RUN, WCAG_TAGS)

    def findings(rules: list[dict[str, Any]]) -> list[Finding]:
        return [Finding(name, lang, rule["id"], node["impact"] or rule["impact"] or "", rule["help"], node["target"],
                        " ".join((node["summary"] or node["html"]).split()))
                for rule in rules for node in rule["nodes"]]

    return result["version"], findings(result["violations"]), findings(result["incomplete"])


REFLOW_WIDTH = 320  # CSS px: WCAG 1.4.10 (1280 px at 400 % zoom)


def reflow_overflow(page: Any) -> str:
    """At 320 px wide, how far the page scrolls sideways and the widest elements that make it ("" if it
    does not): wide tables, formulas and code scroll inside their own boxes, the page never."""
    page.set_viewport_size({"width": REFLOW_WIDTH, "height": 900})
    try:
        return page.evaluate("""(width) => {
            const extra = document.documentElement.scrollWidth - width;
            if (extra <= 1) return "";
            const culprits = [...document.querySelectorAll("body *")]
                .filter((el) => el.getBoundingClientRect().right > width + 1 && el.getClientRects().length)
                .filter((el) => ![...el.children].some((child) => child.getBoundingClientRect().right > width + 1))
                .slice(0, 5)
                .map((el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
                             (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "") +
                             ' "' + el.textContent.trim().slice(0, 24) + '" (' + Math.round(el.getBoundingClientRect().right) + " px)");
            return `${extra} px too wide, by ${culprits.join(", ")}`;
        }""", REFLOW_WIDTH)
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})




def people_pages(browser: Any, live_server: Any, world: World) -> Callable[[str, str], Any]:  # noqa: F811
    """One browser context and page per person, reused; ``page_for(who, lang)`` sets the language."""
    users = {"student": world.student, "other": world.other, "instructor": world.instructor}
    pages: dict[str, Any] = {}

    def page_for(who: str, lang: str) -> Any:
        if who not in pages:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
            if who != "anonymous":
                context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie(users[who]),
                                      "url": live_server.url}])
            pages[who] = context.new_page()
            pages[who].set_default_timeout(TIMEOUT_MS)
        page = pages[who]
        page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": lang, "url": live_server.url}])
        return page

    page_for.pages = pages  # type: ignore[attr-defined]
    return page_for


def _report(findings: list[Finding], limit: int = 60) -> str:
    lines = [str(finding) for finding in findings[:limit]]
    if len(findings) > limit:
        lines.append(f"  … and {len(findings) - limit} more")
    return "\n".join(lines)


def _per_rule(findings: list[Finding]) -> str:
    counts = Counter(f.rule for f in findings)
    pages = {rule: len({(f.page, f.lang) for f in findings if f.rule == rule}) for rule in counts}
    return ", ".join(f"{rule}: {count} element(s) on {pages[rule]} page view(s)" for rule, count in counts.most_common())


def _error_pages(world: World) -> dict[str, str]:
    return {
        "error page: not found, logged out": "/no-such-page/",
        "error page: not found": "/no-such-page/",
        "error page: an instructor page a student may not open": world.pages["instructor course"],
    }


# --------------------------------------------------------------------------- the test


def test_every_page_kind_in_both_languages_has_no_axe_violation(
        browser: Any, live_server: Any, live_world: World) -> None:  # noqa: F811
    world = live_world
    world_pages = {**world.pages, **_error_pages(world)}
    unlisted = set(world_pages) - {kind.name for kind in PAGES}
    missing = {kind.name for kind in PAGES} - set(world_pages)
    assert not missing, f"pages in PAGES without data: {sorted(missing)}"
    # The English-pages check's question editors and new-question forms: one of each form is enough.
    unlisted -= {name for name in unlisted
                 if name.startswith(("question editor (", "new question (", "question across assessments ("))}
    assert not unlisted, f"pages the world builds that PAGES does not check: {sorted(unlisted)}"

    page_for = people_pages(browser, live_server, world)
    # A developer's shortcut while fixing a page: A11Y_PAGES="gradebook,question detail" (parts of names).
    only = [part for part in os.environ.get("A11Y_PAGES", "").split(",") if part]
    violations: list[Finding] = []
    reviews: list[Finding] = []
    reflow: list[str] = []
    seconds: dict[str, float] = {}
    version = ""
    views = 0
    for lang in LANGUAGES:
        for kind in PAGES:
            if only and not any(part in kind.name for part in only):
                continue
            started = time.monotonic()
            page = page_for(kind.who, lang)
            response = page.goto(live_server.url + world_pages[kind.name])
            assert response is not None and response.status == kind.status, (
                f"{kind.name} ({lang}): {world_pages[kind.name]} answered {response and response.status}")
            assert page.evaluate("document.documentElement.lang") == lang, f"{kind.name} is not in {lang}"
            if kind.ready:
                page.wait_for_selector(kind.ready)
            version, found, review = axe_check(page, kind.name, lang)
            if any(OVERLAPPED in r.detail for r in review if not explained(r)):
                # axe saw an element covered at the moment it looked (seen once in a coding lab's test table,
                # under load): it looks again; an element that stays covered fails below.
                page.wait_for_timeout(500)
                version, found, review = axe_check(page, kind.name, lang)
            overflow = reflow_overflow(page)
            if overflow:
                reflow.append(f"  [{lang}] {kind.name}: {overflow}")
            violations += found
            reviews += [r for r in review if r.impact in ("serious", "critical") and not explained(r)]
            views += 1
            seconds[f"{kind.name} ({lang})"] = time.monotonic() - started
    for page in page_for.pages.values():  # type: ignore[attr-defined]
        page.context.close()
    print(f"\naxe-core {version}, {views} page views ({len(PAGES)} page kinds × {len(LANGUAGES)} languages), "
          f"WCAG tags {WCAG_TAGS}: {len(violations)} violation(s) — {_per_rule(violations) or 'none'}; "
          f"{len(reviews)} unexplained serious/critical needs-review item(s) — {_per_rule(reviews) or 'none'}; "
          f"{len(reflow)} page view(s) scrolling sideways at {REFLOW_WIDTH} px; {sum(seconds.values()):.0f} s in the "
          f"browser (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs), slowest: " + ", ".join(f"{name} {took:.1f} s" for name, took in
                                           sorted(seconds.items(), key=lambda kv: -kv[1])[:4]))
    if os.environ.get("A11Y_REPORT"):
        print(_report(violations + reviews, limit=10_000))
    assert not violations, f"axe-core {version}: WCAG 2.1 A/AA violations ({_per_rule(violations)}):\n" + _report(
        violations)
    assert not reviews, ("serious/critical needs-review items not explained in EXPLAINED_REVIEWS "
                         f"({_per_rule(reviews)}):\n" + _report(reviews))
    assert not reflow, f"pages that scroll sideways at {REFLOW_WIDTH} px (WCAG 1.4.10):\n" + "\n".join(reflow)




# --------------------------------------------------------------------------- keyboard only

# The keyboard tests use a small course (the quiz browser tests' slice of the bank) of their own: after
# each action they assert where the focus is, and what the live regions said.

#: Records what the page's live regions would say: each change of a visible live region's text.
SPOKEN_RECORDER = """() => {
    window.spoken = [];
    const live = '[aria-live]:not([aria-live="off"]), [role="status"], [role="alert"], [role="log"]';
    new MutationObserver((records) => {
        const regions = new Set();
        for (const record of records) {
            const node = record.target.nodeType === 1 ? record.target : record.target.parentElement;
            const region = node && node.closest(live);
            if (region && !region.closest("[hidden]")) regions.add(region);
        }
        for (const region of regions) {
            const text = region.textContent.replace(/\\s+/g, " ").trim();
            if (text) window.spoken.push(text);
        }
    }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def tab_to(page: Any, target: Any, *, limit: int = 300) -> None:
    """Press Tab until ``target`` has the focus, as a keyboard user would (fails after ``limit`` presses)."""
    target.wait_for(state="attached")
    for _ in range(limit):
        if target.evaluate("(element) => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    pytest.fail(f"Tab never reached {target} in {limit} presses", pytrace=False)


def focused(page: Any) -> str:
    return page.evaluate("""() => { const el = document.activeElement;
        return el ? el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " " + (el.textContent || "").trim().slice(0, 40) : ""; }""")


def assert_first_tab_is_the_skip_link(page: Any) -> None:
    """A page just loaded: the first Tab reaches the skip link, and it leads to the main content."""
    from playwright.sync_api import expect

    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)"), focused(page)


def _luminance(css_color: str) -> float:
    red, green, blue = (int(part) / 255 for part in re.findall(r"\d+", css_color)[:3])
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    """WCAG's contrast ratio of two CSS rgb() colours."""
    lighter, darker = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def assert_focus_ring_shows(page: Any) -> None:
    """The focused control's outline has 3:1 against the page's background (WCAG 1.4.11)."""
    ring = page.evaluate("""() => { const style = getComputedStyle(document.activeElement);
        return {style: style.outlineStyle, width: parseFloat(style.outlineWidth), color: style.outlineColor,
                background: getComputedStyle(document.body).backgroundColor}; }""")
    assert ring["style"] != "none" and ring["width"] >= 2, (focused(page), ring)
    assert contrast(ring["color"], ring["background"]) >= 3, (focused(page), ring)


def spoken(page: Any) -> list[str]:
    return page.evaluate("window.spoken.splice(0)")


def assert_no_axe_violation(page: Any, name: str) -> None:
    _, found, review = axe_check(page, name, "en")
    unexplained = [r for r in review if r.impact in ("serious", "critical") and not explained(r)]
    assert not found and not unexplained, _report(found + unexplained)


@pytest.fixture
def keyboard_course(browser: Any, transactional_db: None) -> Any:  # noqa: F811
    from accounts.tests.factories import make_course
    from quizzes.services.bank import BankContents, bank_sync
    from quizzes.tests.test_student_pages import ONE_OF_EACH, _bank

    contents = _bank()
    wanted = set(ONE_OF_EACH)
    bank_sync(contents=BankContents(topics=contents.topics, mock_exams={},
                                    questions=[q for q in contents.questions if q.id in wanted]))
    return make_course("dlcv")


def _keyboard_page(browser: Any, live_server: Any, user: User) -> Any:  # noqa: F811
    from quizzes.tests.test_browser import _page

    page = _page(browser, live_server, user)
    page.add_init_script(script=f"document.addEventListener('DOMContentLoaded', {SPOKEN_RECORDER})")
    return page


def test_a_practice_question_is_answered_and_checked_with_the_keyboard_alone(
        browser: Any, live_server: Any, keyboard_course: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    from accounts.tests.factories import make_member
    from quizzes.tests.test_student_pages import ESSAY, PARAM, SINGLE, _item

    student = make_member(keyboard_course, username="alice")
    practice = make_assessment(keyboard_course, [SINGLE, PARAM, ESSAY], mode=AssessmentMode.PRACTICE, minutes=None,
                               slug="practice")
    page = _keyboard_page(browser, live_server, student)
    page.goto(f"{live_server.url}/courses/dlcv/a/practice/")
    start = page.get_by_role("button", name="Start")
    tab_to(page, start)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/attempts/\d+/$"))
    attempt = practice.attempts.get(user=student)
    assert_first_tab_is_the_skip_link(page)

    # A single choice: Tab into the group, an arrow key picks an option; saving is shown, not spoken.
    single = page.locator(f"#item-{_item(attempt, SINGLE).id}")
    first_option = single.locator('input[type="radio"]').first
    tab_to(page, first_option)
    page.keyboard.press("Space")
    expect(first_option).to_be_checked()
    page.keyboard.press("ArrowDown")
    second_option = single.locator('input[type="radio"]').nth(1)
    expect(second_option).to_be_checked()
    expect(second_option).to_be_focused()
    expect(single.locator("[data-save-state]")).to_contain_text("Saved")
    assert spoken(page) == []

    # Check: the focus stays on the button, and the result is said once.
    check = single.get_by_role("button", name="Check")
    tab_to(page, check)
    assert_focus_ring_shows(page)
    page.keyboard.press("Enter")
    expect(single.locator("[data-feedback] .fb-score")).to_contain_text("Score")
    expect(check).to_be_focused()
    expect(check).not_to_have_attribute("aria-disabled", "true")
    page.wait_for_timeout(300)  # the message is set 100 ms after its region is emptied
    said = spoken(page)
    assert len(said) == 1 and said[0].startswith("Score"), said

    # Another variant: a new question is added, and the focus goes to its heading.
    param = page.locator(f"#item-{_item(attempt, PARAM).id}")
    variant = param.get_by_role("button", name="Another variant")
    tab_to(page, variant)
    page.keyboard.press("Enter")
    expect(page.locator("section.q")).to_have_count(4)
    expect(page.locator("section.q").last.locator("h2")).to_be_focused()

    # An essay: its key points, then a self-assessment; the focus stays on each button pressed.
    essay = page.locator(f"#item-{_item(attempt, ESSAY).id}")
    essay_box = essay.locator("textarea")
    tab_to(page, essay_box)
    page.keyboard.type("Weight sharing: the same kernel everywhere.")
    show = essay.get_by_role("button", name="Show key points & peer answers")
    tab_to(page, show)
    page.keyboard.press("Enter")
    point = essay.locator("[data-self-assess] input[type=checkbox]").first
    expect(point).to_be_visible()
    expect(show).to_be_focused()
    spoken(page)
    tab_to(page, point)
    page.keyboard.press("Space")
    expect(point).to_be_checked()
    save = essay.get_by_role("button", name="Save self-assessment")
    tab_to(page, save)
    page.keyboard.press("Enter")
    expect(essay.locator("[data-self-status]")).to_contain_text("Self-assessment saved: 1 of")
    expect(save).to_be_focused()
    assert_no_axe_violation(page, "practice attempt after keyboard checks")
    page.context.close()


def test_an_exam_is_taken_and_submitted_with_the_keyboard_alone(
        browser: Any, live_server: Any, keyboard_course: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    from accounts.tests.factories import make_member
    from quizzes.tests.test_student_pages import NUMERIC, SINGLE, _item

    student = make_member(keyboard_course, username="alice")
    exam = make_assessment(keyboard_course, [NUMERIC, SINGLE], mode=AssessmentMode.EXAM, minutes=30, slug="final")
    page = _keyboard_page(browser, live_server, student)
    page.goto(f"{live_server.url}/courses/dlcv/")
    link = page.get_by_role("link", name="final").first
    tab_to(page, link)
    assert_focus_ring_shows(page)
    page.keyboard.press("Enter")
    start = page.get_by_role("button", name="Start")
    tab_to(page, start)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/attempts/\d+/$"))
    attempt = exam.attempts.get(user=student)
    expect(page.get_by_role("timer", name="Time left")).to_be_visible()

    numeric = page.locator(f"#w-{_item(attempt, NUMERIC).id}-value")
    tab_to(page, numeric)
    page.keyboard.type("-0.5")
    expect(numeric).to_be_focused()
    option = page.locator(f"#item-{_item(attempt, SINGLE).id} input[type=radio]").first
    tab_to(page, option)
    page.keyboard.press("Space")
    expect(option).to_be_checked()
    expect(page.locator("[data-save-state].is-saving")).to_have_count(0)
    assert spoken(page) == []  # autosaving is shown, never spoken
    assert_no_axe_violation(page, "exam being taken")

    submit = page.get_by_role("button", name="Submit answers")
    tab_to(page, submit)
    page.keyboard.press("Enter")  # the confirm() dialog is accepted by _page's handler
    expect(page).to_have_url(re.compile(rf"/attempts/{attempt.id}/results$"))
    assert_first_tab_is_the_skip_link(page)
    attempt.refresh_from_db()
    assert attempt.status == "submitted" and attempt.items.get(
        question_version__question__bank_id=NUMERIC).response == {"value": "-0.5"}
    assert_no_axe_violation(page, "exam results")
    page.context.close()


def test_a_lab_is_submitted_with_the_keyboard_alone(browser: Any, live_server: Any, keyboard_course: Any,  # noqa: F811
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import expect

    from accounts.tests.factories import make_member
    from labs.models import Submission
    from labs.services import queue
    from labs.tests.factories import make_lab, part_answer
    from labs.tests.test_pages import GRID_PARTS

    monkeypatch.setattr(queue, "enqueue_gradings", lambda ids, *args, **kwargs: None)
    student = make_member(keyboard_course, username="alice")
    lab = make_lab(keyboard_course, "lab1", parts=GRID_PARTS[1:])
    answers = part_answer(lab.parts.get(), student)
    page = _keyboard_page(browser, live_server, student)
    page.goto(f"{live_server.url}/labs/lab1/")
    names = list(answers)
    for name in names:
        tab_to(page, page.locator(f"#w-cost-{name}"))
        page.keyboard.type("not a number" if name == names[0] else answers[name])
    submit = page.get_by_role("button", name="Submit for grading")
    tab_to(page, submit)
    page.keyboard.press("Enter")
    # A format error: the focus goes to the box that needs fixing; nothing is stored.
    first_box = page.locator(f"#w-cost-{names[0]}")
    expect(first_box).to_have_attribute("aria-invalid", "true")
    expect(first_box).to_be_focused()
    assert not Submission.objects.exists()
    page.keyboard.press("Control+A")
    page.keyboard.type(answers[names[0]])
    page.keyboard.press("Enter")  # Enter in a field submits the form
    expect(page).to_have_url(re.compile(r"/submissions/\d+/$"))
    assert_first_tab_is_the_skip_link(page)
    assert Submission.objects.count() == 1
    page.context.close()


def test_an_essay_is_graded_with_the_keyboard_alone(browser: Any, live_server: Any,  # noqa: F811
                                                    keyboard_course: Any) -> None:
    from playwright.sync_api import expect

    from accounts.models import Role
    from accounts.tests.factories import make_member
    from quizzes.models import AttemptItem
    from quizzes.tests.test_student_pages import ESSAY

    student = make_member(keyboard_course, username="alice")
    instructor = make_member(keyboard_course, Role.INSTRUCTOR, username="ian")
    exam = make_assessment(keyboard_course, [ESSAY], mode=AssessmentMode.EXAM, minutes=30, slug="final")
    attempt = attempt_start(user=student, assessment=exam)
    item = attempt.items.get()
    attempt_item_save(user=student, attempt_id=attempt.id, item_id=item.id, response={"text": "Shared kernels."})
    attempt_submit(attempt=attempt)

    page = _keyboard_page(browser, live_server, instructor)
    page.goto(f"{live_server.url}/instructor/courses/dlcv/grading/")
    link = page.locator(f'a[href$="/grading/questions/{item.question_version.question_id}/"]').first
    tab_to(page, link)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/grading/{item.id}/$"))
    points = page.get_by_role("spinbutton", name="Adjustment (points)")
    tab_to(page, points)
    page.keyboard.type("1.5")
    comment = page.locator("textarea")
    tab_to(page, comment)
    page.keyboard.type("Name the receptive field too.")
    tab_to(page, page.get_by_role("button", name="Save grade"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/grading/$"))
    expect(page.get_by_role("status")).to_contain_text("Graded. 1 of 1 answers to this question graded.")
    assert_first_tab_is_the_skip_link(page)
    assert_no_axe_violation(page, "grading queue with its message")
    graded = AttemptItem.objects.get(pk=item.pk)
    assert not graded.needs_manual_grading and "Name the receptive field too." in str(graded.feedback)
    page.context.close()


# --------------------------------------------------------------------------- screen-reader names

_MATH_SOURCE = re.compile(r"(?<!\\)\$(.+?)(?<!\\)\$")


def spoken_text(source: str) -> str:
    """What a screen reader should say for an option written in the bank's Markdown: its text, with
    each ``$…$`` read as its TeX source (the formula's aria-label) and Markdown's marks dropped."""
    text = _MATH_SOURCE.sub(lambda match: " ".join(match.group(1).split()), source)
    text = re.sub(r"\*\*|`", "", text).replace("\\$", "$")
    return " ".join(text.split())


def test_every_choice_question_of_the_bank_names_each_option_with_its_text_and_its_maths(
        browser: Any, live_server: Any, keyboard_course: Any) -> None:  # noqa: F811
    """The accessibility tree (Chromium's, through CDP) of a practice holding every choice question of
    the bank: each radio button and checkbox is named by its whole option, maths included."""
    from accounts.tests.factories import make_member
    from quizzes.models import Question
    from quizzes.tests.factories import load_shipped_bank

    load_shipped_bank()
    questions = list(Question.objects.filter(type__in=["single", "multiple"]).select_related("current_version")
                     .order_by("bank_id"))
    assert len(questions) > 50
    student = make_member(keyboard_course, username="alice")
    practice = make_assessment(keyboard_course, [q.bank_id for q in questions], mode=AssessmentMode.PRACTICE,
                               minutes=None, slug="every-choice")
    attempt = attempt_start(user=student, assessment=practice)
    items = {item.id: item for item in attempt.items.select_related("question_version__question")}

    page = _keyboard_page(browser, live_server, student)
    problems: list[str] = []
    options = with_maths = 0
    names: dict[str, str] = {}
    # Both languages: the bank's own text, and its English (a question's `::: en` block).
    for lang in ("zh-hant", "en"):
        page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": lang, "url": live_server.url}])
        page.goto(f"{live_server.url}/attempts/{attempt.id}/")
        cdp = page.context.new_cdp_session(page)
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        inputs = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": "section.q input[type=radio], "
                                                                              "section.q input[type=checkbox]"})["nodeIds"]
        names = {}
        for node_id in inputs:
            attributes = cdp.send("DOM.getAttributes", {"nodeId": node_id})["attributes"]
            element_id = attributes[attributes.index("id") + 1]
            ax_node = cdp.send("Accessibility.getPartialAXTree", {"nodeId": node_id, "fetchRelatives": False})["nodes"][0]
            names[element_id] = " ".join(((ax_node.get("name") or {}).get("value") or "").split())
        cdp.detach()
        for item_id, item in items.items():
            version = item.question_version
            english = (version.translations or {}).get("en") or {}
            choices = english["choices"] if lang == "en" and english.get("choices") else version.spec["choices"]
            section = page.locator(f"#item-{item_id}")
            for position, value in enumerate(section.locator("input[type=radio], input[type=checkbox]").evaluate_all(
                    "(inputs) => inputs.map((input) => [input.id, input.value])")):
                element_id, index = value
                expected = spoken_text(choices[int(index)]["text"])
                options += 1
                with_maths += "$" in choices[int(index)]["text"]
                # Chromium puts a space around a formula's name, also beside CJK punctuation: spaces are not compared.
                if re.sub(r"\s", "", expected) not in re.sub(r"\s", "", names.get(element_id, "")):
                    problems.append(f"{version.question.bank_id} ({lang}) option {position + 1}: "
                                    f"named {names.get(element_id)!r}, should say {expected!r}")
    page.context.close()
    print(f"\n{len(items)} choice questions, {options} options ({with_maths} with maths): "
          f"{options - len(problems)} named in full")
    assert 2 * len(names) == options and with_maths > 100
    assert not problems, f"{len(problems)} options named without their text or maths:\n  " + "\n  ".join(problems[:40])
