"""API shapes. Input serializers check JSON types only; every business rule lives in intake.services."""

from __future__ import annotations

from rest_framework import serializers

from intake.models import AccessTier, Artifact, ArtifactKind, PropertyKind, Submission, TermsVersion
from intake.states import State
from intake.vault.sealed_fields import SealedJSONField, SealedTextField

# Sealed fields are text columns holding ciphertext, but their values are JSON or text: serialise them so.
serializers.ModelSerializer.serializer_field_mapping[SealedJSONField] = serializers.JSONField
serializers.ModelSerializer.serializer_field_mapping[SealedTextField] = serializers.CharField


class StrictInput(serializers.Serializer):
    """Refuses keys it does not know, so a typo never silently drops a field the builder meant to save."""

    def to_internal_value(self, data):  # noqa: ANN001, ANN201
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


def _text_list() -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(max_length=500, allow_blank=True), max_length=50,
                                 required=False)


class SubmissionFieldsInput(StrictInput):
    """The fields of a draft. All optional here; PATCH sends only what changes."""

    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=20_000, required=False, allow_blank=True)
    claim_statement = serializers.CharField(max_length=20_000, required=False, allow_blank=True)
    claim_property = serializers.ChoiceField(choices=PropertyKind.choices, required=False)
    claim_scope_in = _text_list()  # component ids or globs: see /api/v1/submissions/{id}/components/
    claim_scope_out = _text_list()
    claim_scope_note = serializers.CharField(max_length=2000, required=False, allow_blank=True,
                                             help_text="Free text for reviewers; never affects scope matching.")
    claim_assumptions = _text_list()
    claim_access_tier = serializers.ChoiceField(choices=AccessTier.choices, required=False)
    manifest = serializers.JSONField(required=False, allow_null=True,
                                     help_text="System manifest; validated against /static/manifest.schema.json.")
    named_competitors = _text_list()
    aggregate_opt_in = serializers.BooleanField(required=False)
    retention_days = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=3650)


class SubmissionCreateInput(SubmissionFieldsInput):
    title = serializers.CharField(max_length=200)


class ArtifactOut(serializers.ModelSerializer):
    class Meta:
        model = Artifact
        fields = ["id", "name", "kind", "content_type", "size", "sha256", "created_at"]
        read_only_fields = fields


class ArtifactUploadInput(serializers.Serializer):
    file = serializers.FileField(help_text="The artifact; streamed to the store, never held in memory.")
    kind = serializers.ChoiceField(choices=ArtifactKind.choices, default=ArtifactKind.ARCHIVE)


# A draft has no claim property yet: the schema must allow "" (read-only fields drop the model's blank=True).
_CLAIM_PROPERTY_OUT = {"choices": PropertyKind.choices, "allow_blank": True, "read_only": True}


class SubmissionOut(serializers.ModelSerializer):
    artifacts = ArtifactOut(many=True, read_only=True)
    claim_property = serializers.ChoiceField(**_CLAIM_PROPERTY_OUT)
    terms_accepted = serializers.SerializerMethodField()
    deletion_receipts = serializers.SerializerMethodField(
        help_text="Signed deletion receipts; once the case is shredded its content fields read as [shredded].")

    class Meta:
        model = Submission
        fields = ["id", "reference", "state", "title", "description", "claim_statement", "claim_property",
                  "claim_scope_in", "claim_scope_out", "claim_scope_note", "claim_assumptions", "claim_access_tier",
                  "manifest", "named_competitors", "aggregate_opt_in", "retention_days", "config_digest", "artifacts",
                  "terms_accepted", "created_at", "updated_at", "submitted_at", "state_changed_at",
                  "deletion_receipts", "version", "previous_version"]
        read_only_fields = fields

    def get_terms_accepted(self, obj: Submission) -> list[str]:
        return [a.terms.version for a in obj.terms_acceptances.all()]

    def get_deletion_receipts(self, obj: Submission) -> list[dict]:
        if obj.state != State.SHREDDED:
            return []
        return [receipt.document for receipt in obj.deletion_receipts.all()]


