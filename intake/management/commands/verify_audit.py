from django.core.management.base import BaseCommand

from intake.audit import audit_verify_chain


class Command(BaseCommand):
    help = "Walk the hash-chained audit log; exit 0 if intact, 1 naming the first broken event."

    def handle(self, *args, **options):  # noqa: ANN002, ANN003
        result = audit_verify_chain()
        if result.ok:
            self.stdout.write(result.message)
            return
        self.stderr.write(f"audit chain broken: {result.message}")
        raise SystemExit(1)
