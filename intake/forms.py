"""Portal forms: parse and shape what a builder typed; the services decide what is allowed.

Forms never write. A view binds a form, and when it is valid hands the cleaned
data to one service; a ``DomainError`` from the service is put back on the form
(:func:`add_domain_error`) so the page re-renders with everything the builder
typed still in place.
"""

from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from intake.errors import DomainError
from intake.jsonlimits import TooDeep, bounded_loads
from intake.manifest import MAX_MANIFEST_BYTES, manifest_errors
from intake.models import AccessTier, ArtifactKind, PropertyKind, Submission
from intake.services import MAX_LIST_ITEMS, MAX_TEXT
from intake.states import State

LIST_HELP = "One per line."


def _lines(value) -> str:  # noqa: ANN001
    return "\n".join(value or [])


def _split_lines(name: str, text: str) -> list[str]:
    items = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if len(items) > MAX_LIST_ITEMS:
        raise forms.ValidationError(f"List at most {MAX_LIST_ITEMS} {name}, one per line.")
    too_long = [item for item in items if len(item) > 500]
    if too_long:
        raise forms.ValidationError(f"Each line may be at most 500 characters ({len(too_long)} line(s) are longer).")
    return items


def add_domain_error(form: forms.Form, error: DomainError, *, field: str | None = None) -> None:
    """Show a service's refusal on the form, with its details (e.g. every schema error) listed."""
    details = error.details if isinstance(error.details, dict) else {}
    messages = [str(error)]
    for key in ("manifest", "problems"):
        if details.get(key):
            messages = list(details[key])
            break
    for message in messages:
        form.add_error(field, message)


class ClaimForm(forms.Form):
    """Step 1: what the builder wants assessed, and about which components."""

    title = forms.CharField(max_length=200, help_text="A short name for this case; visible to you and coordinators.")
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=MAX_TEXT,
        help_text="What the system does, redacted: no secrets, customer names or personal data.")
    claim_statement = forms.CharField(
        label="Claim", widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=MAX_TEXT,
        help_text="The one property you want assessed, e.g. “The agent cannot send ticket contents to any host "
                  "outside the allowlist.”")
    claim_property = forms.ChoiceField(label="Property kind", choices=[("", "— choose —"), *PropertyKind.choices],
                                       required=False)
    claim_assumptions = forms.CharField(label="Assumptions", widget=forms.Textarea(attrs={"rows": 3}),
                                        required=False, help_text=LIST_HELP)
    claim_access_tier = forms.ChoiceField(label="Access offered to reviewers", choices=AccessTier.choices,
                                          initial=AccessTier.BLACK)
    named_competitors = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False,
        help_text=LIST_HELP + " Organisations whose staff must not review this case.")
    aggregate_opt_in = forms.BooleanField(
        required=False, label="Count this case (anonymously) in published aggregate statistics")
    retention_days = forms.IntegerField(
        required=False, min_value=1, max_value=3650,
        help_text="Optional: keep the case for fewer days than the terms allow.")

    LIST_FIELDS = ("claim_assumptions", "named_competitors")

    @classmethod
    def initial_for(cls, submission: Submission) -> dict:
        initial = {name: getattr(submission, name) for name in cls.base_fields}
        for name in cls.LIST_FIELDS:
            initial[name] = _lines(initial[name])
        return initial

    def _clean_list(self, name: str) -> list[str]:
        return _split_lines(self.fields[name].label or name, self.cleaned_data.get(name, ""))

    def clean_claim_assumptions(self) -> list[str]:
        return self._clean_list("claim_assumptions")

    def clean_named_competitors(self) -> list[str]:
        return self._clean_list("named_competitors")

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("title", None)
        return data


