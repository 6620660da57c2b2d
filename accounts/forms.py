"""The people pages' forms: shape and format only (the rules are the services')."""

from __future__ import annotations

from zoneinfo import available_timezones

from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, User
from accounts.roster import MAX_ROSTER_BYTES


class CourseForm(forms.Form):
    slug = forms.SlugField(label=_("Short name (in addresses)"), max_length=64)
    title = forms.CharField(label=_("Title"), max_length=200)
    term = forms.CharField(label=_("Term"), max_length=50, required=False)
    time_zone = forms.ChoiceField(label=_("Time zone"), initial="Asia/Taipei")
    language = forms.ChoiceField(label=_("Language of its emails"),
                                 choices=[("zh-hant", _("Traditional Chinese")), ("en", _("English"))])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["time_zone"].choices = [(name, name) for name in sorted(available_timezones())]
        self.fields["language"].initial = settings.LANGUAGE_CODE


class RosterUploadForm(forms.Form):
    file = forms.FileField(label=_("Roster file (CSV)"))

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_ROSTER_BYTES:
            raise forms.ValidationError(_("The file is larger than %(mb)s MB.") % {"mb": MAX_ROSTER_BYTES // 2**20})
        return upload


class RosterApplyForm(forms.Form):
    """The previewed file, sent back as it was (so what is applied is what was shown)."""

    filename = forms.CharField(max_length=255)
    content = forms.CharField(max_length=MAX_ROSTER_BYTES, strip=False)
    fingerprint = forms.CharField(max_length=64, required=False)  # the preview's plan (RosterPlan.fingerprint)


class StaffAddForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    email = forms.EmailField(label=_("Email (for a new account's invitation)"), required=False)
    name = forms.CharField(label=_("Name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=[(Role.TA, Role.TA.label), (Role.INSTRUCTOR, Role.INSTRUCTOR.label)])


class SectionsForm(forms.Form):
    sections = forms.CharField(label=_("Sections (comma-separated; empty: all)"), max_length=1000, required=False)

    def clean_sections(self) -> list[str]:
        return [part.strip() for part in self.cleaned_data["sections"].split(",") if part.strip()]


class JoinForm(forms.Form):
    code = forms.CharField(label=_("Join code"), max_length=32)


class InvitingPasswordResetForm(PasswordResetForm):
    """Django's reset form, also for accounts that never set a password: "Forgot your password?"
    then sends an invited student a fresh link (Django's own skips accounts without one)."""

    def get_users(self, email: str):  # type: ignore[no-untyped-def]
        return (user for user in User._default_manager.filter(email__iexact=email, is_active=True)
                if user.email.lower() == email.lower())
