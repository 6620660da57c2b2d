"""Instructor lab pages (the gradebook is ``grades.instructor_urls``), included under ``instructor/courses/<slug:course_slug>/`` (every view takes course_slug)."""

from django.urls import URLPattern, path

from labs import instructor_views as views

urlpatterns: list[URLPattern] = [
    path("grades/labs/<slug:lab_slug>/", views.lab_stats, name="instructor-lab-stats"),
    path("grades/labs/<slug:lab_slug>/regrade", views.lab_regrade_view, name="instructor-lab-regrade"),
    path("grades/labs/<slug:lab_slug>/regrade/progress", views.lab_regrade_progress_view,
         name="instructor-lab-regrade-progress"),
]
