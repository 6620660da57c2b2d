from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from quizzes.services.bank import bank_english_coverage, bank_read, bank_sync


class Command(BaseCommand):
    help = (
        "Validate and load the question bank (fixtures/bank) and the past exams (fixtures/exams). "
        "Idempotent; edited questions that have answers get a new version."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", default=str(settings.BASE_DIR / "fixtures"),
                            help="the fixtures folder holding bank/ and exams/ (default: fixtures/)")
        parser.add_argument("--check", action="store_true", help="validate only; write nothing")
        parser.add_argument("--coverage", action="store_true",
                            help="also list, per topic, how many questions carry English")

    def handle(self, *args: object, **options: object) -> None:
        root = Path(str(options["path"]))
        if not (root / "bank" / "topics.yaml").is_file():
            raise CommandError(f"{root} has no bank/topics.yaml: pass the fixtures folder")
        contents, errors = bank_read(fixtures_dir=root)
        if errors:
            for error in errors:
                self.stderr.write(str(error))
            raise CommandError(f"{len(errors)} error(s) in the bank; nothing was loaded")
        counts: dict[str, int] = {}
        for question in contents.questions:
            counts[question.type] = counts.get(question.type, 0) + 1
        by_type = ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))
        coverage = bank_english_coverage(contents.questions)
        if options["coverage"]:
            for topic, (count, total) in sorted(coverage.items()):
                if topic:
                    self.stdout.write(f"  {topic}: {count}/{total} in English")
        count, total = coverage.get("", (0, 0))
        english = f"English: {count} of {total} questions ({100 * count / max(total, 1):.1f} %)"
        if options["check"]:
            self.stdout.write(f"OK: {len(contents.questions)} questions ({by_type}); no errors. {english}")
            return
        report = bank_sync(contents=contents, source_root=settings.BASE_DIR)
        self.stdout.write(f"Loaded {len(contents.questions)} questions ({by_type}): {report.summary()}. {english}")
