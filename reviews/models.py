"""Human review: reviewer registry, declarations, assignments, consent, grants, reviews, decisions."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from intake.models import AccessTier, Submission
from intake.vault.sealed_fields import SealedJSONField, SealedTextField

TIER_RANK = {AccessTier.BLACK: 0, AccessTier.GREY: 1, AccessTier.WHITE: 2}


class ReviewerProfile(models.Model):
    """A vetted reviewer's declarations. Every change is audited by the services that make it."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviewer_profile")
    verified_domains = models.JSONField(default=list, blank=True)
    expertise = models.JSONField(default=list, blank=True)
    capacity = models.PositiveSmallIntegerField(default=2)
    available = models.BooleanField(default=True)
    vetted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)


class VendorTie(models.Model):
    class Kind(models.TextChoices):
        PROVIDER = "provider", "Model provider"
        TOOL_VENDOR = "tool_vendor", "Tool or MCP vendor"
        INVESTOR = "investor", "Investor"
        EMPLOYER = "employer", "Employer"
        CUSTOMER = "customer", "Customer"

    reviewer = models.ForeignKey(ReviewerProfile, on_delete=models.CASCADE, related_name="vendor_ties")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    start = models.DateField(null=True, blank=True)
    end = models.DateField(null=True, blank=True)


class ConflictDeclaration(models.Model):
    """A conflict declared by a reviewer (about a party) or by a builder (about a reviewer or party) on a case."""

    reviewer = models.ForeignKey(ReviewerProfile, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="declarations")
    submission = models.ForeignKey(Submission, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="builder_conflict_declarations")
    party = models.CharField(max_length=254, help_text="organisation, domain, email, reviewer pseudonym or case ref")
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.CheckConstraint(
            condition=Q(reviewer__isnull=False, submission__isnull=True) | Q(reviewer__isnull=True, submission__isnull=False),
            name="declaration_has_exactly_one_side")]


class CaseCoordination(models.Model):
    """The coordinator of record, who may never review the case."""

    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, related_name="coordination")
    coordinator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField(default=timezone.now)


class ConflictOverride(models.Model):
    """Dismissal of one computed conflict rule for one pair: a written reason and two different coordinators."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="conflict_overrides")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    rule = models.CharField(max_length=64)
    reason = models.TextField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["submission", "reviewer", "rule"], name="one_override_per_rule"),
            models.CheckConstraint(condition=~Q(approved_by=models.F("requested_by")), name="override_needs_two_people"),
        ]


class Consent(models.Model):
    """The builder's answer to an escalation: which tier, for how long."""

    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, related_name="consent")
    tier_required = models.CharField(max_length=8, choices=AccessTier.choices)
    duration_days = models.PositiveSmallIntegerField(default=30)
    requested_at = models.DateTimeField(default=timezone.now)
    granted_tier = models.CharField(max_length=8, choices=AccessTier.choices, blank=True)
    extra_consent = models.BooleanField(default=False, help_text="consented above the tier the claim offered")
    answered_at = models.DateTimeField(null=True, blank=True)
    declined = models.BooleanField(default=False)
    reveal_identity = models.BooleanField(default=False)


class Assignment(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="assignments")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["submission", "reviewer"], name="one_assignment_per_pair")]


