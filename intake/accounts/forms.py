from __future__ import annotations

from django import forms

from intake.accounts.tokens import MAX_TTL_DAYS, SCOPES

SCOPE_HELP = {
    "submissions:read": "Read your cases, their status and readiness",
    "submissions:write": "Create, edit, upload to, submit and withdraw your cases",
    "reviews": "Reviewer work on assigned cases (reviewers only)",
    "reports:read": "Download and verify reports",
}


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. “CI pipeline”.")
    scopes = forms.MultipleChoiceField(choices=[(s, f"{s}: {SCOPE_HELP[s]}") for s in SCOPES],
                                       widget=forms.CheckboxSelectMultiple, initial=["submissions:read"])
    ttl_days = forms.IntegerField(label="Expires after (days)", min_value=1, max_value=MAX_TTL_DAYS, initial=90)


class DomainVerificationForm(forms.Form):
    address = forms.EmailField(label="Your address at your organisation", max_length=254,
                               help_text="We send a single-use link there. Free-mail addresses are not accepted.")
