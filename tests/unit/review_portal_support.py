"""Objects the review-portal tests share: reviewers with TOTP on, an escalated case with real
(vault-encrypted) artifacts and a stored triage result, and a case already granted to a reviewer."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from django.test import Client

from intake.models import Role, Submission, User
from intake.services import artifact_add
from intake.states import State, transition
from reviews.models import AccessGrant, ReviewerProfile
from reviews.services import assignment_propose, assignment_respond, consent_answer, consent_request, grant_issue
from intake.digest import config_digest
from tests.factories import enable_totp, login_with_mfa, make_draft, make_user

SECRET_LINE = 'OPENAI_KEY = "sk-ant-abcdefghijklmnopqrstuvwxyz0123456789"'
CONFIG_TEXT = ('{"owner": "ada@acme-agents.example", "note": "<script>alert(1)</script>"}\n' + SECRET_LINE + "\n")


def make_reviewer(email: str, *, organisation: str = "Northwind Security", expertise=("no-exfiltration",),  # noqa: ANN001
                  capacity: int = 3) -> User:
    user = make_user(email, role=Role.REVIEWER, organisation=organisation)
    enable_totp(user)
    ReviewerProfile.objects.create(user=user, expertise=list(expertise), capacity=capacity)
    return user


def make_coordinator(email: str = "coord@assay.example") -> User:
    user = make_user(email, role=Role.COORDINATOR)
    enable_totp(user)
    return user


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        login_with_mfa(client, user)
    return client


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("agent/config.py", "TOKEN = 'hf_abcdefghijklmnopqrstuvwxyz0123456789AB'\nprint('hi')\n")
        archive.writestr("agent/README.md", "# Ticket agent\nContact: bob@acme-agents.example\n")
    return buffer.getvalue()


def escalated_case(builder: User, *, tier_required: str = "grey", offered: str = "grey",
                   archive: bytes | None = None) -> Submission:
    submission = make_draft(builder)
    artifact_add(submission=submission, actor=builder, name="agent.zip", stream=io.BytesIO(archive or _zip_bytes()),
                 kind="archive")
    artifact_add(submission=submission, actor=builder, name="notes.txt", stream=io.BytesIO(CONFIG_TEXT.encode()),
                 kind="config")
    Submission.objects.filter(pk=submission.pk).update(claim_access_tier=offered)
    submission.refresh_from_db()
    for state in (State.SUBMITTED, State.TRIAGING, State.TRIAGED, State.AWAITING_CONSENT):
        submission = transition(submission, state, actor=None)
    from triage.models import TriageResult

    TriageResult.objects.create(
        submission=submission, policy_version="test-1", sandbox="none", config_digest="sha256:" + "0" * 64,
        findings=[{"check": "trifecta.mcp-untrusted-to-shell", "title": "Untrusted tickets reach the shell",
                   "severity": "high", "categories": ["untrusted_input"], "path": "settings.json", "line": 1,
                   "evidence": "Bash(*)", "remediation": "Require approval"}],
        score=70, decision="escalate", reasons=["trifecta"])
    consent_request(submission=submission, tier_required=tier_required)
    return submission


def case_in_review(builder: User, *, tier: str = "grey", archive: bytes | None = None) -> Submission:
    submission = escalated_case(builder, tier_required=tier, offered=tier, archive=archive)
    return consent_answer(submission=submission, actor=builder, accept=True, tier=tier)


@dataclass
class Granted:
    case: Submission
    reviewer: User
    grant: AccessGrant


def granted(builder: User, coordinator: User, reviewer: User, *, tier: str = "grey", days: int = 7,
            archive: bytes | None = None) -> Granted:
    submission = case_in_review(builder, tier="white" if tier == "white" else "grey", archive=archive)
    assignment = assignment_propose(submission=submission, reviewer=reviewer, actor=coordinator)
    assignment_respond(assignment=assignment, actor=reviewer, accept=True)
    grant = grant_issue(submission=submission, reviewer=reviewer, tier=tier, days=days, actor=coordinator)
    return Granted(case=submission, reviewer=reviewer, grant=grant)


CRITICAL = {"check": "trifecta.mcp-untrusted-to-shell", "title": "Untrusted tickets reach the shell",
            "severity": "critical", "categories": ["exfiltration"], "path": ".mcp.json", "line": 2,
            "evidence": "Bash(*)", "remediation": "Require approval"}


def outcome_case(builder, *, state: str = State.CLOSED, findings=None, decision: str | None = None):  # noqa: ANN001, ANN201
    """A case that triage finished with guidance (closed) or reject, with its stored result."""
    submission = make_draft(builder)
    digest = config_digest(files=[(a.name, a.sha256) for a in submission.artifacts.all()],
                           manifest=submission.manifest)
    Submission.objects.filter(pk=submission.pk).update(config_digest=digest)
    submission.refresh_from_db()
    for step in (State.SUBMITTED, State.TRIAGING, State.TRIAGED, state):
        submission = transition(submission, step, actor=None)
    from triage.models import TriageResult

    TriageResult.objects.create(
        submission=submission, policy_version="test-1", sandbox="none", config_digest=digest, score=60,
        decision=decision or ("guidance" if state == State.CLOSED else "reject"),
        reasons=["no high or critical findings relevant to no-exfiltration"], findings=findings or [CRITICAL])
    return submission
