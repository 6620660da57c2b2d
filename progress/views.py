"""The course home: a student's study plan (the next exam, the Today slot, weak topics and recent
misconceptions as links to practise them, every topic's mastery, the practice sets by syllabus
section, the past exams). Staff see the same page with the unpublished assessments too."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.access import course_get_for_member
from accounts.models import STAFF_ROLES
from accounts.selectors import user_sees_instructor_link
from progress.presenters import course_home as course_home_context
from progress.selectors import graded_answers_of_student, topics_with_families
from quizzes.models import Assessment, AssessmentMode
from quizzes.presenters import COURSE_CONTENT_LANG
from quizzes.selectors import AssessmentRow, assessments_for_student
from study.selectors import today_panel


def _next_exam(rows: list[AssessmentRow], now: datetime) -> Assessment | None:
    """The next published exam to open (``study.selectors.next_exam``'s rule on the rows read here)."""
    coming = [row.assessment for row in rows if row.assessment.mode == AssessmentMode.EXAM
              and row.assessment.published and row.assessment.opens_at and row.assessment.opens_at > now]
    return min(coming, key=lambda a: a.opens_at, default=None)


@login_required
@require_GET
def course_home(request: HttpRequest, course_slug: str) -> HttpResponse:
    course, role = course_get_for_member(user=request.user, course_slug=course_slug)
    now = timezone.now()
    rows = assessments_for_student(user=request.user, course=course, include_unpublished=role in STAFF_ROLES)
    topics, family_topic = topics_with_families()
    answers = graded_answers_of_student(user=request.user, course=course, now=now, family_topic=family_topic)
    return render(request, "progress/course_home.html", {
        "course": course, "role": role, "is_course_staff": user_sees_instructor_link(user=request.user),
        "content_lang": COURSE_CONTENT_LANG,
        # The study plan's "Today" panel: reviews due and new cards (students; staff have no plan).
        "study_today": None if role in STAFF_ROLES else today_panel(
            user=request.user, course=course, now=now, exam=_next_exam(rows, now)),
        **course_home_context(course_slug=course.slug, rows=rows, topics=topics, answers=answers, now=now),
    })
