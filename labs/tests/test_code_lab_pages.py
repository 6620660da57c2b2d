"""The coding lab pages and downloads through the HTTP interface (Django's test client).

No broker: ``labs.services.queue.enqueue_gradings`` is replaced by a recorder. Graded results are
written in the shape stored before ``grader.results`` (``submission.result["code"]``, messages in
both languages) — so these tests also prove that such rows still show — and the pages are checked
against hostile output (HTML in titles, messages, tracebacks, stdout) without a sandbox run;
the real sandbox and worker are exercised by test_cli_client.py and test_code_submissions.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import Course, Role, User
from accounts.tests.factories import make_member, make_user
from grader.codelabs import all_codelabs, get_codelab
from grader.codelabs.public import public_tests_script
from labs.client import CLIENT_PATH, client_script
from labs.models import Lab, Submission, SubmissionStatus
from labs.services import lab_upsert, queue, submission_create
from labs.tests.factories import make_lab

CODELAB = "iou-nms"  # numpy only, cheap to generate public tests for
HOSTILE = "<script>alert('x')</script>"
ENQUEUED: list[int] = []


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    ENQUEUED.clear()
    monkeypatch.setattr(queue, "enqueue_gradings", lambda ids, *args, **kwargs: ENQUEUED.extend(ids))
    yield


@pytest.fixture
def code_lab(course: Course) -> Lab:
    lab, _ = lab_upsert(course=course, spec={"slug": "code-iou", "title": "IoU and NMS", "kind": "code",
                                             "codelab": CODELAB})
    return lab


@pytest.fixture
def ta(course: Course) -> User:
    return make_member(course, Role.TA, username="tina")


def client_for(user: User | None, lang: str = "en") -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    return client


def distinctive_solution_lines(slug: str) -> list[str]:
    """Lines of the model solution that are code (not comments, imports, signatures or docstrings)
    and not in the starter file: any of them in a page or download would leak the solution."""
    spec = get_codelab(slug)
    starter = spec.starter()
    lines = []
    for line in spec.solution().splitlines():
        text = line.strip()
        if (len(text) >= 24 and text not in starter
                and not text.startswith(("#", "import ", "from ", "def ", "class ", '"""', "return None"))):
            lines.append(text)
    assert len(lines) >= 3, f"{slug}: too few distinctive solution lines to test against"
    return lines


def assert_no_solution(text: str, slug: str = CODELAB) -> None:
    leaked = [line for line in distinctive_solution_lines(slug) if line in text]
    assert not leaked, f"solution lines served: {leaked[:3]}"


def store_graded(submission: Submission, *, tests: list[dict[str, Any]] | None = None, **code: Any) -> Submission:
    """Write a graded result as ``labs.services`` stored one before the typed result (bilingual messages)."""
    tests = tests if tests is not None else [
        {"name": "public-iou", "title": "3 × 3 boxes by hand", "public": True, "function": "box_iou",
         "points": 1.0, "earned": 1.0, "passed": True, "status": "passed",
         "message": {"en": "Passed.", "zh-Hant": "通過。"}, "seconds": 0.0012},
        {"name": "nms-ties", "title": f"ties {HOSTILE}", "public": False, "function": "nms", "points": 1.5,
         "earned": 0.0, "passed": False, "status": "failed",
         "message": {"en": f"Wrong indices {HOSTILE}", "zh-Hant": "索引錯誤"}, "seconds": 0.002,
         "detail": {"expected": "SECRET-EXPECTED-VALUE"}},
        {"name": "nms-edges", "title": "edges", "public": False, "function": "nms", "points": 1.0,
         "earned": 0.0, "passed": False, "status": "error", "message": {"en": "ZeroDivisionError: division by zero",
                                                                        "zh-Hant": "ZeroDivisionError: division by zero"},
         "seconds": 0.001, "traceback": f'Traceback (most recent call last):\n  File "submission.py", line 9\n{HOSTILE}'},
        {"name": "nms-none", "title": "no boxes", "public": False, "function": "nms", "points": 0.5, "earned": 0.0,
         "passed": False, "status": "not_run", "message": {"en": "Not run.", "zh-Hant": "未執行。"}, "seconds": None},
    ]
    earned = sum(t["earned"] for t in tests)
    total = sum(t["points"] for t in tests)
    result_code = {
        "kind": "code", "lab": CODELAB, "seed": 1, "tests": tests, "passed": sum(t["passed"] for t in tests),
        "summary": None, "stdout": f"printed {HOSTILE}\n", "stderr": "warning: <b>careful</b>\n",
        "output_truncated": False,
        "resources": {"wall_seconds": 0.25, "cpu_seconds": 0.2, "max_rss_mb": 31.5, "busy_seconds": 0.2,
                      "exit": {"exit_code": 0}},
        "sandboxed": True, **code,
    }
    Submission.objects.filter(pk=submission.pk).update(
        status=SubmissionStatus.GRADED, finished_at=timezone.now(), score=earned / total, points=earned,
        result={"code": result_code, "parts": [], "points": earned, "max_points": total, "misconceptions": [],
                "attempt": 1, "attempt_factor": 1, "late_days": 0, "late_factor": 1, "lang": "en"},
    )
    submission.refresh_from_db()
    return submission


