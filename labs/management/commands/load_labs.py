"""``python manage.py load_labs --course SLUG``: create or update the labs in ``fixtures/labs/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.models import Course
from accounts.services import DEMO_COURSE_SLUG
from labs.services import lab_spec_errors, lab_upsert


class Command(BaseCommand):
    help = "Load (idempotently) the numeric labs defined in fixtures/labs/*.yaml into a course."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--course", default=DEMO_COURSE_SLUG)
        parser.add_argument("--dir", default=str(Path(settings.BASE_DIR) / "fixtures" / "labs"))

    def handle(self, *args: object, **options: Any) -> None:
        course = Course.objects.filter(slug=str(options["course"])).first()
        if course is None:
            raise CommandError(f"no course {options['course']!r}")
        files = sorted(Path(options["dir"]).glob("*.yaml"))
        if not files:
            raise CommandError(f"no *.yaml lab definitions in {options['dir']}")
        specs: list[tuple[Path, dict[str, Any]]] = []
        problems: list[str] = []
        for path in files:  # validate everything before writing anything
            try:
                spec = yaml.safe_load(path.read_text(encoding="utf-8"))
            except yaml.YAMLError as exc:
                problems.append(f"{path.name}: not valid YAML: {exc}")
                continue
            problems += [f"{path.name}: {error}" for error in lab_spec_errors(spec)]
            specs.append((path, spec))
        slugs = [spec.get("slug") for _, spec in specs if isinstance(spec, dict)]
        problems += [f"lab slug {s!r} is defined twice" for s in sorted({s for s in slugs if slugs.count(s) > 1})]
        if problems:
            raise CommandError("invalid lab definitions:\n  " + "\n  ".join(problems))
        with transaction.atomic():
            for _path, spec in specs:
                try:
                    lab, created = lab_upsert(course=course, spec=spec)
                except ValueError as exc:
                    raise CommandError(str(exc)) from exc
                verb = "created" if created else "updated"
                self.stdout.write(f"Lab {lab.slug}: {lab.parts.count()} parts ({verb})")
