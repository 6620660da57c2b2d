"""The class view, included under ``instructor/courses/<slug:course_slug>/``."""

from django.urls import path

from progress import instructor_views

urlpatterns = [
    path("class/", instructor_views.class_view, name="instructor-class-mastery"),
    path("class.csv", instructor_views.class_csv, name="instructor-class-mastery-csv"),
]