class ScopeForm(forms.Form):
    """Step 5: the claim's scope, picked from the components triage detected (checkboxes), plus component ids or
    globs typed one per line, and a note. Whether each entry names a component is the service's check
    (intake.scope), so the form and the API give the same errors."""

    scope_in = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    scope_out = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    scope_in_extra = forms.CharField(
        label="More in scope", widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}), required=False,
        help_text=LIST_HELP + " Component ids or globs, e.g. mcp-server:* or file:tools/**.")
    scope_out_extra = forms.CharField(
        label="More out of scope", widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}), required=False,
        help_text=LIST_HELP + " Component ids or globs; these win over in-scope entries.")
    claim_scope_note = forms.CharField(
        label="Scope note", widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000,
        help_text="Optional, in your words, for reviewers. It never changes which findings count as in scope.")

    def __init__(self, *args, component_ids: list[str], **kwargs):  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        choices = [(cid, cid) for cid in component_ids]
        self.fields["scope_in"].choices = choices
        self.fields["scope_out"].choices = choices

    @staticmethod
    def initial_for(submission: Submission, component_ids: list[str]) -> dict:
        known = set(component_ids)
        scope_in, scope_out = list(submission.claim_scope_in or []), list(submission.claim_scope_out or [])
        return {"scope_in": [e for e in scope_in if e in known], "scope_out": [e for e in scope_out if e in known],
                "scope_in_extra": _lines([e for e in scope_in if e not in known]),
                "scope_out_extra": _lines([e for e in scope_out if e not in known]),
                "claim_scope_note": submission.claim_scope_note}

    def clean_scope_in_extra(self) -> list[str]:
        return _split_lines("in-scope entries", self.cleaned_data.get("scope_in_extra", ""))

    def clean_scope_out_extra(self) -> list[str]:
        return _split_lines("out-of-scope entries", self.cleaned_data.get("scope_out_extra", ""))

    def service_fields(self) -> dict:
        data = self.cleaned_data
        return {"claim_scope_in": list(dict.fromkeys([*data["scope_in"], *data["scope_in_extra"]])),
                "claim_scope_out": list(dict.fromkeys([*data["scope_out"], *data["scope_out_extra"]])),
                "claim_scope_note": data["claim_scope_note"]}


class ManifestForm(forms.Form):
    """Step 2: the system manifest as JSON, checked against the published schema (every error listed)."""

    manifest = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 22, "spellcheck": "false", "class": "code"}),
        help_text="JSON matching the published schema.", strip=False)

    @staticmethod
    def initial_for(submission: Submission) -> dict:
        if submission.manifest is None:
            return {}
        return {"manifest": json.dumps(submission.manifest, indent=2, ensure_ascii=False)}

    def clean_manifest(self) -> dict:
        raw = self.cleaned_data["manifest"]
        if len(raw.encode()) > MAX_MANIFEST_BYTES:
            raise forms.ValidationError(f"The manifest is larger than {MAX_MANIFEST_BYTES // 1024} KiB.")
        try:
            manifest = bounded_loads(raw)
        except TooDeep as exc:
            raise forms.ValidationError(f"The manifest is {exc}.") from None
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"This is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from exc
        errors = manifest_errors(manifest)
        if errors:
            raise forms.ValidationError([f"Schema: {error}" for error in errors])
        return manifest


class TermsForm(forms.Form):
    """Step 3: accept the terms version that was shown (a newer version published meanwhile must be read first)."""

    terms_version = forms.CharField(widget=forms.HiddenInput)
    accept = forms.BooleanField(label="I have read and accept these terms for this case.",
                                error_messages={"required": "Tick the box to accept the terms."})

    def __init__(self, *args, current_version: str | None, **kwargs):  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.current_version = current_version

    def clean_terms_version(self) -> str:
        version = self.cleaned_data["terms_version"]
        if version != self.current_version:
            raise forms.ValidationError("The terms changed while you were reading them; please read the new "
                                        "version below and accept it.")
        return version


class ArtifactForm(forms.Form):
    """Step 4: one file per upload. The size is checked here and again while streaming into the store."""

    file = forms.FileField(label="File", allow_empty_file=False,
                           error_messages={"required": "Choose a file to upload.",
                                           "empty": "The file is empty."})
    kind = forms.ChoiceField(choices=ArtifactKind.choices, initial=ArtifactKind.ARCHIVE)

    def clean_file(self):  # noqa: ANN201
        upload = self.cleaned_data["file"]
        limit = settings.ASSAY_MAX_ARTIFACT_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"“{upload.name}” is {filesizeformat(upload.size)}; the limit is {filesizeformat(limit)} per file.",
                code="too_large")
        return upload


class PlaceholderConfirmForm(forms.Form):
    fingerprint = forms.RegexField(regex=r"^[0-9a-f]{20}$", error_messages={"invalid": "Unknown finding."})


class WithdrawForm(forms.Form):
    reason = forms.CharField(required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="Optional: tell us why (kept in the case's audit trail).")
    confirm = forms.BooleanField(label="Yes, withdraw this case. This cannot be undone.",
                                 error_messages={"required": "Tick the box to confirm the withdrawal."})


class QueueFilterForm(forms.Form):
    state = forms.ChoiceField(choices=[("", "All states"), *State.choices], required=False)
    claim_property = forms.ChoiceField(label="Property", choices=[("", "All properties"), *PropertyKind.choices],
                                       required=False)
    q = forms.CharField(label="Reference or title", required=False, max_length=100)


class ReviewRequestForm(forms.Form):
    """The builder asks for human review of a guidance or reject outcome (issue 15)."""

    justification = forms.CharField(
        label="Why should people review this outcome?", min_length=30, max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="At least 30 characters: what triage missed or got wrong, and what a reviewer should look at. "
                  "Only coordinators and assigned reviewers read it.")
