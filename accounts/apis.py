"""The accounts API: exchanging a username and password for an API token."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.lockout import lockout_message, lockout_minutes
from accounts.services import token_get_or_create
from dlcv_site.api import ApiView, StrictInputSerializer, StrictJSONParser, error_responses


class TokenObtainApi(ApiView):
    """Exchange a username and password for the user's API token. Failed attempts count towards
    the same lockout as the login page's (``accounts.lockout``): 429 when locked out."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []
    parser_classes = [StrictJSONParser, FormParser]

    class InputSerializer(StrictInputSerializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})

        class Meta:
            ref_name = "TokenObtainInput"

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")

        class Meta:
            ref_name = "TokenObtainOutput"

    @extend_schema(
        operation_id="auth_token_obtain",
        tags=["auth"],
        auth=[],
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400, 413, 429)},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if user is None:
            if getattr(request._request, "axes_locked_out", False):
                minutes = lockout_minutes(request._request)
                raise exceptions.Throttled(wait=minutes * 60, detail=lockout_message(minutes))
            raise exceptions.ValidationError(
                {"non_field_errors": [_("Unable to log in with the provided credentials.")]})
        token = token_get_or_create(user=user)
        return Response(self.OutputSerializer({"token": token.key}).data)
