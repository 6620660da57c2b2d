"""The accounts API's routes (under ``/api/``: see ``dlcv_site/api_urls.py``)."""

from django.urls import path

from accounts import apis

urlpatterns = [
    path("auth/token/", apis.TokenObtainApi.as_view(), name="api-token-obtain"),
]
