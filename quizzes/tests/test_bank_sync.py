"""Browser edits are never undone by load_bank (issue 17 item 1): the drift rule, conflicts and how an
instructor settles them, `load_bank --check`, the bank as a zip, and `make run`'s set-up after an edit."""

from __future__ import annotations

import hashlib
import io
import re
import shlex
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Course, Role, User
from accounts.tests.factories import PASSWORD, make_course, make_member, make_user
from dlcv_site.tests.db_support import migrate_to
from quizzes.bank.drift import Drift, classify
from quizzes.models import Assessment, Attempt, AttemptItem, BankFileConflict, Question, QuestionVersion
from quizzes.services.authoring import question_save_source
from quizzes.services.bank import bank_read, bank_sync
from quizzes.tests.test_browser import _chromium, _page

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
BANK_ID = "relu-derivative-01"

QUESTION = """---
id: relu-derivative-01
type: numeric
topic: activations
title: {title}
answer: {answer}
tolerance: {{abs: 0.01}}
---
ReLU 在 $x = 2$ 的導數是多少？

::: explanation
$x > 0$ 時 ReLU 的斜率是 1。
:::
"""


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def fixtures_dir(tmp_path: Path) -> Path:
    bank = tmp_path / "bank"
    (bank / "activations").mkdir(parents=True)
    shutil.copy(FIXTURES / "bank" / "topics.yaml", bank / "topics.yaml")
    write_file(tmp_path, title="ReLU 的導數", answer=1)
    return tmp_path


def write_file(root: Path, *, title: str, answer: float) -> str:
    text = QUESTION.format(title=title, answer=answer)
    (root / "bank" / "activations" / f"{BANK_ID}.md").write_text(text, "utf-8")
    return text


