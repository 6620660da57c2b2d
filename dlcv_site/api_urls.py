"""The JSON API, mounted at ``/api/`` (schema and docs are in ``dlcv_site/urls.py``). Any other
``/api/…`` URL is a JSON 404 (``dlcv_site.views.not_found``, the site's 404 handler)."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api_urls")),
    path("", include("labs.api_urls")),
]
