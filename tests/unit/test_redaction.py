"""Redaction lint: secrets and personal data block submission until redacted or confirmed as placeholders."""

from __future__ import annotations

import pytest

from intake.errors import RedactionRequired
from intake.redaction import scan_text
from intake.services import submission_confirm_placeholders, submission_redaction_findings, submission_submit, \
    submission_update
from intake.states import State
from tests.factories import make_draft


def test_detects_provider_keys_and_personal_data_with_masked_excerpts():
    findings = scan_text("description", "key AKIAIOSFODNN7EXAMPLE; mail jane.doe@acme-corp.io; +44 20 7946 0958")
    labels = {f.label for f in findings}
    assert {"AWS Access Key", "Email address", "Phone number"} <= labels
    assert all("AKIAIOSFODNN7EXAMPLE" not in f.excerpt for f in findings)


def test_obvious_placeholders_do_not_block():
    assert scan_text("description", "contact <REDACTED> or someone@example.com, key xxxxxxxxxxxx") == []


def test_distinct_tokens_of_one_kind_are_distinct_findings():
    """detect-secrets reports only the 'ghp' prefix of GitHub tokens; each whole token must count."""
    findings = scan_text("d", "a ghp_abcdefghijklmnopqrstuvwxyz0123456789 b ghp_ZZZZefghijklmnopqrstuvwxyz0123456789")
    assert len({f.fingerprint for f in findings if f.label == "GitHub Token"}) == 2


@pytest.mark.django_db
def test_a_secret_blocks_submission_until_confirmed_as_placeholder(builder):  # noqa: ANN001
    submission = make_draft(builder)
    submission = submission_update(submission=submission, actor=builder,
                                   description="Uses sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345 for the model.")
    with pytest.raises(RedactionRequired, match="Redact the flagged secrets"):
        submission_submit(submission=submission, actor=builder)
    open_findings = submission_redaction_findings(submission)
    assert [f.label for f in open_findings] == ["Anthropic API key"]
    submission = submission_confirm_placeholders(submission=submission, actor=builder,
                                                 fingerprints=[f.fingerprint for f in open_findings])
    assert submission_submit(submission=submission, actor=builder).state == State.SUBMITTED
