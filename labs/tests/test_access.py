"""Who may open a lab and a submission: everything else is a 404."""

from __future__ import annotations

import pytest
from django.http import Http404

from accounts.models import Role
from accounts.tests.factories import make_course, make_member, make_user
from labs.access import lab_get_for_member, submission_get_for_user
from labs.services import submission_create
from labs.tests.factories import lab_answers, make_lab


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "published", "expected"),
    [
        ("student", True, "student"),
        ("student", False, 404),
        ("ta", True, "ta"),
        ("ta", False, "ta"),
        ("instructor", False, "instructor"),
        ("outsider", True, 404),
        ("other-course-instructor", True, 404),
        ("superuser", False, "instructor"),
    ],
)
def test_lab_get_for_member(course, who: str, published: bool, expected: object) -> None:
    lab = make_lab(course, "lab-a", published=published)
    other = make_course("other")
    user = {
        "student": lambda: make_member(course, Role.STUDENT),
        "ta": lambda: make_member(course, Role.TA),
        "instructor": lambda: make_member(course, Role.INSTRUCTOR),
        "outsider": lambda: make_user(),
        "other-course-instructor": lambda: make_member(other, Role.INSTRUCTOR),
        "superuser": lambda: make_user(is_superuser=True),
    }[who]()
    if expected == 404:
        with pytest.raises(Http404):
            lab_get_for_member(user=user, lab_slug=lab.slug)
    else:
        assert lab_get_for_member(user=user, lab_slug=lab.slug) == (lab, expected)


@pytest.mark.django_db
def test_lab_get_for_member_unknown_slug_is_404(course) -> None:
    with pytest.raises(Http404):
        lab_get_for_member(user=make_member(course), lab_slug="no-such-lab")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("owner", True),
        ("classmate", False),
        ("ta", True),
        ("instructor", True),
        ("other-course-instructor", False),
        ("outsider", False),
        ("superuser", True),
    ],
)
def test_submission_get_for_user(course, who: str, allowed: bool) -> None:
    lab = make_lab(course)
    owner = make_member(course, Role.STUDENT)
    submission = submission_create(user=owner, lab=lab, answers=lab_answers(lab, owner)).submission
    user = {
        "owner": lambda: owner,
        "classmate": lambda: make_member(course, Role.STUDENT),
        "ta": lambda: make_member(course, Role.TA),
        "instructor": lambda: make_member(course, Role.INSTRUCTOR),
        "other-course-instructor": lambda: make_member(make_course("other"), Role.INSTRUCTOR),
        "outsider": lambda: make_user(),
        "superuser": lambda: make_user(is_superuser=True),
    }[who]()
    if allowed:
        assert submission_get_for_user(user=user, submission_id=submission.pk) == submission
    else:
        with pytest.raises(Http404):
            submission_get_for_user(user=user, submission_id=submission.pk)


@pytest.mark.django_db
def test_submission_get_for_user_unknown_id_is_404(course) -> None:
    with pytest.raises(Http404):
        submission_get_for_user(user=make_member(course), submission_id=999_999)
