"""Intake domain: accounts, terms, submissions (claim + manifest), artifacts, audit chain."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone

from intake.states import State
from intake.vault.sealed_fields import SealedJSONField, SealedTextField


class Role(models.TextChoices):
    BUILDER = "builder", "Builder"
    REVIEWER = "reviewer", "Reviewer"
    COORDINATOR = "coordinator", "Coordinator"
    INSTITUTION = "institution", "Institution"


class AssayUserManager(UserManager):
    def _create_user(self, username, email, password, **extra_fields):  # noqa: ANN001
        email = self.normalize_email(email).lower()
        username = username or email
        return super()._create_user(username, email, password, **extra_fields)

    def create_user(self, email=None, password=None, **extra_fields):  # noqa: ANN001
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(extra_fields.pop("username", None), email, password, **extra_fields)

    def create_superuser(self, email=None, password=None, **extra_fields):  # noqa: ANN001
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        extra_fields.setdefault("role", Role.COORDINATOR)
        return self._create_user(extra_fields.pop("username", None), email, password, **extra_fields)


class User(AbstractUser):
    """An account. Email is the login; ``username`` mirrors it for Django's admin."""

    email = models.EmailField(unique=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.BUILDER)
    organisation = models.CharField(max_length=200, blank=True)
    # Reviewers are shown builders (and vice versa) only by pseudonym.
    pseudonym = models.CharField(max_length=32, unique=True, editable=False)

    objects = AssayUserManager()
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    def save(self, *args, **kwargs):  # noqa: ANN002, ANN003
        if not self.pseudonym:
            self.pseudonym = f"{self.role[:3]}-{uuid.uuid4().hex[:10]}"
        if not self.username:
            self.username = self.email
        super().save(*args, **kwargs)

    @property
    def email_domain(self) -> str:
        return self.email.rsplit("@", 1)[-1].lower() if "@" in self.email else ""


class OrganisationDomainVerification(models.Model):
    """Proof that the account controls an address at an organisation's domain."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="domain_verifications")
    domain = models.CharField(max_length=253)
    address = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True)
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "verified_at"])]


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 of the secret is stored; the secret is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def is_active(self, now=None) -> bool:  # noqa: ANN001
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now


class TermsVersion(models.Model):
    """An immutable published version of the terms. Acceptances point at a version and its hash."""

    version = models.CharField(max_length=32, unique=True)
    title = models.CharField(max_length=200)
    body = models.TextField()
    text_sha256 = models.CharField(max_length=64, editable=False)
    # Days kept per outcome, e.g. {"rejected": 30, "guidance": 90, "reviewed_after_report_expiry": 30}
    retention = models.JSONField(default=dict)
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-published_at"]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class PropertyKind(models.TextChoices):
    NO_EXFILTRATION = "no-exfiltration", "No exfiltration"
    BOUNDED_ACTIONS = "bounded-actions", "Bounded actions"
    PROMPT_INJECTION_RESISTANCE = "prompt-injection-resistance", "Prompt-injection resistance"
    LEAST_PRIVILEGE = "least-privilege", "Least privilege"
    DATA_HANDLING = "data-handling", "Data handling"
    OTHER = "other", "Other"


class AccessTier(models.TextChoices):
    BLACK = "black", "Black box: description and triage results"
    GREY = "grey", "Grey box: redacted artifacts"
    WHITE = "white", "White box: full artifacts"


class Submission(models.Model):
    """One case: a claim about a fixed configuration, its manifest and artifacts.

    ``state`` only ever changes through :func:`intake.states.transition`.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=16, unique=True, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submissions")
    state = models.CharField(max_length=20, choices=State.choices, default=State.DRAFT, db_index=True)
    # Everything the builder writes is sealed under the case's key (intake.vault.sealed_fields), so that
    # shredding the case makes it unreadable here and in every backup.
    title = SealedTextField(case_attr="pk")
    description = SealedTextField(case_attr="pk", blank=True, help_text="Redacted description of the system.")

    claim_statement = SealedTextField(case_attr="pk", blank=True)
    claim_property = models.CharField(max_length=32, choices=PropertyKind.choices, blank=True)
    claim_scope_in = SealedJSONField(case_attr="pk", default=list, blank=True)
    claim_scope_out = SealedJSONField(case_attr="pk", default=list, blank=True)
    # Scope entries are component ids or globs over them (intake.scope); the note is the builder's words and
    # never affects matching.
    claim_scope_note = SealedTextField(case_attr="pk", blank=True)
    # What triage detected in the draft's artifacts and manifest: {"basis": <config digest it was computed for>,
    # "components": [{"id", "kind", "label", "paths", "lines"}]} (triage.components); stale once the digest moves.
    component_inventory = SealedJSONField(case_attr="pk", shredded="none", null=True, blank=True)
    claim_assumptions = SealedJSONField(case_attr="pk", default=list, blank=True)
    claim_access_tier = models.CharField(max_length=8, choices=AccessTier.choices, default=AccessTier.BLACK)

    manifest = SealedJSONField(case_attr="pk", shredded="none", null=True, blank=True)
    named_competitors = SealedJSONField(case_attr="pk", default=list, blank=True)
    aggregate_opt_in = models.BooleanField(default=False)
    retention_days = models.PositiveIntegerField(null=True, blank=True, help_text="Shorter than the terms, if chosen.")
    withdrawal_reason = SealedTextField(case_attr="pk", blank=True)
    # Redaction-lint findings the builder confirmed are placeholders, by fingerprint.
    redaction_confirmed = models.JSONField(default=list, blank=True)

    config_digest = models.CharField(max_length=71, blank=True)
    # A new configuration version of an earlier case (issue 15): its own artifacts, digest and triage, linked to
    # the version it follows. One successor per version, so a case's versions form a single chain.
    previous_version = models.OneToOneField("self", null=True, blank=True, on_delete=models.SET_NULL,
                                            related_name="next_version")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    state_changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "state"])]

    def save(self, *args, **kwargs):  # noqa: ANN002, ANN003
        if not self.reference:
            self.reference = "AS-" + uuid.uuid4().hex[:10].upper()
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def is_editable(self) -> bool:
        return self.state == State.DRAFT


