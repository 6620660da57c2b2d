from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from quizzes.bank.drift import Drift
from quizzes.bank.format import BankValidationError
from quizzes.instructor_selectors import bank_drift
from quizzes.models import Question
from quizzes.services.bank import (
    BankConflictMissing,
    bank_conflict_resolve,
    bank_english_coverage,
    bank_read,
    bank_sync,
)

DRIFT_WORDS: dict[Drift, str] = {
    Drift.NEW: "new file: load_bank creates it",
    Drift.FILE_CHANGED: "file changed: load_bank applies it",
    Drift.BROWSER_EDITED: "edited in the browser, file behind: kept; download it and commit it",
    Drift.CONFLICT: "CONFLICT: file changed and edited in the browser: nothing changes until you choose "
                    "(--resolve ID=file or ID=browser, or the bank's sync page)",
    Drift.FILE_REMOVED: "file removed: load_bank retires it",
    Drift.BROWSER_ONLY: "created in the browser, no file yet: kept; download it and commit it",
}


class Command(BaseCommand):
    help = (
        "Validate and load the question bank (fixtures/bank) and the past exams (fixtures/exams). "
        "Idempotent; never undoes a browser edit: a question edited in the browser whose file has not changed "
        "is kept, and one changed on both sides is reported as a conflict and left as it is."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", default=str(settings.BASE_DIR / "fixtures"),
                            help="the fixtures folder holding bank/ and exams/ (default: fixtures/)")
        parser.add_argument("--check", action="store_true",
                            help="validate the files and list their drift from the database; write nothing")
        parser.add_argument("--resolve", action="append", default=[], metavar="ID=file|browser",
                            help="settle a conflict after loading: keep the file's or the browser's version "
                                 "(repeatable)")
        parser.add_argument("--coverage", action="store_true",
                            help="also list, per topic, how many questions carry English")

    def handle(self, *args: object, **options: object) -> None:
        root = Path(str(options["path"]))
        if not (root / "bank" / "topics.yaml").is_file():
            raise CommandError(f"{root} has no bank/topics.yaml: pass the fixtures folder")
        resolutions = [self._resolution(raw) for raw in options["resolve"]]  # type: ignore[union-attr]
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
            self._drift(contents)
            return
        report = bank_sync(contents=contents, source_root=settings.BASE_DIR)
        self.stdout.write(f"Loaded {len(contents.questions)} questions ({by_type}): {report.summary()}. {english}")
        for bank_id in report.kept_browser_edits:
            self.stdout.write(f"  kept the browser's version of {bank_id} (its file is behind: download it)")
        pending = {bank_id for bank_id, _keep in resolutions}
        for conflict in report.conflicts:
            if conflict.bank_id in pending:
                continue
            self.stderr.write(self.style.WARNING(
                f"CONFLICT {conflict.bank_id}: {conflict.path} changed and the question was edited in the browser; "
                f"nothing was changed. Choose with --resolve {conflict.bank_id}=file or {conflict.bank_id}=browser, "
                f"or on the bank's sync page. Browser version → file:"))
            self.stderr.write(conflict.diff() or "(the file was removed)\n")
        for bank_id, keep in resolutions:
            question = Question.objects.filter(bank_id=bank_id).first()
            if question is None:
                raise CommandError(f"--resolve: no question {bank_id!r}")
            try:
                bank_conflict_resolve(question=question, keep=keep)
            except BankConflictMissing:
                raise CommandError(f"--resolve: {bank_id} has no conflict to settle") from None
            except BankValidationError as exc:
                raise CommandError(f"--resolve {bank_id}=file: the file does not load:\n{exc}") from None
            self.stdout.write(f"  {bank_id}: kept the {keep}'s version")

    def _resolution(self, raw: str) -> tuple[str, str]:
        bank_id, _sep, keep = raw.partition("=")
        if keep not in ("file", "browser") or not bank_id:
            raise CommandError(f"--resolve {raw!r}: write ID=file or ID=browser")
        return bank_id, keep

    def _drift(self, contents) -> None:  # type: ignore[no-untyped-def]
        rows = bank_drift(questions=contents.questions, source_root=settings.BASE_DIR)
        new = [row for row in rows if row.drift is Drift.NEW]
        others = [row for row in rows if row.drift is not Drift.NEW]
        self.stdout.write(f"Drift from the database: {len(others) + len(new)} question(s) differ"
                          + (f" ({len(new)} new files not loaded yet)" if new else ""))
        for row in others:
            self.stdout.write(f"  {row.bank_id} ({row.path}): {DRIFT_WORDS[row.drift]}")
