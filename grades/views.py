"""A student's grades in a course: every lab, quiz and exam with its score, status and feedback, and
the course total (``grades.selectors.course_grades`` for this student alone)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from accounts.access import course_get_for_member
from accounts.models import STAFF_ROLES, User
from accounts.selectors import user_sees_instructor_link
from grades.presenters import my_grades_view
from grades.selectors import course_grades
from labs.presenters import LAB_CONTENT_LANG
from quizzes.models import AttemptStatus
from quizzes.selectors import assessments_for_student, results_visible


@login_required
@require_GET
def my_grades(request: HttpRequest, course_slug: str) -> HttpResponse:
    """Only the student's own row; a dropped student (no enrolment) gets 404; staff go to the gradebook."""
    course, role = course_get_for_member(user=request.user, course_slug=course_slug)
    if role in STAFF_ROLES:
        return redirect("instructor-gradebook", course_slug=course.slug)
    user: User = request.user  # type: ignore[assignment]
    grades = course_grades(course=course, user=user)
    results = {row.assessment.pk: row.attempt.pk for row in assessments_for_student(user=user, course=course)
               if row.attempt is not None and row.attempt.status != AttemptStatus.IN_PROGRESS
               and results_visible(attempt=row.attempt)}
    context = {"course": course, "content_lang": LAB_CONTENT_LANG,
               "is_course_staff": user_sees_instructor_link(user=user)}
    if grades.rows:
        context.update(my_grades_view(grades, grades.rows[0], results=results))
    return render(request, "grades/my_grades.html", context)
