from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Course
from accounts.services import DEMO_COURSE_SLUG
from quizzes.services.bank import mock_exam_ensure


class Command(BaseCommand):
    help = "Create (or refresh) the mock exams built from the past exams for a course."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--course", default=DEMO_COURSE_SLUG)
        parser.add_argument("--years", default="109,108")

    def handle(self, *args: object, **options: object) -> None:
        course = Course.objects.filter(slug=str(options["course"])).first()
        if course is None:
            raise CommandError(f"no course {options['course']!r}")
        for year in (int(y) for y in str(options["years"]).split(",")):
            try:
                assessment = mock_exam_ensure(course=course, year=year)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"Mock exam {assessment.slug}: {assessment.items.count()} questions")
