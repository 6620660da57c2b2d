"""Instructor grade pages, included under ``instructor/courses/<slug:course_slug>/`` (every view takes course_slug)."""

from django.urls import URLPattern, path

from grades import instructor_views as views

urlpatterns: list[URLPattern] = [
    path("grades/", views.gradebook, name="instructor-gradebook"),
    path("grades/grades.csv", views.gradebook_csv, name="instructor-gradebook-csv"),
    path("grades/canvas.csv", views.gradebook_canvas_csv, name="instructor-gradebook-canvas-csv"),
    path("grades/moodle.csv", views.gradebook_moodle_csv, name="instructor-gradebook-moodle-csv"),
    path("grades/policy/", views.grade_policy, name="instructor-grade-policy"),
    path("grades/policy/excusals", views.excusal_edit, name="instructor-grade-excusal"),
]
