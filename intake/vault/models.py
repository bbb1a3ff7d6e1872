"""Vault records: wrapped data keys per stored object, deletion receipts, legal holds, IP disputes."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from intake.vault.sealed_fields import SealedTextField


class VaultObjectState(models.TextChoices):
    PENDING = "pending", "Upload in progress"
    STORED = "stored", "Stored"
    SHREDDED = "shredded", "Data key destroyed"


class VaultObject(models.Model):
    """One encrypted object. Its storage key is ``id.hex``; its data key exists only wrapped, here.

    Destroying ``wrapped_key`` is the crypto-shred: the ciphertext (and every
    backup of it) becomes noise. ``data_key_id`` is the public name of that
    data key, quoted in deletion receipts.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    label = models.CharField(max_length=255, blank=True, help_text="The caller's artifact id.")
    location = models.CharField(max_length=500, help_text="Backend URI the ciphertext was written to.")
    state = models.CharField(max_length=10, choices=VaultObjectState.choices, default=VaultObjectState.PENDING,
                             db_index=True)
    chunk_size = models.PositiveIntegerField()
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    ciphertext_size = models.BigIntegerField(null=True, blank=True)
    data_key_id = models.CharField(max_length=40, unique=True)
    key_provider = models.CharField(max_length=500)
    kek_id = models.CharField(max_length=300)
    wrapped_key = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    stored_at = models.DateTimeField(null=True, blank=True)
    key_destroyed_at = models.DateTimeField(null=True, blank=True)
    ciphertext_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "created_at"]), models.Index(fields=["kek_id"])]

    @property
    def storage_key(self) -> str:
        return self.id.hex


class DeletionReceipt(models.Model):
    """A signed statement that a case's content was crypto-shredded. ``document`` is exactly what was signed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    submission = models.ForeignKey("intake.Submission", null=True, on_delete=models.SET_NULL,
                                   related_name="deletion_receipts")
    case_reference = models.CharField(max_length=32, db_index=True)
    issued_at = models.DateTimeField()
    signing_key_id = models.CharField(max_length=64)
    document = models.JSONField()

    class Meta:
        ordering = ["-issued_at"]


class LegalHold(models.Model):
    """Suspends shredding of a case. Takes effect once a second coordinator approves it.

    A request not yet approved also suspends shredding, but only for
    ``PENDING_GRACE`` (see intake.vault.retention): long enough for a second
    coordinator to act, too short for one coordinator to freeze deletion alone.
    """

    submission = models.ForeignKey("intake.Submission", on_delete=models.PROTECT, related_name="legal_holds")
    reason = models.TextField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]


class DisputeState(models.TextChoices):
    OPEN = "open", "Open"
    DECIDED = "decided", "Decided"


class DisputeOutcome(models.TextChoices):
    UPHELD = "upheld", "Upheld"
    DISMISSED = "dismissed", "Dismissed"


class DisputeTarget(models.TextChoices):
    REPORT = "report", "Another case's report"
    SIMILARITY_LINK = "similarity_link", "A similarity link found at triage"


class IpDispute(models.Model):
    """An IP dispute between two cases. Evidence is kept by digest only; neither side sees the other's content.

    While open it freezes both cases' retention clocks; the frozen time is
    added to their retention once it is decided.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    claimant_case = models.ForeignKey("intake.Submission", on_delete=models.PROTECT, related_name="+")
    respondent_case = models.ForeignKey("intake.Submission", on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=20, choices=[("builder", "Raised by a builder"),
                                                      ("triage_similarity", "Triage similarity signal")])
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    # The claimant's statement is their submitted text: sealed under the claimant case's key.
    statement = SealedTextField(case_attr="claimant_case_id", blank=True)
    evidence_digests = models.JSONField(default=list)
    # What the dispute was raised against (a report id, a similarity link id): names the respondent for coordinators.
    target_kind = models.CharField(max_length=20, choices=DisputeTarget.choices, blank=True)
    target_ref = models.CharField(max_length=64, blank=True)
    # An optional evidence file, encrypted in the vault like an artifact; its name is the claimant's text.
    evidence_key = models.CharField(max_length=64, blank=True, help_text="Vault storage key of the evidence file.")
    evidence_name = SealedTextField(case_attr="claimant_case_id", blank=True)
    evidence_size = models.BigIntegerField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=DisputeState.choices, default=DisputeState.OPEN, db_index=True)
    opened_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    outcome = models.CharField(max_length=10, choices=DisputeOutcome.choices, blank=True)
    decision = models.TextField(blank=True)


class CaseKey(models.Model):
    """A case's own data key, wrapped by the key provider: it seals every text the case holds in the database.

    The sibling of VaultObject for database records (intake.vault.sealed_fields): submitted text and what
    triage derives from it are AES-256-GCM sealed under this key, so destroying ``wrapped_key`` at shredding
    makes them (and every backup of them) unreadable. ``case_id`` is a plain column, not a foreign key, so
    the key row can be written before its case row and outlives nothing but itself.
    """

    case_id = models.UUIDField(unique=True)
    data_key_id = models.CharField(max_length=40, unique=True)
    key_provider = models.CharField(max_length=500)
    kek_id = models.CharField(max_length=300)
    wrapped_key = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    key_destroyed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["kek_id"])]
