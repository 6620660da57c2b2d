"""The labs API's routes (under ``/api/``: see ``dlcv_site/api_urls.py``)."""

from django.urls import path

from labs import apis

urlpatterns = [
    path("labs/", apis.LabListApi.as_view(), name="api-lab-list"),
    path("labs/<slug:lab_slug>/", apis.LabDetailApi.as_view(), name="api-lab-detail"),
    path("labs/<slug:lab_slug>/submissions/", apis.SubmissionCreateApi.as_view(), name="api-submission-create"),
    path("submissions/<int:submission_id>/", apis.SubmissionDetailApi.as_view(), name="api-submission-detail"),
    path("me/grades/", apis.MyGradesApi.as_view(), name="api-my-grades"),
]
