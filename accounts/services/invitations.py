"""Invitations: a one-time link to set a password, for accounts made without one (a roster import,
staff added by an instructor). The link is Django's password-reset token (``default_token_generator``):
it expires after ``PASSWORD_RESET_TIMEOUT`` and stops working once a password is set."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import Course, User


def invitation_link(*, user: User, base_url: str) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return base_url.rstrip("/") + reverse("invitation-accept", args=[uid, token])


@transaction.atomic
def invitations_send(*, user_ids: list[int], course_id: int | None, base_url: str, again: bool = False) -> int:
    """Email each of these accounts that still has no password its link, in the course's language;
    how many were sent. Without ``again``, an account already invited is skipped (idempotent)."""
    course = Course.objects.filter(pk=course_id).first() if course_id is not None else None
    users = User.objects.select_for_update().filter(pk__in=user_ids).exclude(email="").order_by("pk")
    if not again:
        users = users.filter(invited_at=None)
    invited = [user for user in users if not user.has_usable_password()]
    if not invited:
        return 0
    messages = []
    with translation.override(course.language if course is not None else settings.LANGUAGE_CODE):
        for user in invited:
            context = {"user": user, "course": course, "link": invitation_link(user=user, base_url=base_url),
                       "days": settings.PASSWORD_RESET_TIMEOUT // (24 * 3600)}
            subject = "".join(render_to_string("accounts/email/invitation_subject.txt", context).splitlines())
            body = render_to_string("accounts/email/invitation_body.txt", context)
            messages.append(EmailMultiAlternatives(subject, body, to=[user.email]))
    get_connection().send_messages(messages)  # one connection for all (an SMTP server's session)
    User.objects.filter(pk__in=[user.pk for user in invited]).update(invited_at=timezone.now())
    return len(invited)
