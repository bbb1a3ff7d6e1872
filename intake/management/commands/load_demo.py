"""Demo accounts of every role and a few cases in different states (idempotent)."""

from __future__ import annotations

import io

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction

from intake.models import Role, Submission, User
from intake.selectors import current_terms
from intake.services import (
    artifact_add, submission_create, submission_update, submission_withdraw, terms_accept,
    terms_publish,
)

DEMO_PASSWORD = "assay-demo-password"
# Each account at its own organisation domain: the conflict rules treat a shared domain as one organisation.
ACCOUNTS = [
    ("builder@acme-agents.test", Role.BUILDER, "Acme Agents Ltd"),
    ("builder2@independent-builder.test", Role.BUILDER, "Independent"),
    ("reviewer@northwind-security.test", Role.REVIEWER, "Northwind Security"),
    ("coordinator@assay-coordination.test", Role.COORDINATOR, "Assay"),
    ("institution@ai-safety-institute.test", Role.INSTITUTION, "AI Safety Institute (demo)"),
]
TERMS_BODY = """Assay submission terms, version 2026.1

1. Retention. Artifacts of rejected cases are kept 30 days, cases closed with guidance 90 days, reviewed cases
   until their report expires plus 30 days, unless you choose a shorter period. Retention ends by crypto-shredding
   and you receive a signed deletion receipt.
2. Intellectual property. You keep all rights in what you submit. Assay uses it only to assess your claim.
3. Conditional safe harbour. Testing of your own system that you authorise through Assay is treated as authorised,
   provided it stays within the scope you state and the law.
4. Responsibility. You remain responsible for releasing and operating your system.
5. No certification. An Assay report assesses one stated claim about one fixed configuration. It certifies nothing.
"""
DEMO_MANIFEST = {
    "schema_version": 1,
    "name": "Support ticket triage agent",
    "summary": "Reads inbound support tickets and proposes replies; can run read-only shell commands.",
    "models": [{"provider": "ExampleAI", "name": "example-large", "version": "2026-05", "source": "hosted-api"}],
    "harness": {"name": "claude-code", "version": "2.1", "approval_mode": "on-risk"},
    "tools": [{"name": "shell", "capabilities": ["shell"], "approval": "always"}],
    "mcp_servers": [{"name": "tickets", "transport": "stdio", "command": "python -m tickets_mcp", "pinned": True}],
    "data_sources": [{"name": "support tickets", "kind": "tickets", "trust": "untrusted",
                      "writable_by_outsiders": True}],
    "egress": {"policy": "allowlist", "allow": ["api.example.invalid"]},
}


class Command(BaseCommand):
    help = "Load demo accounts of each role and a few cases in different states."

    def handle(self, *args, **options):  # noqa: ANN002, ANN003
        with transaction.atomic():
            users = self.create_accounts()
            terms = current_terms() or terms_publish(
                version="2026.1", title="Assay submission terms", body=TERMS_BODY,
                retention={"rejected": 30, "guidance": 90, "reviewed_after_report_expiry": 30})
            builder = users["builder@acme-agents.test"]
            if not Submission.objects.filter(owner=builder).exists():
                self.create_cases(builder, terms)
        self.stdout.write("Demo logins (password for all: %s):" % DEMO_PASSWORD)
        for email, role, _org in ACCOUNTS:
            self.stdout.write(f"  {role:<12} {email}")

    def create_accounts(self) -> dict[str, User]:
        users = {}
        for email, role, organisation in ACCOUNTS:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(email=email, password=DEMO_PASSWORD, role=role,
                                                organisation=organisation)
                EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
            users[email] = user
        return users

    def create_cases(self, builder: User, terms) -> None:  # noqa: ANN001
        # Demo cases skip the per-level quota: the builder here is created verified.
        def case(title: str) -> Submission:
            submission = submission_create(owner=builder, title=title)
            submission = submission_update(
                submission=submission, actor=builder,
                description="A support agent that reads tickets and drafts replies.",
                claim_statement="Ticket contents cannot leave through any channel other than the reply API.",
                claim_property="no-exfiltration", claim_scope_in=["agent:manifest", "mcp-server:tickets"],
                claim_scope_out=["tool:manifest/shell"],
                claim_scope_note="The harness and the tickets connector; not the model provider's infrastructure.",
                claim_assumptions=["egress proxy enforced"],
                manifest=DEMO_MANIFEST)
            terms_accept(submission=submission, actor=builder, terms=terms)
            artifact_add(submission=submission, actor=builder, name="settings.json", kind="config",
                         stream=io.BytesIO(b'{"permissions": {"allow": ["Read", "Grep"], "deny": ["Read(.env)"]}}'))
            return submission

        case("Draft: release-notes agent")
        withdrawn = case("Withdrawn: old prototype")
        submission_withdraw(submission=withdrawn, actor=builder, reason="superseded")
