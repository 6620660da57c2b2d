from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Course
from accounts.services import DEMO_COURSE_SLUG
from quizzes.services.bank import mock_exam_ensure, practice_sets_ensure


class Command(BaseCommand):
    help = "Create (or refresh) a course's mock exams (from the past exams) and its practice sets (per topic, mixed)."

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
        practice = practice_sets_ensure(course=course)
        self.stdout.write(f"Practice sets: {len(practice)} (one per topic and a mixed one)")
