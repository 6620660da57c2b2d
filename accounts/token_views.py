"""API tokens: the profile page where a user lists, creates and revokes theirs.

DRF's ``authtoken`` keeps at most one token per user, so "the list" has zero or one row. The full
key is shown once, on the page that answers the POST creating it; afterwards only its first
characters are, so a shoulder-surfer or a screenshot of the page does not leak it.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from accounts.models import User
from accounts.selectors import tokens_for_user, user_is_course_staff
from accounts.services import token_revoke, token_rotate


class TokenActionForm(forms.Form):
    action = forms.ChoiceField(choices=[("create", _("Create a new token")), ("revoke", _("Revoke"))])


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    new_key: str | None = None
    revoked = False
    status = 200
    if request.method == "POST":
        form = TokenActionForm(request.POST)
        if form.is_valid():
            if form.cleaned_data["action"] == "create":
                new_key = token_rotate(user=user).key
            else:
                revoked = token_revoke(user=user)
        else:
            status = 400
    user_tokens = list(tokens_for_user(user=user))
    return render(
        request,
        "accounts/tokens.html",
        {
            "tokens": user_tokens,
            "new_key": new_key,
            "revoked": revoked,
            "is_course_staff": user_is_course_staff(user=user),
        },
        status=status,
    )
