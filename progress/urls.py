"""The course home (included at the site root)."""

from django.urls import path

from progress import views

urlpatterns = [
    path("courses/<slug:course_slug>/", views.course_home, name="course-dashboard"),
]