class SubmissionSummaryOut(serializers.ModelSerializer):
    claim_property = serializers.ChoiceField(**_CLAIM_PROPERTY_OUT)

    class Meta:
        model = Submission
        fields = ["id", "reference", "state", "title", "claim_property", "config_digest", "created_at",
                  "state_changed_at"]
        read_only_fields = fields


class TimelineEntryOut(serializers.Serializer):
    to = serializers.CharField()
    at = serializers.DateTimeField()
    reason = serializers.CharField()

    def get_fields(self):  # noqa: ANN201
        # "from" is a Python keyword, so it cannot be a class attribute.
        fields = super().get_fields()
        fields["from"] = serializers.CharField()
        return fields


class SubmissionStatusOut(serializers.Serializer):
    id = serializers.UUIDField()
    reference = serializers.CharField()
    state = serializers.CharField()
    state_changed_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    config_digest = serializers.CharField()
    timeline = TimelineEntryOut(many=True)


class WithdrawInput(StrictInput):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class TermsOut(serializers.ModelSerializer):
    class Meta:
        model = TermsVersion
        fields = ["version", "title", "body", "text_sha256", "retention", "published_at"]
        read_only_fields = fields


class TermsAcceptInput(StrictInput):
    version = serializers.CharField(max_length=32, help_text="The version you read; must be the current one.")


class TermsAcceptanceOut(serializers.Serializer):
    version = serializers.CharField(source="terms.version")
    text_sha256 = serializers.CharField()
    accepted_at = serializers.DateTimeField()


class RedactionFindingOut(serializers.Serializer):
    field = serializers.CharField()
    kind = serializers.CharField(help_text="secret or personal")
    label = serializers.CharField()
    excerpt = serializers.CharField(help_text="Masked excerpt.")
    fingerprint = serializers.CharField()


class ScopeEntryProblemOut(serializers.Serializer):
    entry = serializers.CharField()
    field = serializers.CharField()
    message = serializers.CharField()
    suggestions = serializers.ListField(child=serializers.CharField(), help_text="Nearest component ids or globs.")


class ReadinessOut(serializers.Serializer):
    ready = serializers.BooleanField()
    problems = serializers.ListField(child=serializers.CharField())
    redaction = RedactionFindingOut(many=True)
    scope = ScopeEntryProblemOut(many=True, help_text="Scope entries that name no detected component "
                                                      "(GET/POST /api/v1/submissions/{id}/components/).")


class ConfirmPlaceholdersInput(StrictInput):
    fingerprints = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=200)


class ReviewRequestInput(StrictInput):
    justification = serializers.CharField(max_length=5000, help_text="Why people should review the outcome "
                                                                      "(at least 30 characters).")


class ReviewRequestOut(serializers.Serializer):
    id = serializers.IntegerField()
    case_id = serializers.UUIDField(source="submission_id")
    case = serializers.CharField(source="submission.reference")
    outcome_state = serializers.CharField(help_text="The case's state when review was requested: closed or rejected.")
    status = serializers.ChoiceField(choices=["pending", "accepted", "declined", "withdrawn"])
    justification = serializers.CharField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField(help_text="The coordinator's reason, once decided.")


class VersionOut(serializers.Serializer):
    id = serializers.UUIDField()
    reference = serializers.CharField()
    version = serializers.IntegerField()
    state = serializers.CharField()
    config_digest = serializers.CharField()
    created_at = serializers.DateTimeField()


class NextStepsOut(serializers.Serializer):
    """What the caller can do next on the case; a refusal says why an action is not available."""

    state = serializers.CharField()
    versions = VersionOut(many=True)
    review_requests = ReviewRequestOut(many=True)
    can_request_review = serializers.BooleanField()
    review_request_refusal = serializers.CharField(allow_null=True)
    can_submit_new_version = serializers.BooleanField()
    new_version_refusal = serializers.CharField(allow_null=True)
    next_version = VersionOut(allow_null=True)


class ErrorBody(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField(required=False)


class ErrorOut(serializers.Serializer):
    error = ErrorBody()
