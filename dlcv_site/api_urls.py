"""The JSON API, mounted at ``/api/`` (schema and docs are in ``dlcv_site/urls.py``)."""

from django.urls import include, path, re_path

from dlcv_site.api import api_not_found

urlpatterns = [
    path("", include("accounts.api_urls")),
    path("", include("labs.api_urls")),
    # Last: any other /api/… URL is a JSON 404, not the site's HTML page. Only paths ending in a
    # slash, so /api/docs still redirects to /api/docs/ (APPEND_SLASH).
    re_path(r"^(.*/)?$", api_not_found, name="api-not-found"),
]
