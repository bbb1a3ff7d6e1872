"""The database records a case's shred destroys, by record class, and what it deliberately keeps.

Sealed records are found, not listed: every model with a sealed field (intake.vault.sealed_fields) is a
record class, so a new one can never be missed by shredding. Shredding destroys the case key (making every
sealed value, live or in a backup, unreadable) and also rewrites the live sealed columns to the shredded
token, so no process holding a cached key can open them either.

A few records cannot be sealed because the database must compare them (artifact names are unique per case;
fingerprints are looked up across cases). Those are cut down to what must stay, and :data:`RETAINED` says in
the receipt what stays and why.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.db import models

from intake.models import Submission
from intake.vault.sealed_fields import SHREDDED_TOKEN, SealedField

RETAINED = (
    {"record_class": "intake.submission",
     "kept": "reference, state, owner, timestamps, config_digest",
     "why": "the case's identity and history; the configuration digest is a SHA-256 and holds no content"},
    {"record_class": "intake.artifact",
     "kept": "sha256, size, kind",
     "why": "named by digest in this receipt; file names are overwritten"},
    {"record_class": "triage.submission_fingerprint",
     "kept": "a keyed hash of the whole tree's content digest",
     "why": "so a later resubmission of the same tree is still recognised as a duplicate; similarity "
            "signatures and per-file hashes are deleted"},
    {"record_class": "reviews.report",
     "kept": "kind, config_digest, statement and PDF SHA-256, key id, issue, expiry and revocation",
     "why": "so a copy of the report the builder holds still verifies and shows its status; the signed "
            "statement and PDF are destroyed"},
    {"record_class": "intake.audit_event",
     "kept": "who did what and when, with ids, counts and digests",
     "why": "the audit chain is append-only; its events carry no submitted text"},
    {"record_class": "vault.deletion_receipt", "kept": "this receipt", "why": "proof of the deletion"},
)


@dataclass(frozen=True)
class SealedRecordClass:
    name: str
    model: type[models.Model]
    fields: tuple[str, ...]
    case_lookup: str

    def rows(self, submission: Submission) -> models.QuerySet:
        return self.model._default_manager.filter(**{self.case_lookup: submission.pk})


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def sealed_record_classes() -> list[SealedRecordClass]:
    found = []
    for model in apps.get_models():
        sealed = [field for field in model._meta.concrete_fields if isinstance(field, SealedField)]
        if not sealed:
            continue
        lookups = {field.case_attr for field in sealed}
        if len(lookups) != 1:
            raise RuntimeError(f"{model._meta.label}: every sealed field must name the same case")
        lookup = lookups.pop().replace(".", "__")
        found.append(SealedRecordClass(name=f"{model._meta.app_label}.{_snake(model.__name__)}", model=model,
                                       fields=tuple(field.name for field in sealed), case_lookup=lookup))
    return sorted(found, key=lambda item: item.name)


def _optional_model(app_label: str, name: str):  # noqa: ANN202
    """Higher layers' models, reached through the registry (intake never imports triage or reviews)."""
    try:
        return apps.get_model(app_label, name)
    except LookupError:
        return None


def _fingerprint_model():  # noqa: ANN202
    return _optional_model("triage", "SubmissionFingerprint")


def _report_model():  # noqa: ANN202
    return _optional_model("reviews", "Report")


def shred_counts(submission: Submission) -> list[dict]:
    """The receipt's record classes: each class destroyed and how many of its rows this case had."""
    listed = []
    for record_class in sealed_record_classes():
        count = record_class.rows(submission).count()
        if count:
            listed.append({"record_class": record_class.name, "count": count,
                           "fields": list(record_class.fields)})
    artifacts = submission.artifacts.count()
    if artifacts:
        listed.append({"record_class": "intake.artifact_name", "count": artifacts, "fields": ["name"]})
    fingerprint = _fingerprint_model()
    if fingerprint is not None:
        count = fingerprint.objects.filter(submission=submission).count()
        if count:
            listed.append({"record_class": "triage.fingerprint_detail", "count": count,
                           "fields": ["signature", "bands", "file_hashes"]})
    report = _report_model()
    if report is not None:
        count = report.objects.filter(submission=submission).count()
        if count:
            listed.append({"record_class": "reviews.report_pdf", "count": count, "fields": ["pdf"]})
    return listed


def fingerprint_keyed_digest(content_sha256: str) -> str:
    """What stays of a shredded case's fingerprint: HMAC of the tree digest under a key derived from SECRET_KEY.

    Keyed, so a copy of the database alone cannot confirm a guessed tree; triage's exact-duplicate lookup
    computes the same value for a new submission.
    """
    key = hashlib.sha256(b"assay-fingerprint-retained/v1\n" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, content_sha256.encode(), hashlib.sha256).hexdigest()


def shred_records(submission: Submission) -> None:
    """Overwrite the case's live records (inside the shred's transaction, after its key is destroyed)."""
    for record_class in sealed_record_classes():
        record_class.rows(submission).update(**{name: SHREDDED_TOKEN for name in record_class.fields})
    # Fingerprints of redaction findings the builder confirmed: digests of their text, no longer needed.
    Submission.objects.filter(pk=submission.pk).update(redaction_confirmed=[])
    for index, artifact_id in enumerate(submission.artifacts.order_by("created_at", "pk")
                                        .values_list("pk", flat=True), start=1):
        submission.artifacts.filter(pk=artifact_id).update(name=f"shredded-{index}")
    report = _report_model()
    if report is not None:
        report.objects.filter(submission=submission).update(pdf=b"")
    fingerprint = _fingerprint_model()
    if fingerprint is not None:
        for stored in fingerprint.objects.filter(submission=submission):
            stored.bands.all().delete()
            stored.file_hashes.all().delete()
            if len(stored.content_sha256) == 64 and bytes(stored.signature) != b"":
                fingerprint.objects.filter(pk=stored.pk).update(
                    signature=b"", content_sha256=fingerprint_keyed_digest(stored.content_sha256))