class AccessGrant(models.Model):
    """Time-boxed access of one reviewer to one case at one tier. Checked on every request."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="grants")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="grants")
    tier = models.CharField(max_length=8, choices=AccessTier.choices)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["reviewer", "expires_at"])]

    def is_active(self, now=None) -> bool:  # noqa: ANN001
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now


class Verdict(models.TextChoices):
    SUPPORTED = "supported", "Supported within scope"
    NOT_SUPPORTED = "not_supported", "Not supported within scope"
    INCONCLUSIVE = "inconclusive", "Inconclusive within scope"


class Review(models.Model):
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews")
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    confidence = models.PositiveSmallIntegerField(help_text="0-100")
    # What a reviewer writes quotes the case: sealed under the case's key, shredded with it.
    findings = SealedJSONField(default=list)
    limitations = SealedTextField(blank=True)
    summary = SealedTextField(blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["submission", "reviewer"], name="one_review_per_reviewer")]


class Decision(models.Model):
    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, related_name="decision")
    coordinator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    rationale = SealedTextField()
    # Why the verdict differs from every review's, written by the coordinator; shown in the report.
    override_reason = SealedTextField(blank=True)
    disagreement = models.BooleanField(default=False)
    agreement_kappa = models.FloatField(null=True, blank=True)
    decided_at = models.DateTimeField(default=timezone.now)


class TransparencyEntry(models.Model):
    """One leaf of the append-only Merkle log: a digest of something the platform issued. No content, no identities."""

    class Kind(models.TextChoices):
        REPORT = "report", "Report issued"
        REVOCATION = "revocation", "Report revoked"
        DELETION_RECEIPT = "deletion_receipt", "Deletion receipt"
        AGGREGATE_RELEASE = "aggregate_release", "Aggregate release"
        AUDIT_HEAD = "audit_head", "Audit chain head"

    index = models.BigIntegerField(unique=True)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    subject_sha256 = models.CharField(max_length=64)
    leaf_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["index"]


class TransparencyHead(models.Model):
    """Single row locked while appending, so leaf indexes are gap-free under concurrency."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)


class SignedTreeHead(models.Model):
    tree_size = models.BigIntegerField()
    root_hash = models.CharField(max_length=64)
    timestamp = models.DateTimeField()
    key_id = models.CharField(max_length=64)
    signature = models.TextField()

    class Meta:
        ordering = ["tree_size", "timestamp"]


class AuditAnchor(models.Model):
    """Which audit event a transparency log entry anchors. The log leaf holds only a digest of (seq, hash);
    this row says which seq to recompute it from, so editing or deleting it is itself detected."""

    seq = models.BigIntegerField()
    chain_hash = models.CharField(max_length=64)
    log_index = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["log_index"]

    @property
    def log_entry(self) -> TransparencyEntry:
        return TransparencyEntry.objects.get(index=self.log_index)


class Report(models.Model):
    class Kind(models.TextChoices):
        GUIDANCE = "guidance", "Guidance report"
        ASSESSMENT = "assessment", "Assessment report"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="reports")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    config_digest = models.CharField(max_length=71)
    # The signed statement quotes the claim and findings: sealed under the case's key. The PDF is overwritten
    # at shredding (intake.vault.shred_records); the digests stay, so an uploaded copy still verifies.
    statement = SealedJSONField(shredded="dict")
    statement_sha256 = models.CharField(max_length=64, unique=True)
    key_id = models.CharField(max_length=64)
    pdf_sha256 = models.CharField(max_length=64)
    pdf = models.BinaryField()
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=500, blank=True)
    log_index = models.BigIntegerField(null=True, blank=True)
    supersedes = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-issued_at"]


class PrivacyBudget(models.Model):
    """Total epsilon that may ever be spent on releases from one dataset; releases are refused once spent."""

    dataset = models.CharField(max_length=64, unique=True)
    epsilon_total = models.FloatField()
    epsilon_spent = models.FloatField(default=0.0)


class AggregateRelease(models.Model):
    """An immutable, signed, logged release of noisy, thresholded counts."""

    dataset = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    period_start = models.DateField()
    period_end = models.DateField()
    epsilon = models.FloatField()
    threshold = models.PositiveSmallIntegerField()
    sensitivity = models.PositiveSmallIntegerField()
    cells = models.JSONField()
    statement = models.JSONField()
    statement_sha256 = models.CharField(max_length=64, unique=True)
    key_id = models.CharField(max_length=64)
    signature = models.TextField()
    log_index = models.BigIntegerField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["dataset", "version"], name="one_release_per_version")]


class Message(models.Model):
    """One message in a case's private thread between its builder and the coordinators.

    Reviewers never post here: they speak through the coordinator, so the builder
    never learns who reviews the case. Written only by reviews.messaging.message_post.
    """

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = SealedTextField()  # sealed under the case's key, shredded with it
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["submission", "created_at"])]
