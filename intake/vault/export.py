"""A builder's data export: everything held about them, plus their own artifacts decrypted.

The export is a zip produced as a stream of byte chunks (for a streaming HTTP
response): plaintext goes from the vault straight into the response, never
into a temp file, and memory stays bounded by one chunk. Each artifact read
is an audited decrypt with purpose ``builder_export``.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator

from django.db.models import Q

from intake.models import AuditEvent, Submission
from intake.vault.errors import KeyDestroyed
from intake.access import access_decide
from intake.vault.services import ReadPurpose, vault_read

COPY_BYTES = 1024 * 1024


class _Sink:
    """A write-only, non-seekable file for zipfile whose bytes are handed out as they come."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0

    def write(self, data) -> int:  # noqa: ANN001
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def _case_record(case: Submission) -> dict:
    return {
        "reference": case.reference, "state": case.state, "title": case.title, "description": case.description,
        "claim": {"statement": case.claim_statement, "property": case.claim_property,
                  "scope_in": case.claim_scope_in, "scope_out": case.claim_scope_out,
                  "scope_note": case.claim_scope_note, "assumptions": case.claim_assumptions,
                  "access_tier": case.claim_access_tier},
        "manifest": case.manifest, "config_digest": case.config_digest, "retention_days": case.retention_days,
        "created_at": case.created_at.isoformat(),
        "terms_accepted": [{"version": a.terms.version, "text_sha256": a.text_sha256,
                            "accepted_at": a.accepted_at.isoformat()}
                           for a in case.terms_acceptances.select_related("terms")],
        "artifacts": [{"name": a.name, "kind": a.kind, "size": a.size, "sha256": a.sha256}
                      for a in case.artifacts.all()],
        "deletion_receipts": [r.document for r in case.deletion_receipts.all()],
        # issue 15: the case's place in its chain of versions, and the builder's requests for human review
        "version": case.version,
        "previous_version": case.previous_version.reference if case.previous_version_id else None,
        "review_requests": [{"status": r.status, "outcome": r.outcome_state, "justification": r.justification,
                             "requested_at": r.created_at.isoformat(), "decision_reason": r.decision_reason,
                             "decided_at": r.decided_at.isoformat() if r.decided_at else None}
                            for r in case.review_requests.order_by("created_at", "pk")],
    }


def builder_export_stream(*, user) -> Iterator[bytes]:  # noqa: ANN001
    """Yield a zip of the user's data. The caller has authenticated ``user`` as the exporting builder."""
    cases = list(Submission.objects.filter(owner=user).order_by("created_at"))
    case_ids = [str(case.pk) for case in cases]
    events = AuditEvent.objects.filter(Q(actor_id=user.pk) | Q(object_id__in=case_ids)).order_by("seq")
    document = {
        "account": {"email": user.email, "organisation": user.organisation, "role": user.role,
                    "pseudonym": user.pseudonym, "date_joined": user.date_joined.isoformat()},
        "cases": [_case_record(case) for case in cases],
        "audit_events": [{"seq": e.seq, "at": e.created_at.isoformat(), "action": e.action,
                          "object": e.object_type, "data": e.data} for e in events.iterator()],
    }
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        archive.writestr("assay-export.json", json.dumps(document, indent=1, ensure_ascii=False, default=str))
        yield sink.drain()
        for case in cases:
            for artifact in case.artifacts.all():
                try:
                    reader = vault_read(artifact=artifact, access=access_decide(user, case),
                                        purpose=ReadPurpose.BUILDER_EXPORT)
                except KeyDestroyed:
                    continue  # shredded: listed in assay-export.json with its receipt, content gone
                with reader, archive.open(f"{case.reference}/{artifact.name}", "w", force_zip64=True) as target:
                    while block := reader.read(COPY_BYTES):
                        target.write(block)
                        yield sink.drain()
    yield sink.drain()
