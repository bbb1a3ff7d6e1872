from django.core.management.base import BaseCommand

from reviews.demo import demo_route


class Command(BaseCommand):
    help = ("Demo cases at every stop of the route (reported, escalated, closed with guidance) and a published "
            "aggregate release, through the real services and sandboxed triage (idempotent; after load_demo).")

    def handle(self, *args, **options):  # noqa: ANN002, ANN003
        cases = demo_route()
        self.stdout.write("demo cases: " + ", ".join(f"{stop} {reference}" for stop, reference in cases.items()))
