from django.core.management.base import BaseCommand

from accounts import selectors, services


class Command(BaseCommand):
    help = "Create a staff superuser if none exists yet, and print how to sign in (used by `make run`)."

    def add_arguments(self, parser):
        parser.add_argument("--email", default="admin@flowcast.localhost")
        parser.add_argument("--password", help="default: a random password, printed once")

    def handle(self, *args, email, password, **options):
        if selectors.superuser_exists():
            self.stdout.write("A superuser exists already; `manage.py changepassword EMAIL` resets a password.")
            return
        password = services.superuser_create(email=email, password=password)
        self.stdout.write(self.style.SUCCESS(f"Created superuser {email} with password {password}"))
