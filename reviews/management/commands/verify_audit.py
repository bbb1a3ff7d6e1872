"""``manage.py verify_audit``: the keyed audit chain, and the chain heads anchored in the transparency log.

A reviews command because the anchors live in the transparency log (reviews); the chain walk is intake's.
"""

from django.core.management.base import BaseCommand

from reviews.audit_anchors import audit_verify


class Command(BaseCommand):
    help = ("Walk the keyed audit chain and check it against the heads anchored in the signed transparency log; "
            "exit 0 if intact, 1 naming the first broken event.")

    def handle(self, *args, **options):  # noqa: ANN002, ANN003
        result = audit_verify()
        if result.ok:
            self.stdout.write(result.message)
            return
        if not result.chain.ok:
            self.stderr.write(f"audit chain broken: {result.chain.message}")
        if not result.anchors.ok:
            self.stderr.write(f"audit anchors broken: {result.anchors.message}")
        raise SystemExit(1)
