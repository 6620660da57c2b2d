"""Invitations: a one-time link to set a password, for accounts made without one (a roster import,
staff added by an instructor). The link is Django's password-reset token (``default_token_generator``):
it expires after ``PASSWORD_RESET_TIMEOUT`` and stops working once a password is set."""

from __future__ import annotations

import logging

from celery import current_app
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from kombu.exceptions import KombuError

from accounts.models import Course, User

logger = logging.getLogger(__name__)

SEND_INVITATIONS_TASK = "accounts.send_invitations"
#: Invitations per task: each task's mail goes out on one connection, well inside its time limit.
INVITATIONS_PER_TASK = 100


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


def invitations_enqueue(user_ids: list[int], *, course_id: int | None, base_url: str) -> None:
    """Send the invitations through the broker (``accounts.tasks``), by task name, in chunks. Call
    it once committed. A broker failure is logged; importing the same roster again sends what is
    missing (``roster_apply`` offers every member still uninvited)."""
    try:
        for start in range(0, len(user_ids), INVITATIONS_PER_TASK):
            current_app.send_task(SEND_INVITATIONS_TASK,
                                  args=[user_ids[start:start + INVITATIONS_PER_TASK], course_id, base_url])
    except (KombuError, OSError):
        logger.exception("could not enqueue invitations for %s accounts", len(user_ids))
