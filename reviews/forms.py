"""Portal forms for human review. They parse and bound input; the services decide."""

from __future__ import annotations

import re

from django import forms

from intake.models import AccessTier
from reviews.conflicts import RULES
from reviews.models import VendorTie, Verdict

SEVERITIES = [("critical", "Critical"), ("high", "High"), ("medium", "Medium"), ("low", "Low"), ("info", "Info")]
_LIST_SPLIT = re.compile(r"[\n,]+")


def _split(value: str) -> list[str]:
    return [v.strip() for v in _LIST_SPLIT.split(value or "") if v.strip()]


class ReviewerProfileForm(forms.Form):
    verified_domains = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000,
                                       help_text="Organisation domains you hold addresses at, one per line.")
    expertise = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000,
                                help_text="Tags such as no-exfiltration, mcp, untrusted_input; one per line.")
    capacity = forms.IntegerField(min_value=0, max_value=20, help_text="Open cases you can take at once.")
    available = forms.BooleanField(required=False, help_text="Unticked: you are not proposed for new cases.")

    def service_fields(self) -> dict:
        data = self.cleaned_data
        return {"verified_domains": _split(data["verified_domains"]), "expertise": _split(data["expertise"]),
                "capacity": data["capacity"], "available": data["available"]}


class VendorTieForm(forms.Form):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=VendorTie.Kind.choices)
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                          help_text="Leave empty while the tie continues.")


class DeclarationForm(forms.Form):
    party = forms.CharField(max_length=254, help_text="Organisation, domain, email address or case reference.")
    note = forms.CharField(max_length=500, required=False)


class ConsentForm(forms.Form):
    answer = forms.ChoiceField(choices=[("accept", "I consent to human review"), ("decline", "I decline")],
                               widget=forms.RadioSelect)
    tier = forms.ChoiceField(choices=AccessTier.choices, required=False)
    confirm_above_offer = forms.BooleanField(required=False,
                                             label="I explicitly consent to more access than my claim offered")
    reveal_identity = forms.BooleanField(required=False, label="Reviewers may see who I am")


class AssignForm(forms.Form):
    reviewer = forms.IntegerField(min_value=1)


class OverrideRequestForm(forms.Form):
    reviewer = forms.IntegerField(min_value=1)
    rule = forms.ChoiceField(choices=[(name, name.replace("_", " ")) for name in RULES])
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class GrantForm(forms.Form):
    reviewer = forms.IntegerField(min_value=1)
    tier = forms.ChoiceField(choices=AccessTier.choices)
    days = forms.IntegerField(min_value=1, max_value=90)


class RevokeForm(forms.Form):
    reason = forms.CharField(max_length=500)


class DecisionForm(forms.Form):
    # No verdict is preselected: the coordinator chooses one, having read the reviews.
    verdict = forms.ChoiceField(choices=[("", "Choose a verdict…"), *Verdict.choices])
    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), max_length=10000)
    override_reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, required=False,
        label="Reason for overruling the reviews",
        help_text="Required when your verdict is not one any reviewer reached; it is printed in the report.")


class ReviewForm(forms.Form):
    verdict = forms.ChoiceField(choices=Verdict.choices, widget=forms.RadioSelect,
                                help_text="On the claim as stated, within its scope only.")
    confidence = forms.IntegerField(min_value=0, max_value=100, help_text="0 to 100 %.")
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=10000, required=False)
    limitations = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000,
                                  help_text="What you could not check, and why.")


class FindingForm(forms.Form):
    title = forms.CharField(max_length=200, required=False)
    severity = forms.ChoiceField(choices=SEVERITIES, required=False, initial="medium")
    evidence = forms.CharField(max_length=300, required=False,
                               help_text="A reference (artifact path:line, entry, or triage check id), not a copy.")
    remediation = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    taxonomy = forms.MultipleChoiceField(required=False, widget=forms.SelectMultiple(attrs={"size": 4}),
                                         help_text="OWASP LLM / agentic, MITRE ATLAS or CWE entries that fit.")

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        from triage.taxonomy import ATLAS, CWE, OWASP_AGENTIC, OWASP_LLM

        self.fields["taxonomy"].choices = [(ref, f"{ref} {name}") for table in (OWASP_LLM, OWASP_AGENTIC, ATLAS, CWE)
                                           for ref, name in table.items()]

    def clean(self) -> dict:
        data = super().clean()
        filled = [k for k in ("title", "evidence", "remediation") if data.get(k)]
        if filled and len(filled) < 3:
            raise forms.ValidationError("A finding needs a title, an evidence reference and a remediation.")
        if "\n" in (data.get("evidence") or "") or "\r" in (data.get("evidence") or ""):
            raise forms.ValidationError("Evidence is one reference on one line, not pasted content.")
        return data

    def as_finding(self) -> dict | None:
        data = self.cleaned_data
        if not data.get("title"):
            return None
        return {"title": data["title"], "severity": data.get("severity") or "medium", "evidence": data["evidence"],
                "remediation": data["remediation"], "taxonomy": sorted(data.get("taxonomy") or [])}


FindingFormSet = forms.formset_factory(FindingForm, extra=3, max_num=20, validate_max=True, absolute_max=20)


class CalibrationForm(forms.Form):
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            help_text="Only decisions from this day on.")


class MessageForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)


# --- IP disputes and legal holds ------------------------------------------------------------------

class DisputeOpenForm(forms.Form):
    """A builder's dispute: the other case's report, what is disputed, and optional evidence."""

    report_id = forms.UUIDField(label="Report id", help_text="The id printed on the other case's report "
                                                             "(anyone can check it on the verify page).")
    statement = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), min_length=20, max_length=10_000,
                                help_text="What you believe was taken from your system, and why. Only "
                                          "coordinators read it; the other builder never sees it.")
    evidence = forms.FileField(required=False, help_text="Optional: one file, stored encrypted like your artifacts.")


class SimilarityDisputeForm(forms.Form):
    """A coordinator's dispute from a similarity link of this case: the linked earlier case claims."""

    link = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    statement = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), min_length=20, max_length=10_000,
                                help_text="Why this similarity needs a decision.")


class DisputeDecideForm(forms.Form):
    outcome = forms.ChoiceField(choices=[("upheld", "Uphold"), ("dismissed", "Dismiss")], widget=forms.RadioSelect)
    decision = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), min_length=20, max_length=20_000,
                               label="Reason", help_text="Both builders read this decision.")


class LegalHoldRequestForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), min_length=10, max_length=5000,
                             help_text="Takes effect when a second coordinator approves it.")


class LegalHoldReleaseForm(forms.Form):
    reason = forms.CharField(min_length=10, max_length=5000, label="Release reason")


class ReviewRequestDecisionForm(forms.Form):
    """A coordinator answers a builder's request for human review (issue 15). No answer is preselected."""

    answer = forms.ChoiceField(choices=[("", "Choose…"), ("accept", "Accept: send the case to human review"),
                                        ("decline", "Decline")], label="Answer")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), min_length=10, max_length=2000,
                             label="Reason (shown to the builder)")
