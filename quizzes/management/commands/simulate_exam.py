from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Course
from accounts.services import DEMO_COURSE_SLUG
from quizzes.analysis_selectors import assessment_analysis
from quizzes.services.simulation import SimulationError, simulated_exam_create


class Command(BaseCommand):
    help = ("Make a closed exam taken by simulated students (real bank questions, graded by the core) with a "
            "planted bad item and a planted unfair variant, and print what the item analysis flags.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--course", default=DEMO_COURSE_SLUG)
        parser.add_argument("--students", type=int, default=100)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--slug", default="simulated-exam")

    def handle(self, *args: object, **options: object) -> None:
        course = Course.objects.filter(slug=str(options["course"])).first()
        if course is None:
            raise CommandError(f"no course {options['course']!r}")
        try:
            made = simulated_exam_create(course=course, students=int(str(options["students"])),
                                         seed=int(str(options["seed"])), slug=str(options["slug"]))
        except SimulationError as exc:
            raise CommandError(str(exc)) from exc
        analysis = assessment_analysis(assessment=made.assessment)
        stats = analysis.stats
        self.stdout.write(f"{made.assessment.slug} (id {made.assessment.pk}): {stats.n} attempts, mean "
                          f"{stats.mean:.1%}, alpha {stats.alpha:.3f}")
        self.stdout.write(f"planted: a bad item {made.bad_item}, an unfair variant group {made.hard_group!r} "
                          f"of {made.unfair_item}")
        for item in stats.items:
            if item.flags:
                self.stdout.write(f"  {item.key}: facility {item.facility:.0%}, D {item.discrimination:+.2f}, "
                                  f"flags {', '.join(item.flags)}")
