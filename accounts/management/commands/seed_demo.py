from django.core.management.base import BaseCommand

from accounts.services import demo_course_create


class Command(BaseCommand):
    help = "Create the demo course, instructor and student. Passwords are printed once, when set."

    def add_arguments(self, parser) -> None:  # type: ignore[no-untyped-def]
        parser.add_argument("--reset-passwords", action="store_true", help="Set and print new passwords.")

    def handle(self, *args: object, **options: object) -> None:
        course, accounts = demo_course_create(reset_passwords=bool(options["reset_passwords"]))
        self.stdout.write(f"Demo course: {course.slug}")
        for account in accounts:
            if account.password:
                self.stdout.write(f"  {account.role:<10} user {account.username}  password {account.password}")
            else:
                self.stdout.write(
                    f"  {account.role:<10} user {account.username}  (exists; new password: "
                    "python manage.py seed_demo --reset-passwords)"
                )
