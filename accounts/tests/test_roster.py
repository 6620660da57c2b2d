"""Roster import: reading registrar and LMS exports, the plan, applying it (idempotent, all or
nothing), dropping (work kept, course hidden) and the invitations it sends."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.utils import timezone

from accounts.access import course_get_for_member
from accounts.models import DroppedEnrollment, Enrollment, EnrollmentSource, Role, User
from accounts.roster import RosterFileError, roster_read_csv
from accounts.selectors import enrollments_for_user
from accounts.services.invitations import invitations_send
from accounts.services.roster import RosterRefused, StudentNumberMatcher, roster_apply, roster_plan
from accounts.tests.factories import make_course, make_member, make_user

REGISTRAR = """Student number,Name,Email,Role,Section
r11000001,王小明,ming@example.edu,student,A
r11000002,李小華,hua@example.edu,Student,B
r11000003,陳助教,ta@example.edu,TA,
"""

# Canvas's gradebook export: its own "ID" (not used), the SIS id, a "Points Possible" row, no email
# column in the gradebook export, so this one is the People export's shape with an email added.
CANVAS = """\ufeffStudent,ID,SIS User ID,SIS Login ID,Email,Section,Role
    Points Possible,,,,,,
"Wang, Ming",1234,r11000001,ming,ming@example.edu,DLCV 2026 A,StudentEnrollment
"Lee, Hua",1235,r11000002,hua,HUA@example.edu,DLCV 2026 B,TaEnrollment
"""


#: The page of a used or expired one-time link (invitation, password reset): one include for both.
INVALID_LINK = re.compile(r'<p class="error" role="alert">[^<]+</p>\s*<p><a href="/accounts/password-reset/">[^<]+</a></p>')


def read(text: str, filename: str = "roster.csv") -> list:
    return roster_read_csv(data=text.encode(), filename=filename)


# --------------------------------------------------------------------------- reading (no database)


def test_reads_a_registrar_file() -> None:
    entries = read(REGISTRAR)
    assert [(e.key, e.name, e.email, e.role, e.section, e.line) for e in entries] == [
        ("r11000001", "王小明", "ming@example.edu", Role.STUDENT, "A", 2),
        ("r11000002", "李小華", "hua@example.edu", Role.STUDENT, "B", 3),
        ("r11000003", "陳助教", "ta@example.edu", Role.TA, "", 4),
    ]


def test_reads_a_canvas_export_with_a_bom() -> None:
    entries = read(CANVAS)
    assert [(e.key, e.name, e.email, e.role, e.section) for e in entries] == [
        ("r11000001", "Wang, Ming", "ming@example.edu", Role.STUDENT, "DLCV 2026 A"),
        ("r11000002", "Lee, Hua", "hua@example.edu", Role.TA, "DLCV 2026 B"),
    ]
    assert entries[0].line == 3  # the BOM and the "Points Possible" row count as the file does


def test_reads_semicolons_first_and_last_names_and_a_missing_role_column() -> None:
    entries = read("學號;First name;Last name;E-mail\nb1;Ada;Lovelace;ada@example.edu\n")
    assert [(e.key, e.name, e.role, e.section) for e in entries] == [("b1", "Ada Lovelace", Role.STUDENT, "")]


def test_every_bad_line_is_named_by_file_and_line() -> None:
    text = ("Student number,Name,Email,Role\n"
            "s1,A,a@example.edu,student\n"
            ",B,b@example.edu,student\n"
            "s3,C,not-an-email,student\n"
            "s4,D,d@example.edu,dean\n"
            "s1,E,e@example.edu,student\n")
    with pytest.raises(RosterFileError) as caught:
        read(text, "class.csv")
    assert [error.split(": ")[0] for error in caught.value.errors] == [
        "class.csv:3", "class.csv:4", "class.csv:5", "class.csv:6"]
    assert "line 2" in caught.value.errors[-1]


@pytest.mark.parametrize(("data", "where"), [
    (b"Name,Email\nA,a@example.edu\n", "x.csv:1: no student number column"),
    (b"Student number,Name\ns1,A\n", "x.csv:1: no email column"),
    ("Student number,Name,Email\ns1,B\xf6,a@example.edu\n".encode("latin-1"), "x.csv:2: not UTF-8"),
    (b"", "x.csv: the file is empty"),
    (b"Student number,Name,Email\n\n", "x.csv: no members"),
])
def test_unusable_files_are_refused(data: bytes, where: str) -> None:
    with pytest.raises(RosterFileError) as caught:
        roster_read_csv(data=data, filename="x.csv")
    assert caught.value.errors[0].startswith(where)


# --------------------------------------------------------------------------- planning and applying


def apply(course, text: str, invited: list[int] | None = None):  # type: ignore[no-untyped-def]
    on_invite = invited.extend if invited is not None else None
    return roster_apply(course=course, entries=read(text), matcher=StudentNumberMatcher(), on_invite=on_invite)


@pytest.mark.django_db(transaction=True)
def test_apply_then_reapply_changes_nothing_and_invites_once() -> None:
    course = make_course("dlcv")
    plan = roster_plan(course=course, entries=read(REGISTRAR), matcher=StudentNumberMatcher())
    assert plan.summary() == {"new": 3, "restored": 0, "updated": 0, "dropped": 0, "unchanged": 0}
    assert not User.objects.filter(student_number__isnull=False).exists()  # a plan writes nothing

    invited: list[int] = []
    apply(course, REGISTRAR, invited)
    members = {e.user.student_number: (e.role, e.section, e.source, e.user.display_name)
               for e in Enrollment.objects.filter(course=course).select_related("user")}
    assert members == {"r11000001": (Role.STUDENT, "A", EnrollmentSource.ROSTER, "王小明"),
                       "r11000002": (Role.STUDENT, "B", EnrollmentSource.ROSTER, "李小華"),
                       "r11000003": (Role.TA, "", EnrollmentSource.ROSTER, "陳助教")}
    assert not any(u.has_usable_password() for u in User.objects.filter(student_number__isnull=False))
    assert sorted(invited) == sorted(User.objects.filter(student_number__isnull=False).values_list("pk", flat=True))

    invitations_send(user_ids=invited, course_id=course.pk, base_url="http://testserver/")
    assert len(mail.outbox) == 3
    again: list[int] = []
    second = apply(course, REGISTRAR, again)
    assert second.summary() == {"new": 0, "restored": 0, "updated": 0, "dropped": 0, "unchanged": 3}
    assert again == []  # everyone was invited already
    assert invitations_send(user_ids=invited, course_id=course.pk, base_url="http://testserver/") == 0
    assert len(mail.outbox) == 3


@pytest.mark.django_db
def test_updates_and_drops_keep_work_and_hide_the_course() -> None:
    from quizzes.models import Assessment, Attempt

    course = make_course("dlcv")
    joined = make_member(course, Role.STUDENT, username="joined")  # came by hand: never dropped by a roster
    apply(course, REGISTRAR)
    hua = User.objects.get(student_number="r11000002")
    exam = Assessment.objects.create(course=course, title="Quiz", slug="quiz")
    Attempt.objects.create(assessment=exam, user=hua, started_at=timezone.now())

    changed = REGISTRAR.replace("王小明,ming@example.edu,student,A", "王曉明,ming@example.edu,student,C")
    changed = "\n".join(line for line in changed.splitlines() if not line.startswith("r11000002"))
    plan = apply(course, changed)
    assert plan.summary() == {"new": 0, "restored": 0, "updated": 1, "dropped": 1, "unchanged": 1}
    assert set(plan.updated[0].fields) == {"display_name", "section"}
    assert Enrollment.objects.get(course=course, user__student_number="r11000001").section == "C"
    # Dropped: the course is gone from their pages; their attempt stays.
    assert DroppedEnrollment.objects.filter(course=course, user=hua).exists()
    assert list(enrollments_for_user(user=hua)) == []
    with pytest.raises(Http404):
        course_get_for_member(user=hua, course_slug=course.slug)
    assert Attempt.objects.filter(user=hua, assessment=exam).exists()
    assert Enrollment.objects.filter(course=course, user=joined).exists()

    back = apply(course, REGISTRAR)  # listed again: restored, with the same attempt
    assert back.summary() == {"new": 0, "restored": 1, "updated": 1, "dropped": 0, "unchanged": 1}
    assert course_get_for_member(user=hua, course_slug=course.slug) == (course, Role.STUDENT)
    assert not DroppedEnrollment.objects.filter(course=course).exists()


@pytest.mark.django_db
def test_a_problem_writes_nothing() -> None:
    course = make_course("dlcv")
    make_user("r11000002", student_number="other-number")  # the username a new account would need
    before = (User.objects.count(), Enrollment.objects.count())
    with pytest.raises(RosterRefused) as caught:
        apply(course, REGISTRAR)
    assert caught.value.errors == [
        "roster.csv:3: the username r11000002 belongs to another account (student number other-number)."]
    assert (User.objects.count(), Enrollment.objects.count()) == before


@pytest.mark.django_db
def test_an_account_named_by_its_student_number_is_adopted_but_keeps_its_email() -> None:
    course = make_course("dlcv")
    existing = make_user("r11000001", email="own@example.org", display_name="Own name")
    plan = apply(course, REGISTRAR)
    assert len(plan.new) == 3 and plan.new[0].user == existing
    existing.refresh_from_db()
    assert existing.student_number == "r11000001" and existing.has_usable_password()
    # The account has a password: its owner's email and name stay (no reset sent elsewhere).
    assert (existing.email, existing.display_name) == ("own@example.org", "Own name")


@pytest.mark.django_db
def test_a_corrected_email_before_the_password_is_set_gets_a_new_invitation() -> None:
    course = make_course("dlcv")
    invited: list[int] = []
    apply(course, REGISTRAR)
    ming = User.objects.get(student_number="r11000001")
    invitations_send(user_ids=[ming.pk], course_id=course.pk, base_url="http://testserver/")
    plan = apply(course, REGISTRAR.replace("ming@example.edu", "ming@students.example.edu"), invited)
    assert [(c.entry.key, c.fields) for c in plan.updated] == [("r11000001", ("email",))]
    ming.refresh_from_db()
    assert ming.email == "ming@students.example.edu" and ming.invited_at is None


@pytest.mark.django_db
def test_invitation_is_in_the_course_language_and_works_once(client, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    course = make_course("dlcv")
    course.language = "zh-hant"
    course.save()
    invited: list[int] = []
    with django_capture_on_commit_callbacks(execute=True):
        apply(course, REGISTRAR, invited)
    assert len(invited) == 3
    assert invitations_send(user_ids=invited[:1], course_id=course.pk, base_url="http://testserver/") == 1
    message = mail.outbox[0]
    assert message.to == ["ming@example.edu"] and "邀請" in message.subject
    link = re.search(r"http://testserver(/accounts/invitation/\S+)", message.body)
    assert link is not None
    form_page = client.get(link.group(1), follow=True)
    assert form_page.status_code == 200 and b"r11000001" in form_page.content
    response = client.post(form_page.redirect_chain[-1][0],
                           {"new_password1": "a-long-pass-phrase-42", "new_password2": "a-long-pass-phrase-42"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").context["user"].username == "r11000001"  # logged in
    assert User.objects.get(username="r11000001").check_password("a-long-pass-phrase-42")
    client.logout()
    reused = client.get(link.group(1), follow=True)
    assert reused.context["validlink"] is False
    assert INVALID_LINK.search(reused.content.decode())


@pytest.mark.django_db
def test_password_reset_mails_a_link_also_to_an_invited_account(client) -> None:  # type: ignore[no-untyped-def]
    course = make_course("dlcv")
    apply(course, REGISTRAR)
    response = client.post("/accounts/password-reset/", {"email": "hua@example.edu"}, HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["hua@example.edu"]
    path = re.search(r"http://testserver(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    page = client.get(path, follow=True)
    assert page.context["validlink"] is True
    done = client.post(page.redirect_chain[-1][0], {"new_password1": "another-long-phrase-7",
                                                    "new_password2": "another-long-phrase-7"})
    assert done.status_code == 302
    assert User.objects.get(student_number="r11000002").check_password("another-long-phrase-7")
    client.logout()
    reused = client.get(path, follow=True)
    assert reused.context["validlink"] is False and INVALID_LINK.search(reused.content.decode())


@pytest.mark.django_db
def test_the_embedded_backend_writes_one_file_per_message(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = "accounts.mail.FilePerMessageBackend"
    settings.EMAIL_FILE_PATH = tmp_path
    course = make_course("dlcv")
    apply(course, REGISTRAR)
    ids = list(User.objects.filter(student_number__isnull=False).values_list("pk", flat=True))
    assert invitations_send(user_ids=ids, course_id=course.pk, base_url="http://testserver/") == 3
    files = sorted(tmp_path.iterdir())
    assert len(files) == 3
    assert {next(a for a in ("ming", "hua", "ta") if f"-{a}@example.edu-" in f.name) for f in files} == {"ming", "hua", "ta"}
    assert all("/accounts/invitation/" in f.read_text() for f in files)


@pytest.mark.django_db
def test_the_import_page_mails_invitations_through_the_broker_once(
        client, monkeypatch, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    from celery import current_app

    from accounts.tasks import send_invitations

    course = make_course("dlcv")
    client.force_login(make_member(course, Role.INSTRUCTOR, username="prof"))
    sent: list[tuple[str, list]] = []
    monkeypatch.setattr(current_app, "send_task", lambda name, args, **kw: sent.append((name, args)))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/instructor/courses/{course.slug}/roster/import/",
                               {"apply": "1", "filename": "r.csv", "content": REGISTRAR})
    assert response.status_code == 302
    new_ids = sorted(User.objects.filter(student_number__isnull=False).values_list("pk", flat=True))
    assert sent == [("accounts.send_invitations", [new_ids, course.pk, "http://testserver/"])]
    assert mail.outbox == []  # nothing mailed inside the request
    assert send_invitations(*sent[0][1]) == 3 and len(mail.outbox) == 3
    assert send_invitations(*sent[0][1]) == 0 and len(mail.outbox) == 3  # a redelivered message sends nothing


@pytest.mark.django_db
def test_applying_a_preview_the_roster_has_outrun_writes_nothing_and_previews_again(client) -> None:  # type: ignore[no-untyped-def]
    course = make_course("dlcv")
    client.force_login(make_member(course, Role.INSTRUCTOR, username="prof"))
    url = f"/instructor/courses/{course.slug}/roster/import/"
    preview = client.post(url, {"file": SimpleUploadedFile("r.csv", REGISTRAR.encode())})
    fingerprint = preview.context["apply_form"].initial["fingerprint"]
    assert preview.context["preview"]["summary"]["new"] == 3
    apply(course, REGISTRAR.replace("r11000003,陳助教,ta@example.edu,TA,\n", ""))  # someone else, meanwhile
    before = list(Enrollment.objects.order_by("pk").values_list("user_id", "role", "section"))
    again = client.post(url, {"apply": "1", "filename": "r.csv", "content": REGISTRAR, "fingerprint": fingerprint})
    assert again.status_code == 200
    assert "changed since this preview" in again.content.decode()
    assert again.context["preview"]["summary"] == {"new": 1, "restored": 0, "updated": 0, "dropped": 0,
                                                   "unchanged": 2}
    assert list(Enrollment.objects.order_by("pk").values_list("user_id", "role", "section")) == before
    fresh = again.context["apply_form"].initial["fingerprint"]
    assert client.post(url, {"apply": "1", "filename": "r.csv", "content": REGISTRAR,
                             "fingerprint": fresh}).status_code == 302
    assert Enrollment.objects.filter(course=course).count() == 4


@pytest.mark.django_db
def test_a_student_made_ta_by_hand_stays_ta_through_a_reimport() -> None:
    from accounts.services.courses import course_staff_add

    course = make_course("dlcv")
    apply(course, REGISTRAR)
    course_staff_add(course=course, username="r11000001", email="", name="", role=Role.TA)
    plan = apply(course, REGISTRAR)  # the registrar still lists them as a student
    assert plan.summary()["updated"] == 0 and plan.summary()["unchanged"] == 3
    assert Enrollment.objects.get(course=course, user__student_number="r11000001").role == Role.TA
    moved = apply(course, REGISTRAR.replace("ming@example.edu,student,A", "ming@example.edu,student,C"))
    assert [c.fields for c in moved.updated] == [("section",)]
    assert Enrollment.objects.get(course=course, user__student_number="r11000001").role == Role.TA
