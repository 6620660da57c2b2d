"""The LTI pages' forms: shape and format only (the rules are the services')."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class RegistrationForm(forms.Form):
    name = forms.CharField(label=_("Name (for you)"), max_length=255)
    issuer = forms.CharField(label=_("Issuer (iss)"), max_length=255)
    client_id = forms.CharField(label=_("Client ID"), max_length=255)
    deployment_ids = forms.CharField(label=_("Deployment IDs (one per line)"), widget=forms.Textarea(attrs={"rows": 2}))
    auth_url = forms.URLField(label=_("Platform's OIDC authentication URL"), max_length=200, assume_scheme="https")
    token_url = forms.URLField(label=_("Platform's access token URL"), max_length=200, assume_scheme="https")
    keyset_url = forms.URLField(label=_("Platform's public keyset (JWKS) URL"), max_length=200, assume_scheme="https")
