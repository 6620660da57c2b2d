"""A course's name on the pages: its title, and its term once."""

from __future__ import annotations

import pytest

from accounts.models import Course


@pytest.mark.parametrize(("title", "term", "shown"), [
    ("Deep Learning for Computer Vision", "demo", "Deep Learning for Computer Vision (demo)"),
    # The demo course as earlier set-ups stored it: the term in the title already.
    ("Deep Learning for Computer Vision (demo)", "demo", "Deep Learning for Computer Vision (demo)"),
    ("Deep Learning for Computer Vision", "", "Deep Learning for Computer Vision"),
    ("Computer Vision (demo edition)", "2026 spring", "Computer Vision (demo edition) (2026 spring)"),
])
def test_the_term_is_shown_once(title: str, term: str, shown: str) -> None:
    assert str(Course(slug="c", title=title, term=term)) == shown


@pytest.mark.django_db
def test_the_demo_course_title_does_not_repeat_its_term() -> None:
    from accounts.services import demo_course_create

    course, _accounts = demo_course_create()
    assert course.term not in course.title
    assert str(course).count(f"({course.term})") == 1