def submitted(lab: Lab, user: User, source: str = "def box_iou(a, b):\n    return 1\n") -> Submission:
    return submission_create(user=user, lab=lab, source_code=source, lang="en").submission


# --------------------------------------------------------------------------- the lab page


@pytest.mark.django_db
def test_code_lab_page_states_the_lab_with_its_functions_limits_downloads_and_the_starter(
        code_lab: Lab, student: User) -> None:
    spec = get_codelab(CODELAB)
    response = client_for(student).get("/labs/code-iou/")
    assert response.status_code == 200
    html = response.content.decode()
    statement = html[html.index("data-statement>"):html.index("</section>", html.index("data-statement>"))]
    assert "<math" in statement  # the statement's LaTeX, rendered like the quiz pages'
    assert "<h1" not in statement and "<h2>Box IoU and non-maximum suppression</h2>" in statement
    assert html.count("<h1") == 1  # the statement's headings are one level down
    for name in spec.functions:
        assert f"<code data-function>{name}</code>" in html
    assert "<dt>CPU time</dt><dd>10 s</dd>" in html and "<dt>Memory</dt><dd>1024 MB</dd>" in html
    for url in ("/labs/code-iou/starter.py", "/labs/code-iou/public_tests.py", "/labs/code-iou/dlcv_submit.py"):
        assert f'href="{url}" download' in html
    # The editor holds the starter file (escaped: a textarea's text), the form posts to the API.
    editor = re.search(r"<textarea id=\"code-editor\"[^>]*>\n(.*?)</textarea>", html, re.S)
    assert editor is not None
    assert "def box_iou(a: np.ndarray, b: np.ndarray) -&gt; np.ndarray:" in editor.group(1)
    assert 'action="/api/labs/code-iou/submissions/"' in html and "csrfmiddlewaretoken" in html
    assert 'src="/static/js/codelab.js"' in html and 'src="/static/js/labs.js"' in html
    assert '"draft_key": "dlcv:code-draft:' in html and '"state_url": "/submissions/{id}/state"' in html
    assert "No submissions yet." in html and "data-results-empty" in html
    assert 'data-lab-form' not in html  # not the numeric lab's form
    assert_no_solution(html)


@pytest.mark.django_db
def test_code_lab_page_in_traditional_chinese(code_lab: Lab, student: User) -> None:
    html = client_for(student, "zh-hant").get("/labs/code-iou/").content.decode()
    assert "框的 IoU 與非極大值抑制" in html  # the statement and the spec's title in zh-Hant
    assert "繳交批改" in html
    assert "你的程式碼" in html and "下載" in html and "最新結果" in html


@pytest.mark.django_db
def test_the_editor_starts_from_the_latest_submission_and_the_page_lists_them_all(
        code_lab: Lab, student: User, django_assert_max_num_queries: Any) -> None:
    first = submitted(code_lab, student, "x = 1\n")
    store_graded(first)
    latest = submitted(code_lab, student, f"# mine {HOSTILE}\ny = 2\n")
    client = client_for(student)
    with django_assert_max_num_queries(20):
        html = client.get("/labs/code-iou/").content.decode()
    editor = re.search(r"<textarea id=\"code-editor\"[^>]*>\n(.*?)</textarea>", html, re.S)
    assert editor is not None and editor.group(1) == "# mine &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;\ny = 2\n"
    history = html[html.index("data-history-rows"):]
    assert history.index(f'data-history-row="{latest.pk}"') < history.index(f'data-history-row="{first.pk}"')
    assert "Submission 2" in history and "Submission 1" in history
    assert re.search(rf'data-history-row="{first.pk}".*?data-history-points>1 / ', history, re.S)
    # The results panel watches the latest submission (queued: labs.js polls its state URL).
    panel = html[html.index("data-results-panel"):html.index("my-submissions")]
    assert f'data-state-url="/submissions/{latest.pk}/state"' in panel and 'data-pending="true"' in panel
    # Many submissions: still a fixed number of queries.
    for n in range(8):
        submitted(code_lab, student, f"z = {n}\n")
    with django_assert_max_num_queries(20):
        assert client.get("/labs/code-iou/").status_code == 200


