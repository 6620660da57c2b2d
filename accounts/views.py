from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import course_get_for_member
from accounts.models import STAFF_ROLES, Enrollment, Role
from accounts.selectors import courses_taught_by, enrollments_for_user, user_is_course_staff


@login_required
def home(request: HttpRequest) -> HttpResponse:
    enrollments = enrollments_for_user(user=request.user)
    return render(
        request,
        "accounts/home.html",
        {"enrollments": enrollments,
         # Course creators without a course yet still need the way to "New course".
         "is_course_staff": user_is_course_staff(user=request.user) or request.user.has_perm("accounts.create_course")},
    )


@login_required
def instructor_home(request: HttpRequest) -> HttpResponse:
    may_create_course = request.user.has_perm("accounts.create_course")
    if not (user_is_course_staff(user=request.user) or may_create_course):
        raise PermissionDenied("Instructor pages are for a course's instructors and TAs.")
    return render(request, "accounts/instructor_home.html",
                  {"courses": courses_taught_by(user=request.user), "may_create_course": may_create_course,
                   "is_course_staff": True})


@login_required
def instructor_course(request: HttpRequest, course_slug: str) -> HttpResponse:
    course, role = course_get_for_member(user=request.user, course_slug=course_slug)
    if role not in STAFF_ROLES:
        raise PermissionDenied("Only the course's instructors and TAs may open this page.")
    roster = Enrollment.objects.filter(course=course).select_related("user").order_by("role", "section",
                                                                                      "user__username")
    return render(request, "accounts/instructor_course.html",
                  {"course": course, "roster": roster, "is_instructor": role == Role.INSTRUCTOR, "is_course_staff": True})