def load(root: Path, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("load_bank", str(root), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def browser_edit(*, title: str, answer: float) -> QuestionVersion:
    question = Question.objects.get(bank_id=BANK_ID)
    return question_save_source(user=make_user(), question=question, text=QUESTION.format(title=title, answer=answer))


def current() -> QuestionVersion:
    return Question.objects.get(bank_id=BANK_ID).current_version


# --------------------------------------------------------------------------- the rule, pure


@pytest.mark.parametrize(("file", "base", "current", "expected"), [
    ("f", "", None, Drift.NEW),
    ("a", "a", "a", Drift.IN_SYNC),
    ("b", "a", "b", Drift.IN_SYNC),  # the file caught up with the browser's edit
    ("b", "a", "a", Drift.FILE_CHANGED),
    ("a", "a", "b", Drift.BROWSER_EDITED),
    ("c", "a", "b", Drift.CONFLICT),
    (None, "a", "a", Drift.FILE_REMOVED),
    (None, "a", "b", Drift.CONFLICT),
    (None, "", "b", Drift.BROWSER_ONLY),
    ("c", "", "b", Drift.CONFLICT),  # created in the browser, then a different file appeared
])
def test_drift_rule(file: str | None, base: str, current: str | None, expected: Drift) -> None:
    assert classify(file=file, base=base, current=current) is expected


# --------------------------------------------------------------------------- load_bank


@pytest.mark.django_db
def test_a_browser_edit_survives_load_bank_while_its_file_is_unchanged(fixtures_dir: Path) -> None:
    load(fixtures_dir)
    edited = browser_edit(title="ReLU 的導數（改）", answer=1)
    out, _err = load(fixtures_dir)
    assert f"kept the browser's version of {BANK_ID}" in out and "1 browser edits kept" in out
    assert current().pk == edited.pk and current().title == "ReLU 的導數（改）"
    check, _err = load(fixtures_dir, "--check")
    assert f"{BANK_ID} (" in check and "edited in the browser, file behind" in check
    # The instructor commits the downloaded text: the file has caught up, nothing drifts any more.
    write_file(fixtures_dir, title="ReLU 的導數（改）", answer=1)
    out, _err = load(fixtures_dir)
    assert "0 browser edits kept" in out and current().pk == edited.pk
    assert Question.objects.get().file_hash == edited.content_hash
    assert "0 question(s) differ" in load(fixtures_dir, "--check")[0]
    # From then on the file is the source again: a later change to it is applied.
    write_file(fixtures_dir, title="ReLU 的導數（三）", answer=1)
    assert "file changed: load_bank applies it" in load(fixtures_dir, "--check")[0]
    load(fixtures_dir)
    assert current().title == "ReLU 的導數（三）"


@pytest.mark.django_db
def test_a_conflict_is_reported_with_both_versions_and_changes_nothing_until_the_file_is_chosen(
    fixtures_dir: Path,
) -> None:
    load(fixtures_dir)
    edited = browser_edit(title="瀏覽器的版本", answer=1)
    write_file(fixtures_dir, title="檔案的版本", answer=2)
    versions_before = QuestionVersion.objects.count()
    out, err = load(fixtures_dir)
    assert "1 conflicts" in out
    assert f"CONFLICT {BANK_ID}" in err and "-title: 瀏覽器的版本" in err and "+title: 檔案的版本" in err
    assert current().pk == edited.pk and current().title == "瀏覽器的版本"
    assert QuestionVersion.objects.count() == versions_before
    assert BankFileConflict.objects.get().file_text.startswith("---\nid: relu-derivative-01")
    assert "CONFLICT" in load(fixtures_dir, "--check")[0]
    load(fixtures_dir)  # again: still nothing changes, still one conflict
    assert current().title == "瀏覽器的版本" and BankFileConflict.objects.count() == 1
    out, err = load(fixtures_dir, "--resolve", f"{BANK_ID}=file")
    assert f"{BANK_ID}: kept the file's version" in out and "CONFLICT" not in err
    assert current().title == "檔案的版本" and current().spec["answer"] == 2
    assert not BankFileConflict.objects.exists()
    assert "0 question(s) differ" in load(fixtures_dir, "--check")[0]


@pytest.mark.django_db
def test_keeping_the_browser_version_of_a_conflict_keeps_it_on_every_later_load(fixtures_dir: Path) -> None:
    load(fixtures_dir)
    edited = browser_edit(title="瀏覽器的版本", answer=1)
    write_file(fixtures_dir, title="檔案的版本", answer=2)
    load(fixtures_dir, "--resolve", f"{BANK_ID}=browser")
    assert current().pk == edited.pk and not BankFileConflict.objects.exists()
    out, err = load(fixtures_dir)
    assert current().pk == edited.pk and "CONFLICT" not in err and "1 browser edits kept" in out
    with pytest.raises(CommandError, match="has no conflict"):
        load(fixtures_dir, "--resolve", f"{BANK_ID}=file")
    with pytest.raises(CommandError, match="ID=file or ID=browser"):
        load(fixtures_dir, "--resolve", f"{BANK_ID}=mine")


@pytest.mark.django_db
def test_an_answered_question_keeps_its_attempts_versions_when_the_file_is_chosen(fixtures_dir: Path) -> None:
    load(fixtures_dir)
    edited = browser_edit(title="瀏覽器的版本", answer=1)
    course = make_course()
    assessment = Assessment.objects.create(course=course, slug="p", title="p")
    attempt = Attempt.objects.create(assessment=assessment, user=make_user(), started_at=timezone.now())
    item = AttemptItem.objects.create(attempt=attempt, position=1, question_version=edited, response={"value": "1"})
    write_file(fixtures_dir, title="檔案的版本", answer=2)
    load(fixtures_dir, "--resolve", f"{BANK_ID}=file")
    assert current().title == "檔案的版本" and current().pk != edited.pk
    item.refresh_from_db()
    assert item.question_version_id == edited.pk and item.question_version.title == "瀏覽器的版本"


@pytest.mark.django_db
def test_questions_created_or_edited_in_the_browser_are_not_retired_when_their_file_is_missing(
    fixtures_dir: Path,
) -> None:
    load(fixtures_dir)
    from quizzes.services.authoring import question_create_from_source

    created = question_create_from_source(user=make_user(), text=QUESTION.format(title="新題", answer=1).replace(
        f"id: {BANK_ID}", "id: relu-new-01"))
    load(fixtures_dir)
    created.question.refresh_from_db()
    assert not created.question.retired
    assert "relu-new-01" in load(fixtures_dir, "--check")[0]
    # An edited question whose file is removed is a conflict; choosing the file retires it.
    browser_edit(title="瀏覽器的版本", answer=1)
    (fixtures_dir / "bank" / "activations" / f"{BANK_ID}.md").unlink()
    _out, err = load(fixtures_dir)
    assert f"CONFLICT {BANK_ID}" in err and not Question.objects.get(bank_id=BANK_ID).retired
    load(fixtures_dir, "--resolve", f"{BANK_ID}=file")
    assert Question.objects.get(bank_id=BANK_ID).retired


@pytest.mark.django_db
def test_a_question_created_in_the_browser_is_in_sync_once_its_downloaded_file_is_committed(
    fixtures_dir: Path,
) -> None:
    from quizzes.services.authoring import question_create_from_source

    load(fixtures_dir)
    text = QUESTION.format(title="新題", answer=1).replace(f"id: {BANK_ID}", "id: relu-new-01")
    created = question_create_from_source(user=make_user(), text=text)
    assert "created in the browser, no file yet" in load(fixtures_dir, "--check")[0]
    (fixtures_dir / "bank" / "activations" / "relu-new-01.md").write_text(created.source_text, "utf-8")
    assert "0 question(s) differ" in load(fixtures_dir, "--check")[0]
    out, _err = load(fixtures_dir)
    assert "0 created" in out and "2 unchanged" in out
    question = Question.objects.get(bank_id="relu-new-01")
    assert question.file_hash == created.content_hash and question.current_version_id == created.pk


@pytest.mark.django_db
def test_an_unedited_question_whose_file_is_removed_is_retired(fixtures_dir: Path) -> None:
    load(fixtures_dir)
    (fixtures_dir / "bank" / "activations" / f"{BANK_ID}.md").unlink()
    assert "file removed: load_bank retires it" in load(fixtures_dir, "--check")[0]
    load(fixtures_dir)
    assert Question.objects.get().retired


# --------------------------------------------------------------------------- the instructor pages


def staff(course: Course) -> Client:
    client = Client()
    assert client.login(username=make_member(course, Role.INSTRUCTOR).username, password=PASSWORD)
    return client


@pytest.mark.django_db
def test_the_sync_page_shows_both_versions_and_settles_a_conflict(fixtures_dir: Path) -> None:
    load(fixtures_dir)
    course = make_course("dlcv")
    client = staff(course)
    page = reverse("instructor-bank-sync", args=[course.slug])
    edit = reverse("instructor-question-edit", args=[course.slug, BANK_ID])
    text = QUESTION.format(title="瀏覽器的版本", answer=1)
    saved = client.post(edit, {"text": text, "seed": 1, "action": "save"}, follow=True)
    assert "stays current when load_bank runs" in saved.content.decode()
    html = client.get(page).content.decode()
    assert "0 conflicts" in html and BANK_ID in html  # listed as edited here, file behind
    write_file(fixtures_dir, title="檔案的版本", answer=2)
    load(fixtures_dir)
    html = client.get(page).content.decode()
    assert "1 conflict" in html and "瀏覽器的版本" in html and "檔案的版本" in html
    resolve = reverse("instructor-bank-conflict-resolve", args=[course.slug, BANK_ID])
    student = Client()
    assert student.login(username=make_member(course).username, password=PASSWORD)
    assert student.post(resolve, {"keep": "file"}).status_code == 403
    assert student.get(page).status_code == 403
    assert client.post(resolve, {"keep": "neither"}, follow=True).status_code == 200
    assert current().title == "瀏覽器的版本" and BankFileConflict.objects.exists()
    done = client.post(resolve, {"keep": "file"}, follow=True).content.decode()
    assert f"{BANK_ID} now uses the file&#x27;s version" in done
    assert current().title == "檔案的版本" and not BankFileConflict.objects.exists()


@pytest.mark.django_db
def test_the_bank_zip_loads_back_in_sync_with_the_browser_edits(tmp_path: Path) -> None:
    bank_contents, errors = bank_read(fixtures_dir=FIXTURES)
    assert errors == []
    bank_sync(contents=bank_contents, source_root=FIXTURES.parent)
    course = make_course("dlcv")
    client = staff(course)
    question = Question.objects.get(bank_id="act-dead-relu-05")
    edited_text = question.current_version.source_text.replace("Dead ReLU 問題", "Dead ReLU（瀏覽器）")
    client.post(reverse("instructor-question-edit", args=[course.slug, question.bank_id]),
                {"text": edited_text, "seed": 1, "action": "save"})
    response = client.get(reverse("instructor-bank-download", args=[course.slug]))
    assert response["Content-Disposition"] == 'attachment; filename="bank.zip"'
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path)
    assert "bank/topics.yaml" in names and "bank/activations/act-dead-relu-05.md" in names
    assert not any("past-exams" in name for name in names if name.endswith(".md"))
    assert (tmp_path / "bank/activations/act-dead-relu-05.md").read_text("utf-8") == edited_text
    shutil.copytree(FIXTURES / "exams", tmp_path / "exams")
    out, _err = load(tmp_path, "--check")
    assert f"OK: {len(bank_contents.questions)} questions" in out and "0 question(s) differ" in out, out
    # One topic: its files only.
    response = client.get(reverse("instructor-bank-download", args=[course.slug]), {"topic": "activations"})
    assert response["Content-Disposition"] == 'attachment; filename="bank-activations.zip"'
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = archive.namelist()
    expected = Question.objects.filter(topic__slug="activations", retired=False).count()
    assert len(names) == expected and all(re.fullmatch(r"bank/activations/[a-z0-9-]+\.md", n) for n in names)
    assert client.get(reverse("instructor-bank-download", args=[course.slug]), {"topic": "nope"}).status_code == 404


# --------------------------------------------------------------------------- make run's set-up


def make_setup_commands() -> list[list[str]]:
    """The manage.py commands of the Makefile's `setup` target (what `make run` runs at every start)."""
    makefile = (Path(settings.BASE_DIR) / "Makefile").read_text("utf-8")
    recipe = re.search(r"^setup:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe, "the Makefile has no setup target"
    commands = [shlex.split(line.strip().removeprefix("$(MANAGE)")) for line in recipe.group(1).splitlines()
                if line.strip().startswith("$(MANAGE)")]
    assert ["load_bank"] in commands and commands[0][0] == "migrate"
    return commands


@pytest.mark.django_db
def test_a_browser_edit_is_still_current_after_make_runs_setup_and_attempts_keep_their_versions() -> None:
    commands = make_setup_commands()
    call_command("load_bank", stdout=io.StringIO())
    course = make_course("dlcv")
    client = staff(course)
    question = Question.objects.get(bank_id="param-conv-by-hand-01")
    original = question.current_version
    course_assessment = Assessment.objects.create(course=course, slug="quiz", title="quiz")
    before_edit = AttemptItem.objects.create(
        attempt=Attempt.objects.create(assessment=course_assessment, user=make_user(), started_at=timezone.now()),
        position=1, question_version=original, seed=3)
    edited_text = original.source_text.replace("title: ", "title: （瀏覽器）", 1)
    assert edited_text != original.source_text
    client.post(reverse("instructor-question-edit", args=[course.slug, question.bank_id]),
                {"text": edited_text, "seed": 1, "action": "save"})
    edited = Question.objects.get(pk=question.pk).current_version
    assert edited.pk != original.pk and edited.number == 2  # answered: a new version
    after_edit = AttemptItem.objects.create(
        attempt=Attempt.objects.create(assessment=course_assessment, user=make_user(), started_at=timezone.now()),
        position=1, question_version=edited, seed=4)
    for name, *args in commands:
        call_command(name, *args, stdout=io.StringIO(), stderr=io.StringIO())
    question.refresh_from_db()
    assert question.current_version_id == edited.pk and question.current_version.source_text == edited_text
    before_edit.refresh_from_db()
    after_edit.refresh_from_db()
    assert before_edit.question_version_id == original.pk and after_edit.question_version_id == edited.pk
    assert QuestionVersion.objects.get(pk=original.pk).content_hash == original.content_hash


# --------------------------------------------------------------------------- the migration


@pytest.mark.django_db(transaction=True)
def test_the_migration_takes_file_hashes_from_the_files(migration_executor: MigrationExecutor,
                                                        tmp_path: Path) -> None:
    old = migrate_to(migration_executor, [("quizzes", "0003_translations")])
    topic = old.get_model("quizzes", "Topic").objects.create(slug="t", name_zh="t", name_en="t")
    Question_ = old.get_model("quizzes", "Question")
    Version = old.get_model("quizzes", "QuestionVersion")

    def question(bank_id: str, *, path: str, text: str, file_text: str | None) -> Any:
        if file_text is not None:
            Path(path).write_text(file_text, "utf-8")
        q = Question_.objects.create(bank_id=bank_id, topic=topic, type="numeric", source_path=path)
        q.current_version = Version.objects.create(
            question=q, number=1, content_hash=hashlib.sha256(text.encode()).hexdigest(), source_text=text,
            title="T", prompt="p", explanation="e")
        q.save()
        return q

    same = question("same", path=str(tmp_path / "same.md"), text="a\n", file_text="a\n")
    edited = question("edited", path=str(tmp_path / "edited.md"), text="browser\n", file_text="file\n")
    no_file = question("no-file", path=str(tmp_path / "no-file.md"), text="b\n", file_text=None)
    exam = question("exam", path="fixtures/exams/108.md", text="", file_text=None)
    new = migrate_to(migration_executor, [("quizzes", "0004_bank_file_hash_and_conflicts")])
    hashes = dict(new.get_model("quizzes", "Question").objects.values_list("bank_id", "file_hash"))
    assert hashes["same"] == same.current_version.content_hash  # in sync
    assert hashes["edited"] == hashlib.sha256(b"file\n").hexdigest()  # the browser's version is kept
    assert hashes["no-file"] == "" and no_file.current_version.content_hash  # created in the browser
    assert hashes["exam"] == exam.current_version.content_hash
    assert classify(file=hashes["edited"], base=hashes["edited"],
                    current=edited.current_version.content_hash) is Drift.BROWSER_EDITED


@pytest.mark.django_db
def test_users_who_are_not_staff_cannot_download_the_bank() -> None:
    course = make_course("dlcv")
    student = Client()
    assert student.login(username=make_member(course).username, password=PASSWORD)
    assert student.get(reverse("instructor-bank-download", args=[course.slug])).status_code == 403
    outsider = Client()
    assert outsider.login(username=make_member(make_course("other"), Role.INSTRUCTOR).username, password=PASSWORD)
    assert outsider.get(reverse("instructor-bank-download", args=[course.slug])).status_code == 404
    assert User.objects.count() == 2


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    # Playwright's sync API keeps an event loop in this thread; the ORM calls meanwhile are synchronous.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield from _chromium()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_edit_saved_in_chromium_survives_make_runs_setup(chromium: Any, live_server: Any) -> None:
    """The whole story in a real browser: an instructor saves an edit in the editor, `make run`'s set-up runs
    (migrate, load_bank, seed_demo, …), the edit is still current, and an attempt started before it still
    shows the version it started with."""
    from quizzes.services.attempts import attempt_start

    call_command("load_bank", stdout=io.StringIO())
    course = make_course("dlcv")
    instructor = make_member(course, Role.INSTRUCTOR)
    question = Question.objects.get(bank_id="act-dead-relu-05")
    original = question.current_version
    assessment = Assessment.objects.create(course=course, slug="quiz", title="quiz", published=True)
    assessment.items.create(position=1, question=question)
    started = attempt_start(user=make_member(course), assessment=assessment)
    edited_text = original.source_text.replace("Dead ReLU 問題", "Dead ReLU（在瀏覽器改的）")
    assert edited_text != original.source_text
    page = _page(chromium, live_server, instructor)
    try:
        page.goto(live_server.url + reverse("instructor-question-edit", args=[course.slug, question.bank_id]))
        page.fill("#id_text", edited_text)
        page.click("button[name=action][value=save]")
        page.wait_for_selector("text=stays current when load_bank runs")
        for name, *args in make_setup_commands():
            call_command(name, *args, stdout=io.StringIO(), stderr=io.StringIO())
        page.goto(live_server.url + reverse("instructor-question", args=[course.slug, question.bank_id]))
        assert "Dead ReLU（在瀏覽器改的）" in page.content()
    finally:
        page.context.close()
    question.refresh_from_db()
    assert question.current_version.source_text == edited_text and question.current_version_id != original.pk
    assert started.items.get().question_version_id == original.pk