@pytest.mark.django_db
def test_the_latest_graded_result_is_on_the_lab_page(code_lab: Lab, student: User) -> None:
    store_graded(submitted(code_lab, student))
    html = client_for(student).get("/labs/code-iou/").content.decode()
    panel = html[html.index("data-results-panel"):html.index("my-submissions")]
    assert 'data-pending="false"' in panel and "data-code-result" in panel
    assert 'data-test="nms-ties" data-test-status="failed"' in panel
    assert HOSTILE not in html


@pytest.mark.django_db
def test_the_code_lab_page_disables_submitting_once_the_attempts_are_used(code_lab: Lab, student: User) -> None:
    Lab.objects.filter(pk=code_lab.pk).update(attempts_policy={"mode": "declining", "points": [1.0]})
    code_lab.refresh_from_db()
    client = client_for(student)
    html = client.get(f"/labs/{code_lab.slug}/").content.decode()
    assert '<p class="attempts-left" data-attempts-left>1 attempt left</p>' in html
    assert "<button type=\"submit\" data-code-submit>" in html
    submitted(code_lab, student)
    html = client.get(f"/labs/{code_lab.slug}/").content.decode()
    assert '<button type="submit" data-code-submit disabled aria-describedby="submit-refusal">' in html
    assert 'data-submit-refusal="no_attempts_left">You have used all your attempts of this lab.</p>' in html
    assert "data-refused" in html


@pytest.mark.django_db
def test_numeric_labs_keep_their_page(course: Course, student: User) -> None:
    make_lab(course, "lab1")
    html = client_for(student).get("/labs/lab1/").content.decode()
    assert "data-lab-form" in html and "codelab.js" not in html and "data-codelab" not in html
    assert client_for(student).get("/labs/lab1/starter.py").status_code == 404