class TermsAcceptance(models.Model):
    """Which terms text an account accepted for one submission. Never updated."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="terms_acceptances")
    terms = models.ForeignKey(TermsVersion, on_delete=models.PROTECT, related_name="acceptances")
    text_sha256 = models.CharField(max_length=64)
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    accepted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["submission", "terms"], name="one_acceptance_per_terms")]


class ArtifactKind(models.TextChoices):
    ARCHIVE = "archive", "Archive of the system (zip, tar, tar.gz)"
    CONFIG = "config", "Single configuration file"
    EVIDENCE = "evidence", "Evidence (logs, transcripts)"
    OTHER = "other", "Other"


class Artifact(models.Model):
    """An uploaded file. Content lives in the artifact store under ``storage_key``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="artifacts")
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=16, choices=ArtifactKind.choices, default=ArtifactKind.ARCHIVE)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_key = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["submission", "name"], name="artifact_name_unique_per_case")]


class ReviewRequest(models.Model):
    """A builder's request for human review of a triage outcome (guidance or reject), decided by a coordinator.

    The justification and the coordinator's reason are the builder's and staff's text about the case: sealed under
    the case key and shredded with it. An accepted request is what lets a closed or rejected case move back to
    awaiting consent (intake.states.REOPENED_BY_REVIEW_REQUEST).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"  # the builder deleted the case while it was pending

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="review_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    outcome_state = models.CharField(max_length=20, choices=State.choices)  # the case's state when asked
    justification = SealedTextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = SealedTextField(blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["submission"], condition=models.Q(status="pending"),
                                               name="one_pending_review_request_per_case")]


class AuditEvent(models.Model):
    """One link in the append-only, hash-chained audit log.

    ``hash`` = HMAC-SHA256, under the audit key ``key_id`` (held outside the database), over the previous
    hash and a canonical JSON body; empty ``key_id`` marks a pre-upgrade unkeyed SHA-256 link. See
    :mod:`intake.audit`. Database triggers refuse UPDATE and DELETE.
    """

    seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", db_constraint=False)
    actor_label = models.CharField(max_length=254)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, db_index=True)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    key_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["seq"]


class AuditChainHead(models.Model):
    """Single row holding the chain's tip; locking it serialises appends (and exposes truncation)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)


class NotificationKind(models.TextChoices):
    """Each hand-off on the route: the person it is handed to gets one notification (intake.notifications)."""

    TRIAGE_FINISHED = "triage_finished", "Triage finished"
    CONSENT_NEEDED = "consent_needed", "Consent needed for human review"
    REVIEWER_PROPOSED = "reviewer_proposed", "A case is proposed for your review"
    ACCESS_GRANTED = "access_granted", "Access to a case granted"
    REVIEW_SUBMITTED = "review_submitted", "A review was submitted"
    REPORT_ISSUED = "report_issued", "Decision recorded and report issued"
    RETENTION_SHRED_SOON = "retention_shred_soon", "A case will soon be shredded"
    REVIEW_REQUESTED = "review_requested", "A builder asks for human review"
    REVIEW_REQUEST_DECLINED = "review_request_declined", "Your request for human review was declined"


class Notification(models.Model):
    """One entry of a person's "needs your action" list. Holds no submitted content: the kind, the case's
    pseudonymous reference and a portal path, so it survives shredding without revealing anything."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    reference = models.CharField(max_length=16, blank=True)
    text = models.CharField(max_length=300)
    path = models.CharField(max_length=300)
    # Non-empty for hand-offs a periodic task may find again (retention warnings): sent once per key.
    dedupe_key = models.CharField(max_length=120, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]
        constraints = [models.UniqueConstraint(fields=["recipient", "kind", "dedupe_key"],
                                               condition=~models.Q(dedupe_key=""), name="notification_once_per_key")]


class NotificationPreference(models.Model):
    """A person's choice to get (or not) an e-mail for one kind; no row means e-mail on. In-app is always on."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="notification_preferences")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    email = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_once")]
