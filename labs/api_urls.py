"""Routes of the JSON API, mounted at ``/api/`` (schema and docs are in ``dlcv_site/urls.py``)."""

from django.urls import path, re_path

from labs import apis

urlpatterns = [
    path("auth/token/", apis.TokenObtainApi.as_view(), name="api-token-obtain"),
    path("labs/", apis.LabListApi.as_view(), name="api-lab-list"),
    path("labs/<slug:lab_slug>/", apis.LabDetailApi.as_view(), name="api-lab-detail"),
    path("labs/<slug:lab_slug>/submissions/", apis.SubmissionCreateApi.as_view(), name="api-submission-create"),
    path("submissions/<int:submission_id>/", apis.SubmissionDetailApi.as_view(), name="api-submission-detail"),
    path("me/grades/", apis.MyGradesApi.as_view(), name="api-my-grades"),
    # Last: any other /api/…/ URL is a JSON 404, not the site's HTML page. Only paths ending in a
    # slash, so /api/docs still redirects to /api/docs/ (APPEND_SLASH).
    re_path(r"^(.*/)?$", apis.api_not_found, name="api-not-found"),
]
