"""Our LTI signing key (django-lti's ``Key``, in the database, never in the repository): make one if
there is none (``--rotate``: a new one; the old stays in the JWKS until deactivated in the admin)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from lti_tool.models import Key

from lti.services.platforms import tool_key


class Command(BaseCommand):
    help = "Make the tool's LTI signing key if it has none (or a new one with --rotate); print its key id."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--rotate", action="store_true", help="make a new key even if one exists")

    def handle(self, *args: Any, rotate: bool = False, **options: Any) -> None:
        key = Key.objects.generate() if rotate else tool_key()
        self.stdout.write(f"LTI signing key {key.as_jwk()['kid']} (active keys: {Key.objects.active().count()})")
