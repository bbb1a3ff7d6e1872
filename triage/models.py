"""Triage results and fingerprints."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from intake.models import Submission
from intake.vault.sealed_fields import SealedJSONField


class Decision(models.TextChoices):
    REJECT = "reject", "Reject"
    GUIDANCE = "guidance", "Guidance"
    ESCALATE = "escalate", "Escalate"


class TriageResult(models.Model):
    """The outcome of triaging one submission under one policy version.

    A new policy version gives a new row; old rows keep the version they were
    decided under. ``findings`` is the CONTRACT's ``findings[]`` list.
    """

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="triage_results")
    policy_version = models.CharField(max_length=32)
    sandbox = models.CharField(max_length=16)
    # The case's configuration digest (intake.digest, DESIGN.md: the manifest and every artifact's plaintext hash),
    # the one the case, reports, receipts and the API name; never a second meaning under this name.
    config_digest = models.CharField(max_length=71)
    # The digest of the unpacked tree triage read (every file inside the archives): content-only, so the same tree
    # in a .zip or a .tar.gz has the same tree digest, while the case digest names the artifacts as uploaded.
    tree_digest = models.CharField(max_length=71, blank=True)
    findings = SealedJSONField(default=list)  # evidence quotes submitted content: sealed under the case's key
    score = models.PositiveSmallIntegerField()
    decision = models.CharField(max_length=16, choices=Decision.choices)
    reasons = SealedJSONField(default=list)
    file_count = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    # Rejected as an exact duplicate (same configuration, same claim) of this earlier case of the same builder:
    # the page and the API point there, to that case's next steps (issue 15).
    duplicate_of = models.ForeignKey(Submission, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["submission", "policy_version"],
                                               name="one_triage_result_per_policy_version")]

    def __str__(self) -> str:
        return f"{self.submission_id} {self.decision} ({self.policy_version})"

    def contract(self) -> dict:
        """The stored result in CONTRACT.md's triage_path shape (what the SARIF download renders)."""
        return {"config_digest": self.config_digest, "policy_version": self.policy_version, "sandbox": self.sandbox,
                "findings": list(self.findings), "score": self.score, "decision": self.decision,
                "reasons": list(self.reasons)}


class SubmissionFingerprint(models.Model):
    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, related_name="fingerprint")
    owner_id = models.BigIntegerField(db_index=True)  # denormalised: similarity is judged per builder
    scheme = models.CharField(max_length=32)
    signature = models.BinaryField()
    content_sha256 = models.CharField(max_length=64, db_index=True)
    file_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)


class FingerprintBand(models.Model):
    """One LSH band key of a fingerprint; lookups go through the index on ``key``."""

    fingerprint = models.ForeignKey(SubmissionFingerprint, on_delete=models.CASCADE, related_name="bands")
    key = models.BigIntegerField(db_index=True)


class FileHash(models.Model):
    fingerprint = models.ForeignKey(SubmissionFingerprint, on_delete=models.CASCADE, related_name="file_hashes")
    sha256 = models.CharField(max_length=64, db_index=True)


class LinkKind(models.TextChoices):
    # The same unpacked content; a duplicate only when the claim is the same too (triage.pipeline, issue 15).
    OWN_EXACT = "own_exact", "Same content as the builder's own case"
    OWN_NEAR_DUPLICATE = "own_near_duplicate", "Near-duplicate of the builder's own case"
    POSSIBLE_EXTRACTION = "possible_extraction", "Similar to another builder's case (coordinators only)"


class FingerprintLink(models.Model):
    """A similarity link found at triage. POSSIBLE_EXTRACTION links are for coordinators only."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="fingerprint_links")
    other = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=24, choices=LinkKind.choices)
    similarity = models.FloatField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["submission", "kind"])]


class DynamicRun(models.Model):
    """The dynamic stage (triage/dynamic) on a case: the gate's decision and, when it ran, pins, what did not run,
    and the vaulted record.

    Every triage since the gate (triage.dynamic.gating) stores one row, also when the stage did not run, so the
    case page and reports can say why; rows from before it have an empty ``gate`` and did run. The full record
    (sandbox and runtime versions, limits, inputs, protocol transcript, observed effects) is encrypted in the
    vault under ``record_key``; only the summary below is kept in the clear.
    """

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="dynamic_runs")
    sandbox = models.CharField(max_length=16)
    config_digest = models.CharField(max_length=71)
    # Server, tool and flow names come from submitted code: every summary below is sealed under the case's key.
    pins = SealedJSONField(default=dict, shredded="dict")  # server -> {"pin": "sha256:…", "tools": {name: digest}}
    servers = SealedJSONField(default=list)  # [{"name", "started", "stopped", "tools": [names]}]
    findings = SealedJSONField(default=list)  # the dynamic.* findings, CONTRACT shape
    not_run = SealedJSONField(default=list)  # [{"target", "reason"}]
    gate = SealedJSONField(default=dict, shredded="dict")  # GateDecision.as_dict(): version, run, reason, ...
    record_key = models.CharField(max_length=200, blank=True)
    record_sha256 = models.CharField(max_length=64, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["submission", "created_at"])]

    def __str__(self) -> str:
        return f"dynamic run of {self.submission_id} ({len(self.servers)} servers)"

    @property
    def ran(self) -> bool:
        """Whether the gate let submitted code run (rows from before the gate always ran)."""
        return bool((self.gate or {}).get("run", True))

    @property
    def gate_reason(self) -> str:
        return str((self.gate or {}).get("reason") or "")


class ModelNote(models.Model):
    """The optional model-assisted note on a triage result. Advice for humans; the policy never reads it."""

    class Status(models.TextChoices):
        OK = "ok", "Note written"
        INVALID = "invalid", "Model answer was not schema-valid JSON"
        FAILED = "failed", "Model endpoint failed or timed out"

    triage_result = models.OneToOneField(TriageResult, on_delete=models.CASCADE, related_name="model_note")
    status = models.CharField(max_length=8, choices=Status.choices)
    note = SealedJSONField(case_attr="triage_result.submission_id", default=dict, shredded="dict")
    model = models.CharField(max_length=100)
    api = models.CharField(max_length=16)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)


class TriageLease(models.Model):
    """Which worker is triaging a case right now, kept alive by that worker's heartbeat.

    A worker killed outright (SIGKILL, a lost node) cannot hand its message back to every broker (the embedded
    filesystem transport drops it; Redis redelivers only after its visibility timeout): a lease whose heartbeat
    stopped tells the periodic sweep to start the case again, within two minutes on any broker.
    """

    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, related_name="triage_lease")
    holder = models.CharField(max_length=200)  # host:pid:nonce of the run
    heartbeat_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
