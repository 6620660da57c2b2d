"""Student lab pages and their polling endpoint (included at the site root); submitting is the API's."""

from django.urls import URLPattern, path

from labs import views

urlpatterns: list[URLPattern] = [
    path("courses/<slug:course_slug>/labs/", views.lab_list, name="lab-list"),
    path("labs/<slug:lab_slug>/", views.lab_page, name="lab-page"),
    # Coding labs' downloads (members of the lab's course only; 404 for numeric labs).
    path("labs/<slug:lab_slug>/starter.py", views.lab_starter_download, name="lab-starter"),
    path("labs/<slug:lab_slug>/public_tests.py", views.lab_public_tests_download, name="lab-public-tests"),
    path("labs/<slug:lab_slug>/dlcv_submit.py", views.lab_client_download, name="lab-client"),
    path("labs/<slug:lab_slug>/files/<str:filename>", views.lab_student_file_download, name="lab-student-file"),
    path("submissions/<int:submission_id>/", views.submission_page, name="submission-page"),
    path("submissions/<int:submission_id>/state", views.submission_state, name="submission-state"),
    path("submissions/<int:submission_id>/parts/<slug:part_key>/pr-curve.svg", views.submission_pr_curve,
         name="submission-pr-curve"),
]