@pytest.mark.django_db
def test_code_labs_are_submitted_through_the_api_only(code_lab: Lab, student: User) -> None:
    client = client_for(student)
    html = client.get("/labs/code-iou/").content.decode()
    assert 'action="/api/labs/code-iou/submissions/"' in html
    assert client.post("/labs/code-iou/submit", {"answers": "{}"}).status_code == 404  # no second endpoint
    response = client.post("/api/labs/code-iou/submissions/", {"answers": {}}, content_type="application/json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["answers"]  # a numeric lab's field
    response = client.post("/api/labs/code-iou/submissions/", {}, content_type="application/json")
    assert response.status_code == 400 and "source_code" in response.json()["errors"]
    assert not Submission.objects.exists()


# --------------------------------------------------------------------------- a submission's page


@pytest.mark.django_db
def test_a_graded_code_submission_shows_each_test_escaped_and_no_expected_values(
        code_lab: Lab, student: User) -> None:
    submission = store_graded(submitted(code_lab, student, f"# {HOSTILE}\nx = 1\n"))
    html = client_for(student).get(f"/submissions/{submission.pk}/").content.decode()
    assert HOSTILE not in html and "<b>careful</b>" not in html  # student output never becomes markup
    rows = re.findall(r'<tr class="test-row test-(\w+)" data-test="([\w-]+)"', html)
    assert rows == [("passed", "public-iou"), ("failed", "nms-ties"), ("error", "nms-edges"), ("not_run", "nms-none")]
    row = html[html.index('data-test="nms-ties"'):html.index('data-test="nms-edges"')]
    assert "Failed" in row and "data-hidden" in row and "0 / 1.5<" in row
    assert "Wrong indices &lt;script&gt;" in row and "ties &lt;script&gt;" in row
    error_row = html[html.index('data-test="nms-edges"'):html.index('data-test="nms-none"')]
    assert "<details class=\"traceback\"><summary>Traceback</summary><pre>Traceback (most recent call last):" in error_row
    assert "&lt;script&gt;" in error_row
    public_row = html[html.index('data-test="public-iou"'):html.index('data-test="nms-ties"')]
    assert "data-public" in public_row and "1 / 1" in public_row and "0.001 s" in public_row
    assert "1 of 4 tests passed" in html
    assert "<pre class=\"program-output\" data-stdout>printed &lt;script&gt;" in html
    assert "warning: &lt;b&gt;careful&lt;/b&gt;" in html
    assert "<dt>Peak memory</dt><dd>31.5 MB</dd>" in html and "exit code 0" in html
    assert "SECRET-EXPECTED-VALUE" not in html  # a check's detail stays on the server
    source = html[html.index("data-source-code>"):]
    assert source.startswith("data-source-code><code># &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;\nx = 1\n</code>")
    # The messages are in the reader's language.
    chinese = client_for(student, "zh-hant").get(f"/submissions/{submission.pk}/").content.decode()
    assert "索引錯誤" in chinese and "Wrong indices" not in chinese and "未執行" in chinese


@pytest.mark.django_db
def test_a_run_that_stopped_early_says_why(code_lab: Lab, student: User) -> None:
    submission = store_graded(submitted(code_lab, student), summary={
        "en": "Stopped: the wall-clock limit of 20 s was reached.", "zh-Hant": "已停止：超過 20 秒的時間上限。"},
        output_truncated=True, resources={"wall_seconds": 20.1, "cpu_seconds": 19.9, "max_rss_mb": 12.0,
                                          "exit": {"signal": 9, "timed_out": True}})
    html = client_for(student).get(f"/submissions/{submission.pk}/").content.decode()
    assert re.search(r"data-code-summary>Stopped: the wall-clock limit of 20 s was reached.<", html)
    assert "data-output-truncated" in html and "stopped at the time limit" in html


@pytest.mark.django_db
def test_code_submissions_are_for_their_owner_and_the_course_staff(code_lab: Lab, student: User, ta: User) -> None:
    submission = store_graded(submitted(code_lab, student, "owner_marker = 1\n"))
    other = make_member(code_lab.course, Role.STUDENT, username="bob")
    assert "owner_marker = 1" in client_for(student).get(f"/submissions/{submission.pk}/").content.decode()
    staff_view = client_for(ta).get(f"/submissions/{submission.pk}/").content.decode()
    assert "owner_marker = 1" in staff_view and "You are viewing alice" in staff_view
    assert client_for(other).get(f"/submissions/{submission.pk}/").status_code == 404
    assert client_for(make_user("eve")).get(f"/submissions/{submission.pk}/state").status_code == 404


@pytest.mark.django_db
def test_the_state_endpoint_renders_the_code_results_when_graded(code_lab: Lab, student: User) -> None:
    submission = submitted(code_lab, student)
    client = client_for(student)
    state = client.get(f"/submissions/{submission.pk}/state", headers={"Accept": "application/json"}).json()
    assert state["status"] == "queued" and state["result_html"] == "" and not state["delayed"]
    assert "Queued" in state["status_html"]
    # A coding job may wait longer than a numeric one before "delayed" is shown.
    Submission.objects.filter(pk=submission.pk).update(status=SubmissionStatus.RUNNING,
                                                       enqueued_at=timezone.now() - timedelta(seconds=30))
    state = client.get(f"/submissions/{submission.pk}/state").json()
    assert not state["delayed"] and "running your code" in state["status_html"]
    store_graded(submission)
    state = client.get(f"/submissions/{submission.pk}/state").json()
    assert state["done"] and state["points"] == 1.0 and state["max_points"] == 4.0
    assert 'data-test="nms-ties"' in state["result_html"] and HOSTILE not in state["result_html"]


@pytest.mark.django_db
def test_a_failed_grading_tells_the_student_to_resubmit_their_code(code_lab: Lab, student: User) -> None:
    submission = submitted(code_lab, student)
    Submission.objects.filter(pk=submission.pk).update(status=SubmissionStatus.FAILED, finished_at=timezone.now())
    html = client_for(student).get(f"/submissions/{submission.pk}/").content.decode()
    assert "Your code is kept" in html and "data-source-code" in html


# --------------------------------------------------------------------------- downloads


@pytest.mark.django_db
def test_downloads_are_python_attachments(code_lab: Lab, student: User) -> None:
    spec = get_codelab(CODELAB)
    client = client_for(student)
    starter = client.get("/labs/code-iou/starter.py")
    assert starter.status_code == 200 and starter.content.decode() == spec.starter()
    for url, name in (("/labs/code-iou/starter.py", "starter.py"), ("/labs/code-iou/public_tests.py", "public_tests.py"),
                      ("/labs/code-iou/dlcv_submit.py", "dlcv_submit.py")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"] == "text/x-python; charset=utf-8"
        assert response["Content-Disposition"] == f'attachment; filename="{name}"'
        assert response["X-Content-Type-Options"] == "nosniff"
        text = response.content.decode()
        compile(text, name, "exec")
        assert_no_solution(text)
    public = client.get("/labs/code-iou/public_tests.py").content.decode()
    assert public == public_tests_script(spec)
    assert "def main" in public or "__main__" in public


@pytest.mark.django_db
def test_the_client_download_has_this_site_and_lab_as_defaults(code_lab: Lab, student: User) -> None:
    text = client_for(student).get("/labs/code-iou/dlcv_submit.py").content.decode()
    assert "DEFAULT_SERVER = 'http://testserver'  # filled in at download" in text
    assert "DEFAULT_LAB = 'code-iou'  # filled in at download" in text
    namespace: dict[str, Any] = {"__name__": "dlcv_submit_downloaded"}
    exec(compile(text, "dlcv_submit.py", "exec"), namespace)  # importing it runs nothing
    assert namespace["DEFAULT_SERVER"] == "http://testserver" and namespace["DEFAULT_LAB"] == "code-iou"
    # Everything else is the file in the repository.
    original = CLIENT_PATH.read_text("utf-8")
    assert text.replace("'http://testserver'", '""').replace("'code-iou'", '""') == original


def test_client_script_writes_python_literals_and_refuses_a_changed_template(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    text = client_script(server='http://x"; import os  #', lab_slug="a-b")
    namespace: dict[str, Any] = {"__name__": "x"}
    exec(compile(text, "dlcv_submit.py", "exec"), namespace)
    assert namespace["DEFAULT_SERVER"] == 'http://x"; import os  #'
    broken = tmp_path / "dlcv_submit.py"
    broken.write_text(CLIENT_PATH.read_text("utf-8").replace('DEFAULT_LAB = ""', "DEFAULT_LAB = None"), "utf-8")
    monkeypatch.setattr("labs.client.CLIENT_PATH", broken)
    with pytest.raises(RuntimeError, match="lost its DEFAULT_SERVER/DEFAULT_LAB"):
        client_script(server="http://x", lab_slug="y")


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["starter.py", "public_tests.py", "dlcv_submit.py"])
def test_downloads_are_for_members_of_the_labs_course_only(course: Course, code_lab: Lab, student: User, name: str) -> None:
    url = f"/labs/code-iou/{name}"
    assert client_for(make_user("eve")).get(url).status_code == 404
    response = client_for(None).get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    code_lab.published = False
    code_lab.save(update_fields=["published"])
    assert client_for(student).get(url).status_code == 404
    assert client_for(make_member(course, Role.TA, username="tina")).get(url).status_code == 200
    assert client_for(student).post(url).status_code == 405


@pytest.mark.django_db
def test_student_files_of_a_lab_and_nothing_else_of_its_folder(course: Course, student: User) -> None:
    lab, _ = lab_upsert(course=course, spec={"slug": "cnn", "title": "CNN", "kind": "code",
                                             "codelab": "cnn-forward-numpy"})
    client = client_for(student)
    html = client.get("/labs/cnn/").content.decode()
    assert 'href="/labs/cnn/files/reference_weights.npz" download' in html
    response = client.get("/labs/cnn/files/reference_weights.npz")
    assert response.status_code == 200 and response["Content-Disposition"] == 'attachment; filename="reference_weights.npz"'
    assert response.content == get_codelab("cnn-forward-numpy").student_file("reference_weights.npz")
    for name in ("solution.py", "statement.en.md", "starter.py", "..%2Fsolution.py"):
        assert client.get(f"/labs/cnn/files/{name}").status_code == 404, name
    assert client_for(make_user("eve")).get("/labs/cnn/files/reference_weights.npz").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("slug", [spec.slug for spec in all_codelabs()])
def test_no_page_or_download_serves_the_model_solution(course: Course, student: User, slug: str) -> None:
    lab, _ = lab_upsert(course=course, spec={"slug": f"leak-{slug}", "title": "Leak?", "kind": "code", "codelab": slug})
    client = client_for(student)
    for url in ("", "starter.py", "public_tests.py", "dlcv_submit.py"):
        response = client.get(f"/labs/{lab.slug}/{url}")
        assert response.status_code == 200
        assert_no_solution(response.content.decode(), slug)
    for lang in ("en", "zh-hant"):
        assert_no_solution(client_for(student, lang).get(f"/labs/{lab.slug}/").content.decode(), slug)
    assert_no_solution(client.get("/courses/dlcv/labs/").content.decode(), slug)
