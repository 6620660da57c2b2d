"""Student lab pages and their JSON endpoints (included at the site root)."""

from django.urls import URLPattern, path

from labs import views

urlpatterns: list[URLPattern] = [
    path("courses/<slug:course_slug>/labs/", views.lab_list, name="lab-list"),
    path("labs/<slug:lab_slug>/", views.lab_page, name="lab-page"),
    path("labs/<slug:lab_slug>/submit", views.lab_submit, name="lab-submit"),
    path("submissions/<int:submission_id>/", views.submission_page, name="submission-page"),
    path("submissions/<int:submission_id>/state", views.submission_state, name="submission-state"),
    path("submissions/<int:submission_id>/parts/<slug:part_key>/pr-curve.svg", views.submission_pr_curve,
         name="submission-pr-curve"),
]
